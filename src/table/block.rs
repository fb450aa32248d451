//! Reads one block written by [`super::block_builder::BlockBuilder`]: parses
//! the restart array, seeks by binary search over the restart points, and
//! decodes entries in order.
//!
//! The bytes are untrusted. Every length is checked against the block before
//! it is used, nothing is allocated from a length read from the block (the
//! key buffer grows only by bytes that are really there), and a bad block is
//! a [`Malformed`] naming the offset of the bad entry, never a panic.
//!
//! # Invariants the decoder checks
//! 1. `n * 4 + 4 <= block length`; `n == 0` exactly when there are no
//!    entries; `restart[0] == 0`; every restart offset lies inside the entry
//!    area.
//! 2. An entry's `shared` is at most the previous key's length (so 0 for the
//!    first entry and at a restart point); its key and value lie inside the
//!    entry area.
//! 3. Every key is an internal key: a non-empty user key of at most
//!    `KEY_LEN_MAX` bytes and a trailer with a known kind.

use super::format::{
    compare_encoded, get_varint32, read_u32, split_internal_key, Malformed, TRAILER_LEN,
};
use crate::key::{SeqNo, KEY_LEN_MAX};
use std::cmp::Ordering;
use std::ops::Range;

/// A parsed block: its entry area and its restart array.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Block<'a> {
    /// The entry area, `block[..entries_end]`.
    entries: &'a [u8],
    /// The restart array, `n` little-endian `u32`s.
    restarts: &'a [u8],
}

/// Where one decoded entry's parts lie, as offsets from the block's start.
#[derive(Clone, Debug)]
pub(crate) struct RawEntry {
    /// Offset of the entry's first header byte.
    pub at: usize,
    /// Bytes of the key shared with the previous key.
    pub shared: usize,
    /// The bytes of the key past the shared prefix.
    pub key_delta: Range<usize>,
    /// The value.
    pub value: Range<usize>,
}

impl<'a> Block<'a> {
    /// Checks the restart array of `block` (without its CRC).
    pub(crate) fn parse(block: &'a [u8]) -> Result<Self, Malformed> {
        let Some(count_at) = block.len().checked_sub(4) else {
            return Err(Malformed::new(
                0,
                format!(
                    "block of {} bytes has no room for its restart count",
                    block.len()
                ),
            ));
        };
        let count = read_u32(block, count_at).unwrap_or(0) as usize;
        let Some(restarts_at) = count
            .checked_mul(4)
            .and_then(|len| count_at.checked_sub(len))
        else {
            return Err(Malformed::new(
                count_at,
                format!(
                    "{count} restart points do not fit a block of {} bytes",
                    block.len()
                ),
            ));
        };
        let parsed = Block {
            entries: &block[..restarts_at],
            restarts: &block[restarts_at..count_at],
        };
        if (count == 0) != parsed.entries.is_empty() {
            return Err(Malformed::new(
                count_at,
                format!("{count} restart points for {restarts_at} bytes of entries"),
            ));
        }
        if count > 0 && parsed.restart(0)? != 0 {
            return Err(Malformed::new(restarts_at, "first restart point is not 0"));
        }
        Ok(parsed)
    }

    /// True when the block holds no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn restart_count(&self) -> usize {
        self.restarts.len() / 4
    }

    /// The offset of restart point `i`, checked to lie in the entry area.
    fn restart(&self, i: usize) -> Result<usize, Malformed> {
        let offset = read_u32(self.restarts, i * 4).unwrap_or(u32::MAX) as usize;
        if offset >= self.entries.len() {
            return Err(Malformed::new(
                self.entries.len() + i * 4,
                format!(
                    "restart point {i} at {offset} is outside the {} bytes of entries",
                    self.entries.len()
                ),
            ));
        }
        Ok(offset)
    }

    /// Decodes entries in order from the first.
    pub(crate) fn iter<'k>(&self, key: &'k mut Vec<u8>) -> BlockIter<'a, 'k> {
        BlockIter::new(self.entries, 0, key)
    }

    /// Finds the first entry whose internal key is at or after
    /// `(user_key, seq)`; on `Some`, `key` holds that entry's internal key.
    /// Binary search over the restart points, then a scan of at most one
    /// restart interval.
    pub(crate) fn seek(
        &self,
        user_key: &[u8],
        seq: SeqNo,
        key: &mut Vec<u8>,
    ) -> Result<Option<RawEntry>, Malformed> {
        // Invariant: restart keys before `lo` sort before the target, those
        // from `hi` on do not.
        let (mut lo, mut hi) = (0, self.restart_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = self.restart(mid)?;
            let raw = decode_entry(self.entries, at)?;
            let restart_key = &self.entries[raw.key_delta.clone()];
            if raw.shared != 0 || split_internal_key(restart_key).is_none() {
                return Err(Malformed::new(
                    at,
                    "restart point does not hold a whole key",
                ));
            }
            if compare_encoded(restart_key, user_key, seq) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let start = match lo {
            0 => 0,
            _ => self.restart(lo - 1)?,
        };
        let mut iter = BlockIter::new(self.entries, start, key);
        while let Some(raw) = iter.next_entry()? {
            if compare_encoded(iter.key(), user_key, seq) != Ordering::Less {
                return Ok(Some(raw));
            }
        }
        Ok(None)
    }
}

/// Decodes the entry header at `at` and checks that its key delta and value
/// lie inside `entries`.
fn decode_entry(entries: &[u8], at: usize) -> Result<RawEntry, Malformed> {
    let bad = |what: &str| Malformed::new(at, format!("entry: {what}"));
    let (shared, pos) = get_varint32(entries, at).ok_or_else(|| bad("bad shared length"))?;
    let (non_shared, pos) = get_varint32(entries, pos).ok_or_else(|| bad("bad unshared length"))?;
    let (value_len, pos) = get_varint32(entries, pos).ok_or_else(|| bad("bad value length"))?;
    let key_end = pos
        .checked_add(non_shared as usize)
        .filter(|end| *end <= entries.len())
        .ok_or_else(|| bad("key runs past the entries"))?;
    let value_end = key_end
        .checked_add(value_len as usize)
        .filter(|end| *end <= entries.len())
        .ok_or_else(|| bad("value runs past the entries"))?;
    Ok(RawEntry {
        at,
        shared: shared as usize,
        key_delta: pos..key_end,
        value: key_end..value_end,
    })
}

/// Decodes a block's entries in order, rebuilding each key in a caller's
/// buffer (so decoding allocates only when a key outgrows the buffer).
#[derive(Debug)]
pub(crate) struct BlockIter<'a, 'k> {
    entries: &'a [u8],
    pos: usize,
    key: &'k mut Vec<u8>,
}

impl<'a, 'k> BlockIter<'a, 'k> {
    /// Starts at `pos`, which must be 0 or a restart point.
    fn new(entries: &'a [u8], pos: usize, key: &'k mut Vec<u8>) -> Self {
        key.clear();
        BlockIter { entries, pos, key }
    }

    /// The internal key of the entry last returned by `next_entry`.
    pub(crate) fn key(&self) -> &[u8] {
        self.key
    }

    /// The next entry, `None` at the end of the block.
    pub(crate) fn next_entry(&mut self) -> Result<Option<RawEntry>, Malformed> {
        if self.pos >= self.entries.len() {
            return Ok(None);
        }
        let raw = decode_entry(self.entries, self.pos)?;
        if raw.shared > self.key.len() {
            return Err(Malformed::new(
                raw.at,
                format!(
                    "entry shares {} bytes with a {}-byte previous key",
                    raw.shared,
                    self.key.len()
                ),
            ));
        }
        self.key.truncate(raw.shared);
        self.key
            .extend_from_slice(&self.entries[raw.key_delta.clone()]);
        if self.key.len() > KEY_LEN_MAX + TRAILER_LEN || split_internal_key(self.key).is_none() {
            return Err(Malformed::new(
                raw.at,
                format!(
                    "entry key of {} bytes is not an internal key",
                    self.key.len()
                ),
            ));
        }
        self.pos = raw.value.end;
        Ok(Some(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::super::block_builder::BlockBuilder;
    use super::super::format::encode_trailer;
    use super::*;
    use crate::key::ValueKind;

    fn ikey(user: &str, seq: SeqNo) -> Vec<u8> {
        let mut k = user.as_bytes().to_vec();
        k.extend_from_slice(&encode_trailer(seq, ValueKind::Value));
        k
    }

    fn block_of(n: usize, restart_interval: usize) -> Vec<u8> {
        let mut builder = BlockBuilder::new(restart_interval);
        for i in 0..n {
            builder.add(
                &ikey(&format!("key{:04}", i / 2), 100 - (i % 2) as u64),
                b"v",
            );
        }
        let mut out = Vec::new();
        builder.finish_into(&mut out);
        out
    }

    #[test]
    fn seek_finds_first_entry_at_or_after_target() {
        for interval in [1, 3, 16] {
            let bytes = block_of(101, interval);
            let block = Block::parse(&bytes).unwrap();
            let mut key = Vec::new();
            for i in 0..51 {
                let user = format!("key{i:04}");
                for (seq, expect_seq) in [(200, Some(100)), (100, Some(100)), (99, Some(99))] {
                    let raw = block.seek(user.as_bytes(), seq, &mut key).unwrap();
                    let found = raw.map(|_| split_internal_key(&key).unwrap());
                    if i == 50 && seq == 99 {
                        assert!(found.is_none(), "key0050 has only seq 100");
                        continue;
                    }
                    let (found_user, found_seq, _) = found.unwrap();
                    assert_eq!((found_user, Some(found_seq)), (user.as_bytes(), expect_seq));
                }
                // Past every version of key i: the next key's newest version.
                let raw = block.seek(user.as_bytes(), 0, &mut key).unwrap();
                if i < 50 {
                    let (next_user, next_seq, _) = split_internal_key(&key).unwrap();
                    assert!(raw.is_some());
                    assert_eq!(next_user, format!("key{:04}", i + 1).as_bytes());
                    assert_eq!(next_seq, 100);
                } else {
                    assert!(raw.is_none());
                }
            }
        }
    }

    #[test]
    fn iter_decodes_every_entry_in_order() {
        let bytes = block_of(40, 16);
        let block = Block::parse(&bytes).unwrap();
        let mut key = Vec::new();
        let mut iter = block.iter(&mut key);
        let mut seen = Vec::new();
        while let Some(raw) = iter.next_entry().unwrap() {
            seen.push((iter.key().to_vec(), raw.value));
        }
        assert_eq!(seen.len(), 40);
        assert_eq!(seen[39].0, ikey("key0019", 99));
    }

    #[test]
    fn every_truncation_and_byte_flip_is_refused_or_harmless() {
        let bytes = block_of(20, 4);
        for cut in 0..bytes.len() {
            // Must not panic; most prefixes are refused outright.
            if let Ok(block) = Block::parse(&bytes[..cut]) {
                let mut key = Vec::new();
                let mut iter = block.iter(&mut key);
                while let Ok(Some(_)) = iter.next_entry() {}
                let _ = block.seek(b"key0005", 5, &mut key);
            }
        }
        for i in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                if let Ok(block) = Block::parse(&bad) {
                    let mut key = Vec::new();
                    let mut iter = block.iter(&mut key);
                    while let Ok(Some(_)) = iter.next_entry() {}
                    let _ = block.seek(b"key0005", 5, &mut key);
                }
            }
        }
        assert!(Block::parse(&[0, 0, 0]).is_err());
        assert!(Block::parse(&[0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Block::parse(&[0, 0, 0, 0]).unwrap().is_empty());
    }
}
