//! [`TraceLayer`] and the [`Trace`] service it makes.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use wren_transport::{Body, MethodKind, Peer, Request, Response, StreamIdSlot};

use crate::body::{CountRequest, TracedBody};
use crate::call::{CallSpan, Outcome, Side, status_of};

/// A tower layer that gives every call a `tracing` span, on a server
/// ([`TraceLayer::server`], around `Server::layer`) or on a client
/// ([`TraceLayer::client`], around a `Channel`).
///
/// The span, named `ttrpc` at `INFO`, has these fields:
///
/// | field | value |
/// |---|---|
/// | `otel.name` | `service/method`, as otelttrpc names its spans |
/// | `otel.kind` | `server` or `client` |
/// | `rpc.system` | `ttrpc` |
/// | `rpc.service`, `rpc.method` | the full service name and the method |
/// | `rpc.ttrpc.kind` | `unary`, `client_streaming`, `server_streaming` or `bidi` |
/// | `stream_id` | the call's stream id: on a server from the start, on a client once its connection has written the call (recorded when it ends) |
/// | `peer` | server: the peer's address and credentials; client: the label given to [`TraceLayer::peer`] |
/// | `deadline_ms` | the time left until the deadline when the call started, in milliseconds |
/// | `status`, `rpc.ttrpc.status_code` | the final status: its name (`OK`, `DEADLINE_EXCEEDED`, ...) and number |
/// | `error` | the status message, when not `OK` |
/// | `duration_ms` | from the call to its final status, in milliseconds |
/// | `messages_in`, `messages_out` | messages received and sent: 1 each way for a unary call |
///
/// A call's final status is read wherever it arrives: from the response
/// future, or, for a streamed reply, from the end of the reply stream (a
/// final `Err` item is the call's status). Every outcome is recorded once:
/// a handler's status, a panic that unwinds through the layer (recorded as
/// `INTERNAL`, then unwound further for the server to answer), and a call
/// dropped before it finished — `DEADLINE_EXCEEDED` if its deadline has
/// passed (the server gave up on it, or a timeout layer outside this one),
/// `CANCELLED` otherwise. When the call ends, one event is emitted in the
/// span: `DEBUG` for `OK`, `INFO` for another status, `ERROR` for a panic.
///
/// With the `opentelemetry` feature, a server layer continues the trace
/// whose W3C `traceparent` (and `tracestate`) arrived in the request's
/// metadata, and a client layer writes the current trace context into the
/// request's metadata, under the keys and in the format containerd's
/// otelttrpc interceptors use; see `TraceLayer::propagator`.
///
/// ```
/// use wren_server::{Methods, Server};
/// use wren_tracing::TraceLayer;
///
/// let router = Server::builder()
///     .layer(TraceLayer::server())
///     .add_service(Methods::new("hello.v1.Greeter"));
/// ```
#[derive(Clone)]
pub struct TraceLayer {
    side: Side,
    peer: Option<Arc<str>>,
    #[cfg(feature = "opentelemetry")]
    propagator: Option<crate::otel::SharedPropagator>,
}

impl TraceLayer {
    /// The layer for a server: `Server::builder().layer(TraceLayer::server())`.
    pub fn server() -> TraceLayer {
        TraceLayer::new(Side::Server)
    }

    /// The layer for a client: `ServiceBuilder::new().layer(TraceLayer::client()).service(channel)`.
    pub fn client() -> TraceLayer {
        TraceLayer::new(Side::Client)
    }

    fn new(side: Side) -> TraceLayer {
        TraceLayer {
            side,
            peer: None,
            #[cfg(feature = "opentelemetry")]
            propagator: None,
        }
    }

    /// What a client records as the `peer` of its calls, such as the
    /// endpoint it connected to (`unix:///run/containerd/containerd.sock.ttrpc`).
    /// A server records each connection's peer itself.
    #[must_use]
    pub fn peer(mut self, peer: impl Into<Arc<str>>) -> TraceLayer {
        self.peer = Some(peer.into());
        self
    }
}

impl fmt::Debug for TraceLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceLayer")
            .field("side", &self.side)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Trace<S> {
        Trace {
            inner,
            layer: self.clone(),
        }
    }
}

/// A service whose calls are traced; made by [`TraceLayer`].
#[derive(Clone, Debug)]
pub struct Trace<S> {
    inner: S,
    layer: TraceLayer,
}

impl<S> Trace<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, consuming the layer.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

fn kind_name(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::ClientStreaming => "client_streaming",
        MethodKind::ServerStreaming => "server_streaming",
        MethodKind::Bidi => "bidi",
        _ => "unary",
    }
}

fn peer_of(req: &Request<Body>) -> Option<String> {
    let peer = req.extensions().get::<Peer>()?;
    let mut text = match peer.peer_addr() {
        Some(addr) => addr.to_string(),
        None => String::from("unknown"),
    };
    if let Some(credentials) = peer.credentials() {
        text.push_str(&format!(" ({credentials})"));
    }
    Some(text)
}

impl TraceLayer {
    fn span(&self, req: &Request<Body>) -> tracing::Span {
        let side = match self.side {
            Side::Server => "server",
            Side::Client => "client",
        };
        let span = tracing::info_span!(
            "ttrpc",
            otel.name = format!("{}/{}", req.service(), req.method()),
            otel.kind = side,
            otel.status_code = Empty,
            otel.status_description = Empty,
            rpc.system = "ttrpc",
            rpc.service = req.service(),
            rpc.method = req.method(),
            rpc.ttrpc.kind = kind_name(req.method_kind()),
            rpc.ttrpc.status_code = Empty,
            stream_id = Empty,
            peer = Empty,
            deadline_ms = Empty,
            status = Empty,
            error = Empty,
            duration_ms = Empty,
            messages_in = Empty,
            messages_out = Empty,
        );
        let peer = match self.side {
            Side::Server => peer_of(req),
            Side::Client => self.peer.as_deref().map(str::to_owned),
        };
        if let Some(peer) = peer {
            span.record("peer", peer);
        }
        if let Some(id) = crate::stream_id(req) {
            span.record("stream_id", id);
        }
        if let Some(left) = req.timeout() {
            span.record("deadline_ms", left.as_secs_f64() * 1000.0);
        }
        span
    }
}

impl<S> Service<Request<Body>> for Trace<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: fmt::Display + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> ResponseFuture<S::Future> {
        let span = self.layer.span(&req);
        #[cfg(feature = "opentelemetry")]
        crate::otel::propagate(
            self.layer.propagator_ref(),
            self.layer.side,
            &span,
            &mut req,
        );
        let mut call = CallSpan::new(span, self.layer.side, req.deadline());
        if call.side == Side::Client {
            // The connection picks the stream id when it writes the call.
            let slot = StreamIdSlot::new();
            req.extensions_mut().insert(slot.clone());
            call.stream_id = Some(slot);
        }
        let req = if req.get_ref().is_stream() {
            let (side, counts) = (call.side, Arc::clone(&call.counts));
            req.map(|body| CountRequest::wrap(body, side, counts))
        } else {
            // A unary request is one message.
            call.counts.add(call.side == Side::Server);
            req
        };
        let called = {
            let _entered = call.span.enter();
            let inner = &mut self.inner;
            catch_unwind(AssertUnwindSafe(move || inner.call(req)))
        };
        let inner = match called {
            Ok(inner) => inner,
            Err(panic) => {
                let mut call = call;
                call.panicked(&*panic);
                resume_unwind(panic);
            }
        };
        ResponseFuture {
            inner,
            call: Some(call),
        }
    }
}

#[cfg(feature = "opentelemetry")]
impl TraceLayer {
    /// The propagator that reads and writes the trace context in metadata.
    /// Default: OpenTelemetry's global text map propagator, as otelttrpc
    /// uses by default (containerd sets it to W3C trace context and
    /// baggage). Set `opentelemetry_sdk::propagation::TraceContextPropagator`
    /// here, or globally with `opentelemetry::global::set_text_map_propagator`,
    /// for W3C `traceparent` and `tracestate`: the global default
    /// propagates nothing.
    #[must_use]
    pub fn propagator<P>(mut self, propagator: P) -> TraceLayer
    where
        P: opentelemetry::propagation::TextMapPropagator + Send + Sync + 'static,
    {
        self.propagator = Some(Arc::new(propagator));
        self
    }

    pub(crate) fn propagator_ref(&self) -> Option<&crate::otel::SharedPropagator> {
        self.propagator.as_ref()
    }
}

pin_project! {
    /// The response future of a [`Trace`] service.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<CallSpan>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
    E: fmt::Display + 'static,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let call = this
            .call
            .as_mut()
            .expect("ResponseFuture polled after completion");
        let polled = {
            let _entered = call.span.enter();
            let inner = this.inner;
            catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
        };
        let result = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => result,
            Err(panic) => {
                call.panicked(&*panic);
                *this.call = None;
                resume_unwind(panic);
            }
        };
        let mut call = this.call.take().expect("checked above");
        Poll::Ready(match result {
            Ok(resp) if resp.get_ref().is_stream() => {
                // The call ends with its reply stream.
                Ok(resp.map(|body| TracedBody::wrap(body, call)))
            }
            Ok(resp) => {
                call.counts.add(call.side == Side::Client);
                call.finish(Outcome::Ok);
                Ok(resp)
            }
            Err(e) => {
                call.finish(Outcome::Status(&status_of(&e)));
                Err(e)
            }
        })
    }
}
