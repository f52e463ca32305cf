//! From byte streams to multiplexed ttrpc calls.
//!
//! - [`Connection`] drives one connection for either side: it reads frames,
//!   hands them to a [`Dispatch`] that routes them by stream id, and writes
//!   what the dispatcher queues in an [`Outbox`], coalescing the frames of
//!   many calls into few writes.
//! - [`Listener`] is where a server's connections come from; [`Endpoint`]
//!   names one as a URI (`unix:///run/x.sock`, `unix://@name`,
//!   `tcp://host:port`, `vsock://CID:PORT`, `hvsock:///path:PORT`) and binds
//!   or connects it; [`take_listen_fds`] adopts systemd's sockets.
//! - [`Peer`] is what a server knows about the other end of a connection
//!   (its [`PeerAddr`], its [`PeerCredentials`] on unix sockets, and what an
//!   accept hook attached), in every request's extensions.
//! - [`Request`], [`Response`], [`Body`] and [`Extensions`] are the call
//!   types the server and client layers share.
//!
//! `docs/ARCHITECTURE.md` in the repository explains how the pieces fit.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

mod burst;
mod call;
mod conn;
mod deadline;
mod endpoint;
mod error;
mod extensions;
mod guard;
mod ids;
pub mod interceptor;
mod peer;
mod stream;

pub use crate::burst::BurstSize;
pub use crate::call::{Body, IntoRequest, IntoStreamingRequest, Parts, Request, Response};
pub use crate::conn::{
    Connection, ConnectionSettings, Dispatch, Frames, Outbox, Oversize, SHARE_THRESHOLD,
};
pub use crate::deadline::{DEADLINE_CHECK_EVERY, DeadlineStream, Side};
pub use crate::endpoint::{
    BindOptions, ConnectOptions, DEFAULT_HYBRID_VSOCK_TIMEOUT, Endpoint, EndpointError,
    EndpointErrorKind, EndpointListener, EndpointStream, HybridVsockError, IntoEndpoint,
    IntoListener, LISTEN_FDS_START, ListenFd, Listener, MAX_UNIX_PATH_LEN, VMADDR_CID_ANY,
    VMADDR_CID_HOST, VMADDR_CID_LOCAL, hybrid_vsock_handshake, is_connection_error,
    take_listen_fds,
};
pub use crate::error::{BoxError, ConnectionClosed, is_closed, status_from_error};
pub use crate::extensions::Extensions;
pub use crate::guard::{CatchPanic, drop_guarded, panic_message, panic_status};
pub use crate::ids::{NameHasher, NameMap, StreamIdHasher, StreamIdSlot, StreamMap};
pub use crate::interceptor::{InterceptedService, Interceptor, InterceptorLayer};
pub use crate::peer::{ConnectInfo, Peer, PeerAddr, PeerCredentials};
pub use crate::stream::{
    BatchEnd, BodyStream, Budget, DEFAULT_STREAM_BUFFER, InboxLimits, InboxSender,
    MESSAGE_OVERHEAD, MethodKind, Overflow, OverflowBound, PushError, Streaming, inbox, poll_batch,
};

pub use wren_codec as codec;
