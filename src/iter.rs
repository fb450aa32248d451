//! Range and prefix iteration: [`Iter`], and the merge that builds it from
//! sorted sources (memtables, level-0 tables, and one cursor per sorted
//! level).
//!
//! Each [`Source`] yields internal entries in internal order (user key
//! ascending, sequence descending) from its front, and in the reverse order
//! from its back. The merge picks, for every user key, the newest version
//! visible at the iterator's snapshot, hides tombstones, and stops when the
//! front and back ends meet, so that mixing `next` and `next_back` never
//! yields a key twice.

use crate::key::{SeqNo, ValueKind};
use crate::snapshot::SnapshotGuard;
use crate::Result;
use bytes::Bytes;
use std::sync::Arc;

/// One version of one key, as a source hands it out.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: Bytes,
    pub seq: SeqNo,
    pub kind: ValueKind,
    pub value: Bytes,
}

/// The newest version of one key visible at an iterator's snapshot: a
/// full version (`Value` or `Record`) and, if one is newer than it, the
/// newest metadata-only `RetentionUpdate`'s stored value.
#[derive(Clone, Debug)]
pub(crate) struct Visible {
    pub key: Bytes,
    pub kind: ValueKind,
    /// The stored value (for a `Record`: metadata, then the user's value).
    pub value: Bytes,
    pub update: Option<Bytes>,
}

/// Decides what a reader sees of a version that carries records-layer
/// metadata (the records layer implements it).
pub(crate) trait Resolver: Send + Sync + std::fmt::Debug {
    /// The user value, or `None` when the record is hidden (eligible for
    /// disposal).
    fn resolve(&self, item: &Visible) -> Result<Option<Bytes>>;
}

/// A sorted stream of internal entries, readable from both ends.
pub(crate) trait Source: Send + std::fmt::Debug {
    /// The next entry in ascending internal order.
    fn next_front(&mut self) -> Result<Option<Entry>>;
    /// The next entry in descending internal order.
    fn next_back(&mut self) -> Result<Option<Entry>>;
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// Per-direction state of the merge.
#[derive(Debug, Default)]
struct Side {
    /// The next entry of each source at this end (`None`: exhausted).
    heads: Vec<Option<Entry>>,
    primed: bool,
    /// The last user key this end returned or skipped.
    last_key: Option<Bytes>,
}

/// An iterator over the live key-value pairs of a key range, at a fixed
/// point in time, in ascending key order (or descending, with
/// [`DoubleEndedIterator::next_back`] / [`Iterator::rev`]).
///
/// It sees the database as of its creation (or as of its
/// [`Snapshot`](crate::Snapshot)): later writes are invisible to it. Items
/// are `Result`s because reading may hit a corrupt table file on
/// disk; after an error the iterator ends.
///
/// ```
/// # fn main() -> holdfast::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let db = holdfast::Db::open(dir.path(), holdfast::Options::default())?;
/// for (k, v) in [("fruit/apple", "1"), ("fruit/kiwi", "2"), ("veg/leek", "3")] {
///     db.put(k, v)?;
/// }
/// let newest_first: Vec<_> = db
///     .prefix("fruit/")
///     .rev()
///     .map(|item| item.map(|(k, _)| k))
///     .collect::<holdfast::Result<_>>()?;
/// assert_eq!(newest_first, ["fruit/kiwi", "fruit/apple"]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Iter {
    sources: Vec<Box<dyn Source>>,
    snapshot: SeqNo,
    front: Side,
    back: Side,
    done: bool,
    /// An error to yield before anything else (e.g. the database is closed).
    pending_error: Option<crate::Error>,
    /// Resolves versions with records metadata; `None`: metadata is
    /// stripped and nothing is hidden.
    resolver: Option<Arc<dyn Resolver>>,
    /// Keeps the snapshot registered while the iterator lives.
    _guard: SnapshotGuard,
}

impl Iter {
    pub(crate) fn new(sources: Vec<Box<dyn Source>>, guard: SnapshotGuard) -> Self {
        Iter {
            snapshot: guard.seq(),
            sources,
            front: Side::default(),
            back: Side::default(),
            done: false,
            pending_error: None,
            resolver: None,
            _guard: guard,
        }
    }

    /// Sets the resolver of records-layer versions.
    pub(crate) fn with_resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// An iterator that yields nothing (an empty or inverted range).
    pub(crate) fn empty(guard: SnapshotGuard) -> Self {
        let mut iter = Iter::new(Vec::new(), guard);
        iter.done = true;
        iter
    }

    /// An iterator that yields `error` once, then ends.
    pub(crate) fn failed(error: crate::Error, guard: SnapshotGuard) -> Self {
        let mut iter = Iter::new(Vec::new(), guard);
        iter.pending_error = Some(error);
        iter
    }

    fn pull(&mut self, source: usize, dir: Direction) -> Result<Option<Entry>> {
        match dir {
            Direction::Forward => self.sources[source].next_front(),
            Direction::Backward => self.sources[source].next_back(),
        }
    }

    fn side(&mut self, dir: Direction) -> &mut Side {
        match dir {
            Direction::Forward => &mut self.front,
            Direction::Backward => &mut self.back,
        }
    }

    fn step(&mut self, dir: Direction) -> Result<Option<Visible>> {
        if !self.side(dir).primed {
            let mut heads = Vec::with_capacity(self.sources.len());
            for i in 0..self.sources.len() {
                heads.push(self.pull(i, dir)?);
            }
            let side = self.side(dir);
            side.heads = heads;
            side.primed = true;
        }
        loop {
            // The user key this end visits next: the smallest head going
            // forward, the largest going backward.
            let side = self.side(dir);
            let next_key =
                side.heads
                    .iter()
                    .flatten()
                    .map(|e| &e.key)
                    .reduce(|a, b| match (dir, b < a) {
                        (Direction::Forward, true) | (Direction::Backward, false) => b,
                        _ => a,
                    });
            let Some(key) = next_key.cloned() else {
                return Ok(None);
            };
            // Stop where the other end has already been.
            let other = match dir {
                Direction::Forward => &self.back.last_key,
                Direction::Backward => &self.front.last_key,
            };
            if let Some(met) = other {
                let crossed = match dir {
                    Direction::Forward => key >= *met,
                    Direction::Backward => key <= *met,
                };
                if crossed {
                    return Ok(None);
                }
            }
            // Consume every version of `key` from every source, keeping the
            // newest full version and the newest update visible at the
            // snapshot.
            let mut newest: Option<Entry> = None;
            let mut update: Option<Entry> = None;
            for i in 0..self.sources.len() {
                while self.side(dir).heads[i]
                    .as_ref()
                    .is_some_and(|e| e.key == key)
                {
                    let next = self.pull(i, dir)?;
                    let entry = std::mem::replace(&mut self.side(dir).heads[i], next);
                    let Some(entry) = entry else { break };
                    if entry.seq > self.snapshot {
                        continue;
                    }
                    let slot = if entry.kind.is_full() {
                        &mut newest
                    } else {
                        &mut update
                    };
                    if slot.as_ref().is_none_or(|n| entry.seq > n.seq) {
                        *slot = Some(entry);
                    }
                }
            }
            self.side(dir).last_key = Some(key);
            let Some(full) = newest else { continue };
            if full.kind == ValueKind::Tombstone {
                continue;
            }
            let update = update.filter(|u| u.seq > full.seq).map(|u| u.value);
            return Ok(Some(Visible {
                key: full.key,
                kind: full.kind,
                value: full.value,
                update,
            }));
        }
    }

    /// The next visible version going forward, before resolution (the
    /// records layer lists eligible records with it).
    pub(crate) fn next_visible(&mut self) -> Option<Result<Visible>> {
        self.advance_with(Direction::Forward, |_, item| Ok(Some(item)))
    }

    fn resolve(&self, item: Visible) -> Result<Option<(Bytes, Bytes)>> {
        if item.kind == ValueKind::Value && item.update.is_none() {
            return Ok(Some((item.key, item.value)));
        }
        let value = match &self.resolver {
            Some(resolver) => resolver.resolve(&item)?,
            None => Some(crate::records::strip_meta(&item)?),
        };
        Ok(value.map(|v| (item.key, v)))
    }

    fn advance(&mut self, dir: Direction) -> Option<Result<(Bytes, Bytes)>> {
        self.advance_with(dir, |iter, item| iter.resolve(item))
    }

    /// Steps until `map` accepts a visible version (it returns `None` for
    /// a hidden one), an error, or the end.
    fn advance_with<T>(
        &mut self,
        dir: Direction,
        map: impl Fn(&Self, Visible) -> Result<Option<T>>,
    ) -> Option<Result<T>> {
        if let Some(error) = self.pending_error.take() {
            self.done = true;
            return Some(Err(error));
        }
        if self.done {
            return None;
        }
        loop {
            let mapped = self.step(dir).and_then(|item| match item {
                Some(item) => map(self, item).map(|m| m.map(Some)),
                None => Ok(Some(None)),
            });
            match mapped {
                Ok(Some(Some(item))) => return Some(Ok(item)),
                Ok(None) => continue, // hidden
                Ok(Some(None)) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl Iterator for Iter {
    type Item = Result<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.advance(Direction::Forward)
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.advance(Direction::Backward)
    }
}

impl std::iter::FusedIterator for Iter {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::SnapshotList;
    use std::sync::Arc;

    /// A source over a fixed, internally sorted vector; like a real
    /// source, its two ends are independent cursors.
    #[derive(Debug)]
    struct VecSource {
        front: std::collections::VecDeque<Entry>,
        back: std::collections::VecDeque<Entry>,
    }

    impl Source for VecSource {
        fn next_front(&mut self) -> Result<Option<Entry>> {
            Ok(self.front.pop_front())
        }
        fn next_back(&mut self) -> Result<Option<Entry>> {
            Ok(self.back.pop_back())
        }
    }

    fn source(items: &[(&str, SeqNo, ValueKind)]) -> Box<dyn Source> {
        let entries: std::collections::VecDeque<Entry> = items
            .iter()
            .map(|(k, seq, kind)| Entry {
                key: Bytes::copy_from_slice(k.as_bytes()),
                seq: *seq,
                kind: *kind,
                value: Bytes::from(format!("{k}@{seq}")),
            })
            .collect();
        Box::new(VecSource {
            front: entries.clone(),
            back: entries,
        })
    }

    fn iter(snapshot: SeqNo) -> Iter {
        use ValueKind::*;
        let newer = source(&[("a", 9, Tombstone), ("b", 8, Value), ("d", 7, Value)]);
        let older = source(&[
            ("a", 2, Value),
            ("b", 3, Value),
            ("c", 4, Value),
            ("d", 1, Tombstone),
        ]);
        let list = Arc::new(SnapshotList::default());
        Iter::new(vec![newer, older], SnapshotList::register(&list, snapshot))
    }

    fn strings(items: Vec<Result<(Bytes, Bytes)>>) -> Vec<String> {
        items
            .into_iter()
            .map(|r| String::from_utf8(r.unwrap().1.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn merge_shadows_and_hides_tombstones() {
        assert_eq!(strings(iter(100).collect()), ["b@8", "c@4", "d@7"]);
        assert_eq!(strings(iter(100).rev().collect()), ["d@7", "c@4", "b@8"]);
        assert_eq!(strings(iter(5).collect()), ["a@2", "b@3", "c@4"]);
        assert_eq!(strings(iter(5).rev().collect()), ["c@4", "b@3", "a@2"]);
    }

    #[test]
    fn ends_meet_without_repeating() {
        let mut it = iter(100);
        let first = it.next().unwrap().unwrap();
        let last = it.next_back().unwrap().unwrap();
        let middle = it.next().unwrap().unwrap();
        assert_eq!(
            (&first.0[..], &last.0[..], &middle.0[..]),
            (&b"b"[..], &b"d"[..], &b"c"[..])
        );
        assert!(it.next().is_none());
        assert!(it.next_back().is_none());
    }
}
