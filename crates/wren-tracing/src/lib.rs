//! Tracing for wren, ttrpc for Rust.
//!
//! [`TraceLayer`] is a tower layer for either side of a call: around a
//! server (`Server::builder().layer(TraceLayer::server())`) or a client
//! channel (`ServiceBuilder::new().layer(TraceLayer::client()).service(channel)`).
//! Each call gets a `tracing` span holding its service, method, kind,
//! stream id, peer, deadline, final status, duration and message counts,
//! whatever way it ends: a status, a panic, a passed deadline, a dropped
//! call. See [`TraceLayer`] for the fields.
//!
//! With the `opentelemetry` feature, the layer also carries W3C trace
//! context in ttrpc metadata exactly as containerd's otelttrpc interceptors
//! do (the `otel` module), so a wren shim's spans join the trace of the containerd
//! call that reached it, and a Go ttrpc server instrumented with otelttrpc
//! continues the traces a wren client starts. Spans reach OpenTelemetry
//! through `tracing-opentelemetry`'s layer on the subscriber.
//!
//! ```
//! use wren_tracing::TraceLayer;
//!
//! # async fn run() -> std::io::Result<()> {
//! let channel = wren_client::Channel::connect("unix:///run/demo.sock").await?;
//! let traced = tower::ServiceBuilder::new()
//!     .layer(TraceLayer::client().peer("unix:///run/demo.sock"))
//!     .service(channel);
//! let client = wren_client::Client::new(traced);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

mod body;
mod call;
mod layer;
#[cfg(feature = "opentelemetry")]
pub mod otel;

pub use crate::layer::{ResponseFuture, Trace, TraceLayer};

/// The stream id of a server-side request, which the server sets.
fn stream_id(req: &wren_transport::Request<wren_transport::Body>) -> Option<u32> {
    req.stream_id()
}
