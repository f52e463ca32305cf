//! What happens between accepting a connection and reading its first frame:
//! the connection limit, the peer policy, the accept hook and its timeout.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;
use wren_transport::{BoxError, ConnectInfo, Peer};

use crate::{PeerPolicy, Server};

/// The default bound on a connection's accept hook: 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A future an [`AcceptHook`] returns.
pub type AcceptFuture = Pin<Box<dyn Future<Output = Result<ConnectInfo, BoxError>> + Send>>;

/// Decides, once per connection and before anything is read from it,
/// whether to serve a peer, and attaches per-connection data for its
/// requests.
///
/// The hook gets the connection's [`ConnectInfo`] (peer address, unix
/// credentials) and returns it, with whatever it
/// [attached](ConnectInfo::with), to accept the connection, or an error to
/// close it. What it returns becomes the [`Peer`] in the extensions of
/// every request on the connection, where handlers and tower layers read
/// it. It runs in the connection's own task, so a slow hook never holds up
/// accepting other connections, and it is bounded by
/// [`Server::handshake_timeout`].
///
/// Any `Fn(ConnectInfo) -> impl Future<Output = Result<ConnectInfo, BoxError>>`
/// is a hook:
///
/// ```no_run
/// # use wren_server::{Methods, Server};
/// # use wren_transport::{BoxError, ConnectInfo, Peer, Request};
/// #[derive(Debug)]
/// struct Caller {
///     name: String,
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let service = Methods::new("demo.v1.Demo").unary("Hello", |req: Request<()>| async move {
///     let peer = req.extensions().get::<Peer>().expect("set by the server");
///     let caller = peer.get::<Caller>().expect("set by the hook");
///     Ok(wren_transport::Response::new(()))
/// });
/// Server::builder()
///     .accept_hook(|info: ConnectInfo| async move {
///         let uid = info.credentials().ok_or("not a unix peer")?.uid;
///         let name = match uid {
///             0 => "root".to_owned(),
///             1000 => "alice".to_owned(),
///             _ => return Err(BoxError::from(format!("uid {uid} may not connect"))),
///         };
///         Ok(info.with(Caller { name }))
///     })
///     .add_service(service)
///     .serve("unix:///run/demo.sock")
///     .await
/// # }
/// ```
pub trait AcceptHook: Send + Sync + 'static {
    /// Accepts the connection (returning its information, possibly with
    /// data attached) or rejects it.
    fn accept(&self, info: ConnectInfo) -> AcceptFuture;
}

impl<F, Fut> AcceptHook for F
where
    F: Fn(ConnectInfo) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ConnectInfo, BoxError>> + Send + 'static,
{
    fn accept(&self, info: ConnectInfo) -> AcceptFuture {
        Box::pin(self(info))
    }
}

/// The accept settings of a server.
#[derive(Clone)]
pub(crate) struct AcceptConfig {
    policy: Option<PeerPolicy>,
    hook: Option<Arc<dyn AcceptHook>>,
    max_connections: Option<usize>,
    handshake_timeout: Duration,
}

impl Default for AcceptConfig {
    fn default() -> Self {
        AcceptConfig {
            policy: None,
            hook: None,
            max_connections: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

impl fmt::Debug for AcceptConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptConfig")
            .field("policy", &self.policy)
            .field("hook", &self.hook.as_ref().map(|_| "AcceptHook"))
            .field("max_connections", &self.max_connections)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

impl<L> Server<L> {
    /// Accepts only unix peers whose credentials pass `policy` (Go's
    /// `UnixSocketRequireUidGid` and friends); others are closed before
    /// anything is read from them, and the server goes on accepting. Checked
    /// before the [accept hook](Server::accept_hook). Default: none.
    #[must_use]
    pub fn peer_policy(mut self, policy: PeerPolicy) -> Self {
        self.accept.policy = Some(policy);
        self
    }

    /// Runs `hook` on every new connection, before anything is read from
    /// it: it may reject the connection or attach data that every request
    /// of the connection carries (see [`AcceptHook`]). Default: none.
    #[must_use]
    pub fn accept_hook<H: AcceptHook>(mut self, hook: H) -> Self {
        self.accept.hook = Some(Arc::new(hook));
        self
    }

    /// The most connections served at once, counted from accept to close.
    /// A connection over the limit is accepted and closed at once, without
    /// a byte read or written: its peer sees the connection closed (a wren
    /// client's calls fail with `UNAVAILABLE`) instead of waiting unserved
    /// in the listen backlog. Default: no limit.
    #[must_use]
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.accept.max_connections = Some(connections);
        self
    }

    /// How long a new connection's [accept hook](Server::accept_hook) may
    /// take; a connection whose hook has not finished by then is closed.
    /// The hook runs in the connection's own task, so a slow one holds up
    /// no other connection. Default: 10 s ([`DEFAULT_HANDSHAKE_TIMEOUT`]).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.accept.handshake_timeout = timeout;
        self
    }
}

/// The accept loop's side of [`AcceptConfig`]: cheap to clone into each
/// connection's task.
#[derive(Clone, Debug)]
pub(crate) struct Acceptor {
    config: Arc<AcceptConfig>,
    active: Arc<AtomicUsize>,
}

impl Acceptor {
    pub(crate) fn new(config: AcceptConfig) -> Acceptor {
        Acceptor {
            config: Arc::new(config),
            active: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Counts a connection just accepted; `None` if it is over the limit
    /// and must be closed.
    pub(crate) fn admit(&self) -> Option<Slot> {
        let count = self.active.fetch_add(1, Ordering::AcqRel) + 1;
        let slot = Slot(self.active.clone());
        if let Some(max) = self.config.max_connections {
            if count > max {
                tracing::debug!(
                    max,
                    "ttrpc connection limit reached; closing new connection"
                );
                return None;
            }
        }
        Some(slot)
    }

    /// Applies the peer policy and the accept hook. `None`: the connection
    /// is rejected (or the server began shutting down meanwhile) and must
    /// be closed.
    pub(crate) async fn handshake(
        &self,
        info: ConnectInfo,
        shutdown: &CancellationToken,
    ) -> Option<Peer> {
        if let Some(policy) = &self.config.policy {
            if let Err(e) = policy.check(&info) {
                tracing::debug!(error = %e, "ttrpc connection rejected by peer policy");
                return None;
            }
        }
        let Some(hook) = &self.config.hook else {
            return Some(Peer::new(info));
        };
        let timeout = self.config.handshake_timeout;
        // The hook is user code: a panic in it rejects this connection only.
        let Ok(accept) = catch_unwind(AssertUnwindSafe(|| hook.accept(info))) else {
            tracing::error!("ttrpc accept hook panicked; closing connection");
            return None;
        };
        let result = tokio::select! {
            result = tokio::time::timeout(timeout, AssertUnwindSafe(accept).catch_unwind()) => result,
            () = shutdown.cancelled() => return None,
        };
        match result {
            Ok(Ok(Ok(info))) => Some(Peer::new(info)),
            Ok(Ok(Err(e))) => {
                tracing::debug!(error = %e, "ttrpc connection rejected by accept hook");
                None
            }
            Ok(Err(_panic)) => {
                tracing::error!("ttrpc accept hook panicked; closing connection");
                None
            }
            Err(_) => {
                tracing::debug!(?timeout, "ttrpc accept hook timed out; closing connection");
                None
            }
        }
    }
}

/// One connection's place under the connection limit, given back on drop.
#[derive(Debug)]
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
