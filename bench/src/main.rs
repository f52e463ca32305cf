//! wren vs ttrpc-rust, side by side. See README.md.

mod msgs;
mod ttrpc_impl;
mod wren_impl;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use crate::ttrpc_impl::Ttrpc;
use crate::wren_impl::Wren;

/// One ttrpc implementation, as the harness drives it.
pub trait Impl: 'static {
    const NAME: &'static str;
    type Server;
    type Client: Clone + Send + 'static;

    /// Binds `path` and starts serving on `rt`.
    fn serve(rt: &Runtime, path: &Path) -> Self::Server;
    /// Stops the server and waits for it.
    fn stop(rt: &Runtime, server: Self::Server);
    /// Connects one client (one connection); clones share it.
    fn connect(path: &Path) -> impl Future<Output = Self::Client> + Send;
    /// One `Empty` call.
    fn empty(client: &mut Self::Client) -> impl Future<Output = Result<(), String>> + Send;
    /// One `Echo` call; the length of the echoed bytes.
    fn echo(
        client: &mut Self::Client,
        data: &[u8],
    ) -> impl Future<Output = Result<usize, String>> + Send;
    /// One server-streaming `Flood` call: the server sends `count` messages
    /// of `size` payload bytes and the client reads them all; how many came.
    fn flood(
        client: &mut Self::Client,
        count: usize,
        size: usize,
    ) -> impl Future<Output = Result<usize, String>> + Send;
}

/// The project's targets.
const TARGET_P50_RATIO_MAX: f64 = 0.75;
const TARGET_THROUGHPUT_RATIO_MIN: f64 = 3.0;
/// Server streaming: tonic streams about 20× as many messages per second as
/// ttrpc-rust on a 2-core machine; wren should at least match tonic.
const TARGET_STREAM_RATIO_MIN: f64 = 20.0;
/// wren's client-side buffer per streaming call, in messages; 0 keeps
/// wren's default. ttrpc-rust's is unbounded.
const DEFAULT_STREAM_BUFFER: usize = 0;

#[derive(Clone, Debug)]
struct Config {
    quick: bool,
    rounds: usize,
    warmup_calls: usize,
    calls: usize,
    in_flight: usize,
    payload: usize,
    tp_warmup: Duration,
    tp_duration: Duration,
    stream_warmup: usize,
    stream_messages: usize,
    stream_payload: usize,
    /// wren's client buffer per streaming call, in messages; 0: wren's default.
    stream_buffer: usize,
    only: Option<Which>,
    latency: bool,
    throughput: bool,
    stream: bool,
    pin: Pin,
}

/// Where the two runtimes' threads run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pin {
    /// Wherever the kernel puts them (the default).
    None,
    /// Server threads on the first allowed CPU, client threads on the second.
    Split,
    /// Both on the first allowed CPU.
    Same,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Wren,
    Ttrpc,
}

/// The benchmarks, as `--bench` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bench {
    Latency,
    Throughput,
    Stream,
}

const USAGE: &str = "usage: wren-bench [--quick] [--rounds N] [--calls N] [--duration SECS] \
[--in-flight N] [--stream-messages N] [--stream-buffer N] [--only wren|ttrpc] [--bench latency|throughput|stream[,...]] \
[--pin none|split|same]";

fn parse_args() -> Result<Config, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut cfg = if quick {
        Config {
            quick,
            rounds: 1,
            warmup_calls: 500,
            calls: 3_000,
            in_flight: 64,
            payload: 256,
            tp_warmup: Duration::from_millis(300),
            tp_duration: Duration::from_secs(1),
            stream_warmup: 5_000,
            stream_messages: 50_000,
            stream_payload: 64,
            stream_buffer: DEFAULT_STREAM_BUFFER,
            only: None,
            latency: true,
            throughput: true,
            stream: true,
            pin: Pin::None,
        }
    } else {
        Config {
            quick,
            rounds: 3,
            warmup_calls: 2_000,
            calls: 20_000,
            in_flight: 64,
            payload: 256,
            tp_warmup: Duration::from_secs(1),
            tp_duration: Duration::from_secs(3),
            stream_warmup: 20_000,
            stream_messages: 200_000,
            stream_payload: 64,
            stream_buffer: DEFAULT_STREAM_BUFFER,
            only: None,
            latency: true,
            throughput: true,
            stream: true,
            pin: Pin::None,
        }
    };
    let mut selected: Option<Vec<Bench>> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--quick" => {}
            "--rounds" => cfg.rounds = parse_num(&value("--rounds")?)?.max(1),
            "--calls" => cfg.calls = parse_num(&value("--calls")?)?.max(1),
            "--in-flight" => cfg.in_flight = parse_num(&value("--in-flight")?)?.max(1),
            "--stream-buffer" => cfg.stream_buffer = parse_num(&value("--stream-buffer")?)?,
            "--stream-messages" => {
                cfg.stream_messages = parse_num(&value("--stream-messages")?)?.max(1)
            }
            "--duration" => {
                let secs: f64 = value("--duration")?
                    .parse()
                    .map_err(|e| format!("--duration: {e}"))?;
                cfg.tp_duration = Duration::from_secs_f64(secs.max(0.01));
            }
            "--only" => {
                cfg.only = Some(match value("--only")?.as_str() {
                    "wren" => Which::Wren,
                    "ttrpc" | "ttrpc-rust" => Which::Ttrpc,
                    other => return Err(format!("--only: unknown implementation {other:?}")),
                })
            }
            "--pin" => {
                cfg.pin = match value("--pin")?.as_str() {
                    "none" => Pin::None,
                    "split" => Pin::Split,
                    "same" => Pin::Same,
                    other => {
                        return Err(format!(
                            "--pin: expected none, split or same, got {other:?}"
                        ));
                    }
                }
            }
            "--bench" => {
                // A comma-separated list; repeated flags add up.
                let list = selected.get_or_insert_with(Vec::new);
                for name in value("--bench")?.split(',') {
                    list.push(match name.trim() {
                        "latency" => Bench::Latency,
                        "throughput" => Bench::Throughput,
                        "stream" | "streaming" => Bench::Stream,
                        other => {
                            return Err(format!(
                                "--bench: unknown benchmark {other:?} (latency, throughput, stream)"
                            ));
                        }
                    });
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if let Some(list) = selected {
        cfg.latency = list.contains(&Bench::Latency);
        cfg.throughput = list.contains(&Bench::Throughput);
        cfg.stream = list.contains(&Bench::Stream);
    }
    Ok(cfg)
}

fn parse_num(s: &str) -> Result<usize, String> {
    s.replace('_', "")
        .parse()
        .map_err(|e| format!("{s:?}: {e}"))
}

/// A tokio multi-thread runtime with one worker: the same for server and
/// client, and for both implementations. `cpu`: pin its threads there.
fn runtime(name: &str, cpu: Option<usize>) -> Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(1).thread_name(name).enable_all();
    if let Some(cpu) = cpu {
        builder.on_thread_start(move || pin_current_thread(cpu));
    }
    builder.build().expect("build tokio runtime")
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, filled by the call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

fn pin_current_thread(cpu: usize) {
    // SAFETY: as above; 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            eprintln!(
                "wren-bench: could not pin a thread to CPU {cpu}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// (server CPU, client CPU) for `pin`.
fn cpus_for(pin: Pin) -> (Option<usize>, Option<usize>) {
    let cpus = allowed_cpus();
    match (pin, cpus.as_slice()) {
        (Pin::None, _) | (_, []) => (None, None),
        (Pin::Same, [c, ..]) => (Some(*c), Some(*c)),
        (Pin::Split, [c]) => (Some(*c), Some(*c)),
        (Pin::Split, [s, c, ..]) => (Some(*s), Some(*c)),
    }
}

/// A server on its runtime and an empty client runtime, over a fresh socket.
struct Setup<I: Impl> {
    _dir: tempfile::TempDir,
    path: PathBuf,
    server_rt: Runtime,
    client_rt: Runtime,
    server: Option<I::Server>,
}

impl<I: Impl> Setup<I> {
    fn new(pin: Pin) -> Setup<I> {
        let dir = tempfile::Builder::new()
            .prefix("wren-bench")
            .tempdir()
            .expect("temp dir");
        let path = dir.path().join("bench.sock");
        let (server_cpu, client_cpu) = cpus_for(pin);
        let server_rt = runtime("server", server_cpu);
        let client_rt = runtime("client", client_cpu);
        let server = I::serve(&server_rt, &path);
        Setup {
            _dir: dir,
            path,
            server_rt,
            client_rt,
            server: Some(server),
        }
    }

    fn finish(mut self) {
        if let Some(server) = self.server.take() {
            I::stop(&self.server_rt, server);
        }
        let Setup {
            client_rt,
            server_rt,
            ..
        } = self;
        client_rt.shutdown_timeout(Duration::from_secs(1));
        server_rt.shutdown_timeout(Duration::from_secs(1));
    }
}

#[derive(Clone, Copy, Debug)]
struct Latency {
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    // Nearest rank.
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// One call in flight: warm up, then time `calls` empty calls one by one.
fn bench_latency<I: Impl>(cfg: &Config) -> Result<Latency, String> {
    let setup = Setup::<I>::new(cfg.pin);
    let path = setup.path.clone();
    let (warmup, calls) = (cfg.warmup_calls, cfg.calls);
    // The loop runs as a task on the client worker, next to the connection's
    // own task(s), not on the main thread.
    let task = setup.client_rt.spawn(async move {
        let mut client = I::connect(&path).await;
        for _ in 0..warmup {
            I::empty(&mut client).await?;
        }
        let mut samples = Vec::with_capacity(calls);
        for _ in 0..calls {
            let start = Instant::now();
            I::empty(&mut client).await?;
            samples.push(start.elapsed().as_nanos() as u64);
        }
        Ok::<_, String>(samples)
    });
    let result = setup.client_rt.block_on(task);
    setup.finish();
    let mut samples = result.map_err(|e| format!("{}: latency task failed: {e}", I::NAME))??;
    samples.sort_unstable();
    let mean = samples.iter().sum::<u64>() as f64 / samples.len() as f64;
    Ok(Latency {
        p50_us: percentile(&samples, 0.50) as f64 / 1e3,
        p99_us: percentile(&samples, 0.99) as f64 / 1e3,
        mean_us: mean / 1e3,
    })
}

/// `in_flight` tasks sharing one connection, each echoing `payload` bytes in
/// a loop; completed calls counted over a fixed time after a warm-up.
fn bench_throughput<I: Impl>(cfg: &Config) -> Result<f64, String> {
    let setup = Setup::<I>::new(cfg.pin);
    let client = setup.client_rt.block_on(I::connect(&setup.path));
    let data: Arc<[u8]> = (0..cfg.payload).map(|i| (i % 251) as u8).collect();
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let payload = cfg.payload;
    let tasks: Vec<_> = (0..cfg.in_flight)
        .map(|_| {
            let mut client = client.clone();
            let (data, count, stop) = (data.clone(), count.clone(), stop.clone());
            setup.client_rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = I::echo(&mut client, &data).await?;
                    if n != payload {
                        return Err(format!("echoed {n} bytes, sent {payload}"));
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    drop(client);
    // The main thread keeps time; it is asleep otherwise.
    std::thread::sleep(cfg.tp_warmup);
    let (c0, t0) = (count.load(Ordering::Relaxed), Instant::now());
    std::thread::sleep(cfg.tp_duration);
    let (c1, t1) = (count.load(Ordering::Relaxed), Instant::now());
    stop.store(true, Ordering::Relaxed);
    let mut failure = None;
    for task in tasks {
        match setup.client_rt.block_on(task) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(e.to_string())),
        }
    }
    setup.finish();
    if let Some(e) = failure {
        return Err(format!("{}: throughput task failed: {e}", I::NAME));
    }
    if c1 == c0 {
        return Err(format!("{}: no call completed while measuring", I::NAME));
    }
    Ok((c1 - c0) as f64 / (t1 - t0).as_secs_f64())
}

/// One connection, one server-streaming call: after a shorter warm-up
/// stream, `stream_messages` messages of `stream_payload` bytes, timed from
/// the call to the last message read. Messages per second.
fn bench_stream<I: Impl>(cfg: &Config) -> Result<f64, String> {
    let setup = Setup::<I>::new(cfg.pin);
    let path = setup.path.clone();
    let (warmup, count, size) = (cfg.stream_warmup, cfg.stream_messages, cfg.stream_payload);
    let task = setup.client_rt.spawn(async move {
        let mut client = I::connect(&path).await;
        if warmup > 0 {
            let n = I::flood(&mut client, warmup, size).await?;
            if n != warmup {
                return Err(format!("warm-up stream: received {n} of {warmup} messages"));
            }
        }
        let start = Instant::now();
        let n = I::flood(&mut client, count, size).await?;
        let elapsed = start.elapsed();
        if n != count {
            return Err(format!("received {n} of {count} messages"));
        }
        Ok::<_, String>(elapsed)
    });
    let result = setup.client_rt.block_on(task);
    setup.finish();
    let elapsed = result.map_err(|e| format!("{}: stream task failed: {e}", I::NAME))?;
    let elapsed = elapsed.map_err(|e| format!("{}: stream: {e}", I::NAME))?;
    Ok(count as f64 / elapsed.as_secs_f64())
}

#[derive(Clone, Debug, Default)]
struct Results {
    latency: Vec<Latency>,
    throughput: Vec<f64>,
    stream: Vec<f64>,
}

impl Results {
    fn p50(&self) -> Option<f64> {
        median(self.latency.iter().map(|l| l.p50_us))
    }
    fn p99(&self) -> Option<f64> {
        median(self.latency.iter().map(|l| l.p99_us))
    }
    fn throughput(&self) -> Option<f64> {
        median(self.throughput.iter().copied())
    }
    fn stream(&self) -> Option<f64> {
        median(self.stream.iter().copied())
    }
}

fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn run_one<I: Impl>(
    cfg: &Config,
    round: usize,
    results: &mut Results,
    bench: Bench,
) -> Result<(), String> {
    if bench == Bench::Stream {
        let mps = bench_stream::<I>(cfg)?;
        println!(
            "round {round}  {:<10}  stream {} × {} B  {:>10.0} msg/s  ({:.3} s)",
            I::NAME,
            cfg.stream_messages,
            cfg.stream_payload,
            mps,
            cfg.stream_messages as f64 / mps
        );
        results.stream.push(mps);
    } else if bench == Bench::Latency {
        let l = bench_latency::<I>(cfg)?;
        println!(
            "round {round}  {:<10}  unary latency     p50 {:>8.1} µs  p99 {:>8.1} µs  mean {:>8.1} µs  ({} calls)",
            I::NAME,
            l.p50_us,
            l.p99_us,
            l.mean_us,
            cfg.calls
        );
        results.latency.push(l);
    } else {
        let rps = bench_throughput::<I>(cfg)?;
        println!(
            "round {round}  {:<10}  {} in flight, {} B  {:>10.0} req/s  ({:.1} s)",
            I::NAME,
            cfg.in_flight,
            cfg.payload,
            rps,
            cfg.tp_duration.as_secs_f64()
        );
        results.throughput.push(rps);
    }
    Ok(())
}

fn json_num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "null".to_string(),
    }
}

fn json_bool(v: Option<bool>) -> String {
    v.map_or("null".to_string(), |b| b.to_string())
}

fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.decimals$}"))
}

fn main() -> ExitCode {
    let cfg = match parse_args() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("wren-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wren-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cfg: &Config) -> Result<(), String> {
    wren_impl::STREAM_BUFFER.store(cfg.stream_buffer, Ordering::Relaxed);
    let run_wren = cfg.only != Some(Which::Ttrpc);
    let run_ttrpc = cfg.only != Some(Which::Wren);
    println!(
        "wren vs ttrpc-rust: unix socket, server and client on separate tokio multi-thread runtimes \
         with 1 worker each, {} round(s){}",
        cfg.rounds,
        if cfg.quick { " (quick)" } else { "" }
    );
    let (server_cpu, client_cpu) = cpus_for(cfg.pin);
    let show = |c: Option<usize>| c.map_or("any CPU".to_string(), |c| format!("CPU {c}"));
    println!(
        "  threads: server on {}, client on {} ({} CPUs allowed)",
        show(server_cpu),
        show(client_cpu),
        allowed_cpus().len()
    );
    println!(
        "  latency: 1 connection, 1 call in flight, empty messages, {} warm-up + {} timed calls",
        cfg.warmup_calls, cfg.calls
    );
    println!(
        "  throughput: 1 connection, {} calls in flight, {}-byte echo, {:.1} s warm-up + {:.1} s measured",
        cfg.in_flight,
        cfg.payload,
        cfg.tp_warmup.as_secs_f64(),
        cfg.tp_duration.as_secs_f64()
    );
    println!(
        "  stream: 1 connection, 1 server-streaming call of {} messages with a {}-byte payload \
         (after a {}-message warm-up stream); wren client buffer: {}",
        cfg.stream_messages,
        cfg.stream_payload,
        cfg.stream_warmup,
        if cfg.stream_buffer == 0 {
            "wren's default".to_string()
        } else {
            format!("{} messages per stream", cfg.stream_buffer)
        }
    );
    println!();

    let mut wren = Results::default();
    let mut ttrpc = Results::default();
    for round in 1..=cfg.rounds {
        // Alternate which implementation goes first, so neither always runs
        // on a machine the other just warmed (or heated).
        let wren_first = round % 2 == 1;
        for (bench, on) in [
            (Bench::Latency, cfg.latency),
            (Bench::Throughput, cfg.throughput),
            (Bench::Stream, cfg.stream),
        ] {
            if !on {
                continue;
            }
            for turn in 0..2 {
                if (turn == 0) == wren_first {
                    if run_wren {
                        run_one::<Wren>(cfg, round, &mut wren, bench)?;
                    }
                } else if run_ttrpc {
                    run_one::<Ttrpc>(cfg, round, &mut ttrpc, bench)?;
                }
            }
        }
    }

    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let p50_ratio = ratio(wren.p50(), ttrpc.p50());
    let p99_ratio = ratio(wren.p99(), ttrpc.p99());
    let tp_ratio = ratio(wren.throughput(), ttrpc.throughput());
    let stream_ratio = ratio(wren.stream(), ttrpc.stream());

    let faster = |r: Option<f64>, lower_is_better: bool| match r {
        Some(r) if lower_is_better => format!("wren {:.2}× faster", 1.0 / r),
        Some(r) => format!("wren {r:.2}× faster"),
        None => "-".to_string(),
    };
    println!();
    println!(
        "median of {} round(s); \"wren ÷ ttrpc\" is wren's number divided by ttrpc-rust's \
         (below 1 is better for latency, above 1 is better for throughput)",
        cfg.rounds
    );
    println!(
        "{:<32} {:>12} {:>12} {:>13}   verdict",
        "metric", "wren", "ttrpc-rust", "wren ÷ ttrpc"
    );
    let row =
        |name: &str, w: Option<f64>, t: Option<f64>, r: Option<f64>, lower: bool, dec: usize| {
            println!(
                "{:<32} {:>12} {:>12} {:>13}   {}",
                name,
                fmt_opt(w, dec),
                fmt_opt(t, dec),
                fmt_opt(r, 3),
                faster(r, lower)
            );
        };
    if cfg.latency {
        row(
            "unary latency p50 (µs)",
            wren.p50(),
            ttrpc.p50(),
            p50_ratio,
            true,
            1,
        );
        row(
            "unary latency p99 (µs)",
            wren.p99(),
            ttrpc.p99(),
            p99_ratio,
            true,
            1,
        );
    }
    if cfg.throughput {
        let name = format!("{}-in-flight throughput (req/s)", cfg.in_flight);
        row(
            &name,
            wren.throughput(),
            ttrpc.throughput(),
            tp_ratio,
            false,
            0,
        );
    }
    if cfg.stream {
        row(
            "server stream (msgs/s)",
            wren.stream(),
            ttrpc.stream(),
            stream_ratio,
            false,
            0,
        );
    }

    let p50_met = p50_ratio.map(|r| r <= TARGET_P50_RATIO_MAX);
    let tp_met = tp_ratio.map(|r| r >= TARGET_THROUGHPUT_RATIO_MIN);
    let stream_met = stream_ratio.map(|r| r >= TARGET_STREAM_RATIO_MIN);
    let verdict = |m: Option<bool>| match m {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    };
    println!();
    if cfg.latency {
        println!(
            "target: wren unary p50 ≤ {TARGET_P50_RATIO_MAX}× ttrpc-rust's: {} ({})",
            fmt_opt(p50_ratio, 3),
            verdict(p50_met)
        );
    }
    if cfg.throughput {
        println!(
            "target: wren {}-in-flight throughput ≥ {TARGET_THROUGHPUT_RATIO_MIN}× ttrpc-rust's: {} ({})",
            cfg.in_flight,
            fmt_opt(tp_ratio, 3),
            verdict(tp_met)
        );
    }
    if cfg.stream {
        println!(
            "target: wren server-stream msgs/s ≥ {TARGET_STREAM_RATIO_MIN}× ttrpc-rust's (tonic's margin): {} ({})",
            fmt_opt(stream_ratio, 3),
            verdict(stream_met)
        );
    }

    let side = |r: &Results| {
        format!(
            "{{\"unary_p50_us\":{},\"unary_p99_us\":{},\"throughput_rps\":{},\"stream_msgs_per_s\":{},\
             \"rounds\":{{\"unary_p50_us\":[{}],\"unary_p99_us\":[{}],\"throughput_rps\":[{}],\"stream_msgs_per_s\":[{}]}}}}",
            json_num(r.p50(), 2),
            json_num(r.p99(), 2),
            json_num(r.throughput(), 0),
            json_num(r.stream(), 0),
            r.latency
                .iter()
                .map(|l| format!("{:.2}", l.p50_us))
                .collect::<Vec<_>>()
                .join(","),
            r.latency
                .iter()
                .map(|l| format!("{:.2}", l.p99_us))
                .collect::<Vec<_>>()
                .join(","),
            r.throughput
                .iter()
                .map(|t| format!("{t:.0}"))
                .collect::<Vec<_>>()
                .join(","),
            r.stream
                .iter()
                .map(|t| format!("{t:.0}"))
                .collect::<Vec<_>>()
                .join(","),
        )
    };
    println!(
        "BENCH_JSON {{\"quick\":{},\"rounds\":{},\"latency_calls\":{},\"in_flight\":{},\"payload_bytes\":{},\"duration_s\":{},\
         \"stream_messages\":{},\"stream_payload_bytes\":{},\"wren_stream_buffer\":{},\"pin\":\"{}\",\
         \"wren\":{},\"ttrpc_rust\":{},\"ratio\":{{\"unary_p50_wren_over_ttrpc\":{},\"unary_p99_wren_over_ttrpc\":{},\
         \"throughput_wren_over_ttrpc\":{},\"stream_wren_over_ttrpc\":{}}},\"targets\":{{\"unary_p50_ratio_max\":{TARGET_P50_RATIO_MAX},\"unary_p50_met\":{},\
         \"throughput_ratio_min\":{TARGET_THROUGHPUT_RATIO_MIN},\"throughput_met\":{},\
         \"stream_ratio_min\":{TARGET_STREAM_RATIO_MIN},\"stream_met\":{}}}}}",
        cfg.quick,
        cfg.rounds,
        cfg.calls,
        cfg.in_flight,
        cfg.payload,
        cfg.tp_duration.as_secs_f64(),
        cfg.stream_messages,
        cfg.stream_payload,
        cfg.stream_buffer,
        format!("{:?}", cfg.pin).to_lowercase(),
        side(&wren),
        side(&ttrpc),
        json_num(p50_ratio, 3),
        json_num(p99_ratio, 3),
        json_num(tp_ratio, 3),
        json_num(stream_ratio, 3),
        json_bool(p50_met),
        json_bool(tp_met),
        json_bool(stream_met),
    );
    Ok(())
}
