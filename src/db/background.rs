//! Background threads: they flush frozen memtables and run the compactions
//! the picker chooses (`Options::background_threads` of them).
//!
//! One flush runs at a time (memtables are flushed oldest first, so the
//! flushed sequence number only grows); compactions run beside it on
//! tables no other compaction holds. A failure poisons the engine — the
//! sticky background error: writes are refused until reopen, reads go on.

use super::engine::Engine;
use crate::compaction::picker::{pick, Pick};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Default)]
struct State {
    shutdown: bool,
    flush_running: bool,
    purge_running: bool,
    audit_running: bool,
}

/// Coordination between writers, background threads and waiters.
#[derive(Debug, Default)]
pub(crate) struct Background {
    state: Mutex<State>,
    /// Signalled when there may be new work (a memtable froze, a compaction
    /// finished and changed the levels).
    work: Condvar,
    /// Signalled when work finished (stalled writers and `flush_memtables`
    /// wait on it).
    progress: Condvar,
}

enum Job {
    Flush,
    Compact(Pick),
    /// The purge window of a pending erasure ran out (RECORDS.md rule 10).
    Purge,
    /// Retention-set entries wait to be sealed into the audit trail.
    Audit,
    /// The engine's clock moved an hour past what the trail records.
    Clock,
}

impl Background {
    pub(crate) fn notify_work(&self) {
        let _guard = self.state.lock();
        self.work.notify_all();
    }

    pub(crate) fn notify_progress(&self) {
        let _guard = self.state.lock();
        self.progress.notify_all();
        self.work.notify_all();
    }

    /// Claims the one flush slot; false if a flush runs.
    fn claim_flush(&self) -> bool {
        let mut state = self.state.lock();
        !std::mem::replace(&mut state.flush_running, true)
    }

    fn release_flush(&self) {
        self.state.lock().flush_running = false;
        self.notify_progress();
    }

    /// Waits for progress, at most `timeout`.
    pub(crate) fn wait_progress(&self, timeout: Duration) {
        let mut state = self.state.lock();
        if !state.shutdown {
            self.progress.wait_for(&mut state, timeout);
        }
    }
}

/// Starts the background threads.
pub(crate) fn spawn(engine: &Arc<Engine>) -> std::io::Result<Vec<JoinHandle<()>>> {
    (0..engine.options.background_threads)
        .map(|i| {
            let engine = Arc::clone(engine);
            std::thread::Builder::new()
                .name(format!("holdfast-bg-{i}"))
                .spawn(move || worker(&engine))
        })
        .collect()
}

/// Stops the background threads and waits for them; running work is
/// abandoned at its next check.
pub(crate) fn stop(engine: &Engine, threads: Vec<JoinHandle<()>>) {
    engine.stopping.store(true, Ordering::Release);
    {
        let mut state = engine.background.state.lock();
        state.shutdown = true;
        engine.background.work.notify_all();
        engine.background.progress.notify_all();
    }
    for thread in threads {
        let _ = thread.join();
    }
}

fn worker(engine: &Engine) {
    loop {
        let job = {
            let mut state = engine.background.state.lock();
            loop {
                if state.shutdown {
                    return;
                }
                if !engine.is_poisoned() {
                    if let Some(job) = next_job(engine, &mut state) {
                        break job;
                    }
                }
                engine
                    .background
                    .work
                    .wait_for(&mut state, Duration::from_secs(1));
            }
        };
        let result = match &job {
            Job::Flush => engine.flush_oldest_memtable().map(|_| ()),
            Job::Compact(pick) => engine.run_compaction(pick),
            Job::Purge => engine.purge().map(|_| ()),
            Job::Audit => engine.records.drain_unaudited(),
            Job::Clock => engine.records.persist_clock(),
        };
        {
            let mut state = engine.background.state.lock();
            match &job {
                Job::Flush => state.flush_running = false,
                Job::Compact(pick) => engine.versions.lock().set_busy(&pick.all_inputs(), false),
                Job::Purge => state.purge_running = false,
                Job::Audit | Job::Clock => state.audit_running = false,
            }
        }
        if let Err(e) = result {
            if !engine.stopping.load(Ordering::Acquire) {
                engine.poison(&e);
            }
        }
        engine.background.notify_progress();
    }
}

/// The next job, claimed: a flush if a memtable waits and none runs, else
/// a compaction if the picker finds one.
fn next_job(engine: &Engine, state: &mut State) -> Option<Job> {
    let current = engine.current_state();
    if !state.flush_running && !current.frozen.is_empty() {
        state.flush_running = true;
        return Some(Job::Flush);
    }
    if !state.audit_running && engine.records.drain_due() {
        state.audit_running = true;
        return Some(Job::Audit);
    }
    if !state.audit_running && engine.records.clock_persist_due() {
        state.audit_running = true;
        return Some(Job::Clock);
    }
    if !state.purge_running && engine.records.purge_due(&current.version) {
        state.purge_running = true;
        return Some(Job::Purge);
    }
    let mut versions = engine.versions.lock();
    if versions.exclusive > 0 {
        return None;
    }
    let options = engine.options.picker_options();
    let version = versions.current();
    let chosen = pick(
        &version,
        &versions.busy,
        &versions.compact_pointers,
        &options,
    )?;
    versions.set_busy(&chosen.all_inputs(), true);
    Some(Job::Compact(chosen))
}

impl Engine {
    /// Flushes every memtable from the calling thread, taking the flush
    /// slot itself: a purge running on the only background thread cannot
    /// wait for another to flush.
    pub(crate) fn flush_all_here(&self) -> crate::Result<()> {
        self.freeze_active_memtable()?;
        loop {
            if self.current_state().frozen.is_empty() {
                return Ok(());
            }
            if self.background.claim_flush() {
                let flushed = self.flush_oldest_memtable();
                self.background.release_flush();
                flushed?;
            } else {
                self.wait_for_progress()?;
            }
        }
    }
}
