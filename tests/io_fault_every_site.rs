//! I/O errors at every call: a [`FaultyFileSystem`] over a
//! [`SimFileSystem`] fails the N-th file-system call of a run, for every N
//! of the run, with every error that call kind can return (`EIO`,
//! `ENOSPC`, a short write, an fsync error); then, for every N again, the
//! N-th call *and* the call after it (so that error paths' own I/O fails
//! too). A run opens a prepared database (whose recovery has a torn tail to
//! cut, a torn segment creation to remove and orphans to delete), runs a
//! workload of writes, reads, flushes and compactions, and closes it.
//!
//! After each run:
//! 1. a fault is reported: some call returned an error (or the failed
//!    call's error is swallowed by design: the removal of a file nobody
//!    needs), and no call failed when no fault fired;
//! 2. a failed WAL or manifest append or fsync poisons the handle: later
//!    writes fail with `Error::Poisoned`;
//! 3. the live database, and a clean reopen, hold every acknowledged write
//!    (writes that failed with an I/O error may or may not be there);
//! 4. after a power cut taken at the end of the run, the database reopens
//!    with at least every write acknowledged as durable;
//! 5. nothing hangs (a watchdog fails the run after 60 s).
//!
//! The call site of every injected failure is found from a backtrace, and
//! the sites hit are compared with an inventory of the engine's I/O call
//! sites scanned from `src/`: every site must be hit (the count is
//! printed). `HOLDFAST_FAULT_ROUNDS=N` repeats the sweep with N workload
//! seeds (default 1).

mod sim_support;

use holdfast::fs::{
    CallKind, CallRecord, DiskImage, Fault, FaultPlan, FaultyFileSystem, FileSystem, PowerCut,
    SimFileSystem,
};
use holdfast::{Db, Error, WriteOptions};
use sim_support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// One prepared database and the workload run on it.
#[derive(Clone)]
struct Scenario {
    name: &'static str,
    base: DiskImage,
    base_state: State,
    steps: Vec<Step2>,
    probe: Vec<Vec<u8>>,
    wal_buffer_bytes: usize,
    seed: u64,
}

/// A workload step, or a read of everything.
#[derive(Clone, Debug)]
enum Step2 {
    Step(Step),
    Read,
    /// A record with retention (`rec/N`, a key the model never touches):
    /// reaches the audit trail's append and sync sites.
    Retained(u32),
    /// `Db::purge`: its directory listing and file sizes.
    Purge,
    /// `Audit::verify`: reads the audit trail back.
    AuditVerify,
    /// `Db::checkpoint` into [`CHECKPOINT_DIR`]: the cut, the copies of WAL
    /// segments, tables (this file system cannot hard-link) and the audit
    /// file, and the removal of a partial copy after a failure.
    Checkpoint,
}

/// Where the `Checkpoint` step writes its copy (outside the database).
const CHECKPOINT_DIR: &str = "/checkpoint";

/// What one run did.
#[derive(Default)]
struct RunLog {
    /// `(ops, failed)` of each write issued (refused ones are dropped).
    writes: Vec<(Ops, bool)>,
    /// Writes acknowledged (in full, up to the last acknowledged one).
    acked_upto: usize,
    /// Writes acknowledged durable.
    durable_upto: usize,
    errors: Vec<String>,
}

fn options(fs: Arc<dyn FileSystem>, wal_buffer_bytes: usize) -> holdfast::Options {
    small_options(fs, true).wal_buffer_bytes(wal_buffer_bytes)
}

/// Failures that match an engine bug already reported (see
/// `crash_sim_exploration.rs`); counted apart unless
/// strict mode (the default; `HOLDFAST_TOLERATE_KNOWN_BUGS=1` counts them instead).
fn known_bug(error: &Error) -> Option<&'static str> {
    if !env_flag("HOLDFAST_TOLERATE_KNOWN_BUGS") {
        return None;
    }
    match error {
        Error::Io { context, source }
            if source.kind() == std::io::ErrorKind::NotFound
                && context.contains("opening manifest") =>
        {
            Some("KB2: CURRENT names a manifest whose directory entry was never synced")
        }
        _ => None,
    }
}

/// Whether `got` is the effect of the writes up to some `j` in
/// `lo..=writes.len()`, where failed writes may each be missing.
fn is_candidate(base: &State, writes: &[(Ops, bool)], lo: usize, got: &State) -> bool {
    fn walk(state: &State, writes: &[(Ops, bool)], at: usize, lo: usize, got: &State) -> bool {
        if at >= lo && state == got {
            return true;
        }
        let Some((ops, failed)) = writes.get(at) else {
            return false;
        };
        let mut next = state.clone();
        apply(&mut next, ops);
        // Every write is applied, except that a failed one may be missing.
        walk(&next, writes, at + 1, lo, got) || (*failed && walk(state, writes, at + 1, lo, got))
    }
    walk(base, writes, 0, lo, got)
}

fn is_wal_or_manifest(path: &Path) -> bool {
    // A checkpoint's copy is not the database's own log.
    if path.starts_with(CHECKPOINT_DIR) {
        return false;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".wal") || name.starts_with("MANIFEST-")
}

fn is_read_call(kind: CallKind) -> bool {
    matches!(
        kind,
        CallKind::Open | CallKind::ReadAt | CallKind::Size | CallKind::Map
    )
}

impl Scenario {
    /// Runs the scenario with `plans` armed; `Err` describes a violation.
    /// Returns the faults that fired.
    fn run(
        &self,
        plans: Vec<FaultPlan>,
        known: &mut BTreeMap<&'static str, u64>,
    ) -> Result<Vec<CallRecord>, String> {
        let sim = SimFileSystem::from_image(&self.base, self.seed);
        let faulty = FaultyFileSystem::new(Arc::new(sim.clone()));
        faulty.arm_sequence(plans);
        let mut log = RunLog::default();
        let mut probe_poison = false;
        match Db::open(
            DB_DIR,
            options(Arc::new(faulty.clone()), self.wal_buffer_bytes),
        ) {
            Err(e) => {
                if faulty.fired().is_empty() {
                    return Err(format!("open failed with no fault injected: {e}"));
                }
            }
            Ok(db) => {
                let workload_from = faulty.calls();
                self.workload(&db, &mut log);
                let fired = faulty.fired();
                if fired.is_empty() && !log.errors.is_empty() {
                    return Err(format!("errors with no fault injected: {:?}", log.errors));
                }
                let in_workload = fired.iter().find(|c| c.index > workload_from);
                if let Some(call) = in_workload {
                    let durability_uncertain =
                        matches!(call.kind, CallKind::Append | CallKind::Sync)
                            && is_wal_or_manifest(&call.path);
                    if durability_uncertain {
                        if log.errors.is_empty() {
                            return Err(format!(
                                "{:?} of {} failed but no call returned an error",
                                call.kind,
                                call.path.display()
                            ));
                        }
                        probe_poison = true;
                    }
                }
                if probe_poison {
                    match db.put("~probe", "x") {
                        Err(Error::Poisoned { .. }) => {}
                        other => {
                            return Err(format!(
                                "a write after a failed WAL/manifest append or sync gave {other:?}, not Poisoned"
                            ))
                        }
                    }
                }
                match model_state(&db, &self.probe) {
                    Ok(live) => {
                        if !is_candidate(&self.base_state, &log.writes, log.acked_upto, &live) {
                            return Err(format!(
                                "live contents lost an acknowledged write or hold one never written ({} writes, {} acked)",
                                log.writes.len(),
                                log.acked_upto
                            ));
                        }
                    }
                    Err(e) => {
                        let read_fault = faulty.fired().iter().any(|c| is_read_call(c.kind));
                        if !read_fault {
                            return Err(format!("reading the live database failed: {e}"));
                        }
                    }
                }
                let closed = db.close();
                if closed.is_err() && faulty.fired().is_empty() {
                    return Err(format!("close failed with no fault: {closed:?}"));
                }
            }
        }
        faulty.disarm();
        let fired = faulty.fired();
        let cut = sim.crash_image(PowerCut::Seeded(self.seed ^ fired.len() as u64));
        let context = |why: String| {
            let calls: Vec<String> = fired
                .iter()
                .map(|c| {
                    format!(
                        "#{} {:?} {} at {}",
                        c.index,
                        c.kind,
                        c.path.display(),
                        c.site.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            format!(
                "{why}\n      failed calls: {}; step errors: {:?}",
                calls.join(", "),
                log.errors
            )
        };

        // A clean reopen: the operating system kept everything it was given.
        // With a user-space WAL buffer, acknowledged writes still in the
        // buffer when its hand-over to the operating system failed were
        // never given to it: like a process crash, that loses them
        // (`Options::wal_buffer_bytes`), so only durable ones count then.
        let buffer_lost = self.wal_buffer_bytes > 0
            && fired
                .iter()
                .any(|c| c.kind == CallKind::Append && c.path.to_string_lossy().ends_with(".wal"));
        let clean_lo = if buffer_lost {
            log.durable_upto
        } else {
            log.acked_upto
        };
        self.check_reopen(&sim, &log, clean_lo, "clean reopen", known)
            .map_err(context)?;
        // A power cut at the end of the run: only durability acknowledgements count.
        let after_cut = SimFileSystem::from_image(&cut, self.seed);
        self.check_reopen(
            &after_cut,
            &log,
            log.durable_upto,
            "reopen after a power cut",
            known,
        )
        .map_err(context)?;
        Ok(fired)
    }

    fn check_reopen(
        &self,
        fs: &SimFileSystem,
        log: &RunLog,
        lo: usize,
        what: &str,
        known: &mut BTreeMap<&'static str, u64>,
    ) -> Result<(), String> {
        let db = match Db::open(DB_DIR, options(Arc::new(fs.clone()), self.wal_buffer_bytes)) {
            Ok(db) => db,
            Err(e) => {
                if let Some(bug) = known_bug(&e) {
                    *known.entry(bug).or_default() += 1;
                    return Ok(());
                }
                return Err(format!("{what}: open failed: {e}"));
            }
        };
        let got = model_state(&db, &self.probe).map_err(|e| format!("{what}: {e}"))?;
        if !is_candidate(&self.base_state, &log.writes, lo, &got) {
            return Err(format!(
                "{what}: contents are not the writes up to at least {lo} of {} (failed ones optional); vs all acknowledged: {}",
                log.writes.len(),
                diff(&self.expected(log, log.acked_upto), &got)
            ));
        }
        db.write_opt(
            batch_of(&vec![(b"~after".to_vec(), Some(b"1".to_vec()))]),
            &WriteOptions::new().sync(true),
        )
        .map_err(|e| format!("{what}: a synced write failed: {e}"))?;
        db.close().map_err(|e| format!("{what}: close failed: {e}"))
    }

    fn expected(&self, log: &RunLog, upto: usize) -> State {
        let mut state = self.base_state.clone();
        for (ops, _) in &log.writes[..upto.min(log.writes.len())] {
            apply(&mut state, ops);
        }
        state
    }

    fn workload(&self, db: &Db, log: &mut RunLog) {
        for step in &self.steps {
            let result = match step {
                Step2::Read => model_state(db, &self.probe)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Step2::Retained(n) => {
                    let until = holdfast::Timestamp::from_date(2400, 1, 1).expect("date");
                    let retention = holdfast::Retention::new().retain_until(until);
                    db.put_with(format!("rec/{n}"), "kept", &retention)
                        .map_err(|e| e.to_string())
                }
                Step2::Purge => db.purge().map(|_| ()).map_err(|e| e.to_string()),
                Step2::AuditVerify => db.audit().verify().map(|_| ()).map_err(|e| e.to_string()),
                Step2::Checkpoint => db
                    .checkpoint(CHECKPOINT_DIR)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Step2::Step(Step::Write { ops, sync }) => {
                    let result = db.write_opt(batch_of(ops), &WriteOptions::new().sync(*sync));
                    match &result {
                        Ok(()) => {
                            log.writes.push((ops.clone(), false));
                            log.acked_upto = log.writes.len();
                            if *sync {
                                log.durable_upto = log.writes.len();
                            }
                        }
                        // Refused before reaching the log: certainly not applied.
                        Err(Error::Poisoned { .. } | Error::Closed) => {}
                        Err(_) => log.writes.push((ops.clone(), true)),
                    }
                    result.map_err(|e| e.to_string())
                }
                Step2::Step(step) => {
                    let result = match step {
                        Step::Flush => db.flush(),
                        Step::FlushMemtables => db.flush_memtables(),
                        _ => db.compact(),
                    };
                    if result.is_ok() {
                        log.durable_upto = log.writes.len();
                    }
                    result.map_err(|e| e.to_string())
                }
            };
            if let Err(e) = result {
                if log.errors.len() < 3 && !log.errors.contains(&e) {
                    log.errors.push(e);
                }
            }
        }
    }
}

/// The database's contents less the `rec/` records the model does not
/// track (see [`Step2::Retained`]).
fn model_state(db: &Db, probe: &[Vec<u8>]) -> Result<State, String> {
    let mut state = read_state(db, probe)?;
    state.retain(|key, _| !key.starts_with(b"rec/"));
    Ok(state)
}

/// Runs `f` on its own thread and fails if it takes longer than a minute.
fn with_watchdog<T: Send + 'static>(
    what: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(value) => {
            let _ = handle.join();
            Ok(value)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("{what}: hung for 60 s")),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => Err(format!(
                "{what}: panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
            Ok(()) => Err(format!("{what}: ended without a result")),
        },
    }
}

/// Builds a database on a simulated disk, then damages the image so that
/// opening it cuts a torn tail (or removes a torn segment creation) and
/// deletes orphans.
fn prepare(
    name: &'static str,
    seed: u64,
    torn_creation: bool,
    wal_buffer_bytes: usize,
) -> Scenario {
    let sim = SimFileSystem::new(seed);
    let mix = Mix {
        steps: 40,
        keys: 24,
        value_max: 300,
        sync_pct: 30,
        batch_pct: 30,
        flush_pct: 5,
        flush_memtables_pct: 8,
        compact_pct: 4,
    };
    let setup = workload(seed, mix);
    let db = Db::open(DB_DIR, options(Arc::new(sim.clone()), 0)).expect("setup open");
    let mut history = History::default();
    let clock = || 0;
    run_steps(&db, &setup, &mut history, &clock, &mut |_| {}).expect("setup workload");
    db.flush_memtables().expect("setup flush");
    for step in workload(
        seed + 1,
        Mix {
            steps: 12,
            flush_pct: 0,
            flush_memtables_pct: 0,
            compact_pct: 0,
            ..mix
        },
    ) {
        if let Step::Write { ops, .. } = step {
            db.write_opt(batch_of(&ops), &WriteOptions::new().sync(true))
                .expect("setup write");
            history.writes.push(WriteRecord {
                ops,
                issued_at: 0,
                acked: Some(true),
            });
        }
    }
    let mut image = sim.live_image();
    db.simulate_crash();
    let base_state = history.states().pop().unwrap_or_default();

    let dir = Path::new(DB_DIR);
    let files = image.files_in(dir);
    let newest_wal = files
        .iter()
        .filter(|(n, _)| n.ends_with(".wal"))
        .map(|(n, _)| n.clone())
        .max()
        .expect("a WAL segment");
    let number: u64 = newest_wal[..20].parse().expect("segment number");
    if torn_creation {
        image.set_file(
            &dir.join(format!("{:020}.wal", number + 1)),
            vec![0x48, 0x46, 0x57],
        );
    } else {
        let path = dir.join(&newest_wal);
        let mut bytes = image.file(&path).expect("segment").to_vec();
        bytes.extend_from_slice(&[0xAB; 37]);
        image.set_file(&path, bytes);
    }
    // The audit trail: a torn creation (shorter than its header) in one
    // scenario, missing in the other, so that opening it rewrites the
    // header or creates it — every audit-file call site runs in the sweep.
    let audit = files
        .iter()
        .map(|(n, _)| n.clone())
        .find(|n| n.starts_with("AUDIT-"))
        .expect("an audit file");
    if torn_creation {
        image.set_file(&dir.join(&audit), vec![0x48, 0x46, 0x41]);
    } else {
        image.remove(&dir.join(&audit));
    }
    image.set_file(&dir.join("CURRENT.tmp"), b"MANIFEST-0000\n".to_vec());
    image.set_file(&dir.join("00000000000000009999.table"), vec![7u8; 100]);

    let mix2 = Mix { steps: 26, ..mix };
    let mut steps: Vec<Step2> = workload(seed + 2, mix2)
        .into_iter()
        .map(Step2::Step)
        .collect();
    steps.insert(3, Step2::Read);
    steps.insert(10, Step2::Step(Step::FlushMemtables));
    steps.insert(11, Step2::Read);
    steps.insert(5, Step2::Retained(1));
    steps.insert(14, Step2::Retained(2));
    steps.push(Step2::Step(Step::Compact));
    steps.push(Step2::Read);
    // Something in the memtable, so the checkpoint copies a WAL segment.
    steps.push(Step2::Retained(3));
    steps.push(Step2::Checkpoint);
    steps.push(Step2::Purge);
    steps.push(Step2::AuditVerify);
    steps.push(Step2::Read);
    let mut probe = all_keys(&setup);
    probe.extend(all_keys(
        &steps
            .iter()
            .filter_map(|s| match s {
                Step2::Step(s) => Some(s.clone()),
                _ => None,
            })
            .collect::<Vec<_>>(),
    ));
    probe.sort();
    probe.dedup();
    Scenario {
        name,
        base: image,
        base_state,
        steps,
        probe,
        wal_buffer_bytes,
        seed,
    }
}

/// What a sweep over one scenario found.
#[derive(Default)]
struct Sweep {
    calls: u64,
    runs: u64,
    sites_hit: BTreeSet<String>,
    sites_seen: BTreeSet<String>,
    kinds_hit: BTreeSet<String>,
    failures: Vec<String>,
    known: BTreeMap<&'static str, u64>,
}

/// Fails every call of the scenario, one per run (then every pair of
/// consecutive calls).
fn sweep(scenario: &Scenario, sweep: &mut Sweep) {
    // The counting run: how many calls, of which kinds, from where.
    let sim = SimFileSystem::from_image(&scenario.base, scenario.seed);
    let faulty = FaultyFileSystem::new(Arc::new(sim));
    faulty.record_calls(true);
    {
        let db = Db::open(
            DB_DIR,
            options(Arc::new(faulty.clone()), scenario.wal_buffer_bytes),
        )
        .expect("counting open");
        let mut log = RunLog::default();
        scenario.workload(&db, &mut log);
        assert!(
            log.errors.is_empty(),
            "{}: errors without faults: {:?}",
            scenario.name,
            log.errors
        );
        db.close().expect("counting close");
    }
    let calls = faulty.take_call_log();
    sweep.calls += calls.len() as u64;
    sweep
        .sites_seen
        .extend(calls.iter().filter_map(|c| c.site.clone()));

    let mut cases: Vec<Vec<FaultPlan>> = Vec::new();
    // A few calls past the end: operation counts shift a little with
    // thread timing.
    for n in 1..=calls.len() as u64 + 8 {
        let kind = calls
            .get(n as usize - 1)
            .map_or(CallKind::Append, |c| c.kind);
        for &fault in kind.faults() {
            cases.push(vec![FaultPlan::nth_call(n, fault)]);
        }
        cases.push(vec![
            FaultPlan::nth_call(n, Fault::Eio),
            FaultPlan::nth_call(1, Fault::Eio),
        ]);
    }
    for plans in cases {
        sweep.runs += 1;
        let scenario2 = scenario.clone();
        let what = format!("{}: faults {:?}", scenario.name, plans);
        let plans2 = plans.clone();
        let result = with_watchdog(what.clone(), move || {
            let mut known = BTreeMap::new();
            let result = scenario2.run(plans2, &mut known);
            (result, known)
        });
        match result {
            Ok((Ok(fired), known)) => {
                for (k, v) in known {
                    *sweep.known.entry(k).or_default() += v;
                }
                for call in fired {
                    sweep.kinds_hit.insert(format!("{:?}", call.kind));
                    if let Some(site) = call.site {
                        sweep.sites_hit.insert(format!("{site} {:?}", call.kind));
                    }
                }
            }
            Ok((Err(why), _)) | Err(why) => {
                if sweep.failures.len() < 8 {
                    sweep.failures.push(format!("{what}: {why}"));
                }
            }
        }
    }
}

/// The engine's I/O call sites, scanned from `src/`: every call of a
/// `FileSystem` or `FileHandle` method on a receiver named `fs`, `fs()` or
/// `file` (the engine's naming), and every `read_all`, outside `src/fs/`
/// and outside test code. Returns `(file, first line, last line, method)`.
fn site_inventory() -> Vec<(String, usize, usize, String)> {
    const METHODS: [&str; 13] = [
        "create_dir_all",
        "open",
        "rename",
        "remove",
        "list",
        "sync_dir",
        "lock",
        "read_at",
        "append",
        "sync",
        "size",
        "truncate",
        "map",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut sites = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("src/fs/")
            || rel.ends_with("/tests.rs")
            || rel.starts_with("src/fuzzing")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let mut lines: Vec<&str> = text.lines().collect();
        if let Some(at) = lines.windows(2).position(|w| {
            w[0].trim() == "#[cfg(test)]"
                && w[1]
                    .trim_start()
                    .trim_start_matches("pub(crate) ")
                    .starts_with("mod tests")
        }) {
            lines.truncate(at);
        }
        let mut previous = (0usize, String::new());
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for method in METHODS {
                let needle = format!(".{method}(");
                let mut from = 0;
                while let Some(pos) = code[from..].find(&needle) {
                    let at = from + pos;
                    let before = code[..at].trim_end();
                    let (receiver, first) = if before.is_empty() {
                        (previous.1.as_str(), previous.0)
                    } else {
                        (before, i + 1)
                    };
                    let named = ["fs", "fs()", "file"].iter().any(|r| {
                        receiver.ends_with(r)
                            && !receiver[..receiver.len() - r.len()]
                                .ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    });
                    if named {
                        sites.push((rel.clone(), first, i + 1, method.to_string()));
                    }
                    from = at + needle.len();
                }
            }
            if code.contains("read_all(") && !code.contains("fn read_all") {
                sites.push((rel.clone(), i + 1, i + 1, "read_all".into()));
            }
            if !code.trim().is_empty() {
                previous = (i + 1, code.trim_end().to_string());
            }
        }
    }
    sites.sort();
    sites
}

/// Sites the sweep cannot reach, with the reason. Each must still exist.
const UNREACHABLE: &[(&str, &str)] = &[(
    "src/inspect/",
    "read-only inspection for the CLI (`verify`, `dump`): it reads the OS file system by path, not the engine's `FileSystem`, so no fault can be injected; an I/O error there is an error of the tool, reported by the CLI (cli/tests)",
)];

#[test]
fn every_io_call_fails_once_and_nothing_acknowledged_is_lost() {
    let started = Instant::now();
    let rounds = env_u64("HOLDFAST_FAULT_ROUNDS", 1);
    let mut total = Sweep::default();
    for round in 0..rounds {
        let seed = 11 + round * 1000;
        let scenarios = [
            prepare("torn-tail", seed, false, 0),
            prepare("torn-creation+wal-buffer", seed + 7, true, 4096),
        ];
        for scenario in &scenarios {
            sweep(scenario, &mut total);
        }
    }
    // The manifest rewrite (past 4 MiB) deletes the old manifest: one run
    // reaches it with big keys, and fails that removal.
    manifest_rewrite_removal_fails(&mut total);
    checkpoint_cleanup_fails(&mut total);

    let inventory = site_inventory();
    let mut unhit = Vec::new();
    for (file, first, last, method) in &inventory {
        let hit = total.sites_hit.iter().any(|s| {
            let (loc, _) = s.split_once(' ').unwrap_or((s, ""));
            let (f, l) = loc.rsplit_once(':').unwrap_or((loc, "0"));
            let line: usize = l.parse().unwrap_or(0);
            f == file && (*first..=*last).contains(&line)
        });
        let excused = UNREACHABLE
            .iter()
            .any(|(prefix, _)| file.starts_with(prefix));
        if !hit && !excused {
            unhit.push(format!("{file}:{last} {method}"));
        }
    }
    let excused = inventory
        .iter()
        .filter(|(f, ..)| UNREACHABLE.iter().any(|(p, _)| f.starts_with(p)))
        .count();
    eprintln!(
        "io faults: {} calls in the counting runs, {} fault runs in {:.1}s; engine I/O call sites: {} in the source inventory ({} excused as unreachable), {} distinct sites seen, {} site/kind pairs failed; call kinds failed: {:?}; known-bug hits: {:?}",
        total.calls,
        total.runs,
        started.elapsed().as_secs_f64(),
        inventory.len(),
        excused,
        total.sites_seen.len(),
        total.sites_hit.len(),
        total.kinds_hit,
        total.known
    );
    for site in &total.sites_hit {
        eprintln!("  failed at {site}");
    }
    assert!(
        total.failures.is_empty(),
        "fault runs violate the contract:\n  {}",
        total.failures.join("\n  ")
    );
    assert!(
        unhit.is_empty(),
        "I/O call sites never failed by the sweep:\n  {}",
        unhit.join("\n  ")
    );
}

/// A checkpoint that fails removes its partial copy: fail that cleanup
/// too (a removal, then the directory sync), deterministically, and check
/// that the source database is unharmed (not poisoned, nothing lost).
fn checkpoint_cleanup_fails(total: &mut Sweep) {
    for second in [CallKind::Remove, CallKind::SyncDir] {
        let sim = SimFileSystem::new(5);
        let faulty = FaultyFileSystem::new(Arc::new(sim));
        let db = Db::open(DB_DIR, options(Arc::new(faulty.clone()), 0)).expect("open");
        db.put("k", "v").expect("put");
        let in_copy = |kind, nth, fault| FaultPlan {
            kind: Some(kind),
            path_contains: Some(CHECKPOINT_DIR.into()),
            ..FaultPlan::nth_call(nth, fault)
        };
        // The second append into the copy fails, after one file is made.
        faulty.arm_sequence(vec![
            in_copy(CallKind::Append, 2, Fault::NoSpace),
            in_copy(second, 1, Fault::Eio),
        ]);
        let failed = db.checkpoint(CHECKPOINT_DIR);
        assert!(failed.is_err(), "the checkpoint failed: {failed:?}");
        let fired = faulty.fired();
        assert_eq!(fired.len(), 2, "both faults fired: {fired:?}");
        for call in fired {
            if let Some(site) = call.site {
                total.sites_hit.insert(format!("{site} {:?}", call.kind));
            }
        }
        faulty.disarm();
        assert_eq!(db.get("k").expect("get").as_deref(), Some(&b"v"[..]));
        db.put("k2", "v")
            .expect("a failed checkpoint does not poison");
        db.close().expect("close");
        total.runs += 1;
    }
}

/// Writes keys of 30 KiB, each flushed to its own table, until the
/// manifest passes 4 MiB and is rewritten; fails the removal of the old
/// manifest and checks that nothing is lost and the orphan goes at reopen.
fn manifest_rewrite_removal_fails(total: &mut Sweep) {
    let sim = SimFileSystem::new(99);
    let faulty = FaultyFileSystem::new(Arc::new(sim.clone()));
    let db = Db::open(DB_DIR, options(Arc::new(faulty.clone()), 0)).expect("open");
    // The rewrite first clears the new manifest's name (a removal that
    // finds nothing), then removes the old manifest: fail the second.
    faulty.arm(FaultPlan {
        kind: Some(CallKind::Remove),
        path_contains: Some("MANIFEST-".into()),
        ..FaultPlan::nth_call(2, Fault::Eio)
    });
    let mut model = State::new();
    for i in 0..200u32 {
        let mut key = format!("big{i:05}").into_bytes();
        key.resize(30 << 10, b'k');
        db.put(&key, i.to_le_bytes()).expect("put");
        model.insert(key, i.to_le_bytes().to_vec());
        let flushed = db.flush_memtables();
        if !faulty.fired().is_empty() {
            break;
        }
        flushed.expect("flush");
    }
    total.runs += 1;
    let fired = faulty.fired();
    assert_eq!(fired.len(), 1, "the manifest was never rewritten");
    if let Some(site) = &fired[0].site {
        total
            .sites_hit
            .insert(format!("{site} {:?}", fired[0].kind));
    }
    let probe: Vec<Vec<u8>> = model.keys().cloned().collect();
    assert_eq!(read_state(&db, &probe).expect("read"), model);
    db.close().expect("close");
    let db = match Db::open(DB_DIR, options(Arc::new(sim.clone()), 0)) {
        Ok(db) => db,
        // KB5 (see known_engine_bugs.rs): the open's own manifest rewrite
        // removes a file its orphan list still names.
        Err(Error::Io { context, source })
            if env_flag("HOLDFAST_TOLERATE_KNOWN_BUGS")
                && source.kind() == std::io::ErrorKind::NotFound
                && context.contains("removing orphan") =>
        {
            *total
                .known
                .entry("KB5: reopen fails when the manifest snapshot passes 4 MiB")
                .or_default() += 1;
            return;
        }
        Err(e) => panic!("reopen after the manifest rewrite: {e}"),
    };
    assert_eq!(read_state(&db, &probe).expect("read"), model);
    let manifests = sim
        .list(Path::new(DB_DIR))
        .expect("list")
        .into_iter()
        .filter(|n| n.starts_with("MANIFEST-"))
        .count();
    assert_eq!(manifests, 1, "the old manifest is removed at reopen");
    db.close().expect("close");
}
