//! A double-ended cursor over one sorted level: the level's tables that
//! meet the range, in key order, read one after another.
//!
//! Tables of a sorted level are disjoint (version invariant 2), so their
//! entries concatenate into internal order. Each end opens its current
//! table through the table cache only when it reaches it. The cursor holds
//! the `Arc<TableFile>`s, so their files stay on disk while it lives.

use super::{TableCache, TableFile};
use crate::iter::{Entry, Source};
use crate::key::SeqNo;
use crate::table::TableCursor;
use crate::Result;
use bytes::Bytes;
use std::ops::Bound;
use std::sync::Arc;

/// See the module documentation.
pub(crate) struct LevelCursor {
    cache: Arc<TableCache>,
    snapshot: SeqNo,
    lower: Bound<Bytes>,
    upper: Bound<Bytes>,
    /// The level's tables that meet the range, in key order. Each end walks
    /// all of them on its own (front from the first, back from the last);
    /// the merge above stops the two ends where they meet.
    tables: Vec<Arc<TableFile>>,
    /// Index of the next table the front end opens.
    front_next: usize,
    /// Number of tables the back end has not opened yet (it opens
    /// `tables[back_left - 1]` next).
    back_left: usize,
    front: Option<TableCursor>,
    back: Option<TableCursor>,
}

impl std::fmt::Debug for LevelCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LevelCursor")
            .field("tables", &self.tables.len())
            .field("front_next", &self.front_next)
            .field("back_left", &self.back_left)
            .finish_non_exhaustive()
    }
}

impl LevelCursor {
    /// `tables`: the level's tables that meet the range, in key order.
    pub(crate) fn new(
        cache: Arc<TableCache>,
        tables: Vec<Arc<TableFile>>,
        snapshot: SeqNo,
        lower: Bound<Bytes>,
        upper: Bound<Bytes>,
    ) -> Self {
        LevelCursor {
            cache,
            snapshot,
            lower,
            upper,
            back_left: tables.len(),
            tables,
            front_next: 0,
            front: None,
            back: None,
        }
    }

    fn next(&mut self, forward: bool) -> Result<Option<Entry>> {
        loop {
            let cursor = if forward {
                &mut self.front
            } else {
                &mut self.back
            };
            if let Some(cursor) = cursor {
                let entry = if forward {
                    cursor.next_front()?
                } else {
                    cursor.next_back()?
                };
                if entry.is_some() {
                    return Ok(entry);
                }
            }
            let index = if forward {
                if self.front_next == self.tables.len() {
                    return Ok(None);
                }
                self.front_next += 1;
                self.front_next - 1
            } else {
                if self.back_left == 0 {
                    return Ok(None);
                }
                self.back_left -= 1;
                self.back_left
            };
            let table = self.cache.get(&self.tables[index])?;
            let opened = table.cursor(self.snapshot, self.lower.clone(), self.upper.clone());
            if forward {
                self.front = Some(opened);
            } else {
                self.back = Some(opened);
            }
        }
    }
}

impl Source for LevelCursor {
    fn next_front(&mut self) -> Result<Option<Entry>> {
        self.next(true)
    }

    fn next_back(&mut self) -> Result<Option<Entry>> {
        self.next(false)
    }
}
