//! Developer tasks for the wren workspace: `cargo xtask <command>`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod codegen;
mod fuzz;
mod soak;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  codegen [--check]   regenerate checked-in prost code from proto/ (--check: fail if stale)
  bench [ARGS]        the side-by-side benchmark: wren, ttrpc-rust, tonic, Go ttrpc, a raw floor
                      (bench --help lists ARGS; bench callgrind: instructions per call;
                      bench micro: criterion micro-benchmarks and their instruction counts)
  fuzz [--seconds N] [--target NAME] [--update-corpus]
                      run each cargo-fuzz target for N seconds (default 60; needs nightly)
  soak [--connections N] [--calls N]
                      many connections and a million calls, then fds and RSS (release build)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => codegen::run(args[1..].iter().any(|a| a == "--check")),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;
