//! `Db::stats`, `Db::record_stats` and the events logged through the `log`
//! facade. One test function: the logger is process-global.

mod common;

use common::small_memtable;
use holdfast::fs::{CallKind, Fault, FaultPlan, FaultyFileSystem, SimFileSystem};
use holdfast::{days, Db, Hold, ManualClock, Options, Retention, Scope, Timestamp, WriteOptions};
use parking_lot::Mutex;
use std::sync::Arc;

/// Keeps every message logged.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        self.0
            .lock()
            .push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

fn logged(needle: &str) -> bool {
    CAPTURE.0.lock().iter().any(|m| m.contains(needle))
}

#[test]
fn counters_record_counts_and_logged_events() {
    log::set_logger(&CAPTURE).expect("the only logger");
    log::set_max_level(log::LevelFilter::Trace);

    engine_counters_and_events();
    record_counts();
    poison_is_logged();
}

fn engine_counters_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_memtable()
        .target_table_bytes(64 * 1024)
        .level1_bytes(128 * 1024)
        .l0_triggers(2, 8, 16);
    let db = Db::open(dir.path(), options).unwrap();
    assert!(logged("opened; replayed 0 WAL segment(s)"));
    for round in 0..3 {
        for i in 0..3000 {
            db.put(format!("key{i:06}"), format!("{round}{i:0>100}"))
                .unwrap();
        }
    }
    db.flush_memtables().unwrap();
    db.compact().unwrap();
    for i in 0..200 {
        assert_eq!(db.get(format!("key{i:06}-absent")).unwrap(), None);
    }
    let stats = db.stats();
    assert!(stats.user_bytes_written > 9000 * 100, "{stats:?}");
    assert!(stats.wal_bytes_written > stats.user_bytes_written);
    assert!(stats.flush_bytes_written > 0);
    assert!(stats.compaction_bytes_read > 0 && stats.compaction_bytes_written > 0);
    let amplification = stats.write_amplification().unwrap();
    assert!(
        amplification > 1.5,
        "WAL + flush + compaction: {amplification}"
    );
    assert!(stats.filter_useful > 0, "absent keys skip tables by filter");
    assert_eq!(
        stats.level_entries.iter().sum::<u64>(),
        3000,
        "after a full compaction, one version per key"
    );
    assert_eq!(stats.space_amplification(), Some(1.0));
    assert!(logged("flushed a memtable"));
    assert!(logged("compacted"));
    let copy = dir.path().join("copy");
    db.checkpoint(&copy).unwrap();
    assert!(logged("checkpoint of"));
}

fn record_counts() {
    let dir = tempfile::tempdir().unwrap();
    let start = Timestamp::from_date(2026, 11, 24).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let db = Db::open(
        dir.path(),
        Options::default()
            .clock(clock.clone() as Arc<dyn holdfast::Clock>)
            .disposal(holdfast::Disposal::Review),
    )
    .unwrap();
    let later = |d| start.checked_add(days(d)).unwrap();
    db.put_with(
        "c/1",
        "x",
        &Retention::new().retain_until(later(30)).compliance(),
    )
    .unwrap();
    db.put_with(
        "g/1",
        "x",
        &Retention::new().retain_until(later(30)).governance(),
    )
    .unwrap();
    db.put_with("e/1", "x", &Retention::new().expires_at(later(1)))
        .unwrap();
    db.put_with("e/2", "x", &Retention::new().expires_at(later(1)))
        .unwrap();
    db.put("plain", "x").unwrap();
    db.place_hold(Hold {
        id: "h".into(),
        scope: Scope::Key("e/2".into()),
        reason: "case".into(),
        issuer: "legal".into(),
    })
    .unwrap();
    let counts = db.record_stats().unwrap();
    assert_eq!(
        (
            counts.records,
            counts.retained,
            counts.compliance,
            counts.held,
            counts.eligible
        ),
        (4, 2, 1, 1, 0)
    );
    clock.set(later(2));
    let counts = db.record_stats().unwrap();
    assert_eq!(
        (counts.eligible, counts.held),
        (1, 1),
        "e/1 expired; e/2 held"
    );
    assert_eq!(db.dispose(["e/1"], "records-officer").unwrap(), 1);
    assert!(logged("disposed of 1 records"));
    assert_eq!(db.stats().disposed, 1);
    assert_eq!(db.record_stats().unwrap().records, 3);
}

fn poison_is_logged() {
    let faulty = FaultyFileSystem::new(Arc::new(SimFileSystem::new(3)));
    let db = Db::open(
        "/db",
        Options::default().file_system(Arc::new(faulty.clone())),
    )
    .unwrap();
    faulty.arm(FaultPlan {
        kind: Some(CallKind::Sync),
        ..FaultPlan::nth_call(1, Fault::Eio)
    });
    assert!(db
        .write_opt(
            {
                let mut batch = holdfast::WriteBatch::new();
                batch.put("k", "v");
                batch
            },
            &WriteOptions::new().sync(true)
        )
        .is_err());
    assert!(logged("poisoned, writes are refused until reopen"));
}
