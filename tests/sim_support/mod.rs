//! Shared by the reliability suites (`crash_sim_exploration.rs`,
//! `io_fault_every_site.rs`, `corruption_sweep.rs`): a seeded workload
//! generator, the history of what was written and acknowledged, and the
//! oracle that judges a recovered database against that history.
//!
//! The oracle's rule: a recovered database must hold exactly the effect of
//! a *prefix* of the writes issued (batches whole), at least as long as the
//! last write whose durability was acknowledged (a sync write, or any
//! write before a successful `flush`, `flush_memtables` or `compact`), and
//! no longer than the writes issued before the crash. Writes that failed
//! with an I/O error are indeterminate: each may be present or absent.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

use holdfast::fs::{FileSystem, SimRng};
use holdfast::{Db, Error, Options, WriteBatch, WriteOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The database directory inside simulated file systems.
pub const DB_DIR: &str = "/db";

/// Key/value contents of a database.
pub type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// One write: a batch of puts (`Some`) and deletes (`None`).
pub type Ops = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Whether an environment variable is set to `1`.
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// A numeric environment variable, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Small options that make every mechanism run on little data.
/// `explicit_only`: compaction only when the workload asks (level-0
/// triggers out of reach), so that the operation order barely depends on
/// thread timing.
pub fn small_options(fs: Arc<dyn FileSystem>, explicit_only: bool) -> Options {
    let options = Options::default()
        .memtable_bytes(64 << 10)
        .target_table_bytes(4096)
        .level1_bytes(16 << 10)
        .table_block_bytes(256)
        .background_threads(1)
        .file_system(fs);
    if explicit_only {
        options.l0_triggers(1000, 1000, 1000)
    } else {
        options.l0_triggers(2, 8, 12)
    }
}

/// One step of a workload.
#[derive(Clone, Debug)]
pub enum Step {
    /// A write (one op or a batch), synced or not.
    Write { ops: Ops, sync: bool },
    /// `Db::flush`: fsync the WAL.
    Flush,
    /// `Db::flush_memtables`.
    FlushMemtables,
    /// `Db::compact`.
    Compact,
}

/// The mix of a generated workload.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    pub steps: usize,
    pub keys: u64,
    /// Largest value filler in bytes.
    pub value_max: usize,
    /// Chance in percent that a write is synced.
    pub sync_pct: u64,
    /// Chance in percent that a write is a multi-op batch.
    pub batch_pct: u64,
    /// Chance in percent that a step is a flush / flush_memtables /
    /// compact.
    pub flush_pct: u64,
    pub flush_memtables_pct: u64,
    pub compact_pct: u64,
}

/// A deterministic workload from `seed`.
pub fn workload(seed: u64, mix: Mix) -> Vec<Step> {
    let mut rng = SimRng::new(seed);
    let mut steps = Vec::with_capacity(mix.steps);
    for index in 0..mix.steps {
        let roll = rng.below(100);
        let step = if roll < mix.compact_pct {
            Step::Compact
        } else if roll < mix.compact_pct + mix.flush_memtables_pct {
            Step::FlushMemtables
        } else if roll < mix.compact_pct + mix.flush_memtables_pct + mix.flush_pct {
            Step::Flush
        } else {
            let count = if rng.below(100) < mix.batch_pct {
                rng.between(2, 6)
            } else {
                1
            };
            let ops = (0..count)
                .map(|op| {
                    let key = format!("key{:04}", rng.below(mix.keys)).into_bytes();
                    if rng.one_in(5) {
                        (key, None)
                    } else {
                        let mut value = format!("{}:{index}.{op}:", seed % 1000).into_bytes();
                        let filler = rng.between(0, mix.value_max);
                        value.extend((0..filler).map(|i| b'a' + ((i as u64 + seed) % 26) as u8));
                        (key, Some(value))
                    }
                })
                .collect();
            Step::Write {
                ops,
                sync: rng.below(100) < mix.sync_pct,
            }
        };
        steps.push(step);
    }
    steps
}

/// A batch with `ops`.
pub fn batch_of(ops: &Ops) -> WriteBatch {
    let mut batch = WriteBatch::new();
    for (key, value) in ops {
        match value {
            Some(value) => batch.put(key, value),
            None => batch.delete(key),
        };
    }
    batch
}

/// Applies `ops` to `state`.
pub fn apply(state: &mut State, ops: &Ops) {
    for (key, value) in ops {
        match value {
            Some(value) => state.insert(key.clone(), value.clone()),
            None => state.remove(key),
        };
    }
}

/// What a workload did, as the oracle needs it.
#[derive(Debug, Default)]
pub struct History {
    /// Every write issued, in order.
    pub writes: Vec<WriteRecord>,
    /// `(moment, count)`: once the clock passed `moment`, the first `count`
    /// writes were acknowledged durable.
    pub durable: Vec<(u64, usize)>,
}

/// One issued write.
#[derive(Debug)]
pub struct WriteRecord {
    pub ops: Ops,
    /// The clock (mutating-operation count) just before it was issued.
    pub issued_at: u64,
    /// `None` while unknown; `Some(true)` acknowledged; `Some(false)` it
    /// failed (indeterminate unless the error says it was refused).
    pub acked: Option<bool>,
}

impl History {
    /// Writes issued before the clock passed `moment`: the most a disk
    /// image taken at `moment` can hold.
    pub fn issued_before(&self, moment: u64) -> usize {
        self.writes.partition_point(|w| w.issued_at < moment)
    }

    /// Writes acknowledged durable by `moment`: the least the image holds.
    pub fn durable_at(&self, moment: u64) -> usize {
        self.durable
            .iter()
            .filter(|(at, _)| *at <= moment)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
    }

    /// The state after each prefix of the writes: `states()[j]` holds the
    /// first `j` writes.
    pub fn states(&self) -> Vec<State> {
        let mut out = Vec::with_capacity(self.writes.len() + 1);
        let mut state = State::new();
        out.push(state.clone());
        for write in &self.writes {
            apply(&mut state, &write.ops);
            out.push(state.clone());
        }
        out
    }
}

/// Runs `steps` on `db`, recording into `history`; `clock` reads the
/// mutating-operation counter. Stops at the first error and returns it
/// with its step index. `after_step` runs after every step (the crash
/// explorer verifies the images recorded so far there).
pub fn run_steps(
    db: &Db,
    steps: &[Step],
    history: &mut History,
    clock: &dyn Fn() -> u64,
    after_step: &mut dyn FnMut(&History),
) -> Result<(), (usize, Error)> {
    for (index, step) in steps.iter().enumerate() {
        let before = clock();
        let result = match step {
            Step::Write { ops, sync } => {
                history.writes.push(WriteRecord {
                    ops: ops.clone(),
                    issued_at: before,
                    acked: None,
                });
                let result = db.write_opt(batch_of(ops), &WriteOptions::new().sync(*sync));
                if let Some(last) = history.writes.last_mut() {
                    last.acked = Some(result.is_ok());
                }
                if result.is_ok() && *sync {
                    history.durable.push((clock(), history.writes.len()));
                }
                result
            }
            Step::Flush => db.flush(),
            Step::FlushMemtables => db.flush_memtables(),
            Step::Compact => db.compact(),
        };
        match result {
            Ok(()) => {
                if !matches!(step, Step::Write { .. }) {
                    history.durable.push((clock(), history.writes.len()));
                }
            }
            Err(e) => return Err((index, e)),
        }
        after_step(history);
    }
    Ok(())
}

/// Everything `db` holds, read three ways (forward scan, backward scan,
/// point reads of every key in `probe`) that must agree.
pub fn read_state(db: &Db, probe: &[Vec<u8>]) -> Result<State, String> {
    let mut forward = State::new();
    for item in db.range::<&[u8], _>(..) {
        let (k, v) = item.map_err(|e| format!("forward scan: {e}"))?;
        forward.insert(k.to_vec(), v.to_vec());
    }
    let mut backward = Vec::new();
    for item in db.range::<&[u8], _>(..).rev() {
        let (k, v) = item.map_err(|e| format!("backward scan: {e}"))?;
        backward.push((k.to_vec(), v.to_vec()));
    }
    backward.reverse();
    if !backward.iter().map(|(k, v)| (k, v)).eq(forward.iter()) {
        return Err("forward and backward scans disagree".into());
    }
    for key in probe {
        let got = db.get(key).map_err(|e| format!("get {}: {e}", show(key)))?;
        if got.as_deref() != forward.get(key).map(Vec::as_slice) {
            return Err(format!("get {} disagrees with the scan", show(key)));
        }
    }
    Ok(forward)
}

/// Every key a workload may touch.
pub fn all_keys(steps: &[Step]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = steps
        .iter()
        .flat_map(|s| match s {
            Step::Write { ops, .. } => ops.iter().map(|(k, _)| k.clone()).collect(),
            _ => Vec::new(),
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A key for messages.
pub fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() > 40 {
        format!("{}…", &text[..40])
    } else {
        text.into_owned()
    }
}

/// Which prefix `got` is, among `states[lo..=hi]` (the newest match).
pub fn matching_prefix(states: &[State], lo: usize, hi: usize, got: &State) -> Option<usize> {
    (lo..=hi.min(states.len() - 1))
        .rev()
        .find(|&j| &states[j] == got)
}

/// How `got` differs from `want`, briefly.
pub fn diff(want: &State, got: &State) -> String {
    let mut out = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            None => out.push(format!("missing {}", show(k))),
            Some(g) if g != v => out.push(format!("{}: want {} got {}", show(k), show(v), show(g))),
            _ => {}
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        out.push(format!("unexpected {}", show(k)));
    }
    let more = out.len().saturating_sub(6);
    out.truncate(6);
    if more > 0 {
        out.push(format!("… {more} more"));
    }
    out.join("; ")
}

/// The files of the database directory in an image, `name(len)`.
pub fn listing(image: &holdfast::fs::DiskImage) -> String {
    image
        .files_in(Path::new(DB_DIR))
        .iter()
        .map(|(name, bytes)| format!("{name}({})", bytes.len()))
        .collect::<Vec<_>>()
        .join(" ")
}
