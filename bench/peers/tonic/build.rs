//! tonic's messages (prost) and service code for bench.proto with
//! tonic-prost-build's defaults (which run `protoc`, Debian's
//! protobuf-compiler).

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=../../proto/bench/v1/bench.proto");
    tonic_prost_build::configure()
        .compile_protos(&["../../proto/bench/v1/bench.proto"], &["../../proto"])
}
