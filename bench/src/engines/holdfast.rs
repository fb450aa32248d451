//! holdfast with `Options::default()`.
//!
//! Durability: a write returns once its WAL record is handed to the
//! operating system (survives a process crash, not a power cut);
//! [`Engine::flush_durable`] is `Db::flush` (fsync of the WAL); a sync write
//! is `write_opt` with `WriteOptions::sync(true)` (fsync, shared by
//! concurrent writers through group commit).

use super::{Compacted, Engine, Result};
use holdfast::{years, Db, Options, Policy, Retention, WriteBatch, WriteOptions};
use std::path::Path;

/// An open holdfast database.
pub struct Holdfast {
    db: Db,
    sync: WriteOptions,
}

impl Holdfast {
    /// Opens `dir` with the default options.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Holdfast {
            db: Db::open(dir, Options::default())?,
            sync: WriteOptions::new().sync(true),
        })
    }
}

impl Engine for Holdfast {
    fn share(&self) -> Result<Box<dyn Engine>> {
        Ok(Box::new(Holdfast {
            db: self.db.clone(),
            sync: WriteOptions::new().sync(true),
        }))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.db.put(key, value)?)
    }

    fn sync_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::with_capacity(key.len() + value.len() + 16);
        batch.put(key, value);
        Ok(self.db.write_opt(batch, &self.sync)?)
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
        Ok(self.db.flush()?)
    }

    fn compact(&mut self) -> Result<Compacted> {
        self.db.compact()?;
        Ok(Compacted::Yes)
    }

    fn close(self: Box<Self>) -> Result<()> {
        Ok(self.db.close()?)
    }

    fn define_retention_policy(&self) -> Result<bool> {
        let policy = Policy::new("bench-7y").retain_for(years(7)).then_dispose();
        self.db.define_policy(policy)?;
        Ok(true)
    }

    fn put_retained(&self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self
            .db
            .put_with(key, value, &Retention::new().policy("bench-7y"))?)
    }
}
