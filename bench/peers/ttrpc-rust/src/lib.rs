//! bench.proto's rust-protobuf messages and ttrpc-rust service code. The
//! service file names the messages as `super::bench::...`, so both files are
//! sibling modules named after them.
#![allow(
    missing_docs,
    unused_imports,
    unused_mut,
    unused_qualifications,
    unused_results,
    unused_variables,
    clippy::all,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals
)]

pub mod bench {
    include!(concat!(env!("OUT_DIR"), "/ttrpc/bench.rs"));
}

pub mod bench_ttrpc {
    include!(concat!(env!("OUT_DIR"), "/ttrpc/bench_ttrpc.rs"));
}
