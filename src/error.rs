//! The one error type of holdfast.
//!
//! Every fallible public call returns [`Result<T>`]. Variants carry the
//! context a user needs to act: which file and offset is corrupt, which
//! argument is invalid, which path is locked. Environment failures (disk,
//! bad bytes) are errors; programmer mistakes inside the engine are
//! assertions, never variants here.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The result type of every fallible holdfast call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in holdfast.
///
/// The enum is `#[non_exhaustive]`: later versions add variants (the records
/// layer adds retention errors), so match with a wildcard arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed.
    Io {
        /// What the engine was doing, including the path where there is one.
        context: String,
        /// The error the operating system reported.
        source: io::Error,
    },
    /// Bytes read from disk are not what the engine wrote: a checksum
    /// mismatch, an impossible length, an unknown tag.
    Corruption {
        /// The file that holds the bad bytes.
        file: PathBuf,
        /// Byte offset in `file` of the structure that failed to decode.
        offset: u64,
        /// What was wrong, e.g. `"WAL frame checksum: expected 0x.., found 0x.."`.
        detail: String,
    },
    /// The caller passed something the engine refuses (an empty key, a value
    /// past the size limit, a bad option). Nothing was written.
    InvalidArgument(String),
    /// Another handle, in this process or another, holds the database
    /// directory's lock.
    Locked {
        /// The database directory.
        path: PathBuf,
    },
    /// A WAL write or fsync failed earlier on this handle. Durability of the
    /// log tail is uncertain, so writes are refused until the database is
    /// reopened; reads of data acknowledged before keep working.
    Poisoned {
        /// The failure that poisoned the handle.
        cause: String,
    },
    /// [`Db::close`](crate::Db::close) was called on this database; every
    /// handle to it is closed.
    Closed,
    /// The write would overwrite, delete or weaken the retention of a
    /// record that is protected until `until` (RECORDS.md rules 1–3).
    /// Nothing of the batch was applied.
    RetentionLocked {
        /// The protected record's key.
        key: Vec<u8>,
        /// Its effective `retain_until` ([`Timestamp::MAX`](crate::Timestamp::MAX)
        /// while a policy waits for its event).
        until: crate::Timestamp,
        /// Its mode.
        mode: crate::Mode,
    },
    /// The write would overwrite or delete a record covered by legal holds
    /// (rule 4); no option bypasses a hold. Nothing of the batch was applied.
    Held {
        /// The held record's key.
        key: Vec<u8>,
        /// Ids of the holds covering it.
        holds: Vec<String>,
    },
    /// The engine's clock could not be read, so a protection check could
    /// not be made; the write was refused (rule 8: fail closed).
    ClockUnavailable(String),
    /// A pair of a [typed collection](crate::collection::Collection) did
    /// not decode: its key bytes are not an encoding of the key type, or
    /// its value is not postcard of the value type (raw writes under the
    /// collection's prefix, or a changed type). The pair is left as it is.
    Decode {
        /// The collection's name.
        collection: String,
        /// The pair's raw key in the database, collection prefix included.
        key: Vec<u8>,
        /// What failed to decode, and why.
        detail: String,
    },
}

impl Error {
    /// Wraps an I/O error with what the engine was doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A corruption at `offset` of `file`.
    pub(crate) fn corruption(
        file: impl Into<PathBuf>,
        offset: u64,
        detail: impl Into<String>,
    ) -> Self {
        Error::Corruption {
            file: file.into(),
            offset,
            detail: detail.into(),
        }
    }

    /// A copy of this error for another waiter of the same failed group
    /// commit (`io::Error` is not `Clone`; kind and message are kept).
    pub(crate) fn share(&self) -> Self {
        match self {
            Error::Io { context, source } => Error::Io {
                context: context.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            Error::Corruption {
                file,
                offset,
                detail,
            } => Error::corruption(file.clone(), *offset, detail.clone()),
            Error::InvalidArgument(what) => Error::InvalidArgument(what.clone()),
            Error::Locked { path } => Error::Locked { path: path.clone() },
            Error::Poisoned { cause } => Error::Poisoned {
                cause: cause.clone(),
            },
            Error::Closed => Error::Closed,
            Error::RetentionLocked { key, until, mode } => Error::RetentionLocked {
                key: key.clone(),
                until: *until,
                mode: *mode,
            },
            Error::Held { key, holds } => Error::Held {
                key: key.clone(),
                holds: holds.clone(),
            },
            Error::ClockUnavailable(why) => Error::ClockUnavailable(why.clone()),
            Error::Decode {
                collection,
                key,
                detail,
            } => Error::Decode {
                collection: collection.clone(),
                key: key.clone(),
                detail: detail.clone(),
            },
        }
    }

    /// True for [`Error::Corruption`].
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "I/O error while {context}: {source}"),
            Error::Corruption {
                file,
                offset,
                detail,
            } => write!(
                f,
                "corruption in {} at offset {offset}: {detail}",
                file.display()
            ),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::Locked { path } => write!(
                f,
                "database {} is locked by another handle or process",
                path.display()
            ),
            Error::Poisoned { cause } => write!(
                f,
                "database handle is poisoned by an earlier write failure ({cause}); reopen it"
            ),
            Error::Closed => write!(f, "database is closed"),
            Error::RetentionLocked { key, until, mode } => write!(
                f,
                "record {} is retained in {mode:?} mode until {until}",
                crate::records::display_key(key)
            ),
            Error::Held { key, holds } => write!(
                f,
                "record {} is under legal hold ({})",
                crate::records::display_key(key),
                holds.join(", ")
            ),
            Error::ClockUnavailable(why) => {
                write!(
                    f,
                    "the clock is unavailable, protected writes refused: {why}"
                )
            }
            Error::Decode {
                collection,
                key,
                detail,
            } => {
                // The key after the collection's prefix (`name | 0x00`).
                let own = key
                    .strip_prefix(collection.as_bytes())
                    .and_then(|rest| rest.strip_prefix(&[0]))
                    .unwrap_or(key);
                write!(
                    f,
                    "collection {collection:?}: cannot decode the pair at key {}: {detail}",
                    crate::records::display_key(own)
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_offset() {
        let e = Error::corruption("/db/000001.wal", 42, "bad crc");
        let text = e.to_string();
        assert!(text.contains("000001.wal"), "{text}");
        assert!(text.contains("42"), "{text}");
        assert!(e.is_corruption());
    }

    #[test]
    fn io_error_keeps_its_source() {
        let e = Error::io("syncing x", io::Error::other("disk gone"));
        assert!(std::error::Error::source(&e).is_some());
        assert!(!e.is_corruption());
    }

    #[test]
    fn decode_error_names_collection_and_key() {
        let e = Error::Decode {
            collection: "invoices".into(),
            key: b"invoices\x00\x07".to_vec(),
            detail: "value: unexpected end".into(),
        };
        let text = e.share().to_string();
        assert!(text.contains("\"invoices\""), "{text}");
        assert!(text.contains("at key 07: "), "{text}");
        assert!(text.contains("value: unexpected end"), "{text}");
    }
}
