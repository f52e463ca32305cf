//! Connecting to an [`Endpoint`].

use std::io;

use super::hybrid_vsock;
use super::options::ConnectOptions;
use super::stream::EndpointStream;
use super::uri::Endpoint;
use super::{tcp, unix, vsock};

impl Endpoint {
    /// Connects with default options: see [`Endpoint::connect_with`].
    pub async fn connect(&self) -> io::Result<EndpointStream> {
        self.connect_with(&ConnectOptions::default()).await
    }

    /// Connects. A TCP stream gets `TCP_NODELAY` unless
    /// [`ConnectOptions::tcp_nodelay`] is off; a hybrid vsock stream is
    /// returned after the proxy has answered `OK`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect_with(&self, options: &ConnectOptions) -> io::Result<EndpointStream> {
        let connect = self.connect_inner(options);
        match options.connect_timeout {
            None => connect.await,
            Some(limit) => match tokio::time::timeout(limit, connect).await {
                Ok(result) => result,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to {self} timed out after {limit:?}"),
                )),
            },
        }
    }

    async fn connect_inner(&self, options: &ConnectOptions) -> io::Result<EndpointStream> {
        match self {
            Endpoint::Unix(path) => unix::connect_path(path).await,
            Endpoint::UnixAbstract(name) => unix::connect_abstract(name).await,
            Endpoint::Tcp { host, port } => tcp::connect(host, *port, options).await,
            Endpoint::Vsock { cid, port } => vsock::connect(*cid, *port).await,
            Endpoint::HybridVsock { path, port } => {
                hybrid_vsock::connect(path, *port, options.handshake_timeout).await
            }
        }
    }
}
