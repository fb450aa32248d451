//! Tests of whole tables: written by `TableWriter`, read by `Table`, checked
//! against a `BTreeMap` model, damaged byte by byte.

use super::footer::{Footer, FOOTER_LEN};
use super::*;
use crate::fs::{FileHandle, FileSystem, OpenMode, OsFileSystem};
use crate::iter::{Entry, Source};
use crate::key::{SeqNo, ValueKind, SEQ_MAX};
use crate::Error;
use bytes::Bytes;
use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file in memory; `map` is the trait's default (a copy).
#[derive(Debug, Default)]
struct MemFile(Mutex<Vec<u8>>);

impl FileHandle for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let data = self.0.lock();
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.0.lock().extend_from_slice(buf);
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.lock().len() as u64)
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.0.lock().truncate(len as usize);
        Ok(())
    }
}

/// The model: internal key → (kind, value), in internal order.
type Model = BTreeMap<(Vec<u8>, Reverse<SeqNo>), (ValueKind, Vec<u8>)>;

const PATH: &str = "/db/000007.sst";

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Keys `k00000`, `k00002`, … (even numbers only, so odd ones are absent),
/// each with 1 to 4 versions, some tombstones, values of varied length.
fn model(keys: u64, seed: u64) -> Model {
    let mut rng = Rng(seed);
    let mut model = Model::new();
    let mut seq = 1;
    for i in 0..keys {
        let key = format!("k{:05}", i * 2).into_bytes();
        for _ in 0..1 + rng.below(4) {
            let kind = if rng.below(5) == 0 {
                ValueKind::Tombstone
            } else {
                ValueKind::Value
            };
            let len = match rng.below(10) {
                0 => 2000 + rng.below(3000),
                _ => rng.below(40),
            } as usize;
            let value = match kind {
                ValueKind::Tombstone => Vec::new(),
                _ => (0..len).map(|j| (seq as usize + j) as u8).collect(),
            };
            model.insert((key.clone(), Reverse(seq)), (kind, value));
            seq += 1 + rng.below(3);
        }
    }
    model
}

fn write(model: &Model, options: &TableOptions) -> (Bytes, TableProperties) {
    let file = Arc::new(MemFile::default());
    let mut writer = TableWriter::new(file.clone(), PathBuf::from(PATH), options.clone());
    for ((key, Reverse(seq)), (kind, value)) in model {
        writer.add(key, *seq, *kind, value).unwrap();
    }
    let estimate = writer.estimated_file_bytes();
    let props = writer.finish().unwrap();
    let bytes = file.map().unwrap();
    assert_eq!(props.file_bytes, bytes.len() as u64);
    let slack = estimate.abs_diff(props.file_bytes);
    assert!(
        slack <= 64 + props.file_bytes / 50,
        "estimate {estimate} vs {props:?}"
    );
    (bytes, props)
}

fn open(bytes: Bytes, options: &TableOptions) -> crate::Result<Arc<Table>> {
    Table::from_bytes(PathBuf::from(PATH), bytes, options).map(Arc::new)
}

/// The model's answer to a point read.
fn model_get(model: &Model, key: &[u8], snapshot: SeqNo) -> Option<(SeqNo, ValueKind, Vec<u8>)> {
    model
        .range((key.to_vec(), Reverse(snapshot))..)
        .next()
        .filter(|((k, _), _)| k == key)
        .map(|((_, Reverse(seq)), (kind, value))| (*seq, *kind, value.clone()))
}

/// The model's entries in a user-key range, visible at `snapshot`.
fn model_range(
    model: &Model,
    lower: &Bound<Bytes>,
    upper: &Bound<Bytes>,
    snapshot: SeqNo,
) -> Vec<(Vec<u8>, SeqNo, ValueKind, Vec<u8>)> {
    model
        .iter()
        .filter(|((k, Reverse(seq)), _)| {
            *seq <= snapshot && (lower.clone(), upper.clone()).contains(&Bytes::copy_from_slice(k))
        })
        .map(|((k, Reverse(seq)), (kind, v))| (k.clone(), *seq, *kind, v.clone()))
        .collect()
}

fn flat(e: Entry) -> (Vec<u8>, SeqNo, ValueKind, Vec<u8>) {
    (e.key.to_vec(), e.seq, e.kind, e.value.to_vec())
}

fn small_blocks() -> TableOptions {
    TableOptions {
        block_bytes: 256,
        restart_interval: 4,
        ..TableOptions::default()
    }
}

fn assert_corruption(result: Result<impl std::fmt::Debug, Error>, what: &str) {
    match result {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, Path::new(PATH), "{what}"),
        other => panic!("{what}: expected Corruption, got {other:?}"),
    }
}

#[test]
fn point_reads_match_the_model_at_every_snapshot() {
    for options in [TableOptions::default(), small_blocks()] {
        let model = model(1500, 1);
        let (bytes, props) = write(&model, &options);
        let table = open(bytes, &options).unwrap();
        table.verify().unwrap();
        assert_eq!(props, *table.properties());
        assert_eq!(props.entries, model.len() as u64);
        assert!(table.index.len() > 10, "several blocks");
        let max_seq = props.max_seq;
        for i in 0..1501 {
            for key in [format!("k{:05}", i * 2), format!("k{:05}", i * 2 + 1)] {
                for snapshot in [
                    0,
                    1,
                    max_seq / 3,
                    max_seq / 2,
                    max_seq - 1,
                    max_seq,
                    SEQ_MAX,
                ] {
                    let got = table.get(key.as_bytes(), snapshot).unwrap();
                    let got = got.map(|(s, k, v)| (s, k, v.to_vec()));
                    assert_eq!(
                        got,
                        model_get(&model, key.as_bytes(), snapshot),
                        "{key}@{snapshot}"
                    );
                }
            }
        }
        // Every version at exactly its own seq, and just below it.
        for (key, Reverse(seq)) in model.keys() {
            for snapshot in [*seq, *seq - 1] {
                let got = table
                    .get(key, snapshot)
                    .unwrap()
                    .map(|(s, k, v)| (s, k, v.to_vec()));
                assert_eq!(got, model_get(&model, key, snapshot));
            }
        }
        assert_eq!(table.get(b"a", SEQ_MAX).unwrap(), None);
        assert_eq!(table.get(b"z", SEQ_MAX).unwrap(), None);
    }
}

fn random_bound(rng: &mut Rng) -> Bound<Bytes> {
    let key = Bytes::from(format!("k{:05}", rng.below(420)));
    match rng.below(3) {
        0 => Bound::Included(key),
        1 => Bound::Excluded(key),
        _ => Bound::Unbounded,
    }
}

#[test]
fn cursors_match_the_model_over_random_ranges_and_snapshots() {
    let options = small_blocks();
    let model = model(200, 2);
    let (bytes, props) = write(&model, &options);
    let table = open(bytes, &options).unwrap();
    let mut rng = Rng(3);
    for round in 0..400 {
        let (lower, upper) = (random_bound(&mut rng), random_bound(&mut rng));
        let snapshot = match rng.below(4) {
            0 => SEQ_MAX,
            _ => rng.below(props.max_seq + 2),
        };
        let expected = model_range(&model, &lower, &upper, snapshot);

        let mut cursor = table.cursor(snapshot, lower.clone(), upper.clone());
        let mut forward = Vec::new();
        while let Some(e) = cursor.next_front().unwrap() {
            forward.push(flat(e));
        }
        assert_eq!(
            forward, expected,
            "round {round} forward {lower:?}..{upper:?}@{snapshot}"
        );

        let mut cursor = table.cursor(snapshot, lower.clone(), upper.clone());
        let mut backward = Vec::new();
        while let Some(e) = cursor.next_back().unwrap() {
            backward.push(flat(e));
        }
        backward.reverse();
        assert_eq!(backward, expected, "round {round} backward");

        // Mixed: the ends are independent, each walks the whole range.
        let mut cursor = table.cursor(snapshot, lower, upper);
        let (mut front, mut back) = (0, 0);
        for _ in 0..2 * expected.len() + 4 {
            if rng.below(2) == 0 {
                let got = cursor.next_front().unwrap().map(flat);
                assert_eq!(
                    got.as_ref(),
                    expected.get(front),
                    "round {round} mixed front"
                );
                front += usize::from(got.is_some());
            } else {
                let got = cursor.next_back().unwrap().map(flat);
                let want = expected.len().checked_sub(back + 1).map(|i| &expected[i]);
                assert_eq!(got.as_ref(), want, "round {round} mixed back");
                back += usize::from(got.is_some());
            }
        }
    }
    let mut all = Vec::new();
    let mut cursor = table.cursor_all();
    while let Some(e) = cursor.next_front().unwrap() {
        all.push(flat(e));
    }
    assert_eq!(
        all,
        model_range(&model, &Bound::Unbounded, &Bound::Unbounded, SEQ_MAX)
    );
}

#[test]
fn bloom_false_positive_rate_over_a_whole_table() {
    let options = TableOptions::default();
    let file = Arc::new(MemFile::default());
    let mut writer = TableWriter::new(file.clone(), PathBuf::from(PATH), options.clone());
    let n = 100_000u32;
    for i in 0..n {
        let key = format!("present{i:08}");
        writer
            .add(key.as_bytes(), 1, ValueKind::Value, b"")
            .unwrap();
    }
    writer.finish().unwrap();
    let table = open(file.map().unwrap(), &options).unwrap();
    let false_positives = (0..n)
        .filter(|i| table.may_contain(format!("absent{i:08}").as_bytes()))
        .count();
    let rate = false_positives as f64 / f64::from(n);
    println!(
        "table bloom filter: {false_positives} false positives in {n} absent keys = {:.3}%",
        rate * 100.0
    );
    assert!(rate <= 0.015, "false-positive rate {rate}");
    assert!((0..n).all(|i| table.may_contain(format!("present{i:08}").as_bytes())));
}

/// The start offsets of each section of a table.
struct Sections {
    index: u64,
    filter: u64,
    properties: u64,
    footer: u64,
}

fn sections(bytes: &[u8]) -> Sections {
    let footer_at = bytes.len() - FOOTER_LEN;
    let footer = Footer::decode(&bytes[footer_at..], footer_at as u64).unwrap();
    Sections {
        filter: footer.filter.offset,
        index: footer.index.offset,
        properties: footer.properties.offset,
        footer: footer_at as u64,
    }
}

/// Opens `bytes` and reads everything; any success must equal the model.
/// Returns whether a corruption was reported.
fn read_everything(bytes: Bytes, model: &Model, options: &TableOptions) -> bool {
    let table = match open(bytes, options) {
        Ok(table) => table,
        Err(e) => {
            assert_corruption(Err::<(), _>(e), "open");
            return true;
        }
    };
    let mut corrupt = false;
    for (key, _) in model.keys() {
        match table.get(key, SEQ_MAX) {
            Ok(got) => {
                let got = got.map(|(s, k, v)| (s, k, v.to_vec()));
                assert_eq!(got, model_get(model, key, SEQ_MAX), "wrong data, no error");
            }
            Err(e) => {
                assert_corruption(Err::<(), _>(e), "get");
                corrupt = true;
            }
        }
    }
    let expected = model_range(model, &Bound::Unbounded, &Bound::Unbounded, SEQ_MAX);
    for forward in [true, false] {
        let mut cursor = table.cursor_all();
        let mut seen = Vec::new();
        loop {
            let next = if forward {
                cursor.next_front()
            } else {
                cursor.next_back()
            };
            match next {
                Ok(Some(e)) => seen.push(flat(e)),
                Ok(None) => break,
                Err(e) => {
                    assert_corruption(Err::<(), _>(e), "cursor");
                    corrupt = true;
                    break;
                }
            }
        }
        if !forward {
            seen.reverse();
            let skip = expected.len() - seen.len().min(expected.len());
            assert_eq!(seen, expected[skip..], "wrong data from the back");
        } else {
            assert_eq!(
                seen,
                expected[..seen.len().min(expected.len())],
                "wrong data"
            );
        }
    }
    if let Err(e) = table.verify() {
        assert_corruption(Err::<(), _>(e), "verify");
        corrupt = true;
    }
    corrupt
}

#[test]
fn a_flipped_byte_in_each_section_is_reported_as_corruption() {
    let options = small_blocks();
    let model = model(40, 4);
    let (bytes, _) = write(&model, &options);
    let s = sections(&bytes);
    let targets = [
        ("data block 0", 5),
        ("data block crc", s.filter - 1),
        ("last data block", s.filter - 10),
        ("filter", s.filter + 3),
        ("index", s.index + 2),
        ("properties", s.properties + 1),
        ("properties key", s.footer - 6),
        ("footer handle", s.footer + 13),
        ("footer magic", s.footer + 41),
        ("footer crc", bytes.len() as u64 - 1),
    ];
    for (what, at) in targets {
        let mut bad = bytes.to_vec();
        bad[at as usize] ^= 0x20;
        assert!(
            read_everything(Bytes::from(bad), &model, &options),
            "{what} at {at}"
        );
    }
}

#[test]
fn every_flipped_byte_is_reported_or_harmless_and_never_panics() {
    let options = TableOptions {
        block_bytes: 64,
        restart_interval: 2,
        ..TableOptions::default()
    };
    let model = model(6, 5);
    let (bytes, _) = write(&model, &options);
    for i in 0..bytes.len() {
        for flip in [0x01, 0x80] {
            let mut bad = bytes.to_vec();
            bad[i] ^= flip;
            // With checksums on, every flip is detected (CRC32 catches
            // every single-byte error); the reads assert no wrong data.
            assert!(
                read_everything(Bytes::from(bad.clone()), &model, &options),
                "byte {i}"
            );
            // With data checksums off, a flip may go unnoticed, but must
            // never panic.
            let unchecked = TableOptions {
                verify_checksums: false,
                ..options.clone()
            };
            if let Ok(table) = open(Bytes::from(bad), &unchecked) {
                let mut cursor = table.cursor_all();
                while let Ok(Some(_)) = cursor.next_front() {}
                for (key, _) in model.keys() {
                    let _ = table.get(key, SEQ_MAX);
                }
            }
        }
    }
}

#[test]
fn every_truncation_fails_to_open_with_corruption() {
    let options = small_blocks();
    let (bytes, _) = write(&model(20, 6), &options);
    for len in 0..bytes.len() {
        assert_corruption(open(bytes.slice(..len), &options), &format!("length {len}"));
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert_corruption(open(Bytes::from(longer), &options), "one byte appended");
}

/// The worked example of `docs/FORMAT.md`: two entries, default options.
/// The filter bits were checked with an independent XXH64 (Python
/// `xxhash`), the CRCs with `zlib.crc32`.
#[test]
fn worked_example_bytes() {
    let mut model = Model::new();
    model.insert(
        (b"k1".to_vec(), Reverse(2)),
        (ValueKind::Value, b"v".to_vec()),
    );
    model.insert(
        (b"k2".to_vec(), Reverse(1)),
        (ValueKind::Tombstone, Vec::new()),
    );
    let (bytes, props) = write(&model, &TableOptions::default());
    let expected = [
        // @0 data block 0 (34 bytes). Entry 0: shared 0, unshared 10,
        // value 1, "k1", trailer 2 << 8 | 1, "v".
        "00 0a 01 6b 31 01 02 00 00 00 00 00 00 76",
        // Entry 1 @14: shared 1 ("k"), unshared 9, value 0, "2", trailer 1 << 8 | 2.
        "01 09 00 32 02 01 00 00 00 00 00 00",
        // restarts [0], n = 1; then the block's CRC32.
        "00 00 00 00 01 00 00 00",
        "c1 6d ed 1e",
        // @38 filter (9 bytes): 64 bits, k = 7; CRC32.
        "8a 20 19 00 32 04 45 00 07",
        "0d 83 f4 a2",
        // @51 index (33 bytes): shared 0, unshared 10, value 12, "k2",
        // trailer 1 << 8 | 2, handle (offset 0, size 34); restarts [0], n = 1; CRC32.
        "00 0a 0c 6b 32 02 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 22 00 00 00",
        "00 00 00 00 01 00 00 00",
        "2b b3 b5 df",
        // @88 properties (88 bytes): entries 2, tombstones 1, min_seq 1,
        // max_seq 2, raw key bytes 4, raw value bytes 1, file bytes 232,
        // expires 0, retain 0, flags 0, key lengths 2 and 2, "k1", "k2"; CRC32.
        "02 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00",
        "01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00",
        "04 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00",
        "e8 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        "00 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 02 00 00 00",
        "6b 31 6b 32",
        "72 fd 1a a6",
        // @180 footer (52 bytes): filter (38, 9), index (51, 33),
        // properties (88, 88), version 1, "HFTABLE1", CRC32 of the 48 before.
        "26 00 00 00 00 00 00 00 09 00 00 00",
        "33 00 00 00 00 00 00 00 21 00 00 00",
        "58 00 00 00 00 00 00 00 58 00 00 00",
        "01 00 00 00 48 46 54 41 42 4c 45 31",
        "9e 92 8d ca",
    ]
    .join(" ");
    let actual: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(actual.join(" "), expected);
    assert_eq!(props.file_bytes, 232);
    let table = open(bytes, &TableOptions::default()).unwrap();
    let (seq, kind, value) = table.get(b"k1", 5).unwrap().unwrap();
    assert_eq!((seq, kind, &value[..]), (2, ValueKind::Value, &b"v"[..]));
    assert_eq!(
        table.get(b"k2", 5).unwrap().map(|(s, k, _)| (s, k)),
        Some((1, ValueKind::Tombstone))
    );
}

#[test]
fn values_point_into_the_mapping() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("000001.sst");
    let file = OsFileSystem.open(&path, OpenMode::CreateNew).unwrap();
    let mut writer = TableWriter::new(file, path.clone(), TableOptions::default());
    for i in 0..1000u32 {
        let key = format!("key{i:06}");
        writer
            .add(
                key.as_bytes(),
                5,
                ValueKind::Value,
                format!("value {i}").as_bytes(),
            )
            .unwrap();
    }
    writer.finish().unwrap();
    let table = Arc::new(Table::open(&OsFileSystem, &path, &TableOptions::default()).unwrap());
    let mapped = table.data.as_ptr_range();
    let (seq, kind, value) = table.get(b"key000500", 9).unwrap().unwrap();
    assert_eq!(
        (seq, kind, &value[..]),
        (5, ValueKind::Value, &b"value 500"[..])
    );
    assert!(
        mapped.contains(&value.as_ptr()),
        "value is not a slice of the mapping"
    );
    let mut cursor = table.cursor_all();
    let first = cursor.next_front().unwrap().unwrap();
    assert!(mapped.contains(&first.value.as_ptr()));
    assert!(
        mapped.contains(&first.key.as_ptr()),
        "a restart key is sliced, not copied"
    );
    assert_eq!(table.path(), path);
}

#[test]
fn empty_table_round_trips() {
    let options = TableOptions::default();
    let (bytes, props) = write(&Model::new(), &options);
    assert_eq!(props.entries, 0);
    let table = open(bytes, &options).unwrap();
    table.verify().unwrap();
    assert_eq!(table.get(b"a", SEQ_MAX).unwrap(), None);
    let mut cursor = table.cursor_all();
    assert!(cursor.next_front().unwrap().is_none());
    assert!(cursor.next_back().unwrap().is_none());
}

#[test]
fn retention_summary_round_trips() {
    let options = TableOptions::default();
    let file = Arc::new(MemFile::default());
    let mut writer = TableWriter::new(file.clone(), PathBuf::from(PATH), options.clone());
    assert!(writer.is_empty());
    writer.add(b"k", 3, ValueKind::Value, b"v").unwrap();
    assert!(!writer.is_empty());
    writer.note_retention(Some(50), None);
    writer.note_retention(Some(20), Some(7));
    writer.note_retention(None, Some(9));
    let props = writer.finish().unwrap();
    assert_eq!(props.earliest_expires_at, Some(20));
    assert_eq!(props.latest_retain_until, Some(9));
    let table = open(file.map().unwrap(), &options).unwrap();
    assert_eq!(*table.properties(), props);
}

#[test]
#[cfg_attr(debug_assertions, should_panic(expected = "out of order"))]
fn writer_refuses_entries_out_of_order() {
    let file = Arc::new(MemFile::default());
    let mut writer = TableWriter::new(file, PathBuf::from(PATH), TableOptions::default());
    writer.add(b"b", 5, ValueKind::Value, b"").unwrap();
    assert!(writer.add(b"a", 6, ValueKind::Value, b"").is_err());
    assert!(
        writer.add(b"b", 5, ValueKind::Value, b"").is_err(),
        "duplicate"
    );
    assert!(
        writer.add(b"b", 6, ValueKind::Value, b"").is_err(),
        "older seq first"
    );
    writer.add(b"b", 4, ValueKind::Tombstone, b"").unwrap();
}

#[test]
fn writer_refuses_bad_keys_and_values() {
    let file = Arc::new(MemFile::default());
    let mut writer = TableWriter::new(file, PathBuf::from(PATH), TableOptions::default());
    let err = writer.add(b"", 1, ValueKind::Value, b"").unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(writer
        .add(b"k", SEQ_MAX + 1, ValueKind::Value, b"")
        .is_err());
    assert!(writer.is_empty());
}

#[test]
fn tables_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Table>();
    check::<TableCursor>();
}
