//! The WAL's byte layout, shared by the writer and the reader: the segment
//! header and the record framing. See `docs/FORMAT.md` for the tables and a
//! worked example (checked by a test below).
//!
//! ```text
//! segment = header (20 bytes) | frame*
//! header  = magic "HFWL" | version u16 | reserved u16 (0) | segment number u64 | crc32 u32
//! frame   = crc32 u32 | len u16 | type u8 | payload[len]
//! ```
//! The header's CRC covers its first 16 bytes. A frame's CRC covers its
//! length, type and payload (bytes 4.. of the frame), so a damaged length is
//! caught as surely as a damaged payload. A logical record (one batch) is
//! one `Full` frame, or a `First`, any number of `Middle` and a `Last` frame
//! when it is larger than [`FRAGMENT_PAYLOAD_MAX`].

/// The magic bytes of a WAL segment's header.
pub(crate) const SEGMENT_MAGIC: [u8; 4] = *b"HFWL";
/// The magic bytes of a manifest's header: the manifest is a log in the
/// same framing, with its own magic so one is never taken for the other.
pub(crate) const MANIFEST_MAGIC: [u8; 4] = *b"HFMF";
/// The current segment format version.
pub(crate) const SEGMENT_VERSION: u16 = 1;
/// Bytes in the segment header.
pub(crate) const SEGMENT_HEADER_LEN: usize = 20;
/// Bytes in a frame header (`crc32 | len | type`).
pub(crate) const FRAME_HEADER_LEN: usize = 7;
/// Largest payload of one frame: large batches are fragmented, so no reader
/// ever allocates more than this for one frame, whatever a length field says.
pub(crate) const FRAGMENT_PAYLOAD_MAX: usize = 32 * 1024;

/// Where a frame's payload sits in its logical record. `0` is invalid (a
/// zero-filled tail never parses as a frame); values are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FrameType {
    /// The whole record.
    Full = 1,
    /// The first fragment of a record.
    First = 2,
    /// A fragment that is neither first nor last.
    Middle = 3,
    /// The last fragment of a record.
    Last = 4,
}

impl FrameType {
    pub(crate) fn from_u8(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(FrameType::Full),
            2 => Some(FrameType::First),
            3 => Some(FrameType::Middle),
            4 => Some(FrameType::Last),
            _ => None,
        }
    }
}

/// Encodes the header of log file `number` with `magic`.
pub(crate) fn encode_segment_header(magic: [u8; 4], number: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut out = [0u8; SEGMENT_HEADER_LEN];
    out[0..4].copy_from_slice(&magic);
    out[4..6].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    out[8..16].copy_from_slice(&number.to_le_bytes());
    let crc = crc32fast::hash(&out[0..16]);
    out[16..20].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a log header and checks its magic and that it names file
/// `expected_number`.
pub(crate) fn decode_segment_header(
    bytes: &[u8],
    magic: [u8; 4],
    expected_number: u64,
) -> Result<(), String> {
    let Some(header) = bytes.get(..SEGMENT_HEADER_LEN) else {
        return Err(format!(
            "segment header needs {SEGMENT_HEADER_LEN} bytes, file has {}",
            bytes.len()
        ));
    };
    let stored = u32::from_le_bytes([header[16], header[17], header[18], header[19]]);
    let actual = crc32fast::hash(&header[0..16]);
    if stored != actual {
        return Err(format!(
            "segment header checksum: stored {stored:#010x}, computed {actual:#010x}"
        ));
    }
    if header[0..4] != magic {
        return Err(format!(
            "header magic is {:?}, expected {:?}",
            String::from_utf8_lossy(&header[0..4]),
            String::from_utf8_lossy(&magic)
        ));
    }
    let version = u16::from_le_bytes([header[4], header[5]]);
    if version != SEGMENT_VERSION {
        return Err(format!("unsupported WAL segment version {version}"));
    }
    if header[6..8] != [0, 0] {
        return Err("segment header reserved bytes are not zero".into());
    }
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&header[8..16]);
    let number = u64::from_le_bytes(raw);
    if number != expected_number {
        return Err(format!(
            "header names segment {number}, file name says {expected_number}"
        ));
    }
    Ok(())
}

/// Appends the frames of one logical record holding `payload` to `out`.
pub(crate) fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    assert!(!payload.is_empty(), "a WAL record is never empty");
    let fragments = payload.len().div_ceil(FRAGMENT_PAYLOAD_MAX);
    out.reserve(payload.len() + fragments * FRAME_HEADER_LEN);
    for (i, chunk) in payload.chunks(FRAGMENT_PAYLOAD_MAX).enumerate() {
        let frame_type = match (i == 0, i + 1 == fragments) {
            (true, true) => FrameType::Full,
            (true, false) => FrameType::First,
            (false, true) => FrameType::Last,
            (false, false) => FrameType::Middle,
        };
        encode_frame(frame_type, chunk, out);
    }
}

fn encode_frame(frame_type: FrameType, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(!payload.is_empty() && payload.len() <= FRAGMENT_PAYLOAD_MAX);
    let len = payload.len() as u16;
    let start = out.len();
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&len.to_le_bytes());
    out.push(frame_type as u8);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// A frame decoded from the front of a byte slice.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    pub frame_type: FrameType,
    pub payload: &'a [u8],
}

/// Why no frame could be decoded at some position.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The bytes end before the frame does: the write was cut short.
    Truncated,
    /// The bytes are all there but do not form a valid frame.
    Invalid(String),
}

/// Decodes the frame at the start of `bytes`; on success also returns the
/// number of bytes it occupies.
pub(crate) fn decode_frame(bytes: &[u8]) -> Result<(Frame<'_>, usize), FrameError> {
    let Some(header) = bytes.get(..FRAME_HEADER_LEN) else {
        return Err(FrameError::Truncated);
    };
    let stored = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let len = usize::from(u16::from_le_bytes([header[4], header[5]]));
    let tag = header[6];
    if len == 0 || len > FRAGMENT_PAYLOAD_MAX {
        return Err(FrameError::Invalid(format!("frame length {len}")));
    }
    let Some(body) = bytes.get(4..FRAME_HEADER_LEN + len) else {
        return Err(FrameError::Truncated);
    };
    let actual = crc32fast::hash(body);
    if stored != actual {
        return Err(FrameError::Invalid(format!(
            "frame checksum: stored {stored:#010x}, computed {actual:#010x}"
        )));
    }
    let frame_type =
        FrameType::from_u8(tag).ok_or_else(|| FrameError::Invalid(format!("frame type {tag}")))?;
    let frame = Frame {
        frame_type,
        payload: &bytes[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len],
    };
    Ok((frame, FRAME_HEADER_LEN + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of `docs/FORMAT.md`: a batch `put("k1", "v1")` with
    /// sequence number 1, framed as one WAL record.
    #[test]
    fn worked_example_matches_the_spec() {
        let mut batch = crate::WriteBatch::new();
        batch.put("k1", "v1");
        let payload = batch.seal(1);
        let mut frame = Vec::new();
        encode_record(&payload, &mut frame);
        let hex: Vec<String> = frame.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex.join(" "),
            "46 64 4e 85 19 00 01 \
             01 00 00 00 00 00 00 00 01 00 00 00 \
             01 02 00 00 00 6b 31 02 00 00 00 76 31"
        );
        let header = encode_segment_header(SEGMENT_MAGIC, 1);
        let hex: Vec<String> = header.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex.join(" "),
            "48 46 57 4c 01 00 00 00 01 00 00 00 00 00 00 00 93 88 29 6b"
        );
    }

    #[test]
    fn large_records_are_fragmented_and_reassemble() {
        let payload: Vec<u8> = (0..FRAGMENT_PAYLOAD_MAX * 2 + 5).map(|i| i as u8).collect();
        let mut out = Vec::new();
        encode_record(&payload, &mut out);
        let mut pos = 0;
        let mut types = Vec::new();
        let mut joined = Vec::new();
        while pos < out.len() {
            let (frame, used) = decode_frame(&out[pos..]).unwrap();
            types.push(frame.frame_type);
            joined.extend_from_slice(frame.payload);
            pos += used;
        }
        assert_eq!(
            types,
            [FrameType::First, FrameType::Middle, FrameType::Last]
        );
        assert_eq!(joined, payload);
    }

    #[test]
    fn damage_is_detected() {
        let mut out = Vec::new();
        encode_record(b"hello world", &mut out);
        for cut in 0..out.len() {
            assert_eq!(
                decode_frame(&out[..cut]),
                Err(FrameError::Truncated),
                "cut {cut}"
            );
        }
        for i in 0..out.len() {
            for bit in 0..8 {
                let mut bad = out.clone();
                bad[i] ^= 1 << bit;
                // A flip in the length may make the frame look truncated;
                // anything else must fail the checksum. Never a success.
                assert!(decode_frame(&bad).is_err(), "byte {i} bit {bit}");
            }
        }
        assert!(matches!(
            decode_frame(&[0u8; 64]),
            Err(FrameError::Invalid(_))
        ));
    }

    #[test]
    fn header_checks_number_and_checksum() {
        let header = encode_segment_header(SEGMENT_MAGIC, 9);
        assert!(decode_segment_header(&header, SEGMENT_MAGIC, 9).is_ok());
        assert!(decode_segment_header(&header, SEGMENT_MAGIC, 8).is_err());
        assert!(decode_segment_header(&header, MANIFEST_MAGIC, 9).is_err());
        assert!(decode_segment_header(&header[..10], SEGMENT_MAGIC, 9).is_err());
        let mut bad = header;
        bad[2] ^= 1;
        assert!(decode_segment_header(&bad, SEGMENT_MAGIC, 9).is_err());
    }
}
