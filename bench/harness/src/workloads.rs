//! The workloads of the table, their targets, and the scale curves.

use serde::{Deserialize, Serialize};

use crate::peers::Peer;

/// A row of the table.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// 1 connection, 1 call in flight, 0 B, p50 latency, both processes on one CPU.
    A,
    /// 1 connection, 64 calls in flight, 256 B echoed.
    B,
    /// (b) with both processes on one CPU.
    #[value(name = "b1", alias = "b'")]
    B1,
    /// 8 connections × 16 calls in flight, 256 B.
    C,
    /// 1 MiB payloads, 4 calls in flight, 1 connection.
    D,
    /// A server-streaming flood of 200,000 messages of 64 B.
    E,
    /// The stripped server binary.
    F,
    /// Server memory per idle connection: 1,000 held, one call each.
    G,
    /// The server's peak RSS over (a)–(e).
    H,
}

/// How a number is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds.
    Micros,
    /// Requests per second.
    Rps,
    /// Messages per second.
    Mps,
    /// MiB.
    Mib,
    /// KiB.
    Kib,
}

impl Unit {
    /// `value` with its unit, rounded for a table.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Micros => format!("{value:.1} µs"),
            Unit::Rps | Unit::Mps => {
                let suffix = if self == Unit::Rps { " rps" } else { " msg/s" };
                if value >= 1e6 {
                    format!("{:.2} M{suffix}", value / 1e6)
                } else if value >= 1e4 {
                    format!("{:.0} k{suffix}", value / 1e3)
                } else {
                    format!("{}{suffix}", thousands(value))
                }
            }
            Unit::Mib => format!("{value:.2} MiB"),
            Unit::Kib => format!("{value:.2} KiB"),
        }
    }
}

/// `value` rounded, with thousands separators.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

/// A target for wren: a bound on wren's number, or on its ratio to a peer's.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The peer wren is compared with; `None`: an absolute bound.
    pub reference: Option<Peer>,
    /// wren ÷ reference (or wren's number) must be at most this…
    pub at_most: Option<f64>,
    /// …or at least this.
    pub at_least: Option<f64>,
}

impl Target {
    /// The ratio (or number) the target is about.
    pub fn measure(&self, wren: f64, reference: Option<f64>) -> Option<f64> {
        match self.reference {
            None => Some(wren),
            Some(_) => reference.filter(|r| *r > 0.0).map(|r| wren / r),
        }
    }

    /// Whether `measure` meets the target.
    pub fn met(&self, measure: f64) -> bool {
        self.at_most.is_none_or(|m| measure <= m) && self.at_least.is_none_or(|m| measure >= m)
    }

    /// The bound, as the issue writes it (`≤ 1.3× raw`).
    pub fn describe(&self, unit: Unit) -> String {
        let (op, bound) = match (self.at_most, self.at_least) {
            (Some(m), _) => ("≤", m),
            (_, Some(m)) => ("≥", m),
            _ => return String::new(),
        };
        match self.reference {
            Some(peer) => format!("{op} {bound}× {}", short(peer)),
            None => format!("{op} {}", unit.format(bound)),
        }
    }

    /// `measure` as the issue writes it (`1.93× raw`).
    pub fn describe_measure(&self, measure: f64, unit: Unit) -> String {
        match self.reference {
            Some(peer) => format!("{measure:.2}× {}", short(peer)),
            None => unit.format(measure),
        }
    }
}

fn short(peer: Peer) -> &'static str {
    match peer {
        Peer::Raw => "raw",
        other => other.name(),
    }
}

/// What a workload is and how it is judged.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The table's first column.
    pub title: &'static str,
    /// A short title for the chart.
    pub short: &'static str,
    /// The unit of its number.
    pub unit: Unit,
    /// Whether more is better.
    pub higher_is_better: bool,
    /// Whether server and client are pinned to one CPU.
    pub pinned: bool,
    /// wren's target.
    pub target: Target,
}

const fn at_most(reference: Option<Peer>, bound: f64) -> Target {
    Target {
        reference,
        at_most: Some(bound),
        at_least: None,
    }
}

const fn at_least(reference: Option<Peer>, bound: f64) -> Target {
    Target {
        reference,
        at_most: None,
        at_least: Some(bound),
    }
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 9] = [
        Workload::A,
        Workload::B,
        Workload::B1,
        Workload::C,
        Workload::D,
        Workload::E,
        Workload::F,
        Workload::G,
        Workload::H,
    ];

    /// The key of its samples.
    pub fn key(self) -> &'static str {
        match self {
            Workload::A => "a",
            Workload::B => "b",
            Workload::B1 => "b1",
            Workload::C => "c",
            Workload::D => "d",
            Workload::E => "e",
            Workload::F => "f",
            Workload::G => "g",
            Workload::H => "h",
        }
    }

    /// Its label in tables: `(b′)`.
    pub fn label(self) -> &'static str {
        match self {
            Workload::A => "(a)",
            Workload::B => "(b)",
            Workload::B1 => "(b′)",
            Workload::C => "(c)",
            Workload::D => "(d)",
            Workload::E => "(e)",
            Workload::F => "(f)",
            Workload::G => "(g)",
            Workload::H => "(h)",
        }
    }

    /// What it is and how it is judged.
    pub fn spec(self) -> Spec {
        use Peer::{Raw, Tonic, TtrpcRust};
        let (title, short, unit, higher, pinned, target) = match self {
            Workload::A => (
                "1 conn, 1 in flight, 0 B, p50, both pinned to one core",
                "latency, 1 in flight, 0 B, one core (p50)",
                Unit::Micros,
                false,
                true,
                at_most(Some(Raw), 1.3),
            ),
            Workload::B => (
                "1 conn, 64 in flight, 256 B",
                "1 conn × 64 in flight, 256 B",
                Unit::Rps,
                true,
                false,
                at_least(Some(TtrpcRust), 4.0),
            ),
            Workload::B1 => (
                "same, both pinned to one core",
                "1 conn × 64 in flight, 256 B, one core",
                Unit::Rps,
                true,
                true,
                at_least(Some(Raw), 0.25),
            ),
            Workload::C => (
                "8 conns × 16, 256 B",
                "8 conns × 16 in flight, 256 B",
                Unit::Rps,
                true,
                false,
                at_least(Some(TtrpcRust), 5.0),
            ),
            Workload::D => (
                "1 MiB payloads, 4 in flight",
                "1 MiB payloads, 4 in flight",
                Unit::Rps,
                true,
                false,
                at_least(Some(Raw), 0.8),
            ),
            Workload::E => (
                "server-streaming flood, 200,000 × 64 B",
                "server-streaming flood, 64 B messages",
                Unit::Mps,
                true,
                false,
                at_least(Some(Tonic), 1.5),
            ),
            Workload::F => (
                "stripped one-service server binary",
                "stripped server binary",
                Unit::Mib,
                false,
                false,
                at_most(Some(TtrpcRust), 0.7),
            ),
            Workload::G => (
                "server memory per idle connection (1,000 held, one call each)",
                "server memory per idle connection",
                Unit::Kib,
                false,
                false,
                at_most(None, 2.0),
            ),
            Workload::H => (
                "server peak RSS after (a)–(e)",
                "server peak RSS over (a)–(e)",
                Unit::Mib,
                false,
                false,
                at_most(Some(TtrpcRust), 0.5),
            ),
        };
        Spec {
            title,
            short,
            unit,
            higher_is_better: higher,
            pinned,
            target,
        }
    }

    /// Whether `peer` can run it.
    pub fn applies_to(self, peer: Peer) -> bool {
        match self {
            Workload::E => peer.streams(),
            // The inline mode is a flag of the same binary.
            Workload::F => peer != Peer::WrenInline,
            _ => true,
        }
    }
}

/// A scale curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Sweep {
    /// Payload size, 0 B → 4 MiB, 1 connection × 4 in flight.
    Payload,
    /// Connections, 1 → 1,000, one call in flight on each, 256 B.
    Conns,
}

impl Sweep {
    /// The key prefix of its samples.
    pub fn key(self) -> &'static str {
        match self {
            Sweep::Payload => "payload",
            Sweep::Conns => "conns",
        }
    }

    /// The sample key of the point `x`.
    pub fn point_key(self, x: usize) -> String {
        format!("{}:{x}", self.key())
    }
}

/// The largest payload of the payload curve: 4 MiB less 1 KiB, so that the
/// request's envelope stays within ttrpc's 4 MiB message limit.
pub const MAX_PAYLOAD: usize = (4 << 20) - 1024;

/// The points of the payload curve, in bytes.
pub const PAYLOADS: [usize; 6] = [0, 256, 4 << 10, 64 << 10, 1 << 20, MAX_PAYLOAD];

/// The points of the connections curve.
pub const CONNS: [usize; 4] = [1, 10, 100, 1000];

/// A byte count as the curves label it: `4 KiB`.
pub fn bytes_label(n: usize) -> String {
    match n {
        MAX_PAYLOAD => "4 MiB".into(),
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}
