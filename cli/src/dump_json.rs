//! The JSON form of `dump`: the library's plain `inspect` structs turned
//! into `serde_json` values (the library has no serde derive).
//!
//! Keys and values follow `--hex` (hex) or the default escaping of
//! `text.rs`; times are milliseconds since the Unix epoch (UTC) with an
//! RFC 3339 twin (`*_utc`); absent values are `null`. Audit entries are
//! the library's own JSON form (`holdfast::audit::entry_json`), the same
//! as `audit export`, plus their offset.

use crate::cmd_dump::time;
use crate::text::Encoding;
use crate::Failure;
use holdfast::inspect::{
    AuditDump, BlockHandleDump, EditDump, ManifestDump, MetaDump, OpDump, TableDump, TableMetaDump,
    WalDump,
};
use serde_json::{json, Value};
use std::path::Path;

fn op(op: &OpDump, enc: Encoding) -> Value {
    json!({
        "seq": op.seq,
        "kind": op.kind.name(),
        "key": enc.show(&op.key),
        "value": enc.show(&op.value),
        "value_bytes": op.value.len(),
        "meta": op.meta.as_ref().map(meta),
    })
}

fn meta(m: &MetaDump) -> Value {
    json!({
        "written_at": (m.written_at != i64::MIN).then_some(m.written_at),
        "retain_until": m.retain_until,
        "retain_until_utc": m.retain_until.map(|t| time(Some(t))),
        "mode": m.mode.map(|mode| format!("{mode:?}").to_lowercase()),
        "expires_at": m.expires_at,
        "expires_at_utc": m.expires_at.map(|t| time(Some(t))),
        "policy": m.policy,
        "actor": m.actor,
    })
}

/// The fields every log file (WAL segment, manifest) has.
fn log_file(
    path: &Path,
    number: u64,
    file_bytes: u64,
    valid_bytes: u64,
    torn: &Option<String>,
) -> Value {
    json!({
        "file": path.display().to_string(),
        "number": number,
        "file_bytes": file_bytes,
        "valid_bytes": valid_bytes,
        "torn_tail": torn,
    })
}

/// A WAL segment.
pub fn wal(dump: &WalDump, enc: Encoding) -> Value {
    let mut v = log_file(
        &dump.path,
        dump.number,
        dump.file_bytes,
        dump.valid_bytes,
        &dump.torn_tail,
    );
    v["records"] = json!(dump
        .records
        .iter()
        .map(|r| json!({
            "offset": r.offset,
            "payload_bytes": r.payload_bytes,
            "first_seq": r.first_seq,
            "ops": r.ops.iter().map(|o| op(o, enc)).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>());
    v
}

fn handle(h: &BlockHandleDump) -> Value {
    json!({"offset": h.offset, "size": h.size})
}

/// A table.
pub fn table(dump: &TableDump, enc: Encoding) -> Value {
    let p = &dump.properties;
    json!({
        "file": dump.path.display().to_string(),
        "file_bytes": dump.file_bytes,
        "footer": {
            "format_version": dump.format_version,
            "filter": handle(&dump.filter_handle),
            "index": handle(&dump.index_handle),
            "properties": handle(&dump.properties_handle),
        },
        "properties": {
            "entries": p.entries,
            "tombstones": p.tombstones,
            "smallest_key": enc.show(&p.smallest_key),
            "largest_key": enc.show(&p.largest_key),
            "min_seq": p.min_seq,
            "max_seq": p.max_seq,
            "raw_key_bytes": p.raw_key_bytes,
            "raw_value_bytes": p.raw_value_bytes,
            "file_bytes": p.file_bytes,
            "earliest_expires_at": p.earliest_expires_at,
            "latest_retain_until": p.latest_retain_until,
            "has_records": p.has_records,
        },
        "filter": {"bits": dump.filter.bits, "probes": dump.filter.probes},
        "index": dump.index.iter().map(|i| json!({
            "handle": handle(&i.handle),
            "last_key": enc.show(&i.last_key),
            "last_seq": i.last_seq,
            "last_kind": i.last_kind.name(),
        })).collect::<Vec<_>>(),
        "entries": dump.entries.iter().map(|e| {
            let mut v = op(&e.op, enc);
            v["offset"] = json!(e.offset);
            v["block"] = json!(e.block);
            v
        }).collect::<Vec<_>>(),
    })
}

fn table_meta(t: &TableMetaDump, enc: Encoding) -> Value {
    json!({
        "number": t.number,
        "file_bytes": t.file_bytes,
        "min_seq": t.min_seq,
        "max_seq": t.max_seq,
        "entries": t.entries,
        "tombstones": t.tombstones,
        "earliest_expires_at": t.earliest_expires_at,
        "latest_retain_until": t.latest_retain_until,
        "has_records": t.has_records,
        "smallest": enc.show(&t.smallest),
        "largest": enc.show(&t.largest),
    })
}

fn edit(e: &EditDump, enc: Encoding) -> Value {
    json!({
        "offset": e.offset,
        "next_file_number": e.next_file_number,
        "last_seq": e.last_seq,
        "wal_oldest_live": e.wal_oldest_live,
        "added": e.added.iter().map(|(level, t)| {
            let mut v = table_meta(t, enc);
            v["level"] = json!(level);
            v
        }).collect::<Vec<_>>(),
        "removed": e.removed.iter().map(|(level, number)| json!({"level": level, "number": number})).collect::<Vec<_>>(),
    })
}

/// A manifest.
pub fn manifest(dump: &ManifestDump, enc: Encoding) -> Value {
    let mut v = log_file(
        &dump.path,
        dump.number,
        dump.file_bytes,
        dump.valid_bytes,
        &dump.torn_tail,
    );
    v["edits"] = json!(dump.edits.iter().map(|e| edit(e, enc)).collect::<Vec<_>>());
    v
}

/// An audit trail.
pub fn audit(dump: &AuditDump) -> Result<Value, Failure> {
    let mut entries = Vec::with_capacity(dump.entries.len());
    for e in &dump.entries {
        let text = holdfast::audit::entry_json(&e.entry)?;
        let mut value: Value = serde_json::from_str(&text)
            .map_err(|err| Failure::failed(format!("audit entry {}: {err}", e.entry.seq)))?;
        value["offset"] = json!(e.offset);
        entries.push(value);
    }
    Ok(json!({
        "file": dump.path.display().to_string(),
        "file_bytes": dump.file_bytes,
        "head": dump.head.to_string(),
        "torn_tail": dump.torn_tail,
        "entries": entries,
    }))
}
