//! The life of a database: full compaction (and the space it leaves),
//! reopening after a clean close, and recovery after the process was
//! killed with a million records written since it opened.
//!
//! Recovery runs in a child process (this binary, re-executed): it opens a
//! fresh database, runs the sequential fill (measured there and reported
//! back), flushes durably, says it is ready, and is killed with SIGKILL —
//! no close, no memtable flush beyond what the engine did by itself. The
//! worker copies the crash image once and times opening a fresh copy of it
//! in each repetition.

use super::{fill, Ctx, Measurement, Probe, Tag};
use crate::engines::{Compacted, Engine, EngineKind, Result};
use crate::keys::key;
use crate::measure::{self, Histogram};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Key in [`Measurement::extra`] marking an engine without manual
/// compaction (its `compact` figures are taken after a durable flush).
pub const NO_COMPACTION: &str = "no_manual_compaction";

/// Compacts fully where the engine can, and records the space left and
/// the total write amplification of everything this worker wrote so far
/// (the sync-write workloads left out).
pub fn compact(ctx: &mut Ctx, db: &mut dyn Engine, dir: &Path) -> Result<Measurement> {
    db.flush_durable()?;
    let probe = Probe::start();
    let outcome = db.compact()?;
    let mut m = probe
        .finish(ctx.tag(), "compact", 1, &Histogram::default(), 0)
        .with_space(dir, ctx.live_records);
    m.ops_per_sec = None;
    if outcome == Compacted::Unsupported {
        m.note = "no manual compaction: space measured after a durable flush".into();
        m.extra.insert(NO_COMPACTION.into(), 1.0);
    }
    if let Some(written) = measure::process_write_bytes() {
        let written = written.saturating_sub(ctx.sync_disk_bytes);
        let logical = ctx.logical_writes * super::RECORD_BYTES;
        m.extra.insert(
            "write_amp_total".into(),
            written as f64 / logical.max(1) as f64,
        );
    }
    Ok(m)
}

/// Closes `db` cleanly, then times opening it again and reading one key.
/// Returns the measurement and the reopened database.
pub fn reopen(
    ctx: &mut Ctx,
    db: Box<dyn Engine>,
    dir: &Path,
) -> Result<(Measurement, Box<dyn Engine>)> {
    db.close()?;
    let probe = Probe::start();
    let db = ctx.engine.open(dir)?;
    let found = db.get(&key(0))?;
    let mut m = probe.finish(ctx.tag(), "reopen", 1, &Histogram::default(), 0);
    m.ops_per_sec = Some(1.0 / m.secs.max(1e-9));
    if found.is_none() {
        return Err("record 0 missing after reopen".into());
    }
    Ok((m, db))
}

/// Line the killed child prints once its writes are done.
const READY: &str = "READY";
/// Prefix of the child's line carrying the fill's measurement.
const FILLED: &str = "FILLED ";

/// Child side of [`recovery`]: the sequential fill into a fresh database
/// at `dir`, reported on standard output, then wait to be killed.
pub fn kill_child_main(engine: EngineKind, dir: &Path, records: u64, run: u32) -> Result<()> {
    let db = engine.open(dir)?;
    let tag = Tag {
        engine,
        run,
        rep: 1,
    };
    let m = fill::fill_seq(tag, db.as_ref(), dir, records)?;
    let bytes = measure::disk_usage(dir)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{FILLED}{}", serde_json::to_string(&m)?)?;
    writeln!(out, "{READY} {bytes}")?;
    out.flush()?;
    // Wait for SIGKILL; never close the database. Should the worker die
    // first, leave rather than linger.
    let parent = std::os::unix::process::parent_id();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if std::os::unix::process::parent_id() != parent {
            std::process::exit(1);
        }
    }
}

/// The writer child, killed (SIGKILL) and reaped however [`recovery`]
/// leaves, so that an error on the way cannot leave it running.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the child, kills it, and times recovery from its crash image,
/// `reps` times. Emits the child's fill measurement and one recovery
/// measurement per repetition.
pub fn recovery(ctx: &mut Ctx, emit: &mut dyn FnMut(Measurement)) -> Result<()> {
    let dir = ctx.dir.join("crashed");
    let records = ctx.cfg.records;
    let mut child = Killed(
        Command::new(std::env::current_exe()?)
            .arg("__kill-child")
            .arg(ctx.engine.name())
            .arg(&dir)
            .arg(records.to_string())
            .arg(ctx.run.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let stdout = child.0.stdout.take().ok_or("no pipe from the child")?;
    let mut bytes_at_kill = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(json) = line.strip_prefix(FILLED) {
            let m: Measurement = serde_json::from_str(json)?;
            if ctx.cfg.wants("fill-seq") {
                emit(m);
            }
        } else if let Some(rest) = line.strip_prefix(READY) {
            bytes_at_kill = rest.trim().parse::<f64>().ok();
            break;
        }
    }
    drop(child); // SIGKILL, then reap
    let bytes_at_kill = bytes_at_kill.ok_or("the writer child died before its writes were done")?;
    if !ctx.cfg.wants("recovery") {
        return Ok(std::fs::remove_dir_all(&dir)?);
    }
    for rep in 1..=ctx.cfg.reps {
        ctx.rep = rep;
        let copy = ctx.dir.join(format!("recovering-{rep}"));
        copy_dir(&dir, &copy)?;
        let probe = Probe::start();
        let t = Instant::now();
        let db = ctx.engine.open(&copy)?;
        let open_secs = t.elapsed().as_secs_f64();
        let mut m = probe.finish(ctx.tag(), "recovery", 1, &Histogram::default(), 0);
        m.secs = open_secs;
        m.ops_per_sec = Some(1.0 / open_secs.max(1e-9));
        m.extra.insert("disk_bytes_at_kill".into(), bytes_at_kill);
        m.extra.insert("records_written".into(), records as f64);
        if rep == 1 {
            let recovered = db.scan(&[], usize::MAX)? as u64;
            m.extra.insert("records_recovered".into(), recovered as f64);
            if recovered != records {
                m.note = format!("{recovered} of {records} records recovered");
            }
        }
        db.close()?;
        std::fs::remove_dir_all(&copy)?;
        emit(m);
    }
    ctx.rep = 1;
    Ok(std::fs::remove_dir_all(&dir)?)
}

/// Copies the directory tree `from` to `to` (files and directories only).
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
