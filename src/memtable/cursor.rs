//! A double-ended cursor over one memtable, bounded by a user-key range and
//! filtered by a snapshot.
//!
//! The skip list's own iterators borrow the map, so they cannot live inside
//! a long-lived [`crate::Iter`]. Instead the cursor remembers the last
//! internal key it handed out at each end and refills a small buffer with a
//! fresh range query from there: one `O(log n)` seek per
//! refill. Refills start small ([`REFILL_FIRST`] entries: a short scan
//! pays little for the memtables it barely touches) and double up to
//! [`REFILL_MAX`].

use super::{KeyView, MemTable, Probe};
use crate::iter::{Entry, Source};
use crate::key::{SeqNo, SEQ_MAX};
use crate::Result;
use bytes::Bytes;
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

/// Entries the first refill fetches.
const REFILL_FIRST: usize = 8;
/// Largest refill.
const REFILL_MAX: usize = 256;

/// One end of the cursor.
#[derive(Debug, Default)]
struct End {
    buffered: VecDeque<Entry>,
    /// Entries the next refill fetches (0 before the first).
    refill: usize,
    /// The last internal key fetched at this end; the next refill starts
    /// just past it.
    last: Option<(Bytes, SeqNo)>,
    exhausted: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct MemTableCursor {
    table: Arc<MemTable>,
    snapshot: SeqNo,
    lower: Bound<Bytes>,
    upper: Bound<Bytes>,
    front: End,
    back: End,
}

impl MemTableCursor {
    /// A cursor over the user keys in `(lower, upper)` as of `snapshot`.
    pub(crate) fn new(
        table: Arc<MemTable>,
        snapshot: SeqNo,
        lower: Bound<Bytes>,
        upper: Bound<Bytes>,
    ) -> Self {
        MemTableCursor {
            table,
            snapshot,
            lower,
            upper,
            front: End::default(),
            back: End::default(),
        }
    }

    fn refill(&mut self, forward: bool) {
        let end = if forward {
            &mut self.front
        } else {
            &mut self.back
        };
        let last = end.last.as_ref().map(|(k, s)| Probe::new(k, *s));
        let lower_probe = user_bound(&self.lower, SEQ_MAX, 0);
        let upper_probe = user_bound(&self.upper, 0, SEQ_MAX);
        let lower = match (&last, forward) {
            (Some(p), true) => Bound::Excluded(p as &dyn KeyView),
            _ => as_dyn(&lower_probe),
        };
        let upper = match (&last, forward) {
            (Some(p), false) => Bound::Excluded(p as &dyn KeyView),
            _ => as_dyn(&upper_probe),
        };
        let range = self.table.map().range::<dyn KeyView, _>((lower, upper));
        let want = if end.refill == 0 {
            REFILL_FIRST
        } else {
            end.refill
        };
        end.refill = (want * 2).min(REFILL_MAX);
        let mut fetched = Vec::with_capacity(want);
        if forward {
            fetched.extend(range.take(want));
        } else {
            fetched.extend(range.rev().take(want));
        }
        end.exhausted = fetched.len() < want;
        if let Some(entry) = fetched.last() {
            end.last = Some((entry.key().user_key.clone(), entry.key().seq));
        }
        let snapshot = self.snapshot;
        end.buffered.extend(
            fetched
                .iter()
                .filter(|e| e.key().seq <= snapshot)
                .map(|e| Entry {
                    key: e.key().user_key.clone(),
                    seq: e.key().seq,
                    kind: e.value().kind,
                    value: e.value().value.clone(),
                }),
        );
    }

    fn next(&mut self, forward: bool) -> Option<Entry> {
        loop {
            let end = if forward {
                &mut self.front
            } else {
                &mut self.back
            };
            if let Some(entry) = end.buffered.pop_front() {
                return Some(entry);
            }
            if end.exhausted {
                return None;
            }
            self.refill(forward);
        }
    }
}

/// The probe for a user-key bound: `Included` maps to the internal key with
/// `included_seq`, `Excluded` to the one with `excluded_seq`, chosen so the
/// internal range covers exactly the versions of the keys in the user range.
fn user_bound(bound: &Bound<Bytes>, included_seq: SeqNo, excluded_seq: SeqNo) -> Bound<Probe<'_>> {
    match bound {
        Bound::Included(k) => Bound::Included(Probe::new(k, included_seq)),
        Bound::Excluded(k) => Bound::Excluded(Probe::new(k, excluded_seq)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn as_dyn<'a>(bound: &'a Bound<Probe<'a>>) -> Bound<&'a (dyn KeyView + 'a)> {
    match bound {
        Bound::Included(p) => Bound::Included(p as &dyn KeyView),
        Bound::Excluded(p) => Bound::Excluded(p as &dyn KeyView),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Source for MemTableCursor {
    fn next_front(&mut self) -> Result<Option<Entry>> {
        Ok(self.next(true))
    }

    fn next_back(&mut self) -> Result<Option<Entry>> {
        Ok(self.next(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchOp;
    use crate::key::ValueKind;

    fn table_with(n: u64) -> Arc<MemTable> {
        let table = MemTable::new(1, 1 << 16);
        for i in 0..n {
            for version in 0..2u64 {
                table.insert(&BatchOp {
                    seq: 1 + i * 2 + version,
                    kind: ValueKind::Value,
                    key: Bytes::from(format!("k{i:04}")),
                    value: Bytes::from(format!("v{version}")),
                });
            }
        }
        Arc::new(table)
    }

    fn drain(cursor: &mut MemTableCursor, forward: bool) -> Vec<(String, SeqNo)> {
        let mut out = Vec::new();
        while let Some(e) = cursor.next(forward) {
            out.push((String::from_utf8(e.key.to_vec()).unwrap(), e.seq));
        }
        out
    }

    #[test]
    fn both_directions_cover_the_range_in_internal_order() {
        let table = table_with(200);
        let lower = Bound::Included(Bytes::from("k0010"));
        let upper = Bound::Excluded(Bytes::from("k0150"));
        let mut cursor =
            MemTableCursor::new(Arc::clone(&table), SEQ_MAX, lower.clone(), upper.clone());
        let forward = drain(&mut cursor, true);
        assert_eq!(forward.len(), 280);
        assert_eq!(forward[0], ("k0010".to_string(), 22));
        assert_eq!(forward[1], ("k0010".to_string(), 21));
        let mut cursor = MemTableCursor::new(table, SEQ_MAX, lower, upper);
        let mut backward = drain(&mut cursor, false);
        backward.reverse();
        assert_eq!(forward, backward);
    }

    #[test]
    fn snapshot_hides_newer_versions_and_exclusive_lower_bound_skips_key() {
        let table = table_with(3);
        let lower = Bound::Excluded(Bytes::from("k0000"));
        let mut cursor =
            MemTableCursor::new(table, 3, lower, Bound::Included(Bytes::from("k0001")));
        assert_eq!(drain(&mut cursor, true), vec![("k0001".to_string(), 3)]);
    }
}
