//! Generated code shared by the examples.

/// The `hello.v1` package from `proto/hello/v1/hello.proto`.
pub mod hello {
    #![allow(missing_docs)]
    wren_rpc::include_proto!("hello.v1");
}
