//! The manifest: the durable record of which tables make up the database.
//!
//! A manifest file (`MANIFEST-N`) is a log in the WAL's framing (header
//! magic `HFMF`), holding one [`VersionEdit`] per record: the first record
//! is a snapshot of the whole tree, each later one a change. `CURRENT`
//! names the live manifest; it is replaced by writing `CURRENT.tmp`,
//! fsyncing it, renaming it over `CURRENT` and fsyncing the directory.
//!
//! # Invariants
//! 1. An edit is acknowledged (and the tree it describes used) only after
//!    the manifest's fsync returns; a failed append or fsync leaves the
//!    manifest writer failed for good (the engine poisons itself).
//! 2. `CURRENT` only ever names a complete, synced manifest: the new
//!    manifest is synced before `CURRENT.tmp` is written, and the rename is
//!    followed by a directory fsync.
//! 3. A table file is synced, and its directory entry too, before an edit
//!    that adds it is appended (the flush and compaction code does this).

pub(crate) mod edit;

pub(crate) use edit::{TableMeta, VersionEdit, LEVELS};

use crate::fs::{
    manifest_name, read_all, FileHandle, FileSystem, OpenMode, CURRENT_FILE_NAME, CURRENT_TEMP_NAME,
};
use crate::options::RecoveryMode;
use crate::wal::format::{encode_record, encode_segment_header, MANIFEST_MAGIC};
use crate::wal::{read_segment, valid_frame_after};
use crate::{Error, Result};
use bytes::Bytes;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The open, appendable manifest.
#[derive(Debug)]
pub(crate) struct ManifestWriter {
    number: u64,
    path: PathBuf,
    file: Arc<dyn FileHandle>,
    bytes: u64,
    /// Size of the file with only its snapshot (the first record).
    snapshot_bytes: u64,
    failed: bool,
}

impl ManifestWriter {
    /// Creates manifest file `number` holding `snapshot`, syncs it and
    /// points `CURRENT` at it (invariant 2). The caller guarantees that
    /// `CURRENT` does not name `number`.
    pub(crate) fn create(
        fs: &dyn FileSystem,
        dir: &Path,
        number: u64,
        snapshot: &VersionEdit,
    ) -> Result<ManifestWriter> {
        let name = manifest_name(number);
        let path = dir.join(&name);
        let io_err = |what: &str, e| Error::io(format!("{what} {}", path.display()), e);
        // A file of this name can only be left by a crash between its
        // creation and the switch of `CURRENT` (its number was never
        // logged, so it is handed out again): nothing refers to it.
        match fs.remove(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err("removing", e)),
            _ => {}
        }
        let file = fs
            .open(&path, OpenMode::CreateNew)
            .map_err(|e| io_err("creating", e))?;
        let mut bytes = encode_segment_header(MANIFEST_MAGIC, number).to_vec();
        encode_record(&snapshot.encode(), &mut bytes);
        file.append(&bytes).map_err(|e| io_err("writing", e))?;
        file.sync().map_err(|e| io_err("syncing", e))?;
        // The new manifest's directory entry must be durable before
        // `CURRENT` names it: a power cut could otherwise keep the rename
        // and lose the file.
        fs.sync_dir(dir)
            .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))?;
        set_current(fs, dir, &name)?;
        Ok(ManifestWriter {
            number,
            path,
            file,
            bytes: bytes.len() as u64,
            snapshot_bytes: bytes.len() as u64,
            failed: false,
        })
    }

    /// Appends `edit` and syncs it (invariant 1).
    pub(crate) fn append(&mut self, edit: &VersionEdit) -> Result<()> {
        if self.failed {
            return Err(Error::Poisoned {
                cause: format!("an earlier write to {} failed", self.path.display()),
            });
        }
        let mut framed = Vec::new();
        encode_record(&edit.encode(), &mut framed);
        let result = self
            .file
            .append(&framed)
            .and_then(|()| self.file.sync())
            .map_err(|e| Error::io(format!("appending to {}", self.path.display()), e));
        self.failed = result.is_err();
        self.bytes += framed.len() as u64;
        result
    }

    /// Size of the manifest file so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Size of the manifest when it held only its snapshot.
    pub(crate) fn snapshot_bytes(&self) -> u64 {
        self.snapshot_bytes
    }

    /// The manifest's file number.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }
}

/// Points `CURRENT` at manifest `name`: temp file, fsync, rename, fsync of
/// the directory.
fn set_current(fs: &dyn FileSystem, dir: &Path, name: &str) -> Result<()> {
    let temp = dir.join(CURRENT_TEMP_NAME);
    let current = dir.join(CURRENT_FILE_NAME);
    let io_err = |what: &str, path: &Path, e| Error::io(format!("{what} {}", path.display()), e);
    match fs.remove(&temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err("removing", &temp, e)),
        _ => {}
    }
    let file = fs
        .open(&temp, OpenMode::CreateNew)
        .map_err(|e| io_err("creating", &temp, e))?;
    file.append(format!("{name}\n").as_bytes())
        .map_err(|e| io_err("writing", &temp, e))?;
    file.sync().map_err(|e| io_err("syncing", &temp, e))?;
    fs.rename(&temp, &current)
        .map_err(|e| io_err("renaming to", &current, e))?;
    // Without this the rename may be lost on power failure, and CURRENT
    // would still name the previous manifest, which may be deleted next.
    fs.sync_dir(dir)
        .map_err(|e| io_err("syncing directory", dir, e))
}

/// What the manifest says, replayed.
#[derive(Debug, Default)]
pub(crate) struct RecoveredManifest {
    /// The live manifest's file number.
    pub number: u64,
    /// Every edit in order; the first is the snapshot.
    pub edits: Vec<VersionEdit>,
}

/// Reads `CURRENT` and the manifest it names; `None` for a database that
/// has no manifest yet.
pub(crate) fn recover(
    fs: &dyn FileSystem,
    dir: &Path,
    mode: RecoveryMode,
) -> Result<Option<RecoveredManifest>> {
    let current_path = dir.join(CURRENT_FILE_NAME);
    let current = match fs.open(&current_path, OpenMode::Read) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("opening {}", current_path.display()), e)),
    };
    let content = read_all(&*current)
        .map_err(|e| Error::io(format!("reading {}", current_path.display()), e))?;
    let number = parse_current(&content)
        .ok_or_else(|| Error::corruption(&current_path, 0, "CURRENT does not name a manifest"))?;

    let path = dir.join(manifest_name(number));
    let file = fs.open(&path, OpenMode::Read).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Error::corruption(
                &current_path,
                0,
                format!("CURRENT names {}, which is missing", manifest_name(number)),
            )
        } else {
            Error::io(format!("opening manifest {}", path.display()), e)
        }
    })?;
    let bytes = Bytes::from(
        read_all(&*file).map_err(|e| Error::io(format!("reading {}", path.display()), e))?,
    );
    let decoded = decode_manifest(&path, number, &bytes, mode)?;
    Ok(Some(RecoveredManifest {
        number,
        edits: decoded.edits.into_iter().map(|(_, edit)| edit).collect(),
    }))
}

/// A manifest file's edits, decoded without changing anything.
#[derive(Debug)]
pub(crate) struct DecodedManifest {
    /// Every edit with the offset of its record; the first is the snapshot.
    pub edits: Vec<(u64, VersionEdit)>,
    /// Length of the valid prefix (the file's length unless torn).
    pub valid_len: u64,
    /// Why the tail was cut, when `mode` tolerated a torn last append.
    pub torn: Option<String>,
}

/// Decodes manifest `number`, read from `path` into `bytes`: the framing
/// (a torn last append tolerated only in `TolerateTornTail`), then every
/// record as a version edit. Shared by recovery and `inspect`.
pub(crate) fn decode_manifest(
    path: &Path,
    number: u64,
    bytes: &Bytes,
    mode: RecoveryMode,
) -> Result<DecodedManifest> {
    // An edit whose append was cut by a crash was never acknowledged: the
    // manifest, like the newest WAL segment, may have a torn tail.
    let contents = read_segment(path, MANIFEST_MAGIC, number, bytes, true, mode)?;
    if contents.torn.is_some() {
        // Every edit is synced before the next is appended, so only the
        // last append can be torn: intact edits after the damage mean the
        // damage is in acknowledged edits, and dropping them would lose
        // tables.
        if let Some(at) = valid_frame_after(bytes, contents.valid_len as usize + 1) {
            return Err(Error::corruption(
                path,
                contents.valid_len,
                format!("damaged version edit followed by an intact one at offset {at}"),
            ));
        }
    }
    let mut edits = Vec::with_capacity(contents.records.len());
    for record in &contents.records {
        let edit = VersionEdit::decode(&record.payload).map_err(|(at, why)| {
            Error::corruption(
                path,
                record.offset,
                format!("version edit byte {at}: {why}"),
            )
        })?;
        edits.push((record.offset, edit));
    }
    if edits.is_empty() {
        return Err(Error::corruption(path, 0, "manifest holds no snapshot"));
    }
    Ok(DecodedManifest {
        edits,
        valid_len: contents.valid_len,
        torn: contents.torn,
    })
}

/// The manifest number `CURRENT`'s content names (`None`: it names none).
/// `CURRENT` is the manifest's name and a newline.
pub(crate) fn parse_current(content: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(content).ok()?.strip_suffix('\n')?;
    match crate::fs::parse_file_name(text)? {
        crate::fs::FileKind::Manifest(number) => Some(number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::OsFileSystem;

    fn edit(last_seq: u64) -> VersionEdit {
        VersionEdit {
            last_seq: Some(last_seq),
            ..VersionEdit::default()
        }
    }

    #[test]
    fn create_append_recover_and_switch() {
        let tmp = tempfile::tempdir().unwrap();
        let fs = OsFileSystem;
        assert!(recover(&fs, tmp.path(), RecoveryMode::Strict)
            .unwrap()
            .is_none());
        let mut writer = ManifestWriter::create(&fs, tmp.path(), 3, &edit(1)).unwrap();
        writer.append(&edit(2)).unwrap();
        writer.append(&edit(3)).unwrap();
        let got = recover(&fs, tmp.path(), RecoveryMode::Strict)
            .unwrap()
            .unwrap();
        assert_eq!(got.number, 3);
        assert_eq!(got.edits, vec![edit(1), edit(2), edit(3)]);

        let _next = ManifestWriter::create(&fs, tmp.path(), 8, &edit(3)).unwrap();
        let got = recover(&fs, tmp.path(), RecoveryMode::Strict)
            .unwrap()
            .unwrap();
        assert_eq!((got.number, got.edits.len()), (8, 1));
        assert!(!tmp.path().join(CURRENT_TEMP_NAME).exists());
    }

    #[test]
    fn torn_last_edit_is_dropped_and_bad_current_is_corruption() {
        let tmp = tempfile::tempdir().unwrap();
        let fs = OsFileSystem;
        let mut writer = ManifestWriter::create(&fs, tmp.path(), 1, &edit(1)).unwrap();
        writer.append(&edit(2)).unwrap();
        let path = tmp.path().join(manifest_name(1));
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let got = recover(&fs, tmp.path(), RecoveryMode::TolerateTornTail)
            .unwrap()
            .unwrap();
        assert_eq!(got.edits, vec![edit(1)]);
        assert!(recover(&fs, tmp.path(), RecoveryMode::Strict)
            .unwrap_err()
            .is_corruption());

        // Damage in an edit that is followed by an intact one is not a torn
        // tail: it is corruption, not a reason to drop acknowledged edits.
        let mut writer = ManifestWriter::create(&fs, tmp.path(), 2, &edit(1)).unwrap();
        writer.append(&edit(2)).unwrap();
        writer.append(&edit(3)).unwrap();
        let path = tmp.path().join(manifest_name(2));
        let mut bytes = std::fs::read(&path).unwrap();
        // Header 20 bytes, then three 16-byte records (7-byte frame header,
        // 9-byte edit): flip a byte inside the second record's edit.
        assert_eq!(bytes.len(), 20 + 3 * 16);
        let second_edit = 20 + 16 + 8;
        bytes[second_edit] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let err = recover(&fs, tmp.path(), RecoveryMode::TolerateTornTail).unwrap_err();
        assert!(err.is_corruption(), "{err}");

        std::fs::write(tmp.path().join(CURRENT_FILE_NAME), b"MANIFEST-1\n").unwrap();
        assert!(recover(&fs, tmp.path(), RecoveryMode::Strict)
            .unwrap_err()
            .is_corruption());
    }
}
