//! A version edit: one change to the set of tables that make up the
//! database, as it is recorded in the manifest. Encoder and decoder side by
//! side; the layout is in `docs/FORMAT.md`.
//!
//! ```text
//! edit  = field*
//! field = tag u8 | body
//!   1 next_file_number  u64
//!   2 last_seq          u64
//!   3 wal_oldest_live   u64
//!   4 add table         level u8 | TableMeta
//!   5 remove table      level u8 | number u64
//! TableMeta = number u64 | file_bytes u64 | min_seq u64 | max_seq u64
//!           | entries u64 | tombstones u64 | flags u8
//!           | earliest_expires_at i64 | latest_retain_until i64
//!           | smallest_len u32 | smallest | largest_len u32 | largest
//! ```
//! Tags 0 and 6.. are invalid. `flags` bit 0: `earliest_expires_at` is set;
//! bit 1: `latest_retain_until` is set; bit 2: the table holds records-layer
//! entries (kinds 3 and 4); other bits must be zero.

use crate::codec::{ByteReader, DecodeError};
use crate::key::{check_key, SeqNo, SEQ_MAX};
use bytes::{BufMut, Bytes};

/// Number of levels of the tree (level 0 plus six sorted levels).
pub(crate) const LEVELS: usize = 7;

const TAG_NEXT_FILE_NUMBER: u8 = 1;
const TAG_LAST_SEQ: u8 = 2;
const TAG_WAL_OLDEST_LIVE: u8 = 3;
const TAG_ADD_TABLE: u8 = 4;
const TAG_REMOVE_TABLE: u8 = 5;

const FLAG_EXPIRES: u8 = 1;
const FLAG_RETAIN: u8 = 2;
const FLAG_RECORDS: u8 = 4;

/// What the manifest knows about one table file (enough to place it in the
/// tree and to skip it on reads without opening it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableMeta {
    pub number: u64,
    pub file_bytes: u64,
    pub min_seq: SeqNo,
    pub max_seq: SeqNo,
    pub entries: u64,
    pub tombstones: u64,
    pub earliest_expires_at: Option<i64>,
    pub latest_retain_until: Option<i64>,
    /// The table holds entries of kind `Record` or `RetentionUpdate`.
    pub has_records: bool,
    /// Smallest and largest user key in the table.
    pub smallest: Bytes,
    pub largest: Bytes,
}

/// One change to the tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionEdit {
    pub next_file_number: Option<u64>,
    pub last_seq: Option<SeqNo>,
    /// WAL segments below this number hold nothing that is not in tables.
    pub wal_oldest_live: Option<u64>,
    pub added: Vec<(u8, TableMeta)>,
    pub removed: Vec<(u8, u64)>,
}

impl VersionEdit {
    /// Encodes the edit.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.added.len() * 128);
        for (tag, value) in [
            (TAG_NEXT_FILE_NUMBER, self.next_file_number),
            (TAG_LAST_SEQ, self.last_seq),
            (TAG_WAL_OLDEST_LIVE, self.wal_oldest_live),
        ] {
            if let Some(value) = value {
                out.put_u8(tag);
                out.put_u64_le(value);
            }
        }
        for (level, meta) in &self.added {
            debug_assert!(usize::from(*level) < LEVELS);
            out.put_u8(TAG_ADD_TABLE);
            out.put_u8(*level);
            encode_meta(meta, &mut out);
        }
        for (level, number) in &self.removed {
            out.put_u8(TAG_REMOVE_TABLE);
            out.put_u8(*level);
            out.put_u64_le(*number);
        }
        out
    }

    /// Decodes an edit from untrusted bytes; on failure, the offset and what
    /// was wrong.
    pub(crate) fn decode(bytes: &Bytes) -> Result<VersionEdit, (usize, String)> {
        let mut r = ByteReader::new(bytes);
        let mut edit = VersionEdit::default();
        while r.remaining() > 0 {
            let at = r.pos();
            match r.u8()? {
                TAG_NEXT_FILE_NUMBER => edit.next_file_number = Some(r.u64()?),
                TAG_LAST_SEQ => edit.last_seq = Some(r.u64()?),
                TAG_WAL_OLDEST_LIVE => edit.wal_oldest_live = Some(r.u64()?),
                TAG_ADD_TABLE => {
                    let level = read_level(&mut r)?;
                    edit.added.push((level, decode_meta(&mut r)?));
                }
                TAG_REMOVE_TABLE => {
                    let level = read_level(&mut r)?;
                    edit.removed.push((level, r.u64()?));
                }
                tag => return Err((at, format!("unknown version-edit tag {tag}"))),
            }
        }
        Ok(edit)
    }
}

fn encode_meta(meta: &TableMeta, out: &mut Vec<u8>) {
    out.put_u64_le(meta.number);
    out.put_u64_le(meta.file_bytes);
    out.put_u64_le(meta.min_seq);
    out.put_u64_le(meta.max_seq);
    out.put_u64_le(meta.entries);
    out.put_u64_le(meta.tombstones);
    let mut flags = 0;
    if meta.earliest_expires_at.is_some() {
        flags |= FLAG_EXPIRES;
    }
    if meta.latest_retain_until.is_some() {
        flags |= FLAG_RETAIN;
    }
    if meta.has_records {
        flags |= FLAG_RECORDS;
    }
    out.put_u8(flags);
    out.put_i64_le(meta.earliest_expires_at.unwrap_or(0));
    out.put_i64_le(meta.latest_retain_until.unwrap_or(0));
    for key in [&meta.smallest, &meta.largest] {
        out.put_u32_le(key.len() as u32);
        out.put_slice(key);
    }
}

fn decode_meta(r: &mut ByteReader<'_>) -> Result<TableMeta, DecodeError> {
    let at = r.pos();
    let number = r.u64()?;
    let file_bytes = r.u64()?;
    let min_seq = r.u64()?;
    let max_seq = r.u64()?;
    let entries = r.u64()?;
    let tombstones = r.u64()?;
    let flags = r.u8()?;
    if flags & !(FLAG_EXPIRES | FLAG_RETAIN | FLAG_RECORDS) != 0 {
        return Err((at, format!("unknown table flags {flags:#04x}")));
    }
    let expires = r.i64()?;
    let retain = r.i64()?;
    let smallest = read_key(r)?;
    let largest = read_key(r)?;
    if smallest > largest || min_seq > max_seq || max_seq > SEQ_MAX || tombstones > entries {
        return Err((at, format!("table {number}: inconsistent bounds or counts")));
    }
    if flags & FLAG_EXPIRES == 0 && expires != 0 || flags & FLAG_RETAIN == 0 && retain != 0 {
        return Err((
            at,
            format!("table {number}: absent retention value is not 0"),
        ));
    }
    Ok(TableMeta {
        number,
        file_bytes,
        min_seq,
        max_seq,
        entries,
        tombstones,
        earliest_expires_at: (flags & FLAG_EXPIRES != 0).then_some(expires),
        latest_retain_until: (flags & FLAG_RETAIN != 0).then_some(retain),
        has_records: flags & FLAG_RECORDS != 0,
        smallest,
        largest,
    })
}

/// A level number, checked against [`LEVELS`].
fn read_level(r: &mut ByteReader<'_>) -> Result<u8, DecodeError> {
    let at = r.pos();
    let level = r.u8()?;
    if usize::from(level) >= LEVELS {
        return Err((at, format!("level {level} (there are {LEVELS})")));
    }
    Ok(level)
}

/// A user key (`u32` length + bytes), checked against the key limits.
fn read_key(r: &mut ByteReader<'_>) -> Result<Bytes, DecodeError> {
    let at = r.pos();
    let key = r.bytes()?;
    check_key(&key).map_err(|why| (at, why))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(number: u64) -> TableMeta {
        TableMeta {
            number,
            file_bytes: 4096,
            min_seq: 3,
            max_seq: 9,
            entries: 10,
            tombstones: 2,
            earliest_expires_at: Some(-5),
            latest_retain_until: None,
            has_records: false,
            smallest: Bytes::from_static(b"apple"),
            largest: Bytes::from_static(b"pear"),
        }
    }

    fn sample() -> VersionEdit {
        VersionEdit {
            next_file_number: Some(12),
            last_seq: Some(99),
            wal_oldest_live: Some(4),
            added: vec![(0, meta(10)), (3, meta(11))],
            removed: vec![(1, 7)],
        }
    }

    /// The worked example of `docs/FORMAT.md`: the edit a flush logs.
    #[test]
    fn worked_example_matches_the_spec() {
        let edit = VersionEdit {
            last_seq: Some(2),
            wal_oldest_live: Some(3),
            added: vec![(
                0,
                TableMeta {
                    number: 5,
                    file_bytes: 232,
                    min_seq: 1,
                    max_seq: 2,
                    entries: 2,
                    tombstones: 1,
                    earliest_expires_at: None,
                    latest_retain_until: None,
                    has_records: false,
                    smallest: Bytes::from_static(b"k1"),
                    largest: Bytes::from_static(b"k2"),
                },
            )],
            ..VersionEdit::default()
        };
        let hex: Vec<String> = edit.encode().iter().map(|b| format!("{b:02x}")).collect();
        let expected = [
            "02 02 00 00 00 00 00 00 00",          // last_seq 2
            "03 03 00 00 00 00 00 00 00",          // wal_oldest_live 3
            "04 00",                               // add table, level 0
            "05 00 00 00 00 00 00 00",             // number 5
            "e8 00 00 00 00 00 00 00",             // file_bytes 232
            "01 00 00 00 00 00 00 00",             // min_seq 1
            "02 00 00 00 00 00 00 00",             // max_seq 2
            "02 00 00 00 00 00 00 00",             // entries 2
            "01 00 00 00 00 00 00 00",             // tombstones 1
            "00",                                  // flags: no retention summary
            "00 00 00 00 00 00 00 00",             // earliest_expires_at (absent)
            "00 00 00 00 00 00 00 00",             // latest_retain_until (absent)
            "02 00 00 00 6b 31 02 00 00 00 6b 32", // "k1", "k2"
        ]
        .join(" ");
        assert_eq!(hex.join(" "), expected);
    }

    #[test]
    fn round_trip() {
        let edit = sample();
        let bytes = Bytes::from(edit.encode());
        assert_eq!(VersionEdit::decode(&bytes).unwrap(), edit);
        assert_eq!(
            VersionEdit::decode(&Bytes::new()).unwrap(),
            VersionEdit::default()
        );
    }

    #[test]
    fn every_truncation_and_bad_tag_is_an_error() {
        let full = sample();
        let bytes = Bytes::from(full.encode());
        // Cuts between fields decode (to the edit holding the fields before
        // the cut; the WAL framing's CRC is what rejects a cut record).
        let mut field_ends = Vec::new();
        let mut partial = VersionEdit::default();
        for step in 0..6 {
            match step {
                0 => partial.next_file_number = full.next_file_number,
                1 => partial.last_seq = full.last_seq,
                2 => partial.wal_oldest_live = full.wal_oldest_live,
                3 | 4 => partial.added.push(full.added[step - 3].clone()),
                _ => partial.removed.push(full.removed[0]),
            }
            field_ends.push(partial.encode().len());
        }
        assert_eq!(field_ends.last(), Some(&bytes.len()));
        for len in 1..bytes.len() {
            let result = VersionEdit::decode(&bytes.slice(..len));
            assert_eq!(result.is_ok(), field_ends.contains(&len), "len {len}");
        }
        let mut bad = bytes.to_vec();
        bad[0] = 42;
        assert!(VersionEdit::decode(&Bytes::from(bad)).is_err());
        let mut bad_level = Vec::new();
        bad_level.push(TAG_REMOVE_TABLE);
        bad_level.push(LEVELS as u8);
        bad_level.extend_from_slice(&1u64.to_le_bytes());
        assert!(VersionEdit::decode(&Bytes::from(bad_level)).is_err());
    }
}
