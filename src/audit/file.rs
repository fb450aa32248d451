//! The audit file's name and magic, and the rule that tells a torn last
//! append (cut away on open) from damage to acknowledged entries (refused).
//!
//! The file is a log in the WAL's framing (`src/wal/format.rs`): a 20-byte
//! header with magic `HFAU` and the file's number, then one logical record
//! per entry. It is named `AUDIT-NNNNNNNNNNNNNNNNNNNN` (20 digits, like the
//! manifest). This version keeps the whole trail in file number 1; the
//! number leaves room for numbered continuation files later.
//!
//! Besides entries, the file holds *sync marks*: a record whose payload is
//! `0xFE | offset u64`, written right after an fsync returned, at the
//! offset it names. A valid mark proves that every byte before it is
//! durable. Marks are not entries: they are not chained, and readers skip
//! them.
//!
//! # Invariants
//! 1. Between two fsyncs the log writes at most one append: the entries
//!    kept in memory since the last fsync (at most [`PENDING_BYTES_MAX`])
//!    and at most one more entry. Every fsync is followed by a sync mark,
//!    and `open` writes one (after an fsync) when the file ends past its
//!    last mark. So after a crash only the bytes after the last valid mark
//!    can be damaged, and they are at most [`UNSYNCED_LEN_MAX`] bytes (the
//!    last append and, if its predecessor's mark was lost, that one too).
//! 2. Hence damage is accepted as a torn tail only when it begins after the
//!    last valid sync mark and the file ends within [`UNSYNCED_LEN_MAX`]
//!    bytes of that mark; the entries cut with it were never fsynced (they
//!    can still be valid records: a crash may keep later pages of an append
//!    and lose earlier ones). Anything else is [`crate::Error::Corruption`],
//!    and no byte is cut: an audit trail must never lose acknowledged
//!    entries to a repair.

use super::entry::ENTRY_LEN_MAX;
use crate::wal::format::{decode_frame, FrameType, FRAGMENT_PAYLOAD_MAX, FRAME_HEADER_LEN};

/// The audit file's header magic.
pub(crate) const AUDIT_MAGIC: [u8; 4] = *b"HFAU";
/// The number of the (only) audit file this version writes.
pub(crate) const AUDIT_FILE_NUMBER: u64 = 1;
/// The most bytes one entry adds: the largest entry and its frame headers.
pub(crate) const APPEND_LEN_MAX: usize =
    ENTRY_LEN_MAX + ENTRY_LEN_MAX.div_ceil(FRAGMENT_PAYLOAD_MAX) * FRAME_HEADER_LEN;
/// Framed entries kept in memory before they are written and fsynced.
pub(crate) const PENDING_BYTES_MAX: usize = 256 << 10;
/// The first byte of a sync mark's payload (an entry's is its version, 1).
pub(crate) const SYNC_MARK_TAG: u8 = 0xFE;
/// A sync mark's payload: the tag and the mark's own offset.
pub(crate) const SYNC_MARK_LEN: usize = 9;
/// The most bytes after the end of the last valid sync mark: the last
/// append and its mark, which may be unsynced, and — when that mark was
/// lost — the append before it and its mark (an fsync makes the mark
/// before it durable, so no earlier one can be lost).
pub(crate) const UNSYNCED_LEN_MAX: usize =
    2 * (PENDING_BYTES_MAX + APPEND_LEN_MAX + FRAME_HEADER_LEN + SYNC_MARK_LEN);

/// The payload of the sync mark written at `offset`.
pub(crate) fn encode_sync_mark(offset: u64) -> [u8; SYNC_MARK_LEN] {
    let mut out = [0u8; SYNC_MARK_LEN];
    out[0] = SYNC_MARK_TAG;
    out[1..].copy_from_slice(&offset.to_le_bytes());
    out
}

/// `None` if `payload` is not a sync mark (an entry); for a mark, the
/// offset it names, or why it is malformed.
pub(crate) fn decode_sync_mark(payload: &[u8]) -> Option<Result<u64, String>> {
    if payload.first() != Some(&SYNC_MARK_TAG) {
        return None;
    }
    Some(match <[u8; 8]>::try_from(&payload[1..]) {
        Ok(offset) => Ok(u64::from_le_bytes(offset)),
        Err(_) => Err(format!(
            "a sync mark of {} bytes, not {SYNC_MARK_LEN}",
            payload.len()
        )),
    })
}

const AUDIT_PREFIX: &str = "AUDIT-";
const NUMBER_DIGITS: usize = 20;

/// The name of audit file `number`. (To move to `fs/names.rs` with the
/// other names when the records layer wires the trail in.)
pub(crate) fn audit_file_name(number: u64) -> String {
    format!("{AUDIT_PREFIX}{number:0NUMBER_DIGITS$}")
}

/// The number of an audit file's name; `None` for any other name.
pub(crate) fn parse_audit_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(AUDIT_PREFIX)?;
    if digits.len() != NUMBER_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Decides whether `bytes[valid_len..]`, where the log reader found damage,
/// can be the torn tail of the bytes written since the last fsync
/// (invariant 2): `proven` is where the last valid sync mark before the
/// damage ends (0 if there is none). A valid sync mark after the damage
/// proves the damaged bytes were fsynced too. `Err` says why not.
pub(crate) fn check_torn_tail(bytes: &[u8], valid_len: usize, proven: usize) -> Result<(), String> {
    if valid_len < proven {
        return Err(format!(
            "the damage is before offset {proven}, which a sync mark proves was fsynced"
        ));
    }
    let unsynced = bytes.len().saturating_sub(proven);
    if unsynced > UNSYNCED_LEN_MAX {
        return Err(format!(
            "{unsynced} bytes after the last sync mark, more than one unsynced append ({UNSYNCED_LEN_MAX} bytes at most) can leave"
        ));
    }
    // A mark is one `Full` frame naming its own offset: the cheap tests
    // (type byte, length) come first, so a garbage tail costs a CRC only
    // where a mark is plausible.
    let tail = bytes.get(valid_len..).unwrap_or_default();
    let mark_frame = FRAME_HEADER_LEN + SYNC_MARK_LEN;
    for p in 1..tail.len().saturating_sub(mark_frame - 1) {
        let header = &tail[p..p + FRAME_HEADER_LEN];
        if header[6] != FrameType::Full as u8
            || header[4..6] != (SYNC_MARK_LEN as u16).to_le_bytes()
        {
            continue;
        }
        let Ok((frame, _)) = decode_frame(&tail[p..]) else {
            continue;
        };
        let at = (valid_len + p) as u64;
        if decode_sync_mark(frame.payload) == Some(Ok(at)) {
            return Err(format!(
                "a sync mark at offset {at}, after the damage, proves it was fsynced"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::format::encode_record;

    #[test]
    fn names_round_trip() {
        for n in [0, 1, 42, u64::MAX] {
            assert_eq!(parse_audit_file_name(&audit_file_name(n)), Some(n));
        }
        assert_eq!(audit_file_name(1), "AUDIT-00000000000000000001");
        for name in [
            "AUDIT-1",
            "AUDIT-0000000000000000000x",
            "MANIFEST-00000000000000000001",
            "audit-00000000000000000001",
            "AUDIT-99999999999999999999",
        ] {
            assert_eq!(parse_audit_file_name(name), None, "{name}");
        }
    }

    #[test]
    fn damage_after_the_last_sync_mark_is_a_torn_tail() {
        let mut log = Vec::new();
        encode_record(b"first entry", &mut log);
        encode_record(&encode_sync_mark(log.len() as u64), &mut log);
        let proven = log.len();
        let mut tail = Vec::new();
        encode_record(&[0x5a; 300], &mut tail);
        encode_record(&[0x5b; 300], &mut tail);
        for cut in 0..tail.len() {
            let bytes = [&log[..], &tail[..cut]].concat();
            assert!(check_torn_tail(&bytes, proven, proven).is_ok(), "cut {cut}");
        }
        // The first of two unsynced entries garbled, the second intact:
        // pages of one append can reach the disk in any order.
        let mut garbled = [&log[..], &tail[..]].concat();
        garbled[proven + 20] ^= 0xff;
        assert!(check_torn_tail(&garbled, proven, proven).is_ok());
        let zeros = [&log[..], &[0u8; 4096][..]].concat();
        assert!(check_torn_tail(&zeros, proven, proven).is_ok());
    }

    #[test]
    fn damage_before_a_sync_mark_or_past_one_append_is_not() {
        let mut bytes = Vec::new();
        encode_record(b"damaged", &mut bytes);
        encode_record(&encode_sync_mark(bytes.len() as u64), &mut bytes);
        let proven = bytes.len();
        let why = check_torn_tail(&bytes, 0, proven).unwrap_err();
        assert!(why.contains("sync mark proves"), "{why}");
        // The same damage seen with no mark before it: the mark after it
        // still tells.
        bytes[8] ^= 1;
        let why = check_torn_tail(&bytes, 0, 0).unwrap_err();
        assert!(why.contains("after the damage, proves"), "{why}");
        let long = vec![0u8; UNSYNCED_LEN_MAX + 1];
        assert!(check_torn_tail(&long, 0, 0)
            .unwrap_err()
            .contains("more than one unsynced append"));
    }

    #[test]
    fn sync_marks_round_trip_and_are_told_from_entries() {
        assert_eq!(decode_sync_mark(&encode_sync_mark(4242)), Some(Ok(4242)));
        assert_eq!(decode_sync_mark(&[1, 2, 3]), None, "an entry (version 1)");
        assert!(matches!(
            decode_sync_mark(&[SYNC_MARK_TAG, 1]),
            Some(Err(_))
        ));
    }
}
