//! The main job: open a database, write, read, iterate, reopen, and print
//! what happened.
//!
//! ```text
//! cargo run --release --example quickstart            # uses ./holdfast-demo
//! cargo run --release --example quickstart -- /tmp/db # or a directory of your choice
//! ```

use holdfast::{Db, Options, WriteBatch, WriteOptions};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> holdfast::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("holdfast-demo"));
    println!("holdfast quickstart in {}", dir.display());

    let db = Db::open(&dir, Options::default())?;
    let before = db.prefix("invoice/").count();
    println!("opened; {before} invoices already present from earlier runs");

    // Single writes.
    db.put("customer/acme", "ACME Corp, Rotterdam")?;
    db.put("customer/globex", "Globex, Springfield")?;

    // An atomic batch: all of it or none of it, also after a crash.
    let run = std::process::id();
    let mut batch = WriteBatch::new();
    for i in 0..5 {
        batch.put(
            format!("invoice/{run}/{i:03}"),
            format!("amount={}", 100 * (i + 1)),
        );
    }
    batch.delete("customer/globex");
    db.write_opt(batch, &WriteOptions::new().sync(true))?;
    println!("wrote 2 customers, a batch of 5 invoices and 1 delete (synced)");

    // Reads.
    let acme = db.get("customer/acme")?;
    println!(
        "get customer/acme -> {:?}",
        acme.as_deref().map(String::from_utf8_lossy)
    );
    println!(
        "get customer/globex -> {:?} (deleted)",
        db.get("customer/globex")?
    );

    // A snapshot keeps its view while the database moves on.
    let snapshot = db.snapshot();
    db.put("customer/acme", "ACME Corp, Amsterdam")?;
    println!(
        "snapshot sees {:?}, database sees {:?}",
        snapshot
            .get("customer/acme")?
            .as_deref()
            .map(String::from_utf8_lossy),
        db.get("customer/acme")?
            .as_deref()
            .map(String::from_utf8_lossy),
    );
    drop(snapshot);

    // Iteration, both directions.
    let prefix = format!("invoice/{run}/");
    print!("this run's invoices, newest first:");
    for item in db.prefix(&prefix).rev() {
        let (key, value) = item?;
        print!(
            " {}={}",
            String::from_utf8_lossy(&key[prefix.len()..]),
            String::from_utf8_lossy(&value)
        );
    }
    println!();

    // A little load, then a durable flush.
    let n = 200_000u32;
    let start = Instant::now();
    for i in 0..n {
        db.put(format!("bulk/{i:08}"), [0u8; 100])?;
    }
    db.flush()?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} buffered puts + flush in {secs:.2} s ({:.0} ops/s)",
        f64::from(n) / secs
    );

    // Reopen: everything comes back from the write-ahead log.
    db.close()?;
    let start = Instant::now();
    let db = Db::open(&dir, Options::default())?;
    println!(
        "reopened in {:.0} ms; {} invoices, {} bulk records, customer/acme = {:?}",
        start.elapsed().as_secs_f64() * 1e3,
        db.prefix("invoice/").count(),
        db.prefix("bulk/").count(),
        db.get("customer/acme")?
            .as_deref()
            .map(String::from_utf8_lossy),
    );
    assert_eq!(
        db.prefix(&prefix).count(),
        5,
        "this run's invoices survived the reopen"
    );
    db.close()?;
    println!("closed cleanly");
    Ok(())
}
