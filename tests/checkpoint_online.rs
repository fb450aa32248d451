//! `Db::checkpoint`: a consistent, openable copy taken while writers,
//! flushes and compactions run, compared with a snapshot of the source at
//! the checkpoint's sequence number.

mod common;

use common::{collect, small_memtable};
use holdfast::fs::{CallKind, Fault, FaultPlan, FaultyFileSystem, FileSystem, SimFileSystem};
use holdfast::{
    years, Db, Error, Hold, ManualClock, Options, Retention, Scope, Timestamp, WriteBatch,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

fn options() -> Options {
    small_memtable()
        .target_table_bytes(64 * 1024)
        .level1_bytes(256 * 1024)
        .l0_triggers(2, 6, 12)
}

#[test]
fn checkpoint_while_writers_run_equals_the_snapshot_at_its_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("live"), options()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3u32)
        .map(|t| {
            let db = db.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("t{t}/{:05}", i % 4000);
                    match i % 7 {
                        0 => db.delete(&key).unwrap(),
                        1 => {
                            // A batch: both keys or neither in every copy.
                            let mut batch = WriteBatch::new();
                            batch
                                .put(format!("pair/{t}/{i}/a"), "a")
                                .put(format!("pair/{t}/{i}/b"), "b");
                            db.write(batch).unwrap();
                        }
                        _ => db.put(&key, format!("{i:0>200}")).unwrap(),
                    }
                    i += 1;
                }
                i
            })
        })
        .collect();

    let mut checked = 0;
    let mut linked = 0;
    for round in 0..6 {
        thread::sleep(std::time::Duration::from_millis(60));
        let copy_dir = dir.path().join(format!("copy{round}"));
        let report = db.checkpoint(&copy_dir).unwrap();
        linked += report.tables_linked;
        let expected = collect(report.snapshot().range::<&[u8], _>(..));
        let copy = Db::open(&copy_dir, Options::default()).unwrap();
        let got = collect(copy.range::<&[u8], _>(..));
        assert_eq!(got.len(), expected.len(), "round {round}: pair counts");
        assert!(
            got == expected,
            "round {round}: the copy differs from the snapshot"
        );
        // The copy is a database of its own: writable, and reopens.
        copy.put("only/in/copy", "x").unwrap();
        copy.close().unwrap();
        let copy = Db::open(&copy_dir, Options::default()).unwrap();
        assert_eq!(
            copy.get("only/in/copy").unwrap().as_deref(),
            Some(&b"x"[..])
        );
        assert_eq!(db.get("only/in/copy").unwrap(), None);
        checked += expected.len();
    }
    stop.store(true, Ordering::Relaxed);
    let written: u32 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(written > 1000, "the writers ran ({written} writes)");
    assert!(checked > 0);
    assert!(linked > 0, "tables were hard-linked, not copied");
    assert!(db.stats().flushes > 0, "flushes ran during the checkpoints");
}

#[test]
fn destination_must_be_new_or_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("live"), Options::default()).unwrap();
    db.put("k", "v").unwrap();
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("someone's file"), "keep me").unwrap();
    let refused = db.checkpoint(&busy).unwrap_err();
    assert!(matches!(refused, Error::InvalidArgument(_)), "{refused}");
    assert_eq!(
        std::fs::read(busy.join("someone's file")).unwrap(),
        b"keep me"
    );
    // Into itself: the live directory is not empty either.
    assert!(db.checkpoint(dir.path().join("live")).is_err());

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let report = db.checkpoint(&empty).unwrap();
    assert_eq!(report.seq, 1);
    let copy = Db::open(&empty, Options::default()).unwrap();
    assert_eq!(copy.get("k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_closed_database_refuses_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("live"), Options::default()).unwrap();
    let other = db.clone();
    db.close().unwrap();
    assert!(matches!(
        other.checkpoint(dir.path().join("copy")),
        Err(Error::Closed)
    ));
}

#[test]
fn records_holds_and_the_audit_trail_come_along() {
    let dir = tempfile::tempdir().unwrap();
    let start = Timestamp::from_date(2026, 11, 24).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let opts = || options().clock(clock.clone() as Arc<dyn holdfast::Clock>);
    let db = Db::open(dir.path().join("live"), opts()).unwrap();
    let until = start.checked_add(years(7)).unwrap();
    for i in 0..300 {
        db.put_with(
            format!("invoice/{i:04}"),
            format!("{i:0>300}"),
            &Retention::new().retain_until(until).compliance(),
        )
        .unwrap();
    }
    db.place_hold(Hold {
        id: "case-1".into(),
        scope: Scope::Prefix("invoice/00".into()),
        reason: "litigation".into(),
        issuer: "legal@example.com".into(),
    })
    .unwrap();
    let report = db.checkpoint(dir.path().join("copy")).unwrap();
    // Written after the cut: not in the copy.
    db.put_with("invoice/late", "x", &Retention::new().retain_until(until))
        .unwrap();
    let source_head = db.audit().verify().unwrap();

    let copy = Db::open(dir.path().join("copy"), opts()).unwrap();
    let record = copy.get_record("invoice/0042").unwrap().unwrap();
    assert_eq!(record.meta.retain_until, Some(until));
    assert_eq!(copy.holds().len(), 1);
    assert_eq!(copy.get("invoice/late").unwrap(), None);
    assert!(matches!(
        copy.delete("invoice/0001"),
        Err(Error::RetentionLocked { .. } | Error::Held { .. })
    ));
    let copy_head = copy.audit().verify().unwrap();
    assert!(
        copy_head.seq > 300,
        "one entry per retained record, and the hold"
    );
    assert!(copy_head.seq <= source_head.seq);
    assert_eq!(
        collect(copy.prefix("invoice/")),
        collect(report.snapshot().prefix("invoice/"))
    );
}

#[test]
fn without_hard_links_the_tables_are_copied() {
    let fs = Arc::new(SimFileSystem::new(7));
    let opts = || small_memtable().file_system(fs.clone());
    let db = Db::open("/db", opts()).unwrap();
    for i in 0..2000 {
        db.put(format!("k{i:05}"), format!("{i:0>100}")).unwrap();
    }
    db.flush_memtables().unwrap();
    db.put("in-the-wal", "yes").unwrap();
    let report = db.checkpoint("/backup").unwrap();
    assert_eq!(report.tables_linked, 0);
    // Every table of the copy was copied byte by byte. (Whether a WAL
    // segment was copied too depends on a race: the flush of the memtable
    // frozen at the cut may install before the cut reads the version.)
    let names = fs.list(std::path::Path::new("/backup")).unwrap();
    let tables = names.iter().filter(|n| n.ends_with(".table")).count();
    assert!(tables >= 1, "{names:?}");
    assert!(
        report.files_copied >= tables,
        "{} files copied, {tables} tables in {names:?}",
        report.files_copied
    );
    db.close().unwrap();
    let copy = Db::open("/backup", opts()).unwrap();
    assert_eq!(
        copy.get("in-the-wal").unwrap().as_deref(),
        Some(&b"yes"[..])
    );
    assert_eq!(collect(copy.prefix("k")).len(), 2000);
}

#[test]
fn a_failed_checkpoint_leaves_an_empty_directory_that_a_retry_can_use() {
    let sim = SimFileSystem::new(9);
    let faulty = FaultyFileSystem::new(Arc::new(sim.clone()));
    let db = Db::open(
        "/db",
        small_memtable().file_system(Arc::new(faulty.clone())),
    )
    .unwrap();
    for i in 0..500 {
        db.put(format!("k{i:04}"), format!("{i:0>200}")).unwrap();
    }
    db.flush_memtables().unwrap();
    db.put("late", "in the WAL").unwrap();
    for nth in [1, 2, 3, 4] {
        // The nth append into the copy fails: the source is unharmed and
        // the copy's directory is left empty.
        faulty.arm(FaultPlan {
            kind: Some(CallKind::Append),
            path_contains: Some("/backup".into()),
            ..FaultPlan::nth_call(nth, Fault::NoSpace)
        });
        assert!(db.checkpoint("/backup").is_err(), "append {nth} failed");
        faulty.disarm();
        assert_eq!(
            sim.list(std::path::Path::new("/backup")).unwrap(),
            Vec::<String>::new()
        );
        db.put(format!("after-failure-{nth}"), "x").unwrap();
    }
    let report = db.checkpoint("/backup").unwrap();
    let expected = collect(report.snapshot().range::<&[u8], _>(..));
    drop(report);
    db.close().unwrap();
    let copy = Db::open("/backup", small_memtable().file_system(Arc::new(sim))).unwrap();
    assert_eq!(collect(copy.range::<&[u8], _>(..)), expected);
    assert_eq!(
        copy.get("late").unwrap().as_deref(),
        Some(&b"in the WAL"[..])
    );
}

#[test]
fn a_destination_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("live"), Options::default()).unwrap();
    db.put("k", "v").unwrap();
    // Another database holds the destination: its lock refuses the copy
    // (and the directory is not empty either).
    let other = Db::open(dir.path().join("other"), Options::default()).unwrap();
    assert!(db.checkpoint(dir.path().join("other")).is_err());
    other.close().unwrap();
    // An empty directory locked by someone else.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let held = std::fs::File::create(empty.join("LOCK")).unwrap();
    held.try_lock().unwrap();
    let refused = db.checkpoint(&empty).unwrap_err();
    assert!(
        matches!(refused, Error::Locked { .. } | Error::InvalidArgument(_)),
        "{refused}"
    );
}
