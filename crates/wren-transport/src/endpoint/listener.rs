//! [`Listener`]: where a server's connections come from;
//! [`EndpointListener`]: a bound listener of any endpoint kind.

use std::io;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use super::socket_file::SocketFile;
use super::stream::EndpointStream;
use super::uri::Endpoint;
use crate::peer::ConnectInfo;

/// A source of connections: a bound socket.
///
/// Implemented for tokio's unix and TCP listeners, for [`EndpointListener`]
/// and (with the `vsock` feature) tokio-vsock's listener. TCP connections
/// get `TCP_NODELAY`, since ttrpc's small frames would otherwise wait on
/// Nagle's algorithm for tens of milliseconds.
pub trait Listener: Send + 'static {
    /// A connection.
    type Io: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// Polls for the next connection.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Io>>;

    /// What is known about the peer of a connection this listener accepted:
    /// its address and, on unix sockets, its credentials (`SO_PEERCRED`).
    /// Called once per connection, before anything is read from it.
    ///
    /// The default knows nothing, for listeners of in-memory or
    /// custom streams.
    fn connect_info(&self, io: &Self::Io) -> ConnectInfo {
        let _ = io;
        ConnectInfo::new()
    }
}

impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Io>> {
        tokio::net::UnixListener::poll_accept(self, cx).map_ok(|(io, _)| io)
    }

    fn connect_info(&self, io: &Self::Io) -> ConnectInfo {
        ConnectInfo::from_unix(io)
    }
}

impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Self::Io>> {
        tokio::net::TcpListener::poll_accept(self, cx).map(|r| {
            let (io, _) = r?;
            io.set_nodelay(true)?;
            Ok(io)
        })
    }

    fn connect_info(&self, io: &Self::Io) -> ConnectInfo {
        ConnectInfo::from_tcp(io)
    }
}

/// Whether an accept error concerns only the connection being accepted (the
/// listener itself is fine and accepting should go on).
pub fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

// ===== EndpointListener =====

/// A bound listener of any endpoint kind: what
/// [`Endpoint::bind`](super::Endpoint::bind) returns, what an inherited
/// socket becomes.
#[derive(Debug)]
pub struct EndpointListener {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Unix {
        listener: tokio::net::UnixListener,
        // Declared after the listener: the socket closes, then the file goes.
        _file: Option<SocketFile>,
    },
    Tcp {
        listener: tokio::net::TcpListener,
        nodelay: bool,
    },
    #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
    Vsock(tokio_vsock::VsockListener),
}

impl EndpointListener {
    pub(super) fn unix(
        listener: tokio::net::UnixListener,
        file: Option<SocketFile>,
    ) -> EndpointListener {
        EndpointListener {
            kind: Kind::Unix {
                listener,
                _file: file,
            },
        }
    }

    pub(super) fn tcp(listener: tokio::net::TcpListener, nodelay: bool) -> EndpointListener {
        EndpointListener {
            kind: Kind::Tcp { listener, nodelay },
        }
    }

    #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
    pub(super) fn vsock(listener: tokio_vsock::VsockListener) -> EndpointListener {
        EndpointListener {
            kind: Kind::Vsock(listener),
        }
    }

    /// The bound address, as an endpoint (a TCP port chosen by the system
    /// shows here). `None` for an unnamed socket.
    pub fn local_endpoint(&self) -> io::Result<Option<Endpoint>> {
        match &self.kind {
            Kind::Unix { listener, .. } => {
                let addr: std::os::unix::net::SocketAddr = listener.local_addr()?.into();
                if let Some(path) = addr.as_pathname() {
                    return Ok(Some(Endpoint::Unix(path.to_path_buf())));
                }
                #[cfg(any(target_os = "linux", target_os = "android"))]
                {
                    #[cfg(target_os = "android")]
                    use std::os::android::net::SocketAddrExt;
                    #[cfg(target_os = "linux")]
                    use std::os::linux::net::SocketAddrExt;
                    if let Some(name) = addr.as_abstract_name() {
                        return Ok(Some(Endpoint::UnixAbstract(name.to_vec())));
                    }
                }
                Ok(None)
            }
            Kind::Tcp { listener, .. } => {
                let addr = listener.local_addr()?;
                Ok(Some(Endpoint::Tcp {
                    host: addr.ip().to_string(),
                    port: addr.port(),
                }))
            }
            #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
            Kind::Vsock(listener) => {
                let addr = listener.local_addr()?;
                Ok(Some(Endpoint::Vsock {
                    cid: addr.cid(),
                    port: addr.port(),
                }))
            }
        }
    }

    /// Accepts the next connection.
    pub async fn accept(&mut self) -> io::Result<EndpointStream> {
        std::future::poll_fn(|cx| Listener::poll_accept(self, cx)).await
    }
}

impl Listener for EndpointListener {
    type Io = EndpointStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<EndpointStream>> {
        match &mut self.kind {
            Kind::Unix { listener, .. } => tokio::net::UnixListener::poll_accept(listener, cx)
                .map_ok(|(io, _)| EndpointStream::Unix(io)),
            Kind::Tcp { listener, nodelay } => tokio::net::TcpListener::poll_accept(listener, cx)
                .map(|r| {
                    let (io, _) = r?;
                    if *nodelay {
                        io.set_nodelay(true)?;
                    }
                    Ok(EndpointStream::Tcp(io))
                }),
            #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
            Kind::Vsock(listener) => tokio_vsock::VsockListener::poll_accept(listener, cx)
                .map_ok(|(io, _)| EndpointStream::Vsock(io)),
        }
    }

    fn connect_info(&self, io: &EndpointStream) -> ConnectInfo {
        io.connect_info()
    }
}

impl From<tokio::net::UnixListener> for EndpointListener {
    fn from(listener: tokio::net::UnixListener) -> EndpointListener {
        EndpointListener::unix(listener, None)
    }
}

impl From<tokio::net::TcpListener> for EndpointListener {
    fn from(listener: tokio::net::TcpListener) -> EndpointListener {
        EndpointListener::tcp(listener, true)
    }
}

impl TryFrom<std::os::unix::net::UnixListener> for EndpointListener {
    type Error = io::Error;

    /// Takes over an already-bound std listener.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<EndpointListener> {
        listener.set_nonblocking(true)?;
        Ok(tokio::net::UnixListener::from_std(listener)?.into())
    }
}

impl TryFrom<std::net::TcpListener> for EndpointListener {
    type Error = io::Error;

    /// Takes over an already-bound std listener.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    fn try_from(listener: std::net::TcpListener) -> io::Result<EndpointListener> {
        listener.set_nonblocking(true)?;
        Ok(tokio::net::TcpListener::from_std(listener)?.into())
    }
}
