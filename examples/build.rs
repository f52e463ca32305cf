//! Generates the examples' services with wren-build (no protoc needed).

fn main() -> std::io::Result<()> {
    wren_build::configure().compile_protos(
        &[
            "proto/hello/v1/hello.proto",
            "proto/numbers/v1/numbers.proto",
            "proto/jobs/v1/jobs.proto",
        ],
        &["proto"],
    )
}
