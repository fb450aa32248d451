//! The write-ahead log: every committed batch is appended here before it is
//! applied to the memtable, so that a crash loses nothing that was synced.
//!
//! The log is a sequence of segment files (`NNNN.wal`, see
//! [`crate::fs`] for names); a new segment starts whenever the memtable is
//! frozen and at every open. [`format`] holds the byte layout, [`reader`]
//! the recovery-time parser, [`writer`] the appender with group sync.

pub(crate) mod format;
pub(crate) mod reader;
pub(crate) mod writer;

pub(crate) use reader::{read_segment, valid_frame_after};
pub(crate) use writer::{Wal, WalPosition};

#[cfg(test)]
mod sync_tests;
