//! The retention metadata stored with a record version, and its byte
//! encoding (hand-written, little-endian, versioned; `docs/FORMAT.md`).
//!
//! A plain `put` stores no metadata at all: its entry kind
//! ([`ValueKind::Value`](crate::key::ValueKind)) is the one byte it pays.
//! A record written with retention is an entry of kind `Record` whose
//! stored value is `meta | user value`; a metadata-only change (extend,
//! mode change, shorten) is an entry of kind `RetentionUpdate` whose stored
//! value is the record's complete new `meta`, so a reader needs the newest
//! update and the newest full version below it, never a chain of deltas.
//!
//! ```text
//! meta = version u8 (1) | flags u8 | written_at i64
//!      | [retain_until i64] (flag 0x01) | [mode u8] (0x02: 1 Governance, 2 Compliance)
//!      | [expires_at i64]   (flag 0x04) | [policy  len u16 | utf-8] (0x08)
//!      | [actor len u16 | utf-8] (0x10) | flag 0x20: retention removed (requests only)
//! ```
//! Flags 0x40 and 0x80 must be zero. Inside a [`WriteBatch`](crate::WriteBatch)
//! before commit the same layout carries a *request* (`written_at` 0): the
//! commit leader resolves it against the current record, the clock and the
//! policies and writes the resolved metadata to the WAL.
//!
//! # Invariants
//! 1. `decode(encode(m)) == m`, and decoding is strict: unknown version or
//!    flags, a bad mode byte, invalid UTF-8 or a short buffer is an error.
//! 2. `expires_at >= retain_until` when both are set (checked by the write
//!    path before encoding, not by the codec: damaged data is reported, not
//!    judged).

use super::policy::Mode;
use crate::codec::ByteReader;
use bytes::{BufMut, Bytes};

/// Version byte of the metadata encoding.
const META_VERSION: u8 = 1;
const F_RETAIN: u8 = 0x01;
const F_MODE: u8 = 0x02;
const F_EXPIRES: u8 = 0x04;
const F_POLICY: u8 = 0x08;
const F_ACTOR: u8 = 0x10;
const F_CLEAR: u8 = 0x20;
const F_KNOWN: u8 = 0x3f;
/// Largest policy name or actor, in bytes.
pub(crate) const META_TEXT_MAX: usize = 4096;
/// Largest encoded metadata, in bytes.
pub(crate) const STORED_META_MAX: usize = 10 + 8 + 1 + 8 + 2 * (2 + META_TEXT_MAX);

/// Retention metadata of one record version, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StoredMeta {
    /// Engine clock at write, ms since the epoch (0 in a request).
    pub written_at: i64,
    pub retain_until: Option<i64>,
    pub mode: Option<Mode>,
    pub expires_at: Option<i64>,
    pub policy: Option<String>,
    /// Who wrote it (`WriteOptions::actor`), for the audit trail.
    pub actor: Option<String>,
    /// In a request: remove the record's retention (Governance bypass).
    pub clear: bool,
}

/// Metadata borrowed from an encoding or from a [`StoredMeta`]: what the
/// commit path reads and writes without allocating its texts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MetaRef<'a> {
    pub written_at: i64,
    pub retain_until: Option<i64>,
    pub mode: Option<Mode>,
    pub expires_at: Option<i64>,
    pub policy: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub clear: bool,
}

impl<'a> MetaRef<'a> {
    /// Appends the encoding.
    pub(crate) fn encode_into(&self, out: &mut impl BufMut) {
        let mut flags = 0;
        for (bit, present) in [
            (F_RETAIN, self.retain_until.is_some()),
            (F_MODE, self.mode.is_some()),
            (F_EXPIRES, self.expires_at.is_some()),
            (F_POLICY, self.policy.is_some()),
            (F_ACTOR, self.actor.is_some()),
            (F_CLEAR, self.clear),
        ] {
            if present {
                flags |= bit;
            }
        }
        out.put_u8(META_VERSION);
        out.put_u8(flags);
        out.put_i64_le(self.written_at);
        if let Some(t) = self.retain_until {
            out.put_i64_le(t);
        }
        if let Some(mode) = self.mode {
            out.put_u8(mode_byte(mode));
        }
        if let Some(t) = self.expires_at {
            out.put_i64_le(t);
        }
        for text in [self.policy, self.actor].into_iter().flatten() {
            debug_assert!(text.len() <= META_TEXT_MAX, "checked by the write path");
            out.put_u16_le(text.len().min(usize::from(u16::MAX)) as u16);
            out.put_slice(&text.as_bytes()[..text.len().min(usize::from(u16::MAX))]);
        }
    }

    /// Bytes `encode_into` appends.
    pub(crate) fn encoded_len(&self) -> usize {
        let text = |t: Option<&str>| t.map_or(0, |t| 2 + t.len());
        10 + 8 * usize::from(self.retain_until.is_some())
            + usize::from(self.mode.is_some())
            + 8 * usize::from(self.expires_at.is_some())
            + text(self.policy)
            + text(self.actor)
    }

    /// Decodes metadata from the front of `bytes`, borrowing its texts;
    /// returns it and the number of bytes it took.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<(MetaRef<'a>, usize), String> {
        let mut r = ByteReader::over(bytes);
        let at = |(pos, why): (usize, String)| format!("record metadata at byte {pos}: {why}");
        let version = r.u8().map_err(at)?;
        if version != META_VERSION {
            return Err(format!("record metadata version {version}, expected 1"));
        }
        let flags = r.u8().map_err(at)?;
        if flags & !F_KNOWN != 0 {
            return Err(format!("record metadata has unknown flags {flags:#04x}"));
        }
        let mut meta = MetaRef {
            written_at: r.i64().map_err(at)?,
            clear: flags & F_CLEAR != 0,
            ..MetaRef::default()
        };
        if flags & F_RETAIN != 0 {
            meta.retain_until = Some(r.i64().map_err(at)?);
        }
        if flags & F_MODE != 0 {
            meta.mode = Some(match r.u8().map_err(at)? {
                1 => Mode::Governance,
                2 => Mode::Compliance,
                other => return Err(format!("record metadata: unknown mode {other}")),
            });
        }
        if flags & F_EXPIRES != 0 {
            meta.expires_at = Some(r.i64().map_err(at)?);
        }
        for (bit, slot) in [(F_POLICY, &mut meta.policy), (F_ACTOR, &mut meta.actor)] {
            if flags & bit != 0 {
                let len = usize::from(r.u16().map_err(at)?);
                let raw = r.slice_exact(len).map_err(at)?;
                let text = std::str::from_utf8(raw)
                    .map_err(|_| "record metadata: text is not UTF-8".to_string())?;
                *slot = Some(text);
            }
        }
        Ok((meta, r.pos()))
    }

    /// Splits a `Record` entry's stored value into borrowed metadata and
    /// the user value (a slice of the same buffer).
    pub(crate) fn split_record(stored: &'a Bytes) -> Result<(MetaRef<'a>, Bytes), String> {
        let (meta, len) = MetaRef::decode(stored)?;
        Ok((meta, stored.slice(len..)))
    }

    /// An owned copy.
    pub(crate) fn to_owned(self) -> StoredMeta {
        StoredMeta {
            written_at: self.written_at,
            retain_until: self.retain_until,
            mode: self.mode,
            expires_at: self.expires_at,
            policy: self.policy.map(str::to_owned),
            actor: self.actor.map(str::to_owned),
            clear: self.clear,
        }
    }
}

impl StoredMeta {
    /// The borrowed form.
    pub(crate) fn as_ref(&self) -> MetaRef<'_> {
        MetaRef {
            written_at: self.written_at,
            retain_until: self.retain_until,
            mode: self.mode,
            expires_at: self.expires_at,
            policy: self.policy.as_deref(),
            actor: self.actor.as_deref(),
            clear: self.clear,
        }
    }

    /// Appends the encoding.
    pub(crate) fn encode_into(&self, out: &mut impl BufMut) {
        self.as_ref().encode_into(out);
    }

    /// The encoding as a buffer.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Bytes `encode_into` appends.
    pub(crate) fn encoded_len(&self) -> usize {
        self.as_ref().encoded_len()
    }

    /// The most bytes `encode_into` appends for metadata with this policy
    /// and actor: every date and the mode present.
    pub(crate) fn encoded_len_max(policy: Option<&str>, actor: Option<&str>) -> usize {
        let text = |t: Option<&str>| t.map_or(0, |t| 2 + t.len());
        10 + 8 + 1 + 8 + text(policy) + text(actor)
    }

    /// Decodes metadata from the front of `bytes`; returns it and the
    /// number of bytes it took.
    pub(crate) fn decode(bytes: &Bytes) -> Result<(StoredMeta, usize), String> {
        MetaRef::decode(bytes).map(|(meta, len)| (meta.to_owned(), len))
    }

    /// Splits a `Record` entry's stored value into metadata and user value
    /// (a slice of the same buffer).
    pub(crate) fn split_record(stored: &Bytes) -> Result<(StoredMeta, Bytes), String> {
        MetaRef::split_record(stored).map(|(meta, value)| (meta.to_owned(), value))
    }

    /// Decodes a `RetentionUpdate` entry's stored value (metadata only).
    pub(crate) fn decode_update(stored: &Bytes) -> Result<StoredMeta, String> {
        let (meta, len) = StoredMeta::decode(stored)?;
        if len != stored.len() {
            return Err(format!(
                "retention update: {} bytes after the metadata",
                stored.len() - len
            ));
        }
        Ok(meta)
    }
}

fn mode_byte(mode: Mode) -> u8 {
    match mode {
        Mode::Governance => 1,
        Mode::Compliance => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<StoredMeta> {
        vec![
            StoredMeta::default(),
            StoredMeta {
                written_at: 1_700_000_000_000,
                retain_until: Some(13_000_000_000_000),
                mode: Some(Mode::Compliance),
                expires_at: Some(i64::MAX),
                policy: Some("invoice".into()),
                actor: Some("billing-service ✓".into()),
                clear: false,
            },
            StoredMeta {
                written_at: -5,
                mode: Some(Mode::Governance),
                clear: true,
                ..StoredMeta::default()
            },
        ]
    }

    #[test]
    fn encoded_len_max_bounds_every_encoding() {
        for meta in samples() {
            let max = StoredMeta::encoded_len_max(meta.policy.as_deref(), meta.actor.as_deref());
            assert_eq!(meta.encode().len(), meta.encoded_len());
            assert!(meta.encoded_len() <= max, "{meta:?}");
        }
        let full = &samples()[1];
        assert_eq!(
            full.encoded_len(),
            StoredMeta::encoded_len_max(full.policy.as_deref(), full.actor.as_deref())
        );
    }

    #[test]
    fn round_trip_and_length() {
        for meta in samples() {
            let mut encoded = meta.encode();
            assert_eq!(encoded.len(), meta.encoded_len());
            encoded.extend_from_slice(b"user value");
            let (back, value) = StoredMeta::split_record(&Bytes::from(encoded)).unwrap();
            assert_eq!(back, meta);
            assert_eq!(&value[..], b"user value");
            assert_eq!(
                StoredMeta::decode_update(&Bytes::from(meta.encode())).unwrap(),
                meta
            );
        }
    }

    /// The worked example of `docs/FORMAT.md`.
    #[test]
    fn worked_example_matches_the_spec() {
        let meta = StoredMeta {
            written_at: 1_795_478_400_000,
            retain_until: Some(2_016_403_200_000),
            mode: Some(Mode::Governance),
            expires_at: Some(2_016_403_200_000),
            policy: Some("invoice".into()),
            ..StoredMeta::default()
        };
        let hex: Vec<String> = meta.encode().iter().map(|b| format!("{b:02x}")).collect();
        let expected = "01 0f 00 2c da 0a a2 01 00 00 00 18 ff 7a d5 01 00 00 01 \
                        00 18 ff 7a d5 01 00 00 07 00 69 6e 76 6f 69 63 65";
        assert_eq!(
            hex.join(" "),
            expected.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn truncations_and_bad_bytes_are_errors_not_panics() {
        for meta in samples() {
            let encoded = meta.encode();
            for len in 0..encoded.len() {
                let cut = Bytes::copy_from_slice(&encoded[..len]);
                assert!(StoredMeta::decode_update(&cut).is_err(), "len {len}");
            }
            for i in 0..encoded.len() {
                for bit in 0..8 {
                    let mut bad = encoded.clone();
                    bad[i] ^= 1 << bit;
                    // Either an error or some metadata: never a panic.
                    let _ = StoredMeta::decode(&Bytes::from(bad));
                }
            }
        }
        let mut unknown_flag = StoredMeta::default().encode();
        unknown_flag[1] = 0x40;
        assert!(StoredMeta::decode(&Bytes::from(unknown_flag)).is_err());
    }
}
