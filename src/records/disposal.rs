//! Disposal and erasure (RECORDS.md rules 5 and 10): the verdict
//! compaction asks for each entry, the receipts it leaves in the audit
//! trail, the application-approved disposal of `Disposal::Review`, the
//! listing of eligible records, and `purge`.
//!
//! # Invariants
//! 1. Only the newest full version of a key is ever disposed of, and only
//!    if it is eligible (expired, unheld) with every newer metadata update
//!    applied: the verdict looks the key up in the current state when the
//!    record's own metadata says it expired (an update can only make a
//!    record expire later, so the others need no lookup).
//! 2. Holds and events cannot change while a compaction that may dispose
//!    runs (`disposal_gate`), so an eligible verdict stays true until the
//!    new tables are installed.
//! 3. An eligible record becomes a tombstone, never a plain drop, so no
//!    older version of its key can show through; the tombstone goes at the
//!    bottom level like any other.
//! 4. The receipts of a compaction are fsynced before its tables are
//!    installed: a crash leaves a disposal not done, or done with its
//!    receipt (possibly two receipts, if the compaction is run again).

use super::check::content_hash;
use super::meta::StoredMeta;
use super::state::ENGINE_ACTOR;
use super::{meta_corruption, Disposal, Record, Records};
use crate::audit::{AuditEvent, DisposalReceipt, RecordId};
use crate::compaction::Verdict;
use crate::db::Engine;
use crate::iter::{Entry, Iter};
use crate::key::ValueKind;

/// Live records by their state now, from [`Db::record_stats`](crate::Db::record_stats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordStats {
    /// Keys whose newest version carries records metadata (written with
    /// [`put_with`](crate::Db::put_with)), eligible ones included.
    pub records: u64,
    /// Records protected now: a retain-until date in the future, or a
    /// policy clause still waiting for its event.
    pub retained: u64,
    /// Of the retained records, those in Compliance mode.
    pub compliance: u64,
    /// Records a legal hold covers.
    pub held: u64,
    /// Records past their expiry and not held: eligible for disposal
    /// (hidden from reads; disposed of by compaction, or awaiting approval
    /// under [`Disposal::Review`]).
    pub eligible: u64,
}
use crate::{Error, Result};
use bytes::Bytes;
use std::ops::Bound;
use std::sync::atomic::Ordering;

/// What [`Db::purge`](crate::Db::purge) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Records disposed of by the purge's compactions (each with a receipt).
    pub disposed: u64,
    /// Files removed from the directory (tables, WAL segments, manifests).
    pub files_removed: u64,
    /// Files written (new tables, the new manifest).
    pub files_written: u64,
    /// Bytes on disk before and after.
    pub bytes_before: u64,
    /// Bytes on disk after.
    pub bytes_after: u64,
    /// Snapshots or iterators alive during the purge: the versions they
    /// can read were kept, so their bytes may remain until they end.
    pub live_snapshots: usize,
}

impl Engine {
    /// Compaction's verdict on one entry: an eligible record (the newest
    /// full version of its key) becomes a tombstone and a receipt.
    pub(crate) fn disposal_verdict(
        &self,
        entry: &Entry,
        receipts: &mut Vec<DisposalReceipt>,
    ) -> Result<Verdict> {
        let records = &self.records;
        if entry.kind != ValueKind::Record || records.disposal != Disposal::Automatic {
            return Ok(Verdict::Keep);
        }
        let (own, value) = StoredMeta::split_record(&entry.value)
            .map_err(|why| meta_corruption(&entry.key, why))?;
        let now = records.now_for_read();
        if !records
            .registry
            .read()
            .effective(&entry.key, &own)
            .expired(now)
        {
            return Ok(Verdict::Keep); // invariant 1: no update makes it expire earlier
        }
        let (state, seq) = self.read_view();
        let Some(latest) = self.version_in(&state, &entry.key, seq, false)? else {
            return Ok(Verdict::Keep); // deleted since: the tombstone does the work
        };
        if latest.seq != entry.seq {
            return Ok(Verdict::Keep); // an older version a snapshot needs
        }
        let (meta, _) = Records::split(
            &entry.key,
            latest.kind,
            &latest.value,
            latest.update.as_ref(),
        )?;
        let meta = meta.unwrap_or(own);
        let registry = records.registry.read();
        let effective = registry.effective(&entry.key, &meta);
        if !effective.expired(now) || registry.holds.is_held(&entry.key) {
            return Ok(Verdict::Keep);
        }
        receipts.push(receipt(&entry.key, &meta, &effective, &value, None));
        Ok(Verdict::Rewrite {
            kind: ValueKind::Tombstone,
            value: Bytes::new(),
        })
    }

    /// The records eligible for disposal now (expired, unheld), as of a
    /// snapshot taken at the call, in key order.
    pub(crate) fn eligible(&self, guard: crate::snapshot::SnapshotGuard) -> Result<Vec<Record>> {
        let records = &self.records;
        let now = records.now_for_read();
        let mut out = Vec::new();
        self.visit_records(guard, |key, meta, value, effective, held| {
            if effective.expired(now) && !held {
                let shown = (meta, effective);
                out.push(Record {
                    meta: records.record_meta(&key, Some(&shown)),
                    key,
                    value,
                });
            }
        })?;
        Ok(out)
    }

    /// Counts the live records by their state now (see [`RecordStats`]).
    pub(crate) fn record_stats(
        &self,
        guard: crate::snapshot::SnapshotGuard,
    ) -> Result<RecordStats> {
        let now = self.records.now_for_read();
        let mut stats = RecordStats::default();
        self.visit_records(guard, |_, _, _, effective, held| {
            stats.records += 1;
            if effective.protected(now) || effective.event_pending.is_some() {
                stats.retained += 1;
                if effective.mode == Some(super::Mode::Compliance) {
                    stats.compliance += 1;
                }
            }
            if held {
                stats.held += 1;
            } else if effective.expired(now) {
                stats.eligible += 1;
            }
        })?;
        Ok(stats)
    }

    /// Calls `visit` for every live key (at `guard`) that carries records
    /// metadata, eligible ones included: its key, stored metadata, value,
    /// effective dates and whether a hold covers it.
    fn visit_records(
        &self,
        guard: crate::snapshot::SnapshotGuard,
        mut visit: impl FnMut(Bytes, StoredMeta, Bytes, super::registry::Effective, bool),
    ) -> Result<()> {
        let mut iter: Iter = self.iter(Bound::Unbounded, Bound::Unbounded, guard);
        while let Some(item) = iter.next_visible() {
            let item = item?;
            if item.kind == ValueKind::Value && item.update.is_none() {
                continue;
            }
            let (meta, value) =
                Records::split(&item.key, item.kind, &item.value, item.update.as_ref())?;
            let Some(meta) = meta else { continue };
            let (effective, held) = {
                let registry = self.records.registry.read();
                (
                    registry.effective(&item.key, &meta),
                    registry.holds.is_held(&item.key),
                )
            };
            visit(item.key, meta, value, effective, held);
        }
        Ok(())
    }

    /// Disposes of `keys` with `approver`'s approval: each must be eligible
    /// now. Receipts are fsynced first, then the records are deleted; the
    /// bytes go at the next purge.
    pub(crate) fn dispose(&self, keys: &[Bytes], approver: &str) -> Result<u64> {
        if approver.is_empty() {
            return Err(Error::InvalidArgument("the approver is empty".into()));
        }
        let records = &self.records;
        let _gate = records.disposal_gate.read();
        let now = records.now()?;
        let (state, seq) = self.read_view();
        let mut receipts = Vec::with_capacity(keys.len());
        let mut batch = crate::WriteBatch::new();
        for key in keys {
            crate::key::check_key(key).map_err(Error::InvalidArgument)?;
            let latest = self.version_in(&state, key, seq, false)?;
            let found = match &latest {
                Some(l) => Records::split(key, l.kind, &l.value, l.update.as_ref())?,
                None => (None, Bytes::new()),
            };
            let (Some(meta), value) = found else {
                return Err(not_eligible(key, "it has no expiry"));
            };
            let registry = records.registry.read();
            let effective = registry.effective(key, &meta);
            let holds = registry.holds.covering(key);
            if !holds.is_empty() {
                return Err(Error::Held {
                    key: key.to_vec(),
                    holds,
                });
            }
            if !effective.expired(now) {
                return Err(not_eligible(key, "it has not expired"));
            }
            receipts.push(receipt(key, &meta, &effective, &value, Some(approver)));
            batch.delete(key);
        }
        let disposed = receipts.len() as u64;
        records.write_receipts(receipts)?;
        // Eligible records count as absent to the write checks: the
        // deletion passes them, and no hold can appear meanwhile (gate).
        self.submit(crate::commit::Work::Write(batch, Default::default()), true)?;
        records.note_erasure_due();
        Ok(disposed)
    }

    /// Removes the bytes of deleted, overwritten and disposed records from
    /// every file: flushes the memtables (their WAL segments go), compacts
    /// everything to the bottom twice (the second pass drops the
    /// tombstones the first one leaves), and starts a fresh manifest.
    pub(crate) fn purge(&self) -> Result<PurgeReport> {
        let started = self.records.now_for_read();
        let before = self.directory_files()?;
        let disposed_before = self.records.receipts_written.load(Ordering::Acquire);
        self.flush_all_here()?;
        self.compact_levels(Bound::Unbounded, Bound::Unbounded)?;
        self.compact_levels(Bound::Unbounded, Bound::Unbounded)?;
        let rewritten = self.versions.lock().rewrite_manifest_now();
        rewritten.inspect_err(|e| self.poison(e))?;
        let after = self.directory_files()?;
        let report = PurgeReport {
            disposed: self.records.receipts_written.load(Ordering::Acquire) - disposed_before,
            files_removed: before.iter().filter(|f| !after.contains(f)).count() as u64,
            files_written: after.iter().filter(|f| !before.contains(f)).count() as u64,
            bytes_before: before.iter().map(|f| f.1).sum(),
            bytes_after: after.iter().map(|f| f.1).sum(),
            live_snapshots: self.snapshots.count(),
        };
        log::info!(
            "{}: purge removed {} files ({} -> {} bytes), {} records disposed",
            self.dir.display(),
            report.files_removed,
            report.bytes_before,
            report.bytes_after,
            report.disposed
        );
        self.records.append(
            ENGINE_ACTOR,
            AuditEvent::Purged {
                records: report.disposed,
                bytes: report.bytes_before.saturating_sub(report.bytes_after),
                files: report.files_removed,
            },
            true,
        )?;
        self.records.erasure_done(started);
        Ok(report)
    }

    /// Names and sizes of the directory's files.
    fn directory_files(&self) -> Result<Vec<(String, u64)>> {
        let fs = self.fs();
        let names = fs
            .list(&self.dir)
            .map_err(|e| Error::io(format!("listing {}", self.dir.display()), e))?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let size = fs
                .open(&self.dir.join(&name), crate::fs::OpenMode::Read)
                .and_then(|f| f.size())
                .unwrap_or(0);
            out.push((name, size));
        }
        Ok(out)
    }
}

impl Records {
    /// Appends disposal receipts and fsyncs them (invariant 4).
    pub(crate) fn write_receipts(&self, receipts: Vec<DisposalReceipt>) -> Result<()> {
        if receipts.is_empty() {
            return Ok(());
        }
        let count = receipts.len() as u64;
        for receipt in receipts {
            let actor = receipt
                .approver
                .clone()
                .unwrap_or_else(|| ENGINE_ACTOR.into());
            self.append(&actor, AuditEvent::Disposed(receipt), false)?;
        }
        self.sync_audit()?;
        log::info!("disposed of {count} records (receipts in the audit trail)");
        self.receipts_written.fetch_add(count, Ordering::AcqRel);
        self.note_erasure_due();
        Ok(())
    }

    /// Notes that bytes are due for erasure from now on (within the purge
    /// window), unless an older due time is pending.
    pub(crate) fn note_erasure_due(&self) {
        if self.erasure_due_since.lock().is_some() {
            return;
        }
        let now = self.now_for_read();
        self.erasure_due_since.lock().get_or_insert(now);
    }

    /// A purge that started at `started` is done: what was due before it
    /// is erased.
    fn erasure_done(&self, started: i64) {
        self.last_purge.fetch_max(started, Ordering::AcqRel);
        let mut due = self.erasure_due_since.lock();
        if due.is_some_and(|since| since <= started) {
            *due = None;
        }
    }

    /// True when the oldest pending erasure is older than the purge window,
    /// or (automatic disposal) a table holds a record that expired and no
    /// purge ran for a whole window.
    pub(crate) fn purge_due(&self, version: &crate::version::Version) -> bool {
        let window = i64::try_from(self.purge_window.as_millis()).unwrap_or(i64::MAX);
        let now = self.now_for_read();
        if let Some(since) = *self.erasure_due_since.lock() {
            if now >= since.saturating_add(window) {
                return true;
            }
        }
        self.disposal == Disposal::Automatic
            && now
                >= self
                    .last_purge
                    .load(Ordering::Acquire)
                    .saturating_add(window)
            && version
                .levels
                .iter()
                .flatten()
                .any(|t| t.meta.earliest_expires_at.is_some_and(|e| e <= now))
    }
}

fn receipt(
    key: &[u8],
    meta: &StoredMeta,
    effective: &super::registry::Effective,
    value: &[u8],
    approver: Option<&str>,
) -> DisposalReceipt {
    DisposalReceipt {
        record: RecordId::Key(key.to_vec()),
        written_at: meta.written_at,
        retain_until: effective.retain_until,
        expires_at: effective.expires_at.unwrap_or(i64::MIN),
        policy: meta.policy.clone(),
        content_hash: content_hash(value),
        approver: approver.map(str::to_string),
    }
}

fn not_eligible(key: &[u8], why: &str) -> Error {
    Error::InvalidArgument(format!(
        "record {} is not eligible for disposal: {why}",
        super::display_key(key)
    ))
}
