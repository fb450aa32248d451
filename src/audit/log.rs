//! [`AuditLog`]: the audit file on disk — opened and verified, appended to
//! with an fsync per entry, read back and re-verified.
//!
//! # Invariants
//! 1. An entry is acknowledged (`append` returns it) only after its record
//!    is fsynced. `append_with(.., sync: false)` keeps the framed entry in
//!    memory instead (written past 256 KiB, fsynced by the next
//!    [`AuditLog::sync`] or synced append); the records layer uses it only
//!    for entries it can regenerate from the WAL. A failed write or fsync
//!    fails the log for good: every later append is [`Error::Poisoned`]
//!    until the trail is reopened (retrying an fsync can report success for
//!    data the kernel dropped).
//! 2. After a sync, the in-memory head (`checkpoint()`) is an entry that
//!    is durable on disk, and `verify` fails if the file no longer holds
//!    it. (`iter` and `verify` read the file: call `sync` first when
//!    unsynced entries were appended.)
//! 3. `open` verifies the whole chain before anything is appended, so an
//!    entry is never chained onto a damaged or forged predecessor; and it
//!    cuts bytes only under the torn-tail rule of [`super::file`].
//! 4. Entries' times never decrease (`append` refuses an earlier time).

use super::chain::{check_checkpoint, AuditCheckpoint, ChainState};
use super::entry::AuditEntry;
use super::event::AuditEvent;
use super::file::{
    audit_file_name, check_torn_tail, decode_sync_mark, encode_sync_mark, parse_audit_file_name,
    AUDIT_FILE_NUMBER, AUDIT_MAGIC, PENDING_BYTES_MAX, SYNC_MARK_LEN,
};
use crate::fs::{read_all, FileHandle, FileSystem, OpenMode};
use crate::options::RecoveryMode;
use crate::wal::format::{
    encode_record, encode_segment_header, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN,
};
use crate::wal::read_segment;
use crate::wal::reader::WalRecord;
use crate::{Error, Result};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes that `open` cut from the end of the file: the remains of an append
/// that a crash interrupted (or damage to the last entry, which looks the
/// same; a checkpoint taken after that entry tells the two apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Where the cut bytes began.
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes: u64,
    /// What the reader found wrong there.
    pub detail: String,
}

/// The open audit trail of one database directory. See the module
/// documentation of [`crate::audit`].
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Arc<dyn FileHandle>,
    chain: ChainState,
    torn: Option<TornTail>,
    /// Why the log refuses appends, after a failed append or fsync.
    failed: Option<String>,
    /// Framed entries appended without sync and not yet written to the
    /// file (written at the next sync, synced append, or past
    /// [`PENDING_BYTES_MAX`]).
    pending: Vec<u8>,
    /// The file's length: what was read at open plus every append since.
    len: u64,
    /// `len`, for readers that must not wait for the log's lock (a
    /// checkpoint's cut): always at the end of a whole record.
    shared_len: Arc<AtomicU64>,
    /// Bytes were written after the last sync mark.
    unmarked: bool,
}

impl AuditLog {
    /// Opens the trail in `dir`, creating an empty one if there is none.
    ///
    /// Reads and verifies the whole chain (invariant 3). A torn last record
    /// is cut and reported by [`Self::torn_tail`]; any other damage, and a
    /// broken chain, is [`Error::Corruption`] and the file is left as it is.
    pub fn open(fs: &dyn FileSystem, dir: &Path) -> Result<AuditLog> {
        Self::open_with(fs, dir, |_| Ok(()))
    }

    /// As [`Self::open`], handing every verified entry to `visit` in order
    /// (the records layer rebuilds its registry from them without reading
    /// the file a second time).
    pub(crate) fn open_with(
        fs: &dyn FileSystem,
        dir: &Path,
        visit: impl FnMut(&AuditEntry) -> Result<()>,
    ) -> Result<AuditLog> {
        let names = fs
            .list(dir)
            .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let mut found = false;
        for name in &names {
            match parse_audit_file_name(name) {
                Some(AUDIT_FILE_NUMBER) => found = true,
                Some(_) => {
                    return Err(Error::corruption(
                        dir.join(name),
                        0,
                        format!(
                            "unexpected audit file: this version keeps the trail in {}",
                            audit_file_name(AUDIT_FILE_NUMBER)
                        ),
                    ))
                }
                None => {}
            }
        }
        let path = dir.join(audit_file_name(AUDIT_FILE_NUMBER));
        if found {
            Self::open_existing(fs, dir, path, visit)
        } else {
            Self::create(fs, dir, path)
        }
    }

    fn create(fs: &dyn FileSystem, dir: &Path, path: PathBuf) -> Result<AuditLog> {
        let io_err = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
        let file = fs
            .open(&path, OpenMode::CreateNew)
            .map_err(|e| io_err("creating", e))?;
        let header = encode_segment_header(AUDIT_MAGIC, AUDIT_FILE_NUMBER);
        file.append(&header).map_err(|e| io_err("writing", e))?;
        file.sync().map_err(|e| io_err("syncing", e))?;
        // Without this the file's directory entry may be lost on power
        // failure, taking acknowledged entries with it.
        fs.sync_dir(dir)
            .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
        Ok(AuditLog {
            path,
            file,
            chain: ChainState::new(),
            torn: None,
            failed: None,
            pending: Vec::new(),
            len: header.len() as u64,
            shared_len: Arc::new(AtomicU64::new(header.len() as u64)),
            unmarked: false,
        })
    }

    fn open_existing(
        fs: &dyn FileSystem,
        dir: &Path,
        path: PathBuf,
        mut visit: impl FnMut(&AuditEntry) -> Result<()>,
    ) -> Result<AuditLog> {
        let io_err = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
        let file = fs
            .open(&path, OpenMode::ReadWrite)
            .map_err(|e| io_err("opening", e))?;
        let bytes = Bytes::from(read_all(&*file).map_err(|e| io_err("reading", e))?);
        let read = read_trail(&path, &bytes, |_, entry| visit(entry))?;
        let (valid_len, chain, proven) = (read.valid_len, read.chain, read.proven);
        // Only now, with every entry before it verified, is the tail cut.
        let torn = match read.torn {
            None => None,
            Some(detail) => {
                file.truncate(valid_len)
                    .map_err(|e| io_err("truncating", e))?;
                if valid_len == 0 {
                    // The crash cut the file's creation: write its header again.
                    let header = encode_segment_header(AUDIT_MAGIC, AUDIT_FILE_NUMBER);
                    file.append(&header).map_err(|e| io_err("writing", e))?;
                    debug_assert_eq!(header.len(), SEGMENT_HEADER_LEN);
                }
                file.sync().map_err(|e| io_err("syncing", e))?;
                fs.sync_dir(dir)
                    .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
                Some(TornTail {
                    offset: valid_len,
                    bytes: bytes.len() as u64 - valid_len,
                    detail,
                })
            }
        };
        let len = valid_len.max(SEGMENT_HEADER_LEN as u64);
        let mut log = AuditLog {
            path,
            file,
            chain,
            torn,
            failed: None,
            pending: Vec::new(),
            len,
            shared_len: Arc::new(AtomicU64::new(len)),
            // The header alone needs no mark (it is synced at creation).
            unmarked: len > proven.max(SEGMENT_HEADER_LEN as u64),
        };
        if log.unmarked {
            // Entries no mark covers (a crash came between an fsync and its
            // mark, or before the fsync): make them durable and mark them,
            // so that the bytes after the last mark stay within one append.
            log.sync()?;
        }
        Ok(log)
    }

    /// Appends an entry for `event`, done by `actor` at `time` (engine
    /// clock, ms since the epoch), and returns it once it is durable.
    ///
    /// [`Error::InvalidArgument`] (nothing written) for an empty actor, a
    /// field past its limit or a time before the last entry's;
    /// [`Error::Io`] when the write or fsync fails, after which the log is
    /// poisoned (invariant 1); [`Error::Poisoned`] after such a failure.
    pub fn append(
        &mut self,
        time: i64,
        actor: impl Into<String>,
        event: AuditEvent,
    ) -> Result<AuditEntry> {
        self.append_with(time, actor, event, true)
    }

    /// Appends an entry; with `sync: false` it is written but not fsynced
    /// (the records layer's retention-set entries, made durable with the
    /// WAL by [`Self::sync`] and regenerated from the WAL after a crash).
    pub(crate) fn append_with(
        &mut self,
        time: i64,
        actor: impl Into<String>,
        event: AuditEvent,
        sync: bool,
    ) -> Result<AuditEntry> {
        if let Some(cause) = &self.failed {
            return Err(Error::Poisoned {
                cause: cause.clone(),
            });
        }
        if time < self.chain.last_time() {
            return Err(Error::InvalidArgument(format!(
                "audit time {time} is before the last entry's {}",
                self.chain.last_time()
            )));
        }
        let head = self.chain.head();
        let (entry, payload) =
            AuditEntry::seal_encoded(head.seq + 1, time, actor.into(), event, head.hash)
                .map_err(|why| Error::InvalidArgument(format!("audit entry: {why}")))?;
        encode_record(&payload, &mut self.pending);
        if sync || self.pending.len() >= PENDING_BYTES_MAX {
            // Past the limit the pending entries are synced too, so that at
            // most one append is ever unsynced (`file` invariant 1).
            self.sync()?;
        }
        let pushed = self.chain.push_sealed(&entry);
        debug_assert!(
            pushed.is_ok(),
            "a sealed entry extends the chain: {pushed:?}"
        );
        if let Err(why) = pushed {
            self.failed = Some(why.clone());
            return Err(Error::Poisoned { cause: why });
        }
        Ok(entry)
    }

    /// Writes the pending entries to the file (no fsync).
    fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.append(&self.pending) {
            let err = Error::io(format!("appending to {}", self.path.display()), e);
            self.failed = Some(err.to_string());
            return Err(err);
        }
        self.set_len(self.len + self.pending.len() as u64);
        self.unmarked = true;
        self.pending.clear();
        if self.pending.capacity() > 4 * PENDING_BYTES_MAX {
            self.pending = Vec::new();
        }
        Ok(())
    }

    /// Writes and fsyncs entries appended without sync. A failure poisons
    /// the log.
    pub(crate) fn sync(&mut self) -> Result<()> {
        if let Some(cause) = &self.failed {
            return Err(Error::Poisoned {
                cause: cause.clone(),
            });
        }
        self.write_pending()?;
        self.file.sync().map_err(|e| {
            let err = Error::io(format!("syncing {}", self.path.display()), e);
            self.failed = Some(err.to_string());
            err
        })?;
        if self.unmarked {
            self.write_mark()?;
        }
        Ok(())
    }

    fn set_len(&mut self, len: u64) {
        self.len = len;
        self.shared_len.store(len, Ordering::Release);
    }

    /// Writes a sync mark at the end of the file, right after an fsync
    /// returned (`file` invariant 1). A failed write fails the log (the
    /// file's tail is unknown) and is returned, although what the fsync
    /// made durable stays durable: the caller's handle must learn that the
    /// trail is broken.
    fn write_mark(&mut self) -> Result<()> {
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + SYNC_MARK_LEN);
        encode_record(&encode_sync_mark(self.len), &mut frame);
        match self.file.append(&frame) {
            Ok(()) => {
                self.set_len(self.len + frame.len() as u64);
                self.unmarked = false;
            }
            Err(e) => {
                let err = Error::io(format!("writing a sync mark to {}", self.path.display()), e);
                self.failed = Some(err.to_string());
                return Err(err);
            }
        }
        Ok(())
    }

    /// The last acknowledged entry's sequence number and hash, for the
    /// application to keep somewhere this database cannot rewrite.
    pub fn checkpoint(&self) -> AuditCheckpoint {
        self.chain.head()
    }

    /// The last entry's time (`i64::MIN` for an empty trail).
    pub(crate) fn last_time(&self) -> i64 {
        self.chain.last_time()
    }

    /// What `open` cut from the end of the file, if anything. The records
    /// layer should record it as [`AuditEvent::TornTailRemoved`].
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    /// The audit file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file, and its length kept up to date at the end of a whole
    /// record (entries kept in memory unsynced are not in it): what a
    /// checkpoint copies, read without this log's lock.
    pub(crate) fn written(&self) -> WrittenTrail {
        WrittenTrail {
            path: self.path.clone(),
            file: Arc::clone(&self.file),
            len: Arc::clone(&self.shared_len),
        }
    }

    /// The entries as they are on disk now, oldest first, each checked
    /// against the one before it (framing, decoding and the chain's rules);
    /// the first failure ends the iteration as [`Error::Corruption`].
    pub fn iter(&self) -> Result<AuditIter> {
        let bytes = Bytes::from(
            read_all(&*self.file)
                .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?,
        );
        // Strict: a live trail has no torn tail (open cut it) unless an
        // append failed, and then the damage is worth reporting.
        let contents = read_segment(
            &self.path,
            AUDIT_MAGIC,
            AUDIT_FILE_NUMBER,
            &bytes,
            true,
            RecoveryMode::Strict,
        )?;
        Ok(AuditIter {
            path: self.path.clone(),
            records: contents.records.into_iter(),
            chain: ChainState::new(),
            failed: false,
            end: bytes.len() as u64,
        })
    }

    /// Re-reads the file and re-hashes the whole chain, end to end; checks
    /// that it still holds this handle's head (invariant 2). Returns the
    /// head found on disk.
    pub fn verify(&self) -> Result<AuditCheckpoint> {
        self.scan(&[self.checkpoint()], |_| Ok(()))
    }

    /// [`Self::verify`], and checks that the entry at `checkpoint.seq`
    /// exists and has `checkpoint.hash`: fails on truncation, rollback, or a
    /// chain rewritten from that entry or earlier.
    pub fn verify_against(&self, checkpoint: &AuditCheckpoint) -> Result<()> {
        self.scan(&[self.checkpoint(), *checkpoint], |_| Ok(()))
            .map(|_| ())
    }

    /// Verifies every entry, passes each to `visit`, then checks the chain
    /// against `checkpoints`. Returns the head found on disk.
    pub(crate) fn scan(
        &self,
        checkpoints: &[AuditCheckpoint],
        mut visit: impl FnMut(&AuditEntry) -> Result<()>,
    ) -> Result<AuditCheckpoint> {
        let mut iter = self.iter()?;
        let mut found = vec![None; checkpoints.len()];
        let mut offsets = vec![iter.end; checkpoints.len()];
        while let Some((offset, entry)) = iter.next_with_offset()? {
            for (i, cp) in checkpoints.iter().enumerate() {
                if cp.seq == entry.seq {
                    found[i] = Some(entry.hash);
                    offsets[i] = offset;
                }
            }
            visit(&entry)?;
        }
        let head = iter.chain.head();
        for (i, cp) in checkpoints.iter().enumerate() {
            check_checkpoint(head, cp, found[i])
                .map_err(|why| Error::corruption(&self.path, offsets[i], why))?;
        }
        Ok(head)
    }
}

/// The entries of an audit file, checked as they are read. See
/// [`AuditLog::iter`].
#[derive(Debug)]
pub struct AuditIter {
    path: PathBuf,
    records: std::vec::IntoIter<WalRecord>,
    chain: ChainState,
    failed: bool,
    end: u64,
}

impl AuditIter {
    /// The last entry checked so far.
    pub fn head(&self) -> AuditCheckpoint {
        self.chain.head()
    }

    fn next_with_offset(&mut self) -> Result<Option<(u64, AuditEntry)>> {
        if self.failed {
            return Ok(None);
        }
        for record in self.records.by_ref() {
            match decode_next(&self.path, &record, &mut self.chain) {
                Ok(Some(entry)) => return Ok(Some((record.offset, entry))),
                Ok(None) => {} // a sync mark
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            }
        }
        Ok(None)
    }
}

impl Iterator for AuditIter {
    type Item = Result<AuditEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_with_offset()
            .transpose()
            .map(|r| r.map(|(_, entry)| entry))
    }
}

/// The audit file as a checkpoint sees it (see [`AuditLog::written`]).
#[derive(Debug, Clone)]
pub(crate) struct WrittenTrail {
    pub path: PathBuf,
    pub file: Arc<dyn FileHandle>,
    pub len: Arc<AtomicU64>,
}

/// What [`read_trail`] found in an audit file's bytes.
#[derive(Debug)]
pub(crate) struct TrailRead {
    /// The chain after the last verified entry.
    pub chain: ChainState,
    /// Length of the valid prefix (the file's length unless a tail is torn).
    pub valid_len: u64,
    /// Where the last valid sync mark ends (0 if there is none): every
    /// byte before it is durable (`file` invariant 1).
    pub proven: u64,
    /// Why the tail past `valid_len` is torn, if it is (a torn tail that
    /// passed the rule of [`super::file::check_torn_tail`]).
    pub torn: Option<String>,
}

/// Reads the audit file `path` held in `bytes` without changing it: checks
/// the framing, the torn-tail rule and every entry's link and hash, handing
/// each verified entry and its record's offset to `visit` (sync marks are
/// checked and skipped). `open` and the read-only `inspect` module share it.
pub(crate) fn read_trail(
    path: &Path,
    bytes: &Bytes,
    mut visit: impl FnMut(u64, &AuditEntry) -> Result<()>,
) -> Result<TrailRead> {
    let contents = read_segment(
        path,
        AUDIT_MAGIC,
        AUDIT_FILE_NUMBER,
        bytes,
        true,
        RecoveryMode::TolerateTornTail,
    )?;
    let valid_len = contents.valid_len;
    let mut proven = 0;
    for record in &contents.records {
        if sync_mark(path, record)?.is_some() {
            proven = record.offset + (FRAME_HEADER_LEN + SYNC_MARK_LEN) as u64;
        }
    }
    if let Some(why) = &contents.torn {
        check_torn_tail(bytes, valid_len as usize, proven as usize)
            .map_err(|not_torn| Error::corruption(path, valid_len, format!("{why}; {not_torn}")))?;
    }
    let mut chain = ChainState::new();
    for record in &contents.records {
        if let Some(entry) = decode_next(path, record, &mut chain)? {
            visit(record.offset, &entry)?;
        }
    }
    Ok(TrailRead {
        chain,
        valid_len,
        proven,
        torn: contents.torn,
    })
}

/// The offset a sync mark record names (checked against where it is), or
/// `None` for an entry.
fn sync_mark(path: &Path, record: &WalRecord) -> Result<Option<u64>> {
    match decode_sync_mark(&record.payload) {
        None => Ok(None),
        Some(Ok(offset)) if offset == record.offset => Ok(Some(offset)),
        Some(Ok(offset)) => Err(Error::corruption(
            path,
            record.offset,
            format!("a sync mark naming offset {offset}"),
        )),
        Some(Err(why)) => Err(Error::corruption(path, record.offset, why)),
    }
}

/// Decodes `record` and checks it extends `chain`; `None` for a sync mark.
fn decode_next(
    path: &Path,
    record: &WalRecord,
    chain: &mut ChainState,
) -> Result<Option<AuditEntry>> {
    if sync_mark(path, record)?.is_some() {
        return Ok(None);
    }
    let expected = chain.head().seq + 1;
    let entry = AuditEntry::decode(&record.payload).map_err(|(at, why)| {
        Error::corruption(
            path,
            record.offset,
            format!("audit entry {expected}, byte {at}: {why}"),
        )
    })?;
    chain
        .push(&entry)
        .map_err(|why| Error::corruption(path, record.offset, why))?;
    Ok(Some(entry))
}
