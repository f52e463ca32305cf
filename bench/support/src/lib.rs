//! What every peer program of the benchmark shares with the harness.
//!
//! - Servers take `--socket PATH` (and, for wren, `--inline`), bind it, print
//!   `ready` on a line of their own and serve until their stdin reaches EOF,
//!   then exit: [`server`].
//! - Clients take [`ClientArgs`], run one workload against the server at
//!   `--socket`, and print one [`report`] line: `RESULT key=value ...`.
//!   Errors go to stderr with a non-zero exit status.
//!
//! The Go peer (`bench/go`) follows the same conventions with Go's `flag`.

pub mod server;

use std::path::PathBuf;
use std::time::Duration;

/// The workload a client runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One connection, one call in flight: `--warmup` calls, then `--calls`
    /// calls timed one by one. Reports `p50_ns`, `p99_ns`, `mean_ns`.
    Latency,
    /// `--conns` connections with `--in-flight` calls each, echoing
    /// `--payload` bytes. With `--calls N`: exactly N calls, no warm-up;
    /// otherwise `--warmup-secs` then `--secs` measured. Reports `calls`,
    /// `secs`, `rps`.
    Throughput,
    /// One server-streaming call of `--warmup` messages, then one of
    /// `--count` messages of `--size` bytes, timed from the call to the last
    /// message read. Reports `messages`, `secs`, `mps`.
    Stream,
    /// `--conns` connections, one empty call on each; then prints
    /// `HELD conns=N` and keeps them open until stdin reaches EOF.
    Hold,
}

/// The command line of every client.
#[derive(Clone, Debug, clap::Parser)]
#[command(about = "A benchmark client: runs one workload against a benchmark server")]
pub struct ClientArgs {
    /// The server's unix socket.
    #[arg(long)]
    pub socket: PathBuf,
    /// The workload.
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// Bytes echoed per call (latency, throughput).
    #[arg(long, default_value_t = 0)]
    pub payload: usize,
    /// Warm-up calls (latency) or messages (stream).
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    /// Timed calls (latency; default 20,000), or an exact call count in
    /// place of a time (throughput).
    #[arg(long)]
    pub calls: Option<u64>,
    /// Connections (throughput, hold).
    #[arg(long, default_value_t = 1)]
    pub conns: usize,
    /// Calls in flight per connection (throughput).
    #[arg(long, default_value_t = 1)]
    pub in_flight: usize,
    /// Warm-up time before measuring (throughput), seconds.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_secs: f64,
    /// Measuring time (throughput), seconds.
    #[arg(long, default_value_t = 3.0)]
    pub secs: f64,
    /// Messages in the timed stream.
    #[arg(long, default_value_t = 200_000)]
    pub count: u64,
    /// Bytes per streamed message.
    #[arg(long, default_value_t = 64)]
    pub size: u64,
}

impl ClientArgs {
    /// Parses the process's arguments; prints usage and exits on an error.
    pub fn from_env() -> ClientArgs {
        <ClientArgs as clap::Parser>::parse()
    }

    /// Timed calls in latency mode.
    pub fn latency_calls(&self) -> u64 {
        self.calls.unwrap_or(20_000).max(1)
    }

    /// The warm-up time in throughput mode.
    pub fn warmup_time(&self) -> Duration {
        Duration::from_secs_f64(self.warmup_secs.max(0.0))
    }

    /// The measuring time in throughput mode.
    pub fn measure_time(&self) -> Duration {
        Duration::from_secs_f64(self.secs.max(0.01))
    }
}

/// The bytes a client sends: `len` bytes of a repeating pattern.
pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Prints the result line the harness reads: `RESULT k=v k=v ...`.
pub fn report(fields: &[(&str, f64)]) {
    let mut line = String::from("RESULT");
    for (key, value) in fields {
        line.push_str(&format!(" {key}={value}"));
    }
    println!("{line}");
}

/// Sorts `samples` (nanoseconds) and reports `calls`, `p50_ns`, `p99_ns`
/// and `mean_ns`.
pub fn report_latency(samples: &mut [u64]) {
    samples.sort_unstable();
    let mean = samples.iter().sum::<u64>() as f64 / samples.len().max(1) as f64;
    report(&[
        ("calls", samples.len() as f64),
        ("p50_ns", percentile(samples, 0.50) as f64),
        ("p99_ns", percentile(samples, 0.99) as f64),
        ("mean_ns", mean),
    ]);
}

/// Reports `calls` completed in `elapsed`: `calls`, `secs`, `rps`.
pub fn report_throughput(calls: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    report(&[
        ("calls", calls as f64),
        ("secs", secs),
        ("rps", calls as f64 / secs),
    ]);
}

/// Reports `messages` read in `elapsed`: `messages`, `secs`, `mps`.
pub fn report_stream(messages: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    report(&[
        ("messages", messages as f64),
        ("secs", secs),
        ("mps", messages as f64 / secs),
    ]);
}

/// Tells the harness that `conns` connections are open and called once.
pub fn report_held(conns: usize) {
    println!("HELD conns={conns}");
}

/// The nearest-rank percentile `q` (0..=1) of sorted `samples`.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Blocks the calling thread until stdin reaches EOF (or fails).
pub fn wait_for_stdin_eof() {
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin().lock();
    loop {
        match std::io::Read::read(&mut stdin, &mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Prints `error` on stderr and exits with status 1.
pub fn fail(error: impl std::fmt::Display) -> ! {
    eprintln!("error: {error}");
    std::process::exit(1)
}
