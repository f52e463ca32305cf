//! Interceptors on the server: [`Interceptor`] and [`InterceptorLayer`]
//! from wren-transport, and what makes an intercepted service registrable.
//!
//! Two ways to use one:
//!
//! - every call, whatever its service:
//!   `Server::builder().layer(InterceptorLayer::new(f))`;
//! - one service: [`InterceptedService::new(svc, f)`](InterceptedService::new),
//!   which generated servers spell `GreeterServer::with_interceptor(imp, f)`.
//!   It keeps the service's name and its methods' streaming kinds, so
//!   [`Router::add_service`](crate::Router::add_service) takes it as it
//!   takes the service.
//!
//! Each runs once per call, for unary and streaming calls alike, when the
//! Request frame has arrived and before the handler: the request's
//! extensions hold the connection's [`Peer`](crate::Peer) (its address and,
//! on unix sockets, its credentials). A rejection is sent to the client as
//! the call's status, and the handler never runs. To refuse whole
//! connections by credentials instead, before any call, use
//! [`Server::peer_policy`](crate::Server::peer_policy).
//!
//! Stock tower layers do the same jobs over the whole `Request<Body>`, and
//! a `Status` they fail with reaches the client as it is:
//! `tower::filter::FilterLayer::new(|req| ...)` checks and may reject,
//! `tower::filter::AsyncFilterLayer` does so with an `async` check (a
//! policy lookup), and `tower::ServiceBuilder::map_request` changes every
//! request. `examples/interceptors.rs` shows both kinds.
//!
//! ```
//! use wren_server::{InterceptorLayer, Methods, Peer, Request, Response, Server};
//! use wren_transport::codec::Status;
//!
//! /// Lets only root and the server's own user in.
//! fn same_user_or_root(req: Request<()>) -> Result<Request<()>, Status> {
//!     let uid = req
//!         .extensions()
//!         .get::<Peer>()
//!         .and_then(|peer| peer.credentials())
//!         .map(|cred| cred.uid);
//!     match uid {
//!         Some(0) => Ok(req),
//!         Some(uid) if Some(uid) == own_uid() => Ok(req),
//!         _ => Err(Status::permission_denied("peer is neither root nor our user")),
//!     }
//! }
//! # fn own_uid() -> Option<u32> { None }
//!
//! let router = Server::builder()
//!     .layer(InterceptorLayer::new(same_user_or_root))
//!     .add_service(Methods::new("demo.v1.Demo").unary("Ping", |req: Request<()>| async move {
//!         Ok(Response::new(()))
//!     }));
//! ```

use wren_transport::MethodKind;

pub use wren_transport::interceptor::ResponseFuture;
pub use wren_transport::{InterceptedService, Interceptor, InterceptorLayer};

use crate::NamedService;

/// An intercepted service is registered under its inner service's name, with
/// its methods' kinds.
impl<S: NamedService, I> NamedService for InterceptedService<S, I> {
    fn service_name(&self) -> &str {
        self.get_ref().service_name()
    }

    fn method_kind(&self, method: &str) -> MethodKind {
        self.get_ref().method_kind(method)
    }
}
