//! Options for opening a database ([`Options`]) and for one write
//! ([`WriteOptions`]).

use crate::fs::{FileSystem, OsFileSystem};
use crate::records::{Clock, Disposal, SystemClock};
use std::sync::Arc;
use std::time::Duration;

/// What recovery does with damage in the write-ahead log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecoveryMode {
    /// A torn or damaged tail of the *newest* WAL segment — what a crash in
    /// the middle of a write leaves behind — is cut away, keeping every
    /// complete record before it. Damage anywhere else is
    /// [`Error::Corruption`](crate::Error::Corruption). This never loses a
    /// synced write: a synced record is complete and never followed by the
    /// damage of an earlier crash. The default.
    #[default]
    TolerateTornTail,
    /// Any damage, including a torn tail, is
    /// [`Error::Corruption`](crate::Error::Corruption) and the database does
    /// not open. For forensic use: after a crash during a buffered write,
    /// a database in this mode will refuse to open until inspected.
    Strict,
}

/// How to open a database. Build with [`Options::default`] and the builder
/// methods:
///
/// ```
/// let options = holdfast::Options::default()
///     .sync_writes(true)
///     .memtable_bytes(16 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) create_if_missing: bool,
    pub(crate) sync_writes: bool,
    pub(crate) memtable_bytes: usize,
    pub(crate) recovery_mode: RecoveryMode,
    pub(crate) wal_buffer_bytes: usize,
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) max_frozen_memtables: usize,
    pub(crate) background_threads: usize,
    pub(crate) max_open_tables: usize,
    pub(crate) table_block_bytes: usize,
    pub(crate) bloom_bits_per_key: u32,
    pub(crate) verify_checksums: bool,
    pub(crate) target_table_bytes: u64,
    pub(crate) level1_bytes: u64,
    pub(crate) level_size_ratio: u64,
    pub(crate) l0_compaction_trigger: usize,
    pub(crate) l0_slowdown_trigger: usize,
    pub(crate) l0_stop_trigger: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) disposal: Disposal,
    pub(crate) purge_window: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_if_missing: true,
            sync_writes: false,
            memtable_bytes: 64 << 20,
            recovery_mode: RecoveryMode::default(),
            wal_buffer_bytes: 0,
            fs: Arc::new(OsFileSystem),
            max_frozen_memtables: 2,
            background_threads: 2,
            max_open_tables: 1000,
            table_block_bytes: 4096,
            bloom_bits_per_key: 10,
            verify_checksums: true,
            target_table_bytes: 8 << 20,
            level1_bytes: 64 << 20,
            level_size_ratio: 10,
            l0_compaction_trigger: 4,
            l0_slowdown_trigger: 8,
            l0_stop_trigger: 12,
            clock: Arc::new(SystemClock),
            disposal: Disposal::Automatic,
            purge_window: Duration::from_secs(24 * 3600),
        }
    }
}

/// Smallest accepted `memtable_bytes`.
pub(crate) const MEMTABLE_BYTES_MIN: usize = 64 << 10;

impl Options {
    /// The records layer's clock (default [`SystemClock`]); tests travel in
    /// time with a [`ManualClock`](crate::ManualClock). The engine never
    /// lets its time run backwards, whatever the clock says (RECORDS.md
    /// rule 8).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Who disposes of eligible records (default [`Disposal::Automatic`]).
    pub fn disposal(mut self, disposal: Disposal) -> Self {
        self.disposal = disposal;
        self
    }

    /// How soon after a delete or disposal its bytes must be gone from
    /// every file of the database (default 24 hours): a background purge
    /// runs when the oldest pending erasure is this old. See
    /// [`Db::purge`](crate::Db::purge).
    pub fn purge_window(mut self, window: Duration) -> Self {
        self.purge_window = window;
        self
    }

    /// Create the directory if it does not exist (default `true`); when
    /// `false`, opening a missing database is an error.
    pub fn create_if_missing(mut self, yes: bool) -> Self {
        self.create_if_missing = yes;
        self
    }

    /// The default durability of writes (default `false`).
    ///
    /// * `false` — a write returns once it is in the operating system's
    ///   page cache. It survives a crash of the process, but a power cut or
    ///   kernel crash may lose the last writes acknowledged before it (never
    ///   part of a batch, never an older write while a newer one survives).
    ///   Call [`Db::flush`](crate::Db::flush) to make everything durable.
    ///   This is what RocksDB and LevelDB do by default, and it is many
    ///   times faster.
    /// * `true` — a write returns only after its bytes are fsynced.
    ///   Concurrent writers share one fsync (group commit).
    ///
    /// Override per write with [`WriteOptions::sync`].
    pub fn sync_writes(mut self, yes: bool) -> Self {
        self.sync_writes = yes;
        self
    }

    /// Memory the active memtable may use before it is frozen and a fresh
    /// one (and a fresh WAL segment) takes the writes (default 64 MiB,
    /// minimum 64 KiB).
    pub fn memtable_bytes(mut self, bytes: usize) -> Self {
        self.memtable_bytes = bytes;
        self
    }

    /// What recovery does with a damaged log (default
    /// [`RecoveryMode::TolerateTornTail`]).
    pub fn recovery_mode(mut self, mode: RecoveryMode) -> Self {
        self.recovery_mode = mode;
        self
    }

    /// Bytes of buffered (not synced) writes the WAL may hold in the
    /// process's memory before handing them to the operating system
    /// (default 0: every commit is written to the operating system before it
    /// is acknowledged).
    ///
    /// With 0, an acknowledged buffered write survives a crash of the
    /// process (not of the machine), as in RocksDB and LevelDB. With, say,
    /// `64 << 10`, small buffered writes cost no system call each — several
    /// times faster on small values — but a crash of the process loses the
    /// buffered writes not yet handed over (at most this many bytes; never
    /// part of a batch). Sync writes, [`Db::flush`](crate::Db::flush), memtable
    /// rotation and close always write the buffer out first.
    pub fn wal_buffer_bytes(mut self, bytes: usize) -> Self {
        self.wal_buffer_bytes = bytes;
        self
    }

    /// Frozen memtables that may wait for their flush before writers stall
    /// (default 2). Bounds the memory of memtables to
    /// `(1 + max_frozen_memtables) × memtable_bytes`.
    pub fn max_frozen_memtables(mut self, count: usize) -> Self {
        self.max_frozen_memtables = count;
        self
    }

    /// Threads that flush memtables and compact tables (default 2, at
    /// least 1).
    pub fn background_threads(mut self, count: usize) -> Self {
        self.background_threads = count;
        self
    }

    /// Tables kept open (mapped, with index and filter parsed) at once
    /// (default 1000).
    pub fn max_open_tables(mut self, count: usize) -> Self {
        self.max_open_tables = count;
        self
    }

    /// Target size of a table's data blocks (default 4 KiB).
    pub fn table_block_bytes(mut self, bytes: usize) -> Self {
        self.table_block_bytes = bytes;
        self
    }

    /// Bloom-filter bits per key in each table (default 10: about 1%
    /// false positives; 0 disables the filter).
    pub fn bloom_bits_per_key(mut self, bits: u32) -> Self {
        self.bloom_bits_per_key = bits;
        self
    }

    /// Verify the CRC of every table block on every read (default `true`).
    /// Footers, indexes and filters are always verified when a table opens.
    pub fn verify_checksums(mut self, yes: bool) -> Self {
        self.verify_checksums = yes;
        self
    }

    /// Size at which compaction starts a new output table (default 8 MiB).
    pub fn target_table_bytes(mut self, bytes: u64) -> Self {
        self.target_table_bytes = bytes;
        self
    }

    /// Target size of level 1 (default 64 MiB); level `n` targets
    /// `level1_bytes × level_size_ratio^(n-1)`.
    pub fn level1_bytes(mut self, bytes: u64) -> Self {
        self.level1_bytes = bytes;
        self
    }

    /// Growth factor between levels (default 10).
    pub fn level_size_ratio(mut self, ratio: u64) -> Self {
        self.level_size_ratio = ratio;
        self
    }

    /// Level-0 table counts that trigger a compaction (default 4), slow
    /// writers down by 1 ms each (default 8), and stall them until
    /// compaction catches up (default 12).
    pub fn l0_triggers(mut self, compact: usize, slowdown: usize, stop: usize) -> Self {
        self.l0_compaction_trigger = compact;
        self.l0_slowdown_trigger = slowdown;
        self.l0_stop_trigger = stop;
        self
    }

    /// The file system to use (default: the operating system's). The
    /// reliability suites pass simulated and fault-injecting ones.
    pub fn file_system(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.fs = fs;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.memtable_bytes < MEMTABLE_BYTES_MIN {
            return Err(format!(
                "memtable_bytes is {}, the minimum is {MEMTABLE_BYTES_MIN}",
                self.memtable_bytes
            ));
        }
        let checks = [
            (
                self.max_frozen_memtables >= 1,
                "max_frozen_memtables must be at least 1",
            ),
            (
                self.background_threads >= 1,
                "background_threads must be at least 1",
            ),
            (
                self.max_open_tables >= 1,
                "max_open_tables must be at least 1",
            ),
            (
                (256..=1 << 20).contains(&self.table_block_bytes),
                "table_block_bytes must be 256 B to 1 MiB",
            ),
            (
                self.bloom_bits_per_key <= 64,
                "bloom_bits_per_key must be at most 64",
            ),
            (
                self.target_table_bytes >= 4096,
                "target_table_bytes must be at least 4 KiB",
            ),
            (
                self.level1_bytes >= 4096,
                "level1_bytes must be at least 4 KiB",
            ),
            (
                self.level_size_ratio >= 2,
                "level_size_ratio must be at least 2",
            ),
            (
                1 <= self.l0_compaction_trigger
                    && self.l0_compaction_trigger <= self.l0_slowdown_trigger
                    && self.l0_slowdown_trigger <= self.l0_stop_trigger,
                "l0 triggers must satisfy 1 <= compact <= slowdown <= stop",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err((*why).to_string()),
            None => Ok(()),
        }
    }

    pub(crate) fn table_options(&self) -> crate::table::TableOptions {
        crate::table::TableOptions {
            block_bytes: self.table_block_bytes,
            bloom_bits_per_key: self.bloom_bits_per_key,
            verify_checksums: self.verify_checksums,
            ..crate::table::TableOptions::default()
        }
    }

    pub(crate) fn picker_options(&self) -> crate::compaction::picker::PickerOptions {
        crate::compaction::picker::PickerOptions {
            l0_trigger: self.l0_compaction_trigger,
            level1_bytes: self.level1_bytes,
            level_ratio: self.level_size_ratio,
        }
    }
}

/// Options for one write. `WriteOptions::default()` uses the database's
/// [`Options::sync_writes`].
///
/// ```
/// # fn main() -> holdfast::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let db = holdfast::Db::open(dir.path(), holdfast::Options::default())?;
/// let mut batch = holdfast::WriteBatch::new();
/// batch.put("invoice/1", "paid");
/// // Returns only once the batch is on stable storage.
/// db.write_opt(batch, &holdfast::WriteOptions::new().sync(true))?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub(crate) sync: Option<bool>,
    pub(crate) bypass: Option<String>,
    pub(crate) actor: Option<String>,
}

impl WriteOptions {
    /// Options that follow the database's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether this write returns only after it is fsynced.
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = Some(yes);
        self
    }

    /// Allows this write the privileged Governance overrides — overwrite
    /// or delete a protected record early, shorten or remove its retention,
    /// change its mode to Compliance — for `reason`, which the audit trail
    /// records. It never bypasses Compliance mode or a legal hold.
    pub fn bypass_governance(mut self, reason: impl Into<String>) -> Self {
        self.bypass = Some(reason.into());
        self
    }

    /// Who makes this write, as the audit trail records it (default
    /// `"application"`).
    pub fn actor(mut self, name: impl Into<String>) -> Self {
        self.actor = Some(name.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let o = Options::default();
        assert!(o.create_if_missing);
        assert!(!o.sync_writes);
        assert_eq!(o.memtable_bytes, 64 << 20);
        assert_eq!(o.recovery_mode, RecoveryMode::TolerateTornTail);
        assert_eq!(o.wal_buffer_bytes, 0);
        assert!(o.validate().is_ok());
        assert_eq!(o.background_threads, 2);
        assert!(o.clone().memtable_bytes(1).validate().is_err());
        assert!(o.clone().l0_triggers(4, 3, 12).validate().is_err());
        assert!(o.clone().background_threads(0).validate().is_err());
        assert_eq!(WriteOptions::new().sync(true).sync, Some(true));
        assert_eq!(WriteOptions::default().sync, None);
    }
}
