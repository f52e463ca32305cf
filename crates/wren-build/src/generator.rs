//! The [`ServiceGenerator`] that prost-build calls once per proto service:
//! it renders a `<name>_server` and a `<name>_client` module with `quote!`
//! and appends them, formatted by prettyplease, to the package's file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span, TokenStream};
use prost_build::{Comments, Method, Service, ServiceGenerator};
use quote::quote;

/// Names of the inherent methods of a generated client. An rpc whose Rust
/// name is one of these gets a trailing underscore on the client.
const CLIENT_HELPERS: &[&str] = &["new", "with_interceptor", "from_client", "into_client"];

/// Everything the generator needs from the builder, checked and parsed.
pub(crate) struct Settings {
    pub(crate) build_server: bool,
    pub(crate) build_client: bool,
    /// `<wren_path>::codegen`.
    pub(crate) codegen: syn::Path,
    pub(crate) server_attributes: Vec<(String, Vec<syn::Attribute>)>,
    pub(crate) server_mod_attributes: Vec<(String, Vec<syn::Attribute>)>,
    pub(crate) client_attributes: Vec<(String, Vec<syn::Attribute>)>,
    pub(crate) client_mod_attributes: Vec<(String, Vec<syn::Attribute>)>,
    pub(crate) disable_comments: Vec<String>,
}

/// Problems found while generating, reported once prost-build returns.
pub(crate) type Errors = Rc<RefCell<Vec<String>>>;

/// The encoded `FileDescriptorSet` of each proto package, filled in by the
/// builder once the files are compiled, for `FILE_DESCRIPTOR_SET`.
pub(crate) type DescriptorSets = Rc<RefCell<HashMap<String, Vec<u8>>>>;

/// The generator handed to prost-build.
pub(crate) struct WrenGenerator {
    settings: Settings,
    errors: Errors,
    descriptor_sets: DescriptorSets,
}

impl WrenGenerator {
    pub(crate) fn new(settings: Settings, errors: Errors) -> WrenGenerator {
        WrenGenerator {
            settings,
            errors,
            descriptor_sets: DescriptorSets::default(),
        }
    }

    /// Also emits `FILE_DESCRIPTOR_SET` in each package that has services
    /// and an entry in `sets` by the time prost-build finishes it.
    pub(crate) fn with_descriptor_sets(mut self, sets: DescriptorSets) -> WrenGenerator {
        self.descriptor_sets = sets;
        self
    }
}

impl ServiceGenerator for WrenGenerator {
    fn finalize_package(&mut self, package: &str, buf: &mut String) {
        let sets = self.descriptor_sets.borrow();
        let Some(bytes) = sets.get(package) else {
            return;
        };
        let literal = syn::LitByteStr::new(bytes, Span::call_site());
        let tokens = quote! {
            /// The encoded `google.protobuf.FileDescriptorSet` of this
            /// package's `.proto` files and of every file they import, for a
            /// reflection service
            /// (`wren_reflection::Builder::register_encoded_file_descriptor_set`).
            pub const FILE_DESCRIPTOR_SET: &[u8] = #literal;
        };
        match syn::parse2::<syn::File>(tokens) {
            Ok(file) => {
                buf.push('\n');
                buf.push_str(&prettyplease::unparse(&file));
            }
            Err(e) => self.errors.borrow_mut().push(format!(
                "FILE_DESCRIPTOR_SET of {package} does not parse ({e}); please report this"
            )),
        }
    }

    fn generate(&mut self, service: Service, buf: &mut String) {
        let model = ServiceModel::new(&service);
        let mut tokens = TokenStream::new();
        for error in &model.errors {
            self.errors.borrow_mut().push(error.clone());
            // Also fail the crate's own compilation, for users who drive
            // prost-build themselves and never see the error list.
            tokens.extend(quote!(::core::compile_error!(#error);));
        }
        if self.settings.build_server {
            tokens.extend(server(&self.settings, &model));
        }
        if self.settings.build_client {
            tokens.extend(client(&self.settings, &model));
        }
        match syn::parse2::<syn::File>(tokens) {
            Ok(file) => {
                buf.push('\n');
                buf.push_str(&prettyplease::unparse(&file));
            }
            Err(e) => self.errors.borrow_mut().push(format!(
                "wren-build generated code for service {} that does not parse ({e}); please report this",
                model.full_name
            )),
        }
    }
}

/// How a method streams. Every kind is modelled so that streaming methods
/// only need their own arms in [`server`] and [`client`] once the runtime
/// supports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MethodKind {
    Unary,
    ClientStreaming,
    ServerStreaming,
    Bidi,
}

impl MethodKind {
    fn of(method: &Method) -> MethodKind {
        match (method.client_streaming, method.server_streaming) {
            (false, false) => MethodKind::Unary,
            (true, false) => MethodKind::ClientStreaming,
            (false, true) => MethodKind::ServerStreaming,
            (true, true) => MethodKind::Bidi,
        }
    }

    fn variant(self) -> Ident {
        let name = match self {
            MethodKind::Unary => "Unary",
            MethodKind::ClientStreaming => "ClientStreaming",
            MethodKind::ServerStreaming => "ServerStreaming",
            MethodKind::Bidi => "Bidi",
        };
        Ident::new(name, Span::call_site())
    }
}

/// One proto service, with every name the generated code uses.
struct ServiceModel {
    /// `pkg.Greeter`: the wire name.
    full_name: String,
    /// `.pkg.Greeter`: what attribute and comment paths are matched against.
    match_name: String,
    /// `Greeter`: the server trait (prost's sanitised name, `Self_` for `Self`).
    trait_name: Ident,
    /// `GreeterServer`, `GreeterClient`.
    server_name: Ident,
    client_name: Ident,
    /// `greeter_server`, `greeter_client`.
    server_mod: Ident,
    client_mod: Ident,
    comments: Comments,
    methods: Vec<MethodModel>,
    errors: Vec<String>,
}

struct MethodModel {
    /// `SayHello`: the wire name, as written in the proto file.
    proto_name: String,
    /// `say_hello` (or `r#type`, `self_`): the trait method.
    rust_name: Ident,
    /// The client method: `rust_name` unless it collides with a helper.
    client_name: Ident,
    kind: MethodKind,
    input: syn::Type,
    output: syn::Type,
    /// `SayHelloStream`: the server trait's associated type for a method
    /// whose replies stream.
    stream_type: Ident,
    comments: Comments,
}

impl ServiceModel {
    fn new(service: &Service) -> ServiceModel {
        let full_name = if service.package.is_empty() {
            service.proto_name.clone()
        } else {
            format!("{}.{}", service.package, service.proto_name)
        };
        let camel = service.proto_name.to_upper_camel_case();
        let snake = service.proto_name.to_snake_case();
        let mut errors = Vec::new();
        let mut seen: HashMap<String, &str> = HashMap::new();
        let mut methods = Vec::new();
        for method in &service.methods {
            if let Some(other) = seen.insert(method.name.clone(), &method.proto_name) {
                errors.push(format!(
                    "service {full_name}: methods {other} and {} both become the Rust method `{}`",
                    method.proto_name, method.name
                ));
                continue;
            }
            let client_name = if CLIENT_HELPERS.contains(&method.name.as_str()) {
                format!("{}_", method.name)
            } else {
                method.name.clone()
            };
            methods.push(MethodModel {
                proto_name: method.proto_name.clone(),
                rust_name: ident(&method.name),
                client_name: ident(&client_name),
                kind: MethodKind::of(method),
                stream_type: ident(&format!(
                    "{}Stream",
                    method.name.trim_start_matches("r#").to_upper_camel_case()
                )),
                input: message_type(&method.input_type),
                output: message_type(&method.output_type),
                comments: method.comments.clone(),
            });
        }
        ServiceModel {
            match_name: format!(".{full_name}"),
            full_name,
            trait_name: ident(&service.name),
            server_name: ident(&format!("{camel}Server")),
            client_name: ident(&format!("{camel}Client")),
            server_mod: ident(&format!("{snake}_server")),
            client_mod: ident(&format!("{snake}_client")),
            comments: service.comments.clone(),
            methods,
            errors,
        }
    }
}

/// An identifier from prost's sanitised names, which use `r#` for keywords.
fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

/// The Rust type of a message, seen from inside the generated modules:
/// prost resolves it relative to the package module, one level up.
fn message_type(rust_path: &str) -> syn::Type {
    let path = if rust_path.starts_with("::") || rust_path.starts_with('(') {
        rust_path.to_owned()
    } else {
        format!("super::{rust_path}")
    };
    syn::parse_str(&path).unwrap_or_else(|e| panic!("prost gave an invalid type `{path}`: {e}"))
}

/// `#[doc = ".."]` attributes from proto comments, using prost's own
/// sanitising (URLs, brackets) so that rustdoc reads them as prost's
/// messages are read. Empty unless the comments are enabled for `path`.
fn proto_docs(settings: &Settings, path: &str, comments: &Comments) -> Vec<TokenStream> {
    if settings
        .disable_comments
        .iter()
        .any(|pattern| matches_path(pattern, path))
    {
        return Vec::new();
    }
    let mut rendered = String::new();
    comments.append_with_indent(0, &mut rendered);
    rendered
        .lines()
        .filter_map(|line| line.strip_prefix("///"))
        .map(|line| quote!(#[doc = #line]))
        .collect()
}

/// Proto comments if there are any, else `fallback`.
fn docs_or(
    settings: &Settings,
    path: &str,
    comments: &Comments,
    fallback: &str,
) -> Vec<TokenStream> {
    let docs = proto_docs(settings, path, comments);
    if docs.is_empty() {
        let line = format!(" {fallback}");
        vec![quote!(#[doc = #line])]
    } else {
        docs
    }
}

/// Whether a prost-style path pattern selects `name` (fully qualified, with
/// a leading dot): `.` selects everything, `.pkg` and `.pkg.Svc` select by
/// prefix, `Svc` and `pkg.Svc` by suffix, always on whole segments.
pub(crate) fn matches_path(pattern: &str, name: &str) -> bool {
    if pattern == "." || pattern == name {
        return true;
    }
    if pattern.starts_with('.') {
        name.strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
    } else {
        name.strip_suffix(pattern)
            .is_some_and(|rest| rest.ends_with('.'))
    }
}

fn attributes<'a>(
    list: &'a [(String, Vec<syn::Attribute>)],
    name: &'a str,
) -> impl Iterator<Item = &'a syn::Attribute> + 'a {
    list.iter()
        .filter(move |(pattern, _)| matches_path(pattern, name))
        .flat_map(|(_, attrs)| attrs)
}

/// Lints that generated modules must not trip in a crate that warns on
/// them (wren's own workspace lints, clippy's defaults).
fn module_allows() -> TokenStream {
    quote! {
        #![allow(
            dead_code,
            missing_docs,
            unreachable_pub,
            unused_qualifications,
            clippy::all,
            clippy::pedantic,
            clippy::nursery,
            clippy::restriction
        )]
    }
}

fn server(settings: &Settings, svc: &ServiceModel) -> TokenStream {
    let cg = &settings.codegen;
    let ServiceModel {
        full_name,
        trait_name,
        server_name,
        server_mod,
        ..
    } = svc;
    let allows = module_allows();
    let mod_attrs = attributes(&settings.server_mod_attributes, &svc.match_name);
    let struct_attrs = attributes(&settings.server_attributes, &svc.match_name);
    let mod_doc = format!(
        " The server side of `{full_name}`: implement [`{trait_name}`] and serve a [`{server_name}`]."
    );
    let struct_doc = format!(" Serves `{full_name}` with an implementation of [`{trait_name}`].");

    let trait_docs = docs_or(
        settings,
        &svc.match_name,
        &svc.comments,
        &format!("The methods of `{full_name}`."),
    );
    let table = svc.methods.iter().map(|m| {
        let name = &m.proto_name;
        let kind = m.kind.variant();
        quote!((#name, #cg::MethodKind::#kind))
    });

    let trait_methods = svc.methods.iter().map(|m| {
        let path = format!("{}.{}", svc.match_name, m.proto_name);
        let fallback = format!("Handles `{full_name}/{}`.", m.proto_name);
        let docs = docs_or(settings, &path, &m.comments, &fallback);
        let name = &m.rust_name;
        let (input, output) = (&m.input, &m.output);
        let stream = &m.stream_type;
        let stream_doc = format!(
            " The stream of replies of [`{trait_name}::{name}`].",
            name = m.rust_name
        );
        let future = |request: TokenStream, response: TokenStream| {
            quote! {
                #(#docs)*
                fn #name(
                    &self,
                    request: #cg::Request<#request>,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<#cg::Response<#response>, #cg::Status>,
                > + ::core::marker::Send;
            }
        };
        let stream_type = quote! {
            #[doc = #stream_doc]
            type #stream: #cg::Stream<
                    Item = ::core::result::Result<#output, #cg::Status>,
                > + ::core::marker::Send
                + 'static;
        };
        match m.kind {
            MethodKind::Unary => future(quote!(#input), quote!(#output)),
            MethodKind::ClientStreaming => future(quote!(#cg::Streaming<#input>), quote!(#output)),
            MethodKind::ServerStreaming => {
                let f = future(quote!(#input), quote!(Self::#stream));
                quote!(#stream_type #f)
            }
            MethodKind::Bidi => {
                let f = future(quote!(#cg::Streaming<#input>), quote!(Self::#stream));
                quote!(#stream_type #f)
            }
        }
    });

    let routes = svc.methods.iter().map(|m| {
        let wire = &m.proto_name;
        let name = &m.rust_name;
        let input = &m.input;
        match m.kind {
            MethodKind::Unary => quote! {
                #wire => {
                    let inner = #cg::Arc::clone(&self.inner);
                    ::std::boxed::Box::pin(async move {
                        let request = request.try_map(|body| body.decode::<#input>())?;
                        let response = <T as #trait_name>::#name(&inner, request).await?;
                        ::core::result::Result::Ok(response.map(|message| #cg::Body::encode(&message)))
                    })
                }
            },
            MethodKind::ServerStreaming => quote! {
                #wire => {
                    let inner = #cg::Arc::clone(&self.inner);
                    ::std::boxed::Box::pin(async move {
                        let request = request.try_map(|body| body.decode::<#input>())?;
                        let response = <T as #trait_name>::#name(&inner, request).await?;
                        ::core::result::Result::Ok(response.map(#cg::Body::encode_stream))
                    })
                }
            },
            MethodKind::ClientStreaming => quote! {
                #wire => {
                    let inner = #cg::Arc::clone(&self.inner);
                    ::std::boxed::Box::pin(async move {
                        let request = request.map(#cg::Body::into_streaming::<#input>);
                        let response = <T as #trait_name>::#name(&inner, request).await?;
                        ::core::result::Result::Ok(response.map(|message| #cg::Body::encode(&message)))
                    })
                }
            },
            MethodKind::Bidi => quote! {
                #wire => {
                    let inner = #cg::Arc::clone(&self.inner);
                    ::std::boxed::Box::pin(async move {
                        let request = request.map(#cg::Body::into_streaming::<#input>);
                        let response = <T as #trait_name>::#name(&inner, request).await?;
                        ::core::result::Result::Ok(response.map(#cg::Body::encode_stream))
                    })
                }
            },
        }
    });

    quote! {
        #(#mod_attrs)*
        pub mod #server_mod {
            #![doc = #mod_doc]
            #allows

            /// The full name of the service, as sent on the wire.
            pub const SERVICE_NAME: &str = #full_name;

            /// Every method of the service, by its wire name, with how it streams.
            pub const METHODS: &[(&str, #cg::MethodKind)] = &[#(#table),*];

            #(#trait_docs)*
            pub trait #trait_name: ::core::marker::Send + ::core::marker::Sync + 'static {
                #(#trait_methods)*
            }

            #[doc = #struct_doc]
            #(#struct_attrs)*
            pub struct #server_name<T> {
                inner: #cg::Arc<T>,
            }

            impl<T> #server_name<T> {
                /// A server for `inner`.
                pub fn new(inner: T) -> Self {
                    Self::from_arc(#cg::Arc::new(inner))
                }

                /// A server for an implementation that is already shared.
                pub fn from_arc(inner: #cg::Arc<T>) -> Self {
                    Self { inner }
                }

                /// A server for `inner` that runs `interceptor` on each call's
                /// request head (metadata, deadline, extensions with the peer)
                /// before the handler, and may reject the call with a status.
                /// Register it with `add_service` like the server itself.
                pub fn with_interceptor<I>(
                    inner: T,
                    interceptor: I,
                ) -> #cg::InterceptedService<Self, I>
                where
                    I: #cg::Interceptor,
                {
                    #cg::InterceptedService::new(Self::new(inner), interceptor)
                }
            }

            impl<T> ::core::clone::Clone for #server_name<T> {
                fn clone(&self) -> Self {
                    Self { inner: #cg::Arc::clone(&self.inner) }
                }
            }

            impl<T> ::core::fmt::Debug for #server_name<T> {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct(::core::stringify!(#server_name)).finish_non_exhaustive()
                }
            }

            impl<T: #trait_name> #cg::Service<#cg::Request<#cg::Body>> for #server_name<T> {
                type Response = #cg::Response<#cg::Body>;
                type Error = #cg::Status;
                type Future = #cg::BoxFuture<
                    'static,
                    ::core::result::Result<#cg::Response<#cg::Body>, #cg::Status>,
                >;

                fn poll_ready(
                    &mut self,
                    _cx: &mut #cg::Context<'_>,
                ) -> #cg::Poll<::core::result::Result<(), #cg::Status>> {
                    #cg::Poll::Ready(::core::result::Result::Ok(()))
                }

                fn call(&mut self, request: #cg::Request<#cg::Body>) -> Self::Future {
                    match request.method() {
                        #(#routes)*
                        method => {
                            let status = #cg::Status::unimplemented(::std::format!("method {method}"));
                            ::std::boxed::Box::pin(::core::future::ready(::core::result::Result::Err(status)))
                        }
                    }
                }
            }

            impl<T> #cg::NamedService for #server_name<T> {
                fn service_name(&self) -> &str {
                    SERVICE_NAME
                }

                fn method_kind(&self, method: &str) -> #cg::MethodKind {
                    METHODS
                        .iter()
                        .find(|(name, _)| *name == method)
                        .map_or(#cg::MethodKind::Unary, |(_, kind)| *kind)
                }
            }
        }
    }
}

fn client(settings: &Settings, svc: &ServiceModel) -> TokenStream {
    let cg = &settings.codegen;
    let ServiceModel {
        full_name,
        client_name,
        client_mod,
        ..
    } = svc;
    let allows = module_allows();
    let mod_attrs = attributes(&settings.client_mod_attributes, &svc.match_name);
    let struct_attrs = attributes(&settings.client_attributes, &svc.match_name);
    let mod_doc = format!(" The client side of `{full_name}`: [`{client_name}`].");
    let struct_docs = docs_or(
        settings,
        &svc.match_name,
        &svc.comments,
        &format!("A client for `{full_name}`."),
    );
    let about = " Calls go through any tower service of ttrpc bodies: a `Channel`, a channel wrapped in layers, or a server called in memory.";

    let methods = svc.methods.iter().map(|m| {
        let path = format!("{}.{}", svc.match_name, m.proto_name);
        let fallback = format!("Calls `{full_name}/{}`.", m.proto_name);
        let docs = docs_or(settings, &path, &m.comments, &fallback);
        let name = &m.client_name;
        let wire = &m.proto_name;
        let (input, output) = (&m.input, &m.output);
        match m.kind {
            MethodKind::Unary => quote! {
                #(#docs)*
                pub async fn #name(
                    &mut self,
                    request: impl #cg::IntoRequest<#input>,
                ) -> ::core::result::Result<#cg::Response<#output>, #cg::Status> {
                    self.inner
                        .unary(#cg::IntoRequest::into_request(request), #full_name, #wire)
                        .await
                }
            },
            MethodKind::ServerStreaming => quote! {
                #(#docs)*
                pub async fn #name(
                    &mut self,
                    request: impl #cg::IntoRequest<#input>,
                ) -> ::core::result::Result<#cg::Response<#cg::Streaming<#output>>, #cg::Status> {
                    self.inner
                        .server_streaming(#cg::IntoRequest::into_request(request), #full_name, #wire)
                        .await
                }
            },
            MethodKind::ClientStreaming => quote! {
                #(#docs)*
                pub async fn #name(
                    &mut self,
                    request: impl #cg::IntoStreamingRequest<Message = #input>,
                ) -> ::core::result::Result<#cg::Response<#output>, #cg::Status> {
                    self.inner
                        .client_streaming(
                            #cg::IntoStreamingRequest::into_streaming_request(request),
                            #full_name,
                            #wire,
                        )
                        .await
                }
            },
            MethodKind::Bidi => quote! {
                #(#docs)*
                pub async fn #name(
                    &mut self,
                    request: impl #cg::IntoStreamingRequest<Message = #input>,
                ) -> ::core::result::Result<#cg::Response<#cg::Streaming<#output>>, #cg::Status> {
                    self.inner
                        .streaming(
                            #cg::IntoStreamingRequest::into_streaming_request(request),
                            #full_name,
                            #wire,
                        )
                        .await
                }
            },
        }
    });

    quote! {
        #(#mod_attrs)*
        pub mod #client_mod {
            #![doc = #mod_doc]
            #allows

            /// The full name of the service, as sent on the wire.
            pub const SERVICE_NAME: &str = #full_name;

            #(#struct_docs)*
            #[doc = ""]
            #[doc = #about]
            #[derive(::core::fmt::Debug, ::core::clone::Clone)]
            #(#struct_attrs)*
            pub struct #client_name<S = #cg::Channel> {
                inner: #cg::Client<S>,
            }

            impl<S> #client_name<S> {
                /// A client calling through `inner`.
                pub fn new(inner: S) -> Self {
                    Self { inner: #cg::Client::new(inner) }
                }

                /// A client calling through `inner` that runs `interceptor` on
                /// each call's request head (metadata, deadline) before it is
                /// sent, and may refuse the call with a status.
                pub fn with_interceptor<I>(
                    inner: S,
                    interceptor: I,
                ) -> #client_name<#cg::InterceptedService<S, I>>
                where
                    I: #cg::Interceptor,
                {
                    #client_name { inner: #cg::Client::new(#cg::InterceptedService::new(inner, interceptor)) }
                }

                /// A client over a typed `Client`.
                pub fn from_client(client: #cg::Client<S>) -> Self {
                    Self { inner: client }
                }

                /// The typed `Client` underneath.
                pub fn into_client(self) -> #cg::Client<S> {
                    self.inner
                }
            }

            impl<S> #client_name<S>
            where
                S: #cg::Service<#cg::Request<#cg::Body>, Response = #cg::Response<#cg::Body>>,
                S::Error: ::core::convert::Into<#cg::BoxError>,
            {
                #(#methods)*
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn path_patterns() {
        assert!(matches_path(".", ".pkg.Svc"));
        assert!(matches_path(".pkg", ".pkg.Svc"));
        assert!(matches_path(".pkg.Svc", ".pkg.Svc"));
        assert!(matches_path("Svc", ".pkg.Svc"));
        assert!(matches_path("pkg.Svc", ".pkg.Svc"));
        assert!(!matches_path(".pk", ".pkg.Svc"));
        assert!(!matches_path("vc", ".pkg.Svc"));
        assert!(!matches_path(".pkg.Svc", ".pkg.SvcTwo"));
        assert!(!matches_path("Svc", ".pkg.OtherSvc"));
        assert!(!matches_path(".other", ".pkg.Svc"));
    }

    #[test]
    fn idents() {
        assert_eq!(ident("r#type").to_string(), "r#type");
        assert_eq!(ident("self_").to_string(), "self_");
        assert_eq!(ident("get_thing").to_string(), "get_thing");
    }

    #[test]
    fn message_types() {
        let ty = |s| message_type(s).to_token_stream().to_string();
        assert_eq!(ty("HelloRequest"), "super :: HelloRequest");
        assert_eq!(
            ty("super::common::Empty"),
            "super :: super :: common :: Empty"
        );
        assert_eq!(
            ty("::prost_types::Timestamp"),
            ":: prost_types :: Timestamp"
        );
        assert_eq!(ty("()"), "()");
    }
}
