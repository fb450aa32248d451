//! `WriteBatch` atomicity: a batch applies all its operations in order (a
//! later operation on the same key wins), a batch with one invalid operation
//! applies none, concurrent readers never see half a batch, a batch survives
//! reopen and crash, a batch cut by a torn log tail vanishes whole, and an
//! empty batch is accepted and changes nothing.

mod common;

use common::{contents, get, newest_segment, record_starts, truncate};
use holdfast::{Db, Error, Options, WriteBatch, WriteOptions};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn batch_applies_every_operation_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("pre", "existing").unwrap();
    db.put("doomed", "existing").unwrap();

    let mut batch = WriteBatch::new();
    batch
        .put("a", "1")
        .put("b", "1")
        .delete("a") // a: put then delete → absent
        .put("c", "1")
        .put("c", "2") // c: last put wins
        .delete("d") // absent key: fine
        .put("d", "back") // d: delete then put → present
        .delete("doomed")
        .put("pre", "changed");
    assert_eq!(batch.len(), 9);
    db.write(batch).unwrap();

    let expect = map(&[("b", "1"), ("c", "2"), ("d", "back"), ("pre", "changed")]);
    assert_eq!(contents(&db), expect);
    assert_eq!(get(&db, "a"), None);
    assert_eq!(get(&db, "doomed"), None);

    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(contents(&db), expect, "after reopen");
}

#[test]
fn a_batch_with_one_invalid_operation_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("x", "old-x").unwrap();
    db.put("y", "old-y").unwrap();
    let before = contents(&db);
    let too_long = vec![b'z'; holdfast::KEY_LEN_MAX + 1];

    // The invalid operation first, in the middle and last.
    for position in 0..=3 {
        let mut ops: Vec<(Vec<u8>, Option<&str>)> = vec![
            (b"x".to_vec(), Some("new-x")),
            (b"y".to_vec(), None),
            (b"fresh".to_vec(), Some("new")),
        ];
        ops.insert(position, (too_long.clone(), Some("v")));
        let mut batch = WriteBatch::new();
        for (k, v) in &ops {
            match v {
                Some(v) => batch.put(k, v),
                None => batch.delete(k),
            };
        }
        let result = db.write_opt(batch, &WriteOptions::new().sync(position == 1));
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "invalid op at {position}: {result:?}"
        );
        assert_eq!(
            get(&db, "x"),
            Some(b"old-x".to_vec()),
            "x, position {position}"
        );
        assert_eq!(
            get(&db, "y"),
            Some(b"old-y".to_vec()),
            "y, position {position}"
        );
        assert_eq!(get(&db, "fresh"), None, "fresh, position {position}");
        assert_eq!(contents(&db), before);
    }

    // An empty key in a delete is just as fatal to the batch.
    let mut batch = WriteBatch::new();
    batch.put("fresh", "new").delete("").put("x", "new-x");
    assert!(matches!(db.write(batch), Err(Error::InvalidArgument(_))));
    assert_eq!(contents(&db), before);

    // A valid write afterwards works, and nothing refused shows up later.
    db.put("after", "1").unwrap();
    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut expect = before.clone();
    expect.insert(b"after".to_vec(), b"1".to_vec());
    assert_eq!(contents(&db), expect);
}

#[test]
fn cleared_batch_forgets_its_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut batch = WriteBatch::new();
    batch.put("", "bad");
    batch.clear();
    batch.put("good", "1");
    db.write(batch).unwrap();
    assert_eq!(get(&db, "good"), Some(b"1".to_vec()));
}

#[test]
fn empty_batch_is_accepted_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("k", "v").unwrap();
    let seq_before = db.snapshot().seq();
    let batch = WriteBatch::new();
    assert!(batch.is_empty());
    db.write(batch).unwrap();
    db.write_opt(WriteBatch::new(), &WriteOptions::new().sync(true))
        .unwrap();
    assert_eq!(db.snapshot().seq(), seq_before, "empty batch used a seqno");
    assert_eq!(contents(&db), map(&[("k", "v")]));

    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(contents(&db), map(&[("k", "v")]));
    db.write(WriteBatch::new()).unwrap();
}

#[test]
fn batch_survives_close_and_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut batch = WriteBatch::new();
    batch.put("a", "1").put("b", "2").delete("c");
    db.write(batch).unwrap();
    db.close().unwrap();

    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(contents(&db), map(&[("a", "1"), ("b", "2")]));
    let mut batch = WriteBatch::new();
    batch.delete("a").put("c", "3");
    db.write_opt(batch, &WriteOptions::new().sync(true))
        .unwrap();
    let mut batch = WriteBatch::new();
    batch.put("d", "4").put("b", "22");
    db.write(batch).unwrap(); // buffered: in the OS cache, survives a process crash
    db.simulate_crash();

    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        contents(&db),
        map(&[("b", "22"), ("c", "3"), ("d", "4")]),
        "after crash"
    );
}

/// A batch large enough to span several WAL frames, cut inside each frame
/// by a torn tail, disappears whole; the write before it stays.
#[test]
fn batch_cut_by_a_torn_tail_vanishes_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    db.put("before", "kept").unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..100u32 {
        batch.put(
            format!("batch/{i:03}"),
            common::value_of(u64::from(i), 1000),
        );
    }
    assert!(batch.encoded_len() > 3 * 32 * 1024, "spans several frames");
    db.write(batch).unwrap();
    db.simulate_crash();

    let segment = newest_segment(dir.path());
    let bytes = std::fs::read(&segment).unwrap();
    let frames = common::frames(&bytes);
    let batch_start = *record_starts(&bytes).last().unwrap();
    let batch_frames: Vec<_> = frames.iter().filter(|f| f.start >= batch_start).collect();
    assert!(batch_frames.len() >= 4, "{batch_frames:?}");

    let mut cuts = vec![batch_start, batch_start + 1];
    for f in &batch_frames {
        cuts.extend([f.start + 3, f.start + 7, (f.start + f.end) / 2, f.end - 1]);
    }
    cuts.extend(batch_frames.iter().map(|f| f.end));
    cuts.pop(); // the very end: the batch is complete there
    for cut in cuts {
        let copy = tempfile::tempdir().unwrap();
        common::copy_dir(dir.path(), copy.path());
        truncate(&copy.path().join(segment.file_name().unwrap()), cut as u64);
        let db = Db::open(copy.path(), Options::default()).unwrap();
        assert_eq!(
            contents(&db),
            map(&[("before", "kept")]),
            "cut at {cut}: part of the batch survived"
        );
    }
}

/// Readers running while batches commit see either all of a batch or none:
/// every batch sets the same ten keys to one value.
#[test]
fn concurrent_readers_never_see_half_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::small_memtable()).unwrap();
    let keys: Vec<String> = (0..10).map(|i| format!("acct/{i}")).collect();
    let mut batch = WriteBatch::new();
    for k in &keys {
        batch.put(k, "0");
    }
    db.write(batch).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let db = db.clone();
            let stop = Arc::clone(&stop);
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut checks = 0u32;
                while !stop.load(Ordering::Relaxed) || checks < 10 {
                    let values: Vec<Vec<u8>> = if r == 0 {
                        common::collect(db.prefix("acct/"))
                            .into_iter()
                            .map(|(_, v)| v)
                            .collect()
                    } else {
                        let snap = db.snapshot();
                        keys.iter()
                            .map(|k| snap.get(k).unwrap().unwrap().to_vec())
                            .collect()
                    };
                    assert_eq!(values.len(), keys.len());
                    assert!(
                        values.iter().all(|v| *v == values[0]),
                        "half a batch visible: {values:?}"
                    );
                    checks += 1;
                }
                checks
            })
        })
        .collect();

    for round in 1..=400u32 {
        let mut batch = WriteBatch::new();
        for k in &keys {
            batch.put(k, round.to_string());
            // Padding makes the memtable rotate during the run.
            batch.put(format!("pad/{round}/{k}"), [0u8; 200]);
        }
        db.write(batch).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() >= 10);
    }
    assert_eq!(get(&db, "acct/7"), Some(b"400".to_vec()));
}
