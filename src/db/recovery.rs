//! Opening a database: take the directory lock, replay the WAL into
//! memtables, cut a torn tail away, and start a fresh WAL segment.
//!
//! # Invariants
//! 1. WAL segment numbers are contiguous; a gap is corruption (a segment
//!    was lost), not something to skip over.
//! 2. Sequence numbers strictly increase through the log.
//! 3. A torn tail is removed from disk (and the removal synced) before the
//!    new segment is created: otherwise, on the next open, the damaged
//!    segment would no longer be the newest and its tail would read as
//!    corruption.

use super::{Engine, MemTables};
use crate::batch::decode_batch;
use crate::commit::CommitQueue;
use crate::fs::{parse_file_name, read_all, FileKind, OpenMode, LOCK_FILE_NAME};
use crate::key::SeqNo;
use crate::memtable::MemTable;
use crate::options::Options;
use crate::snapshot::SnapshotList;
use crate::wal::format::SEGMENT_HEADER_LEN;
use crate::wal::{read_segment, Wal};
use crate::{Error, Result};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

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
    let lock_path = dir.join(LOCK_FILE_NAME);
    let dir_lock = fs.lock(&lock_path).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock => Error::Locked {
            path: dir.to_path_buf(),
        },
        io::ErrorKind::NotFound => Error::InvalidArgument(format!(
            "database directory {} does not exist (create_if_missing is off)",
            dir.display()
        )),
        _ => Error::io(format!("locking {}", lock_path.display()), e),
    })?;

    let mut segments: Vec<u64> = fs
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?
        .iter()
        .filter_map(|name| match parse_file_name(name) {
            Some(FileKind::WalSegment(n)) => Some(n),
            _ => None,
        })
        .collect();
    segments.sort_unstable();
    for pair in segments.windows(2) {
        if pair[1] != pair[0] + 1 {
            let missing = dir.join(crate::fs::wal_segment_name(pair[0] + 1));
            return Err(Error::corruption(
                missing,
                0,
                "WAL segment missing from the sequence",
            ));
        }
    }

    let mut replay = Replay {
        active: MemTable::new(),
        frozen: Vec::new(),
        last_seq: 0,
        memtable_bytes: options.memtable_bytes,
    };
    let mut next_segment = segments.last().map_or(1, |n| n + 1);
    for (i, &number) in segments.iter().enumerate() {
        let kept = replay.segment(&options, dir, number, i + 1 == segments.len())?;
        if !kept {
            // A torn creation was removed: reuse its number so that the
            // segment numbers stay contiguous (invariant 1).
            next_segment = number;
        }
    }

    let wal = Wal::create(Arc::clone(&fs), dir, next_segment, options.wal_buffer_bytes)?;
    let mut frozen = replay.frozen;
    frozen.reverse();
    Ok(Engine {
        dir: dir.to_path_buf(),
        wal,
        memtables: RwLock::new(Arc::new(MemTables {
            active: Arc::new(replay.active),
            frozen,
        })),
        visible_seq: AtomicU64::new(replay.last_seq),
        queue: CommitQueue::default(),
        snapshots: Arc::new(SnapshotList::default()),
        poisoned: AtomicBool::new(false),
        poison_cause: Mutex::new(None),
        closed: AtomicBool::new(false),
        dir_lock: Mutex::new(Some(dir_lock)),
        options,
    })
}

/// Memtables being rebuilt from the log.
struct Replay {
    active: MemTable,
    /// Oldest first while replaying.
    frozen: Vec<Arc<MemTable>>,
    last_seq: SeqNo,
    memtable_bytes: usize,
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
        let path = dir.join(crate::fs::wal_segment_name(number));
        let io_err = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
        let file = fs
            .open(&path, OpenMode::Read)
            .map_err(|e| io_err("opening", e))?;
        let bytes = Bytes::from(read_all(&*file).map_err(|e| io_err("reading", e))?);
        let contents = read_segment(&path, number, &bytes, newest, options.recovery_mode)?;

        for record in &contents.records {
            let batch = decode_batch(&record.payload).map_err(|(at, why)| {
                Error::corruption(
                    &path,
                    record.offset,
                    format!("batch payload byte {at}: {why}"),
                )
            })?;
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
            if self.active.approx_bytes() >= self.memtable_bytes {
                let full = std::mem::replace(&mut self.active, MemTable::new());
                self.frozen.push(Arc::new(full));
            }
            for op in &batch.ops {
                self.active.insert(op);
            }
            self.last_seq = batch.last_seq();
        }

        let mut kept = true;
        if contents.torn.is_some() {
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
