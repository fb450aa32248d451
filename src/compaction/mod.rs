//! Compaction: merging tables into the next level, dropping what no reader
//! can see any more.
//!
//! * [`picker`] chooses what to compact — a pure function of the version.
//! * [`VersionGc`] decides, entry by entry, which versions to drop — pure.
//! * [`Verdict`]: the records layer keeps an entry or rewrites an eligible
//!   record as a tombstone, with a disposal receipt.
//! * [`output`] writes the surviving entries into new tables, and [`run`]
//!   executes a pick (the I/O), including the flush of a memtable.
//!
//! # Invariants
//! 1. A version is dropped only if a newer version of the same key is
//!    visible to every live snapshot (its sequence number is at or below
//!    the oldest snapshot). A metadata-only `RetentionUpdate` shadows
//!    nothing: the full version below it keeps its value; it is itself
//!    shadowed by any newer entry of its key.
//! 2. A tombstone is dropped only if, in addition, no older version of its
//!    key can exist below the output level.
//! 3. All versions of one user key go to the same output table (so sorted
//!    levels never split a key across tables).

pub(crate) mod output;
pub(crate) mod picker;
pub(crate) mod run;

use crate::iter::{Entry, Source};
use crate::key::{compare_internal, SeqNo, ValueKind};
use crate::Result;
use bytes::Bytes;
use std::cmp::Ordering;

/// What the records layer decides for one entry compaction is about to
/// write ([`Engine::disposal_verdict`](crate::db::Engine)): a pure verdict
/// from the entry, the key's newest state and the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Write the entry unchanged.
    Keep,
    /// Write the entry with this kind and value instead (an eligible record
    /// becomes a tombstone, so no older version of its key shows through).
    Rewrite { kind: ValueKind, value: Bytes },
}

/// Decides which versions compaction may drop (invariants 1 and 2).
#[derive(Debug)]
pub(crate) struct VersionGc {
    smallest_snapshot: SeqNo,
    current_key: Option<Bytes>,
    /// Sequence number of the previous (newer) entry of `current_key`;
    /// `SeqNo::MAX` before the first.
    newer_seq: SeqNo,
    /// Sequence number of the previous (newer) *full* version of
    /// `current_key` (not a `RetentionUpdate`); `SeqNo::MAX` before one.
    newer_full_seq: SeqNo,
}

impl VersionGc {
    /// `smallest_snapshot`: the oldest sequence number any reader may read
    /// at (the oldest live snapshot, or the newest sequence number).
    pub(crate) fn new(smallest_snapshot: SeqNo) -> Self {
        VersionGc {
            smallest_snapshot,
            current_key: None,
            newer_seq: SeqNo::MAX,
            newer_full_seq: SeqNo::MAX,
        }
    }

    /// Whether to keep `entry`; entries must arrive in internal order.
    /// `bottommost` is asked only for tombstones that could go.
    pub(crate) fn keep(&mut self, entry: &Entry, bottommost: impl FnOnce(&[u8]) -> bool) -> bool {
        if self.current_key.as_ref() != Some(&entry.key) {
            self.current_key = Some(entry.key.clone());
            self.newer_seq = SeqNo::MAX;
            self.newer_full_seq = SeqNo::MAX;
        }
        debug_assert!(entry.seq < self.newer_seq, "internal order: seq descending");
        let shadowing = if entry.kind.is_full() {
            self.newer_full_seq
        } else {
            self.newer_seq
        };
        let shadowed = shadowing <= self.smallest_snapshot;
        if entry.kind.is_full() {
            self.newer_full_seq = entry.seq;
        }
        let dead_tombstone = entry.kind == ValueKind::Tombstone
            && entry.seq <= self.smallest_snapshot
            && bottommost(&entry.key);
        self.newer_seq = entry.seq;
        !shadowed && !dead_tombstone
    }
}

/// Every entry of several sources, merged into one stream in internal
/// order (all versions, nothing resolved).
#[derive(Debug)]
pub(crate) struct MergedEntries {
    sources: Vec<Box<dyn Source>>,
    heads: Vec<Option<Entry>>,
    primed: bool,
}

impl MergedEntries {
    pub(crate) fn new(sources: Vec<Box<dyn Source>>) -> Self {
        MergedEntries {
            heads: Vec::with_capacity(sources.len()),
            sources,
            primed: false,
        }
    }

    /// The next entry in internal order.
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry>> {
        if !self.primed {
            for source in &mut self.sources {
                self.heads.push(source.next_front()?);
            }
            self.primed = true;
        }
        let mut best: Option<usize> = None;
        for (i, head) in self.heads.iter().enumerate() {
            let Some(entry) = head else { continue };
            let better = best.is_none_or(|b| {
                let current = self.heads[b].as_ref().map(|e| (&e.key, e.seq));
                current.is_some_and(|(key, seq)| {
                    compare_internal(&entry.key, entry.seq, key, seq) == Ordering::Less
                })
            });
            if better {
                best = Some(i);
            }
        }
        let Some(i) = best else { return Ok(None) };
        let next = self.sources[i].next_front()?;
        Ok(std::mem::replace(&mut self.heads[i], next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, seq: SeqNo, kind: ValueKind) -> Entry {
        Entry {
            key: Bytes::copy_from_slice(key.as_bytes()),
            seq,
            kind,
            value: Bytes::new(),
        }
    }

    fn kept(gc: &mut VersionGc, entries: &[Entry], bottommost: bool) -> Vec<SeqNo> {
        entries
            .iter()
            .filter(|e| gc.keep(e, |_| bottommost))
            .map(|e| e.seq)
            .collect()
    }

    #[test]
    fn shadowed_versions_go_unless_a_snapshot_needs_them() {
        use ValueKind::*;
        let entries = [
            entry("a", 9, Value),
            entry("a", 7, Value),
            entry("a", 4, Value),
            entry("a", 2, Value),
            entry("b", 3, Value),
        ];
        // No snapshot older than 9: only the newest of each key survives.
        assert_eq!(kept(&mut VersionGc::new(10), &entries, false), [9, 3]);
        // A snapshot at 5 still reads a@4; one at 7 reads a@7.
        assert_eq!(kept(&mut VersionGc::new(5), &entries, false), [9, 7, 4, 3]);
        assert_eq!(kept(&mut VersionGc::new(7), &entries, false), [9, 7, 3]);
    }

    #[test]
    fn tombstones_go_only_at_the_bottom() {
        use ValueKind::*;
        let entries = [entry("a", 9, Tombstone), entry("a", 4, Value)];
        assert_eq!(kept(&mut VersionGc::new(10), &entries, false), [9]);
        assert!(kept(&mut VersionGc::new(10), &entries, true).is_empty());
        // A snapshot at 5 still reads a@4, so both stay.
        assert_eq!(kept(&mut VersionGc::new(5), &entries, true), [9, 4]);
    }

    #[test]
    fn retention_updates_shadow_nothing_below_them() {
        use ValueKind::*;
        let entries = [
            entry("a", 9, RetentionUpdate),
            entry("a", 8, RetentionUpdate),
            entry("a", 5, Record),
            entry("a", 2, Value),
        ];
        // The newest update and the record under it survive; the older
        // update is superseded, and the plain value is shadowed by the record.
        assert_eq!(kept(&mut VersionGc::new(10), &entries, false), [9, 5]);
        // A snapshot at 8 still reads the update at 8.
        assert_eq!(kept(&mut VersionGc::new(8), &entries, false), [9, 8, 5]);
        // A newer full version shadows updates and records alike.
        let rewritten = [
            entry("a", 12, Value),
            entry("a", 9, RetentionUpdate),
            entry("a", 5, Record),
        ];
        assert_eq!(kept(&mut VersionGc::new(20), &rewritten, false), [12]);
    }

    #[derive(Debug)]
    struct VecSource(std::collections::VecDeque<Entry>);
    impl Source for VecSource {
        fn next_front(&mut self) -> Result<Option<Entry>> {
            Ok(self.0.pop_front())
        }
        fn next_back(&mut self) -> Result<Option<Entry>> {
            Ok(self.0.pop_back())
        }
    }

    #[test]
    fn merge_yields_internal_order() {
        use ValueKind::*;
        let a = VecSource([entry("a", 5, Value), entry("c", 1, Value)].into());
        let b = VecSource(
            [
                entry("a", 7, Value),
                entry("b", 2, Tombstone),
                entry("c", 3, Value),
            ]
            .into(),
        );
        let mut merged = MergedEntries::new(vec![Box::new(a), Box::new(b)]);
        let mut got = Vec::new();
        while let Some(e) = merged.next_entry().unwrap() {
            got.push((String::from_utf8(e.key.to_vec()).unwrap(), e.seq));
        }
        let want = [("a", 7), ("a", 5), ("b", 2), ("c", 3), ("c", 1)];
        assert_eq!(got, want.map(|(k, s)| (k.to_string(), s)));
    }
}
