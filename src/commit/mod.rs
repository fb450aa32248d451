//! Group commit: the write path from a caller's batch to a durable,
//! visible write.
//!
//! Writers queue their requests. The writer at the front of the queue is
//! the *leader*: it takes a group of requests from the front, gives them
//! consecutive sequence numbers, appends all of them to the WAL with one
//! `write`, inserts them into the memtable and publishes their sequence
//! numbers. It then hands leadership to the next waiting writer *before*
//! it fsyncs, so the next group is written while this one is synced, and a
//! single fsync covers every member of the group that asked for one.
//!
//! # Invariants
//! 1. At most one leader at a time. `leader_active == false` implies the
//!    queue is empty, so a writer that finds no leader is at the front.
//! 2. Sequence numbers are assigned, written and published in queue order;
//!    `Engine::visible_seq` moves only after every entry of the group is
//!    in the memtable, so a batch is never half-visible.
//! 3. A failed WAL append or fsync poisons the engine: durability of the
//!    log tail is unknown, and retrying an fsync is unsafe.
//! 4. A write is acknowledged (its caller returns `Ok`) only after it is in
//!    the WAL, in the memtable and visible, and — if it asked for sync —
//!    after an fsync that started after its append.

use crate::batch::{BatchOps, WriteBatch};
use crate::db::Engine;
use crate::key::SEQ_MAX;
use crate::records::check::{CheckView, Overlay, WriteContext};
use crate::records::Unaudited;
use crate::wal::format::encode_record;
use crate::wal::WalPosition;
use crate::{Error, Result};
use bytes::Bytes;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A leader takes requests from the queue until the group holds this many
/// encoded bytes (it always takes at least its own).
const GROUP_BYTES_MAX: usize = 1 << 20;

/// What a request asks the leader to do.
#[derive(Debug)]
pub(crate) enum Work {
    /// Commit a batch (the context carries the records layer's bypass
    /// and actor).
    Write(WriteBatch, WriteContext),
    /// Refuse every later request: the database is closing.
    Close,
    /// Freeze the active memtable if it holds anything, so that it is
    /// flushed (for `Db::flush_memtables`).
    Freeze,
    /// Take a checkpoint's cut (see `db::checkpoint`): always alone in its
    /// group, so it falls between two groups' writes.
    Checkpoint(crate::db::CutSlot),
}

#[derive(Debug)]
enum Slot {
    Waiting,
    Lead,
    Done(Result<()>),
}

/// One writer's place in the queue.
#[derive(Debug)]
pub(crate) struct Request {
    work: Mutex<Option<Work>>,
    sync: bool,
    bytes: usize,
    /// Runs in a group of its own (a checkpoint's cut).
    alone: bool,
    slot: Mutex<Slot>,
    wake: Condvar,
}

impl Request {
    fn finish(&self, result: Result<()>) {
        *self.slot.lock() = Slot::Done(result);
        self.wake.notify_one();
    }
}

#[derive(Debug, Default)]
struct QueueState {
    pending: VecDeque<Arc<Request>>,
    leader_active: bool,
}

/// The queue of writers waiting to commit.
#[derive(Debug, Default)]
pub(crate) struct CommitQueue {
    state: Mutex<QueueState>,
    /// The leader's buffers, kept between groups so a commit allocates
    /// nothing for them. Only the leader locks it.
    scratch: Mutex<Scratch>,
}

/// What the records layer's checks of one group share, made on first use.
struct GroupChecks {
    state: Option<Arc<crate::db::SuperVersion>>,
    /// The newest sequence number published before the group.
    seq: u64,
    overlay: Option<Overlay>,
    /// The group has more than one request (the overlay may be read).
    track: bool,
}

#[derive(Debug, Default)]
struct Scratch {
    framed: Vec<u8>,
    payloads: Vec<Bytes>,
    /// The group's retention-set entries (moved out while the group
    /// commits, put back empty).
    unaudited: Vec<Unaudited>,
}

impl CommitQueue {
    /// Queues `request`; true when the caller is now the leader.
    fn join(&self, request: &Arc<Request>) -> bool {
        let mut state = self.state.lock();
        state.pending.push_back(Arc::clone(request));
        !std::mem::replace(&mut state.leader_active, true)
    }

    /// The leader's group: a prefix of the queue, starting with the leader.
    fn take_group(&self) -> Vec<Arc<Request>> {
        let mut state = self.state.lock();
        let mut group: Vec<Arc<Request>> = Vec::new();
        let mut bytes = 0;
        while let Some(next) = state.pending.front() {
            if let Some(first) = group.first() {
                if bytes + next.bytes > GROUP_BYTES_MAX || first.alone || next.alone {
                    break;
                }
            }
            bytes += next.bytes;
            group.extend(state.pending.pop_front());
        }
        group
    }

    /// Passes leadership to the next waiting writer, if any.
    fn hand_off(&self) {
        let mut state = self.state.lock();
        match state.pending.front() {
            Some(next) => {
                *next.slot.lock() = Slot::Lead;
                next.wake.notify_one();
            }
            None => state.leader_active = false,
        }
    }
}

impl Engine {
    /// Runs `work` through the queue and returns its outcome.
    pub(crate) fn submit(&self, work: Work, sync: bool) -> Result<()> {
        let bytes = match &work {
            Work::Write(batch, _) if !batch.is_empty() => batch.encoded_len(),
            Work::Write(..) | Work::Close | Work::Freeze | Work::Checkpoint(_) => 0,
        };
        let alone = matches!(work, Work::Checkpoint(_));
        let request = Arc::new(Request {
            work: Mutex::new(Some(work)),
            sync,
            bytes,
            alone,
            slot: Mutex::new(Slot::Waiting),
            wake: Condvar::new(),
        });
        if !self.queue.join(&request) {
            let mut slot = request.slot.lock();
            loop {
                match std::mem::replace(&mut *slot, Slot::Waiting) {
                    Slot::Waiting => request.wake.wait(&mut slot),
                    Slot::Lead => break,
                    Slot::Done(result) => return result,
                }
            }
        }
        self.lead(&request)
    }

    /// The leader's duties; returns the leader's own outcome.
    fn lead(&self, me: &Arc<Request>) -> Result<()> {
        let group = self.queue.take_group();
        debug_assert!(
            group.first().is_some_and(|r| Arc::ptr_eq(r, me)),
            "invariant 1"
        );
        let (results, end) = self.commit_group(&group);
        self.queue.hand_off();

        // Members that need no sync (or failed) are done now; the others
        // wait for one fsync covering the whole group (invariant 4).
        let mut mine = None;
        let mut waiting_for_sync = Vec::new();
        for (request, result) in group.iter().zip(results) {
            if request.sync && result.is_ok() {
                waiting_for_sync.push(request);
            } else if Arc::ptr_eq(request, me) {
                mine = Some(result);
            } else {
                request.finish(result);
            }
        }
        if !waiting_for_sync.is_empty() {
            // Retention-set entries need no fsync here: they are
            // regenerated from the WAL this fsync makes durable.
            let synced = self.wal.sync_to(end).inspect_err(|e| self.poison(e));
            for request in waiting_for_sync {
                let result = match &synced {
                    Ok(()) => Ok(()),
                    Err(e) => Err(e.share()),
                };
                if Arc::ptr_eq(request, me) {
                    mine = Some(result);
                } else {
                    request.finish(result);
                }
            }
        }
        mine.unwrap_or(Ok(()))
    }

    /// Writes the group to the WAL and the memtable and publishes it.
    /// Returns each member's outcome and the WAL position after the group.
    fn commit_group(&self, group: &[Arc<Request>]) -> (Vec<Result<()>>, WalPosition) {
        let mut results: Vec<Result<()>> = Vec::with_capacity(group.len());
        let mut scratch = self.queue.scratch.lock();
        let Scratch {
            framed,
            payloads,
            unaudited,
        } = &mut *scratch;
        let mut audit_after = std::mem::take(unaudited);
        framed.clear();
        payloads.clear();
        let mut next_seq = self.visible_seq.load(Ordering::Acquire) + 1;
        let writes = group.iter().any(|r| r.bytes > 0);
        if writes {
            // Back-pressure before anything is assigned: a stall or a
            // closing database fails the group without poisoning it.
            if let Err(e) = self.make_room() {
                drop(scratch);
                let results = group.iter().map(|_| Err(e.share())).collect();
                return (results, self.wal.end());
            }
        }
        // The records layer's checks see the state as of the previous group
        // (published before this leader was chosen) plus this group's
        // earlier batches; taken only if a check runs.
        let mut checks = GroupChecks {
            state: None,
            seq: next_seq - 1,
            overlay: None,
            track: group.len() > 1,
        };
        let mut deletes = false;
        for request in group {
            let work = request.work.lock().take();
            let result = match work {
                _ if self.closed.load(Ordering::Acquire) => Err(Error::Closed),
                // Closing wins over poison: a poisoned database still closes.
                Some(Work::Close) => {
                    self.closed.store(true, Ordering::Release);
                    Ok(())
                }
                _ if self.is_poisoned() => Err(self.poisoned_error()),
                None => Err(Error::InvalidArgument(
                    "internal: request committed twice".into(),
                )),
                Some(Work::Freeze) => self.freeze_if_not_empty(),
                Some(Work::Checkpoint(slot)) => {
                    self.checkpoint_cut().map(|cut| *slot.lock() = Some(cut))
                }
                Some(Work::Write(batch, _)) if batch.is_empty() => Ok(()),
                Some(Work::Write(batch, ctx)) => {
                    let count = batch.len() as u64;
                    if next_seq + count > SEQ_MAX + 1 {
                        Err(Error::InvalidArgument("sequence numbers exhausted".into()))
                    } else {
                        self.checked(&mut checks, batch, next_seq, &ctx, &mut audit_after)
                            .map(|batch| {
                                deletes |= batch.has_deletes();
                                let payload = batch.seal(next_seq);
                                // This batch's entries: the tail not rebased yet.
                                let tail = audit_after.iter_mut().rev();
                                for entry in tail.take_while(|e| e.spans.is_some()) {
                                    entry.rebase(&payload);
                                }
                                next_seq += count;
                                encode_record(&payload, framed);
                                payloads.push(payload);
                            })
                    }
                }
            };
            results.push(result);
        }
        drop(checks);
        if framed.is_empty() {
            drop(scratch);
            return (results, self.wal.end());
        }
        let applied = self.append_and_apply(framed, payloads);
        payloads.clear(); // release the batches' buffers now
        if framed.capacity() > 4 * GROUP_BYTES_MAX {
            *framed = Vec::new(); // do not keep a huge batch's buffer
        }
        drop(scratch);
        match applied {
            Ok(end) => {
                // Invariant 2: publish only once everything is inserted.
                self.visible_seq.store(next_seq - 1, Ordering::Release);
                // Retention-set entries follow their WAL write (recovery
                // regenerates any a crash loses); the background threads
                // seal them into the trail.
                if self.records.queue_unaudited(&mut audit_after) {
                    self.background.notify_work();
                }
                if audit_after.capacity() > 0 {
                    // Kept for the next group (only a leader takes it).
                    self.queue.scratch.lock().unaudited = audit_after;
                }
                if deletes {
                    self.records.note_erasure_due();
                }
                (results, end)
            }
            Err(e) => {
                self.poison(&e);
                let failed = results
                    .into_iter()
                    .zip(group)
                    .map(|(result, request)| match result {
                        Ok(()) if request.bytes > 0 => Err(e.share()),
                        other => other,
                    })
                    .collect();
                (failed, self.wal.end())
            }
        }
    }

    /// Runs the records layer's checks on a batch when they can matter;
    /// returns the batch to commit, and pushes its retention-set entries
    /// onto `after` (the group's, queued once the group is in the WAL).
    /// Privileged changes are audited (fsynced) here, before the WAL write
    /// — after the retention-set entries of the group's earlier batches,
    /// to keep the trail in commit order.
    fn checked(
        &self,
        checks: &mut GroupChecks,
        batch: WriteBatch,
        first_seq: u64,
        ctx: &WriteContext,
        after: &mut Vec<Unaudited>,
    ) -> Result<WriteBatch> {
        if !batch.has_records() && !self.records.engaged() {
            return Ok(batch);
        }
        let state = checks.state.get_or_insert_with(|| self.current_state());
        let view = CheckView {
            engine: self,
            state,
            seq: checks.seq,
        };
        let overlay = checks.overlay.get_or_insert_with(Overlay::new);
        let earlier = after.len();
        let checked =
            self.records
                .check_batch(&view, overlay, batch, first_seq, ctx, checks.track, after)?;
        if !checked.before.is_empty() {
            // The trail keeps commit order: the group's earlier batches'
            // entries go in before this batch's privileged ones (like those,
            // they then stand even if the group's WAL write fails); this
            // batch's own entries wait for it.
            let mine = after.split_off(earlier);
            if self
                .records
                .queue_unaudited(&mut std::mem::replace(after, mine))
            {
                self.background.notify_work();
            }
            let actor = ctx
                .actor
                .as_deref()
                .unwrap_or(crate::records::DEFAULT_ACTOR);
            for event in checked.before {
                if let Err(e) = self.records.append(actor, event, true) {
                    after.clear(); // the batch is refused, and its entries
                    return Err(e);
                }
            }
        }
        // Nothing refuses the batch any more: later batches of the group
        // see its writes.
        overlay.extend(checked.local);
        if checked.batch.has_records() {
            self.records.engage();
        }
        Ok(checked.batch)
    }

    pub(crate) fn freeze_if_not_empty(&self) -> Result<()> {
        if self.current_state().active.is_empty() {
            return Ok(());
        }
        self.rotate_memtable().inspect_err(|e| self.poison(e))
    }

    /// Freezes the active memtable through the queue (only a leader may
    /// rotate).
    pub(crate) fn freeze_active_memtable(&self) -> Result<()> {
        self.submit(Work::Freeze, false)
    }

    fn append_and_apply(&self, framed: &[u8], payloads: &[Bytes]) -> Result<WalPosition> {
        if self.is_poisoned() {
            // E.g. a `Freeze` earlier in this group failed to rotate the WAL.
            return Err(self.poisoned_error());
        }
        let end = self.wal.append(framed)?;
        let user_bytes: usize = payloads.iter().map(Bytes::len).sum();
        self.stats
            .user_bytes
            .fetch_add(user_bytes as u64, Ordering::Relaxed);
        self.stats
            .wal_bytes
            .fetch_add(framed.len() as u64, Ordering::Relaxed);
        let memtables = self.current_state();
        let internal = |(offset, why)| {
            // Our own encoding, just made: decoding cannot fail.
            Error::InvalidArgument(format!("internal: batch re-decode at {offset}: {why}"))
        };
        for payload in payloads {
            for op in BatchOps::new(payload).map_err(internal)? {
                memtables.active.insert(&op.map_err(internal)?);
            }
        }
        Ok(end)
    }
}
