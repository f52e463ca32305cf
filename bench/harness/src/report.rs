//! The tables a run prints (Markdown, ready for docs/PERFORMANCE.md).

use std::fmt::Write;

use crate::peers::Peer;
use crate::results::Results;
use crate::workloads::{CONNS, PAYLOADS, Sweep, Unit, Workload, bytes_label, thousands};

/// A Markdown table row.
fn row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// The table: medians per workload and peer, wren's ratio against
/// its target (for the default and the inline server), met or not.
pub fn table(results: &Results, peers: &[Peer], workloads: &[Workload]) -> String {
    let mut out = String::new();
    let mut head = vec!["workload".to_owned()];
    head.extend(peers.iter().map(|p| p.label().to_owned()));
    head.extend(["wren's ratio".into(), "target".into(), "met".into()]);
    out += &row(&head);
    let align: Vec<String> = (0..head.len())
        .map(|i| {
            if i == 0 || i > peers.len() {
                "---".into()
            } else {
                "--:".into()
            }
        })
        .collect();
    out += &row(&align);
    for &w in workloads {
        let spec = w.spec();
        let key = w.key();
        let mut cells = vec![format!("{} {}", w.label(), spec.title)];
        for &peer in peers {
            cells.push(match results.median(key, peer) {
                Some(v) => spec.unit.format(v),
                None if !w.applies_to(peer) => "n/a".into(),
                None => "—".into(),
            });
        }
        let target = spec.target;
        let reference = target.reference.and_then(|r| results.median(key, r));
        let judge = |peer: Peer| {
            let wren = results.median(key, peer)?;
            let m = target.measure(wren, reference)?;
            Some((target.describe_measure(m, spec.unit), target.met(m)))
        };
        let (ratio, met) = match (judge(Peer::Wren), judge(Peer::WrenInline)) {
            (Some((r, m)), Some((ri, mi))) => (
                format!("{r} (inline {ri})"),
                format!("{} (inline {})", yes_no(m), yes_no(mi)),
            ),
            (Some((r, m)), None) => (r, yes_no(m).to_owned()),
            (None, Some((ri, mi))) => (format!("inline {ri}"), format!("inline {}", yes_no(mi))),
            (None, None) => ("—".into(), "—".into()),
        };
        cells.extend([ratio, target.describe(spec.unit), met]);
        out += &row(&cells);
    }
    if workloads.contains(&Workload::A) {
        let p99: Vec<String> = peers
            .iter()
            .filter_map(|&p| {
                Some(format!(
                    "{} {:.1} µs",
                    p.name(),
                    results.median_p99("a", p)?
                ))
            })
            .collect();
        if !p99.is_empty() {
            let _ = writeln!(out, "\n(a) p99: {}", p99.join(", "));
        }
    }
    out
}

fn yes_no(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

/// A curve's table: requests per second per point and peer, then the
/// servers' peak RSS.
pub fn sweep_table(results: &Results, peers: &[Peer], sweep: Sweep) -> String {
    let (points, label): (&[usize], &str) = match sweep {
        Sweep::Payload => (&PAYLOADS, "payload (1 conn × 4 in flight)"),
        Sweep::Conns => (&CONNS, "connections (1 in flight each, 256 B)"),
    };
    let mut out = String::new();
    for (title, peak) in [("requests per second", false), ("server peak RSS", true)] {
        let mut head = vec![format!("{label}: {title}")];
        head.extend(peers.iter().map(|p| p.label().to_owned()));
        out += &row(&head);
        out += &row(&std::iter::once("---".to_owned())
            .chain(peers.iter().map(|_| "--:".to_owned()))
            .collect::<Vec<_>>());
        for &x in points {
            let key = sweep.point_key(x);
            let mut cells = vec![match sweep {
                Sweep::Payload => bytes_label(x),
                Sweep::Conns => thousands(x as f64),
            }];
            for &peer in peers {
                let cell = if peak {
                    let v: Vec<f64> = results
                        .samples
                        .iter()
                        .filter(|s| s.key == key && s.peer == peer)
                        .filter_map(|s| s.server_peak_kib)
                        .collect();
                    crate::results::median(&v).map(|kib| Unit::Mib.format(kib / 1024.0))
                } else {
                    results.median(&key, peer).map(thousands)
                };
                cells.push(cell.unwrap_or_else(|| "—".into()));
            }
            out += &row(&cells);
        }
        out += "\n";
    }
    out
}

/// The run's circumstances, as a list.
pub fn meta(results: &Results) -> String {
    let m = &results.meta;
    let mut out = String::new();
    let _ = writeln!(out, "- date: {}", m.date);
    let _ = writeln!(out, "- machine: {} (kernel {})", m.machine, m.kernel);
    let _ = writeln!(out, "- wren commit: {}", m.commit);
    let versions: Vec<String> = m.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(out, "- peers and tools: {}", versions.join("; "));
    let _ = writeln!(
        out,
        "- {} round(s){}, load average before: {}, measuring took {:.0} s",
        m.rounds,
        if m.quick { " (--quick)" } else { "" },
        m.load_before,
        m.seconds
    );
    out
}
