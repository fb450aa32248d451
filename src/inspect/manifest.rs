//! [`dump_manifest`]: a manifest's version edits, decoded.
//!
//! The file is decoded by `manifest::decode_manifest`, the function
//! recovery uses, in `TolerateTornTail` mode: a torn last append is
//! reported in [`ManifestDump::torn_tail`], damage before intact edits is
//! [`Error::Corruption`](crate::Error::Corruption).

use super::{numbered, read_file, FileType};
use crate::manifest::{decode_manifest, TableMeta, VersionEdit};
use crate::options::RecoveryMode;
use crate::Result;
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// A decoded manifest.
#[derive(Clone, Debug)]
pub struct ManifestDump {
    /// The file.
    pub path: PathBuf,
    /// Its file number (header and name agree).
    pub number: u64,
    /// Its length.
    pub file_bytes: u64,
    /// Bytes up to the end of the last complete edit.
    pub valid_bytes: u64,
    /// The edits in order; the first is the snapshot of the whole tree.
    pub edits: Vec<EditDump>,
    /// Why the last append is torn, if it is (opening would drop it).
    pub torn_tail: Option<String>,
}

/// One version edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditDump {
    /// Offset of its record's first frame.
    pub offset: u64,
    /// Sets the next file number.
    pub next_file_number: Option<u64>,
    /// Sets the last sequence number in tables.
    pub last_seq: Option<u64>,
    /// Sets the oldest WAL segment still needed.
    pub wal_oldest_live: Option<u64>,
    /// Tables added, with their level.
    pub added: Vec<(u8, TableMetaDump)>,
    /// Tables removed: level and file number.
    pub removed: Vec<(u8, u64)>,
}

/// What the manifest records about one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMetaDump {
    /// File number (`NNNNNNNNNNNNNNNNNNNN.table`).
    pub number: u64,
    /// File length.
    pub file_bytes: u64,
    /// Smallest sequence number.
    pub min_seq: u64,
    /// Largest sequence number.
    pub max_seq: u64,
    /// Entries, tombstones included.
    pub entries: u64,
    /// Tombstones.
    pub tombstones: u64,
    /// Earliest stored expiry, if any.
    pub earliest_expires_at: Option<i64>,
    /// Latest stored retention date, if any.
    pub latest_retain_until: Option<i64>,
    /// Holds records-layer entries.
    pub has_records: bool,
    /// Smallest user key.
    pub smallest: Bytes,
    /// Largest user key.
    pub largest: Bytes,
}

impl From<&TableMeta> for TableMetaDump {
    fn from(m: &TableMeta) -> Self {
        TableMetaDump {
            number: m.number,
            file_bytes: m.file_bytes,
            min_seq: m.min_seq,
            max_seq: m.max_seq,
            entries: m.entries,
            tombstones: m.tombstones,
            earliest_expires_at: m.earliest_expires_at,
            latest_retain_until: m.latest_retain_until,
            has_records: m.has_records,
            smallest: m.smallest.clone(),
            largest: m.largest.clone(),
        }
    }
}

impl EditDump {
    fn new(offset: u64, edit: &VersionEdit) -> Self {
        EditDump {
            offset,
            next_file_number: edit.next_file_number,
            last_seq: edit.last_seq,
            wal_oldest_live: edit.wal_oldest_live,
            added: edit.added.iter().map(|(l, m)| (*l, m.into())).collect(),
            removed: edit.removed.clone(),
        }
    }
}

/// Decodes the manifest at `path`, which must be named like one
/// (`MANIFEST-NNNNNNNNNNNNNNNNNNNN`).
pub fn dump_manifest(path: &Path) -> Result<ManifestDump> {
    let number = numbered(path, FileType::Manifest)?;
    let bytes = read_file(path)?;
    let (dump, _) = decode(path, number, &bytes)?;
    Ok(dump)
}

/// [`dump_manifest`] on bytes already read; also returns the edits, for
/// `verify_dir`'s replay.
pub(super) fn decode(
    path: &Path,
    number: u64,
    bytes: &Bytes,
) -> Result<(ManifestDump, Vec<VersionEdit>)> {
    let decoded = decode_manifest(path, number, bytes, RecoveryMode::TolerateTornTail)?;
    let dump = ManifestDump {
        path: path.to_path_buf(),
        number,
        file_bytes: bytes.len() as u64,
        valid_bytes: decoded.valid_len,
        edits: decoded
            .edits
            .iter()
            .map(|(offset, edit)| EditDump::new(*offset, edit))
            .collect(),
        torn_tail: decoded.torn,
    };
    let edits = decoded.edits.into_iter().map(|(_, e)| e).collect();
    Ok((dump, edits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Db, Options};

    #[test]
    fn dumps_the_snapshot_and_later_edits() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        db.put("k", "v").unwrap();
        db.flush_memtables().unwrap();
        db.close().unwrap();
        let manifest = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains("MANIFEST-"))
            .unwrap();
        let dump = dump_manifest(&manifest).unwrap();
        assert!(dump.edits[0].next_file_number.is_some(), "snapshot first");
        let added: Vec<_> = dump.edits.iter().flat_map(|e| &e.added).collect();
        assert_eq!(added.len(), 1);
        assert_eq!(&added[0].1.smallest[..], b"k");
        assert!(dump.torn_tail.is_none());

        let mut bytes = std::fs::read(&manifest).unwrap();
        bytes[25] ^= 1; // inside the snapshot record, followed by edits
        let err = decode(&manifest, dump.number, &Bytes::from(bytes));
        assert!(err.is_err());
    }
}
