//! Interop between wren and ttrpc-rust (crates.io `ttrpc` 0.10, async) on
//! `proto/interop/streaming.proto`.
//!
//! Both sides are generated from the same proto, without `protoc`:
//! [`pb`] by wren-build (prost messages, typed server and client) and
//! [`ttrpc_pb`] by ttrpc-codegen (rust-protobuf messages, async service
//! code). [`wren_side`] and [`ttrpc_side`] implement the `Streaming` service
//! with the semantics the proto's comments give, and start servers on
//! temporary unix sockets; [`tap`] is a frame-level proxy that records what
//! each side puts on the wire.

use std::future::Future;
use std::time::Duration;

pub mod tap;
pub mod ttrpc_side;
pub mod wren_side;

/// wren's messages and service code (wren-build).
pub mod pb {
    wren_rpc::include_proto!("wren.interop.streaming.v1");
}

/// ttrpc-rust's messages and service code (ttrpc-codegen, rust-protobuf).
///
/// The service file names the messages as `super::streaming::...`, so the
/// two files are sibling modules here, named after the files.
#[allow(
    missing_docs,
    unused_imports,
    unused_mut,
    clippy::all,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unused_qualifications,
    unused_results,
    unused_variables
)]
pub mod ttrpc_pb {
    pub mod streaming {
        include!(concat!(env!("OUT_DIR"), "/ttrpc/streaming.rs"));
    }
    pub mod streaming_ttrpc {
        include!(concat!(env!("OUT_DIR"), "/ttrpc/streaming_ttrpc.rs"));
    }
}

/// The full name of the service, as sent on the wire.
pub const SERVICE: &str = "wren.interop.streaming.v1.Streaming";

/// Go ttrpc's (and ttrpc-rust's) maximum message size: 4 MiB, inclusive.
pub const MAX_MESSAGE: usize = 4 << 20;

/// Bound on any single wait: only there to turn a hang into a failure.
pub const HANG: Duration = Duration::from_secs(20);

/// `fut`, or a panic naming `what` if it takes longer than [`HANG`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(HANG, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// The parts `DivideStream` splits a sum into: `num` parts whose first and
/// last are empty (add 0, so zero bytes on the wire), the others sharing the
/// sum as evenly as they can. `None` when `num` < 3.
pub fn divide(sum: i32, num: i32) -> Option<Vec<i32>> {
    if num < 3 {
        return None;
    }
    let middle = num - 2;
    let (base, extra) = (sum / middle, sum % middle);
    let mut parts = vec![0];
    parts.extend((0..middle).map(|i| base + i32::from(i < extra)));
    parts.push(0);
    Some(parts)
}

/// `(seq, msg)` of the two messages `EmptyPayloadStream` sends.
pub const EMPTY_PAYLOAD_REPLIES: [(u32, &str); 2] = [(1, "first"), (2, "second")];
