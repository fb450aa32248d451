//! Size limits of keys and values: a key of `KEY_LEN_MAX` bytes and a value
//! of `VALUE_LEN_MAX` bytes are accepted; one byte more, or an empty key, is
//! refused with `Error::InvalidArgument` — by `put`, `get`, `delete` and
//! inside a `WriteBatch` — and a refused write changes nothing, live or after
//! a reopen.

mod common;

use common::{contents, describe, get, is_invalid_argument};
use holdfast::{Db, Error, Options, WriteBatch, WriteOptions, KEY_LEN_MAX, VALUE_LEN_MAX};

fn assert_invalid<T: std::fmt::Debug>(result: holdfast::Result<T>, what: &str) {
    assert!(
        matches!(&result, Err(e) if is_invalid_argument(e)),
        "{what}: expected InvalidArgument, got {}",
        describe(&result)
    );
}

#[test]
fn documented_limits() {
    assert_eq!(KEY_LEN_MAX, 65_536);
    assert_eq!(VALUE_LEN_MAX, 256 << 20);
    assert_eq!(holdfast::BATCH_BYTES_MAX, 1 << 30);
}

#[test]
fn key_of_key_len_max_bytes_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut key = vec![b'k'; KEY_LEN_MAX];
    key[KEY_LEN_MAX - 1] = 0xff;
    db.put(&key, "v1").unwrap();
    assert_eq!(get(&db, &key), Some(b"v1".to_vec()));

    let mut batch = WriteBatch::new();
    batch.put(&key, "v2").put("other", "x");
    db.write(batch).unwrap();
    assert_eq!(get(&db, &key), Some(b"v2".to_vec()));

    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(get(&db, &key), Some(b"v2".to_vec()));
    let scanned = contents(&db);
    assert_eq!(scanned.get(&key).map(Vec::as_slice), Some(&b"v2"[..]));
    db.delete(&key).unwrap();
    assert_eq!(get(&db, &key), None);
}

#[test]
fn key_one_byte_past_the_limit_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let max_key = vec![b'k'; KEY_LEN_MAX];
    let long_key = vec![b'k'; KEY_LEN_MAX + 1];
    db.put(&max_key, "old").unwrap();
    db.put("neighbour", "old").unwrap();
    let before = contents(&db);

    assert_invalid(db.put(&long_key, "new"), "put of an oversized key");
    assert_invalid(db.get(&long_key), "get of an oversized key");
    assert_invalid(db.delete(&long_key), "delete of an oversized key");

    let mut batch = WriteBatch::new();
    batch
        .put("neighbour", "new")
        .put(&long_key, "new")
        .delete(&max_key);
    assert_invalid(db.write(batch), "batch with an oversized key in a put");
    let mut batch = WriteBatch::new();
    batch.delete("neighbour").delete(&long_key);
    assert_invalid(
        db.write_opt(batch, &WriteOptions::new().sync(true)),
        "synced batch with an oversized key in a delete",
    );

    // Nothing of any refused write is visible.
    assert_eq!(get(&db, &max_key), Some(b"old".to_vec()));
    assert_eq!(get(&db, "neighbour"), Some(b"old".to_vec()));
    assert_eq!(contents(&db), before);

    // Nor after a reopen: nothing reached the log.
    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(contents(&db), before);
}

#[test]
fn empty_key_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("a", "1").unwrap();
    let before = contents(&db);

    assert_invalid(db.put("", "v"), "put of the empty key");
    assert_invalid(db.put(b"", b""), "put of the empty key and value");
    assert_invalid(db.get(""), "get of the empty key");
    assert_invalid(db.delete(""), "delete of the empty key");

    let mut batch = WriteBatch::new();
    batch.put("a", "2").put("", "v");
    assert_invalid(db.write(batch), "batch putting the empty key");
    let mut batch = WriteBatch::new();
    batch.delete("").put("b", "2");
    assert_invalid(db.write(batch), "batch deleting the empty key");

    // A snapshot refuses it as well.
    let snapshot = db.snapshot();
    assert_invalid(snapshot.get(""), "snapshot get of the empty key");

    assert_eq!(contents(&db), before);
    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(contents(&db), before);
}

/// One test for both values of the limit, so that the 256 MiB buffers are
/// never allocated by two tests at once. One allocation of
/// `VALUE_LEN_MAX + 1` bytes serves both sides of the limit.
#[test]
fn value_of_value_len_max_is_accepted_and_one_more_byte_refused() {
    let mut big = vec![0x5au8; VALUE_LEN_MAX + 1];
    big[0] = 1;
    big[VALUE_LEN_MAX / 2] = 2;
    big[VALUE_LEN_MAX - 1] = 3;
    let (max, too_big) = (&big[..VALUE_LEN_MAX], &big[..]);

    {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        db.put("k", "old").unwrap();

        // Refused at put and in a batch; nothing written.
        let result = db.put("k", too_big);
        assert!(
            matches!(&result, Err(Error::InvalidArgument(_))),
            "put of VALUE_LEN_MAX + 1 bytes: {}",
            describe(&result)
        );
        let mut batch = WriteBatch::new();
        batch.put("k2", "x").put("k", too_big).delete("k");
        let result = db.write(batch);
        assert!(
            matches!(&result, Err(Error::InvalidArgument(_))),
            "batch with a value of VALUE_LEN_MAX + 1 bytes: {}",
            describe(&result)
        );
        assert_eq!(get(&db, "k"), Some(b"old".to_vec()));
        assert_eq!(get(&db, "k2"), None);

        // Accepted at put.
        db.put("big", max).unwrap();
        let got = db.get("big").unwrap().expect("the big value");
        assert_eq!(got.len(), VALUE_LEN_MAX);
        assert!(got[..] == *max, "big value read back differs");
        assert_eq!(get(&db, "k"), Some(b"old".to_vec()));
    }
    {
        // Accepted in a batch, together with small operations around it.
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let mut batch = WriteBatch::new();
        batch.put("before", "1").put("big", max).put("after", "2");
        db.write(batch).unwrap();
        let got = db.get("big").unwrap().expect("the big value");
        assert_eq!(got.len(), VALUE_LEN_MAX);
        assert!(got[..] == *max, "big value read back differs");
        assert_eq!(get(&db, "before"), Some(b"1".to_vec()));
        assert_eq!(get(&db, "after"), Some(b"2".to_vec()));
    }
}
