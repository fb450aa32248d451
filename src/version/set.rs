//! The version set: the current [`Version`], the manifest that records it,
//! and the counters that go with it (next file number, the highest sequence
//! number in tables, the oldest WAL segment still needed).
//!
//! The engine keeps it behind one mutex; flush and compaction take it to
//! append an edit and install the next version, so edits are applied in
//! the order they are logged.

use super::{TableFile, Version};
use crate::fs::{manifest_name, FileSystem};
use crate::key::SeqNo;
use crate::manifest::{self, ManifestWriter, VersionEdit, LEVELS};
use crate::options::RecoveryMode;
use crate::{Error, Result};
use bytes::Bytes;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A manifest is rewritten as a fresh snapshot once it grows past this.
const MANIFEST_BYTES_MAX: u64 = 4 << 20;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct VersionSet {
    dir: PathBuf,
    fs: Arc<dyn FileSystem>,
    current: Arc<Version>,
    manifest: ManifestWriter,
    next_file_number: u64,
    /// Every write with a sequence number at or below this is in a table.
    pub flushed_seq: SeqNo,
    /// WAL segments below this number are no longer needed.
    pub wal_oldest_live: u64,
    /// Per level, where the last size-triggered compaction ended.
    pub compact_pointers: [Option<Bytes>; LEVELS],
    /// Tables that a running compaction reads.
    pub busy: HashSet<u64>,
    /// Manual compactions rewriting a level in place right now: while any
    /// runs, background compactions pick nothing, since their output could
    /// land in a gap of the rewritten run and overlap its output.
    pub exclusive: usize,
}

impl VersionSet {
    /// Replays the manifest named by `CURRENT` (or starts empty), then
    /// writes the state as a fresh manifest and points `CURRENT` at it.
    /// Returns the set and the number of the manifest it replaced.
    pub(crate) fn recover(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        mode: RecoveryMode,
    ) -> Result<(VersionSet, Option<u64>)> {
        let mut version = Version::default();
        let mut next_file_number = 1;
        let mut flushed_seq = 0;
        let mut wal_oldest_live = 0;
        let recovered = manifest::recover(&*fs, dir, mode)?;
        let old_number = recovered.as_ref().map(|r| r.number);
        if let Some(recovered) = recovered {
            let path = dir.join(manifest_name(recovered.number));
            for edit in &recovered.edits {
                version = version
                    .apply(edit, dir, &fs)
                    .map_err(|why| Error::corruption(&path, 0, why))?
                    .0;
                next_file_number = edit.next_file_number.unwrap_or(next_file_number);
                flushed_seq = edit.last_seq.unwrap_or(flushed_seq);
                wal_oldest_live = edit.wal_oldest_live.unwrap_or(wal_oldest_live);
            }
            let highest_table = version.levels.iter().flatten().map(|t| t.meta.number).max();
            let highest = highest_table.unwrap_or(0).max(recovered.number);
            if next_file_number <= highest {
                return Err(Error::corruption(
                    &path,
                    0,
                    format!("next file number {next_file_number} is not above file {highest}"),
                ));
            }
        }
        let number = next_file_number;
        next_file_number += 1;
        let mut snapshot = version.snapshot_edit();
        snapshot.next_file_number = Some(next_file_number);
        snapshot.last_seq = Some(flushed_seq);
        snapshot.wal_oldest_live = Some(wal_oldest_live);
        let manifest = ManifestWriter::create(&*fs, dir, number, &snapshot)?;
        let set = VersionSet {
            dir: dir.to_path_buf(),
            fs,
            current: Arc::new(version),
            manifest,
            next_file_number,
            flushed_seq,
            wal_oldest_live,
            compact_pointers: Default::default(),
            busy: HashSet::new(),
            exclusive: 0,
        };
        Ok((set, old_number))
    }

    /// A fresh file number for a table.
    pub(crate) fn new_file_number(&mut self) -> u64 {
        let number = self.next_file_number;
        self.next_file_number += 1;
        number
    }

    /// The number the next new file will get (without taking it).
    pub(crate) fn next_file_number(&self) -> u64 {
        self.next_file_number
    }

    pub(crate) fn current(&self) -> Arc<Version> {
        Arc::clone(&self.current)
    }

    /// The live manifest's file number.
    pub(crate) fn manifest_number(&self) -> u64 {
        self.manifest.number()
    }

    /// Logs `edit` durably, then makes the version it produces current.
    /// Tables the edit removes are marked obsolete: their files go when the
    /// last reader lets go of them.
    pub(crate) fn log_and_apply(&mut self, mut edit: VersionEdit) -> Result<Arc<Version>> {
        edit.next_file_number = Some(self.next_file_number);
        let (version, removed) = self
            .current
            .apply(&edit, &self.dir, &self.fs)
            .map_err(|why| {
                Error::InvalidArgument(format!("internal: version edit does not apply: {why}"))
            })?;
        self.manifest.append(&edit)?;
        if let Some(seq) = edit.last_seq {
            self.flushed_seq = self.flushed_seq.max(seq);
        }
        if let Some(segment) = edit.wal_oldest_live {
            self.wal_oldest_live = self.wal_oldest_live.max(segment);
        }
        for table in &removed {
            table.mark_obsolete();
        }
        self.current = Arc::new(version);
        // Rewrite once the edits outweigh the snapshot: a tree whose
        // snapshot alone passes the limit must not be rewritten per edit.
        let limit = MANIFEST_BYTES_MAX.max(2 * self.manifest.snapshot_bytes());
        if self.manifest.bytes() > limit {
            self.rewrite_manifest()?;
        }
        Ok(self.current())
    }

    /// Starts a new manifest now (a purge: the old one's history names keys
    /// of deleted records).
    pub(crate) fn rewrite_manifest_now(&mut self) -> Result<()> {
        self.rewrite_manifest()
    }

    /// Starts a new manifest holding a snapshot of the current state and
    /// deletes the old one.
    fn rewrite_manifest(&mut self) -> Result<()> {
        let old = self.manifest.number();
        let number = self.new_file_number();
        let mut snapshot = self.current.snapshot_edit();
        snapshot.next_file_number = Some(self.next_file_number);
        snapshot.last_seq = Some(self.flushed_seq);
        snapshot.wal_oldest_live = Some(self.wal_oldest_live);
        self.manifest = ManifestWriter::create(&*self.fs, &self.dir, number, &snapshot)?;
        // CURRENT names the new one (synced); the old file is garbage now,
        // and an orphan if this removal is lost.
        let _ = self.fs.remove(&self.dir.join(manifest_name(old)));
        Ok(())
    }

    /// Every table file number some version still lists.
    pub(crate) fn live_table_numbers(&self) -> HashSet<u64> {
        self.current
            .levels
            .iter()
            .flatten()
            .map(|t| t.meta.number)
            .collect()
    }

    /// Marks `tables` as read by a running compaction (or frees them).
    pub(crate) fn set_busy(&mut self, tables: &[Arc<TableFile>], busy: bool) {
        for table in tables {
            if busy {
                self.busy.insert(table.meta.number);
            } else {
                self.busy.remove(&table.meta.number);
            }
        }
    }
}
