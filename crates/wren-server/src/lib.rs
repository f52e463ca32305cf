//! A ttrpc server built on tower.
//!
//! Services are `tower::Service<Request<Body>>`s registered under their full
//! proto name. [`Server::layer`] wraps every call in any tower middleware
//! (timeouts, concurrency limits, tracing, authorization), and
//! [`ShutdownHandle`] ends the server gracefully, without dropping a reply,
//! or at once.
//!
//! The server answers protocol errors as Go ttrpc does: an unknown service
//! or method gets `UNIMPLEMENTED`, a frame over the size limit
//! `RESOURCE_EXHAUSTED`, a bad stream id or an undecodable request
//! `INVALID_ARGUMENT`, all on the offending stream with the connection kept.
//! Unlike Go, a handler that panics fails only its own call, with `INTERNAL`.
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

mod accept;
mod call;
mod connection;
mod drive;
mod guard;
mod ids;
pub mod interceptor;
mod methods;
mod policy;
mod routes;
mod runners;
mod server;
mod shutdown;

pub use crate::accept::{AcceptFuture, AcceptHook, DEFAULT_HANDSHAKE_TIMEOUT};
pub use crate::interceptor::{InterceptedService, Interceptor, InterceptorLayer};
pub use crate::methods::Methods;
pub use crate::policy::{PeerPolicy, PolicyError};
pub use crate::routes::{NamedService, Routes, RoutesFuture};
pub use crate::server::{
    DEFAULT_CONNECTION_BUDGET, DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_SHUTDOWN_TIMEOUT, Router,
    Server,
};
pub use crate::shutdown::ShutdownHandle;
pub use wren_transport::{Body, MethodKind, Request, Response, Streaming};
pub use wren_transport::{ConnectInfo, Endpoint, Peer, PeerAddr, PeerCredentials};
