//! Data larger than the memtable goes through flushes and compactions and
//! reads back identically — point reads, scans both ways, after reopen and
//! after a full compaction — and compaction drops overwritten versions.

use holdfast::{Db, Options};
use std::collections::BTreeMap;

fn small_options() -> Options {
    Options::default()
        .memtable_bytes(64 << 10)
        .target_table_bytes(32 << 10)
        .level1_bytes(128 << 10)
        .table_block_bytes(1024)
}

fn key(i: u64) -> Vec<u8> {
    format!("key{:08}", (i * 7919) % 20_000).into_bytes()
}

fn check(db: &Db, model: &BTreeMap<Vec<u8>, Vec<u8>>) {
    for (k, v) in model {
        assert_eq!(
            db.get(k).unwrap().as_deref(),
            Some(&v[..]),
            "{}",
            String::from_utf8_lossy(k)
        );
    }
    assert_eq!(db.get(b"absent").unwrap(), None);
    let forward: Vec<(Vec<u8>, Vec<u8>)> = db
        .range::<&[u8], _>(..)
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
        .collect();
    let expected: Vec<(Vec<u8>, Vec<u8>)> =
        model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(forward.len(), expected.len());
    assert!(forward == expected, "forward scan differs from the model");
    let backward: Vec<Vec<u8>> = db
        .prefix("key")
        .rev()
        .map(|r| r.unwrap().0.to_vec())
        .collect();
    let expected_back: Vec<Vec<u8>> = model.keys().rev().cloned().collect();
    assert!(
        backward == expected_back,
        "reverse scan differs from the model"
    );
}

#[test]
fn flush_compact_reopen_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = BTreeMap::new();
    let db = Db::open(dir.path(), small_options()).unwrap();
    for i in 0..30_000u64 {
        let k = key(i);
        let v = format!("value-{i}-{}", "x".repeat((i % 50) as usize)).into_bytes();
        if i % 11 == 0 {
            db.delete(&k).unwrap();
            model.remove(&k);
        } else {
            db.put(&k, &v).unwrap();
            model.insert(k, v);
        }
    }
    db.flush_memtables().unwrap();
    let stats = db.stats();
    assert!(stats.flushes > 5, "{stats:?}");
    assert!(stats.table_bytes() > 0, "{stats:?}");
    check(&db, &model);

    let snapshot = db.snapshot();
    let before = snapshot.get(key(5)).unwrap();
    db.put(key(5), "after snapshot").unwrap();
    db.compact().unwrap();
    assert_eq!(
        snapshot.get(key(5)).unwrap(),
        before,
        "compaction kept the snapshot's version"
    );
    model.insert(key(5), b"after snapshot".to_vec());
    drop(snapshot);
    check(&db, &model);
    db.close().unwrap();

    let db = Db::open(dir.path(), small_options()).unwrap();
    check(&db, &model);
    db.compact().unwrap();
    let stats = db.stats();
    let live_bytes: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(
        stats.table_bytes() < 2 * live_bytes as u64,
        "after compaction the tables hold little more than the live data: {stats:?}, live {live_bytes}"
    );
    check(&db, &model);
    db.close().unwrap();
}

#[test]
fn missing_current_with_tables_is_corruption_not_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), small_options()).unwrap();
    for i in 0..2_000u64 {
        db.put(key(i), "v").unwrap();
    }
    db.flush_memtables().unwrap();
    db.close().unwrap();
    let tables = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".table")
            })
            .count()
    };
    let before = tables();
    assert!(before > 0);
    std::fs::remove_file(dir.path().join("CURRENT")).unwrap();
    let err = Db::open(dir.path(), small_options()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert_eq!(tables(), before, "nothing was deleted");
}
