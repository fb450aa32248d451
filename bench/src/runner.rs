//! Process structure. The parent runs, for each run, each engine in a
//! fresh worker process (so that peak memory, bytes written and caches
//! belong to one engine), reads the worker's measurements from its
//! standard output, and finally writes the report. The recovery workload
//! starts one more child, which it kills.

use crate::config::Config;
use crate::engines::EngineKind;
use crate::workloads::{self, Ctx, Measurement, Status, Tag};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Prefix of a measurement line on a worker's standard output.
const RESULT: &str = "RESULT ";

/// Runs every run of every engine; returns all measurements.
pub fn run_parent(cfg: &Config) -> Vec<Measurement> {
    let mut all = Vec::new();
    let exe = std::env::current_exe().expect("the path of this executable");
    let cfg_json = serde_json::to_string(cfg).expect("the configuration serializes");
    for run in 1..=cfg.runs {
        for &engine in &cfg.engines {
            eprintln!("== run {run}/{}: {}", cfg.runs, engine.name());
            let started = Instant::now();
            let mut got = run_worker(&exe, &cfg_json, engine, run);
            if !got.iter().any(|m| m.workload == "fill-random") && cfg.wants("fill-random") {
                got.push(Measurement::empty(
                    Tag {
                        engine,
                        run,
                        rep: 1,
                    },
                    "fill-random",
                    Status::Failed,
                    "the worker produced no result".into(),
                ));
            }
            eprintln!(
                "== {} done in {:.1} s",
                engine.name(),
                started.elapsed().as_secs_f64()
            );
            all.extend(got);
        }
    }
    let _ = std::fs::remove_dir_all(&cfg.work_dir);
    all
}

fn run_worker(
    exe: &std::path::Path,
    cfg_json: &str,
    engine: EngineKind,
    run: u32,
) -> Vec<Measurement> {
    let spawned = Command::new(exe)
        .arg("__worker")
        .arg(cfg_json)
        .arg(engine.name())
        .arg(run.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let why = format!("cannot start the worker: {e}");
            return vec![Measurement::empty(
                Tag {
                    engine,
                    run,
                    rep: 1,
                },
                "fill-random",
                Status::Failed,
                why,
            )];
        }
    };
    let mut got = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match line
                .strip_prefix(RESULT)
                .map(serde_json::from_str::<Measurement>)
            {
                Some(Ok(m)) => {
                    eprintln!("   {}", summary(&m));
                    got.push(m);
                }
                Some(Err(e)) => eprintln!("   unreadable result line ({e}): {line}"),
                // Something an engine printed: pass it on.
                None => eprintln!("   [{}] {line}", engine.name()),
            }
        }
    }
    match child.wait() {
        Ok(status) if status.success() => {}
        Ok(status) => {
            let why = format!(
                "the worker exited with {status} after {} results",
                got.len()
            );
            eprintln!("   {why}");
            got.push(Measurement::empty(
                Tag {
                    engine,
                    run,
                    rep: 1,
                },
                "worker",
                Status::Failed,
                why,
            ));
        }
        Err(e) => eprintln!("   waiting for the worker failed: {e}"),
    }
    got
}

/// One line about a measurement, for the progress log.
fn summary(m: &Measurement) -> String {
    match m.status {
        Status::Ok => format!(
            "{:<14} #{} {:>10} ops/s  p50 {:>8} µs  p99 {:>8} µs  {:>6.2} s{}",
            m.workload,
            m.rep,
            m.ops_per_sec.map_or("-".into(), |v| format!("{v:.0}")),
            m.p50_us.map_or("-".into(), |v| format!("{v:.1}")),
            m.p99_us.map_or("-".into(), |v| format!("{v:.1}")),
            m.secs,
            if m.note.is_empty() {
                String::new()
            } else {
                format!("  ({})", m.note)
            }
        ),
        Status::NotApplicable => format!("{:<14} n/a ({})", m.workload, m.note),
        Status::Failed => format!("{:<14} FAILED: {}", m.workload, m.note),
    }
}

/// Worker side: runs every workload on one engine and prints each
/// measurement as a `RESULT {json}` line.
pub fn run_worker_main(cfg_json: &str, engine: &str, run: &str) -> Result<(), String> {
    let cfg: crate::config::Config =
        serde_json::from_str(cfg_json).map_err(|e| format!("bad configuration: {e}"))?;
    let engine = EngineKind::parse(engine).ok_or_else(|| format!("unknown engine {engine}"))?;
    let run: u32 = run.parse().map_err(|_| format!("bad run number {run}"))?;
    let dir = cfg.work_dir.join(format!("{}-run{run}", engine.name()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("clearing {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut ctx = Ctx {
        cfg: &cfg,
        engine,
        run,
        rep: 1,
        dir: dir.clone(),
        live_records: 0,
        logical_writes: 0,
        sync_disk_bytes: 0,
        seed: cfg.seed ^ u64::from(run),
    };
    let stdout = std::io::stdout();
    workloads::run_all(&mut ctx, &mut |m| {
        let line = serde_json::to_string(&m).expect("a measurement serializes");
        let mut out = stdout.lock();
        // The parent reads these; if it is gone there is no one to tell.
        let _ = writeln!(out, "{RESULT}{line}");
        let _ = out.flush();
    });
    std::fs::remove_dir_all(&dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
    Ok(())
}
