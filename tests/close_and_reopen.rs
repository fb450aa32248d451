//! Closing and reopening: every acknowledged value survives `close()` +
//! open and drop + open, also after many memtable rotations (many WAL
//! segments) and many reopen cycles; newer writes still win after a reopen;
//! after `close()` every other clone's calls fail with `Error::Closed`;
//! `create_if_missing(false)` refuses a missing directory; a too-small
//! memtable is refused.

mod common;

use common::{contents, get, small_memtable, Rng};
use holdfast::{Db, Error, Options, WriteBatch, WriteOptions};
use std::collections::BTreeMap;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn assert_closed<T: std::fmt::Debug>(result: holdfast::Result<T>, what: &str) {
    assert!(
        matches!(result, Err(Error::Closed)),
        "{what} on a closed database: expected Error::Closed, got {}",
        common::describe(&result)
    );
}

/// Writes a random mix of puts, deletes and batches into `db` and `model`.
fn random_writes(db: &Db, model: &mut Model, rng: &mut Rng, bytes: usize) {
    let mut written = 0;
    while written < bytes {
        let k = format!("k{:05}", rng.below(3_000)).into_bytes();
        match rng.below(10) {
            0 => {
                db.delete(&k).unwrap();
                model.remove(&k);
            }
            1 => {
                let mut batch = WriteBatch::new();
                for j in 0..5 {
                    let k = format!("b{:05}", rng.below(3_000) + j).into_bytes();
                    let v = common::value_of(rng.next_u64(), 100);
                    batch.put(&k, &v);
                    model.insert(k, v);
                }
                db.write(batch).unwrap();
                written += 500;
            }
            _ => {
                let v = common::value_of(rng.next_u64(), 50 + rng.below(1_000) as usize);
                written += v.len();
                db.put(&k, &v).unwrap();
                model.insert(k, v);
            }
        }
    }
}

#[test]
fn values_survive_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("a", "1").unwrap();
    db.put("b", "2").unwrap();
    db.delete("b").unwrap();
    db.write_opt(
        {
            let mut b = WriteBatch::new();
            b.put("c", "3");
            b
        },
        &WriteOptions::new().sync(true),
    )
    .unwrap();
    db.close().unwrap();

    let db = Db::open(dir.path(), Options::default().create_if_missing(false)).unwrap();
    assert_eq!(get(&db, "a"), Some(b"1".to_vec()));
    assert_eq!(get(&db, "b"), None);
    assert_eq!(get(&db, "c"), Some(b"3".to_vec()));
    assert_eq!(contents(&db).len(), 2);
}

#[test]
fn values_survive_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let clone = db.clone();
        db.put("a", "1").unwrap();
        clone.put("b", "2").unwrap();
        drop(db);
        clone.put("c", "3").unwrap(); // the clone still writes
    } // last handle dropped here
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let expect: Model = [("a", "1"), ("b", "2"), ("c", "3")]
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
    assert_eq!(contents(&db), expect);
}

#[test]
fn newer_writes_win_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut last_seq = 0;
    for round in 0..10u32 {
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let seq = db.snapshot().seq();
        assert!(
            seq >= last_seq,
            "sequence numbers went back: {last_seq} → {seq}"
        );
        if round > 0 {
            assert_eq!(get(&db, "k"), Some((round - 1).to_string().into_bytes()));
        }
        db.put("k", round.to_string()).unwrap();
        if round % 3 == 1 {
            db.delete("k").unwrap();
            db.put("k", round.to_string()).unwrap();
        }
        last_seq = db.snapshot().seq();
        if round % 2 == 0 {
            db.close().unwrap();
        } else {
            drop(db);
        }
    }
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(get(&db, "k"), Some(b"9".to_vec()));
}

#[test]
fn values_survive_reopen_after_many_memtable_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let mut rng = Rng::new(11);
    let db = Db::open(dir.path(), small_memtable()).unwrap();
    // 3 MiB through a 64 KiB memtable: dozens of rotations.
    random_writes(&db, &mut model, &mut rng, 3 << 20);
    assert_eq!(contents(&db), model);
    db.close().unwrap();

    let db = Db::open(dir.path(), small_memtable()).unwrap();
    assert_eq!(contents(&db), model, "after close + reopen");
    random_writes(&db, &mut model, &mut rng, 1 << 20);
    drop(db);

    // A larger memtable on reopen changes nothing about the contents.
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(contents(&db), model, "after drop + reopen");
    for k in model.keys().step_by(17) {
        assert_eq!(get(&db, k).as_ref(), model.get(k));
    }
}

#[test]
fn many_reopen_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::new();
    let mut rng = Rng::new(5);
    for cycle in 0..25 {
        let db = Db::open(dir.path(), small_memtable()).unwrap();
        assert_eq!(contents(&db), model, "cycle {cycle}");
        random_writes(&db, &mut model, &mut rng, 20_000);
        if cycle % 2 == 0 {
            db.close().unwrap();
        }
    }
    let db = Db::open(dir.path(), small_memtable()).unwrap();
    assert_eq!(contents(&db), model);
}

#[test]
fn after_close_other_clones_get_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("k", "v").unwrap();
    let clone = db.clone();
    let snapshot = db.snapshot();
    db.close().unwrap();

    assert_closed(clone.get("k"), "get");
    assert_closed(clone.put("k", "v2"), "put");
    assert_closed(clone.delete("k"), "delete");
    let mut batch = WriteBatch::new();
    batch.put("x", "y");
    assert_closed(clone.write(batch.clone()), "write");
    assert_closed(
        clone.write_opt(batch, &WriteOptions::new().sync(true)),
        "synced write",
    );
    assert_closed(clone.write(WriteBatch::new()), "empty write");
    assert_closed(clone.flush(), "flush");
    assert_closed(snapshot.get("k"), "snapshot get");
    assert_closed(clone.snapshot().get("k"), "get at a new snapshot");
    assert_closed(clone.clone().close(), "close of a closed database");

    // Nothing was written by the refused calls.
    drop((clone, snapshot));
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(get(&db, "k"), Some(b"v".to_vec()));
    assert_eq!(get(&db, "x"), None);
}

/// `Db::close` promises that every clone's calls fail with `Error::Closed`;
/// a range or prefix scan on a closed clone must not hand out data (the
/// directory may already be open — and changing — under a new handle).
/// (Regression: they yielded the stale pairs of the closed handle.)
#[test]
fn range_and_prefix_on_a_closed_clone_fail_with_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("k", "v").unwrap();
    let clone = db.clone();
    let snapshot = db.snapshot();
    db.close().unwrap();
    // The directory is opened again and changed under a new handle.
    let reopened = Db::open(dir.path(), Options::default()).unwrap();
    reopened.put("k", "new").unwrap();

    let first = clone.range::<&str, _>(..).next();
    assert!(
        matches!(first, Some(Err(Error::Closed))),
        "range on a closed database yielded {first:?}"
    );
    let first = clone.prefix("k").next();
    assert!(
        matches!(first, Some(Err(Error::Closed))),
        "prefix on a closed database yielded {first:?}"
    );
    let first = snapshot.range::<&str, _>(..).next();
    assert!(
        matches!(first, Some(Err(Error::Closed))),
        "snapshot range on a closed database yielded {first:?}"
    );
    let first = snapshot.prefix("k").next();
    assert!(
        matches!(first, Some(Err(Error::Closed))),
        "snapshot prefix on a closed database yielded {first:?}"
    );
}

#[test]
fn create_if_missing_false_refuses_a_missing_directory() {
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("no-such-db");
    let result = Db::open(&missing, Options::default().create_if_missing(false));
    assert!(
        matches!(
            result,
            Err(Error::InvalidArgument(_)) | Err(Error::Io { .. })
        ),
        "expected an error, got {}",
        common::describe(&result)
    );
    assert!(!missing.exists(), "the refused open created the directory");

    // With the default it is created, and then create_if_missing(false) opens it.
    let nested = parent.path().join("a/b/db");
    Db::open(&nested, Options::default())
        .unwrap()
        .close()
        .unwrap();
    assert!(nested.is_dir());
    let db = Db::open(&nested, Options::default().create_if_missing(false)).unwrap();
    db.put("k", "v").unwrap();
}

#[test]
fn memtable_below_the_minimum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let result = Db::open(dir.path(), Options::default().memtable_bytes(64 * 1024 - 1));
    assert!(
        matches!(result, Err(Error::InvalidArgument(_))),
        "{}",
        common::describe(&result)
    );
    // The refusal left no lock behind.
    Db::open(dir.path(), Options::default().memtable_bytes(64 * 1024)).unwrap();
}
