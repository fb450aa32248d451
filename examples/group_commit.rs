//! Group commit at work: sync writes from 1 thread and from 8 threads,
//! alternated over several rounds in one process so that the disk's noise
//! hits both alike; prints each round and the medians.
//!
//! ```text
//! cargo run --release --example group_commit -- [rounds] [seconds per run]
//! ```

use holdfast::{Db, Options, WriteBatch, WriteOptions};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Sync puts per second from `threads` threads during `run`.
fn sync_throughput(db: &Db, threads: usize, run: Duration, next: &AtomicU64) -> f64 {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let sync = WriteOptions::new().sync(true);
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let mut batch = WriteBatch::new();
                    batch.put(i.to_be_bytes(), [0x5a; 100]);
                    db.write_opt(batch, &sync).expect("sync put");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(run);
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> holdfast::Result<()> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let run = Duration::from_secs_f64(seconds);
    let dir =
        tempfile::tempdir_in(".").map_err(|e| holdfast::Error::InvalidArgument(e.to_string()))?;
    let db = Db::open(dir.path(), Options::default())?;
    let next = AtomicU64::new(0);
    let (mut one, mut eight, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let a = sync_throughput(&db, 1, run, &next);
        let b = sync_throughput(&db, 8, run, &next);
        println!("round {round}: 1 thread {a:>7.0} sync puts/s, 8 threads {b:>7.0} sync puts/s, ratio {:.2}", b / a);
        one.push(a);
        eight.push(b);
        ratios.push(b / a);
    }
    println!(
        "median: 1 thread {:.0}/s, 8 threads {:.0}/s, ratio {:.2}",
        median(&mut one),
        median(&mut eight),
        median(&mut ratios)
    );
    db.close()
}
