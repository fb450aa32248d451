//! Crash points of flush, compaction and manifest maintenance: a wrapper
//! [`FileSystem`] fails one chosen operation — the Nth append to a table
//! file (whole or torn), a table's fsync, the append or fsync of a version
//! edit to the manifest, the removal of a WAL segment after a flush, the
//! removal of an obsolete table after a compaction, the rename of
//! `CURRENT.tmp` — and the test then crashes the database and reopens it on
//! the plain operating-system file system.
//!
//! The crashes are process crashes (`simulate_crash`): what reached the
//! operating system survives, so the wrapper skips real fsyncs (it still
//! sees, and can fail, every sync the engine asks for).
//!
//! Every scenario checks that:
//! * the failure is reported (the call fails, or the database is poisoned
//!   and refuses writes with `Error::Poisoned`);
//! * after the reopen every acknowledged (synced) write reads back with its
//!   latest value, and deleted keys stay deleted;
//! * no orphan is left: the table files in the directory are exactly the
//!   tables the engine uses (count and bytes), before and after a full
//!   compaction and another reopen, there is exactly one manifest and no
//!   `CURRENT.tmp`, and the file whose removal failed is gone.
//!
//! One more orphan check needs no fault: reopening without writes leaves
//! no empty WAL segments behind.

use holdfast::fs::{FileHandle, FileSystem, OpenMode, OsFileSystem};
use holdfast::{Bytes, Db, Error, Options, WriteBatch};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The fault-injecting file system.

/// The operations that can be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    /// `append` to a `.table` file.
    TableAppend,
    /// `sync` of a `.table` file.
    TableSync,
    /// `append` to a `MANIFEST-*` file (a version edit, once open is done).
    ManifestAppend,
    /// `sync` of a `MANIFEST-*` file.
    ManifestSync,
    /// `remove` of a `.wal` segment.
    WalRemove,
    /// `remove` of a `.table` file.
    TableRemove,
    /// `rename` of `CURRENT.tmp` over `CURRENT`.
    CurrentRename,
}

/// One armed fault: let `skip` matching calls pass, fail the next one.
#[derive(Clone, Copy, Debug)]
struct Fault {
    point: Point,
    skip: u64,
    /// For appends: write the first half of the buffer before failing (the
    /// file's tail is unspecified after a failed append).
    torn: bool,
}

#[derive(Debug, Default)]
struct FaultState {
    armed: Option<Fault>,
    /// The file of the call that failed.
    fired: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct Faults {
    state: Mutex<FaultState>,
}

impl Faults {
    fn arm(&self, fault: Fault) {
        let mut state = self.state.lock();
        state.armed = Some(fault);
        state.fired = None;
    }

    fn fired(&self) -> Option<PathBuf> {
        self.state.lock().fired.clone()
    }

    /// Whether this call must fail (at most one call per arming does).
    fn hit(&self, point: Point, path: &Path) -> Option<Fault> {
        let mut state = self.state.lock();
        let fault = state.armed.as_mut().filter(|f| f.point == point)?;
        if fault.skip > 0 {
            fault.skip -= 1;
            return None;
        }
        let fault = *fault;
        state.armed = None;
        state.fired = Some(path.to_path_buf());
        Some(fault)
    }
}

fn injected(point: Point, path: &Path) -> io::Error {
    io::Error::other(format!("injected {point:?} fault on {}", path.display()))
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

fn is_table(path: &Path) -> bool {
    file_name(path).ends_with(".table")
}

fn is_manifest(path: &Path) -> bool {
    file_name(path).starts_with("MANIFEST-")
}

fn is_wal(path: &Path) -> bool {
    file_name(path).ends_with(".wal")
}

/// [`OsFileSystem`] with one armable fault.
#[derive(Debug)]
struct FaultFs {
    faults: Arc<Faults>,
}

#[derive(Debug)]
struct FaultFile {
    inner: Arc<dyn FileHandle>,
    path: PathBuf,
    faults: Arc<Faults>,
}

impl FileSystem for FaultFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        OsFileSystem.create_dir_all(dir)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FileHandle>> {
        let inner = OsFileSystem.open(path, mode)?;
        Ok(Arc::new(FaultFile {
            inner,
            path: path.to_path_buf(),
            faults: Arc::clone(&self.faults),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if file_name(from) == "CURRENT.tmp" && self.faults.hit(Point::CurrentRename, from).is_some()
        {
            return Err(injected(Point::CurrentRename, from));
        }
        OsFileSystem.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let point = if is_wal(path) {
            Some(Point::WalRemove)
        } else if is_table(path) {
            Some(Point::TableRemove)
        } else {
            None
        };
        if let Some(point) = point {
            if self.faults.hit(point, path).is_some() {
                return Err(injected(point, path));
            }
        }
        OsFileSystem.remove(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        OsFileSystem.list(dir)
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        // See `FaultFile::sync`.
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Debug + Send + Sync>> {
        OsFileSystem.lock(path)
    }
}

impl FileHandle for FaultFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        let point = if is_table(&self.path) {
            Some(Point::TableAppend)
        } else if is_manifest(&self.path) {
            Some(Point::ManifestAppend)
        } else {
            None
        };
        if let Some(point) = point {
            if let Some(fault) = self.faults.hit(point, &self.path) {
                if fault.torn {
                    self.inner.append(&buf[..buf.len() / 2])?;
                }
                return Err(injected(point, &self.path));
            }
        }
        self.inner.append(buf)
    }

    fn sync(&self) -> io::Result<()> {
        let point = if is_table(&self.path) {
            Some(Point::TableSync)
        } else if is_manifest(&self.path) {
            Some(Point::ManifestSync)
        } else {
            None
        };
        if let Some(point) = point {
            if self.faults.hit(point, &self.path).is_some() {
                return Err(injected(point, &self.path));
            }
        }
        // No real fsync: the crashes here are process crashes, which keep
        // everything the operating system has, so an fsync changes nothing
        // the test can observe, and skipping them keeps the suite fast on a
        // busy disk. The engine still asks for every sync it needs.
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }

    fn map(&self) -> io::Result<Bytes> {
        self.inner.map()
    }
}

// ---------------------------------------------------------------------------
// Workload and model.

/// Small tables and no automatic compaction: the only background work is
/// flushing full memtables, so each scenario decides what runs when.
fn quiet_options() -> Options {
    Options::default()
        .sync_writes(true)
        .memtable_bytes(64 << 10)
        .target_table_bytes(24 << 10)
        .level1_bytes(64 << 20)
        .table_block_bytes(512)
        .l0_triggers(64, 64, 64)
        .background_threads(1)
}

/// Automatic compaction after every couple of flushes, into tiny levels.
fn busy_options() -> Options {
    Options::default()
        .sync_writes(true)
        .memtable_bytes(64 << 10)
        .target_table_bytes(4 << 10)
        .level1_bytes(16 << 10)
        .level_size_ratio(2)
        .table_block_bytes(256)
        .l0_triggers(2, 6, 10)
        .background_threads(2)
}

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const KEYS: u64 = 600;

/// What was acknowledged, and every key ever written.
struct Model {
    live: BTreeMap<Vec<u8>, Vec<u8>>,
    touched: BTreeSet<Vec<u8>>,
    rng: Rng,
    version: u64,
}

impl Model {
    fn new(seed: u64) -> Self {
        Model {
            live: BTreeMap::new(),
            touched: BTreeSet::new(),
            rng: Rng::new(seed),
            version: 0,
        }
    }

    /// One synced batch of 16 puts and deletes; the model changes only if
    /// the database acknowledged it.
    fn write_batch(&mut self, db: &Db) -> holdfast::Result<()> {
        let mut batch = WriteBatch::new();
        let mut changes = Vec::new();
        for _ in 0..16 {
            let key = format!("key{:05}", self.rng.below(KEYS)).into_bytes();
            self.version += 1;
            if self.rng.below(6) == 0 {
                batch.delete(&key);
                changes.push((key, None));
            } else {
                let len = 100 + self.rng.below(300) as usize;
                let mut value =
                    format!("{}@{}:", String::from_utf8_lossy(&key), self.version).into_bytes();
                value.resize(len, b'a' + (self.version % 26) as u8);
                batch.put(&key, &value);
                changes.push((key, Some(value)));
            }
        }
        db.write(batch)?;
        for (key, value) in changes {
            self.touched.insert(key.clone());
            match value {
                Some(v) => self.live.insert(key, v),
                None => self.live.remove(&key),
            };
        }
        Ok(())
    }

    /// `n` batches, all of which must succeed.
    fn write_ok(&mut self, db: &Db, n: usize) {
        for _ in 0..n {
            self.write_batch(db).expect("write before any fault");
        }
    }

    /// `n` batches after a fault: each succeeds (and counts) or fails with
    /// `Poisoned`, and once one fails all later ones do. Returns how many
    /// failed.
    fn write_after_fault(&mut self, db: &Db, n: usize) -> usize {
        let mut failed = 0;
        for i in 0..n {
            match self.write_batch(db) {
                Ok(()) => assert_eq!(failed, 0, "batch {i} succeeded after a poisoned one"),
                Err(e) => {
                    assert!(
                        matches!(e, Error::Poisoned { .. }),
                        "a write after the fault failed with {e:?}, not Poisoned"
                    );
                    failed += 1;
                }
            }
        }
        failed
    }
}

fn assert_poisoned(db: &Db) {
    let result = db.put("after-the-fault", "x");
    assert!(
        matches!(result, Err(Error::Poisoned { .. })),
        "expected writes to be refused with Poisoned, got {result:?}"
    );
}

fn wait_fired(faults: &Faults) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(path) = faults.fired() {
            return path;
        }
        assert!(Instant::now() < deadline, "the armed fault never fired");
        std::thread::sleep(Duration::from_millis(2));
    }
}

// ---------------------------------------------------------------------------
// Checks after the crash.

/// The database holds exactly the model: a full scan both ways, and a point
/// read of every key ever written (deleted ones must stay deleted).
fn check_contents(db: &Db, model: &Model, when: &str) {
    let scanned: Vec<(Vec<u8>, Vec<u8>)> = db
        .range::<&[u8], _>(..)
        .map(|item| {
            let (k, v) = item.expect("scan item");
            (k.to_vec(), v.to_vec())
        })
        .collect();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model
        .live
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(scanned.len(), expected.len(), "{when}: number of live keys");
    assert!(
        scanned == expected,
        "{when}: forward scan differs from the model"
    );
    let backward: Vec<Vec<u8>> = db
        .range::<&[u8], _>(..)
        .rev()
        .map(|item| item.expect("reverse scan item").0.to_vec())
        .collect();
    let expected_keys: Vec<Vec<u8>> = model.live.keys().rev().cloned().collect();
    assert!(backward == expected_keys, "{when}: reverse scan differs");
    for key in &model.touched {
        let got = db.get(key).expect("get");
        assert_eq!(
            got.as_deref(),
            model.live.get(key).map(Vec::as_slice),
            "{when}: key {}",
            String::from_utf8_lossy(key)
        );
    }
}

/// Names of the files in `dir` that satisfy `pred`, with their sizes.
fn files(dir: &Path, pred: impl Fn(&Path) -> bool) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("entry"))
        .filter(|e| pred(&e.path()))
        .map(|e| {
            let len = e.metadata().expect("metadata").len();
            (e.file_name().to_string_lossy().into_owned(), len)
        })
        .collect();
    out.sort();
    out
}

/// No orphan: the table files on disk are exactly those the engine lists
/// (count and total bytes), one manifest, no `CURRENT.tmp`. Call only when
/// no background compaction can run and no iterator is alive.
fn check_no_orphans(db: &Db, when: &str) {
    let dir = db.path();
    let stats = db.stats();
    let tables = files(dir, is_table);
    let on_disk: u64 = tables.iter().map(|(_, len)| len).sum();
    let listed: usize = stats.level_tables.iter().sum();
    assert_eq!(
        (tables.len(), on_disk),
        (listed, stats.table_bytes()),
        "{when}: table files on disk {tables:?} vs the engine's levels {stats:?}"
    );
    let manifests = files(dir, is_manifest);
    assert_eq!(manifests.len(), 1, "{when}: manifests {manifests:?}");
    assert!(
        !dir.join("CURRENT.tmp").exists(),
        "{when}: CURRENT.tmp left over"
    );
}

/// Reopens on the plain file system and checks everything, then compacts,
/// closes, reopens and checks again.
fn verify_after_crash(dir: &Path, model: &mut Model, failed_file: Option<&Path>) {
    let db = Db::open(dir, quiet_options()).expect("reopen after the crash");
    check_contents(&db, model, "after the crash");
    // Let the flushes of replayed memtables finish: then no background work
    // is in flight (the quiet options never compact on their own).
    db.flush_memtables().expect("flush after the crash");
    check_no_orphans(&db, "after the crash");
    if let Some(path) = failed_file {
        assert!(
            !path.exists(),
            "{} (whose removal failed) survived the reopen",
            path.display()
        );
    }
    // The database takes writes again; the compaction flushes them, so
    // every WAL segment from before the crash becomes garbage.
    model.write_ok(&db, 2);
    db.compact().expect("compact after the crash");
    check_contents(&db, model, "after compacting");
    check_no_orphans(&db, "after compacting");
    db.close().expect("close");

    let db = Db::open(dir, quiet_options()).expect("second reopen");
    check_contents(&db, model, "after compact, close and reopen");
    db.flush_memtables().expect("flush");
    check_no_orphans(&db, "after compact, close and reopen");
    db.compact().expect("compact again");
    check_no_orphans(&db, "after the second compaction");
    let wal = files(dir, is_wal);
    assert!(wal.len() <= 2, "WAL segments left behind: {wal:?}");
    db.close().expect("close");
}

// ---------------------------------------------------------------------------
// Scenarios.

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    faults: Arc<Faults>,
    db: Db,
    model: Model,
}

/// A database on the fault file system holding a sorted run below level
/// 0, a couple of level-0 tables over it, and data in the memtable (every
/// write synced).
fn setup(seed: u64, options: Options) -> Setup {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    let faults = Arc::new(Faults::default());
    let fs = Arc::new(FaultFs {
        faults: Arc::clone(&faults),
    });
    let db = Db::open(&dir, options.file_system(fs)).expect("open");
    let mut model = Model::new(seed);
    model.write_ok(&db, 30);
    db.flush_memtables().expect("flush");
    db.compact().expect("compact");
    model.write_ok(&db, 15);
    db.flush_memtables().expect("flush");
    model.write_ok(&db, 4);
    let stats = db.stats();
    assert!(
        stats.level_tables.iter().skip(1).sum::<usize>() > 1 && stats.level_tables[0] >= 1,
        "setup has tables in level 0 and below: {stats:?}"
    );
    Setup {
        _tmp: tmp,
        dir,
        faults,
        db,
        model,
    }
}

/// A fault in a flush: the flush fails, the database is poisoned, nothing
/// acknowledged is lost.
fn fault_in_flush(seed: u64, fault: Fault) {
    let Setup {
        _tmp,
        dir,
        faults,
        db,
        mut model,
    } = setup(seed, quiet_options());
    faults.arm(fault);
    model.write_ok(&db, 3);
    let flushed = db.flush_memtables();
    assert!(
        flushed.is_err(),
        "flush_memtables succeeded although {fault:?} failed"
    );
    let failed = wait_fired(&faults);
    assert!(
        matches!(flushed, Err(Error::Poisoned { .. })),
        "flush_memtables: {flushed:?}"
    );
    assert_poisoned(&db);
    assert_eq!(model.write_after_fault(&db, 3), 3);
    assert!(is_table(&failed), "{failed:?}");
    assert!(
        !failed.exists(),
        "the partial table {} of the failed flush was not removed",
        failed.display()
    );
    db.simulate_crash();
    verify_after_crash(&dir, &mut model, None);
}

/// A fault in a manual compaction's outputs: `compact` fails; the tree is
/// unchanged, so later writes may go on (or be refused as poisoned).
fn fault_in_compaction(seed: u64, fault: Fault) {
    let Setup {
        _tmp,
        dir,
        faults,
        db,
        mut model,
    } = setup(seed, quiet_options());
    db.flush_memtables().expect("flush");
    faults.arm(fault);
    let compacted = db.compact();
    let failed = wait_fired(&faults);
    assert!(is_table(&failed), "{failed:?}");
    assert!(
        matches!(
            compacted,
            Err(Error::Io { .. }) | Err(Error::Poisoned { .. })
        ),
        "compact after {fault:?}: {compacted:?}"
    );
    assert!(
        !failed.exists(),
        "the partial output {} of the failed compaction was not removed",
        failed.display()
    );
    model.write_after_fault(&db, 4);
    db.simulate_crash();
    verify_after_crash(&dir, &mut model, None);
}

/// A version edit that cannot be logged: the database is poisoned.
fn fault_in_version_edit(seed: u64, fault: Fault, during_compaction: bool) {
    let Setup {
        _tmp,
        dir,
        faults,
        db,
        mut model,
    } = setup(seed, quiet_options());
    if during_compaction {
        db.flush_memtables().expect("flush");
    }
    faults.arm(fault);
    let result = if during_compaction {
        db.compact()
    } else {
        model.write_ok(&db, 2);
        db.flush_memtables()
    };
    let failed = wait_fired(&faults);
    assert!(is_manifest(&failed), "{failed:?}");
    assert!(result.is_err(), "{fault:?} was not reported: {result:?}");
    assert_poisoned(&db);
    assert_eq!(model.write_after_fault(&db, 3), 3);
    db.simulate_crash();
    verify_after_crash(&dir, &mut model, None);
}

#[test]
fn table_append_fails_in_flush() {
    fault_in_flush(
        1,
        Fault {
            point: Point::TableAppend,
            skip: 0,
            torn: false,
        },
    );
}

#[test]
fn torn_table_append_in_flush() {
    fault_in_flush(
        2,
        Fault {
            point: Point::TableAppend,
            skip: 0,
            torn: true,
        },
    );
}

#[test]
fn table_sync_fails_in_flush() {
    fault_in_flush(
        3,
        Fault {
            point: Point::TableSync,
            skip: 0,
            torn: false,
        },
    );
}

#[test]
fn table_append_fails_in_compaction_first_and_later_outputs() {
    for (seed, skip) in [(4, 0), (5, 2), (6, 4)] {
        fault_in_compaction(
            seed,
            Fault {
                point: Point::TableAppend,
                skip,
                torn: skip == 2,
            },
        );
    }
}

#[test]
fn table_sync_fails_in_compaction() {
    fault_in_compaction(
        7,
        Fault {
            point: Point::TableSync,
            skip: 2,
            torn: false,
        },
    );
}

#[test]
fn manifest_append_fails_for_a_flush_edit() {
    for torn in [false, true] {
        fault_in_version_edit(
            8,
            Fault {
                point: Point::ManifestAppend,
                skip: 0,
                torn,
            },
            false,
        );
    }
}

#[test]
fn manifest_append_fails_for_a_compaction_edit() {
    for torn in [false, true] {
        fault_in_version_edit(
            9,
            Fault {
                point: Point::ManifestAppend,
                skip: 0,
                torn,
            },
            true,
        );
    }
}

#[test]
fn manifest_sync_fails_for_an_edit() {
    for during_compaction in [false, true] {
        fault_in_version_edit(
            10,
            Fault {
                point: Point::ManifestSync,
                skip: 0,
                torn: false,
            },
            during_compaction,
        );
    }
}

#[test]
fn wal_segment_removal_fails_after_a_flush() {
    let Setup {
        _tmp,
        dir,
        faults,
        db,
        mut model,
    } = setup(11, quiet_options());
    faults.arm(Fault {
        point: Point::WalRemove,
        skip: 0,
        torn: false,
    });
    model.write_ok(&db, 3);
    db.flush_memtables()
        .expect("a failed segment removal is not a flush failure");
    let failed = wait_fired(&faults);
    assert!(is_wal(&failed), "{failed:?}");
    assert!(
        failed.exists(),
        "the segment whose removal failed is still there"
    );
    // Not poisoned: the segment is only garbage.
    model.write_ok(&db, 3);
    db.simulate_crash();
    verify_after_crash(&dir, &mut model, Some(&failed));
}

#[test]
fn obsolete_table_removal_fails_after_a_compaction() {
    let Setup {
        _tmp,
        dir,
        faults,
        db,
        mut model,
    } = setup(12, quiet_options());
    db.flush_memtables().expect("flush");
    faults.arm(Fault {
        point: Point::TableRemove,
        skip: 1,
        torn: false,
    });
    db.compact()
        .expect("a failed removal of an obsolete table is not a compaction failure");
    let failed = wait_fired(&faults);
    assert!(is_table(&failed), "{failed:?}");
    assert!(
        failed.exists(),
        "the table whose removal failed is still there"
    );
    model.write_ok(&db, 3);
    check_contents(&db, &model, "before the crash");
    db.simulate_crash();
    verify_after_crash(&dir, &mut model, Some(&failed));
}

#[test]
fn current_rename_fails_while_opening() {
    let Setup {
        _tmp,
        dir,
        faults,
        db,
        mut model,
    } = setup(13, quiet_options());
    model.write_ok(&db, 2);
    db.close().expect("close");

    faults.arm(Fault {
        point: Point::CurrentRename,
        skip: 0,
        torn: false,
    });
    let fs = Arc::new(FaultFs {
        faults: Arc::clone(&faults),
    });
    let opened = Db::open(&dir, quiet_options().file_system(fs));
    assert!(faults.fired().is_some(), "open renames CURRENT.tmp");
    assert!(
        matches!(opened, Err(Error::Io { .. })),
        "open with a failing CURRENT rename: {:?}",
        opened.as_ref().map(|_| "Ok(db)")
    );
    // The failed open is a crash during open: the next open must work.
    verify_after_crash(&dir, &mut model, None);
}

/// Under a sustained synced load with automatic flushes and compactions,
/// the Nth table append fails wherever it lands (a flush or a background
/// compaction): the database is poisoned, and nothing acknowledged is lost.
#[test]
fn table_append_fails_under_background_compaction() {
    for (seed, skip) in [(14, 0), (15, 5), (16, 17)] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("db");
        let faults = Arc::new(Faults::default());
        let fs = Arc::new(FaultFs {
            faults: Arc::clone(&faults),
        });
        let db = Db::open(&dir, busy_options().file_system(fs)).expect("open");
        let mut model = Model::new(seed);
        faults.arm(Fault {
            point: Point::TableAppend,
            skip,
            torn: skip % 2 == 1,
        });
        let mut poisoned = false;
        for _ in 0..2_000 {
            if model.write_after_fault(&db, 1) > 0 {
                poisoned = true;
                break;
            }
        }
        assert!(poisoned, "{skip}: the load never hit the fault");
        assert!(faults.fired().is_some());
        assert_poisoned(&db);
        db.simulate_crash();
        verify_after_crash(&dir, &mut model, None);
    }
}

/// Each open starts a fresh WAL segment; one that stays empty must not
/// outlive the next open, or a database reopened often without writes
/// collects an empty segment per open, forever (the orphan check of the
/// scenarios above, without any fault).
#[test]
fn reopens_without_writes_leave_no_wal_segments_behind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("db");
    let db = Db::open(&dir, quiet_options()).expect("open");
    let mut model = Model::new(17);
    model.write_ok(&db, 4);
    db.flush_memtables().expect("flush");
    db.close().expect("close");
    for _ in 0..4 {
        let db = Db::open(&dir, quiet_options()).expect("reopen");
        check_contents(&db, &model, "reopened without writes");
        db.close().expect("close");
    }
    let wal = files(&dir, is_wal);
    assert!(
        wal.len() <= 2,
        "four opens without writes left these WAL segments: {wal:?}"
    );
}
