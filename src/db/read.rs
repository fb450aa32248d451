//! The read path: point reads and iterators over memtables and tables.
//!
//! A point read looks, newest data first, in: the active memtable, the
//! frozen memtables, the level-0 tables whose key range holds the key
//! (newest first), then in each sorted level the one table whose range
//! holds it. The first version at or below the snapshot decides. Tables
//! answer from their bloom filter first, so most tables cost no block read.
//!
//! An iterator merges one source per memtable, one per level-0 table that
//! meets the range, and one [`LevelCursor`] per sorted level.

use super::engine::{Engine, SuperVersion};
use crate::iter::{Iter, Source};
use crate::key::{SeqNo, ValueKind};
use crate::memtable::MemTable;
use crate::memtable::MemTableCursor;
use crate::snapshot::SnapshotGuard;
use crate::version::{LevelCursor, TableFile};
use crate::Result;
use bytes::Bytes;
use std::ops::Bound;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// One place a point read looks: a memtable or a table.
#[derive(Clone, Copy)]
enum Target<'a> {
    Mem(&'a Arc<MemTable>),
    Table(&'a Arc<TableFile>),
}

impl Target<'_> {
    fn has_records(&self) -> bool {
        match self {
            Target::Mem(m) => m.has_records(),
            Target::Table(t) => t.meta.has_records,
        }
    }
}

/// The newest version of a key visible at some sequence number: a full
/// version (never a tombstone) and the newest metadata-only update above it.
#[derive(Clone, Debug)]
pub(crate) struct Latest {
    pub seq: SeqNo,
    pub kind: ValueKind,
    pub value: Bytes,
    pub update: Option<Bytes>,
}

impl Engine {
    /// The current value of `key`, or `None`.
    pub(crate) fn get_latest(&self, key: &[u8]) -> Result<Option<Bytes>> {
        let (state, seq) = self.read_view();
        self.get_in(&state, key, seq)
    }

    /// The value of `key` at the registered snapshot `seq`, or `None`.
    pub(crate) fn get_at(&self, key: &[u8], seq: SeqNo) -> Result<Option<Bytes>> {
        // Engine invariant 1: the snapshot was registered (its sequence
        // number loaded) before this state is taken.
        self.get_in(&self.current_state(), key, seq)
    }

    fn get_in(&self, state: &SuperVersion, key: &[u8], seq: SeqNo) -> Result<Option<Bytes>> {
        let Some(found) = self.version_in(state, key, seq, false)? else {
            return Ok(None);
        };
        if found.kind == ValueKind::Value && found.update.is_none() {
            return Ok(Some(found.value));
        }
        let now = self.records.now_for_read();
        let seen = self
            .records
            .read(key, found.kind, &found.value, found.update.as_ref(), now)?;
        Ok(seen.map(|(value, _)| value))
    }

    /// The newest version of `key` at `seq` (see [`Latest`]); `None` when
    /// the key is absent or deleted.
    ///
    /// With `records_only`, the search stops as soon as no memtable or
    /// table left to look in holds records-layer entries: the write checks
    /// need only protected versions, and a key whose newest version is a
    /// plain value (or absent) is not protected.
    pub(crate) fn version_in(
        &self,
        state: &SuperVersion,
        key: &[u8],
        mut seq: SeqNo,
        records_only: bool,
    ) -> Result<Option<Latest>> {
        let version = &state.version;
        let mut targets = state
            .memtables()
            .map(Target::Mem)
            .chain(
                version.levels[0]
                    .iter()
                    .filter(|t| t.contains_key(key))
                    .map(Target::Table),
            )
            .chain(
                (1..version.levels.len())
                    .filter_map(|level| version.find_in_level(level, key))
                    .map(Target::Table),
            );
        let mut update: Option<Bytes> = None;
        while let Some(target) = targets.next() {
            if records_only
                && update.is_none()
                && !target.has_records()
                && !targets.clone().any(|t| t.has_records())
            {
                return Ok(None);
            }
            // A target may hold an update and the version below it: look
            // again below the update.
            let mut first_probe = true;
            loop {
                let found = match target {
                    Target::Mem(m) => m.get(key, seq).map(|(s, v)| (s, v.kind, v.value)),
                    Target::Table(t) => {
                        let table = self.table_cache.get(t)?;
                        // The filter's answers are counted once per table
                        // and lookup, and only where there is a filter.
                        let counted = first_probe && table.has_filter();
                        first_probe = false;
                        if table.may_contain(key) {
                            let found = table.get_unfiltered(key, seq)?;
                            if found.is_none() && counted {
                                self.stats.filter_false_positives.fetch_add(1, Relaxed);
                            }
                            found
                        } else {
                            self.stats.filter_useful.fetch_add(1, Relaxed);
                            None
                        }
                    }
                };
                let Some((found_seq, kind, value)) = found else {
                    break;
                };
                match kind {
                    ValueKind::RetentionUpdate => {
                        update.get_or_insert(value);
                        if found_seq == 0 {
                            return Ok(None);
                        }
                        seq = found_seq - 1;
                    }
                    ValueKind::Tombstone => return Ok(None),
                    ValueKind::Value | ValueKind::Record => {
                        return Ok(Some(Latest {
                            seq: found_seq,
                            kind,
                            value,
                            update,
                        }))
                    }
                }
            }
        }
        Ok(None)
    }

    /// An iterator over `(lower, upper)` at the guard's snapshot.
    pub(crate) fn iter(
        &self,
        lower: Bound<Bytes>,
        upper: Bound<Bytes>,
        guard: SnapshotGuard,
    ) -> Iter {
        if let Err(e) = self.check_open() {
            return Iter::failed(e, guard);
        }
        if is_empty_range(&lower, &upper) {
            return Iter::empty(guard);
        }
        let seq = guard.seq();
        let state = self.current_state();
        let mut sources: Vec<Box<dyn Source>> = Vec::new();
        for table in state.memtables() {
            let cursor = MemTableCursor::new(Arc::clone(table), seq, lower.clone(), upper.clone());
            sources.push(Box::new(cursor));
        }
        let (lo, hi) = (as_slice_bound(&lower), as_slice_bound(&upper));
        for file in state.version.levels[0]
            .iter()
            .filter(|t| t.overlaps(lo, hi))
        {
            match self.table_cache.get(file) {
                Ok(table) => {
                    sources.push(Box::new(table.cursor(seq, lower.clone(), upper.clone())))
                }
                Err(e) => return Iter::failed(e, guard),
            }
        }
        for level in 1..state.version.levels.len() {
            let tables = state.version.overlapping(level, lo, hi);
            if !tables.is_empty() {
                let cache = Arc::clone(&self.table_cache);
                let cursor = LevelCursor::new(cache, tables, seq, lower.clone(), upper.clone());
                sources.push(Box::new(cursor));
            }
        }
        let iter = Iter::new(sources, guard);
        // Records are engaged before any record is published (`Records`
        // invariant 3): a database that is not engaged has none to hide.
        if !self.records.engaged() {
            return iter;
        }
        let resolver = crate::records::ReadResolver {
            records: Arc::clone(&self.records),
            now: self.records.now_for_read(),
        };
        iter.with_resolver(Arc::new(resolver))
    }
}

fn as_slice_bound(bound: &Bound<Bytes>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(&k[..]),
        Bound::Excluded(k) => Bound::Excluded(&k[..]),
        Bound::Unbounded => Bound::Unbounded,
    }
}

pub(crate) fn to_bytes_bound<K: AsRef<[u8]>>(bound: Bound<&K>) -> Bound<Bytes> {
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
