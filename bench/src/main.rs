//! holdfast-bench: runs the same workloads against holdfast and its peers
//! (RocksDB, fjall, redb, sled), one engine after another, each in its own
//! process on fresh directories, and writes a report: a markdown table with
//! holdfast's ratio to the best peer, every figure as CSV and JSON, and SVG
//! charts. See `bench/README.md`.
//!
//! ```text
//! cargo run --release -p holdfast-bench -- --quick          # seconds
//! cargo run --release -p holdfast-bench                     # default run
//! cargo run --release -p holdfast-bench --features rocksdb  # with RocksDB
//! ```

mod config;
mod engines;
mod keys;
mod measure;
mod report;
mod runner;
mod workloads;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        // Internal: one engine's workloads, in a child process.
        Some("__worker") if args.len() == 4 => {
            exit(runner::run_worker_main(&args[1], &args[2], &args[3]))
        }
        // Internal: the writer that the recovery workload kills.
        Some("__kill-child") if args.len() == 5 => exit(kill_child(&args[1..])),
        Some("--report-only") if args.len() >= 2 => exit(report_only(&args[1..])),
        Some("--help" | "-h") => {
            print!("{}", config::USAGE);
            ExitCode::SUCCESS
        }
        _ => exit(parent(&args)),
    }
}

fn exit(outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("holdfast-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parent(args: &[String]) -> Result<(), String> {
    let cfg = config::Config::from_args(args)?;
    let names: Vec<&str> = cfg.engines.iter().map(|e| e.name()).collect();
    eprintln!(
        "holdfast-bench: {} records, {} run(s), engines {}; databases in {}",
        cfg.records,
        cfg.runs,
        names.join(", "),
        cfg.work_dir.display()
    );
    let started = std::time::Instant::now();
    let runs = runner::run_parent(&cfg);
    let machine = report::machine::describe(&cfg.work_dir);
    let written =
        report::write_all(&cfg, &machine, &runs).map_err(|e| format!("writing the report: {e}"))?;
    println!("{}", written.markdown);
    for f in &written.files {
        eprintln!("wrote {}", f.display());
    }
    eprintln!(
        "holdfast-bench: done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let failed: Vec<String> = runs
        .iter()
        .filter(|m| m.status == workloads::Status::Failed)
        .map(|m| format!("{} {} run {}: {}", m.engine, m.workload, m.run, m.note))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} measurement(s) failed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        ))
    }
}

/// `--report-only RESULTS.json [--out DIR]`: the report again from the
/// figures of an earlier run (into DIR, by default the file's directory).
fn report_only(args: &[String]) -> Result<(), String> {
    let path = std::path::Path::new(&args[0]);
    let saved =
        report::files::load(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut cfg = saved.config;
    cfg.out_dir = match args.get(1..) {
        Some([flag, dir]) if flag == "--out" => dir.into(),
        Some([]) => path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default(),
        _ => return Err("usage: --report-only RESULTS.json [--out DIR]".into()),
    };
    let written = report::write_all(&cfg, &saved.machine, &saved.runs)
        .map_err(|e| format!("writing the report: {e}"))?;
    println!("{}", written.markdown);
    Ok(())
}

/// `__kill-child ENGINE DIR RECORDS RUN`.
fn kill_child(args: &[String]) -> Result<(), String> {
    let [engine, dir, records, run] = args else {
        return Err("usage: __kill-child ENGINE DIR RECORDS RUN".into());
    };
    let run: u32 = run.parse().map_err(|_| format!("bad run number {run}"))?;
    let engine =
        engines::EngineKind::parse(engine).ok_or_else(|| format!("unknown engine {engine}"))?;
    let records: u64 = records
        .parse()
        .map_err(|_| format!("bad record count {records}"))?;
    workloads::lifecycle::kill_child_main(engine, std::path::Path::new(dir), records, run)
        .map_err(|e| e.to_string())
}
