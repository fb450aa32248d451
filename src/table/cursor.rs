//! [`TableCursor`]: a double-ended cursor over one table, bounded by a
//! user-key range and filtered by a snapshot, implementing [`Source`].
//!
//! Each end decodes one whole data block at a time into a small queue of
//! [`Entry`]s (values are zero-copy slices of the mapping; keys too when the
//! entry stores its whole key, and versions of one key share one `Bytes`),
//! then hands them out one by one. The front end walks blocks forward from
//! the first block that can hold the lower bound, the back end backward from
//! the last block that can hold the upper bound. The two ends are
//! independent, as [`Source`] requires: each covers the whole range, and the
//! merge above stops them where they meet.
//!
//! # Invariants
//! 1. An end's queue holds, in internal order, the in-range entries with
//!    `seq <= snapshot` of the last block it decoded that it has not handed
//!    out yet.
//! 2. An end stops after the block in which it saw a key past its far bound
//!    (the front: past `upper`; the back: before `lower`), or after an error.

use super::format::{split_internal_key, TRAILER_LEN};
use super::reader::Table;
use crate::iter::{Entry, Source};
use crate::key::{SeqNo, ValueKind, SEQ_MAX};
use crate::Result;
use bytes::Bytes;
use std::collections::VecDeque;
use std::ops::{Bound, Range};
use std::sync::Arc;

/// One end of the cursor.
#[derive(Debug)]
struct End {
    queue: VecDeque<Entry>,
    /// Front: the next block to decode. Back: one past it.
    next_block: usize,
    done: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct TableCursor {
    table: Arc<Table>,
    snapshot: SeqNo,
    lower: Bound<Bytes>,
    upper: Bound<Bytes>,
    front: End,
    back: End,
    /// Reused key buffer for block decoding.
    key: Vec<u8>,
    /// Reused buffer of one block's decoded entries.
    pending: Vec<Pending>,
}

impl Table {
    /// A double-ended cursor over the user keys in `(lower, upper)`, skipping
    /// entries with `seq > snapshot`.
    pub(crate) fn cursor(
        self: &Arc<Self>,
        snapshot: SeqNo,
        lower: Bound<Bytes>,
        upper: Bound<Bytes>,
    ) -> TableCursor {
        let index = &self.index;
        let first = match &lower {
            Bound::Included(k) => index.seek(k, SEQ_MAX),
            Bound::Excluded(k) => index.seek(k, 0),
            Bound::Unbounded => 0,
        };
        // One past the block holding the last entry at or before `upper`.
        let last_end = match &upper {
            Bound::Included(k) => index.seek(k, 0) + 1,
            Bound::Excluded(k) => index.seek(k, SEQ_MAX) + 1,
            Bound::Unbounded => index.len(),
        }
        .min(index.len());
        TableCursor {
            table: Arc::clone(self),
            snapshot,
            lower,
            upper,
            front: End {
                queue: VecDeque::new(),
                next_block: first,
                done: false,
            },
            back: End {
                queue: VecDeque::new(),
                next_block: last_end,
                done: false,
            },
            key: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Every entry, in order: for compaction and verification.
    #[allow(
        dead_code,
        reason = "table interface for flush, compaction, the records layer and the CLI; not every caller exists yet"
    )]
    pub(crate) fn cursor_all(self: &Arc<Self>) -> TableCursor {
        self.cursor(SEQ_MAX, Bound::Unbounded, Bound::Unbounded)
    }
}

/// Where a decoded entry's user key will come from.
#[derive(Clone, Debug)]
enum KeyAt {
    /// These bytes of the mapping (the entry stores its whole key).
    Mapped(Range<usize>),
    /// These bytes of the block's key buffer.
    Arena(Range<usize>),
    /// The same user key as the entry queued just before.
    Previous,
}

/// A decoded entry waiting for its block's key buffer to be frozen.
#[derive(Debug)]
struct Pending {
    key: KeyAt,
    seq: SeqNo,
    kind: ValueKind,
    /// Where the value lies in the mapping.
    value: Range<usize>,
}

/// What decoding one block saw of the bounds.
struct Reach {
    /// A key before `lower`.
    before_lower: bool,
    /// A key after `upper`.
    past_upper: bool,
}

impl TableCursor {
    /// Decodes block `i`, appending its visible in-range entries to the
    /// queue of the front (`forward`) or back end.
    ///
    /// Keys cost at most one allocation per block: a key stored whole in
    /// the block is a slice of the mapping, the other keys are copied into
    /// one per-block buffer and sliced from it, and the versions of a key
    /// share one `Bytes`.
    fn decode_block(&mut self, i: usize, forward: bool) -> Result<Reach> {
        let table = &*self.table;
        let (block, base) = table.data_block(i, table.verify_checksums)?;
        let mut reach = Reach {
            before_lower: false,
            past_upper: false,
        };
        let mut arena = Vec::new();
        // The source of the last key that was not `KeyAt::Previous`.
        let mut last_key: Option<KeyAt> = None;
        self.pending.clear();
        let mut iter = block.iter(&mut self.key);
        while let Some(raw) = iter.next_entry().map_err(|m| table.data_corruption(i, m))? {
            let ikey = iter.key();
            let Some((user, seq, kind)) = split_internal_key(ikey) else {
                // The block iterator refuses such keys; never reached.
                continue;
            };
            if !above_lower(&self.lower, user) {
                reach.before_lower = true;
                continue;
            }
            if !below_upper(&self.upper, user) {
                reach.past_upper = true;
                break;
            }
            if seq > self.snapshot {
                continue;
            }
            let same = match &last_key {
                Some(KeyAt::Mapped(r)) => table.data[r.clone()] == *user,
                Some(KeyAt::Arena(r)) => arena[r.clone()] == *user,
                Some(KeyAt::Previous) | None => false,
            };
            let key = if same {
                KeyAt::Previous
            } else {
                let key = if raw.shared == 0 {
                    // The whole key is in the block: slice it, no copy.
                    let start = base + raw.key_delta.start;
                    KeyAt::Mapped(start..start + user.len())
                } else {
                    let start = arena.len();
                    arena.extend_from_slice(user);
                    KeyAt::Arena(start..arena.len())
                };
                last_key = Some(key.clone());
                key
            };
            debug_assert_eq!(user.len() + TRAILER_LEN, ikey.len());
            self.pending.push(Pending {
                key,
                seq,
                kind,
                value: base + raw.value.start..base + raw.value.end,
            });
        }
        let arena = Bytes::from(arena);
        let queue = if forward {
            &mut self.front.queue
        } else {
            &mut self.back.queue
        };
        for (n, pending) in self.pending.drain(..).enumerate() {
            let key = match pending.key {
                KeyAt::Mapped(r) => table.data.slice(r),
                KeyAt::Arena(r) => arena.slice(r),
                // Only ever after an entry of this block was queued.
                KeyAt::Previous => match (n, queue.back()) {
                    (1.., Some(previous)) => previous.key.clone(),
                    _ => Bytes::new(),
                },
            };
            queue.push_back(Entry {
                key,
                seq: pending.seq,
                kind: pending.kind,
                value: table.data.slice(pending.value),
            });
        }
        Ok(reach)
    }

    fn next_front_entry(&mut self) -> Result<Option<Entry>> {
        loop {
            if let Some(entry) = self.front.queue.pop_front() {
                return Ok(Some(entry));
            }
            if self.front.done || self.front.next_block >= self.table.index.len() {
                return Ok(None);
            }
            let i = self.front.next_block;
            self.front.next_block += 1;
            match self.decode_block(i, true) {
                Ok(reach) => self.front.done = reach.past_upper,
                Err(e) => {
                    self.front.done = true;
                    return Err(e);
                }
            }
        }
    }

    fn next_back_entry(&mut self) -> Result<Option<Entry>> {
        loop {
            if let Some(entry) = self.back.queue.pop_back() {
                return Ok(Some(entry));
            }
            if self.back.done || self.back.next_block == 0 {
                return Ok(None);
            }
            self.back.next_block -= 1;
            match self.decode_block(self.back.next_block, false) {
                Ok(reach) => self.back.done = reach.before_lower,
                Err(e) => {
                    self.back.done = true;
                    return Err(e);
                }
            }
        }
    }
}

fn above_lower(lower: &Bound<Bytes>, user: &[u8]) -> bool {
    match lower {
        Bound::Included(k) => user >= &k[..],
        Bound::Excluded(k) => user > &k[..],
        Bound::Unbounded => true,
    }
}

fn below_upper(upper: &Bound<Bytes>, user: &[u8]) -> bool {
    match upper {
        Bound::Included(k) => user <= &k[..],
        Bound::Excluded(k) => user < &k[..],
        Bound::Unbounded => true,
    }
}

impl Source for TableCursor {
    fn next_front(&mut self) -> Result<Option<Entry>> {
        self.next_front_entry()
    }

    fn next_back(&mut self) -> Result<Option<Entry>> {
        self.next_back_entry()
    }
}
