//! The benchmark's messages: plain prost messages, used by both
//! implementations and encoded with prost on both sides.

/// The service both servers register.
pub const SERVICE: &str = "wren.bench.v1.Bench";
/// Unary latency: empty request, empty reply.
pub const METHOD_EMPTY: &str = "Empty";
/// Throughput: the request's bytes echoed back.
pub const METHOD_ECHO: &str = "Echo";

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
