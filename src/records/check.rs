//! The write checks (RECORDS.md rules 1–4 and 7), run by the commit leader
//! on each batch in commit order, before the batch gets its sequence
//! numbers: a batch that would overwrite, delete or weaken a protected or
//! held record is refused whole, and a batch with records-layer requests is
//! resolved — dates computed from the engine's clock and the policies,
//! written_at stamped — into the bytes the WAL receives.
//!
//! Each check sees the database as of the previous group plus the batches
//! of this group checked before it ([`Overlay`]), so two racing writers
//! cannot both pass. Writes of keys that no record, hold or default policy
//! concerns cost a lookup that the bloom filters and the tables'
//! "holds records" flag usually answer without reading a block.

use super::meta::{MetaRef, StoredMeta};
use super::policy::{Mode, Policy};
use super::registry::{Effective, Registry};
use super::state::{Shown, Unaudited};
use super::Records;
use crate::audit::{AuditEvent, BypassAction, RetentionMode};
use crate::batch::{BatchOp, BatchOps, OpSpans, WriteBatch};
use crate::db::{Latest, SuperVersion};
use crate::key::{SeqNo, ValueKind};
use crate::{Error, Result};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

/// What a writer asks of the records layer with its batch.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteContext {
    /// `WriteOptions::bypass_governance`: the reason.
    pub bypass: Option<String>,
    /// `WriteOptions::actor`.
    pub actor: Option<String>,
}

/// The newest state of the keys written by batches of the current group
/// that passed their checks: `None` for a deletion.
pub(crate) type Overlay = HashMap<Bytes, Option<Latest>>;

/// A checked batch.
pub(crate) struct Checked {
    /// What to commit: the caller's batch, or its resolution.
    pub batch: WriteBatch,
    /// Entries to append and fsync before the WAL write (privileged changes).
    pub before: Vec<AuditEvent>,
    /// The batch's own writes, for the group's overlay: the caller merges
    /// them once nothing can refuse the batch any more.
    pub local: Overlay,
}

/// The state a batch is checked against.
pub(crate) struct CheckView<'a> {
    pub engine: &'a crate::db::Engine,
    pub state: &'a SuperVersion,
    pub seq: SeqNo,
}

impl CheckView<'_> {
    fn latest(&self, overlay: &Overlay, key: &[u8], records_only: bool) -> Result<Option<Latest>> {
        match overlay.get(key) {
            Some(found) => Ok(found.clone()),
            None => self
                .engine
                .version_in(self.state, key, self.seq, records_only),
        }
    }
}

/// Lazily read clock: only writes that need a date read it.
struct Now<'a> {
    records: &'a Records,
    value: Option<i64>,
}

impl Now<'_> {
    fn get(&mut self) -> Result<i64> {
        if let Some(t) = self.value {
            return Ok(t);
        }
        let t = self.records.now()?;
        self.value = Some(t);
        Ok(t)
    }
}

impl Records {
    /// Checks `batch` (its operations get sequence numbers from
    /// `first_seq`) and resolves its records-layer requests. The batch's
    /// retention-set entries, to queue for the trail once it is in the WAL,
    /// are pushed onto `after` (nothing is pushed if the batch is refused);
    /// `overlay` is only read (see [`Checked::local`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_batch(
        &self,
        view: &CheckView<'_>,
        overlay: &Overlay,
        batch: WriteBatch,
        first_seq: SeqNo,
        ctx: &WriteContext,
        track: bool,
        after: &mut Vec<Unaudited>,
    ) -> Result<Checked> {
        let registry = self.registry.read();
        let mut checker = Checker {
            registry: &registry,
            view,
            ctx,
            now: Now {
                records: self,
                value: None,
            },
            local: Overlay::new(),
            // The overlay serves later operations on the same keys: a batch
            // of one in a group of one has none.
            track: track || batch.len() > 1,
            before: Vec::new(),
            after,
        };
        let queued = checker.after.len();
        let mut batch = batch;
        if !checker.track {
            if let Some(done) = checker.one_put_in_place(overlay, &mut batch, first_seq) {
                if let Err(e) = done {
                    checker.after.truncate(queued);
                    return Err(e);
                }
                let Checker { before, local, .. } = checker;
                return Ok(Checked {
                    batch,
                    before,
                    local,
                });
            }
        }
        // A batch is rebuilt with the resolved metadata when it carries
        // requests, or when a default policy may turn a plain put into a
        // record; otherwise the caller's bytes are committed as they are.
        let mut out = (batch.has_records() || registry.has_default_policies()).then(|| {
            let growth = RESOLVED_GROWTH.saturating_mul(batch.len());
            WriteBatch::with_capacity(batch.encoded_len().saturating_add(growth))
        });
        let (payload, flags) = batch.into_inspected();
        let internal =
            |(at, why)| Error::InvalidArgument(format!("internal: batch at {at}: {why}"));
        let mut checked = || -> Result<()> {
            for op in BatchOps::new(&payload).map_err(internal)? {
                let op = op.map_err(internal)?;
                let seq = first_seq + op.seq - 1;
                checker.op(overlay, op, seq, out.as_mut())?;
            }
            Ok(())
        };
        let refused = checked().err().or_else(|| {
            let why = out.as_ref()?.validation_error()?;
            Some(Error::InvalidArgument(why.to_string()))
        });
        if let Some(e) = refused {
            checker.after.truncate(queued);
            return Err(e);
        }
        let Checker { before, local, .. } = checker;
        let batch = match out {
            Some(out) => out,
            None => WriteBatch::from_inspected(payload, flags),
        };
        Ok(Checked {
            batch,
            before,
            local,
        })
    }
}

/// Room the resolved batch reserves per operation beyond the caller's
/// bytes: the dates and mode a resolution adds to a request's metadata
/// (a default policy's name may need more; the buffer then grows).
const RESOLVED_GROWTH: usize = 8 + 1 + 8 + 16;

struct Checker<'a> {
    registry: &'a Registry,
    view: &'a CheckView<'a>,
    ctx: &'a WriteContext,
    now: Now<'a>,
    /// This batch's own writes (merged into the group's overlay if it passes).
    local: Overlay,
    /// Whether to record writes in `local` (false for a lone operation).
    track: bool,
    before: Vec<AuditEvent>,
    after: &'a mut Vec<Unaudited>,
}

/// A new record version, checked and resolved.
struct ResolvedRecord<'a> {
    meta: MetaRef<'a>,
    dates: Effective,
    /// The registry's name of the record's policy.
    policy: Option<&'a Arc<str>>,
    now: i64,
}

impl<'a> Checker<'a> {
    fn latest(&self, overlay: &Overlay, key: &[u8], records_only: bool) -> Result<Option<Latest>> {
        match self.local.get(key) {
            Some(found) => Ok(found.clone()),
            None => self.view.latest(overlay, key, records_only),
        }
    }

    /// The key's current record as readers see it now: `None` when absent,
    /// deleted or eligible for disposal.
    fn current(
        &mut self,
        overlay: &Overlay,
        key: &[u8],
        records_only: bool,
    ) -> Result<Option<(Latest, Option<Shown>)>> {
        let Some(latest) = self.latest(overlay, key, records_only)? else {
            return Ok(None);
        };
        let (meta, _) = Records::split(key, latest.kind, &latest.value, latest.update.as_ref())?;
        let Some(meta) = meta else {
            return Ok(Some((latest, None)));
        };
        let effective = self.registry.effective(key, &meta);
        let now = self.now.get()?;
        if effective.expired(now) && !self.registry.holds.is_held(key) {
            return Ok(None); // eligible: as good as gone
        }
        Ok(Some((latest, Some((meta, effective)))))
    }

    /// Checks one operation and appends its resolution to `out` (when the
    /// batch is being rebuilt).
    fn op(
        &mut self,
        overlay: &Overlay,
        op: BatchOp,
        seq: SeqNo,
        out: Option<&mut WriteBatch>,
    ) -> Result<()> {
        let key = op.key;
        match op.kind {
            ValueKind::Value => match self.registry.default_policy(&key) {
                Some(policy) => {
                    let request = MetaRef {
                        policy: Some(policy),
                        ..MetaRef::default()
                    };
                    self.put_record(overlay, key, request, op.value, seq, out)
                }
                None => {
                    self.check_replace(overlay, &key, BypassAction::Overwrite)?;
                    if let Some(out) = out {
                        out.put(&key, &op.value);
                    }
                    if self.track {
                        let latest = Latest {
                            seq,
                            kind: ValueKind::Value,
                            value: op.value,
                            update: None,
                        };
                        self.local.insert(key, Some(latest));
                    }
                    Ok(())
                }
            },
            ValueKind::Tombstone => {
                self.check_replace(overlay, &key, BypassAction::Delete)?;
                if let Some(out) = out {
                    out.delete(&key);
                }
                if self.track {
                    self.local.insert(key, None);
                }
                Ok(())
            }
            ValueKind::Record => {
                let (mut request, value) = MetaRef::split_record(&op.value)
                    .map_err(|why| Error::InvalidArgument(format!("internal: {why}")))?;
                if request.policy.is_none() {
                    request.policy = self.registry.default_policy(&key);
                }
                self.put_record(overlay, key, request, value, seq, out)
            }
            ValueKind::RetentionUpdate => {
                let request = StoredMeta::decode_update(&op.value)
                    .map_err(|why| Error::InvalidArgument(format!("internal: {why}")))?;
                let meta = self.update(overlay, key.clone(), request)?;
                let Some(out) = out else {
                    // A batch with an update has records, so it is rebuilt.
                    return Err(Error::InvalidArgument(
                        "internal: a retention update in a batch without records".into(),
                    ));
                };
                out.push_meta_op(ValueKind::RetentionUpdate, &key, meta.as_ref(), &[]);
                Ok(())
            }
        }
    }

    /// Rules 1, 2 and 4 for an overwrite or delete of `key`.
    fn check_replace(&mut self, overlay: &Overlay, key: &[u8], action: BypassAction) -> Result<()> {
        let holds = match self.registry.holds.is_empty() {
            true => Vec::new(),
            false => self.registry.holds.covering(key),
        };
        let Some((_, meta)) = self.current(overlay, key, holds.is_empty())? else {
            return Ok(()); // nothing there (or eligible): nothing to protect
        };
        if !holds.is_empty() {
            return Err(Error::Held {
                key: key.to_vec(),
                holds,
            });
        }
        let Some((_, effective)) = meta else {
            return Ok(());
        };
        let now = self.now.get()?;
        if !effective.protected(now) {
            return Ok(());
        }
        let until = effective.retain_until.unwrap_or(i64::MAX);
        let mode = effective.mode.unwrap_or(Mode::Governance);
        match (mode, &self.ctx.bypass) {
            (Mode::Governance, Some(reason)) => {
                self.before.push(AuditEvent::GovernanceBypass {
                    key: key.to_vec(),
                    action,
                    retain_until: until,
                    reason: reason.clone(),
                });
                Ok(())
            }
            _ => Err(locked(key, until, mode)),
        }
    }

    /// The common case: a batch of one put with retention, or of one plain
    /// put under a default policy, in a group of its own (nothing to
    /// track) — checked, then resolved by patching the caller's batch in
    /// place, so nothing is copied. `None`, with nothing done, for any
    /// other batch (and for a damaged request, which the general path
    /// reports).
    fn one_put_in_place(
        &mut self,
        overlay: &Overlay,
        batch: &mut WriteBatch,
        seq: SeqNo,
    ) -> Option<Result<()>> {
        let (kind, key, stored) = batch.only_op()?;
        let (request, replaced) = match kind {
            ValueKind::Record => MetaRef::decode(stored).ok()?,
            ValueKind::Value => (MetaRef::default(), 0),
            ValueKind::Tombstone | ValueKind::RetentionUpdate => return None,
        };
        let policy = request.policy.or_else(|| self.registry.default_policy(key));
        if kind == ValueKind::Value && policy.is_none() {
            return None;
        }
        let resolved = match self.resolve_record(overlay, key, MetaRef { policy, ..request }) {
            Ok(resolved) => resolved,
            Err(e) => return Some(Err(e)),
        };
        let Some(spans) = batch.resolve_only_op(replaced, resolved.meta) else {
            return Some(Err(Error::InvalidArgument(format!(
                "batch would exceed {} bytes",
                crate::BATCH_BYTES_MAX
            ))));
        };
        // Key and value are sliced from the sealed batch (`rebase`).
        self.queue_set(resolved, seq, Bytes::new(), Bytes::new(), Some(spans));
        Some(Ok(()))
    }

    /// A record written with retention, in a batch being rebuilt (`out`).
    fn put_record(
        &mut self,
        overlay: &Overlay,
        key: Bytes,
        request: MetaRef<'_>,
        value: Bytes,
        seq: SeqNo,
        out: Option<&mut WriteBatch>,
    ) -> Result<()> {
        let resolved = self.resolve_record(overlay, &key, request)?;
        let spans = out.and_then(|out| out.push_record(&key, resolved.meta, &value));
        if self.track {
            let mut stored = Vec::with_capacity(resolved.meta.encoded_len() + value.len());
            resolved.meta.encode_into(&mut stored);
            stored.extend_from_slice(&value);
            let latest = Latest {
                seq,
                kind: ValueKind::Record,
                value: Bytes::from(stored),
                update: None,
            };
            self.local.insert(key.clone(), Some(latest));
        }
        self.queue_set(resolved, seq, key, value, spans);
        Ok(())
    }

    /// Rules 1, 2 and 4 for a new version of `key`, then its dates: the
    /// request's, the policy's and the clock's (rule 7).
    fn resolve_record(
        &mut self,
        overlay: &Overlay,
        key: &[u8],
        request: MetaRef<'_>,
    ) -> Result<ResolvedRecord<'a>> {
        self.check_replace(overlay, key, BypassAction::Overwrite)?;
        let now = self.now.get()?;
        let (registry, ctx): (&'a Registry, &'a WriteContext) = (self.registry, self.ctx);
        let policy = match request.policy {
            Some(name) => Some(registry.policies.get_key_value(name).ok_or_else(|| {
                Error::InvalidArgument(format!("unknown retention policy {name:?}"))
            })?),
            None => None,
        };
        let named = policy.map(|(name, policy)| (&**name, policy));
        let meta = resolve_new(request, named, now, ctx.actor.as_deref())?;
        Ok(ResolvedRecord {
            meta,
            dates: registry.effective_of(key, meta, policy.map(|p| p.1)),
            policy: policy.map(|p| p.0),
            now,
        })
    }

    /// Queues the record's retention-set entry; its content hash, event,
    /// encoding and chaining happen off the commit path
    /// (`Records::drain_unaudited`).
    fn queue_set(
        &mut self,
        resolved: ResolvedRecord<'_>,
        seq: SeqNo,
        key: Bytes,
        value: Bytes,
        spans: Option<OpSpans>,
    ) {
        self.after.push(Unaudited {
            time: resolved.now,
            actor: self.ctx.actor.clone(),
            record_seq: seq,
            key,
            dates: resolved.dates,
            policy: resolved.policy.cloned(),
            value,
            spans,
        });
    }

    /// A metadata-only change: extend (rule 2), shorten or remove
    /// (Governance with bypass), mode change (rule 3).
    fn update(&mut self, overlay: &Overlay, key: Bytes, request: StoredMeta) -> Result<StoredMeta> {
        let Some((latest, meta)) = self.current(overlay, &key, false)? else {
            return Err(Error::InvalidArgument(format!(
                "no record {} to change the retention of",
                super::display_key(&key)
            )));
        };
        let now = self.now.get()?;
        let (mut meta, effective) = meta.unwrap_or_else(|| {
            let plain = StoredMeta {
                written_at: i64::MIN, // unknown: the record was a plain put
                ..StoredMeta::default()
            };
            (plain, Effective::default())
        });
        let holds = self.registry.holds.covering(&key);
        let protected = effective.protected(now);
        let mode = effective.mode.unwrap_or(Mode::Governance);
        let current_until = effective.retain_until;
        let privileged = |records: &mut Self, event: AuditEvent| -> Result<()> {
            if !holds.is_empty() && protected {
                return Err(Error::Held {
                    key: key.to_vec(),
                    holds: holds.clone(),
                });
            }
            match (&records.ctx.bypass, mode) {
                (Some(_), Mode::Governance) => {
                    records.before.push(event);
                    Ok(())
                }
                _ => Err(locked(&key, current_until.unwrap_or(i64::MAX), mode)),
            }
        };
        let reason = self.ctx.bypass.clone().unwrap_or_default();
        if request.clear {
            if protected {
                let event = AuditEvent::RetentionShortened {
                    key: key.to_vec(),
                    from: current_until.unwrap_or(i64::MAX),
                    to: None,
                    reason: reason.clone(),
                };
                privileged(self, event)?;
            }
            // The protection goes, not the disposal schedule: the expiry
            // the record had (policy and events applied) is kept as its own,
            // so no update ever makes a record expire earlier (what the
            // disposal verdict relies on).
            meta.retain_until = None;
            meta.mode = None;
            meta.policy = None;
            meta.expires_at = effective.expires_at;
        }
        if let Some(until) = request.retain_until {
            if until <= now {
                return Err(Error::InvalidArgument(format!(
                    "retain_until {} is not in the future",
                    super::Timestamp::from_millis(until)
                )));
            }
            match current_until {
                Some(from) if until < from && protected => {
                    let event = AuditEvent::RetentionShortened {
                        key: key.to_vec(),
                        from,
                        to: Some(until),
                        reason: reason.clone(),
                    };
                    privileged(self, event)?;
                }
                Some(from) if until > from => self.before.push(AuditEvent::RetentionExtended {
                    key: key.to_vec(),
                    mode: audit_mode(mode),
                    from,
                    to: until,
                }),
                Some(_) => {}
                None => self.before.push(AuditEvent::RetentionExtended {
                    key: key.to_vec(),
                    mode: audit_mode(request.mode.unwrap_or(mode)),
                    from: now,
                    to: until,
                }),
            }
            if current_until.is_some_and(|from| until < from) {
                // Shortened: the date given replaces what the policy and its
                // events computed (else they would still hold it), and the
                // expiry stays where it was.
                meta.policy = None;
                meta.expires_at = effective.expires_at.map(|e| e.max(until));
            } else {
                meta.expires_at = meta.expires_at.map(|e| e.max(until));
            }
            meta.retain_until = Some(until);
            meta.mode = meta.mode.or(Some(Mode::Governance));
        }
        if let Some(to) = request.mode {
            let from = meta.mode.or(effective.mode);
            if meta.retain_until.is_none() && effective.retain_until.is_none() {
                return Err(Error::InvalidArgument(
                    "a retention mode needs a retain_until date".into(),
                ));
            }
            match (from, to) {
                (Some(Mode::Compliance), Mode::Governance) => {
                    return Err(locked(
                        &key,
                        current_until.unwrap_or(i64::MAX),
                        Mode::Compliance,
                    ))
                }
                (Some(Mode::Governance) | None, Mode::Compliance) => {
                    let event = AuditEvent::ModeChanged {
                        key: key.to_vec(),
                        from: RetentionMode::Governance,
                        to: RetentionMode::Compliance,
                        retain_until: meta.retain_until.or(current_until).unwrap_or(i64::MAX),
                        reason: reason.clone(),
                    };
                    if protected {
                        privileged(self, event)?;
                    } else {
                        self.before.push(event);
                    }
                }
                _ => {}
            }
            meta.mode = Some(to);
        }
        meta.actor = self.ctx.actor.clone();
        meta.clear = false;
        if self.track {
            let changed = Latest {
                update: Some(Bytes::from(meta.encode())),
                ..latest
            };
            self.local.insert(key, Some(changed));
        }
        Ok(meta)
    }
}

/// The stored metadata of a new record: explicit dates combined with the
/// policy's creation clauses (latest wins), checked (rule 7).
fn resolve_new<'a>(
    request: MetaRef<'_>,
    named: Option<(&'a str, &Policy)>,
    now: i64,
    actor: Option<&'a str>,
) -> Result<MetaRef<'a>> {
    let policy = named.map(|(_, policy)| policy);
    let past = |what: &str, t: i64| {
        Error::InvalidArgument(format!(
            "{what} {} is not in the future",
            super::Timestamp::from_millis(t)
        ))
    };
    if let Some(t) = request.retain_until.filter(|&t| t <= now) {
        return Err(past("retain_until", t));
    }
    if let Some(t) = request.expires_at.filter(|&t| t <= now) {
        return Err(past("expires_at", t));
    }
    let written = super::Timestamp::from_millis(now);
    let created = policy.and_then(|p| p.creation_until(written).map(|t| t.as_millis()));
    let retain_until = match (request.retain_until, created) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    if let (Some(retain), Some(expires)) = (retain_until, request.expires_at) {
        if expires < retain {
            return Err(Error::InvalidArgument(format!(
                "expires_at {} is before retain_until {}",
                super::Timestamp::from_millis(expires),
                super::Timestamp::from_millis(retain)
            )));
        }
    }
    // A policy that disposes expires the record when its retention ends —
    // the later of its own dates and any explicit retain_until.
    let mut expires_at = request.expires_at;
    if let (Some(p), Some(retain)) = (policy, retain_until) {
        if p.disposes() && created.is_some() {
            expires_at = Some(expires_at.map_or(retain, |e| e.max(retain)));
        }
    }
    let mode = request
        .mode
        .or(policy.map(Policy::mode))
        .filter(|_| retain_until.is_some() || policy.is_some());
    Ok(MetaRef {
        written_at: now,
        retain_until,
        mode,
        expires_at,
        policy: named.map(|(name, _)| name),
        actor,
        clear: false,
    })
}

fn locked(key: &[u8], until: i64, mode: Mode) -> Error {
    Error::RetentionLocked {
        key: key.to_vec(),
        until: super::Timestamp::from_millis(until),
        mode,
    }
}

/// The trail's spelling of a mode.
pub(crate) fn audit_mode(mode: Mode) -> RetentionMode {
    match mode {
        Mode::Governance => RetentionMode::Governance,
        Mode::Compliance => RetentionMode::Compliance,
    }
}

/// SHA-256 of a record's value (the trail's proof it was unaltered).
pub(crate) fn content_hash(value: &[u8]) -> [u8; 32] {
    Sha256::digest(value).into()
}
