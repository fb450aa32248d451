//! Sync writes: each write durable before it returns, from one or several
//! threads at once (where the engine can share an fsync between them).

use super::{Ctx, Measurement, Probe};
use crate::engines::{Engine, Result};
use crate::keys::{key, value, Rng};
use crate::measure::Histogram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// `threads` threads overwrite random existing records with sync writes,
/// `sync_ops` in all, until done or the time cap.
pub fn sync_writes(ctx: &mut Ctx, db: &dyn Engine, threads: u64) -> Result<Measurement> {
    let id = if threads == 1 { "sync-1t" } else { "sync-8t" };
    let per_thread = ctx.cfg.sync_ops.div_ceil(threads);
    let live = ctx.live_records;
    let seeds: Vec<u64> = (0..threads).map(|_| ctx.next_seed()).collect();
    // One handle per thread: some engines' handles are not shared between
    // threads but cloned (sled's is `Send`, not `Sync`).
    let handles = seeds
        .iter()
        .map(|_| db.share())
        .collect::<Result<Vec<Box<dyn Engine>>>>()?;
    let stop = AtomicBool::new(false);
    let probe = Probe::start();
    let deadline = Instant::now() + ctx.cap();
    let outcomes: Vec<Result<(u64, Histogram)>> = std::thread::scope(|s| {
        let handles: Vec<_> = seeds
            .iter()
            .zip(handles)
            .map(|(&seed, db)| {
                let stop = &stop;
                s.spawn(move || -> Result<(u64, Histogram)> {
                    let mut rng = Rng::new(seed);
                    let mut hist = Histogram::default();
                    let mut done = 0;
                    while done < per_thread && !stop.load(Ordering::Relaxed) {
                        let i = rng.below(live);
                        let t = Instant::now();
                        db.sync_put(&key(i), &value(i ^ 0x5EED))?;
                        hist.record(t.elapsed());
                        done += 1;
                        if Instant::now() >= deadline {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    Ok((done, hist))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a writer thread panicked".into()))
            })
            .collect()
    });
    let mut hist = Histogram::default();
    let mut ops = 0;
    for outcome in outcomes {
        let (done, h) = outcome?;
        ops += done;
        hist.merge(&h);
    }
    let m = probe.finish(ctx.tag(), id, ops, &hist, ops);
    ctx.sync_disk_bytes += m.disk_write_bytes.unwrap_or(0);
    Ok(m)
}
