//! [`EndpointStream`]: a connected stream of any endpoint kind.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::peer::{ConnectInfo, PeerAddr};

/// A connected stream from [`Endpoint::connect`](crate::Endpoint::connect)
/// or an [`EndpointListener`](crate::EndpointListener).
#[derive(Debug)]
#[non_exhaustive]
pub enum EndpointStream {
    /// A unix socket (also what a hybrid vsock connection is, after its handshake).
    Unix(tokio::net::UnixStream),
    /// A TCP socket.
    Tcp(tokio::net::TcpStream),
    /// An `AF_VSOCK` socket.
    #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
    Vsock(tokio_vsock::VsockStream),
}

impl EndpointStream {
    /// What is known about the peer: its address and, on a unix socket, its
    /// credentials.
    pub fn connect_info(&self) -> ConnectInfo {
        match self {
            EndpointStream::Unix(s) => ConnectInfo::from_unix(s),
            EndpointStream::Tcp(s) => ConnectInfo::from_tcp(s),
            #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
            EndpointStream::Vsock(s) => vsock_connect_info(s),
        }
    }

    /// The peer's address, if known.
    pub fn peer_addr(&self) -> Option<PeerAddr> {
        match self {
            EndpointStream::Unix(s) => s.peer_addr().ok().map(|a| PeerAddr::Unix(a.into())),
            EndpointStream::Tcp(s) => s.peer_addr().ok().map(PeerAddr::Tcp),
            #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
            EndpointStream::Vsock(s) => s.peer_addr().ok().map(|a| PeerAddr::Vsock {
                cid: a.cid(),
                port: a.port(),
            }),
        }
    }
}

/// What is known about the peer of a vsock stream: its address.
#[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
pub(super) fn vsock_connect_info(stream: &tokio_vsock::VsockStream) -> ConnectInfo {
    let info = ConnectInfo::new();
    match stream.peer_addr() {
        Ok(a) => info.with_peer_addr(PeerAddr::Vsock {
            cid: a.cid(),
            port: a.port(),
        }),
        Err(_) => info,
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            EndpointStream::Unix($s) => $e,
            EndpointStream::Tcp($s) => $e,
            #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
            EndpointStream::Vsock($s) => $e,
        }
    };
}

impl AsyncRead for EndpointStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for EndpointStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            EndpointStream::Unix(s) => s.is_write_vectored(),
            EndpointStream::Tcp(s) => s.is_write_vectored(),
            #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
            EndpointStream::Vsock(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}
