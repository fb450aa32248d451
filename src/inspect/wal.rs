//! [`dump_wal`]: a WAL segment decoded record by record, batch by batch.
//!
//! The segment is read as recovery reads the newest segment in
//! `TolerateTornTail` mode (`wal::read_segment`): a torn tail is reported
//! in [`WalDump::torn_tail`], not an error, and nothing is cut. Each
//! record's payload is decoded by the engine's batch decoder, and the
//! metadata of kinds 3 and 4 by the records layer's.

use super::{numbered, read_file, split_value, FileType, MetaDump, OpKind};
use crate::batch::decode_batch;
use crate::options::RecoveryMode;
use crate::wal::format::SEGMENT_MAGIC;
use crate::wal::read_segment;
use crate::{Error, Result};
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// A decoded WAL segment.
#[derive(Clone, Debug)]
pub struct WalDump {
    /// The file.
    pub path: PathBuf,
    /// The segment number (header and file name agree).
    pub number: u64,
    /// The file's length.
    pub file_bytes: u64,
    /// Bytes up to the end of the last complete record.
    pub valid_bytes: u64,
    /// Why the bytes past `valid_bytes` do not form a record, if there are
    /// any: the tail a crash left, which opening the database would cut
    /// when this is the newest segment (and refuse otherwise).
    pub torn_tail: Option<String>,
    /// The records, in file order.
    pub records: Vec<WalRecordDump>,
}

/// One WAL record: one committed batch.
#[derive(Clone, Debug)]
pub struct WalRecordDump {
    /// Offset of the record's first frame in the file.
    pub offset: u64,
    /// Bytes of the batch payload.
    pub payload_bytes: u64,
    /// Sequence number of the first operation.
    pub first_seq: u64,
    /// The operations; operation `i` has sequence number `first_seq + i`.
    pub ops: Vec<OpDump>,
}

/// One operation of a batch, or one entry of a table.
#[derive(Clone, Debug)]
pub struct OpDump {
    /// Its sequence number.
    pub seq: u64,
    /// What it does.
    pub kind: OpKind,
    /// The user key.
    pub key: Bytes,
    /// The user's value: empty for a delete and a retention update; for a
    /// record, without its metadata.
    pub value: Bytes,
    /// The retention metadata of a record or retention update.
    pub meta: Option<MetaDump>,
}

/// Decodes the WAL segment at `path`, which must be named like one
/// (`NNNNNNNNNNNNNNNNNNNN.wal`: the header must carry the same number).
///
/// The segment is read as if it were the newest: damaged or incomplete
/// frames at the end are reported in [`WalDump::torn_tail`]. A damaged
/// header (with data after it), or a record whose frames are intact but
/// whose batch or metadata does not decode, is [`Error::Corruption`] with
/// the file and offset; a name that is not a segment's is
/// [`Error::InvalidArgument`].
pub fn dump_wal(path: &Path) -> Result<WalDump> {
    let number = numbered(path, FileType::Wal)?;
    let bytes = read_file(path)?;
    decode_wal(path, number, &bytes)
}

/// [`dump_wal`] on bytes already read (also `verify_dir`'s check).
pub(super) fn decode_wal(path: &Path, number: u64, bytes: &Bytes) -> Result<WalDump> {
    let contents = read_segment(
        path,
        SEGMENT_MAGIC,
        number,
        bytes,
        true,
        RecoveryMode::TolerateTornTail,
    )?;
    let mut records = Vec::with_capacity(contents.records.len());
    for record in &contents.records {
        let batch = decode_batch(&record.payload).map_err(|(at, why)| {
            Error::corruption(
                path,
                record.offset,
                format!("batch payload byte {at}: {why}"),
            )
        })?;
        let mut ops = Vec::with_capacity(batch.ops.len());
        for op in batch.ops {
            let (meta, value) = split_value(op.kind, &op.value).map_err(|why| {
                Error::corruption(
                    path,
                    record.offset,
                    format!("operation with seq {}: {why}", op.seq),
                )
            })?;
            ops.push(OpDump {
                seq: op.seq,
                kind: OpKind::from_kind(op.kind),
                key: op.key,
                value,
                meta,
            });
        }
        records.push(WalRecordDump {
            offset: record.offset,
            payload_bytes: record.payload.len() as u64,
            first_seq: batch.first_seq,
            ops,
        });
    }
    Ok(WalDump {
        path: path.to_path_buf(),
        number,
        file_bytes: bytes.len() as u64,
        valid_bytes: contents.valid_len,
        torn_tail: contents.torn,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::format::{encode_record, encode_segment_header};
    use crate::WriteBatch;

    fn segment(number: u64, batches: &[(u64, WriteBatch)]) -> Vec<u8> {
        let mut out = encode_segment_header(SEGMENT_MAGIC, number).to_vec();
        for (seq, batch) in batches {
            encode_record(&batch.clone().seal(*seq), &mut out);
        }
        out
    }

    #[test]
    fn decodes_batches_and_reports_a_torn_tail() {
        let mut first = WriteBatch::new();
        first.put("k1", "v1").delete("k2");
        let mut second = WriteBatch::new();
        second.put([0xff, 0x00], [1, 2, 3]);
        let mut bytes = segment(7, &[(1, first), (3, second)]);
        let dump = decode_wal(Path::new("x.wal"), 7, &Bytes::from(bytes.clone())).unwrap();
        assert_eq!(dump.records.len(), 2);
        assert_eq!(dump.records[0].ops.len(), 2);
        assert_eq!(dump.records[0].ops[1].kind, OpKind::Delete);
        assert_eq!(dump.records[1].first_seq, 3);
        assert_eq!(&dump.records[1].ops[0].key[..], &[0xff, 0x00]);
        assert!(dump.torn_tail.is_none());

        let valid = bytes.len() as u64;
        bytes.extend_from_slice(&[0xab; 5]);
        let dump = decode_wal(Path::new("x.wal"), 7, &Bytes::from(bytes)).unwrap();
        assert_eq!(dump.valid_bytes, valid);
        assert!(dump.torn_tail.is_some());
    }

    #[test]
    fn damaged_header_and_wrong_names_are_errors() {
        let mut bytes = segment(2, &[]);
        bytes[0] ^= 1;
        bytes.extend_from_slice(b"more");
        let err = decode_wal(Path::new("x.wal"), 2, &Bytes::from(bytes)).unwrap_err();
        assert!(err.is_corruption(), "{err}");
        let err = dump_wal(Path::new("/nonexistent/foo.txt")).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
}
