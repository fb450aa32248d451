//! What [`verify_dir`](super::verify_dir) reports: the progress it hands
//! to its callback, each file checked, each problem and warning with its
//! file and offset.

use super::FileType;
use crate::Error;
use std::path::{Path, PathBuf};

/// Where [`verify_dir`](super::verify_dir) is, handed to its progress callback before each file.
#[derive(Clone, Debug)]
pub struct VerifyProgress {
    /// The file about to be checked.
    pub path: PathBuf,
    /// Files checked so far.
    pub files_done: u64,
    /// Files to check.
    pub files_total: u64,
    /// Bytes of the files checked so far.
    pub bytes_done: u64,
    /// Bytes of all the files.
    pub bytes_total: u64,
}

/// One file that was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedFile {
    /// The file.
    pub path: PathBuf,
    /// Its type, by name.
    pub file_type: FileType,
    /// Its length.
    pub bytes: u64,
    /// What it holds that was checked: WAL records, table entries,
    /// manifest edits, audit entries (0 for the others).
    pub items: u64,
    /// No problem was found in it.
    pub ok: bool,
}

/// A problem (or a warning) and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// Byte offset in `file` of the structure that failed (0 when the
    /// problem is about the file as a whole).
    pub offset: u64,
    /// What is wrong.
    pub detail: String,
}

/// What [`verify_dir`](super::verify_dir) found.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// Every file of the directory, in check order.
    pub files: Vec<CheckedFile>,
    /// Damage: the database would not open, or would lose or misread data.
    pub problems: Vec<Problem>,
    /// Not damage: what a crash or an interrupted open leaves, and opening
    /// repairs (a torn tail in the newest WAL segment, an orphan file).
    pub warnings: Vec<Problem>,
}

impl VerifyReport {
    /// No problem was found (warnings allowed).
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Bytes of every file checked.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Files of type `file_type`, and their bytes.
    pub fn count(&self, file_type: FileType) -> (u64, u64) {
        self.files
            .iter()
            .filter(|f| f.file_type == file_type)
            .fold((0, 0), |(n, b), f| (n + 1, b + f.bytes))
    }

    pub(super) fn problem(&mut self, file: &Path, offset: u64, detail: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_path_buf(),
            offset,
            detail: detail.into(),
        });
    }

    pub(super) fn warning(&mut self, file: &Path, offset: u64, detail: impl Into<String>) {
        self.warnings.push(Problem {
            file: file.to_path_buf(),
            offset,
            detail: detail.into(),
        });
    }

    /// Records `err` as a problem: a corruption where it says, anything
    /// else (an I/O error) against `file`.
    pub(super) fn failed(&mut self, file: &Path, err: Error) {
        match err {
            Error::Corruption {
                file: at,
                offset,
                detail,
            } => self.problem(&at, offset, detail),
            other => self.problem(file, 0, other.to_string()),
        }
    }
}
