//! The index: one entry per data block, the block's last internal key and
//! its handle. On disk it is a block in the data-block format whose values
//! are 12-byte handles; at open it is decoded once into flat arrays, so a
//! point read finds its block by one binary search and a cursor steps
//! between blocks by position.
//!
//! # Invariants (checked by [`Index::decode`])
//! 1. Index keys are strictly ascending in internal order.
//! 2. The data blocks are back to back from offset 0: block `i + 1` starts
//!    right after block `i`'s checksum, and the last one's checksum ends
//!    where the filter block starts. So every handle lies inside the file.
//! 3. An index key is no longer than its data block (a block's last key is
//!    built from bytes of that block). This bounds the decoded keys by the
//!    file's size, so a corrupt index cannot make the reader allocate more
//!    memory than the file holds.

use super::block::Block;
use super::format::{compare_encoded, compare_encoded_keys, BlockHandle, Malformed};
use crate::key::SeqNo;
use std::cmp::Ordering;

/// The decoded index of one table.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// The last internal key of every block, back to back.
    keys: Vec<u8>,
    /// Per block: where its key ends in `keys`, and its handle.
    blocks: Vec<(usize, BlockHandle)>,
}

impl Index {
    /// Decodes and checks an index block (without its CRC); the data blocks
    /// must end at `data_end` (the filter block's offset).
    pub(crate) fn decode(block: &[u8], data_end: u64) -> Result<Self, Malformed> {
        let parsed = Block::parse(block)?;
        let mut index = Index::default();
        let mut key = Vec::new();
        let mut iter = parsed.iter(&mut key);
        let mut next_offset = 0u64;
        while let Some(raw) = iter.next_entry()? {
            let handle = BlockHandle::decode(&block[raw.value.clone()]).ok_or_else(|| {
                Malformed::new(raw.at, "index value is not a 12-byte block handle")
            })?;
            if handle.offset != next_offset || handle.end_with_crc() > data_end {
                return Err(Malformed::new(
                    raw.at,
                    format!(
                        "data block {} at {} of {} bytes is not right after the previous one (expected {next_offset}, data ends at {data_end})",
                        index.blocks.len(),
                        handle.offset,
                        handle.size
                    ),
                ));
            }
            let key = iter.key();
            if key.len() > handle.size as usize {
                return Err(Malformed::new(
                    raw.at,
                    "index key is longer than its data block",
                ));
            }
            if let Some(previous) = index.blocks.len().checked_sub(1) {
                if compare_encoded_keys(index.key(previous), key) != Ordering::Less {
                    return Err(Malformed::new(raw.at, "index keys out of order"));
                }
            }
            next_offset = handle.end_with_crc();
            index.keys.extend_from_slice(key);
            index.blocks.push((index.keys.len(), handle));
        }
        if next_offset != data_end {
            return Err(Malformed::new(
                block.len(),
                format!("data blocks end at {next_offset}, the filter block starts at {data_end}"),
            ));
        }
        Ok(index)
    }

    /// Number of data blocks.
    pub(crate) fn len(&self) -> usize {
        self.blocks.len()
    }

    /// The last internal key of block `i`.
    pub(crate) fn key(&self, i: usize) -> &[u8] {
        let start = match i {
            0 => 0,
            _ => self.blocks[i - 1].0,
        };
        &self.keys[start..self.blocks[i].0]
    }

    /// The handle of block `i`.
    pub(crate) fn handle(&self, i: usize) -> BlockHandle {
        self.blocks[i].1
    }

    /// The first block whose last key is at or after `(user_key, seq)`:
    /// the only block that can hold the first entry at or after it. Equal
    /// to `len()` when every entry sorts before it.
    pub(crate) fn seek(&self, user_key: &[u8], seq: SeqNo) -> usize {
        let (mut lo, mut hi) = (0, self.blocks.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if compare_encoded(self.key(mid), user_key, seq) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}
