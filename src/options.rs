//! Options for opening a database ([`Options`]) and for one write
//! ([`WriteOptions`]).

use crate::fs::{FileSystem, OsFileSystem};
use std::sync::Arc;

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
        }
    }
}

/// Smallest accepted `memtable_bytes`.
pub(crate) const MEMTABLE_BYTES_MIN: usize = 64 << 10;

impl Options {
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
        Ok(())
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
        assert!(o.memtable_bytes(1).validate().is_err());
        assert_eq!(WriteOptions::new().sync(true).sync, Some(true));
        assert_eq!(WriteOptions::default().sync, None);
    }
}
