//! The table's bloom filter over *user keys*: it answers "certainly absent"
//! for most keys the table does not hold, so a point read skips the index
//! and data block of every table that cannot have the key.
//!
//! ```text
//! filter block = bits[m / 8] | k u8            (then the block CRC)
//! ```
//! For a key, `h = xxh64(user_key)` and `step = h.rotate_left(32) | 1`; the
//! probes are bits `(h + i·step) mod m` for `i` in `0..k` (wrapping 64-bit
//! arithmetic), where bit `b` is bit `b % 8` (least significant first) of
//! byte `b / 8`. The key may be present only if every probed bit is set.
//!
//! # Invariants
//! 1. Either `k == 0` and the bit array is empty (filter disabled: every
//!    key may be present), or `1 <= k <= 30` and the array is not empty.
//! 2. `m = 8 · bytes`, with `bytes = max(8, ceil(keys · bits_per_key / 8))`.
//! 3. Every version of a key maps to the same hash, so the writer adds each
//!    user key once (versions of a key are adjacent in a table).

use super::format::Malformed;
use super::hash::xxh64;
use bytes::Bytes;

/// Largest number of probes.
const PROBES_MAX: u32 = 30;
/// Fewest bytes in a non-empty filter: tiny tables still get 64 bits.
const FILTER_BYTES_MIN: u64 = 8;
/// Bits per key past this are clamped: more would only waste space.
pub(crate) const BITS_PER_KEY_MAX: u32 = 64;

/// Probes for `bits_per_key`: `round(bits_per_key · ln 2)`, in `1..=30`.
fn probes_for(bits_per_key: u32) -> u32 {
    let ideal = (f64::from(bits_per_key) * std::f64::consts::LN_2).round();
    (ideal as u32).clamp(1, PROBES_MAX)
}

/// The bit positions of a key's probes, for a filter of `bits` bits.
fn probes(hash: u64, bits: u64, k: u32) -> impl Iterator<Item = u64> {
    let step = hash.rotate_left(32) | 1;
    (0..u64::from(k)).map(move |i| hash.wrapping_add(i.wrapping_mul(step)) % bits)
}

/// Collects the hashes of a table's user keys, then lays out the filter.
#[derive(Debug)]
pub(crate) struct FilterBuilder {
    bits_per_key: u32,
    hashes: Vec<u64>,
}

impl FilterBuilder {
    /// A builder; `bits_per_key == 0` writes a disabled filter.
    pub(crate) fn new(bits_per_key: u32) -> Self {
        FilterBuilder {
            bits_per_key: bits_per_key.min(BITS_PER_KEY_MAX),
            hashes: Vec::new(),
        }
    }

    /// Records one user key (call once per distinct key).
    pub(crate) fn add_key(&mut self, user_key: &[u8]) {
        if self.bits_per_key > 0 {
            self.hashes.push(xxh64(user_key));
        }
    }

    /// Bytes `finish_into` will append.
    pub(crate) fn encoded_len(&self) -> usize {
        if self.bits_per_key == 0 {
            return 1;
        }
        let bits = self.hashes.len() as u64 * u64::from(self.bits_per_key);
        bits.div_ceil(8).max(FILTER_BYTES_MIN) as usize + 1
    }

    /// Appends the filter block (without its CRC) to `out`.
    pub(crate) fn finish_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        if self.bits_per_key == 0 {
            out.push(0);
            return;
        }
        let k = probes_for(self.bits_per_key);
        let bytes = self.encoded_len() - 1;
        out.resize(start + bytes, 0);
        let array = &mut out[start..];
        let m = bytes as u64 * 8;
        for &hash in &self.hashes {
            for bit in probes(hash, m, k) {
                array[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        out.push(k as u8);
        debug_assert_eq!(out.len() - start, self.encoded_len());
    }
}

/// A decoded filter: its bit array (a slice of the table's bytes) and `k`.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    bits: Bytes,
    k: u32,
}

impl Filter {
    /// Checks a filter block (without its CRC) and keeps a view of its bits.
    pub(crate) fn decode(block: &Bytes) -> Result<Self, Malformed> {
        let Some((&k, bits)) = block.split_last() else {
            return Err(Malformed::new(0, "empty filter block (no probe count)"));
        };
        let k = u32::from(k);
        let valid = if k == 0 {
            bits.is_empty()
        } else {
            k <= PROBES_MAX && !bits.is_empty()
        };
        if !valid {
            return Err(Malformed::new(
                bits.len(),
                format!(
                    "filter with {} bytes of bits cannot have {k} probes",
                    bits.len()
                ),
            ));
        }
        Ok(Filter {
            bits: block.slice(..bits.len()),
            k,
        })
    }

    /// Bits in the filter's array (0 when the filter is disabled).
    pub(crate) fn bits(&self) -> u64 {
        self.bits.len() as u64 * 8
    }

    /// Probes per key (0 when the filter is disabled).
    pub(crate) fn probes(&self) -> u32 {
        self.k
    }

    /// False only if `user_key` is certainly not in the table.
    pub(crate) fn may_contain(&self, user_key: &[u8]) -> bool {
        let bits = &self.bits[..];
        if self.k == 0 || bits.is_empty() {
            return true;
        }
        let m = bits.len() as u64 * 8;
        probes(xxh64(user_key), m, self.k).all(|bit| {
            bits.get((bit / 8) as usize)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(keys: impl Iterator<Item = Vec<u8>>, bits_per_key: u32) -> Bytes {
        let mut builder = FilterBuilder::new(bits_per_key);
        for key in keys {
            builder.add_key(&key);
        }
        let mut out = Vec::new();
        builder.finish_into(&mut out);
        assert_eq!(out.len(), builder.encoded_len());
        Bytes::from(out)
    }

    #[test]
    fn false_positive_rate_is_under_one_and_a_half_percent() {
        let n = 100_000u32;
        let block = build((0..n).map(|i| format!("key-{i:08}").into_bytes()), 10);
        let filter = Filter::decode(&block).unwrap();
        for i in 0..n {
            assert!(filter.may_contain(format!("key-{i:08}").as_bytes()));
        }
        let false_positives = (0..n)
            .filter(|i| filter.may_contain(format!("absent-{i:08}").as_bytes()))
            .count();
        let rate = false_positives as f64 / f64::from(n);
        println!(
            "bloom false-positive rate at 10 bits/key: {:.3}%",
            rate * 100.0
        );
        assert!(rate <= 0.015, "false-positive rate {rate}");
    }

    #[test]
    fn probe_count_and_sizes() {
        assert_eq!(probes_for(10), 7);
        assert_eq!(probes_for(1), 1);
        assert_eq!(probes_for(64), 30);
        let block = build(std::iter::empty(), 10);
        assert_eq!(block.len(), 9, "an empty filter still has 64 bits");
        assert!(!Filter::decode(&block).unwrap().may_contain(b"x"));
        let disabled = build(std::iter::once(b"x".to_vec()), 0);
        assert_eq!(&disabled[..], [0]);
        assert!(Filter::decode(&disabled).unwrap().may_contain(b"y"));
    }

    #[test]
    fn decode_refuses_impossible_filters() {
        let decode = |b: &'static [u8]| Filter::decode(&Bytes::from_static(b));
        assert!(decode(&[]).is_err());
        assert!(decode(&[0xff, 0]).is_err(), "bits without probes");
        assert!(decode(&[7]).is_err(), "probes without bits");
        assert!(decode(&[0, 31]).is_err(), "too many probes");
    }
}
