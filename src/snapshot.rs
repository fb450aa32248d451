//! Snapshots: a fixed point in the database's history to read at.
//!
//! A snapshot is a sequence number. Reads at it see every write with a
//! sequence number at or below it and nothing newer. Live snapshots (and
//! iterators, which hold one) are registered in a [`SnapshotList`] so that
//! compaction keeps every version some snapshot can still see.

use crate::db::Db;
use crate::iter::Iter;
use crate::key::SeqNo;
use crate::Result;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::ops::RangeBounds;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The registry of live snapshots: sequence number → how many hold it.
#[derive(Debug, Default)]
pub(crate) struct SnapshotList {
    live: Mutex<BTreeMap<SeqNo, usize>>,
}

impl SnapshotList {
    /// Registers a reader at `seq`; it stays registered until the guard drops.
    pub(crate) fn register(list: &Arc<SnapshotList>, seq: SeqNo) -> SnapshotGuard {
        *list.live.lock().entry(seq).or_insert(0) += 1;
        SnapshotGuard {
            list: Arc::clone(list),
            seq,
        }
    }

    /// Registers a reader at the newest published sequence number, loaded
    /// under the registry's lock so that a reader of `oldest` never misses
    /// a snapshot that is being taken.
    pub(crate) fn register_current(self: &Arc<Self>, visible: &AtomicU64) -> SnapshotGuard {
        let mut live = self.live.lock();
        let seq = visible.load(Ordering::Acquire);
        *live.entry(seq).or_insert(0) += 1;
        SnapshotGuard {
            list: Arc::clone(self),
            seq,
        }
    }

    /// The oldest registered snapshot, if any: compaction may drop only
    /// versions that no snapshot at or above it can see.
    pub(crate) fn oldest(&self) -> Option<SeqNo> {
        self.live.lock().keys().next().copied()
    }

    /// Number of live registrations (snapshots and iterators).
    pub(crate) fn count(&self) -> usize {
        self.live.lock().values().sum()
    }
}

/// Keeps one registration in a [`SnapshotList`] alive.
#[derive(Debug)]
pub(crate) struct SnapshotGuard {
    list: Arc<SnapshotList>,
    seq: SeqNo,
}

impl SnapshotGuard {
    pub(crate) fn seq(&self) -> SeqNo {
        self.seq
    }
}

impl Drop for SnapshotGuard {
    fn drop(&mut self) {
        let mut live = self.list.live.lock();
        if let Some(count) = live.get_mut(&self.seq) {
            *count -= 1;
            if *count == 0 {
                live.remove(&self.seq);
            }
        }
    }
}

/// A consistent, read-only view of the database at the moment
/// [`Db::snapshot`] was called. Writes made afterwards are invisible to it,
/// however long it lives.
///
/// ```
/// # fn main() -> holdfast::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let db = holdfast::Db::open(dir.path(), holdfast::Options::default())?;
/// db.put("balance", "100")?;
/// let before = db.snapshot();
/// db.put("balance", "40")?;
/// assert_eq!(before.get("balance")?.as_deref(), Some(&b"100"[..]));
/// assert_eq!(db.get("balance")?.as_deref(), Some(&b"40"[..]));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Snapshot {
    db: Db,
    guard: SnapshotGuard,
}

impl Snapshot {
    pub(crate) fn new(db: Db, guard: SnapshotGuard) -> Self {
        Snapshot { db, guard }
    }

    /// The value of `key` as of the snapshot.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        self.db.get_at(key.as_ref(), self.guard.seq())
    }

    /// The live pairs in `range` as of the snapshot.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        self.db.range_at(&range, self.guard.seq())
    }

    /// The live pairs whose key starts with `prefix`, as of the snapshot.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        self.db.prefix_at(prefix.as_ref(), self.guard.seq())
    }

    /// The snapshot's sequence number (how many operations it sees).
    pub fn seq(&self) -> u64 {
        self.guard.seq()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_counted() {
        let list = Arc::new(SnapshotList::default());
        assert_eq!(list.oldest(), None);
        let a = SnapshotList::register(&list, 5);
        let b = SnapshotList::register(&list, 5);
        let c = SnapshotList::register(&list, 9);
        assert_eq!(list.oldest(), Some(5));
        drop(a);
        assert_eq!(list.oldest(), Some(5));
        drop(b);
        assert_eq!(list.oldest(), Some(9));
        drop(c);
        assert_eq!(list.oldest(), None);
    }
}
