//! The small codecs every table structure shares: the constants, the block
//! handle, the internal-key trailer, LEB128 varints and the block checksum.
//!
//! Writer and reader both use these functions, so the two sides cannot
//! disagree about a layout. All integers are little-endian; nothing
//! platform-sized (`usize`) is ever written.
//!
//! # Invariants
//! 1. A varint encodes a `u32` in at most [`VARINT_LEN_MAX`] bytes; a
//!    decoder refuses a sixth byte and bits past 32.
//! 2. Every block on disk is followed by [`BLOCK_CRC_LEN`] bytes: the CRC32
//!    (`crc32fast`, IEEE) of the block's bytes. A [`BlockHandle`]'s `size`
//!    does not count them.
//! 3. A trailer is `seq << 8 | kind`, so the sequence number must fit in 56
//!    bits (`SEQ_MAX` guarantees it).

use crate::key::{SeqNo, ValueKind, SEQ_MAX};
use std::cmp::Ordering;

/// The magic number at the end of every table: the bytes `HFTABLE1`.
pub(crate) const TABLE_MAGIC: u64 = u64::from_le_bytes(*b"HFTABLE1");
/// The current table format version, stored in the footer.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Bytes of the checksum that follows every block.
pub(crate) const BLOCK_CRC_LEN: usize = 4;
/// Bytes of an encoded [`BlockHandle`].
pub(crate) const HANDLE_LEN: usize = 12;
/// Bytes of the trailer (`seq << 8 | kind`) that ends every internal key.
pub(crate) const TRAILER_LEN: usize = 8;
/// Longest varint (a `u32` needs at most 5 groups of 7 bits).
pub(crate) const VARINT_LEN_MAX: usize = 5;

/// A decoding failure inside one structure: where, relative to the start of
/// that structure, and what was wrong. The table reader turns it into
/// [`crate::Error::Corruption`] with the file path and absolute offset.
#[derive(Debug)]
pub(crate) struct Malformed {
    /// Offset from the start of the structure being decoded.
    pub at: usize,
    /// What was wrong.
    pub what: String,
}

impl Malformed {
    pub(crate) fn new(at: usize, what: impl Into<String>) -> Self {
        Malformed {
            at,
            what: what.into(),
        }
    }
}

/// Where a block lives in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockHandle {
    /// Offset of the block's first byte.
    pub offset: u64,
    /// Bytes of the block, without its checksum.
    pub size: u32,
}

impl BlockHandle {
    /// The offset just past the block's checksum: where the next block
    /// starts. Saturates, so a corrupt handle cannot overflow.
    pub(crate) fn end_with_crc(&self) -> u64 {
        self.offset
            .saturating_add(u64::from(self.size))
            .saturating_add(BLOCK_CRC_LEN as u64)
    }

    /// `offset u64 | size u32`.
    pub(crate) fn encode(&self) -> [u8; HANDLE_LEN] {
        let mut out = [0u8; HANDLE_LEN];
        out[0..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..12].copy_from_slice(&self.size.to_le_bytes());
        out
    }

    /// Decodes exactly [`HANDLE_LEN`] bytes.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != HANDLE_LEN {
            return None;
        }
        Some(BlockHandle {
            offset: read_u64(bytes, 0)?,
            size: read_u32(bytes, 8)?,
        })
    }
}

/// Packs a sequence number and a kind into a trailer.
pub(crate) fn encode_trailer(seq: SeqNo, kind: ValueKind) -> [u8; TRAILER_LEN] {
    debug_assert!(seq <= SEQ_MAX, "seq {seq} does not fit in 56 bits");
    ((seq << 8) | u64::from(kind as u8)).to_le_bytes()
}

/// Splits an internal key into user key, sequence number and kind; `None`
/// when it is too short to hold a trailer and a non-empty user key, or when
/// the kind tag is unknown.
pub(crate) fn split_internal_key(ikey: &[u8]) -> Option<(&[u8], SeqNo, ValueKind)> {
    let user_len = ikey.len().checked_sub(TRAILER_LEN)?;
    if user_len == 0 {
        return None;
    }
    let trailer = read_u64(ikey, user_len)?;
    let kind = ValueKind::from_u8((trailer & 0xff) as u8)?;
    Some((&ikey[..user_len], trailer >> 8, kind))
}

/// Orders an encoded internal key against `(user_key, seq)`: user key
/// ascending, then sequence descending. A key too short to hold a trailer
/// compares by its bytes alone (only a corrupt block can hold one, and the
/// decoders refuse those before comparing).
pub(crate) fn compare_encoded(ikey: &[u8], user_key: &[u8], seq: SeqNo) -> Ordering {
    let (own_user, own_seq) = user_and_seq(ikey);
    own_user.cmp(user_key).then_with(|| seq.cmp(&own_seq))
}

/// Orders two encoded internal keys (see [`compare_encoded`]).
pub(crate) fn compare_encoded_keys(a: &[u8], b: &[u8]) -> Ordering {
    let (b_user, b_seq) = user_and_seq(b);
    compare_encoded(a, b_user, b_seq)
}

/// The user key and sequence number of an encoded internal key, for
/// ordering only (the kind is not checked).
fn user_and_seq(ikey: &[u8]) -> (&[u8], SeqNo) {
    let user_len = ikey.len().saturating_sub(TRAILER_LEN);
    let seq = read_u64(ikey, user_len).map_or(0, |t| t >> 8);
    (&ikey[..user_len], seq)
}

/// Appends `value` as an LEB128 varint.
pub(crate) fn put_varint32(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Decodes a varint at `pos`; returns the value and the position after it.
/// `None` when it runs past the end of `bytes`, is longer than
/// [`VARINT_LEN_MAX`] bytes or overflows a `u32`.
pub(crate) fn get_varint32(bytes: &[u8], pos: usize) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for i in 0..VARINT_LEN_MAX {
        let byte = *bytes.get(pos + i)?;
        if i == VARINT_LEN_MAX - 1 && byte > 0x0f {
            return None;
        }
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((value, pos + i + 1));
        }
    }
    None
}

/// The little-endian `u32` at `pos`, if the bytes are there.
pub(crate) fn read_u32(bytes: &[u8], pos: usize) -> Option<u32> {
    let b = bytes.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The little-endian `u64` at `pos`, if the bytes are there.
pub(crate) fn read_u64(bytes: &[u8], pos: usize) -> Option<u64> {
    let b = bytes.get(pos..pos.checked_add(8)?)?;
    let mut raw = [0u8; 8];
    raw.copy_from_slice(b);
    Some(u64::from_le_bytes(raw))
}

/// Checks the CRC32 stored right after `block` (`with_crc` is the block
/// followed by its 4 checksum bytes).
pub(crate) fn check_block_crc(with_crc: &[u8]) -> Result<&[u8], Malformed> {
    let Some(len) = with_crc.len().checked_sub(BLOCK_CRC_LEN) else {
        return Err(Malformed::new(0, "block shorter than its checksum"));
    };
    let (block, stored) = with_crc.split_at(len);
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    let computed = crc32fast::hash(block);
    if stored != computed {
        return Err(Malformed::new(
            0,
            format!("checksum: stored {stored:#010x}, computed {computed:#010x}"),
        ));
    }
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_refuse_garbage() {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u32::MAX - 1, u32::MAX] {
            let mut out = Vec::new();
            put_varint32(&mut out, v);
            assert!(out.len() <= VARINT_LEN_MAX);
            assert_eq!(get_varint32(&out, 0), Some((v, out.len())));
            // Every strict prefix is refused.
            for cut in 0..out.len() {
                assert_eq!(get_varint32(&out[..cut], 0), None);
            }
        }
        assert_eq!(get_varint32(&[0x80; 6], 0), None, "too long");
        assert_eq!(
            get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x10], 0),
            None,
            "overflow"
        );
        assert_eq!(get_varint32(&[0x01], 5), None, "past the end");
    }

    #[test]
    fn trailer_and_internal_key_order() {
        let mut ikey = b"k".to_vec();
        ikey.extend_from_slice(&encode_trailer(7, ValueKind::Tombstone));
        assert_eq!(
            split_internal_key(&ikey),
            Some((&b"k"[..], 7, ValueKind::Tombstone))
        );
        assert_eq!(compare_encoded(&ikey, b"k", 8), Ordering::Greater);
        assert_eq!(compare_encoded(&ikey, b"k", 7), Ordering::Equal);
        assert_eq!(compare_encoded(&ikey, b"k", 6), Ordering::Less);
        assert_eq!(compare_encoded(&ikey, b"j", 0), Ordering::Greater);
        assert_eq!(split_internal_key(&ikey[1..]), None, "empty user key");
        ikey[1] = 9;
        assert_eq!(split_internal_key(&ikey), None, "unknown kind");
        assert_eq!(TABLE_MAGIC.to_le_bytes(), *b"HFTABLE1");
    }

    #[test]
    fn handles_round_trip() {
        let h = BlockHandle {
            offset: 0x0102_0304_0506_0708,
            size: 0x0a0b_0c0d,
        };
        assert_eq!(BlockHandle::decode(&h.encode()), Some(h));
        assert_eq!(BlockHandle::decode(&h.encode()[..11]), None);
        assert_eq!(h.end_with_crc(), 0x0102_0304_0506_0708 + 0x0a0b_0c0d + 4);
    }
}
