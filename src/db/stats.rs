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
    /// Bytes of committed batches (keys, values and their framing in the
    /// batch encoding).
    pub user_bytes: AtomicU64,
    /// Bytes appended to the WAL (batches with the WAL's frame headers).
    pub wal_bytes: AtomicU64,
    /// Table bytes written by flushes.
    pub flush_bytes: AtomicU64,
    /// Table bytes read and written by compactions (moves excluded).
    pub compaction_read_bytes: AtomicU64,
    pub compaction_write_bytes: AtomicU64,
    /// Point reads of a table that its bloom filter answered "absent".
    pub filter_useful: AtomicU64,
    /// Point reads that passed a table's bloom filter but found no version.
    pub filter_false_positives: AtomicU64,
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
    /// Bytes of committed batches since open (keys, values and the batch
    /// encoding's few bytes per entry): what the application wrote.
    pub user_bytes_written: u64,
    /// Bytes appended to the WAL since open.
    pub wal_bytes_written: u64,
    /// Table bytes written by flushes since open.
    pub flush_bytes_written: u64,
    /// Table bytes read by compactions since open (moves excluded).
    pub compaction_bytes_read: u64,
    /// Table bytes written by compactions since open.
    pub compaction_bytes_written: u64,
    /// Point reads of a table skipped because its bloom filter said the
    /// key is absent.
    pub filter_useful: u64,
    /// Point reads that passed a table's bloom filter and found no version
    /// of the key (a false positive, or only versions newer than the read);
    /// once per table and lookup, tables without a filter not counted.
    /// Both filter counts include the engine's own lookups (the records
    /// layer's write checks, disposal verdicts).
    pub filter_false_positives: u64,
    /// Bytes in the frozen memtables (waiting for their flush).
    pub frozen_memtable_bytes: u64,
    /// Entries (versions and tombstones) per level, from table properties.
    pub level_entries: Vec<u64>,
}

impl Stats {
    /// Bytes of every table file.
    pub fn table_bytes(&self) -> u64 {
        self.level_bytes.iter().sum()
    }

    /// Bytes written to disk (WAL, flushes, compactions) per byte the
    /// application wrote, since open; `None` before the first write.
    pub fn write_amplification(&self) -> Option<f64> {
        let disk =
            self.wal_bytes_written + self.flush_bytes_written + self.compaction_bytes_written;
        (self.user_bytes_written > 0).then(|| disk as f64 / self.user_bytes_written as f64)
    }

    /// Table bytes per byte of the last level: how much more space the
    /// tree takes than its data would once fully compacted (1.0 when all
    /// tables are in one level). An estimate — the last level still holds
    /// versions that newer levels shadow. `None` with no tables.
    pub fn space_amplification(&self) -> Option<f64> {
        let last = self.level_bytes.iter().rev().find(|&&b| b > 0)?;
        Some(self.table_bytes() as f64 / *last as f64)
    }
}
