//! The benchmark's messages: plain prost messages, used by both
//! implementations and encoded with prost on both sides.

/// The service both servers register.
pub const SERVICE: &str = "wren.bench.v1.Bench";
/// Unary latency: empty request, empty reply.
pub const METHOD_EMPTY: &str = "Empty";
/// Throughput: the request's bytes echoed back.
pub const METHOD_ECHO: &str = "Echo";
/// Server streaming: one `Flood` request, `count` `Echo` replies.
pub const METHOD_FLOOD: &str = "Flood";

/// An "empty" message: one optional field, left unset, so it encodes to zero bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {
    #[prost(string, optional, tag = "1")]
    pub note: Option<String>,
}

/// A message carrying an opaque payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Echo {
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
}

/// A server-streaming request: send `count` messages of `size` payload bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Flood {
    #[prost(uint64, tag = "1")]
    pub count: u64,
    #[prost(uint64, tag = "2")]
    pub size: u64,
}

/// The payload every streamed message carries: `size` bytes.
pub fn flood_payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}
