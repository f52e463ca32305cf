//! [`Endpoint`]: where a server listens or a client connects, parsed from the
//! URIs containerd, Kata and ttrpc-rust users already write.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::listener::EndpointListener;
use crate::socket::EndpointStream;

/// The vsock context id that listens on every context (`VMADDR_CID_ANY`),
/// written `-1` or `any` in a `vsock://` URI.
pub const VMADDR_CID_ANY: u32 = u32::MAX;
/// The vsock context id of the local machine (`VMADDR_CID_LOCAL`): a guest
/// or host talking to itself through the `vsock_loopback` module.
pub const VMADDR_CID_LOCAL: u32 = 1;
/// The vsock context id of the host (`VMADDR_CID_HOST`).
pub const VMADDR_CID_HOST: u32 = 2;

/// The longest unix socket path, in bytes: `sun_path` less its terminating
/// NUL (108 − 1 on Linux, 104 − 1 on the BSDs and macOS). An abstract name
/// has the same limit (its leading NUL takes the terminator's place).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const MAX_UNIX_PATH_LEN: usize = 107;
/// The longest unix socket path, in bytes: `sun_path` less its terminating
/// NUL (108 − 1 on Linux, 104 − 1 on the BSDs and macOS).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const MAX_UNIX_PATH_LEN: usize = 103;

/// The default time a hybrid vsock handshake (`CONNECT <port>` → `OK`) may
/// take: 10 s.
pub const DEFAULT_HYBRID_VSOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a server listens or a client connects.
///
/// Parsed from the URIs users already write:
///
/// | URI | endpoint |
/// |---|---|
/// | `unix:///run/x.sock`, or a bare absolute path `/run/x.sock` | [`Endpoint::Unix`] |
/// | `unix://@name` (Linux) | [`Endpoint::UnixAbstract`] |
/// | `tcp://host:port`, `tcp://[::1]:port` | [`Endpoint::Tcp`] |
/// | `vsock://CID:PORT`, CID `-1` or `any` for any | [`Endpoint::Vsock`] |
/// | `hvsock:///path/to/uds:PORT` | [`Endpoint::HybridVsock`] |
///
/// ```
/// use wren_transport::{Endpoint, VMADDR_CID_ANY};
///
/// let ep: Endpoint = "vsock://-1:1024".parse()?;
/// assert_eq!(ep, Endpoint::Vsock { cid: VMADDR_CID_ANY, port: 1024 });
/// assert_eq!(ep.to_string(), "vsock://-1:1024");
///
/// let err = "tcp://localhost:70000".parse::<Endpoint>().unwrap_err();
/// assert_eq!(err.to_string(), r#"invalid endpoint "tcp://localhost:70000": port 70000 is out of range (0..=65535)"#);
/// # Ok::<(), wren_transport::EndpointError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// A unix socket at a filesystem path.
    Unix(PathBuf),
    /// A unix socket in Linux's abstract namespace: the name, without the
    /// leading NUL. Abstract sockets have no file and no permissions; guard
    /// them with a peer-credentials policy.
    UnixAbstract(Vec<u8>),
    /// A TCP socket. `TCP_NODELAY` is set on both sides by default.
    Tcp {
        /// A host name or IP address (an IPv6 address without brackets).
        host: String,
        /// The port.
        port: u16,
    },
    /// An `AF_VSOCK` socket (needs the `vsock` feature, Linux).
    Vsock {
        /// The context id; [`VMADDR_CID_ANY`] to listen on every context.
        cid: u32,
        /// The port.
        port: u32,
    },
    /// Hybrid vsock, as Firecracker and Cloud Hypervisor expose a guest's
    /// vsock ports on the host: a unix socket on which the client writes
    /// `CONNECT <port>\n` and reads back a line starting with `OK` before
    /// speaking ttrpc. Client side only: the VMM owns the socket.
    HybridVsock {
        /// The VMM's unix socket.
        path: PathBuf,
        /// The guest's vsock port.
        port: u32,
    },
}

impl Endpoint {
    /// Parses a URI; the same as `s.parse()`.
    pub fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        parse(s).map_err(|kind| EndpointError {
            input: s.to_owned(),
            kind,
        })
    }

    /// A unix socket at `path`. The length is checked when binding or connecting.
    pub fn unix(path: impl Into<PathBuf>) -> Endpoint {
        Endpoint::Unix(path.into())
    }

    /// A TCP endpoint.
    pub fn tcp(host: impl Into<String>, port: u16) -> Endpoint {
        Endpoint::Tcp {
            host: host.into(),
            port,
        }
    }

    /// A vsock endpoint.
    pub fn vsock(cid: u32, port: u32) -> Endpoint {
        Endpoint::Vsock { cid, port }
    }

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
            Endpoint::Unix(path) => crate::unix::bind_path(path, options).await,
            Endpoint::UnixAbstract(name) => {
                if options.mode.is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "an abstract unix socket has no file mode; guard it with a peer policy",
                    ));
                }
                crate::unix::bind_abstract(name)
            }
            Endpoint::Tcp { host, port } => {
                let listener = tokio::net::TcpListener::bind((host.as_str(), *port)).await?;
                Ok(EndpointListener::tcp(listener, options.tcp_nodelay))
            }
            Endpoint::Vsock { cid, port } => crate::vsock::bind(*cid, *port),
            Endpoint::HybridVsock { .. } => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "hybrid vsock is client side only: the VMM owns the unix socket and the guest listens on AF_VSOCK",
            )),
        }
    }

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
            Endpoint::Unix(path) => {
                check_path_len(path.as_os_str().len())?;
                Ok(EndpointStream::Unix(
                    tokio::net::UnixStream::connect(path).await?,
                ))
            }
            Endpoint::UnixAbstract(name) => crate::unix::connect_abstract(name).await,
            Endpoint::Tcp { host, port } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(options.tcp_nodelay)?;
                Ok(EndpointStream::Tcp(stream))
            }
            Endpoint::Vsock { cid, port } => crate::vsock::connect(*cid, *port).await,
            Endpoint::HybridVsock { path, port } => {
                check_path_len(path.as_os_str().len())?;
                let stream =
                    crate::hybrid_vsock::connect(path, *port, options.handshake_timeout).await?;
                Ok(EndpointStream::Unix(stream))
            }
        }
    }
}

fn check_path_len(len: usize) -> io::Result<()> {
    if len > MAX_UNIX_PATH_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            EndpointErrorKind::PathTooLong {
                len,
                max: MAX_UNIX_PATH_LEN,
            }
            .to_string(),
        ));
    }
    Ok(())
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(s)
    }
}

impl TryFrom<&str> for Endpoint {
    type Error = EndpointError;

    fn try_from(s: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(s)
    }
}

impl fmt::Display for Endpoint {
    /// The canonical URI, which parses back to the same endpoint (paths and
    /// names that are not UTF-8 are shown lossily).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::UnixAbstract(name) => {
                write!(f, "unix://@{}", String::from_utf8_lossy(name))
            }
            Endpoint::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Vsock { cid, port } if *cid == VMADDR_CID_ANY => {
                write!(f, "vsock://-1:{port}")
            }
            Endpoint::Vsock { cid, port } => write!(f, "vsock://{cid}:{port}"),
            Endpoint::HybridVsock { path, port } => {
                write!(f, "hvsock://{}:{port}", path.display())
            }
        }
    }
}

/// Anything that names an endpoint: an [`Endpoint`], or a URI to parse.
pub trait IntoEndpoint {
    /// The endpoint, or why the URI does not name one.
    fn into_endpoint(self) -> Result<Endpoint, EndpointError>;
}

impl IntoEndpoint for Endpoint {
    fn into_endpoint(self) -> Result<Endpoint, EndpointError> {
        Ok(self)
    }
}

impl IntoEndpoint for &Endpoint {
    fn into_endpoint(self) -> Result<Endpoint, EndpointError> {
        Ok(self.clone())
    }
}

impl IntoEndpoint for &str {
    fn into_endpoint(self) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(self)
    }
}

impl IntoEndpoint for String {
    fn into_endpoint(self) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(&self)
    }
}

impl IntoEndpoint for &String {
    fn into_endpoint(self) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(self)
    }
}

/// How [`Endpoint::bind_with`] binds.
#[derive(Clone, Debug)]
pub struct BindOptions {
    pub(crate) mode: Option<u32>,
    pub(crate) remove_stale: bool,
    pub(crate) unlink_on_drop: bool,
    pub(crate) backlog: u32,
    pub(crate) tcp_nodelay: bool,
}

impl Default for BindOptions {
    fn default() -> Self {
        BindOptions {
            mode: None,
            remove_stale: true,
            unlink_on_drop: true,
            backlog: 1024,
            tcp_nodelay: true,
        }
    }
}

impl BindOptions {
    /// The defaults: no mode change, stale unix sockets replaced and the
    /// socket file removed on drop, a backlog of 1024, `TCP_NODELAY` on.
    pub fn new() -> BindOptions {
        BindOptions::default()
    }

    /// The permission bits of a unix socket file (`0o600`: its owner only),
    /// set after binding and before listening, so no connection is accepted
    /// under the umask's permissions. Default: left to the umask.
    #[must_use]
    pub fn mode(mut self, mode: u32) -> BindOptions {
        self.mode = Some(mode);
        self
    }

    /// Whether an existing unix socket file that nothing accepts on is
    /// removed and bound again. Default: on (as containerd's shims do).
    #[must_use]
    pub fn remove_stale(mut self, on: bool) -> BindOptions {
        self.remove_stale = on;
        self
    }

    /// Whether the listener removes its unix socket file when dropped (only
    /// if the file is still the one it bound). Default: on.
    #[must_use]
    pub fn unlink_on_drop(mut self, on: bool) -> BindOptions {
        self.unlink_on_drop = on;
        self
    }

    /// The listen backlog of a unix socket. Default: 1024.
    #[must_use]
    pub fn backlog(mut self, connections: u32) -> BindOptions {
        self.backlog = connections;
        self
    }

    /// Whether accepted TCP connections get `TCP_NODELAY`. Default: on;
    /// without it each small ttrpc frame can wait 40 ms or more on Nagle's
    /// algorithm and delayed ACKs.
    #[must_use]
    pub fn tcp_nodelay(mut self, on: bool) -> BindOptions {
        self.tcp_nodelay = on;
        self
    }
}

/// How [`Endpoint::connect_with`] connects.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub(crate) handshake_timeout: Duration,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) tcp_nodelay: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            handshake_timeout: DEFAULT_HYBRID_VSOCK_TIMEOUT,
            connect_timeout: None,
            tcp_nodelay: true,
        }
    }
}

impl ConnectOptions {
    /// The defaults: a 10 s hybrid vsock handshake, no overall connect
    /// timeout, `TCP_NODELAY` on.
    pub fn new() -> ConnectOptions {
        ConnectOptions::default()
    }

    /// How long a hybrid vsock proxy may take to answer `CONNECT <port>`.
    /// A proxy that says nothing fails the connect with `TimedOut`.
    /// Default: 10 s ([`DEFAULT_HYBRID_VSOCK_TIMEOUT`]).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.handshake_timeout = timeout;
        self
    }

    /// A bound on the whole connect, handshake included. Default: none.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Whether a TCP connection gets `TCP_NODELAY`. Default: on.
    #[must_use]
    pub fn tcp_nodelay(mut self, on: bool) -> ConnectOptions {
        self.tcp_nodelay = on;
        self
    }
}

// ===== errors =====

/// A string that does not name an [`Endpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointError {
    input: String,
    kind: EndpointErrorKind,
}

impl EndpointError {
    /// What is wrong.
    pub fn kind(&self) -> &EndpointErrorKind {
        &self.kind
    }

    /// The string that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid endpoint {:?}: {}", self.input, self.kind)
    }
}

impl std::error::Error for EndpointError {}

impl From<EndpointError> for io::Error {
    fn from(e: EndpointError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// What is wrong with an endpoint URI.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointErrorKind {
    /// The string is empty.
    Empty,
    /// No `scheme://` (and not an absolute path, which would mean a unix socket).
    MissingScheme,
    /// A scheme other than `unix`, `tcp`, `vsock` and `hvsock`.
    UnknownScheme(String),
    /// A unix or hybrid vsock URI without a path, or `unix://@` without a name.
    MissingPath,
    /// A path or abstract name longer than `sun_path` holds.
    PathTooLong {
        /// Its length in bytes.
        len: usize,
        /// The longest allowed ([`MAX_UNIX_PATH_LEN`]).
        max: usize,
    },
    /// A path or name containing a NUL byte.
    NulInPath,
    /// A TCP URI without a host.
    MissingHost,
    /// A TCP host that is not valid: an IPv6 address without brackets, or
    /// with a bracket left open.
    InvalidHost(String),
    /// No `:port` where one is required.
    MissingPort,
    /// A port that is not a number.
    InvalidPort(String),
    /// A port that is a number out of range.
    PortOutOfRange {
        /// The port as written.
        value: String,
        /// The largest port the scheme allows.
        max: u32,
    },
    /// A vsock context id that is neither a number, `-1` nor `any`.
    InvalidCid(String),
}

impl fmt::Display for EndpointErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointErrorKind::Empty => f.write_str("empty"),
            EndpointErrorKind::MissingScheme => f.write_str(
                "no scheme: expected unix://, tcp://, vsock:// or hvsock:// (or an absolute path)",
            ),
            EndpointErrorKind::UnknownScheme(s) => write!(
                f,
                "unknown scheme {s:?}: expected unix, tcp, vsock or hvsock"
            ),
            EndpointErrorKind::MissingPath => f.write_str("no socket path"),
            EndpointErrorKind::PathTooLong { len, max } => write!(
                f,
                "socket path is {len} bytes, longer than a unix socket address holds ({max})"
            ),
            EndpointErrorKind::NulInPath => f.write_str("socket path contains a NUL byte"),
            EndpointErrorKind::MissingHost => f.write_str("no host"),
            EndpointErrorKind::InvalidHost(h) => write!(
                f,
                "invalid host {h:?} (write an IPv6 address in brackets: [::1])"
            ),
            EndpointErrorKind::MissingPort => f.write_str("no port (expected :PORT)"),
            EndpointErrorKind::InvalidPort(p) => write!(f, "port {p:?} is not a number"),
            EndpointErrorKind::PortOutOfRange { value, max } => {
                write!(f, "port {value} is out of range (0..={max})")
            }
            EndpointErrorKind::InvalidCid(c) => write!(
                f,
                "vsock context id {c:?} is not a number (or -1 / any for any context)"
            ),
        }
    }
}

// ===== parsing =====

fn parse(s: &str) -> Result<Endpoint, EndpointErrorKind> {
    if s.is_empty() {
        return Err(EndpointErrorKind::Empty);
    }
    if s.starts_with('/') {
        return unix_path(s).map(Endpoint::Unix);
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(EndpointErrorKind::MissingScheme);
    };
    match scheme.to_ascii_lowercase().as_str() {
        "unix" => match rest.strip_prefix('@') {
            Some(name) => {
                if name.is_empty() {
                    return Err(EndpointErrorKind::MissingPath);
                }
                check_name(name)?;
                Ok(Endpoint::UnixAbstract(name.as_bytes().to_vec()))
            }
            None => unix_path(rest).map(Endpoint::Unix),
        },
        "tcp" => {
            let (host, port) = tcp_host_port(rest)?;
            Ok(Endpoint::Tcp {
                host: host.to_owned(),
                port: port_u16(port)?,
            })
        }
        "vsock" => {
            let (cid, port) = rest
                .rsplit_once(':')
                .ok_or(EndpointErrorKind::MissingPort)?;
            Ok(Endpoint::Vsock {
                cid: vsock_cid(cid)?,
                port: port_u32(port)?,
            })
        }
        "hvsock" => {
            let (path, port) = rest
                .rsplit_once(':')
                .ok_or(EndpointErrorKind::MissingPort)?;
            Ok(Endpoint::HybridVsock {
                path: unix_path(path)?,
                port: port_u32(port)?,
            })
        }
        _ => Err(EndpointErrorKind::UnknownScheme(scheme.to_owned())),
    }
}

fn check_name(name: &str) -> Result<(), EndpointErrorKind> {
    if name.contains('\0') {
        return Err(EndpointErrorKind::NulInPath);
    }
    if name.len() > MAX_UNIX_PATH_LEN {
        return Err(EndpointErrorKind::PathTooLong {
            len: name.len(),
            max: MAX_UNIX_PATH_LEN,
        });
    }
    Ok(())
}

fn unix_path(path: &str) -> Result<PathBuf, EndpointErrorKind> {
    if path.is_empty() {
        return Err(EndpointErrorKind::MissingPath);
    }
    check_name(path)?;
    Ok(Path::new(path).to_path_buf())
}

fn tcp_host_port(rest: &str) -> Result<(&str, &str), EndpointErrorKind> {
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| EndpointErrorKind::InvalidHost(rest.to_owned()))?;
        if after.is_empty() {
            return Err(EndpointErrorKind::MissingPort);
        }
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| EndpointErrorKind::InvalidHost(rest.to_owned()))?;
        (host, port)
    } else {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or(EndpointErrorKind::MissingPort)?;
        if host.contains(':') {
            return Err(EndpointErrorKind::InvalidHost(host.to_owned()));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(EndpointErrorKind::MissingHost);
    }
    if host.contains(['/', '@', '[', ']']) {
        return Err(EndpointErrorKind::InvalidHost(host.to_owned()));
    }
    Ok((host, port))
}

/// `Some` when `s` is written as an integer (optionally negative).
fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn port_u16(port: &str) -> Result<u16, EndpointErrorKind> {
    port_number(port, u32::from(u16::MAX)).map(|p| p as u16)
}

fn port_u32(port: &str) -> Result<u32, EndpointErrorKind> {
    port_number(port, u32::MAX)
}

fn port_number(port: &str, max: u32) -> Result<u32, EndpointErrorKind> {
    if port.is_empty() {
        return Err(EndpointErrorKind::MissingPort);
    }
    if !is_integer(port) {
        return Err(EndpointErrorKind::InvalidPort(port.to_owned()));
    }
    match port.parse::<u32>() {
        Ok(p) if p <= max => Ok(p),
        _ => Err(EndpointErrorKind::PortOutOfRange {
            value: port.to_owned(),
            max,
        }),
    }
}

fn vsock_cid(cid: &str) -> Result<u32, EndpointErrorKind> {
    match cid {
        "-1" | "any" => Ok(VMADDR_CID_ANY),
        _ => cid
            .parse::<u32>()
            .map_err(|_| EndpointErrorKind::InvalidCid(cid.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert!(is_integer("0"));
        assert!(is_integer("-1"));
        assert!(!is_integer("-"));
        assert!(!is_integer("1a"));
        assert!(!is_integer("+1"));
    }
}
