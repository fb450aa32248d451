//! Online backup and restore: take a checkpoint while writers keep going,
//! check it against a snapshot at the same sequence number, then "lose"
//! the live database and restore from the backup.
//!
//! ```text
//! cargo run --release --example backup
//! ```

use holdfast::{Db, Options, WriteBatch};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = tempfile::tempdir()?;
    let live_dir = work.path().join("live");
    let backup_dir = work.path().join("backup-2026-11-24");
    // A small memtable, so that flushes and compactions run during the
    // backup as they would on a busy database.
    let options = || Options::default().memtable_bytes(256 << 10);

    let db = Db::open(&live_dir, options())?;
    for i in 0..20_000u32 {
        db.put(format!("order/{i:06}"), format!("order {i}, status=open"))?;
    }
    println!("live database: 20000 orders in {}", live_dir.display());

    // Writers keep working while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, written) = (db.clone(), Arc::clone(&stop), Arc::clone(&written));
        thread::spawn(move || -> holdfast::Result<()> {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // Shipping an order is one atomic batch of two writes.
                let mut batch = WriteBatch::new();
                batch
                    .put(
                        format!("order/{:06}", i % 20_000),
                        format!("order {i}, status=shipped"),
                    )
                    .put(
                        format!("shipment/{i:06}"),
                        format!("for order {}", i % 20_000),
                    );
                db.write(batch)?;
                written.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            Ok(())
        })
    };
    thread::sleep(Duration::from_millis(100));

    let report = db.checkpoint(&backup_dir)?;
    println!(
        "checkpoint at sequence {}: {} tables hard-linked, {} files copied ({} bytes), while {} batches were written",
        report.seq,
        report.tables_linked,
        report.files_copied,
        report.bytes_copied,
        written.load(Ordering::Relaxed)
    );
    thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer thread")?;

    // The backup holds exactly what a snapshot at its sequence number sees.
    let expected: Vec<_> = report
        .snapshot()
        .range::<&[u8], _>(..)
        .collect::<holdfast::Result<_>>()?;
    let backup = Db::open(&backup_dir, options())?;
    let got: Vec<_> = backup
        .range::<&[u8], _>(..)
        .collect::<holdfast::Result<_>>()?;
    assert_eq!(
        got, expected,
        "the backup equals the snapshot at its sequence"
    );
    let shipments = backup.prefix("shipment/").count();
    println!(
        "backup opened: {} pairs, {} shipments, identical to the snapshot at sequence {}",
        got.len(),
        shipments,
        report.seq
    );
    // Every shipment in the backup has its order marked shipped: batches
    // are all-or-nothing in a checkpoint too.
    for item in backup.prefix("shipment/") {
        let (_, value) = item?;
        let order = String::from_utf8_lossy(&value[b"for order ".len()..]).into_owned();
        let status = backup
            .get(format!("order/{:0>6}", order))?
            .expect("order present");
        assert!(status.ends_with(b"status=shipped"));
    }
    backup.close()?;
    drop(report);
    let live_pairs = db.range::<&[u8], _>(..).count();
    db.close()?;

    // Disaster: the live directory is gone. Restore = open the backup (or
    // copy it into place first, as here).
    std::fs::remove_dir_all(&live_dir)?;
    std::fs::rename(&backup_dir, &live_dir)?;
    let restored = Db::open(&live_dir, options())?;
    let restored_pairs = restored.range::<&[u8], _>(..).count();
    assert_eq!(restored_pairs, got.len());
    restored.put("order/999999", "first order after the restore")?;
    println!(
        "restored from the backup: {restored_pairs} pairs (the live database had {live_pairs} when it was lost); writable again"
    );
    restored.close()?;
    Ok(())
}
