//! Code generation for [wren](https://docs.rs/wren-rpc), ttrpc for Rust, from a
//! `build.rs`: prost messages plus, for every proto service, a server trait
//! with the tower service that serves it and a typed client.
//!
//! No `protoc` is needed: the `.proto` files are compiled in process by
//! [protox] (which also ships the `google/protobuf/*.proto` well-known
//! types), then handed to [prost-build](prost_build). An installed `protoc`
//! can be used instead with [`Builder::use_protoc`].
//!
//! # Getting started
//!
//! ```toml
//! [dependencies]
//! wren-rpc = "0.1"
//!
//! [build-dependencies]
//! wren-build = "0.1"
//! ```
//!
//! ```no_run
//! // build.rs
//! fn main() -> std::io::Result<()> {
//!     wren_build::compile_protos("proto/helloworld.proto")
//! }
//! ```
//!
//! ```ignore
//! // src/lib.rs
//! pub mod pb {
//!     wren_rpc::include_proto!("helloworld.v1");
//! }
//! use pb::greeter_server::{Greeter, GreeterServer};
//! use pb::greeter_client::GreeterClient;
//! ```
//!
//! For each service `pkg.Greeter` the package's file gets:
//!
//! - `greeter_server::Greeter`, a trait with one required method per rpc,
//!   each returning `impl Future<Output = Result<Response<Reply>, Status>> + Send`
//!   (implement it with `async fn`);
//! - `greeter_server::GreeterServer<T>`, a `tower::Service` that decodes a
//!   request, calls the trait and encodes the reply, to pass to
//!   `wren_rpc::Server::add_service`;
//! - `greeter_client::GreeterClient<S = Channel>`, with an `async fn` per rpc,
//!   over a `Channel` or any other tower service of ttrpc bodies.
//!
//! Streaming rpcs are not generated yet: their server answers
//! `UNIMPLEMENTED` and their client has no method.
//!
//! `docs/codegen.md` in the repository describes the generated code, the
//! name mapping and every option.
//!
//! # Options
//!
//! [`configure()`] returns a [`Builder`]:
//!
//! ```no_run
//! // build.rs
//! fn main() -> std::io::Result<()> {
//!     wren_build::configure()
//!         .build_client(false)
//!         .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
//!         .use_protoc(false)
//!         .compile_protos(&["proto/agent.proto", "proto/health.proto"], &["proto"])
//! }
//! ```
//!
//! A build script that already has a [`prost_build::Config`] passes it to
//! [`Builder::compile_with_config`], or installs
//! [`Builder::service_generator`] in it.
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

mod builder;
mod generator;

use std::io::Result;
use std::path::Path;

pub use crate::builder::{Builder, DEFAULT_WREN_PATH};

pub use prost_build;
pub use prost_types;
pub use protox;

/// A [`Builder`] with the defaults: servers and clients, protox rather than
/// `protoc`, output into `$OUT_DIR`, generated code reaching wren as
/// `::wren_rpc`.
pub fn configure() -> Builder {
    Builder::default()
}

/// Compiles one `.proto` file with the defaults, looking up its imports in
/// the directory that holds it.
///
/// ```no_run
/// // build.rs
/// fn main() -> std::io::Result<()> {
///     wren_build::compile_protos("proto/helloworld.proto")
/// }
/// ```
///
/// # Errors
///
/// As [`Builder::compile_protos`].
pub fn compile_protos(proto: impl AsRef<Path>) -> Result<()> {
    let proto = proto.as_ref();
    let include = match proto.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    configure().compile_protos(&[proto], &[include])
}

/// Generates code with the defaults from an already compiled
/// `FileDescriptorSet` that holds the files and every file they import.
///
/// ```no_run
/// // build.rs
/// fn main() -> std::io::Result<()> {
///     let fds = wren_build::protox::compile(["helloworld.proto"], ["proto"])
///         .map_err(std::io::Error::other)?;
///     wren_build::compile_fds(fds)
/// }
/// ```
///
/// # Errors
///
/// As [`Builder::compile_fds`].
pub fn compile_fds(fds: prost_types::FileDescriptorSet) -> Result<()> {
    configure().compile_fds(fds)
}
