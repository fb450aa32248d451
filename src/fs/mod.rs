//! The file-I/O boundary: every byte the engine reads or writes, and every
//! directory operation, goes through [`FileSystem`] and [`FileHandle`].
//!
//! Nothing else in the engine calls `std::fs`. That gives the reliability
//! suites one place to substitute an in-memory, fault-injecting or
//! power-cut-simulating file system, and gives readers one place to audit
//! the durability protocol.
//!
//! # Contract every implementation keeps
//! 1. `append` either writes all of `buf` at the end of the file or returns
//!    an error; after an error the file's tail is unspecified.
//! 2. `sync` returns only when every byte appended before the call is
//!    durable. An error from `sync` means durability is unknown: the engine
//!    never retries it, it poisons the handle.
//! 3. A created, renamed or removed directory entry is durable only after
//!    `sync_dir` of its parent directory returns.
//! 4. Files are created readable and writable by the owner only (`0600`),
//!    directories `0700`.

mod faulty;
mod names;
mod os;
mod sim;
mod sync_hook;

pub use faulty::{call_site, CallKind, CallRecord, Fault, FaultPlan, FaultyFileSystem};
pub use names::FileKind;
pub(crate) use names::{
    manifest_name, parse_file_name, table_name, wal_segment_name, CURRENT_FILE_NAME,
    CURRENT_TEMP_NAME, LOCK_FILE_NAME,
};
pub use os::OsFileSystem;
pub use sim::{CrashImage, DiskImage, ImageEntry, PowerCut, SimFileSystem, SimRng, UnsyncedFate};
pub use sync_hook::{SyncCall, SyncHookFileSystem};

use bytes::Bytes;
use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// How [`FileSystem::open`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Open an existing file for reading only.
    Read,
    /// Create a new file for appending; fail if it exists.
    CreateNew,
    /// Open an existing file for reading and appending (recovery truncates
    /// torn tails through it).
    ReadWrite,
}

/// A directory tree of files, as the engine sees it.
pub trait FileSystem: Send + Sync + Debug {
    /// Creates `dir` and missing parents (mode `0700` for new ones).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Opens a file.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FileHandle>>;
    /// Renames `from` to `to`, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// The names of the entries of `dir` (files only matter to the engine).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `path` (created if missing), held until the
    /// returned guard is dropped. Fails with `io::ErrorKind::WouldBlock` when
    /// another holder has it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn Debug + Send + Sync>>;
    /// Makes `to` a second name of the file `from` (a hard link), for
    /// checkpoints of immutable tables. File systems without links return
    /// `io::ErrorKind::Unsupported` (this default), and the caller copies.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let _ = (from, to);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// An open file.
///
/// Methods take `&self` so that one thread may append while another syncs
/// the same file (group commit relies on this).
pub trait FileHandle: Send + Sync + Debug {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read
    /// (fewer only at the end of the file).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Appends all of `buf` at the end of the file.
    fn append(&self, buf: &[u8]) -> io::Result<()>;
    /// Makes every appended byte durable.
    fn sync(&self) -> io::Result<()>;
    /// The file's current length.
    fn size(&self) -> io::Result<u64>;
    /// Cuts the file to `len` bytes. Only used by recovery on WAL segments,
    /// which are never memory-mapped.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// The whole file as one read-only buffer: a memory mapping where the
    /// implementation supports it (the sorted tables read through this).
    ///
    /// The caller must never truncate, rewrite or append to a file while a
    /// mapping of it is alive: only finished, synced table files are mapped.
    /// This default reads the file into memory, which suits in-memory and
    /// fault-injecting file systems.
    fn map(&self) -> io::Result<Bytes> {
        read_all(self).map(Bytes::from)
    }
}

/// Reads the whole file into memory, in bounded steps so that a lying
/// length can never trigger one huge allocation.
pub(crate) fn read_all<F: FileHandle + ?Sized>(file: &F) -> io::Result<Vec<u8>> {
    let len = file.size()?;
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    while offset < len {
        let n = file.read_at(&mut chunk, offset)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        offset += n as u64;
    }
    Ok(out)
}
