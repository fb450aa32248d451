//! Model-based property test of the whole engine core against a
//! `BTreeMap`.
//!
//! Proptest generates sequences of operations — puts, deletes, batches
//! (buffered or synced), gets, ranges and prefixes (either direction),
//! snapshots taken and read later, flushes, clean reopens, and crashes —
//! over keys from a tiny alphabet (so keys collide) with a 64 KiB memtable
//! (so memtables rotate and the WAL spans many segments). Every read is
//! compared with the model.
//!
//! A crash is `simulate_crash`, then a cut of the newest WAL segment at a
//! generated offset in its non-durable tail (never below the last sync,
//! flush or open: those bytes were fsynced), then a reopen. The recovered
//! database must equal the model state after some acknowledged write at or
//! after the last durable point — no synced write lost, no batch torn — and
//! precisely the state after the last write whose WAL record survived the
//! cut. The run then goes on from that state.

mod common;

use common::{collect, newest_segment, record_ends, truncate, SEGMENT_HEADER_LEN};
use holdfast::{Db, Options, Snapshot, WriteBatch, WriteOptions};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::path::PathBuf;
use tempfile::TempDir;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// A key, printed readably in failure reports.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key(Vec<u8>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: String = self
            .0
            .iter()
            .flat_map(|&b| std::ascii::escape_default(b))
            .map(char::from)
            .collect();
        write!(f, "b\"{text}\"")
    }
}

/// A value, described by a seed and a length so that failure reports stay
/// short even for 40 KB values.
#[derive(Clone, Copy)]
struct Val {
    seed: u8,
    len: u32,
}

impl Val {
    fn bytes(self) -> Vec<u8> {
        common::value_of(u64::from(self.seed), self.len as usize)
    }
}

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Val({}x{})", self.seed, self.len)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Put(Key, Val),
    Delete(Key),
    /// Operations (`None` = delete) and whether the write is synced.
    Batch(Vec<(Key, Option<Val>)>, bool),
    Get(Key),
    Range(Bound<Key>, Bound<Key>, bool),
    Prefix(Key, bool),
    SnapshotTake,
    SnapshotRead(usize, Key),
    Flush,
    Reopen,
    /// Crash, then cut the newest segment at this fraction (of `u16::MAX`)
    /// of its non-durable tail.
    Crash(u16),
}

const ALPHABET: [u8; 5] = [b'a', b'b', b'c', 0x00, 0xff];

fn key() -> impl Strategy<Value = Key> {
    prop::collection::vec(prop::sample::select(&ALPHABET[..]), 1..=2).prop_map(Key)
}

fn val() -> impl Strategy<Value = Val> {
    let len = prop_oneof![
        3 => 0u32..16,
        2 => 16u32..2_000,
        // Larger than one WAL frame (32 KiB), and half a memtable.
        1 => 30_000u32..40_000,
    ];
    (any::<u8>(), len).prop_map(|(seed, len)| Val { seed, len })
}

fn bound() -> impl Strategy<Value = Bound<Key>> {
    prop_oneof![
        Just(Bound::Unbounded),
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (key(), val()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => key().prop_map(Op::Delete),
        3 => (
            prop::collection::vec((key(), prop::option::weighted(0.7, val())), 0..5),
            any::<bool>()
        )
            .prop_map(|(ops, sync)| Op::Batch(ops, sync)),
        4 => key().prop_map(Op::Get),
        3 => (bound(), bound(), any::<bool>()).prop_map(|(lo, hi, rev)| Op::Range(lo, hi, rev)),
        2 => (prop::collection::vec(prop::sample::select(&ALPHABET[..]), 0..=2), any::<bool>())
            .prop_map(|(p, rev)| Op::Prefix(Key(p), rev)),
        1 => Just(Op::SnapshotTake),
        2 => (any::<usize>(), key()).prop_map(|(i, k)| Op::SnapshotRead(i, k)),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
        2 => any::<u16>().prop_map(Op::Crash),
    ]
}

fn options() -> Options {
    common::small_memtable()
}

fn in_bounds(key: &[u8], lo: &Bound<Key>, hi: &Bound<Key>) -> bool {
    let above = match lo {
        Bound::Included(l) => key >= &l.0[..],
        Bound::Excluded(l) => key > &l.0[..],
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => key <= &h.0[..],
        Bound::Excluded(h) => key < &h.0[..],
        Bound::Unbounded => true,
    };
    above && below
}

/// The database under test, the model, and what the model knows about
/// durability.
struct Harness {
    dir: TempDir,
    db: Option<Db>,
    model: Model,
    /// Model states after each acknowledged non-empty write since the last
    /// (re)open; `history[0]` is the state at that open. Every such write is
    /// exactly one WAL record, appended in this order.
    history: Vec<Model>,
    /// Index in `history` of the last state known to be on stable storage.
    durable: usize,
    /// The newest WAL segment and its length at that durable point: a crash
    /// may cut that segment only at or after this length.
    durable_at: (PathBuf, u64),
    snapshots: Vec<(Snapshot, Model)>,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), options()).unwrap();
        let mut harness = Harness {
            dir,
            db: Some(db),
            model: Model::new(),
            history: vec![Model::new()],
            durable: 0,
            durable_at: (PathBuf::new(), 0),
            snapshots: Vec::new(),
        };
        harness.mark_durable();
        harness
    }

    fn db(&self) -> &Db {
        self.db.as_ref().expect("database open")
    }

    /// Everything acknowledged so far is on stable storage.
    fn mark_durable(&mut self) {
        self.durable = self.history.len() - 1;
        let segment = newest_segment(self.dir.path());
        let len = std::fs::metadata(&segment).unwrap().len();
        self.durable_at = (segment, len);
    }

    /// Starts a new history at the current model state (after an open).
    fn reset_history(&mut self) {
        self.history = vec![self.model.clone()];
        self.mark_durable();
    }

    fn write(&mut self, ops: &[(Key, Option<Val>)], sync: bool) -> Result<(), TestCaseError> {
        let mut batch = WriteBatch::new();
        let mut next = self.model.clone();
        for (k, v) in ops {
            match v {
                Some(v) => {
                    let bytes = v.bytes();
                    batch.put(&k.0, &bytes);
                    next.insert(k.0.clone(), bytes);
                }
                None => {
                    batch.delete(&k.0);
                    next.remove(&k.0);
                }
            }
        }
        let result = self.db().write_opt(batch, &WriteOptions::new().sync(sync));
        prop_assert!(result.is_ok(), "write failed: {:?}", result);
        self.model = next;
        if !ops.is_empty() {
            self.history.push(self.model.clone());
            if sync {
                self.mark_durable();
            }
        }
        Ok(())
    }

    fn check_contents(&self, what: &str) -> Result<(), TestCaseError> {
        let got: Model = collect(self.db().range::<&[u8], _>(..))
            .into_iter()
            .collect();
        prop_assert_eq!(&got, &self.model, "{}", what);
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Put(k, v) => self.write(&[(k.clone(), Some(*v))], false)?,
            Op::Delete(k) => self.write(&[(k.clone(), None)], false)?,
            Op::Batch(ops, sync) => self.write(ops, *sync)?,
            Op::Get(k) => {
                let got = self.db().get(&k.0).unwrap().map(|v| v.to_vec());
                prop_assert_eq!(got.as_ref(), self.model.get(&k.0), "get {:?}", k);
            }
            Op::Range(lo, hi, rev) => {
                let bounds = (lo.as_ref().map(|k| &k.0[..]), hi.as_ref().map(|k| &k.0[..]));
                let iter = self.db().range::<&[u8], _>(bounds);
                let got = if *rev {
                    collect(iter.rev())
                } else {
                    collect(iter)
                };
                let mut expect: Vec<_> = self
                    .model
                    .iter()
                    .filter(|(k, _)| in_bounds(k, lo, hi))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if *rev {
                    expect.reverse();
                }
                prop_assert_eq!(got, expect, "range {:?}..{:?} rev={}", lo, hi, rev);
            }
            Op::Prefix(p, rev) => {
                let iter = self.db().prefix(&p.0);
                let got = if *rev {
                    collect(iter.rev())
                } else {
                    collect(iter)
                };
                let mut expect: Vec<_> = self
                    .model
                    .iter()
                    .filter(|(k, _)| k.starts_with(&p.0))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if *rev {
                    expect.reverse();
                }
                prop_assert_eq!(got, expect, "prefix {:?} rev={}", p, rev);
            }
            Op::SnapshotTake => {
                if self.snapshots.len() < 8 {
                    self.snapshots
                        .push((self.db().snapshot(), self.model.clone()));
                }
            }
            Op::SnapshotRead(i, k) => {
                if !self.snapshots.is_empty() {
                    let (snapshot, model) = &self.snapshots[i % self.snapshots.len()];
                    let got = snapshot.get(&k.0).unwrap().map(|v| v.to_vec());
                    prop_assert_eq!(got.as_ref(), model.get(&k.0), "snapshot get {:?}", k);
                    let all: Model = collect(snapshot.range::<&[u8], _>(..))
                        .into_iter()
                        .collect();
                    prop_assert_eq!(&all, model, "snapshot range");
                    let under: Vec<_> = collect(snapshot.prefix(&k.0).rev());
                    let expect: Vec<_> = model
                        .iter()
                        .rev()
                        .filter(|(key, _)| key.starts_with(&k.0))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    prop_assert_eq!(under, expect, "snapshot prefix {:?}", k);
                }
            }
            Op::Flush => {
                self.db().flush().unwrap();
                self.mark_durable();
            }
            Op::Reopen => {
                self.snapshots.clear();
                self.db.take().unwrap().close().unwrap();
                let db = Db::open(self.dir.path(), options());
                prop_assert!(db.is_ok(), "reopen failed: {:?}", db.err());
                self.db = db.ok();
                self.check_contents("after close + reopen")?;
                self.reset_history();
            }
            Op::Crash(fraction) => self.crash(*fraction)?,
        }
        Ok(())
    }

    fn crash(&mut self, fraction: u16) -> Result<(), TestCaseError> {
        self.snapshots.clear();
        self.db.take().unwrap().simulate_crash();

        // Cut the newest segment somewhere in its non-durable tail.
        let segment = newest_segment(self.dir.path());
        let bytes = std::fs::read(&segment).unwrap();
        let len = bytes.len() as u64;
        let durable_len = if segment == self.durable_at.0 {
            self.durable_at.1
        } else {
            // Created by a rotation after the durable point: its header was
            // synced at creation, and the rotation synced everything older.
            SEGMENT_HEADER_LEN as u64
        };
        prop_assert!(durable_len <= len, "segment shrank below its synced length");
        let cut = durable_len + (u64::from(fraction) * (len - durable_len)) / u64::from(u16::MAX);
        let ends = record_ends(&bytes);
        let lost = ends.iter().filter(|&&end| end as u64 > cut).count();
        truncate(&segment, cut);

        let db = Db::open(self.dir.path(), options());
        prop_assert!(
            db.is_ok(),
            "reopen after crash (cut {} of {}) failed: {:?}",
            cut,
            len,
            db.err()
        );
        self.db = db.ok();
        let got: Model = collect(self.db().range::<&[u8], _>(..))
            .into_iter()
            .collect();

        // The property: the state after some acknowledged write at or after
        // the last durable point.
        let matches: Vec<usize> = (0..self.history.len())
            .filter(|&i| self.history[i] == got)
            .collect();
        prop_assert!(
            matches.iter().any(|&i| i >= self.durable),
            "after crash (cut {} of {}): recovered state matches history {:?}, but the \
             last durable point is {} of {}",
            cut,
            len,
            matches,
            self.durable,
            self.history.len() - 1
        );
        // And precisely: every record before the cut survived, none after.
        prop_assert!(self.history.len() > lost, "more records lost than written");
        let expect = self.history.len() - 1 - lost;
        prop_assert!(
            expect >= self.durable,
            "harness: cut below the durable point"
        );
        prop_assert_eq!(
            &got,
            &self.history[expect],
            "after crash (cut {} of {}, {} records lost)",
            cut,
            len,
            lost
        );

        self.model = got;
        self.reset_history();
        Ok(())
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut harness = Harness::new();
    for op in ops {
        harness.apply(op)?;
    }
    harness.check_contents("at the end")?;
    // And once more after a clean reopen.
    harness.apply(&Op::Reopen)
}

/// 64 cases by default (a few seconds); `PROPTEST_CASES=5000` for a long
/// run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn engine_matches_a_btreemap_model(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}

/// A fixed sequence through every operation kind, so the harness itself is
/// exercised even if the generator's weights change.
#[test]
fn every_operation_kind_once() {
    let k = |s: &str| Key(s.as_bytes().to_vec());
    let big = Val {
        seed: 1,
        len: 35_000,
    };
    let small = Val { seed: 2, len: 10 };
    let ops = vec![
        Op::Put(k("a"), small),
        Op::Put(k("b"), big),
        Op::SnapshotTake,
        Op::Batch(vec![(k("a"), None), (k("c"), Some(big))], true),
        Op::Put(k("d"), big),
        Op::Put(k("e"), big),
        Op::Delete(k("b")),
        Op::Get(k("a")),
        Op::Get(k("c")),
        Op::Range(Bound::Included(k("b")), Bound::Unbounded, true),
        Op::Prefix(k(""), false),
        Op::SnapshotRead(0, k("b")),
        Op::Crash(u16::MAX / 2),
        Op::Put(k("f"), small),
        Op::Flush,
        Op::Put(k("g"), small),
        Op::Crash(0),
        Op::Reopen,
        Op::Get(k("f")),
        Op::Crash(u16::MAX),
    ];
    run(&ops).unwrap();
}
