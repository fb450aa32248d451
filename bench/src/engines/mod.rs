//! One small adapter per engine behind a common trait, [`Engine`].
//!
//! Every adapter opens its engine with the engine's documented defaults and
//! says in [`EngineKind::durability`] what a buffered write, a durable flush
//! and a sync write mean for it. Adapters for the peers exist only when
//! their cargo feature is on (`fjall`, `redb`, `sled` by default;
//! `rocksdb` on request).

use serde::{Deserialize, Serialize};
use std::path::Path;

mod holdfast;

#[cfg(feature = "fjall")]
mod fjall;
#[cfg(feature = "redb")]
mod redb;
#[cfg(feature = "rocksdb")]
mod rocksdb;
#[cfg(feature = "sled")]
mod sled;

/// Errors from any engine, boxed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result of an engine call.
pub type Result<T> = std::result::Result<T, Error>;

/// Whether [`Engine::compact`] did anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compacted {
    /// A full manual compaction ran to completion.
    Yes,
    /// The engine has no manual compaction.
    Unsupported,
}

/// What the workloads need from a storage engine. A handle is used by one
/// thread at a time; [`Engine::share`] gives each further thread its own
/// handle on the same open database.
pub trait Engine: Send {
    /// Another handle on the same open database, for another thread.
    /// Dropping it must leave the database open.
    fn share(&self) -> Result<Box<dyn Engine>>;
    /// Sets `key` to `value` with the engine's default (buffered) durability.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Sets `key` to `value` and returns only once it is on stable storage.
    fn sync_put(&self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Reads `key`, returning the length of its value if present. The value
    /// is read but not copied where the engine can avoid it.
    fn get(&self, key: &[u8]) -> Result<Option<usize>>;
    /// Seeks to the first key `>= from` and reads up to `n` pairs; returns
    /// how many it read.
    fn scan(&self, from: &[u8], n: usize) -> Result<usize>;
    /// Makes every write acknowledged so far durable.
    fn flush_durable(&self) -> Result<()>;
    /// Compacts the whole database, if the engine can.
    fn compact(&mut self) -> Result<Compacted>;
    /// Closes cleanly: everything durable, files released.
    fn close(self: Box<Self>) -> Result<()>;
    /// Defines a retention policy for [`Engine::put_retained`]; `false`
    /// if the engine has no per-record retention (every peer).
    fn define_retention_policy(&self) -> Result<bool> {
        Ok(false)
    }
    /// Sets `key` to `value` under the policy of
    /// [`Engine::define_retention_policy`], buffered like [`Engine::put`].
    fn put_retained(&self, _key: &[u8], _value: &[u8]) -> Result<()> {
        Err("no per-record retention in this engine".into())
    }
}

/// The engines this binary knows about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// holdfast, this crate's subject.
    Holdfast,
    /// RocksDB through the `rocksdb` crate.
    Rocksdb,
    /// fjall.
    Fjall,
    /// redb.
    Redb,
    /// sled.
    Sled,
}

impl EngineKind {
    /// Every engine, holdfast first.
    pub const ALL: [EngineKind; 5] = [
        EngineKind::Holdfast,
        EngineKind::Rocksdb,
        EngineKind::Fjall,
        EngineKind::Redb,
        EngineKind::Sled,
    ];

    /// The engines compiled into this binary.
    pub fn available() -> Vec<EngineKind> {
        Self::ALL.into_iter().filter(|e| e.compiled_in()).collect()
    }

    /// Whether this binary was built with the engine's feature.
    pub fn compiled_in(self) -> bool {
        match self {
            EngineKind::Holdfast => true,
            EngineKind::Rocksdb => cfg!(feature = "rocksdb"),
            EngineKind::Fjall => cfg!(feature = "fjall"),
            EngineKind::Redb => cfg!(feature = "redb"),
            EngineKind::Sled => cfg!(feature = "sled"),
        }
    }

    /// Lower-case name, as used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Holdfast => "holdfast",
            EngineKind::Rocksdb => "rocksdb",
            EngineKind::Fjall => "fjall",
            EngineKind::Redb => "redb",
            EngineKind::Sled => "sled",
        }
    }

    /// Parses a name given on the command line.
    pub fn parse(name: &str) -> Option<EngineKind> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The version of the crate used (from the workspace's `Cargo.lock`).
    pub fn version(self) -> &'static str {
        match self {
            EngineKind::Holdfast => env!("BENCH_VERSION_HOLDFAST"),
            EngineKind::Rocksdb => env!("BENCH_VERSION_ROCKSDB"),
            EngineKind::Fjall => env!("BENCH_VERSION_FJALL"),
            EngineKind::Redb => env!("BENCH_VERSION_REDB"),
            EngineKind::Sled => env!("BENCH_VERSION_SLED"),
        }
    }

    /// Whether a sync write ends in an fsync or fdatasync (data and the
    /// metadata needed to read it back, through the device's cache). sled's
    /// `flush()` uses `sync_file_range`, which does neither; its full fsync
    /// runs every 500 ms in a background thread.
    pub fn sync_is_fsync(self) -> bool {
        self != EngineKind::Sled
    }

    /// The durability settings the adapter uses, in words.
    pub fn durability(self) -> &'static str {
        match self {
            EngineKind::Holdfast => {
                "Options::default(): a write returns once it is in the WAL (handed to the OS, \
                 survives a process crash); durable flush = Db::flush (fsync of the WAL); sync \
                 write = WriteOptions::sync(true) (fsync, group commit)"
            }
            EngineKind::Rocksdb => {
                "DB::open_default (WAL on, WriteOptions::sync = false: handed to the OS, survives \
                 a process crash; snappy compression as built); durable flush = flush_wal(true); \
                 sync write = WriteOptions::set_sync(true)"
            }
            EngineKind::Fjall => {
                "Database::builder(path).open() and one default keyspace: each write is flushed \
                 to the OS (PersistMode::Buffer, survives a process crash); durable flush = \
                 persist(SyncAll); sync write = insert then persist(SyncAll)"
            }
            EngineKind::Redb => {
                "Database::create (default Durability::Immediate: every commit fsyncs). Buffered \
                 write = one transaction per put with Durability::None (kept in memory until the \
                 next durable commit; lost on a crash); durable flush = an empty Immediate \
                 commit; sync write = one Immediate transaction per put"
            }
            EngineKind::Sled => {
                "sled::open (no fsync per write: writes sit in sled's log buffer, flushed every \
                 500 ms by a background thread; writes since the last flush are lost if the \
                 process dies); durable flush = flush(); sync write = insert then flush(). \
                 Caveat: on Linux sled's flush() ends in sync_file_range, not fsync (no \
                 file metadata, no device-cache flush; a real fsync runs every 500 ms), so its \
                 sync writes promise less than the others' and are left out of the ratios"
            }
        }
    }

    /// Opens (creating if missing) a database of this engine in `dir`.
    pub fn open(self, dir: &Path) -> Result<Box<dyn Engine>> {
        match self {
            EngineKind::Holdfast => Ok(Box::new(holdfast::Holdfast::open(dir)?)),
            #[cfg(feature = "rocksdb")]
            EngineKind::Rocksdb => Ok(Box::new(rocksdb::Rocks::open(dir)?)),
            #[cfg(feature = "fjall")]
            EngineKind::Fjall => Ok(Box::new(fjall::Fjall::open(dir)?)),
            #[cfg(feature = "redb")]
            EngineKind::Redb => Ok(Box::new(redb::Redb::open(dir)?)),
            #[cfg(feature = "sled")]
            EngineKind::Sled => Ok(Box::new(sled::Sled::open(dir)?)),
            #[allow(unreachable_patterns)]
            other => Err(format!(
                "{} is not compiled in: rebuild with `--features {}`",
                other.name(),
                other.name()
            )
            .into()),
        }
    }
}
