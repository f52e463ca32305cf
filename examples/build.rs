//! Generates the examples' services with wren-build (no protoc needed).

fn main() -> std::io::Result<()> {
    wren_build::compile_protos("proto/hello/v1/hello.proto")
}
