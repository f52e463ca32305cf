//! Interceptors on the client: [`Interceptor`] and [`InterceptorLayer`]
//! from wren-transport, and [`Client::with_interceptor`].
//!
//! A client interceptor runs when a call is made, before anything is
//! written, for unary and streaming calls alike: it adds metadata (a token,
//! containerd's namespace), sets a default deadline, or refuses the call,
//! in which case the caller gets its status and nothing reaches the wire.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use wren_client::{Channel, Client, Request};
//!
//! let channel = Channel::connect("unix:///run/demo.sock").await?;
//! let client = Client::with_interceptor(channel, |mut req: Request<()>| {
//!     req.metadata_mut().insert("authorization", "Bearer s3cret");
//!     if req.deadline().is_none() {
//!         req.set_timeout(Duration::from_secs(10));
//!     }
//!     Ok(req)
//! });
//! # Ok(()) }
//! ```
//!
//! Generated clients have the same constructor:
//! `GreeterClient::with_interceptor(channel, f)`.

pub use wren_transport::interceptor::ResponseFuture;
pub use wren_transport::{InterceptedService, Interceptor, InterceptorLayer};

use crate::Client;

impl<S> Client<S> {
    /// A client over `inner` that runs `interceptor` before each call; see
    /// [the module](crate::interceptor).
    pub fn with_interceptor<I>(inner: S, interceptor: I) -> Client<InterceptedService<S, I>>
    where
        I: Interceptor,
    {
        Client::new(InterceptedService::new(inner, interceptor))
    }
}
