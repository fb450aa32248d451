//! The audit trail: an append-only, hash-chained log of every retention
//! event (RECORDS.md rule 9), verifiable end to end and exportable as JSON
//! lines.
//!
//! The records layer calls [`AuditLog::append`] for each policy definition,
//! retention set, extended or shortened, mode change, hold placed or
//! released, governance bypass, event recorded, disposal (with its receipt)
//! and purge — see [`AuditEvent`]. The trail is never compacted.
//!
//! # Layout
//! | file        | owns                                                            |
//! |-------------|-----------------------------------------------------------------|
//! | `wire.rs`   | little-endian primitives with checked lengths                   |
//! | `event.rs`  | [`AuditEvent`] and its tagged encoding                          |
//! | `entry.rs`  | [`AuditEntry`]: encoding and hash of one link                   |
//! | `chain.rs`  | the chain's rules and checkpoints, pure (no I/O)                |
//! | `file.rs`   | the file's name, magic and torn-tail rule                       |
//! | `log.rs`    | [`AuditLog`]: open, append with fsync, iterate, verify          |
//! | `export.rs` | JSON lines                                                      |
//! | `samples.rs`, `tests.rs` | test fixtures; the file-level tests (tampering, crashes) |
//!
//! # The chain
//! Entry `n` (1-based, contiguous) stores the hash of entry `n - 1` (all
//! zeros for the first) and its own hash,
//! `SHA-256("holdfast-audit-v1" | body | prev_hash)`, where `body` is the
//! entry's canonical encoding (version, seq, time, actor, event). Changing,
//! dropping, inserting or reordering any entry breaks a link that
//! [`AuditLog::verify`] re-checks. Removing entries from the end, or
//! rewriting the chain from some entry on with fresh hashes, leaves a valid
//! but different chain: [`AuditLog::checkpoint`] hands out `(seq, hash)` for
//! the application to keep outside the database, and
//! [`AuditLog::verify_against`] detects both against it.
//!
//! **Why SHA-256** (RustCrypto's `sha2`, pure Rust and well maintained):
//! these hashes are evidence that auditors and third parties re-verify with
//! their own tools years later, so the choice is the standard, ubiquitous
//! collision-resistant hash (FIPS 180-4, in every language's standard
//! library and in `sha256sum`), not the fastest one. Its cost is
//! negligible here: one hash of a few hundred bytes per entry next to an
//! fsync per entry.
//!
//! # On disk
//! `AUDIT-00000000000000000001` in the database directory, a log in the
//! WAL's CRC-framed format with header magic `HFAU`, one record per entry;
//! byte tables in `event.rs`, `entry.rs` and `file.rs` (for `docs/FORMAT.md`).
//! Each append is fsynced before it is acknowledged; a failed write or
//! fsync poisons the log (no retry). On open, a torn last record — an
//! append a crash interrupted — is cut, as for the WAL; damage anywhere
//! else is [`crate::Error::Corruption`] and nothing is cut.
//!
//! # Honest limits
//! * Hashing makes tampering *evident*, not impossible: whoever can write
//!   the file can rewrite the whole chain consistently. Only a checkpoint
//!   kept where that person cannot reach (another system, a printed
//!   report, a timestamping service) catches it. The same holds for
//!   deleting the file: `open` then starts an empty trail, and only
//!   `verify_against` an earlier checkpoint notices.
//! * Damage to the last entry looks like a torn append and is cut on open
//!   (reported by [`AuditLog::torn_tail`], to be recorded as
//!   [`AuditEvent::TornTailRemoved`]); a checkpoint taken after that entry
//!   detects the loss.
//! * Verification and export read the whole file into memory.

mod chain;
mod entry;
mod event;
mod export;
mod file;
mod log;
#[cfg(test)]
mod samples;
#[cfg(test)]
mod tests;
mod wire;

pub use chain::AuditCheckpoint;
pub use entry::{AuditEntry, ENTRY_LEN_MAX, GENESIS_HASH};
pub use event::{
    AuditEvent, BypassAction, DisposalReceipt, RecordId, RetentionMode, Scope, TEXT_LEN_MAX,
};
pub use export::entry_json;
pub(crate) use file::{audit_file_name, parse_audit_file_name, AUDIT_FILE_NUMBER, AUDIT_MAGIC};
pub(crate) use log::{read_trail, WrittenTrail};
pub use log::{AuditIter, AuditLog, TornTail};

/// Bytes in a SHA-256 digest.
pub const HASH_LEN: usize = 32;
/// A SHA-256 digest: an entry's hash, a content hash, a key digest.
pub type AuditHash = [u8; HASH_LEN];
