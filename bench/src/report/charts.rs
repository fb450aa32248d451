//! SVG charts (plotters): throughput relative to the fastest engine, p99
//! latency, and space / write amplification / peak memory.

use super::aggregate::{score, Medians};
use crate::workloads::{Metric, Status, WORKLOADS};
use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::prelude::*;
use std::path::Path;

type ChartResult = Result<(), Box<dyn std::error::Error>>;

/// One colour per engine, in report order (holdfast first).
fn colour(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 5] = [
        RGBColor(0xD9, 0x48, 0x01), // holdfast
        RGBColor(0x31, 0x82, 0xBD),
        RGBColor(0x31, 0xA3, 0x54),
        RGBColor(0x75, 0x6B, 0xB1),
        RGBColor(0x63, 0x63, 0x63),
    ];
    PALETTE[i % PALETTE.len()]
}

/// A horizontal grouped bar chart: one group per category (top to
/// bottom), one bar per engine. `values[e][c]` is engine `e`'s value for
/// category `c`; `log` plots log10 of the values.
struct Bars<'a> {
    title: &'a str,
    unit: &'a str,
    categories: Vec<String>,
    engines: &'a [String],
    values: Vec<Vec<Option<f64>>>,
    log: bool,
}

impl Bars<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> ChartResult
    where
        DB::ErrorType: 'static,
    {
        let t = |v: f64| if self.log { v.max(1e-3).log10() } else { v };
        let all: Vec<f64> = self
            .values
            .iter()
            .flatten()
            .flatten()
            .copied()
            .map(t)
            .collect();
        let hi = all.iter().copied().fold(f64::MIN, f64::max);
        let lo = if self.log {
            all.iter().copied().fold(f64::MAX, f64::min).floor()
        } else {
            0.0
        };
        // Headroom on the right for the legend.
        let hi = if hi <= lo {
            lo + 1.0
        } else if self.log {
            hi.ceil() + 0.7
        } else {
            hi * 1.3
        };
        // Each category is a group of one slot per engine plus a spacer;
        // slot 0 is at the bottom, so the first category is laid out last.
        let n = self.categories.len();
        let k = self.engines.len().max(1);
        let per = k + 1;
        let slots = n * per;
        let slot = |c: usize, e: usize| (n - 1 - c) * per + (k - e);
        let label_slot = |c: usize| (n - 1 - c) * per + per / 2;
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(150)
            .build_cartesian_2d(lo..hi, (0..slots - 1).into_segmented())?;
        let names = self.categories.clone();
        let log = self.log;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(slots + 1)
            // Log scale: one label per decade.
            .x_labels(if log { (hi - lo) as usize + 1 } else { 10 })
            .x_desc(self.unit)
            .x_label_formatter(&|v| {
                if log {
                    format_log_label(*v)
                } else {
                    format!("{v:.2}")
                }
            })
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => (0..n)
                    .find(|&c| label_slot(c) == *i)
                    .map(|c| names[c].clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(("sans-serif", 12))
            .draw()?;
        for (e, name) in self.engines.iter().enumerate() {
            let col = colour(e);
            let bars = self.values[e].iter().enumerate().filter_map(|(c, v)| {
                let i = slot(c, e);
                Some(Rectangle::new(
                    [
                        (lo, SegmentValue::Exact(i)),
                        (t((*v)?), SegmentValue::Exact(i + 1)),
                    ],
                    col.filled(),
                ))
            });
            chart
                .draw_series(bars)?
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()?;
        Ok(())
    }
}

fn format_log_label(v: f64) -> String {
    let x = 10f64.powf(v);
    if x >= 1000.0 {
        format!("{:.0}k", x / 1000.0)
    } else if x >= 1.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

fn ranked_rows() -> Vec<&'static str> {
    WORKLOADS
        .iter()
        .filter(|w| w.metric != Metric::Unranked && w.id != "fill-retention")
        .map(|w| w.id)
        .collect()
}

fn get<'a>(m: &'a Medians, wl: &str, e: &str) -> Option<&'a crate::workloads::Measurement> {
    m.get(&(wl.to_string(), e.to_string()))
        .filter(|m| m.status == Status::Ok)
}

/// Writes `throughput.svg`, `latency.svg` and `resources.svg` into `dir`.
pub fn write_all(dir: &Path, medians: &Medians, engines: &[String]) -> ChartResult {
    let rows = ranked_rows();
    let relative: Vec<Vec<Option<f64>>> = engines
        .iter()
        .map(|e| {
            rows.iter()
                .map(|wl| {
                    let best = engines
                        .iter()
                        .filter_map(|x| get(medians, wl, x).and_then(score))
                        .fold(0.0, f64::max);
                    let mine = get(medians, wl, e).and_then(score)?;
                    (best > 0.0).then(|| mine / best)
                })
                .collect()
        })
        .collect();
    let height = 80 + rows.len() as u32 * (10 + 9 * engines.len() as u32);
    {
        let path = dir.join("throughput.svg");
        let root = SVGBackend::new(&path, (1000, height)).into_drawing_area();
        root.fill(&WHITE)?;
        Bars {
            title:
                "Speed relative to the fastest engine (1 = fastest; reopen and recovery by time)",
            unit: "relative speed",
            categories: rows.iter().map(|s| s.to_string()).collect(),
            engines,
            values: relative,
            log: false,
        }
        .draw(&root)?;
        root.present()?;
    }
    let lat_rows: Vec<&str> = rows
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "reopen" | "recovery"))
        .collect();
    {
        let path = dir.join("latency.svg");
        let h = 80 + lat_rows.len() as u32 * (10 + 9 * engines.len() as u32);
        let root = SVGBackend::new(&path, (1000, h)).into_drawing_area();
        root.fill(&WHITE)?;
        Bars {
            title: "p99 latency of one operation (µs, log scale; lower is better)",
            unit: "µs",
            categories: lat_rows.iter().map(|s| s.to_string()).collect(),
            engines,
            values: engines
                .iter()
                .map(|e| {
                    lat_rows
                        .iter()
                        .map(|wl| get(medians, wl, e).and_then(|m| m.p99_us))
                        .collect()
                })
                .collect(),
            log: true,
        }
        .draw(&root)?;
        root.present()?;
    }
    {
        let path = dir.join("resources.svg");
        let root = SVGBackend::new(&path, (1000, 760)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((3, 1));
        let amp = |wl: &str,
                   f: &dyn Fn(&crate::workloads::Measurement) -> Option<f64>|
         -> Vec<Vec<Option<f64>>> {
            engines
                .iter()
                .map(|e| vec![get(medians, wl, e).and_then(f)])
                .collect()
        };
        let mut space = amp("fill-random", &|m| m.space_amp);
        let after = amp("compact", &|m| m.space_amp);
        for (s, a) in space.iter_mut().zip(after) {
            s.extend(a);
        }
        Bars {
            title: "Space amplification (disk bytes / logical bytes)",
            unit: "×",
            categories: vec!["after random fill".into(), "after compaction".into()],
            engines,
            values: space,
            log: false,
        }
        .draw(&panels[0])?;
        let mut writes = amp("fill-random", &|m| m.write_amp);
        let total = amp("compact", &|m| m.extra.get("write_amp_total").copied());
        for (w, t) in writes.iter_mut().zip(total) {
            w.extend(t);
        }
        Bars {
            title: "Bytes written to disk per logical byte (/proc/self/io)",
            unit: "×",
            categories: vec!["random fill".into(), "whole worker but sync writes".into()],
            engines,
            values: writes,
            log: false,
        }
        .draw(&panels[1])?;
        let peak: Vec<Vec<Option<f64>>> = engines
            .iter()
            .map(|e| {
                let p = medians
                    .iter()
                    .filter(|((_, en), m)| en == e && m.status == Status::Ok)
                    .filter_map(|(_, m)| m.peak_rss_bytes)
                    .max();
                vec![p.map(|b| b as f64 / (1 << 20) as f64)]
            })
            .collect();
        Bars {
            title: "Peak resident memory (MiB, max over workloads)",
            unit: "MiB",
            categories: vec!["peak RSS".into()],
            engines,
            values: peak,
            log: false,
        }
        .draw(&panels[2])?;
        root.present()?;
    }
    Ok(())
}
