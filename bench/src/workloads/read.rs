//! Point reads of present and absent keys, and seek-and-scan.

use super::{timed_loop, Ctx, Measurement, Probe};
use crate::engines::{Engine, Result};
use crate::keys::{absent_key, key, Rng, VALUE_LEN};

/// Reads uniformly chosen present keys; every one must be found.
pub fn read_random(ctx: &mut Ctx, db: &dyn Engine) -> Result<Measurement> {
    let mut rng = Rng::new(ctx.next_seed());
    let live = ctx.cfg.records;
    let mut wrong = 0u64;
    let probe = Probe::start();
    let (ops, hist) = timed_loop(ctx.cfg.read_ops, Some(ctx.cap()), |_| {
        if db.get(&key(rng.below(live)))? != Some(VALUE_LEN) {
            wrong += 1;
        }
        Ok(())
    })?;
    if wrong > 0 {
        return Err(format!("{wrong} of {ops} present keys were missing or wrong").into());
    }
    Ok(probe.finish(ctx.tag(), "read-random", ops, &hist, 0))
}

/// Reads keys that were never written (spread over the whole key space,
/// so only filters or the index can rule them out).
pub fn read_absent(ctx: &mut Ctx, db: &dyn Engine) -> Result<Measurement> {
    let mut rng = Rng::new(ctx.next_seed());
    let mut found = 0u64;
    let probe = Probe::start();
    let (ops, hist) = timed_loop(ctx.cfg.read_ops, Some(ctx.cap()), |_| {
        if db.get(&absent_key(rng.next_u64() >> 4))?.is_some() {
            found += 1;
        }
        Ok(())
    })?;
    if found > 0 {
        return Err(format!("{found} absent keys were found").into());
    }
    Ok(probe.finish(ctx.tag(), "read-absent", ops, &hist, 0))
}

/// Seeks to a uniformly chosen present key and reads the next 100 pairs.
pub fn scan(ctx: &mut Ctx, db: &dyn Engine) -> Result<Measurement> {
    let mut rng = Rng::new(ctx.next_seed());
    let live = ctx.cfg.records;
    let mut pairs = 0u64;
    let probe = Probe::start();
    let (ops, hist) = timed_loop(ctx.cfg.scan_ops, Some(ctx.cap()), |_| {
        pairs += db.scan(&key(rng.below(live)), 100)? as u64;
        Ok(())
    })?;
    let mut m = probe.finish(ctx.tag(), "scan-100", ops, &hist, 0);
    m.extra
        .insert("pairs_per_scan".into(), pairs as f64 / ops.max(1) as f64);
    Ok(m)
}
