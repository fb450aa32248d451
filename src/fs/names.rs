//! Every file name in a database directory is built and parsed here, and
//! only here.
//!
//! | name                  | what it is                                 |
//! |-----------------------|--------------------------------------------|
//! | `LOCK`                | held with an exclusive lock while open     |
//! | `NNNNNNNNNNNNNNNNNNNN.wal` | WAL segment number N (20 decimal digits) |
//!
//! Zero-padded numbers make `ls` order equal numeric order.

/// The lock file's name.
pub(crate) const LOCK_FILE_NAME: &str = "LOCK";

const WAL_SUFFIX: &str = ".wal";
const NUMBER_DIGITS: usize = 20;

/// What a file in the database directory is, judged by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The directory lock.
    Lock,
    /// A write-ahead-log segment with its number.
    WalSegment(u64),
}

/// The name of WAL segment `number`.
pub(crate) fn wal_segment_name(number: u64) -> String {
    format!("{number:0NUMBER_DIGITS$}{WAL_SUFFIX}")
}

/// Parses a directory entry's name; `None` for names holdfast did not make.
pub(crate) fn parse_file_name(name: &str) -> Option<FileKind> {
    if name == LOCK_FILE_NAME {
        return Some(FileKind::Lock);
    }
    let digits = name.strip_suffix(WAL_SUFFIX)?;
    if digits.len() != NUMBER_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(FileKind::WalSegment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_names_round_trip() {
        for n in [0, 1, 42, u64::MAX] {
            let name = wal_segment_name(n);
            assert_eq!(name.len(), NUMBER_DIGITS + WAL_SUFFIX.len());
            assert_eq!(parse_file_name(&name), Some(FileKind::WalSegment(n)));
        }
        assert_eq!(parse_file_name("LOCK"), Some(FileKind::Lock));
    }

    #[test]
    fn foreign_names_are_ignored() {
        for name in ["x.wal", "1.wal", "0000000000000000000a.wal", "README", ""] {
            assert_eq!(parse_file_name(name), None, "{name}");
        }
    }
}
