//! Compaction never changes what a snapshot or an open iterator sees.
//!
//! * A snapshot and iterators (forward, reverse, both ends, a snapshot's
//!   range and a prefix) are opened and partly consumed; then many keys are
//!   overwritten, deleted and added, with flushes and full compactions in
//!   between. The snapshot's point reads and scans, and the rest of every
//!   old iterator, still show exactly the state at snapshot time; the
//!   current view shows the new state. Once they are dropped, no table
//!   file they kept alive is left behind.
//! * Once a snapshot is released, the next `compact` drops the versions it
//!   pinned, whichever level the data has reached (the last included).
//! * Concurrently: one writer moves amounts between accounts in atomic
//!   batches (the sum of all balances never changes) while background
//!   compactions and manual range compactions run; reader threads take
//!   snapshots and iterators and check that every one of them sees the
//!   exact total.
//! * Manual compactions racing the background compactions they trigger
//!   succeed and lose nothing.

use holdfast::fs::SyncHookFileSystem;
use holdfast::{Bytes, Db, Options, WriteBatch};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// The real file system without fsyncs: nothing here crashes, so durability is
/// not under test, and skipping the fsyncs keeps hundreds of compactions
/// fast on a busy disk.
fn options() -> Options {
    Options::default()
        .file_system(Arc::new(SyncHookFileSystem::without_syncs()))
        .memtable_bytes(64 << 10)
        .target_table_bytes(16 << 10)
        .level1_bytes(32 << 10)
        .level_size_ratio(4)
        .table_block_bytes(256)
        .l0_triggers(2, 8, 12)
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

fn value(i: u64, round: u64) -> Vec<u8> {
    let mut v = format!("v{round}-{i}-").into_bytes();
    v.resize(
        60 + ((i * 31 + round * 7) % 120) as usize,
        b'a' + (round % 26) as u8,
    );
    v
}

fn owned(item: holdfast::Result<(Bytes, Bytes)>) -> (Vec<u8>, Vec<u8>) {
    let (k, v) = item.expect("iterator item");
    (k.to_vec(), v.to_vec())
}

fn pairs(model: &Model) -> Vec<(Vec<u8>, Vec<u8>)> {
    model.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn table_files_on_disk(dir: &Path) -> (usize, u64) {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry"))
        .filter(|e| e.path().extension().is_some_and(|x| x == "table"))
        .fold((0, 0), |(n, bytes), e| {
            (n + 1, bytes + e.metadata().expect("metadata").len())
        })
}

#[test]
fn snapshot_and_open_iterators_survive_compactions() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), options()).expect("open");
    const KEYS: u64 = 700;
    let mut model = Model::new();
    for i in 0..KEYS {
        db.put(key(i), value(i, 0)).expect("put");
        model.insert(key(i), value(i, 0));
    }
    db.flush_memtables().expect("flush");
    db.compact().expect("compact");
    // Some of the snapshot's state is in a memtable and level 0 too.
    for i in (0..KEYS).step_by(5) {
        db.put(key(i), value(i, 1)).expect("put");
        model.insert(key(i), value(i, 1));
    }
    db.flush_memtables().expect("flush");
    for i in (0..KEYS).step_by(9) {
        db.delete(key(i)).expect("delete");
        model.remove(&key(i));
    }
    let at_snapshot = model.clone();
    let expected = pairs(&at_snapshot);

    let snapshot = db.snapshot();
    let mut forward = db.range::<&[u8], _>(..);
    let mut backward = db.range::<&[u8], _>(..).rev();
    let mut both = db.range(key(100)..key(600));
    let mut snap_range = snapshot.range(key(300)..);
    let mut prefix = db.prefix("key00");
    let window: Vec<(Vec<u8>, Vec<u8>)> = at_snapshot
        .range(key(100)..key(600))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let from_300: Vec<(Vec<u8>, Vec<u8>)> = at_snapshot
        .range(key(300)..)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let in_prefix: Vec<(Vec<u8>, Vec<u8>)> = expected
        .iter()
        .filter(|(k, _)| k.starts_with(b"key00"))
        .cloned()
        .collect();

    let mut seen_forward: Vec<_> = forward.by_ref().take(25).map(owned).collect();
    let mut seen_backward: Vec<_> = backward.by_ref().take(25).map(owned).collect();
    let mut seen_both_front: Vec<_> = both.by_ref().take(10).map(owned).collect();
    let mut seen_both_back: Vec<_> = (0..10)
        .map(|_| owned(both.next_back().expect("item")))
        .collect();
    let mut seen_snap: Vec<_> = snap_range.by_ref().take(10).map(owned).collect();
    let mut seen_prefix: Vec<_> = prefix.by_ref().take(10).map(owned).collect();

    // Rewrite the database several times over under them.
    let compactions_before = db.stats().compactions;
    for round in 2..6u64 {
        for i in 0..KEYS + 200 {
            if (i + round) % 4 == 0 {
                db.delete(key(i)).expect("delete");
                model.remove(&key(i));
            } else if (i + round) % 3 != 0 {
                db.put(key(i), value(i, round)).expect("put");
                model.insert(key(i), value(i, round));
            }
        }
        db.flush_memtables().expect("flush");
        db.compact().expect("compact");
        // Partway through, the old iterators read on between compactions.
        seen_forward.extend(forward.by_ref().take(40).map(owned));
        seen_backward.extend(backward.by_ref().take(40).map(owned));
        seen_both_front.extend(both.by_ref().take(5).map(owned));
        if let Some(item) = both.next_back() {
            seen_both_back.push(owned(item));
        }
    }
    let stats = db.stats();
    assert!(stats.compactions >= compactions_before + 4, "{stats:?}");
    assert_eq!(stats.level_tables[0], 0, "{stats:?}");

    // The old iterators finish with exactly the snapshot's state.
    seen_forward.extend(forward.map(owned));
    assert!(
        seen_forward == expected,
        "forward iterator across compactions"
    );
    seen_backward.extend(backward.map(owned));
    seen_backward.reverse();
    assert!(
        seen_backward == expected,
        "reverse iterator across compactions"
    );
    while let Some(item) = both.next() {
        seen_both_front.push(owned(item));
        if let Some(item) = both.next_back() {
            seen_both_back.push(owned(item));
        }
    }
    drop(both);
    seen_both_back.reverse();
    seen_both_front.extend(seen_both_back);
    assert!(
        seen_both_front == window,
        "double-ended iterator across compactions"
    );
    seen_snap.extend(snap_range.map(owned));
    assert!(seen_snap == from_300, "snapshot range across compactions");
    seen_prefix.extend(prefix.map(owned));
    assert!(
        seen_prefix == in_prefix,
        "prefix iterator across compactions"
    );

    // The snapshot itself: point reads and fresh scans.
    for i in 0..KEYS + 200 {
        assert_eq!(
            snapshot.get(key(i)).expect("snapshot get").as_deref(),
            at_snapshot.get(&key(i)).map(Vec::as_slice),
            "snapshot get key {i}"
        );
    }
    let scanned: Vec<_> = snapshot.range::<&[u8], _>(..).map(owned).collect();
    assert!(scanned == expected, "snapshot scan after compactions");
    let mut scanned: Vec<_> = snapshot.range::<&[u8], _>(..).rev().map(owned).collect();
    scanned.reverse();
    assert!(
        scanned == expected,
        "snapshot reverse scan after compactions"
    );
    let scanned: Vec<_> = snapshot.prefix("key01").map(owned).collect();
    let want: Vec<_> = expected
        .iter()
        .filter(|(k, _)| k.starts_with(b"key01"))
        .cloned()
        .collect();
    assert!(scanned == want, "snapshot prefix after compactions");

    // The current view is the new state.
    let now = pairs(&model);
    let current: Vec<_> = db.range::<&[u8], _>(..).map(owned).collect();
    assert!(current == now, "current view after compactions");
    for i in 0..KEYS + 200 {
        assert_eq!(
            db.get(key(i)).expect("get").as_deref(),
            model.get(&key(i)).map(Vec::as_slice),
            "current get key {i}"
        );
    }

    // Released, the files the old iterators and the snapshot kept alive go
    // (once any background compaction in flight has finished).
    drop(snapshot);
    db.compact().expect("compact");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = db.stats();
        let live: usize = stats.level_tables.iter().sum();
        let on_disk = table_files_on_disk(tmp.path());
        if on_disk == (live, stats.table_bytes()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "table files outlive the iterators that pinned them: {on_disk:?} on disk, {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let current: Vec<_> = db.range::<&[u8], _>(..).map(owned).collect();
    assert!(current == now, "current view after the final compaction");
    db.close().expect("close");
}

const ACCOUNTS: u64 = 40;
const INITIAL: i64 = 1_000;
const TOTAL: i64 = ACCOUNTS as i64 * INITIAL;

fn account(i: u64) -> Vec<u8> {
    format!("acct{i:03}").into_bytes()
}

/// A balance as the first 12 bytes of a padded value, so that the data is
/// large enough to flush and compact often.
fn balance_value(balance: i64, pad: usize) -> Vec<u8> {
    let mut v = format!("{balance:>12}").into_bytes();
    v.resize(12 + pad, b'.');
    v
}

fn parse_balance(v: &[u8]) -> i64 {
    std::str::from_utf8(&v[..12])
        .expect("utf8")
        .trim()
        .parse()
        .expect("balance")
}

/// Sums every account in `items`; checks there are exactly `ACCOUNTS`.
fn sum(items: impl Iterator<Item = holdfast::Result<(Bytes, Bytes)>>) -> i64 {
    let mut count = 0;
    let total = items
        .map(|item| {
            count += 1;
            parse_balance(&item.expect("scan item").1)
        })
        .sum();
    assert_eq!(count, ACCOUNTS, "every account present");
    total
}

#[test]
fn concurrent_snapshots_see_consistent_totals_while_compaction_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), options().background_threads(2)).expect("open");
    let mut batch = WriteBatch::new();
    for i in 0..ACCOUNTS {
        batch.put(account(i), balance_value(INITIAL, 0));
    }
    db.write(batch).expect("initial balances");

    let done = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let db = db.clone();
            let done = Arc::clone(&done);
            let checks = Arc::clone(&checks);
            std::thread::spawn(move || {
                let mut rounds = 0u64;
                while !done.load(Ordering::Acquire) || rounds < 5 {
                    let snapshot = db.snapshot();
                    // An open iterator, consumed slowly across other reads.
                    let mut slow = db.prefix("acct");
                    let mut slow_sum = 0;
                    let mut slow_count = 0;
                    for (j, item) in slow.by_ref().take(10).enumerate() {
                        let (k, v) = item.expect("slow item");
                        assert_eq!(&k[..], &account(j as u64)[..]);
                        slow_sum += parse_balance(&v);
                        slow_count += 1;
                    }
                    let points: i64 = (0..ACCOUNTS)
                        .map(|i| {
                            let v = snapshot.get(account(i)).expect("get").expect("account");
                            parse_balance(&v)
                        })
                        .sum();
                    assert_eq!(points, TOTAL, "reader {r}: snapshot point reads");
                    assert_eq!(
                        sum(snapshot.prefix("acct")),
                        TOTAL,
                        "reader {r}: snapshot scan"
                    );
                    assert_eq!(
                        sum(snapshot.range(account(0)..=account(ACCOUNTS)).rev()),
                        TOTAL,
                        "reader {r}: snapshot reverse scan"
                    );
                    assert_eq!(sum(db.prefix("acct")), TOTAL, "reader {r}: live scan");
                    for item in slow {
                        slow_sum += parse_balance(&item.expect("slow item").1);
                        slow_count += 1;
                    }
                    assert_eq!(
                        (slow_count, slow_sum),
                        (ACCOUNTS, TOTAL),
                        "reader {r}: iterator consumed across compactions"
                    );
                    rounds += 1;
                    checks.fetch_add(1, Ordering::Relaxed);
                }
                rounds
            })
        })
        .collect();

    // The writer: transfers between accounts, each with filler data so
    // that memtables fill and compactions run all the time.
    let mut balances = vec![INITIAL; ACCOUNTS as usize];
    let mut x: u64 = 0x1234_5678;
    for n in 0..1_500u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let from = (x % ACCOUNTS) as usize;
        let to = ((x >> 20) % ACCOUNTS) as usize;
        let amount = ((x >> 40) % 50) as i64;
        if from == to {
            continue;
        }
        balances[from] -= amount;
        balances[to] += amount;
        let mut batch = WriteBatch::new();
        let pad = (x >> 8) as usize % 300;
        batch.put(account(from as u64), balance_value(balances[from], pad));
        batch.put(account(to as u64), balance_value(balances[to], pad));
        batch.put(
            format!("filler{:05}", n % 700),
            balance_value(n as i64, 400),
        );
        if n % 3 == 0 {
            batch.delete(format!("filler{:05}", (n * 7) % 700));
        }
        db.write(batch).expect("transfer");
        if n % 300 == 299 {
            db.compact_range("acct".."acct~").expect("compact_range");
        }
    }
    db.flush_memtables().expect("flush");
    db.compact().expect("compact");
    let checked_while_writing = checks.load(Ordering::Relaxed);
    done.store(true, Ordering::Release);
    for reader in readers {
        let rounds = reader.join().expect("reader thread");
        assert!(rounds >= 5, "reader made progress: {rounds}");
    }
    let stats = db.stats();
    assert!(stats.flushes >= 5, "{stats:?}");
    assert!(stats.compactions >= 5, "{stats:?}");
    assert!(
        checked_while_writing >= 2,
        "readers checked while the writer and compactions ran: {checked_while_writing}"
    );

    for (i, &b) in balances.iter().enumerate() {
        let v = db.get(account(i as u64)).expect("get").expect("account");
        assert_eq!(parse_balance(&v), b, "final balance of account {i}");
    }
    assert_eq!(sum(db.prefix("acct")), TOTAL);
    db.close().expect("close");
}

/// Versions a snapshot pinned go at the first `compact` after it is
/// released — whichever level the data has reached by then, the last one
/// included.
#[test]
fn released_snapshot_versions_are_dropped_by_compact_at_any_depth() {
    for compactions_first in [1, 8] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let quiet = options().l0_triggers(64, 64, 64).level1_bytes(64 << 20);
        let db = Db::open(tmp.path(), quiet).expect("open");
        for i in 0..400 {
            db.put(key(i), value(i, 1)).expect("put");
        }
        let snapshot = db.snapshot();
        for i in 0..400 {
            if i % 4 == 0 {
                db.delete(key(i)).expect("delete");
            } else {
                db.put(key(i), value(i, 2)).expect("put");
            }
        }
        for _ in 0..compactions_first {
            db.compact().expect("compact");
        }
        let stats = db.stats();
        let deepest = stats.level_tables.iter().rposition(|&n| n > 0);
        for i in (0..400).step_by(13) {
            assert_eq!(
                snapshot.get(key(i)).expect("snapshot get").as_deref(),
                Some(&value(i, 1)[..]),
                "the snapshot still reads version 1 of key {i}"
            );
        }
        let pinned = stats.table_bytes();
        drop(snapshot);
        db.compact().expect("compact");
        let stats = db.stats();
        // Version 1 of every key and the tombstones are garbage now: well
        // over a third of the bytes.
        assert!(
            stats.table_bytes() * 3 < pinned * 2,
            "after {compactions_first} compactions (data in level {deepest:?}), releasing the \
             snapshot and compacting leaves {} of {pinned} table bytes: {stats:?}",
            stats.table_bytes()
        );
        for i in 0..400 {
            let want = (i % 4 != 0).then(|| value(i, 2));
            assert_eq!(
                db.get(key(i)).expect("get").as_deref(),
                want.as_deref(),
                "key {i}"
            );
        }
        db.close().expect("close");
    }
}

/// Manual compactions racing the background compactions they trigger (each
/// level a manual compaction fills goes over its target, so background
/// threads move its tables down while the manual compaction reaches for
/// that level next) succeed, never poison the database, and lose nothing.
#[test]
fn manual_compactions_alongside_background_compactions() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(tmp.path(), options()).expect("open");
    let mut model = Model::new();
    let started = Instant::now();
    let mut round = 0u64;
    while round < 6 || started.elapsed() < Duration::from_millis(500) {
        for j in 0..300 {
            let i = (j * 7 + round * 131) % 1_500;
            db.put(key(i), value(i, round)).expect("put");
            model.insert(key(i), value(i, round));
        }
        let result = if round.is_multiple_of(2) {
            db.compact()
        } else {
            db.compact_range(key(200)..key(1_100))
        };
        assert!(
            result.is_ok(),
            "manual compaction in round {round}, after {:?}: {result:?}",
            started.elapsed()
        );
        round += 1;
    }
    assert!(db.stats().compactions > round, "{:?}", db.stats());
    let current: Vec<_> = db.range::<&[u8], _>(..).map(owned).collect();
    assert!(current == pairs(&model), "contents after the race");
    db.close().expect("close");
}
