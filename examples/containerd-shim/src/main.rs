//! Drives Debian's real `containerd-shim-runc-v2` with wren clients
//! generated from containerd 1.6's protos, and receives its task events on
//! a wren server. Run as root:
//!
//! ```sh
//! cargo run -p containerd-shim-example
//! ```
//!
//! See `docs/containerd.md`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let requirements = containerd_shim_example::check_requirements();
    if !requirements.met() {
        eprintln!("cannot run: {requirements}");
        eprintln!(
            "needs root and the Debian packages: {}",
            containerd_shim_example::DEBIAN_PACKAGES.join(" ")
        );
        return ExitCode::FAILURE;
    }
    run().await
}

#[cfg(not(containerd_protos_missing))]
async fn run() -> ExitCode {
    let config = containerd_shim_example::Config::default();
    let outcome = match containerd_shim_example::run(&config).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = outcome.verify(&config) {
        eprintln!("unexpected results:\n{e}");
        return ExitCode::FAILURE;
    }
    println!(
        "ok: the container printed {:?} and exited 0; the events server received {}",
        config.message,
        outcome
            .events
            .iter()
            .map(|e| e.topic.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    ExitCode::SUCCESS
}

#[cfg(containerd_protos_missing)]
async fn run() -> ExitCode {
    // check_requirements reports the missing protos.
    ExitCode::FAILURE
}
