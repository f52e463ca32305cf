//! The soak run at full size; `cargo xtask soak` builds and runs it.
//!
//! ```text
//! wren-soak [--connections N] [--calls N]
//! ```
//!
//! Defaults: 1,000 connections held at once (10 calls each), then one
//! million calls. Fails if a call failed or lost its reply, if open fds do
//! not come back to where they started, or if resident memory ends more
//! than [`RSS_BOUND_KIB`] above where it started.

use std::process::ExitCode;

use wren_robustness::soak::{self, Config};

/// How far resident memory may grow, in KiB, across the later rounds of
/// connections and across the calls (see `soak::growth`).
const RSS_BOUND_KIB: u64 = 8 * 1024;

fn main() -> ExitCode {
    let mut config = Config::FULL;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || -> Option<u64> { args.next()?.parse().ok() };
        match arg.as_str() {
            "--connections" => match value() {
                Some(n) => config.connections = n as usize,
                None => return usage(),
            },
            "--rounds" => match value() {
                Some(n) => config.rounds = n as usize,
                None => return usage(),
            },
            "--calls" => match value() {
                Some(n) => config.calls = n,
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime.block_on(soak::run(config));
    println!("{report}");
    let mut ok = true;
    let mut fail = |what: String| {
        eprintln!("FAIL: {what}");
        ok = false;
    };
    if report.failures > 0 {
        fail(format!(
            "{} calls failed or lost their reply",
            report.failures
        ));
    }
    if report.fds.2 != report.fds.0 {
        fail(format!(
            "open fds went from {} to {}",
            report.fds.0, report.fds.2
        ));
    }
    for (what, grown) in soak::growth(&report) {
        if grown > RSS_BOUND_KIB {
            fail(format!(
                "RSS grew by {grown} KiB {what} (bound {RSS_BOUND_KIB} KiB)"
            ));
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: wren-soak [--connections N] [--calls N]");
    ExitCode::from(2)
}
