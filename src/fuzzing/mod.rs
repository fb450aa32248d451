//! Entry points for the fuzz targets in `fuzz/` (not part of the API).
//!
//! Each function feeds untrusted bytes to one decoder and asserts the
//! properties that must hold for any input; a panic is a finding.

mod op_sequence;

pub use op_sequence::op_sequence;

use crate::batch::decode_batch;
use crate::key::ValueKind;
use crate::options::RecoveryMode;
use crate::wal::format::{encode_record, encode_segment_header, FRAME_HEADER_LEN, SEGMENT_MAGIC};
use crate::wal::read_segment;
use crate::WriteBatch;
use bytes::Bytes;
use std::path::Path;

/// Parses `data` as WAL segment 1 in every mode; records found must lie
/// inside the valid prefix, and re-framing them must reproduce it.
///
/// When the first byte is odd, the rest is placed after a valid segment
/// header, so the fuzzer spends its time on frames, not on the header CRC.
pub fn wal_segment(input: &[u8]) {
    let owned;
    let data = match input.split_first() {
        Some((first, rest)) if first % 2 == 1 => {
            let header = encode_segment_header(SEGMENT_MAGIC, 1);
            owned = [&header[..], rest].concat();
            &owned[..]
        }
        _ => input,
    };
    let bytes = Bytes::copy_from_slice(data);
    for newest in [true, false] {
        for mode in [RecoveryMode::TolerateTornTail, RecoveryMode::Strict] {
            let Ok(contents) = read_segment(
                Path::new("fuzz.wal"),
                SEGMENT_MAGIC,
                1,
                &bytes,
                newest,
                mode,
            ) else {
                continue;
            };
            assert!(contents.valid_len <= data.len() as u64);
            let mut reframed = Vec::new();
            for record in &contents.records {
                assert!(record.offset + (FRAME_HEADER_LEN as u64) <= contents.valid_len);
                encode_record(&record.payload, &mut reframed);
            }
            if contents.valid_len > 0 {
                let header = crate::wal::format::SEGMENT_HEADER_LEN;
                assert_eq!(&data[header..contents.valid_len as usize], &reframed[..]);
            }
        }
    }
}

/// Decodes `data` as a batch payload; a decoded batch must re-encode to
/// exactly `data`.
pub fn batch_payload(data: &[u8]) {
    let payload = Bytes::copy_from_slice(data);
    let Ok(decoded) = decode_batch(&payload) else {
        return;
    };
    let mut batch = WriteBatch::new();
    for op in &decoded.ops {
        match op.kind {
            ValueKind::Value => batch.put(&op.key, &op.value),
            ValueKind::Tombstone => batch.delete(&op.key),
            kind @ (ValueKind::Record | ValueKind::RetentionUpdate) => {
                batch.push_stored(kind, &op.key, &op.value)
            }
        };
    }
    assert_eq!(&batch.seal(decoded.first_seq)[..], data);
}

/// Opens `data` as a table file and reads all of it: every key through
/// `get`, every entry through cursors in both directions, and `verify`.
/// Any input gives values or `Error::Corruption`, never a panic.
pub fn table_file(data: &[u8]) {
    use crate::iter::Source;
    use crate::table::{Table, TableOptions};
    let options = TableOptions::default();
    let Ok(table) = Table::from_bytes("fuzz.table".into(), Bytes::copy_from_slice(data), &options)
    else {
        return;
    };
    let table = std::sync::Arc::new(table);
    let _ = table.verify();
    let mut cursor = table.cursor_all();
    let mut keys = Vec::new();
    while let Ok(Some(entry)) = cursor.next_front() {
        keys.push(entry.key);
        if keys.len() > 10_000 {
            break;
        }
    }
    for key in &keys {
        let _ = table.get(key, crate::key::SEQ_MAX);
    }
    let mut cursor = table.cursor_all();
    while let Ok(Some(_)) = cursor.next_back() {}
}

/// Decodes `data` as a version edit; a decoded edit re-encodes to bytes
/// that decode to the same edit.
pub fn manifest_edit(data: &[u8]) {
    use crate::manifest::VersionEdit;
    let Ok(edit) = VersionEdit::decode(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let again = VersionEdit::decode(&Bytes::from(edit.encode()));
    assert_eq!(again.ok().as_ref(), Some(&edit));
}

/// The first byte selects what the rest is. Even: an audit entry payload;
/// a decoded entry must re-encode to exactly the same bytes (the hash
/// chain hashes the canonical encoding) and export without panicking.
/// Odd: the records of an audit file (after a valid header) on a simulated
/// disk; opening it either fails with `Error::Corruption` or gives a trail
/// that verifies, up to the head `open` found.
pub fn audit_entry(input: &[u8]) {
    use crate::audit::{audit_file_name, entry_json, AuditEntry, AuditLog, AUDIT_MAGIC};
    use crate::fs::{FileSystem, OpenMode, SimFileSystem};
    let Some((selector, data)) = input.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        let Ok(entry) = AuditEntry::decode(data) else {
            return;
        };
        assert_eq!(entry.encode().ok().as_deref(), Some(data));
        assert!(entry.computed_hash().is_ok());
        assert!(entry_json(&entry).is_ok());
        return;
    }
    let fs = SimFileSystem::new(1);
    let dir = Path::new("/db");
    let header = encode_segment_header(AUDIT_MAGIC, 1);
    let created = fs.create_dir_all(dir).and_then(|()| {
        let file = fs.open(&dir.join(audit_file_name(1)), OpenMode::CreateNew)?;
        file.append(&[&header[..], data].concat())
    });
    assert!(created.is_ok());
    match AuditLog::open(&fs, dir) {
        Ok(log) => assert_eq!(log.verify().ok(), Some(log.checkpoint())),
        Err(e) => assert!(e.is_corruption(), "{e}"),
    }
}

/// Decodes `data` as record metadata (the prefix of a kind-3 value, the
/// whole of a kind-4 value): an error or metadata, never a panic; decoded
/// metadata re-encodes to exactly the bytes it took.
pub fn record_meta(data: &[u8]) {
    use crate::records::meta::StoredMeta;
    let bytes = Bytes::copy_from_slice(data);
    if let Ok((meta, len)) = StoredMeta::decode(&bytes) {
        assert!(len <= data.len());
        assert_eq!(meta.encode(), &data[..len]);
        assert_eq!(meta.encoded_len(), len);
        let split = StoredMeta::split_record(&bytes);
        assert!(
            matches!(&split, Ok((again, value)) if *again == meta && value[..] == data[len..]),
            "split_record disagrees with decode"
        );
    }
    let _ = StoredMeta::decode_update(&bytes);
}
