//! [`SimFileSystem`]: an in-memory, seeded, deterministic file system that
//! models what a power cut does to a disk.
//!
//! It keeps two views of everything:
//! * the **live** view — what processes see: every byte appended, every
//!   entry created, renamed or removed;
//! * the **durable** view — what a power cut cannot take away: per file,
//!   the contents as of its last [`FileHandle::sync`]; per directory, the
//!   entries as of its last [`FileSystem::sync_dir`].
//!
//! A power cut ([`SimFileSystem::power_cut`], or one scheduled after the
//! N-th mutating operation with [`SimFileSystem::cut_after`]) turns the
//! live view into a [`DiskImage`]: whatever was synced is kept, and what was
//! not is resolved by an [`UnsyncedFate`] per file and per directory —
//! chosen uniformly or drawn from a seed ([`PowerCut`]). After the cut every
//! call fails (the machine is off) until [`SimFileSystem::restart`], which
//! boots from the image; handles opened before the cut stay dead.
//!
//! For crash-point exploration, [`SimFileSystem::record_crash_images`] makes
//! the file system compute, after every mutating operation, the images a
//! power cut at that moment would leave, without stopping anything: one run
//! of a workload yields every crash state of that run.
//!
//! # The model, precisely
//! * Mutating operations (counted by [`SimFileSystem::mutating_ops`]):
//!   `append`, `sync`, `truncate`, `open(CreateNew)`, `rename`, `remove`,
//!   `sync_dir`, `create_dir_all` (when it creates), `lock` (when it creates
//!   the lock file).
//! * A file's unsynced bytes are everything changed since its last `sync`.
//!   A power cut gives each such file one fate: [`UnsyncedFate::Lost`] (back
//!   to the synced contents), [`Kept`](UnsyncedFate::Kept), a random
//!   [`Prefix`](UnsyncedFate::Prefix) of the unsynced appends,
//!   [`TornLastWrite`](UnsyncedFate::TornLastWrite) (earlier unsynced
//!   appends kept, the last one cut at a random byte), or
//!   [`Garbage`](UnsyncedFate::Garbage) (a random stretch of the unsynced
//!   region replaced by random bytes or zeros, as when some pages reach the
//!   disk and others do not).
//! * A directory's unsynced entry changes (creations, renames, removals, in
//!   order) are all lost, all kept, a random prefix of them kept (ordered
//!   metadata journaling), or a random subset kept (no ordering promise).
//!   A rename is atomic: it is kept or lost as a whole.
//! * A file whose entry does not survive is gone with its data; a file
//!   whose removal does not survive comes back with its synced contents.
//! * Synced data is never damaged by a power cut (use [`DiskImage`] editing
//!   to model media corruption).

use super::{FileHandle, FileSystem, OpenMode};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::{self, Debug};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How many mutating operations [`SimFileSystem::recent_ops`] remembers.
const TRACE_LEN: usize = 64;

/// What a power cut does to bytes or directory entries that were not
/// synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnsyncedFate {
    /// Everything unsynced is lost.
    Lost,
    /// Everything unsynced reached the disk after all.
    Kept,
    /// A random prefix of the unsynced appends (of the unsynced directory
    /// changes, in order) reached the disk.
    Prefix,
    /// Every unsynced append but the last reached the disk; the last one
    /// is cut at a random byte. (Directories: like `Prefix`.)
    TornLastWrite,
    /// The unsynced region keeps a random length, and a random stretch of
    /// it holds random bytes or zeros. (Directories: a random subset of the
    /// changes, in no particular order.)
    Garbage,
}

impl UnsyncedFate {
    /// Every fate, for loops over variants.
    pub const ALL: [UnsyncedFate; 5] = [
        UnsyncedFate::Lost,
        UnsyncedFate::Kept,
        UnsyncedFate::Prefix,
        UnsyncedFate::TornLastWrite,
        UnsyncedFate::Garbage,
    ];
}

/// How a power cut treats unsynced state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PowerCut {
    /// The same fate for every file and every directory (random choices
    /// inside a fate come from the file system's seed).
    Uniform(UnsyncedFate),
    /// A fate drawn per file and per directory from this seed (mixed with
    /// the file system's seed and the operation count).
    Seeded(u64),
}

/// One entry of a [`DiskImage`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageEntry {
    /// A directory.
    Dir,
    /// A file and its bytes.
    File(Bytes),
}

/// The contents of a simulated disk: every directory and file by absolute
/// path. What a power cut leaves, what [`SimFileSystem::from_image`] boots
/// from, and what corruption tests edit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskImage {
    entries: BTreeMap<PathBuf, ImageEntry>,
}

impl DiskImage {
    /// Every entry, sorted by path.
    pub fn entries(&self) -> impl Iterator<Item = (&Path, &ImageEntry)> {
        self.entries.iter().map(|(p, e)| (p.as_path(), e))
    }

    /// The files directly inside `dir`, sorted by name.
    pub fn files_in(&self, dir: &Path) -> Vec<(String, Bytes)> {
        self.entries
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .filter_map(|(p, e)| match e {
                ImageEntry::File(bytes) => Some((file_name(p), bytes.clone())),
                ImageEntry::Dir => None,
            })
            .collect()
    }

    /// The bytes of the file at `path`, if there is one.
    pub fn file(&self, path: &Path) -> Option<&Bytes> {
        match self.entries.get(path) {
            Some(ImageEntry::File(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// Sets the bytes of the file at `path` (creating it).
    pub fn set_file(&mut self, path: &Path, bytes: impl Into<Bytes>) {
        self.entries
            .insert(path.to_path_buf(), ImageEntry::File(bytes.into()));
    }

    /// Removes the entry at `path`; true if there was one.
    pub fn remove(&mut self, path: &Path) -> bool {
        self.entries.remove(path).is_some()
    }

    /// Total bytes of every file.
    pub fn total_bytes(&self) -> usize {
        self.entries
            .values()
            .map(|e| match e {
                ImageEntry::File(b) => b.len(),
                ImageEntry::Dir => 0,
            })
            .sum()
    }
}

/// The images a power cut after operation `op` would leave, one per
/// [`PowerCut`] given to [`SimFileSystem::record_crash_images`].
#[derive(Clone, Debug)]
pub struct CrashImage {
    /// The number of mutating operations done when the cut happens.
    pub op: u64,
    /// Which of the recorded cut modes made this image (its index).
    pub cut: usize,
    /// The disk after the cut.
    pub image: DiskImage,
    /// A description of operation `op`.
    pub last_op: String,
}

/// See the module documentation.
///
/// Cloning gives another handle to the same simulated machine.
#[derive(Clone)]
pub struct SimFileSystem {
    shared: Arc<Mutex<State>>,
}

impl Debug for SimFileSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("SimFileSystem")
            .field("seed", &state.seed)
            .field("ops", &state.ops)
            .field("down", &state.down)
            .field("entries", &state.live.len())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    File(u64),
}

/// An unsynced change of one directory's entries.
#[derive(Clone, Debug)]
enum DirOp {
    Create(PathBuf, Entry),
    Remove(PathBuf),
    Rename {
        from: PathBuf,
        to: PathBuf,
        entry: Entry,
    },
}

#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    /// `data[..synced_len]` is durable, unless `synced_override` is set
    /// (a truncation since the last sync changed bytes below it).
    synced_len: usize,
    synced_override: Option<Bytes>,
    /// Extents `(start, end)` appended since the last sync, in order.
    unsynced_writes: Vec<(usize, usize)>,
    /// Cached copy of the synced contents.
    synced_cache: Option<Bytes>,
}

impl Inode {
    fn synced(&mut self) -> Bytes {
        if let Some(bytes) = &self.synced_override {
            return bytes.clone();
        }
        if self.synced_cache.is_none() {
            self.synced_cache = Some(Bytes::copy_from_slice(&self.data[..self.synced_len]));
        }
        self.synced_cache.clone().unwrap_or_default()
    }

    fn is_dirty(&self) -> bool {
        self.synced_override.is_some() || self.synced_len != self.data.len()
    }

    /// True when every change since the last sync is an append.
    fn append_only(&self) -> bool {
        self.synced_override.is_none() && self.synced_len <= self.data.len()
    }
}

struct State {
    seed: u64,
    generation: u64,
    down: bool,
    ops: u64,
    live: BTreeMap<PathBuf, Entry>,
    durable: BTreeMap<PathBuf, Entry>,
    /// Per directory, its unsynced entry changes in order.
    pending: BTreeMap<PathBuf, Vec<DirOp>>,
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    locks: BTreeSet<PathBuf>,
    scheduled_cut: Option<(u64, PowerCut)>,
    /// The disk as the power cut left it.
    after_cut: Option<DiskImage>,
    recording: Vec<PowerCut>,
    images: Vec<CrashImage>,
    trace: VecDeque<String>,
}

/// A small, fast, seedable generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo) as u64 + 1) as usize
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

fn mix(a: u64, b: u64) -> u64 {
    SimRng::new(a ^ b.rotate_left(29) ^ 0x5DEE_CE66_D1CE_4E5B).next_u64()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The error of every call while the simulated machine is off.
fn power_off_error() -> io::Error {
    io::Error::other("simulated power cut: the machine is off")
}

fn is_root(path: &Path) -> bool {
    path.parent().is_none() || path.as_os_str().is_empty()
}

impl State {
    fn fresh(seed: u64) -> State {
        State {
            seed,
            generation: 0,
            down: false,
            ops: 0,
            live: BTreeMap::new(),
            durable: BTreeMap::new(),
            pending: BTreeMap::new(),
            inodes: HashMap::new(),
            next_inode: 1,
            locks: BTreeSet::new(),
            scheduled_cut: None,
            after_cut: None,
            recording: Vec::new(),
            images: Vec::new(),
            trace: VecDeque::new(),
        }
    }

    /// Replaces the disk with `image`: everything in it is durable.
    fn load(&mut self, image: &DiskImage) {
        self.live.clear();
        self.durable.clear();
        self.pending.clear();
        self.inodes.clear();
        self.locks.clear();
        for (path, entry) in &image.entries {
            let entry = match entry {
                ImageEntry::Dir => Entry::Dir,
                ImageEntry::File(bytes) => {
                    let id = self.next_inode;
                    self.next_inode += 1;
                    self.inodes.insert(
                        id,
                        Inode {
                            data: bytes.to_vec(),
                            synced_len: bytes.len(),
                            synced_cache: Some(bytes.clone()),
                            ..Inode::default()
                        },
                    );
                    Entry::File(id)
                }
            };
            self.live.insert(path.clone(), entry);
            self.durable.insert(path.clone(), entry);
        }
    }

    fn check_up(&self) -> io::Result<()> {
        if self.down {
            Err(power_off_error())
        } else {
            Ok(())
        }
    }

    fn dir_exists(&self, dir: &Path) -> bool {
        is_root(dir) || self.live.get(dir) == Some(&Entry::Dir)
    }

    fn parent_of(path: &Path) -> PathBuf {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    fn file_inode(&self, path: &Path) -> io::Result<u64> {
        match self.live.get(path) {
            Some(Entry::File(id)) => Ok(*id),
            Some(Entry::Dir) => Err(io::Error::other(format!(
                "{} is a directory",
                path.display()
            ))),
            None => Err(io::ErrorKind::NotFound.into()),
        }
    }

    fn record_dir_op(&mut self, dir: PathBuf, op: DirOp) {
        self.pending.entry(dir).or_default().push(op);
    }

    fn create_file(&mut self, path: &Path) -> io::Result<u64> {
        let parent = Self::parent_of(path);
        if !self.dir_exists(&parent) {
            return Err(io::ErrorKind::NotFound.into());
        }
        if self.live.contains_key(path) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::default());
        self.live.insert(path.to_path_buf(), Entry::File(id));
        self.record_dir_op(parent, DirOp::Create(path.to_path_buf(), Entry::File(id)));
        Ok(id)
    }

    /// Counts a mutating operation, records crash images, and cuts the
    /// power if a cut was scheduled here.
    fn mutated(&mut self, what: impl FnOnce() -> String) {
        self.ops += 1;
        let description = what();
        if self.trace.len() == TRACE_LEN {
            self.trace.pop_front();
        }
        self.trace.push_back(format!("#{} {description}", self.ops));
        if !self.recording.is_empty() {
            let cuts = self.recording.clone();
            for (index, cut) in cuts.into_iter().enumerate() {
                let image = self.crash_image(cut);
                self.images.push(CrashImage {
                    op: self.ops,
                    cut: index,
                    image,
                    last_op: description.clone(),
                });
            }
        }
        if let Some((at, cut)) = self.scheduled_cut {
            if at == self.ops {
                self.scheduled_cut = None;
                self.cut_power(cut);
            }
        }
    }

    fn cut_power(&mut self, cut: PowerCut) {
        if self.down {
            return;
        }
        let image = self.crash_image(cut);
        self.after_cut = Some(image);
        self.down = true;
    }

    /// What a power cut now would leave on the disk.
    fn crash_image(&mut self, cut: PowerCut) -> DiskImage {
        let mut rng = SimRng::new(mix(self.seed, self.ops.wrapping_mul(0x100_0000_01B3)));
        let cut_seed = match cut {
            PowerCut::Uniform(_) => rng.next_u64(),
            PowerCut::Seeded(seed) => mix(seed, rng.next_u64()),
        };
        let mut rng = SimRng::new(cut_seed);
        let fate = |rng: &mut SimRng| match cut {
            PowerCut::Uniform(fate) => fate,
            PowerCut::Seeded(_) => UnsyncedFate::ALL[rng.below(5) as usize],
        };

        // Directory entries: the durable ones, plus the unsynced changes
        // each directory's fate keeps.
        let mut names = self.durable.clone();
        for ops in self.pending.values() {
            let kept: Vec<&DirOp> = match fate(&mut rng) {
                UnsyncedFate::Lost => Vec::new(),
                UnsyncedFate::Kept => ops.iter().collect(),
                UnsyncedFate::Prefix | UnsyncedFate::TornLastWrite => {
                    let n = rng.between(0, ops.len());
                    ops.iter().take(n).collect()
                }
                UnsyncedFate::Garbage => ops.iter().filter(|_| rng.one_in(2)).collect(),
            };
            for op in kept {
                match op {
                    DirOp::Create(path, entry) => {
                        names.insert(path.clone(), *entry);
                    }
                    DirOp::Remove(path) => {
                        names.remove(path);
                    }
                    DirOp::Rename { from, to, entry } => {
                        names.remove(from);
                        names.insert(to.clone(), *entry);
                    }
                }
            }
        }
        // An entry whose directory did not survive is gone too.
        let dirs: BTreeSet<PathBuf> = names
            .iter()
            .filter(|(_, e)| **e == Entry::Dir)
            .map(|(p, _)| p.clone())
            .collect();
        let reachable = |path: &Path| {
            path.ancestors()
                .skip(1)
                .all(|a| is_root(a) || dirs.contains(a))
        };

        let mut image = DiskImage::default();
        let mut resolved: HashMap<u64, Bytes> = HashMap::new();
        for (path, entry) in names {
            if !reachable(&path) {
                continue;
            }
            let entry = match entry {
                Entry::Dir => ImageEntry::Dir,
                Entry::File(id) => {
                    let bytes = match resolved.get(&id) {
                        Some(bytes) => bytes.clone(),
                        None => {
                            let fate = fate(&mut rng);
                            let bytes = match self.inodes.get_mut(&id) {
                                Some(inode) => resolve_file(inode, fate, &mut rng),
                                None => Bytes::new(),
                            };
                            resolved.insert(id, bytes.clone());
                            bytes
                        }
                    };
                    ImageEntry::File(bytes)
                }
            };
            image.entries.insert(path, entry);
        }
        image
    }
}

/// The contents a power cut leaves of one file.
fn resolve_file(inode: &mut Inode, fate: UnsyncedFate, rng: &mut SimRng) -> Bytes {
    if !inode.is_dirty() {
        return inode.synced();
    }
    let synced = inode.synced();
    let current = &inode.data;
    if !inode.append_only() {
        // A truncation since the last sync: it happened or it did not.
        return match fate {
            UnsyncedFate::Lost => synced,
            UnsyncedFate::Kept => Bytes::copy_from_slice(current),
            _ if rng.one_in(2) => synced,
            _ => Bytes::copy_from_slice(current),
        };
    }
    let base = inode.synced_len;
    let end = current.len();
    match fate {
        UnsyncedFate::Lost => synced,
        UnsyncedFate::Kept => Bytes::copy_from_slice(current),
        UnsyncedFate::Prefix => Bytes::copy_from_slice(&current[..rng.between(base, end)]),
        UnsyncedFate::TornLastWrite => {
            let (start, stop) = inode.unsynced_writes.last().copied().unwrap_or((base, end));
            let cut = if stop > start {
                rng.between(start, stop - 1)
            } else {
                start
            };
            Bytes::copy_from_slice(&current[..cut])
        }
        UnsyncedFate::Garbage => {
            let len = rng.between(base + 1, end);
            let mut bytes = current[..len].to_vec();
            let from = rng.between(base, len - 1);
            let to = rng.between(from + 1, len);
            let zeros = rng.one_in(2);
            for b in &mut bytes[from..to] {
                *b = if zeros { 0 } else { rng.next_u64() as u8 };
            }
            Bytes::from(bytes)
        }
    }
}

impl SimFileSystem {
    /// An empty disk. `seed` drives every random choice of power cuts.
    pub fn new(seed: u64) -> Self {
        SimFileSystem {
            shared: Arc::new(Mutex::new(State::fresh(seed))),
        }
    }

    /// A machine booted from `image` (everything in it is durable).
    pub fn from_image(image: &DiskImage, seed: u64) -> Self {
        let mut state = State::fresh(seed);
        state.load(image);
        SimFileSystem {
            shared: Arc::new(Mutex::new(state)),
        }
    }

    /// The mutating operations done so far (see the module documentation).
    pub fn mutating_ops(&self) -> u64 {
        self.shared.lock().ops
    }

    /// The last few mutating operations, oldest first, numbered.
    pub fn recent_ops(&self) -> Vec<String> {
        self.shared.lock().trace.iter().cloned().collect()
    }

    /// Whether the power is off (cut and not yet restarted).
    pub fn is_down(&self) -> bool {
        self.shared.lock().down
    }

    /// Cuts the power now.
    pub fn power_cut(&self, cut: PowerCut) {
        self.shared.lock().cut_power(cut);
    }

    /// Cuts the power right after mutating operation number `op` (counted
    /// from the file system's creation; see [`Self::mutating_ops`]).
    pub fn cut_after(&self, op: u64, cut: PowerCut) {
        let mut state = self.shared.lock();
        if op <= state.ops {
            state.cut_power(cut);
        } else {
            state.scheduled_cut = Some((op, cut));
        }
    }

    /// Boots the machine again. After a power cut the disk is what the cut
    /// left; without one, it is a clean reboot (everything is kept). Every
    /// handle and lock from before is dead.
    pub fn restart(&self) {
        let mut state = self.shared.lock();
        let image = match state.after_cut.take() {
            Some(image) => image,
            None => state.crash_image(PowerCut::Uniform(UnsyncedFate::Kept)),
        };
        state.load(&image);
        state.generation += 1;
        state.down = false;
        state.scheduled_cut = None;
    }

    /// What a power cut now would leave, without cutting it.
    pub fn crash_image(&self, cut: PowerCut) -> DiskImage {
        self.shared.lock().crash_image(cut)
    }

    /// Everything as processes see it now, synced or not.
    pub fn live_image(&self) -> DiskImage {
        self.crash_image(PowerCut::Uniform(UnsyncedFate::Kept))
    }

    /// From now on, after every mutating operation, computes the image each
    /// of `cuts` would leave and keeps it for [`Self::take_crash_images`].
    /// An empty list stops the recording.
    pub fn record_crash_images(&self, cuts: Vec<PowerCut>) {
        self.shared.lock().recording = cuts;
    }

    /// The crash images recorded since the last call, oldest first.
    pub fn take_crash_images(&self) -> Vec<CrashImage> {
        std::mem::take(&mut self.shared.lock().images)
    }

    fn handle(&self, id: u64, path: &Path, writable: bool) -> Arc<dyn FileHandle> {
        let generation = self.shared.lock().generation;
        Arc::new(SimFile {
            shared: Arc::clone(&self.shared),
            id,
            path: path.to_path_buf(),
            generation,
            writable,
        })
    }
}

impl FileSystem for SimFileSystem {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.shared.lock();
        state.check_up()?;
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .filter(|a| !is_root(a))
            .take_while(|a| state.live.get(*a) != Some(&Entry::Dir))
            .map(Path::to_path_buf)
            .collect();
        for path in missing.into_iter().rev() {
            if state.live.contains_key(&path) {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            state.live.insert(path.clone(), Entry::Dir);
            let parent = State::parent_of(&path);
            state.record_dir_op(parent, DirOp::Create(path.clone(), Entry::Dir));
            state.mutated(|| format!("mkdir {}", path.display()));
        }
        Ok(())
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn FileHandle>> {
        let id = {
            let mut state = self.shared.lock();
            state.check_up()?;
            match mode {
                OpenMode::Read | OpenMode::ReadWrite => state.file_inode(path)?,
                OpenMode::CreateNew => {
                    let id = state.create_file(path)?;
                    state.mutated(|| format!("create {}", path.display()));
                    id
                }
            }
        };
        Ok(self.handle(id, path, mode != OpenMode::Read))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.shared.lock();
        state.check_up()?;
        let id = state.file_inode(from)?;
        let to_parent = State::parent_of(to);
        if !state.dir_exists(&to_parent) {
            return Err(io::ErrorKind::NotFound.into());
        }
        if state.live.get(to) == Some(&Entry::Dir) {
            return Err(io::Error::other(format!("{} is a directory", to.display())));
        }
        state.live.remove(from);
        state.live.insert(to.to_path_buf(), Entry::File(id));
        let from_parent = State::parent_of(from);
        let op = DirOp::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            entry: Entry::File(id),
        };
        if from_parent != to_parent {
            state.record_dir_op(from_parent, DirOp::Remove(from.to_path_buf()));
        }
        state.record_dir_op(to_parent, op);
        state.mutated(|| format!("rename {} -> {}", from.display(), file_name(to)));
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.shared.lock();
        state.check_up()?;
        state.file_inode(path)?;
        state.live.remove(path);
        let parent = State::parent_of(path);
        state.record_dir_op(parent, DirOp::Remove(path.to_path_buf()));
        state.mutated(|| format!("remove {}", path.display()));
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let state = self.shared.lock();
        state.check_up()?;
        if !state.dir_exists(dir) {
            return Err(io::ErrorKind::NotFound.into());
        }
        Ok(state
            .live
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .map(|p| file_name(p))
            .collect())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.shared.lock();
        state.check_up()?;
        if !state.dir_exists(dir) {
            return Err(io::ErrorKind::NotFound.into());
        }
        let ops = state.pending.remove(dir).unwrap_or_default();
        for op in ops {
            match op {
                DirOp::Create(path, entry) => {
                    state.durable.insert(path, entry);
                }
                DirOp::Remove(path) => {
                    state.durable.remove(&path);
                }
                DirOp::Rename { from, to, entry } => {
                    state.durable.remove(&from);
                    state.durable.insert(to, entry);
                }
            }
        }
        state.mutated(|| format!("sync_dir {}", dir.display()));
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Debug + Send + Sync>> {
        let mut state = self.shared.lock();
        state.check_up()?;
        if !state.live.contains_key(path) {
            state.create_file(path)?;
            state.mutated(|| format!("create {} (lock)", path.display()));
        }
        if !state.locks.insert(path.to_path_buf()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Box::new(SimLock {
            shared: Arc::clone(&self.shared),
            path: path.to_path_buf(),
            generation: state.generation,
        }))
    }
}

/// A held lock; released on drop (unless the machine restarted since).
struct SimLock {
    shared: Arc<Mutex<State>>,
    path: PathBuf,
    generation: u64,
}

impl Debug for SimLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimLock").field("path", &self.path).finish()
    }
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.generation == self.generation {
            state.locks.remove(&self.path);
        }
    }
}

/// An open simulated file.
struct SimFile {
    shared: Arc<Mutex<State>>,
    id: u64,
    path: PathBuf,
    generation: u64,
    writable: bool,
}

impl Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile").field("path", &self.path).finish()
    }
}

impl SimFile {
    /// Runs `f` on the file's inode, if the handle is still alive.
    fn with<T>(&self, f: impl FnOnce(&mut State, u64) -> io::Result<T>) -> io::Result<T> {
        let mut state = self.shared.lock();
        state.check_up()?;
        if state.generation != self.generation {
            return Err(io::Error::other("stale handle from before a power cut"));
        }
        f(&mut state, self.id)
    }

    fn writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "file opened read-only",
            ))
        }
    }
}

fn inode(state: &mut State, id: u64) -> io::Result<&mut Inode> {
    state
        .inodes
        .get_mut(&id)
        .ok_or_else(|| io::Error::other("simulated inode vanished"))
}

impl FileHandle for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.with(|state, id| {
            let data = &inode(state, id)?.data;
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let n = buf.len().min(data.len() - start);
            buf[..n].copy_from_slice(&data[start..start + n]);
            Ok(n)
        })
    }

    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.writable()?;
        self.with(|state, id| {
            let file = inode(state, id)?;
            let start = file.data.len();
            file.data.extend_from_slice(buf);
            file.unsynced_writes.push((start, file.data.len()));
            let n = buf.len();
            state.mutated(|| format!("append {} +{n}", self.path.display()));
            Ok(())
        })
    }

    fn sync(&self) -> io::Result<()> {
        self.writable()?;
        self.with(|state, id| {
            let file = inode(state, id)?;
            if file.is_dirty() {
                file.synced_len = file.data.len();
                file.synced_override = None;
                file.synced_cache = None;
            }
            file.unsynced_writes.clear();
            state.mutated(|| format!("sync {}", self.path.display()));
            Ok(())
        })
    }

    fn size(&self) -> io::Result<u64> {
        self.with(|state, id| Ok(inode(state, id)?.data.len() as u64))
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.writable()?;
        self.with(|state, id| {
            let file = inode(state, id)?;
            let len = usize::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
            if len < file.synced_len && file.synced_override.is_none() {
                file.synced_override = Some(file.synced());
            }
            file.data.resize(len, 0);
            file.unsynced_writes.clear();
            if file.synced_override.is_none() {
                // Only growth: zeros appended, like an unsynced append.
                file.unsynced_writes.push((file.synced_len, len));
            }
            state.mutated(|| format!("truncate {} to {len}", self.path.display()));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    fn setup() -> (SimFileSystem, Arc<dyn FileHandle>) {
        let fs = SimFileSystem::new(7);
        fs.create_dir_all(&p("/db")).unwrap();
        fs.sync_dir(&p("/")).unwrap();
        let f = fs.open(&p("/db/a"), OpenMode::CreateNew).unwrap();
        (fs, f)
    }

    #[test]
    fn unsynced_entry_and_bytes_are_lost_synced_ones_kept() {
        let (fs, f) = setup();
        f.append(b"hello").unwrap();
        f.sync().unwrap();
        let lost = fs.crash_image(PowerCut::Uniform(UnsyncedFate::Lost));
        assert_eq!(lost.file(&p("/db/a")), None, "entry not synced");
        fs.sync_dir(&p("/db")).unwrap();
        f.append(b" world").unwrap();
        let lost = fs.crash_image(PowerCut::Uniform(UnsyncedFate::Lost));
        assert_eq!(lost.file(&p("/db/a")).unwrap(), &b"hello"[..]);
        let kept = fs.crash_image(PowerCut::Uniform(UnsyncedFate::Kept));
        assert_eq!(kept.file(&p("/db/a")).unwrap(), &b"hello world"[..]);
        for seed in 0..200 {
            let image = fs.crash_image(PowerCut::Seeded(seed));
            let bytes = image.file(&p("/db/a")).unwrap();
            assert!(bytes.len() >= 5 && bytes.len() <= 11);
            assert_eq!(&bytes[..5], b"hello", "synced bytes never change");
        }
    }

    #[test]
    fn torn_last_write_keeps_earlier_appends() {
        let (fs, f) = setup();
        fs.sync_dir(&p("/db")).unwrap();
        f.append(b"one").unwrap();
        f.append(b"two").unwrap();
        for _ in 0..50 {
            f.append(b"").unwrap();
        }
        f.append(b"three").unwrap();
        let image = fs.crash_image(PowerCut::Uniform(UnsyncedFate::TornLastWrite));
        let bytes = image.file(&p("/db/a")).unwrap();
        assert!(
            bytes.starts_with(b"onetwo") && bytes.len() < 11,
            "{bytes:?}"
        );
    }

    #[test]
    fn power_cut_stops_everything_and_restart_boots_the_image() {
        let (fs, f) = setup();
        fs.sync_dir(&p("/db")).unwrap();
        f.append(b"x").unwrap();
        let at = fs.mutating_ops() + 2;
        fs.cut_after(at, PowerCut::Uniform(UnsyncedFate::Lost));
        f.sync().unwrap();
        f.append(b"y").unwrap(); // the cut happens after this one
        assert!(fs.is_down());
        assert!(f.append(b"z").is_err());
        assert!(fs.list(&p("/db")).is_err());
        fs.restart();
        assert!(f.size().is_err(), "handles from before the cut are dead");
        let g = fs.open(&p("/db/a"), OpenMode::Read).unwrap();
        assert_eq!(&g.map().unwrap()[..], b"x");
    }

    #[test]
    fn rename_and_remove_need_a_directory_sync() {
        let (fs, f) = setup();
        f.append(b"v1").unwrap();
        f.sync().unwrap();
        fs.sync_dir(&p("/db")).unwrap();
        fs.rename(&p("/db/a"), &p("/db/b")).unwrap();
        let lost = fs.crash_image(PowerCut::Uniform(UnsyncedFate::Lost));
        assert!(lost.file(&p("/db/a")).is_some() && lost.file(&p("/db/b")).is_none());
        let kept = fs.crash_image(PowerCut::Uniform(UnsyncedFate::Kept));
        assert!(kept.file(&p("/db/a")).is_none() && kept.file(&p("/db/b")).is_some());
        fs.sync_dir(&p("/db")).unwrap();
        fs.remove(&p("/db/b")).unwrap();
        let lost = fs.crash_image(PowerCut::Uniform(UnsyncedFate::Lost));
        assert_eq!(lost.file(&p("/db/b")).unwrap(), &b"v1"[..]);
        assert_eq!(fs.list(&p("/db")).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn crash_images_are_recorded_per_operation_and_deterministic() {
        let run = || {
            let (fs, f) = setup();
            fs.record_crash_images(vec![PowerCut::Seeded(1), PowerCut::Seeded(2)]);
            for i in 0..20u8 {
                f.append(&[i; 10]).unwrap();
                if i % 5 == 0 {
                    f.sync().unwrap();
                    fs.sync_dir(&p("/db")).unwrap();
                }
            }
            fs.take_crash_images()
        };
        let (a, b) = (run(), run());
        assert_eq!(a.len(), 2 * 28);
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.image == y.image && x.op == y.op));
    }

    #[test]
    fn locks_exclude_and_die_with_the_machine() {
        let (fs, _f) = setup();
        let guard = fs.lock(&p("/db/LOCK")).unwrap();
        assert_eq!(
            fs.lock(&p("/db/LOCK")).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        drop(guard);
        let _guard = fs.lock(&p("/db/LOCK")).unwrap();
        fs.power_cut(PowerCut::Uniform(UnsyncedFate::Kept));
        fs.restart();
        fs.lock(&p("/db/LOCK")).unwrap();
        assert_eq!(
            fs.lock(&p("/nodir/LOCK")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn truncation_before_sync_is_all_or_nothing() {
        let (fs, f) = setup();
        fs.sync_dir(&p("/db")).unwrap();
        f.append(b"0123456789").unwrap();
        f.sync().unwrap();
        f.truncate(4).unwrap();
        for seed in 0..50 {
            let image = fs.crash_image(PowerCut::Seeded(seed));
            let bytes = image.file(&p("/db/a")).unwrap();
            assert!(&bytes[..] == b"0123" || &bytes[..] == b"0123456789");
        }
        f.sync().unwrap();
        let lost = fs.crash_image(PowerCut::Uniform(UnsyncedFate::Lost));
        assert_eq!(lost.file(&p("/db/a")).unwrap(), &b"0123"[..]);
    }
}
