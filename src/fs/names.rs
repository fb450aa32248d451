//! Every file name in a database directory is built and parsed here, and
//! only here.
//!
//! | name                              | what it is                              |
//! |-----------------------------------|-----------------------------------------|
//! | `LOCK`                            | held with an exclusive lock while open  |
//! | `CURRENT`                         | names the live manifest                 |
//! | `CURRENT.tmp`                     | the next `CURRENT`, before its rename   |
//! | `NNNNNNNNNNNNNNNNNNNN.wal`        | WAL segment number N                    |
//! | `NNNNNNNNNNNNNNNNNNNN.table`      | sorted table file number N              |
//! | `MANIFEST-NNNNNNNNNNNNNNNNNNNN`   | manifest file number N                  |
//!
//! Numbers are 20 zero-padded decimal digits, so `ls` order is numeric
//! order. WAL segments are numbered on their own (contiguously); tables and
//! manifests share the manifest's file-number counter.

/// The lock file's name.
pub(crate) const LOCK_FILE_NAME: &str = "LOCK";
/// The name of the file that points at the live manifest.
pub(crate) const CURRENT_FILE_NAME: &str = "CURRENT";
/// The temporary name `CURRENT` is written under before its rename.
pub(crate) const CURRENT_TEMP_NAME: &str = "CURRENT.tmp";

const WAL_SUFFIX: &str = ".wal";
const TABLE_SUFFIX: &str = ".table";
const MANIFEST_PREFIX: &str = "MANIFEST-";
const NUMBER_DIGITS: usize = 20;

/// What a file in the database directory is, judged by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The directory lock.
    Lock,
    /// The pointer to the live manifest.
    Current,
    /// A `CURRENT` being written (left over only by a crash).
    CurrentTemp,
    /// A write-ahead-log segment with its number.
    WalSegment(u64),
    /// A sorted table with its file number.
    Table(u64),
    /// A manifest with its file number.
    Manifest(u64),
}

/// The name of WAL segment `number`.
pub(crate) fn wal_segment_name(number: u64) -> String {
    format!("{number:0NUMBER_DIGITS$}{WAL_SUFFIX}")
}

/// The name of table file `number`.
pub(crate) fn table_name(number: u64) -> String {
    format!("{number:0NUMBER_DIGITS$}{TABLE_SUFFIX}")
}

/// The name of manifest file `number`.
pub(crate) fn manifest_name(number: u64) -> String {
    format!("{MANIFEST_PREFIX}{number:0NUMBER_DIGITS$}")
}

/// Parses a directory entry's name; `None` for names holdfast did not make.
pub(crate) fn parse_file_name(name: &str) -> Option<FileKind> {
    match name {
        LOCK_FILE_NAME => return Some(FileKind::Lock),
        CURRENT_FILE_NAME => return Some(FileKind::Current),
        CURRENT_TEMP_NAME => return Some(FileKind::CurrentTemp),
        _ => {}
    }
    if let Some(digits) = name.strip_suffix(WAL_SUFFIX) {
        return parse_number(digits).map(FileKind::WalSegment);
    }
    if let Some(digits) = name.strip_suffix(TABLE_SUFFIX) {
        return parse_number(digits).map(FileKind::Table);
    }
    if let Some(digits) = name.strip_prefix(MANIFEST_PREFIX) {
        return parse_number(digits).map(FileKind::Manifest);
    }
    None
}

fn parse_number(digits: &str) -> Option<u64> {
    if digits.len() != NUMBER_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in [0, 1, 42, u64::MAX] {
            assert_eq!(
                parse_file_name(&wal_segment_name(n)),
                Some(FileKind::WalSegment(n))
            );
            assert_eq!(parse_file_name(&table_name(n)), Some(FileKind::Table(n)));
            assert_eq!(
                parse_file_name(&manifest_name(n)),
                Some(FileKind::Manifest(n))
            );
        }
        assert_eq!(wal_segment_name(7).len(), NUMBER_DIGITS + WAL_SUFFIX.len());
        assert_eq!(parse_file_name("LOCK"), Some(FileKind::Lock));
        assert_eq!(parse_file_name("CURRENT"), Some(FileKind::Current));
        assert_eq!(parse_file_name("CURRENT.tmp"), Some(FileKind::CurrentTemp));
    }

    #[test]
    fn foreign_names_are_ignored() {
        for name in [
            "x.wal",
            "1.wal",
            "0000000000000000000a.wal",
            "README",
            "",
            "MANIFEST-1",
            "99999999999999999999.table", // overflows u64
        ] {
            assert_eq!(parse_file_name(name), None, "{name}");
        }
    }
}
