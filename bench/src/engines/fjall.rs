//! fjall with its defaults: `Database::builder(path).open()` and one
//! keyspace with `KeyspaceCreateOptions::default()`.
//!
//! Durability: each write is flushed from fjall's journal buffer to the
//! operating system (`PersistMode::Buffer`, fjall's default; survives a
//! process crash). [`Engine::flush_durable`] is `persist(SyncAll)`; a sync
//! write is an insert followed by `persist(SyncAll)`.

use super::{Compacted, Engine, Result};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use std::path::Path;

/// An open fjall database and its one keyspace.
pub struct Fjall {
    db: Database,
    items: Keyspace,
}

impl Fjall {
    /// Opens `dir` with the default configuration.
    pub fn open(dir: &Path) -> Result<Self> {
        let db = Database::builder(dir).open()?;
        let items = db.keyspace("bench", KeyspaceCreateOptions::default)?;
        Ok(Fjall { db, items })
    }
}

impl Engine for Fjall {
    fn share(&self) -> Result<Box<dyn Engine>> {
        Ok(Box::new(Fjall {
            db: self.db.clone(),
            items: self.items.clone(),
        }))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.items.insert(key, value)?)
    }

    fn sync_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.items.insert(key, value)?;
        Ok(self.db.persist(PersistMode::SyncAll)?)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        Ok(self.items.get(key)?.map(|v| v.len()))
    }

    fn scan(&self, from: &[u8], n: usize) -> Result<usize> {
        let mut read = 0;
        for guard in self.items.range(from..).take(n) {
            let (_key, _value) = guard.into_inner()?;
            read += 1;
        }
        Ok(read)
    }

    fn flush_durable(&self) -> Result<()> {
        Ok(self.db.persist(PersistMode::SyncAll)?)
    }

    fn compact(&mut self) -> Result<Compacted> {
        // `major_compact` is hidden from fjall's docs but public; it is
        // what fjall's own tests use to compact a keyspace fully.
        self.items.major_compact()?;
        Ok(Compacted::Yes)
    }

    fn close(self: Box<Self>) -> Result<()> {
        // Dropping the last handle persists with SyncAll; do it explicitly
        // so that an error is seen.
        self.db.persist(PersistMode::SyncAll)?;
        drop(self);
        Ok(())
    }
}
