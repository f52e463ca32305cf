//! Generated code shared by the examples, one module per proto package.

/// The `hello.v1` package from `proto/hello/v1/hello.proto`: `Greeter`.
pub mod hello {
    #![allow(missing_docs)]
    wren_rpc::include_proto!("hello.v1");
}

/// The `numbers.v1` package from `proto/numbers/v1/numbers.proto`:
/// `Numbers`, one method of each streaming kind.
pub mod numbers {
    #![allow(missing_docs)]
    wren_rpc::include_proto!("numbers.v1");
}

/// The `jobs.v1` package from `proto/jobs/v1/jobs.proto`: `Jobs`, slow
/// work to show deadlines.
pub mod jobs {
    #![allow(missing_docs)]
    wren_rpc::include_proto!("jobs.v1");
}
