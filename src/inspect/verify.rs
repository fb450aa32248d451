//! [`verify_dir`]: every checksum of every file of a database directory,
//! and the few rules that tie the files together.
//!
//! Per file, with the engine's own decoders:
//! * `CURRENT` names a manifest that exists;
//! * each manifest: header, every frame's CRC, every version edit, and the
//!   replay of the live one (no table removed twice, no overlap in levels
//!   1..); every table it lists exists with the recorded length;
//! * each WAL segment: header, every frame's CRC, every batch and every
//!   record's metadata; a torn tail is a warning in the newest segment (the
//!   tail a crash leaves, which opening cuts) and a problem anywhere else;
//! * each table: footer, properties, filter and index with their CRCs at
//!   open, then every data block with its CRC, the entries' order and the
//!   properties' totals (`Table::verify`);
//! * the audit trail: every frame, every entry, every link and hash.
//!
//! # Locking
//! `verify_dir` takes the directory's lock for the whole check, as opening
//! does, so it fails with [`Error::Locked`] while a database handle has
//! the directory open: a running engine appends to the newest segment, and
//! its compactions delete tables, under the reader's feet, which would
//! report problems that are not there. Close the database (or stop the
//! application) first. Taking the lock writes nothing to the files.

use super::report::{CheckedFile, VerifyProgress, VerifyReport};
use super::{audit, manifest, read_file, wal, FileType};
use crate::db::lock_dir;
use crate::fs::{manifest_name, table_name, FileSystem, OsFileSystem, CURRENT_FILE_NAME};
use crate::manifest::VersionEdit;
use crate::table::{Table, TableOptions};
use crate::version::Version;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// True when `dir` holds a database: a `CURRENT` file (every open writes
/// one before it returns), or at least a file named like a WAL segment, a
/// table or a manifest (a database whose `CURRENT` was lost, which opening
/// and [`verify_dir`] report as corruption rather than start empty).
pub fn database_exists(dir: &Path) -> bool {
    OsFileSystem.list(dir).is_ok_and(|names| {
        names.iter().any(|n| {
            matches!(
                FileType::of_name(n).0,
                FileType::Current | FileType::Wal | FileType::Table | FileType::Manifest
            )
        })
    })
}

/// Checks every file of the database in `dir`; calls `progress` before
/// each file. Returns the report, clean or not; `Err` only when the check
/// could not run: no database in `dir` ([`Error::InvalidArgument`]), a
/// database open elsewhere ([`Error::Locked`], see the module
/// documentation), or the directory cannot be listed.
pub fn verify_dir(dir: &Path, progress: &mut dyn FnMut(&VerifyProgress)) -> Result<VerifyReport> {
    let fs = OsFileSystem;
    if !database_exists(dir) {
        return Err(Error::InvalidArgument(format!(
            "no holdfast database in {} (no CURRENT, WAL, table or manifest file)",
            dir.display()
        )));
    }
    let _lock = lock_dir(&fs, dir)?;
    let mut names = fs
        .list(dir)
        .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    // CURRENT first: it says which manifest is live.
    names.sort_by_key(|name| {
        let file_type = FileType::of_name(name).0;
        (file_type != FileType::Current, file_type, name.clone())
    });
    let mut sizes = Vec::with_capacity(names.len());
    for name in &names {
        let size = fs
            .open(&dir.join(name), crate::fs::OpenMode::Read)
            .and_then(|f| f.size())
            .unwrap_or(0);
        sizes.push(size);
    }
    let mut state = Check::new(dir, &names);
    let (files_total, bytes_total) = (names.len() as u64, sizes.iter().sum());
    let mut bytes_done = 0;
    for (i, (name, size)) in names.iter().zip(&sizes).enumerate() {
        let path = dir.join(name);
        progress(&VerifyProgress {
            path: path.clone(),
            files_done: i as u64,
            files_total,
            bytes_done,
            bytes_total,
        });
        state.file(&path, name, *size);
        bytes_done += size;
    }
    state.cross_check();
    Ok(state.report)
}

/// The state of one `verify_dir` run.
struct Check<'a> {
    dir: &'a Path,
    names: &'a [String],
    report: VerifyReport,
    /// The manifest `CURRENT` names, once read.
    live_manifest: Option<u64>,
    /// The live manifest's edits.
    live_edits: Vec<VersionEdit>,
    newest_wal: Option<u64>,
}

impl<'a> Check<'a> {
    fn new(dir: &'a Path, names: &'a [String]) -> Self {
        let newest_wal = names
            .iter()
            .filter_map(|n| match FileType::of_name(n) {
                (FileType::Wal, number) => number,
                _ => None,
            })
            .max();
        Check {
            dir,
            names,
            report: VerifyReport::default(),
            live_manifest: None,
            live_edits: Vec::new(),
            newest_wal,
        }
    }

    /// Checks one file and records it.
    fn file(&mut self, path: &Path, name: &str, size: u64) {
        let problems_before = self.report.problems.len();
        let (file_type, number) = FileType::of_name(name);
        let items = match self.check(path, file_type, number) {
            Ok(items) => items,
            Err(e) => {
                self.report.failed(path, e);
                0
            }
        };
        self.report.files.push(CheckedFile {
            path: path.to_path_buf(),
            file_type,
            bytes: size,
            items,
            ok: self.report.problems.len() == problems_before,
        });
    }

    fn check(&mut self, path: &Path, file_type: FileType, number: Option<u64>) -> Result<u64> {
        let number = number.unwrap_or(0);
        match file_type {
            FileType::Current => {
                let content = read_file(path)?;
                let named = crate::manifest::parse_current(&content).ok_or_else(|| {
                    Error::corruption(path, 0, "CURRENT does not name a manifest")
                })?;
                if !self.names.contains(&manifest_name(named)) {
                    self.report.problem(
                        path,
                        0,
                        format!("CURRENT names {}, which is missing", manifest_name(named)),
                    );
                }
                self.live_manifest = Some(named);
                Ok(0)
            }
            FileType::Manifest => {
                let bytes = read_file(path)?;
                let (dump, edits) = manifest::decode(path, number, &bytes)?;
                if let Some(why) = &dump.torn_tail {
                    self.report.warning(
                        path,
                        dump.valid_bytes,
                        format!("torn last edit (opening drops it): {why}"),
                    );
                }
                if self.live_manifest == Some(number) {
                    self.live_edits = edits;
                } else {
                    self.report.warning(
                        path,
                        0,
                        "manifest not named by CURRENT (opening deletes it)",
                    );
                }
                Ok(dump.edits.len() as u64)
            }
            FileType::Wal => {
                let bytes = read_file(path)?;
                let dump = wal::decode_wal(path, number, &bytes)?;
                if let Some(why) = dump.torn_tail {
                    let detail = format!(
                        "damaged tail of {} bytes: {why}",
                        dump.file_bytes.saturating_sub(dump.valid_bytes)
                    );
                    if Some(number) == self.newest_wal {
                        self.report.warning(
                            path,
                            dump.valid_bytes,
                            format!(
                                "{detail} (the newest segment: a crash's torn write, cut on open)"
                            ),
                        );
                    } else {
                        self.report.problem(path, dump.valid_bytes, detail);
                    }
                }
                Ok(dump.records.len() as u64)
            }
            FileType::Table => {
                let table = Table::open(&OsFileSystem, path, &TableOptions::default())?;
                table.verify()?;
                Ok(table.properties().entries)
            }
            FileType::Audit => {
                if number != crate::audit::AUDIT_FILE_NUMBER {
                    return Err(Error::corruption(
                        path,
                        0,
                        "unexpected audit file number (opening refuses it)",
                    ));
                }
                let bytes = read_file(path)?;
                let dump = audit::decode_audit(path, &bytes)?;
                if let Some(why) = dump.torn_tail {
                    self.report.warning(
                        path,
                        dump.file_bytes,
                        format!("torn last entry (opening cuts it): {why}"),
                    );
                }
                Ok(dump.entries.len() as u64)
            }
            FileType::CurrentTemp => {
                self.report.warning(
                    path,
                    0,
                    "left by an interrupted switch of CURRENT (opening deletes it)",
                );
                Ok(0)
            }
            FileType::Lock | FileType::Other => Ok(0),
        }
    }

    /// The rules between files: the live manifest's tables exist with
    /// their recorded lengths, the replay is consistent, no orphans.
    fn cross_check(&mut self) {
        let Some(number) = self.live_manifest else {
            let current = self.dir.join(CURRENT_FILE_NAME);
            if !self.names.iter().any(|n| n == CURRENT_FILE_NAME) {
                self.report.problem(
                    &current,
                    0,
                    "CURRENT is missing: no manifest is live (opening refuses a directory with tables and no CURRENT)",
                );
            }
            return;
        };
        let path = self.dir.join(manifest_name(number));
        let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
        let mut version = Version::default();
        let mut wal_oldest_live = 0;
        for edit in &self.live_edits {
            match version.apply(edit, self.dir, &fs) {
                Ok((next, _)) => version = next,
                Err(why) => return self.report.problem(&path, 0, format!("replay: {why}")),
            }
            wal_oldest_live = edit.wal_oldest_live.unwrap_or(wal_oldest_live);
        }
        let sizes: BTreeMap<&Path, u64> = self
            .report
            .files
            .iter()
            .map(|f| (f.path.as_path(), f.bytes))
            .collect();
        let mut problems = Vec::new();
        let mut live = Vec::new();
        for table in version.levels.iter().flatten() {
            let table_path = self.dir.join(table_name(table.meta.number));
            match sizes.get(table_path.as_path()) {
                None => problems.push(format!(
                    "lists table {}, which is missing",
                    table.meta.number
                )),
                Some(&len) if len != table.meta.file_bytes => problems.push(format!(
                    "records table {} as {} bytes, the file has {len}",
                    table.meta.number, table.meta.file_bytes
                )),
                Some(_) => {}
            }
            live.push(table.meta.number);
        }
        for detail in problems {
            self.report.problem(&path, 0, detail);
        }
        for file in self.report.files.clone() {
            let name = file.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            match FileType::of_name(name) {
                (FileType::Table, Some(n)) if !live.contains(&n) => self.report.warning(
                    &file.path,
                    0,
                    "table not in the live manifest (opening deletes it)",
                ),
                (FileType::Wal, Some(n)) if n < wal_oldest_live => self.report.warning(
                    &file.path,
                    0,
                    "WAL segment older than the manifest's oldest live one (opening deletes it)",
                ),
                _ => {}
            }
        }
    }
}
