//! A file system that hands every call to an inner one except the fsyncs,
//! which go through a hook. For tests and benchmarks: skip the fsyncs where
//! durability is not under test (only power cuts lose unsynced bytes, and
//! such tests never cut power), or hold and count them to order concurrent
//! syncs.
//!
//! Skipping fsyncs breaks contract 2 of the [`FileSystem`] trait on
//! purpose: never use [`SyncHookFileSystem::without_syncs`] for data that
//! must survive a power cut.

use super::{FileHandle, FileSystem, OpenMode, OsFileSystem};
use bytes::Bytes;
use std::fmt::{self, Debug};
use std::io;
use std::path::Path;
use std::sync::Arc;

/// An fsync the engine asked for, handed to the hook.
pub enum SyncCall<'a> {
    /// `FileHandle::sync` of a file.
    File(&'a dyn FileHandle),
    /// `FileSystem::sync_dir` of a directory, on the inner file system.
    Dir(&'a dyn FileSystem, &'a Path),
}

impl SyncCall<'_> {
    /// Performs the fsync on the inner file system.
    pub fn run(&self) -> io::Result<()> {
        match self {
            SyncCall::File(file) => file.sync(),
            SyncCall::Dir(fs, dir) => fs.sync_dir(dir),
        }
    }
}

type Hook = dyn Fn(SyncCall<'_>) -> io::Result<()> + Send + Sync;

/// Passes everything to an inner file system; every fsync calls the hook,
/// which decides whether (and when) to [`run`](SyncCall::run) it.
///
/// ```
/// use holdfast::fs::SyncHookFileSystem;
/// use holdfast::{Db, Options};
/// use std::sync::Arc;
///
/// let dir = tempfile::tempdir().unwrap();
/// let fs = Arc::new(SyncHookFileSystem::without_syncs());
/// let db = Db::open(dir.path(), Options::default().file_system(fs)).unwrap();
/// db.put(b"k", b"v").unwrap();
/// ```
#[derive(Clone)]
pub struct SyncHookFileSystem {
    inner: Arc<dyn FileSystem>,
    hook: Arc<Hook>,
}

impl SyncHookFileSystem {
    /// Wraps `inner`; `hook` gets every fsync.
    pub fn new(
        inner: Arc<dyn FileSystem>,
        hook: impl Fn(SyncCall<'_>) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        SyncHookFileSystem {
            inner,
            hook: Arc::new(hook),
        }
    }

    /// The real file system with every fsync skipped: for tests that never
    /// cut power (a process crash keeps what reached the operating system).
    pub fn without_syncs() -> Self {
        SyncHookFileSystem::new(Arc::new(OsFileSystem), |_| Ok(()))
    }
}

impl Debug for SyncHookFileSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncHookFileSystem")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

struct HookedFile {
    inner: Arc<dyn FileHandle>,
    hook: Arc<Hook>,
}

impl Debug for HookedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HookedFile").field(&self.inner).finish()
    }
}

impl FileSystem for SyncHookFileSystem {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FileHandle>> {
        Ok(Arc::new(HookedFile {
            inner: self.inner.open(path, mode)?,
            hook: Arc::clone(&self.hook),
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        (self.hook)(SyncCall::Dir(&*self.inner, dir))
    }
    fn lock(&self, path: &Path) -> io::Result<Box<dyn Debug + Send + Sync>> {
        self.inner.lock(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.hard_link(from, to)
    }
}

impl FileHandle for HookedFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.inner.append(buf)
    }
    fn sync(&self) -> io::Result<()> {
        (self.hook)(SyncCall::File(&*self.inner))
    }
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
    fn map(&self) -> io::Result<Bytes> {
        self.inner.map()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn every_fsync_reaches_the_hook_and_nothing_else_does() {
        let tmp = tempfile::tempdir().unwrap();
        let (files, dirs) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (f, d) = (Arc::clone(&files), Arc::clone(&dirs));
        let fs = SyncHookFileSystem::new(Arc::new(OsFileSystem), move |call| {
            match call {
                SyncCall::File(_) => f.fetch_add(1, Ordering::SeqCst),
                SyncCall::Dir(..) => d.fetch_add(1, Ordering::SeqCst),
            };
            call.run()
        });
        let path = tmp.path().join("a");
        let file = fs.open(&path, OpenMode::CreateNew).unwrap();
        file.append(b"hello").unwrap();
        assert_eq!(
            (files.load(Ordering::SeqCst), dirs.load(Ordering::SeqCst)),
            (0, 0)
        );
        file.sync().unwrap();
        fs.sync_dir(tmp.path()).unwrap();
        assert_eq!(
            (files.load(Ordering::SeqCst), dirs.load(Ordering::SeqCst)),
            (1, 1)
        );
        let mut buf = [0u8; 5];
        assert_eq!(file.read_at(&mut buf, 0).unwrap(), 5);
        assert_eq!(&buf, b"hello");
        assert_eq!(&file.map().unwrap()[..], b"hello");
    }
}
