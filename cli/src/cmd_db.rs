//! The key-value commands: `stats`, `get`, `put`, `delete`, `scan`,
//! `compact`, `checkpoint`.

use crate::args::ScanArgs;
use crate::{Ctx, Failure};
use holdfast::{Bytes, RecordStats, Stats, WriteBatch, WriteOptions};
use serde_json::json;
use std::ops::Bound;
use std::time::Instant;

/// `stats`: what `Db::stats` reports, per level and in total, and the
/// records by state (`Db::record_stats`, a scan of every key).
pub fn stats(ctx: &mut Ctx<'_>) -> Result<(), Failure> {
    let db = ctx.open()?;
    let stats = db.stats();
    let records = db.record_stats()?;
    db.close()?;
    if ctx.json {
        return ctx.print_json(&stats_json(&stats, &records));
    }
    let out = &mut *ctx.out;
    writeln!(out, "level  tables          bytes       entries")?;
    for (level, tables) in stats.level_tables.iter().enumerate() {
        let bytes = stats.level_bytes.get(level).copied().unwrap_or(0);
        let entries = stats.level_entries.get(level).copied().unwrap_or(0);
        writeln!(out, "{level:>5}  {tables:>6}  {bytes:>13}  {entries:>12}")?;
    }
    let tables: usize = stats.level_tables.iter().sum();
    let entries: u64 = stats.level_entries.iter().sum();
    writeln!(
        out,
        "total  {tables:>6}  {:>13}  {entries:>12}",
        stats.table_bytes()
    )?;
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
    let rows: [(&str, String); 16] = [
        (
            "space amplification",
            format!(
                "{} (table bytes / deepest level's)",
                ratio(stats.space_amplification())
            ),
        ),
        ("last sequence number", stats.last_seq.to_string()),
        (
            "memtable bytes",
            format!(
                "{} active, {} in {} frozen",
                stats.active_memtable_bytes, stats.frozen_memtable_bytes, stats.frozen_memtables
            ),
        ),
        ("open tables", stats.open_tables.to_string()),
        ("flushes since open", stats.flushes.to_string()),
        ("compactions since open", stats.compactions.to_string()),
        (
            "stalls since open",
            format!("{} ({} µs)", stats.stalls, stats.stall_micros),
        ),
        (
            "slowdowns since open",
            format!("{} ({} µs)", stats.slowdowns, stats.slowdown_micros),
        ),
        (
            "bytes written since open",
            format!(
                "user {}, WAL {}, flush {}, compaction {} (read {})",
                stats.user_bytes_written,
                stats.wal_bytes_written,
                stats.flush_bytes_written,
                stats.compaction_bytes_written,
                stats.compaction_bytes_read
            ),
        ),
        ("write amplification", ratio(stats.write_amplification())),
        (
            "bloom filter",
            format!(
                "{} reads skipped, {} false positives",
                stats.filter_useful, stats.filter_false_positives
            ),
        ),
        (
            "records",
            format!(
                "{} with metadata: {} retained ({} Compliance), {} held, {} eligible",
                records.records,
                records.retained,
                records.compliance,
                records.held,
                records.eligible
            ),
        ),
        ("holds in force", stats.holds.to_string()),
        ("policies", stats.policies.to_string()),
        ("recorded events", stats.recorded_events.to_string()),
        ("disposed since open", stats.disposed.to_string()),
    ];
    for (name, value) in rows {
        writeln!(out, "{name:<26} {value}")?;
    }
    Ok(())
}

fn stats_json(stats: &Stats, records: &RecordStats) -> serde_json::Value {
    json!({
        "levels": stats.level_tables.iter().enumerate()
            .map(|(level, tables)| json!({
                "level": level,
                "tables": tables,
                "bytes": stats.level_bytes.get(level).copied().unwrap_or(0),
                "entries": stats.level_entries.get(level).copied().unwrap_or(0),
            }))
            .collect::<Vec<_>>(),
        "table_bytes": stats.table_bytes(),
        "space_amplification": stats.space_amplification(),
        "write_amplification": stats.write_amplification(),
        "last_seq": stats.last_seq,
        "active_memtable_bytes": stats.active_memtable_bytes,
        "frozen_memtable_bytes": stats.frozen_memtable_bytes,
        "frozen_memtables": stats.frozen_memtables,
        "open_tables": stats.open_tables,
        "flushes": stats.flushes,
        "compactions": stats.compactions,
        "stalls": stats.stalls,
        "stall_micros": stats.stall_micros,
        "slowdowns": stats.slowdowns,
        "slowdown_micros": stats.slowdown_micros,
        "user_bytes_written": stats.user_bytes_written,
        "wal_bytes_written": stats.wal_bytes_written,
        "flush_bytes_written": stats.flush_bytes_written,
        "compaction_bytes_read": stats.compaction_bytes_read,
        "compaction_bytes_written": stats.compaction_bytes_written,
        "filter_useful": stats.filter_useful,
        "filter_false_positives": stats.filter_false_positives,
        "records": {
            "with_metadata": records.records,
            "retained": records.retained,
            "compliance": records.compliance,
            "held": records.held,
            "eligible": records.eligible,
        },
        "holds": stats.holds,
        "policies": stats.policies,
        "recorded_events": stats.recorded_events,
        "disposed": stats.disposed,
    })
}

/// `get`: the value, or exit 1 when the key is absent.
pub fn get(ctx: &mut Ctx<'_>, key: &str) -> Result<(), Failure> {
    let key = ctx.arg(key)?;
    let db = ctx.open()?;
    let value = db.get(&key)?;
    db.close()?;
    let Some(value) = value else {
        if ctx.json {
            ctx.print_json(&json!({"key": ctx.enc.show(&key), "value": null}))?;
        }
        return Err(Failure::failed(format!(
            "key {} not found",
            ctx.enc.show(&key)
        )));
    };
    if ctx.json {
        return ctx.print_json(&json!({"key": ctx.enc.show(&key), "value": ctx.enc.show(&value)}));
    }
    writeln!(ctx.out, "{}", ctx.enc.show(&value))?;
    Ok(())
}

/// `put`.
pub fn put(ctx: &mut Ctx<'_>, key: &str, value: &str, sync: bool) -> Result<(), Failure> {
    let (key, value) = (ctx.arg(key)?, ctx.arg(value)?);
    let mut batch = WriteBatch::new();
    batch.put(&key, &value);
    write(ctx, batch, sync)
}

/// `delete`.
pub fn delete(ctx: &mut Ctx<'_>, key: &str, sync: bool) -> Result<(), Failure> {
    let key = ctx.arg(key)?;
    let mut batch = WriteBatch::new();
    batch.delete(&key);
    write(ctx, batch, sync)
}

fn write(ctx: &mut Ctx<'_>, batch: WriteBatch, sync: bool) -> Result<(), Failure> {
    let db = ctx.open()?;
    db.write_opt(batch, &WriteOptions::new().sync(sync))?;
    // Close makes the write durable and releases the lock.
    db.close()?;
    if ctx.json {
        ctx.print_json(&json!({"ok": true}))?;
    }
    Ok(())
}

/// `scan`: live pairs in key order (or reversed), bounded and limited.
pub fn scan(ctx: &mut Ctx<'_>, args: &ScanArgs) -> Result<(), Failure> {
    let bound = |arg: &Option<String>, make: fn(Vec<u8>) -> Bound<Vec<u8>>| {
        arg.as_deref()
            .map(|a| ctx.arg(a).map(make))
            .transpose()
            .map(|b| b.unwrap_or(Bound::Unbounded))
    };
    let lower = bound(&args.from, Bound::Included)?;
    let upper = bound(&args.to, Bound::Excluded)?;
    let prefix = args.prefix.as_deref().map(|p| ctx.arg(p)).transpose()?;
    let db = ctx.open()?;
    let iter = match &prefix {
        Some(prefix) => db.prefix(prefix),
        None => db.range::<Vec<u8>, _>((lower, upper)),
    };
    let iter: Box<dyn Iterator<Item = holdfast::Result<(Bytes, Bytes)>>> = if args.reverse {
        Box::new(iter.rev())
    } else {
        Box::new(iter)
    };
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut pairs = Vec::new();
    for item in iter.take(limit) {
        let (key, value) = item?;
        if ctx.json {
            pairs.push(pair_json(ctx, &key, &value, args.keys_only));
        } else if args.keys_only {
            writeln!(ctx.out, "{}", ctx.enc.show(&key))?;
        } else {
            writeln!(ctx.out, "{}\t{}", ctx.enc.show(&key), ctx.enc.show(&value))?;
        }
    }
    db.close()?;
    if ctx.json {
        ctx.print_json(&serde_json::Value::Array(pairs))?;
    }
    Ok(())
}

fn pair_json(ctx: &Ctx<'_>, key: &[u8], value: &[u8], keys_only: bool) -> serde_json::Value {
    if keys_only {
        json!({"key": ctx.enc.show(key)})
    } else {
        json!({"key": ctx.enc.show(key), "value": ctx.enc.show(value)})
    }
}

/// `compact`: the whole database.
pub fn compact(ctx: &mut Ctx<'_>) -> Result<(), Failure> {
    let db = ctx.open()?;
    let before = db.stats().table_bytes();
    let started = Instant::now();
    db.compact()?;
    let after = db.stats().table_bytes();
    db.close()?;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json {
        return ctx.print_json(
            &json!({"table_bytes_before": before, "table_bytes_after": after, "seconds": seconds}),
        );
    }
    writeln!(
        ctx.out,
        "compacted: table bytes {before} -> {after} in {seconds:.2} s"
    )?;
    Ok(())
}

/// `checkpoint`: a consistent copy of the database in `dir` (which must
/// not exist or be empty), taken through `Db::checkpoint`.
pub fn checkpoint(ctx: &mut Ctx<'_>, dir: &std::path::Path) -> Result<(), Failure> {
    let db = ctx.open()?;
    let started = Instant::now();
    let report = db.checkpoint(dir)?;
    let seq = report.seq;
    let (linked, copied, bytes) = (
        report.tables_linked,
        report.files_copied,
        report.bytes_copied,
    );
    drop(report);
    db.close()?;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json {
        return ctx.print_json(&json!({
            "dir": dir.display().to_string(),
            "seq": seq,
            "tables_linked": linked,
            "files_copied": copied,
            "bytes_copied": bytes,
            "seconds": seconds,
        }));
    }
    writeln!(
        ctx.out,
        "checkpoint at sequence {seq} written to {}: {linked} tables hard-linked, {copied} files copied ({bytes} bytes) in {seconds:.2} s",
        dir.display()
    )?;
    Ok(())
}
