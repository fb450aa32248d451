//! Fixed-width little-endian primitives of the audit entry encoding, writer
//! and reader side by side.
//!
//! | primitive | bytes                                                    |
//! |-----------|----------------------------------------------------------|
//! | `u8`      | 1                                                        |
//! | `u64`     | 8, little-endian                                         |
//! | `i64`     | 8, little-endian two's complement                        |
//! | `hash`    | 32, as computed                                          |
//! | `bytes`   | `len u32` then `len` bytes                               |
//! | `text`    | `len u32` then `len` bytes of UTF-8                      |
//! | `opt<T>`  | `0u8` (absent) or `1u8` then `T`; any other flag invalid |
//!
//! # Invariants
//! 1. The reader never allocates from a length it has not checked against
//!    the bytes that remain: a lying length is an error, not an allocation.
//! 2. Every length is also checked against the field's limit, on both
//!    sides: the writer's caller validates before encoding, the reader
//!    refuses anything the writer would not have produced.
//! 3. Decoding is strict (exact flags, valid UTF-8, no trailing bytes), so
//!    decoded entries re-encode to exactly the bytes they came from — the
//!    property the hash chain's "canonical encoding" rests on.

use super::HASH_LEN;

/// Why bytes failed to decode: the byte offset in the entry payload and
/// what was wrong there.
pub(crate) type DecodeError = (usize, String);

/// Appends primitives to a buffer, noting the first field past its limit
/// (the entry is then refused as a whole, see [`Writer::finish`]).
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
    too_long: Option<String>,
}

impl Writer {
    /// A writer with room for `bytes` before it reallocates.
    pub(crate) fn with_capacity(bytes: usize) -> Writer {
        Writer {
            buf: Vec::with_capacity(bytes),
            too_long: None,
        }
    }

    /// The encoded bytes, or which field was past its limit.
    pub(crate) fn finish(self) -> Result<Vec<u8>, String> {
        match self.too_long {
            None => Ok(self.buf),
            Some(why) => Err(why),
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn hash(&mut self, v: &[u8; HASH_LEN]) {
        self.buf.extend_from_slice(v);
    }

    /// A length-prefixed byte string of at most `max` bytes (`max` is far
    /// below `u32::MAX`). A longer one is noted for [`Writer::finish`] and
    /// only its first `max` bytes are written, so the length always fits.
    pub(crate) fn bytes(&mut self, v: &[u8], what: &str, max: usize) {
        debug_assert!(u32::try_from(max).is_ok());
        let kept = if v.len() > max {
            self.too_long
                .get_or_insert_with(|| format!("{what} is {} bytes, the limit is {max}", v.len()));
            &v[..max]
        } else {
            v
        };
        self.buf
            .extend_from_slice(&(kept.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(kept);
    }

    pub(crate) fn text(&mut self, v: &str, what: &str, max: usize) {
        self.bytes(v.as_bytes(), what, max);
    }

    pub(crate) fn opt<T>(&mut self, v: Option<&T>, put: impl FnOnce(&mut Self, &T))
    where
        T: ?Sized,
    {
        match v {
            None => self.u8(0),
            Some(inner) => {
                self.u8(1);
                put(self, inner);
            }
        }
    }
}

/// Reads primitives from the front of a byte slice, tracking the offset
/// for error messages.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// The offset of the next byte to read.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// An error at the current offset.
    pub(crate) fn error(&self, what: impl Into<String>) -> DecodeError {
        (self.pos, what.into())
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let remaining = self.bytes.len() - self.pos;
        if n > remaining {
            return Err(self.error(format!("{what}: needs {n} bytes, {remaining} remain")));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(raw))
    }

    pub(crate) fn i64(&mut self, what: &str) -> Result<i64, DecodeError> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8, what)?);
        Ok(i64::from_le_bytes(raw))
    }

    pub(crate) fn hash(&mut self, what: &str) -> Result<[u8; HASH_LEN], DecodeError> {
        let mut out = [0u8; HASH_LEN];
        out.copy_from_slice(self.take(HASH_LEN, what)?);
        Ok(out)
    }

    /// A length-prefixed byte string of at most `max` bytes. The length is
    /// checked against `max` and against the bytes that remain before any
    /// allocation (invariant 1).
    pub(crate) fn bytes(&mut self, what: &str, max: usize) -> Result<Vec<u8>, DecodeError> {
        let start = self.pos;
        let mut raw = [0u8; 4];
        raw.copy_from_slice(self.take(4, what)?);
        let len = u32::from_le_bytes(raw) as usize;
        if len > max {
            return Err((
                start,
                format!("{what}: length {len} exceeds the limit {max}"),
            ));
        }
        Ok(self.take(len, what)?.to_vec())
    }

    /// A length-prefixed UTF-8 string of at most `max` bytes.
    pub(crate) fn text(&mut self, what: &str, max: usize) -> Result<String, DecodeError> {
        let start = self.pos;
        let raw = self.bytes(what, max)?;
        String::from_utf8(raw).map_err(|_| (start, format!("{what}: not valid UTF-8")))
    }

    /// An optional value: a presence flag that must be exactly 0 or 1.
    pub(crate) fn opt<T>(
        &mut self,
        what: &str,
        get: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let at = self.pos;
        match self.u8(what)? {
            0 => Ok(None),
            1 => get(self).map(Some),
            flag => Err((at, format!("{what}: presence flag {flag}, expected 0 or 1"))),
        }
    }

    /// Fails unless every byte was consumed (invariant 3).
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        let extra = self.bytes.len() - self.pos;
        if extra == 0 {
            Ok(())
        } else {
            Err(self.error(format!("{extra} unexpected trailing bytes")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_round_trip() {
        let mut w = Writer::default();
        w.u8(7);
        w.u64(u64::MAX - 1);
        w.i64(-5);
        w.hash(&[9; HASH_LEN]);
        w.bytes(b"key", "key", 3);
        w.text("héllo", "text", 100);
        w.opt(None::<&i64>, |w, v| w.i64(*v));
        w.opt(Some(&42i64), |w, v| w.i64(*v));
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u64("b").unwrap(), u64::MAX - 1);
        assert_eq!(r.i64("c").unwrap(), -5);
        assert_eq!(r.hash("d").unwrap(), [9; HASH_LEN]);
        assert_eq!(r.bytes("e", 3).unwrap(), b"key");
        assert_eq!(r.text("f", 100).unwrap(), "héllo");
        assert_eq!(r.opt("g", |r| r.i64("g")).unwrap(), None);
        assert_eq!(r.opt("h", |r| r.i64("h")).unwrap(), Some(42));
        r.finish().unwrap();
        assert_eq!(
            w.finish().unwrap().len(),
            1 + 8 + 8 + HASH_LEN + 7 + 10 + 1 + 9
        );
    }

    #[test]
    fn writer_refuses_fields_past_their_limit() {
        let mut w = Writer::default();
        w.bytes(b"four", "key", 3);
        w.text("ok", "actor", 3);
        let why = w.finish().unwrap_err();
        assert!(why.contains("key is 4 bytes"), "{why}");
    }

    #[test]
    fn lying_lengths_and_bad_flags_are_errors() {
        // A length of 4 GiB with 2 bytes behind it: refused, nothing allocated.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2]);
        assert!(r.bytes("key", usize::MAX).is_err());
        let mut r = Reader::new(&[3, 0, 0, 0, b'a', b'b', b'c']);
        let (at, why) = r.bytes("key", 2).unwrap_err();
        assert_eq!(at, 0);
        assert!(why.contains("limit"), "{why}");
        let mut r = Reader::new(&[2, 0, 0, 0, 0xff, 0xfe]);
        assert!(r.text("actor", 10).is_err());
        let mut r = Reader::new(&[2]);
        assert!(r.opt("x", |r| r.u8("x")).is_err());
        let r = Reader::new(&[0]);
        assert!(r.finish().is_err());
        let mut r = Reader::new(&[1, 2, 3]);
        assert!(r.u64("short").is_err());
    }
}
