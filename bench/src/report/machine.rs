//! The machine, toolchain and versions a report was made on.

use crate::engines::EngineKind;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Facts about where and with what the benchmark ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// Total memory, GiB.
    pub memory_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// File system (type and device) holding the databases.
    pub filesystem: String,
    /// rustc that built the benchmark.
    pub rustc: String,
    /// Date of the run (UTC).
    pub date: String,
    /// `/proc/loadavg` (1, 5, 15 minutes) when the report was written: how
    /// busy the machine was with other work.
    pub load_average: String,
    /// Engine name → crate version.
    pub versions: Vec<(String, String)>,
    /// The holdfast commit benchmarked (`git describe` of the working
    /// tree, `-dirty` when `src/` has uncommitted changes).
    #[serde(default)]
    pub holdfast_commit: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Looks around.
pub fn describe(work_dir: &Path) -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = read("/proc/meminfo");
    let mem_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let mut versions: Vec<(String, String)> = EngineKind::ALL
        .iter()
        .map(|e| (e.name().to_string(), e.version().to_string()))
        .collect();
    versions.push((
        "librocksdb-sys".into(),
        env!("BENCH_VERSION_LIBROCKSDB_SYS").into(),
    ));
    Machine {
        cpu,
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib: (mem_kib / (1024.0 * 1024.0) * 10.0).round() / 10.0,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        filesystem: filesystem_of(work_dir),
        rustc: env!("BENCH_RUSTC_VERSION").to_string(),
        date: today_utc(),
        holdfast_commit: holdfast_commit(),
        load_average: read("/proc/loadavg")
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        versions,
    }
}

/// `git rev-parse --short HEAD` of the holdfast checkout this binary was
/// built from, plus `-dirty` if its `src/` differs from that commit.
fn holdfast_commit() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--", "src"]) {
            Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
            _ => head,
        },
        None => "unknown".into(),
    }
}

/// The mount with the longest prefix of `dir`, as "type on device (mount)".
fn filesystem_of(dir: &Path) -> String {
    let dir = dir
        .ancestors()
        .find_map(|a| a.canonicalize().ok())
        .unwrap_or_else(|| dir.to_path_buf());
    read("/proc/mounts")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && dir.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} on {} ({})", f[2], f[0], f[1])))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".into(), |(_, d)| d)
}

/// Today's date, `YYYY-MM-DD`, from the system clock (civil-from-days).
fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn describes_this_machine() {
        let m = super::describe(&std::env::temp_dir());
        assert!(m.cpus >= 1);
        assert_eq!(m.date.len(), 10);
        assert!(m.versions.iter().any(|(n, _)| n == "holdfast"));
    }
}
