//! Reading a log file (a WAL segment or a manifest) back at recovery: frames are checked and
//! reassembled into logical records, and damage is classified.
//!
//! # What counts as a torn tail
//! Only the newest segment can have one: every older segment was fsynced in
//! full before the next one was created. In the newest segment, a write cut
//! short by a crash leaves an incomplete frame, a frame whose checksum fails,
//! or garbage where unsynced pages were lost. With
//! [`RecoveryMode::TolerateTornTail`] the first such frame ends the log: every
//! complete record before it is kept and the rest is cut away. With
//! [`RecoveryMode::Strict`], and anywhere in an older segment, the same
//! damage is [`Error::Corruption`].

use super::format::{
    decode_frame, decode_segment_header, FrameError, FrameType, FRAME_HEADER_LEN,
    SEGMENT_HEADER_LEN,
};
use crate::options::RecoveryMode;
use crate::{Error, Result};
use bytes::Bytes;
use std::path::Path;

/// One logical record and where its first frame starts in the segment.
#[derive(Debug)]
pub(crate) struct WalRecord {
    pub offset: u64,
    pub payload: Bytes,
}

/// Everything recovered from one segment.
#[derive(Debug)]
pub(crate) struct SegmentContents {
    pub records: Vec<WalRecord>,
    /// Length of the valid prefix; less than the file's length when a torn
    /// tail was found and is to be cut away.
    pub valid_len: u64,
    /// Why the tail was cut, if it was.
    pub torn: Option<String>,
}

/// Parses the bytes of segment `number` read from `path`.
///
/// `newest` says whether this is the last segment of the log: only there can
/// damage be a torn tail.
pub(crate) fn read_segment(
    path: &Path,
    magic: [u8; 4],
    number: u64,
    bytes: &Bytes,
    newest: bool,
    mode: RecoveryMode,
) -> Result<SegmentContents> {
    let tolerate = newest && mode == RecoveryMode::TolerateTornTail;
    if let Err(why) = decode_segment_header(bytes, magic, number) {
        // The header is synced before any record is written, so a damaged
        // header is a torn creation only if nothing follows it.
        if tolerate && bytes.len() <= SEGMENT_HEADER_LEN {
            return Ok(SegmentContents {
                records: Vec::new(),
                valid_len: 0,
                torn: Some(why),
            });
        }
        return Err(Error::corruption(path, 0, why));
    }

    let mut records = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN;
    // A record being reassembled from fragments: its start and bytes so far.
    let mut partial: Option<(usize, Vec<u8>)> = None;
    let damage = loop {
        if pos == bytes.len() {
            match &partial {
                None => break None,
                Some((start, _)) => {
                    break Some((
                        *start,
                        pos,
                        "log ends inside a fragmented record".to_string(),
                    ))
                }
            }
        }
        let record_start = partial.as_ref().map_or(pos, |(start, _)| *start);
        let (frame, used) = match decode_frame(&bytes[pos..]) {
            Ok(decoded) => decoded,
            Err(FrameError::Truncated) => {
                break Some((
                    record_start,
                    pos,
                    "incomplete frame at end of log".to_string(),
                ))
            }
            Err(FrameError::Invalid(why)) => break Some((record_start, pos, why)),
        };
        let complete = match (frame.frame_type, partial.take()) {
            (FrameType::Full, None) => {
                // Zero-copy: the record is a slice of the segment's buffer.
                let start = pos + FRAME_HEADER_LEN;
                Some((pos, bytes.slice(start..start + frame.payload.len())))
            }
            (FrameType::First, None) => {
                partial = Some((pos, frame.payload.to_vec()));
                None
            }
            (FrameType::Middle, Some((start, mut buf))) => {
                buf.extend_from_slice(frame.payload);
                partial = Some((start, buf));
                None
            }
            (FrameType::Last, Some((start, mut buf))) => {
                buf.extend_from_slice(frame.payload);
                Some((start, Bytes::from(buf)))
            }
            (frame_type, _) => {
                break Some((
                    record_start,
                    pos,
                    format!("unexpected {frame_type:?} frame"),
                ))
            }
        };
        if let Some((start, payload)) = complete {
            records.push(WalRecord {
                offset: start as u64,
                payload,
            });
        }
        pos += used;
    };

    match damage {
        None => Ok(SegmentContents {
            records,
            valid_len: bytes.len() as u64,
            torn: None,
        }),
        Some((record_start, _, why)) if tolerate => Ok(SegmentContents {
            records,
            valid_len: record_start as u64,
            torn: Some(why),
        }),
        Some((_, frame_pos, why)) => Err(Error::corruption(path, frame_pos as u64, why)),
    }
}

/// The offset of the first position at or after `from` where a complete,
/// valid `Full` or `First` frame starts, if any. For logs whose every append
/// is synced before the next (the manifest), a torn tail can only be the
/// last append, so the start of another record after the damage means the
/// damage is not a torn tail. `Middle` and `Last` frames do not count: they
/// may be surviving fragments of the torn append itself.
pub(crate) fn valid_frame_after(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(FRAME_HEADER_LEN)).find(|&pos| {
        // Cheap filter first: only a record-starting type byte is worth a CRC.
        matches!(
            FrameType::from_u8(bytes[pos + 6]),
            Some(FrameType::Full | FrameType::First)
        ) && decode_frame(&bytes[pos..]).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::super::format::{
        encode_record, encode_segment_header, FRAGMENT_PAYLOAD_MAX, SEGMENT_MAGIC,
    };
    use super::*;

    fn segment(records: &[&[u8]]) -> Vec<u8> {
        let mut out = encode_segment_header(SEGMENT_MAGIC, 3).to_vec();
        for r in records {
            encode_record(r, &mut out);
        }
        out
    }

    fn read(bytes: &[u8], newest: bool, mode: RecoveryMode) -> Result<SegmentContents> {
        let bytes = Bytes::copy_from_slice(bytes);
        read_segment(Path::new("x.wal"), SEGMENT_MAGIC, 3, &bytes, newest, mode)
    }

    #[test]
    fn clean_segment_reads_back() {
        let big = vec![7u8; FRAGMENT_PAYLOAD_MAX + 1];
        let bytes = segment(&[b"one", &big, b"three"]);
        let got = read(&bytes, true, RecoveryMode::Strict).unwrap();
        assert_eq!(got.records.len(), 3);
        assert_eq!(&got.records[1].payload[..], &big[..]);
        assert_eq!(got.valid_len, bytes.len() as u64);
        assert!(got.torn.is_none());
    }

    #[test]
    fn every_cut_of_the_newest_segment_keeps_the_complete_prefix() {
        let big = vec![9u8; FRAGMENT_PAYLOAD_MAX + 10];
        let records: [&[u8]; 3] = [b"alpha", &big, b"omega"];
        let bytes = segment(&records);
        let mut ends = vec![SEGMENT_HEADER_LEN];
        for r in records {
            let mut one = Vec::new();
            encode_record(r, &mut one);
            ends.push(ends.last().unwrap() + one.len());
        }
        for cut in 0..bytes.len() {
            let got = read(&bytes[..cut], true, RecoveryMode::TolerateTornTail).unwrap();
            let complete = ends.iter().skip(1).filter(|&&end| end <= cut).count();
            assert_eq!(got.records.len(), complete, "cut {cut}");
            let expect_valid = if cut < SEGMENT_HEADER_LEN {
                0
            } else {
                ends[complete]
            };
            assert_eq!(got.valid_len, expect_valid as u64, "cut {cut}");
            assert!(
                read(&bytes[..cut], true, RecoveryMode::Strict).is_err() || cut == ends[complete]
            );
            assert!(
                read(&bytes[..cut], false, RecoveryMode::TolerateTornTail).is_err()
                    || cut == ends[complete]
            );
        }
    }

    #[test]
    fn garbage_tail_is_torn_only_in_the_newest_segment() {
        let mut bytes = segment(&[b"kept"]);
        let valid = bytes.len() as u64;
        bytes.extend_from_slice(&[0xAB; 100]);
        let got = read(&bytes, true, RecoveryMode::TolerateTornTail).unwrap();
        assert_eq!(got.valid_len, valid);
        assert_eq!(got.records.len(), 1);
        let err = read(&bytes, false, RecoveryMode::TolerateTornTail).unwrap_err();
        assert!(matches!(err, Error::Corruption { offset, .. } if offset == valid));
    }

    #[test]
    fn valid_frames_after_damage_are_found() {
        let bytes = segment(&[b"one", b"two", b"three"]);
        let mut damaged = bytes.clone();
        damaged[SEGMENT_HEADER_LEN + 2] ^= 1; // inside the first frame
        let got = read(&damaged, true, RecoveryMode::TolerateTornTail).unwrap();
        assert_eq!(got.valid_len, SEGMENT_HEADER_LEN as u64);
        let second = SEGMENT_HEADER_LEN + FRAME_HEADER_LEN + 3;
        assert_eq!(
            valid_frame_after(&damaged, SEGMENT_HEADER_LEN + 1),
            Some(second)
        );
        assert_eq!(
            valid_frame_after(&bytes[..bytes.len() - 1], second + 1),
            None
        );
    }

    #[test]
    fn damaged_header_with_records_is_corruption() {
        let mut bytes = segment(&[b"data"]);
        bytes[1] ^= 0x10;
        assert!(read(&bytes, true, RecoveryMode::TolerateTornTail)
            .unwrap_err()
            .is_corruption());
        let torn_creation = &bytes[..SEGMENT_HEADER_LEN];
        let got = read(torn_creation, true, RecoveryMode::TolerateTornTail).unwrap();
        assert_eq!(got.valid_len, 0);
    }
}
