//! [`Db`]: the public handle. The engine behind it lives in [`engine`];
//! the read path in [`read`], opening and recovery in [`recovery`], the
//! background threads in [`background`].
//!
//! The path of a write: [`Db::write_opt`] validates the batch, then hands
//! it to the group-commit queue ([`crate::commit`]), whose leader makes room
//! (back-pressure, memtable rotation), appends the group to the WAL,
//! inserts it into the active memtable and publishes its sequence numbers.
//! Background threads flush frozen memtables to level-0 tables and compact
//! tables down the levels.

mod background;
mod checkpoint;
mod engine;
mod read;
mod records;
mod recovery;
mod stats;

pub use checkpoint::CheckpointReport;
pub(crate) use checkpoint::CutSlot;
pub(crate) use engine::{Engine, SuperVersion};
pub(crate) use read::Latest;
pub(crate) use recovery::lock_dir;
pub use stats::Stats;

use crate::commit::Work;
use crate::iter::Iter;
use crate::options::{Options, WriteOptions};
use crate::snapshot::Snapshot;
use crate::{Error, Result, WriteBatch};
use bytes::Bytes;
use parking_lot::Mutex;
use read::{prefix_bounds, to_bytes_bound};
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

/// What every clone of a [`Db`] shares: the engine and its threads. When
/// the last clone drops, the threads stop and the engine closes.
#[derive(Debug)]
struct Shared {
    engine: Arc<Engine>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn stop_background(&self) {
        let threads = std::mem::take(&mut *self.threads.lock());
        background::stop(&self.engine, threads);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop_background();
    }
}

/// An open holdfast database: a cheap, clonable handle (`Send + Sync`).
///
/// Every clone refers to the same database; it closes when
/// [`close`](Db::close) is called or the last clone (including those held by
/// snapshots) is dropped.
///
/// ```
/// # fn main() -> holdfast::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// use holdfast::{Db, Options};
/// let db = Db::open(dir.path(), Options::default())?;
/// db.put("invoice/2026/0001", "ACME, 1200 EUR")?;
/// assert_eq!(db.get("invoice/2026/0001")?.as_deref(), Some(&b"ACME, 1200 EUR"[..]));
/// db.delete("invoice/2026/0001")?;
/// assert_eq!(db.get("invoice/2026/0001")?, None);
/// db.close()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Db {
    shared: Arc<Shared>,
}

impl Db {
    /// Opens the database in directory `path`, creating it if
    /// [`Options::create_if_missing`] allows, and recovers every write the
    /// WAL holds.
    ///
    /// Fails with [`Error::Locked`] if another handle — in this process or
    /// another — has it open, and with [`Error::Corruption`] if the log is
    /// damaged other than by a torn tail (see [`crate::RecoveryMode`]).
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        let engine = Arc::new(recovery::open(path.as_ref(), options)?);
        let threads =
            background::spawn(&engine).map_err(|e| Error::io("starting background threads", e))?;
        engine.background.notify_work();
        Ok(Db {
            shared: Arc::new(Shared {
                engine,
                threads: Mutex::new(threads),
            }),
        })
    }

    fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Sets `key` to `value` with the database's default durability.
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let mut batch = WriteBatch::with_capacity(9 + key.len() + value.len());
        batch.put(key, value);
        self.write(batch)
    }

    /// Deletes `key` (deleting an absent key succeeds).
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key);
        self.write(batch)
    }

    /// Applies `batch` atomically with the database's default durability.
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        self.write_opt(batch, &WriteOptions::default())
    }

    /// Applies `batch` atomically. With `sync`, returns only after the batch
    /// is on stable storage.
    ///
    /// A batch holding an invalid operation (empty or oversized key,
    /// oversized value) fails with [`Error::InvalidArgument`] and applies
    /// nothing.
    pub fn write_opt(&self, batch: WriteBatch, options: &WriteOptions) -> Result<()> {
        if let Some(why) = batch.validation_error() {
            return Err(Error::InvalidArgument(why.to_string()));
        }
        self.engine().check_writable()?;
        let ctx = write_context(options)?;
        let sync = options.sync.unwrap_or(self.engine().options.sync_writes);
        let result = self.engine().submit(Work::Write(batch, ctx), sync);
        self.engine().records.maybe_persist_clock();
        result
    }

    /// The current value of `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        let key = key.as_ref();
        crate::key::check_key(key).map_err(Error::InvalidArgument)?;
        self.engine().check_open()?;
        let found = self.engine().get_latest(key);
        self.engine().records.maybe_persist_clock();
        found
    }

    /// Writes every memtable to a table (freezing the active one first),
    /// and returns once they are all on disk in level 0. The WAL segments
    /// they covered are deleted.
    pub fn flush_memtables(&self) -> Result<()> {
        self.engine().check_writable()?;
        self.engine().flush_memtables()
    }

    /// Compacts the whole database: every table is rewritten, level by
    /// level, into the level below the deepest one holding data (or in
    /// place at the last level), dropping every overwritten version and
    /// tombstone that no live snapshot needs.
    pub fn compact(&self) -> Result<()> {
        self.compact_range::<&[u8], _>(..)
    }

    /// Compacts the tables whose keys meet `range` (see [`Db::compact`]).
    pub fn compact_range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<()> {
        self.engine().check_writable()?;
        let lower = to_bytes_bound(range.start_bound());
        let upper = to_bytes_bound(range.end_bound());
        self.engine()
            .compact_range(as_ref_bound(&lower), as_ref_bound(&upper))
    }

    /// Counters and the shape of the tree.
    pub fn stats(&self) -> Stats {
        let engine = self.engine();
        let state = engine.current_state();
        let counter = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let registry = engine.records.registry.read();
        Stats {
            flushes: counter(&engine.stats.flushes),
            compactions: counter(&engine.stats.compactions),
            stalls: counter(&engine.stats.stalls),
            stall_micros: counter(&engine.stats.stall_micros),
            slowdowns: counter(&engine.stats.slowdowns),
            slowdown_micros: counter(&engine.stats.slowdown_micros),
            level_tables: state.version.levels.iter().map(Vec::len).collect(),
            level_bytes: (0..state.version.levels.len())
                .map(|l| state.version.level_bytes(l))
                .collect(),
            active_memtable_bytes: state.active.approx_bytes() as u64,
            frozen_memtables: state.frozen.len(),
            open_tables: engine.table_cache.len(),
            last_seq: engine.visible_seq.load(Ordering::Acquire),
            holds: registry.holds.len(),
            policies: registry.policies.len(),
            recorded_events: registry.events.len(),
            disposed: counter(&engine.records.receipts_written),
            user_bytes_written: counter(&engine.stats.user_bytes),
            wal_bytes_written: counter(&engine.stats.wal_bytes),
            flush_bytes_written: counter(&engine.stats.flush_bytes),
            compaction_bytes_read: counter(&engine.stats.compaction_read_bytes),
            compaction_bytes_written: counter(&engine.stats.compaction_write_bytes),
            filter_useful: counter(&engine.stats.filter_useful),
            filter_false_positives: counter(&engine.stats.filter_false_positives),
            frozen_memtable_bytes: state.frozen.iter().map(|m| m.approx_bytes() as u64).sum(),
            level_entries: state
                .version
                .levels
                .iter()
                .map(|tables| tables.iter().map(|t| t.meta.entries).sum())
                .collect(),
        }
    }

    /// A consistent view of the database as of now.
    pub fn snapshot(&self) -> Snapshot {
        let engine = self.engine();
        let guard = engine.snapshots.register_current(&engine.visible_seq);
        Snapshot::new(self.clone(), guard)
    }

    /// The live pairs with keys in `range`, ascending (use `.rev()` for
    /// descending). An empty or inverted range yields nothing.
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = holdfast::Db::open(dir.path(), holdfast::Options::default())?;
    /// for day in ["2026-11-01", "2026-11-02", "2026-11-03"] {
    ///     db.put(format!("log/{day}"), "...")?;
    /// }
    /// let keys: Vec<_> = db
    ///     .range("log/2026-11-02".."log/2026-11-04")
    ///     .map(|item| item.map(|(k, _)| k))
    ///     .collect::<holdfast::Result<_>>()?;
    /// assert_eq!(keys, ["log/2026-11-02", "log/2026-11-03"]);
    /// # Ok(()) }
    /// ```
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        let engine = self.engine();
        let guard = engine.snapshots.register_current(&engine.visible_seq);
        let lower = to_bytes_bound(range.start_bound());
        let upper = to_bytes_bound(range.end_bound());
        let iter = engine.iter(lower, upper, guard);
        engine.records.maybe_persist_clock();
        iter
    }

    /// The live pairs whose key starts with `prefix`, ascending.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let engine = self.engine();
        let guard = engine.snapshots.register_current(&engine.visible_seq);
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        let iter = engine.iter(lower, upper, guard);
        engine.records.maybe_persist_clock();
        iter
    }

    /// Makes every write acknowledged so far durable (fsyncs the WAL).
    pub fn flush(&self) -> Result<()> {
        self.engine().check_writable()?;
        self.engine().sync_wal()
    }

    /// Closes the database: waits for writes in flight, makes everything
    /// durable and releases the directory lock, so the directory can be
    /// opened again at once. Every clone of this handle is closed too; their
    /// calls fail with [`Error::Closed`].
    pub fn close(self) -> Result<()> {
        self.engine().check_open()?;
        if !self.engine().is_poisoned() {
            // The next open must not start from an earlier "now".
            self.engine().records.persist_clock()?;
        }
        let synced = self.engine().submit(Work::Close, true);
        self.engine().closed.store(true, Ordering::Release);
        // A checkpoint still copying reads this directory's files.
        while self.engine().checkpoints.load(Ordering::Acquire) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // Engine invariant 2: no background thread may touch the directory
        // once another process can lock it.
        self.shared.stop_background();
        self.engine().dir_lock.lock().take();
        synced
    }

    /// Test support: stops this database as a crash would — no sync, no
    /// further writes from any handle — and releases the directory lock so
    /// that the same process can reopen it. What reached the operating
    /// system stays in its cache; tests cut the WAL themselves to model lost
    /// bytes. Not for production use.
    #[doc(hidden)]
    pub fn simulate_crash(self) {
        self.engine().closed.store(true, Ordering::Release);
        // Wait for a leader in flight: joining the queue as a write after
        // `closed` is set fails at once, but only once every earlier group
        // is done.
        let _ = self
            .engine()
            .submit(Work::Write(WriteBatch::new(), Default::default()), false);
        self.shared.stop_background();
        self.engine().dir_lock.lock().take();
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.engine().dir
    }

    pub(crate) fn get_at(&self, key: &[u8], seq: u64) -> Result<Option<Bytes>> {
        crate::key::check_key(key).map_err(Error::InvalidArgument)?;
        self.engine().check_open()?;
        self.engine().get_at(key, seq)
    }

    pub(crate) fn range_at<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: &R, seq: u64) -> Iter {
        let guard = crate::snapshot::SnapshotList::register(&self.engine().snapshots, seq);
        let lower = to_bytes_bound(range.start_bound());
        let upper = to_bytes_bound(range.end_bound());
        self.engine().iter(lower, upper, guard)
    }

    pub(crate) fn prefix_at(&self, prefix: &[u8], seq: u64) -> Iter {
        let guard = crate::snapshot::SnapshotList::register(&self.engine().snapshots, seq);
        let (lower, upper) = prefix_bounds(prefix);
        self.engine().iter(lower, upper, guard)
    }
}

/// The records layer's part of the write options, checked.
fn write_context(options: &WriteOptions) -> Result<crate::records::check::WriteContext> {
    let max = crate::records::meta::META_TEXT_MAX;
    for (what, text) in [
        ("bypass reason", &options.bypass),
        ("actor", &options.actor),
    ] {
        if let Some(text) = text {
            if text.is_empty() || text.len() > max {
                return Err(Error::InvalidArgument(format!(
                    "the {what} must be 1 to {max} bytes"
                )));
            }
        }
    }
    Ok(crate::records::check::WriteContext {
        bypass: options.bypass.clone(),
        actor: options.actor.clone(),
    })
}

fn as_ref_bound(bound: &Bound<Bytes>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(&k[..]),
        Bound::Excluded(k) => Bound::Excluded(&k[..]),
        Bound::Unbounded => Bound::Unbounded,
    }
}
