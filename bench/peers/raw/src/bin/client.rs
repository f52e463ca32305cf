//! The raw floor's client: blocking std sockets. One call in flight is a
//! write and reads; more than one in flight is a writer and a reader thread
//! per connection, the writer sending as many requests in one write as the
//! reader has freed slots.

use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bench_peer_raw::{CLOSED, DATA, FLOOD, FrameReader, REQUEST, RESPONSE, flush, put_frame};
use bench_support::{ClientArgs, Mode};

/// A connection with one call in flight at a time.
struct Conn {
    stream: UnixStream,
    frames: FrameReader,
    out: Vec<u8>,
}

impl Conn {
    fn connect(path: &Path) -> io::Result<Conn> {
        Ok(Conn {
            stream: UnixStream::connect(path)?,
            frames: FrameReader::new(),
            out: Vec::new(),
        })
    }

    /// One echo: the payload length of the reply.
    fn echo(&mut self, data: &[u8]) -> io::Result<usize> {
        put_frame(&mut self.out, 1, REQUEST, 0, data);
        flush(&mut self.stream, &mut self.out)?;
        loop {
            if let Some((header, _)) = self.frames.next_frame() {
                expect(header.kind, RESPONSE)?;
                return Ok(header.len as usize);
            }
            self.fill()?;
        }
    }

    /// One flood: how many messages of `size` bytes came.
    fn flood(&mut self, count: u64, size: u64) -> io::Result<u64> {
        let mut request = count.to_be_bytes().to_vec();
        request.extend_from_slice(&size.to_be_bytes());
        put_frame(&mut self.out, 1, REQUEST, FLOOD, &request);
        flush(&mut self.stream, &mut self.out)?;
        let mut received = 0;
        loop {
            while let Some((header, _)) = self.frames.next_frame() {
                expect(header.kind, DATA)?;
                if u64::from(header.len) != size {
                    return Err(io::Error::other(format!(
                        "a message of {} bytes",
                        header.len
                    )));
                }
                received += 1;
                if header.flags & CLOSED != 0 {
                    return Ok(received);
                }
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        match self.frames.fill(&mut self.stream)? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(()),
        }
    }
}

fn expect(kind: u8, want: u8) -> io::Result<()> {
    if kind == want {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "frame type {kind}, expected {want}"
        )))
    }
}

fn check_len(got: usize, sent: usize) -> io::Result<()> {
    if got == sent {
        Ok(())
    } else {
        Err(io::Error::other(format!("echoed {got} bytes, sent {sent}")))
    }
}

fn latency(args: &ClientArgs) -> io::Result<()> {
    let mut conn = Conn::connect(&args.socket)?;
    let data = bench_support::payload(args.payload);
    for _ in 0..args.warmup {
        check_len(conn.echo(&data)?, data.len())?;
    }
    let calls = args.latency_calls();
    let mut samples = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        let start = Instant::now();
        let n = conn.echo(&data)?;
        samples.push(start.elapsed().as_nanos() as u64);
        check_len(n, data.len())?;
    }
    bench_support::report_latency(&mut samples);
    Ok(())
}

/// Free request slots of one connection, shared by its writer and reader.
struct Window {
    free: Mutex<usize>,
    freed: Condvar,
}

/// What every connection of a throughput run shares.
struct Shared {
    data: Vec<u8>,
    done: AtomicU64,
    issued: AtomicU64,
    limit: u64,
    stop: AtomicBool,
}

impl Shared {
    /// Claims up to `want` calls under the limit.
    fn claim(&self, want: usize) -> usize {
        let mut issued = self.issued.load(Ordering::Relaxed);
        loop {
            let n = (want as u64).min(self.limit.saturating_sub(issued));
            match self.issued.compare_exchange_weak(
                issued,
                issued + n,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return n as usize,
                Err(now) => issued = now,
            }
        }
    }
}

/// Sends requests while slots are free; at the end, shuts the socket's
/// write side so the server closes and the reader sees EOF.
fn writer(mut stream: UnixStream, window: &Window, shared: &Shared) -> io::Result<()> {
    let mut out = Vec::new();
    loop {
        let mut free = window.free.lock().unwrap();
        while *free == 0 && !shared.stop.load(Ordering::Relaxed) {
            free = window
                .freed
                .wait_timeout(free, Duration::from_millis(50))
                .unwrap()
                .0;
        }
        let want = std::mem::take(&mut *free);
        drop(free);
        let n = if shared.stop.load(Ordering::Relaxed) {
            0
        } else {
            shared.claim(want)
        };
        if n == 0 {
            return stream.shutdown(std::net::Shutdown::Write);
        }
        for _ in 0..n {
            put_frame(&mut out, 1, REQUEST, 0, &shared.data);
        }
        flush(&mut stream, &mut out)?;
    }
}

/// Counts replies and frees their slots until EOF.
fn reader(mut stream: UnixStream, window: &Window, shared: &Shared) -> io::Result<()> {
    let mut frames = FrameReader::new();
    loop {
        let mut replies = 0;
        while let Some((header, _)) = frames.next_frame() {
            expect(header.kind, RESPONSE)?;
            check_len(header.len as usize, shared.data.len())?;
            replies += 1;
        }
        if replies > 0 {
            shared.done.fetch_add(replies as u64, Ordering::Relaxed);
            *window.free.lock().unwrap() += replies;
            window.freed.notify_one();
        }
        if frames.fill(&mut stream)? == 0 {
            return Ok(());
        }
    }
}

fn throughput(args: &ClientArgs) -> io::Result<()> {
    let shared = Arc::new(Shared {
        data: bench_support::payload(args.payload),
        done: AtomicU64::new(0),
        issued: AtomicU64::new(0),
        limit: args.calls.unwrap_or(u64::MAX),
        stop: AtomicBool::new(false),
    });
    let mut threads = Vec::new();
    let start = Instant::now();
    for _ in 0..args.conns.max(1) {
        let stream = UnixStream::connect(&args.socket)?;
        let window = Arc::new(Window {
            free: Mutex::new(args.in_flight.max(1)),
            freed: Condvar::new(),
        });
        let (read_half, w, s) = (stream.try_clone()?, window.clone(), shared.clone());
        threads.push(std::thread::spawn(move || writer(stream, &w, &s)));
        let (w, s) = (window, shared.clone());
        threads.push(std::thread::spawn(move || reader(read_half, &w, &s)));
    }
    let (calls, elapsed) = if args.calls.is_some() {
        (None, None)
    } else {
        std::thread::sleep(args.warmup_time());
        let (c0, t0) = (shared.done.load(Ordering::Relaxed), Instant::now());
        std::thread::sleep(args.measure_time());
        let (c1, t1) = (shared.done.load(Ordering::Relaxed), Instant::now());
        shared.stop.store(true, Ordering::Relaxed);
        (Some(c1 - c0), Some(t1 - t0))
    };
    for thread in threads {
        thread
            .join()
            .map_err(|_| io::Error::other("a client thread panicked"))??;
    }
    let calls = calls.unwrap_or_else(|| shared.done.load(Ordering::Relaxed));
    let elapsed = elapsed.unwrap_or_else(|| start.elapsed());
    if calls == 0 {
        return Err(io::Error::other("no call completed while measuring"));
    }
    bench_support::report_throughput(calls, elapsed);
    Ok(())
}

fn stream(args: &ClientArgs) -> io::Result<()> {
    let mut conn = Conn::connect(&args.socket)?;
    if args.warmup > 0 && conn.flood(args.warmup, args.size)? != args.warmup {
        return Err(io::Error::other("warm-up stream cut short"));
    }
    let start = Instant::now();
    let n = conn.flood(args.count, args.size)?;
    let elapsed = start.elapsed();
    if n != args.count {
        return Err(io::Error::other(format!(
            "stream: {n} of {} messages",
            args.count
        )));
    }
    bench_support::report_stream(n, elapsed);
    Ok(())
}

fn hold(args: &ClientArgs) -> io::Result<()> {
    let mut conns = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        let mut conn = Conn::connect(&args.socket)?;
        check_len(conn.echo(&[])?, 0)?;
        conns.push(conn);
    }
    bench_support::report_held(conns.len());
    bench_support::wait_for_stdin_eof();
    Ok(())
}

fn main() {
    let args = ClientArgs::from_env();
    let result = match args.mode {
        Mode::Latency => latency(&args),
        Mode::Throughput => throughput(&args),
        Mode::Stream => stream(&args),
        Mode::Hold => hold(&args),
    };
    if let Err(e) = result {
        bench_support::fail(e);
    }
}
