//! sled 0.34 with its defaults: `sled::open(path)` (the default tree).
//!
//! Durability: sled has no per-write fsync by default. A write lands in
//! sled's in-memory log buffer; a background thread flushes it every
//! 500 ms (its default `flush_every_ms`), and writes since the last flush
//! are lost if the process dies. [`Engine::flush_durable`] is `flush()`
//! (write out and wait); a sync write is an insert followed by `flush()`.
//! On Linux that flush ends in `sync_file_range`, not `fsync`: the data
//! pages are written and waited for, but neither the file's metadata nor
//! the device's write cache is flushed (sled's background thread fsyncs
//! every 500 ms). So sled's sync writes promise less than the other
//! engines'; the report says so and leaves them out of the ratios.
//! sled has no manual compaction.

use super::{Compacted, Engine, Result};
use std::path::Path;

/// An open sled database.
pub struct Sled {
    db: sled::Db,
}

impl Sled {
    /// Opens `dir` with the default configuration.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Sled {
            db: sled::open(dir)?,
        })
    }
}

impl Engine for Sled {
    fn share(&self) -> Result<Box<dyn Engine>> {
        Ok(Box::new(Sled {
            db: self.db.clone(),
        }))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db.insert(key, value)?;
        Ok(())
    }

    fn sync_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db.insert(key, value)?;
        self.db.flush()?;
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        Ok(self.db.get(key)?.map(|v| v.len()))
    }

    fn scan(&self, from: &[u8], n: usize) -> Result<usize> {
        let mut read = 0;
        for item in self.db.range(from..).take(n) {
            let (_key, _value) = item?;
            read += 1;
        }
        Ok(read)
    }

    fn flush_durable(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    fn compact(&mut self) -> Result<Compacted> {
        Ok(Compacted::Unsupported)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.db.flush()?;
        drop(self);
        Ok(())
    }
}
