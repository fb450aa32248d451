//! Fills and overwrites: buffered writes with the engine's default
//! durability, then one durable flush that counts in the time (not in the
//! per-operation latencies).

use super::{timed_loop, Ctx, Measurement, Probe, Tag};
use crate::engines::{Engine, Result};
use crate::keys::{key, seq_key, value, Rng};
use std::path::Path;

/// Loads `records` records in ascending key order into `db` (fresh, at
/// `dir`), then flushes durably. Space amplification is taken right after.
/// Runs in the child process of the recovery workload, which is killed
/// right after it.
pub fn fill_seq(tag: Tag, db: &dyn Engine, dir: &Path, records: u64) -> Result<Measurement> {
    let probe = Probe::start();
    let (ops, hist) = timed_loop(records, None, |i| db.put(&seq_key(i), &value(i)))?;
    db.flush_durable()?;
    Ok(probe
        .finish(tag, "fill-seq", ops, &hist, ops)
        .with_space(dir, records))
}

/// Loads `records` records in random key order into `db` (fresh, at
/// `dir`), then flushes durably. Space amplification is taken right after.
pub fn fill_random(ctx: &mut Ctx, db: &dyn Engine, dir: &Path) -> Result<Measurement> {
    let n = ctx.cfg.records;
    let probe = Probe::start();
    let (ops, hist) = timed_loop(n, None, |i| db.put(&key(i), &value(i)))?;
    db.flush_durable()?;
    let m = probe
        .finish(ctx.tag(), "fill-random", ops, &hist, ops)
        .with_space(dir, n);
    ctx.logical_writes += ops;
    ctx.live_records = n;
    Ok(m)
}

/// Overwrites randomly chosen existing records (uniform), then flushes
/// durably.
pub fn overwrite(ctx: &mut Ctx, db: &dyn Engine) -> Result<Measurement> {
    let mut rng = Rng::new(ctx.next_seed());
    let live = ctx.live_records;
    let probe = Probe::start();
    let (ops, hist) = timed_loop(ctx.cfg.write_ops, Some(ctx.cap()), |_| {
        let i = rng.below(live);
        db.put(&key(i), &value(i ^ 0xABCD))
    })?;
    db.flush_durable()?;
    ctx.logical_writes += ops;
    Ok(probe.finish(ctx.tag(), "overwrite", ops, &hist, ops))
}
