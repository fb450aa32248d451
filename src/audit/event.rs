//! What an audit entry records: [`AuditEvent`], one variant per event of
//! the records contract (RECORDS.md rule 9), and its byte encoding.
//!
//! An event is a tag byte followed by the variant's fields in declaration
//! order, each in the primitives of [`super::wire`]:
//!
//! | tag | event                  | fields                                                                                   |
//! |-----|------------------------|------------------------------------------------------------------------------------------|
//! | 0   | —                      | invalid (a zeroed region never decodes)                                                  |
//! | 1   | `PolicyDefined`        | policy text, definition text                                                             |
//! | 2   | `DefaultPolicySet`     | prefix bytes, policy opt⟨text⟩, previous opt⟨text⟩                                       |
//! | 3   | `RetentionSet`         | record_seq u64, key bytes, retain_until opt⟨i64⟩, mode opt⟨mode⟩, expires_at opt⟨i64⟩, policy opt⟨text⟩, event_pending opt⟨text⟩, content_hash opt⟨hash⟩ |
//! | 4   | `RetentionExtended`    | key bytes, mode, from i64, to i64                                                        |
//! | 5   | `RetentionShortened`   | key bytes, from i64, to opt⟨i64⟩, reason text                                            |
//! | 6   | `ModeChanged`          | key bytes, from mode, to mode, retain_until i64, reason text                             |
//! | 7   | `HoldPlaced`           | hold_id text, scope, reason text                                                         |
//! | 8   | `HoldReleased`         | hold_id text, scope, reason text                                                         |
//! | 9   | `GovernanceBypass`     | key bytes, action, retain_until i64, reason text                                         |
//! | 10  | `EventRecorded`        | event text, scope, at i64                                                                |
//! | 11  | `Disposed`             | record id, written_at i64, retain_until opt⟨i64⟩, expires_at i64, policy opt⟨text⟩, content_hash hash, approver opt⟨text⟩ |
//! | 12  | `Purged`               | records u64, bytes u64, files u64                                                        |
//! | 13  | `ClockAdvanced`        | from i64, to i64                                                                         |
//! | 14  | `TornTailRemoved`      | offset u64, bytes u64                                                                    |
//!
//! Small enums are one byte: mode (1 `Governance`, 2 `Compliance`), scope
//! (1 `Key` then bytes, 2 `Prefix` then bytes), record id (1 `Key` then
//! bytes, 2 `KeyDigest` then hash), bypass action (1 `Overwrite`,
//! 2 `Delete`). In every tag space 0 is invalid; a retired value is left
//! as a comment and never reused.
//!
//! # Invariants
//! 1. Keys and prefixes are at most [`KEY_LEN_MAX`] bytes and every text
//!    field at most [`TEXT_LEN_MAX`] bytes, on encode (the entry is refused)
//!    and on decode (the bytes are corrupt).
//! 2. Adding a variant takes a new tag; changing a variant's fields takes a
//!    new tag too (old logs keep decoding with the old one).

use super::wire::{DecodeError, Reader, Writer};
use super::AuditHash;
use crate::key::KEY_LEN_MAX;

/// Largest text field (actor, reason, policy, hold id, …) in bytes.
pub const TEXT_LEN_MAX: usize = 64 * 1024;

/// A record's retention mode, as recorded in the trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RetentionMode {
    /// May be bypassed by an explicit, audited option.
    Governance = 1,
    /// Nothing bypasses it.
    Compliance = 2,
}

/// What a hold or a recorded event covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Exactly one key.
    Key(Vec<u8>),
    /// Every key that starts with these bytes (empty: every key).
    Prefix(Vec<u8>),
}

/// How a disposal receipt names the record it destroyed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordId {
    /// The key itself.
    Key(Vec<u8>),
    /// A keyed digest of the key (e.g. HMAC-SHA-256 under a secret the
    /// application holds), for keys that are personal data themselves: the
    /// receipt proves the disposal without keeping what was erased.
    KeyDigest(AuditHash),
}

/// What a governance bypass allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BypassAction {
    /// A protected record was overwritten.
    Overwrite = 1,
    /// A protected record was deleted.
    Delete = 2,
}

/// The receipt a disposal leaves: the record's "ghost" that outlives its
/// content (RECORDS.md rule 5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DisposalReceipt {
    /// The record destroyed.
    pub record: RecordId,
    /// When the record was written (engine clock, ms since the epoch).
    pub written_at: i64,
    /// Its retention date, if it had one.
    pub retain_until: Option<i64>,
    /// The expiry that made it eligible.
    pub expires_at: i64,
    /// The policy that computed its dates, if any.
    pub policy: Option<String>,
    /// SHA-256 of the value that was destroyed.
    pub content_hash: AuditHash,
    /// Who approved the disposal (`Disposal::Review`); `None` when the
    /// disposal was automatic.
    pub approver: Option<String>,
}

/// One event of the records layer. Times are engine-clock milliseconds
/// since the Unix epoch (UTC); the entry that carries the event adds when
/// it was recorded and by whom.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    /// A retention policy was defined or redefined.
    PolicyDefined {
        /// The policy's name.
        policy: String,
        /// A stable, human-readable rendering of its clauses (the records
        /// layer's canonical text, e.g. `"retain 7y after created; dispose"`).
        definition: String,
    },
    /// The default policy of a key prefix was set or cleared.
    DefaultPolicySet {
        /// The prefix.
        prefix: Vec<u8>,
        /// The new default; `None` clears it.
        policy: Option<String>,
        /// The default it replaced.
        previous: Option<String>,
    },
    /// A record's retention metadata was set (at write or later). `None`
    /// fields were not set.
    RetentionSet {
        /// The sequence number of the record version in the database (so
        /// recovery can tell which versions' entries a crash lost).
        record_seq: u64,
        /// The record's key.
        key: Vec<u8>,
        /// Before this instant the record is protected.
        retain_until: Option<i64>,
        /// The protection's mode.
        mode: Option<RetentionMode>,
        /// After this instant the record is eligible for disposal.
        expires_at: Option<i64>,
        /// The policy that computed the dates.
        policy: Option<String>,
        /// The event the policy waits for (retained indefinitely until then).
        event_pending: Option<String>,
        /// SHA-256 of the record's value.
        content_hash: Option<AuditHash>,
    },
    /// `retain_until` moved later.
    RetentionExtended {
        /// The record's key.
        key: Vec<u8>,
        /// The record's mode.
        mode: RetentionMode,
        /// The previous `retain_until`.
        from: i64,
        /// The new `retain_until`.
        to: i64,
    },
    /// `retain_until` moved earlier or was removed (Governance, bypass).
    RetentionShortened {
        /// The record's key.
        key: Vec<u8>,
        /// The previous `retain_until`.
        from: i64,
        /// The new `retain_until`; `None` when retention was removed.
        to: Option<i64>,
        /// The bypass's reason.
        reason: String,
    },
    /// A record's mode changed (Governance → Compliance, with the bypass).
    ModeChanged {
        /// The record's key.
        key: Vec<u8>,
        /// The previous mode.
        from: RetentionMode,
        /// The new mode.
        to: RetentionMode,
        /// The record's `retain_until` at the change.
        retain_until: i64,
        /// The bypass's reason.
        reason: String,
    },
    /// A legal hold was placed. The entry's actor is the hold's issuer.
    HoldPlaced {
        /// The hold's id.
        hold_id: String,
        /// What it covers.
        scope: Scope,
        /// Why (e.g. the case it serves).
        reason: String,
    },
    /// A legal hold was released.
    HoldReleased {
        /// The hold's id.
        hold_id: String,
        /// What it covered.
        scope: Scope,
        /// Why it was released.
        reason: String,
    },
    /// A Governance protection was bypassed to overwrite or delete early.
    GovernanceBypass {
        /// The record's key.
        key: Vec<u8>,
        /// What the bypass allowed.
        action: BypassAction,
        /// The protection that was bypassed.
        retain_until: i64,
        /// The reason given with the bypass.
        reason: String,
    },
    /// A policy event (e.g. `"account-closed"`) was recorded.
    EventRecorded {
        /// The event's name.
        event: String,
        /// The keys it applies to.
        scope: Scope,
        /// When the event happened, as stated by the caller.
        at: i64,
    },
    /// A record was physically disposed of.
    Disposed(DisposalReceipt),
    /// A purge removed bytes from the database's files.
    Purged {
        /// Record versions removed.
        records: u64,
        /// Bytes of keys and values removed.
        bytes: u64,
        /// Files rewritten or removed.
        files: u64,
    },
    /// The engine's clock jumped forward (recorded by the records layer
    /// when a jump exceeds what it considers normal).
    ClockAdvanced {
        /// The highest time seen before.
        from: i64,
        /// The new time.
        to: i64,
    },
    /// Opening the trail cut a damaged tail (see `AuditLog::torn_tail`);
    /// the records layer records the cut so it is itself in the trail.
    TornTailRemoved {
        /// Where in the file the cut bytes began.
        offset: u64,
        /// How many bytes were cut.
        bytes: u64,
    },
}

// Event tags. Never reuse a value; retire one by leaving it here as a comment.
const TAG_POLICY_DEFINED: u8 = 1;
const TAG_DEFAULT_POLICY_SET: u8 = 2;
const TAG_RETENTION_SET: u8 = 3;
const TAG_RETENTION_EXTENDED: u8 = 4;
const TAG_RETENTION_SHORTENED: u8 = 5;
const TAG_MODE_CHANGED: u8 = 6;
const TAG_HOLD_PLACED: u8 = 7;
const TAG_HOLD_RELEASED: u8 = 8;
const TAG_GOVERNANCE_BYPASS: u8 = 9;
const TAG_EVENT_RECORDED: u8 = 10;
const TAG_DISPOSED: u8 = 11;
const TAG_PURGED: u8 = 12;
const TAG_CLOCK_ADVANCED: u8 = 13;
const TAG_TORN_TAIL_REMOVED: u8 = 14;

const SCOPE_KEY: u8 = 1;
const SCOPE_PREFIX: u8 = 2;
const RECORD_KEY: u8 = 1;
const RECORD_KEY_DIGEST: u8 = 2;

impl AuditEvent {
    /// The event's tag byte.
    pub fn tag(&self) -> u8 {
        match self {
            AuditEvent::PolicyDefined { .. } => TAG_POLICY_DEFINED,
            AuditEvent::DefaultPolicySet { .. } => TAG_DEFAULT_POLICY_SET,
            AuditEvent::RetentionSet { .. } => TAG_RETENTION_SET,
            AuditEvent::RetentionExtended { .. } => TAG_RETENTION_EXTENDED,
            AuditEvent::RetentionShortened { .. } => TAG_RETENTION_SHORTENED,
            AuditEvent::ModeChanged { .. } => TAG_MODE_CHANGED,
            AuditEvent::HoldPlaced { .. } => TAG_HOLD_PLACED,
            AuditEvent::HoldReleased { .. } => TAG_HOLD_RELEASED,
            AuditEvent::GovernanceBypass { .. } => TAG_GOVERNANCE_BYPASS,
            AuditEvent::EventRecorded { .. } => TAG_EVENT_RECORDED,
            AuditEvent::Disposed(_) => TAG_DISPOSED,
            AuditEvent::Purged { .. } => TAG_PURGED,
            AuditEvent::ClockAdvanced { .. } => TAG_CLOCK_ADVANCED,
            AuditEvent::TornTailRemoved { .. } => TAG_TORN_TAIL_REMOVED,
        }
    }

    /// The event's name in exports (`snake_case`, stable).
    pub fn name(&self) -> &'static str {
        match self {
            AuditEvent::PolicyDefined { .. } => "policy_defined",
            AuditEvent::DefaultPolicySet { .. } => "default_policy_set",
            AuditEvent::RetentionSet { .. } => "retention_set",
            AuditEvent::RetentionExtended { .. } => "retention_extended",
            AuditEvent::RetentionShortened { .. } => "retention_shortened",
            AuditEvent::ModeChanged { .. } => "mode_changed",
            AuditEvent::HoldPlaced { .. } => "hold_placed",
            AuditEvent::HoldReleased { .. } => "hold_released",
            AuditEvent::GovernanceBypass { .. } => "governance_bypass",
            AuditEvent::EventRecorded { .. } => "event_recorded",
            AuditEvent::Disposed(_) => "disposed",
            AuditEvent::Purged { .. } => "purged",
            AuditEvent::ClockAdvanced { .. } => "clock_advanced",
            AuditEvent::TornTailRemoved { .. } => "torn_tail_removed",
        }
    }

    /// Appends the tag and fields (see the module table). A field past its
    /// limit is noted in `w` (invariant 1).
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.tag());
        match self {
            AuditEvent::PolicyDefined { policy, definition } => {
                text(w, policy, "policy");
                text(w, definition, "policy definition");
            }
            AuditEvent::DefaultPolicySet {
                prefix,
                policy,
                previous,
            } => {
                key(w, prefix, "prefix");
                w.opt(policy.as_deref(), |w, v| text(w, v, "policy"));
                w.opt(previous.as_deref(), |w, v| text(w, v, "previous policy"));
            }
            AuditEvent::RetentionSet {
                record_seq,
                key: k,
                retain_until,
                mode,
                expires_at,
                policy,
                event_pending,
                content_hash,
            } => {
                w.u64(*record_seq);
                key(w, k, "key");
                w.opt(retain_until.as_ref(), |w, v| w.i64(*v));
                w.opt(mode.as_ref(), |w, v| w.u8(*v as u8));
                w.opt(expires_at.as_ref(), |w, v| w.i64(*v));
                w.opt(policy.as_deref(), |w, v| text(w, v, "policy"));
                w.opt(event_pending.as_deref(), |w, v| text(w, v, "pending event"));
                w.opt(content_hash.as_ref(), |w, v| w.hash(v));
            }
            AuditEvent::RetentionExtended {
                key: k,
                mode,
                from,
                to,
            } => {
                key(w, k, "key");
                w.u8(*mode as u8);
                w.i64(*from);
                w.i64(*to);
            }
            AuditEvent::RetentionShortened {
                key: k,
                from,
                to,
                reason,
            } => {
                key(w, k, "key");
                w.i64(*from);
                w.opt(to.as_ref(), |w, v| w.i64(*v));
                text(w, reason, "reason");
            }
            AuditEvent::ModeChanged {
                key: k,
                from,
                to,
                retain_until,
                reason,
            } => {
                key(w, k, "key");
                w.u8(*from as u8);
                w.u8(*to as u8);
                w.i64(*retain_until);
                text(w, reason, "reason");
            }
            AuditEvent::HoldPlaced {
                hold_id,
                scope,
                reason,
            }
            | AuditEvent::HoldReleased {
                hold_id,
                scope,
                reason,
            } => {
                text(w, hold_id, "hold id");
                encode_scope(w, scope);
                text(w, reason, "reason");
            }
            AuditEvent::GovernanceBypass {
                key: k,
                action,
                retain_until,
                reason,
            } => {
                key(w, k, "key");
                w.u8(*action as u8);
                w.i64(*retain_until);
                text(w, reason, "reason");
            }
            AuditEvent::EventRecorded { event, scope, at } => {
                text(w, event, "event name");
                encode_scope(w, scope);
                w.i64(*at);
            }
            AuditEvent::Disposed(receipt) => {
                match &receipt.record {
                    RecordId::Key(k) => {
                        w.u8(RECORD_KEY);
                        key(w, k, "key");
                    }
                    RecordId::KeyDigest(digest) => {
                        w.u8(RECORD_KEY_DIGEST);
                        w.hash(digest);
                    }
                }
                w.i64(receipt.written_at);
                w.opt(receipt.retain_until.as_ref(), |w, v| w.i64(*v));
                w.i64(receipt.expires_at);
                w.opt(receipt.policy.as_deref(), |w, v| text(w, v, "policy"));
                w.hash(&receipt.content_hash);
                w.opt(receipt.approver.as_deref(), |w, v| text(w, v, "approver"));
            }
            AuditEvent::Purged {
                records,
                bytes,
                files,
            } => {
                w.u64(*records);
                w.u64(*bytes);
                w.u64(*files);
            }
            AuditEvent::ClockAdvanced { from, to } => {
                w.i64(*from);
                w.i64(*to);
            }
            AuditEvent::TornTailRemoved { offset, bytes } => {
                w.u64(*offset);
                w.u64(*bytes);
            }
        }
    }

    /// Reads an event (tag and fields) from `r`.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<AuditEvent, DecodeError> {
        let at = r.pos();
        let tag = r.u8("event tag")?;
        let event = match tag {
            TAG_POLICY_DEFINED => AuditEvent::PolicyDefined {
                policy: r.text("policy", TEXT_LEN_MAX)?,
                definition: r.text("policy definition", TEXT_LEN_MAX)?,
            },
            TAG_DEFAULT_POLICY_SET => AuditEvent::DefaultPolicySet {
                prefix: r.bytes("prefix", KEY_LEN_MAX)?,
                policy: r.opt("policy", |r| r.text("policy", TEXT_LEN_MAX))?,
                previous: r.opt("previous policy", |r| r.text("previous", TEXT_LEN_MAX))?,
            },
            TAG_RETENTION_SET => AuditEvent::RetentionSet {
                record_seq: r.u64("record_seq")?,
                key: r.bytes("key", KEY_LEN_MAX)?,
                retain_until: r.opt("retain_until", |r| r.i64("retain_until"))?,
                mode: r.opt("mode", decode_mode)?,
                expires_at: r.opt("expires_at", |r| r.i64("expires_at"))?,
                policy: r.opt("policy", |r| r.text("policy", TEXT_LEN_MAX))?,
                event_pending: r.opt("pending event", |r| r.text("event", TEXT_LEN_MAX))?,
                content_hash: r.opt("content hash", |r| r.hash("content hash"))?,
            },
            TAG_RETENTION_EXTENDED => AuditEvent::RetentionExtended {
                key: r.bytes("key", KEY_LEN_MAX)?,
                mode: decode_mode(r)?,
                from: r.i64("from")?,
                to: r.i64("to")?,
            },
            TAG_RETENTION_SHORTENED => AuditEvent::RetentionShortened {
                key: r.bytes("key", KEY_LEN_MAX)?,
                from: r.i64("from")?,
                to: r.opt("to", |r| r.i64("to"))?,
                reason: r.text("reason", TEXT_LEN_MAX)?,
            },
            TAG_MODE_CHANGED => AuditEvent::ModeChanged {
                key: r.bytes("key", KEY_LEN_MAX)?,
                from: decode_mode(r)?,
                to: decode_mode(r)?,
                retain_until: r.i64("retain_until")?,
                reason: r.text("reason", TEXT_LEN_MAX)?,
            },
            TAG_HOLD_PLACED => AuditEvent::HoldPlaced {
                hold_id: r.text("hold id", TEXT_LEN_MAX)?,
                scope: decode_scope(r)?,
                reason: r.text("reason", TEXT_LEN_MAX)?,
            },
            TAG_HOLD_RELEASED => AuditEvent::HoldReleased {
                hold_id: r.text("hold id", TEXT_LEN_MAX)?,
                scope: decode_scope(r)?,
                reason: r.text("reason", TEXT_LEN_MAX)?,
            },
            TAG_GOVERNANCE_BYPASS => AuditEvent::GovernanceBypass {
                key: r.bytes("key", KEY_LEN_MAX)?,
                action: decode_action(r)?,
                retain_until: r.i64("retain_until")?,
                reason: r.text("reason", TEXT_LEN_MAX)?,
            },
            TAG_EVENT_RECORDED => AuditEvent::EventRecorded {
                event: r.text("event name", TEXT_LEN_MAX)?,
                scope: decode_scope(r)?,
                at: r.i64("event time")?,
            },
            TAG_DISPOSED => AuditEvent::Disposed(DisposalReceipt {
                record: decode_record_id(r)?,
                written_at: r.i64("written_at")?,
                retain_until: r.opt("retain_until", |r| r.i64("retain_until"))?,
                expires_at: r.i64("expires_at")?,
                policy: r.opt("policy", |r| r.text("policy", TEXT_LEN_MAX))?,
                content_hash: r.hash("content hash")?,
                approver: r.opt("approver", |r| r.text("approver", TEXT_LEN_MAX))?,
            }),
            TAG_PURGED => AuditEvent::Purged {
                records: r.u64("records")?,
                bytes: r.u64("bytes")?,
                files: r.u64("files")?,
            },
            TAG_CLOCK_ADVANCED => AuditEvent::ClockAdvanced {
                from: r.i64("from")?,
                to: r.i64("to")?,
            },
            TAG_TORN_TAIL_REMOVED => AuditEvent::TornTailRemoved {
                offset: r.u64("offset")?,
                bytes: r.u64("bytes")?,
            },
            other => return Err((at, format!("unknown event tag {other}"))),
        };
        Ok(event)
    }
}

fn key(w: &mut Writer, v: &[u8], what: &str) {
    w.bytes(v, what, KEY_LEN_MAX);
}

fn text(w: &mut Writer, v: &str, what: &str) {
    w.text(v, what, TEXT_LEN_MAX);
}

fn encode_scope(w: &mut Writer, scope: &Scope) {
    match scope {
        Scope::Key(k) => {
            w.u8(SCOPE_KEY);
            key(w, k, "scope key");
        }
        Scope::Prefix(p) => {
            w.u8(SCOPE_PREFIX);
            key(w, p, "scope prefix");
        }
    }
}

fn decode_scope(r: &mut Reader<'_>) -> Result<Scope, DecodeError> {
    let at = r.pos();
    match r.u8("scope tag")? {
        SCOPE_KEY => Ok(Scope::Key(r.bytes("scope key", KEY_LEN_MAX)?)),
        SCOPE_PREFIX => Ok(Scope::Prefix(r.bytes("scope prefix", KEY_LEN_MAX)?)),
        other => Err((at, format!("unknown scope tag {other}"))),
    }
}

fn decode_record_id(r: &mut Reader<'_>) -> Result<RecordId, DecodeError> {
    let at = r.pos();
    match r.u8("record id tag")? {
        RECORD_KEY => Ok(RecordId::Key(r.bytes("key", KEY_LEN_MAX)?)),
        RECORD_KEY_DIGEST => Ok(RecordId::KeyDigest(r.hash("key digest")?)),
        other => Err((at, format!("unknown record id tag {other}"))),
    }
}

fn decode_mode(r: &mut Reader<'_>) -> Result<RetentionMode, DecodeError> {
    let at = r.pos();
    match r.u8("mode")? {
        1 => Ok(RetentionMode::Governance),
        2 => Ok(RetentionMode::Compliance),
        other => Err((at, format!("unknown retention mode {other}"))),
    }
}

fn decode_action(r: &mut Reader<'_>) -> Result<BypassAction, DecodeError> {
    let at = r.pos();
    match r.u8("bypass action")? {
        1 => Ok(BypassAction::Overwrite),
        2 => Ok(BypassAction::Delete),
        other => Err((at, format!("unknown bypass action {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::samples;
    use super::*;
    use std::collections::BTreeSet;

    fn encode(event: &AuditEvent) -> Vec<u8> {
        let mut w = Writer::default();
        event.encode(&mut w);
        w.finish().unwrap()
    }

    #[test]
    fn every_kind_round_trips() {
        let samples = samples();
        let tags: BTreeSet<u8> = samples.iter().map(AuditEvent::tag).collect();
        assert_eq!(tags, (1..=14).collect(), "a sample of every event kind");
        let names: BTreeSet<&str> = samples.iter().map(AuditEvent::name).collect();
        assert_eq!(names.len(), 14, "names are distinct");
        for event in samples {
            let bytes = encode(&event);
            assert_eq!(bytes[0], event.tag());
            let mut r = Reader::new(&bytes);
            assert_eq!(AuditEvent::decode(&mut r).unwrap(), event);
            r.finish().unwrap();
            // Every strict prefix is refused: no field is optional at the end.
            for cut in 0..bytes.len() {
                let mut r = Reader::new(&bytes[..cut]);
                assert!(AuditEvent::decode(&mut r).is_err(), "{event:?} cut {cut}");
            }
        }
    }

    #[test]
    fn bad_tags_are_refused() {
        for tag in [0u8, 15, 255] {
            let bytes = [tag, 0, 0, 0, 0];
            let mut r = Reader::new(&bytes);
            let (at, why) = AuditEvent::decode(&mut r).unwrap_err();
            assert_eq!(at, 0);
            assert!(why.contains("event tag"), "{why}");
        }
        // HoldPlaced with an empty hold id and scope tag 3.
        let mut r = Reader::new(&[7, 0, 0, 0, 0, 3, 0, 0, 0, 0]);
        assert!(AuditEvent::decode(&mut r).unwrap_err().1.contains("scope"));
        // RetentionExtended with mode 0.
        let mut r = Reader::new(&[4, 0, 0, 0, 0, 0]);
        assert!(AuditEvent::decode(&mut r).unwrap_err().1.contains("mode"));
    }

    #[test]
    fn oversized_fields_are_refused_on_encode() {
        let event = AuditEvent::HoldPlaced {
            hold_id: "x".repeat(TEXT_LEN_MAX + 1),
            scope: Scope::Key(vec![1]),
            reason: String::new(),
        };
        let mut w = Writer::default();
        event.encode(&mut w);
        assert!(w.finish().unwrap_err().contains("hold id"));
        let event = AuditEvent::GovernanceBypass {
            key: vec![0; KEY_LEN_MAX + 1],
            action: BypassAction::Delete,
            retain_until: 0,
            reason: String::new(),
        };
        let mut w = Writer::default();
        event.encode(&mut w);
        assert!(w.finish().is_err());
    }
}
