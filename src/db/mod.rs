//! [`Db`]: the public handle, and [`Engine`], the shared state behind it.
//!
//! The path of a write: [`Db::write_opt`] validates the batch, then hands
//! it to the group-commit queue ([`crate::commit`]), whose leader appends it
//! to the WAL, inserts it into the active memtable and publishes its
//! sequence numbers. The path of a read: load the published sequence number,
//! then take the current set of memtables, and look in them newest first.
//!
//! # Invariants
//! 1. Readers load `visible_seq` *before* the memtable set. Memtables only
//!    ever move from active to frozen, never away, so the set a reader takes
//!    holds every entry at or below the sequence number it loaded.
//! 2. The directory lock is held from the start of open until close (or
//!    the last handle drops), so at most one `Db` writes a directory.

mod recovery;

use crate::commit::{CommitQueue, Work};
use crate::iter::{Iter, Source};
use crate::key::{check_key, SeqNo, ValueKind};
use crate::memtable::{MemTable, MemTableCursor};
use crate::options::{Options, WriteOptions};
use crate::snapshot::{Snapshot, SnapshotList};
use crate::wal::Wal;
use crate::{Error, Result, WriteBatch};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The active memtable and the frozen ones, newest first.
#[derive(Debug)]
pub(crate) struct MemTables {
    pub active: Arc<MemTable>,
    /// Frozen memtables, newest first. Until sorted tables exist they stay
    /// in memory and are rebuilt from the WAL at open.
    pub frozen: Vec<Arc<MemTable>>,
}

impl MemTables {
    /// Every memtable, newest first.
    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &Arc<MemTable>> {
        std::iter::once(&self.active).chain(self.frozen.iter())
    }
}

/// The state shared by every handle of one open database.
#[derive(Debug)]
pub(crate) struct Engine {
    pub dir: PathBuf,
    pub options: Options,
    pub wal: Wal,
    pub memtables: RwLock<Arc<MemTables>>,
    /// The highest sequence number readers may see.
    pub visible_seq: AtomicU64,
    pub queue: CommitQueue,
    pub snapshots: Arc<SnapshotList>,
    poisoned: AtomicBool,
    poison_cause: Mutex<Option<String>>,
    pub closed: AtomicBool,
    dir_lock: Mutex<Option<Box<dyn Debug + Send + Sync>>>,
}

impl Engine {
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    pub(crate) fn poisoned_error(&self) -> Error {
        Error::Poisoned {
            cause: self
                .poison_cause
                .lock()
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        }
    }

    /// Refuses every later write: called when a WAL write or fsync failed.
    pub(crate) fn poison(&self, cause: &Error) {
        let mut slot = self.poison_cause.lock();
        if slot.is_none() {
            *slot = Some(cause.to_string());
        }
        self.poisoned.store(true, Ordering::Release);
    }

    pub(crate) fn active_memtable_full(&self) -> bool {
        self.memtables.read().active.approx_bytes() >= self.options.memtable_bytes
    }

    /// Freezes the active memtable; a new one and a new WAL segment take
    /// the writes. Only the group-commit leader calls this.
    pub(crate) fn rotate_memtable(&self) -> Result<()> {
        self.wal.rotate()?;
        let mut memtables = self.memtables.write();
        let mut frozen = Vec::with_capacity(memtables.frozen.len() + 1);
        frozen.push(Arc::clone(&memtables.active));
        frozen.extend(memtables.frozen.iter().cloned());
        *memtables = Arc::new(MemTables {
            active: Arc::new(MemTable::new()),
            frozen,
        });
        Ok(())
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if self.is_poisoned() {
            return Err(self.poisoned_error());
        }
        Ok(())
    }

    /// Makes everything appended to the WAL durable.
    fn sync_wal(&self) -> Result<()> {
        self.wal
            .sync_to(self.wal.end())
            .inspect_err(|e| self.poison(e))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The last handle is gone: no writer can be running. Make buffered
        // writes durable; an error here has no caller to go to, and a later
        // open recovers whatever reached the disk.
        if !self.closed.load(Ordering::Acquire) && !self.is_poisoned() {
            let _ = self.sync_wal();
        }
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
    engine: Arc<Engine>,
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
        let engine = recovery::open(path.as_ref(), options)?;
        Ok(Db {
            engine: Arc::new(engine),
        })
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
        self.engine.check_writable()?;
        let sync = options.sync.unwrap_or(self.engine.options.sync_writes);
        self.engine.submit(Work::Write(batch), sync)
    }

    /// The current value of `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        self.get_at(
            key.as_ref(),
            self.engine.visible_seq.load(Ordering::Acquire),
        )
    }

    /// A consistent view of the database as of now.
    pub fn snapshot(&self) -> Snapshot {
        let guard = self
            .engine
            .snapshots
            .register_current(&self.engine.visible_seq);
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
        let guard = self
            .engine
            .snapshots
            .register_current(&self.engine.visible_seq);
        let seq = guard.seq();
        self.iter_with(
            to_bytes_bound(range.start_bound()),
            to_bytes_bound(range.end_bound()),
            guard,
            seq,
        )
    }

    /// The live pairs whose key starts with `prefix`, ascending.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let guard = self
            .engine
            .snapshots
            .register_current(&self.engine.visible_seq);
        let seq = guard.seq();
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        self.iter_with(lower, upper, guard, seq)
    }

    /// Makes every write acknowledged so far durable (fsyncs the WAL).
    pub fn flush(&self) -> Result<()> {
        self.engine.check_writable()?;
        self.engine.sync_wal()
    }

    /// Closes the database: waits for writes in flight, makes everything
    /// durable and releases the directory lock, so the directory can be
    /// opened again at once. Every clone of this handle is closed too; their
    /// calls fail with [`Error::Closed`].
    pub fn close(self) -> Result<()> {
        self.engine.check_open()?;
        let synced = self.engine.submit(Work::Close, true);
        self.engine.dir_lock.lock().take();
        synced
    }

    /// Test support: stops this database as a crash would — no sync, no
    /// further writes from any handle — and releases the directory lock so
    /// that the same process can reopen it. What reached the operating
    /// system stays in its cache; tests cut the WAL themselves to model lost
    /// bytes. Not for production use.
    #[doc(hidden)]
    pub fn simulate_crash(self) {
        self.engine.closed.store(true, Ordering::Release);
        // Wait for a leader in flight: joining the queue as a write after
        // `closed` is set fails at once, but only once every earlier group
        // is done.
        let _ = self.engine.submit(Work::Write(WriteBatch::new()), false);
        self.engine.dir_lock.lock().take();
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.engine.dir
    }

    pub(crate) fn get_at(&self, key: &[u8], seq: SeqNo) -> Result<Option<Bytes>> {
        check_key(key).map_err(Error::InvalidArgument)?;
        self.engine.check_open()?;
        // Invariant 1: the sequence number was loaded by the caller first.
        let memtables = self.engine.memtables.read().clone();
        for table in memtables.newest_first() {
            if let Some(found) = table.get(key, seq) {
                return Ok(match found.kind {
                    ValueKind::Value => Some(found.value),
                    ValueKind::Tombstone => None,
                });
            }
        }
        Ok(None)
    }

    pub(crate) fn range_at<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: &R,
        seq: SeqNo,
    ) -> Iter {
        let guard = SnapshotList::register(&self.engine.snapshots, seq);
        self.iter_with(
            to_bytes_bound(range.start_bound()),
            to_bytes_bound(range.end_bound()),
            guard,
            seq,
        )
    }

    pub(crate) fn prefix_at(&self, prefix: &[u8], seq: SeqNo) -> Iter {
        let guard = SnapshotList::register(&self.engine.snapshots, seq);
        let (lower, upper) = prefix_bounds(prefix);
        self.iter_with(lower, upper, guard, seq)
    }

    fn iter_with(
        &self,
        lower: Bound<Bytes>,
        upper: Bound<Bytes>,
        guard: crate::snapshot::SnapshotGuard,
        seq: SeqNo,
    ) -> Iter {
        if let Err(e) = self.engine.check_open() {
            return Iter::failed(e, guard);
        }
        if is_empty_range(&lower, &upper) {
            return Iter::empty(guard);
        }
        let memtables = self.engine.memtables.read().clone();
        let sources: Vec<Box<dyn Source>> = memtables
            .newest_first()
            .map(|table| {
                Box::new(MemTableCursor::new(
                    Arc::clone(table),
                    seq,
                    lower.clone(),
                    upper.clone(),
                )) as Box<dyn Source>
            })
            .collect();
        Iter::new(sources, guard)
    }
}

fn to_bytes_bound<K: AsRef<[u8]>>(bound: Bound<&K>) -> Bound<Bytes> {
    match bound {
        Bound::Included(k) => Bound::Included(Bytes::copy_from_slice(k.as_ref())),
        Bound::Excluded(k) => Bound::Excluded(Bytes::copy_from_slice(k.as_ref())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The key range of a prefix: `[prefix, successor)`, where the successor
/// is the prefix with trailing `0xff` bytes removed and the last byte
/// incremented (no upper bound if the prefix is all `0xff` or empty).
pub(crate) fn prefix_bounds(prefix: &[u8]) -> (Bound<Bytes>, Bound<Bytes>) {
    let lower = Bound::Included(Bytes::copy_from_slice(prefix));
    let mut successor = prefix.to_vec();
    while successor.last() == Some(&0xff) {
        successor.pop();
    }
    let upper = match successor.last_mut() {
        Some(last) => {
            *last += 1;
            Bound::Excluded(Bytes::from(successor))
        }
        None => Bound::Unbounded,
    };
    (lower, upper)
}

fn is_empty_range(lower: &Bound<Bytes>, upper: &Bound<Bytes>) -> bool {
    use Bound::*;
    match (lower, upper) {
        (Included(l), Included(u)) => l > u,
        (Included(l), Excluded(u)) | (Excluded(l), Included(u)) | (Excluded(l), Excluded(u)) => {
            l >= u
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor() {
        let upper = |p: &[u8]| prefix_bounds(p).1;
        assert_eq!(upper(b"ab"), Bound::Excluded(Bytes::from_static(b"ac")));
        assert_eq!(
            upper(b"a\xff\xff"),
            Bound::Excluded(Bytes::from_static(b"b"))
        );
        assert_eq!(upper(b"\xff"), Bound::Unbounded);
        assert_eq!(upper(b""), Bound::Unbounded);
    }

    #[test]
    fn empty_ranges() {
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        assert!(is_empty_range(
            &Bound::Included(b("b")),
            &Bound::Excluded(b("a"))
        ));
        assert!(is_empty_range(
            &Bound::Included(b("a")),
            &Bound::Excluded(b("a"))
        ));
        assert!(!is_empty_range(
            &Bound::Included(b("a")),
            &Bound::Included(b("a"))
        ));
        assert!(!is_empty_range(&Bound::Unbounded, &Bound::Excluded(b("a"))));
    }
}
