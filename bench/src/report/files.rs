//! Every figure as JSON (runs and medians, with the machine and settings)
//! and as CSV (one row per run and per median).

use super::aggregate::Medians;
use super::machine::Machine;
use crate::config::Config;
use crate::engines::EngineKind;
use crate::workloads::{Measurement, Status};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Serialize)]
struct Document<'a> {
    command: &'a str,
    machine: &'a Machine,
    config: &'a Config,
    durability: Vec<(&'static str, &'static str)>,
    medians: Vec<&'a Measurement>,
    runs: &'a [Measurement],
}

/// What `--report-only` reads back from a `results.json`.
#[derive(Deserialize)]
pub struct Saved {
    /// The settings of the run.
    pub config: Config,
    /// Where it ran.
    pub machine: Machine,
    /// Every measurement.
    pub runs: Vec<Measurement>,
}

/// Reads a `results.json` written by an earlier run.
pub fn load(path: &std::path::Path) -> Result<Saved, Box<dyn std::error::Error>> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

/// The JSON document.
pub fn json(cfg: &Config, machine: &Machine, medians: &Medians, runs: &[Measurement]) -> String {
    let doc = Document {
        command: &cfg.command,
        machine,
        config: cfg,
        durability: cfg
            .engines
            .iter()
            .map(|e| (e.name(), e.durability()))
            .collect(),
        medians: medians.values().collect(),
        runs,
    };
    serde_json::to_string_pretty(&doc).expect("the report serializes")
}

const HEADER: &str = "engine,workload,run,rep,status,ops,secs,ops_per_sec,p50_us,p99_us,\
peak_rss_mib,disk_write_bytes,logical_write_bytes,write_amp,disk_bytes,logical_bytes,\
space_amp,extra,note";

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.4}"))
}

fn quoted(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn row(m: &Measurement) -> String {
    let status = match m.status {
        Status::Ok => "ok",
        Status::NotApplicable => "n/a",
        Status::Failed => "failed",
    };
    let extra: Vec<String> = m.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
    [
        m.engine.clone(),
        m.workload.clone(),
        if m.run == 0 {
            "median".into()
        } else {
            m.run.to_string()
        },
        if m.rep == 0 {
            "median".into()
        } else {
            m.rep.to_string()
        },
        status.into(),
        m.ops.to_string(),
        format!("{:.6}", m.secs),
        opt(m.ops_per_sec),
        opt(m.p50_us),
        opt(m.p99_us),
        opt(m.peak_rss_bytes.map(|b| b as f64 / (1 << 20) as f64)),
        m.disk_write_bytes.map_or(String::new(), |v| v.to_string()),
        m.logical_write_bytes.to_string(),
        opt(m.write_amp),
        m.disk_bytes.map_or(String::new(), |v| v.to_string()),
        m.logical_bytes.map_or(String::new(), |v| v.to_string()),
        opt(m.space_amp),
        quoted(&extra.join(";")),
        quoted(&m.note),
    ]
    .join(",")
}

/// The CSV: medians first (run = `median`), then every run.
pub fn csv(medians: &Medians, runs: &[Measurement]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADER}");
    for m in medians.values().chain(runs) {
        let _ = writeln!(out, "{}", row(m));
    }
    out
}

/// The engine names in report order.
pub fn engine_names(engines: &[EngineKind]) -> Vec<String> {
    engines.iter().map(|e| e.name().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_counts_columns() {
        let mut m = Measurement::empty(
            crate::workloads::Tag {
                engine: EngineKind::Redb,
                run: 2,
                rep: 1,
            },
            "compact",
            Status::Ok,
            "a, \"b\"".into(),
        );
        m.extra.insert("x".into(), 1.5);
        let line = row(&m);
        assert!(line.ends_with("\"a, \"\"b\"\"\""), "{line}");
        let text = csv(&Medians::new(), &[m]);
        assert_eq!(text.lines().count(), 2);
        assert_eq!(HEADER.split(',').count(), 19);
    }
}
