//! [`AuditEntry`]: one link of the hash chain, its byte encoding (the
//! payload of one log record) and its hash.
//!
//! ```text
//! entry payload = body | prev_hash [32] | hash [32]
//! body          = version u8 (1) | seq u64 | time i64 | actor text | event
//! hash          = SHA-256("holdfast-audit-v1" | body | prev_hash)
//! ```
//! The hash covers every byte stored before it, so a verifier with nothing
//! but this description and a SHA-256 tool can check an entry: hash the tag
//! and the first `len - 32` bytes of the payload. The `"holdfast-audit-v1"`
//! domain tag keeps these hashes apart from any other SHA-256 use of the
//! same bytes and names the construction's version; the body's version
//! byte names the encoding's.
//!
//! # Invariants
//! 1. `seq` is at least 1 and the actor is not empty, on encode and decode.
//! 2. A payload is at most [`ENTRY_LEN_MAX`] bytes; the field limits of
//!    [`super::event`] keep every encodable entry below it.
//! 3. Decoding is strict, so `decode(p).encode() == p` for every payload
//!    that decodes: hashing the stored bytes and hashing the canonical
//!    encoding of the decoded entry are the same thing.

use super::event::{AuditEvent, TEXT_LEN_MAX};
use super::wire::{DecodeError, Reader, Writer};
use super::{AuditHash, HASH_LEN};
use sha2::{Digest, Sha256};

/// The domain-separation tag hashed in front of every entry.
pub(crate) const HASH_DOMAIN: &[u8] = b"holdfast-audit-v1";
/// The entry encoding's version (first byte of every payload).
pub(crate) const ENTRY_VERSION: u8 = 1;
/// Largest entry payload, in bytes.
pub const ENTRY_LEN_MAX: usize = 512 * 1024;
/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: AuditHash = [0; HASH_LEN];

/// One entry of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuditEntry {
    /// Position in the trail: 1 for the first entry, contiguous after.
    pub seq: u64,
    /// When it was recorded (engine clock, ms since the Unix epoch, UTC);
    /// never less than the previous entry's time.
    pub time: i64,
    /// Who did it (a user, a service, `"engine"` for automatic disposal).
    pub actor: String,
    /// What happened.
    pub event: AuditEvent,
    /// The previous entry's `hash` ([`GENESIS_HASH`] for the first).
    pub prev_hash: AuditHash,
    /// SHA-256 over the domain tag, this entry's body and `prev_hash`.
    pub hash: AuditHash,
}

impl AuditEntry {
    /// Builds the entry at `seq` after an entry whose hash is `prev_hash`,
    /// computing its hash. Fails with what was wrong when a field is past
    /// its limit, the actor is empty or the entry would be too large.
    #[cfg(test)]
    pub(crate) fn seal(
        seq: u64,
        time: i64,
        actor: String,
        event: AuditEvent,
        prev_hash: AuditHash,
    ) -> Result<AuditEntry, String> {
        Self::seal_encoded(seq, time, actor, event, prev_hash).map(|(entry, _)| entry)
    }

    /// As [`Self::seal`], also returning the entry's payload (what
    /// [`Self::encode`] gives), encoded once.
    pub(crate) fn seal_encoded(
        seq: u64,
        time: i64,
        actor: String,
        event: AuditEvent,
        prev_hash: AuditHash,
    ) -> Result<(AuditEntry, Vec<u8>), String> {
        debug_assert!(seq >= 1, "sequence numbers start at 1");
        let mut payload = encode_body(seq, time, &actor, &event)?;
        let hash = chain_hash(&payload, &prev_hash);
        payload.extend_from_slice(&prev_hash);
        payload.extend_from_slice(&hash);
        let entry = AuditEntry {
            seq,
            time,
            actor,
            event,
            prev_hash,
            hash,
        };
        Ok((entry, payload))
    }

    /// The hash this entry should carry, recomputed from its fields.
    pub fn computed_hash(&self) -> Result<AuditHash, String> {
        let body = encode_body(self.seq, self.time, &self.actor, &self.event)?;
        Ok(chain_hash(&body, &self.prev_hash))
    }

    /// The canonical encoding of the entry's body: the bytes its hash
    /// covers, before `prev_hash`.
    pub fn canonical_body(&self) -> Result<Vec<u8>, String> {
        encode_body(self.seq, self.time, &self.actor, &self.event)
    }

    /// The entry's payload: body, `prev_hash`, `hash` (the stored hash, as
    /// is: re-encoding a tampered entry keeps the tampering).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut out = self.canonical_body()?;
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.hash);
        debug_assert!(out.len() <= ENTRY_LEN_MAX);
        Ok(out)
    }

    /// Decodes a payload (invariants 1–3). The hash is not checked here:
    /// that is the chain's job (`super::chain`).
    pub fn decode(payload: &[u8]) -> Result<AuditEntry, DecodeError> {
        if payload.len() > ENTRY_LEN_MAX {
            return Err((
                0,
                format!(
                    "entry of {} bytes exceeds the limit {ENTRY_LEN_MAX}",
                    payload.len()
                ),
            ));
        }
        let mut r = Reader::new(payload);
        let version = r.u8("entry version")?;
        if version != ENTRY_VERSION {
            return Err((0, format!("unsupported audit entry version {version}")));
        }
        let seq = r.u64("seq")?;
        if seq == 0 {
            return Err((1, "sequence number 0".into()));
        }
        let time = r.i64("time")?;
        let actor_at = r.pos();
        let actor = r.text("actor", TEXT_LEN_MAX)?;
        if actor.is_empty() {
            return Err((actor_at, "empty actor".into()));
        }
        let event = AuditEvent::decode(&mut r)?;
        let prev_hash = r.hash("prev_hash")?;
        let hash = r.hash("hash")?;
        r.finish()?;
        Ok(AuditEntry {
            seq,
            time,
            actor,
            event,
            prev_hash,
            hash,
        })
    }
}

fn encode_body(seq: u64, time: i64, actor: &str, event: &AuditEvent) -> Result<Vec<u8>, String> {
    if actor.is_empty() {
        return Err("the actor is empty".into());
    }
    // Room for a typical entry and the two hashes `seal_encoded` appends.
    let mut w = Writer::with_capacity(192 + 2 * HASH_LEN);
    w.u8(ENTRY_VERSION);
    w.u64(seq);
    w.i64(time);
    w.text(actor, "actor", TEXT_LEN_MAX);
    event.encode(&mut w);
    let body = w.finish()?;
    if body.len() + 2 * HASH_LEN > ENTRY_LEN_MAX {
        return Err(format!(
            "entry of {} bytes exceeds the limit {ENTRY_LEN_MAX}",
            body.len() + 2 * HASH_LEN
        ));
    }
    Ok(body)
}

/// `SHA-256(HASH_DOMAIN | body | prev_hash)`.
fn chain_hash(body: &[u8], prev_hash: &AuditHash) -> AuditHash {
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(body);
    hasher.update(prev_hash);
    hasher.finalize().into()
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::event::{DisposalReceipt, RecordId, Scope};
    use super::super::samples::samples;
    use super::*;
    use crate::key::KEY_LEN_MAX;

    fn spaced(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The worked example of `docs/FORMAT.md` ("Audit entry"): entry 1,
    /// `ops` places hold `h1` on prefix `inv/` at 2023-11-14T22:13:20Z.
    #[test]
    fn worked_example_matches_the_spec() {
        let entry = AuditEntry::seal(
            1,
            1_700_000_000_000,
            "ops".into(),
            AuditEvent::HoldPlaced {
                hold_id: "h1".into(),
                scope: Scope::Prefix(b"inv/".to_vec()),
                reason: "case 7".into(),
            },
            GENESIS_HASH,
        )
        .unwrap();
        let payload = entry.encode().unwrap();
        let body_len = payload.len() - 2 * HASH_LEN;
        assert_eq!(
            spaced(&payload[..body_len]),
            "01 \
             01 00 00 00 00 00 00 00 \
             00 68 e5 cf 8b 01 00 00 \
             03 00 00 00 6f 70 73 \
             07 \
             02 00 00 00 68 31 \
             02 04 00 00 00 69 6e 76 2f \
             06 00 00 00 63 61 73 65 20 37"
        );
        assert_eq!(payload[body_len..body_len + HASH_LEN], GENESIS_HASH);
        assert_eq!(
            hex(&entry.hash),
            "da6da65401490ab4906af8c59d0d14f8989743907f3b92d475d59afd8b5fd839"
        );
        assert_eq!(&payload[body_len + HASH_LEN..], &entry.hash);
        // In the file: the header of AUDIT-…1, then the entry's one frame.
        use crate::wal::format::{encode_record, encode_segment_header};
        let header = encode_segment_header(super::super::AUDIT_MAGIC, 1);
        assert_eq!(
            spaced(&header),
            "48 46 41 55 01 00 00 00 01 00 00 00 00 00 00 00 7b 53 cb c6"
        );
        let mut frame = Vec::new();
        encode_record(&payload, &mut frame);
        assert_eq!(spaced(&frame[..7]), "05 7d f6 d8 72 00 01");
        assert_eq!(&frame[7..], &payload[..]);
    }

    #[test]
    fn every_event_round_trips_through_an_entry() {
        let mut prev = GENESIS_HASH;
        for (i, event) in samples().into_iter().enumerate() {
            let entry =
                AuditEntry::seal(i as u64 + 1, 1000 + i as i64, "u".into(), event, prev).unwrap();
            let payload = entry.encode().unwrap();
            let back = AuditEntry::decode(&payload).unwrap();
            assert_eq!(back, entry);
            assert_eq!(back.computed_hash().unwrap(), entry.hash);
            assert_eq!(back.encode().unwrap(), payload, "canonical (invariant 3)");
            prev = entry.hash;
        }
    }

    #[test]
    fn the_hash_covers_every_field() {
        let base = AuditEntry::seal(
            5,
            10,
            "a".into(),
            AuditEvent::Purged {
                records: 1,
                bytes: 2,
                files: 3,
            },
            [7; HASH_LEN],
        )
        .unwrap();
        let variants = [
            AuditEntry {
                seq: 6,
                ..base.clone()
            },
            AuditEntry {
                time: 11,
                ..base.clone()
            },
            AuditEntry {
                actor: "b".into(),
                ..base.clone()
            },
            AuditEntry {
                prev_hash: [8; HASH_LEN],
                ..base.clone()
            },
            AuditEntry {
                event: AuditEvent::Purged {
                    records: 1,
                    bytes: 2,
                    files: 4,
                },
                ..base.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.computed_hash().unwrap(), base.hash, "{v:?}");
        }
    }

    #[test]
    fn invalid_entries_are_refused() {
        let purge = AuditEvent::Purged {
            records: 0,
            bytes: 0,
            files: 0,
        };
        assert!(AuditEntry::seal(1, 0, String::new(), purge.clone(), GENESIS_HASH).is_err());
        let good = AuditEntry::seal(1, 0, "a".into(), purge, GENESIS_HASH).unwrap();
        let payload = good.encode().unwrap();
        let mut bad = payload.clone();
        bad[0] = 2;
        assert!(AuditEntry::decode(&bad).unwrap_err().1.contains("version"));
        let mut bad = payload.clone();
        bad[1..9].copy_from_slice(&0u64.to_le_bytes());
        assert!(AuditEntry::decode(&bad).is_err());
        let mut bad = payload.clone();
        bad.push(0);
        assert!(AuditEntry::decode(&bad).unwrap_err().1.contains("trailing"));
        assert!(AuditEntry::decode(&[]).is_err());
        assert!(AuditEntry::decode(&vec![1; ENTRY_LEN_MAX + 1]).is_err());
    }

    #[test]
    fn the_largest_entry_fits_the_limit() {
        let big = "x".repeat(TEXT_LEN_MAX);
        let receipt = DisposalReceipt {
            record: RecordId::Key(vec![1; KEY_LEN_MAX]),
            written_at: 0,
            retain_until: Some(0),
            expires_at: 0,
            policy: Some(big.clone()),
            content_hash: [0; HASH_LEN],
            approver: Some(big.clone()),
        };
        let largest = [
            AuditEvent::Disposed(receipt),
            AuditEvent::RetentionSet {
                record_seq: 7,
                key: vec![1; KEY_LEN_MAX],
                retain_until: Some(0),
                mode: None,
                expires_at: Some(0),
                policy: Some(big.clone()),
                event_pending: Some(big.clone()),
                content_hash: Some([0; HASH_LEN]),
            },
        ];
        for event in largest {
            let entry = AuditEntry::seal(1, 0, big.clone(), event, GENESIS_HASH).unwrap();
            assert!(entry.encode().unwrap().len() <= ENTRY_LEN_MAX);
        }
    }
}
