//! Group commit under concurrency: eight threads mixing synced and buffered
//! puts, deletes and batches on one database (and on rotating memtables).
//! Every acknowledged write is visible at once to every thread, reads never
//! go back in time, and all of it is present after the run, after a close +
//! reopen, and after a simulated crash + reopen.

mod common;

use common::{contents, get};
use holdfast::{Db, Options, WriteBatch, WriteOptions};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const THREADS: usize = 8;
const WRITES_PER_THREAD: usize = 150;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// What thread `t` writes; returns the state its keys must end in. Every
/// third write is synced, deletes and batches are mixed in, and
/// `last/{t}` counts the writes done so far.
fn writer(db: &Db, t: usize) -> Model {
    let mut mine = Model::new();
    for i in 0..WRITES_PER_THREAD {
        let sync = i % 3 == 0;
        let key = format!("t{t}/{:03}", i % 100).into_bytes();
        let value = format!("t{t} write {i} {}", "x".repeat(i % 7 * 40)).into_bytes();
        let mut batch = WriteBatch::new();
        match i % 10 {
            // Delete an earlier key of this thread.
            4 => {
                let old = format!("t{t}/{:03}", i % 100 - 3).into_bytes();
                batch.delete(&old);
                mine.remove(&old);
            }
            // A batch over several keys of this thread.
            7 => {
                for j in 0..4 {
                    let k = format!("t{t}/batch/{j}").into_bytes();
                    batch.put(&k, &value);
                    mine.insert(k, value.clone());
                }
            }
            _ => {
                batch.put(&key, &value);
                mine.insert(key.clone(), value.clone());
            }
        }
        let counter = format!("{i:05}").into_bytes();
        batch.put(format!("last/{t}"), &counter);
        mine.insert(format!("last/{t}").into_bytes(), counter);
        db.write_opt(batch, &WriteOptions::new().sync(sync))
            .unwrap();

        // Acknowledged means visible, to this thread at once.
        assert_eq!(
            get(db, format!("last/{t}")),
            Some(format!("{i:05}").into_bytes()),
            "thread {t}, write {i}: own write not visible"
        );
        if i % 10 != 4 && i % 10 != 7 {
            assert_eq!(get(db, &key).as_deref(), mine.get(&key).map(Vec::as_slice));
        }
    }
    mine
}

fn run(options: Options) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options.clone()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    // A reader that checks no counter ever goes backwards.
    let reader = {
        let db = db.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut seen: Vec<Option<Vec<u8>>> = vec![None; THREADS];
            let mut rounds = 0u32;
            while !stop.load(Ordering::Relaxed) {
                for (t, last) in seen.iter_mut().enumerate() {
                    let now = get(&db, format!("last/{t}"));
                    assert!(
                        now >= *last,
                        "thread {t}'s counter went back: {last:?} → {now:?}"
                    );
                    *last = now;
                }
                rounds += 1;
            }
            rounds
        })
    };

    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || writer(&db, t))
        })
        .collect();
    let mut model = Model::new();
    for w in writers {
        model.extend(w.join().unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);

    // Every acknowledged write, and nothing else.
    assert_eq!(contents(&db), model);
    for t in 0..THREADS {
        let last = format!("{:05}", WRITES_PER_THREAD - 1).into_bytes();
        assert_eq!(get(&db, format!("last/{t}")), Some(last));
    }

    db.close().unwrap();
    let db = Db::open(dir.path(), options.clone()).unwrap();
    assert_eq!(contents(&db), model, "after close + reopen");

    // Another concurrent round, ended by a crash: everything acknowledged
    // reached the operating system, so all of it is recovered.
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let mut batch = WriteBatch::new();
                    batch.put(format!("round2/{t}/{i}"), "v");
                    db.write_opt(batch, &WriteOptions::new().sync(i % 2 == 0))
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    for t in 0..THREADS {
        for i in 0..40 {
            model.insert(format!("round2/{t}/{i}").into_bytes(), b"v".to_vec());
        }
    }
    db.simulate_crash();
    let db = Db::open(dir.path(), options).unwrap();
    assert_eq!(contents(&db), model, "after crash + reopen");
}

#[test]
fn concurrent_sync_and_buffered_writers() {
    run(Options::default());
}

#[test]
fn concurrent_writers_across_memtable_rotations() {
    run(common::small_memtable().sync_writes(true));
}
