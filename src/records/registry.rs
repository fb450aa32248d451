//! The records layer's shared state — policies, default policies by
//! prefix, recorded events and holds in force — and the pure function that
//! turns a record's stored metadata into its effective protection.
//!
//! The audit trail is the durable home of this state: every change is one
//! fsynced audit entry, and [`Registry::apply`] replays the trail on open.
//!
//! # Invariants
//! 1. Policies are immutable once defined (a second definition under the
//!    same name is refused), so the dates of a record written under a
//!    policy never change behind its back.
//! 2. `effective` is pure: the same metadata, registry and key give the
//!    same answer in reads, write checks and compaction.

use super::events::{EventRegistry, RecordedEvent};
use super::holds::{Hold, HoldSet, PlacedHold};
use super::meta::{MetaRef, StoredMeta};
use super::policy::{Mode, Policy};
use super::time::Timestamp;
use crate::audit::{AuditEntry, AuditEvent};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Policies, defaults, events and holds.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// By name; the name is shared (`Arc`) so that the commit path can
    /// hand it to queued audit entries without copying it. (A B-tree: for
    /// the handful of policies a database has, comparing names is cheaper
    /// than hashing one.)
    pub policies: BTreeMap<Arc<str>, Policy>,
    /// Default policy by key prefix.
    pub defaults: BTreeMap<Vec<u8>, String>,
    pub events: EventRegistry,
    pub holds: HoldSet,
}

/// A record's effective protection at some instant's registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Effective {
    pub retain_until: Option<i64>,
    pub mode: Option<Mode>,
    pub expires_at: Option<i64>,
    /// The event a policy clause still waits for (retained indefinitely).
    pub event_pending: Option<String>,
}

impl Effective {
    /// Protected by its dates at `now` (rule 1).
    pub(crate) fn protected(&self, now: i64) -> bool {
        self.retain_until.is_some_and(|until| now < until)
    }

    /// Past its expiry at `now` (eligible unless held; rule 5).
    pub(crate) fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

impl Registry {
    /// The effective dates of the record `key` whose stored metadata is
    /// `meta`: its own dates, combined (latest wins) with its policy's
    /// event clauses under the recorded events.
    pub(crate) fn effective(&self, key: &[u8], meta: &StoredMeta) -> Effective {
        let policy = meta.policy.as_deref().and_then(|p| self.policies.get(p));
        self.effective_of(key, meta.as_ref(), policy)
    }

    /// [`Registry::effective`] with the metadata's policy already looked up
    /// (`None` when it names none, or one not defined).
    pub(crate) fn effective_of(
        &self,
        key: &[u8],
        meta: MetaRef<'_>,
        policy: Option<&Policy>,
    ) -> Effective {
        let mut out = Effective {
            retain_until: meta.retain_until,
            mode: meta.mode,
            expires_at: meta.expires_at,
            event_pending: None,
        };
        let Some(policy) = policy else {
            return out;
        };
        out.mode = out.mode.or(Some(policy.mode()));
        for (event, period) in policy.event_clauses() {
            match self.events.latest(event, key) {
                Some(at) => {
                    let date = at.saturating_add(period).as_millis();
                    out.retain_until = Some(out.retain_until.map_or(date, |r| r.max(date)));
                    if policy.disposes() {
                        out.expires_at = Some(out.expires_at.map_or(date, |e| e.max(date)));
                    }
                }
                None => {
                    if out.event_pending.is_none() {
                        out.event_pending = Some(event.to_string());
                    }
                }
            }
        }
        if out.event_pending.is_some() {
            // Retained indefinitely until the event is recorded (rule 6).
            out.retain_until = Some(Timestamp::MAX.as_millis());
            out.expires_at = None;
        }
        // A record never expires while protected (rule 5 after rule 1): an
        // event clause can move retain_until past a stored expires_at.
        if let (Some(retain), Some(expires)) = (out.retain_until, out.expires_at) {
            out.expires_at = Some(expires.max(retain));
        }
        out
    }

    /// True when some prefix has a default policy.
    pub(crate) fn has_default_policies(&self) -> bool {
        !self.defaults.is_empty()
    }

    /// The default policy of the longest defined prefix of `key`.
    pub(crate) fn default_policy(&self, key: &[u8]) -> Option<&str> {
        if self.defaults.is_empty() {
            return None;
        }
        (0..=key.len())
            .rev()
            .find_map(|len| self.defaults.get(&key[..len]))
            .map(String::as_str)
    }

    /// Replays one audit entry (opening the database rebuilds the registry
    /// from the whole trail). Entries that change no state are ignored.
    pub(crate) fn apply(&mut self, entry: &AuditEntry) -> Result<(), String> {
        match &entry.event {
            AuditEvent::PolicyDefined { policy, definition } => {
                let parsed = Policy::parse_canonical(policy, definition)?;
                self.policies.insert(Arc::from(policy.as_str()), parsed);
            }
            AuditEvent::DefaultPolicySet { prefix, policy, .. } => match policy {
                Some(name) => {
                    self.defaults.insert(prefix.clone(), name.clone());
                }
                None => {
                    self.defaults.remove(prefix);
                }
            },
            AuditEvent::EventRecorded { event, scope, at } => {
                self.events.record(RecordedEvent {
                    event: event.clone(),
                    scope: scope.clone(),
                    at: Timestamp::from_millis(*at),
                });
            }
            AuditEvent::HoldPlaced {
                hold_id,
                scope,
                reason,
            } => {
                let hold = Hold {
                    id: hold_id.clone(),
                    scope: scope.clone(),
                    reason: reason.clone(),
                    issuer: entry.actor.clone(),
                };
                self.holds.insert(PlacedHold {
                    hold,
                    placed_at: Timestamp::from_millis(entry.time),
                })?;
            }
            AuditEvent::HoldReleased { hold_id, .. } if self.holds.remove(hold_id).is_none() => {
                return Err(format!("release of hold {hold_id:?} that is not in force"));
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Scope;
    use crate::records::time::years;

    fn registry_with_account_policy() -> Registry {
        let mut registry = Registry::default();
        let policy = Policy::new("account")
            .retain_after_event("account-closed", years(6))
            .then_dispose();
        registry.policies.insert("account".into(), policy);
        registry
    }

    #[test]
    fn event_clauses_wait_then_date_from_the_latest_event() {
        let mut registry = registry_with_account_policy();
        let meta = StoredMeta {
            written_at: 1_000,
            policy: Some("account".into()),
            ..StoredMeta::default()
        };
        let pending = registry.effective(b"account/42/a", &meta);
        assert_eq!(pending.event_pending.as_deref(), Some("account-closed"));
        assert!(pending.protected(i64::MAX - 1));
        assert!(!pending.expired(i64::MAX - 1));
        let closed = Timestamp::from_date(2030, 2, 28).unwrap();
        registry.events.record(RecordedEvent {
            event: "account-closed".into(),
            scope: Scope::Prefix(b"account/42/".to_vec()),
            at: closed,
        });
        let dated = registry.effective(b"account/42/a", &meta);
        let until = closed.saturating_add(years(6)).as_millis();
        assert_eq!(dated.retain_until, Some(until));
        assert_eq!(dated.expires_at, Some(until));
        assert!(dated.protected(until - 1) && !dated.protected(until));
        assert!(dated.expired(until));
        // Another account is still waiting.
        assert!(registry
            .effective(b"account/7/a", &meta)
            .event_pending
            .is_some());
    }

    #[test]
    fn an_event_date_past_the_expiry_moves_the_expiry() {
        let mut registry = Registry::default();
        let keep = Policy::new("keep").retain_after_event("closed", years(6));
        registry.policies.insert("keep".into(), keep);
        let meta = StoredMeta {
            written_at: 0,
            expires_at: Some(1_000),
            policy: Some("keep".into()),
            ..StoredMeta::default()
        };
        registry.events.record(RecordedEvent {
            event: "closed".into(),
            scope: Scope::Key(b"k".to_vec()),
            at: Timestamp::from_millis(500),
        });
        let effective = registry.effective(b"k", &meta);
        let until = Timestamp::from_millis(500)
            .saturating_add(years(6))
            .as_millis();
        assert_eq!(effective.retain_until, Some(until));
        assert_eq!(effective.expires_at, Some(until));
        assert!(!effective.expired(until - 1));
    }

    #[test]
    fn longest_default_prefix_wins() {
        let mut registry = Registry::default();
        registry.defaults.insert(b"inv/".to_vec(), "invoice".into());
        registry.defaults.insert(b"inv/eu/".to_vec(), "eu".into());
        assert_eq!(registry.default_policy(b"inv/eu/1"), Some("eu"));
        assert_eq!(registry.default_policy(b"inv/us/1"), Some("invoice"));
        assert_eq!(registry.default_policy(b"other"), None);
    }
}
