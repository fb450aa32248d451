//! Helpers shared by the integration tests: opening databases, reading
//! everything back, and looking at WAL segment files from the outside.
//!
//! The WAL layout read here is the one of `src/wal/format.rs`:
//! a 20-byte segment header, then frames `crc32 u32 | len u16 | type u8 |
//! payload`, where a logical record is one `Full` frame or `First`,
//! `Middle`*, `Last`.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

use holdfast::{Bytes, Db, Error, Options};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bytes in a WAL segment header.
pub const SEGMENT_HEADER_LEN: usize = 20;
/// Bytes in a WAL frame header (`crc32 | len | type`).
pub const FRAME_HEADER_LEN: usize = 7;
/// Frame type of a record held in one frame.
pub const FRAME_FULL: u8 = 1;
/// Frame type of the last fragment of a record.
pub const FRAME_LAST: u8 = 4;

/// The smallest memtable the engine accepts: writing a few hundred KiB
/// rotates it (and starts a new WAL segment) several times.
pub const SMALL_MEMTABLE: usize = 64 * 1024;

/// Default options with the smallest memtable.
pub fn small_memtable() -> Options {
    Options::default().memtable_bytes(SMALL_MEMTABLE)
}

/// Every pair an iterator yields, as owned vectors; panics on an error item.
pub fn collect(
    iter: impl Iterator<Item = holdfast::Result<(Bytes, Bytes)>>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    iter.map(|item| {
        let (k, v) = item.expect("iterator item");
        (k.to_vec(), v.to_vec())
    })
    .collect()
}

/// Just the keys an iterator yields.
pub fn keys(iter: impl Iterator<Item = holdfast::Result<(Bytes, Bytes)>>) -> Vec<Vec<u8>> {
    collect(iter).into_iter().map(|(k, _)| k).collect()
}

/// The whole database, read through a full range scan.
pub fn contents(db: &Db) -> BTreeMap<Vec<u8>, Vec<u8>> {
    collect(db.range::<&[u8], _>(..)).into_iter().collect()
}

/// `db.get(key)` as an owned vector.
pub fn get(db: &Db, key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    db.get(key).expect("get").map(|v| v.to_vec())
}

/// The WAL segment files of `dir`, oldest first.
pub fn wal_segments(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list db dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.len() == 24
                && name.ends_with(".wal")
                && name[..20].bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    out.sort();
    out
}

/// The newest WAL segment of `dir`.
pub fn newest_segment(dir: &Path) -> PathBuf {
    wal_segments(dir).pop().expect("at least one WAL segment")
}

/// Every file of `dir` with its length, sorted by name.
pub fn dir_listing(dir: &Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir)
        .expect("list db dir")
        .map(|e| {
            let e = e.expect("dir entry");
            let len = e.metadata().expect("metadata").len();
            (e.file_name().to_string_lossy().into_owned(), len)
        })
        .collect();
    out.sort();
    out
}

/// The file name of WAL segment `number`.
pub fn segment_name(number: u64) -> String {
    format!("{number:020}.wal")
}

/// One frame of a segment: where it starts and ends, and its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpan {
    pub start: usize,
    pub end: usize,
    pub frame_type: u8,
}

/// The frames of an undamaged segment. Panics on bytes that do not parse:
/// callers use it before they damage anything.
pub fn frames(segment: &[u8]) -> Vec<FrameSpan> {
    assert!(segment.len() >= SEGMENT_HEADER_LEN, "segment too short");
    assert_eq!(&segment[..4], b"HFWL", "segment magic");
    let mut out = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN;
    while pos < segment.len() {
        assert!(pos + FRAME_HEADER_LEN <= segment.len(), "frame header cut");
        let len = usize::from(u16::from_le_bytes([segment[pos + 4], segment[pos + 5]]));
        let frame_type = segment[pos + 6];
        let end = pos + FRAME_HEADER_LEN + len;
        assert!(len > 0 && end <= segment.len(), "frame at {pos} is cut");
        assert!((1..=4).contains(&frame_type), "frame type {frame_type}");
        out.push(FrameSpan {
            start: pos,
            end,
            frame_type,
        });
        pos = end;
    }
    out
}

/// Byte offsets (in the segment) where each logical record ends.
pub fn record_ends(segment: &[u8]) -> Vec<usize> {
    frames(segment)
        .into_iter()
        .filter(|f| f.frame_type == FRAME_FULL || f.frame_type == FRAME_LAST)
        .map(|f| f.end)
        .collect()
}

/// Byte offsets where each logical record starts.
pub fn record_starts(segment: &[u8]) -> Vec<usize> {
    let mut starts = vec![SEGMENT_HEADER_LEN];
    let ends = record_ends(segment);
    starts.extend_from_slice(&ends[..ends.len().saturating_sub(1)]);
    starts.truncate(ends.len());
    starts
}

/// Cuts `path` to `len` bytes.
pub fn truncate(path: &Path, len: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for truncate");
    file.set_len(len).expect("truncate");
}

/// Copies the regular files of `from` into `to` (created if missing).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy dir");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// A short description of an error variant, for assertion messages.
pub fn describe(result: &holdfast::Result<impl std::fmt::Debug>) -> String {
    match result {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({e:?})"),
    }
}

/// True when `e` is `Error::InvalidArgument`.
pub fn is_invalid_argument(e: &Error) -> bool {
    matches!(e, Error::InvalidArgument(_))
}

/// A deterministic value of `len` bytes derived from `seed`.
pub fn value_of(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A tiny deterministic pseudo-random generator (xorshift64*), so tests
/// need no extra crate and every run sees the same sequence.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}
