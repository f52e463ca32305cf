//! The chart: one SVG with a panel per workload (medians as bars, wren's
//! target as a dashed line) and the two scale curves.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::Result;
use crate::peers::Peer;
use crate::results::Results;
use crate::workloads::{CONNS, PAYLOADS, Sweep, Workload, bytes_label};

const FONT: &str = "sans-serif";

fn color(peer: Peer) -> RGBColor {
    match peer {
        Peer::Raw => RGBColor(140, 140, 140),
        Peer::TtrpcRust => RGBColor(66, 133, 244),
        Peer::Tonic => RGBColor(52, 168, 83),
        Peer::Go => RGBColor(0, 172, 193),
        Peer::Wren => RGBColor(230, 81, 0),
        Peer::WrenInline => RGBColor(255, 167, 38),
    }
}

const TARGET: RGBColor = RGBColor(200, 0, 0);

/// Draws the chart of `results` for `peers` into `path` (SVG).
pub fn draw(results: &Results, peers: &[Peer], path: &Path) -> Result {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let root = SVGBackend::new(path, (1500, 1720)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(80);
    let m = &results.meta;
    head.draw(&Text::new(
        "wren and its peers, side by side (medians; dashed red line: wren's target)",
        (20, 14),
        (FONT, 26).into_font(),
    ))?;
    head.draw(&Text::new(
        format!(
            "{} · {} · wren {} · {} round(s) · every peer a separate server and client process",
            m.date, m.machine, m.commit, m.rounds
        ),
        (20, 50),
        (FONT, 15).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    let panels = body.split_evenly((4, 3));
    let bars = Workload::ALL;
    for (panel, w) in panels.iter().zip(bars) {
        bar_panel(panel, results, peers, w)?;
    }
    curve_panel(&panels[9], results, peers, Sweep::Payload)?;
    curve_panel(&panels[10], results, peers, Sweep::Conns)?;
    legend_panel(&panels[11], peers)?;
    root.present()?;
    Ok(())
}

/// Compact numbers for labels: 1.77 M, 245 k, 11.2.
fn compact(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0} k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn bar_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    results: &Results,
    peers: &[Peer],
    w: Workload,
) -> Result {
    let spec = w.spec();
    let rows: Vec<(Peer, f64)> = peers
        .iter()
        .filter_map(|&p| Some((p, results.median(w.key(), p)?)))
        .collect();
    let unit = match spec.unit {
        crate::workloads::Unit::Micros => "µs",
        crate::workloads::Unit::Rps => "requests/s",
        crate::workloads::Unit::Mps => "messages/s",
        crate::workloads::Unit::Mib => "MiB",
        crate::workloads::Unit::Kib => "KiB",
    };
    let better = if spec.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    let caption = format!("{} {}", w.label(), spec.short);
    let target = spec.target;
    let target_x = match target.reference {
        Some(r) => results.median(w.key(), r),
        None => Some(1.0),
    }
    .and_then(|r| Some(r * target.at_most.or(target.at_least)?));
    // The scale follows the peers other than the floor; a floor far beyond
    // them is drawn cut off, with its number.
    let others = rows
        .iter()
        .filter(|(p, _)| *p != Peer::Raw)
        .map(|(_, v)| *v)
        .chain(target_x)
        .fold(0.0f64, f64::max);
    let raw = rows.iter().find(|(p, _)| *p == Peer::Raw).map(|(_, v)| *v);
    let mut xmax = others.max(raw.filter(|r| *r <= 2.0 * others).unwrap_or(0.0)) * 1.3;
    if xmax <= 0.0 {
        xmax = 1.0;
    }
    let n = rows.len().max(1);
    let labels: Vec<&str> = rows.iter().map(|(p, _)| p.label()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 16))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(100)
        .build_cartesian_2d(0f64..xmax, (0..n).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(RGBColor(245, 245, 245))
        .x_labels(5)
        .x_label_formatter(&|v| compact(*v))
        .x_desc(format!("{unit} ({better})"))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).copied().unwrap_or("").to_owned(),
            _ => String::new(),
        })
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .draw()?;
    chart.draw_series(
        Histogram::horizontal(&chart)
            .margin(6)
            .style_func(|v, _| match v {
                SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => color(rows[*i].0).filled(),
                SegmentValue::Last => BLACK.filled(),
            })
            .data(rows.iter().enumerate().map(|(i, (_, v))| (i, v.min(xmax)))),
    )?;
    chart.draw_series(rows.iter().enumerate().map(|(i, (peer, v))| {
        let cut = *v > xmax;
        let text = if cut {
            format!("{} ▸ off scale", compact(*v))
        } else {
            compact(*v)
        };
        let at = (v.min(xmax), SegmentValue::CenterOf(i));
        let ink = match (cut, *peer == Peer::Wren) {
            (true, _) => WHITE,
            (false, true) => BLACK,
            (false, false) => RGBColor(60, 60, 60),
        };
        let style = (FONT, 13).into_font().color(&ink);
        let offset = if cut { (-120, -6) } else { (4, -6) };
        EmptyElement::at(at) + Text::new(text, offset, style)
    }))?;
    if let Some(x) = target_x.filter(|x| *x <= xmax) {
        chart.draw_series(DashedLineSeries::new(
            [(x, SegmentValue::Exact(0)), (x, SegmentValue::Exact(n))],
            6,
            4,
            TARGET.stroke_width(2),
        ))?;
    }
    Ok(())
}

fn curve_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    results: &Results,
    peers: &[Peer],
    sweep: Sweep,
) -> Result {
    let points: &[usize] = match sweep {
        Sweep::Payload => &PAYLOADS,
        Sweep::Conns => &CONNS,
    };
    let lines: Vec<(Peer, Vec<(f64, f64)>)> = peers
        .iter()
        .map(|&p| {
            let line = points
                .iter()
                .enumerate()
                .filter_map(|(i, &x)| {
                    let v = results.median(&sweep.point_key(x), p)?;
                    let at = match sweep {
                        Sweep::Payload => i as f64,
                        Sweep::Conns => x as f64,
                    };
                    Some((at, v))
                })
                .collect();
            (p, line)
        })
        .filter(|(_, line): &(Peer, Vec<(f64, f64)>)| !line.is_empty())
        .collect();
    let all = lines.iter().flat_map(|(_, l)| l.iter().map(|(_, v)| *v));
    let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if hi > 0.0 {
        (lo / 2.0, hi * 2.0)
    } else {
        (1.0, 10.0)
    };
    let (caption, x_desc) = match sweep {
        Sweep::Payload => (
            "requests/s by payload size (1 conn × 4 in flight)",
            "payload each way",
        ),
        Sweep::Conns => (
            "requests/s by connections (1 in flight each, 256 B)",
            "connections",
        ),
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, (FONT, 16))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(60);
    let style =
        |peer: Peer| color(peer).stroke_width(if matches!(peer, Peer::Wren) { 3 } else { 2 });
    match sweep {
        Sweep::Payload => {
            let mut chart = builder
                .build_cartesian_2d(-0.3f64..(points.len() as f64 - 0.7), (lo..hi).log_scale())?;
            chart
                .configure_mesh()
                .x_labels(points.len())
                .x_label_formatter(&|x| {
                    let i = x.round();
                    if (x - i).abs() < 0.01 && i >= 0.0 {
                        points
                            .get(i as usize)
                            .map(|b| bytes_label(*b))
                            .unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|v| compact(*v))
                .x_desc(x_desc)
                .label_style((FONT, 12))
                .axis_desc_style((FONT, 13))
                .draw()?;
            for (peer, line) in &lines {
                chart.draw_series(LineSeries::new(line.iter().copied(), style(*peer)))?;
                chart.draw_series(
                    line.iter()
                        .map(|p| Circle::new(*p, 3, color(*peer).filled())),
                )?;
            }
        }
        Sweep::Conns => {
            let mut chart =
                builder.build_cartesian_2d((0.7f64..1500.0).log_scale(), (lo..hi).log_scale())?;
            chart
                .configure_mesh()
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|v| compact(*v))
                .x_desc(x_desc)
                .label_style((FONT, 12))
                .axis_desc_style((FONT, 13))
                .draw()?;
            for (peer, line) in &lines {
                chart.draw_series(LineSeries::new(line.iter().copied(), style(*peer)))?;
                chart.draw_series(
                    line.iter()
                        .map(|p| Circle::new(*p, 3, color(*peer).filled())),
                )?;
            }
        }
    }
    Ok(())
}

fn legend_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, peers: &[Peer]) -> Result {
    let font = (FONT, 15).into_font();
    area.draw(&Text::new("peers", (30, 30), (FONT, 17).into_font()))?;
    for (i, &peer) in peers.iter().enumerate() {
        let y = 60 + 28 * i as i32;
        area.draw(&Rectangle::new(
            [(30, y), (52, y + 16)],
            color(peer).filled(),
        ))?;
        let text = match peer {
            Peer::Raw => "raw floor: blocking std unix sockets, no protobuf",
            Peer::Wren => "wren, default server (a task per call)",
            Peer::WrenInline => "wren, inline handlers",
            Peer::TtrpcRust => "ttrpc-rust (crate ttrpc 0.10, async)",
            Peer::Tonic => "tonic 0.14, gRPC over a unix socket",
            Peer::Go => "Go ttrpc 1.1.1 (Debian; no streams)",
        };
        area.draw(&Text::new(text, (62, y), font.clone()))?;
    }
    let y = 60 + 28 * peers.len() as i32 + 10;
    area.draw(&PathElement::new(
        vec![(30, y + 8), (52, y + 8)],
        TARGET.stroke_width(2),
    ))?;
    area.draw(&Text::new("wren's target", (62, y), font.clone()))?;
    area.draw(&Text::new(
        "(a), (b′): server and client pinned to one CPU",
        (30, y + 34),
        font.clone(),
    ))?;
    area.draw(&Text::new(
        "A floor far beyond the others is cut off (▸).",
        (30, y + 58),
        font,
    ))?;
    Ok(())
}
