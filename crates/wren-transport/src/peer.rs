//! Who is on the other end of a connection: [`ConnectInfo`], [`Peer`],
//! [`PeerAddr`] and [`PeerCredentials`].

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::Extensions;

/// The credentials of the process on the other end of a unix socket, read
/// with `SO_PEERCRED` (or the platform's equivalent) when the connection was
/// accepted.
///
/// The kernel records them when the peer called `connect` (for a socketpair:
/// `socketpair`): they are the peer's *effective* ids at that moment, which
/// is what Go ttrpc's `UnixSocketRequireUidGid` compares too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerCredentials {
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
    /// The peer's process id, where the platform reports it (Linux does).
    pub pid: Option<i32>,
}

impl PeerCredentials {
    /// The credentials of the peer of a connected unix socket.
    pub fn of(stream: &tokio::net::UnixStream) -> std::io::Result<PeerCredentials> {
        let cred = stream.peer_cred()?;
        Ok(PeerCredentials {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
        })
    }
}

impl fmt::Display for PeerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid={} gid={}", self.uid, self.gid)?;
        if let Some(pid) = self.pid {
            write!(f, " pid={pid}")?;
        }
        Ok(())
    }
}

/// The address of the other end of a connection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A unix socket peer. Usually unnamed: a client's socket is rarely bound.
    Unix(std::os::unix::net::SocketAddr),
    /// A TCP peer.
    Tcp(std::net::SocketAddr),
    /// An `AF_VSOCK` peer: its context id and port.
    Vsock {
        /// The peer's context id (2 is the host).
        cid: u32,
        /// The peer's port.
        port: u32,
    },
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Unix(addr) => {
                if let Some(path) = addr.as_pathname() {
                    return write!(f, "unix://{}", path.display());
                }
                #[cfg(any(target_os = "linux", target_os = "android"))]
                {
                    #[cfg(target_os = "android")]
                    use std::os::android::net::SocketAddrExt;
                    #[cfg(target_os = "linux")]
                    use std::os::linux::net::SocketAddrExt;
                    if let Some(name) = addr.as_abstract_name() {
                        return write!(f, "unix://@{}", String::from_utf8_lossy(name));
                    }
                }
                f.write_str("unix (unnamed)")
            }
            PeerAddr::Tcp(addr) => write!(f, "tcp://{addr}"),
            PeerAddr::Vsock { cid, port } => write!(f, "vsock://{cid}:{port}"),
        }
    }
}

/// What is known about a connection when it is accepted: the peer's address
/// and, on unix sockets, its credentials; plus whatever an accept hook
/// attaches (an authenticated identity, a tenant).
///
/// A server hands it to its accept hook, then freezes it into a [`Peer`]
/// that every request of the connection carries in its extensions.
#[derive(Debug, Default)]
pub struct ConnectInfo {
    peer_addr: Option<PeerAddr>,
    credentials: Option<PeerCredentials>,
    extensions: Extensions,
}

impl ConnectInfo {
    /// Nothing known yet.
    pub fn new() -> ConnectInfo {
        ConnectInfo::default()
    }

    /// Sets the peer's address.
    #[must_use]
    pub fn with_peer_addr(mut self, addr: PeerAddr) -> ConnectInfo {
        self.peer_addr = Some(addr);
        self
    }

    /// Sets the peer's credentials.
    #[must_use]
    pub fn with_credentials(mut self, credentials: PeerCredentials) -> ConnectInfo {
        self.credentials = Some(credentials);
        self
    }

    /// What is known about the peer of a connected unix socket.
    pub fn from_unix(stream: &tokio::net::UnixStream) -> ConnectInfo {
        let mut info = ConnectInfo::new();
        info.credentials = PeerCredentials::of(stream).ok();
        info.peer_addr = stream.peer_addr().ok().map(|a| PeerAddr::Unix(a.into()));
        info
    }

    /// What is known about the peer of a connected TCP socket.
    pub fn from_tcp(stream: &tokio::net::TcpStream) -> ConnectInfo {
        let mut info = ConnectInfo::new();
        info.peer_addr = stream.peer_addr().ok().map(PeerAddr::Tcp);
        info
    }

    /// The peer's address, if the listener could tell.
    pub fn peer_addr(&self) -> Option<&PeerAddr> {
        self.peer_addr.as_ref()
    }

    /// The peer's credentials: present on unix sockets, absent elsewhere.
    pub fn credentials(&self) -> Option<&PeerCredentials> {
        self.credentials.as_ref()
    }

    /// Values attached to the connection, by an accept hook for instance.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Values attached to the connection, mutably.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The attached value of type `T`; short for `extensions().get::<T>()`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.extensions.get()
    }

    /// Attaches `value` to the connection, replacing any value of its type.
    #[must_use]
    pub fn with<T: Send + Sync + 'static>(mut self, value: T) -> ConnectInfo {
        self.extensions.insert(value);
        self
    }
}

/// Everything known about the peer of a request's connection, in every
/// server-side request's extensions.
///
/// It is one shared value per connection: a request carries a clone of an
/// `Arc`, so reading the peer costs a request nothing more.
///
/// ```
/// use wren_transport::{Peer, Request};
///
/// fn caller_uid<T>(req: &Request<T>) -> Option<u32> {
///     let peer = req.extensions().get::<Peer>()?;
///     Some(peer.credentials()?.uid)
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Peer(Arc<ConnectInfo>);

impl Peer {
    /// Freezes `info` for sharing among the connection's requests.
    pub fn new(info: ConnectInfo) -> Peer {
        Peer(Arc::new(info))
    }

    /// The shared connection information.
    pub fn info(&self) -> &ConnectInfo {
        &self.0
    }
}

impl Deref for Peer {
    type Target = ConnectInfo;

    fn deref(&self) -> &ConnectInfo {
        &self.0
    }
}

impl From<ConnectInfo> for Peer {
    fn from(info: ConnectInfo) -> Peer {
        Peer::new(info)
    }
}
