//! Sorted tables: the immutable files a memtable is flushed to and
//! compaction rewrites.
//!
//! A table holds internal entries (user key, sequence number, kind, value)
//! in internal order. [`TableWriter`] writes one from entries in order;
//! [`Table`] opens one through a memory mapping and serves point reads
//! ([`Table::get`]) and double-ended range cursors ([`TableCursor`], a
//! [`crate::iter::Source`]). This module never touches the WAL, the
//! manifest or the directory: the caller names the file, syncs the
//! directory, and decides when a table is live.
//!
//! # File layout
//! All integers little-endian. The byte-level tables live in each
//! structure's module and in `docs/FORMAT.md`.
//! ```text
//! data block 0 | crc32      <- offset 0, prefix-compressed entries (block.rs)
//! ...
//! data block n-1 | crc32
//! filter block | crc32      <- bloom filter over user keys (bloom.rs)
//! index block | crc32       <- last internal key + handle per data block (index.rs)
//! properties block | crc32  <- summary: counts, key and seq ranges (properties.rs)
//! footer (52 bytes)         <- handles, version 1, magic "HFTABLE1", crc32 (footer.rs)
//! ```
//! An internal key in a block is `user_key ++ trailer`, the trailer a `u64`
//! `seq << 8 | kind`; keys order by user key ascending, then seq descending.
//!
//! # Invariants
//! 1. A table file is immutable once `finish` has synced it: nothing
//!    appends to, rewrites or truncates it while it may be mapped (a mapped
//!    file truncated under a reader would fault with SIGBUS).
//! 2. The structures are back to back, in the order above, with no gaps:
//!    the reader checks this at open, so every handle it keeps lies inside
//!    the file.
//! 3. Every block is followed by the CRC32 of its bytes. Metadata blocks
//!    are verified at open; data blocks when read, if `verify_checksums`.
//! 4. Every byte read is untrusted: decoders check every length before
//!    using it, never allocate from an unchecked length, and report
//!    [`crate::Error::Corruption`] with the table's path and the offset of
//!    the bad structure, never a panic.

mod block;
mod block_builder;
mod bloom;
mod cursor;
mod footer;
mod format;
mod hash;
mod index;
mod properties;
mod reader;
mod verify;
mod writer;

#[cfg(test)]
mod tests;

pub(crate) use cursor::TableCursor;
pub(crate) use format::{split_internal_key, BlockHandle, FORMAT_VERSION};
#[allow(
    unused_imports,
    reason = "table interface for flush, compaction, the records layer and the CLI; not every caller exists yet"
)]
pub(crate) use properties::TableProperties;
pub(crate) use reader::Table;
pub(crate) use writer::TableWriter;

/// Largest data block target: keeps every block's size within `u32` even
/// with a maximal entry on top.
const BLOCK_BYTES_MAX: usize = 1 << 30;

/// How tables are written and read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableOptions {
    /// Target size of a data block before its checksum; a block is cut once
    /// it reaches this (so it may exceed it by one entry). Default 4096.
    pub block_bytes: usize,
    /// Every this many entries, a block entry stores its whole key and is
    /// listed as a restart point for binary search. Default 16.
    pub restart_interval: usize,
    /// Bloom filter bits per distinct user key; 0 writes no filter. Values
    /// past 64 are treated as 64. Default 10 (about 1% false positives).
    pub bloom_bits_per_key: u32,
    /// Check each data block's CRC when reading it. Metadata blocks are
    /// always checked at open. Default true.
    pub verify_checksums: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_bytes: 4096,
            restart_interval: 16,
            bloom_bits_per_key: 10,
            verify_checksums: true,
        }
    }
}

impl TableOptions {
    /// The options clamped to what the format supports: at least one entry
    /// per restart, blocks of at most 1 GiB, at most 64 bloom bits per key.
    fn sanitized(&self) -> Self {
        TableOptions {
            block_bytes: self.block_bytes.min(BLOCK_BYTES_MAX),
            restart_interval: self.restart_interval.max(1),
            bloom_bits_per_key: self.bloom_bits_per_key.min(bloom::BITS_PER_KEY_MAX),
            verify_checksums: self.verify_checksums,
        }
    }
}
