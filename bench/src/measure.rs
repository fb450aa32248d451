//! What the benchmark reads off the process and the disk: a latency
//! histogram, bytes written to storage (`/proc/self/io`), peak resident
//! memory (`VmHWM`, reset through `/proc/self/clear_refs`), and the bytes a
//! directory occupies on disk.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// Sub-buckets per power of two: values are kept to within about 3%.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A log-linear histogram of latencies in nanoseconds, fixed size, so that
/// recording a million operations allocates nothing.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    (((exp - SUB_BITS + 1) as usize) << SUB_BITS) + ((v >> shift) as usize & (SUB - 1))
}

/// The midpoint of the values in bucket `b`.
fn value_of(b: usize) -> f64 {
    if b < SUB {
        return b as f64;
    }
    let exp = (b >> SUB_BITS) as u32 + SUB_BITS - 1;
    let shift = exp - SUB_BITS;
    let low = ((SUB + (b & (SUB - 1))) as u64) << shift;
    low as f64 + ((1u64 << shift) as f64 - 1.0) / 2.0
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket_of(ns)] += 1;
        self.total += 1;
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The `q`-quantile (`0 < q <= 1`) in microseconds, or `None` if empty.
    pub fn quantile_us(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(value_of(b) / 1000.0);
            }
        }
        None
    }
}

/// Bytes this process (all its threads) caused to be written to storage,
/// from `/proc/self/io` (`write_bytes`), or `None` where the kernel does
/// not account I/O.
pub fn process_write_bytes() -> Option<u64> {
    let text = fs::read_to_string("/proc/self/io").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Resets the peak resident set size (`echo 5 > /proc/self/clear_refs`),
/// so that [`peak_rss_bytes`] reports the peak from now on. Returns whether
/// the kernel allowed it.
pub fn reset_peak_rss() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size (`VmHWM`) in bytes since start or the last
/// [`reset_peak_rss`]. Includes the pages of mapped files that were touched.
pub fn peak_rss_bytes() -> Option<u64> {
    let text = fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Bytes the files under `dir` occupy on disk (allocated blocks, as `du`
/// counts them), so preallocated or sparse files count for what they use.
pub fn disk_usage(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let meta = match entry.metadata() {
                Ok(m) => m,
                // A background thread may delete a file while we walk.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 40, u64::MAX / 3]) {
            let b = bucket_of(v);
            assert!(b >= last || v > 100_000);
            last = b;
            let mid = value_of(b);
            assert!(
                (mid - v as f64).abs() <= v as f64 * 0.035 + 1.0,
                "{v} -> {mid}"
            );
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::default();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile_us(0.5).unwrap_or_default();
        let p99 = h.quantile_us(0.99).unwrap_or_default();
        assert!((48.0..=52.0).contains(&p50), "{p50}");
        assert!((96.0..=102.0).contains(&p99), "{p99}");
        assert_eq!(Histogram::default().quantile_us(0.5), None);
    }

    #[test]
    fn proc_readings() {
        assert!(process_write_bytes().is_some());
        assert!(peak_rss_bytes().unwrap_or(0) > 0);
        // A directory of its own: the shared temporary directory changes
        // under other processes while it is walked.
        let dir = std::env::temp_dir().join(format!("holdfast-bench-du-{}", std::process::id()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("sub/file"), vec![7u8; 10_000]).unwrap();
        let used = disk_usage(&dir);
        fs::remove_dir_all(&dir).unwrap();
        assert!(used.unwrap() >= 10_000);
    }
}
