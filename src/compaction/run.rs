//! Executing flushes and compactions: the I/O side of the decisions made by
//! the picker, [`VersionGc`] and the records layer's disposal verdict.
//!
//! Both end the same way: new tables are complete and synced, one version
//! edit that adds them (and removes the inputs) is logged to the manifest,
//! and the new version is installed for readers. A failure before the edit
//! leaves the tree unchanged and removes the partial outputs.

use super::output::TableOutput;
use super::picker::{with_next_level, Pick};
use super::{MergedEntries, Verdict, VersionGc};
use crate::audit::DisposalReceipt;
use crate::db::{Engine, SuperVersion};
use crate::iter::{Entry, Source};
use crate::key::{SeqNo, SEQ_MAX};
use crate::manifest::VersionEdit;
use crate::memtable::MemTableCursor;
use crate::version::key_range;
use crate::{Error, Result};
use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How often (in entries) a long compaction checks whether the database is
/// shutting down.
const ABORT_CHECK_ENTRIES: u64 = 4096;

impl Engine {
    /// The oldest sequence number any reader may read at.
    pub(crate) fn smallest_snapshot(&self) -> SeqNo {
        let visible = self.visible_seq.load(Ordering::Acquire);
        self.snapshots.oldest().map_or(visible, |s| s.min(visible))
    }

    /// Writes the oldest frozen memtable to a level-0 table, logs it, and
    /// drops the WAL segments that only it needed. False if there was none.
    pub(crate) fn flush_oldest_memtable(&self) -> Result<bool> {
        let state = self.current_state();
        let Some(memtable) = state.frozen.last().cloned() else {
            return Ok(false);
        };
        // The next-newer memtable starts in this segment; every older
        // segment holds only data of `memtable` or of memtables flushed
        // before it.
        let next_segment = match state.frozen.len() {
            1 => state.active.wal_segment(),
            n => state.frozen[n - 2].wal_segment(),
        };
        let mut gc = VersionGc::new(self.smallest_snapshot());
        let mut output = TableOutput::new(self, u64::MAX);
        let mut cursor = MemTableCursor::new(
            Arc::clone(&memtable),
            SEQ_MAX,
            Bound::Unbounded,
            Bound::Unbounded,
        );
        let mut max_seq = 0;
        while let Some(entry) = cursor.next_front()? {
            max_seq = max_seq.max(entry.seq);
            // Nothing is below a memtable's table in level 0 that a
            // tombstone could be dropped for safely: never "bottommost".
            if gc.keep(&entry, |_| false) {
                output.add(&entry)?;
            }
        }
        let tables = output.finish()?;
        let written: u64 = tables.iter().map(|t| t.file_bytes).sum();
        let count = tables.len();
        // The WAL segments this flush frees may be all that can regenerate
        // retention-set audit entries written without fsync.
        self.records.sync_audit()?;
        let edit = VersionEdit {
            added: tables.into_iter().map(|meta| (0, meta)).collect(),
            last_seq: (max_seq > 0).then_some(max_seq),
            wal_oldest_live: Some(next_segment),
            ..VersionEdit::default()
        };
        self.install(edit, |state| SuperVersion {
            active: Arc::clone(&state.active),
            frozen: state
                .frozen
                .iter()
                .filter(|m| !Arc::ptr_eq(m, &memtable))
                .cloned()
                .collect(),
            version: Arc::default(),
        })?;
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        self.stats.flush_bytes.fetch_add(written, Ordering::Relaxed);
        log::info!(
            "{}: flushed a memtable (WAL segments below {next_segment}) to {count} table(s), {written} bytes",
            self.dir.display()
        );
        self.remove_wal_segments_below(next_segment);
        Ok(true)
    }

    /// Runs one picked compaction. The caller marked its tables busy.
    pub(crate) fn run_compaction(&self, pick: &Pick) -> Result<()> {
        // Holds and events wait while a compaction may dispose of records
        // (records invariant 3).
        let _gate = self.records.disposal_gate.read();
        let level = pick.level;
        let out_level = pick.output_level();
        let mut edit = VersionEdit::default();
        for table in &pick.inputs {
            edit.removed.push((level as u8, table.meta.number));
        }
        for table in &pick.next_inputs {
            edit.removed.push((out_level as u8, table.meta.number));
        }
        // (tables read, bytes read, tables written, bytes written)
        let mut merged = None;
        if pick.is_move() {
            edit.added
                .push((out_level as u8, pick.inputs[0].meta.clone()));
        } else {
            let (outputs, receipts) = self.merge_tables(pick)?;
            let inputs = pick.all_inputs();
            merged = Some((
                inputs.len(),
                inputs.iter().map(|t| t.meta.file_bytes).sum::<u64>(),
                outputs.len(),
                outputs.iter().map(|t| t.file_bytes).sum::<u64>(),
            ));
            edit.added = outputs.into_iter().map(|m| (out_level as u8, m)).collect();
            // Receipts are durable before the bytes are gone (rule 5).
            self.records.write_receipts(receipts)?;
        }
        if let Some((_, largest)) = key_range(&pick.inputs) {
            self.versions.lock().compact_pointers[level] = Some(largest);
        }
        self.install(edit, |state| SuperVersion {
            active: Arc::clone(&state.active),
            frozen: state.frozen.clone(),
            version: Arc::default(),
        })?;
        for table in pick.all_inputs() {
            self.table_cache.evict(table.meta.number);
        }
        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
        if let Some((tables_in, read, tables_out, written)) = merged {
            self.stats
                .compaction_read_bytes
                .fetch_add(read, Ordering::Relaxed);
            self.stats
                .compaction_write_bytes
                .fetch_add(written, Ordering::Relaxed);
            log::info!(
                "{}: compacted {tables_in} table(s) of level {level} into {tables_out} table(s) of level {out_level}: read {read}, wrote {written} bytes",
                self.dir.display()
            );
        }
        Ok(())
    }

    /// Merges the pick's tables into new tables for the output level.
    fn merge_tables(
        &self,
        pick: &Pick,
    ) -> Result<(Vec<crate::manifest::TableMeta>, Vec<DisposalReceipt>)> {
        let out_level = pick.output_level();
        let version = self.current_state().version.clone();
        let mut sources: Vec<Box<dyn Source>> = Vec::new();
        for table in pick.all_inputs() {
            let open = self.table_cache.get(&table)?;
            sources.push(Box::new(open.cursor(
                SEQ_MAX,
                Bound::Unbounded,
                Bound::Unbounded,
            )));
        }
        let mut merged = MergedEntries::new(sources);
        let mut gc = VersionGc::new(self.smallest_snapshot());
        let mut output = TableOutput::new(self, self.options.target_table_bytes);
        let mut seen = 0u64;
        let mut receipts = Vec::new();
        while let Some(entry) = merged.next_entry()? {
            seen += 1;
            if seen.is_multiple_of(ABORT_CHECK_ENTRIES) && self.stopping.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            if !gc.keep(&entry, |key| version.is_bottommost_for(out_level, key)) {
                continue;
            }
            let entry = match self.disposal_verdict(&entry, &mut receipts)? {
                Verdict::Keep => entry,
                Verdict::Rewrite { kind, value } => Entry {
                    kind,
                    value,
                    ..entry
                },
            };
            output.add(&entry)?;
        }
        Ok((output.finish()?, receipts))
    }

    /// Logs `edit` and installs the version it makes, with the memtables
    /// `memtables` chooses from the state current at that moment.
    ///
    /// If the edit reached the manifest but a later step failed (the
    /// manifest rewrite), the new version is installed all the same — it
    /// is durable — and the engine is poisoned. Poisoning happens after the
    /// `versions` lock is released (engine invariant 3).
    fn install(
        &self,
        edit: VersionEdit,
        memtables: impl FnOnce(&SuperVersion) -> SuperVersion,
    ) -> Result<()> {
        let result = {
            let mut versions = self.versions.lock();
            let before = versions.current();
            let result = versions.log_and_apply(edit);
            let version = versions.current();
            if !Arc::ptr_eq(&before, &version) {
                let mut state = self.state.write();
                let mut next = memtables(&state);
                next.version = version;
                *state = Arc::new(next);
            }
            result
        };
        result.map(|_| ()).inspect_err(|e| self.poison(e))
    }

    /// Deletes WAL segments whose data is all in tables now. A failure only
    /// leaves files that the next open deletes.
    fn remove_wal_segments_below(&self, segment: u64) {
        let Ok(names) = self.fs().list(&self.dir) else {
            return;
        };
        for name in names {
            if let Some(crate::fs::FileKind::WalSegment(n)) = crate::fs::parse_file_name(&name) {
                if n < segment {
                    let _ = self.fs().remove(&self.dir.join(name));
                }
            }
        }
    }

    /// Flushes every memtable (after freezing the active one if it holds
    /// anything) and waits until all are tables.
    pub(crate) fn flush_memtables(&self) -> Result<()> {
        self.freeze_active_memtable()?;
        self.wait_for(|state| state.frozen.is_empty())
    }

    /// Compacts every table whose keys meet `[lower, upper]`: level by
    /// level, each level's tables are merged into the next, down to the
    /// deepest level that held data when the call began, which is then
    /// rewritten in place (when everything is in level 0, it is merged into
    /// level 1 instead). Every table is rewritten — no moves — so every
    /// version and tombstone no snapshot needs is dropped, and data is
    /// rewritten at most twice per call.
    pub(crate) fn compact_range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Result<()> {
        self.flush_memtables()?;
        self.compact_levels(lower, upper)
    }

    /// [`Self::compact_range`] without the flush first.
    pub(crate) fn compact_levels(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Result<()> {
        let deepest = self.versions.lock().current().deepest_nonempty_level();
        // All data in level 0: merging it into the empty level 1 is a full
        // rewrite at the bottom already.
        let (last, rewrite_last) = if deepest == 0 {
            (1, false)
        } else {
            (deepest, true)
        };
        let mut level = 0;
        while level <= last {
            let in_place = level == last;
            if in_place && !rewrite_last {
                break;
            }
            // Choose under the versions lock, from the version current
            // there: a background compaction may have replaced tables since
            // any earlier look.
            let pick = {
                let mut versions = self.versions.lock();
                let version = versions.current();
                let mut inputs = version.overlapping(level, lower, upper);
                if level == 0 && !inputs.is_empty() {
                    // Level-0 tables overlap each other: taking only some
                    // could move a newer version below an older one
                    // (version invariant 1), so take them all.
                    inputs = version.levels[0].clone();
                }
                if inputs.is_empty() {
                    level += 1;
                    continue;
                }
                let mut pick = if in_place {
                    // Nothing else may compact meanwhile (see
                    // `VersionSet::exclusive`): start only when nothing
                    // runs, and keep background picks off until done.
                    let idle = versions.busy.is_empty();
                    if idle {
                        versions.exclusive += 1;
                    }
                    idle.then_some(Pick {
                        level,
                        inputs,
                        next_inputs: Vec::new(),
                        force_rewrite: true,
                        in_place: true,
                    })
                } else if versions.exclusive > 0 {
                    None // another manual compaction rewrites in place
                } else {
                    with_next_level(&version, &versions.busy, level, inputs)
                };
                if let Some(pick) = &mut pick {
                    pick.force_rewrite = true;
                    versions.set_busy(&pick.all_inputs(), true);
                }
                pick
            };
            let Some(pick) = pick else {
                // A background compaction holds some of these tables: wait
                // for it to finish, then look again.
                self.wait_for_progress()?;
                continue;
            };
            let result = self.run_compaction(&pick);
            {
                let mut versions = self.versions.lock();
                versions.set_busy(&pick.all_inputs(), false);
                if pick.in_place {
                    versions.exclusive -= 1;
                }
            }
            self.background.notify_progress();
            result?;
            level += 1;
        }
        Ok(())
    }
}
