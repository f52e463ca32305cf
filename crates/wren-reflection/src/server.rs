//! [`Builder`] and [`ReflectionServer`]: the reflection service over ttrpc.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use prost::Message;
use prost_types::FileDescriptorSet;
use tower_service::Service;
use wren_server::{MethodKind, Methods, NamedService};
use wren_transport::codec::{Code, Status};
use wren_transport::{Body, Request, Response, Streaming};

use crate::index::{Error, Index};
use crate::pb::server_reflection_request::MessageRequest;
use crate::pb::server_reflection_response::MessageResponse;
use crate::pb::{
    ErrorResponse, ExtensionNumberResponse, FileDescriptorResponse, ListServiceResponse,
    ServerReflectionRequest, ServerReflectionResponse, ServiceResponse,
};
use crate::{METHOD, SERVICE_NAME_V1, SERVICE_NAME_V1ALPHA};

/// Collects the file descriptors a [`ReflectionServer`] describes.
///
/// ```
/// # fn run() -> Result<(), wren_reflection::Error> {
/// let reflection = wren_reflection::Builder::new()
///     // In a real server: the `FILE_DESCRIPTOR_SET` constant wren-build
///     // generates for a package, or a set from `file_descriptor_set_path`.
///     .register_encoded_file_descriptor_set(wren_health::FILE_DESCRIPTOR_SET)
///     .build_v1()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct Builder {
    sets: Vec<Encoded>,
    service_names: BTreeSet<String>,
    exclude_reflection: bool,
}

#[derive(Debug)]
enum Encoded {
    Bytes(&'static [u8]),
    Owned(Vec<u8>),
    Set(FileDescriptorSet),
}

impl Builder {
    /// A builder describing nothing yet but the reflection service itself.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Describes the files of an encoded `google.protobuf.FileDescriptorSet`,
    /// such as the `FILE_DESCRIPTOR_SET` constant wren-build generates per
    /// package (wren-build's `Builder::emit_file_descriptor_set`) or the file
    /// written by `Builder::file_descriptor_set_path`. Every import of
    /// every file should be in some registered set.
    pub fn register_encoded_file_descriptor_set(mut self, bytes: &'static [u8]) -> Builder {
        self.sets.push(Encoded::Bytes(bytes));
        self
    }

    /// Like [`register_encoded_file_descriptor_set`](Builder::register_encoded_file_descriptor_set),
    /// for bytes read at run time.
    pub fn register_encoded_file_descriptor_set_vec(mut self, bytes: Vec<u8>) -> Builder {
        self.sets.push(Encoded::Owned(bytes));
        self
    }

    /// Describes the files of a decoded set, such as `protox::compile`'s.
    pub fn register_file_descriptor_set(mut self, set: FileDescriptorSet) -> Builder {
        self.sets.push(Encoded::Set(set));
        self
    }

    /// Lists only the services named this way (call it once per service)
    /// instead of every service the registered files declare. Every file
    /// stays describable.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Builder {
        self.service_names.insert(name.into());
        self
    }

    /// Whether the reflection service describes and lists itself, as gRPC
    /// servers do. Default: `true`.
    pub fn include_reflection_service(mut self, include: bool) -> Builder {
        self.exclude_reflection = !include;
        self
    }

    /// The service as `grpc.reflection.v1.ServerReflection`.
    ///
    /// # Errors
    ///
    /// If a registered set does not decode, or two different files share a
    /// name.
    pub fn build_v1(self) -> Result<ReflectionServer, Error> {
        Ok(ReflectionServer::new(SERVICE_NAME_V1, self.index()?))
    }

    /// The service as `grpc.reflection.v1alpha.ServerReflection`, the name
    /// older clients (grpcurl before 1.9) ask for. Add both to serve both.
    ///
    /// # Errors
    ///
    /// As [`build_v1`](Builder::build_v1).
    pub fn build_v1alpha(self) -> Result<ReflectionServer, Error> {
        Ok(ReflectionServer::new(SERVICE_NAME_V1ALPHA, self.index()?))
    }

    fn index(self) -> Result<Arc<Shared>, Error> {
        let mut index = Index::default();
        if !self.exclude_reflection {
            index.add_set(decode(crate::FILE_DESCRIPTOR_SET)?)?;
        }
        for set in self.sets {
            let set = match set {
                Encoded::Bytes(bytes) => decode(bytes)?,
                Encoded::Owned(bytes) => decode(&bytes)?,
                Encoded::Set(set) => set,
            };
            index.add_set(set)?;
        }
        let mut services: Vec<String> = if self.service_names.is_empty() {
            index.services().map(str::to_owned).collect()
        } else {
            self.service_names.into_iter().collect()
        };
        // Each version lists itself (below), not the other.
        services.retain(|s| s != SERVICE_NAME_V1 && s != SERVICE_NAME_V1ALPHA);
        Ok(Arc::new(Shared {
            index,
            services,
            list_self: !self.exclude_reflection,
        }))
    }
}

fn decode(bytes: &[u8]) -> Result<FileDescriptorSet, Error> {
    FileDescriptorSet::decode(bytes).map_err(|e| {
        Error::new(format!(
            "a registered FileDescriptorSet does not decode: {e}"
        ))
    })
}

#[derive(Debug)]
struct Shared {
    index: Index,
    /// The services listed, less the reflection service.
    services: Vec<String>,
    list_self: bool,
}

/// The gRPC server reflection service, served over ttrpc: one bidi method,
/// `ServerReflectionInfo`, answering each request in order. Add it to a
/// server with `Server::add_service`; made by [`Builder`].
///
/// A file asked for comes with every file it imports that this stream has
/// not sent yet, as gRPC's servers do. A symbol, file or extension that is
/// not registered gets an `error_response` with `NOT_FOUND`, and the stream
/// goes on.
#[derive(Clone)]
pub struct ReflectionServer {
    methods: Methods,
}

impl ReflectionServer {
    fn new(name: &'static str, shared: Arc<Shared>) -> ReflectionServer {
        let methods = Methods::new(name).bidi(
            METHOD,
            move |req: Request<Streaming<ServerReflectionRequest>>| {
                let shared = Arc::clone(&shared);
                let mut sent = HashSet::new();
                let replies = req
                    .into_inner()
                    .map(move |r| r.map(|r| shared.answer(name, r, &mut sent)));
                async move { Ok(Response::new(replies)) }
            },
        );
        ReflectionServer { methods }
    }
}

impl Shared {
    fn answer(
        &self,
        name: &str,
        request: ServerReflectionRequest,
        sent: &mut HashSet<String>,
    ) -> ServerReflectionResponse {
        let files = |name: Option<&str>, what: String, sent: &mut HashSet<String>| match name
            .and_then(|name| self.index.file_with_imports(name, sent))
        {
            Some(files) => MessageResponse::FileDescriptorResponse(FileDescriptorResponse {
                file_descriptor_proto: files.into_iter().map(Vec::from).collect(),
            }),
            None => not_found(what),
        };
        let response = match &request.message_request {
            Some(MessageRequest::FileByFilename(name)) => {
                files(Some(name), format!("file {name:?} not found"), sent)
            }
            Some(MessageRequest::FileContainingSymbol(symbol)) => files(
                self.index.file_of_symbol(symbol),
                format!("symbol {symbol:?} not found"),
                sent,
            ),
            Some(MessageRequest::FileContainingExtension(ext)) => files(
                self.index
                    .file_of_extension(&ext.containing_type, ext.extension_number),
                format!(
                    "extension {} of {:?} not found",
                    ext.extension_number, ext.containing_type
                ),
                sent,
            ),
            Some(MessageRequest::AllExtensionNumbersOfType(ty)) => {
                match self.index.extension_numbers(ty) {
                    Some(numbers) => {
                        MessageResponse::AllExtensionNumbersResponse(ExtensionNumberResponse {
                            base_type_name: ty.trim_start_matches('.').to_owned(),
                            extension_number: numbers,
                        })
                    }
                    None => not_found(format!("type {ty:?} not found")),
                }
            }
            Some(MessageRequest::ListServices(_)) => {
                let own = self.list_self.then_some(name);
                let mut names: Vec<&str> = self
                    .services
                    .iter()
                    .map(String::as_str)
                    .chain(own)
                    .collect();
                names.sort_unstable();
                MessageResponse::ListServicesResponse(ListServiceResponse {
                    service: names
                        .into_iter()
                        .map(|name| ServiceResponse {
                            name: name.to_owned(),
                        })
                        .collect(),
                })
            }
            None => MessageResponse::ErrorResponse(ErrorResponse {
                error_code: Code::InvalidArgument as i32,
                error_message: "empty request".to_owned(),
            }),
        };
        ServerReflectionResponse {
            valid_host: request.host.clone(),
            original_request: Some(request),
            message_response: Some(response),
        }
    }
}

fn not_found(message: String) -> MessageResponse {
    MessageResponse::ErrorResponse(ErrorResponse {
        error_code: Code::NotFound as i32,
        error_message: message,
    })
}

impl fmt::Debug for ReflectionServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReflectionServer")
            .field("name", &self.methods.service_name())
            .finish_non_exhaustive()
    }
}

impl NamedService for ReflectionServer {
    fn service_name(&self) -> &str {
        self.methods.service_name()
    }

    fn method_kind(&self, method: &str) -> MethodKind {
        self.methods.method_kind(method)
    }
}

impl Service<Request<Body>> for ReflectionServer {
    type Response = Response<Body>;
    type Error = Status;
    type Future = BoxFuture<'static, Result<Response<Body>, Status>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.methods.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.methods.call(req)
    }
}
