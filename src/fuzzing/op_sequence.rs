//! The operation-sequence fuzz target: the whole engine on the simulated
//! file system, driven by the fuzzer's bytes — writes, batches, flushes,
//! compactions, injected I/O errors, power cuts and reopens — against a
//! `BTreeMap` model.
//!
//! Writes are synced (`sync_writes`), so every acknowledged write survives
//! a power cut. A write that failed may or may not have reached the log:
//! it is *uncertain*. The database must always show the settled state with
//! every acknowledged write since applied, in order, and any subset of the
//! uncertain ones; a power cut and reopen settle what is found. After a power cut the database must
//! open (no fault is armed then) and read back exactly such a state, in
//! full scans both ways and point reads.

use crate::fs::{Fault, FaultPlan, FaultyFileSystem, PowerCut, SimFileSystem};
use crate::{Db, Error, Options, WriteBatch};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

type State = BTreeMap<Vec<u8>, Vec<u8>>;
/// One write's operations: `(key, Some(value))` puts, `(key, None)` deletes.
type Ops = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Bytes of the fuzzer's input, consumed from the front.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| acc << 8 | u64::from(self.byte().unwrap_or(0)))
    }
}

struct Run {
    sim: SimFileSystem,
    faulty: FaultyFileSystem,
    db: Option<Db>,
    /// The state at the last reopen.
    model: State,
    /// Writes since then, in order: `true` when acknowledged, `false` when
    /// uncertain.
    pending: Vec<(Ops, bool)>,
    counter: u64,
}

const DIR: &str = "/fuzz-db";
const STEPS_MAX: usize = 48;
/// Uncertain writes whose subsets are enumerated (the rest count as applied
/// — never reached: a failed log write poisons the handle).
const UNCERTAIN_MAX: usize = 8;

/// Runs one operation sequence; panics on any divergence from the model.
pub fn op_sequence(data: &[u8]) {
    let mut input = Input(data);
    let sim = SimFileSystem::new(input.u64());
    let faulty = FaultyFileSystem::new(Arc::new(sim.clone()));
    let mut run = Run {
        sim,
        faulty,
        db: None,
        model: State::new(),
        pending: Vec::new(),
        counter: 0,
    };
    run.reopen();
    let trace = trace_on();
    for _ in 0..STEPS_MAX {
        let Some(op) = input.byte() else { break };
        if trace {
            eprintln!(
                "op {} (model {} keys, {} pending, fired {:?})",
                op % 10,
                run.model.len(),
                run.pending.len(),
                run.faulty.fired().last().map(|c| (c.kind, c.path.clone()))
            );
        }
        match op % 10 {
            0..=2 => {
                let key = run.key(&mut input);
                let value = run.value(&mut input);
                run.write(vec![(key, Some(value))]);
            }
            3 => {
                let key = run.key(&mut input);
                run.write(vec![(key, None)]);
            }
            4 => {
                let (a, b) = (run.key(&mut input), run.key(&mut input));
                let value = run.value(&mut input);
                run.write(vec![(a, Some(value)), (b, None)]);
            }
            5 => {
                let _ = run.db().flush_memtables();
            }
            6 => {
                let _ = run.db().compact();
            }
            7 => {
                let nth = u64::from(input.byte().unwrap_or(0) % 24) + 1;
                let fault = match input.byte().unwrap_or(0) % 3 {
                    0 => Fault::Eio,
                    1 => Fault::NoSpace,
                    _ => Fault::ShortWrite,
                };
                run.faulty.arm(FaultPlan::nth_call(nth, fault));
            }
            8 => {
                let cut = PowerCut::Seeded(input.u64());
                run.power_cut(cut);
            }
            _ => run.look(),
        }
    }
    run.power_cut(PowerCut::Seeded(0));
}

impl Run {
    fn db(&self) -> &Db {
        match &self.db {
            Some(db) => db,
            None => panic!("the database is open between steps"),
        }
    }

    fn key(&self, input: &mut Input<'_>) -> Vec<u8> {
        format!("k{:02}", input.byte().unwrap_or(0) % 16).into_bytes()
    }

    /// A value unique to this write (so a wrong version is never mistaken
    /// for the right one), 0 to 300 bytes.
    fn value(&mut self, input: &mut Input<'_>) -> Vec<u8> {
        self.counter += 1;
        let len = usize::from(input.byte().unwrap_or(0)) * 300 / 255;
        let mut value = format!("v{}-", self.counter).into_bytes();
        value.resize(len.max(value.len()), b'.');
        value
    }

    fn write(&mut self, ops: Ops) {
        let mut batch = WriteBatch::new();
        for (key, value) in &ops {
            match value {
                Some(v) => batch.put(key, v),
                None => batch.delete(key),
            };
        }
        let result = self.db().write(batch);
        match result {
            Ok(()) => self.pending.push((ops, true)),
            // Refused before the log: certainly not applied.
            Err(Error::Poisoned { .. } | Error::Closed) => {}
            Err(_) => self.pending.push((ops, false)),
        }
    }

    /// The states the database may show now: the settled state, then the
    /// pending writes in order — every acknowledged one, any subset of the
    /// uncertain ones (at most [`UNCERTAIN_MAX`] are tracked).
    fn candidates(&self) -> Vec<State> {
        let uncertain = self.pending.iter().filter(|(_, acked)| !acked).count();
        let uncertain = uncertain.min(UNCERTAIN_MAX);
        (0u32..1 << uncertain)
            .map(|mask| {
                let mut state = self.model.clone();
                let mut bit = 0;
                for (ops, acked) in &self.pending {
                    let applied = *acked || {
                        bit += 1;
                        bit > UNCERTAIN_MAX || mask & (1 << (bit - 1)) != 0
                    };
                    if applied {
                        apply(&mut state, ops);
                    }
                }
                state
            })
            .collect()
    }

    /// Reads everything; the state must be a candidate. It settles
    /// nothing: a write whose fsync failed may be visible now and lost at
    /// the next power cut. A read error is allowed only once a fault fired
    /// (a failed read of a table is `Corruption` or `Io`, never a panic).
    fn look(&mut self) {
        let Some(got) = read_state(self.db()) else {
            assert!(
                !self.faulty.fired().is_empty(),
                "a read failed with no fault injected"
            );
            return;
        };
        self.check(&got);
    }

    fn check(&self, got: &State) {
        assert!(
            self.candidates().contains(got),
            "the database shows a state the writes cannot explain ({} pending writes)",
            self.pending.len()
        );
    }

    /// After a reopen: the state must be a candidate, and it is what the
    /// database holds durably from now on.
    fn settle(&mut self, got: State) {
        let candidates = self.candidates();
        if !candidates.contains(&got) && trace_on() {
            eprintln!(
                "settled {:?}\nfound   {:?}",
                self.model.keys().collect::<Vec<_>>(),
                got.keys().collect::<Vec<_>>()
            );
        }
        assert!(
            candidates.contains(&got),
            "the database shows a state the writes cannot explain ({} pending writes)",
            self.pending.len()
        );
        self.model = got;
        self.pending.clear();
    }

    fn power_cut(&mut self, cut: PowerCut) {
        if let Some(db) = self.db.take() {
            db.simulate_crash();
        }
        self.sim.power_cut(cut);
        self.sim.restart();
        self.reopen();
        match read_state(self.db()) {
            Some(got) => self.settle(got),
            None => panic!("reads failed after a reopen with no fault armed"),
        }
    }

    fn reopen(&mut self) {
        self.faulty.disarm();
        let options = Options::default()
            .file_system(Arc::new(self.faulty.clone()))
            .memtable_bytes(64 << 10)
            .target_table_bytes(16 << 10)
            .l0_triggers(2, 8, 12)
            .sync_writes(true);
        match Db::open(Path::new(DIR), options) {
            Ok(db) => self.db = Some(db),
            Err(e) => panic!("open after a power cut with no fault armed: {e}"),
        }
    }
}

/// `HOLDFAST_OPSEQ_TRACE=1` prints the steps (to minimise a finding).
fn trace_on() -> bool {
    std::env::var_os("HOLDFAST_OPSEQ_TRACE").is_some()
}

fn apply(state: &mut State, ops: &Ops) {
    for (key, value) in ops {
        match value {
            Some(v) => state.insert(key.clone(), v.clone()),
            None => state.remove(key),
        };
    }
}

/// Everything the database shows: a forward scan, checked against a
/// backward scan and point reads; `None` if a read failed.
fn read_state(db: &Db) -> Option<State> {
    let forward: State = db
        .range::<&[u8], _>(..)
        .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<crate::Result<_>>()
        .ok()?;
    let mut backward: Vec<(Vec<u8>, Vec<u8>)> = db
        .range::<&[u8], _>(..)
        .rev()
        .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<crate::Result<_>>()
        .ok()?;
    backward.reverse();
    assert!(
        backward.iter().map(|(k, v)| (k, v)).eq(forward.iter()),
        "forward and backward scans disagree"
    );
    for i in 0..16 {
        let key = format!("k{i:02}").into_bytes();
        let got = db.get(&key).ok()?;
        assert_eq!(
            got.as_deref(),
            forward.get(&key).map(Vec::as_slice),
            "get disagrees with the scan"
        );
    }
    Some(forward)
}
