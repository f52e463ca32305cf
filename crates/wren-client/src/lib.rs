//! A multiplexed ttrpc client.
//!
//! [`Channel`] sends any number of concurrent calls over one connection,
//! each on its own odd, strictly increasing stream id, and is a
//! `tower::Service`, so client middleware is ordinary tower layers.
//! [`Client`] adds typed calls on top of a channel or of any service with the
//! same request and response types.
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

mod channel;
mod client;
mod connect;
mod connection;
pub mod interceptor;
mod reconnect;

pub use crate::channel::{Builder, Channel, DEFAULT_CHANNEL_BUDGET, ResponseFuture};
pub use crate::client::Client;
pub use crate::interceptor::{InterceptedService, Interceptor, InterceptorLayer};
pub use crate::reconnect::Backoff;
pub use wren_transport::{Body, MethodKind, Request, Response, Streaming};
