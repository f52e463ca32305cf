//! Running the workloads: a fresh server process per measurement, the
//! peer's own client against it, rounds interleaved across peers.

use std::cell::Cell;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Result;
use crate::peers::{Bins, Peer};
use crate::process::{Holder, Launch, Memory, Server, output, run_client};
use crate::results::{Meta, Results, Sample};
use crate::workloads::{CONNS, PAYLOADS, Sweep, Workload};

/// How long and how often.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Rounds of everything.
    pub rounds: usize,
    /// Latency: warm-up calls, then timed calls.
    pub latency_warmup: u64,
    /// Timed calls.
    pub latency_calls: u64,
    /// Throughput: warm-up seconds, then measured seconds.
    pub warmup_secs: f64,
    /// Measured seconds.
    pub secs: f64,
    /// Stream: warm-up messages, then timed messages.
    pub stream_warmup: u64,
    /// Timed messages.
    pub stream_count: u64,
    /// Connections held for (g).
    pub idle_conns: usize,
    /// Curves: warm-up and measured seconds per point.
    pub sweep_warmup_secs: f64,
    /// Measured seconds per point.
    pub sweep_secs: f64,
}

impl Plan {
    /// The recorded run.
    pub fn full() -> Plan {
        Plan {
            rounds: 3,
            latency_warmup: 2_000,
            latency_calls: 20_000,
            warmup_secs: 1.0,
            secs: 3.0,
            stream_warmup: 20_000,
            stream_count: 200_000,
            idle_conns: 1_000,
            sweep_warmup_secs: 0.5,
            sweep_secs: 1.5,
        }
    }

    /// A short run while iterating: one round, shorter times.
    pub fn quick() -> Plan {
        Plan {
            rounds: 1,
            latency_warmup: 500,
            latency_calls: 5_000,
            warmup_secs: 0.3,
            secs: 1.0,
            sweep_warmup_secs: 0.2,
            sweep_secs: 0.6,
            ..Plan::full()
        }
    }
}

/// What a client is asked to do.
#[derive(Clone, Debug)]
enum Shape {
    Latency {
        payload: usize,
    },
    Throughput {
        conns: usize,
        in_flight: usize,
        payload: usize,
        warmup_secs: f64,
        secs: f64,
    },
    Stream,
}

/// Everything a run needs.
pub struct Runner {
    bins: Bins,
    plan: Plan,
    dir: tempfile::TempDir,
    sockets: Cell<usize>,
    cpu: usize,
}

const READY: Duration = Duration::from_secs(30);
const STOP: Duration = Duration::from_secs(30);

impl Runner {
    /// A runner with sockets in a fresh temporary directory.
    pub fn new(bins: Bins, plan: Plan) -> Result<Runner> {
        Ok(Runner {
            bins,
            plan,
            dir: tempfile::Builder::new().prefix("wren-bench").tempdir()?,
            sockets: Cell::new(0),
            cpu: first_cpu(),
        })
    }

    fn socket(&self) -> PathBuf {
        let n = self.sockets.get();
        self.sockets.set(n + 1);
        self.dir.path().join(format!("{n}.sock"))
    }

    fn launch(&self, pinned: bool) -> Launch {
        Launch {
            cpu: pinned.then_some(self.cpu),
            callgrind_out: None,
        }
    }

    /// Starts `peer`'s server on a fresh socket.
    pub fn start_server(&self, peer: Peer, launch: &Launch) -> Result<(Server, PathBuf)> {
        let socket = self.socket();
        let mut args = vec!["--socket".to_owned(), socket.display().to_string()];
        args.extend(peer.server_args());
        let timeout = if launch.callgrind_out.is_some() {
            READY * 4
        } else {
            READY
        };
        let server = Server::start(
            launch.command(&self.bins.server(peer), &args),
            &format!("{} server", peer.name()),
            timeout,
        )?;
        Ok((server, socket))
    }

    /// `peer`'s client command with `args` after `--socket`.
    pub fn client(
        &self,
        peer: Peer,
        launch: &Launch,
        socket: &std::path::Path,
        args: &[String],
    ) -> Command {
        let mut all = vec!["--socket".to_owned(), socket.display().to_string()];
        all.extend_from_slice(args);
        launch.command(&self.bins.client(peer), &all)
    }

    /// One measurement: a fresh server, the client's report, the server's
    /// peak memory.
    fn measure(
        &self,
        peer: Peer,
        shape: &Shape,
        pinned: bool,
    ) -> Result<(f64, Option<f64>, Memory)> {
        let launch = self.launch(pinned);
        let (server, socket) = self.start_server(peer, &launch)?;
        let plan = &self.plan;
        let (args, timeout): (Vec<String>, f64) = match shape {
            Shape::Latency { payload } => (
                args(&[
                    ("mode", "latency".into()),
                    ("payload", payload.to_string()),
                    ("warmup", plan.latency_warmup.to_string()),
                    ("calls", plan.latency_calls.to_string()),
                ]),
                120.0,
            ),
            Shape::Throughput {
                conns,
                in_flight,
                payload,
                warmup_secs,
                secs,
            } => (
                args(&[
                    ("mode", "throughput".into()),
                    ("conns", conns.to_string()),
                    ("in-flight", in_flight.to_string()),
                    ("payload", payload.to_string()),
                    ("warmup-secs", warmup_secs.to_string()),
                    ("secs", secs.to_string()),
                ]),
                warmup_secs + secs + 120.0,
            ),
            Shape::Stream => (
                args(&[
                    ("mode", "stream".into()),
                    ("warmup", plan.stream_warmup.to_string()),
                    ("count", plan.stream_count.to_string()),
                    ("size", "64".into()),
                ]),
                300.0,
            ),
        };
        let name = format!("{} client", peer.name());
        let report = run_client(
            self.client(peer, &launch, &socket, &args),
            &name,
            Duration::from_secs_f64(timeout),
        )?;
        let memory = server.memory()?;
        server.stop(STOP)?;
        Ok(match shape {
            Shape::Latency { .. } => (
                report.get("p50_ns")? / 1e3,
                Some(report.get("p99_ns")? / 1e3),
                memory,
            ),
            Shape::Throughput { .. } => (report.get("rps")?, None, memory),
            Shape::Stream => (report.get("mps")?, None, memory),
        })
    }

    /// (g): the server's RssAnon growth per connection, in KiB, with
    /// `idle_conns` connections held after one call each. A short latency
    /// run warms the server up before the baseline is read.
    fn idle_memory(&self, peer: Peer) -> Result<f64> {
        let launch = self.launch(false);
        let (server, socket) = self.start_server(peer, &launch)?;
        let warm = args(&[("mode", "latency".into()), ("calls", "200".into())]);
        run_client(
            self.client(peer, &launch, &socket, &warm),
            &format!("{} client", peer.name()),
            Duration::from_secs(60),
        )?;
        std::thread::sleep(Duration::from_millis(200));
        let before = server.memory()?.anon_kib;
        let conns = self.plan.idle_conns;
        let hold = args(&[("mode", "hold".into()), ("conns", conns.to_string())]);
        let holder = Holder::start(
            self.client(peer, &launch, &socket, &hold),
            &format!("{} client", peer.name()),
            Duration::from_secs(300),
        )?;
        std::thread::sleep(Duration::from_millis(500));
        let after = server.memory()?.anon_kib;
        holder.release()?;
        server.stop(STOP)?;
        Ok((after - before) / conns as f64)
    }

    fn shape(&self, workload: Workload) -> Option<Shape> {
        let (warmup_secs, secs) = (self.plan.warmup_secs, self.plan.secs);
        let tp = |conns, in_flight, payload| Shape::Throughput {
            conns,
            in_flight,
            payload,
            warmup_secs,
            secs,
        };
        Some(match workload {
            Workload::A => Shape::Latency { payload: 0 },
            Workload::B | Workload::B1 => tp(1, 64, 256),
            Workload::C => tp(8, 16, 256),
            Workload::D => tp(1, 4, 1 << 20),
            Workload::E => Shape::Stream,
            Workload::F | Workload::G | Workload::H => return None,
        })
    }

    /// One sample of `workload` for `peer` in `round`.
    fn sample(&self, workload: Workload, peer: Peer, round: usize) -> Result<Sample> {
        let key = workload.key().to_owned();
        let mut sample = Sample {
            key,
            peer,
            round,
            value: 0.0,
            p99_us: None,
            server_peak_kib: None,
        };
        match workload {
            Workload::F => {
                sample.value = stripped_size(&self.bins.server(peer))? / (1024.0 * 1024.0)
            }
            Workload::G => sample.value = self.idle_memory(peer)?,
            Workload::H => unreachable!("(h) is derived from (a)–(e)"),
            _ => {
                let shape = self.shape(workload).expect("a measured workload");
                let (value, p99, memory) = self.measure(peer, &shape, workload.spec().pinned)?;
                sample.value = value;
                sample.p99_us = p99;
                sample.server_peak_kib = Some(memory.peak_kib);
            }
        }
        Ok(sample)
    }

    /// One point of a curve for `peer`: requests per second.
    fn sweep_point(&self, sweep: Sweep, x: usize, peer: Peer, round: usize) -> Result<Sample> {
        let (warmup_secs, secs) = (self.plan.sweep_warmup_secs, self.plan.sweep_secs);
        let shape = match sweep {
            Sweep::Payload => Shape::Throughput {
                conns: 1,
                in_flight: 4,
                payload: x,
                warmup_secs,
                secs,
            },
            Sweep::Conns => Shape::Throughput {
                conns: x,
                in_flight: 1,
                payload: 256,
                warmup_secs,
                secs,
            },
        };
        let (value, _, memory) = self.measure(peer, &shape, false)?;
        Ok(Sample {
            key: sweep.point_key(x),
            peer,
            round,
            value,
            p99_us: None,
            server_peak_kib: Some(memory.peak_kib),
        })
    }

    /// Runs `workloads` and `sweeps` for `peers`, `plan.rounds` times,
    /// interleaved: within a round each workload runs for every peer in
    /// turn, the peers' order rotating from round to round. Failures are
    /// reported and counted; the rest goes on.
    pub fn run(
        &self,
        peers: &[Peer],
        workloads: &[Workload],
        sweeps: &[Sweep],
    ) -> (Results, usize) {
        let started = Instant::now();
        let mut results = Results {
            meta: meta(&self.plan),
            samples: Vec::new(),
        };
        let mut failures = 0;
        let mut record = |what: String, sample: Result<Sample>, results: &mut Results| match sample
        {
            Ok(sample) => {
                eprintln!("  {what}: {:.3}", sample.value);
                results.samples.push(sample);
            }
            Err(e) => {
                eprintln!("  {what}: FAILED: {e}");
                failures += 1;
            }
        };
        // Sizes do not vary by round.
        if workloads.contains(&Workload::F) {
            for &peer in peers.iter().filter(|p| Workload::F.applies_to(**p)) {
                let s = self.sample(Workload::F, peer, 0);
                record(format!("(f) {}", peer.name()), s, &mut results);
            }
        }
        for round in 0..self.plan.rounds {
            eprintln!("wren-bench: round {}/{}", round + 1, self.plan.rounds);
            let order = rotated(peers, round);
            for &workload in workloads {
                if matches!(workload, Workload::F | Workload::H) {
                    continue;
                }
                for &peer in order.iter().filter(|p| workload.applies_to(**p)) {
                    let s = self.sample(workload, peer, round);
                    record(
                        format!("{} {}", workload.label(), peer.name()),
                        s,
                        &mut results,
                    );
                }
            }
            for &sweep in sweeps {
                let points: &[usize] = match sweep {
                    Sweep::Payload => &PAYLOADS,
                    Sweep::Conns => &CONNS,
                };
                for &x in points {
                    for &peer in &order {
                        let s = self.sweep_point(sweep, x, peer, round);
                        record(
                            format!("{} {x} {}", sweep.key(), peer.name()),
                            s,
                            &mut results,
                        );
                    }
                }
            }
        }
        if workloads.contains(&Workload::H) {
            results.derive_peak_rss();
        }
        results.meta.seconds = started.elapsed().as_secs_f64();
        (results, failures)
    }
}

fn args(pairs: &[(&str, String)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
        .collect()
}

/// `peers` rotated left by `round`.
fn rotated(peers: &[Peer], round: usize) -> Vec<Peer> {
    let mut order = peers.to_vec();
    if !order.is_empty() {
        let n = round % order.len();
        order.rotate_left(n);
    }
    order
}

/// The first CPU this process may run on (`taskset -c` pins there).
fn first_cpu() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let list = s
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
                .trim()
                .to_owned();
            list.split([',', '-']).next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// The size in bytes of a stripped copy of `binary` (`strip --strip-all`).
pub fn stripped_size(binary: &std::path::Path) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let copy = dir.path().join("stripped");
    crate::process::check(
        Command::new("strip")
            .arg("--strip-all")
            .arg("-o")
            .arg(&copy)
            .arg(binary),
        "strip",
    )?;
    Ok(std::fs::metadata(&copy)?.len() as f64)
}

/// The run's circumstances.
fn meta(plan: &Plan) -> Meta {
    let root = crate::peers::repo_root();
    let git = |args: &[&str]| output(Command::new("git").arg("-C").arg(&root).args(args));
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kb: f64 = m.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb / (1024.0 * 1024.0))
        })
        .unwrap_or(0.0);
    Meta {
        date: output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default(),
        machine: format!("{model}, {cpus} CPUs, {mem_gib:.0} GiB"),
        kernel: output(Command::new("uname").arg("-r")).unwrap_or_default(),
        commit: if dirty {
            format!("{commit}-dirty")
        } else {
            commit
        },
        versions: crate::peers::versions(),
        rounds: plan.rounds,
        quick: false,
        load_before: std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
        seconds: 0.0,
    }
}
