//! `cargo xtask soak [options]`: builds the soak run of `tests/robustness`
//! in release mode and runs it; every argument is passed on (`--help`
//! lists them). Defaults: 1,000 concurrent connections, then one million
//! calls, then open fds and RSS compared with where they started.

use std::process::Command;

use crate::{Result, project_root};

pub(crate) fn run(args: &[String]) -> Result {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(project_root())
        .args([
            "run",
            "--quiet",
            "--release",
            "--locked",
            "-p",
            "wren-robustness",
            "--bin",
            "wren-soak",
            "--",
        ])
        .args(args)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the soak run failed ({status})").into())
    }
}
