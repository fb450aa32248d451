//! The audit file's name and magic, and the rule that tells a torn last
//! append (cut away on open) from damage to acknowledged entries (refused).
//!
//! The file is a log in the WAL's framing (`src/wal/format.rs`): a 20-byte
//! header with magic `HFAU` and the file's number, then one logical record
//! per entry. It is named `AUDIT-NNNNNNNNNNNNNNNNNNNN` (20 digits, like the
//! manifest). This version keeps the whole trail in file number 1; the
//! number leaves room for numbered continuation files later.
//!
//! # Invariants
//! 1. Each append writes exactly one record and is fsynced before it is
//!    acknowledged, so after a crash at most one record — the last, never
//!    acknowledged — can be damaged, and it is at most [`APPEND_LEN_MAX`]
//!    bytes long.
//! 2. Hence damage is accepted as a torn tail only when it is no longer than
//!    one append and no valid record begins after it. Anything else is
//!    [`crate::Error::Corruption`], and no byte is cut: an audit trail must
//!    never lose acknowledged entries to a repair.

use super::entry::ENTRY_LEN_MAX;
use crate::wal::format::{decode_frame, FrameType, FRAGMENT_PAYLOAD_MAX, FRAME_HEADER_LEN};

/// The audit file's header magic.
pub(crate) const AUDIT_MAGIC: [u8; 4] = *b"HFAU";
/// The number of the (only) audit file this version writes.
pub(crate) const AUDIT_FILE_NUMBER: u64 = 1;
/// The most bytes one append adds: the largest entry and its frame headers.
pub(crate) const APPEND_LEN_MAX: usize =
    ENTRY_LEN_MAX + ENTRY_LEN_MAX.div_ceil(FRAGMENT_PAYLOAD_MAX) * FRAME_HEADER_LEN;

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
/// can be the torn tail of one append (invariant 2). `Err` says why not.
pub(crate) fn check_torn_tail(bytes: &[u8], valid_len: usize) -> Result<(), String> {
    let tail = bytes.get(valid_len..).unwrap_or_default();
    if tail.len() > APPEND_LEN_MAX {
        return Err(format!(
            "{} damaged bytes, more than one append ({APPEND_LEN_MAX} bytes at most) can leave",
            tail.len()
        ));
    }
    // Look for a complete first or whole frame past the damage: if one is
    // there, entries follow the damaged one, which no crash can cause. The
    // cheap type-byte test comes first so that a garbage tail costs a CRC
    // only at the few positions where a frame header is plausible.
    for p in 1..tail.len().saturating_sub(FRAME_HEADER_LEN) {
        let frame_type = tail[p + FRAME_HEADER_LEN - 1];
        if frame_type != FrameType::Full as u8 && frame_type != FrameType::First as u8 {
            continue;
        }
        if decode_frame(&tail[p..]).is_ok() {
            return Err(format!(
                "a valid record begins at offset {} after the damage",
                valid_len + p
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
    fn a_cut_or_garbled_last_record_is_a_torn_tail() {
        let mut log = Vec::new();
        encode_record(b"first entry", &mut log);
        let valid = log.len();
        let mut last = Vec::new();
        encode_record(&[0x5a; 300], &mut last);
        for cut in 0..last.len() {
            let bytes = [&log[..], &last[..cut]].concat();
            assert!(check_torn_tail(&bytes, valid).is_ok(), "cut {cut}");
        }
        let mut garbled = [&log[..], &last[..]].concat();
        garbled[valid + 20] ^= 0xff;
        assert!(check_torn_tail(&garbled, valid).is_ok());
        let zeros = [&log[..], &[0u8; 4096][..]].concat();
        assert!(check_torn_tail(&zeros, valid).is_ok());
    }

    #[test]
    fn damage_followed_by_records_or_longer_than_an_append_is_not() {
        let mut bytes = Vec::new();
        encode_record(b"damaged", &mut bytes);
        bytes[8] ^= 1;
        encode_record(b"acknowledged after it", &mut bytes);
        let why = check_torn_tail(&bytes, 0).unwrap_err();
        assert!(why.contains("valid record begins at offset 14"), "{why}");
        let long = vec![0u8; APPEND_LEN_MAX + 1];
        assert!(check_torn_tail(&long, 0)
            .unwrap_err()
            .contains("more than one append"));
    }
}
