//! Bounds-checked little-endian reading of untrusted bytes, shared by the
//! hand-written decoders (batch payloads, version edits).
//!
//! Every read checks what remains before it touches a byte, and variable
//! lengths are sliced out of the input (`Bytes`, no copy), so a lying
//! length can never cause a panic or a large allocation. Errors carry the
//! offset of the failed read and what was wrong; the caller turns them
//! into `Error::Corruption` with its file and record offset.

use bytes::Bytes;

/// A decode failure: offset within the input, and what was wrong.
pub(crate) type DecodeError = (usize, String);

/// A cursor over untrusted bytes.
pub(crate) struct ByteReader<'a> {
    buf: &'a [u8],
    /// The `Bytes` that `buf` is, for slicing without a copy (`None` for a
    /// reader over a plain slice, whose `bytes` calls copy).
    owner: Option<&'a Bytes>,
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(buf: &'a Bytes) -> Self {
        ByteReader {
            buf,
            owner: Some(buf),
            pos: 0,
        }
    }

    /// A reader over a borrowed slice (its `bytes` results are copies).
    pub(crate) fn over(buf: &'a [u8]) -> Self {
        ByteReader {
            buf,
            owner: None,
            pos: 0,
        }
    }

    /// Offset of the next byte to read.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.slice_exact(1)?[0])
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(self.slice_exact(4)?);
        Ok(u32::from_le_bytes(raw))
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.slice_exact(8)?);
        Ok(u64::from_le_bytes(raw))
    }

    #[inline]
    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(self.u64()? as i64)
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let mut raw = [0u8; 2];
        raw.copy_from_slice(self.slice_exact(2)?);
        Ok(u16::from_le_bytes(raw))
    }

    /// A `u32` length followed by that many bytes, sliced without copying.
    pub(crate) fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.u32()? as usize;
        self.bytes_exact(len)
    }

    /// The next `len` bytes, borrowed (cheaper than a `Bytes` slice for
    /// bytes that are copied out anyway).
    #[inline]
    pub(crate) fn slice_exact(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let remaining = self.remaining();
        if len > remaining {
            return Err((self.pos, format!("needs {len} bytes, {remaining} remain")));
        }
        let out = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    /// The next `len` bytes, sliced without copying.
    pub(crate) fn bytes_exact(&mut self, len: usize) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        let slice = self.slice_exact(len)?;
        Ok(match self.owner {
            Some(owner) => owner.slice(start..start + len),
            None => Bytes::copy_from_slice(slice),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_bounds_and_refuses_past_the_end() {
        let buf = Bytes::from_static(&[7, 1, 0, 0, 0, 2, 0, 0, 0, b'h', b'i', 9]);
        let mut r = ByteReader::new(&buf);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u32().unwrap(), 1);
        assert_eq!(&r.bytes().unwrap()[..], b"hi");
        assert_eq!((r.pos(), r.remaining()), (11, 1));
        assert!(r.u64().unwrap_err().1.contains("needs 8 bytes, 1 remain"));
        let lying = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]);
        assert!(ByteReader::new(&lying).bytes().is_err());
    }
}
