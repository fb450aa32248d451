//! The real file system: `std::fs` on a Unix-like operating system.

use super::{FileHandle, FileSystem, OpenMode};
use bytes::Bytes;
use std::fmt::Debug;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

/// Owner-only permissions for files the engine creates.
const FILE_MODE: u32 = 0o600;
/// Owner-only permissions for directories the engine creates.
const DIR_MODE: u32 = 0o700;

/// [`FileSystem`] backed by the operating system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsFileSystem;

#[derive(Debug)]
struct OsFile {
    file: File,
}

impl FileSystem for OsFileSystem {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FileHandle>> {
        let mut opts = OpenOptions::new();
        match mode {
            OpenMode::Read => opts.read(true),
            OpenMode::CreateNew => opts.read(true).append(true).create_new(true),
            // `append`, not `write`: `FileHandle::append` writes at the end
            // whatever the file position is (without it, an existing file
            // reopened for appending — the audit trail — was overwritten
            // from offset 0).
            OpenMode::ReadWrite => opts.read(true).append(true),
        };
        opts.mode(FILE_MODE);
        Ok(Arc::new(OsFile {
            file: opts.open(path)?,
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::hard_link(from, to)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Debug + Send + Sync>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(DirLock(file))),
            Err(std::fs::TryLockError::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// The held directory lock.
///
/// It is released explicitly on drop, not just by closing the descriptor:
/// the lock belongs to the open file description, and a child process
/// forked by another thread holds a duplicate of it until its `exec`, so
/// merely closing ours would leave the directory locked for that moment.
#[derive(Debug)]
struct DirLock(File);

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl FileHandle for OsFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        (&self.file).write_all(buf)
    }

    fn sync(&self) -> io::Result<()> {
        // fdatasync: the file's length is data for this purpose, so appended
        // bytes are durable without the cost of flushing unrelated metadata.
        self.file.sync_data()
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    #[expect(
        unsafe_code,
        reason = "memmap2::Mmap::map is unsafe: the mapping is only sound while nobody changes the file"
    )]
    fn map(&self) -> io::Result<Bytes> {
        if self.file.metadata()?.len() == 0 {
            // mmap(2) refuses a zero-length mapping.
            return Ok(Bytes::new());
        }
        // SAFETY: only finished table files are mapped, and a table file is
        // immutable once it has been written and synced: the engine never
        // truncates, rewrites or appends to a file that may be mapped, and
        // removes it only by unlinking, which keeps the pages alive while a
        // mapping exists. (A file truncated under a live mapping would make
        // reads past the new end fault with SIGBUS; the engine never does
        // that, and files in a database directory are the engine's alone.)
        let mmap = unsafe { memmap2::Mmap::map(&self.file)? };
        Ok(Bytes::from_owner(mmap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_files_and_dirs_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        OsFileSystem.create_dir_all(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let path = dir.join("f");
        let f = OsFileSystem.open(&path, OpenMode::CreateNew).unwrap();
        f.append(b"hello").unwrap();
        f.sync().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut buf = [0u8; 10];
        assert_eq!(f.read_at(&mut buf, 1).unwrap(), 4);
        assert_eq!(&buf[..4], b"ello");
        f.truncate(2).unwrap();
        assert_eq!(f.size().unwrap(), 2);
    }

    /// Regression: appends to a file reopened with `ReadWrite` went to
    /// offset 0 (the file position), clobbering the audit trail's header.
    #[test]
    fn appends_after_reopen_and_truncate_go_to_the_end() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let f = OsFileSystem.open(&path, OpenMode::CreateNew).unwrap();
        f.append(b"header-and-entries").unwrap();
        drop(f);
        let f = OsFileSystem.open(&path, OpenMode::ReadWrite).unwrap();
        f.truncate(6).unwrap();
        f.append(b"+more").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"header+more");
    }

    #[test]
    fn map_sees_the_whole_file_and_empty_files_map_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let f = OsFileSystem.open(&path, OpenMode::CreateNew).unwrap();
        assert!(f.map().unwrap().is_empty());
        f.append(b"mapped bytes").unwrap();
        f.sync().unwrap();
        let reader = OsFileSystem.open(&path, OpenMode::Read).unwrap();
        assert_eq!(&reader.map().unwrap()[..], b"mapped bytes");
    }

    #[test]
    fn create_new_refuses_existing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        OsFileSystem.open(&path, OpenMode::CreateNew).unwrap();
        assert!(OsFileSystem.open(&path, OpenMode::CreateNew).is_err());
    }

    #[test]
    fn second_lock_would_block() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("LOCK");
        let guard = OsFileSystem.lock(&path).unwrap();
        let err = OsFileSystem.lock(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(guard);
        OsFileSystem.lock(&path).unwrap();
    }
}
