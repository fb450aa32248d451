//! `verify`: `inspect::verify_dir` with a progress bar and a summary.
//!
//! The bar (indicatif, by bytes) is drawn on stderr only when stderr is a
//! terminal, `--quiet` is not given and the database holds at least 64 MiB,
//! so scripts and `--json` output see nothing of it.

use crate::{Ctx, Failure};
use holdfast::inspect::{verify_dir, FileType, Problem, VerifyReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};

/// Databases smaller than this get no progress bar.
const BAR_BYTES_MIN: u64 = 64 << 20;

/// `verify`: exit 0 when no problem is found, 1 otherwise.
pub fn verify(ctx: &mut Ctx<'_>, quiet: bool) -> Result<(), Failure> {
    let dir = ctx.db_path()?.to_path_buf();
    let visible = !quiet && std::io::stderr().is_terminal();
    // Drawn only once the total is known to be worth it: a small database
    // verifies faster than a bar can be read.
    let bar = ProgressBar::hidden();
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} verifying [{bar:40}] {bytes}/{total_bytes} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let report = verify_dir(&dir, &mut |p| {
        if p.files_done == 0 && visible && p.bytes_total >= BAR_BYTES_MIN {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        let name = p.path.file_name().map(|n| n.to_string_lossy().into_owned());
        bar.set_message(name.unwrap_or_default());
    });
    bar.finish_and_clear();
    let report = report?;
    if ctx.json {
        ctx.print_json(&report_json(&report))?;
    } else {
        print_summary(ctx.out, &report)?;
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(Failure::silent())
    }
}

fn print_summary(out: &mut dyn Write, report: &VerifyReport) -> Result<(), Failure> {
    writeln!(
        out,
        "{} files, {} bytes",
        report.files.len(),
        report.bytes()
    )?;
    for file_type in FileType::ALL {
        let (files, bytes) = report.count(file_type);
        if files > 0 {
            writeln!(
                out,
                "  {:<12} {files:>6} files {bytes:>14} bytes",
                file_type.name()
            )?;
        }
    }
    for (label, list) in [("warning", &report.warnings), ("PROBLEM", &report.problems)] {
        for p in list {
            writeln!(
                out,
                "{label}: {} at offset {}: {}",
                p.file.display(),
                p.offset,
                p.detail
            )?;
        }
    }
    if report.is_clean() {
        writeln!(
            out,
            "OK: no problem found ({} warnings)",
            report.warnings.len()
        )?;
    } else {
        writeln!(out, "CORRUPT: {} problems found", report.problems.len())?;
    }
    Ok(())
}

fn problem_json(p: &Problem) -> Value {
    json!({"file": p.file.display().to_string(), "offset": p.offset, "detail": p.detail})
}

fn report_json(report: &VerifyReport) -> Value {
    let by_type: serde_json::Map<String, Value> = FileType::ALL
        .iter()
        .map(|&t| {
            let (files, bytes) = report.count(t);
            (
                t.name().to_string(),
                json!({"files": files, "bytes": bytes}),
            )
        })
        .filter(|(_, v)| v["files"] != 0)
        .collect();
    json!({
        "ok": report.is_clean(),
        "files": report.files.len(),
        "bytes": report.bytes(),
        "by_type": by_type,
        "checked": report.files.iter().map(|f| json!({
            "file": f.path.display().to_string(),
            "type": f.file_type.name(),
            "bytes": f.bytes,
            "items": f.items,
            "ok": f.ok,
        })).collect::<Vec<_>>(),
        "problems": report.problems.iter().map(problem_json).collect::<Vec<_>>(),
        "warnings": report.warnings.iter().map(problem_json).collect::<Vec<_>>(),
    })
}
