//! Engine micro-benchmarks (criterion): buffered put, sync put from 1 and 8
//! threads, get of present and absent keys, and a 100-key range scan.
//!
//! 16-byte keys, 100-byte incompressible values. Run with
//! `cargo bench --bench engine`; figures go in `docs/benchmarks.md`.

#![expect(missing_docs, reason = "criterion_group! generates undocumented items")]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use holdfast::{Db, Options, WriteOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const VALUE_LEN: usize = 100;
const PRELOAD: u64 = 200_000;

/// A 16-byte key: 8 bytes of a scrambled index, then the index.
fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

/// 100 bytes that do not compress (xorshift output).
fn value(i: u64) -> [u8; VALUE_LEN] {
    let mut out = [0u8; VALUE_LEN];
    let mut x = i.wrapping_add(0x2545_F491_4F6C_DD1D);
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    out
}

fn open(dir: &tempfile::TempDir) -> Db {
    Db::open(dir.path(), Options::default()).expect("open")
}

fn open_wal_buffered(dir: &tempfile::TempDir) -> Db {
    Db::open(dir.path(), Options::default().wal_buffer_bytes(64 << 10)).expect("open")
}

fn puts(c: &mut Criterion) {
    let mut group = c.benchmark_group("put");
    group.throughput(Throughput::Elements(1));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(&dir);
    let mut i = 0u64;
    group.bench_function("buffered_random", |b| {
        b.iter(|| {
            i += 1;
            db.put(key(i), value(i)).expect("put");
        })
    });
    drop(db);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(&dir);
    group.bench_function("buffered_sequential", |b| {
        b.iter(|| {
            i += 1;
            db.put(i.to_be_bytes().repeat(2), value(i)).expect("put");
        })
    });
    drop(db);
    // The same two with a 64 KiB user-space WAL buffer (no system call per
    // write; a process crash may lose the buffer).
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_wal_buffered(&dir);
    group.bench_function("buffered_random_walbuf64k", |b| {
        b.iter(|| {
            i += 1;
            db.put(key(i), value(i)).expect("put");
        })
    });
    drop(db);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_wal_buffered(&dir);
    group.bench_function("buffered_sequential_walbuf64k", |b| {
        b.iter(|| {
            i += 1;
            db.put(i.to_be_bytes().repeat(2), value(i)).expect("put");
        })
    });
    group.finish();

    let mut group = c.benchmark_group("put_sync");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for threads in [1u64, 8] {
        group.throughput(Throughput::Elements(1));
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(&dir);
        let next = Arc::new(AtomicU64::new(0));
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(threads);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let (db, next) = (&db, &next);
                        s.spawn(move || {
                            let sync = WriteOptions::new().sync(true);
                            for _ in 0..per_thread {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                let mut batch = holdfast::WriteBatch::new();
                                batch.put(key(i), value(i));
                                db.write_opt(batch, &sync).expect("sync put");
                            }
                        });
                    }
                });
                // Report time per operation across all threads.
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per_thread * threads) as f64)
            })
        });
    }
    group.finish();
}

fn reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(&dir);
    for i in 0..PRELOAD {
        db.put(key(i), value(i)).expect("preload");
    }
    let mut group = c.benchmark_group("get");
    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function("hit", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            assert!(db.get(key(i)).expect("get").is_some());
        })
    });
    group.bench_function("miss", |b| {
        b.iter(|| {
            i = (i + 7919) % PRELOAD;
            assert!(db.get(key(i + PRELOAD)).expect("get").is_none());
        })
    });
    group.finish();

    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Elements(100));
    group.bench_function("range_100", |b| {
        b.iter_batched(
            || {
                i = (i + 7919) % PRELOAD;
                key(i)
            },
            |start| {
                let n = db.range(start..).take(100).count();
                assert!(n > 0);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, puts, reads);
criterion_main!(benches);
