//! [`Table`]: an open, immutable table file, read through one memory
//! mapping shared by every reader.
//!
//! Opening checks the footer, then reads and checks (CRC and structure) the
//! properties, filter and index; data blocks are checked when first read,
//! each time (their CRC when `verify_checksums` is on, their structure
//! always). Values handed out are `Bytes` slices of the mapping: no copy,
//! and the mapping lives as long as any of them.
//!
//! # Invariants
//! 1. After `from_bytes` succeeds, every block handle the table holds lies
//!    inside `data` (the footer and index decoders check the layout), so a
//!    data block read can only fail on a bad checksum or a bad entry.
//! 2. Every failure on the table's bytes is [`Error::Corruption`] with this
//!    table's path and the absolute offset of the structure that failed.

use super::block::Block;
use super::bloom::Filter;
use super::footer::{Footer, FOOTER_LEN};
use super::format::{check_block_crc, split_internal_key, BlockHandle, Malformed, BLOCK_CRC_LEN};
use super::index::Index;
use super::properties::TableProperties;
use super::TableOptions;
use crate::fs::{FileSystem, OpenMode};
use crate::key::{SeqNo, ValueKind};
use crate::{Error, Result};
use bytes::Bytes;
use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};

thread_local! {
    /// The key buffer of `Table::get`, reused so a point read allocates
    /// nothing once the thread has seen its longest key.
    static GET_KEY: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An open table. Immutable, `Send + Sync`, shared as `Arc<Table>`.
pub(crate) struct Table {
    pub(super) path: PathBuf,
    /// The whole file.
    pub(super) data: Bytes,
    pub(super) verify_checksums: bool,
    properties: TableProperties,
    /// Where the properties block starts (for errors about it).
    pub(super) properties_offset: u64,
    pub(super) index: Index,
    filter: Filter,
    footer: Footer,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the bytes: a table is megabytes.
        f.debug_struct("Table")
            .field("path", &self.path)
            .field("file_bytes", &self.data.len())
            .field("blocks", &self.index.len())
            .field("properties", &self.properties)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// Opens the table at `path`: maps it, then reads footer, properties,
    /// index and filter (verifying their CRCs); data blocks are read lazily
    /// from the mapping.
    pub(crate) fn open(fs: &dyn FileSystem, path: &Path, options: &TableOptions) -> Result<Table> {
        let io_err = |what: &str, e| Error::io(format!("{what} table {}", path.display()), e);
        let file = fs
            .open(path, OpenMode::Read)
            .map_err(|e| io_err("opening", e))?;
        let data = file.map().map_err(|e| io_err("mapping", e))?;
        Table::from_bytes(path.to_path_buf(), data, options)
    }

    /// Opens a table held in `data` (what `open` does after mapping; also
    /// the entry point for fuzzing). `path` only names the table in errors.
    pub(crate) fn from_bytes(path: PathBuf, data: Bytes, options: &TableOptions) -> Result<Table> {
        let len = data.len() as u64;
        let Some(footer_at) = data.len().checked_sub(FOOTER_LEN) else {
            return Err(Error::corruption(
                path,
                0,
                format!("table of {len} bytes is shorter than its {FOOTER_LEN}-byte footer"),
            ));
        };
        let footer = Footer::decode(&data[footer_at..], footer_at as u64)
            .map_err(|m| corruption(&path, footer_at as u64, "footer", m))?;

        let block = meta_block(&path, &data, footer.properties, "properties")?;
        let properties = TableProperties::decode(block)
            .map_err(|m| corruption(&path, footer.properties.offset, "properties", m))?;
        if properties.file_bytes != len {
            return Err(Error::corruption(
                path,
                footer.properties.offset + 48,
                format!(
                    "properties say the table is {} bytes, it is {len}",
                    properties.file_bytes
                ),
            ));
        }

        meta_block(&path, &data, footer.filter, "filter")?;
        let filter_at = footer.filter.offset as usize;
        let filter_block = data.slice(filter_at..filter_at + footer.filter.size as usize);
        let filter = Filter::decode(&filter_block)
            .map_err(|m| corruption(&path, footer.filter.offset, "filter", m))?;

        let block = meta_block(&path, &data, footer.index, "index")?;
        let index = Index::decode(block, footer.filter.offset)
            .map_err(|m| corruption(&path, footer.index.offset, "index", m))?;
        let last_user_key = match index.len() {
            0 => None,
            n => split_internal_key(index.key(n - 1)).map(|(user, _, _)| user),
        };
        let consistent = match last_user_key {
            None => properties.entries == 0,
            Some(user) => properties.entries > 0 && user == properties.largest_key,
        };
        if !consistent {
            return Err(Error::corruption(
                path,
                footer.index.offset,
                "index: last key disagrees with the properties' largest key or entry count",
            ));
        }
        Ok(Table {
            path,
            data,
            verify_checksums: options.verify_checksums,
            properties,
            properties_offset: footer.properties.offset,
            index,
            filter,
            footer,
        })
    }

    /// Newest version of `user_key` with `seq <= snapshot`: bloom filter
    /// first, then the index, then one data block. The value is a zero-copy
    /// slice of the mapping (empty for a tombstone).
    pub(crate) fn get(
        &self,
        user_key: &[u8],
        snapshot: SeqNo,
    ) -> Result<Option<(SeqNo, ValueKind, Bytes)>> {
        if !self.filter.may_contain(user_key) {
            return Ok(None);
        }
        self.get_unfiltered(user_key, snapshot)
    }

    /// [`Self::get`] without the bloom filter: for a caller that asked
    /// [`Self::may_contain`] itself (to count the filter's answers).
    pub(crate) fn get_unfiltered(
        &self,
        user_key: &[u8],
        snapshot: SeqNo,
    ) -> Result<Option<(SeqNo, ValueKind, Bytes)>> {
        let i = self.index.seek(user_key, snapshot);
        if i == self.index.len() {
            return Ok(None);
        }
        let (block, base) = self.data_block(i, self.verify_checksums)?;
        let mut key = GET_KEY.take();
        let found = block.seek(user_key, snapshot, &mut key);
        let result = match found {
            Err(m) => Err(self.data_corruption(i, m)),
            Ok(None) => Ok(None),
            Ok(Some(raw)) => Ok(split_internal_key(&key).and_then(|(user, seq, kind)| {
                (user == user_key).then(|| {
                    let value = base + raw.value.start..base + raw.value.end;
                    (seq, kind, self.data.slice(value))
                })
            })),
        };
        GET_KEY.set(key);
        result
    }

    /// Whether the table has a bloom filter (tables written with
    /// `bloom_bits_per_key(0)` have none: `may_contain` is always true).
    pub(crate) fn has_filter(&self) -> bool {
        self.filter.probes() > 0
    }

    /// False only if the table certainly holds no version of `user_key`
    /// (bloom filter only).
    pub(crate) fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter.may_contain(user_key)
    }

    /// The table's summary.
    #[allow(
        dead_code,
        reason = "table interface for flush, compaction, the records layer and the CLI; not every caller exists yet"
    )]
    pub(crate) fn properties(&self) -> &TableProperties {
        &self.properties
    }

    /// The decoded footer (the metadata blocks' handles).
    pub(crate) fn footer(&self) -> Footer {
        self.footer
    }

    /// The decoded filter.
    pub(crate) fn filter(&self) -> &Filter {
        &self.filter
    }

    /// The decoded index: per data block, its last internal key and handle.
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// The file this table was opened from.
    #[allow(
        dead_code,
        reason = "table interface for flush, compaction, the records layer and the CLI; not every caller exists yet"
    )]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Data block `i` (checksum verified when `verify`), and its offset in
    /// the file.
    pub(super) fn data_block(&self, i: usize, verify: bool) -> Result<(Block<'_>, usize)> {
        let handle = self.index.handle(i);
        let start = handle.offset as usize;
        let size = handle.size as usize;
        let Some(with_crc) = self.data.get(start..start + size + BLOCK_CRC_LEN) else {
            // Unreachable after a successful open (the index checks the
            // layout); kept so a logic error cannot become a panic.
            return Err(self.data_corruption(i, Malformed::new(0, "block lies outside the file")));
        };
        let bytes = if verify {
            check_block_crc(with_crc).map_err(|m| self.data_corruption(i, m))?
        } else {
            &with_crc[..size]
        };
        let block = Block::parse(bytes).map_err(|m| self.data_corruption(i, m))?;
        if block.is_empty() {
            return Err(self.data_corruption(i, Malformed::new(0, "data block without entries")));
        }
        Ok((block, start))
    }

    /// The corruption error for a failure inside data block `i`.
    pub(super) fn data_corruption(&self, i: usize, m: Malformed) -> Error {
        corruption(
            &self.path,
            self.index.handle(i).offset,
            &format!("data block {i}"),
            m,
        )
    }
}

/// A metadata block's bytes, its CRC checked. The footer decoder has
/// already checked that the handle lies inside the file.
fn meta_block<'a>(
    path: &Path,
    data: &'a [u8],
    handle: BlockHandle,
    name: &str,
) -> Result<&'a [u8]> {
    let start = handle.offset as usize;
    let with_crc = data
        .get(start..start + handle.size as usize + BLOCK_CRC_LEN)
        .ok_or_else(|| {
            Error::corruption(
                path,
                handle.offset,
                format!("{name} block lies outside the file"),
            )
        })?;
    check_block_crc(with_crc).map_err(|m| corruption(path, handle.offset, name, m))
}

fn corruption(path: &Path, base: u64, structure: &str, m: Malformed) -> Error {
    Error::corruption(path, base + m.at as u64, format!("{structure}: {}", m.what))
}
