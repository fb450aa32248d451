//! The internal key: what the engine stores for every version of a user key.
//!
//! A user key may have many versions. Each is identified by a sequence
//! number ([`SeqNo`], assigned by the write path, one per operation, strictly
//! increasing) and has a [`ValueKind`]. Sorted order is user key ascending,
//! then sequence number *descending*, so the newest version of a key comes
//! first and a read at snapshot `s` takes the first version with `seq <= s`.
//!
//! # Invariants
//! 1. Sequence numbers are unique across the database and never reused.
//! 2. `SEQ_MAX` fits in 56 bits, leaving 8 bits for the kind when a later
//!    format packs both into one `u64`.

use std::cmp::Ordering;

/// A sequence number: the position of one operation in the database's total
/// order of writes.
pub(crate) type SeqNo = u64;

/// The largest sequence number the engine will assign.
pub(crate) const SEQ_MAX: SeqNo = (1 << 56) - 1;

/// Largest accepted user key, in bytes. Keys are 1 to `KEY_LEN_MAX` bytes
/// long; the empty key is refused so that "no key" never needs a sentinel.
pub const KEY_LEN_MAX: usize = 65_536;

/// Largest accepted value, in bytes (256 MiB).
pub const VALUE_LEN_MAX: usize = 256 << 20;

/// What one version of a key is. The numeric values are on disk (the WAL
/// batch payload); `0` is reserved as invalid and values are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ValueKind {
    /// The key has this value.
    Value = 1,
    /// The key was deleted.
    Tombstone = 2,
    /// The key has a value with retention metadata: the stored value is the
    /// metadata ([`crate::records::meta`]) followed by the user's value.
    Record = 3,
    /// A metadata-only change (extend, mode change) to the record below it:
    /// the stored value is the record's complete new metadata, no user value.
    RetentionUpdate = 4,
}

impl ValueKind {
    /// Decodes an on-disk tag.
    pub(crate) fn from_u8(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(ValueKind::Value),
            2 => Some(ValueKind::Tombstone),
            3 => Some(ValueKind::Record),
            4 => Some(ValueKind::RetentionUpdate),
            _ => None,
        }
    }

    /// True for the kinds that carry records-layer metadata (3 and 4).
    pub(crate) fn has_meta(self) -> bool {
        matches!(self, ValueKind::Record | ValueKind::RetentionUpdate)
    }

    /// True for a complete version of the key (a value, a record or a
    /// tombstone), false for a metadata-only update that needs the version
    /// below it.
    pub(crate) fn is_full(self) -> bool {
        !matches!(self, ValueKind::RetentionUpdate)
    }
}

/// Orders two internal keys: user key ascending, then sequence descending.
pub(crate) fn compare_internal(a_key: &[u8], a_seq: SeqNo, b_key: &[u8], b_seq: SeqNo) -> Ordering {
    a_key.cmp(b_key).then_with(|| b_seq.cmp(&a_seq))
}

/// Checks a user key against the limits.
pub(crate) fn check_key(key: &[u8]) -> Result<(), String> {
    if key.is_empty() {
        return Err("key is empty (keys are 1 to 65536 bytes)".into());
    }
    if key.len() > KEY_LEN_MAX {
        return Err(format!(
            "key is {} bytes, the limit is {KEY_LEN_MAX}",
            key.len()
        ));
    }
    Ok(())
}

/// Checks a value against the limit.
pub(crate) fn check_value(value: &[u8]) -> Result<(), String> {
    if value.len() > VALUE_LEN_MAX {
        return Err(format!(
            "value is {} bytes, the limit is {VALUE_LEN_MAX}",
            value.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_sort_first() {
        assert_eq!(compare_internal(b"a", 5, b"a", 3), Ordering::Less);
        assert_eq!(compare_internal(b"a", 3, b"b", 5), Ordering::Less);
        assert_eq!(compare_internal(b"a", 3, b"a", 3), Ordering::Equal);
    }

    #[test]
    fn key_limits() {
        assert!(check_key(b"").is_err());
        assert!(check_key(&[0u8; KEY_LEN_MAX]).is_ok());
        assert!(check_key(&vec![0u8; KEY_LEN_MAX + 1]).is_err());
        assert!(check_value(&[]).is_ok());
    }

    #[test]
    fn kind_tags_round_trip() {
        for kind in [
            ValueKind::Value,
            ValueKind::Tombstone,
            ValueKind::Record,
            ValueKind::RetentionUpdate,
        ] {
            assert_eq!(ValueKind::from_u8(kind as u8), Some(kind));
        }
        assert_eq!(ValueKind::from_u8(0), None);
        assert_eq!(ValueKind::from_u8(5), None);
    }
}
