//! # holdfast
//!
//! An embedded, log-structured key-value store that applications link as
//! their records layer.
//!
//! The storage engine: a segmented write-ahead log with group commit, a
//! concurrent memtable, immutable sorted tables read through `mmap`
//! (bloom filters, checksummed blocks), a manifest, and background leveled
//! compaction with back-pressure — with atomic batches, snapshots and
//! double-ended range and prefix iterators on top. See
//! `docs/ARCHITECTURE.md`.
//!
//! The records layer ([`records`], guide in `docs/RECORDS.md`): per-record
//! retention in Governance or Compliance mode ([`Db::put_with`],
//! [`Retention`]), expiry and disposal with receipts, policies with
//! events ([`Policy`], [`Db::record_event`]), legal holds
//! ([`Db::place_hold`]), provable erasure ([`Db::purge`]) and a
//! hash-chained audit trail ([`Db::audit`]).
//!
//! Typed collections ([`collection`], [`Db::collection`]): serde values
//! under typed keys whose byte encoding keeps their order, as key
//! prefixes of one database, with typed range and prefix scans.
//!
//! ```
//! # fn main() -> holdfast::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! use holdfast::{Db, Options, WriteBatch};
//!
//! let db = Db::open(dir.path(), Options::default())?;
//! db.put("user/1", "ada")?;
//! let mut batch = WriteBatch::new();
//! batch.put("user/2", "grace").delete("user/1");
//! db.write(batch)?;
//! let users: Vec<_> = db.prefix("user/").collect::<holdfast::Result<_>>()?;
//! assert_eq!(users.len(), 1);
//! db.flush()?; // everything acknowledged so far is now durable
//! # Ok(()) }
//! ```
//!
//! ## Durability
//! By default a write returns once it is in the operating system's page
//! cache (it survives a process crash; a power cut may lose the last
//! writes). [`Options::sync_writes`] or [`WriteOptions::sync`] make a write
//! return only after an fsync; concurrent writers share one fsync.
//! [`Db::flush`] makes everything acknowledged so far durable. A batch is
//! atomic in every case, also across crashes. An I/O error that leaves
//! durability unknown (a failed WAL write or fsync) makes the handle refuse
//! writes with [`Error::Poisoned`] until the database is reopened; it never
//! retries an fsync. [`Options::wal_buffer_bytes`] trades a little safety
//! (a process crash may lose the buffered tail) for speed.
//!
//! ## The records model
//! A record is a key whose newest version was written with [`Retention`]:
//! a retain-until date in Governance mode (privileged callers may shorten
//! it, with [`WriteOptions::bypass_governance`], audited) or Compliance
//! mode (nobody can; the date only moves later), an optional expiry, and
//! an optional policy whose dates may wait for an event
//! ([`Db::record_event`]). While retained or held ([`Db::place_hold`]) a
//! record cannot be overwritten or deleted ([`Error::RetentionLocked`],
//! [`Error::Held`]). Once expired and unheld it is hidden from reads at
//! once and disposed of — by compaction ([`Disposal::Automatic`]) or on
//! approval ([`Db::dispose`]) — with a receipt in the audit trail;
//! [`Db::purge`] erases deleted bytes from every file. Every retention
//! event is an entry of the SHA-256 hash chain ([`Db::audit`]); keep
//! [`Audit::checkpoint`]s elsewhere to detect truncation or rewrites.
//! Dates come from [`Options::clock`] and never go backwards across
//! reopens. The guide, with the honest limits of an embedded library, is
//! `docs/RECORDS.md`.
//!
//! ## Operating it
//! [`Db::stats`] (counters, amplification, the shape of the tree),
//! [`Db::record_stats`] (records by state), [`Db::checkpoint`] (a
//! consistent online backup, see below), and events through the
//! [`log`](https://docs.rs/log) facade. The `holdfast` command-line tool
//! (`cli/`) verifies and dumps every file; [`inspect`] is its library side.
//!
//! ```
//! # fn main() -> holdfast::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let db = holdfast::Db::open(dir.path().join("db"), holdfast::Options::default())?;
//! db.put("k", "v")?;
//! let backup = db.checkpoint(dir.path().join("backup"))?; // writers need not stop
//! assert_eq!(backup.snapshot().get("k")?.as_deref(), Some(&b"v"[..]));
//! println!("write amplification: {:?}", db.stats().write_amplification());
//! # Ok(()) }
//! ```
//!
//! ## Limits
//! Keys are 1 to [`KEY_LEN_MAX`] (65,536) bytes; values up to
//! [`VALUE_LEN_MAX`] (256 MiB); a batch up to [`BATCH_BYTES_MAX`] (1 GiB)
//! encoded. Anything past a limit is [`Error::InvalidArgument`], and
//! nothing is written. One process opens a database at a time (a
//! directory lock; a second open is [`Error::Locked`]). Unix only (file
//! modes, `mmap`). The retention guarantees hold against the application
//! and its users, not against someone who can rewrite the files: the audit
//! trail makes such tampering evident, it cannot prevent it.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
mod batch;
mod codec;
pub mod collection;
mod commit;
mod compaction;
mod db;
mod error;
pub mod fs;
#[doc(hidden)]
pub mod fuzzing;
pub mod inspect;
mod iter;
mod key;
mod manifest;
mod memtable;
mod options;
pub mod records;
mod snapshot;
mod table;
mod version;
mod wal;

pub use batch::{WriteBatch, BATCH_BYTES_MAX};
pub use bytes::Bytes;
pub use collection::{Collection, CollectionIter, EncodeKey, KeyPrefix, OrderedKey, TypedRecord};
pub use db::{CheckpointReport, Db, Stats};
pub use error::{Error, Result};
pub use iter::Iter;
pub use key::{KEY_LEN_MAX, VALUE_LEN_MAX};
pub use options::{Options, RecoveryMode, WriteOptions};
pub use records::{
    days, hours, millis, minutes, months, seconds, years, Audit, AuditCheckpoint, AuditEvent,
    Clock, Disposal, Hold, ManualClock, Mode, Period, PlacedHold, Policy, PurgeReport, Record,
    RecordMeta, RecordStats, Retention, Scope, SystemClock, Timestamp,
};
pub use snapshot::Snapshot;
