//! RocksDB (the `rocksdb` crate) with `DB::open_default`.
//!
//! Durability: the WAL is on and `WriteOptions::sync` is false (RocksDB's
//! default): a write is handed to the operating system (survives a process
//! crash). [`Engine::flush_durable`] is `flush_wal(true)` (fsync of the
//! WAL); a sync write uses `WriteOptions::set_sync(true)`. Compression is
//! RocksDB's default (snappy), built in; the values do not compress.

use super::{Compacted, Engine, Result};
use rocksdb::{WriteOptions, DB};
use std::path::Path;
use std::sync::Arc;

/// An open RocksDB database.
pub struct Rocks {
    db: Arc<DB>,
    sync: WriteOptions,
}

fn sync_options() -> WriteOptions {
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    sync
}

impl Rocks {
    /// Opens `dir` with the default options (create if missing).
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Rocks {
            db: Arc::new(DB::open_default(dir)?),
            sync: sync_options(),
        })
    }
}

impl Engine for Rocks {
    fn share(&self) -> Result<Box<dyn Engine>> {
        Ok(Box::new(Rocks {
            db: Arc::clone(&self.db),
            sync: sync_options(),
        }))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.db.put(key, value)?)
    }

    fn sync_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.db.put_opt(key, value, &self.sync)?)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        Ok(self.db.get_pinned(key)?.map(|v| v.len()))
    }

    fn scan(&self, from: &[u8], n: usize) -> Result<usize> {
        // The raw iterator hands out borrowed slices, as the other engines'
        // iterators do; `DB::iterator` would copy every pair into boxes.
        let mut it = self.db.raw_iterator();
        it.seek(from);
        let mut read = 0;
        while read < n && it.valid() {
            let _pair = (it.key(), it.value());
            read += 1;
            it.next();
        }
        it.status()?;
        Ok(read)
    }

    fn flush_durable(&self) -> Result<()> {
        Ok(self.db.flush_wal(true)?)
    }

    fn compact(&mut self) -> Result<Compacted> {
        self.db.compact_range::<&[u8], &[u8]>(None, None);
        Ok(Compacted::Yes)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.db.flush_wal(true)?;
        drop(self);
        Ok(())
    }
}
