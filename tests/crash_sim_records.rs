//! Crash-point exploration of the records layer on the simulated file
//! system: records with retention (synced and buffered), retention
//! extensions, plain writes, legal holds placed and released, flushes and
//! compactions — with a power cut after every mutating file operation
//! (several damage variants each). Every crash image must:
//!
//! 1. open, and its audit trail must verify;
//! 2. hold every record write acknowledged durable before the cut (a
//!    synced write, or any write before an acknowledged `flush` or
//!    `flush_memtables`), with its value and a retain-until date at least
//!    the newest acknowledged-durable one — and nothing never issued;
//! 3. keep Compliance and Governance: a retained record refuses a delete;
//! 4. show every acknowledged hold not released, no hold whose release was
//!    acknowledged, and no hold never placed;
//! 5. have a `retention_set` audit entry for every retained record present.
//!
//! CI explores 20,000 crash states; `HOLDFAST_RECORDS_CRASH_STATES=N`
//! explores N (see `docs/TESTING.md`).

mod sim_support;

use holdfast::fs::{DiskImage, PowerCut, SimFileSystem, UnsyncedFate};
use holdfast::{
    AuditEvent, Db, Error, Hold, ManualClock, Retention, Scope, Timestamp, WriteOptions,
};
use sim_support::{env_u64, listing, small_options, DB_DIR};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

const CUTS: [PowerCut; 3] = [
    PowerCut::Uniform(UnsyncedFate::Lost),
    PowerCut::Uniform(UnsyncedFate::TornLastWrite),
    PowerCut::Seeded(0x5EED_0003),
];

fn start() -> Timestamp {
    Timestamp::from_date(2026, 11, 24).expect("date")
}

/// A retain-until date far ahead, distinct per `n`.
fn until(n: u64) -> Timestamp {
    Timestamp::from_millis(Timestamp::from_date(2300, 1, 1).expect("date").as_millis() + n as i64)
}

fn key(id: u64) -> Vec<u8> {
    format!("rec/{id:05}").into_bytes()
}

fn value(id: u64) -> Vec<u8> {
    let mut v = format!("value-{id}-").into_bytes();
    v.resize(20 + (id as usize * 37) % 400, b'a' + (id % 26) as u8);
    v
}

#[derive(Clone, Copy, Debug)]
enum Op {
    /// `put_with` of a new key `id`, retained until `until(id)`.
    Retain {
        id: u64,
        sync: bool,
        compliance: bool,
    },
    /// A plain put of a new key `id`.
    Plain {
        id: u64,
        sync: bool,
    },
    /// `extend_retention` of retained key `id` to `until(to)`.
    Extend {
        id: u64,
        to: u64,
    },
    Hold {
        n: u64,
    },
    Release {
        n: u64,
    },
    Flush,
    FlushMemtables,
    Compact,
}

/// One issued operation: the clock (mutating-op count) before it, and
/// after its acknowledgement (`None`: it failed).
#[derive(Debug)]
struct Event {
    op: Op,
    issued_at: u64,
    acked_at: Option<u64>,
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn workload(seed: u64, steps: usize) -> Vec<Op> {
    let mut rng = seed | 1;
    let (mut next_id, mut retained, mut holds, mut next_hold) = (0u64, Vec::new(), Vec::new(), 0);
    let mut ops = Vec::new();
    for _ in 0..steps {
        let roll = xorshift(&mut rng) % 100;
        let sync = xorshift(&mut rng).is_multiple_of(3);
        let op = match roll {
            0..=39 => {
                retained.push(next_id);
                next_id += 1;
                Op::Retain {
                    id: next_id - 1,
                    sync,
                    compliance: roll.is_multiple_of(2),
                }
            }
            40..=59 => {
                next_id += 1;
                Op::Plain {
                    id: next_id - 1,
                    sync,
                }
            }
            60..=69 if !retained.is_empty() => {
                let id = retained[(xorshift(&mut rng) as usize) % retained.len()];
                next_id += 1; // a fresh, later date
                Op::Extend {
                    id,
                    to: next_id + 1_000_000,
                }
            }
            70..=77 => {
                holds.push(next_hold);
                next_hold += 1;
                Op::Hold { n: next_hold - 1 }
            }
            78..=83 if !holds.is_empty() => Op::Release { n: holds.remove(0) },
            84..=89 => Op::Flush,
            90..=95 => Op::FlushMemtables,
            _ => Op::Compact,
        };
        ops.push(op);
    }
    ops
}

fn hold_of(n: u64) -> Hold {
    Hold {
        id: format!("h{n}"),
        // Over keys never written, so that holds refuse no write here.
        scope: Scope::Prefix(format!("held/{n}/").into_bytes()),
        reason: "crash test".into(),
        issuer: "legal".into(),
    }
}

fn run_op(db: &Db, op: Op) -> holdfast::Result<()> {
    match op {
        Op::Retain {
            id,
            sync,
            compliance,
        } => {
            let retention = Retention::new().retain_until(until(id));
            let retention = if compliance {
                retention.compliance()
            } else {
                retention.governance()
            };
            db.put_with(key(id), value(id), &retention)?;
            if sync {
                db.flush()?;
            }
            Ok(())
        }
        Op::Plain { id, sync } => {
            let mut batch = holdfast::WriteBatch::new();
            batch.put(key(id), value(id));
            db.write_opt(batch, &WriteOptions::new().sync(sync))
        }
        Op::Extend { id, to } => db.extend_retention(key(id), until(to)),
        Op::Hold { n } => db.place_hold(hold_of(n)),
        Op::Release { n } => db.release_hold(&format!("h{n}")).map(|_| ()),
        Op::Flush => db.flush(),
        Op::FlushMemtables => db.flush_memtables(),
        Op::Compact => db.compact(),
    }
}

/// Whether `event` made every earlier record write durable.
fn is_durability_point(op: Op) -> bool {
    matches!(
        op,
        Op::Retain { sync: true, .. }
            | Op::Plain { sync: true, .. }
            | Op::Flush
            | Op::FlushMemtables
    )
}

#[derive(Default)]
struct Tally {
    states: u64,
    workloads: u64,
    failures: Vec<String>,
}

fn explore(seed: u64, tally: &mut Tally) {
    let ops = workload(seed, 60);
    let fs = SimFileSystem::new(seed);
    fs.record_crash_images(CUTS.to_vec());
    let clock = Arc::new(ManualClock::new(start()));
    let options = || {
        small_options(Arc::new(fs.clone()), true).clock(clock.clone() as Arc<dyn holdfast::Clock>)
    };
    let mut events: Vec<Event> = Vec::new();
    for chunk in ops.chunks(20) {
        let db = Db::open(DB_DIR, options()).expect("open without a crash");
        for &op in chunk {
            let issued_at = fs.mutating_ops();
            let result = run_op(&db, op);
            let acked_at = result.as_ref().ok().map(|()| fs.mutating_ops());
            if let Err(e) = result {
                panic!("seed {seed}: {op:?} failed without a crash: {e}");
            }
            events.push(Event {
                op,
                issued_at,
                acked_at,
            });
        }
        db.close().expect("close");
        // A clean close makes everything durable.
        events.push(Event {
            op: Op::Flush,
            issued_at: fs.mutating_ops(),
            acked_at: Some(fs.mutating_ops()),
        });
        for crash in fs.take_crash_images() {
            tally.states += 1;
            if let Err(why) = verify(&crash.image, crash.op, &events, seed, &clock) {
                if tally.failures.len() < 5 {
                    tally.failures.push(format!(
                        "seed {seed}: crash after op {} ({}) cut {:?}: {why}\n    files: {}",
                        crash.op,
                        crash.last_op,
                        CUTS[crash.cut],
                        listing(&crash.image)
                    ));
                }
            }
        }
    }
    tally.workloads += 1;
}

fn verify(
    image: &DiskImage,
    cut: u64,
    events: &[Event],
    seed: u64,
    clock: &Arc<ManualClock>,
) -> Result<(), String> {
    let fs = SimFileSystem::from_image(image, seed);
    let db = Db::open(
        DB_DIR,
        small_options(Arc::new(fs), true).clock(clock.clone() as Arc<dyn holdfast::Clock>),
    )
    .map_err(|e| format!("open failed: {e}"))?;
    let audit: Vec<_> = db
        .audit()
        .iter()
        .and_then(|entries| entries.collect::<holdfast::Result<Vec<_>>>())
        .map_err(|e| format!("audit trail unreadable: {e}"))?;
    db.audit()
        .verify()
        .map_err(|e| format!("audit verify failed: {e}"))?;

    // The newest durability point at or before the cut.
    let durable_before = events
        .iter()
        .filter(|e| is_durability_point(e.op) && e.acked_at.is_some_and(|at| at <= cut))
        .map(|e| e.issued_at)
        .max();
    let durable = |e: &Event| {
        e.acked_at.is_some_and(|at| at <= cut)
            && (is_durability_point(e.op) || durable_before.is_some_and(|d| e.issued_at < d))
    };
    let issued = |e: &Event| e.issued_at < cut;

    // 2: records.
    let mut expected_min: BTreeMap<u64, Option<Timestamp>> = BTreeMap::new();
    let mut allowed_until: BTreeMap<u64, BTreeSet<Timestamp>> = BTreeMap::new();
    let mut written: BTreeSet<u64> = BTreeSet::new();
    for e in events.iter().filter(|e| issued(e)) {
        match e.op {
            Op::Retain { id, .. } => {
                written.insert(id);
                allowed_until.entry(id).or_default().insert(until(id));
                if durable(e) {
                    expected_min.insert(id, Some(until(id)));
                }
            }
            Op::Plain { id, .. } => {
                written.insert(id);
                if durable(e) {
                    expected_min.insert(id, None);
                }
            }
            Op::Extend { id, to } => {
                allowed_until.entry(id).or_default().insert(until(to));
                if durable(e) {
                    expected_min.insert(id, Some(until(to)));
                }
            }
            _ => {}
        }
    }
    let mut present_retained = BTreeSet::new();
    for item in db.prefix("rec/") {
        let (k, v) = item.map_err(|e| format!("scan: {e}"))?;
        let id: u64 = std::str::from_utf8(&k[4..])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("bad key")?;
        if !written.contains(&id) {
            return Err(format!(
                "record {id} present but never issued before the cut"
            ));
        }
        if v != value(id) {
            return Err(format!("record {id} has a wrong value"));
        }
        let meta = db
            .get_record(&k)
            .map_err(|e| format!("get_record: {e}"))?
            .ok_or("vanished")?
            .meta;
        match (meta.retain_until, allowed_until.get(&id)) {
            (None, None) => {}
            (Some(at), Some(allowed)) if allowed.contains(&at) => {
                present_retained.insert(id);
            }
            (got, allowed) => {
                return Err(format!(
                    "record {id}: retain-until {got:?}, allowed {allowed:?}"
                ))
            }
        }
    }
    for (&id, min) in &expected_min {
        let Some(record) = db
            .get_record(key(id))
            .map_err(|e| format!("get_record: {e}"))?
        else {
            return Err(format!("durable record {id} lost"));
        };
        if record.meta.retain_until < *min {
            return Err(format!(
                "durable record {id}: retain-until {:?} below the durable {min:?}",
                record.meta.retain_until
            ));
        }
    }
    // 3: a retained record refuses a delete (nothing is written).
    if let Some(&id) = present_retained.iter().next() {
        if !matches!(db.delete(key(id)), Err(Error::RetentionLocked { .. })) {
            return Err(format!("retained record {id} accepted a delete"));
        }
    }

    // 4: holds.
    let holds: BTreeSet<String> = db.holds().into_iter().map(|h| h.hold.id).collect();
    for e in events {
        let acked = e.acked_at.is_some_and(|at| at <= cut);
        match e.op {
            Op::Hold { n } => {
                let id = format!("h{n}");
                let released_issued = events
                    .iter()
                    .any(|r| matches!(r.op, Op::Release { n: m } if m == n) && r.issued_at < cut);
                if acked && !released_issued && !holds.contains(&id) {
                    return Err(format!("acknowledged hold {id} lost"));
                }
                if !issued(e) && holds.contains(&id) {
                    return Err(format!("hold {id} present but placed after the cut"));
                }
            }
            Op::Release { n } if acked && holds.contains(&format!("h{n}")) => {
                return Err(format!("acknowledged release of h{n} undone"));
            }
            _ => {}
        }
    }

    // 5: every retained record present has its retention_set entry.
    let audited: BTreeSet<Vec<u8>> = audit
        .iter()
        .filter_map(|entry| match &entry.event {
            AuditEvent::RetentionSet { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    for id in &present_retained {
        if !audited.contains(&key(*id)) {
            return Err(format!("record {id} has no retention_set audit entry"));
        }
    }
    db.simulate_crash();
    Ok(())
}

#[test]
fn records_survive_every_crash_point() {
    let target = env_u64("HOLDFAST_RECORDS_CRASH_STATES", 20_000);
    let base = env_u64("HOLDFAST_CRASH_SEED", 1);
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut round = 0u64;
    while tally.states < target && tally.failures.len() < 5 {
        explore(base.wrapping_mul(7_919).wrapping_add(round), &mut tally);
        round += 1;
    }
    eprintln!(
        "records crash states: {} from {} workloads in {:.1}s",
        tally.states,
        tally.workloads,
        started.elapsed().as_secs_f64()
    );
    assert!(
        tally.failures.is_empty(),
        "{} crash state(s) violate the oracle:\n  {}",
        tally.failures.len(),
        tally.failures.join("\n  ")
    );
}
