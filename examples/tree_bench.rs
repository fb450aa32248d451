//! Whole-engine measurements on data far larger than the memtable: fill
//! (sequential and random), random reads of present and absent keys, scans
//! of 100 keys, reopen time, space amplification after `compact()`, and the
//! peak resident memory (anonymous and file-backed, sampled from
//! `/proc/self/status`).
//!
//! ```text
//! cargo run --release --example tree_bench -- [records] [memtable MiB]
//! cargo run --release --example tree_bench -- 1000000 64     # the benchmark table
//! cargo run --release --example tree_bench -- 10000000 8     # the memory bound
//! ```
//! 16-byte keys, 100-byte incompressible values. Prints one line per
//! measurement; `docs/benchmarks.md` holds the figures.

use holdfast::{Db, Options};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const VALUE_LEN: usize = 100;

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&i.to_be_bytes());
    k[8..].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    k
}

/// A scrambled permutation of 0..n (for random order without repeats).
fn scrambled(i: u64, n: u64) -> u64 {
    // n is not a power of two in general: walk a multiplicative step that
    // is coprime with n.
    let step = (0..)
        .map(|d| 0x9E37_79B9u64 + d)
        .find(|s| gcd(*s, n) == 1)
        .unwrap_or(1);
    (i.wrapping_mul(step)) % n
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn value(i: u64) -> [u8; VALUE_LEN] {
    let mut out = [0u8; VALUE_LEN];
    let mut x = i.wrapping_add(0x2545_F491_4F6C_DD1D) | 1;
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    out
}

/// `RssAnon` and `RssFile` in KiB from /proc/self/status.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("RssAnon:"), field("RssFile:"))
}

/// Samples resident memory every 50 ms; keeps the peaks.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak_anon: Arc<AtomicU64>,
    peak_file: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_anon = Arc::new(AtomicU64::new(0));
        let peak_file = Arc::new(AtomicU64::new(0));
        let (s, a, f) = (stop.clone(), peak_anon.clone(), peak_file.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let (anon, file) = rss_kib();
                a.fetch_max(anon, Ordering::Relaxed);
                f.fetch_max(file, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        RssSampler {
            stop,
            peak_anon,
            peak_file,
            thread: Some(thread),
        }
    }

    fn peaks_mib(&mut self) -> (f64, f64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mib = |v: &AtomicU64| v.load(Ordering::Relaxed) as f64 / 1024.0;
        (mib(&self.peak_anon), mib(&self.peak_file))
    }
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn report(name: &str, ops: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    println!(
        "{name:<28} {ops:>10} ops {secs:>8.2} s {:>12.0} ops/s {:>8.2} us/op",
        ops as f64 / secs,
        secs * 1e6 / ops as f64
    );
}

fn fill(db: &Db, n: u64, random: bool) -> holdfast::Result<()> {
    for i in 0..n {
        let k = if random { scrambled(i, n) } else { i };
        db.put(key(k), value(k))?;
    }
    db.flush()
}

fn main() -> holdfast::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let memtable_mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let options = || Options::default().memtable_bytes(memtable_mib << 20);
    let logical = n * (16 + VALUE_LEN as u64);
    println!(
        "holdfast tree_bench: {n} records, memtable {memtable_mib} MiB, logical {} MiB",
        logical >> 20
    );

    let mut sampler = RssSampler::start();
    for (name, random) in [("fill_sequential", false), ("fill_random", true)] {
        let dir = tempfile::tempdir_in(".")
            .map_err(|e| holdfast::Error::InvalidArgument(e.to_string()))?;
        let db = Db::open(dir.path(), options())?;
        let start = Instant::now();
        fill(&db, n, random)?;
        report(name, n, start.elapsed());
        if random {
            let stats = db.stats();
            println!(
                "  after fill: {} MiB on disk, levels {:?}, stalls {} ({} ms), slowdowns {}",
                dir_bytes(dir.path()) >> 20,
                stats.level_tables,
                stats.stalls,
                stats.stall_micros / 1000,
                stats.slowdowns
            );
            run_reads(&db, n)?;
            let start = Instant::now();
            db.compact()?;
            println!("  compact() in {:.2} s", start.elapsed().as_secs_f64());
            let on_disk = dir_bytes(dir.path());
            println!(
                "  space amplification after compact: {:.3} ({} MiB on disk / {} MiB logical)",
                on_disk as f64 / logical as f64,
                on_disk >> 20,
                logical >> 20
            );
            db.close()?;
            let start = Instant::now();
            let db = Db::open(dir.path(), options())?;
            println!(
                "  reopen after clean close: {:.1} ms",
                start.elapsed().as_secs_f64() * 1e3
            );
            assert!(db.get(key(n / 2))?.is_some());
            db.close()?;
        } else {
            db.close()?;
        }
    }
    let (anon, file) = sampler.peaks_mib();
    println!("peak RssAnon {anon:.0} MiB, peak RssFile {file:.0} MiB");
    Ok(())
}

fn run_reads(db: &Db, n: u64) -> holdfast::Result<()> {
    let reads = n.min(1_000_000);
    let start = Instant::now();
    for i in 0..reads {
        let k = scrambled(i.wrapping_mul(31), n);
        assert!(db.get(key(k))?.is_some(), "key {k} missing");
    }
    report("read_random_present", reads, start.elapsed());
    let start = Instant::now();
    for i in 0..reads {
        assert!(db.get(key(n + i))?.is_none());
    }
    report("read_random_absent", reads, start.elapsed());
    let scans = (n / 100).min(100_000);
    let start = Instant::now();
    for i in 0..scans {
        let from = key(scrambled(i, n));
        let got = db.range(from..).take(100).count();
        assert!(got > 0);
    }
    report("scan_100", scans, start.elapsed());
    Ok(())
}
