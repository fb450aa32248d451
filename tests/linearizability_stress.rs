//! Concurrency stress with a linearizability check (issue 5, item 7):
//! writer threads, point readers and snapshot scanners run together on a
//! database with a small memtable (so flushes and compactions run in the
//! background all along), each recording every operation with its real-time
//! interval. Afterwards, per key (a register whose every written value is
//! unique), the histories must admit a linearization:
//!
//! * a read never returns a value whose write began after the read ended
//!   (no reading the future), nor a value never written;
//! * a read never returns a value `v` when another write to the key began
//!   after `v`'s write ended and ended before the read began (no stale
//!   read);
//! * a read that began after some write to the key ended never returns
//!   "absent" (keys are never deleted);
//! * two reads ordered in real time never see writes in the opposite order
//!   (monotonic reads);
//! * a snapshot is one point in time: every key it returns satisfies the
//!   rules above with the snapshot's creation interval as the read
//!   interval, and a key it reads through `get` agrees with its scan.
//!
//! These are the conditions of a linearizable register (each value
//! written once), checked key by key; the check is exact for single-key
//! operations and conservative for snapshots.

use holdfast::{Db, Options};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

const KEYS: u64 = 48;
const WRITERS: u64 = 3;
/// Writes per writer thread (`HOLDFAST_LINEARIZABILITY_WRITES` for
/// longer runs).
fn writes_per_writer() -> u64 {
    std::env::var("HOLDFAST_LINEARIZABILITY_WRITES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}
const READERS: usize = 2;

fn key(k: u64) -> Vec<u8> {
    format!("key/{k:03}").into_bytes()
}

/// A write: key, unique value, real-time interval (ns since `origin`).
#[derive(Clone, Debug)]
struct Write {
    key: u64,
    value: Vec<u8>,
    start: u128,
    end: u128,
}

/// A read: key, value seen (`None`: absent), interval.
#[derive(Clone, Debug)]
struct Read {
    key: u64,
    value: Option<Vec<u8>>,
    start: u128,
    end: u128,
}

fn ns(origin: Instant) -> u128 {
    origin.elapsed().as_nanos()
}

fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

#[test]
fn concurrent_histories_are_linearizable() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default()
        .memtable_bytes(64 * 1024)
        .l0_triggers(2, 8, 12)
        .target_table_bytes(16 * 1024);
    let db = Db::open(dir.path(), options).unwrap();
    let origin = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(WRITERS as usize + READERS + 1));

    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let (db, barrier) = (db.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut rng = 0x5EED ^ t;
                let mut log = Vec::new();
                barrier.wait();
                for i in 0..writes_per_writer() {
                    let k = lcg(&mut rng) % KEYS;
                    // Unique per write; padded so that values fill tables.
                    let value = format!("w{t}-{i:06}-{}", "x".repeat(40)).into_bytes();
                    let start = ns(origin);
                    if i.is_multiple_of(7) {
                        let mut batch = holdfast::WriteBatch::new();
                        batch.put(key(k), &value);
                        db.write(batch).unwrap();
                    } else {
                        db.put(key(k), &value).unwrap();
                    }
                    log.push(Write {
                        key: k,
                        value,
                        start,
                        end: ns(origin),
                    });
                }
                log
            })
        })
        .collect();

    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (db, barrier, stop) = (db.clone(), Arc::clone(&barrier), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut rng = 0xABCD ^ r as u64;
                let mut reads = Vec::new();
                let mut snapshots = 0u64;
                barrier.wait();
                while !stop.load(Ordering::Acquire) {
                    if lcg(&mut rng).is_multiple_of(50) {
                        // A snapshot: its creation interval is its instant.
                        let start = ns(origin);
                        let snap = db.snapshot();
                        let end = ns(origin);
                        let scanned: HashMap<Vec<u8>, Vec<u8>> = snap
                            .range::<&[u8], _>(..)
                            .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
                            .collect::<holdfast::Result<_>>()
                            .unwrap();
                        for k in 0..KEYS {
                            let got = snap.get(key(k)).unwrap().map(|v| v.to_vec());
                            assert_eq!(got.as_ref(), scanned.get(&key(k)), "snapshot get vs scan");
                            reads.push(Read {
                                key: k,
                                value: got,
                                start,
                                end,
                            });
                        }
                        snapshots += 1;
                    } else {
                        let k = lcg(&mut rng) % KEYS;
                        let start = ns(origin);
                        let value = db.get(key(k)).unwrap().map(|v| v.to_vec());
                        reads.push(Read {
                            key: k,
                            value,
                            start,
                            end: ns(origin),
                        });
                    }
                }
                (reads, snapshots)
            })
        })
        .collect();

    barrier.wait();
    let writes: Vec<Write> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, Ordering::Release);
    let mut reads = Vec::new();
    let mut snapshots = 0;
    for r in readers {
        let (log, snaps) = r.join().unwrap();
        reads.extend(log);
        snapshots += snaps;
    }
    let stats = db.stats();
    eprintln!(
        "linearizability: {} writes, {} reads ({} snapshots), {} flushes, {} compactions, {:?} s",
        writes.len(),
        reads.len(),
        snapshots,
        stats.flushes,
        stats.compactions,
        origin.elapsed().as_secs_f64()
    );
    assert!(stats.flushes > 0, "the memtable should have been flushed");
    check(&writes, &reads);
    // And after the dust settles, every key holds its last write.
    db.compact().unwrap();
    for k in 0..KEYS {
        let got = db.get(key(k)).unwrap().map(|v| v.to_vec());
        // A last write: one that no other write of the key strictly follows.
        let last_writes: Vec<&Write> = writes
            .iter()
            .filter(|w| w.key == k)
            .filter(|w| !writes.iter().any(|o| o.key == k && o.start > w.end))
            .collect();
        let ok = match &got {
            None => last_writes.is_empty(),
            Some(v) => last_writes.iter().any(|w| &w.value == v),
        };
        assert!(ok, "key {k}: the final value is not one of its last writes");
    }
}

/// Checks every read against the writes of its key (see the module docs).
fn check(writes: &[Write], reads: &[Read]) {
    let violations = violations(writes, reads);
    assert!(
        violations.is_empty(),
        "{} violations, first: {:?}",
        violations.len(),
        &violations[..violations.len().min(5)]
    );
}

/// The writes of one key sorted by start, with the smallest end among the
/// writes from each position on.
struct KeyWrites<'a> {
    by_start: Vec<&'a Write>,
    suffix_min_end: Vec<u128>,
}

impl KeyWrites<'_> {
    /// A write that began after `after` and ended before `before`.
    fn one_between(&self, after: u128, before: u128) -> Option<&Write> {
        let from = self.by_start.partition_point(|w| w.start <= after);
        (from < self.by_start.len() && self.suffix_min_end[from] < before).then(|| {
            *self.by_start[from..]
                .iter()
                .find(|w| w.end < before)
                .expect("the suffix minimum is attained")
        })
    }
}

fn violations(writes: &[Write], reads: &[Read]) -> Vec<String> {
    let mut by_value: HashMap<(u64, &[u8]), &Write> = HashMap::new();
    let mut grouped: HashMap<u64, Vec<&Write>> = HashMap::new();
    for w in writes {
        assert!(
            by_value.insert((w.key, &w.value[..]), w).is_none(),
            "values are unique"
        );
        grouped.entry(w.key).or_default().push(w);
    }
    let by_key: HashMap<u64, KeyWrites> = grouped
        .into_iter()
        .map(|(k, mut ws)| {
            ws.sort_by_key(|w| w.start);
            let mut suffix_min_end = vec![u128::MAX; ws.len()];
            let mut min = u128::MAX;
            for (i, w) in ws.iter().enumerate().rev() {
                min = min.min(w.end);
                suffix_min_end[i] = min;
            }
            (
                k,
                KeyWrites {
                    by_start: ws,
                    suffix_min_end,
                },
            )
        })
        .collect();
    let mut violations = Vec::new();
    for r in reads {
        let key_writes = by_key.get(&r.key);
        match &r.value {
            None => {
                if let Some(w) = key_writes.and_then(|kw| {
                    kw.one_between(0, r.start).or_else(|| {
                        kw.by_start
                            .first()
                            .filter(|w| w.start == 0 && w.end < r.start)
                            .copied()
                    })
                }) {
                    violations.push(format!(
                        "key {}: absent, though a write ended at {} before the read began at {}",
                        r.key, w.end, r.start
                    ));
                }
            }
            Some(v) => {
                let Some(w) = by_value.get(&(r.key, &v[..])) else {
                    violations.push(format!("key {}: a value never written", r.key));
                    continue;
                };
                if w.start > r.end {
                    violations.push(format!("key {}: read the future", r.key));
                }
                if let Some(newer) = key_writes.and_then(|kw| kw.one_between(w.end, r.start)) {
                    violations.push(format!(
                        "key {}: stale read of the write ending at {}; a write in [{}, {}] came before the read at {}",
                        r.key, w.end, newer.start, newer.end, r.start
                    ));
                }
            }
        }
    }
    // Monotonic reads: per key, reads ordered in real time see writes in
    // an order consistent with the writes' real-time order.
    let mut reads_by_key: HashMap<u64, Vec<&Read>> = HashMap::new();
    for r in reads {
        reads_by_key.entry(r.key).or_default().push(r);
    }
    for (k, mut rs) in reads_by_key {
        rs.sort_by_key(|r| r.start);
        // The newest write (by end) any read that ended so far has seen.
        let mut seen: Vec<(u128, &Write)> = Vec::new(); // (read end, write)
        for r in rs {
            let Some(v) = &r.value else { continue };
            let Some(w) = by_value.get(&(k, &v[..])) else {
                continue;
            };
            for (earlier_end, earlier_w) in &seen {
                if *earlier_end < r.start && w.end < earlier_w.start {
                    violations.push(format!(
                        "key {k}: a read at {} saw an older write than a read that ended at {earlier_end}",
                        r.start
                    ));
                    break;
                }
            }
            seen.push((r.end, w));
            if seen.len() > 64 {
                seen.remove(0);
            }
        }
    }
    violations
}

/// The checker itself: each kind of violation is caught, and a correct
/// history passes.
#[test]
fn the_checker_catches_each_violation() {
    let w = |value: &str, start, end| Write {
        key: 1,
        value: value.as_bytes().to_vec(),
        start,
        end,
    };
    let r = |value: Option<&str>, start, end| Read {
        key: 1,
        value: value.map(|v| v.as_bytes().to_vec()),
        start,
        end,
    };
    let writes = [w("a", 10, 20), w("b", 30, 40)];
    // Fine: absent before any write, a during its write, b after.
    assert!(violations(
        &writes,
        &[r(None, 1, 5), r(Some("a"), 15, 16), r(Some("b"), 50, 60)]
    )
    .is_empty());
    // Concurrent with b: a or b are both fine.
    assert!(violations(&writes, &[r(Some("a"), 35, 45)]).is_empty());
    assert_eq!(
        violations(&writes, &[r(Some("a"), 50, 60)]).len(),
        1,
        "stale"
    );
    assert_eq!(
        violations(&writes, &[r(Some("b"), 1, 5)]).len(),
        1,
        "future"
    );
    assert_eq!(
        violations(&writes, &[r(None, 25, 26)]).len(),
        1,
        "absent after a write"
    );
    assert_eq!(
        violations(&writes, &[r(Some("zz"), 25, 26)]).len(),
        1,
        "never written"
    );
    // Non-monotonic: b seen, then (later, concurrent with both) a.
    let overlapping = [w("a", 10, 100), w("b", 101, 200)];
    let reads = [r(Some("b"), 150, 160), r(Some("a"), 170, 180)];
    assert!(!violations(&overlapping, &reads).is_empty(), "monotonic");
}
