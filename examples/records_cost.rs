//! Instruction-count probe for the cost of the records layer on plain
//! puts and gets, and of retention puts (run under
//! `valgrind --tool=callgrind`): `records_cost plain N` or
//! `records_cost retention N`; a third argument `no-gets` skips the gets
//! (to profile the puts alone).

use holdfast::{Db, Options};

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    k[..8].copy_from_slice(&x.to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

fn value(i: u64) -> [u8; 100] {
    let mut v = [0u8; 100];
    let mut x = i | 1;
    for b in v.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    v
}

fn main() -> holdfast::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("plain");
    let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("holdfast-cost-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Db::open(&dir, Options::default().background_threads(1))?;
    let started = std::time::Instant::now();
    put_all(&db, mode, n)?;
    let loop_secs = started.elapsed().as_secs_f64();
    db.flush()?;
    let put_secs = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let mut found = 0;
    let gets = if args.get(3).map(String::as_str) == Some("no-gets") {
        0
    } else {
        n
    };
    for i in 0..gets {
        found += usize::from(db.get(key(i))?.is_some());
    }
    let get_secs = started.elapsed().as_secs_f64();
    assert_eq!(found as u64, gets);
    let stats = db.stats();
    println!(
        "{mode} n={n} put {:.0} ops/s (flush {:.0} ms, slowdowns {} ms, stalls {} ms) get {:.0} ops/s",
        n as f64 / put_secs,
        (put_secs - loop_secs) * 1e3,
        stats.slowdown_micros / 1000,
        stats.stall_micros / 1000,
        gets as f64 / get_secs
    );
    db.close()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn put_all(db: &Db, mode: &str, n: u64) -> holdfast::Result<()> {
    use holdfast::{years, Policy, Retention};
    match mode {
        "retention" => {
            db.define_policy(Policy::new("cost-7y").retain_for(years(7)).then_dispose())?;
            let retention = Retention::new().policy("cost-7y");
            for i in 0..n {
                db.put_with(key(i), value(i), &retention)?;
            }
        }
        _ => {
            for i in 0..n {
                db.put(key(i), value(i))?;
            }
        }
    }
    Ok(())
}
