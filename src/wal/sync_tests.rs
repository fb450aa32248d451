//! Concurrency of `Wal::sync_to` (writer invariants 5 and 6): with an
//! fsync held open by a gate, a writer that an earlier fsync covered
//! returns at once, a writer the running fsync may not cover waits for it
//! and then syncs, a rotation waits for it, and a failed fsync, a panic in
//! one or a lost buffer write fails every later sync.

use super::format::encode_record;
use super::Wal;
use crate::fs::{
    CallKind, Fault, FaultPlan, FaultyFileSystem, OsFileSystem, SyncCall, SyncHookFileSystem,
};
use crate::Error;
use parking_lot::{Condvar, Mutex};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// Long enough that only a deadlock exceeds it: these are liveness checks,
/// not timings.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the gate does to the next fsyncs.
#[derive(Debug, Default)]
struct GateState {
    /// Fsyncs block until released while this is set.
    closed: bool,
    /// Fsyncs currently blocked.
    blocked: usize,
    /// The next fsync that passes fails.
    fail_next: bool,
    /// The next fsync that passes panics.
    panic_next: bool,
}

/// Every file fsync passes through the gate (`SyncHookFileSystem`).
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
    syncs: AtomicU64,
}

impl Gate {
    fn close(&self) {
        self.state.lock().closed = true;
    }

    fn open(&self, fail: bool) {
        let mut state = self.state.lock();
        state.closed = false;
        state.fail_next = fail;
        self.changed.notify_all();
    }

    /// Waits until `n` fsyncs are blocked at the gate.
    fn wait_blocked(&self, n: usize) {
        let mut state = self.state.lock();
        while state.blocked < n {
            assert!(
                !self.changed.wait_for(&mut state, PATIENCE).timed_out(),
                "no fsync reached the gate"
            );
        }
    }

    fn pass(&self) -> io::Result<()> {
        let mut state = self.state.lock();
        state.blocked += 1;
        self.changed.notify_all();
        while state.closed {
            self.changed.wait(&mut state);
        }
        state.blocked -= 1;
        self.syncs.fetch_add(1, Ordering::SeqCst);
        if std::mem::take(&mut state.panic_next) {
            drop(state);
            panic!("injected panic in fsync");
        }
        match std::mem::take(&mut state.fail_next) {
            true => Err(io::Error::other("injected fsync failure")),
            false => Ok(()),
        }
    }
}

fn gated_wal(dir: &Path) -> (Arc<Wal>, Arc<Gate>) {
    let gate = Arc::new(Gate::default());
    let at_gate = Arc::clone(&gate);
    let fs = Arc::new(SyncHookFileSystem::new(
        Arc::new(OsFileSystem),
        move |call| {
            if let SyncCall::File(_) = call {
                at_gate.pass()?;
            }
            call.run()
        },
    ));
    let wal = Wal::create(fs, dir, 1, 0).unwrap();
    gate.syncs.store(0, Ordering::SeqCst); // the new segment's own sync
    (Arc::new(wal), gate)
}

fn record(wal: &Wal, payload: &[u8]) -> super::WalPosition {
    let mut framed = Vec::new();
    encode_record(payload, &mut framed);
    wal.append(&framed).unwrap()
}

/// Runs `sync_to(target)` on a thread; the receiver gets its outcome.
fn sync_in_background(
    wal: &Arc<Wal>,
    target: super::WalPosition,
) -> mpsc::Receiver<crate::Result<()>> {
    let (done, outcome) = mpsc::channel();
    let wal = Arc::clone(wal);
    std::thread::spawn(move || {
        let _ = done.send(wal.sync_to(target));
    });
    outcome
}

/// Starts `sync_to(target)` with the gate closed; returns once its fsync
/// is held there.
fn hold_fsync(
    wal: &Arc<Wal>,
    gate: &Gate,
    target: super::WalPosition,
) -> mpsc::Receiver<crate::Result<()>> {
    gate.close();
    let running = sync_in_background(wal, target);
    gate.wait_blocked(1);
    running
}

/// Holds the fsync of a first record at the gate, with a second record's
/// `sync_to` waiting behind it: (first position, running, waiting).
fn fsync_held_with_a_waiter(
    wal: &Arc<Wal>,
    gate: &Gate,
) -> (
    super::WalPosition,
    mpsc::Receiver<crate::Result<()>>,
    mpsc::Receiver<crate::Result<()>>,
) {
    let first = record(wal, b"first");
    let running = hold_fsync(wal, gate, first);
    let second = record(wal, b"second");
    let waiting = sync_in_background(wal, second);
    std::thread::sleep(Duration::from_millis(50)); // let it queue
    (first, running, waiting)
}

#[test]
fn a_covered_writer_does_not_wait_for_a_running_fsync() {
    let tmp = tempfile::tempdir().unwrap();
    let (wal, gate) = gated_wal(tmp.path());
    let first = record(&wal, b"first");
    wal.sync_to(first).unwrap();
    assert_eq!(gate.syncs.load(Ordering::SeqCst), 1);

    let second = record(&wal, b"second");
    let running = hold_fsync(&wal, &gate, second);
    // The fsync for `second` is held at the gate; `first` is durable.
    let covered = sync_in_background(&wal, first);
    covered
        .recv_timeout(PATIENCE)
        .expect("a covered writer waited for an fsync it does not need")
        .unwrap();
    assert!(matches!(running.try_recv(), Err(mpsc::TryRecvError::Empty)));
    gate.open(false);
    running.recv_timeout(PATIENCE).unwrap().unwrap();
    assert_eq!(gate.syncs.load(Ordering::SeqCst), 2);
}

#[test]
fn an_uncovered_writer_waits_for_the_running_fsync_then_syncs_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (wal, gate) = gated_wal(tmp.path());
    let first = record(&wal, b"first");
    let running = hold_fsync(&wal, &gate, first);
    // Appended after the running fsync took its end: not covered by it.
    let second = record(&wal, b"second");
    let third = record(&wal, b"third");
    let later: Vec<_> = [second, third, second]
        .into_iter()
        .map(|target| sync_in_background(&wal, target))
        .collect();
    std::thread::sleep(Duration::from_millis(50)); // let them queue
    assert_eq!(gate.state.lock().blocked, 1, "one fsync at a time");
    gate.open(false);
    running.recv_timeout(PATIENCE).unwrap().unwrap();
    for outcome in later {
        outcome.recv_timeout(PATIENCE).unwrap().unwrap();
    }
    // One fsync for `first`, then one covering everything after it.
    assert_eq!(gate.syncs.load(Ordering::SeqCst), 2);
}

#[test]
fn a_failed_fsync_fails_the_waiters_and_every_later_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let (wal, gate) = gated_wal(tmp.path());
    let (first, running, waiting) = fsync_held_with_a_waiter(&wal, &gate);
    gate.open(true);
    assert!(matches!(
        running.recv_timeout(PATIENCE).unwrap(),
        Err(Error::Io { .. })
    ));
    assert_everything_after_fails(&wal, first, waiting);
}

/// The waiter and every later sync or rotation (even a retry of the same
/// target) fail with `Poisoned`.
fn assert_everything_after_fails(
    wal: &Wal,
    first: super::WalPosition,
    waiting: mpsc::Receiver<crate::Result<()>>,
) {
    assert!(matches!(
        waiting.recv_timeout(PATIENCE).unwrap(),
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(wal.sync_to(first), Err(Error::Poisoned { .. })));
    assert!(matches!(wal.rotate(), Err(Error::Poisoned { .. })));
}

#[test]
fn a_rotation_waits_for_the_running_fsync() {
    let tmp = tempfile::tempdir().unwrap();
    let (wal, gate) = gated_wal(tmp.path());
    let first = record(&wal, b"first");
    let running = hold_fsync(&wal, &gate, first);
    let (done, rotated) = mpsc::channel();
    let rotating = Arc::clone(&wal);
    std::thread::spawn(move || {
        let _ = done.send(rotating.rotate());
    });
    std::thread::sleep(Duration::from_millis(50));
    assert!(matches!(rotated.try_recv(), Err(mpsc::TryRecvError::Empty)));
    gate.open(false);
    running.recv_timeout(PATIENCE).unwrap().unwrap();
    assert_eq!(rotated.recv_timeout(PATIENCE).unwrap().unwrap(), 2);
    let next = record(&wal, b"in the new segment");
    assert_eq!(next.segment, 2);
    wal.sync_to(next).unwrap();
}

#[test]
fn a_panic_in_an_fsync_fails_every_later_sync_instead_of_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let (wal, gate) = gated_wal(tmp.path());
    let (first, running, waiting) = fsync_held_with_a_waiter(&wal, &gate);
    gate.state.lock().panic_next = true;
    gate.open(false);
    // The syncing thread died (its sender was dropped without a result).
    assert!(running.recv_timeout(PATIENCE).is_err());
    assert_everything_after_fails(&wal, first, waiting);
}

#[test]
fn a_lost_buffer_write_fails_every_later_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = FaultyFileSystem::new(Arc::new(OsFileSystem));
    let wal = Wal::create(Arc::new(fs.clone()), tmp.path(), 1, 1 << 20).unwrap();
    let buffered = record(&wal, b"buffered, not yet written");
    fs.arm(FaultPlan {
        kind: Some(CallKind::Append),
        ..FaultPlan::nth_call(1, Fault::Eio)
    });
    assert!(matches!(wal.sync_to(buffered), Err(Error::Io { .. })));
    fs.disarm();
    // The bytes are gone from the buffer and never reached the file: a
    // second attempt must not fsync what is there and call them durable.
    assert!(matches!(wal.sync_to(buffered), Err(Error::Poisoned { .. })));
    let later = record(&wal, b"later");
    assert!(matches!(wal.sync_to(later), Err(Error::Poisoned { .. })));
}
