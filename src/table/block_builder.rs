//! Builds one block (data or index) of prefix-compressed entries.
//!
//! ```text
//! block = entry* | restart u32 × n | n u32
//! entry = shared varint | non_shared varint | value_len varint
//!         | key[shared..] | value
//! ```
//! An entry stores only the bytes of its key past the prefix it shares with
//! the previous key. Every `restart_interval`-th entry (the first included)
//! is a *restart point*: it stores its whole key (`shared == 0`) and its
//! offset is listed in the restart array, so a reader can binary-search the
//! restart points and decode from one of them.
//!
//! # Invariants
//! 1. Keys are added in strictly ascending internal order (the table writer
//!    checks this before calling `add`).
//! 2. A block with entries has `n >= 1` and `restart[0] == 0`; an empty
//!    block is the 4 bytes `n = 0` (only the index of an empty table is one).
//! 3. Restart offsets and the block's length fit in `u32`: the writer cuts
//!    blocks at `block_bytes` (at most 1 GiB) and one entry is at most
//!    a 64 KiB key plus a 256 MiB value.

use super::format::put_varint32;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    /// Entries since the last restart point.
    since_restart: usize,
    entries: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    pub(crate) fn new(restart_interval: usize) -> Self {
        debug_assert!(restart_interval >= 1);
        BlockBuilder {
            buf: Vec::new(),
            restarts: Vec::new(),
            restart_interval: restart_interval.max(1),
            since_restart: 0,
            entries: 0,
            last_key: Vec::new(),
        }
    }

    /// Appends an entry; `key` must sort after every key added before.
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        let shared = if self.entries == 0 || self.since_restart >= self.restart_interval {
            self.restarts.push(self.buf.len() as u32);
            self.since_restart = 0;
            0
        } else {
            self.last_key
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
        };
        put_varint32(&mut self.buf, shared as u32);
        put_varint32(&mut self.buf, (key.len() - shared) as u32);
        put_varint32(&mut self.buf, value.len() as u32);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.since_restart += 1;
        self.entries += 1;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Bytes the finished block will take.
    pub(crate) fn encoded_len(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// Appends the finished block to `out` and resets the builder for the
    /// next block.
    pub(crate) fn finish_into(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.buf);
        for restart in &self.restarts {
            out.extend_from_slice(&restart.to_le_bytes());
        }
        out.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        debug_assert_eq!(out.len() - start, self.encoded_len());
        debug_assert_eq!(!self.restarts.is_empty(), self.entries > 0);
        self.buf.clear();
        self.restarts.clear();
        self.since_restart = 0;
        self.entries = 0;
        self.last_key.clear();
    }
}
