//! `dump wal|table|manifest|audit <FILE>`: one file decoded by the
//! library's `inspect` module, printed as text or (`--json`, in
//! `dump_json.rs`) as JSON.

use crate::args::DumpKind;
use crate::dump_json;
use crate::text::Encoding;
use crate::{Ctx, Failure};
use holdfast::inspect::{self, EditDump, MetaDump, OpDump};
use holdfast::Timestamp;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes of a value shown in text output without `--values`.
const VALUE_PREVIEW: usize = 64;

/// `dump`: decode `file` as `kind`.
pub fn dump(ctx: &mut Ctx<'_>, kind: DumpKind, file: &Path, values: bool) -> Result<(), Failure> {
    let path = resolve(ctx.db.as_deref(), file);
    let cut = (!values).then_some(VALUE_PREVIEW);
    let enc = ctx.enc;
    match kind {
        DumpKind::Wal => {
            let dump = inspect::dump_wal(&path)?;
            if ctx.json {
                return ctx.print_json(&dump_json::wal(&dump, enc));
            }
            let out = &mut *ctx.out;
            writeln!(
                out,
                "WAL segment {} ({} bytes, {} records)",
                dump.number,
                dump.file_bytes,
                dump.records.len()
            )?;
            for record in &dump.records {
                writeln!(
                    out,
                    "record at offset {}: seq {}, {} ops, {} bytes",
                    record.offset,
                    record.first_seq,
                    record.ops.len(),
                    record.payload_bytes
                )?;
                for op in &record.ops {
                    writeln!(out, "  {}", op_line(op, enc, cut))?;
                }
            }
            torn_line(out, dump.valid_bytes, dump.torn_tail.as_deref())
        }
        DumpKind::Table => {
            let dump = inspect::dump_table(&path)?;
            if ctx.json {
                return ctx.print_json(&dump_json::table(&dump, enc));
            }
            let out = &mut *ctx.out;
            let p = &dump.properties;
            let h = |h: &inspect::BlockHandleDump| format!("offset {} size {}", h.offset, h.size);
            let f = format!(
                "filter {}, index {}, properties {}",
                h(&dump.filter_handle),
                h(&dump.index_handle),
                h(&dump.properties_handle)
            );
            writeln!(
                out,
                "table {} ({} bytes, format version {})",
                dump.path.display(),
                dump.file_bytes,
                dump.format_version
            )?;
            writeln!(out, "footer: {f}")?;
            writeln!(out, "properties: {} entries ({} tombstones), seq {}..={}, keys {}..={}, key bytes {}, value bytes {}, records layer: {}",
                p.entries, p.tombstones, p.min_seq, p.max_seq, enc.show(&p.smallest_key), enc.show(&p.largest_key),
                p.raw_key_bytes, p.raw_value_bytes, p.has_records)?;
            writeln!(
                out,
                "retention summary: earliest expiry {}, latest retain-until {}",
                time(p.earliest_expires_at),
                time(p.latest_retain_until)
            )?;
            writeln!(
                out,
                "filter: {} bits, {} probes",
                dump.filter.bits, dump.filter.probes
            )?;
            writeln!(out, "index: {} data blocks", dump.index.len())?;
            for (i, entry) in dump.index.iter().enumerate() {
                writeln!(
                    out,
                    "  block {i}: offset {} size {}, last key {} seq {} {}",
                    entry.handle.offset,
                    entry.handle.size,
                    enc.show(&entry.last_key),
                    entry.last_seq,
                    entry.last_kind.name()
                )?;
            }
            writeln!(out, "entries:")?;
            for entry in &dump.entries {
                writeln!(
                    out,
                    "  @{} block {}: {}",
                    entry.offset,
                    entry.block,
                    op_line(&entry.op, enc, cut)
                )?;
            }
            Ok(())
        }
        DumpKind::Manifest => {
            let dump = inspect::dump_manifest(&path)?;
            if ctx.json {
                return ctx.print_json(&dump_json::manifest(&dump, enc));
            }
            let out = &mut *ctx.out;
            writeln!(
                out,
                "manifest {} ({} bytes, {} edits; the first is the snapshot)",
                dump.number,
                dump.file_bytes,
                dump.edits.len()
            )?;
            for edit in &dump.edits {
                edit_lines(out, edit, enc)?;
            }
            torn_line(out, dump.valid_bytes, dump.torn_tail.as_deref())
        }
        DumpKind::Audit => {
            let dump = inspect::dump_audit(&path)?;
            if ctx.json {
                return ctx.print_json(&dump_json::audit(&dump)?);
            }
            let out = &mut *ctx.out;
            writeln!(
                out,
                "audit trail ({} bytes, {} entries, head {})",
                dump.file_bytes,
                dump.entries.len(),
                dump.head
            )?;
            for e in &dump.entries {
                let entry = &e.entry;
                writeln!(
                    out,
                    "#{} at offset {}: {} by {:?}: {}",
                    entry.seq,
                    e.offset,
                    Timestamp::from_millis(entry.time),
                    entry.actor,
                    entry.event.name()
                )?;
                // The event's fields as the JSON export has them (keys as hex).
                let json: serde_json::Value =
                    serde_json::from_str(&holdfast::audit::entry_json(entry)?).map_err(|err| {
                        Failure::failed(format!("audit entry {}: {err}", entry.seq))
                    })?;
                writeln!(out, "  {}", json["event"])?;
                writeln!(
                    out,
                    "  prev {}\n  hash {}",
                    crate::text::hex(&entry.prev_hash),
                    crate::text::hex(&entry.hash)
                )?;
            }
            let end = dump.entries.last().map_or(0, |_| dump.file_bytes);
            torn_line(out, end, dump.torn_tail.as_deref())
        }
    }
}

/// `file` as given, or inside the database directory when it does not
/// exist as given and a directory was named.
fn resolve(db: Option<&Path>, file: &Path) -> PathBuf {
    match db {
        Some(dir) if !file.exists() && file.is_relative() => dir.join(file),
        _ => file.to_path_buf(),
    }
}

fn torn_line(out: &mut dyn Write, valid: u64, torn: Option<&str>) -> Result<(), Failure> {
    if let Some(why) = torn {
        writeln!(
            out,
            "torn tail at offset {valid}: {why} (opening the database cuts it)"
        )?;
    }
    Ok(())
}

/// A time in ms as RFC 3339, or `-`.
pub fn time(ms: Option<i64>) -> String {
    ms.map_or("-".into(), |ms| Timestamp::from_millis(ms).to_string())
}

fn op_line(op: &OpDump, enc: Encoding, cut: Option<usize>) -> String {
    let mut line = format!("seq {} {} {}", op.seq, op.kind.name(), enc.show(&op.key));
    match op.kind {
        inspect::OpKind::Delete | inspect::OpKind::RetentionUpdate => {}
        _ => line.push_str(&format!(" = {}", enc.show_cut(&op.value, cut))),
    }
    if let Some(meta) = &op.meta {
        line.push_str(&format!(" [{}]", meta_text(meta)));
    }
    line
}

fn meta_text(m: &MetaDump) -> String {
    let written = match m.written_at {
        i64::MIN => "unknown".to_string(),
        ms => time(Some(ms)),
    };
    let mut parts = vec![format!("written {written}")];
    if let Some(t) = m.retain_until {
        parts.push(format!("retain until {}", time(Some(t))));
    }
    if let Some(mode) = m.mode {
        parts.push(format!("{mode:?}").to_lowercase());
    }
    if let Some(t) = m.expires_at {
        parts.push(format!("expires {}", time(Some(t))));
    }
    if let Some(p) = &m.policy {
        parts.push(format!("policy {p:?}"));
    }
    if let Some(a) = &m.actor {
        parts.push(format!("actor {a:?}"));
    }
    parts.join(", ")
}

fn edit_lines(out: &mut dyn Write, edit: &EditDump, enc: Encoding) -> Result<(), Failure> {
    writeln!(out, "edit at offset {}:", edit.offset)?;
    for (name, value) in [
        ("next file number", edit.next_file_number),
        ("last seq", edit.last_seq),
        ("oldest live WAL segment", edit.wal_oldest_live),
    ] {
        if let Some(value) = value {
            writeln!(out, "  {name}: {value}")?;
        }
    }
    for (level, number) in &edit.removed {
        writeln!(out, "  remove table {number} from level {level}")?;
    }
    for (level, t) in &edit.added {
        writeln!(out, "  add table {} to level {level}: {} bytes, {} entries ({} tombstones), seq {}..={}, keys {}..={}{}",
            t.number, t.file_bytes, t.entries, t.tombstones, t.min_seq, t.max_seq, enc.show(&t.smallest), enc.show(&t.largest),
            if t.has_records { ", records layer" } else { "" })?;
    }
    Ok(())
}
