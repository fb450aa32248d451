//! Writes one table: data blocks as entries arrive, then the filter, index,
//! properties and footer, then an fsync.
//!
//! Blocks are encoded into a buffer that is appended to the file once it
//! holds [`WRITE_BUFFER_BYTES`], so a table costs a few large writes rather
//! than one per block.
//!
//! # Invariants
//! 1. Entries arrive in strictly ascending internal order (user key
//!    ascending, seq descending); `add` refuses anything else.
//! 2. A data block is cut once it reaches `block_bytes`, so a block holds at
//!    least one entry and at most `block_bytes` plus one entry.
//! 3. After a failed append the writer refuses everything: the file's tail
//!    is unknown, and the caller must delete it.
//! 4. `finish` returns only after `sync`: a table whose properties the
//!    caller sees is durable (the caller still syncs the directory).

use super::block_builder::BlockBuilder;
use super::bloom::FilterBuilder;
use super::footer::{Footer, FOOTER_LEN};
use super::format::{
    compare_encoded, encode_trailer, BlockHandle, BLOCK_CRC_LEN, HANDLE_LEN, TRAILER_LEN,
};
use super::properties::{TableProperties, PROPERTIES_FIXED_LEN};
use super::TableOptions;
use crate::fs::FileHandle;
use crate::key::{check_key, check_value, SeqNo, ValueKind, SEQ_MAX};
use crate::records::meta::{StoredMeta, STORED_META_MAX};
use crate::{Error, Result};
use bytes::Bytes;
use std::cmp::Ordering;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Encoded bytes gathered before one append to the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Builds a table file from entries in internal order.
#[derive(Debug)]
pub(crate) struct TableWriter {
    file: Arc<dyn FileHandle>,
    path: PathBuf,
    options: TableOptions,
    /// Encoded bytes not yet appended to the file.
    pending: Vec<u8>,
    /// Bytes already appended to the file.
    flushed: u64,
    block: BlockBuilder,
    index: BlockBuilder,
    filter: FilterBuilder,
    /// The internal key of the last entry added.
    last_key: Vec<u8>,
    props: TableProperties,
    /// Why the writer stopped, after a failed append.
    failure: Option<String>,
}

impl TableWriter {
    /// A writer appending to `file` (new and empty) at `path`.
    pub(crate) fn new(file: Arc<dyn FileHandle>, path: PathBuf, options: TableOptions) -> Self {
        let options = options.sanitized();
        TableWriter {
            file,
            path,
            pending: Vec::new(),
            flushed: 0,
            block: BlockBuilder::new(options.restart_interval),
            index: BlockBuilder::new(options.restart_interval),
            filter: FilterBuilder::new(options.bloom_bits_per_key),
            last_key: Vec::new(),
            props: TableProperties::default(),
            failure: None,
            options,
        }
    }

    /// Adds one entry. Entries arrive in internal order: user key
    /// ascending, then seq descending; anything else is
    /// [`Error::InvalidArgument`] (and a failed assertion in debug builds).
    pub(crate) fn add(
        &mut self,
        key: &[u8],
        seq: SeqNo,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<()> {
        self.check_usable()?;
        check_key(key).map_err(Error::InvalidArgument)?;
        if kind.has_meta() {
            let (meta, _) = StoredMeta::decode(&Bytes::copy_from_slice(
                &value[..value.len().min(STORED_META_MAX)],
            ))
            .map_err(Error::InvalidArgument)?;
            self.props.has_records = true;
            self.note_retention(meta.expires_at, meta.retain_until);
        } else {
            check_value(value).map_err(Error::InvalidArgument)?;
        }
        if seq > SEQ_MAX {
            return Err(Error::InvalidArgument(format!(
                "sequence number {seq} is past SEQ_MAX"
            )));
        }
        let first = self.props.entries == 0;
        if !first && compare_encoded(&self.last_key, key, seq) != Ordering::Less {
            debug_assert!(false, "table entries out of order at seq {seq}");
            return Err(Error::InvalidArgument(format!(
                "table entries out of internal order: seq {seq} after {:?}",
                self.last_key
            )));
        }
        let new_user_key = first || &self.last_key[..self.last_key.len() - TRAILER_LEN] != key;
        if new_user_key {
            self.filter.add_key(key);
        }
        if first {
            self.props.smallest_key = Bytes::copy_from_slice(key);
            self.props.min_seq = seq;
            self.props.max_seq = seq;
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.last_key.extend_from_slice(&encode_trailer(seq, kind));
        self.block.add(&self.last_key, value);

        let props = &mut self.props;
        props.entries += 1;
        props.tombstones += u64::from(kind == ValueKind::Tombstone);
        props.min_seq = props.min_seq.min(seq);
        props.max_seq = props.max_seq.max(seq);
        props.raw_key_bytes += key.len() as u64;
        props.raw_value_bytes += value.len() as u64;
        if self.block.encoded_len() >= self.options.block_bytes {
            self.finish_data_block()?;
        }
        Ok(())
    }

    /// Folds one record's retention into the summary: the earliest
    /// `expires_at` and the latest `retain_until` seen.
    pub(crate) fn note_retention(&mut self, expires_at: Option<i64>, retain_until: Option<i64>) {
        let props = &mut self.props;
        if let Some(t) = expires_at {
            props.earliest_expires_at = Some(props.earliest_expires_at.map_or(t, |e| e.min(t)));
        }
        if let Some(t) = retain_until {
            props.latest_retain_until = Some(props.latest_retain_until.map_or(t, |r| r.max(t)));
        }
    }

    /// About how long the file will be if finished now.
    pub(crate) fn estimated_file_bytes(&self) -> u64 {
        let block = if self.block.is_empty() {
            0
        } else {
            self.block.encoded_len() + BLOCK_CRC_LEN + self.last_key.len() + HANDLE_LEN + 3
        };
        let tail = block
            + self.filter.encoded_len()
            + self.index.encoded_len()
            + PROPERTIES_FIXED_LEN
            + self.props.smallest_key.len()
            + self.last_key.len()
            + 3 * BLOCK_CRC_LEN
            + FOOTER_LEN;
        self.offset() + tail as u64
    }

    /// True before the first `add`.
    #[allow(
        dead_code,
        reason = "table interface for flush, compaction, the records layer and the CLI; not every caller exists yet"
    )]
    pub(crate) fn is_empty(&self) -> bool {
        self.props.entries == 0
    }

    /// Writes the last data block, filter, index, properties and footer,
    /// then fsyncs the file (the caller fsyncs the directory). Returns the
    /// properties.
    pub(crate) fn finish(mut self) -> Result<TableProperties> {
        self.check_usable()?;
        if !self.block.is_empty() {
            self.finish_data_block()?;
        }
        let filter = &self.filter;
        let filter = append_block(&mut self.pending, self.flushed, |out| {
            filter.finish_into(out)
        })?;
        let index = &mut self.index;
        let index = append_block(&mut self.pending, self.flushed, |out| {
            index.finish_into(out)
        })?;
        if !self.last_key.is_empty() {
            let user_len = self.last_key.len() - TRAILER_LEN;
            self.props.largest_key = Bytes::copy_from_slice(&self.last_key[..user_len]);
        }
        let properties_at = self.offset();
        self.props.file_bytes =
            properties_at + (self.props.encoded_len() + BLOCK_CRC_LEN + FOOTER_LEN) as u64;
        let props = &self.props;
        let properties = append_block(&mut self.pending, self.flushed, |out| {
            props.encode_into(out)
        })?;
        let footer = Footer {
            filter,
            index,
            properties,
        };
        self.pending.extend_from_slice(&footer.encode());
        debug_assert_eq!(self.offset(), self.props.file_bytes);
        self.flush_pending()?;
        self.file
            .sync()
            .map_err(|e| Error::io(format!("syncing table {}", self.path.display()), e))?;
        Ok(self.props)
    }

    /// The offset the next byte will be written at.
    fn offset(&self) -> u64 {
        self.flushed + self.pending.len() as u64
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failure {
            None => Ok(()),
            Some(cause) => Err(Error::io(
                format!("writing table {}", self.path.display()),
                io::Error::other(format!("an earlier write failed: {cause}")),
            )),
        }
    }

    fn finish_data_block(&mut self) -> Result<()> {
        let block = &mut self.block;
        let handle = match append_block(&mut self.pending, self.flushed, |out| {
            block.finish_into(out)
        }) {
            Ok(handle) => handle,
            Err(e) => {
                self.failure = Some(e.to_string());
                return Err(e);
            }
        };
        self.index.add(&self.last_key, &handle.encode());
        if self.pending.len() >= WRITE_BUFFER_BYTES {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<()> {
        if let Err(e) = self.file.append(&self.pending) {
            self.failure = Some(e.to_string());
            return Err(Error::io(
                format!("appending to table {}", self.path.display()),
                e,
            ));
        }
        self.flushed += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }
}

/// Appends the block that `encode` writes, then its CRC, to `pending`
/// (which starts at file offset `flushed`); returns the block's handle.
fn append_block(
    pending: &mut Vec<u8>,
    flushed: u64,
    encode: impl FnOnce(&mut Vec<u8>),
) -> Result<BlockHandle> {
    let start = pending.len();
    encode(pending);
    let Ok(size) = u32::try_from(pending.len() - start) else {
        return Err(Error::InvalidArgument(format!(
            "a table block of {} bytes does not fit the format's 32-bit block size",
            pending.len() - start
        )));
    };
    let crc = crc32fast::hash(&pending[start..]);
    pending.extend_from_slice(&crc.to_le_bytes());
    Ok(BlockHandle {
        offset: flushed + start as u64,
        size,
    })
}
