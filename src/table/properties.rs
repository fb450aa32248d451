//! The properties block: a table's summary, read at open so that version
//! and compaction decisions need no data block.
//!
//! | offset   | size | field                                                |
//! |---------:|-----:|------------------------------------------------------|
//! | 0        | 8    | entries u64                                          |
//! | 8        | 8    | tombstones u64                                       |
//! | 16       | 8    | min_seq u64                                          |
//! | 24       | 8    | max_seq u64                                          |
//! | 32       | 8    | raw_key_bytes u64 (sum of user-key lengths)          |
//! | 40       | 8    | raw_value_bytes u64 (sum of value lengths)           |
//! | 48       | 8    | file_bytes u64 (the whole file, footer included)     |
//! | 56       | 8    | earliest_expires_at i64 (0 when absent)              |
//! | 64       | 8    | latest_retain_until i64 (0 when absent)              |
//! | 72       | 4    | flags u32: bit 0 earliest_expires_at present, bit 1 latest_retain_until present, bit 2 holds records-layer entries (kinds 3, 4); others 0 |
//! | 76       | 4    | smallest_key length u32 (s)                          |
//! | 80       | 4    | largest_key length u32 (l)                           |
//! | 84       | s    | smallest_key (user key)                              |
//! | 84 + s   | l    | largest_key (user key)                               |
//!
//! The block is exactly `84 + s + l` bytes.
//!
//! # Invariants (checked by the decoder)
//! 1. `tombstones <= entries`.
//! 2. An empty table has `entries == 0`, empty keys and both seqs 0; a
//!    non-empty one has keys of 1 to `KEY_LEN_MAX` bytes, `smallest_key <=
//!    largest_key` and `min_seq <= max_seq <= SEQ_MAX`.
//! 3. An absent retention value is stored as 0 with its flag clear.

use super::format::{read_u32, read_u64, Malformed};
use crate::key::{SeqNo, KEY_LEN_MAX, SEQ_MAX};
use bytes::Bytes;

/// Bytes of the fixed part of the properties block.
pub(crate) const PROPERTIES_FIXED_LEN: usize = 84;
const FLAG_EXPIRES: u32 = 1;
const FLAG_RETAIN: u32 = 2;
const FLAG_RECORDS: u32 = 4;

/// What a table holds, in summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TableProperties {
    /// Entries (versions of keys), tombstones included.
    pub entries: u64,
    /// Entries of kind tombstone.
    pub tombstones: u64,
    /// The first user key (empty for an empty table).
    pub smallest_key: Bytes,
    /// The last user key (empty for an empty table).
    pub largest_key: Bytes,
    /// The smallest sequence number (0 for an empty table).
    pub min_seq: SeqNo,
    /// The largest sequence number (0 for an empty table).
    pub max_seq: SeqNo,
    /// Sum of the user keys' lengths, one per entry.
    pub raw_key_bytes: u64,
    /// Sum of the values' lengths.
    pub raw_value_bytes: u64,
    /// Length of the whole file.
    pub file_bytes: u64,
    /// Retention summary, filled by the records layer later: None = no
    /// record in the table has one.
    pub earliest_expires_at: Option<i64>,
    /// Retention summary, filled by the records layer later: None = no
    /// record in the table has one.
    pub latest_retain_until: Option<i64>,
    /// The table holds entries of kind `Record` or `RetentionUpdate`.
    pub has_records: bool,
}

impl TableProperties {
    /// Bytes `encode_into` appends.
    pub(crate) fn encoded_len(&self) -> usize {
        PROPERTIES_FIXED_LEN + self.smallest_key.len() + self.largest_key.len()
    }

    /// Appends the properties block (without its CRC).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        for field in [
            self.entries,
            self.tombstones,
            self.min_seq,
            self.max_seq,
            self.raw_key_bytes,
            self.raw_value_bytes,
            self.file_bytes,
        ] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&self.earliest_expires_at.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.latest_retain_until.unwrap_or(0).to_le_bytes());
        let mut flags = 0u32;
        if self.earliest_expires_at.is_some() {
            flags |= FLAG_EXPIRES;
        }
        if self.latest_retain_until.is_some() {
            flags |= FLAG_RETAIN;
        }
        if self.has_records {
            flags |= FLAG_RECORDS;
        }
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&(self.smallest_key.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.largest_key.len() as u32).to_le_bytes());
        debug_assert_eq!(out.len() - start, PROPERTIES_FIXED_LEN);
        out.extend_from_slice(&self.smallest_key);
        out.extend_from_slice(&self.largest_key);
        debug_assert_eq!(out.len() - start, self.encoded_len());
    }

    /// Decodes and checks a properties block (without its CRC). The keys
    /// are copied out, so the result does not pin the file's mapping.
    pub(crate) fn decode(block: &[u8]) -> Result<Self, Malformed> {
        if block.len() < PROPERTIES_FIXED_LEN {
            return Err(Malformed::new(
                0,
                format!(
                    "properties block of {} bytes is shorter than its {PROPERTIES_FIXED_LEN} fixed bytes",
                    block.len()
                ),
            ));
        }
        let u64_at = |at| read_u64(block, at).unwrap_or(0);
        let i64_at = |at| i64::from_le_bytes(u64_at(at).to_le_bytes());
        let flags = read_u32(block, 72).unwrap_or(0);
        let smallest_len = read_u32(block, 76).unwrap_or(0) as usize;
        let largest_len = read_u32(block, 80).unwrap_or(0) as usize;
        if smallest_len > KEY_LEN_MAX
            || largest_len > KEY_LEN_MAX
            || PROPERTIES_FIXED_LEN + smallest_len + largest_len != block.len()
        {
            return Err(Malformed::new(
                76,
                format!(
                    "key lengths {smallest_len} and {largest_len} do not match a properties block of {} bytes",
                    block.len()
                ),
            ));
        }
        if flags & !(FLAG_EXPIRES | FLAG_RETAIN | FLAG_RECORDS) != 0 {
            return Err(Malformed::new(
                72,
                format!("unknown presence flags {flags:#x}"),
            ));
        }
        let optional = |flag: u32, at: usize| -> Result<Option<i64>, Malformed> {
            match (flags & flag != 0, i64_at(at)) {
                (true, value) => Ok(Some(value)),
                (false, 0) => Ok(None),
                (false, _) => Err(Malformed::new(at, "absent retention value is not 0")),
            }
        };
        let smallest_end = PROPERTIES_FIXED_LEN + smallest_len;
        let props = TableProperties {
            entries: u64_at(0),
            tombstones: u64_at(8),
            min_seq: u64_at(16),
            max_seq: u64_at(24),
            raw_key_bytes: u64_at(32),
            raw_value_bytes: u64_at(40),
            file_bytes: u64_at(48),
            earliest_expires_at: optional(FLAG_EXPIRES, 56)?,
            latest_retain_until: optional(FLAG_RETAIN, 64)?,
            has_records: flags & FLAG_RECORDS != 0,
            smallest_key: Bytes::copy_from_slice(&block[PROPERTIES_FIXED_LEN..smallest_end]),
            largest_key: Bytes::copy_from_slice(&block[smallest_end..]),
        };
        props.check()?;
        Ok(props)
    }

    /// The consistency rules of the module documentation.
    fn check(&self) -> Result<(), Malformed> {
        if self.tombstones > self.entries {
            return Err(Malformed::new(8, "more tombstones than entries"));
        }
        let consistent = if self.entries == 0 {
            self.smallest_key.is_empty()
                && self.largest_key.is_empty()
                && self.min_seq == 0
                && self.max_seq == 0
        } else {
            !self.smallest_key.is_empty()
                && self.smallest_key <= self.largest_key
                && self.min_seq <= self.max_seq
                && self.max_seq <= SEQ_MAX
        };
        if !consistent {
            return Err(Malformed::new(
                0,
                "key range or sequence range inconsistent with the entry count",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TableProperties {
        TableProperties {
            entries: 10,
            tombstones: 3,
            smallest_key: Bytes::from_static(b"apple"),
            largest_key: Bytes::from_static(b"pear"),
            min_seq: 4,
            max_seq: 90,
            raw_key_bytes: 45,
            raw_value_bytes: 1000,
            file_bytes: 4321,
            earliest_expires_at: Some(-5),
            latest_retain_until: None,
            has_records: true,
        }
    }

    #[test]
    fn round_trips() {
        for props in [sample(), TableProperties::default()] {
            let mut out = Vec::new();
            props.encode_into(&mut out);
            assert_eq!(out.len(), props.encoded_len());
            assert_eq!(TableProperties::decode(&out).unwrap(), props);
        }
    }

    #[test]
    fn refuses_inconsistent_blocks() {
        let mut out = Vec::new();
        sample().encode_into(&mut out);
        for cut in 0..out.len() {
            assert!(TableProperties::decode(&out[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = out.clone();
        bad[72] |= 8;
        assert!(TableProperties::decode(&bad).is_err(), "unknown flag");
        let mut bad = out.clone();
        bad[64] = 1;
        assert!(
            TableProperties::decode(&bad).is_err(),
            "absent but non-zero"
        );
        let mut swapped = sample();
        swapped.tombstones = 11;
        let mut bad = Vec::new();
        swapped.encode_into(&mut bad);
        assert!(
            TableProperties::decode(&bad).is_err(),
            "tombstones > entries"
        );
    }
}
