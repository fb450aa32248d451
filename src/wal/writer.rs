//! Appending to the WAL and making it durable.
//!
//! One thread at a time appends (the group-commit leader), while any number
//! of threads may wait in [`Wal::sync_to`]; a sync covers everything appended
//! before it started, so one fsync serves every writer that was waiting.
//!
//! # Invariants
//! 1. Every segment older than the active one is fully synced: rotation
//!    fsyncs the old segment before the new one becomes active. So a sync
//!    target in an older segment is already durable, and after a power cut
//!    only the newest segment can have a torn tail.
//! 2. A new segment's header is synced, and the directory entry too, before
//!    any record is appended to it.
//! 3. `synced` only grows.
//!
//! 4. With a user-space buffer (`Options::wal_buffer_bytes > 0`), bytes
//!    reach the file in append order and whole: the buffer is written out
//!    before any sync, rotation or close, so a sync target always lies in
//!    bytes the operating system has.
//!
//! 5. After any failed fsync, every later `sync_to` fails: a retried fsync
//!    can report success for data the kernel already dropped. The same
//!    holds after a failed write-out of the user-space buffer (its bytes
//!    are counted in the log's length but never reached the file) and
//!    after a panic during an fsync.
//!
//! 6. At most one fsync of the log runs at a time (`SyncState::syncing`),
//!    and the state lock is *not* held during it: a writer whose bytes an
//!    earlier fsync already covered returns at once, and one whose bytes
//!    the running fsync may not cover waits for it to end, then starts the
//!    next. (Holding the lock through the fsync, as before 2026-11-25, made
//!    covered writers queue behind an uncovered one's fsync: about two
//!    writers per fsync with 8 threads of sync puts.)
//!
//! Lock order: `synced` before `active`. The fsync itself runs with
//! neither held, so the next group's append proceeds during it.

use super::format::{encode_segment_header, SEGMENT_HEADER_LEN, SEGMENT_MAGIC};
use crate::fs::{wal_segment_name, FileHandle, FileSystem, OpenMode};
use crate::{Error, Result};
use parking_lot::{Condvar, Mutex};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A point in the log: segment number and byte offset within it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WalPosition {
    pub segment: u64,
    pub offset: u64,
}

#[derive(Debug)]
struct ActiveSegment {
    number: u64,
    path: PathBuf,
    file: Arc<dyn FileHandle>,
    /// Logical length: bytes in the file plus bytes in `buffer`.
    len: u64,
    /// Appended bytes not yet handed to the operating system.
    buffer: Vec<u8>,
    /// Set when handing the buffer over failed: bytes counted in `len`
    /// never reached the file, so nothing of this segment may be reported
    /// durable any more (invariant 5).
    lost: Option<String>,
}

impl ActiveSegment {
    /// Hands buffered bytes to the operating system.
    fn write_out(&mut self) -> Result<()> {
        if let Some(cause) = &self.lost {
            return Err(Error::Poisoned {
                cause: cause.clone(),
            });
        }
        if self.buffer.is_empty() {
            return Ok(());
        }
        let written = self.file.append(&self.buffer);
        self.buffer.clear();
        written.map_err(|e| {
            let error = Error::io(format!("appending to {}", self.path.display()), e);
            self.lost = Some(error.to_string());
            error
        })
    }
}

/// How far the log is durable, and whether an fsync ever failed.
#[derive(Debug)]
struct SyncState {
    synced: WalPosition,
    /// Set by the first failed fsync and never cleared: after a failed
    /// fsync the kernel may have dropped dirty pages and report the next
    /// fsync as a success, so no later sync may be trusted (invariant 5).
    failed: Option<String>,
    /// An fsync of the log is running (invariant 6).
    syncing: bool,
}

/// The appendable end of the log.
#[derive(Debug)]
pub(crate) struct Wal {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    active: Mutex<ActiveSegment>,
    synced: Mutex<SyncState>,
    /// Signalled when a running fsync ends.
    sync_ended: Condvar,
    /// Bytes appends may collect in memory before a write to the file;
    /// 0 writes every append through at once.
    buffer_bytes: usize,
}

impl Wal {
    /// Creates segment `number` (which must not exist) and makes it the
    /// active segment.
    pub(crate) fn create(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        number: u64,
        buffer_bytes: usize,
    ) -> Result<Wal> {
        let active = create_segment(&*fs, dir, number)?;
        let synced = WalPosition {
            segment: number,
            offset: active.len,
        };
        Ok(Wal {
            fs,
            dir: dir.to_path_buf(),
            active: Mutex::new(active),
            synced: Mutex::new(SyncState {
                synced,
                failed: None,
                syncing: false,
            }),
            sync_ended: Condvar::new(),
            buffer_bytes,
        })
    }

    /// Appends already-framed bytes; returns the position just past them.
    /// Only the group-commit leader calls this.
    pub(crate) fn append(&self, framed: &[u8]) -> Result<WalPosition> {
        let mut active = self.active.lock();
        if self.buffer_bytes == 0 {
            active
                .file
                .append(framed)
                .map_err(|e| Error::io(format!("appending to {}", active.path.display()), e))?;
        } else {
            active.buffer.extend_from_slice(framed);
            if active.buffer.len() >= self.buffer_bytes {
                active.write_out()?;
            }
        }
        active.len += framed.len() as u64;
        Ok(WalPosition {
            segment: active.number,
            offset: active.len,
        })
    }

    /// Returns once everything up to `target` is durable.
    pub(crate) fn sync_to(&self, target: WalPosition) -> Result<()> {
        let mut state = self.synced.lock();
        loop {
            if let Some(cause) = &state.failed {
                return Err(Error::Poisoned {
                    cause: cause.clone(),
                });
            }
            if state.synced >= target {
                return Ok(());
            }
            if !state.syncing {
                break;
            }
            self.sync_ended.wait(&mut state);
        }
        state.syncing = true;
        drop(state);
        let mut running = RunningSync {
            wal: self,
            outcome: Err("an fsync of the log panicked".into()),
        };
        let result = self.sync_active(target);
        running.outcome = match &result {
            Ok(end) => Ok(*end),
            Err(e) => Err(e.to_string()),
        };
        drop(running); // publishes the outcome and wakes the waiters
        result.map(|_| ())
    }

    /// Writes out and fsyncs the active segment for `sync_to`; returns the
    /// position it made durable, or `None` when `target` lies in an older
    /// segment (already durable: invariant 1).
    fn sync_active(&self, target: WalPosition) -> Result<Option<WalPosition>> {
        let (file, path, end) = {
            let mut active = self.active.lock();
            if target.segment < active.number {
                return Ok(None);
            }
            active.write_out()?;
            let end = WalPosition {
                segment: active.number,
                offset: active.len,
            };
            (Arc::clone(&active.file), active.path.clone(), end)
        };
        debug_assert!(end >= target, "cannot sync past what was appended");
        file.sync()
            .map_err(|e| Error::io(format!("syncing {}", path.display()), e))?;
        Ok(Some(end))
    }

    /// Everything appended so far.
    pub(crate) fn end(&self) -> WalPosition {
        let active = self.active.lock();
        WalPosition {
            segment: active.number,
            offset: active.len,
        }
    }

    /// Syncs the active segment, then starts the next one. Only the
    /// group-commit leader calls this. Waits for a running fsync to end,
    /// then takes `synced` then `active` (the lock order) for the whole
    /// rotation, so no `sync_to` starts during it.
    pub(crate) fn rotate(&self) -> Result<u64> {
        let mut state = self.synced.lock();
        while state.syncing {
            self.sync_ended.wait(&mut state);
        }
        if let Some(cause) = &state.failed {
            return Err(Error::Poisoned {
                cause: cause.clone(),
            });
        }
        let mut active = self.active.lock();
        active.write_out()?;
        if let Err(e) = active.file.sync() {
            let error = Error::io(format!("syncing {}", active.path.display()), e);
            state.failed = Some(error.to_string());
            return Err(error);
        }
        let next = create_segment(&*self.fs, &self.dir, active.number + 1)?;
        let number = next.number;
        *active = next;
        Ok(number)
    }
}

/// The fsync `sync_to` runs (invariant 6). Dropping it — also when the
/// fsync panics — clears `syncing`, records the outcome (a failure, or a
/// panic, condemns every later sync: invariant 5) and wakes the waiters.
struct RunningSync<'a> {
    wal: &'a Wal,
    /// The position made durable (`None`: already durable), or why not.
    outcome: std::result::Result<Option<WalPosition>, String>,
}

impl Drop for RunningSync<'_> {
    fn drop(&mut self) {
        let mut state = self.wal.synced.lock();
        state.syncing = false;
        match &self.outcome {
            Ok(Some(end)) => state.synced = state.synced.max(*end),
            Ok(None) => {}
            Err(cause) => {
                state.failed.get_or_insert_with(|| cause.clone());
            }
        }
        drop(state);
        self.wal.sync_ended.notify_all();
    }
}

/// Creates a segment file with its header, synced, with its directory entry
/// synced (invariant 2).
fn create_segment(fs: &dyn FileSystem, dir: &Path, number: u64) -> Result<ActiveSegment> {
    let path = dir.join(wal_segment_name(number));
    let file = fs
        .open(&path, OpenMode::CreateNew)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    file.append(&encode_segment_header(SEGMENT_MAGIC, number))
        .map_err(|e| Error::io(format!("writing header of {}", path.display()), e))?;
    file.sync()
        .map_err(|e| Error::io(format!("syncing {}", path.display()), e))?;
    // Without this the new file's directory entry may vanish on power loss,
    // taking acknowledged records with it.
    fs.sync_dir(dir)
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
    Ok(ActiveSegment {
        number,
        path,
        file,
        len: SEGMENT_HEADER_LEN as u64,
        buffer: Vec::new(),
        lost: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::format::encode_record;
    use super::super::read_segment;
    use super::*;
    use crate::fs::OsFileSystem;
    use crate::options::RecoveryMode;

    #[test]
    fn buffered_appends_reach_the_file_at_sync() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::create(Arc::new(OsFileSystem), tmp.path(), 1, 1 << 20).unwrap();
        let mut framed = Vec::new();
        encode_record(b"buffered", &mut framed);
        let pos = wal.append(&framed).unwrap();
        let path = tmp.path().join(wal_segment_name(1));
        let on_disk = || std::fs::metadata(&path).unwrap().len();
        assert_eq!(on_disk(), SEGMENT_HEADER_LEN as u64);
        wal.sync_to(pos).unwrap();
        assert_eq!(on_disk(), pos.offset);
    }

    #[test]
    fn append_sync_rotate_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
        let wal = Wal::create(Arc::clone(&fs), tmp.path(), 5, 0).unwrap();
        let mut framed = Vec::new();
        encode_record(b"first", &mut framed);
        let pos = wal.append(&framed).unwrap();
        assert_eq!(pos.segment, 5);
        wal.sync_to(pos).unwrap();
        assert_eq!(wal.rotate().unwrap(), 6);
        // A target in the rotated-away segment is already durable.
        wal.sync_to(pos).unwrap();
        let pos2 = wal.append(&framed).unwrap();
        assert!(pos2 > pos);
        wal.sync_to(pos2).unwrap();
        assert_eq!(wal.end(), pos2);

        for (number, newest) in [(5, false), (6, true)] {
            let path = tmp.path().join(wal_segment_name(number));
            let bytes = bytes::Bytes::from(std::fs::read(&path).unwrap());
            let got = read_segment(
                &path,
                SEGMENT_MAGIC,
                number,
                &bytes,
                newest,
                RecoveryMode::Strict,
            )
            .unwrap();
            assert_eq!(got.records.len(), 1);
            assert_eq!(&got.records[0].payload[..], b"first");
        }
    }
}
