//! The hash chain's rules as pure functions over decoded entries (no I/O):
//! [`ChainState`] checks each entry against the one before it, and
//! [`check_checkpoint`] checks a verified chain against a checkpoint kept
//! elsewhere.
//!
//! # Invariants checked for every entry `e` after the chain's head `h`
//! 1. `e.seq == h.seq + 1` — catches a dropped, duplicated or reordered
//!    entry even when its frame was rewritten with a valid CRC.
//! 2. `e.prev_hash == h.hash` — links `e` to exactly one predecessor.
//! 3. `e.hash == SHA-256(tag | body(e) | e.prev_hash)` — catches any
//!    change to the entry's bytes.
//! 4. `e.time >= h.time` — the engine's clock never runs backwards.
//!
//! What the chain alone cannot catch: removing entries from the end, or
//! rewriting the whole chain from some point on with fresh hashes. Both
//! change the hash at a sequence number the application recorded earlier,
//! which is what [`check_checkpoint`] compares.

use super::entry::{hex, AuditEntry, GENESIS_HASH};
use super::{AuditHash, HASH_LEN};
use crate::Error;
use std::fmt;
use std::str::FromStr;

/// A position in the trail and the hash of the entry there: what
/// `AuditLog::checkpoint` hands out for the application to keep elsewhere,
/// and what `AuditLog::verify` returns for the verified head.
///
/// Its text form is `seq:hash-in-hex`, e.g. `3:9f86…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuditCheckpoint {
    /// The entry's sequence number (0: the empty trail).
    pub seq: u64,
    /// The entry's hash ([`GENESIS_HASH`] for the empty trail).
    pub hash: AuditHash,
}

impl AuditCheckpoint {
    /// The checkpoint of an empty trail.
    pub const EMPTY: AuditCheckpoint = AuditCheckpoint {
        seq: 0,
        hash: GENESIS_HASH,
    };
}

impl fmt::Display for AuditCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, hex(&self.hash))
    }
}

impl FromStr for AuditCheckpoint {
    type Err = Error;

    /// Parses the `seq:hex` form of [`fmt::Display`].
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidArgument(format!("not an audit checkpoint: {s:?}"));
        let (seq, digits) = s.split_once(':').ok_or_else(bad)?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        if digits.len() != 2 * HASH_LEN || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut hash = [0u8; HASH_LEN];
        for (i, out) in hash.iter_mut().enumerate() {
            *out = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        if seq == 0 && hash != GENESIS_HASH {
            return Err(bad());
        }
        Ok(AuditCheckpoint { seq, hash })
    }
}

/// The head of a chain being verified, entry by entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChainState {
    head: AuditCheckpoint,
    /// The newest entry's time (`i64::MIN` before the first).
    last_time: i64,
}

impl ChainState {
    /// The state before the first entry.
    pub(crate) fn new() -> Self {
        ChainState {
            head: AuditCheckpoint::EMPTY,
            last_time: i64::MIN,
        }
    }

    /// The last entry accepted.
    pub(crate) fn head(&self) -> AuditCheckpoint {
        self.head
    }

    /// The last entry's time.
    pub(crate) fn last_time(&self) -> i64 {
        self.last_time
    }

    /// Accepts `entry` as the next link, or says which invariant it breaks
    /// (and then stays where it was).
    pub(crate) fn push(&mut self, entry: &AuditEntry) -> Result<(), String> {
        self.check_link(entry)?;
        let computed = entry.computed_hash()?;
        if computed != entry.hash {
            return Err(format!(
                "entry {} was altered: stored hash {}, computed {}",
                entry.seq,
                hex(&entry.hash),
                hex(&computed)
            ));
        }
        self.accept(entry)
    }

    /// As [`Self::push`] for an entry this process just sealed (its hash
    /// was computed from its fields a moment ago): checks the link, the
    /// sequence number and the time, without hashing again.
    pub(crate) fn push_sealed(&mut self, entry: &AuditEntry) -> Result<(), String> {
        self.check_link(entry)?;
        self.accept(entry)
    }

    /// Invariants 1 and 2: the next sequence number, linked to the head.
    fn check_link(&self, entry: &AuditEntry) -> Result<(), String> {
        let expected = self.head.seq + 1;
        if entry.seq != expected {
            return Err(format!(
                "entry has seq {}, expected {expected}: an entry is missing, duplicated or \
                 out of order",
                entry.seq
            ));
        }
        if entry.prev_hash != self.head.hash {
            return Err(format!(
                "entry {} links to {}, but entry {} has hash {}",
                entry.seq,
                hex(&entry.prev_hash),
                self.head.seq,
                hex(&self.head.hash)
            ));
        }
        Ok(())
    }

    /// Invariant 4 (time), then `entry` becomes the head.
    fn accept(&mut self, entry: &AuditEntry) -> Result<(), String> {
        if entry.time < self.last_time {
            return Err(format!(
                "entry {} has time {}, before the previous entry's {}",
                entry.seq, entry.time, self.last_time
            ));
        }
        self.head = AuditCheckpoint {
            seq: entry.seq,
            hash: entry.hash,
        };
        self.last_time = entry.time;
        Ok(())
    }
}

/// Checks a verified chain whose head is `head` against `checkpoint`;
/// `hash_at_checkpoint` is the hash the chain holds at `checkpoint.seq`
/// (`None` when the chain is shorter).
pub(crate) fn check_checkpoint(
    head: AuditCheckpoint,
    checkpoint: &AuditCheckpoint,
    hash_at_checkpoint: Option<AuditHash>,
) -> Result<(), String> {
    if checkpoint.seq == 0 {
        return if checkpoint.hash == GENESIS_HASH {
            Ok(())
        } else {
            Err("checkpoint 0 must carry the all-zero hash".into())
        };
    }
    match hash_at_checkpoint {
        None => Err(format!(
            "the trail ends at entry {}, but checkpoint {checkpoint} names entry {}: \
             entries were removed (truncation or rollback)",
            head.seq, checkpoint.seq
        )),
        Some(hash) if hash != checkpoint.hash => Err(format!(
            "entry {} has hash {}, checkpoint {checkpoint} says otherwise: the trail was \
             rewritten from that entry or earlier",
            checkpoint.seq,
            hex(&hash)
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::AuditEvent;
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let event = AuditEvent::ClockAdvanced {
                    from: 0,
                    to: seq as i64,
                };
                let e = AuditEntry::seal(seq, seq as i64, "a".into(), event, prev).unwrap();
                prev = e.hash;
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry]) -> Result<AuditCheckpoint, String> {
        let mut state = ChainState::new();
        for e in entries {
            state.push(e)?;
        }
        Ok(state.head())
    }

    #[test]
    fn a_sealed_chain_verifies() {
        let entries = chain(5);
        let head = verify(&entries).unwrap();
        assert_eq!(head.seq, 5);
        assert_eq!(head.hash, entries[4].hash);
        assert_eq!(verify(&[]).unwrap(), AuditCheckpoint::EMPTY);
    }

    #[test]
    fn each_invariant_is_enforced() {
        let entries = chain(4);
        // 1: dropped, duplicated, swapped.
        let dropped = [&entries[..1], &entries[2..]].concat();
        assert!(verify(&dropped).unwrap_err().contains("seq 3, expected 2"));
        let dup = [&entries[..2], &entries[1..]].concat();
        assert!(verify(&dup).is_err());
        let mut swapped = entries.clone();
        swapped.swap(1, 2);
        assert!(verify(&swapped).is_err());
        // 1 holds but 2 breaks: swapped entries renumbered.
        swapped[1].seq = 2;
        swapped[2].seq = 3;
        assert!(verify(&swapped).unwrap_err().contains("links to"));
        // 3: a changed field.
        let mut altered = entries.clone();
        altered[2].actor = "mallory".into();
        assert!(verify(&altered).unwrap_err().contains("altered"));
        // 4: time running backwards, with a valid hash.
        let mut state = ChainState::new();
        let e1 = AuditEntry::seal(
            1,
            10,
            "a".into(),
            AuditEvent::Purged {
                records: 0,
                bytes: 0,
                files: 0,
            },
            GENESIS_HASH,
        )
        .unwrap();
        let e2 = AuditEntry::seal(
            2,
            9,
            "a".into(),
            AuditEvent::Purged {
                records: 0,
                bytes: 0,
                files: 0,
            },
            e1.hash,
        )
        .unwrap();
        state.push(&e1).unwrap();
        assert!(state.push(&e2).unwrap_err().contains("time"));
        assert_eq!(
            state.head().seq,
            1,
            "a refused entry leaves the state alone"
        );
        assert_eq!(state.last_time(), 10);
    }

    #[test]
    fn checkpoints_catch_truncation_and_rewrites() {
        let entries = chain(3);
        let head = verify(&entries).unwrap();
        let cp = AuditCheckpoint {
            seq: 2,
            hash: entries[1].hash,
        };
        assert!(check_checkpoint(head, &cp, Some(entries[1].hash)).is_ok());
        assert!(check_checkpoint(head, &cp, None)
            .unwrap_err()
            .contains("truncation"));
        assert!(check_checkpoint(head, &cp, Some([1; HASH_LEN]))
            .unwrap_err()
            .contains("rewritten"));
        assert!(check_checkpoint(head, &AuditCheckpoint::EMPTY, None).is_ok());
        let bad_empty = AuditCheckpoint {
            seq: 0,
            hash: [1; HASH_LEN],
        };
        assert!(check_checkpoint(head, &bad_empty, None).is_err());
    }

    #[test]
    fn checkpoint_text_form_round_trips() {
        let cp = AuditCheckpoint {
            seq: 42,
            hash: [0xA5; HASH_LEN],
        };
        let text = cp.to_string();
        assert_eq!(text, format!("42:{}", "a5".repeat(HASH_LEN)));
        assert_eq!(text.parse::<AuditCheckpoint>().unwrap(), cp);
        assert_eq!(
            AuditCheckpoint::EMPTY
                .to_string()
                .parse::<AuditCheckpoint>()
                .unwrap(),
            AuditCheckpoint::EMPTY
        );
        for bad in [
            "",
            "42",
            "x:00",
            "42:abc",
            &format!("42:{}", "zz".repeat(HASH_LEN)),
            &format!("0:{}", "01".repeat(HASH_LEN)),
        ] {
            assert!(bad.parse::<AuditCheckpoint>().is_err(), "{bad}");
        }
    }
}
