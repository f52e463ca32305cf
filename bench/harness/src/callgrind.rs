//! Instruction counts per call with `valgrind --tool=callgrind`: stable on a
//! noisy machine where wall time is not.
//!
//! Each count is a difference: the same run with `n1` and with `n2` calls,
//! (Ir(n2) − Ir(n1)) ÷ (n2 − n1), so start-up, warm-up and shutdown cancel
//! out. One side runs under callgrind at a time, the other natively.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Result;
use crate::peers::Peer;
use crate::process::{Launch, run_client};
use crate::run::Runner;

/// A workload measured per call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Call {
    /// One unary call in flight, 0 B (the shape of (a)).
    Unary,
    /// 64 unary calls in flight on one connection, 256 B (the shape of (b)).
    Echo64,
    /// One message of a server stream, 64 B (the shape of (e)).
    Stream,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Unary => "unary 0 B, 1 in flight",
            Call::Echo64 => "unary 256 B, 64 in flight",
            Call::Stream => "streamed message, 64 B",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Call::Unary => "unary",
            Call::Echo64 => "echo64",
            Call::Stream => "stream",
        }
    }

    /// The two call counts, times `scale`.
    fn counts(self, scale: f64) -> (u64, u64) {
        let (a, b) = match self {
            Call::Unary => (1_000.0, 5_000.0),
            Call::Echo64 => (2_000.0, 10_000.0),
            Call::Stream => (20_000.0, 100_000.0),
        };
        ((a * scale).max(1.0) as u64, (b * scale).max(2.0) as u64)
    }

    fn client_args(self, n: u64) -> Vec<String> {
        let s = |v: &str| v.to_owned();
        match self {
            Call::Unary => vec![
                s("--mode"),
                s("latency"),
                s("--warmup"),
                s("100"),
                s("--calls"),
                n.to_string(),
            ],
            Call::Echo64 => vec![
                s("--mode"),
                s("throughput"),
                s("--in-flight"),
                s("64"),
                s("--payload"),
                s("256"),
                s("--calls"),
                n.to_string(),
            ],
            Call::Stream => vec![
                s("--mode"),
                s("stream"),
                s("--warmup"),
                s("0"),
                s("--count"),
                n.to_string(),
            ],
        }
    }
}

/// Which process runs under callgrind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

/// The total instructions (`summary:` or `totals:` line) of a callgrind
/// output file.
pub fn total_ir(path: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read callgrind output {}: {e}", path.display()))?;
    for prefix in ["summary:", "totals:"] {
        if let Some(v) = text.lines().find_map(|l| l.strip_prefix(prefix)) {
            let first = v.split_whitespace().next().unwrap_or("");
            return first
                .parse()
                .map_err(|e| format!("{}: bad {prefix} {v:?}: {e}", path.display()).into());
        }
    }
    Err(format!("{}: no summary line", path.display()).into())
}

/// Instructions of one run with `n` calls, the `side` process under callgrind.
fn one(runner: &Runner, peer: Peer, call: Call, side: Side, n: u64, out: &Path) -> Result<u64> {
    let cg = Launch {
        cpu: None,
        callgrind_out: Some(out.to_owned()),
    };
    let plain = Launch::default();
    let (server_launch, client_launch) = match side {
        Side::Server => (&cg, &plain),
        Side::Client => (&plain, &cg),
    };
    let (server, socket) = runner.start_server(peer, server_launch)?;
    run_client(
        runner.client(peer, client_launch, &socket, &call.client_args(n)),
        &format!("{} client", peer.name()),
        Duration::from_secs(1800),
    )?;
    server.stop(Duration::from_secs(300))?;
    total_ir(out)
}

/// Measures every `call` for every peer (server side and client side) and
/// prints a table of instructions per call; the callgrind files of the
/// larger runs stay in `dir` for `callgrind_annotate`.
pub fn run(runner: &Runner, peers: &[Peer], calls: &[Call], scale: f64, dir: &Path) -> Result {
    std::fs::create_dir_all(dir)?;
    let mut rows = Vec::new();
    for &call in calls {
        for &peer in peers {
            if !peer.valgrind() || (call == Call::Stream && !peer.streams()) {
                continue;
            }
            let (n1, n2) = call.counts(scale);
            let mut per = Vec::new();
            let mut files: Vec<PathBuf> = Vec::new();
            for side in [Side::Server, Side::Client] {
                let side_name = if side == Side::Server {
                    "server"
                } else {
                    "client"
                };
                let small = dir.join(format!(
                    "{}-{}-{side_name}-small.out",
                    peer.name(),
                    call.key()
                ));
                let large = dir.join(format!("{}-{}-{side_name}.out", peer.name(), call.key()));
                eprintln!(
                    "wren-bench: callgrind {} {} ({side_name})",
                    peer.name(),
                    call.key()
                );
                let ir1 = one(runner, peer, call, side, n1, &small)?;
                let ir2 = one(runner, peer, call, side, n2, &large)?;
                let _ = std::fs::remove_file(&small);
                per.push(ir2.saturating_sub(ir1) as f64 / (n2 - n1) as f64);
                files.push(large);
            }
            rows.push((call, peer, per[0], per[1], files));
        }
    }
    println!("\ninstructions per call (callgrind Ir, differential)\n");
    println!("| call | peer | server Ir/call | client Ir/call | both |");
    println!("|---|---|--:|--:|--:|");
    for (call, peer, server, client, _) in &rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            call.name(),
            peer.label(),
            crate::workloads::thousands(*server),
            crate::workloads::thousands(*client),
            crate::workloads::thousands(server + client)
        );
    }
    println!("\nprofiles (the larger run of each): {}", dir.display());
    println!(
        "  callgrind_annotate --inclusive=yes {}/wren-unary-server.out | head -60",
        dir.display()
    );
    Ok(())
}
