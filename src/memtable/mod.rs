//! The memtable: the newest writes, sorted, in memory.
//!
//! A lock-free skip list (`crossbeam-skiplist`) keyed by internal key (user
//! key ascending, sequence number descending). One writer — the
//! group-commit leader — inserts while any number of readers look up and
//! iterate without taking a lock.
//!
//! # Invariants
//! 1. An internal key is inserted at most once (sequence numbers are unique).
//! 2. Readers filter by sequence number: an entry newer than the reader's
//!    snapshot is skipped, so an insert in progress is never half-visible —
//!    the write path publishes a batch's sequence numbers only after every
//!    entry of the batch is in.
//! 3. Keys and values are `Bytes` slices of the batch (or recovered WAL)
//!    buffer; the memtable copies nothing.

mod cursor;

pub(crate) use cursor::MemTableCursor;

use crate::batch::BatchOp;
use crate::key::{compare_internal, SeqNo, ValueKind};
use bytes::Bytes;
use crossbeam_skiplist::SkipMap;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

/// Bookkeeping bytes counted per entry on top of key and value, so that many
/// tiny entries still fill the memtable (skip-list node, `Bytes` handles).
const ENTRY_OVERHEAD: usize = 96;

/// A user key and a sequence number, as stored in the skip list.
#[derive(Clone, Debug)]
pub(crate) struct MemKey {
    pub user_key: Bytes,
    pub seq: SeqNo,
}

/// What an entry holds.
#[derive(Clone, Debug)]
pub(crate) struct MemValue {
    pub kind: ValueKind,
    pub value: Bytes,
}

/// A borrowed view of an internal key, so lookups need not allocate a
/// `Bytes` for the probe key.
pub(crate) trait KeyView {
    fn user_key(&self) -> &[u8];
    fn seq(&self) -> SeqNo;
}

impl KeyView for MemKey {
    fn user_key(&self) -> &[u8] {
        &self.user_key
    }
    fn seq(&self) -> SeqNo {
        self.seq
    }
}

/// A probe: user key slice plus sequence number.
pub(crate) struct Probe<'a>(pub &'a [u8], pub SeqNo);

impl KeyView for Probe<'_> {
    fn user_key(&self) -> &[u8] {
        self.0
    }
    fn seq(&self) -> SeqNo {
        self.1
    }
}

impl<'a> Borrow<dyn KeyView + 'a> for MemKey {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for dyn KeyView + '_ {}
impl PartialOrd for dyn KeyView + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for dyn KeyView + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal(self.user_key(), self.seq(), other.user_key(), other.seq())
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for MemKey {}
impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal(&self.user_key, self.seq, &other.user_key, other.seq)
    }
}

/// A sorted in-memory table of recent writes.
#[derive(Debug)]
pub(crate) struct MemTable {
    map: SkipMap<MemKey, MemValue>,
    approx_bytes: AtomicUsize,
}

impl MemTable {
    /// An empty memtable.
    pub(crate) fn new() -> Self {
        MemTable {
            map: SkipMap::new(),
            approx_bytes: AtomicUsize::new(0),
        }
    }

    /// Inserts one operation. Only the write path's single writer calls it.
    pub(crate) fn insert(&self, op: &BatchOp) {
        let size = op.key.len() + op.value.len() + ENTRY_OVERHEAD;
        let key = MemKey {
            user_key: op.key.clone(),
            seq: op.seq,
        };
        let value = MemValue {
            kind: op.kind,
            value: op.value.clone(),
        };
        debug_assert!(!self.map.contains_key(&key), "invariant 1: unique seq");
        self.map.insert(key, value);
        self.approx_bytes.fetch_add(size, AtomicOrdering::Relaxed);
    }

    /// The newest version of `key` with sequence number `<= snapshot`.
    pub(crate) fn get(&self, key: &[u8], snapshot: SeqNo) -> Option<MemValue> {
        let probe = Probe(key, snapshot);
        let entry = self
            .map
            .lower_bound::<dyn KeyView>(std::ops::Bound::Included(&probe))?;
        (entry.key().user_key == key).then(|| entry.value().clone())
    }

    /// Approximate memory held, in bytes.
    pub(crate) fn approx_bytes(&self) -> usize {
        self.approx_bytes.load(AtomicOrdering::Relaxed)
    }

    /// Number of entries (versions, not distinct keys).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn map(&self) -> &SkipMap<MemKey, MemValue> {
        &self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(key: &str, seq: SeqNo, kind: ValueKind, value: &str) -> BatchOp {
        BatchOp {
            seq,
            kind,
            key: Bytes::copy_from_slice(key.as_bytes()),
            value: Bytes::copy_from_slice(value.as_bytes()),
        }
    }

    #[test]
    fn get_sees_the_newest_version_at_a_snapshot() {
        let table = MemTable::new();
        table.insert(&op("a", 1, ValueKind::Value, "a1"));
        table.insert(&op("a", 3, ValueKind::Value, "a3"));
        table.insert(&op("a", 5, ValueKind::Tombstone, ""));
        table.insert(&op("b", 2, ValueKind::Value, "b2"));
        assert!(table.get(b"a", 0).is_none());
        assert_eq!(&table.get(b"a", 2).unwrap().value[..], b"a1");
        assert_eq!(&table.get(b"a", 4).unwrap().value[..], b"a3");
        assert_eq!(table.get(b"a", 9).unwrap().kind, ValueKind::Tombstone);
        assert!(table.get(b"b", 1).is_none());
        assert_eq!(&table.get(b"b", 2).unwrap().value[..], b"b2");
        assert!(table.get(b"c", 9).is_none());
        assert!(table.get(b"", 9).is_none());
        assert_eq!(table.len(), 4);
        assert!(table.approx_bytes() >= 4 * ENTRY_OVERHEAD);
    }
}
