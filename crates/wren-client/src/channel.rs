//! [`Channel`]: calls multiplexed over one connection, as a tower service.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;
use tower_service::Service;
use wren_transport::codec::{DEFAULT_MAX_MESSAGE_SIZE, RequestRef, Status};
use wren_transport::{
    Body, Budget, CatchPanic, Connection, ConnectionClosed, ConnectionSettings, DeadlineStream,
    InboxLimits, Request, Response, Side, StreamIdSlot, inbox,
};

use crate::connection::{ClientConnection, Command, Reply, ReplyTo};
use crate::reconnect::Backoff;

/// The default bytes of streamed replies a channel buffers for callers
/// that have not read them: 64 MiB.
pub const DEFAULT_CHANNEL_BUDGET: usize = 64 << 20;

/// A handle to one ttrpc connection. Cheap to clone; every clone sends its
/// calls over the same connection, each on its own stream.
///
/// `Channel` is a `tower::Service<Request<Body>>`, so client-side layers wrap
/// it like any service. A call whose request has a deadline sends the time
/// left as `timeout_nano` and fails locally with `DEADLINE_EXCEEDED` when it
/// passes. When the connection goes away, every call waiting on it fails at
/// once with `UNAVAILABLE` ([`wren_transport::is_closed`] tells it apart).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use wren_client::{Channel, Client};
/// use wren_transport::Request;
///
/// let channel = Channel::connect_unix("/run/demo.sock").await?;
/// let mut client = Client::new(channel);
/// let reply: wren_transport::Response<String> = client
///     .unary(Request::new("world".to_string()), "hello.v1.Greeter", "Hello")
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Channel {
    pub(crate) tx: mpsc::Sender<Command>,
    pub(crate) max_message_size: usize,
    pub(crate) inbox: InboxLimits,
    pub(crate) budget: Budget,
}

/// Settings for a [`Channel`].
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    pub(crate) settings: ConnectionSettings,
    pub(crate) queue: usize,
    pub(crate) inbox: InboxLimits,
    pub(crate) budget: usize,
    pub(crate) max_concurrent_calls: usize,
    pub(crate) backoff: Backoff,
    pub(crate) wait_for_connection: bool,
}

impl Builder {
    /// The largest message sent or accepted, in bytes. Default: 4 MiB, Go's
    /// fixed limit. A larger request fails locally with
    /// `RESOURCE_EXHAUSTED` and nothing is sent; a larger reply fails its
    /// call the same way and the connection is kept.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Builder {
        self.settings.max_message_size = bytes;
        self
    }

    /// How many calls may wait to be written; a call made while the queue
    /// is full waits for room in its response future (and its deadline
    /// bounds that wait). Default: 1024.
    #[must_use]
    pub fn queue_size(mut self, calls: usize) -> Builder {
        self.queue = calls.max(1);
        self
    }

    /// The most calls in flight on the connection at once. Calls past it
    /// wait in the channel's queue (and callers in `poll_ready` once the
    /// queue is full) until an earlier call ends, instead of reaching a
    /// server that might refuse them. Default: no limit.
    #[must_use]
    pub fn max_concurrent_calls(mut self, calls: usize) -> Builder {
        self.max_concurrent_calls = calls.max(1);
        self
    }

    /// The most reply bytes buffered for one streaming call whose caller
    /// has not read them (each message counts 64 bytes more than its
    /// length). While other calls are in flight the connection never stops
    /// reading for a slow caller — that would stall them — so a server that
    /// gets further ahead than this (or than [`Builder::connection_budget`]
    /// allows) fails that call alone with `RESOURCE_EXHAUSTED`. When the
    /// stream is the connection's only call, the connection instead stops
    /// reading once its caller is half this far behind (at most 1 MiB),
    /// until the caller catches up or another call starts; the server's
    /// writes then wait. A message always fits into an empty buffer.
    /// Default: 4 MiB.
    #[must_use]
    pub fn max_buffered_bytes_per_stream(mut self, bytes: usize) -> Builder {
        self.inbox.bytes = bytes;
        self
    }

    /// The most reply bytes buffered for all of the channel's streaming
    /// calls together, as for [`Builder::max_buffered_bytes_per_stream`].
    /// Default: 64 MiB ([`DEFAULT_CHANNEL_BUDGET`]).
    #[must_use]
    pub fn connection_budget(mut self, bytes: usize) -> Builder {
        self.budget = bytes;
        self
    }

    pub(crate) fn channel(&self, tx: mpsc::Sender<Command>) -> Channel {
        Channel {
            tx,
            max_message_size: self.settings.max_message_size,
            inbox: self.inbox,
            budget: Budget::new(self.budget),
        }
    }

    /// A channel over an already-connected stream. Spawns the connection's
    /// task on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn connect_with<T>(self, io: T) -> Channel
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (tx, rx) = mpsc::channel(self.queue);
        let dispatch = ClientConnection::new(rx, self.max_concurrent_calls);
        let conn = Connection::new(io, dispatch, self.settings);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "ttrpc client connection ended");
            }
        });
        self.channel(tx)
    }

    /// Connects to a unix socket.
    pub async fn connect_unix(self, path: impl AsRef<Path>) -> io::Result<Channel> {
        let io = tokio::net::UnixStream::connect(path).await?;
        Ok(self.connect_with(io))
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            settings: ConnectionSettings {
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                ..ConnectionSettings::default()
            },
            queue: 1024,
            inbox: InboxLimits::default(),
            budget: DEFAULT_CHANNEL_BUDGET,
            max_concurrent_calls: usize::MAX,
            backoff: Backoff::default(),
            wait_for_connection: false,
        }
    }
}

impl Channel {
    /// Settings for a channel.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A channel with default settings over an already-connected stream.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn new<T>(io: T) -> Channel
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Builder::default().connect_with(io)
    }

    /// Connects to a unix socket with default settings.
    pub async fn connect_unix(path: impl AsRef<Path>) -> io::Result<Channel> {
        Builder::default().connect_unix(path).await
    }

    /// Whether the connection has closed; every call now fails with `UNAVAILABLE`.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl Service<Request<Body>> for Channel {
    type Response = Response<Body>;
    type Error = Status;
    type Future = ResponseFuture;

    /// Ready unless the connection is gone. A channel takes every call: one
    /// made while [`Builder::queue_size`] calls already wait to be written
    /// waits, in its response future, for room in the queue.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        if self.tx.is_closed() {
            return Poll::Ready(Err(ConnectionClosed::default().into_status()));
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> ResponseFuture {
        let deadline = req.deadline();
        let timeout_nano = match deadline {
            None => 0,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return ResponseFuture::failed(Side::Client.deadline_exceeded());
                }
                i64::try_from(left.as_nanos()).unwrap_or(i64::MAX)
            }
        };
        let (parts, body) = req.into_parts();
        let kind = parts.kind;
        let (payload, outbound) = if kind.client_streaming() {
            // The request stream is the caller's code, polled by the
            // connection: a panic in it fails this call alone.
            let stream = Box::pin(CatchPanic::new(body.into_stream(), "request stream"));
            (
                Bytes::new(),
                Some(DeadlineStream::wrap(stream, deadline, Side::Client)),
            )
        } else {
            match body.into_message() {
                Ok(payload) => (payload, None),
                Err(status) => return ResponseFuture::failed(status),
            }
        };
        let envelope = RequestRef {
            service: &parts.service,
            method: &parts.method,
            payload: &payload,
            timeout_nano,
            metadata: &parts.metadata,
        }
        .encoded_len();
        if envelope > self.max_message_size {
            return ResponseFuture::failed(Status::message_too_large(
                envelope,
                self.max_message_size,
            ));
        }
        let (reply, waiting) = if kind.server_streaming() {
            let (sender, stream) = inbox(self.inbox, self.budget.clone());
            let stream = DeadlineStream::wrap(stream, deadline, Side::Client);
            (
                ReplyTo::Stream(Box::new(sender)),
                State::Streaming(Some(Body::from_boxed_stream(stream))),
            )
        } else {
            let (tx, rx) = oneshot::channel();
            (ReplyTo::Once(tx), State::Waiting { rx })
        };
        let cmd = Command {
            service: parts.service,
            method: parts.method,
            payload,
            metadata: parts.metadata,
            timeout_nano,
            envelope_len: envelope,
            kind,
            outbound,
            reply,
            stream_id_slot: parts.extensions.get::<StreamIdSlot>().cloned(),
        };
        let deadline = match waiting {
            State::Waiting { .. } => deadline.map(|d| tokio::time::sleep_until(d.into())),
            _ => None,
        };
        let state = match self.tx.try_send(cmd) {
            Ok(()) => waiting,
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return ResponseFuture::failed(ConnectionClosed::default().into_status());
            }
            Err(mpsc::error::TrySendError::Full(cmd)) => {
                // The queue is full: wait for room, then for the reply.
                let tx = self.tx.clone();
                State::Queued {
                    send: Box::pin(async move { tx.send(cmd).await.is_ok() }),
                    then: Box::new(waiting),
                }
            }
        };
        ResponseFuture { state, deadline }
    }
}

pin_project! {
    /// The reply to one call on a [`Channel`].
    #[derive(Debug)]
    pub struct ResponseFuture {
        state: State,
        #[pin]
        deadline: Option<Sleep>,
    }
}

enum State {
    Failed(Option<Status>),
    /// Waiting for room in the connection's queue (`Ready(false)`: the
    /// connection is gone), then `then`.
    Queued {
        send: Pin<Box<dyn Future<Output = bool> + Send>>,
        then: Box<State>,
    },
    Waiting {
        rx: oneshot::Receiver<Reply>,
    },
    /// A streamed reply: the response is ready at once, its messages follow.
    Streaming(Option<Body>),
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Failed(status) => f.debug_tuple("Failed").field(status).finish(),
            State::Queued { .. } => f.write_str("Queued"),
            State::Waiting { .. } => f.write_str("Waiting"),
            State::Streaming(_) => f.write_str("Streaming"),
        }
    }
}

impl ResponseFuture {
    fn failed(status: Status) -> ResponseFuture {
        ResponseFuture {
            state: State::Failed(Some(status)),
            deadline: None,
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Body>, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state {
                State::Queued { send, then } => match send.as_mut().poll(cx) {
                    Poll::Ready(true) => {
                        let then = std::mem::replace(&mut **then, State::Failed(None));
                        *this.state = then;
                    }
                    Poll::Ready(false) => {
                        *this.state = State::Failed(None);
                        return Poll::Ready(Err(ConnectionClosed::default().into_status()));
                    }
                    Poll::Pending => {
                        // The deadline bounds the wait for room too; the
                        // call was never sent.
                        if let Some(deadline) = this.deadline.as_mut().as_pin_mut() {
                            ready!(deadline.poll(cx));
                            *this.state = State::Failed(None);
                            return Poll::Ready(Err(Side::Client.deadline_exceeded()));
                        }
                        return Poll::Pending;
                    }
                },
                State::Failed(status) => {
                    return Poll::Ready(Err(status.take().expect("polled after completion")));
                }
                State::Streaming(body) => {
                    return Poll::Ready(Ok(Response::new(
                        body.take().expect("polled after completion"),
                    )));
                }
                State::Waiting { rx } => {
                    if let Poll::Ready(reply) = Pin::new(rx).poll(cx) {
                        return Poll::Ready(match reply {
                            Ok(Ok(payload)) => Ok(Response::new(Body::new(payload))),
                            Ok(Err(status)) => Err(status),
                            Err(_) => Err(ConnectionClosed::default().into_status()),
                        });
                    }
                    if let Some(deadline) = this.deadline.as_mut().as_pin_mut() {
                        ready!(deadline.poll(cx));
                        return Poll::Ready(Err(Side::Client.deadline_exceeded()));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
