//! Range and prefix iteration: every kind of range bound, empty and inverted
//! ranges, prefixes (also ending in `0xff` bytes, and the empty prefix),
//! reverse iteration, mixing `next` and `next_back` on one iterator without
//! repeating or skipping a key, hidden tombstones, and iteration across
//! several frozen memtables — each compared with a `BTreeMap` model.

mod common;

use common::{collect, keys, Rng};
use holdfast::{Db, Iter, Options};
use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn in_bounds(key: &[u8], lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    let above = match lo {
        Bound::Included(l) => key >= l,
        Bound::Excluded(l) => key > l,
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => key <= h,
        Bound::Excluded(h) => key < h,
        Bound::Unbounded => true,
    };
    above && below
}

/// What the model holds in a range (never panics on inverted ranges, unlike
/// `BTreeMap::range`).
fn model_range<K: AsRef<[u8]>>(model: &Model, range: &impl RangeBounds<K>) -> Pairs {
    let lo = range.start_bound().map(|k| k.as_ref());
    let hi = range.end_bound().map(|k| k.as_ref());
    model
        .iter()
        .filter(|(k, _)| in_bounds(k, lo, hi))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn model_prefix(model: &Model, prefix: &[u8]) -> Pairs {
    model
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn reversed(mut pairs: Pairs) -> Pairs {
    pairs.reverse();
    pairs
}

/// Checks `range` forward, backward and mixed against the model.
fn check_range<K, R>(db: &Db, model: &Model, range: R)
where
    K: AsRef<[u8]> + std::fmt::Debug,
    R: RangeBounds<K> + Clone + std::fmt::Debug,
{
    let expect = model_range(model, &range);
    assert_eq!(collect(db.range(range.clone())), expect, "{range:?}");
    assert_eq!(
        collect(db.range(range.clone()).rev()),
        reversed(expect.clone()),
        "{range:?} reversed"
    );
    assert_mixed_walks_agree(|| db.range(range.clone()), &expect, 5);
}

/// Walks iterators from `make` with pseudo-random mixes of `next` and
/// `next_back`: the front items ascend, the back items descend, and front
/// followed by reversed back is exactly `expect` — nothing repeated, nothing
/// skipped — and once the ends meet both return `None`.
fn assert_mixed_walks_agree(make: impl Fn() -> Iter, expect: &Pairs, walks: u64) {
    for seed in 0..walks {
        let mut rng = Rng::new(seed + 1);
        let mut iter = make();
        let (mut front, mut back) = (Vec::new(), Vec::new());
        let mut pattern = String::new();
        loop {
            let forward = match seed {
                0 => pattern.len().is_multiple_of(2), // strict alternation
                _ => rng.one_in(2),
            };
            pattern.push(if forward { 'F' } else { 'B' });
            let item = if forward {
                iter.next()
            } else {
                iter.next_back()
            };
            match item {
                Some(item) => {
                    let (k, v) = item.unwrap();
                    let pair = (k.to_vec(), v.to_vec());
                    if forward {
                        front.push(pair)
                    } else {
                        back.push(pair)
                    }
                }
                None => break,
            }
            assert!(
                front.len() + back.len() <= expect.len(),
                "more items than keys; pattern {pattern}"
            );
        }
        assert!(iter.next().is_none() && iter.next_back().is_none());
        back.reverse();
        front.extend(back);
        assert_eq!(&front, expect, "mixed walk, pattern {pattern}");
    }
}

fn key_names(pairs: &Pairs) -> Vec<String> {
    pairs
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

/// Keys `k00`, `k02`, … `k38` (even numbers only, so bounds can fall
/// between keys).
fn even_keys(db: &Db) -> Model {
    let mut model = Model::new();
    for i in (0..40).step_by(2) {
        let (k, v) = (format!("k{i:02}"), format!("v{i}"));
        db.put(&k, &v).unwrap();
        model.insert(k.into_bytes(), v.into_bytes());
    }
    model
}

#[test]
fn every_kind_of_bound() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let model = even_keys(&db);

    check_range::<&str, _>(&db, &model, ..);
    check_range(&db, &model, "k10"..);
    check_range(&db, &model, "k11"..);
    check_range(&db, &model, .."k10");
    check_range(&db, &model, ..="k10");
    check_range(&db, &model, ..="k11");
    check_range(&db, &model, "k10".."k20");
    check_range(&db, &model, "k10"..="k20");
    check_range(&db, &model, "k09".."k21");
    check_range(&db, &model, "k09"..="k21");
    check_range::<&str, _>(
        &db,
        &model,
        (Bound::Excluded("k10"), Bound::Excluded("k20")),
    );
    check_range::<&str, _>(
        &db,
        &model,
        (Bound::Excluded("k10"), Bound::Included("k20")),
    );
    check_range::<&str, _>(&db, &model, (Bound::Excluded("k10"), Bound::Unbounded));
    check_range::<&str, _>(
        &db,
        &model,
        (Bound::Included("k10"), Bound::Excluded("k12")),
    );
    check_range::<&str, _>(&db, &model, (Bound::Unbounded, Bound::Excluded("k00")));
    check_range::<&str, _>(&db, &model, (Bound::Excluded("k38"), Bound::Unbounded));
    check_range(&db, &model, "a".."z");
    check_range(&db, &model, "k38"..);
    check_range(&db, &model, .."k00\0");
    // Owned and byte-slice keys work as bounds too.
    check_range(&db, &model, String::from("k05")..String::from("k15"));
    check_range(&db, &model, &b"k05"[..]..=&b"k15"[..]);

    // Spot-check the exact keys of the subtle bounds, independent of the
    // model helper.
    assert_eq!(
        key_names(&collect(db.range::<&str, _>((
            Bound::Excluded("k10"),
            Bound::Excluded("k16")
        )))),
        ["k12", "k14"]
    );
    assert_eq!(
        key_names(&collect(db.range("k10"..="k16"))),
        ["k10", "k12", "k14", "k16"]
    );
    assert_eq!(
        key_names(&collect(db.range("k10".."k16").rev())),
        ["k14", "k12", "k10"]
    );
}

#[test]
fn inverted_and_empty_ranges_yield_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let model = even_keys(&db);
    let empty: [(Bound<&str>, Bound<&str>); 8] = [
        (Bound::Included("k20"), Bound::Excluded("k10")),
        (Bound::Included("k20"), Bound::Included("k10")),
        (Bound::Included("k10"), Bound::Excluded("k10")),
        (Bound::Excluded("k10"), Bound::Excluded("k10")),
        (Bound::Excluded("k10"), Bound::Included("k10")),
        (Bound::Included("k10"), Bound::Included("k08")),
        (Bound::Included("k11"), Bound::Excluded("k12")), // between two keys
        (Bound::Excluded("k38"), Bound::Unbounded),       // past the last key
    ];
    for range in empty {
        assert!(model_range::<&str>(&model, &range).is_empty(), "{range:?}");
        assert!(collect(db.range::<&str, _>(range)).is_empty(), "{range:?}");
        assert!(
            collect(db.range::<&str, _>(range).rev()).is_empty(),
            "{range:?} rev"
        );
        let mut iter = db.range::<&str, _>(range);
        assert!(iter.next_back().is_none() && iter.next().is_none());
    }
    #[allow(clippy::reversed_empty_ranges, reason = "the point of the test")]
    {
        assert!(collect(db.range("k20".."k10")).is_empty());
        assert!(collect(db.range("k20"..="k10")).is_empty());
    }
    assert!(collect(db.range("k10".."k10")).is_empty());
    // A single-key inclusive range is not empty.
    assert_eq!(key_names(&collect(db.range("k10"..="k10"))), ["k10"]);

    // On an empty database every range is empty.
    let dir2 = tempfile::tempdir().unwrap();
    let empty_db = Db::open(dir2.path(), Options::default()).unwrap();
    assert!(collect(empty_db.range::<&str, _>(..)).is_empty());
    assert!(collect(empty_db.range::<&str, _>(..).rev()).is_empty());
    assert!(collect(empty_db.prefix("k")).is_empty());
}

#[test]
fn prefix_scans_including_0xff_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let all_keys: Vec<Vec<u8>> = vec![
        b"use".to_vec(),
        b"user".to_vec(),
        b"user/1".to_vec(),
        b"user/2".to_vec(),
        b"user/2/x".to_vec(),
        b"user0".to_vec(),
        b"users".to_vec(),
        vec![0x61, 0xfe, 0xff],
        vec![0x61, 0xff],
        vec![0x61, 0xff, 0x00],
        vec![0x61, 0xff, 0xff],
        vec![0x61, 0xff, 0xff, 0x01],
        vec![0x62],
        vec![0x62, 0x00],
        vec![0xfe, 0xff, 0xff],
        vec![0xff],
        vec![0xff, 0x00],
        vec![0xff, 0xff],
        vec![0xff, 0xff, 0xff, 0x00],
        vec![0xff, 0xff, 0xff, 0xff, 0xff],
    ];
    let mut model = Model::new();
    for (i, k) in all_keys.iter().enumerate() {
        db.put(k, [i as u8]).unwrap();
        model.insert(k.clone(), vec![i as u8]);
    }
    let prefixes: Vec<Vec<u8>> = vec![
        b"user/".to_vec(),
        b"user".to_vec(),
        b"us".to_vec(),
        b"user/2".to_vec(),
        b"nothing".to_vec(),
        vec![0x61],
        vec![0x61, 0xff],
        vec![0x61, 0xff, 0xff],
        vec![0x61, 0xfe],
        vec![0x62],
        vec![0xfe],
        vec![0xff],
        vec![0xff, 0xff],
        vec![0xff, 0xff, 0xff],
        vec![0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![],
    ];
    for p in &prefixes {
        let expect = model_prefix(&model, p);
        assert_eq!(collect(db.prefix(p)), expect, "prefix {p:x?}");
        assert_eq!(
            collect(db.prefix(p).rev()),
            reversed(expect.clone()),
            "prefix {p:x?} reversed"
        );
        assert_mixed_walks_agree(|| db.prefix(p), &expect, 3);
    }
    // Independent spot checks of the 0xff cases.
    assert_eq!(
        keys(db.prefix([0x61, 0xff])),
        [
            vec![0x61, 0xff],
            vec![0x61, 0xff, 0x00],
            vec![0x61, 0xff, 0xff],
            vec![0x61, 0xff, 0xff, 0x01]
        ]
    );
    assert_eq!(
        keys(db.prefix([0xff, 0xff])),
        [
            vec![0xff, 0xff],
            vec![0xff, 0xff, 0xff, 0x00],
            vec![0xff, 0xff, 0xff, 0xff, 0xff]
        ]
    );
    assert_eq!(
        keys(db.prefix("user/")),
        [b"user/1".to_vec(), b"user/2".to_vec(), b"user/2/x".to_vec()]
    );
    assert_eq!(keys(db.prefix(b"")).len(), all_keys.len());
}

#[test]
fn reverse_iteration_is_the_exact_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut model = Model::new();
    let mut rng = Rng::new(7);
    // Enough keys that the memtable cursor refills its buffer many times.
    for _ in 0..1_500 {
        let k = rng.below(100_000).to_be_bytes().to_vec();
        let v = rng.below(1000).to_le_bytes().to_vec();
        db.put(&k, &v).unwrap();
        model.insert(k, v);
    }
    let forward = collect(db.range::<&[u8], _>(..));
    let mut backward = collect(db.range::<&[u8], _>(..).rev());
    assert_eq!(forward.len(), model.len());
    backward.reverse();
    assert_eq!(forward, backward);
    assert_eq!(forward, model_range::<&[u8]>(&model, &(..)));
    // Descending order is strict (no duplicates).
    let desc = keys(db.range::<&[u8], _>(..).rev());
    assert!(desc.windows(2).all(|w| w[0] > w[1]));
}

#[test]
fn mixing_next_and_next_back_never_repeats_or_skips() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let mut model = Model::new();
    for i in 0..300u32 {
        let k = format!("m{i:04}");
        db.put(&k, i.to_string()).unwrap();
        model.insert(k.into_bytes(), i.to_string().into_bytes());
    }
    // Overwrites and tombstones between the ends make the meeting point
    // fall on hidden versions.
    for i in (0..300u32).step_by(7) {
        let k = format!("m{i:04}");
        db.delete(&k).unwrap();
        model.remove(k.as_bytes());
    }
    for i in (0..300u32).step_by(5) {
        let k = format!("m{i:04}");
        db.put(&k, "again").unwrap();
        model.insert(k.into_bytes(), b"again".to_vec());
    }
    let all = model_range::<&[u8]>(&model, &(..));
    assert_mixed_walks_agree(|| db.range::<&[u8], _>(..), &all, 40);
    check_range(&db, &model, "m0100".."m0200");
    check_range(&db, &model, "m0007"..="m0014"); // both ends deleted
    for len in 0..4 {
        // Tiny ranges: zero to three keys.
        let lo = format!("m{:04}", 50);
        let hi = format!("m{:04}", 50 + len);
        check_range(&db, &model, lo..hi);
    }
}

#[test]
fn tombstones_are_hidden_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for k in ["a", "b", "c", "d", "e", "f", "g"] {
        db.put(k, k).unwrap();
    }
    // First, last, and a run in the middle deleted; one deleted and put back;
    // one deleted twice; deleting an absent key adds nothing.
    for k in ["a", "g", "c", "d", "e", "b", "b", "zz"] {
        db.delete(k).unwrap();
    }
    db.put("e", "back").unwrap();
    let expect: Pairs = vec![
        (b"e".to_vec(), b"back".to_vec()),
        (b"f".to_vec(), b"f".to_vec()),
    ];
    assert_eq!(collect(db.range::<&str, _>(..)), expect);
    assert_eq!(
        collect(db.range::<&str, _>(..).rev()),
        reversed(expect.clone())
    );
    assert_eq!(collect(db.range("a"..="g")), expect);
    assert_eq!(collect(db.range("a".."e")), Vec::new());
    assert_eq!(collect(db.prefix("g")), Vec::new());
    assert_eq!(collect(db.prefix("zz")), Vec::new());
    assert_mixed_walks_agree(|| db.range::<&str, _>(..), &expect, 10);

    // Everything deleted: every scan is empty.
    db.delete("e").unwrap();
    db.delete("f").unwrap();
    assert!(collect(db.range::<&str, _>(..)).is_empty());
    assert!(collect(db.range::<&str, _>(..).rev()).is_empty());

    // The same after a reopen, when the versions are replayed from the log.
    db.close().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert!(collect(db.range::<&str, _>(..)).is_empty());
    assert!(collect(db.prefix("")).is_empty());
}

/// With a 64 KiB memtable and a few MB written, versions of one key are
/// spread over many frozen memtables; the merge must pick the newest.
#[test]
fn iteration_across_several_frozen_memtables() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), common::small_memtable()).unwrap();
    let mut model = Model::new();
    let mut rng = Rng::new(42);
    let mut written = 0usize;
    let mut round = 0u64;
    while written < 3 << 20 {
        round += 1;
        let k = format!("key/{:04}", rng.below(1_500)).into_bytes();
        if rng.one_in(5) {
            db.delete(&k).unwrap();
            model.remove(&k);
        } else {
            let v = common::value_of(round, 200 + rng.below(1_500) as usize);
            written += v.len();
            db.put(&k, &v).unwrap();
            model.insert(k, v);
        }
    }
    // 3 MiB through a 64 KiB memtable: dozens of rotations.
    assert!(written >= 40 * common::SMALL_MEMTABLE);

    let check = |db: &Db| {
        check_range::<&str, _>(db, &model, ..);
        check_range(db, &model, "key/0100".."key/0900");
        check_range::<&str, _>(
            db,
            &model,
            (Bound::Excluded("key/0500"), Bound::Included("key/1200")),
        );
        let expect = model_prefix(&model, b"key/01");
        assert_eq!(collect(db.prefix("key/01")), expect);
        assert_eq!(collect(db.prefix("key/01").rev()), reversed(expect));
        for i in (0..1_500).step_by(37) {
            let k = format!("key/{i:04}").into_bytes();
            assert_eq!(common::get(db, &k), model.get(&k).cloned(), "get {i}");
        }
    };
    check(&db);

    // Replay rebuilds the frozen memtables from the log: same answers.
    db.close().unwrap();
    let db = Db::open(dir.path(), common::small_memtable()).unwrap();
    check(&db);
}
