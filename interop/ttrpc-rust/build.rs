//! Generates both sides of `proto/interop/streaming.proto` and of the
//! migration guide's `proto/interop/greeter.proto`, from the same files and
//! without `protoc`:
//!
//! - wren's prost messages and typed server/client with wren-build (protox),
//!   into `$OUT_DIR/wren.interop.streaming.v1.rs` and
//!   `$OUT_DIR/wren.interop.greeter.v1.rs`;
//! - ttrpc-rust's rust-protobuf messages and async service code with
//!   ttrpc-codegen, into `$OUT_DIR/ttrpc/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const PROTO_ROOT: &str = "../../proto";
const PROTO: &str = "../../proto/interop/streaming.proto";
/// The migration guide's side-by-side greeter.
const GREETER: &str = "../../proto/interop/greeter.proto";

fn main() -> io::Result<()> {
    println!("cargo:rerun-if-changed={PROTO}");
    println!("cargo:rerun-if-changed={GREETER}");
    let out_dir =
        PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));

    wren_build::configure().compile_protos(&[PROTO, GREETER], &[PROTO_ROOT])?;

    let ttrpc_out = out_dir.join("ttrpc");
    fs::create_dir_all(&ttrpc_out)?;
    ttrpc_codegen::Codegen::new()
        .out_dir(&ttrpc_out)
        .input(PROTO)
        .input(GREETER)
        .include(PROTO_ROOT)
        .rust_protobuf()
        .customize(ttrpc_codegen::Customize {
            async_all: true,
            ..Default::default()
        })
        .run()?;
    // rust-protobuf and ttrpc-compiler start their files with inner
    // attributes and inner doc comments (`#![allow(...)]`, `//! Generated
    // file from ...`), which `include!` rejects (rust-protobuf#673;
    // rust-peers.md §A.3). Strip them: the including module (src/lib.rs)
    // carries the allows instead.
    for entry in fs::read_dir(&ttrpc_out)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            strip_inner_attributes(&path)?;
        }
    }
    Ok(())
}

fn strip_inner_attributes(path: &Path) -> io::Result<()> {
    let text = fs::read_to_string(path)?;
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !line.starts_with("#![") && !line.starts_with("//!")
        })
        .collect();
    fs::write(path, kept.join("\n") + "\n")
}
