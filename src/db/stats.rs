//! Statistics: counters the engine bumps as it works, and the [`Stats`]
//! snapshot [`Db::stats`](crate::Db::stats) returns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The engine's running counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub flushes: AtomicU64,
    pub compactions: AtomicU64,
    pub stalls: AtomicU64,
    pub stall_micros: AtomicU64,
    pub slowdowns: AtomicU64,
    pub slowdown_micros: AtomicU64,
}

impl Counters {
    pub(crate) fn add_stall(&self, waited: Duration) {
        self.stalls.fetch_add(1, Ordering::Relaxed);
        self.stall_micros
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_slowdown(&self, waited: Duration) {
        self.slowdowns.fetch_add(1, Ordering::Relaxed);
        self.slowdown_micros
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
    }
}

/// A point-in-time summary of the database's shape and activity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Memtables written to level-0 tables since open.
    pub flushes: u64,
    /// Compactions (including moves) finished since open.
    pub compactions: u64,
    /// Times a writer was stalled until background work caught up, and the
    /// total time spent stalled.
    pub stalls: u64,
    /// Total stall time, in microseconds.
    pub stall_micros: u64,
    /// Write groups slowed down because level 0 is filling, and the total
    /// time spent in those slowdowns, in microseconds.
    pub slowdowns: u64,
    /// Total slowdown time, in microseconds.
    pub slowdown_micros: u64,
    /// Tables per level (index 0 is level 0).
    pub level_tables: Vec<usize>,
    /// File bytes per level.
    pub level_bytes: Vec<u64>,
    /// Approximate bytes in the active memtable.
    pub active_memtable_bytes: u64,
    /// Frozen memtables waiting for (or in) their flush.
    pub frozen_memtables: usize,
    /// Tables open in the table cache.
    pub open_tables: usize,
    /// The newest sequence number (writes applied since the database was
    /// created).
    pub last_seq: u64,
    /// Legal holds in force.
    pub holds: usize,
    /// Retention policies defined.
    pub policies: usize,
    /// Distinct (event, scope) pairs recorded for event-based policies.
    pub recorded_events: usize,
    /// Disposal receipts written since open.
    pub disposed: u64,
}

impl Stats {
    /// Bytes of every table file.
    pub fn table_bytes(&self) -> u64 {
        self.level_bytes.iter().sum()
    }
}
