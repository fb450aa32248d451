//! The records layer: per-record retention (Governance and Compliance
//! modes), legal holds, policies with events, expiry and disposal with
//! receipts, purge, and the audit trail — the contract of
//! `shared/RECORDS.md`, explained for users in `docs/RECORDS.md`.
//!
//! # Layout
//! | file           | owns                                                        |
//! |----------------|-------------------------------------------------------------|
//! | `time.rs`      | [`Timestamp`], [`Period`], the [`Clock`] trait and clocks    |
//! | `policy.rs`    | [`Policy`], [`Mode`], the policies' canonical text          |
//! | `holds.rs`     | [`Hold`] and the in-memory set of holds in force            |
//! | `events.rs`    | recorded policy events and their lookup                     |
//! | `meta.rs`      | the metadata stored with a record version (on-disk bytes)   |
//! | `registry.rs`  | policies, defaults, events and holds: rebuilt from the audit trail; the effective dates of a record (a pure function) |
//! | `state.rs`     | `Records`: the engine's records component (clock, registry, audit trail), and what readers see |
//! | `check.rs`     | the write checks of rules 1–4 and 7, run by the commit leader |
//! | `disposal.rs`  | compaction's disposal verdict, receipts, purge              |
//!
//! # How it fits in the engine
//! * Metadata travels *in* the record version: an entry of kind `Record`
//!   stores `meta | value`; a plain `put` stores none (its kind byte is all
//!   it pays). Extends and mode changes are `RetentionUpdate` entries that
//!   carry the complete new metadata and no value.
//! * Protection is *computed*, not stored: effective dates =
//!   f(stored metadata, policy definitions, recorded events), and "held" =
//!   some hold covers the key. Reads, write checks and compaction all call
//!   the same pure function (`Registry::effective`).
//! * The audit trail is the durable home of policies, defaults, events and
//!   holds: each is one fsynced audit entry, and opening the database
//!   replays the trail to rebuild them. A record's retention-set entry is
//!   appended after its WAL write and regenerated from the WAL on recovery
//!   if a crash lost it; privileged changes (extend, shorten, mode change,
//!   bypass) are audited and fsynced *before* their WAL write.
//!
//! # Invariants
//! 1. Every write of a protected or held key passes the checks in the
//!    commit leader, in commit order, against the newest state including
//!    earlier writes of the same group: two racing writers cannot both pass.
//! 2. "Now" never runs backwards: it is the maximum of the clock and the
//!    highest time seen (persisted across restarts through the trail and
//!    the WAL). A failed clock makes protected writes fail (closed).
//! 3. A record is disposed of only when eligible and unheld under the
//!    registry as it is when the disposal is installed, and only after its
//!    receipt is durable in the trail.

pub(crate) mod check;
mod disposal;
mod events;
mod holds;
pub(crate) mod meta;
mod policy;
mod registry;
mod state;
mod time;

pub use crate::audit::{AuditCheckpoint, AuditEntry, AuditEvent, Scope};
pub use disposal::{PurgeReport, RecordStats};
pub use events::RecordedEvent;
pub use holds::{Hold, PlacedHold};
pub use policy::{Clause, Mode, Policy};
pub(crate) use registry::Registry;
pub use state::Audit;
pub(crate) use state::{ReadResolver, Records, Unaudited, DEFAULT_ACTOR};
pub use time::{
    days, hours, millis, minutes, months, seconds, years, Clock, ManualClock, Period, SystemClock,
    Timestamp,
};

use crate::iter::Visible;
use crate::Result;
use bytes::Bytes;
use meta::{StoredMeta, META_TEXT_MAX};

/// Retention to give a record as it is written (RECORDS.md rules 1–7):
///
/// ```
/// use holdfast::{Retention, Timestamp};
/// let until = Timestamp::from_date(2033, 11, 24).unwrap();
/// let retention = Retention::new().retain_until(until).compliance();
/// let by_policy = Retention::new().policy("invoice");
/// # let _ = (retention, by_policy);
/// ```
///
/// With a policy, the policy computes the dates at write time from the
/// engine's clock; explicit dates given too are combined (the later wins).
/// An explicit mode overrides the policy's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    retain_until: Option<Timestamp>,
    mode: Option<Mode>,
    expires_at: Option<Timestamp>,
    policy: Option<String>,
}

impl Retention {
    /// No retention yet (the database's default policy for the key's
    /// prefix, if any, applies).
    pub fn new() -> Retention {
        Retention::default()
    }

    /// Protects the record until `until` (Governance mode unless
    /// [`compliance`](Self::compliance) is chosen). Must be in the future.
    pub fn retain_until(mut self, until: Timestamp) -> Retention {
        self.retain_until = Some(until);
        self
    }

    /// Governance mode: early overwrite, delete or shortening is possible
    /// with [`WriteOptions::bypass_governance`](crate::WriteOptions::bypass_governance), always audited.
    pub fn governance(mut self) -> Retention {
        self.mode = Some(Mode::Governance);
        self
    }

    /// Compliance mode: nothing shortens the retention or removes the
    /// record before `retain_until` — no option, no API, no compaction.
    pub fn compliance(mut self) -> Retention {
        self.mode = Some(Mode::Compliance);
        self
    }

    /// After `at`, the record is eligible for disposal (invisible to reads,
    /// then physically removed). Must not be before `retain_until`.
    pub fn expires_at(mut self, at: Timestamp) -> Retention {
        self.expires_at = Some(at);
        self
    }

    /// Computes the dates with the named policy (see
    /// [`Db::define_policy`](crate::Db::define_policy)).
    pub fn policy(mut self, name: impl Into<String>) -> Retention {
        self.policy = Some(name.into());
        self
    }

    /// The most bytes the encoded request takes, to size a batch before
    /// it is built.
    pub(crate) fn request_len_estimate(&self) -> usize {
        StoredMeta::encoded_len_max(self.policy.as_deref(), None)
    }

    /// The request the batch carries to the commit leader; the checks that
    /// need no database state are done here (rule 7).
    pub(crate) fn to_request(&self) -> std::result::Result<meta::MetaRef<'_>, String> {
        if let (Some(retain), Some(expires)) = (self.retain_until, self.expires_at) {
            if expires < retain {
                return Err(format!(
                    "expires_at {expires} is before retain_until {retain}"
                ));
            }
        }
        if self.mode.is_some() && self.retain_until.is_none() && self.policy.is_none() {
            return Err("a retention mode needs retain_until or a policy".into());
        }
        if let Some(policy) = &self.policy {
            if policy.is_empty() || policy.len() > META_TEXT_MAX {
                return Err(format!(
                    "policy name must be 1 to {META_TEXT_MAX} bytes, got {}",
                    policy.len()
                ));
            }
        }
        Ok(meta::MetaRef {
            written_at: 0,
            retain_until: self.retain_until.map(Timestamp::as_millis),
            mode: self.mode.or(self.retain_until.map(|_| Mode::Governance)),
            expires_at: self.expires_at.map(Timestamp::as_millis),
            policy: self.policy.as_deref(),
            actor: None,
            clear: false,
        })
    }
}

/// A record's retention metadata, as [`Db::get_record`](crate::Db::get_record) reports it:
/// the effective dates (policies and recorded events applied) and the
/// holds in force over the key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordMeta {
    /// Engine clock when the version was written; `None` for a plain `put`
    /// (plain records carry no metadata, not even this).
    pub written_at: Option<Timestamp>,
    /// Before this instant the record can be neither overwritten nor
    /// deleted; [`Timestamp::MAX`] while a policy waits for its event.
    pub retain_until: Option<Timestamp>,
    /// The protection's mode.
    pub mode: Option<Mode>,
    /// After this instant (and while no hold covers it) the record is
    /// eligible for disposal.
    pub expires_at: Option<Timestamp>,
    /// The policy that computed the dates.
    pub policy: Option<String>,
    /// The event the policy still waits for, if any.
    pub event_pending: Option<String>,
    /// Ids of the holds covering the key, ascending.
    pub holds: Vec<String>,
}

/// A record: its value and its retention metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: Bytes,
    /// The retention metadata.
    pub meta: RecordMeta,
}

/// Who disposes of eligible records (RECORDS.md rule 5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disposal {
    /// Compaction disposes of eligible records on its own, each with a
    /// receipt in the audit trail (the default).
    #[default]
    Automatic,
    /// Eligible records stay (invisible) until the application lists them
    /// with [`Db::eligible_for_disposal`](crate::Db::eligible_for_disposal)
    /// and approves them with [`Db::dispose`](crate::Db::dispose).
    Review,
}

/// The user value of a version, metadata stripped, nothing hidden (for
/// iterators built without the records layer, e.g. in unit tests).
pub(crate) fn strip_meta(item: &Visible) -> Result<Bytes> {
    Records::split(&item.key, item.kind, &item.value, item.update.as_ref()).map(|(_, value)| value)
}

/// A key for messages: UTF-8 text quoted when it is printable, hex otherwise.
pub(crate) fn display_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) if !text.chars().any(char::is_control) => format!("{text:?}"),
        _ => key.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// A record's stored metadata did not decode: the bytes came from disk.
pub(crate) fn meta_corruption(key: &[u8], why: String) -> crate::Error {
    crate::Error::corruption(
        format!("(record {})", display_key(key)),
        0,
        format!("record metadata: {why}"),
    )
}
