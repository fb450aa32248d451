//! Read-only inspection of a database's files, for operators and the
//! `holdfast` command-line tool (like LevelDB's `leveldbutil dump` and
//! RocksDB's `sst_dump`/`ldb`).
//!
//! * [`dump_wal`], [`dump_table`], [`dump_manifest`] and [`dump_audit`]
//!   decode one file into plain public structs (the CLI prints them as
//!   text or JSON);
//! * [`verify_dir`] checks every checksum of every file of a database
//!   directory and reports each problem with its file and offset.
//!
//! Everything here goes through the engine's own decoders
//! (`wal::reader`, `batch`, `table`, `manifest`, `audit`): there is no
//! second parser of any format, so what inspection accepts is exactly
//! what the engine accepts.
//!
//! # Invariants
//! 1. Nothing here writes, truncates, renames or deletes a file: a torn
//!    tail that opening the database would cut is reported, never cut.
//!    (The one exception is the lock file `verify_dir` locks, which
//!    exists in every database; see [`verify_dir`].)
//! 2. Every byte read is untrusted: the decoders bound every length before
//!    using it, and any failure is [`crate::Error::Corruption`]
//!    with the file and the offset, never a panic.

mod audit;
mod manifest;
mod report;
mod table;
mod verify;
mod wal;

pub use audit::{dump_audit, AuditDump, AuditEntryDump};
pub use manifest::{dump_manifest, EditDump, ManifestDump, TableMetaDump};
pub use report::{CheckedFile, Problem, VerifyProgress, VerifyReport};
pub use table::{
    dump_table, BlockHandleDump, FilterDump, IndexEntryDump, PropertiesDump, TableDump,
    TableEntryDump,
};
pub use verify::{database_exists, verify_dir};
pub use wal::{dump_wal, OpDump, WalDump, WalRecordDump};

use crate::fs::{read_all, FileKind, FileSystem, OpenMode, OsFileSystem};
use crate::key::ValueKind;
use crate::records::meta::StoredMeta;
use crate::records::Mode;
use crate::{Error, Result};
use bytes::Bytes;
use std::path::Path;

/// What a file of a database directory is, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FileType {
    /// A write-ahead-log segment (`N.wal`).
    Wal,
    /// A sorted table (`N.table`).
    Table,
    /// A manifest (`MANIFEST-N`).
    Manifest,
    /// The pointer to the live manifest (`CURRENT`).
    Current,
    /// The audit trail (`AUDIT-N`).
    Audit,
    /// The directory lock (`LOCK`; its content means nothing).
    Lock,
    /// A `CURRENT.tmp` left by a crash (opening deletes it).
    CurrentTemp,
    /// A name holdfast did not make (ignored by the engine).
    Other,
}

impl FileType {
    /// Every type, in report order.
    pub const ALL: [FileType; 8] = [
        FileType::Wal,
        FileType::Table,
        FileType::Manifest,
        FileType::Current,
        FileType::Audit,
        FileType::Lock,
        FileType::CurrentTemp,
        FileType::Other,
    ];

    /// A short lower-case name: `wal`, `table`, `manifest`, …
    pub fn name(self) -> &'static str {
        match self {
            FileType::Wal => "wal",
            FileType::Table => "table",
            FileType::Manifest => "manifest",
            FileType::Current => "current",
            FileType::Audit => "audit",
            FileType::Lock => "lock",
            FileType::CurrentTemp => "current-tmp",
            FileType::Other => "other",
        }
    }

    /// The type of a file name, and its number where it has one.
    pub fn of_name(name: &str) -> (FileType, Option<u64>) {
        if let Some(number) = crate::audit::parse_audit_file_name(name) {
            return (FileType::Audit, Some(number));
        }
        match crate::fs::parse_file_name(name) {
            Some(FileKind::WalSegment(n)) => (FileType::Wal, Some(n)),
            Some(FileKind::Table(n)) => (FileType::Table, Some(n)),
            Some(FileKind::Manifest(n)) => (FileType::Manifest, Some(n)),
            Some(FileKind::Current) => (FileType::Current, None),
            Some(FileKind::CurrentTemp) => (FileType::CurrentTemp, None),
            Some(FileKind::Lock) => (FileType::Lock, None),
            None => (FileType::Other, None),
        }
    }
}

/// The kind of one operation in a WAL batch or one table entry (the
/// on-disk op kinds of `docs/FORMAT.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpKind {
    /// 1: a plain put.
    Put,
    /// 2: a delete (tombstone).
    Delete,
    /// 3: a put with retention metadata.
    Record,
    /// 4: a metadata-only change of the record below it.
    RetentionUpdate,
}

impl OpKind {
    fn from_kind(kind: ValueKind) -> OpKind {
        match kind {
            ValueKind::Value => OpKind::Put,
            ValueKind::Tombstone => OpKind::Delete,
            ValueKind::Record => OpKind::Record,
            ValueKind::RetentionUpdate => OpKind::RetentionUpdate,
        }
    }

    /// `put`, `delete`, `record` or `retention-update`.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Put => "put",
            OpKind::Delete => "delete",
            OpKind::Record => "record",
            OpKind::RetentionUpdate => "retention-update",
        }
    }
}

/// Retention metadata stored with a record version (kinds 3 and 4), as
/// decoded. Times are milliseconds since the Unix epoch, UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaDump {
    /// Engine clock at write (`i64::MIN`: unknown).
    pub written_at: i64,
    /// Protected until.
    pub retain_until: Option<i64>,
    /// Protection mode.
    pub mode: Option<Mode>,
    /// Eligible for disposal after.
    pub expires_at: Option<i64>,
    /// The policy that computed the dates.
    pub policy: Option<String>,
    /// Who wrote the version.
    pub actor: Option<String>,
}

/// Splits a stored value into its metadata (kinds 3 and 4) and the user's
/// value, with the engine's strict metadata decoder.
fn split_value(
    kind: ValueKind,
    stored: &Bytes,
) -> std::result::Result<(Option<MetaDump>, Bytes), String> {
    if !kind.has_meta() {
        return Ok((None, stored.clone()));
    }
    let (meta, used) = StoredMeta::decode(stored)?;
    let dump = MetaDump {
        written_at: meta.written_at,
        retain_until: meta.retain_until,
        mode: meta.mode,
        expires_at: meta.expires_at,
        policy: meta.policy,
        actor: meta.actor,
    };
    Ok((Some(dump), stored.slice(used..)))
}

/// The whole file at `path` (read in bounded steps).
fn read_file(path: &Path) -> Result<Bytes> {
    let file = OsFileSystem
        .open(path, OpenMode::Read)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let bytes =
        read_all(&*file).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(Bytes::from(bytes))
}

/// The number in `path`'s file name, which must be of type `expected`:
/// the log readers check it against the number in the file's header.
fn numbered(path: &Path, expected: FileType) -> Result<u64> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match FileType::of_name(name) {
        (found, Some(number)) if found == expected => Ok(number),
        _ => Err(Error::InvalidArgument(format!(
            "{} is not named like a holdfast {} file",
            path.display(),
            expected.name()
        ))),
    }
}

#[cfg(test)]
mod tests;
