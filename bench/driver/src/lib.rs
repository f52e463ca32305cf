//! The workloads every async Rust client runs, generic over the peer's
//! generated client ([`BenchClient`]). A peer's client program is
//! `fn main() { bench_driver::main::<MyClient>() }`.
//!
//! The runtime is the one `#[tokio::main]` builds: multi-threaded, one
//! worker per CPU the process may use. Every call is made from a spawned task
//! (never from the main thread), as a user's program would.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use bench_support::{ClientArgs, Mode};

/// An error from a peer's client, as text.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// One peer's generated client, as the workloads drive it. Clones share the
/// connection.
pub trait BenchClient: Clone + Send + Sync + Sized + 'static {
    /// Opens one connection to the server at `socket`.
    fn connect(socket: &Path) -> impl Future<Output = Result<Self, Error>> + Send;

    /// One `Echo` call carrying `data`; the length of the bytes echoed back.
    fn echo(&mut self, data: &[u8]) -> impl Future<Output = Result<usize, Error>> + Send;

    /// One `Flood` call: `count` messages of `size` bytes, each read with the
    /// client's own streaming API; how many messages came, after checking
    /// each one's size.
    fn flood(&mut self, count: u64, size: u64) -> impl Future<Output = Result<u64, Error>> + Send;
}

/// Parses [`ClientArgs`], runs the workload, prints its result line.
pub fn main<C: BenchClient>() {
    let args = ClientArgs::from_env();
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| bench_support::fail(e));
    let result = match args.mode {
        Mode::Latency => rt.block_on(spawned(latency::<C>(args.clone()))),
        Mode::Throughput => rt.block_on(throughput::<C>(args.clone())),
        Mode::Stream => rt.block_on(spawned(stream::<C>(args.clone()))),
        Mode::Hold => rt
            .block_on(spawned(hold::<C>(args.clone())))
            .map(|clients| {
                // The connections stay open (their tasks keep running on the
                // runtime's workers) until the harness closes stdin.
                bench_support::wait_for_stdin_eof();
                drop(clients);
            }),
    };
    if let Err(e) = result {
        bench_support::fail(e);
    }
}

/// Runs `fut` as a task on the runtime, as a user's program would.
async fn spawned<T: Send + 'static>(
    fut: impl Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    tokio::spawn(fut).await?
}

fn check_len(got: usize, sent: usize) -> Result<(), Error> {
    if got == sent {
        Ok(())
    } else {
        Err(format!("echoed {got} bytes, sent {sent}").into())
    }
}

async fn latency<C: BenchClient>(args: ClientArgs) -> Result<(), Error> {
    let mut client = C::connect(&args.socket).await?;
    let data = bench_support::payload(args.payload);
    for _ in 0..args.warmup {
        check_len(client.echo(&data).await?, data.len())?;
    }
    let calls = args.latency_calls();
    let mut samples = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        let start = Instant::now();
        let n = client.echo(&data).await?;
        samples.push(start.elapsed().as_nanos() as u64);
        check_len(n, data.len())?;
    }
    bench_support::report_latency(&mut samples);
    Ok(())
}

async fn throughput<C: BenchClient>(args: ClientArgs) -> Result<(), Error> {
    let mut clients = Vec::with_capacity(args.conns);
    for _ in 0..args.conns.max(1) {
        clients.push(C::connect(&args.socket).await?);
    }
    let data: Arc<[u8]> = bench_support::payload(args.payload).into();
    let done = Arc::new(AtomicU64::new(0));
    // Count mode: tasks claim calls from `issued` until `calls` are claimed.
    let issued = Arc::new(AtomicU64::new(0));
    let limit = args.calls.unwrap_or(u64::MAX);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in &clients {
        for _ in 0..args.in_flight.max(1) {
            let mut client = client.clone();
            let (data, done, issued, stop) =
                (data.clone(), done.clone(), issued.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed)
                    && issued.fetch_add(1, Ordering::Relaxed) < limit
                {
                    check_len(client.echo(&data).await?, data.len())?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, Error>(())
            }));
        }
    }
    drop(clients);
    let (calls, elapsed) = if args.calls.is_some() {
        for task in tasks.drain(..) {
            task.await??;
        }
        (done.load(Ordering::Relaxed), start.elapsed())
    } else {
        tokio::time::sleep(args.warmup_time()).await;
        let (c0, t0) = (done.load(Ordering::Relaxed), Instant::now());
        tokio::time::sleep(args.measure_time()).await;
        let (c1, t1) = (done.load(Ordering::Relaxed), Instant::now());
        (c1 - c0, t1 - t0)
    };
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    if calls == 0 {
        return Err("no call completed while measuring".into());
    }
    bench_support::report_throughput(calls, elapsed);
    Ok(())
}

async fn stream<C: BenchClient>(args: ClientArgs) -> Result<(), Error> {
    let mut client = C::connect(&args.socket).await?;
    if args.warmup > 0 {
        let n = client.flood(args.warmup, args.size).await?;
        if n != args.warmup {
            return Err(format!("warm-up stream: {n} of {} messages", args.warmup).into());
        }
    }
    let start = Instant::now();
    let n = client.flood(args.count, args.size).await?;
    let elapsed = start.elapsed();
    if n != args.count {
        return Err(format!("stream: {n} of {} messages", args.count).into());
    }
    bench_support::report_stream(n, elapsed);
    Ok(())
}

async fn hold<C: BenchClient>(args: ClientArgs) -> Result<Vec<C>, Error> {
    let mut clients = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        let mut client = C::connect(&args.socket).await?;
        check_len(client.echo(&[]).await?, 0)?;
        clients.push(client);
    }
    bench_support::report_held(clients.len());
    Ok(clients)
}
