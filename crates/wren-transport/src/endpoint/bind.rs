//! Binding an [`Endpoint`], and [`IntoListener`]: everything a server can
//! be told to serve on.

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;

use super::listener::{EndpointListener, Listener};
use super::options::BindOptions;
use super::uri::{Endpoint, IntoEndpoint};
use super::{tcp, unix, vsock};

impl Endpoint {
    /// Binds a listener with default options: see [`Endpoint::bind_with`].
    pub async fn bind(&self) -> io::Result<EndpointListener> {
        self.bind_with(&BindOptions::default()).await
    }

    /// Binds a listener.
    ///
    /// - A unix path whose socket file already exists is taken over only when
    ///   nothing accepts on it (a connection attempt is refused): the stale
    ///   file is removed. A live server there gives `AddrInUse`, and so does
    ///   a path that exists and is not a socket. The socket file gets
    ///   [`BindOptions::mode`] before anyone can connect, and is removed
    ///   when the listener is dropped.
    /// - TCP connections get `TCP_NODELAY` unless [`BindOptions::tcp_nodelay`] is off.
    /// - Hybrid vsock cannot be bound: the VMM owns that socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn bind_with(&self, options: &BindOptions) -> io::Result<EndpointListener> {
        match self {
            Endpoint::Unix(path) => unix::bind_path(path, options).await,
            Endpoint::UnixAbstract(name) => unix::bind_abstract(name, options),
            Endpoint::Tcp { host, port } => tcp::bind(host, *port, options).await,
            Endpoint::Vsock { cid, port } => vsock::bind(*cid, *port),
            Endpoint::HybridVsock { .. } => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "hybrid vsock is client side only: the VMM owns the unix socket and the guest listens on AF_VSOCK",
            )),
        }
    }
}

/// Anything a server can serve on: a [`Listener`]; an [`Endpoint`] or a
/// URI (`"unix:///run/x.sock"`), bound with default options; an
/// already-bound std unix or TCP listener; an inherited listening socket's
/// [`OwnedFd`].
pub trait IntoListener {
    /// The listener it becomes.
    type Listener: Listener;

    /// Binds or converts. Fails if binding fails or the URI is invalid
    /// (`InvalidInput`, with the [`EndpointError`](crate::EndpointError) as source).
    fn into_listener(self) -> impl Future<Output = io::Result<Self::Listener>> + Send;
}

impl<L: Listener> IntoListener for L {
    type Listener = L;

    fn into_listener(self) -> impl Future<Output = io::Result<L>> + Send {
        std::future::ready(Ok(self))
    }
}

impl IntoListener for Endpoint {
    type Listener = EndpointListener;

    async fn into_listener(self) -> io::Result<EndpointListener> {
        self.bind().await
    }
}

impl IntoListener for &Endpoint {
    type Listener = EndpointListener;

    fn into_listener(self) -> impl Future<Output = io::Result<EndpointListener>> + Send {
        self.bind()
    }
}

impl IntoListener for &str {
    type Listener = EndpointListener;

    fn into_listener(self) -> impl Future<Output = io::Result<EndpointListener>> + Send {
        let endpoint = self.into_endpoint();
        async move { endpoint?.bind().await }
    }
}

impl IntoListener for String {
    type Listener = EndpointListener;

    fn into_listener(self) -> impl Future<Output = io::Result<EndpointListener>> + Send {
        let endpoint = self.into_endpoint();
        async move { endpoint?.bind().await }
    }
}

impl IntoListener for std::os::unix::net::UnixListener {
    type Listener = EndpointListener;

    async fn into_listener(self) -> io::Result<EndpointListener> {
        EndpointListener::try_from(self)
    }
}

impl IntoListener for std::net::TcpListener {
    type Listener = EndpointListener;

    async fn into_listener(self) -> io::Result<EndpointListener> {
        EndpointListener::try_from(self)
    }
}

impl IntoListener for OwnedFd {
    type Listener = EndpointListener;

    async fn into_listener(self) -> io::Result<EndpointListener> {
        EndpointListener::try_from(self)
    }
}
