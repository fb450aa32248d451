//! The records layer's public calls on [`Db`]: writing with retention,
//! reading a record's metadata, changing retention, policies, events,
//! holds, disposal, purge and the audit trail. The rules they enforce are
//! in `crate::records` (and `docs/RECORDS.md` for users).

use super::Db;
use crate::audit::{AuditEvent, Scope};
use crate::options::WriteOptions;
use crate::records::meta::StoredMeta;
use crate::records::{
    Audit, Hold, Mode, PlacedHold, Policy, PurgeReport, Record, Retention, Timestamp,
};
use crate::{Error, Result, WriteBatch};
use bytes::Bytes;
use std::sync::Arc;

impl Db {
    /// Sets `key` to `value` with retention (RECORDS.md rules 1–7).
    ///
    /// Fails with [`Error::InvalidArgument`] for a date in the past,
    /// `expires_at` before `retain_until` or an unknown policy;
    /// [`Error::RetentionLocked`] or [`Error::Held`] if the key holds a
    /// protected or held record. Nothing is written then.
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// use holdfast::{years, Db, Options, Retention, Timestamp};
    /// let db = Db::open(dir.path(), Options::default())?;
    /// let until = Timestamp::from_date(2400, 1, 1).unwrap();
    /// db.put_with("invoice/0001", "ACME, 1200 EUR", &Retention::new().retain_until(until).compliance())?;
    /// assert!(db.put("invoice/0001", "changed").is_err()); // write-once while protected
    /// let record = db.get_record("invoice/0001")?.unwrap();
    /// assert_eq!(record.meta.retain_until, Some(until));
    /// # Ok(()) }
    /// ```
    pub fn put_with(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        retention: &Retention,
    ) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        let mut batch = WriteBatch::with_capacity(
            9 + key.len() + value.len() + retention.request_len_estimate(),
        );
        batch.put_with(key, value, retention);
        self.write(batch)
    }

    /// The current record of `key`: its value and its retention metadata
    /// (effective dates, holds), or `None` if absent, deleted or eligible
    /// for disposal.
    pub fn get_record(&self, key: impl AsRef<[u8]>) -> Result<Option<Record>> {
        let key = key.as_ref();
        crate::key::check_key(key).map_err(Error::InvalidArgument)?;
        let engine = self.engine();
        engine.check_open()?;
        let (state, seq) = engine.read_view();
        let Some(found) = engine.version_in(&state, key, seq, false)? else {
            return Ok(None);
        };
        let now = engine.records.now_for_read();
        let seen =
            engine
                .records
                .read(key, found.kind, &found.value, found.update.as_ref(), now)?;
        let record = seen.map(|(value, meta)| Record {
            key: Bytes::copy_from_slice(key),
            value,
            meta: engine.records.record_meta(key, meta.as_ref()),
        });
        engine.records.maybe_persist_clock();
        Ok(record)
    }

    /// Moves the record's `retain_until` later (rule 2; any mode). A date
    /// earlier than the current one is [`Error::RetentionLocked`]: see
    /// [`Db::set_retention`] for the audited Governance bypass.
    pub fn extend_retention(&self, key: impl AsRef<[u8]>, until: Timestamp) -> Result<()> {
        self.set_retention(key, Some(until), &WriteOptions::default())
    }

    /// Sets the record's `retain_until` to `until`, or removes its
    /// retention with `None`. Moving it later is always allowed; moving it
    /// earlier or removing it while it protects the record needs Governance
    /// mode and [`WriteOptions::bypass_governance`], and is audited.
    pub fn set_retention(
        &self,
        key: impl AsRef<[u8]>,
        until: Option<Timestamp>,
        options: &WriteOptions,
    ) -> Result<()> {
        let request = StoredMeta {
            retain_until: until.map(Timestamp::as_millis),
            clear: until.is_none(),
            ..StoredMeta::default()
        };
        let mut batch = WriteBatch::new();
        batch.retention_update(key.as_ref(), &request);
        self.write_opt(batch, options)
    }

    /// Changes the record's mode (rule 3): Governance → Compliance needs
    /// [`WriteOptions::bypass_governance`] while the record is protected;
    /// Compliance → Governance is never allowed.
    pub fn set_mode(
        &self,
        key: impl AsRef<[u8]>,
        mode: Mode,
        options: &WriteOptions,
    ) -> Result<()> {
        let request = StoredMeta {
            mode: Some(mode),
            ..StoredMeta::default()
        };
        let mut batch = WriteBatch::new();
        batch.retention_update(key.as_ref(), &request);
        self.write_opt(batch, options)
    }

    /// Defines a retention policy (rule 6), audited. Policies are
    /// immutable: defining the same policy again is a no-op, a different
    /// one under the same name is [`Error::InvalidArgument`].
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// use holdfast::{years, Db, Options, Policy, Retention};
    /// let db = Db::open(dir.path(), Options::default())?;
    /// db.define_policy(Policy::new("invoice").retain_for(years(7)).then_dispose())?;
    /// db.define_policy(
    ///     Policy::new("account")
    ///         .retain_for(years(6))
    ///         .retain_after_event("account-closed", years(6))
    ///         .then_dispose(),
    /// )?;
    /// db.set_default_policy("invoice/", "invoice")?;
    /// db.put("invoice/0001", "ACME")?; // gets the default policy
    /// assert_eq!(db.get_record("invoice/0001")?.unwrap().meta.policy.as_deref(), Some("invoice"));
    /// # Ok(()) }
    /// ```
    pub fn define_policy(&self, policy: Policy) -> Result<()> {
        self.engine().check_writable()?;
        policy.validate().map_err(Error::InvalidArgument)?;
        let definition = policy.canonical();
        let records = &self.engine().records;
        if let Some(existing) = records.registry.read().policies.get(policy.name()) {
            return match existing == &policy {
                true => Ok(()),
                false => Err(Error::InvalidArgument(format!(
                    "policy {:?} is already defined differently ({}); policies are immutable",
                    policy.name(),
                    existing.canonical()
                ))),
            };
        }
        let name = policy.name().to_string();
        records.change_registry(
            crate::records::DEFAULT_ACTOR,
            |registry| match registry.policies.contains_key(name.as_str()) {
                true => Err(Error::InvalidArgument(format!(
                    "policy {name:?} is already defined"
                ))),
                false => Ok(AuditEvent::PolicyDefined {
                    policy: name.clone(),
                    definition,
                }),
            },
            apply,
        )?;
        Ok(())
    }

    /// Makes `policy` the default for new records under `prefix` that name
    /// no policy of their own, plain `put`s included (rule 6). Records
    /// written before keep what they had. Audited.
    pub fn set_default_policy(&self, prefix: impl AsRef<[u8]>, policy: &str) -> Result<()> {
        self.change_default(prefix.as_ref(), Some(policy))
    }

    /// Removes the default policy of `prefix`. Audited.
    pub fn clear_default_policy(&self, prefix: impl AsRef<[u8]>) -> Result<()> {
        self.change_default(prefix.as_ref(), None)
    }

    fn change_default(&self, prefix: &[u8], policy: Option<&str>) -> Result<()> {
        self.engine().check_writable()?;
        if prefix.len() > crate::KEY_LEN_MAX {
            return Err(Error::InvalidArgument(
                "prefix is longer than a key may be".into(),
            ));
        }
        let prefix = prefix.to_vec();
        self.engine().records.change_registry(
            crate::records::DEFAULT_ACTOR,
            |registry| {
                if let Some(name) = policy {
                    if !registry.policies.contains_key(name) {
                        return Err(Error::InvalidArgument(format!(
                            "unknown retention policy {name:?}"
                        )));
                    }
                }
                Ok(AuditEvent::DefaultPolicySet {
                    prefix: prefix.clone(),
                    policy: policy.map(str::to_string),
                    previous: registry.defaults.get(&prefix).cloned(),
                })
            },
            apply,
        )?;
        Ok(())
    }

    /// Records that `event` happened at `at` for the keys of `scope`
    /// (rule 6): records whose policy waits for it get their dates from
    /// it (the latest recording wins). `at` may not be in the future.
    /// Audited.
    pub fn record_event(&self, event: &str, scope: Scope, at: Timestamp) -> Result<()> {
        self.engine().check_writable()?;
        if event.is_empty() || event.len() > 256 {
            return Err(Error::InvalidArgument(
                "event names are 1 to 256 bytes".into(),
            ));
        }
        check_scope(&scope)?;
        let records = Arc::clone(&self.engine().records);
        let now = records.now()?;
        if at.as_millis() > now {
            return Err(Error::InvalidArgument(format!(
                "event time {at} is in the future (now is {})",
                Timestamp::from_millis(now)
            )));
        }
        let _gate = records.disposal_gate.write();
        records.change_registry(
            crate::records::DEFAULT_ACTOR,
            |_| {
                Ok(AuditEvent::EventRecorded {
                    event: event.to_string(),
                    scope: scope.clone(),
                    at: at.as_millis(),
                })
            },
            apply,
        )?;
        Ok(())
    }

    /// Places a legal hold (rule 4): while it is in force, no record it
    /// covers can be overwritten, deleted, shortened or disposed of — not
    /// even with a Governance bypass. Audited with the issuer as actor.
    pub fn place_hold(&self, hold: Hold) -> Result<()> {
        self.engine().check_writable()?;
        hold.validate().map_err(Error::InvalidArgument)?;
        let records = Arc::clone(&self.engine().records);
        // No disposal decides while the set of holds changes.
        let _gate = records.disposal_gate.write();
        records.change_registry(
            &hold.issuer,
            |registry| match registry.holds.get(&hold.id) {
                Some(_) => Err(Error::InvalidArgument(format!(
                    "hold {:?} is already in force",
                    hold.id
                ))),
                None => Ok(AuditEvent::HoldPlaced {
                    hold_id: hold.id.clone(),
                    scope: hold.scope.clone(),
                    reason: hold.reason.clone(),
                }),
            },
            apply,
        )?;
        Ok(())
    }

    /// Releases the hold `id`; the records it covered are free again unless
    /// another hold covers them. Audited.
    pub fn release_hold(&self, id: &str) -> Result<PlacedHold> {
        self.engine().check_writable()?;
        let records = Arc::clone(&self.engine().records);
        let _gate = records.disposal_gate.write();
        let mut released = None;
        records.change_registry(
            crate::records::DEFAULT_ACTOR,
            |registry| match registry.holds.get(id) {
                None => Err(Error::InvalidArgument(format!(
                    "no hold {id:?} is in force"
                ))),
                Some(placed) => {
                    released = Some(placed.clone());
                    Ok(AuditEvent::HoldReleased {
                        hold_id: id.to_string(),
                        scope: placed.hold.scope.clone(),
                        reason: "released".into(),
                    })
                }
            },
            apply,
        )?;
        released.ok_or_else(|| Error::InvalidArgument(format!("no hold {id:?} is in force")))
    }

    /// The holds in force, by id.
    pub fn holds(&self) -> Vec<PlacedHold> {
        self.engine().records.holds()
    }

    /// The defined policies, by name.
    pub fn policies(&self) -> Vec<Policy> {
        let registry = self.engine().records.registry.read();
        let mut out: Vec<Policy> = registry.policies.values().cloned().collect();
        out.sort_by(|a, b| a.name().cmp(b.name()));
        out
    }

    /// The records eligible for disposal now (expired, no hold), in key
    /// order — what [`Disposal::Review`](crate::Disposal::Review) asks the
    /// application to approve with [`Db::dispose`].
    pub fn eligible_for_disposal(&self) -> Result<std::vec::IntoIter<Record>> {
        let engine = self.engine();
        engine.check_open()?;
        let guard = engine.snapshots.register_current(&engine.visible_seq);
        let eligible = engine.eligible(guard)?;
        engine.records.maybe_persist_clock();
        Ok(eligible.into_iter())
    }

    /// Counts the live records by state (with metadata, retained,
    /// Compliance, held, eligible) as of now. It reads every key of the
    /// database — a scan, unlike the counters of [`Db::stats`].
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// use holdfast::{Db, Options, Retention, Timestamp};
    /// let db = Db::open(dir.path(), Options::default())?;
    /// let until = Timestamp::from_date(2100, 1, 1).unwrap();
    /// db.put_with("contract/1", "...", &Retention::new().retain_until(until).compliance())?;
    /// db.put("note/1", "no retention")?;
    /// let counts = db.record_stats()?;
    /// assert_eq!((counts.records, counts.retained, counts.compliance), (1, 1, 1));
    /// # Ok(()) }
    /// ```
    pub fn record_stats(&self) -> Result<crate::RecordStats> {
        let engine = self.engine();
        engine.check_open()?;
        let guard = engine.snapshots.register_current(&engine.visible_seq);
        let stats = engine.record_stats(guard)?;
        engine.records.maybe_persist_clock();
        Ok(stats)
    }

    /// Disposes of eligible records with `approver`'s approval: a receipt
    /// per record goes to the audit trail (fsynced), then the records are
    /// deleted; [`Db::purge`] (or the purge window) removes their bytes.
    /// A key that is not eligible (or held) fails the call before anything
    /// is written. Returns how many were disposed of.
    pub fn dispose<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
        approver: &str,
    ) -> Result<u64> {
        self.engine().check_writable()?;
        let keys: Vec<Bytes> = keys
            .into_iter()
            .map(|k| Bytes::copy_from_slice(k.as_ref()))
            .collect();
        self.engine().dispose(&keys, approver)
    }

    /// Removes the bytes of deleted, overwritten and disposed records from
    /// every file of the database now (rule 10): memtables are flushed and
    /// their WAL segments deleted, every table is compacted to the bottom,
    /// and the manifest is rewritten. In [`Disposal::Automatic`](crate::Disposal::Automatic),
    /// eligible records are disposed of on the way (with receipts).
    /// Versions that a live snapshot or iterator can read are kept.
    pub fn purge(&self) -> Result<PurgeReport> {
        self.engine().check_writable()?;
        self.engine().purge()
    }

    /// The audit trail (rule 9).
    pub fn audit(&self) -> Audit {
        Audit {
            records: Arc::clone(&self.engine().records),
        }
    }
}

fn apply(registry: &mut crate::records::Registry, entry: &crate::audit::AuditEntry) -> Result<()> {
    registry
        .apply(entry)
        .map_err(|why| Error::InvalidArgument(format!("internal: registry: {why}")))
}

fn check_scope(scope: &Scope) -> Result<()> {
    let bytes = match scope {
        Scope::Key(key) => {
            crate::key::check_key(key).map_err(Error::InvalidArgument)?;
            key
        }
        Scope::Prefix(prefix) => prefix,
    };
    if bytes.len() > crate::KEY_LEN_MAX {
        return Err(Error::InvalidArgument(
            "scope is longer than a key may be".into(),
        ));
    }
    Ok(())
}
