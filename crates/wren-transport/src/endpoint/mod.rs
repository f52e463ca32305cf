//! Endpoints: where a server listens or a client connects.
//!
//! One file per endpoint kind, the URI apart, and imports that run one way
//! (each file uses only files listed below it):
//!
//! | file | holds |
//! |---|---|
//! | `bind.rs`, `connect.rs` | `Endpoint::bind` and `Endpoint::connect`: pick the kind; [`IntoListener`] |
//! | `unix.rs`, `tcp.rs`, `vsock.rs`, `hybrid_vsock.rs` | binding and connecting one kind |
//! | `fd.rs` | inherited and systemd-activated listening sockets |
//! | `listener.rs` | the [`Listener`] trait and [`EndpointListener`] |
//! | `stream.rs` | [`EndpointStream`], a connected stream of any kind |
//! | `socket_file.rs` | a bound unix socket's file, removed with its listener |
//! | `uri.rs`, `error.rs` | [`Endpoint`] and its URI syntax; why a URI is invalid |
//! | `options.rs` | [`BindOptions`] and [`ConnectOptions`] |

mod bind;
mod connect;
mod error;
mod fd;
mod hybrid_vsock;
mod listener;
mod options;
mod socket_file;
mod stream;
mod tcp;
mod unix;
mod uri;
mod vsock;

pub use self::bind::IntoListener;
pub use self::error::{EndpointError, EndpointErrorKind};
pub use self::fd::{LISTEN_FDS_START, ListenFd, take_listen_fds};
pub use self::hybrid_vsock::{HybridVsockError, hybrid_vsock_handshake};
pub use self::listener::{EndpointListener, Listener, is_connection_error};
pub use self::options::{BindOptions, ConnectOptions, DEFAULT_HYBRID_VSOCK_TIMEOUT};
pub use self::stream::EndpointStream;
pub use self::uri::{
    Endpoint, IntoEndpoint, MAX_UNIX_PATH_LEN, VMADDR_CID_ANY, VMADDR_CID_HOST, VMADDR_CID_LOCAL,
};
