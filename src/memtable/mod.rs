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
mod filter;

pub(crate) use cursor::MemTableCursor;
use filter::KeyFilter;

use crate::batch::BatchOp;
use crate::key::{compare_internal, SeqNo, ValueKind};
use bytes::Bytes;
use crossbeam_skiplist::SkipMap;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};

/// Bookkeeping bytes counted per entry on top of key and value, so that many
/// tiny entries still fill the memtable (skip-list node, `Bytes` handles).
const ENTRY_OVERHEAD: usize = 96;

/// A user key and a sequence number, as stored in the skip list.
///
/// `head` caches the key's first 8 bytes inline, so most comparisons during
/// a skip-list search decide without following the pointer to the key bytes
/// (a cache miss per node otherwise).
#[derive(Clone, Debug)]
pub(crate) struct MemKey {
    head: u64,
    pub user_key: Bytes,
    pub seq: SeqNo,
}

impl MemKey {
    pub(crate) fn new(user_key: Bytes, seq: SeqNo) -> Self {
        MemKey {
            head: key_head(&user_key),
            user_key,
            seq,
        }
    }
}

/// The first 8 bytes of `key`, zero-padded, big-endian. Ordering heads agrees
/// with ordering keys whenever the heads differ: where padded heads first
/// differ, either both keys have real bytes there, or the shorter key is a
/// prefix of the longer (its padding 0 < the other's byte or equal), so the
/// shorter sorts first in both orders. Equal heads fall back to the keys.
fn key_head(key: &[u8]) -> u64 {
    let mut raw = [0u8; 8];
    let n = key.len().min(8);
    raw[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(raw)
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
    fn head(&self) -> u64;
    fn user_key(&self) -> &[u8];
    fn seq(&self) -> SeqNo;
}

impl KeyView for MemKey {
    fn head(&self) -> u64 {
        self.head
    }
    fn user_key(&self) -> &[u8] {
        &self.user_key
    }
    fn seq(&self) -> SeqNo {
        self.seq
    }
}

/// A probe: user key slice plus sequence number, with the key's head.
pub(crate) struct Probe<'a> {
    head: u64,
    key: &'a [u8],
    seq: SeqNo,
}

impl<'a> Probe<'a> {
    pub(crate) fn new(key: &'a [u8], seq: SeqNo) -> Self {
        Probe {
            head: key_head(key),
            key,
            seq,
        }
    }
}

impl KeyView for Probe<'_> {
    fn head(&self) -> u64 {
        self.head
    }
    fn user_key(&self) -> &[u8] {
        self.key
    }
    fn seq(&self) -> SeqNo {
        self.seq
    }
}

/// Internal-key order (user key ascending, sequence descending), deciding
/// on the cached heads first.
fn compare_views(a: &(impl KeyView + ?Sized), b: &(impl KeyView + ?Sized)) -> Ordering {
    a.head()
        .cmp(&b.head())
        .then_with(|| compare_internal(a.user_key(), a.seq(), b.user_key(), b.seq()))
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
        compare_views(self, other)
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
        compare_views(self, other)
    }
}

/// A sorted in-memory table of recent writes.
#[derive(Debug)]
pub(crate) struct MemTable {
    map: SkipMap<MemKey, MemValue>,
    approx_bytes: AtomicUsize,
    has_records: AtomicBool,
    /// Which user keys may be here: lookups of other keys skip the search.
    filter: KeyFilter,
    /// The WAL segment this memtable's first write went to; its writes are
    /// in this segment and later ones, up to where the next memtable starts.
    first_wal_segment: u64,
}

impl MemTable {
    /// An empty memtable whose writes start in WAL segment
    /// `first_wal_segment`, expected to hold about `budget_bytes` (sizes
    /// its key filter).
    pub(crate) fn new(first_wal_segment: u64, budget_bytes: usize) -> Self {
        MemTable {
            map: SkipMap::new(),
            approx_bytes: AtomicUsize::new(0),
            has_records: AtomicBool::new(false),
            filter: KeyFilter::for_memtable(budget_bytes),
            first_wal_segment,
        }
    }

    /// The WAL segment this memtable's writes start in.
    pub(crate) fn wal_segment(&self) -> u64 {
        self.first_wal_segment
    }

    /// True when nothing was ever inserted.
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Inserts one operation. Only the write path's single writer calls it.
    pub(crate) fn insert(&self, op: &BatchOp) {
        let size = op.key.len() + op.value.len() + ENTRY_OVERHEAD;
        let key = MemKey::new(op.key.clone(), op.seq);
        let value = MemValue {
            kind: op.kind,
            value: op.value.clone(),
        };
        debug_assert!(!self.map.contains_key(&key), "invariant 1: unique seq");
        // Before the entry: a reader that finds the entry finds its bits.
        self.filter.add(&op.key);
        self.map.insert(key, value);
        self.approx_bytes.fetch_add(size, AtomicOrdering::Relaxed);
        if op.kind.has_meta() {
            self.has_records.store(true, AtomicOrdering::Relaxed);
        }
    }

    /// The newest version of `key` with sequence number `<= snapshot`.
    pub(crate) fn get(&self, key: &[u8], snapshot: SeqNo) -> Option<(SeqNo, MemValue)> {
        if !self.filter.may_contain(key) {
            return None;
        }
        let probe = Probe::new(key, snapshot);
        let entry = self
            .map
            .lower_bound::<dyn KeyView>(std::ops::Bound::Included(&probe))?;
        (entry.key().user_key == key).then(|| (entry.key().seq, entry.value().clone()))
    }

    /// True when an entry with records-layer metadata was inserted.
    pub(crate) fn has_records(&self) -> bool {
        self.has_records.load(AtomicOrdering::Relaxed)
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
    fn head_order_agrees_with_key_order() {
        let keys: [&[u8]; 9] = [
            b"a",
            b"a\x00",
            b"a\x00\x01",
            b"a\x01",
            b"abcdefgh",
            b"abcdefgh\x00",
            b"abcdefghi",
            b"b",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        ];
        for x in keys {
            for y in keys {
                let (a, b) = (MemKey::new(Bytes::copy_from_slice(x), 1), Probe::new(y, 1));
                assert_eq!(compare_views(&a, &b), x.cmp(y), "{x:?} vs {y:?}");
            }
        }
    }

    #[test]
    fn get_sees_the_newest_version_at_a_snapshot() {
        let table = MemTable::new(1, 1 << 16);
        table.insert(&op("a", 1, ValueKind::Value, "a1"));
        table.insert(&op("a", 3, ValueKind::Value, "a3"));
        table.insert(&op("a", 5, ValueKind::Tombstone, ""));
        table.insert(&op("b", 2, ValueKind::Value, "b2"));
        assert!(table.get(b"a", 0).is_none());
        assert_eq!(&table.get(b"a", 2).unwrap().1.value[..], b"a1");
        assert_eq!(&table.get(b"a", 4).unwrap().1.value[..], b"a3");
        assert_eq!(table.get(b"a", 9).unwrap().1.kind, ValueKind::Tombstone);
        assert!(table.get(b"b", 1).is_none());
        assert_eq!(&table.get(b"b", 2).unwrap().1.value[..], b"b2");
        assert!(table.get(b"c", 9).is_none());
        assert!(table.get(b"", 9).is_none());
        assert_eq!(table.len(), 4);
        assert!(table.approx_bytes() >= 4 * ENTRY_OVERHEAD);
    }
}
