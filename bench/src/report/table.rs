//! The markdown fragment for `docs/benchmarks.md`: holdfast's ratio to the
//! best peer, all throughputs and latencies, space/writes/memory, the
//! charts, the machine and versions, the command, and the fairness notes.

use super::aggregate::{ratios, Medians};
use super::machine::Machine;
use crate::config::Config;
use crate::engines::EngineKind;
use crate::workloads::lifecycle::NO_COMPACTION;
use crate::workloads::{workload, Measurement, Metric, Status, WORKLOADS};
use std::fmt::Write as _;

/// `1234567.0` → `1.23 M`, `12345.0` → `12.3 k`.
pub fn rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e5 {
        format!("{:.0} k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Seconds, with a unit that keeps three digits.
pub fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

/// Microseconds with three significant digits.
pub fn micros(us: f64) -> String {
    if us >= 100.0 {
        format!("{us:.0}")
    } else if us >= 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.2}")
    }
}

/// The cell for one median in a table of headline figures.
fn headline(m: Option<&Measurement>) -> String {
    let Some(m) = m else { return "–".into() };
    match m.status {
        Status::NotApplicable => "n/a".into(),
        Status::Failed => "failed".into(),
        Status::Ok => match workload(&m.workload).map(|w| w.metric) {
            Some(Metric::Seconds) => seconds(m.secs),
            Some(Metric::Throughput) => m.ops_per_sec.map_or("–".into(), rate),
            _ if m.extra.contains_key(NO_COMPACTION) => "n/a".into(),
            _ => seconds(m.secs),
        },
    }
}

fn get<'a>(medians: &'a Medians, wl: &str, engine: &str) -> Option<&'a Measurement> {
    medians.get(&(wl.to_string(), engine.to_string()))
}

fn mib(b: u64) -> String {
    format!("{:.0}", b as f64 / (1 << 20) as f64)
}

/// The whole fragment.
pub fn markdown(
    cfg: &Config,
    machine: &Machine,
    medians: &Medians,
    engines: &[String],
    chart_dir: &str,
) -> String {
    let mut o = String::new();

    let _ = writeln!(o, "## Comparison with RocksDB, fjall, redb and sled\n");
    let _ = writeln!(
        o,
        "{} records of 16-byte keys and 100-byte incompressible values; {}; \
         engines: {}. Machine: {} ({} CPUs, {} GiB), Linux {}, {}; {}; {}; load average at the end {}.\n",
        cfg.records,
        samples(cfg),
        engines.join(", "),
        machine.cpu,
        machine.cpus,
        machine.memory_gib,
        machine.kernel,
        machine.filesystem,
        machine.rustc,
        machine.date,
        machine.load_average,
    );
    let versions: Vec<String> = machine
        .versions
        .iter()
        .filter(|(n, _)| {
            n != "holdfast"
                && (engines.contains(n)
                    || (n == "librocksdb-sys" && engines.iter().any(|e| e == "rocksdb")))
        })
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    let _ = writeln!(
        o,
        "Versions: holdfast {} (commit {}){}{}.\n",
        EngineKind::Holdfast.version(),
        machine.holdfast_commit,
        if versions.is_empty() { "" } else { ", " },
        versions.join(", ")
    );
    let _ = writeln!(
        o,
        "Command: `cargo run --release -p holdfast-bench{}{}` (RocksDB needs libclang-dev: \
         `bash bench/run-full.sh` installs it)\n",
        if engines.iter().any(|e| e == "rocksdb") {
            " --features rocksdb"
        } else {
            ""
        },
        match cfg.command.trim_start_matches("holdfast-bench").trim() {
            "" => String::new(),
            args => format!(" -- {args}"),
        }
    );

    let _ = writeln!(o, "### holdfast against the best peer\n");
    let _ = writeln!(o, "Ratio = holdfast ÷ best peer for throughput, best peer ÷ holdfast for times: above 1 holdfast is ahead. Sync writes compare only engines whose sync write is an fsync/fdatasync (not sled: see Fairness).\n");
    let _ = writeln!(o, "| Workload | holdfast | best peer | ratio |");
    let _ = writeln!(o, "|---|---:|---|---:|");
    for r in ratios(medians, engines) {
        let title = workload(r.workload).map_or(r.workload, |w| w.title);
        let peer = r.best_peer.as_ref().map_or("–".into(), |m| {
            format!("{} {}", m.engine, headline(Some(m)))
        });
        let ratio = r.ratio.map_or("–".into(), |x| format!("{x:.2}×"));
        let _ = writeln!(
            o,
            "| {title} | {} | {peer} | {ratio} |",
            headline(r.holdfast.as_ref())
        );
    }

    let _ = writeln!(
        o,
        "\n### Throughput (operations/s; times for reopen and recovery)\n"
    );
    let _ = writeln!(o, "| Workload | {} |", engines.join(" | "));
    let _ = writeln!(o, "|---|{}", "---:|".repeat(engines.len()));
    for w in WORKLOADS {
        let cells: Vec<String> = engines
            .iter()
            .map(|e| headline(get(medians, w.id, e)))
            .collect();
        let _ = writeln!(o, "| {} | {} |", w.title, cells.join(" | "));
    }

    let _ = writeln!(o, "\n### Latency of one operation, p50 / p99 (µs)\n");
    let _ = writeln!(
        o,
        "Fills: the closing durable flush is in the throughput above, not in these latencies.\n"
    );
    let _ = writeln!(o, "| Workload | {} |", engines.join(" | "));
    let _ = writeln!(o, "|---|{}", "---:|".repeat(engines.len()));
    for w in WORKLOADS.iter().filter(|w| w.metric == Metric::Throughput) {
        let cells: Vec<String> = engines
            .iter()
            .map(|e| match get(medians, w.id, e) {
                Some(m) if m.status == Status::Ok => match (m.p50_us, m.p99_us) {
                    (Some(a), Some(b)) => format!("{} / {}", micros(a), micros(b)),
                    _ => "–".into(),
                },
                other => headline(other),
            })
            .collect();
        let _ = writeln!(o, "| {} | {} |", w.title, cells.join(" | "));
    }

    let _ = writeln!(o, "\n### Space, bytes written and memory\n");
    let _ = writeln!(o, "| | {} |", engines.join(" | "));
    let _ = writeln!(o, "|---|{}", "---:|".repeat(engines.len()));
    let rows: [(&str, Cell); 7] = [
        (
            "Space amplification after the random fill",
            Box::new(|e: &str| fig(get(medians, "fill-random", e).and_then(|m| m.space_amp), 2)),
        ),
        (
            "Space amplification after compaction ¹",
            Box::new(|e: &str| fig(get(medians, "compact", e).and_then(|m| m.space_amp), 2)),
        ),
        (
            "Bytes written per logical byte, random fill",
            Box::new(|e: &str| fig(get(medians, "fill-random", e).and_then(|m| m.write_amp), 2)),
        ),
        (
            "Bytes written per logical byte, whole worker but sync writes ²",
            Box::new(|e: &str| {
                fig(
                    get(medians, "compact", e)
                        .and_then(|m| m.extra.get("write_amp_total").copied()),
                    2,
                )
            }),
        ),
        (
            "Peak resident memory, MiB (max over workloads) ³",
            Box::new(|e: &str| {
                let peak = medians
                    .iter()
                    .filter(|((_, en), _)| en == e)
                    .filter_map(|(_, m)| m.peak_rss_bytes)
                    .max();
                peak.map_or("–".into(), mib)
            }),
        ),
        (
            "Full compaction time",
            Box::new(|e: &str| headline(get(medians, "compact", e))),
        ),
        (
            "Records recovered after the kill",
            Box::new(|e: &str| {
                get(medians, "recovery", e)
                    .and_then(|m| {
                        Some((
                            m.extra.get("records_recovered")?,
                            m.extra.get("records_written")?,
                        ))
                    })
                    .map_or("–".into(), |(r, w)| format!("{r:.0} of {w:.0}"))
            }),
        ),
    ];
    for (label, cell) in rows.iter() {
        let cells: Vec<String> = engines.iter().map(|e| cell(e)).collect();
        let _ = writeln!(o, "| {label} | {} |", cells.join(" | "));
    }
    let _ = writeln!(o, "\n¹ Engines without manual compaction (sled): the figure is after a durable flush. \
        ² Everything the worker process wrote to storage (random fill, overwrites, YCSB, compaction and the background work they caused) ÷ the key and value bytes those workloads wrote, from `/proc/self/io`; the sync-write workloads are left out (a 116-byte write made durable alone costs at least a 4 KiB page, and faster engines do more of them within the time cap). \
        ³ `VmHWM`, reset before each workload; it counts touched pages of memory-mapped files, so engines that read through `mmap` (holdfast, redb) include page-cache pages there.\n");

    let _ = writeln!(o, "### Charts\n");
    for (file, alt) in [
        (
            "throughput.svg",
            "Throughput relative to the fastest engine, per workload",
        ),
        ("latency.svg", "p99 latency per workload (log scale)"),
        (
            "resources.svg",
            "Space amplification, write amplification and peak memory",
        ),
    ] {
        let _ = writeln!(o, "![{alt}]({chart_dir}/{file})\n");
    }

    let _ = writeln!(o, "### Fairness\n");
    let _ = writeln!(o, "- Same data for every engine: {} records of 16-byte keys and 100-byte values that do not compress (xorshift output), keys in random order for the random fill; every engine on a fresh directory, each in its own process (so memory and I/O counters are its own).", cfg.records);
    let _ = writeln!(o, "- Every engine runs with its documented defaults; no tuning. One write per call (no batching). Durability settings used:");
    for e in &cfg.engines {
        if engines.iter().any(|n| n == e.name()) {
            let _ = writeln!(
                o,
                "  - **{}** {}: {}.",
                e.name(),
                e.version(),
                e.durability()
            );
        }
    }
    let _ = writeln!(o, "- Not equal by design: a buffered write in holdfast, RocksDB and fjall reaches the OS before the call returns and survives a process crash; in redb and sled it does not until the next durable commit or flush. Sync writes are equal: durable before the call returns. Fills end with each engine's durable flush, inside the timing.");
    let _ = writeln!(o, "- Recovery: a child process runs the sequential fill ({} records), flushes durably and is killed with SIGKILL, without a clean close; whatever each engine's defaults left in its log is replayed on open (holdfast, RocksDB and fjall have flushed most memtables to tables by then). The crash image is copied once and each repetition opens a fresh copy.", cfg.records);
    let _ = writeln!(o, "- Page cache: warm and not dropped between workloads; the data set (≈{} MiB logical) fits in memory many times over, so reads measure the engines' CPU paths, not the disk.",
        (cfg.records * crate::workloads::RECORD_BYTES) >> 20);
    let _ = writeln!(o, "- Several runs, median quoted: {}. Engines run one after another, each in a fresh worker process; the machine is shared with other builds, so single samples are noisy.", samples(cfg));
    let _ = writeln!(o, "- Non-fill workloads stop at their operation count or after {} s, whichever comes first; reads: {}, scans: {}, sync writes: {}, YCSB: {} per workload (E: {}).",
        cfg.cap_secs, cfg.read_ops, cfg.scan_ops, cfg.sync_ops, cfg.ycsb_ops, cfg.ycsb_ops / 5);
    let _ = writeln!(o, "- YCSB: one client thread, request keys from a scrambled zipfian with constant 0.99 (D: skewed-latest), scan lengths uniform 1–100, run in order A–F on the database the random fill loaded.");
    let retention = get(medians, "fill-retention", "holdfast");
    let plain = retention.and_then(|m| m.extra.get("plain_fill_ops_per_sec"));
    match (retention.and_then(|m| m.ops_per_sec), plain) {
        (Some(with), Some(&without)) => {
            let _ = writeln!(o, "- *Fill with a retention policy per record*: holdfast only (no peer has per-record retention); every record written with `put_with` under a policy (retain 7 years, then dispose). A plain fill of the same records on a fresh directory runs just before it in the same worker: {} with retention against {} plain, a cost of {:.0} % over plain puts.", rate(with), rate(without), (without / with - 1.0) * 100.0);
        }
        _ => {
            let _ = writeln!(o, "- *Fill with a retention policy per record*: holdfast only; no peer has per-record retention.");
        }
    }
    o
}

/// One cell of the resources table, from an engine name.
type Cell<'a> = Box<dyn Fn(&str) -> String + 'a>;

/// How many samples each median is over, in words.
fn samples(cfg: &Config) -> String {
    let runs = if cfg.runs == 1 {
        "1 run".to_string()
    } else {
        format!("{} runs", cfg.runs)
    };
    format!(
        "medians over {runs} × {} repetitions (the fills and compaction: once per run)",
        cfg.reps
    )
}

fn fig(v: Option<f64>, decimals: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(rate(1_234_567.0), "1.23 M");
        assert_eq!(rate(123_456.0), "123 k");
        assert_eq!(rate(12_345.0), "12.3 k");
        assert_eq!(rate(123.4), "123");
        assert_eq!(seconds(0.0123), "12.3 ms");
        assert_eq!(seconds(2.5), "2.50 s");
        assert_eq!(micros(4.567), "4.57");
    }
}
