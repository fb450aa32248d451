//! The benchmark's settings: sizes, operation counts, runs, engines, and
//! where to work and write. Parsed from the command line by the parent and
//! handed to each worker process as JSON.

use crate::engines::EngineKind;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything a run needs to know.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    /// Records loaded by each fill (and written before the kill in the
    /// recovery workload).
    pub records: u64,
    /// Writes in the overwrite workload.
    pub write_ops: u64,
    /// Reads in each point-read workload.
    pub read_ops: u64,
    /// Seeks in the scan workload.
    pub scan_ops: u64,
    /// Sync writes in each sync-write workload (all threads together).
    pub sync_ops: u64,
    /// Operations in each YCSB workload (E: a fifth of it, scans are long).
    pub ycsb_ops: u64,
    /// Time cap, in seconds, on each workload that is not a fill: it stops
    /// early, and reports the operations it did, if the cap is reached.
    pub cap_secs: f64,
    /// Independent runs: each engine's whole sequence in a fresh process.
    pub runs: u32,
    /// Repetitions, within a run, of every workload except the two fills
    /// and compaction (which run once per run). Figures are the median
    /// over all runs and repetitions.
    pub reps: u32,
    /// Engines to run, holdfast first.
    pub engines: Vec<EngineKind>,
    /// Only these workloads (ids), or all when empty.
    pub only: Vec<String>,
    /// Where databases are created (removed afterwards).
    pub work_dir: PathBuf,
    /// Where results, charts and the markdown fragment are written.
    pub out_dir: PathBuf,
    /// Whether this is the `--quick` smoke run.
    pub quick: bool,
    /// Seed of every random choice.
    pub seed: u64,
    /// The command line, for the report.
    pub command: String,
}

/// Help text for `--help`.
pub const USAGE: &str = "\
holdfast-bench: holdfast side by side with RocksDB, fjall, redb and sled

USAGE: holdfast-bench [OPTIONS]

  --quick             seconds-long smoke run (20,000 records, 1 run, 2 reps);
                      writes to target/bench-quick unless --out is given
  --records N         records per fill (default 1000000)
  --runs N            independent runs, each engine in a fresh process (default 1)
  --reps N            repetitions of each non-fill workload per run (default 3);
                      figures are medians over runs x reps
  --engines A,B,...   engines to run (default: every one compiled in)
  --only W1,W2,...    only these workloads (ids as in the output)
  --write-ops N       overwrite workload writes (default records/5)
  --read-ops N        reads per read workload (default records/4)
  --scan-ops N        seeks in the scan workload (default records/50)
  --sync-ops N        sync writes per sync workload (default 2000)
  --ycsb-ops N        operations per YCSB workload (default records/10; E a fifth)
  --cap-secs S        time cap per non-fill workload and repetition (default 3)
  --out DIR           output directory (default docs/bench)
  --work-dir DIR      where databases are created (default: a temporary dir)
  --seed N            random seed (default 42)

  --report-only FILE [--out DIR]
                      rewrite the report from an earlier results.json
";

impl Config {
    /// Parses the command line (without the program name).
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut records: u64 = if quick { 20_000 } else { 1_000_000 };
        let mut runs: u32 = 1;
        let mut reps: u32 = if quick { 2 } else { 3 };
        let mut opt = Overrides::default();
        let mut engines = EngineKind::available();
        let mut only = Vec::new();
        let mut out_dir = PathBuf::from(if quick {
            "target/bench-quick"
        } else {
            "docs/bench"
        });
        let mut work_dir =
            std::env::temp_dir().join(format!("holdfast-bench-{}", std::process::id()));
        let mut seed = 42;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{arg} needs a value"))
            };
            match arg.as_str() {
                "--quick" => {}
                "--records" => records = number(&value()?)?,
                "--runs" => runs = number(&value()?)? as u32,
                "--reps" => reps = number(&value()?)? as u32,
                "--write-ops" => opt.write_ops = Some(number(&value()?)?),
                "--read-ops" => opt.read_ops = Some(number(&value()?)?),
                "--scan-ops" => opt.scan_ops = Some(number(&value()?)?),
                "--sync-ops" => opt.sync_ops = Some(number(&value()?)?),
                "--ycsb-ops" => opt.ycsb_ops = Some(number(&value()?)?),
                "--cap-secs" => {
                    let v = value()?;
                    opt.cap_secs = Some(v.parse().map_err(|_| format!("bad number {v}"))?);
                }
                "--seed" => seed = number(&value()?)?,
                "--out" => out_dir = PathBuf::from(value()?),
                "--work-dir" => work_dir = PathBuf::from(value()?),
                "--engines" => engines = parse_engines(&value()?)?,
                "--only" => only = value()?.split(',').map(str::to_string).collect(),
                other => return Err(format!("unknown argument {other}\n\n{USAGE}")),
            }
        }
        if records < 1000 {
            return Err("--records must be at least 1000".into());
        }
        if runs == 0 || reps == 0 {
            return Err("--runs and --reps must be at least 1".into());
        }
        let scale = |div: u64, min: u64| (records / div).max(min);
        Ok(Config {
            records,
            write_ops: opt.write_ops.unwrap_or(scale(5, 1000)),
            read_ops: opt.read_ops.unwrap_or(scale(4, 1000)),
            scan_ops: opt.scan_ops.unwrap_or(scale(50, 100)),
            sync_ops: opt.sync_ops.unwrap_or(if quick { 100 } else { 2000 }),
            ycsb_ops: opt.ycsb_ops.unwrap_or(scale(10, 1000)),
            cap_secs: opt.cap_secs.unwrap_or(if quick { 1.0 } else { 3.0 }),
            runs,
            reps,
            engines,
            only,
            work_dir,
            out_dir,
            quick,
            seed,
            command: std::iter::once("holdfast-bench".to_string())
                .chain(args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" "),
        })
    }

    /// Whether workload `id` is to run.
    pub fn wants(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|w| w == id)
    }
}

#[derive(Default)]
struct Overrides {
    write_ops: Option<u64>,
    read_ops: Option<u64>,
    scan_ops: Option<u64>,
    sync_ops: Option<u64>,
    ycsb_ops: Option<u64>,
    cap_secs: Option<f64>,
}

fn number(s: &str) -> Result<u64, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("bad number {s}"))
}

fn parse_engines(list: &str) -> Result<Vec<EngineKind>, String> {
    let mut engines = Vec::new();
    for name in list.split(',') {
        let kind = EngineKind::parse(name).ok_or_else(|| format!("unknown engine {name}"))?;
        if !kind.compiled_in() {
            return Err(format!(
                "{name} is not compiled in: build with `--features {name}`"
            ));
        }
        engines.push(kind);
    }
    engines.sort();
    engines.dedup();
    Ok(engines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_args(&[]).expect("defaults");
        assert_eq!(
            (c.records, c.runs, c.reps, c.read_ops),
            (1_000_000, 1, 3, 250_000)
        );
        assert_eq!(c.engines[0], EngineKind::Holdfast);
        let q = Config::from_args(&args("--quick --engines holdfast --read-ops 5")).expect("quick");
        assert_eq!((q.records, q.runs, q.reps, q.read_ops), (20_000, 1, 2, 5));
        assert_eq!(q.engines, vec![EngineKind::Holdfast]);
        assert!(Config::from_args(&args("--bogus")).is_err());
        assert!(Config::from_args(&args("--records")).is_err());
        assert!(Config::from_args(&args("--engines nope")).is_err());
    }
}
