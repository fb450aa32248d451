//! A bounded cache of open tables (`Options::max_open_tables`).
//!
//! Opening a table maps it and parses its footer, index and filter; the
//! cache keeps the most recently used ones open. Readers hold an
//! `Arc<Table>` while they use it, so evicting a table never pulls a
//! mapping out from under a reader.

use super::TableFile;
use crate::fs::FileSystem;
use crate::table::{Table, TableOptions};
use crate::Result;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Hashes a table's file number — a counter the engine assigns, never
/// chosen by an outsider — with one multiplication. The cache is probed
/// for every table a read or write check looks at, and SipHash cost more
/// than the rest of the probe.
#[derive(Default)]
struct FileNumberHasher(u64);

impl Hasher for FileNumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `u64` keys; FNV-1a keeps it a correct hash anyway.
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type ByFileNumber<V> = HashMap<u64, V, BuildHasherDefault<FileNumberHasher>>;

#[derive(Debug)]
struct Slot {
    table: Arc<Table>,
    last_used: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct TableCache {
    fs: Arc<dyn FileSystem>,
    options: TableOptions,
    capacity: usize,
    open: Mutex<(ByFileNumber<Slot>, u64)>,
}

impl TableCache {
    pub(crate) fn new(fs: Arc<dyn FileSystem>, options: TableOptions, capacity: usize) -> Self {
        TableCache {
            fs,
            options,
            capacity: capacity.max(1),
            open: Mutex::new((ByFileNumber::default(), 0)),
        }
    }

    /// The open table for `file`, opening it if needed.
    pub(crate) fn get(&self, file: &TableFile) -> Result<Arc<Table>> {
        let number = file.meta.number;
        {
            let mut guard = self.open.lock();
            let (map, clock) = &mut *guard;
            *clock += 1;
            if let Some(slot) = map.get_mut(&number) {
                slot.last_used = *clock;
                return Ok(Arc::clone(&slot.table));
            }
        }
        // Open outside the lock: mapping and parsing take a while.
        let table = Arc::new(Table::open(&*self.fs, &file.path, &self.options)?);
        let mut guard = self.open.lock();
        let (map, clock) = &mut *guard;
        *clock += 1;
        let slot = map.entry(number).or_insert(Slot {
            table,
            last_used: *clock,
        });
        let table = Arc::clone(&slot.table);
        while map.len() > self.capacity {
            let Some(&victim) = map.iter().min_by_key(|(_, s)| s.last_used).map(|(n, _)| n) else {
                break;
            };
            map.remove(&victim);
        }
        Ok(table)
    }

    /// Forgets table `number` (its file is obsolete).
    pub(crate) fn evict(&self, number: u64) {
        self.open.lock().0.remove(&number);
    }

    /// Number of tables open now.
    pub(crate) fn len(&self) -> usize {
        self.open.lock().0.len()
    }

    pub(crate) fn options(&self) -> &TableOptions {
        &self.options
    }
}
