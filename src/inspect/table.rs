//! [`dump_table`]: a sorted table decoded — footer, properties, filter,
//! index and every entry.
//!
//! The table is opened by the engine's reader (`Table::open`: footer,
//! properties, filter and index checked, CRCs included) and its entries
//! come from `Table::verify_with`, which reads every data block with its
//! CRC and checks the order and the properties' totals: a table that
//! dumps is a table that verifies.

use super::{read_file, split_value, OpDump, OpKind};
use crate::table::{split_internal_key, BlockHandle, Table, TableOptions, FORMAT_VERSION};
use crate::{Error, Result};
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// A decoded table file.
#[derive(Clone, Debug)]
pub struct TableDump {
    /// The file.
    pub path: PathBuf,
    /// Its length.
    pub file_bytes: u64,
    /// The table format version in the footer.
    pub format_version: u32,
    /// The filter block's place.
    pub filter_handle: BlockHandleDump,
    /// The index block's place.
    pub index_handle: BlockHandleDump,
    /// The properties block's place.
    pub properties_handle: BlockHandleDump,
    /// The properties block.
    pub properties: PropertiesDump,
    /// The bloom filter's shape.
    pub filter: FilterDump,
    /// The index: one entry per data block.
    pub index: Vec<IndexEntryDump>,
    /// Every entry, in internal order (user key ascending, then sequence
    /// number descending).
    pub entries: Vec<TableEntryDump>,
}

/// Where a block lies: offset and size (without its 4-byte CRC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHandleDump {
    /// Offset of the block's first byte.
    pub offset: u64,
    /// Bytes of the block, without its CRC.
    pub size: u32,
}

impl From<BlockHandle> for BlockHandleDump {
    fn from(h: BlockHandle) -> Self {
        BlockHandleDump {
            offset: h.offset,
            size: h.size,
        }
    }
}

/// The properties block of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertiesDump {
    /// Entries (versions), tombstones included.
    pub entries: u64,
    /// Entries of kind delete.
    pub tombstones: u64,
    /// First user key.
    pub smallest_key: Bytes,
    /// Last user key.
    pub largest_key: Bytes,
    /// Smallest sequence number.
    pub min_seq: u64,
    /// Largest sequence number.
    pub max_seq: u64,
    /// Sum of the user keys' lengths.
    pub raw_key_bytes: u64,
    /// Sum of the stored values' lengths.
    pub raw_value_bytes: u64,
    /// The file's length, as the properties record it.
    pub file_bytes: u64,
    /// Earliest stored expiry (ms since the epoch), if any record has one.
    pub earliest_expires_at: Option<i64>,
    /// Latest stored retention date, if any record has one.
    pub latest_retain_until: Option<i64>,
    /// The table holds records-layer entries (kinds 3, 4).
    pub has_records: bool,
}

/// The bloom filter of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterDump {
    /// Bits in the filter (0: disabled).
    pub bits: u64,
    /// Probes per key (0: disabled).
    pub probes: u32,
}

/// One index entry: a data block and its last key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntryDump {
    /// The data block's place.
    pub handle: BlockHandleDump,
    /// The user key of the block's last entry.
    pub last_key: Bytes,
    /// The sequence number of the block's last entry.
    pub last_seq: u64,
    /// The kind of the block's last entry.
    pub last_kind: OpKind,
}

/// One entry of a table.
#[derive(Clone, Debug)]
pub struct TableEntryDump {
    /// The data block holding it (0-based).
    pub block: usize,
    /// The entry's offset in the file.
    pub offset: u64,
    /// The entry itself: key, sequence number, kind, value, metadata.
    pub op: OpDump,
}

/// Decodes and fully verifies the table at `path`.
///
/// Any failure of the table's bytes is [`Error::Corruption`] with the
/// file and the absolute offset of the structure that failed.
pub fn dump_table(path: &Path) -> Result<TableDump> {
    let bytes = read_file(path)?;
    decode_table(path, bytes)
}

/// [`dump_table`] on bytes already read.
fn decode_table(path: &Path, bytes: Bytes) -> Result<TableDump> {
    let table = Table::from_bytes(path.to_path_buf(), bytes, &TableOptions::default())?;
    let mut entries = Vec::new();
    table.verify_with(|entry| {
        let (meta, value) = split_value(entry.kind, &entry.value)
            .map_err(|why| Error::corruption(path, entry.offset, why))?;
        entries.push(TableEntryDump {
            block: entry.block,
            offset: entry.offset,
            op: OpDump {
                seq: entry.seq,
                kind: OpKind::from_kind(entry.kind),
                key: Bytes::copy_from_slice(entry.user_key),
                value,
                meta,
            },
        });
        Ok(())
    })?;
    let index = table.index();
    let mut index_dump = Vec::with_capacity(index.len());
    for i in 0..index.len() {
        // The index decoder checked every key at open; a failure here is
        // reported rather than assumed away.
        let (user, seq, kind) = split_internal_key(index.key(i)).ok_or_else(|| {
            Error::corruption(
                path,
                index.handle(i).offset,
                "index key is not an internal key",
            )
        })?;
        index_dump.push(IndexEntryDump {
            handle: index.handle(i).into(),
            last_key: Bytes::copy_from_slice(user),
            last_seq: seq,
            last_kind: OpKind::from_kind(kind),
        });
    }
    let p = table.properties();
    let footer = table.footer();
    Ok(TableDump {
        path: path.to_path_buf(),
        file_bytes: p.file_bytes,
        format_version: FORMAT_VERSION,
        filter_handle: footer.filter.into(),
        index_handle: footer.index.into(),
        properties_handle: footer.properties.into(),
        properties: PropertiesDump {
            entries: p.entries,
            tombstones: p.tombstones,
            smallest_key: p.smallest_key.clone(),
            largest_key: p.largest_key.clone(),
            min_seq: p.min_seq,
            max_seq: p.max_seq,
            raw_key_bytes: p.raw_key_bytes,
            raw_value_bytes: p.raw_value_bytes,
            file_bytes: p.file_bytes,
            earliest_expires_at: p.earliest_expires_at,
            latest_retain_until: p.latest_retain_until,
            has_records: p.has_records,
        },
        filter: FilterDump {
            bits: table.filter().bits(),
            probes: table.filter().probes(),
        },
        index: index_dump,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Db, Options};

    fn table_of(dir: &Path) -> PathBuf {
        let db = Db::open(dir, Options::default()).unwrap();
        db.put("alpha", "1").unwrap();
        db.put("beta", [0xffu8, 0xfe]).unwrap();
        db.delete("alpha").unwrap();
        db.flush_memtables().unwrap();
        db.close().unwrap();
        let mut tables: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "table"))
            .collect();
        assert_eq!(tables.len(), 1);
        tables.remove(0)
    }

    #[test]
    fn dumps_every_entry_and_the_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = table_of(dir.path());
        let dump = dump_table(&path).unwrap();
        // The flush keeps only the newest version of `alpha`: its tombstone.
        assert_eq!(dump.entries.len(), 2);
        assert_eq!(dump.properties.entries, 2);
        assert_eq!(dump.properties.tombstones, 1);
        assert_eq!(&dump.entries[0].op.key[..], b"alpha");
        assert_eq!(dump.entries[0].op.kind, OpKind::Delete);
        assert_eq!(&dump.entries[1].op.value[..], &[0xff, 0xfe]);
        assert_eq!(dump.index.len(), 1);
        assert_eq!(&dump.index[0].last_key[..], b"beta");
        assert_eq!(dump.format_version, 1);
        assert_eq!(dump.filter.probes, 7);
    }

    #[test]
    fn every_flipped_byte_is_corruption_never_a_panic() {
        // Every byte of a table lies under a CRC (blocks, their CRCs, the
        // footer), so no flip may go unnoticed.
        let dir = tempfile::tempdir().unwrap();
        let path = table_of(dir.path());
        let good = std::fs::read(&path).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            match decode_table(&path, Bytes::from(bad)) {
                Err(e) => assert!(e.is_corruption(), "byte {i}: {e}"),
                Ok(_) => panic!("flip of byte {i} went unnoticed"),
            }
        }
    }
}
