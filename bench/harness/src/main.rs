//! `wren-bench`: wren against ttrpc-rust, tonic, Go ttrpc and a raw floor,
//! every peer a separate server and client process. See bench/README.md.
//!
//! `cargo xtask bench [ARGS]` builds and runs it with `ARGS`.

mod callgrind;
mod chart;
mod micro;
mod peers;
mod process;
mod report;
mod results;
mod run;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::peers::Peer;
use crate::results::Results;
use crate::run::{Plan, Runner};
use crate::workloads::{Sweep, Workload};

/// An error, as text.
pub type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

#[derive(Debug, Parser)]
#[command(
    name = "wren-bench",
    about = "wren side by side with ttrpc-rust, tonic, Go ttrpc and a raw floor",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Instructions per call (callgrind) of wren's server and client, both
    /// server modes, or of the peers given.
    Callgrind(CallgrindArgs),
    /// wren's criterion micro-benchmarks (codec, envelopes, routing) and
    /// their instruction counts.
    Micro(MicroArgs),
    /// Draws the chart again from saved results.
    Chart(ChartArgs),
}

/// The side-by-side run (the default command).
#[derive(Debug, Args)]
struct RunArgs {
    /// One round, shorter times: a few minutes.
    #[arg(long)]
    quick: bool,
    /// Rounds (default: 3, or 1 with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// Peers to run (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    peer: Vec<Peer>,
    /// Workloads to run: a, b, b1 (b′), c, d, e, f, g, h (comma-separated;
    /// default: all). (h) is derived from (a)–(e).
    #[arg(long, value_enum, value_delimiter = ',')]
    workload: Vec<Workload>,
    /// Scale curves to run: payload, conns (default: both, unless
    /// --workload is given).
    #[arg(long, value_enum, value_delimiter = ',')]
    sweep: Vec<Sweep>,
    /// Run no scale curve.
    #[arg(long)]
    no_sweeps: bool,
    /// Measured seconds per throughput workload.
    #[arg(long)]
    secs: Option<f64>,
    /// Use the programs already built.
    #[arg(long)]
    no_build: bool,
    /// Where results.json and the chart go (default: bench/target/bench; a
    /// full run also writes docs/performance.svg and
    /// docs/performance-results.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Never write into docs/, even after a full run.
    #[arg(long)]
    no_record: bool,
}

#[derive(Debug, Args)]
struct CallgrindArgs {
    /// Peers (default: wren, wren-inline).
    #[arg(long, value_enum, value_delimiter = ',')]
    peer: Vec<Peer>,
    /// Calls to count (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    call: Vec<callgrind::Call>,
    /// Multiplies the call counts (smaller is faster, noisier).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Use the programs already built.
    #[arg(long)]
    no_build: bool,
}

#[derive(Debug, Args)]
struct MicroArgs {
    /// Only instruction counts, no criterion run.
    #[arg(long)]
    icount_only: bool,
    /// Only cases whose name contains this.
    filter: Option<String>,
}

#[derive(Debug, Args)]
struct ChartArgs {
    /// Results written by a run (results.json).
    #[arg(long)]
    from: PathBuf,
    /// The SVG to write.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => side_by_side(cli.run),
        Some(Cmd::Callgrind(args)) => callgrind_mode(args),
        Some(Cmd::Micro(args)) => micro::run(
            args.icount_only,
            args.filter.as_deref(),
            &peers::out_dir().join("micro"),
        ),
        Some(Cmd::Chart(args)) => {
            Results::load(&args.from).and_then(|r| chart::draw(&r, &Peer::ALL, &args.out))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wren-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn side_by_side(args: RunArgs) -> Result {
    let mut plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if let Some(r) = args.rounds {
        plan.rounds = r.max(1);
    }
    if let Some(s) = args.secs {
        plan.secs = s.max(0.1);
    }
    let all_peers = args.peer.is_empty();
    let peers: Vec<Peer> = if all_peers {
        Peer::ALL.to_vec()
    } else {
        Peer::ALL
            .into_iter()
            .filter(|p| args.peer.contains(p))
            .collect()
    };
    let all_workloads = args.workload.is_empty();
    let workloads: Vec<Workload> = if all_workloads {
        Workload::ALL.to_vec()
    } else {
        Workload::ALL
            .into_iter()
            .filter(|w| args.workload.contains(w))
            .collect()
    };
    let sweeps: Vec<Sweep> = if args.no_sweeps {
        Vec::new()
    } else if !args.sweep.is_empty() {
        args.sweep.clone()
    } else if all_workloads {
        vec![Sweep::Payload, Sweep::Conns]
    } else {
        Vec::new()
    };
    raise_open_files();
    let bins = peers::build(&peers, !args.no_build)?;
    let runner = Runner::new(bins, plan)?;
    let (mut results, failures) = runner.run(&peers, &workloads, &sweeps);
    results.meta.quick = args.quick;

    println!("\n## wren-bench results\n");
    print!("{}", report::meta(&results));
    println!();
    print!("{}", report::table(&results, &peers, &workloads));
    for &sweep in &sweeps {
        println!();
        print!("{}", report::sweep_table(&results, &peers, sweep));
    }

    let out = args.out.clone().unwrap_or_else(peers::out_dir);
    results.save(&out.join("results.json"))?;
    chart::draw(&results, &peers, &out.join("performance.svg"))?;
    println!("results: {}", out.join("results.json").display());
    println!("chart: {}", out.join("performance.svg").display());
    let complete = all_peers && all_workloads && sweeps.len() == 2 && !args.quick && failures == 0;
    if complete && !args.no_record {
        let docs = peers::repo_root().join("docs");
        results.save(&docs.join("performance-results.json"))?;
        chart::draw(&results, &peers, &docs.join("performance.svg"))?;
        println!("recorded: docs/performance.svg, docs/performance-results.json");
    }
    if failures > 0 {
        return Err(format!("{failures} measurement(s) failed (see above)").into());
    }
    Ok(())
}

fn callgrind_mode(args: CallgrindArgs) -> Result {
    let peers: Vec<Peer> = if args.peer.is_empty() {
        vec![Peer::Wren, Peer::WrenInline]
    } else {
        Peer::ALL
            .into_iter()
            .filter(|p| args.peer.contains(p))
            .collect()
    };
    let calls = if args.call.is_empty() {
        vec![
            callgrind::Call::Unary,
            callgrind::Call::Echo64,
            callgrind::Call::Stream,
        ]
    } else {
        args.call.clone()
    };
    let bins = peers::build(&peers, !args.no_build)?;
    let runner = Runner::new(bins, Plan::full())?;
    callgrind::run(
        &runner,
        &peers,
        &calls,
        args.scale,
        &peers::out_dir().join("callgrind"),
    )
}

/// Raises the soft limit on open files to the hard limit, for (g)'s 1,000
/// connections; the peers inherit it.
fn raise_open_files() {
    // `prlimit` (util-linux) changes this process's limit without unsafe code.
    let pid = std::process::id().to_string();
    let hard = process::output(std::process::Command::new("prlimit").args([
        "--nofile",
        "--output=HARD",
        "--noheadings",
        "--pid",
        &pid,
    ]));
    if let Some(hard) = hard {
        let _ = std::process::Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
            .status();
    }
}
