//! wren's messages and service code for bench.proto, with wren-build's
//! defaults (protox, no protoc), as a user's build.rs writes it.

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=../../proto/bench/v1/bench.proto");
    wren_build::configure().compile_protos(&["bench/v1/bench.proto"], &["../../proto"])
}
