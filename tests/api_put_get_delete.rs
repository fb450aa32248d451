//! The single-key API: `put`, `get` and `delete`, overwrites, reads and
//! deletes of absent keys, empty values, and binary keys holding `0x00` and
//! `0xff` bytes — each checked live and again after a reopen.

mod common;

use common::{contents, get};
use holdfast::{Db, Options};

#[test]
fn put_then_get_returns_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("invoice/1", "ACME").unwrap();
    db.put(&b"invoice/2"[..], b"Globex").unwrap();
    assert_eq!(get(&db, "invoice/1"), Some(b"ACME".to_vec()));
    assert_eq!(get(&db, "invoice/2"), Some(b"Globex".to_vec()));
    // The returned value is exactly the stored bytes, not a prefix or more.
    assert_eq!(db.get("invoice/1").unwrap().unwrap().len(), 4);
}

#[test]
fn get_of_an_absent_key_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(get(&db, "nothing"), None);
    db.put("b", "1").unwrap();
    // Neighbours of a present key are still absent.
    assert_eq!(get(&db, "a"), None);
    assert_eq!(get(&db, "b\0"), None);
    assert_eq!(get(&db, "c"), None);
    assert_eq!(get(&db, "bb"), None);
}

#[test]
fn overwrite_keeps_only_the_newest_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..10 {
        db.put("k", format!("v{i}")).unwrap();
        assert_eq!(get(&db, "k"), Some(format!("v{i}").into_bytes()));
    }
    // Shorter value after a longer one: no stale tail bytes.
    db.put("k", "long value here").unwrap();
    db.put("k", "s").unwrap();
    assert_eq!(get(&db, "k"), Some(b"s".to_vec()));
    // An overwrite is one live key, not many.
    assert_eq!(contents(&db).len(), 1);

    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(get(&db, "k"), Some(b"s".to_vec()));
    assert_eq!(contents(&db).len(), 1);
}

#[test]
fn delete_removes_the_key_and_put_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("a", "1").unwrap();
    db.put("b", "2").unwrap();
    db.delete("a").unwrap();
    assert_eq!(get(&db, "a"), None);
    assert_eq!(
        get(&db, "b"),
        Some(b"2".to_vec()),
        "delete touched a neighbour"
    );
    db.put("a", "3").unwrap();
    assert_eq!(get(&db, "a"), Some(b"3".to_vec()));
    db.delete("a").unwrap();
    db.delete("b").unwrap();
    assert!(contents(&db).is_empty());

    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(get(&db, "a"), None);
    assert_eq!(get(&db, "b"), None);
    assert!(contents(&db).is_empty());
}

#[test]
fn delete_of_an_absent_key_succeeds_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.delete("never-written").unwrap();
    db.put("x", "1").unwrap();
    db.delete("y").unwrap();
    db.delete("x").unwrap();
    db.delete("x").unwrap(); // twice
    assert_eq!(get(&db, "never-written"), None);
    assert_eq!(get(&db, "x"), None);
    assert!(contents(&db).is_empty());
}

#[test]
fn empty_value_is_present_not_absent() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("empty", "").unwrap();
    let got = db.get("empty").unwrap();
    assert_eq!(got.as_deref(), Some(&b""[..]), "empty value read as absent");
    assert_eq!(contents(&db).get(&b"empty"[..]), Some(&Vec::new()));
    // Overwriting an empty value and emptying a value both work.
    db.put("empty", "x").unwrap();
    assert_eq!(get(&db, "empty"), Some(b"x".to_vec()));
    db.put("empty", "").unwrap();
    assert_eq!(get(&db, "empty"), Some(Vec::new()));

    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(get(&db, "empty"), Some(Vec::new()));
}

#[test]
fn binary_keys_with_zero_and_ff_bytes_are_distinct() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let keys: Vec<Vec<u8>> = vec![
        vec![0x00],
        vec![0x00, 0x00],
        vec![0xff],
        vec![0xff, 0xff],
        vec![b'a', 0x00],
        vec![b'a'],
        vec![b'a', 0xff],
        vec![0x00, 0xff, 0x00],
        vec![0xff, 0x00, 0xff],
    ];
    for (i, key) in keys.iter().enumerate() {
        db.put(key, [i as u8, 0x00, 0xff]).unwrap();
    }
    let check = |db: &Db| {
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(get(db, key), Some(vec![i as u8, 0x00, 0xff]), "key {key:?}");
        }
        // Byte-wise order, 0x00 before everything and 0xff after.
        let mut sorted = keys.clone();
        sorted.sort();
        let scanned: Vec<_> = contents(db).into_keys().collect();
        assert_eq!(scanned, sorted);
    };
    check(&db);

    db.delete([0x00]).unwrap();
    assert_eq!(get(&db, [0x00]), None);
    assert_eq!(get(&db, [0x00, 0x00]), Some(vec![1, 0x00, 0xff]));
    db.put([0x00], [0x00]).unwrap();

    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(get(&db, [0x00]), Some(vec![0x00]));
    db.put([0x00], [0u8, 0x00, 0xff]).unwrap();
    check(&db);
}

#[test]
fn many_keys_are_all_readable() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::small_memtable()).unwrap();
    // Enough data to rotate the memtable several times.
    for i in 0..2_000u32 {
        db.put(i.to_be_bytes(), common::value_of(u64::from(i), 200))
            .unwrap();
    }
    for i in (0..2_000u32).step_by(3) {
        db.delete(i.to_be_bytes()).unwrap();
    }
    let check = |db: &Db| {
        for i in 0..2_000u32 {
            let expect = (i % 3 != 0).then(|| common::value_of(u64::from(i), 200));
            assert_eq!(get(db, i.to_be_bytes()), expect, "key {i}");
        }
    };
    check(&db);
    db.close().unwrap();
    let db = Db::open(dir.path(), common::small_memtable()).unwrap();
    check(&db);
}
