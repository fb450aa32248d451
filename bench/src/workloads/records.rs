//! Workloads of the records layer: a fill that writes every record under
//! a retention policy (7 years, then dispose). Only holdfast has
//! per-record retention; the peers report "not applicable".
//!
//! The speed target compares a retention fill with a plain fill
//! of the same records: both run here, one after the other on fresh
//! directories in the same process, and `extra` holds the plain fill's
//! rate and the ratio, so the comparison does not depend on what ran
//! earlier in the worker.

use super::{timed_loop, Ctx, Measurement, Probe, Status};
use crate::engines::Result;
use crate::keys::{key, value};

/// Fill with a retention policy on every record (random key order, then a
/// durable flush), next to a plain fill of the same records.
pub fn fill_with_retention(ctx: &mut Ctx) -> Measurement {
    match run(ctx) {
        Ok(Some(m)) => m,
        Ok(None) => Measurement::empty(
            ctx.tag(),
            "fill-retention",
            Status::NotApplicable,
            "no per-record retention in this engine".into(),
        ),
        Err(e) => Measurement::empty(ctx.tag(), "fill-retention", Status::Failed, e.to_string()),
    }
}

fn run(ctx: &mut Ctx) -> Result<Option<Measurement>> {
    let n = ctx.cfg.records;
    // The plain fill first, on its own fresh directory.
    let plain_dir = ctx.dir.join("plain-for-retention");
    let plain = ctx.engine.open(&plain_dir)?;
    let started = std::time::Instant::now();
    timed_loop(n, None, |i| plain.put(&key(i), &value(i)))?;
    plain.flush_durable()?;
    let plain_secs = started.elapsed().as_secs_f64();
    plain.close()?;
    let _ = std::fs::remove_dir_all(&plain_dir);

    let dir = ctx.dir.join("retention");
    let db = ctx.engine.open(&dir)?;
    if !db.define_retention_policy()? {
        db.close()?;
        return Ok(None);
    }
    let probe = Probe::start();
    let (ops, hist) = timed_loop(n, None, |i| db.put_retained(&key(i), &value(i)))?;
    db.flush_durable()?;
    let mut m = probe
        .finish(ctx.tag(), "fill-retention", ops, &hist, ops)
        .with_space(&dir, n);
    db.close()?;
    let _ = std::fs::remove_dir_all(&dir);
    let plain_rate = n as f64 / plain_secs.max(1e-9);
    m.extra.insert("plain_fill_ops_per_sec".into(), plain_rate);
    if let Some(rate) = m.ops_per_sec {
        m.extra
            .insert("cost_over_plain_fill".into(), plain_rate / rate - 1.0);
    }
    m.note = "policy: retain 7y after creation, then dispose; extra: plain fill of the same records just before".into();
    Ok(Some(m))
}
