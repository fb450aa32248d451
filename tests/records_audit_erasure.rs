//! RECORDS.md rules 9–11 through the public API: the audit trail (one
//! entry per retention event, verification, tampering detected), provable
//! erasure (no byte of a deleted or disposed value left in any file after
//! `purge`), and crash safety of the records layer.

mod common;

use common::get;
use holdfast::{
    days, AuditEvent, Db, Disposal, Error, Hold, ManualClock, Options, Retention, Scope, Timestamp,
};
use std::path::Path;
use std::sync::Arc;

fn start() -> Timestamp {
    Timestamp::from_date(2026, 11, 24).expect("date")
}

fn open(dir: &Path, clock: &Arc<ManualClock>) -> Db {
    let options = Options::default()
        .memtable_bytes(common::SMALL_MEMTABLE)
        .clock(Arc::clone(clock) as Arc<dyn holdfast::Clock>)
        .disposal(Disposal::Automatic);
    Db::open(dir, options).expect("open")
}

fn names(db: &Db) -> Vec<&'static str> {
    db.audit()
        .iter()
        .unwrap()
        .map(|e| e.unwrap().event.name())
        .collect()
}

fn audit_file(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("AUDIT-")
        })
        .expect("audit file")
}

#[test]
fn rule9_one_entry_per_retention_event_and_a_verifiable_chain() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let db = open(dir.path(), &clock);
    let until = start().saturating_add(days(30));
    for i in 0..50 {
        db.put_with(
            format!("k{i:02}"),
            "v",
            &Retention::new().retain_until(until),
        )
        .unwrap();
    }
    db.put("plain", "no retention, no entry").unwrap();
    db.place_hold(Hold {
        id: "h1".into(),
        scope: Scope::Prefix(b"k0".to_vec()),
        reason: "case".into(),
        issuer: "legal".into(),
    })
    .unwrap();
    db.extend_retention("k10", until.saturating_add(days(1)))
        .unwrap();
    let names = names(&db);
    assert_eq!(names.iter().filter(|n| **n == "retention_set").count(), 50);
    assert_eq!(names.len(), 52, "{names:?}");
    let head = db.audit().verify().unwrap();
    assert_eq!(head.seq, 52);
    let checkpoint = db.audit().checkpoint().unwrap();
    assert_eq!(checkpoint, head);
    db.audit().verify_against(&checkpoint).unwrap();
    let mut jsonl = Vec::new();
    db.audit().export_jsonl(&mut jsonl).unwrap();
    assert_eq!(String::from_utf8(jsonl).unwrap().lines().count(), 52);
    // Entries carry the actor.
    let mut batch = holdfast::WriteBatch::new();
    batch.put_with("by-alice", "v", &Retention::new().retain_until(until));
    db.write_opt(batch, &holdfast::WriteOptions::new().actor("alice"))
        .unwrap();
    let last = db.audit().iter().unwrap().last().unwrap().unwrap();
    assert_eq!(last.actor, "alice");
}

#[test]
fn rule9_tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let until = start().saturating_add(days(30));
    let checkpoint = {
        let db = open(dir.path(), &clock);
        for i in 0..20 {
            db.put_with(
                format!("k{i:02}"),
                "v",
                &Retention::new().retain_until(until),
            )
            .unwrap();
        }
        let checkpoint = db.audit().checkpoint().unwrap();
        db.close().unwrap();
        checkpoint
    };
    let path = audit_file(dir.path());
    let pristine = std::fs::read(&path).unwrap();

    // A flipped byte in the middle: the chain breaks; open refuses.
    let mut flipped = pristine.clone();
    let middle = pristine.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&path, &flipped).unwrap();
    match Db::open(
        dir.path(),
        Options::default().clock(Arc::clone(&clock) as _),
    ) {
        Err(e) => assert!(e.is_corruption(), "{e}"),
        Ok(db) => assert!(db.audit().verify().is_err()),
    }

    // A truncated tail (entries dropped from the end): the database opens,
    // but the checkpoint kept elsewhere no longer matches.
    let cut = pristine.len() - 150;
    std::fs::write(&path, &pristine[..cut]).unwrap();
    let db = open(dir.path(), &clock);
    db.audit().verify().unwrap();
    assert!(db.audit().verify_against(&checkpoint).is_err());
    db.close().unwrap();

    // Restored: the checkpoint verifies again.
    std::fs::write(&path, &pristine).unwrap();
    let db = open(dir.path(), &clock);
    db.audit().verify_against(&checkpoint).unwrap();
}

/// Every file of the directory, concatenated.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.extend(std::fs::read(path).unwrap());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn marker(i: u32) -> Vec<u8> {
    // Unique, random-looking, incompressible enough not to occur by chance.
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(i);
    (0..32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'a' + (x % 26) as u8
        })
        .collect()
}

#[test]
fn rule10_purge_erases_deleted_and_disposed_values_from_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let db = open(dir.path(), &clock);
    let far = start().saturating_add(days(3650));
    let soon = start().saturating_add(days(1));
    // Filler so that data spreads over WAL segments, tables and levels.
    for i in 0..3000u32 {
        db.put(format!("fill/{i:05}"), vec![b'f'; 100]).unwrap();
    }
    db.put("deleted", marker(1)).unwrap();
    db.put("overwritten-then-deleted", marker(2)).unwrap();
    db.flush_memtables().unwrap();
    db.put("overwritten-then-deleted", marker(3)).unwrap();
    db.put_with("disposed", marker(4), &Retention::new().expires_at(soon))
        .unwrap();
    db.put_with("retained", marker(5), &Retention::new().retain_until(far))
        .unwrap();
    db.flush_memtables().unwrap();
    db.compact().unwrap();
    db.put("deleted-from-wal-only", marker(6)).unwrap();
    db.delete("deleted").unwrap();
    db.delete("overwritten-then-deleted").unwrap();
    db.delete("deleted-from-wal-only").unwrap();
    clock.set(soon);
    db.flush().unwrap();
    let before = all_bytes(dir.path());
    // Marker 2 was overwritten and compacted away already; the others are
    // on disk (WAL segments, tables).
    for i in [1, 3, 4, 5, 6] {
        assert!(contains(&before, &marker(i)), "marker {i} written");
    }
    let report = db.purge().unwrap();
    assert_eq!(report.disposed, 1, "{report:?}");
    let after = all_bytes(dir.path());
    for i in [1, 2, 3, 4, 6] {
        assert!(
            !contains(&after, &marker(i)),
            "marker {i} survived the purge"
        );
    }
    assert!(contains(&after, &marker(5)), "a retained record is kept");
    assert_eq!(get(&db, "retained"), Some(marker(5)));
    assert_eq!(get(&db, "fill/00042"), Some(vec![b'f'; 100]));
    assert!(names(&db).contains(&"purged"));
    db.audit().verify().unwrap();
}

#[test]
fn rule10_the_purge_window_erases_without_being_asked() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let options = Options::default()
        .clock(Arc::clone(&clock) as Arc<dyn holdfast::Clock>)
        .purge_window(std::time::Duration::from_secs(3600));
    let db = Db::open(dir.path(), options).unwrap();
    db.put("secret", marker(7)).unwrap();
    db.flush_memtables().unwrap();
    db.delete("secret").unwrap();
    db.flush().unwrap();
    assert!(contains(&all_bytes(dir.path()), &marker(7)));
    clock.set(start().saturating_add(holdfast::hours(2)));
    // The background threads look at least once a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !names(&db).contains(&"purged") {
        assert!(std::time::Instant::now() < deadline, "no purge within 30 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!contains(&all_bytes(dir.path()), &marker(7)));
}

#[test]
fn rule11_crashes_keep_protection_holds_and_audit_entries() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let until = start().saturating_add(days(30));
    {
        let db = open(dir.path(), &clock);
        db.place_hold(Hold {
            id: "h".into(),
            scope: Scope::Key(b"held".to_vec()),
            reason: "r".into(),
            issuer: "i".into(),
        })
        .unwrap();
        db.put("held", "v").unwrap();
        for i in 0..60 {
            db.put_with(
                format!("r{i:03}"),
                "v",
                &Retention::new().retain_until(until),
            )
            .unwrap();
        }
        // Entries up to here reach the file (a checkpoint syncs the trail).
        db.audit().checkpoint().unwrap();
        for i in 60..100 {
            db.put_with(
                format!("r{i:03}"),
                "v",
                &Retention::new().retain_until(until),
            )
            .unwrap();
        }
        // The last 40 entries were still queued: the crash loses them.
        db.simulate_crash();
    }
    // And lose part of what did reach the file, past the synced hold (as
    // a power cut might take unsynced bytes): recovery regenerates every
    // missing entry from the WAL, which kept the records.
    let path = audit_file(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 700]).unwrap();
    let db = open(dir.path(), &clock);
    db.audit().verify().unwrap();
    let names = names(&db);
    assert_eq!(
        names.iter().filter(|n| **n == "retention_set").count(),
        100,
        "{names:?}"
    );
    assert!(names.contains(&"hold_placed"));
    for i in 0..100 {
        assert!(matches!(
            db.delete(format!("r{i:03}")),
            Err(Error::RetentionLocked { .. })
        ));
    }
    assert!(matches!(db.put("held", "x"), Err(Error::Held { .. })));
    let seqs: Vec<u64> = db
        .audit()
        .iter()
        .unwrap()
        .filter_map(|e| match e.unwrap().event {
            AuditEvent::RetentionSet { record_seq, .. } => Some(record_seq),
            _ => None,
        })
        .collect();
    let mut sorted = seqs.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 100, "no record audited twice");
}
