//! [`Engine`]: the state shared by every handle of one open database, and
//! the state changes that are not a flush or a compaction: poisoning,
//! memtable rotation, back-pressure.
//!
//! # Invariants
//! 1. Readers load `visible_seq` *before* the [`SuperVersion`]. Data only
//!    moves from the active memtable to a frozen one to a table, and each
//!    move installs a super-version holding it in its new place before it
//!    leaves the old one, so the super-version a reader takes holds every
//!    entry at or below the sequence number it loaded.
//! 2. The directory lock is held from the start of open until every
//!    background thread has stopped.
//! 3. Lock order: `background.state` → `versions` → `state`. No thread
//!    holds `state` while waiting for anything.

use super::background::Background;
use super::stats::Counters;
use crate::commit::CommitQueue;
use crate::fs::FileSystem;
use crate::key::SeqNo;
use crate::memtable::MemTable;
use crate::options::Options;
use crate::snapshot::SnapshotList;
use crate::version::{TableCache, Version, VersionSet};
use crate::wal::Wal;
use crate::{Error, Result};
use parking_lot::{Mutex, RwLock};
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a reader needs, swapped as one: the memtables and the tables.
#[derive(Debug)]
pub(crate) struct SuperVersion {
    pub active: Arc<MemTable>,
    /// Frozen memtables, newest first, waiting for (or in) their flush.
    pub frozen: Vec<Arc<MemTable>>,
    pub version: Arc<Version>,
}

impl SuperVersion {
    /// Every memtable, newest first.
    pub(crate) fn memtables(
        &self,
    ) -> std::iter::Chain<std::iter::Once<&Arc<MemTable>>, std::slice::Iter<'_, Arc<MemTable>>>
    {
        std::iter::once(&self.active).chain(self.frozen.iter())
    }
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Engine {
    pub dir: PathBuf,
    pub options: Options,
    pub wal: Wal,
    pub state: RwLock<Arc<SuperVersion>>,
    pub versions: Mutex<VersionSet>,
    pub table_cache: Arc<TableCache>,
    /// The highest sequence number readers may see.
    pub visible_seq: AtomicU64,
    pub queue: CommitQueue,
    pub snapshots: Arc<SnapshotList>,
    pub background: Background,
    pub stats: Counters,
    /// The records layer: clock, registry, audit trail.
    pub records: Arc<crate::records::Records>,
    pub poisoned: AtomicBool,
    pub poison_cause: Mutex<Option<String>>,
    pub closed: AtomicBool,
    /// Set when the database is closing: background work stops early.
    pub stopping: AtomicBool,
    pub dir_lock: Mutex<Option<Box<dyn Debug + Send + Sync>>>,
    /// Checkpoints copying files now (`Db::close` waits for them).
    pub checkpoints: std::sync::atomic::AtomicUsize,
}

impl Engine {
    pub(crate) fn fs(&self) -> &Arc<dyn FileSystem> {
        &self.options.fs
    }

    pub(crate) fn current_state(&self) -> Arc<SuperVersion> {
        Arc::clone(&self.state.read())
    }

    /// A state and the newest sequence number, consistent with each other,
    /// for a read that registers no snapshot (`Db::get`).
    ///
    /// Loading the sequence number first and the state second, as
    /// invariant 1 says, could take a state installed by a flush or
    /// compaction that started after the load and dropped a version the read needs, since
    /// nothing told it about this unregistered reader. So: take the state,
    /// then the sequence number, and accept the pair only if the state was
    /// still current after the load — then everything at or below that
    /// sequence number is in it, and it holds the old tables and memtables
    /// alive whatever is installed next.
    pub(crate) fn read_view(&self) -> (Arc<SuperVersion>, SeqNo) {
        loop {
            let state = self.current_state();
            let seq = self.visible_seq.load(Ordering::Acquire);
            if Arc::ptr_eq(&state, &self.state.read()) {
                return (state, seq);
            }
        }
    }

    /// True after a failed WAL, manifest or audit-trail write or fsync
    /// (the audit trail's failures poison the handle too: an entry's
    /// durability is as uncertain as a log record's).
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire) || self.records.audit_failed()
    }

    pub(crate) fn poisoned_error(&self) -> Error {
        let cause = self.poison_cause.lock().clone();
        Error::Poisoned {
            cause: cause
                .or_else(|| self.records.audit_failure())
                .unwrap_or_else(|| "unknown".into()),
        }
    }

    /// Refuses every later write: a WAL or manifest write or fsync failed,
    /// or background work hit an error (the sticky background error).
    pub(crate) fn poison(&self, cause: &Error) {
        {
            let mut slot = self.poison_cause.lock();
            if slot.is_none() {
                log::error!(
                    "{}: poisoned, writes are refused until reopen: {cause}",
                    self.dir.display()
                );
                *slot = Some(cause.to_string());
            }
        }
        self.poisoned.store(true, Ordering::Release);
        self.background.notify_progress();
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        if self.is_poisoned() {
            return Err(self.poisoned_error());
        }
        Ok(())
    }

    /// Makes everything appended to the WAL durable.
    pub(crate) fn sync_wal(&self) -> Result<()> {
        self.wal
            .sync_to(self.wal.end())
            .and_then(|()| self.records.sync_audit())
            .inspect_err(|e| self.poison(e))
    }

    /// Freezes the active memtable; a new one and a new WAL segment take
    /// the writes. Only the group-commit leader calls this.
    pub(crate) fn rotate_memtable(&self) -> Result<()> {
        let segment = self.wal.rotate()?;
        {
            let mut state = self.state.write();
            let mut frozen = Vec::with_capacity(state.frozen.len() + 1);
            frozen.push(Arc::clone(&state.active));
            frozen.extend(state.frozen.iter().cloned());
            *state = Arc::new(SuperVersion {
                active: Arc::new(MemTable::new(segment, self.options.memtable_bytes)),
                frozen,
                version: Arc::clone(&state.version),
            });
        }
        self.background.notify_work();
        Ok(())
    }

    /// Back-pressure, run by the leader before it writes a group: rotates a
    /// full memtable, stalls while too many memtables wait for their flush
    /// or level 0 holds too many tables, and slows writers down as level 0
    /// fills. Memory never grows without bound.
    pub(crate) fn make_room(&self) -> Result<()> {
        let options = &self.options;
        let mut slowed = false;
        let mut stalled: Option<Instant> = None;
        let result = loop {
            if self.is_poisoned() {
                break Err(self.poisoned_error());
            }
            if self.stopping.load(Ordering::Acquire) {
                break Err(Error::Closed);
            }
            let state = self.current_state();
            let l0 = state.version.levels[0].len();
            let full = state.active.approx_bytes() >= options.memtable_bytes;
            if full && state.frozen.len() >= options.max_frozen_memtables
                || l0 >= options.l0_stop_trigger
            {
                stalled.get_or_insert_with(Instant::now);
                self.background.wait_progress(Duration::from_millis(100));
                continue;
            }
            if l0 >= options.l0_slowdown_trigger && !slowed {
                // Give compaction a moment, once per write group.
                slowed = true;
                let started = Instant::now();
                std::thread::sleep(Duration::from_millis(1));
                self.stats.add_slowdown(started.elapsed());
                continue;
            }
            if full {
                break self.rotate_memtable().inspect_err(|e| self.poison(e));
            }
            break Ok(());
        };
        if let Some(started) = stalled {
            let waited = started.elapsed();
            log::warn!(
                "{}: writes stalled {} ms waiting for flush or compaction",
                self.dir.display(),
                waited.as_millis()
            );
            self.stats.add_stall(waited);
        }
        result
    }

    /// Waits until `done` holds for the current state (or the database is
    /// poisoned or closing).
    pub(crate) fn wait_for(&self, done: impl Fn(&SuperVersion) -> bool) -> Result<()> {
        loop {
            if done(&self.current_state()) {
                return Ok(());
            }
            self.wait_for_progress()?;
        }
    }

    /// Waits for background work to make progress (or 100 ms).
    pub(crate) fn wait_for_progress(&self) -> Result<()> {
        if self.is_poisoned() {
            return Err(self.poisoned_error());
        }
        if self.stopping.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        self.background.wait_progress(Duration::from_millis(100));
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The last handle is gone and the background threads have stopped:
        // no writer can be running. Make buffered writes durable; an error
        // here has no caller to go to, and a later open recovers whatever
        // reached the disk.
        if !self.closed.load(Ordering::Acquire) && !self.is_poisoned() {
            let _ = self.records.persist_clock();
            let _ = self.sync_wal();
        }
    }
}
