//! `cargo xtask bench [ARGS]`: installs what the benchmark needs (Debian's Go
//! toolchain and Go ttrpc 1.1.1 sources, protoc, valgrind), then builds and
//! runs the harness in `bench/` (`wren-bench`) with `ARGS`; `--help` lists
//! them. The harness builds every peer itself.
//!
//! `bench/` is a Cargo workspace of its own, with its own `Cargo.lock` and
//! `target/`, so that ttrpc-rust and tonic never enter this workspace's
//! dependency graph.

use std::path::Path;
use std::process::Command;

use crate::{Result, project_root};

/// Debian packages the benchmark needs: the Go peer (as for the interop
/// tests), protoc for tonic-prost-build, valgrind for instruction counts,
/// strip and taskset.
const PACKAGES: &[&str] = &[
    "golang-go",
    "protobuf-compiler",
    "gogottrpc",
    "golang-github-containerd-ttrpc-dev",
    "golang-github-gogo-protobuf-dev",
    "golang-google-grpc-dev",
    "golang-google-genproto-dev",
    "golang-github-golang-protobuf-1-3-dev",
    "golang-github-sirupsen-logrus-dev",
    "golang-golang-x-sys-dev",
    "valgrind",
    "binutils",
    "util-linux",
];

pub(crate) fn run(args: &[String]) -> Result {
    let root = project_root();
    let manifest = root.join("bench").join("Cargo.toml");
    if !manifest.is_file() {
        return Err(format!("benchmark manifest not found at {}", manifest.display()).into());
    }
    status(
        Command::new("bash")
            .arg(root.join("scripts/ensure-debian-packages.sh"))
            .args(PACKAGES),
        "installing the benchmark's Debian packages",
        &root,
    )?;
    // The cargo that runs xtask, so the same toolchain builds the benchmark.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut bench = Command::new(&cargo);
    bench
        .args([
            "run",
            "--quiet",
            "--release",
            "--locked",
            "-p",
            "wren-bench",
            "--manifest-path",
        ])
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
