//! The request and response types every layer above the wire shares.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use bytes::Bytes;
use wren_codec::{ByteStr, Metadata, Status};

use crate::Extensions;
use crate::stream::{BodyStream, MethodKind, Streaming};

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
    service: ByteStr,
    method: ByteStr,
    kind: MethodKind,
    /// The stream the call arrived on (server side); 0 for none.
    stream_id: u32,
}

/// A call's successful response: a message plus extensions.
#[derive(Debug)]
pub struct Response<T> {
    message: T,
    extensions: Extensions,
}

/// The body of a request or response as tower layers see it: one encoded
/// message, or a stream of them.
///
/// Middleware written against `Request<Body>` and `Response<Body>` sees
/// unary and streaming calls alike.
#[derive(Default)]
pub struct Body {
    kind: BodyKind,
}

enum BodyKind {
    Message(Bytes),
    Stream(BodyStream),
}

impl Default for BodyKind {
    fn default() -> Self {
        BodyKind::Message(Bytes::new())
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyKind::Message(m) => f.debug_tuple("Body::Message").field(&m.len()).finish(),
            BodyKind::Stream(_) => f.write_str("Body::Stream"),
        }
    }
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
    pub service: ByteStr,
    /// The method name.
    pub method: ByteStr,
    /// How the method streams.
    pub kind: MethodKind,
    /// The stream id the call arrived on, on a server.
    pub stream_id: Option<u32>,
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
            service: ByteStr::new(),
            method: ByteStr::new(),
            stream_id: 0,
            kind: MethodKind::Unary,
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

    /// How the called method streams. Clients send it in the Request
    /// frame's flags; a server sets it from the method's registration.
    pub fn method_kind(&self) -> MethodKind {
        self.kind
    }

    /// Sets how the called method streams.
    pub fn set_method_kind(&mut self, kind: MethodKind) {
        self.kind = kind;
    }

    /// The stream id the call arrived on: set by a server on every request
    /// it hands to its layers, for logs and traces; `None` on a client,
    /// which picks the id only when it writes the call (a
    /// [`StreamIdSlot`](crate::StreamIdSlot) in the request's extensions
    /// learns it then).
    pub fn stream_id(&self) -> Option<u32> {
        (self.stream_id != 0).then_some(self.stream_id)
    }

    /// Sets the stream id the call arrived on (0: none).
    pub fn set_stream_id(&mut self, stream_id: u32) {
        self.stream_id = stream_id;
    }

    /// Sets the service and method names: `&'static str`s, `String`s or
    /// [`ByteStr`]s (none of which is copied).
    pub fn set_path(&mut self, service: impl Into<ByteStr>, method: impl Into<ByteStr>) {
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
            kind: self.kind,
            stream_id: (self.stream_id != 0).then_some(self.stream_id),
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
            kind: parts.kind,
            stream_id: parts.stream_id.unwrap_or(0),
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
            kind: self.kind,
            stream_id: self.stream_id,
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
            kind: self.kind,
            stream_id: self.stream_id,
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
        Body {
            kind: BodyKind::Message(message),
        }
    }

    /// An empty message (zero bytes, which is a valid protobuf message).
    pub fn empty() -> Body {
        Body::default()
    }

    /// A body streaming encoded messages.
    pub fn from_stream<S>(stream: S) -> Body
    where
        S: Stream<Item = Result<Bytes, Status>> + Send + 'static,
    {
        Body {
            kind: BodyKind::Stream(Box::pin(stream)),
        }
    }

    /// A body streaming the messages of an already boxed stream (no
    /// second box).
    pub fn from_boxed_stream(stream: BodyStream) -> Body {
        Body {
            kind: BodyKind::Stream(stream),
        }
    }

    /// Encodes `message` into a body.
    pub fn encode<M: prost::Message>(message: &M) -> Body {
        Body::new(message.encode_to_vec().into())
    }

    /// Encodes a stream of messages into a streaming body.
    pub fn encode_stream<M, S>(stream: S) -> Body
    where
        M: prost::Message,
        S: Stream<Item = Result<M, Status>> + Send + 'static,
    {
        Body::from_stream(EncodeStream {
            inner: stream,
            buf: bytes::BytesMut::new(),
        })
    }

    /// Whether the body is a stream.
    pub fn is_stream(&self) -> bool {
        matches!(self.kind, BodyKind::Stream(_))
    }

    /// The encoded message, if the body is one message.
    pub fn message(&self) -> Option<&Bytes> {
        match &self.kind {
            BodyKind::Message(m) => Some(m),
            BodyKind::Stream(_) => None,
        }
    }

    /// The encoded message; a streaming body is an `INTERNAL` error.
    pub fn into_message(self) -> Result<Bytes, Status> {
        match self.kind {
            BodyKind::Message(m) => Ok(m),
            BodyKind::Stream(_) => Err(Status::internal("expected one message, got a stream")),
        }
    }

    /// The body as a stream: a one-message body yields its message once.
    pub fn into_stream(self) -> BodyStream {
        match self.kind {
            BodyKind::Stream(s) => s,
            BodyKind::Message(m) => Box::pin(Once(Some(m))),
        }
    }

    /// Decodes the body as `M`. A message that does not decode is the
    /// caller's fault: `INVALID_ARGUMENT`.
    pub fn decode<M: prost::Message + Default>(&self) -> Result<M, Status> {
        let message = self
            .message()
            .ok_or_else(|| Status::internal("expected one message, got a stream"))?;
        M::decode(message.clone())
            .map_err(|e| Status::invalid_argument(format!("error unmarshalling payload: {e}")))
    }

    /// The body as a typed stream of `M`.
    pub fn into_streaming<M>(self) -> Streaming<M> {
        Streaming::new(self.into_stream())
    }
}

struct Once(Option<Bytes>);

impl Stream for Once {
    type Item = Result<Bytes, Status>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Ok))
    }
}

/// Encodes into chunks of at least this size, handing out one slice per
/// message, so a stream of small messages costs an allocation per chunk
/// rather than per message.
const ENCODE_CHUNK: usize = 8 * 1024;

pin_project_lite::pin_project! {
    struct EncodeStream<S> {
        #[pin]
        inner: S,
        buf: bytes::BytesMut,
    }
}

impl<M: prost::Message, S: Stream<Item = Result<M, Status>>> Stream for EncodeStream<S> {
    type Item = Result<Bytes, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let item = std::task::ready!(this.inner.poll_next(cx));
        Poll::Ready(item.map(|r| {
            r.map(|m| {
                let len = m.encoded_len();
                if this.buf.capacity() < len {
                    this.buf.reserve(len.max(ENCODE_CHUNK));
                }
                m.encode_raw(this.buf);
                this.buf.split().freeze()
            })
        }))
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

/// A message or a [`Request`] holding one: what generated client methods
/// take, so a call can pass a bare message or a request with metadata and a
/// deadline.
///
/// ```
/// use std::time::Duration;
/// use wren_transport::{IntoRequest, Request};
///
/// // As a generated client method takes its argument:
/// fn call(request: impl IntoRequest<String>) -> Request<String> {
///     request.into_request()
/// }
///
/// assert!(call("hi".to_string()).deadline().is_none());
/// let mut request = Request::new("hi".to_string());
/// request.set_timeout(Duration::from_secs(1));
/// assert!(call(request).deadline().is_some());
/// ```
pub trait IntoRequest<T> {
    /// The request: `self` if it is one, else `self` in a new one.
    fn into_request(self) -> Request<T>;
}

impl<T> IntoRequest<T> for T {
    fn into_request(self) -> Request<T> {
        Request::new(self)
    }
}

impl<T> IntoRequest<T> for Request<T> {
    fn into_request(self) -> Request<T> {
        self
    }
}

/// A stream of messages, or a [`Request`] holding one: what generated client
/// methods of client-streaming and bidi calls take.
pub trait IntoStreamingRequest {
    /// The message type.
    type Message;
    /// The stream.
    type Stream: Stream<Item = Self::Message> + Send + 'static;

    /// The request: `self` if it is one, else `self` in a new one.
    fn into_streaming_request(self) -> Request<Self::Stream>;
}

impl<S> IntoStreamingRequest for S
where
    S: Stream + Send + 'static,
{
    type Message = S::Item;
    type Stream = S;

    fn into_streaming_request(self) -> Request<S> {
        Request::new(self)
    }
}

impl<S> IntoStreamingRequest for Request<S>
where
    S: Stream + Send + 'static,
{
    type Message = S::Item;
    type Stream = S;

    fn into_streaming_request(self) -> Request<S> {
        self
    }
}
