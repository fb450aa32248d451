//! The workloads, one file per family, and what they measure.
//!
//! A worker process runs every workload against one engine, in the order
//! of [`run_all`], on fresh directories, and prints one [`Measurement`]
//! per workload and repetition. Fills run to completion; every other
//! workload stops at its operation count or at the time cap, whichever
//! comes first.

pub mod fill;
pub mod lifecycle;
pub mod read;
pub mod records;
pub mod sync;
pub mod ycsb;
pub mod zipf;

use crate::config::Config;
use crate::engines::{Engine, EngineKind, Result};
use crate::keys::{KEY_LEN, VALUE_LEN};
use crate::measure::{self, Histogram};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Logical bytes of one record (key + value).
pub const RECORD_BYTES: u64 = (KEY_LEN + VALUE_LEN) as u64;

/// How a workload's figure compares across engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Operations per second; higher is better.
    Throughput,
    /// Seconds for one event (reopen, recovery); lower is better.
    Seconds,
    /// Not ranked (compaction: the work differs per engine).
    Unranked,
}

/// One workload as listed in the report.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Short id, used on the command line and in the files.
    pub id: &'static str,
    /// What it does, for the table.
    pub title: &'static str,
    /// How it is ranked.
    pub metric: Metric,
}

const fn wl(id: &'static str, title: &'static str, metric: Metric) -> Workload {
    Workload { id, title, metric }
}

/// Every workload, in report order.
#[rustfmt::skip]
pub const WORKLOADS: &[Workload] = &[
    wl("fill-seq", "Fill sequential + durable flush", Metric::Throughput),
    wl("fill-random", "Fill random + durable flush", Metric::Throughput),
    wl("overwrite", "Overwrite random + durable flush", Metric::Throughput),
    wl("read-random", "Read random, present keys", Metric::Throughput),
    wl("read-absent", "Read absent keys", Metric::Throughput),
    wl("scan-100", "Seek + scan 100 keys", Metric::Throughput),
    wl("sync-1t", "Sync writes, 1 thread", Metric::Throughput),
    wl("sync-8t", "Sync writes, 8 threads", Metric::Throughput),
    wl("ycsb-a", "YCSB A (50% read, 50% update)", Metric::Throughput),
    wl("ycsb-b", "YCSB B (95% read, 5% update)", Metric::Throughput),
    wl("ycsb-c", "YCSB C (100% read)", Metric::Throughput),
    wl("ycsb-d", "YCSB D (95% read latest, 5% insert)", Metric::Throughput),
    wl("ycsb-e", "YCSB E (95% scan ≤100, 5% insert)", Metric::Throughput),
    wl("ycsb-f", "YCSB F (50% read, 50% read-modify-write)", Metric::Throughput),
    wl("compact", "Full manual compaction", Metric::Unranked),
    wl("reopen", "Reopen after clean close (s)", Metric::Seconds),
    wl("recovery", "Recovery after SIGKILL (s)", Metric::Seconds),
    wl("fill-retention", "Fill with a retention policy per record", Metric::Throughput),
];

/// The workload with id `id`.
pub fn workload(id: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.id == id)
}

/// Whether a measurement holds figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Measured.
    Ok,
    /// Not applicable: the engine (or holdfast today) lacks the feature.
    NotApplicable,
    /// The engine returned an error or the worker died; see the note.
    Failed,
}

/// Which engine, run and repetition a measurement belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Tag {
    /// The engine.
    pub engine: EngineKind,
    /// Run number, from 1.
    pub run: u32,
    /// Repetition within the run, from 1.
    pub rep: u32,
}

/// The figures of one workload on one engine in one repetition of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// Engine name.
    pub engine: String,
    /// Workload id.
    pub workload: String,
    /// Run number, from 1 (0: a median).
    pub run: u32,
    /// Repetition within the run, from 1 (0: a median).
    pub rep: u32,
    /// Whether there are figures.
    pub status: Status,
    /// Anything a reader must know about this figure.
    pub note: String,
    /// Operations done.
    pub ops: u64,
    /// Wall-clock seconds, including the closing durable flush of fills.
    pub secs: f64,
    /// `ops / secs`.
    pub ops_per_sec: Option<f64>,
    /// Median latency of one operation, µs.
    pub p50_us: Option<f64>,
    /// 99th-percentile latency of one operation, µs.
    pub p99_us: Option<f64>,
    /// Peak resident memory of the process during the workload.
    pub peak_rss_bytes: Option<u64>,
    /// Bytes the process wrote to storage during the workload.
    pub disk_write_bytes: Option<u64>,
    /// Key and value bytes the workload wrote.
    pub logical_write_bytes: u64,
    /// `disk_write_bytes / logical_write_bytes`.
    pub write_amp: Option<f64>,
    /// Bytes the database occupies on disk after the workload (where
    /// measured).
    pub disk_bytes: Option<u64>,
    /// Live key and value bytes in the database then.
    pub logical_bytes: Option<u64>,
    /// `disk_bytes / logical_bytes`.
    pub space_amp: Option<f64>,
    /// Further figures particular to the workload.
    pub extra: BTreeMap<String, f64>,
}

impl Measurement {
    /// A measurement without figures.
    pub fn empty(tag: Tag, workload: &str, status: Status, note: String) -> Self {
        Measurement {
            engine: tag.engine.name().to_string(),
            workload: workload.to_string(),
            run: tag.run,
            rep: tag.rep,
            status,
            note,
            ops: 0,
            secs: 0.0,
            ops_per_sec: None,
            p50_us: None,
            p99_us: None,
            peak_rss_bytes: None,
            disk_write_bytes: None,
            logical_write_bytes: 0,
            write_amp: None,
            disk_bytes: None,
            logical_bytes: None,
            space_amp: None,
            extra: BTreeMap::new(),
        }
    }

    /// Records the space the database at `dir` uses for `live_records`.
    pub fn with_space(mut self, dir: &Path, live_records: u64) -> Self {
        if let Ok(bytes) = measure::disk_usage(dir) {
            let logical = live_records * RECORD_BYTES;
            self.disk_bytes = Some(bytes);
            self.logical_bytes = Some(logical);
            self.space_amp = Some(bytes as f64 / logical.max(1) as f64);
        }
        self
    }
}

/// Starts measuring a workload: time, bytes written, peak memory.
pub struct Probe {
    start: Instant,
    write_bytes: Option<u64>,
}

impl Probe {
    /// Resets the peak-memory mark and notes the counters.
    pub fn start() -> Probe {
        measure::reset_peak_rss();
        Probe {
            write_bytes: measure::process_write_bytes(),
            start: Instant::now(),
        }
    }

    /// The measurement of `ops` operations with latencies `hist`, which
    /// wrote `logical_writes` records.
    pub fn finish(
        &self,
        tag: Tag,
        id: &str,
        ops: u64,
        hist: &Histogram,
        logical_writes: u64,
    ) -> Measurement {
        let secs = self.start.elapsed().as_secs_f64();
        let disk_write_bytes = match (self.write_bytes, measure::process_write_bytes()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        let logical_write_bytes = logical_writes * RECORD_BYTES;
        let mut m = Measurement::empty(tag, id, Status::Ok, String::new());
        m.ops = ops;
        m.secs = secs;
        m.ops_per_sec = (secs > 0.0).then(|| ops as f64 / secs);
        m.p50_us = hist.quantile_us(0.50);
        m.p99_us = hist.quantile_us(0.99);
        m.peak_rss_bytes = measure::peak_rss_bytes();
        m.disk_write_bytes = disk_write_bytes;
        m.logical_write_bytes = logical_write_bytes;
        m.write_amp = match (disk_write_bytes, logical_write_bytes) {
            (Some(d), l) if l > 0 => Some(d as f64 / l as f64),
            _ => None,
        };
        m
    }
}

/// What the workloads of one worker share.
pub struct Ctx<'a> {
    /// Settings.
    pub cfg: &'a Config,
    /// The engine under test.
    pub engine: EngineKind,
    /// The run number.
    pub run: u32,
    /// The repetition under way.
    pub rep: u32,
    /// This worker's directory; databases go in subdirectories.
    pub dir: PathBuf,
    /// Records in the main database (the random fill plus YCSB inserts).
    pub live_records: u64,
    /// Records written by the workloads of this worker so far, sync
    /// writes excluded (for the total write amplification).
    pub logical_writes: u64,
    /// Bytes written to storage during the sync-write workloads, which the
    /// total write amplification leaves out: a 116-byte write made durable
    /// on its own costs at least a 4 KiB page, and faster engines do more
    /// of them within the time cap.
    pub sync_disk_bytes: u64,
    /// Seed for the next workload's generator.
    pub seed: u64,
}

impl Ctx<'_> {
    /// The tag of a measurement made now.
    pub fn tag(&self) -> Tag {
        Tag {
            engine: self.engine,
            run: self.run,
            rep: self.rep,
        }
    }

    /// The time cap of a non-fill workload.
    pub fn cap(&self) -> Duration {
        Duration::from_secs_f64(self.cfg.cap_secs)
    }

    /// A fresh seed for one workload.
    pub fn next_seed(&mut self) -> u64 {
        self.seed = crate::keys::mix64(self.seed.wrapping_add(1));
        self.seed
    }
}

/// Runs `op(i)` for `i in 0..max_ops`, timing each call, until done or
/// `cap` has passed. Returns the operations done and their latencies.
pub fn timed_loop(
    max_ops: u64,
    cap: Option<Duration>,
    mut op: impl FnMut(u64) -> Result<()>,
) -> Result<(u64, Histogram)> {
    let mut hist = Histogram::default();
    let start = Instant::now();
    let mut i = 0;
    while i < max_ops {
        let t = Instant::now();
        op(i)?;
        hist.record(t.elapsed());
        i += 1;
        if i % 256 == 0 && cap.is_some_and(|c| start.elapsed() >= c) {
            break;
        }
    }
    Ok((i, hist))
}

/// A workload that runs on the shared, loaded database.
type Step = fn(&mut Ctx, &dyn Engine) -> Result<Measurement>;

/// The workloads repeated `reps` times on the loaded database, in order.
#[rustfmt::skip]
const STEPS: [(&str, Step); 12] = [
    ("overwrite", fill::overwrite),
    ("read-random", read::read_random),
    ("read-absent", read::read_absent),
    ("scan-100", read::scan),
    ("sync-1t", |c, e| sync::sync_writes(c, e, 1)),
    ("sync-8t", |c, e| sync::sync_writes(c, e, 8)),
    ("ycsb-a", |c, e| ycsb::run(c, e, ycsb::Kind::A)),
    ("ycsb-b", |c, e| ycsb::run(c, e, ycsb::Kind::B)),
    ("ycsb-c", |c, e| ycsb::run(c, e, ycsb::Kind::C)),
    ("ycsb-d", |c, e| ycsb::run(c, e, ycsb::Kind::D)),
    ("ycsb-e", |c, e| ycsb::run(c, e, ycsb::Kind::E)),
    ("ycsb-f", |c, e| ycsb::run(c, e, ycsb::Kind::F)),
];

fn failure(ctx: &Ctx, id: &str, e: crate::engines::Error) -> Measurement {
    Measurement::empty(ctx.tag(), id, Status::Failed, e.to_string())
}

/// Runs every workload the configuration asks for against `ctx.engine`,
/// handing each measurement to `emit` as soon as it is made: the random
/// fill, `reps` passes over [`STEPS`], compaction, `reps` reopens, then
/// the sequential fill and recovery (one killed child, whose crash image
/// is recovered `reps` times).
pub fn run_all(ctx: &mut Ctx, emit: &mut dyn FnMut(Measurement)) {
    let main_dir = ctx.dir.join("main");
    ctx.rep = 1;
    let mut db = match ctx.engine.open(&main_dir) {
        Ok(db) => db,
        Err(e) => return emit(failure(ctx, "fill-random", e)),
    };
    match fill::fill_random(ctx, db.as_ref(), &main_dir) {
        Ok(m) => emit(m),
        Err(e) => return emit(failure(ctx, "fill-random", e)),
    }
    for rep in 1..=ctx.cfg.reps {
        ctx.rep = rep;
        for (id, step) in STEPS {
            if ctx.cfg.wants(id) {
                emit(step(ctx, db.as_ref()).unwrap_or_else(|e| failure(ctx, id, e)));
            }
        }
    }
    ctx.rep = 1;
    if ctx.cfg.wants("compact") {
        let m = lifecycle::compact(ctx, db.as_mut(), &main_dir);
        emit(m.unwrap_or_else(|e| failure(ctx, "compact", e)));
    }
    if ctx.cfg.wants("reopen") {
        for rep in 1..=ctx.cfg.reps {
            ctx.rep = rep;
            match lifecycle::reopen(ctx, db, &main_dir) {
                Ok((m, reopened)) => {
                    emit(m);
                    db = reopened;
                }
                Err(e) => return emit(failure(ctx, "reopen", e)),
            }
        }
    }
    ctx.rep = 1;
    if let Err(e) = db.close() {
        emit(failure(ctx, "close", e));
    }
    if ctx.cfg.wants("fill-seq") || ctx.cfg.wants("recovery") {
        if let Err(e) = lifecycle::recovery(ctx, emit) {
            emit(failure(ctx, "recovery", e));
        }
    }
    if ctx.cfg.wants("fill-retention") {
        emit(records::fill_with_retention(ctx));
    }
}
