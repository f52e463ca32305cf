//! What talking to containerd takes beyond ttrpc itself: the namespace every
//! call carries in its metadata, and the `Any`s containerd packs its events
//! in, whose type URLs are bare message names.
//!
//! # Namespaces
//!
//! containerd scopes everything (containers, tasks, images, events) by
//! namespace, and over ttrpc the namespace travels in the call's metadata
//! under [`NAMESPACE_KEY`] (`containerd-namespace-ttrpc`; over gRPC it is
//! `containerd-namespace`). containerd sends it on every call to a shim, a
//! shim sends it on every event it forwards, and containerd's own ttrpc
//! services refuse calls without one.
//!
//! ```
//! use wren_rpc::{Request, containerd};
//!
//! let mut req = Request::new(());
//! containerd::set_namespace(&mut req, "k8s.io");
//! assert_eq!(containerd::namespace(&req), Some("k8s.io"));
//! assert_eq!(req.metadata().get("containerd-namespace-ttrpc"), Some("k8s.io"));
//! ```
//!
//! A client that always works in one namespace sets it with an interceptor,
//! [`namespace_interceptor`]; a server reads it with [`namespace`] or
//! [`namespace_required`].
//!
//! # Event `Any`s
//!
//! containerd publishes events as `google.protobuf.Any`s whose type URL is
//! the message's bare full name, `containerd.events.TaskExit`, as its Go
//! `typeurl` package writes it: no `type.googleapis.com/` prefix and no `/`
//! at all. prost's `Any::to_msg` requires a `/` and so refuses every such
//! event; [`unpack`] accepts both forms. [`pack`] writes the bare form,
//! which is the only one containerd 1.6's `typeurl` resolves (it looks the
//! URL up as a message name, unchanged); later versions accept both.
//!
//! ```
//! use wren_rpc::containerd;
//! use wren_rpc::prost_types::{Any, Duration};
//!
//! // A message with `prost::Name` (prost-build's `enable_type_names()`).
//! let d = Duration { seconds: 3, nanos: 0 };
//! let any = containerd::pack(&d);
//! assert_eq!(any.type_url, "google.protobuf.Duration");
//! assert!(any.to_msg::<Duration>().is_err()); // prost wants a '/'
//! assert_eq!(containerd::unpack::<Duration>(&any).unwrap(), d);
//!
//! let prefixed = Any::from_msg(&d).unwrap();
//! assert_eq!(prefixed.type_url, "type.googleapis.com/google.protobuf.Duration");
//! assert!(containerd::is::<Duration>(&prefixed));
//! assert_eq!(containerd::unpack::<Duration>(&prefixed).unwrap(), d);
//! ```

use std::fmt;

use prost::{Message, Name};
use prost_types::Any;

use crate::{Request, Status};

/// The metadata key containerd's ttrpc calls carry their namespace in.
///
/// Source: containerd's `namespaces/ttrpc.go` (`TTRPCHeader`). The gRPC
/// API uses `containerd-namespace` instead.
pub const NAMESPACE_KEY: &str = "containerd-namespace-ttrpc";

/// The namespace `req` is in: the first value of its [`NAMESPACE_KEY`]
/// metadata, or `None`.
pub fn namespace<T>(req: &Request<T>) -> Option<&str> {
    req.metadata().get(NAMESPACE_KEY)
}

/// Puts `req` in `namespace`, replacing any namespace it had.
pub fn set_namespace<T>(req: &mut Request<T>, namespace: impl crate::codec::IntoByteStr) {
    req.metadata_mut()
        .insert(crate::codec::ByteStr::from_static(NAMESPACE_KEY), namespace);
}

/// The namespace `req` is in, or the status containerd answers a call
/// without one with: `FAILED_PRECONDITION`, `namespace is required`
/// (containerd's `namespaces.NamespaceRequired`). An empty value counts as
/// none.
///
/// # Errors
///
/// `FAILED_PRECONDITION` when there is no namespace.
pub fn namespace_required<T>(req: &Request<T>) -> Result<&str, Status> {
    namespace(req)
        .filter(|ns| !ns.is_empty())
        .ok_or_else(|| Status::failed_precondition("namespace is required"))
}

/// A client [`Interceptor`](crate::client::Interceptor) that puts every
/// call in `namespace`, unless the call already names one.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use wren_rpc::{Channel, Client, containerd};
///
/// let channel = Channel::connect("unix:///run/containerd/containerd.sock.ttrpc").await?;
/// let client = Client::with_interceptor(channel, containerd::namespace_interceptor("default"));
/// # Ok(()) }
/// ```
pub fn namespace_interceptor(
    namespace: impl Into<String>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static {
    let namespace: String = namespace.into();
    move |mut req: Request<()>| {
        if self::namespace(&req).is_none() {
            set_namespace(&mut req, namespace.clone());
        }
        Ok(req)
    }
}

/// `message` in an `Any` whose type URL is its bare full name
/// (`containerd.events.TaskExit`), as containerd's `typeurl` writes it.
///
/// `M` needs [`prost::Name`]: prost-build's `enable_type_names()` derives
/// it (`wren_build::configure()` reaches it through `compile_with_config`).
pub fn pack<M: Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::full_name(),
        value: message.encode_to_vec(),
    }
}

/// The full message name a type URL names: everything after its last `/`,
/// or all of it when it has none (containerd's bare names).
///
/// ```
/// use wren_rpc::containerd::type_name;
///
/// assert_eq!(type_name("containerd.events.TaskExit"), "containerd.events.TaskExit");
/// assert_eq!(type_name("type.googleapis.com/containerd.events.TaskExit"), "containerd.events.TaskExit");
/// ```
pub fn type_name(type_url: &str) -> &str {
    type_url.rsplit('/').next().unwrap_or(type_url)
}

/// Whether `any` holds an `M`, by its type URL in either form.
pub fn is<M: Name>(any: &Any) -> bool {
    let name = type_name(&any.type_url);
    // `full_name()` allocates; compare package and name in place instead.
    match M::PACKAGE {
        "" => name == M::NAME,
        package => name
            .strip_prefix(package)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|rest| rest == M::NAME),
    }
}

/// The `M` inside `any`, whose type URL may be bare
/// (`containerd.events.TaskExit`) or prefixed
/// (`type.googleapis.com/containerd.events.TaskExit`).
///
/// # Errors
///
/// [`UnpackError`]: `any` names another type, or its value does not decode
/// as `M`. It converts into an `INVALID_ARGUMENT` [`Status`].
pub fn unpack<M: Message + Name + Default>(any: &Any) -> Result<M, UnpackError> {
    if !is::<M>(any) {
        return Err(UnpackError {
            type_url: any.type_url.clone(),
            expected: M::full_name(),
            decode: None,
        });
    }
    M::decode(any.value.as_slice()).map_err(|e| UnpackError {
        type_url: any.type_url.clone(),
        expected: M::full_name(),
        decode: Some(e),
    })
}

/// Why [`unpack`] failed: the `Any` holds another type, or a value that
/// does not decode.
#[derive(Clone, Debug)]
pub struct UnpackError {
    type_url: String,
    expected: String,
    decode: Option<prost::DecodeError>,
}

impl UnpackError {
    /// The `Any`'s type URL.
    pub fn type_url(&self) -> &str {
        &self.type_url
    }

    /// Whether the `Any` holds another type (rather than a value that does
    /// not decode).
    pub fn is_other_type(&self) -> bool {
        self.decode.is_none()
    }
}

impl fmt::Display for UnpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.decode {
            None => write!(
                f,
                "Any of type {:?} is not a {}",
                self.type_url, self.expected
            ),
            Some(e) => write!(
                f,
                "Any of type {:?} does not decode as {}: {e}",
                self.type_url, self.expected
            ),
        }
    }
}

impl std::error::Error for UnpackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.decode
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<UnpackError> for Status {
    fn from(error: UnpackError) -> Status {
        Status::invalid_argument(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::{Duration, Timestamp};

    #[test]
    fn namespace_round_trip_and_required() {
        let mut req = Request::new(());
        assert_eq!(namespace(&req), None);
        let err = namespace_required(&req).unwrap_err();
        assert_eq!(err.code(), crate::Code::FailedPrecondition);
        assert_eq!(err.message(), "namespace is required");
        set_namespace(&mut req, "");
        assert!(namespace_required(&req).is_err());
        set_namespace(&mut req, "default");
        set_namespace(&mut req, "k8s.io");
        assert_eq!(req.metadata().get_all(NAMESPACE_KEY).count(), 1);
        assert_eq!(namespace_required(&req).unwrap(), "k8s.io");
    }

    #[test]
    fn the_interceptor_fills_in_a_missing_namespace_only() {
        let mut interceptor = namespace_interceptor("default");
        let req = interceptor(Request::new(())).unwrap();
        assert_eq!(namespace(&req), Some("default"));
        let mut own = Request::new(());
        set_namespace(&mut own, "mine");
        assert_eq!(namespace(&interceptor(own).unwrap()), Some("mine"));
    }

    #[test]
    fn type_names_and_is() {
        let bare = pack(&Duration::default());
        assert_eq!(bare.type_url, "google.protobuf.Duration");
        assert!(is::<Duration>(&bare));
        assert!(!is::<Timestamp>(&bare));
        for url in [
            "type.googleapis.com/google.protobuf.Duration",
            "example.com/types/google.protobuf.Duration",
            "/google.protobuf.Duration",
        ] {
            let any = Any {
                type_url: url.into(),
                value: vec![],
            };
            assert!(is::<Duration>(&any), "{url}");
        }
        for url in [
            "",
            "google.protobuf.Duratio",
            "xgoogle.protobuf.Duration",
            "google.protobufDuration",
            "google.protobuf.Duration/",
            "protobuf.Duration",
        ] {
            let any = Any {
                type_url: url.into(),
                value: vec![],
            };
            assert!(!is::<Duration>(&any), "{url:?}");
        }
    }

    #[test]
    fn unpack_errors_say_what_went_wrong() {
        let any = pack(&Timestamp {
            seconds: 5,
            nanos: 6,
        });
        let err = unpack::<Duration>(&any).unwrap_err();
        assert!(err.is_other_type());
        assert_eq!(err.type_url(), "google.protobuf.Timestamp");
        assert_eq!(
            err.to_string(),
            "Any of type \"google.protobuf.Timestamp\" is not a google.protobuf.Duration"
        );
        let status = Status::from(err);
        assert_eq!(status.code(), crate::Code::InvalidArgument);

        let garbage = Any {
            type_url: "google.protobuf.Duration".into(),
            value: vec![0xff, 0xff],
        };
        let err = unpack::<Duration>(&garbage).unwrap_err();
        assert!(!err.is_other_type());
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.to_string().contains("does not decode"), "{err}");
    }
}
