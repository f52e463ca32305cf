//! `cargo xtask codegen`: compiles `proto/` with protox (no protoc) and
//! prost-build, and writes the result into `crates/wren-codec/src/generated/`.

use std::fs;

use crate::{Result, project_root};

pub(crate) fn run(check: bool) -> Result {
    let root = project_root();
    let proto = root.join("proto");
    let out = root.join("crates/wren-codec/src/generated");
    let tmp = std::env::temp_dir().join(format!("wren-codegen-{}", std::process::id()));
    fs::create_dir_all(&tmp)?;

    let fds = protox::compile(["ttrpc/request.proto"], [&proto])?;
    prost_build::Config::new()
        .out_dir(&tmp)
        .bytes(["."])
        .compile_well_known_types()
        .extern_path(".google.protobuf", "::prost_types")
        .compile_fds(fds)?;

    let mut stale = Vec::new();
    for (file, module) in [("ttrpc.rs", "ttrpc.rs"), ("google.rpc.rs", "google_rpc.rs")] {
        let generated = fs::read_to_string(tmp.join(file))?;
        let target = out.join(module);
        if fs::read_to_string(&target).ok().as_deref() != Some(generated.as_str()) {
            if check {
                stale.push(target.display().to_string());
            } else {
                fs::create_dir_all(&out)?;
                fs::write(&target, generated)?;
                println!("wrote {}", target.display());
            }
        }
    }
    let _ = fs::remove_dir_all(&tmp);
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "generated code is stale: {}; run `cargo xtask codegen` and commit",
            stale.join(", ")
        )
        .into())
    }
}
