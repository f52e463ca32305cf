//! ttrpc-rust's messages (rust-protobuf) and async service code for
//! bench.proto, with ttrpc-codegen (pure Rust, no protoc), into
//! `$OUT_DIR/ttrpc/`.

use std::fs;
use std::io;
use std::path::PathBuf;

const PROTO_ROOT: &str = "../../proto";
const PROTO: &str = "../../proto/bench/v1/bench.proto";

fn main() -> io::Result<()> {
    println!("cargo:rerun-if-changed={PROTO}");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set")).join("ttrpc");
    fs::create_dir_all(&out)?;
    ttrpc_codegen::Codegen::new()
        .out_dir(&out)
        .input(PROTO)
        .include(PROTO_ROOT)
        .rust_protobuf()
        .customize(ttrpc_codegen::Customize {
            async_all: true,
            ..Default::default()
        })
        .run()?;
    // The generated files open with inner attributes and inner doc comments,
    // which `include!` rejects (rust-protobuf#673): drop them, the including
    // module carries the allows.
    for entry in fs::read_dir(&out)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path)?;
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| {
                    !l.trim_start().starts_with("#![") && !l.trim_start().starts_with("//!")
                })
                .collect();
            fs::write(&path, kept.join("\n") + "\n")?;
        }
    }
    Ok(())
}
