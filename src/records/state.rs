//! [`Records`]: the records layer's part of an open database — the clock
//! and its high-water mark, the registry, the audit trail — and what a
//! reader sees of a record version ([`Records::read`]).
//!
//! # Invariants
//! 1. `now()` is the maximum of the clock and every time seen before
//!    (`hwm`), so it never runs backwards, also across restarts: open sets
//!    `hwm` from the trail's last entry and the newest record in the WAL.
//! 2. The registry changes only together with its fsynced audit entry,
//!    under the audit mutex (lock order: `audit` → `registry`).
//! 3. `engaged` is false only while the database has never held a record,
//!    hold, policy or default: then writes skip every records check.

use super::holds::PlacedHold;
use super::meta::StoredMeta;
use super::registry::{Effective, Registry};
use super::time::{Clock, Timestamp};
use super::{meta_corruption, Disposal, RecordMeta};
use crate::audit::{AuditCheckpoint, AuditEntry, AuditEvent, AuditIter, AuditLog};
use crate::batch::OpSpans;
use crate::iter::{Resolver, Visible};
use crate::key::ValueKind;
use crate::{Error, Result};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A record's stored metadata with its effective protection.
pub(crate) type Shown = (StoredMeta, Effective);

/// Queued retention-set entries past which the background threads drain
/// the queue.
pub(crate) const UNAUDITED_DRAIN_AT: usize = 4096;

/// A committed record's retention-set entry, waiting for the trail: what
/// the commit leader knows, kept as cheap to make as it can be (the key
/// and value are slices of the committed batch, the policy name is the
/// registry's shared one); the event, its content hash (from `value`) and
/// its encoding are made when the entry is sealed, off the commit path.
#[derive(Debug)]
pub(crate) struct Unaudited {
    /// The record's `written_at`: the entry's time.
    pub time: i64,
    /// `None`: [`DEFAULT_ACTOR`].
    pub actor: Option<String>,
    pub record_seq: u64,
    pub key: Bytes,
    /// The record's effective dates when it was written.
    pub dates: Effective,
    pub policy: Option<Arc<str>>,
    pub value: Bytes,
    /// Where `key` and `value` lie in the batch the leader committed: once
    /// it is sealed, [`Unaudited::rebase`] re-slices them from it (until
    /// then, a batch resolved in place leaves them empty).
    pub spans: Option<OpSpans>,
}

impl Unaudited {
    /// Points `key` and `value` into the committed batch's sealed payload,
    /// which the memtable keeps alive anyway, instead of the caller's
    /// batch: the background thread that drops this entry then frees
    /// nothing the writer allocated (a free across threads contends for
    /// the allocator's lock with the writer).
    pub(crate) fn rebase(&mut self, payload: &Bytes) {
        let Some(spans) = self.spans.take() else {
            return;
        };
        // The spans were taken from this very buffer before it was sealed
        // (sealing changes no length): an entry with a placeholder key must
        // never reach the trail.
        assert!(
            spans.key.end <= payload.len() && spans.value.end <= payload.len(),
            "retention-set spans {spans:?} outside the committed batch of {} bytes",
            payload.len()
        );
        self.key = payload.slice(spans.key);
        self.value = payload.slice(spans.value);
    }

    /// The trail's event for this record, content hash included.
    fn into_event(self) -> AuditEvent {
        retention_set_event(
            self.record_seq,
            &self.key,
            self.dates,
            self.policy.map(|p| String::from(&*p)),
            &self.value,
        )
    }
}

/// The retention-set event of the record version `record_seq`.
fn retention_set_event(
    record_seq: u64,
    key: &[u8],
    dates: Effective,
    policy: Option<String>,
    value: &[u8],
) -> AuditEvent {
    AuditEvent::RetentionSet {
        record_seq,
        key: key.to_vec(),
        retain_until: dates.retain_until,
        mode: dates.mode.map(super::check::audit_mode),
        expires_at: dates.expires_at,
        policy,
        event_pending: dates.event_pending,
        content_hash: Some(super::check::content_hash(value)),
    }
}

/// The actor recorded when a write names none.
pub(crate) const DEFAULT_ACTOR: &str = "application";
/// The actor of the engine's own entries (automatic disposal, recovery).
pub(crate) const ENGINE_ACTOR: &str = "holdfast";

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Records {
    clock: Arc<dyn Clock>,
    hwm: AtomicI64,
    pub registry: RwLock<Registry>,
    audit: Mutex<AuditLog>,
    /// The audit file and its length, readable without `audit`'s lock.
    audit_trail: crate::audit::WrittenTrail,
    engaged: AtomicBool,
    /// Entries were appended to the trail without fsync.
    audit_unsynced: AtomicBool,
    /// Retention-set entries of committed records, not yet in the trail
    /// (commit order). Drained before any other entry is appended, by the
    /// background threads once [`UNAUDITED_DRAIN_AT`] wait, before a flush
    /// deletes the WAL segments they could be regenerated from, and by
    /// every read of the trail.
    unaudited: Mutex<Vec<Unaudited>>,
    /// The buffer a drain swaps with `unaudited`: both keep their capacity,
    /// so queueing does not regrow a vector after every drain. Locked only
    /// by drains, which hold the trail's lock.
    unaudited_spare: Mutex<Vec<Unaudited>>,
    pub disposal: Disposal,
    pub purge_window: Duration,
    /// When bytes first became due for erasure (a delete, a disposal, an
    /// expiry) since the last purge; `None`: nothing is due.
    pub erasure_due_since: Mutex<Option<i64>>,
    /// Held (read) by compactions and disposals while they decide and
    /// install disposals; taken (write) by changes to holds and events.
    pub disposal_gate: RwLock<()>,
    /// Disposal receipts written since open.
    pub receipts_written: AtomicU64,
    /// When the last purge started (open time at first).
    pub last_purge: AtomicI64,
    /// The highest time the trail holds (its entries' times): what a
    /// restart recovers of the high-water mark.
    persisted_hwm: AtomicI64,
    /// Why the trail refuses appends: a write or fsync failed (the engine
    /// counts itself poisoned then).
    failure: Mutex<Option<String>>,
    /// `failure` is set (read on every write, without the lock).
    failed: AtomicBool,
}

/// What opening the trail found.
pub(crate) struct Opened {
    pub records: Records,
    /// The highest record sequence number with a retention-set entry.
    pub audited_seq: u64,
}

impl Records {
    /// Opens the trail in `dir`, verifies it and rebuilds the registry
    /// from it.
    pub(crate) fn open(
        fs: &dyn crate::fs::FileSystem,
        dir: &std::path::Path,
        clock: Arc<dyn Clock>,
        disposal: Disposal,
        purge_window: Duration,
    ) -> Result<Opened> {
        let mut registry = Registry::default();
        let mut audited_seq = 0;
        let mut last_time = i64::MIN;
        let mut entries = 0u64;
        let audit = AuditLog::open_with(fs, dir, |entry| {
            entries += 1;
            last_time = last_time.max(entry.time);
            registry.apply(entry).map_err(|why| {
                Error::corruption(
                    dir.join(crate::audit::audit_file_name(
                        crate::audit::AUDIT_FILE_NUMBER,
                    )),
                    0,
                    format!("audit entry {} cannot be replayed: {why}", entry.seq),
                )
            })?;
            if let AuditEvent::RetentionSet { record_seq, .. } = entry.event {
                audited_seq = audited_seq.max(record_seq);
            }
            Ok(())
        })?;
        let torn = audit.torn_tail().cloned();
        let records = Records {
            clock,
            hwm: AtomicI64::new(last_time),
            registry: RwLock::new(registry),
            audit_trail: audit.written(),
            audit: Mutex::new(audit),
            engaged: AtomicBool::new(entries > 0),
            audit_unsynced: AtomicBool::new(false),
            unaudited: Mutex::new(Vec::new()),
            unaudited_spare: Mutex::new(Vec::new()),
            disposal,
            purge_window,
            erasure_due_since: Mutex::new(None),
            disposal_gate: RwLock::new(()),
            receipts_written: AtomicU64::new(0),
            last_purge: AtomicI64::new(i64::MIN),
            persisted_hwm: AtomicI64::new(last_time),
            failure: Mutex::new(None),
            failed: AtomicBool::new(false),
        };
        let opened_at = records.now_for_read();
        records.last_purge.store(opened_at, Ordering::Release);
        if let Some(torn) = torn {
            let event = AuditEvent::TornTailRemoved {
                offset: torn.offset,
                bytes: torn.bytes,
            };
            records.append(ENGINE_ACTOR, event, true)?;
        }
        Ok(Opened {
            records,
            audited_seq,
        })
    }

    /// After WAL replay: raises the high-water mark to the newest record's
    /// `written_at`, and appends the retention-set entries a crash lost
    /// (records with a sequence number above `audited_seq`), in sequence
    /// order, fsynced.
    pub(crate) fn recover_from_wal(
        &self,
        memtables: &[&crate::memtable::MemTable],
        audited_seq: u64,
    ) -> Result<()> {
        let mut missing: Vec<(u64, Bytes, Bytes)> = Vec::new();
        for memtable in memtables.iter().filter(|m| m.has_records()) {
            self.engage();
            for entry in memtable.map().iter() {
                let (key, value) = (entry.key(), entry.value());
                if value.kind == ValueKind::Record && key.seq > audited_seq {
                    missing.push((key.seq, key.user_key.clone(), value.value.clone()));
                }
            }
        }
        missing.sort_by_key(|m| m.0);
        for (seq, key, stored) in &missing {
            let (meta, value) =
                StoredMeta::split_record(stored).map_err(|why| meta_corruption(key, why))?;
            self.observe(meta.written_at);
            let effective = self.registry.read().effective(key, &meta);
            let event = retention_set_event(*seq, key, effective, meta.policy.clone(), &value);
            let actor = meta.actor.clone().unwrap_or_else(|| DEFAULT_ACTOR.into());
            self.append(&actor, event, false)?;
        }
        self.sync_audit()
    }

    /// The engine's time: the clock, never below a time seen before.
    /// A failing clock is [`Error::ClockUnavailable`] (rule 8).
    pub(crate) fn now(&self) -> Result<i64> {
        let read = self.clock.now().map_err(Error::ClockUnavailable)?;
        Ok(self.observe(read.as_millis()))
    }

    /// The time reads judge expiry by: as `now`, but a failing clock gives
    /// the highest time seen (which hides no more than was hidden before).
    pub(crate) fn now_for_read(&self) -> i64 {
        match self.clock.now() {
            Ok(t) => self.observe(t.as_millis()),
            Err(_) => self.hwm.load(Ordering::Acquire),
        }
    }

    /// Records the high-water mark in the trail (a `ClockAdvanced` entry,
    /// fsynced) if it moved past what the trail holds, so that a restart
    /// never starts from an earlier "now" (rule 8). Called at close and by
    /// the background threads once an hour of engine time went by; a
    /// database that never used the records layer writes nothing.
    pub(crate) fn persist_clock(&self) -> Result<()> {
        let hwm = self.hwm.load(Ordering::Acquire);
        let persisted = self.persisted_hwm.load(Ordering::Acquire);
        if !self.engaged() || hwm <= persisted {
            return Ok(());
        }
        let event = AuditEvent::ClockAdvanced {
            from: persisted,
            to: hwm,
        };
        let entry = self.append(ENGINE_ACTOR, event, true)?;
        self.persisted_hwm.fetch_max(entry.time, Ordering::AcqRel);
        Ok(())
    }

    /// After a public call that read the clock: records the high-water
    /// mark if it moved an hour past what the trail holds (outside every
    /// engine lock). A failure poisons the trail (and so the handle) but
    /// does not fail the read that observed the time.
    pub(crate) fn maybe_persist_clock(&self) {
        if self.clock_persist_due() {
            let _ = self.persist_clock();
        }
    }

    /// True when an hour of engine time went by since the trail last
    /// recorded it.
    pub(crate) fn clock_persist_due(&self) -> bool {
        const HOUR: i64 = 3_600_000;
        let persisted = self.persisted_hwm.load(Ordering::Acquire);
        // An empty trail has nothing to move on from: its first entry will.
        self.engaged()
            && persisted != i64::MIN
            && self.hwm.load(Ordering::Acquire) >= persisted.saturating_add(HOUR)
    }

    /// Raises the high-water mark to `t`; returns the new "now".
    pub(crate) fn observe(&self, t: i64) -> i64 {
        self.hwm.fetch_max(t, Ordering::AcqRel).max(t)
    }

    pub(crate) fn engaged(&self) -> bool {
        self.engaged.load(Ordering::Acquire)
    }

    pub(crate) fn engage(&self) {
        self.engaged.store(true, Ordering::Release);
    }

    /// Appends one audit entry at the engine's time (fsynced with `sync`).
    pub(crate) fn append(&self, actor: &str, event: AuditEvent, sync: bool) -> Result<AuditEntry> {
        let mut audit = self.audit.lock();
        self.append_locked(&mut audit, actor, event, sync)
    }

    fn append_locked(
        &self,
        audit: &mut AuditLog,
        actor: &str,
        event: AuditEvent,
        sync: bool,
    ) -> Result<AuditEntry> {
        // Commit order: the records committed before this entry first.
        self.drain_locked(audit)?;
        let time = self.now_for_read();
        if !sync {
            self.audit_unsynced.store(true, Ordering::Release);
        }
        let entry = audit
            .append_with(time, actor, event, sync)
            .inspect_err(|e| self.note_failure(e))?;
        if sync {
            // Durable now: a restart recovers at least this time.
            self.persisted_hwm.fetch_max(time, Ordering::AcqRel);
        }
        Ok(entry)
    }

    /// Remembers an I/O failure of the trail (only those: a refused entry,
    /// e.g. an over-long field, changes nothing on disk).
    fn note_failure(&self, error: &Error) {
        if matches!(error, Error::Io { .. } | Error::Poisoned { .. }) {
            self.failure.lock().get_or_insert_with(|| error.to_string());
            self.failed.store(true, Ordering::Release);
        }
    }

    /// True when a failure poisoned the trail.
    pub(crate) fn audit_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// The failure that poisoned the trail, if any.
    pub(crate) fn audit_failure(&self) -> Option<String> {
        self.failure.lock().clone()
    }

    /// Appends `event` and, once it is durable, applies `change` to the
    /// registry — atomically for other callers (invariant 2). `check` runs
    /// first under the same locks and may refuse.
    pub(crate) fn change_registry(
        &self,
        actor: &str,
        check: impl FnOnce(&Registry) -> Result<AuditEvent>,
        change: impl FnOnce(&mut Registry, &AuditEntry) -> Result<()>,
    ) -> Result<AuditEntry> {
        let mut audit = self.audit.lock();
        let event = check(&self.registry.read())?;
        let entry = self.append_locked(&mut audit, actor, event, true)?;
        self.engage();
        change(&mut self.registry.write(), &entry)?;
        Ok(entry)
    }

    /// Queues the retention-set entries of records just committed.
    /// Returns true when the queue is long enough for the background
    /// threads to drain it.
    pub(crate) fn queue_unaudited(&self, records: &mut Vec<Unaudited>) -> bool {
        if records.is_empty() {
            return false;
        }
        let mut queue = self.unaudited.lock();
        let before = queue.len();
        queue.append(records);
        // Wake the background threads once, when the queue crosses the mark.
        before < UNAUDITED_DRAIN_AT && queue.len() >= UNAUDITED_DRAIN_AT
    }

    /// True when queued entries wait for the background threads.
    pub(crate) fn drain_due(&self) -> bool {
        self.unaudited.lock().len() >= UNAUDITED_DRAIN_AT
    }

    /// Appends the queued retention-set entries to the trail (unsynced).
    pub(crate) fn drain_unaudited(&self) -> Result<()> {
        let mut audit = self.audit.lock();
        self.drain_locked(&mut audit)
    }

    fn drain_locked(&self, audit: &mut AuditLog) -> Result<()> {
        let mut queued = self.unaudited_spare.lock();
        debug_assert!(queued.is_empty(), "a drain empties the spare buffer");
        std::mem::swap(&mut *self.unaudited.lock(), &mut *queued);
        if queued.is_empty() {
            return Ok(());
        }
        self.audit_unsynced.store(true, Ordering::Release);
        let drained = Self::append_unaudited(audit, queued.drain(..));
        // A queue that grew past the mark while no drain ran (a bulk load
        // on busy background threads) does not keep its memory.
        queued.shrink_to(2 * UNAUDITED_DRAIN_AT);
        drained.inspect_err(|e| self.note_failure(e))
    }

    fn append_unaudited(
        audit: &mut AuditLog,
        queued: impl Iterator<Item = Unaudited>,
    ) -> Result<()> {
        for mut record in queued {
            let time = record.time.max(audit.last_time());
            let actor = record.actor.take().unwrap_or_else(|| DEFAULT_ACTOR.into());
            audit.append_with(time, actor, record.into_event(), false)?;
        }
        Ok(())
    }

    /// The audit file's path, open handle and whole-record length now,
    /// without the trail's lock (a checkpoint's cut runs as the commit
    /// leader and must not wait for an export or a verify).
    pub(crate) fn audit_written(
        &self,
    ) -> (std::path::PathBuf, Arc<dyn crate::fs::FileHandle>, u64) {
        let trail = &self.audit_trail;
        (
            trail.path.clone(),
            Arc::clone(&trail.file),
            trail.len.load(Ordering::Acquire),
        )
    }

    /// Appends the queued entries and fsyncs everything appended without
    /// sync (before the WAL segments the entries could be regenerated from
    /// are deleted, on `flush` and `close`, and before the trail is read).
    pub(crate) fn sync_audit(&self) -> Result<()> {
        self.drain_unaudited()?;
        if self.audit_unsynced.swap(false, Ordering::AcqRel) {
            let mut audit = self.audit.lock();
            let synced = audit.sync();
            if let Err(e) = &synced {
                self.audit_unsynced.store(true, Ordering::Release);
                self.note_failure(e);
            }
            synced?;
            self.persisted_hwm
                .fetch_max(audit.last_time(), Ordering::AcqRel);
        }
        Ok(())
    }

    /// Runs `f` with the trail locked (verification, export, disposal).
    pub(crate) fn with_audit<T>(&self, f: impl FnOnce(&mut AuditLog) -> Result<T>) -> Result<T> {
        f(&mut self.audit.lock())
    }

    /// Metadata and user value of a visible version: `None` metadata for a
    /// plain value without updates.
    pub(crate) fn split(
        key: &[u8],
        kind: ValueKind,
        stored: &Bytes,
        update: Option<&Bytes>,
    ) -> Result<(Option<StoredMeta>, Bytes)> {
        let (own, value) = match kind {
            ValueKind::Record => {
                let (meta, value) =
                    StoredMeta::split_record(stored).map_err(|why| meta_corruption(key, why))?;
                (Some(meta), value)
            }
            _ => (None, stored.clone()),
        };
        let meta = match update {
            Some(update) => {
                Some(StoredMeta::decode_update(update).map_err(|why| meta_corruption(key, why))?)
            }
            None => own,
        };
        Ok((meta, value))
    }

    /// What a reader sees of a version at `now`: its value and metadata, or
    /// `None` when it is eligible for disposal (expired and unheld; rule 5).
    pub(crate) fn read(
        &self,
        key: &[u8],
        kind: ValueKind,
        stored: &Bytes,
        update: Option<&Bytes>,
        now: i64,
    ) -> Result<Option<(Bytes, Option<Shown>)>> {
        let (meta, value) = Self::split(key, kind, stored, update)?;
        let Some(meta) = meta else {
            return Ok(Some((value, None)));
        };
        let registry = self.registry.read();
        let effective = registry.effective(key, &meta);
        if effective.expired(now) && !registry.holds.is_held(key) {
            return Ok(None);
        }
        Ok(Some((value, Some((meta, effective)))))
    }

    /// The public view of a record's metadata.
    pub(crate) fn record_meta(&self, key: &[u8], meta: Option<&Shown>) -> RecordMeta {
        let holds = self.registry.read().holds.covering(key);
        let ts = |t: Option<i64>| t.map(Timestamp::from_millis);
        match meta {
            None => RecordMeta {
                written_at: None,
                retain_until: None,
                mode: None,
                expires_at: None,
                policy: None,
                event_pending: None,
                holds,
            },
            Some((stored, effective)) => RecordMeta {
                // `i64::MIN`: retention was set on a plain record later.
                written_at: (stored.written_at != i64::MIN)
                    .then(|| Timestamp::from_millis(stored.written_at)),
                retain_until: ts(effective.retain_until),
                mode: effective.mode,
                expires_at: ts(effective.expires_at),
                policy: stored.policy.clone(),
                event_pending: effective.event_pending.clone(),
                holds,
            },
        }
    }

    /// The holds in force, by id.
    pub(crate) fn holds(&self) -> Vec<PlacedHold> {
        self.registry.read().holds.list()
    }
}

/// The resolver iterators use: hides eligible records as of `now`.
#[derive(Debug)]
pub(crate) struct ReadResolver {
    pub records: Arc<Records>,
    pub now: i64,
}

impl Resolver for ReadResolver {
    fn resolve(&self, item: &Visible) -> Result<Option<Bytes>> {
        let seen = self.records.read(
            &item.key,
            item.kind,
            &item.value,
            item.update.as_ref(),
            self.now,
        )?;
        Ok(seen.map(|(value, _)| value))
    }
}

/// The audit trail of an open database (RECORDS.md rule 9): see
/// [`Db::audit`](crate::Db::audit).
#[derive(Clone, Debug)]
pub struct Audit {
    pub(crate) records: Arc<Records>,
}

impl Audit {
    /// The entries, oldest first, each checked against the one before it;
    /// the first failure ends the iteration as [`Error::Corruption`].
    pub fn iter(&self) -> Result<AuditIter> {
        self.records.sync_audit()?;
        self.records.with_audit(|audit| audit.iter())
    }

    /// Re-hashes the whole chain as it is on disk and returns its head.
    pub fn verify(&self) -> Result<AuditCheckpoint> {
        self.records.sync_audit()?;
        self.records.with_audit(|audit| audit.verify())
    }

    /// The head of the trail — `(seq, hash)` — after making every entry
    /// durable; keep it outside the database for
    /// [`verify_against`](Self::verify_against).
    pub fn checkpoint(&self) -> Result<AuditCheckpoint> {
        self.records.sync_audit()?;
        self.records.with_audit(|audit| Ok(audit.checkpoint()))
    }

    /// Verifies the chain and that it still holds `checkpoint`'s entry with
    /// the same hash: detects truncation and rewritten history.
    pub fn verify_against(&self, checkpoint: &AuditCheckpoint) -> Result<()> {
        self.records.sync_audit()?;
        self.records
            .with_audit(|audit| audit.verify_against(checkpoint))
    }

    /// Writes the trail as JSON lines (one object per entry) and returns
    /// the head it verified.
    pub fn export_jsonl(&self, out: impl std::io::Write) -> Result<AuditCheckpoint> {
        self.records.sync_audit()?;
        self.records.with_audit(|audit| audit.export_jsonl(out))
    }
}
