//! Opening a database: take the directory lock, replay the manifest (only
//! the manifest: tables are opened lazily), replay the WAL segments newer
//! than the last flush into memtables, cut a torn tail away, delete files
//! no version needs (orphans of a crash), and start a fresh WAL segment.
//!
//! # Invariants
//! 1. The live WAL segments (from the manifest's oldest live one on) are
//!    contiguous; a gap is corruption (a segment was lost), not something
//!    to skip over.
//! 2. Sequence numbers strictly increase through the log.
//! 3. A torn tail is removed from disk (and the removal synced) before the
//!    new segment is created: otherwise, on the next open, the damaged
//!    segment would no longer be the newest and its tail would read as
//!    corruption.

use super::background::Background;
use super::engine::{Engine, SuperVersion};
use super::stats::Counters;
use crate::batch::decode_batch;
use crate::commit::CommitQueue;
use crate::fs::{
    parse_file_name, read_all, wal_segment_name, FileKind, FileSystem, OpenMode, CURRENT_FILE_NAME,
    LOCK_FILE_NAME,
};
use crate::key::SeqNo;
use crate::manifest::VersionEdit;
use crate::memtable::MemTable;
use crate::options::Options;
use crate::records::Records;
use crate::snapshot::SnapshotList;
use crate::version::{TableCache, VersionSet};
use crate::wal::format::{SEGMENT_HEADER_LEN, SEGMENT_MAGIC};
use crate::wal::{read_segment, Wal};
use crate::{Error, Result};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

/// Takes the exclusive lock of the database in `dir` (held until the guard
/// drops): [`Error::Locked`] when another handle or process holds it.
/// Opening and `inspect::verify_dir` share it.
pub(crate) fn lock_dir(fs: &dyn FileSystem, dir: &Path) -> Result<Box<dyn Debug + Send + Sync>> {
    let lock_path = dir.join(LOCK_FILE_NAME);
    fs.lock(&lock_path).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock => Error::Locked {
            path: dir.to_path_buf(),
        },
        io::ErrorKind::NotFound => Error::InvalidArgument(format!(
            "database directory {} does not exist (create_if_missing is off)",
            dir.display()
        )),
        _ => Error::io(format!("locking {}", lock_path.display()), e),
    })
}

/// Opens (or creates) the database in `dir`.
pub(super) fn open(dir: &Path, options: Options) -> Result<Engine> {
    options.validate().map_err(Error::InvalidArgument)?;
    let fs = Arc::clone(&options.fs);
    if options.create_if_missing {
        fs.create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating directory {}", dir.display()), e))?;
        // The directory's own entry must be durable too, or a power cut
        // could take the whole database with it.
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs.sync_dir(parent)
                .map_err(|e| Error::io(format!("syncing directory {}", parent.display()), e))?;
        }
    }
    let dir_lock = lock_dir(&*fs, dir)?;

    refuse_tables_without_current(&*fs, dir)?;
    let (versions, old_manifest) =
        VersionSet::recover(Arc::clone(&fs), dir, options.recovery_mode)?;
    let names = fs
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let oldest_live = versions.wal_oldest_live;
    let mut segments: Vec<u64> = names
        .iter()
        .filter_map(|name| match parse_file_name(name) {
            Some(FileKind::WalSegment(n)) if n >= oldest_live => Some(n),
            _ => None,
        })
        .collect();
    segments.sort_unstable();
    // The first live segment is the oldest live one the manifest names, or
    // segment 1 if nothing was ever flushed: a later first segment means
    // segments (and the edits that retired them) were lost.
    let expected_first = segments.first().map(|_| oldest_live.max(1));
    if segments.is_empty() && oldest_live > 0 {
        // The oldest live segment was created before the memtable that
        // uses it, so it exists unless it was lost (invariant 1).
        let missing = dir.join(wal_segment_name(oldest_live));
        return Err(Error::corruption(
            missing,
            0,
            "every live WAL segment is missing",
        ));
    }
    let mut expected = expected_first;
    for &n in &segments {
        if Some(n) != expected {
            let missing = dir.join(wal_segment_name(expected.unwrap_or(n)));
            return Err(Error::corruption(
                missing,
                0,
                "WAL segment missing from the sequence",
            ));
        }
        expected = Some(n + 1);
    }

    let mut next_segment = segments.last().map_or(oldest_live.max(1), |n| n + 1);
    let mut replay = Replay {
        active: MemTable::new(
            segments.first().copied().unwrap_or(next_segment),
            options.memtable_bytes,
        ),
        frozen: Vec::new(),
        flushed_seq: versions.flushed_seq,
        last_seq: versions.flushed_seq,
        memtable_bytes: options.memtable_bytes,
        saw_delete: false,
    };
    for (i, &number) in segments.iter().enumerate() {
        let kept = replay.segment(&options, dir, number, i + 1 == segments.len())?;
        if !kept {
            // A torn creation was removed: reuse its number so that the
            // segment numbers stay contiguous (invariant 1).
            next_segment = number;
        }
    }
    if replay.active.is_empty() {
        // Nothing replayed into it: its writes start in the new segment.
        replay.active = MemTable::new(next_segment, options.memtable_bytes);
    }

    let wal = Wal::create(Arc::clone(&fs), dir, next_segment, options.wal_buffer_bytes)?;
    let mut versions = versions;
    if replay.active.is_empty() && replay.frozen.is_empty() && !segments.is_empty() {
        // The live segments hold nothing that is not in tables (a reopen
        // without writes): make the new segment the oldest live one, so
        // empty segments do not pile up across reopens.
        versions.log_and_apply(VersionEdit {
            wal_oldest_live: Some(next_segment),
            ..VersionEdit::default()
        })?;
    }
    remove_orphans(&*fs, dir, &names, &versions, old_manifest)?;
    let mut frozen = replay.frozen;
    frozen.reverse();
    let version = versions.current();
    let opened = Records::open(
        &*fs,
        dir,
        Arc::clone(&options.clock),
        options.disposal,
        options.purge_window,
    )?;
    let records = Arc::new(opened.records);
    let memtables: Vec<&MemTable> = std::iter::once(&replay.active)
        .chain(frozen.iter().map(|m| &**m))
        .collect();
    records.recover_from_wal(&memtables, opened.audited_seq)?;
    if version.levels.iter().flatten().any(|t| t.meta.has_records) {
        records.engage();
    }
    // When deletes happened before this open is not known: count the purge
    // window from now for any still on disk (RECORDS.md rule 10).
    if replay.saw_delete
        || version
            .levels
            .iter()
            .flatten()
            .any(|t| t.meta.tombstones > 0)
    {
        records.note_erasure_due();
    }
    log::info!(
        "{}: opened; replayed {} WAL segment(s) up to sequence {}, {} table(s)",
        dir.display(),
        segments.len(),
        replay.last_seq,
        version.levels.iter().map(Vec::len).sum::<usize>()
    );
    let table_cache = Arc::new(TableCache::new(
        Arc::clone(&fs),
        options.table_options(),
        options.max_open_tables,
    ));
    Ok(Engine {
        dir: dir.to_path_buf(),
        wal,
        state: RwLock::new(Arc::new(SuperVersion {
            active: Arc::new(replay.active),
            frozen,
            version,
        })),
        versions: Mutex::new(versions),
        table_cache,
        visible_seq: AtomicU64::new(replay.last_seq),
        queue: CommitQueue::default(),
        snapshots: Arc::new(SnapshotList::default()),
        background: Background::default(),
        stats: Counters::default(),
        records,
        poisoned: AtomicBool::new(false),
        poison_cause: Mutex::new(None),
        closed: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        dir_lock: Mutex::new(Some(dir_lock)),
        checkpoints: Default::default(),
        options,
    })
}

/// Tables exist only after a manifest named by `CURRENT` listed them, so
/// tables without `CURRENT` mean a damaged directory: refuse to open rather
/// than start empty and delete them as orphans.
fn refuse_tables_without_current(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    let names = fs
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let has =
        |kind: fn(FileKind) -> bool| names.iter().filter_map(|n| parse_file_name(n)).any(kind);
    if !has(|k| k == FileKind::Current) && has(|k| matches!(k, FileKind::Table(_))) {
        return Err(Error::corruption(
            dir.join(CURRENT_FILE_NAME),
            0,
            "CURRENT is missing but table files exist",
        ));
    }
    Ok(())
}

/// Deletes what no version needs: tables the manifest does not list (a
/// flush or compaction cut short), older manifests, a stray
/// `CURRENT.tmp`, and WAL segments older than the oldest live one.
fn remove_orphans(
    fs: &dyn FileSystem,
    dir: &Path,
    names: &[String],
    versions: &VersionSet,
    old_manifest: Option<u64>,
) -> Result<()> {
    let live_tables = versions.live_table_numbers();
    let mut removed = false;
    for name in names {
        let orphan = match parse_file_name(name) {
            Some(FileKind::Table(n)) => !live_tables.contains(&n),
            Some(FileKind::Manifest(n)) => {
                n != versions.manifest_number() || old_manifest == Some(n)
            }
            Some(FileKind::CurrentTemp) => true,
            Some(FileKind::WalSegment(n)) => n < versions.wal_oldest_live,
            _ => false,
        };
        if orphan {
            let path = dir.join(name);
            match fs.remove(&path) {
                // Already gone (e.g. a manifest the version set replaced
                // after `names` was listed).
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("removing orphan {}", path.display()), e)),
                Ok(()) => removed = true,
            }
        }
    }
    if removed {
        fs.sync_dir(dir)
            .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
    }
    Ok(())
}

/// Memtables being rebuilt from the log.
struct Replay {
    active: MemTable,
    /// Oldest first while replaying.
    frozen: Vec<Arc<MemTable>>,
    /// Writes at or below this are in tables already.
    flushed_seq: SeqNo,
    last_seq: SeqNo,
    memtable_bytes: usize,
    /// A replayed batch deleted a key (its old bytes are due for erasure).
    saw_delete: bool,
}

impl Replay {
    /// Replays one segment; false when it was a torn creation and removed.
    fn segment(
        &mut self,
        options: &Options,
        dir: &Path,
        number: u64,
        newest: bool,
    ) -> Result<bool> {
        let fs = &options.fs;
        let path = dir.join(wal_segment_name(number));
        let io_err = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
        let file = fs
            .open(&path, OpenMode::Read)
            .map_err(|e| io_err("opening", e))?;
        let bytes = Bytes::from(read_all(&*file).map_err(|e| io_err("reading", e))?);
        let contents = read_segment(
            &path,
            SEGMENT_MAGIC,
            number,
            &bytes,
            newest,
            options.recovery_mode,
        )?;

        for record in &contents.records {
            let batch = decode_batch(&record.payload).map_err(|(at, why)| {
                Error::corruption(
                    &path,
                    record.offset,
                    format!("batch payload byte {at}: {why}"),
                )
            })?;
            if batch.last_seq() <= self.flushed_seq {
                // Flushed before the crash; its segment was not deleted yet.
                continue;
            }
            if batch.first_seq <= self.last_seq {
                return Err(Error::corruption(
                    &path,
                    record.offset,
                    format!(
                        "sequence number {} after {}: the log goes backwards",
                        batch.first_seq, self.last_seq
                    ),
                ));
            }
            for op in &batch.ops {
                self.saw_delete |= op.kind == crate::key::ValueKind::Tombstone;
                self.active.insert(op);
            }
            self.last_seq = batch.last_seq();
        }

        // Memtables change only at segment boundaries, so that every
        // segment belongs to one memtable and a flush frees whole segments.
        if self.active.approx_bytes() >= self.memtable_bytes {
            let fresh = MemTable::new(number + 1, self.memtable_bytes);
            let full = std::mem::replace(&mut self.active, fresh);
            self.frozen.push(Arc::new(full));
        }
        let mut kept = true;
        if let Some(torn) = &contents.torn {
            log::warn!(
                "{}: cutting a torn tail at offset {} ({torn})",
                path.display(),
                contents.valid_len
            );
            // Invariant 3.
            if contents.valid_len < SEGMENT_HEADER_LEN as u64 {
                fs.remove(&path).map_err(|e| io_err("removing torn", e))?;
                kept = false;
            } else {
                let file = fs
                    .open(&path, OpenMode::ReadWrite)
                    .map_err(|e| io_err("opening", e))?;
                file.truncate(contents.valid_len)
                    .map_err(|e| io_err("truncating", e))?;
                file.sync().map_err(|e| io_err("syncing", e))?;
            }
            fs.sync_dir(dir)
                .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
        }
        Ok(kept)
    }
}
