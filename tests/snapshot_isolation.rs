//! Snapshot isolation: a snapshot keeps showing the database as it was when
//! taken — through `get`, `range` and `prefix` — however many puts, deletes
//! and batches follow and across memtable rotations; an iterator created
//! before later writes (started or not) never sees them; snapshots taken at
//! different times each see their own point.

mod common;

use common::{collect, contents, Rng};
use holdfast::{Db, Options, Snapshot, WriteBatch};
use std::collections::BTreeMap;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn snapshot_contents(snapshot: &Snapshot) -> Model {
    collect(snapshot.range::<&[u8], _>(..))
        .into_iter()
        .collect()
}

fn sget(snapshot: &Snapshot, key: &str) -> Option<Vec<u8>> {
    snapshot.get(key).unwrap().map(|v| v.to_vec())
}

#[test]
fn snapshot_outlives_puts_deletes_and_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for k in ["a/1", "a/2", "a/3", "b/1", "b/2"] {
        db.put(k, format!("old {k}")).unwrap();
    }
    let before = contents(&db);
    let snapshot = db.snapshot();

    db.put("a/1", "new").unwrap(); // overwrite
    db.delete("a/2").unwrap(); // delete
    db.put("a/25", "inserted").unwrap(); // new key inside the prefix
    let mut batch = WriteBatch::new();
    batch.delete("b/1").put("b/3", "x").put("a/3", "batched");
    db.write(batch).unwrap();
    db.delete("b/2").unwrap();
    db.put("b/2", "resurrected").unwrap();

    // The live view changed...
    assert_eq!(common::get(&db, "a/1"), Some(b"new".to_vec()));
    assert_eq!(common::get(&db, "a/2"), None);
    // ...the snapshot did not.
    assert_eq!(snapshot_contents(&snapshot), before);
    assert_eq!(sget(&snapshot, "a/1"), Some(b"old a/1".to_vec()));
    assert_eq!(sget(&snapshot, "a/2"), Some(b"old a/2".to_vec()));
    assert_eq!(sget(&snapshot, "a/25"), None);
    assert_eq!(sget(&snapshot, "b/1"), Some(b"old b/1".to_vec()));
    assert_eq!(sget(&snapshot, "b/2"), Some(b"old b/2".to_vec()));
    assert_eq!(sget(&snapshot, "b/3"), None);
    let a: Vec<_> = collect(snapshot.prefix("a/"));
    assert_eq!(
        a,
        vec![
            (b"a/1".to_vec(), b"old a/1".to_vec()),
            (b"a/2".to_vec(), b"old a/2".to_vec()),
            (b"a/3".to_vec(), b"old a/3".to_vec()),
        ]
    );
    let b_rev: Vec<_> = collect(snapshot.prefix("b/").rev());
    assert_eq!(
        b_rev,
        vec![
            (b"b/2".to_vec(), b"old b/2".to_vec()),
            (b"b/1".to_vec(), b"old b/1".to_vec()),
        ]
    );
    assert_eq!(
        collect(snapshot.range("a/2".."b/2")),
        vec![
            (b"a/2".to_vec(), b"old a/2".to_vec()),
            (b"a/3".to_vec(), b"old a/3".to_vec()),
            (b"b/1".to_vec(), b"old b/1".to_vec()),
        ]
    );
}

#[test]
fn snapshots_taken_at_different_times_each_see_their_own_point() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut model = Model::new();
    let mut taken: Vec<(Snapshot, Model)> = vec![(db.snapshot(), model.clone())];
    let mut rng = Rng::new(3);
    for step in 0..300u32 {
        let k = format!("k{}", rng.below(20)).into_bytes();
        if rng.one_in(3) {
            db.delete(&k).unwrap();
            model.remove(&k);
        } else {
            let v = step.to_string().into_bytes();
            db.put(&k, &v).unwrap();
            model.insert(k, v);
        }
        if step % 30 == 0 {
            taken.push((db.snapshot(), model.clone()));
        }
    }
    let mut last_seq = 0;
    for (i, (snapshot, expect)) in taken.iter().enumerate() {
        assert!(snapshot.seq() >= last_seq, "snapshot seqs go backwards");
        last_seq = snapshot.seq();
        assert_eq!(&snapshot_contents(snapshot), expect, "snapshot {i}");
        for k in 0..20 {
            let key = format!("k{k}");
            assert_eq!(
                sget(snapshot, &key).as_ref(),
                expect.get(key.as_bytes()),
                "snapshot {i}, key {key}"
            );
        }
    }
    assert!(taken[0].0.get("k1").unwrap().is_none());
    assert_eq!(contents(&db), model);
}

#[test]
fn iterator_created_before_writes_does_not_see_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..200u32 {
        db.put(format!("k{i:03}"), "old").unwrap();
    }
    let expect: Vec<(Vec<u8>, Vec<u8>)> = (0..200u32)
        .map(|i| (format!("k{i:03}").into_bytes(), b"old".to_vec()))
        .collect();

    // Not yet started when the writes happen.
    let unstarted = db.range::<&str, _>(..);
    let unstarted_rev = db.prefix("k").rev();
    // Started, stopped in the middle, from both ends.
    let mut started = db.range::<&str, _>(..);
    let mut first_half = Vec::new();
    for _ in 0..50 {
        let (k, v) = started.next().unwrap().unwrap();
        first_half.push((k.to_vec(), v.to_vec()));
    }
    let mut from_back = Vec::new();
    for _ in 0..50 {
        let (k, v) = started.next_back().unwrap().unwrap();
        from_back.push((k.to_vec(), v.to_vec()));
    }

    // Writes ahead of, behind and at the iterators' positions; enough data
    // to rotate nothing (the default memtable) but to refill the cursors.
    for i in 0..200u32 {
        match i % 4 {
            0 => db.delete(format!("k{i:03}")).unwrap(),
            1 => db.put(format!("k{i:03}"), "new").unwrap(),
            2 => db.put(format!("k{i:03}x"), "inserted").unwrap(),
            _ => {}
        }
    }
    let mut batch = WriteBatch::new();
    batch.put("a-before-all", "x").put("z-after-all", "x");
    db.write(batch).unwrap();

    assert_eq!(collect(unstarted), expect);
    let mut rev = collect(unstarted_rev);
    rev.reverse();
    assert_eq!(rev, expect);
    let middle = collect(started.by_ref());
    from_back.reverse();
    let mut whole = first_half;
    whole.extend(middle);
    whole.extend(from_back);
    assert_eq!(whole, expect);

    // And a fresh iterator does see the writes.
    let now = collect(db.range::<&str, _>(..));
    assert_ne!(now, expect);
    assert_eq!(now.first().unwrap().0, b"a-before-all");
    assert_eq!(now.len(), 200 - 50 + 50 + 2);
}

#[test]
fn snapshot_and_iterator_survive_memtable_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::small_memtable()).unwrap();
    let mut model = Model::new();
    for i in 0..300u32 {
        let (k, v) = (format!("s{i:03}"), common::value_of(u64::from(i), 300));
        db.put(&k, &v).unwrap();
        model.insert(k.into_bytes(), v);
    }
    let snapshot = db.snapshot();
    let mut iter = db.prefix("s");
    let first = iter.next().unwrap().unwrap();
    assert_eq!(&first.0[..], b"s000");

    // About 2 MB of overwrites and deletes: many rotations.
    for round in 0..7u64 {
        for i in 0..300u32 {
            let k = format!("s{i:03}");
            if (u64::from(i) + round).is_multiple_of(5) {
                db.delete(&k).unwrap();
            } else {
                db.put(&k, common::value_of(1000 + round, 1000)).unwrap();
            }
        }
    }

    assert_eq!(snapshot_contents(&snapshot), model);
    for i in (0..300u32).step_by(13) {
        let k = format!("s{i:03}");
        assert_eq!(sget(&snapshot, &k).as_ref(), model.get(k.as_bytes()));
    }
    let rest: Vec<_> = collect(iter);
    assert_eq!(rest.len(), 299);
    let mut seen: Model = rest.into_iter().collect();
    seen.insert(first.0.to_vec(), first.1.to_vec());
    assert_eq!(seen, model);
    assert_ne!(contents(&db), model);
}

#[test]
fn snapshot_keeps_its_view_while_a_writer_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::small_memtable()).unwrap();
    for i in 0..50u32 {
        db.put(format!("c{i:02}"), "0").unwrap();
    }
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            for round in 1..=300u32 {
                let mut batch = WriteBatch::new();
                for i in 0..50u32 {
                    batch.put(format!("c{i:02}"), round.to_string());
                }
                batch.put(format!("pad{round}"), [0u8; 600]);
                db.write(batch).unwrap();
            }
        })
    };
    let mut checks = 0;
    while !writer.is_finished() || checks < 5 {
        let snapshot = db.snapshot();
        let first = snapshot_contents(&snapshot);
        let counters: Vec<_> = first
            .iter()
            .filter(|(k, _)| k.starts_with(b"c"))
            .map(|(_, v)| v.clone())
            .collect();
        assert_eq!(counters.len(), 50);
        assert!(counters.iter().all(|v| *v == counters[0]), "torn batch");
        // A second read at the same snapshot gives the same answer.
        assert_eq!(snapshot_contents(&snapshot), first);
        assert_eq!(
            sget(&snapshot, "c17").as_ref(),
            first.get(&b"c17"[..]),
            "get disagrees with range at one snapshot"
        );
        checks += 1;
    }
    writer.join().unwrap();
}
