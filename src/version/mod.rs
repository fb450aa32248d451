//! Versions: which table files make up the database at one moment.
//!
//! A [`Version`] is an immutable list of tables per level. Level 0 holds
//! flushed memtables, newest first, whose key ranges may overlap; every
//! deeper level holds tables with disjoint key ranges, sorted by key. The
//! [`VersionSet`] owns the current version and the manifest, and turns each
//! [`VersionEdit`] into the next version.
//!
//! # Invariants
//! 1. All versions of one user key in level `i` are newer than every
//!    version of it in level `i + 1` (compaction keeps it: level-0
//!    compactions take every level-0 table, deeper ones keep a user key's
//!    versions in one output table).
//! 2. In levels 1.., tables are sorted by smallest key and do not overlap.
//! 3. A table file is deleted only once no version and no iterator refers
//!    to it: [`TableFile`] deletes its file when the last reference to an
//!    obsolete table drops.

mod level_cursor;
mod set;
mod table_cache;

pub(crate) use level_cursor::LevelCursor;
pub(crate) use set::VersionSet;
pub(crate) use table_cache::TableCache;

use crate::fs::{table_name, FileSystem};
use crate::manifest::{TableMeta, VersionEdit, LEVELS};
use bytes::Bytes;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One table file of the tree.
#[derive(Debug)]
pub(crate) struct TableFile {
    pub meta: TableMeta,
    pub path: PathBuf,
    fs: Arc<dyn FileSystem>,
    obsolete: AtomicBool,
}

impl TableFile {
    pub(crate) fn new(meta: TableMeta, dir: &Path, fs: Arc<dyn FileSystem>) -> Self {
        TableFile {
            path: dir.join(table_name(meta.number)),
            meta,
            fs,
            obsolete: AtomicBool::new(false),
        }
    }

    /// Marks the file for deletion once the last reference drops.
    pub(crate) fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    /// Whether the table's key range meets `[lower, upper]` (user keys).
    pub(crate) fn overlaps(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
        let below_upper = match upper {
            Bound::Included(u) => &self.meta.smallest[..] <= u,
            Bound::Excluded(u) => &self.meta.smallest[..] < u,
            Bound::Unbounded => true,
        };
        let above_lower = match lower {
            Bound::Included(l) => &self.meta.largest[..] >= l,
            Bound::Excluded(l) => &self.meta.largest[..] > l,
            Bound::Unbounded => true,
        };
        below_upper && above_lower
    }

    pub(crate) fn contains_key(&self, key: &[u8]) -> bool {
        &self.meta.smallest[..] <= key && key <= &self.meta.largest[..]
    }
}

impl Drop for TableFile {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire) {
            // Invariant 3. A failure leaves an orphan that the next open
            // deletes; there is no caller to report it to.
            let _ = self.fs.remove(&self.path);
        }
    }
}

/// The tables of the tree at one moment.
#[derive(Debug, Default)]
pub(crate) struct Version {
    /// `levels[0]` newest first; `levels[1..]` sorted by smallest key.
    pub levels: [Vec<Arc<TableFile>>; LEVELS],
}

impl Version {
    /// The version after `edit`; also returns the tables it removed.
    pub(crate) fn apply(
        &self,
        edit: &VersionEdit,
        dir: &Path,
        fs: &Arc<dyn FileSystem>,
    ) -> Result<(Version, Vec<Arc<TableFile>>), String> {
        let mut levels = self.levels.clone();
        let mut removed = Vec::new();
        for &(level, number) in &edit.removed {
            let tables = &mut levels[usize::from(level)];
            let index = tables
                .iter()
                .position(|t| t.meta.number == number)
                .ok_or_else(|| format!("edit removes table {number}, not in level {level}"))?;
            removed.push(tables.remove(index));
        }
        for (level, meta) in &edit.added {
            // A table moved between levels keeps its file and its object.
            let table = removed
                .iter()
                .position(|t| t.meta.number == meta.number)
                .map(|i| removed.swap_remove(i))
                .unwrap_or_else(|| Arc::new(TableFile::new(meta.clone(), dir, Arc::clone(fs))));
            levels[usize::from(*level)].push(table);
        }
        levels[0].sort_by_key(|t| std::cmp::Reverse((t.meta.max_seq, t.meta.number)));
        for (level, tables) in levels.iter_mut().enumerate().skip(1) {
            tables.sort_by(|a, b| a.meta.smallest.cmp(&b.meta.smallest));
            for pair in tables.windows(2) {
                if pair[0].meta.largest >= pair[1].meta.smallest {
                    return Err(format!(
                        "tables {} and {} overlap in level {level}",
                        pair[0].meta.number, pair[1].meta.number
                    ));
                }
            }
        }
        Ok((Version { levels }, removed))
    }

    /// An edit that recreates this version from nothing (a manifest's
    /// first record).
    pub(crate) fn snapshot_edit(&self) -> VersionEdit {
        let mut edit = VersionEdit::default();
        for (level, tables) in self.levels.iter().enumerate() {
            for table in tables {
                edit.added.push((level as u8, table.meta.clone()));
            }
        }
        edit
    }

    /// Tables of `level` whose key range meets `[lower, upper]`.
    pub(crate) fn overlapping(
        &self,
        level: usize,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> Vec<Arc<TableFile>> {
        self.levels[level]
            .iter()
            .filter(|t| t.overlaps(lower, upper))
            .cloned()
            .collect()
    }

    /// The table of sorted level `level` (≥ 1) that may hold `key`.
    pub(crate) fn find_in_level(&self, level: usize, key: &[u8]) -> Option<&Arc<TableFile>> {
        debug_assert!(level >= 1, "level 0 overlaps; search it table by table");
        let tables = &self.levels[level];
        let index = tables.partition_point(|t| &t.meta.largest[..] < key);
        tables.get(index).filter(|t| t.contains_key(key))
    }

    /// Total file bytes in `level`.
    pub(crate) fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|t| t.meta.file_bytes).sum()
    }

    /// True when no table below `level` may hold `key`: a tombstone for it
    /// written at `level` shadows nothing and may go.
    pub(crate) fn is_bottommost_for(&self, level: usize, key: &[u8]) -> bool {
        ((level + 1)..LEVELS).all(|l| self.find_in_level(l, key).is_none())
    }

    /// The deepest level holding any table (0 when empty).
    pub(crate) fn deepest_nonempty_level(&self) -> usize {
        (0..LEVELS)
            .rev()
            .find(|&l| !self.levels[l].is_empty())
            .unwrap_or(0)
    }
}

/// The user-key range covered by `tables`: (smallest, largest).
pub(crate) fn key_range(tables: &[Arc<TableFile>]) -> Option<(Bytes, Bytes)> {
    let smallest = tables.iter().map(|t| &t.meta.smallest).min()?.clone();
    let largest = tables.iter().map(|t| &t.meta.largest).max()?.clone();
    Some((smallest, largest))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fs::OsFileSystem;

    pub(crate) fn meta(number: u64, smallest: &str, largest: &str, max_seq: u64) -> TableMeta {
        TableMeta {
            number,
            file_bytes: 1000,
            min_seq: 1,
            max_seq,
            entries: 10,
            tombstones: 0,
            earliest_expires_at: None,
            latest_retain_until: None,
            has_records: false,
            smallest: Bytes::copy_from_slice(smallest.as_bytes()),
            largest: Bytes::copy_from_slice(largest.as_bytes()),
        }
    }

    #[test]
    fn apply_sorts_levels_and_rejects_overlap() {
        let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
        let dir = Path::new("/nonexistent");
        let edit = VersionEdit {
            added: vec![
                (0, meta(1, "a", "z", 10)),
                (0, meta(2, "b", "c", 20)),
                (1, meta(3, "m", "p", 5)),
                (1, meta(4, "a", "f", 5)),
            ],
            ..VersionEdit::default()
        };
        let (v, removed) = Version::default().apply(&edit, dir, &fs).unwrap();
        assert!(removed.is_empty());
        let numbers = |l: usize| {
            v.levels[l]
                .iter()
                .map(|t| t.meta.number)
                .collect::<Vec<_>>()
        };
        assert_eq!(numbers(0), [2, 1]);
        assert_eq!(numbers(1), [4, 3]);
        assert_eq!(v.find_in_level(1, b"n").map(|t| t.meta.number), Some(3));
        assert!(v.find_in_level(1, b"h").is_none());
        assert!(!v.is_bottommost_for(0, b"n"));
        assert!(v.is_bottommost_for(0, b"h"));
        assert_eq!(v.deepest_nonempty_level(), 1);
        assert_eq!(v.snapshot_edit().added.len(), 4);

        let clash = VersionEdit {
            added: vec![(1, meta(5, "e", "g", 5))],
            ..VersionEdit::default()
        };
        assert!(v.apply(&clash, dir, &fs).is_err());
        let missing = VersionEdit {
            removed: vec![(2, 3)],
            ..VersionEdit::default()
        };
        assert!(v.apply(&missing, dir, &fs).is_err());
    }

    #[test]
    fn moved_tables_keep_their_object() {
        let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
        let dir = Path::new("/nonexistent");
        let add = VersionEdit {
            added: vec![(0, meta(1, "a", "c", 10))],
            ..VersionEdit::default()
        };
        let (v1, _) = Version::default().apply(&add, dir, &fs).unwrap();
        let mv = VersionEdit {
            removed: vec![(0, 1)],
            added: vec![(1, meta(1, "a", "c", 10))],
            ..VersionEdit::default()
        };
        let (v2, removed) = v1.apply(&mv, dir, &fs).unwrap();
        assert!(removed.is_empty(), "a move removes nothing for good");
        assert!(Arc::ptr_eq(&v1.levels[0][0], &v2.levels[1][0]));
    }

    #[test]
    fn obsolete_file_is_deleted_with_its_last_reference() {
        let tmp = tempfile::tempdir().unwrap();
        let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
        let table = Arc::new(TableFile::new(meta(7, "a", "b", 1), tmp.path(), fs));
        std::fs::write(&table.path, b"x").unwrap();
        let path = table.path.clone();
        let reader = Arc::clone(&table);
        table.mark_obsolete();
        drop(table);
        assert!(path.exists(), "an iterator still holds it");
        drop(reader);
        assert!(!path.exists());
    }
}
