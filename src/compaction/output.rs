//! Writing entries into new table files: one table for a flush, a run of
//! tables of about `target_bytes` each for a compaction.
//!
//! A table is cut only between user keys (invariant 3 of compaction). When
//! `finish` returns, every table is complete and fsynced and the directory
//! is fsynced, so an edit may reference them (manifest invariant 3). If the
//! work fails or is abandoned, the files written so far are removed.

use crate::db::Engine;
use crate::fs::{table_name, OpenMode};
use crate::iter::Entry;
use crate::manifest::TableMeta;
use crate::table::TableWriter;
use crate::{Error, Result};
use bytes::Bytes;
use std::path::PathBuf;

struct OpenTable {
    number: u64,
    writer: TableWriter,
    last_key: Bytes,
}

/// See the module documentation.
pub(crate) struct TableOutput<'a> {
    engine: &'a Engine,
    target_bytes: u64,
    open: Option<OpenTable>,
    finished: Vec<TableMeta>,
    created: Vec<PathBuf>,
    done: bool,
}

impl<'a> TableOutput<'a> {
    pub(crate) fn new(engine: &'a Engine, target_bytes: u64) -> Self {
        TableOutput {
            engine,
            target_bytes,
            open: None,
            finished: Vec::new(),
            created: Vec::new(),
            done: false,
        }
    }

    /// Adds the next entry (internal order).
    pub(crate) fn add(&mut self, entry: &Entry) -> Result<()> {
        let cut = self.open.as_ref().is_some_and(|t| {
            t.writer.estimated_file_bytes() >= self.target_bytes && t.last_key != entry.key
        });
        if cut {
            self.finish_open()?;
        }
        if self.open.is_none() {
            let number = self.engine.versions.lock().new_file_number();
            let path = self.engine.dir.join(table_name(number));
            let file = self
                .engine
                .fs()
                .open(&path, OpenMode::CreateNew)
                .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
            self.created.push(path.clone());
            let options = self.engine.table_cache.options().clone();
            self.open = Some(OpenTable {
                number,
                writer: TableWriter::new(file, path, options),
                last_key: Bytes::new(),
            });
        }
        if let Some(table) = &mut self.open {
            table
                .writer
                .add(&entry.key, entry.seq, entry.kind, &entry.value)?;
            if table.last_key != entry.key {
                table.last_key = entry.key.clone();
            }
        }
        Ok(())
    }

    fn finish_open(&mut self) -> Result<()> {
        let Some(table) = self.open.take() else {
            return Ok(());
        };
        let props = table.writer.finish()?;
        self.finished.push(TableMeta {
            number: table.number,
            file_bytes: props.file_bytes,
            min_seq: props.min_seq,
            max_seq: props.max_seq,
            entries: props.entries,
            tombstones: props.tombstones,
            earliest_expires_at: props.earliest_expires_at,
            latest_retain_until: props.latest_retain_until,
            has_records: props.has_records,
            smallest: props.smallest_key,
            largest: props.largest_key,
        });
        Ok(())
    }

    /// Completes the last table and makes every table's directory entry
    /// durable; returns the tables written (possibly none).
    pub(crate) fn finish(mut self) -> Result<Vec<TableMeta>> {
        self.finish_open()?;
        if !self.created.is_empty() {
            let dir = &self.engine.dir;
            self.engine
                .fs()
                .sync_dir(dir)
                .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
        }
        self.done = true;
        Ok(std::mem::take(&mut self.finished))
    }
}

impl Drop for TableOutput<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Failed or abandoned: nothing references these files. A
            // failed removal leaves an orphan for the next open to delete.
            for path in &self.created {
                let _ = self.engine.fs().remove(path);
            }
        }
    }
}
