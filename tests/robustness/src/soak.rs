//! The soak run: many concurrent connections, then many calls, against an
//! in-process wren server on a unix socket (loopback only), then the
//! process's open fds and resident memory compared with where they started.
//!
//! `cargo xtask soak` runs it at full size (1,000 connections, one million
//! calls) in release mode; the normal tests run it smaller.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use wren_client::Client;
use wren_server::Server;
use wren_transport::Request;
use wren_transport::codec::Status;

use crate::fixture::{COUNT, ECHO, Msg, SERVICE};
use crate::harness::TestServer;
use crate::sys::{Memory, open_fds, open_sockets};

/// How big a soak run is.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Connections open at once in the first phase, each making
    /// `calls_per_connection` calls concurrently.
    pub connections: usize,
    /// Calls each connection of the first phase makes.
    pub calls_per_connection: usize,
    /// Times the first phase opens its connections, calls and closes them.
    pub rounds: usize,
    /// Calls of the second phase.
    pub calls: u64,
    /// Connections the second phase spreads its calls over.
    pub call_connections: usize,
    /// Callers per connection in the second phase.
    pub callers_per_connection: usize,
}

impl Config {
    /// The full run: 1,000 connections of 10 calls, then one million calls
    /// over 8 connections of 32 callers. Every 100th call is a server
    /// stream of 3 messages.
    pub const FULL: Config = Config {
        connections: 1000,
        calls_per_connection: 10,
        rounds: 3,
        calls: 1_000_000,
        call_connections: 8,
        callers_per_connection: 32,
    };

    /// The run of the normal tests: 100 connections, 20,000 calls.
    pub const SMALL: Config = Config {
        connections: 100,
        calls_per_connection: 10,
        rounds: 2,
        calls: 20_000,
        call_connections: 4,
        callers_per_connection: 16,
    };
}

/// What a soak run measured.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// The run's size.
    pub config: Config,
    /// Calls made in both phases.
    pub calls: u64,
    /// Calls that failed or replied wrongly (a lost reply counts here).
    pub failures: u64,
    /// Open fds before the server started, at the peak of the first phase,
    /// and after every connection closed.
    pub fds: (usize, usize, usize),
    /// The same for open sockets alone.
    pub sockets: (usize, usize, usize),
    /// Resident memory at each step.
    pub memory: Memories,
    /// Wall time of the first and the second phase.
    pub elapsed: (Duration, Duration),
}

/// This process's memory at each step of a soak run.
#[derive(Clone, Copy, Debug)]
pub struct Memories {
    /// After the server started and made one warm-up call.
    pub before: Memory,
    /// After the first round of connections closed. The allocator keeps
    /// some of the peak for reuse; this is where the rest is compared.
    pub after_first_round: Memory,
    /// After the last round of connections closed.
    pub after_rounds: Memory,
    /// After the second phase's calls, with every connection closed.
    pub after_calls: Memory,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.memory;
        writeln!(
            f,
            "connections held at once: {} ({} calls each), {} rounds ({:.2} s)",
            self.config.connections,
            self.config.calls_per_connection,
            self.config.rounds,
            self.elapsed.0.as_secs_f64()
        )?;
        writeln!(
            f,
            "calls: {} over {} connections ({:.2} s, {:.0} calls/s)",
            self.config.calls,
            self.config.call_connections,
            self.elapsed.1.as_secs_f64(),
            self.config.calls as f64 / self.elapsed.1.as_secs_f64()
        )?;
        writeln!(
            f,
            "calls made: {}, failed or lost: {}",
            self.calls, self.failures
        )?;
        writeln!(
            f,
            "open fds: {} before, {} at peak, {} after (sockets: {}, {}, {})",
            self.fds.0, self.fds.1, self.fds.2, self.sockets.0, self.sockets.1, self.sockets.2
        )?;
        write!(
            f,
            "RSS (KiB): {} before, {} after the first round of connections, {} after the last, \
             {} after the calls (peak {})",
            m.before.rss_kib,
            m.after_first_round.rss_kib,
            m.after_rounds.rss_kib,
            m.after_calls.rss_kib,
            m.after_calls.peak_kib
        )
    }
}

/// Runs a soak of `config`'s size. Needs a multi-thread tokio runtime.
///
/// # Panics
///
/// If a connection cannot be made, or the connections do not close within
/// a minute.
pub async fn run(config: Config) -> Report {
    let fds_before = open_fds().expect("/proc/self/fd");
    let sockets_before = open_sockets().expect("/proc/self/fd");
    let server = TestServer::start(Server::builder());
    call(&mut server.client().await, 0)
        .await
        .expect("warm-up call");
    settle().await;
    let memory_before = Memory::of_self().expect("/proc/self/status");

    // Phase 1: many connections at once, each with concurrent calls.
    let started = Instant::now();
    let mut made = 0;
    let mut failures = 0;
    let (mut fds_peak, mut sockets_peak) = (0, 0);
    let (mut after_first_round, mut after_rounds) = (memory_before, memory_before);
    for round in 0..config.rounds {
        let mut clients = Vec::with_capacity(config.connections);
        for _ in 0..config.connections {
            clients.push(server.client().await);
        }
        fds_peak = fds_peak.max(open_fds().expect("/proc/self/fd"));
        sockets_peak = sockets_peak.max(open_sockets().expect("/proc/self/fd"));
        let mut calls = FuturesUnordered::new();
        for (c, client) in clients.iter().enumerate() {
            for i in 0..config.calls_per_connection {
                let mut client = client.clone();
                let seq = (c * config.calls_per_connection + i) as u64;
                calls.push(async move { call(&mut client, seq).await });
            }
        }
        while let Some(result) = calls.next().await {
            made += 1;
            failures += u64::from(result.is_err());
        }
        drop(calls);
        drop(clients);
        // Back to the server's listener alone before the next round.
        wait_for_sockets(sockets_before + 1).await;
        settle().await;
        let memory = Memory::of_self().expect("/proc/self/status");
        if round == 0 {
            after_first_round = memory;
        }
        after_rounds = memory;
    }
    let phase1 = started.elapsed();

    // Phase 2: many calls over a few connections.
    let started = Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    let total_callers = (config.call_connections * config.callers_per_connection) as u64;
    for c in 0..config.call_connections {
        let client = server.client().await;
        for k in 0..config.callers_per_connection {
            let caller = (c * config.callers_per_connection + k) as u64;
            let mut client = client.clone();
            // Caller k makes calls caller, caller + total, caller + 2 total, ...
            callers.spawn(async move {
                let (mut made, mut failed) = (0u64, 0u64);
                let mut seq = caller;
                while seq < config.calls {
                    made += 1;
                    failed += u64::from(call(&mut client, seq).await.is_err());
                    seq += total_callers;
                }
                (made, failed)
            });
        }
    }
    while let Some(joined) = callers.join_next().await {
        let (m, f) = joined.expect("a caller task");
        made += m;
        failures += f;
    }
    let phase2 = started.elapsed();

    // Everything closed: fds back where they were, memory settled.
    server.handle.shutdown().await;
    let _ = server.task.await;
    let sockets_after = wait_for_sockets(sockets_before).await;
    let fds_after = open_fds().expect("/proc/self/fd");
    settle().await;
    let after_calls = Memory::of_self().expect("/proc/self/status");
    Report {
        config,
        calls: made,
        failures,
        fds: (fds_before, fds_peak, fds_after),
        sockets: (sockets_before, sockets_peak, sockets_after),
        memory: Memories {
            before: memory_before,
            after_first_round,
            after_rounds,
            after_calls,
        },
        elapsed: (phase1, phase2),
    }
}

/// How much resident memory grew (KiB) where it must not: from the first
/// round of connections to the last (churn must not accumulate), and across
/// the second phase's calls (calls must leave nothing behind).
///
/// The first round itself is not counted: the allocator keeps part of the
/// peak of a thousand connections for reuse (about 35 KiB per connection
/// with glibc), and every later round reuses it.
pub fn growth(report: &Report) -> [(&'static str, u64); 2] {
    let m = report.memory;
    [
        (
            "from the first round of connections to the last",
            m.after_rounds
                .rss_kib
                .saturating_sub(m.after_first_round.rss_kib),
        ),
        (
            "across the calls",
            m.after_calls.rss_kib.saturating_sub(m.after_rounds.rss_kib),
        ),
    ]
}

/// Call `seq`: an Echo whose reply must match, or every 100th a server
/// stream of 3 messages that must all arrive in order.
async fn call(client: &mut Client, seq: u64) -> Result<(), Status> {
    let msg = Msg::new(seq, Bytes::from_static(b"soak"));
    if seq % 100 == 99 {
        let req = Request::new(Msg::new(3, msg.body.clone()));
        let mut replies = client
            .server_streaming::<Msg, Msg>(req, SERVICE, COUNT)
            .await?
            .into_inner();
        let mut next = 0;
        while let Some(reply) = replies.message().await? {
            if reply.seq != next {
                return Err(Status::data_loss(format!("stream reply {next} was lost")));
            }
            next += 1;
        }
        return match next {
            3 => Ok(()),
            n => Err(Status::data_loss(format!("{n} stream replies of 3"))),
        };
    }
    let reply = client
        .unary::<Msg, Msg>(Request::new(msg.clone()), SERVICE, ECHO)
        .await?;
    if reply.into_inner() == msg {
        Ok(())
    } else {
        Err(Status::data_loss(format!("wrong reply to call {seq}")))
    }
}

/// Lets closing connections finish and freed memory return.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Waits (up to a minute) until open sockets are down to `target`; returns
/// the last count.
async fn wait_for_sockets(target: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = open_sockets().expect("/proc/self/fd");
        if now <= target || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
