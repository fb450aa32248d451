//! Tests of [`super::verify_dir`] on real database directories: clean,
//! damaged, locked, missing.

use super::*;
use crate::{Db, Options};
use std::path::PathBuf;

fn database(dir: &Path) {
    let db = Db::open(dir, Options::default()).unwrap();
    for i in 0..200 {
        db.put(format!("key/{i:04}"), format!("value {i}")).unwrap();
    }
    db.flush_memtables().unwrap();
    db.put("after", "flush").unwrap();
    db.place_hold(crate::Hold {
        id: "h1".into(),
        scope: crate::Scope::Key(b"key/0001".to_vec()),
        reason: String::new(),
        issuer: "legal".into(),
    })
    .unwrap();
    db.release_hold("h1").unwrap();
    db.close().unwrap();
}

fn files_of(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    out.sort();
    out
}

#[test]
fn a_clean_database_verifies_and_progress_covers_every_file() {
    let dir = tempfile::tempdir().unwrap();
    database(dir.path());
    let mut calls = 0;
    let report = verify_dir(dir.path(), &mut |p| {
        calls += 1;
        assert!(p.files_done < p.files_total);
    })
    .unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(calls, report.files.len());
    assert_eq!(report.count(FileType::Table).0, 1);
    assert_eq!(report.count(FileType::Audit).0, 1);
    assert!(report.count(FileType::Wal).0 >= 1);
    let table = report
        .files
        .iter()
        .find(|f| f.file_type == FileType::Table)
        .unwrap();
    assert_eq!(table.items, 200);
}

#[test]
fn a_flipped_byte_in_a_table_is_a_problem_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    database(dir.path());
    let table = files_of(dir.path(), ".table").remove(0);
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&table, &bytes).unwrap();
    let report = verify_dir(dir.path(), &mut |_| {}).unwrap();
    assert!(!report.is_clean());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].file, table);
    assert!(report.problems[0].detail.contains("checksum"));
}

#[test]
fn damage_in_the_wal_manifest_and_audit_is_found() {
    let dir = tempfile::tempdir().unwrap();
    database(dir.path());
    for ext in ["MANIFEST-", "AUDIT-"] {
        let path = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(ext))
            .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[3] ^= 0x01; // the header's magic
        std::fs::write(&path, &bytes).unwrap();
    }
    let report = verify_dir(dir.path(), &mut |_| {}).unwrap();
    let damaged: Vec<_> = report.problems.iter().map(|p| p.file.clone()).collect();
    assert!(damaged
        .iter()
        .any(|p| p.to_string_lossy().contains("MANIFEST-")));
    assert!(damaged
        .iter()
        .any(|p| p.to_string_lossy().contains("AUDIT-")));
}

#[test]
fn a_torn_tail_of_the_newest_segment_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    database(dir.path());
    let wal = files_of(dir.path(), ".wal").pop().unwrap();
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes.extend_from_slice(&[0x5a; 9]);
    std::fs::write(&wal, &bytes).unwrap();
    let report = verify_dir(dir.path(), &mut |_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(report.warnings[0].file, wal);
}

#[test]
fn missing_and_locked_databases_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = verify_dir(&dir.path().join("nothing"), &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(!dir.path().join("nothing").exists(), "nothing was created");
    database(dir.path());
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let err = verify_dir(dir.path(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    db.close().unwrap();
    assert!(verify_dir(dir.path(), &mut |_| {}).unwrap().is_clean());
}

#[test]
fn a_lost_current_is_a_problem_not_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    database(dir.path());
    std::fs::remove_file(dir.path().join("CURRENT")).unwrap();
    assert!(database_exists(dir.path()));
    let report = verify_dir(dir.path(), &mut |_| {}).unwrap();
    assert!(!report.is_clean());
    assert!(
        report.problems.iter().any(|p| p.file.ends_with("CURRENT")),
        "{:?}",
        report.problems
    );
}
