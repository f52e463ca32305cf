//! The request and response types every layer above the wire shares.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wren_codec::{Metadata, Status};

use crate::Extensions;

/// A call's request: a message plus its metadata, deadline and extensions.
///
/// Handlers receive `Request<In>`; clients build one with [`Request::new`].
/// Tower layers see `Request<Body>`, with the message still encoded.
///
/// ```
/// use std::time::Duration;
/// use wren_transport::Request;
///
/// let mut req = Request::new("hello");
/// req.metadata_mut().insert("containerd-namespace-ttrpc", "default");
/// req.set_timeout(Duration::from_secs(5));
/// assert!(req.deadline().is_some());
/// ```
#[derive(Debug)]
pub struct Request<T> {
    message: T,
    metadata: Metadata,
    deadline: Option<Instant>,
    extensions: Extensions,
    service: Cow<'static, str>,
    method: Cow<'static, str>,
}

/// A call's successful response: a message plus extensions.
#[derive(Debug)]
pub struct Response<T> {
    message: T,
    extensions: Extensions,
}

/// The body of a request or response as tower layers see it: the message's
/// encoded bytes.
///
/// It is opaque so that streamed bodies can be added without changing the
/// type that middleware is written against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    message: Bytes,
}

/// A request taken apart, for code that moves its pieces elsewhere.
#[derive(Debug)]
#[non_exhaustive]
pub struct Parts {
    /// The metadata.
    pub metadata: Metadata,
    /// The deadline.
    pub deadline: Option<Instant>,
    /// The extensions.
    pub extensions: Extensions,
    /// The full service name.
    pub service: Cow<'static, str>,
    /// The method name.
    pub method: Cow<'static, str>,
}

// ===== impl Request =====

impl<T> Request<T> {
    /// A request with no metadata, deadline or extensions.
    pub fn new(message: T) -> Request<T> {
        Request {
            message,
            metadata: Metadata::new(),
            deadline: None,
            extensions: Extensions::new(),
            service: Cow::Borrowed(""),
            method: Cow::Borrowed(""),
        }
    }

    /// The message.
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, consuming the request.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// The metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// When the call must be finished by. On a server this is the moment the
    /// request arrived plus the client's `timeout_nano`.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Sets or clears the deadline.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Sets the deadline to `timeout` from now.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.deadline = Instant::now().checked_add(timeout);
    }

    /// The time left until the deadline, if there is one (zero once passed).
    pub fn timeout(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Typed values attached by layers, the server or the transport.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The extensions, mutably.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The full name of the service called, such as `containerd.task.v2.Task`.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The name of the method called, as written in the proto file.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Sets the service and method names.
    pub fn set_path(
        &mut self,
        service: impl Into<Cow<'static, str>>,
        method: impl Into<Cow<'static, str>>,
    ) {
        self.service = service.into();
        self.method = method.into();
    }

    /// The request's parts and its message.
    pub fn into_parts(self) -> (Parts, T) {
        let parts = Parts {
            metadata: self.metadata,
            deadline: self.deadline,
            extensions: self.extensions,
            service: self.service,
            method: self.method,
        };
        (parts, self.message)
    }

    /// A request from parts and a message.
    pub fn from_parts(parts: Parts, message: T) -> Request<T> {
        Request {
            message,
            metadata: parts.metadata,
            deadline: parts.deadline,
            extensions: parts.extensions,
            service: parts.service,
            method: parts.method,
        }
    }

    /// The request with its message transformed, everything else kept.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Request<U> {
        Request {
            message: f(self.message),
            metadata: self.metadata,
            deadline: self.deadline,
            extensions: self.extensions,
            service: self.service,
            method: self.method,
        }
    }

    /// Like [`Request::map`], for a fallible transformation.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Request<U>, E> {
        Ok(Request {
            message: f(self.message)?,
            metadata: self.metadata,
            deadline: self.deadline,
            extensions: self.extensions,
            service: self.service,
            method: self.method,
        })
    }
}

// ===== impl Response =====

impl<T> Response<T> {
    /// A response carrying `message`.
    pub fn new(message: T) -> Response<T> {
        Response {
            message,
            extensions: Extensions::new(),
        }
    }

    /// The message.
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, consuming the response.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// Typed values attached by layers.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The extensions, mutably.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The response with its message transformed, extensions kept.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            message: f(self.message),
            extensions: self.extensions,
        }
    }

    /// Like [`Response::map`], for a fallible transformation.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Response<U>, E> {
        Ok(Response {
            message: f(self.message)?,
            extensions: self.extensions,
        })
    }
}

// ===== impl Body =====

impl Body {
    /// A body holding one encoded message.
    pub fn new(message: Bytes) -> Body {
        Body { message }
    }

    /// An empty message (zero bytes, which is a valid protobuf message).
    pub fn empty() -> Body {
        Body::default()
    }

    /// The encoded message.
    pub fn message(&self) -> &Bytes {
        &self.message
    }

    /// The encoded message, consuming the body.
    pub fn into_message(self) -> Bytes {
        self.message
    }
}

impl Body {
    /// Encodes `message` into a body.
    pub fn encode<M: prost::Message>(message: &M) -> Body {
        Body::new(message.encode_to_vec().into())
    }

    /// Decodes the body as `M`. A message that does not decode is the
    /// caller's fault: `INVALID_ARGUMENT`.
    pub fn decode<M: prost::Message + Default>(&self) -> Result<M, Status> {
        M::decode(self.message.clone())
            .map_err(|e| Status::invalid_argument(format!("error unmarshalling payload: {e}")))
    }
}

impl From<Bytes> for Body {
    fn from(message: Bytes) -> Self {
        Body::new(message)
    }
}

impl From<Vec<u8>> for Body {
    fn from(message: Vec<u8>) -> Self {
        Body::new(message.into())
    }
}

impl From<&'static [u8]> for Body {
    fn from(message: &'static [u8]) -> Self {
        Body::new(Bytes::from_static(message))
    }
}
