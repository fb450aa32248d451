//! Choosing the next compaction: a pure function of the current version.
//!
//! Leveled, as in LevelDB and RocksDB. Level 0 scores by table count
//! (`count / l0_trigger`), each deeper level by size against its target
//! (`level1_bytes × ratio^(level-1)`). Of the levels scoring at least 1,
//! the highest-scoring one whose tables are not busy is compacted into the
//! next one:
//! * level 0: every level-0 table (they overlap and are ordered by age, so
//!   taking all keeps invariant 1 of `version`), plus the level-1 tables
//!   their key range meets;
//! * level `i ≥ 1`: the first table past the level's compaction pointer
//!   (round-robin through the key space), plus the overlapping tables of
//!   level `i + 1`. A single table with nothing below it is *moved*, not
//!   rewritten.
//!
//! Tables a running compaction reads are never picked twice.

use crate::manifest::LEVELS;
use crate::version::{key_range, TableFile, Version};
use bytes::Bytes;
use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;

/// The knobs the picker reads (from `Options`).
#[derive(Clone, Debug)]
pub(crate) struct PickerOptions {
    pub l0_trigger: usize,
    pub level1_bytes: u64,
    pub level_ratio: u64,
}

/// A compaction to run: `inputs` of `level` merged with `next_inputs` of
/// `level + 1`, written to `level + 1`.
#[derive(Clone, Debug)]
pub(crate) struct Pick {
    pub level: usize,
    pub inputs: Vec<Arc<TableFile>>,
    pub next_inputs: Vec<Arc<TableFile>>,
    /// Rewrite even a lone table (manual compaction: drop what GC can).
    pub force_rewrite: bool,
    /// Write the output back into `level` itself (manual compaction of the
    /// deepest level; `next_inputs` is then empty).
    pub in_place: bool,
}

impl Pick {
    /// The level written: the next one, or `level` itself for an in-place
    /// rewrite (manual compaction of the deepest level only).
    pub(crate) fn output_level(&self) -> usize {
        if self.in_place {
            self.level
        } else {
            (self.level + 1).min(LEVELS - 1)
        }
    }

    /// A move needs no rewrite: one table, nothing below it to merge with.
    pub(crate) fn is_move(&self) -> bool {
        !self.force_rewrite
            && self.level > 0
            && self.output_level() != self.level
            && self.inputs.len() == 1
            && self.next_inputs.is_empty()
    }

    pub(crate) fn all_inputs(&self) -> Vec<Arc<TableFile>> {
        self.inputs
            .iter()
            .chain(&self.next_inputs)
            .cloned()
            .collect()
    }
}

/// The target size of `level` (≥ 1).
pub(crate) fn level_target_bytes(options: &PickerOptions, level: usize) -> u64 {
    let mut target = options.level1_bytes;
    for _ in 1..level {
        target = target.saturating_mul(options.level_ratio);
    }
    target
}

/// How urgently each level needs compaction (≥ 1: it does).
pub(crate) fn level_scores(version: &Version, options: &PickerOptions) -> [f64; LEVELS] {
    let mut scores = [0.0; LEVELS];
    scores[0] = version.levels[0].len() as f64 / options.l0_trigger.max(1) as f64;
    for (level, score) in scores.iter_mut().enumerate().take(LEVELS - 1).skip(1) {
        *score = version.level_bytes(level) as f64 / level_target_bytes(options, level) as f64;
    }
    scores
}

/// The next compaction, if any level needs one.
pub(crate) fn pick(
    version: &Version,
    busy: &HashSet<u64>,
    pointers: &[Option<Bytes>; LEVELS],
    options: &PickerOptions,
) -> Option<Pick> {
    let scores = level_scores(version, options);
    let mut levels: Vec<usize> = (0..LEVELS - 1).filter(|&l| scores[l] >= 1.0).collect();
    levels.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    levels
        .into_iter()
        .find_map(|level| pick_level(version, busy, pointers, level))
}

fn pick_level(
    version: &Version,
    busy: &HashSet<u64>,
    pointers: &[Option<Bytes>; LEVELS],
    level: usize,
) -> Option<Pick> {
    let inputs = if level == 0 {
        version.levels[0].clone()
    } else {
        let tables = &version.levels[level];
        let after_pointer = |t: &&Arc<TableFile>| match &pointers[level] {
            Some(pointer) => t.meta.smallest > *pointer,
            None => true,
        };
        let chosen = tables
            .iter()
            .find(after_pointer)
            .or_else(|| tables.first())?;
        vec![Arc::clone(chosen)]
    };
    with_next_level(version, busy, level, inputs)
}

/// Completes a pick with the overlapping tables of the next level; `None`
/// if any table involved is busy or there is nothing to do.
pub(crate) fn with_next_level(
    version: &Version,
    busy: &HashSet<u64>,
    level: usize,
    inputs: Vec<Arc<TableFile>>,
) -> Option<Pick> {
    let (smallest, largest) = key_range(&inputs)?;
    let next_inputs = if level + 1 < LEVELS {
        version.overlapping(
            level + 1,
            Bound::Included(&smallest[..]),
            Bound::Included(&largest[..]),
        )
    } else {
        Vec::new() // the last level, rewritten in place
    };
    let pick = Pick {
        level,
        inputs,
        next_inputs,
        force_rewrite: false,
        in_place: false,
    };
    let any_busy = pick
        .all_inputs()
        .iter()
        .any(|t| busy.contains(&t.meta.number));
    (!any_busy).then_some(pick)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{FileSystem, OsFileSystem};
    use crate::manifest::VersionEdit;
    use crate::version::tests::meta;
    use std::path::Path;

    const OPTIONS: PickerOptions = PickerOptions {
        l0_trigger: 4,
        level1_bytes: 10_000,
        level_ratio: 10,
    };

    fn version(tables: &[(u8, u64, &str, &str, u64)]) -> Version {
        let fs: Arc<dyn FileSystem> = Arc::new(OsFileSystem);
        let edit = VersionEdit {
            added: tables
                .iter()
                .map(|&(level, n, lo, hi, bytes)| {
                    let mut m = meta(n, lo, hi, n);
                    m.file_bytes = bytes;
                    (level, m)
                })
                .collect(),
            ..VersionEdit::default()
        };
        Version::default()
            .apply(&edit, Path::new("/x"), &fs)
            .unwrap()
            .0
    }

    fn numbers(tables: &[Arc<TableFile>]) -> Vec<u64> {
        let mut n: Vec<u64> = tables.iter().map(|t| t.meta.number).collect();
        n.sort_unstable();
        n
    }

    #[test]
    fn nothing_to_do_below_the_triggers() {
        let v = version(&[(0, 1, "a", "c", 100), (1, 2, "a", "z", 9_000)]);
        assert!(pick(&v, &HashSet::new(), &Default::default(), &OPTIONS).is_none());
    }

    #[test]
    fn level0_takes_every_table_and_the_overlap_below() {
        let v = version(&[
            (0, 1, "a", "c", 100),
            (0, 2, "b", "d", 100),
            (0, 3, "x", "y", 100),
            (0, 4, "c", "e", 100),
            (1, 5, "a", "b", 100),
            (1, 6, "f", "g", 100),
            (1, 7, "x", "z", 100),
        ]);
        let p = pick(&v, &HashSet::new(), &Default::default(), &OPTIONS).unwrap();
        assert_eq!(p.level, 0);
        assert_eq!(numbers(&p.inputs), [1, 2, 3, 4]);
        // The union range a..y meets every level-1 table.
        assert_eq!(numbers(&p.next_inputs), [5, 6, 7]);
        assert!(!p.is_move());
        let busy: HashSet<u64> = [6].into();
        assert!(pick(&v, &busy, &Default::default(), &OPTIONS).is_none());
    }

    #[test]
    fn deeper_levels_round_robin_and_move_when_alone() {
        let v = version(&[
            (1, 1, "a", "b", 6_000),
            (1, 2, "c", "d", 6_000),
            (2, 3, "c", "c", 100),
        ]);
        let mut pointers: [Option<Bytes>; LEVELS] = Default::default();
        let p = pick(&v, &HashSet::new(), &pointers, &OPTIONS).unwrap();
        assert_eq!((p.level, numbers(&p.inputs)), (1, vec![1]));
        assert!(p.is_move());
        pointers[1] = Some(Bytes::from_static(b"a"));
        let p = pick(&v, &HashSet::new(), &pointers, &OPTIONS).unwrap();
        assert_eq!(
            (numbers(&p.inputs), numbers(&p.next_inputs)),
            (vec![2], vec![3])
        );
        pointers[1] = Some(Bytes::from_static(b"c"));
        let p = pick(&v, &HashSet::new(), &pointers, &OPTIONS).unwrap();
        assert_eq!(numbers(&p.inputs), [1], "wraps around");
    }

    #[test]
    fn targets_grow_by_the_ratio() {
        assert_eq!(level_target_bytes(&OPTIONS, 1), 10_000);
        assert_eq!(level_target_bytes(&OPTIONS, 3), 1_000_000);
        let v = version(&[(2, 1, "a", "b", 250_000)]);
        let scores = level_scores(&v, &OPTIONS);
        assert!((scores[2] - 2.5).abs() < 1e-9);
        assert_eq!(
            pick(&v, &HashSet::new(), &Default::default(), &OPTIONS)
                .unwrap()
                .level,
            2
        );
    }
}
