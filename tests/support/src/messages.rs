//! Hand-written prost messages of the `wren.test.Echo` service most tests
//! call.

/// The full name of the test service.
pub const SERVICE: &str = "wren.test.Echo";

/// A test message: a string and a number.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Echo {
    /// Any text.
    #[prost(string, tag = "1")]
    pub msg: String,
    /// Any number.
    #[prost(uint64, tag = "2")]
    pub n: u64,
}

/// What a handler observed about its request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Observed {
    /// Metadata entries as `key=value`, in order.
    #[prost(string, repeated, tag = "1")]
    pub entries: Vec<String>,
    /// Every value of the key `foo`, in order.
    #[prost(string, repeated, tag = "2")]
    pub foo: Vec<String>,
    /// Nanoseconds from the handler's "now" to its deadline; -1 for none.
    #[prost(int64, tag = "3")]
    pub deadline_left_nanos: i64,
}

/// The empty message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}
