//! [`dump_audit`]: an audit trail's entries, each verified.
//!
//! The file is read by `audit::read_trail`, the function opening the
//! database uses: framing, the torn-tail rule, every entry's decoding,
//! link, sequence number, time and hash. Unlike opening, nothing is cut:
//! a torn last append is reported in [`AuditDump::torn_tail`].

use super::{numbered, read_file, FileType};
use crate::audit::{read_trail, AuditCheckpoint, AuditEntry};
use crate::Result;
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// A decoded, verified audit trail.
#[derive(Clone, Debug)]
pub struct AuditDump {
    /// The file.
    pub path: PathBuf,
    /// Its length.
    pub file_bytes: u64,
    /// The entries, oldest first.
    pub entries: Vec<AuditEntryDump>,
    /// The last entry's sequence number and hash.
    pub head: AuditCheckpoint,
    /// Why the bytes after the last entry are a torn append, if there are
    /// any (opening the database cuts them and records the cut).
    pub torn_tail: Option<String>,
}

/// One entry and where it is.
#[derive(Clone, Debug)]
pub struct AuditEntryDump {
    /// Offset of its record's first frame.
    pub offset: u64,
    /// The entry (seq, time, actor, event, hashes); [`crate::audit::entry_json`]
    /// gives its JSON form.
    pub entry: AuditEntry,
}

/// Decodes and verifies the audit trail at `path` (named
/// `AUDIT-NNNNNNNNNNNNNNNNNNNN`). A broken chain or damaged entry is
/// [`Error::Corruption`](crate::Error::Corruption) with the entry's offset.
pub fn dump_audit(path: &Path) -> Result<AuditDump> {
    numbered(path, FileType::Audit)?;
    let bytes = read_file(path)?;
    decode_audit(path, &bytes)
}

/// [`dump_audit`] on bytes already read.
pub(super) fn decode_audit(path: &Path, bytes: &Bytes) -> Result<AuditDump> {
    let mut entries = Vec::new();
    let read = read_trail(path, bytes, |offset, entry| {
        entries.push(AuditEntryDump {
            offset,
            entry: entry.clone(),
        });
        Ok(())
    })?;
    Ok(AuditDump {
        path: path.to_path_buf(),
        file_bytes: bytes.len() as u64,
        entries,
        head: read.chain.head(),
        torn_tail: read.torn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Hold, Scope};
    use crate::{Db, Options};

    #[test]
    fn dumps_entries_and_detects_a_changed_byte() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        db.place_hold(Hold {
            id: "case-7".into(),
            scope: Scope::Prefix(b"inv/".to_vec()),
            reason: "litigation".into(),
            issuer: "legal".into(),
        })
        .unwrap();
        db.release_hold("case-7").unwrap();
        db.close().unwrap();
        let path = dir.path().join(crate::audit::audit_file_name(1));
        let dump = dump_audit(&path).unwrap();
        assert!(!dump.entries.is_empty());
        assert_eq!(dump.head.seq, dump.entries.len() as u64);
        assert!(dump
            .entries
            .iter()
            .any(|e| e.entry.event.name() == "hold_placed"));

        // Damage to the first entry, with entries after it: no crash can
        // do that (damage to the last entry alone would be a torn tail).
        let mut bytes = std::fs::read(&path).unwrap();
        let at = dump.entries[0].offset as usize + 12;
        bytes[at] ^= 1;
        let err = decode_audit(&path, &Bytes::from(bytes)).unwrap_err();
        assert!(err.is_corruption(), "{err}");
    }
}
