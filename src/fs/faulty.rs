//! [`FaultyFileSystem`]: a wrapper around any [`FileSystem`] that fails a
//! chosen call — the N-th call overall, or the N-th of one [`CallKind`] —
//! with an I/O error ([`Fault`]), counts every call, and can name the line
//! of engine code that made each call ([`call_site`]).
//!
//! A failed `append` may have written part of its buffer first
//! ([`Fault::ShortWrite`]), as the file-system contract allows; every other
//! injected failure leaves the inner file system untouched (a failed `sync`
//! syncs nothing, so a later power cut decides what survives).

use super::{FileHandle, FileSystem, OpenMode};
use bytes::Bytes;
use parking_lot::Mutex;
use std::fmt::{self, Debug};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Linux's `EIO`.
const EIO: i32 = 5;
/// Linux's `ENOSPC`.
const ENOSPC: i32 = 28;

/// Every method of [`FileSystem`] and [`FileHandle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallKind {
    /// [`FileSystem::create_dir_all`].
    CreateDirAll,
    /// [`FileSystem::open`] with [`OpenMode::CreateNew`].
    Create,
    /// [`FileSystem::open`] of an existing file.
    Open,
    /// [`FileSystem::rename`].
    Rename,
    /// [`FileSystem::remove`].
    Remove,
    /// [`FileSystem::list`].
    List,
    /// [`FileSystem::sync_dir`].
    SyncDir,
    /// [`FileSystem::lock`].
    Lock,
    /// [`FileHandle::read_at`].
    ReadAt,
    /// [`FileHandle::append`].
    Append,
    /// [`FileHandle::sync`].
    Sync,
    /// [`FileHandle::size`].
    Size,
    /// [`FileHandle::truncate`].
    Truncate,
    /// [`FileHandle::map`].
    Map,
}

impl CallKind {
    /// Whether the call changes the disk.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            CallKind::CreateDirAll
                | CallKind::Create
                | CallKind::Rename
                | CallKind::Remove
                | CallKind::SyncDir
                | CallKind::Lock
                | CallKind::Append
                | CallKind::Sync
                | CallKind::Truncate
        )
    }

    /// The faults that make sense for this kind of call.
    pub fn faults(self) -> &'static [Fault] {
        match self {
            CallKind::Append => &[Fault::Eio, Fault::NoSpace, Fault::ShortWrite],
            CallKind::CreateDirAll | CallKind::Create | CallKind::Rename => {
                &[Fault::Eio, Fault::NoSpace]
            }
            _ => &[Fault::Eio],
        }
    }
}

/// The error an injected failure returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `EIO`: on `sync` or `sync_dir` this is the fsync error after which
    /// durability is unknown.
    Eio,
    /// `ENOSPC`: the disk is full.
    NoSpace,
    /// On `append`: the first half of the buffer is written, then `ENOSPC`.
    /// On any other call: `EIO`.
    ShortWrite,
}

impl Fault {
    fn error(self, kind: CallKind, path: &Path) -> io::Error {
        let code = match self {
            Fault::Eio => EIO,
            Fault::NoSpace | Fault::ShortWrite => ENOSPC,
        };
        let os = io::Error::from_raw_os_error(code);
        io::Error::new(
            os.kind(),
            format!("injected {self:?} on {kind:?} of {}: {os}", path.display()),
        )
    }
}

/// One call seen by the wrapper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// 1-based position among every call since the counter was last reset.
    pub index: u64,
    /// Which method.
    pub kind: CallKind,
    /// The file or directory it was about.
    pub path: PathBuf,
    /// The engine source line that made the call (see [`call_site`]), when
    /// sites are being recorded or for the call that failed.
    pub site: Option<String>,
}

/// Which call to fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultPlan {
    /// Fail the `nth` matching call (1-based), counted from the arming (or,
    /// in a sequence, from the previous plan's failure).
    pub nth: u64,
    /// Count only calls of this kind (`None`: every call).
    pub kind: Option<CallKind>,
    /// Count only calls whose path contains this (`None`: every path).
    pub path_contains: Option<String>,
    /// The error to return.
    pub fault: Fault,
}

impl FaultPlan {
    /// Fail the `nth` call of any kind with `fault`.
    pub fn nth_call(nth: u64, fault: Fault) -> Self {
        FaultPlan {
            nth,
            kind: None,
            path_contains: None,
            fault,
        }
    }

    fn matches(&self, kind: CallKind, path: &Path) -> bool {
        self.kind.is_none_or(|k| k == kind)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|part| path.to_string_lossy().contains(part))
    }
}

#[derive(Debug, Default)]
struct State {
    calls: u64,
    /// Plans still to fire, in order; the count of matching calls the
    /// first one has seen.
    armed: std::collections::VecDeque<FaultPlan>,
    seen: u64,
    fired: Vec<CallRecord>,
    record: bool,
    log: Vec<CallRecord>,
}

/// See the module documentation. Clones share the counters and the plan.
#[derive(Clone)]
pub struct FaultyFileSystem {
    inner: Arc<dyn FileSystem>,
    state: Arc<Mutex<State>>,
}

impl Debug for FaultyFileSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("FaultyFileSystem")
            .field("inner", &self.inner)
            .field("calls", &state.calls)
            .field("armed", &state.armed)
            .finish_non_exhaustive()
    }
}

impl FaultyFileSystem {
    /// Wraps `inner`; no fault is armed.
    pub fn new(inner: Arc<dyn FileSystem>) -> Self {
        FaultyFileSystem {
            inner,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Arms `plan` (replacing any armed ones) and clears the record of
    /// fired faults. One call fails per plan.
    pub fn arm(&self, plan: FaultPlan) {
        self.arm_sequence(vec![plan]);
    }

    /// Arms `plans` to fire one after the other: the second starts counting
    /// after the first has failed a call, and so on (to fail an error path's
    /// own I/O: "fail the 40th call, then the next removal").
    pub fn arm_sequence(&self, plans: Vec<FaultPlan>) {
        let mut state = self.state.lock();
        state.armed = plans.into();
        state.seen = 0;
        state.fired.clear();
    }

    /// Disarms every plan that has not fired.
    pub fn disarm(&self) {
        self.state.lock().armed.clear();
    }

    /// The calls that failed so far, in order.
    pub fn fired(&self) -> Vec<CallRecord> {
        self.state.lock().fired.clone()
    }

    /// Calls made since creation or the last [`Self::reset_calls`].
    pub fn calls(&self) -> u64 {
        self.state.lock().calls
    }

    /// Restarts the call counter at zero and clears the call log.
    pub fn reset_calls(&self) {
        let mut state = self.state.lock();
        state.calls = 0;
        state.log.clear();
    }

    /// Whether to keep a [`CallRecord`], with its [`call_site`], of every
    /// call (slow: a backtrace per call).
    pub fn record_calls(&self, yes: bool) {
        self.state.lock().record = yes;
    }

    /// The calls recorded since the last call of this method.
    pub fn take_call_log(&self) -> Vec<CallRecord> {
        std::mem::take(&mut self.state.lock().log)
    }

    /// Counts a call; returns the fault to inject, if this is the one.
    fn check(&self, kind: CallKind, path: &Path) -> Option<Fault> {
        let mut state = self.state.lock();
        state.calls += 1;
        let index = state.calls;
        let mut fire = None;
        let hit = state
            .armed
            .front()
            .and_then(|plan| plan.matches(kind, path).then_some((plan.nth, plan.fault)));
        if let Some((nth, fault)) = hit {
            state.seen += 1;
            if state.seen == nth {
                fire = Some(fault);
                state.armed.pop_front();
                state.seen = 0;
            }
        }
        let record = state.record;
        if fire.is_none() && !record {
            return None;
        }
        // Take the backtrace without the lock: it is slow, and only this
        // thread needs to wait for it.
        drop(state);
        let site = call_site();
        let call = CallRecord {
            index,
            kind,
            path: path.to_path_buf(),
            site,
        };
        let mut state = self.state.lock();
        if record {
            state.log.push(call.clone());
        }
        if fire.is_some() {
            state.fired.push(call);
        }
        fire
    }

    fn wrap(&self, inner: Arc<dyn FileHandle>, path: &Path) -> Arc<dyn FileHandle> {
        Arc::new(FaultyFile {
            inner,
            path: path.to_path_buf(),
            fs: self.clone(),
        })
    }
}

/// The line of holdfast code outside `src/fs/` that made the current call,
/// as `src/wal/writer.rs:123` — found in a backtrace, so it needs debug line
/// information (the release and bench profiles keep it). `None` when no
/// frame qualifies.
pub fn call_site() -> Option<String> {
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let root = env!("CARGO_MANIFEST_DIR");
    for line in trace.lines() {
        let Some(location) = line.trim_start().strip_prefix("at ") else {
            continue;
        };
        let relative = location
            .strip_prefix(root)
            .map(|r| r.trim_start_matches('/'))
            .or_else(|| location.strip_prefix("./"))
            .unwrap_or(location);
        if relative.starts_with("src/") && !relative.starts_with("src/fs/") {
            // Keep `file:line`, drop a column: `src/x.rs:12:5` -> `src/x.rs:12`.
            let mut parts = relative.split(':');
            let file = parts.next().unwrap_or_default();
            return Some(match parts.next() {
                Some(line) => format!("{file}:{line}"),
                None => file.to_string(),
            });
        }
    }
    None
}

impl FileSystem for FaultyFileSystem {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        if let Some(fault) = self.check(CallKind::CreateDirAll, dir) {
            return Err(fault.error(CallKind::CreateDirAll, dir));
        }
        self.inner.create_dir_all(dir)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FileHandle>> {
        let kind = match mode {
            OpenMode::CreateNew => CallKind::Create,
            OpenMode::Read | OpenMode::ReadWrite => CallKind::Open,
        };
        if let Some(fault) = self.check(kind, path) {
            return Err(fault.error(kind, path));
        }
        Ok(self.wrap(self.inner.open(path, mode)?, path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if let Some(fault) = self.check(CallKind::Rename, from) {
            return Err(fault.error(CallKind::Rename, from));
        }
        self.inner.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        if let Some(fault) = self.check(CallKind::Remove, path) {
            return Err(fault.error(CallKind::Remove, path));
        }
        self.inner.remove(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        if let Some(fault) = self.check(CallKind::List, dir) {
            return Err(fault.error(CallKind::List, dir));
        }
        self.inner.list(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if let Some(fault) = self.check(CallKind::SyncDir, dir) {
            return Err(fault.error(CallKind::SyncDir, dir));
        }
        self.inner.sync_dir(dir)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Debug + Send + Sync>> {
        if let Some(fault) = self.check(CallKind::Lock, path) {
            return Err(fault.error(CallKind::Lock, path));
        }
        self.inner.lock(path)
    }
}

/// A handle whose calls go through the wrapper's counter.
struct FaultyFile {
    inner: Arc<dyn FileHandle>,
    path: PathBuf,
    fs: FaultyFileSystem,
}

impl Debug for FaultyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileHandle for FaultyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if let Some(fault) = self.fs.check(CallKind::ReadAt, &self.path) {
            return Err(fault.error(CallKind::ReadAt, &self.path));
        }
        self.inner.read_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        if let Some(fault) = self.fs.check(CallKind::Append, &self.path) {
            if fault == Fault::ShortWrite {
                self.inner.append(&buf[..buf.len() / 2])?;
            }
            return Err(fault.error(CallKind::Append, &self.path));
        }
        self.inner.append(buf)
    }

    fn sync(&self) -> io::Result<()> {
        if let Some(fault) = self.fs.check(CallKind::Sync, &self.path) {
            return Err(fault.error(CallKind::Sync, &self.path));
        }
        self.inner.sync()
    }

    fn size(&self) -> io::Result<u64> {
        if let Some(fault) = self.fs.check(CallKind::Size, &self.path) {
            return Err(fault.error(CallKind::Size, &self.path));
        }
        self.inner.size()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        if let Some(fault) = self.fs.check(CallKind::Truncate, &self.path) {
            return Err(fault.error(CallKind::Truncate, &self.path));
        }
        self.inner.truncate(len)
    }

    fn map(&self) -> io::Result<Bytes> {
        if let Some(fault) = self.fs.check(CallKind::Map, &self.path) {
            return Err(fault.error(CallKind::Map, &self.path));
        }
        self.inner.map()
    }
}

#[cfg(test)]
mod tests {
    use super::super::SimFileSystem;
    use super::*;

    #[test]
    fn fails_exactly_the_nth_matching_call() {
        let fs = FaultyFileSystem::new(Arc::new(SimFileSystem::new(1)));
        fs.create_dir_all(Path::new("/d")).unwrap();
        let f = fs.open(Path::new("/d/f"), OpenMode::CreateNew).unwrap();
        fs.arm(FaultPlan {
            nth: 2,
            kind: Some(CallKind::Append),
            path_contains: None,
            fault: Fault::ShortWrite,
        });
        f.append(b"abcd").unwrap();
        f.sync().unwrap();
        let err = f.append(b"efgh").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(f.size().unwrap(), 6, "half of the short write landed");
        f.append(b"ij").unwrap();
        let fired = fs.fired();
        assert_eq!((fired[0].kind, fired[0].index), (CallKind::Append, 5));
        assert_eq!(fs.calls(), 7);
        fs.arm_sequence(vec![
            FaultPlan::nth_call(1, Fault::Eio),
            FaultPlan {
                path_contains: Some("/d/f".into()),
                ..FaultPlan::nth_call(2, Fault::Eio)
            },
        ]);
        assert!(fs.list(Path::new("/d")).is_err());
        assert!(f.size().is_ok());
        assert!(fs.list(Path::new("/d")).is_ok());
        assert!(f.sync().is_err());
        assert_eq!(fs.fired().len(), 2);
    }

    #[test]
    fn call_site_is_none_outside_engine_code() {
        // Called from src/fs/ itself: no frame qualifies.
        assert_eq!(call_site(), None);
    }
}
