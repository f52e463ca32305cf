//! `cargo xtask bench [--quick] [options]`: builds the side-by-side benchmark
//! in `bench/` (wren vs ttrpc-rust) in release mode and runs it, streaming its
//! output. Every argument is passed on to the benchmark; `--help` lists them.
//!
//! `bench/` is a Cargo workspace of its own, with its own `Cargo.lock` and
//! `target/`, so ttrpc-rust never enters this workspace's dependency graph.

use std::path::Path;
use std::process::Command;

use crate::{Result, project_root};

pub(crate) fn run(args: &[String]) -> Result {
    let root = project_root();
    let manifest = root.join("bench").join("Cargo.toml");
    if !manifest.is_file() {
        return Err(format!("benchmark manifest not found at {}", manifest.display()).into());
    }
    // The cargo that runs xtask, so the same toolchain builds the benchmark.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    eprintln!(
        "xtask: building the benchmark ({}) in release mode",
        manifest.display()
    );
    let mut build = Command::new(&cargo);
    build
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest);
    status(&mut build, "building the benchmark", &root)?;

    let mut bench = Command::new(&cargo);
    bench
        .args(["run", "--quiet", "--release", "--manifest-path"])
        .arg(&manifest)
        .arg("--")
        .args(args);
    status(&mut bench, "the benchmark", &root)
}

/// Runs `cmd` from `dir` with inherited stdio (its output streams through),
/// and fails with `what` if it cannot start or exits unsuccessfully.
fn status(cmd: &mut Command, what: &str, dir: &Path) -> Result {
    let status = cmd
        .current_dir(dir)
        .status()
        .map_err(|e| format!("{what}: could not run {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status}); command: {cmd:?}").into())
    }
}
