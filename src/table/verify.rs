//! A full check of one table, for the command-line `verify` and for tests:
//! every data block read with its checksum verified (whatever the table's
//! options say), and every rule a writer follows checked across the blocks.

use super::format::{compare_encoded_keys, split_internal_key, Malformed};
use super::reader::Table;
use crate::key::{SeqNo, ValueKind};
use crate::{Error, Result};
use bytes::Bytes;
use std::cmp::Ordering;

/// One entry as [`Table::verify_with`] hands it out, checked.
#[derive(Debug)]
pub(crate) struct VisitedEntry<'a> {
    /// The data block holding it (0-based).
    pub block: usize,
    /// The entry's absolute offset in the file.
    pub offset: u64,
    /// Its user key.
    pub user_key: &'a [u8],
    /// Its sequence number.
    pub seq: SeqNo,
    /// Its kind.
    pub kind: ValueKind,
    /// Its stored value (a slice of the table's bytes).
    pub value: Bytes,
}

/// What the data blocks hold, totalled.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    entries: u64,
    tombstones: u64,
    min_seq: u64,
    max_seq: u64,
    raw_key_bytes: u64,
    raw_value_bytes: u64,
}

impl Table {
    /// Reads every data block and checks: entries strictly ascending in
    /// internal order across the whole table, each block's last key equal to
    /// its index key, and the properties' counts, sequence range, key range
    /// and byte totals equal to what the blocks hold.
    pub(crate) fn verify(&self) -> Result<()> {
        self.verify_with(|_| Ok(()))
    }

    /// [`Self::verify`], handing every entry to `visit` in file order once
    /// it has passed the checks of its block (`inspect` dumps tables
    /// through this, so a dump never shows an entry verify would refuse).
    pub(crate) fn verify_with(
        &self,
        mut visit: impl FnMut(VisitedEntry<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut key = Vec::new();
        let mut previous: Vec<u8> = Vec::new();
        let mut smallest: Vec<u8> = Vec::new();
        let mut totals = Totals::default();
        for i in 0..self.index.len() {
            let (block, base) = self.data_block(i, true)?;
            let mut iter = block.iter(&mut key);
            while let Some(raw) = iter.next_entry().map_err(|m| self.data_corruption(i, m))? {
                let ikey = iter.key();
                let bad = |what: &str| self.data_corruption(i, Malformed::new(raw.at, what));
                if !previous.is_empty() && compare_encoded_keys(&previous, ikey) != Ordering::Less {
                    return Err(bad("entries out of internal order"));
                }
                let Some((user, seq, kind)) = split_internal_key(ikey) else {
                    return Err(bad("entry key is not an internal key"));
                };
                if totals.entries == 0 {
                    smallest.extend_from_slice(user);
                    totals.min_seq = seq;
                }
                totals.entries += 1;
                totals.tombstones += u64::from(kind == ValueKind::Tombstone);
                totals.min_seq = totals.min_seq.min(seq);
                totals.max_seq = totals.max_seq.max(seq);
                totals.raw_key_bytes += user.len() as u64;
                totals.raw_value_bytes += raw.value.len() as u64;
                visit(VisitedEntry {
                    block: i,
                    offset: (base + raw.at) as u64,
                    user_key: user,
                    seq,
                    kind,
                    value: self
                        .data
                        .slice(base + raw.value.start..base + raw.value.end),
                })?;
                previous.clear();
                previous.extend_from_slice(ikey);
            }
            if previous != self.index.key(i) {
                return Err(self
                    .data_corruption(i, Malformed::new(0, "last key differs from the index key")));
            }
        }
        let props = self.properties();
        let expected = Totals {
            entries: props.entries,
            tombstones: props.tombstones,
            min_seq: props.min_seq,
            max_seq: props.max_seq,
            raw_key_bytes: props.raw_key_bytes,
            raw_value_bytes: props.raw_value_bytes,
        };
        if totals != expected || smallest != props.smallest_key {
            return Err(Error::corruption(
                self.path(),
                self.properties_offset,
                format!("properties: blocks hold {totals:?}, properties say {expected:?}"),
            ));
        }
        Ok(())
    }
}
