//! ttrpc for Rust.
//!
//! ttrpc is containerd's RPC protocol for low-memory environments: the same
//! protobuf services as gRPC, carried in 10-byte-header frames over a unix
//! socket (or vsock, or TCP) instead of HTTP/2. containerd talks to every
//! runtime shim with it, and Kata Containers to its agent inside the VM.
//! wren speaks it byte for byte as Go's implementation does, on tokio, tower
//! and prost.
//!
//! # From a `.proto` file to a server and a client
//!
//! This is the repository README's quickstart; CI writes it into a fresh
//! crate outside the workspace, builds it and runs it.
//!
//! A new crate depends on `wren-rpc`, on `wren-build` for its build script,
//! and on the runtime and layers it uses, in `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "greeter"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [dependencies]
//! wren-rpc = "0.1"
//! tokio = { version = "1.47", features = ["macros", "rt-multi-thread"] }
//! tower = { version = "0.5", features = ["timeout"] }
//!
//! [build-dependencies]
//! wren-build = "0.1"
//! ```
//!
//! It describes the service, as for gRPC, in `proto/hello/v1/hello.proto`:
//!
//! ```proto
//! syntax = "proto3";
//!
//! package hello.v1;
//!
//! // Greets people.
//! service Greeter {
//!   // Says hello to one person.
//!   rpc SayHello(HelloRequest) returns (HelloReply);
//! }
//!
//! // Whom to greet.
//! message HelloRequest {
//!   // Their name; must not be empty.
//!   string name = 1;
//! }
//!
//! // The greeting.
//! message HelloReply {
//!   // The text of the greeting.
//!   string message = 1;
//! }
//! ```
//!
//! `build.rs` generates the code ([`wren_build`](https://docs.rs/wren-build)
//! needs no `protoc`):
//!
//! ```ignore
//! fn main() -> std::io::Result<()> {
//!     wren_build::compile_protos("proto/hello/v1/hello.proto")
//! }
//! ```
//!
//! `src/main.rs` includes it with [`include_proto!`], implements the
//! generated trait, serves it and calls it:
//!
//! ```ignore
//! //! A ttrpc server and client from generated code, on a unix socket.
//!
//! /// The code wren-build generated from `proto/hello/v1/hello.proto`.
//! pub mod hello {
//!     wren_rpc::include_proto!("hello.v1");
//! }
//!
//! use std::time::Duration;
//!
//! use hello::greeter_client::GreeterClient;
//! use hello::greeter_server::{Greeter, GreeterServer};
//! use hello::{HelloReply, HelloRequest};
//! use wren_rpc::{Channel, Endpoint, Request, Response, Server, Status};
//!
//! struct MyGreeter;
//!
//! impl Greeter for MyGreeter {
//!     async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
//!         let name = req.into_inner().name;
//!         if name.is_empty() {
//!             return Err(Status::invalid_argument("name must not be empty"));
//!         }
//!         Ok(Response::new(HelloReply {
//!             message: format!("hello, {name}"),
//!         }))
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A socket of this process's own: wren replaces a stale socket file and
//!     // removes it again when the listener is dropped.
//!     let socket = std::env::temp_dir().join(format!("greeter-{}.sock", std::process::id()));
//!     let endpoint = Endpoint::unix(socket);
//!
//!     // The server: the generated service, behind a stock tower timeout.
//!     let router = Server::builder()
//!         .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
//!         .add_service(GreeterServer::new(MyGreeter));
//!     let shutdown = router.shutdown_handle();
//!     let listener = endpoint.bind().await?;
//!     let server = tokio::spawn(router.serve(listener));
//!     println!("server: listening on {endpoint}");
//!
//!     // The client: one connection, any number of concurrent calls.
//!     let mut client = GreeterClient::new(Channel::connect(&endpoint).await?);
//!     let reply = client
//!         .say_hello(HelloRequest {
//!             name: "wren".into(),
//!         })
//!         .await?;
//!     println!("client: {}", reply.into_inner().message);
//!
//!     let err = client.say_hello(HelloRequest::default()).await.unwrap_err();
//!     println!("client: {} ({})", err.code(), err.message());
//!
//!     shutdown.shutdown().await;
//!     server.await??;
//!     Ok(())
//! }
//! ```
//!
//! # Guides
//!
//! In the repository's `docs/` folder:
//!
//! - [Generating code from `.proto` files][codegen]: every `wren-build`
//!   option, what is generated, names, streaming methods.
//! - [Transports][transports]: endpoint URIs, binding, inherited and systemd
//!   sockets, peer credentials and policies, limits, reconnecting channels.
//! - [Driving a containerd shim][containerd]: generated clients against
//!   Debian's real `containerd-shim-runc-v2`.
//! - [Architecture][architecture]: the layers, and the path of one call
//!   through them.
//! - [The protocol][protocol]: ttrpc's wire format with byte examples, and
//!   where wren differs from Go's bugs.
//! - [Performance][performance]: benchmarks against ttrpc-rust.
//!
//! Runnable programs are in `examples/` (`cargo run --example quickstart`,
//! `cargo run --example middleware`).
//!
//! # What is where
//!
//! - At the top: the call types every side shares ([`Request`],
//!   [`Response`], [`Status`], [`Code`], [`Metadata`], [`Streaming`],
//!   [`Body`]), the [`Server`] builder, the [`Channel`] and typed [`Client`],
//!   [`Endpoint`] and [`BoxError`].
//! - [`server`] (feature `server`, default): the [`Router`](server::Router)
//!   that serves, untyped [`Methods`](server::Methods), graceful shutdown,
//!   peer policies and accept hooks.
//! - [`client`] (feature `client`, default): the channel builder and
//!   reconnect backoff.
//! - [`transport`]: endpoints and listeners, systemd sockets, and who the
//!   peer is ([`Peer`](transport::Peer), [`ConnectInfo`](transport::ConnectInfo)).
//! - [`codec`]: the wire format alone, for any `tokio_util` `Framed`.
//! - [`prelude`]: the names most programs use, for a glob import.
//!
//! # Without generated code
//!
//! A service can also be written by hand, method by method, over any prost
//! message (here a `String`):
//!
//! ```
//! use wren_rpc::{Channel, Client, Request, Response, Server, server::Methods};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("greeter.sock");
//! let listener = wren_rpc::Endpoint::unix(&path).bind().await?;
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
//! # Feature flags
//!
//! - `server` (default): the server, from `wren-server`.
//! - `client` (default): the client, from `wren-client`.
//! - `vsock`: `vsock://CID:PORT` endpoints on Linux, through tokio-vsock.
//! - `health`: the gRPC health service over ttrpc, as `wren_rpc::health` (`wren-health`).
//! - `reflection`: gRPC server reflection over ttrpc, as `wren_rpc::reflection` (`wren-reflection`).
//! - `trace`: a tracing span per call, as `wren_rpc::trace` (`wren-tracing`);
//!   `opentelemetry` adds W3C trace context in metadata, as otelttrpc does.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.85 (edition 2024). Raising it is a minor-version change.
//!
//! [codegen]: https://github.com/wren-rpc/wren/blob/main/docs/codegen.md
//! [transports]: https://github.com/wren-rpc/wren/blob/main/docs/transports.md
//! [containerd]: https://github.com/wren-rpc/wren/blob/main/docs/containerd.md
//! [architecture]: https://github.com/wren-rpc/wren/blob/main/docs/ARCHITECTURE.md
//! [protocol]: https://github.com/wren-rpc/wren/blob/main/docs/PROTOCOL.md
//! [performance]: https://github.com/wren-rpc/wren/blob/main/docs/PERFORMANCE.md
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

pub use wren_codec::{Code, Metadata, Status};
pub use wren_transport::{
    Body, Extensions, IntoRequest, IntoStreamingRequest, MethodKind, Parts, Request, Response,
    Streaming,
};

/// A boxed error that is `Send + Sync`: what a tower layer around a wren
/// service or channel may fail with. A [`Status`] inside one is delivered
/// as it is; any other error becomes `INTERNAL` (server) or `UNKNOWN`
/// (client).
pub use wren_transport::BoxError;

#[doc(no_inline)]
pub use crate::transport::Endpoint;

/// The server's builder: settings and tower layers shared by every
/// connection. [`add_service`](Server::add_service) turns it into a
/// [`Router`](server::Router), which serves.
#[cfg(feature = "server")]
pub use wren_server::Server;

#[cfg(feature = "client")]
pub use wren_client::{Channel, Client};

/// The server: the [`Router`](server::Router) that serves, [`Methods`](server::Methods)
/// written by hand, [`ShutdownHandle`](server::ShutdownHandle), peer policies,
/// accept hooks and [interceptors](server::Interceptor).
///
/// The [`Server`] builder is at the crate's top, with the call types; the
/// peer of a connection ([`Peer`](crate::transport::Peer),
/// [`ConnectInfo`](crate::transport::ConnectInfo)) is in [`transport`].
#[cfg(feature = "server")]
pub mod server {
    #[doc(no_inline)]
    pub use self::interceptor::{InterceptedService, Interceptor, InterceptorLayer};
    pub use wren_server::{
        AcceptFuture, AcceptHook, DEFAULT_CONNECTION_BUDGET, DEFAULT_HANDSHAKE_TIMEOUT,
        DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_SHUTDOWN_TIMEOUT, Methods, NamedService,
        PeerPolicy, PolicyError, Router, Routes, RoutesFuture, ShutdownHandle, interceptor,
    };

    // Documented once, elsewhere in this crate.
    #[doc(no_inline)]
    pub use crate::transport::{ConnectInfo, Endpoint, Peer, PeerAddr, PeerCredentials};
    #[doc(no_inline)]
    pub use crate::{Body, MethodKind, Request, Response, Server, Streaming};
}

/// The client: the [`Channel`] [`Builder`](client::Builder),
/// reconnect [`Backoff`](client::Backoff), [`is_closed`](client::is_closed), and
/// [interceptors](client::Interceptor) (the server's types).
#[cfg(feature = "client")]
pub mod client {
    #[doc(no_inline)]
    pub use self::interceptor::{InterceptedService, Interceptor, InterceptorLayer};
    pub use wren_client::{Backoff, Builder, DEFAULT_CHANNEL_BUDGET, ResponseFuture, interceptor};

    // Documented once, elsewhere in this crate.
    #[doc(no_inline)]
    pub use crate::transport::is_closed;
    #[doc(no_inline)]
    pub use crate::{Body, Channel, Client, MethodKind, Request, Response, Streaming};
}

/// Endpoints, listeners and peers: where a server listens and a client
/// connects, and who is on the other end; the connection errors and stream
/// buffer limits both sides share.
///
/// The connection driver itself (`Connection`, `Dispatch`, inboxes) is in
/// the `wren-transport` crate, for those who build a new side on it.
pub mod transport {
    pub use wren_transport::{
        BindOptions, ConnectOptions, DEFAULT_HYBRID_VSOCK_TIMEOUT, Endpoint, EndpointError,
        EndpointErrorKind, EndpointListener, EndpointStream, HybridVsockError, IntoEndpoint,
        IntoListener, LISTEN_FDS_START, ListenFd, Listener, MAX_UNIX_PATH_LEN, VMADDR_CID_ANY,
        VMADDR_CID_HOST, VMADDR_CID_LOCAL, hybrid_vsock_handshake, is_connection_error,
        take_listen_fds,
    };
    pub use wren_transport::{ConnectInfo, Peer, PeerAddr, PeerCredentials};
    pub use wren_transport::{ConnectionClosed, StreamIdSlot, is_closed, status_from_error};
    pub use wren_transport::{DEFAULT_STREAM_BUFFER, MESSAGE_OVERHEAD};

    #[doc(no_inline)]
    pub use crate::BoxError;
}

/// The wire format alone: frames, the `tokio_util` codec, envelope messages.
pub use wren_codec as codec;

/// The prost version generated messages derive from (`wren_rpc::prost::Message`).
pub use prost;
/// The well-known types (`Timestamp`, `Any`, ...) generated messages use.
pub use prost_types;

#[cfg(feature = "health")]
pub use wren_health as health;
#[cfg(feature = "reflection")]
pub use wren_reflection as reflection;
#[cfg(feature = "trace")]
pub use wren_tracing as trace;

#[doc(hidden)]
pub mod codegen;
pub mod containerd;

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
    #[doc(no_inline)]
    pub use crate::{
        Code, Endpoint, IntoRequest, IntoStreamingRequest, Metadata, Request, Response, Status,
        Streaming,
    };

    #[doc(no_inline)]
    #[cfg(feature = "client")]
    pub use crate::{Channel, Client};
    #[doc(no_inline)]
    #[cfg(feature = "server")]
    pub use crate::{Server, server::NamedService};
}
