//! Damage to a table file, seen through the public API.
//!
//! A database whose data all lives in a few tables (flushed, compacted,
//! closed) gets one byte of one table flipped — in the first data block,
//! in the middle, at every third of the last 100 bytes (footer,
//! properties, index, filter) and at random offsets (fixed seed) — or the
//! table cut short. After each reopen every key is read and the whole
//! range scanned both ways. Each read must return the correct value or an
//! `Error::Corruption` whose `file` is the damaged table; never a wrong
//! value, never a wrong "absent", never a panic. Keys outside the damaged
//! table's key range must read correctly, and once the byte is restored
//! everything reads correctly again.

use holdfast::{Db, Error, Options};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn options() -> Options {
    Options::default()
        .memtable_bytes(64 << 10)
        .target_table_bytes(10 << 10)
        .table_block_bytes(256)
        .background_threads(1)
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

fn value(i: u64, round: u64) -> Vec<u8> {
    let mut v = format!("value-{i}-{round}-").into_bytes();
    v.resize(40 + (i * 37 % 90) as usize, b'a' + (i % 26) as u8);
    v
}

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

const KEYS: u64 = 360;

/// Builds the database: two rounds of values, some deletes, everything
/// compacted into tables; returns the model and every key ever written.
fn build(dir: &Path) -> (Model, BTreeSet<Vec<u8>>) {
    let db = Db::open(dir, options()).expect("open");
    let mut model = Model::new();
    for round in 0..2 {
        for i in 0..KEYS {
            db.put(key(i), value(i, round)).expect("put");
            model.insert(key(i), value(i, round));
        }
        db.flush_memtables().expect("flush");
    }
    for i in (0..KEYS).step_by(7) {
        db.delete(key(i)).expect("delete");
        model.remove(&key(i));
    }
    db.compact().expect("compact");
    let stats = db.stats();
    assert_eq!(stats.level_tables[0], 0, "{stats:?}");
    assert!(
        stats.level_tables.iter().sum::<usize>() >= 3,
        "several tables: {stats:?}"
    );
    db.close().expect("close");
    let touched = (0..KEYS + 20).map(key).collect();
    (model, touched)
}

fn table_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "table"))
        .collect();
    out.sort();
    out
}

/// Asserts `e` is a corruption naming `table`.
fn assert_names_table(e: &Error, table: &Path, what: &str) {
    match e {
        Error::Corruption { file, .. } => assert!(
            file.file_name() == table.file_name(),
            "{what}: corruption names {}, the damaged table is {}",
            file.display(),
            table.display()
        ),
        other => panic!(
            "{what}: expected Corruption in {}, got {other:?}",
            table.display()
        ),
    }
}

/// What one reopen of a damaged database saw.
#[derive(Debug, Default)]
struct Outcome {
    /// Keys whose point read reported corruption.
    corrupt_keys: BTreeSet<Vec<u8>>,
    /// Whether either scan reported corruption.
    scan_failed: bool,
}

/// Opens the database (whose table `table` may be damaged) and reads
/// everything; panics on any wrong answer. `safe` keys must read correctly.
fn read_all(
    dir: &Path,
    table: &Path,
    model: &Model,
    touched: &BTreeSet<Vec<u8>>,
    safe: &BTreeSet<Vec<u8>>,
    what: &str,
) -> Outcome {
    let mut outcome = Outcome::default();
    let db = match Db::open(dir, options()) {
        Ok(db) => db,
        Err(e) => {
            // Opening need not read tables; if it does, it must say which.
            assert_names_table(&e, table, &format!("{what}: open"));
            outcome.scan_failed = true;
            outcome.corrupt_keys = touched.clone();
            return outcome;
        }
    };
    for k in touched {
        let name = String::from_utf8_lossy(k);
        match db.get(k) {
            Ok(got) => assert_eq!(
                got.as_deref(),
                model.get(k).map(Vec::as_slice),
                "{what}: get({name}) returned a wrong answer"
            ),
            Err(e) => {
                assert_names_table(&e, table, &format!("{what}: get({name})"));
                assert!(
                    !safe.contains(k),
                    "{what}: get({name}) failed, but its key lies outside the damaged table"
                );
                outcome.corrupt_keys.insert(k.clone());
            }
        }
    }

    let expected: Vec<(&Vec<u8>, &Vec<u8>)> = model.iter().collect();
    for reverse in [false, true] {
        let iter = db.range::<&[u8], _>(..);
        let items: Box<dyn Iterator<Item = _>> = if reverse {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        let mut seen = 0;
        let mut items = items;
        let mut failed = false;
        for item in items.by_ref() {
            match item {
                Ok((k, v)) => {
                    let want = if reverse {
                        expected[expected.len() - 1 - seen]
                    } else {
                        expected[seen]
                    };
                    assert!(
                        (&k[..], &v[..]) == (&want.0[..], &want.1[..]),
                        "{what}: scan (reverse: {reverse}) item {seen} is {:?}, expected key {:?}",
                        String::from_utf8_lossy(&k),
                        String::from_utf8_lossy(want.0)
                    );
                    seen += 1;
                }
                Err(e) => {
                    assert_names_table(&e, table, &format!("{what}: scan (reverse: {reverse})"));
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            assert!(
                items.next().is_none(),
                "{what}: the iterator ends after an error"
            );
            outcome.scan_failed = true;
        } else {
            assert_eq!(
                seen,
                expected.len(),
                "{what}: scan (reverse: {reverse}) length"
            );
        }
    }
    db.close().expect("close");
    outcome
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    model: Model,
    touched: BTreeSet<Vec<u8>>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    let (model, touched) = build(&dir);
    Fixture {
        _tmp: tmp,
        dir,
        model,
        touched,
    }
}

/// The keys each table covers: cut each table to nothing in turn and see
/// which reads fail. Checks along the way that a truncated table reads as
/// corruption, that other tables' keys are unaffected, and that the
/// key sets are disjoint and cover every key.
fn keys_per_table(f: &Fixture, tables: &[PathBuf]) -> Vec<BTreeSet<Vec<u8>>> {
    let none = BTreeSet::new();
    let mut sets = Vec::new();
    for table in tables {
        let original = std::fs::read(table).expect("read table");
        std::fs::write(table, b"").expect("empty the table");
        let outcome = read_all(&f.dir, table, &f.model, &f.touched, &none, "emptied table");
        std::fs::write(table, &original).expect("restore");
        assert!(outcome.scan_failed, "scanning past an empty table fails");
        assert!(
            !outcome.corrupt_keys.is_empty(),
            "some key lies in {}",
            table.display()
        );
        sets.push(outcome.corrupt_keys);
    }
    for (i, a) in sets.iter().enumerate() {
        for b in &sets[i + 1..] {
            assert!(a.is_disjoint(b), "tables of one level cover disjoint keys");
        }
    }
    for k in f.model.keys() {
        assert!(
            sets.iter().any(|s| s.contains(k)),
            "live key {} belongs to some table",
            String::from_utf8_lossy(k)
        );
    }
    sets
}

fn safe_keys(f: &Fixture, sets: &[BTreeSet<Vec<u8>>], damaged: usize) -> BTreeSet<Vec<u8>> {
    f.touched
        .iter()
        .filter(|k| !sets[damaged].contains(*k))
        .cloned()
        .collect()
}

/// Flips one byte at each offset, reopens, reads everything, restores.
/// Returns how many flips were detected.
fn flip_each(
    f: &Fixture,
    table: &Path,
    safe: &BTreeSet<Vec<u8>>,
    offsets: &[usize],
    what: &str,
) -> usize {
    let original = std::fs::read(table).expect("read table");
    let mut detected = 0;
    for &at in offsets {
        let mut damaged = original.clone();
        damaged[at] ^= 0x5a;
        std::fs::write(table, &damaged).expect("write damaged table");
        let outcome = read_all(
            &f.dir,
            table,
            &f.model,
            &f.touched,
            safe,
            &format!("{what}: byte {at} of {} flipped", original.len()),
        );
        if outcome.scan_failed || !outcome.corrupt_keys.is_empty() {
            detected += 1;
        }
    }
    std::fs::write(table, &original).expect("restore");
    detected
}

#[test]
fn flipped_bytes_read_as_corruption_of_that_table_or_not_at_all() {
    let f = fixture();
    let tables = table_files(&f.dir);
    let sets = keys_per_table(&f, &tables);
    // The middle table: its neighbours on both sides must stay readable.
    let damaged = tables.len() / 2;
    let table = &tables[damaged];
    let safe = safe_keys(&f, &sets, damaged);
    let len = std::fs::metadata(table).expect("metadata").len() as usize;
    assert!(len > 2_000, "a table of several blocks: {len} bytes");

    // The first data block (its first key and value) and the middle.
    let data = [0, 1, 4, 9, 20, len / 3, len / 2, len / 2 + 1];
    let detected = flip_each(&f, table, &safe, &data, "data");
    assert_eq!(
        detected,
        data.len(),
        "every flipped data byte is caught by the block checksum"
    );

    // The tail: footer, properties, index and filter.
    let tail: Vec<usize> = (len - 100..len).step_by(3).collect();
    let detected = flip_each(&f, table, &safe, &tail, "tail");
    assert_eq!(
        detected,
        tail.len(),
        "every flipped metadata byte is caught by a checksum"
    );

    // Random offsets, fixed seed.
    let mut rng = Rng(0x0dd_ba11);
    let random: Vec<usize> = (0..16)
        .map(|_| (rng.next() % len as u64) as usize)
        .collect();
    flip_each(&f, table, &safe, &random, "random");

    // Restored: everything reads correctly again.
    let all = f.touched.clone();
    let outcome = read_all(&f.dir, table, &f.model, &f.touched, &all, "restored");
    assert!(!outcome.scan_failed);
}

#[test]
fn flipped_bytes_in_the_first_and_last_table() {
    let f = fixture();
    let tables = table_files(&f.dir);
    let sets = keys_per_table(&f, &tables);
    for damaged in [0, tables.len() - 1] {
        let table = &tables[damaged];
        let safe = safe_keys(&f, &sets, damaged);
        let len = std::fs::metadata(table).expect("metadata").len() as usize;
        let offsets = [
            0,
            len / 4,
            len / 2,
            len * 3 / 4,
            len - 60,
            len - 30,
            len - 1,
        ];
        flip_each(&f, table, &safe, &offsets, "edge table");
    }
}

#[test]
fn truncated_table_reads_as_corruption() {
    let f = fixture();
    let tables = table_files(&f.dir);
    let sets = keys_per_table(&f, &tables);
    let damaged = tables.len() / 2;
    let table = &tables[damaged];
    let safe = safe_keys(&f, &sets, damaged);
    let original = std::fs::read(table).expect("read table");
    let len = original.len();
    for cut in [len - 1, len - 20, len - 52, len - 53, len / 2, 100, 1] {
        std::fs::write(table, &original[..cut]).expect("truncate");
        let outcome = read_all(
            &f.dir,
            table,
            &f.model,
            &f.touched,
            &safe,
            &format!("cut to {cut} of {len} bytes"),
        );
        assert!(
            outcome.scan_failed,
            "cut to {cut}: a full scan reaches the cut table and fails"
        );
        let live_in_table = sets[damaged].iter().filter(|k| f.model.contains_key(*k));
        for k in live_in_table {
            assert!(
                outcome.corrupt_keys.contains(k),
                "cut to {cut}: get({}) of a key in the cut table did not fail",
                String::from_utf8_lossy(k)
            );
        }
    }
    std::fs::write(table, &original).expect("restore");
    let all = f.touched.clone();
    let outcome = read_all(&f.dir, table, &f.model, &f.touched, &all, "restored");
    assert!(!outcome.scan_failed);
}
