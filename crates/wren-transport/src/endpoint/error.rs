//! [`EndpointError`]: why a string does not name an endpoint.

use std::fmt;
use std::io;

/// A string that does not name an [`Endpoint`](super::Endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointError {
    input: String,
    kind: EndpointErrorKind,
}

impl EndpointError {
    pub(super) fn new(input: &str, kind: EndpointErrorKind) -> EndpointError {
        EndpointError {
            input: input.to_owned(),
            kind,
        }
    }

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
        /// The longest allowed ([`MAX_UNIX_PATH_LEN`](super::MAX_UNIX_PATH_LEN)).
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

impl EndpointErrorKind {
    /// The `InvalidInput` error an I/O call (bind, connect) fails with.
    pub(super) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, self.to_string())
    }
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
