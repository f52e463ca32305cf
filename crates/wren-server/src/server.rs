//! [`Server`]: the builder, and [`Router`]: the services it serves.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;
use tower::layer::util::{Identity, Stack};
use tower_layer::Layer;
use tower_service::Service;
use wren_transport::{
    Body, BoxError, ConnectInfo, Connection, ConnectionSettings, InboxLimits, IntoListener,
    Listener, Request, Response,
};

use crate::accept::{AcceptConfig, Acceptor};
use crate::connection::{ConnectionConfig, ServerConnection};
use crate::drive::{ConnectionTask, Drive};
use crate::{NamedService, Routes, ShutdownHandle};

/// The default time a graceful shutdown waits for calls in flight.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings shared by every connection of a server.
///
/// ```no_run
/// # use wren_server::{Methods, Server};
/// # async fn run(listener: tokio::net::UnixListener) -> std::io::Result<()> {
/// Server::builder()
///     .layer(tower::timeout::TimeoutLayer::new(std::time::Duration::from_secs(10)))
///     .add_service(Methods::new("demo.v1.Demo"))
///     .serve(listener)
///     .await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Server<L = Identity> {
    layer: L,
    settings: ConnectionSettings,
    shutdown_timeout: Duration,
    inbox: InboxLimits,
    budget: usize,
    max_concurrent_streams: usize,
    idle_timeout: Option<Duration>,
    inline_handlers: bool,
    strict_stream_ids: bool,
    pub(crate) accept: AcceptConfig,
}

/// The default limit of calls and streams open at once on one connection:
/// 100,000. Go ttrpc has no limit; what bounds a connection's memory is its
/// buffer budget ([`DEFAULT_CONNECTION_BUDGET`]).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: usize = 100_000;

/// The default bytes of input one connection may hold for its calls: 64 MiB.
pub const DEFAULT_CONNECTION_BUDGET: usize = 64 << 20;

/// A server with its services, ready to serve.
#[derive(Debug)]
pub struct Router<L = Identity> {
    server: Server<L>,
    routes: Routes,
    shutdown: ShutdownHandle,
}

impl Server {
    /// A server with default settings and no layers.
    pub fn builder() -> Server {
        Server {
            layer: Identity::new(),
            settings: ConnectionSettings::default(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            inbox: InboxLimits::default(),
            budget: DEFAULT_CONNECTION_BUDGET,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            idle_timeout: None,
            inline_handlers: false,
            strict_stream_ids: false,
            accept: AcceptConfig::default(),
        }
    }
}

impl<L> Server<L> {
    /// Wraps every call, whatever its service, in `layer`. As with
    /// `tower::ServiceBuilder`, the layer added first is the outermost: it
    /// sees each request first.
    #[must_use]
    pub fn layer<N>(self, layer: N) -> Server<Stack<N, L>> {
        Server {
            layer: Stack::new(layer, self.layer),
            settings: self.settings,
            shutdown_timeout: self.shutdown_timeout,
            inbox: self.inbox,
            budget: self.budget,
            max_concurrent_streams: self.max_concurrent_streams,
            idle_timeout: self.idle_timeout,
            inline_handlers: self.inline_handlers,
            strict_stream_ids: self.strict_stream_ids,
            accept: self.accept,
        }
    }

    /// The largest message accepted or sent, in bytes. Default: 4 MiB
    /// ([`DEFAULT_MAX_MESSAGE_SIZE`](wren_transport::codec::DEFAULT_MAX_MESSAGE_SIZE)), Go's fixed limit; a Go peer rejects
    /// anything larger whatever this says. A larger request is answered with
    /// `RESOURCE_EXHAUSTED` and the connection kept.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.settings.max_message_size = bytes;
        self
    }

    /// Replies queued for a slow reader, in bytes, above which the server
    /// stops reading new requests from that connection. Default: 256 KiB.
    #[must_use]
    pub fn write_buffer_limit(mut self, bytes: usize) -> Self {
        self.settings.write_high_water = bytes;
        self
    }

    /// The most calls and streams open at once on one connection. A request
    /// over the limit gets `RESOURCE_EXHAUSTED` and the connection is kept.
    /// Default: 100,000 ([`DEFAULT_MAX_CONCURRENT_STREAMS`]); memory is
    /// bounded by [`Server::connection_budget`] first.
    #[must_use]
    pub fn max_concurrent_streams(mut self, streams: usize) -> Self {
        self.max_concurrent_streams = streams;
        self
    }

    /// The bytes of input one connection may hold on behalf of its calls:
    /// the request of every call in flight (its payload plus about 1.5 KiB
    /// for the call itself) and every stream message a handler has not read
    /// yet. A request that does not fit is answered `RESOURCE_EXHAUSTED`
    /// and the connection kept; a stream message that does not fit fails its
    /// stream alone with `RESOURCE_EXHAUSTED`. With the read buffer (one
    /// frame, at most [`Server::max_message_size`]) and the write buffer
    /// ([`Server::write_buffer_limit`] plus one batch per reply stream),
    /// this bounds what one peer can make a connection pin.
    /// Default: 64 MiB ([`DEFAULT_CONNECTION_BUDGET`]).
    #[must_use]
    pub fn connection_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    /// The most bytes buffered for one streaming handler that has not read
    /// them yet (each message counts 64 bytes more than its length).
    ///
    /// ttrpc has no flow control, and every call of a connection shares its
    /// socket, so while other calls are in flight the server never stops
    /// reading to wait for a slow handler: that would stall them behind the
    /// stream's Data. A handler that falls further behind than this (or than
    /// the connection's budget allows) fails its own stream with
    /// `RESOURCE_EXHAUSTED`; the stream's later Data is dropped and the
    /// connection's other calls go on. When the stream is the connection's
    /// only call, the server instead pauses its reads (at most 100 ms at a
    /// time) once the handler is half this far behind, which slows the
    /// client down. A message always fits into an empty buffer.
    /// Default: 4 MiB ([`DEFAULT_STREAM_BUFFER`](wren_transport::DEFAULT_STREAM_BUFFER)).
    #[must_use]
    pub fn max_buffered_bytes_per_stream(mut self, bytes: usize) -> Self {
        self.inbox.bytes = bytes;
        self
    }

    /// Closes a connection that has had no call in flight and received no
    /// frame for `timeout`. Default: none (connections stay open until the
    /// peer closes them, as containerd expects of a shim).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Runs every call's handler inside its connection's task instead of a
    /// tokio task of its own.
    ///
    /// By default (`false`) each call runs in its own task, as Go runs a
    /// goroutine per call: a handler that blocks its thread — a synchronous
    /// syscall, a `std::fs` call, running `runc` — holds up only its own
    /// call, as long as the runtime has another worker thread free to run
    /// the connection and the other calls. (The tasks are reused: a
    /// connection keeps the tasks its calls ran in for its next calls, and
    /// ends those left unused 100 ms after a call ended.) Inline handlers
    /// save two cross-task wake-ups per call, the fastest path on a unix
    /// socket, but share their connection's task: one handler that blocks
    /// stalls every call on its connection. Either way a handler
    /// should move blocking work off the runtime with
    /// `tokio::task::spawn_blocking`: a blocked worker thread is a worker
    /// the whole runtime lacks.
    #[must_use]
    pub fn inline_handlers(mut self, inline: bool) -> Self {
        self.inline_handlers = inline;
        self
    }

    /// Refuses every new stream id that is not above the last one, as Go's
    /// server does (`INVALID_ARGUMENT`, "StreamID cannot be re-used and must
    /// increment").
    ///
    /// By default (`false`) a wren server also accepts an odd id below the
    /// highest seen, if that id was skipped over within the last 65,536 ids
    /// and never used: clients that take ids in one task and write frames
    /// from another (the ttrpc-rust async client) sometimes put a lower id
    /// on the wire after a higher one. A used id is never accepted again.
    #[must_use]
    pub fn strict_stream_ids(mut self, strict: bool) -> Self {
        self.strict_stream_ids = strict;
        self
    }

    /// How long a graceful shutdown waits for calls in flight before it
    /// closes their connections anyway. Default: 30 s.
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Registers a service under its [`NamedService::service_name`].
    pub fn add_service<S>(self, service: S) -> Router<L>
    where
        S: NamedService
            + Service<Request<Body>, Response = Response<Body>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        Router {
            server: self,
            routes: Routes::new(),
            shutdown: ShutdownHandle::new(),
        }
        .add_service(service)
    }
}

impl<L> Router<L> {
    /// Registers another service.
    ///
    /// # Panics
    ///
    /// If a service of the same name is already registered.
    #[must_use]
    pub fn add_service<S>(mut self, service: S) -> Router<L>
    where
        S: NamedService
            + Service<Request<Body>, Response = Response<Body>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self
    }

    /// Registers a service under an explicit full name.
    #[must_use]
    pub fn add_named_service<S>(mut self, name: impl Into<String>, service: S) -> Router<L>
    where
        S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        self.routes.add(name, service);
        self
    }

    /// A handle that shuts this server down, gracefully or at once.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// The routed services with the server's layers applied: one tower
    /// service, callable without a socket.
    pub fn into_service(self) -> L::Service
    where
        L: Layer<Routes>,
    {
        self.server.layer.layer(self.routes)
    }

    /// Serves connections from `listener` until the server is shut down
    /// through its [`ShutdownHandle`]; then waits for the shutdown to finish.
    ///
    /// `listener` is anything [`IntoListener`]: a bound [`Listener`] (tokio's
    /// unix and TCP listeners, an [`EndpointListener`](wren_transport::EndpointListener)
    /// from [`take_listen_fds`](wren_transport::take_listen_fds)), an
    /// [`Endpoint`](wren_transport::Endpoint) or a URI such as
    /// `"unix:///run/demo.sock"` (bound with default options), an
    /// already-bound std listener, or an inherited listening socket's
    /// `OwnedFd`. Fails at once if binding fails.
    pub async fn serve<Li>(self, listener: Li) -> io::Result<()>
    where
        Li: IntoListener,
        L: Layer<Routes>,
        L::Service:
            Service<Request<Body>, Response = Response<Body>> + Clone + Send + Unpin + 'static,
        <L::Service as Service<Request<Body>>>::Error: Into<BoxError> + Send,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        let handle = self.shutdown.clone();
        self.serve_with_shutdown(listener, async move { handle.wait_started().await })
            .await
    }

    /// Serves one already-connected stream — a socket handed over by another
    /// process, one half of a `socketpair`, an in-memory
    /// [`tokio::io::duplex`] — as a server connection, until the peer closes
    /// it or the server is shut down through its [`ShutdownHandle`].
    ///
    /// `info` describes the peer (see [`ConnectInfo::from_unix`]); the
    /// server's [peer policy](Server::peer_policy) and
    /// [accept hook](Server::accept_hook) apply to it as to an accepted
    /// connection, and a rejected peer's stream is dropped unread. Resolves
    /// to `Ok(())` when the connection ends cleanly (or was rejected) and to
    /// the I/O error that broke it otherwise.
    ///
    /// ```no_run
    /// # use wren_server::{ConnectInfo, Methods, Server};
    /// # async fn run(stream: tokio::net::UnixStream) -> std::io::Result<()> {
    /// let info = ConnectInfo::from_unix(&stream);
    /// Server::builder()
    ///     .add_service(Methods::new("demo.v1.Demo"))
    ///     .serve_connection(stream, info)
    ///     .await
    /// # }
    /// ```
    pub async fn serve_connection<T>(self, io: T, info: ConnectInfo) -> io::Result<()>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
        L: Layer<Routes>,
        L::Service:
            Service<Request<Body>, Response = Response<Body>> + Clone + Send + Unpin + 'static,
        <L::Service as Service<Request<Body>>>::Error: Into<BoxError> + Send,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        let Router {
            server,
            routes,
            shutdown,
        } = self;
        let tasks = TaskTracker::new();
        let config = server.connection_config(&routes, &tasks);
        let acceptor = Acceptor::new(server.accept);
        let service = server.layer.layer(routes);
        let (drain, close) = (shutdown.drain_token(), shutdown.close_token());
        let serve = async {
            match acceptor.handshake(info, &drain).await {
                Some(peer) => {
                    let dispatch = ServerConnection::new(service, config, peer);
                    Drive::new(Connection::new(io, dispatch, server.settings), drain, close).await
                }
                None => Ok(()),
            }
        };
        // A shutdown asked for through the handle drains this connection as
        // the accept loop of `serve` would.
        let watch = async {
            shutdown.wait_started().await;
            shutdown.start(server.shutdown_timeout);
            std::future::pending::<()>().await;
        };
        let result = tokio::select! {
            result = serve => result,
            () = watch => unreachable!("the watcher never finishes"),
        };
        // Calls cancelled by the connection's end stop at their next poll.
        tasks.close();
        tasks.wait().await;
        shutdown.finished();
        result
    }

    /// Serves connections from `listener` until `signal` completes, then
    /// shuts down gracefully: stops accepting, lets calls in flight finish
    /// and their replies reach the peer, and closes each connection as it
    /// falls idle. Connections still busy after the shutdown timeout are
    /// closed regardless.
    pub async fn serve_with_shutdown<Li, F>(self, listener: Li, signal: F) -> io::Result<()>
    where
        Li: IntoListener,
        F: Future<Output = ()>,
        L: Layer<Routes>,
        L::Service:
            Service<Request<Body>, Response = Response<Body>> + Clone + Send + Unpin + 'static,
        <L::Service as Service<Request<Body>>>::Error: Into<BoxError> + Send,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        let Router {
            server,
            routes,
            shutdown,
        } = self;
        let tracker = TaskTracker::new();
        let config = server.connection_config(&routes, &tracker);
        let mut listener = match listener.into_listener().await {
            Ok(listener) => listener,
            Err(e) => {
                shutdown.finished();
                return Err(e);
            }
        };
        let acceptor = Acceptor::new(server.accept);
        let service = server.layer.layer(routes);
        let settings = server.settings;
        tokio::pin!(signal);

        let result = loop {
            let accepted = tokio::select! {
                biased;
                () = &mut signal => break Ok(()),
                () = shutdown.wait_started() => break Ok(()),
                accepted = std::future::poll_fn(|cx| listener.poll_accept(cx)) => accepted,
            };
            match accepted {
                Ok(io) => {
                    // Over the connection limit: closed at once.
                    let Some(slot) = acceptor.admit() else {
                        continue;
                    };
                    let info = listener.connect_info(&io);
                    let (acceptor, service, config) =
                        (acceptor.clone(), service.clone(), config.clone());
                    let (drain, close) = (shutdown.drain_token(), shutdown.close_token());
                    let handshake = Box::pin(async move {
                        // Policy and accept hook; a rejected peer is closed unread.
                        let peer = acceptor.handshake(info, &drain).await?;
                        let dispatch = ServerConnection::new(service, config, peer);
                        Some(Drive::new(
                            Connection::new(io, dispatch, settings),
                            drain,
                            close,
                        ))
                    });
                    tracker.spawn(ConnectionTask::new(handshake, slot));
                }
                Err(e) if wren_transport::is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then retry.
                    tracing::warn!(error = %e, "ttrpc accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        drop(listener);
        shutdown.start(server.shutdown_timeout);
        tracker.close();
        tracker.wait().await;
        shutdown.finished();
        result
    }
}

impl<L> Server<L> {
    fn connection_config(&self, routes: &Routes, tasks: &TaskTracker) -> Arc<ConnectionConfig> {
        Arc::new(ConnectionConfig {
            tasks: tasks.clone(),
            routes: routes.clone(),
            inbox: self.inbox,
            budget: self.budget,
            max_concurrent_streams: self.max_concurrent_streams,
            idle_timeout: self.idle_timeout,
            inline_handlers: self.inline_handlers,
            strict_stream_ids: self.strict_stream_ids,
        })
    }
}
