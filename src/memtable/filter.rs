//! A blocked bloom filter over the user keys of one memtable, so that a
//! point lookup of a key the memtable does not hold — a read served by the
//! tables, a write check of a new key — skips the skip-list search.
//!
//! The bits live in 64-byte blocks (eight `AtomicU64`s); a key sets
//! [`PROBES`] bits inside one block chosen by its hash, so a lookup costs
//! one cache line. The single writer (the commit leader, or recovery) sets
//! bits with a load and a store — no read-modify-write is needed without a
//! second writer; readers load them. A key's bits are set before its entry is
//! inserted into the skip list, and readers only look for entries the
//! write path has published, so a published key is never reported absent.
//!
//! # Invariants
//! 1. No false negatives for keys inserted before the lookup's snapshot was
//!    published.
//! 2. The block count is a power of two, at least one.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bits set per key.
const PROBES: u64 = 4;
/// Bits of filter per expected key (about 3 % false positives at 4 probes).
const BITS_PER_KEY: usize = 8;
/// Bytes a memtable entry is expected to take at least (key, value and
/// bookkeeping), to size the filter from the memtable's budget.
const ENTRY_BYTES_MIN: usize = 96;
/// Words in a block (a 64-byte cache line).
const BLOCK_WORDS: usize = 8;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct KeyFilter {
    words: Box<[AtomicU64]>,
    /// Blocks − 1 (a power of two minus one).
    block_mask: u64,
}

impl KeyFilter {
    /// A filter for a memtable of about `memtable_bytes`.
    pub(crate) fn for_memtable(memtable_bytes: usize) -> Self {
        let keys = (memtable_bytes / ENTRY_BYTES_MIN).max(64);
        let blocks = (keys * BITS_PER_KEY / 512).max(1).next_power_of_two();
        let words = (0..blocks * BLOCK_WORDS)
            .map(|_| AtomicU64::new(0))
            .collect();
        KeyFilter {
            words,
            block_mask: blocks as u64 - 1,
        }
    }

    /// The words to touch and the bit in each, for `key`.
    fn probes(&self, key: &[u8]) -> impl Iterator<Item = (usize, u64)> + '_ {
        let hash = mix_hash(key);
        let block = ((hash >> 32) & self.block_mask) as usize * BLOCK_WORDS;
        let step = (hash >> 9) | 1;
        (0..PROBES).map(move |i| {
            let bit = hash.wrapping_add(i.wrapping_mul(step)) & 511;
            (block + (bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    /// Adds `key`. Only the memtable's single writer calls it.
    pub(crate) fn add(&self, key: &[u8]) {
        for (word, bit) in self.probes(key) {
            let word = &self.words[word];
            let old = word.load(Ordering::Relaxed);
            if old & bit == 0 {
                word.store(old | bit, Ordering::Release);
            }
        }
    }

    /// False only if `key` was never added.
    pub(crate) fn may_contain(&self, key: &[u8]) -> bool {
        self.probes(key)
            .all(|(word, bit)| self.words[word].load(Ordering::Acquire) & bit != 0)
    }

    /// Bytes the filter holds.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

/// A fast 64-bit hash of a key (not for on-disk use: the filter lives in
/// memory only): 8-byte words multiplied in, then a final mix.
fn mix_hash(key: &[u8]) -> u64 {
    const M: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 29;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let filter = KeyFilter::for_memtable(1 << 20);
        let keys = (1 << 20) / ENTRY_BYTES_MIN;
        for i in 0..keys {
            filter.add(format!("key-{i}").as_bytes());
        }
        for i in 0..keys {
            assert!(filter.may_contain(format!("key-{i}").as_bytes()));
        }
        let false_positives = (0..10_000)
            .filter(|i| filter.may_contain(format!("absent-{i}").as_bytes()))
            .count();
        assert!(false_positives < 600, "{false_positives} of 10000");
        assert!(!KeyFilter::for_memtable(0).may_contain(b"never added"));
        assert!(filter.bytes() >= keys);
    }
}
