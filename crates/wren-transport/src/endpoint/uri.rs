//! [`Endpoint`]: where a server listens or a client connects, and the URIs
//! containerd, Kata and ttrpc-rust users already write for it. Nothing here
//! touches a socket: binding is in `bind.rs`, connecting in `connect.rs`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::error::{EndpointError, EndpointErrorKind};

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
        parse(s).map_err(|kind| EndpointError::new(s, kind))
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
}

/// Fails with `InvalidInput` when a unix socket path or abstract name of
/// `len` bytes does not fit in `sun_path`.
pub(super) fn check_path_len(len: usize) -> io::Result<()> {
    if len > MAX_UNIX_PATH_LEN {
        return Err(EndpointErrorKind::PathTooLong {
            len,
            max: MAX_UNIX_PATH_LEN,
        }
        .into_io());
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
