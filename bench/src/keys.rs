//! The data every engine is given: 16-byte keys, 100-byte incompressible
//! values, and a small deterministic random number generator.
//!
//! Record `i` (0-based) has the key `scramble(i) ‖ i` (both big-endian
//! `u64`s), so inserting `0, 1, 2, …` writes keys in random order, every key
//! is distinct, and any key can be recomputed from its index. Absent keys
//! use indexes no workload ever inserts. Sequential fills use `i ‖ 0`.

/// Length of every key, in bytes.
pub const KEY_LEN: usize = 16;
/// Length of every value, in bytes.
pub const VALUE_LEN: usize = 100;

/// Indexes from here on are never inserted: reads of them miss.
const ABSENT_BASE: u64 = 1 << 62;

/// A 64-bit mixing function (the finaliser of SplitMix64): a bijection, so
/// distinct indexes get distinct prefixes.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of record `i`: randomly placed in key order.
pub fn key(i: u64) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    k[..8].copy_from_slice(&mix64(i).to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

/// A key that no workload inserts (the `i`-th of them).
pub fn absent_key(i: u64) -> [u8; KEY_LEN] {
    key(ABSENT_BASE + i)
}

/// The key of record `i` of a sequential fill: ascending with `i`.
pub fn seq_key(i: u64) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    k[..8].copy_from_slice(&i.to_be_bytes());
    k
}

/// A value that does not compress: xorshift output seeded by `seed`.
pub fn value(seed: u64) -> [u8; VALUE_LEN] {
    let mut out = [0u8; VALUE_LEN];
    let mut x = mix64(seed) | 1;
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    out
}

/// SplitMix64: fast, good enough for choosing keys, and reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_spread() {
        let mut keys: Vec<_> = (0..10_000).map(key).collect();
        assert!(keys.windows(2).any(|w| w[0] > w[1]), "random order");
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 10_000);
        assert!(seq_key(1) < seq_key(2) && seq_key(255) < seq_key(256));
        assert!(!keys.contains(&absent_key(3)));
    }

    #[test]
    fn values_are_incompressible_looking() {
        let v = value(7);
        let mut seen = [false; 256];
        v.iter().for_each(|&b| seen[b as usize] = true);
        assert!(seen.iter().filter(|&&s| s).count() > 60);
        assert_ne!(value(7), value(8));
    }

    #[test]
    fn rng_ranges() {
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
