//! Back-pressure: writers that outrun flushing and compaction are slowed
//! down and stalled, never refused, and memory stays bounded.
//!
//! With 64 KiB memtables, at most one frozen memtable, level-0 triggers
//! (compact 1, slow down 2, stop 3) and one background thread, two writers
//! push a few MB as fast as they can. Every write succeeds; the stats count
//! stalls or slowdowns; a sampler thread sees at most one frozen memtable,
//! at most `stop` level-0 tables and a bounded active memtable at every
//! sample; and every pair reads back, before and after a reopen.

use holdfast::{Db, Options, WriteBatch};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MEMTABLE: usize = 64 << 10;
const L0_STOP: usize = 3;
const WRITERS: u64 = 2;
const BATCHES_PER_WRITER: u64 = 100;
const PUTS_PER_BATCH: u64 = 16;
const VALUE_LEN: usize = 1_000;

fn options() -> Options {
    Options::default()
        .memtable_bytes(MEMTABLE)
        .max_frozen_memtables(1)
        .l0_triggers(1, 2, L0_STOP)
        .background_threads(1)
        .target_table_bytes(256 << 10)
}

fn key(writer: u64, i: u64) -> Vec<u8> {
    format!("w{writer}-{i:07}").into_bytes()
}

fn value(writer: u64, i: u64) -> Vec<u8> {
    let mut v = format!("{writer}:{i}:").into_bytes();
    v.resize(VALUE_LEN, b'a' + (i % 26) as u8);
    v
}

/// What the sampler saw at its worst.
#[derive(Debug, Default)]
struct Peaks {
    samples: u64,
    frozen: usize,
    level0: usize,
    active_bytes: u64,
}

fn check_all(db: &Db, when: &str) {
    for w in 0..WRITERS {
        for i in 0..BATCHES_PER_WRITER * PUTS_PER_BATCH {
            let got = db.get(key(w, i)).expect("get");
            assert_eq!(
                got.as_deref(),
                Some(&value(w, i)[..]),
                "{when}: writer {w} key {i}"
            );
        }
    }
    let mut count = 0;
    for item in db.range::<&[u8], _>(..) {
        let (k, v) = item.expect("scan item");
        let text = std::str::from_utf8(&k).expect("utf8 key");
        let (w, i) = text[1..].split_once('-').expect("key shape");
        let (w, i): (u64, u64) = (w.parse().expect("w"), i.parse().expect("i"));
        assert_eq!(&v[..], &value(w, i)[..], "{when}: scanned {text}");
        count += 1;
    }
    assert_eq!(
        count,
        WRITERS * BATCHES_PER_WRITER * PUTS_PER_BATCH,
        "{when}: scan count"
    );
}

#[test]
fn fast_writers_are_stalled_not_failed_and_memory_stays_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), options()).expect("open");

    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let db = db.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut peaks = Peaks::default();
            while !done.load(Ordering::Acquire) {
                let stats = db.stats();
                peaks.samples += 1;
                peaks.frozen = peaks.frozen.max(stats.frozen_memtables);
                peaks.level0 = peaks.level0.max(stats.level_tables[0]);
                peaks.active_bytes = peaks.active_bytes.max(stats.active_memtable_bytes);
                assert!(
                    stats.frozen_memtables <= 1,
                    "more frozen memtables than allowed: {stats:?}"
                );
                assert!(
                    stats.level_tables[0] <= L0_STOP,
                    "level 0 grew past the stop trigger: {stats:?}"
                );
                std::thread::sleep(Duration::from_micros(200));
            }
            peaks
        })
    };

    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for b in 0..BATCHES_PER_WRITER {
                    let mut batch = WriteBatch::new();
                    for j in 0..PUTS_PER_BATCH {
                        let i = b * PUTS_PER_BATCH + j;
                        batch.put(key(w, i), value(w, i));
                    }
                    db.write(batch).expect("a stalled write still succeeds");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("writer thread");
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Release);
    let peaks = sampler.join().expect("sampler thread");

    let stats = db.stats();
    let written = WRITERS * BATCHES_PER_WRITER * PUTS_PER_BATCH * VALUE_LEN as u64;
    assert!(written >= 3 << 20, "a few MB: {written}");
    assert!(
        stats.stalls + stats.slowdowns > 0,
        "writers outran the background thread and were held back: {stats:?}"
    );
    assert!(
        stats.stall_micros + stats.slowdown_micros > 0,
        "time held back is counted: {stats:?}"
    );
    assert!(stats.flushes >= 20, "{stats:?}");
    assert!(stats.compactions >= 1, "{stats:?}");
    assert!(
        peaks.samples >= 10,
        "the sampler ran: {peaks:?} in {elapsed:?}"
    );
    // A write group is checked for room before it is written, so the active
    // memtable exceeds its limit by at most the groups of the two writers.
    let group_max = (PUTS_PER_BATCH as usize * (VALUE_LEN + 64)) as u64;
    assert!(
        peaks.active_bytes <= (MEMTABLE as u64 + 2 * group_max) * 2,
        "the active memtable stays near its limit: {peaks:?}"
    );

    check_all(&db, "after the load");
    db.flush_memtables().expect("flush");
    check_all(&db, "after flushing");
    db.close().expect("close");
    let db = Db::open(tmp.path(), options()).expect("reopen");
    check_all(&db, "after reopen");
    db.close().expect("close");
}
