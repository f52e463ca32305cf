//! ttrpc for Rust.
//!
//! ttrpc is containerd's RPC protocol for low-memory environments: the same
//! protobuf services as gRPC, carried in 10-byte-header frames over a unix
//! socket (or vsock, or TCP) instead of HTTP/2. containerd talks to every
//! runtime shim with it, and Kata Containers to its agent inside the VM.
//! wren speaks it byte for byte as Go's implementation does, on tokio, tower
//! and prost.
//!
//! The crate re-exports the layers you need:
//!
//! - [`Request`], [`Response`], [`Status`], [`Code`], [`Metadata`]: the call
//!   types every layer shares;
//! - [`server`] (feature `server`, default): [`Server`], a tower-based server;
//! - [`client`] (feature `client`, default): [`Channel`], a multiplexed
//!   client that is a `tower::Service`, and the typed [`Client`];
//! - [`codec`]: the wire format alone.
//!
//! ```
//! use wren_rpc::{Channel, Client, Request, Response, Server, server::Methods};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("greeter.sock");
//! let listener = tokio::net::UnixListener::bind(&path)?;
//!
//! let greeter = Methods::new("hello.v1.Greeter").unary("Hello", |req: Request<String>| async move {
//!     Ok(Response::new(format!("hello, {}", req.into_inner())))
//! });
//! let router = Server::builder().add_service(greeter);
//! let shutdown = router.shutdown_handle();
//! let server = tokio::spawn(router.serve(listener));
//!
//! let mut client = Client::new(Channel::connect_unix(&path).await?);
//! let reply: Response<String> = client
//!     .unary(Request::new("wren".to_string()), "hello.v1.Greeter", "Hello")
//!     .await?;
//! assert_eq!(reply.into_inner(), "hello, wren");
//!
//! shutdown.shutdown().await;
//! server.await??;
//! # Ok(())
//! # }
//! ```
//!
//! ## Feature flags
//!
//! - `server` (default): the server, from `wren-server`.
//! - `client` (default): the client, from `wren-client`.
//! - `vsock`: `vsock://CID:PORT` endpoints on Linux, through tokio-vsock.
//! - `health`: the gRPC health service over ttrpc, as `wren_rpc::health` (`wren-health`).
//! - `reflection`: gRPC server reflection over ttrpc, as `wren_rpc::reflection` (`wren-reflection`).
//! - `trace`: a tracing span per call, as `wren_rpc::trace` (`wren-tracing`);
//!   `opentelemetry` adds W3C trace context in metadata, as otelttrpc does.
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

pub use wren_codec as codec;
pub use wren_codec::{Code, Metadata, Status};
pub use wren_transport::{Body, Extensions, MethodKind, Request, Response, Streaming};

/// The server: [`Server`], its router, layers and shutdown.
#[cfg(feature = "server")]
pub mod server {
    pub use wren_server::*;
}
#[cfg(feature = "server")]
pub use wren_server::Server;

/// The client: [`Channel`] and typed [`Client`].
#[cfg(feature = "client")]
pub mod client {
    pub use wren_client::*;
    pub use wren_transport::is_closed;
}
#[cfg(feature = "client")]
pub use wren_client::{Channel, Client};

/// The transport layer: connection driver, listeners, errors.
pub mod transport {
    pub use wren_transport::*;
}

pub use prost;
pub use prost_types;

#[cfg(feature = "health")]
pub use wren_health as health;
#[cfg(feature = "reflection")]
pub use wren_reflection as reflection;
#[cfg(feature = "trace")]
pub use wren_tracing as trace;

#[doc(hidden)]
pub mod codegen;
pub use wren_transport::{IntoRequest, IntoStreamingRequest};

/// Includes the code `wren-build` generated for a proto package, from
/// `$OUT_DIR/<package>.rs`.
///
/// Use it inside a module of its own; the generated file has no inner
/// attributes, so it can be included anywhere an item can:
///
/// ```ignore
/// pub mod hello {
///     wren_rpc::include_proto!("hello.v1");
/// }
/// use hello::greeter_client::GreeterClient;
/// ```
///
/// A file without a `package` is `"_"`. A build script that changed
/// [`out_dir`](https://docs.rs/wren-build/latest/wren_build/struct.Builder.html#method.out_dir)
/// uses `include!` with that directory instead.
#[macro_export]
macro_rules! include_proto {
    ($package:tt) => {
        ::core::include!(::core::concat!(
            ::core::env!("OUT_DIR"),
            "/",
            $package,
            ".rs"
        ));
    };
}

/// The names most programs use, for a glob import.
///
/// ```
/// use wren_rpc::prelude::*;
///
/// fn reply(req: Request<String>) -> Result<Response<String>, Status> {
///     if req.get_ref().is_empty() {
///         return Err(Status::invalid_argument("empty"));
///     }
///     Ok(Response::new(req.into_inner()))
/// }
/// # assert_eq!(reply(Request::new(String::new())).unwrap_err().code(), Code::InvalidArgument);
/// ```
pub mod prelude {
    pub use crate::{
        Code, IntoRequest, IntoStreamingRequest, Metadata, Request, Response, Status, Streaming,
    };

    #[cfg(feature = "client")]
    pub use crate::{Channel, Client};
    #[cfg(feature = "server")]
    pub use crate::{Server, server::NamedService};
}

/// The README's quickstart, compiled as a doc test so it cannot go stale.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
