//! YCSB core workloads A–F, as YCSB's `CoreWorkload` defines them: one
//! client thread, request keys from a scrambled zipfian (constant 0.99)
//! over the records loaded so far, `latest` for D, uniform scan lengths
//! 1–100 for E, and inserts that append new records after the loaded
//! ones. The load phase is the random fill; the workloads then run in
//! order A, B, C, D, E, F on the same database, so the inserts of D and E
//! stay visible to the ones after them.
//!
//! Updates write the whole 100-byte value (YCSB's records have ten fields;
//! ours have one).

use super::zipf::{ScrambledZipfian, SkewedLatest};
use super::{timed_loop, Ctx, Measurement, Probe};
use crate::engines::{Engine, Result};
use crate::keys::{key, value, Rng};

/// One of the six core workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Update heavy: 50% reads, 50% updates.
    A,
    /// Read mostly: 95% reads, 5% updates.
    B,
    /// Read only.
    C,
    /// Read latest: 95% reads, 5% inserts, `latest` distribution.
    D,
    /// Short ranges: 95% scans, 5% inserts.
    E,
    /// Read-modify-write: 50% reads, 50% read-modify-writes.
    F,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Read,
    Update,
    Insert,
    Scan,
    ReadModifyWrite,
}

impl Kind {
    fn id(self) -> &'static str {
        match self {
            Kind::A => "ycsb-a",
            Kind::B => "ycsb-b",
            Kind::C => "ycsb-c",
            Kind::D => "ycsb-d",
            Kind::E => "ycsb-e",
            Kind::F => "ycsb-f",
        }
    }

    /// Operation proportions, as in YCSB's `workloads/workload[a-f]`.
    fn mix(self) -> &'static [(Op, f64)] {
        match self {
            Kind::A => &[(Op::Read, 0.5), (Op::Update, 0.5)],
            Kind::B => &[(Op::Read, 0.95), (Op::Update, 0.05)],
            Kind::C => &[(Op::Read, 1.0)],
            Kind::D => &[(Op::Read, 0.95), (Op::Insert, 0.05)],
            Kind::E => &[(Op::Scan, 0.95), (Op::Insert, 0.05)],
            Kind::F => &[(Op::Read, 0.5), (Op::ReadModifyWrite, 0.5)],
        }
    }

    fn insert_proportion(self) -> f64 {
        self.mix()
            .iter()
            .filter(|(op, _)| matches!(op, Op::Insert))
            .map(|(_, p)| p)
            .sum()
    }
}

fn choose(mix: &[(Op, f64)], rng: &mut Rng) -> Op {
    let mut u = rng.unit();
    for &(op, p) in mix {
        if u < p {
            return op;
        }
        u -= p;
    }
    mix[mix.len() - 1].0
}

/// Picks request keys: YCSB's `nextKeynum`.
enum Chooser {
    Zipfian(ScrambledZipfian),
    Latest(SkewedLatest),
}

impl Chooser {
    /// A record number no newer than `last` (the newest inserted).
    fn next(&mut self, rng: &mut Rng, last: u64) -> u64 {
        match self {
            Chooser::Latest(g) => g.next(rng, last),
            // YCSB draws again while the key is not yet inserted.
            Chooser::Zipfian(g) => loop {
                let k = g.next(rng);
                if k <= last {
                    return k;
                }
            },
        }
    }
}

/// Runs workload `kind` for `ycsb_ops` operations (E: a fifth as many).
pub fn run(ctx: &mut Ctx, db: &dyn Engine, kind: Kind) -> Result<Measurement> {
    let ops = match kind {
        Kind::E => (ctx.cfg.ycsb_ops / 5).max(1),
        _ => ctx.cfg.ycsb_ops,
    };
    let mut rng = Rng::new(ctx.next_seed());
    let loaded = ctx.live_records;
    // YCSB sizes the key space for the inserts it expects: twice as many.
    let expected_new = (ops as f64 * kind.insert_proportion() * 2.0) as u64;
    let mut chooser = match kind {
        Kind::D => Chooser::Latest(SkewedLatest::new(loaded - 1)),
        _ => Chooser::Zipfian(ScrambledZipfian::new(0, loaded + expected_new - 1)),
    };
    let mut next_insert = loaded;
    let mut writes = 0u64;
    let mix = kind.mix();
    let probe = Probe::start();
    let (done, hist) = timed_loop(ops, Some(ctx.cap()), |op_no| {
        let last = next_insert - 1;
        match choose(mix, &mut rng) {
            Op::Read => {
                db.get(&key(chooser.next(&mut rng, last)))?;
            }
            Op::Update => {
                let k = chooser.next(&mut rng, last);
                db.put(&key(k), &value(k ^ op_no))?;
                writes += 1;
            }
            Op::Insert => {
                db.put(&key(next_insert), &value(next_insert))?;
                next_insert += 1;
                writes += 1;
            }
            Op::Scan => {
                let len = 1 + rng.below(100) as usize;
                db.scan(&key(chooser.next(&mut rng, last)), len)?;
            }
            Op::ReadModifyWrite => {
                let k = chooser.next(&mut rng, last);
                db.get(&key(k))?;
                db.put(&key(k), &value(k ^ op_no))?;
                writes += 1;
            }
        }
        Ok(())
    })?;
    ctx.live_records = next_insert;
    ctx.logical_writes += writes;
    Ok(probe.finish(ctx.tag(), kind.id(), done, &hist, writes))
}
