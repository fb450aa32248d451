//! redb with its defaults: `Database::create(path)`, one table.
//!
//! Durability: redb has no log; a commit with its default
//! `Durability::Immediate` fsyncs. A *buffered* write here is one write
//! transaction per put committed with `Durability::None` (held in memory,
//! persisted by the next durable commit, lost on a crash);
//! [`Engine::flush_durable`] is an empty `Immediate` commit; a sync write is
//! one `Immediate` transaction per put.

use super::{Compacted, Engine, Result};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use std::path::Path;
use std::sync::Arc;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bench");

/// File name of the database inside the benchmark's directory.
const FILE: &str = "bench.redb";

/// An open redb database.
pub struct Redb {
    db: Arc<Database>,
}

impl Redb {
    /// Opens (or creates) `dir/bench.redb` and its table.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let db = Database::create(dir.join(FILE))?;
        let tx = db.begin_write()?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(Redb { db: Arc::new(db) })
    }

    fn write(&self, key: &[u8], value: &[u8], durability: Durability) -> Result<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(durability)?;
        {
            let mut table = tx.open_table(TABLE)?;
            table.insert(key, value)?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl Engine for Redb {
    fn share(&self) -> Result<Box<dyn Engine>> {
        Ok(Box::new(Redb {
            db: Arc::clone(&self.db),
        }))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(key, value, Durability::None)
    }

    fn sync_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(key, value, Durability::Immediate)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TABLE)?;
        Ok(table.get(key)?.map(|v| v.value().len()))
    }

    fn scan(&self, from: &[u8], n: usize) -> Result<usize> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TABLE)?;
        let mut read = 0;
        for item in table.range(from..)?.take(n) {
            let (_key, _value) = item?;
            read += 1;
        }
        Ok(read)
    }

    fn flush_durable(&self) -> Result<()> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        tx.commit()?;
        Ok(())
    }

    fn compact(&mut self) -> Result<Compacted> {
        Arc::get_mut(&mut self.db)
            .ok_or("redb compaction needs the only handle")?
            .compact()?;
        Ok(Compacted::Yes)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.flush_durable()?;
        drop(self);
        Ok(())
    }
}
