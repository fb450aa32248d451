//! YCSB's request-key generators, ported from YCSB's
//! `ZipfianGenerator`, `ScrambledZipfianGenerator` and
//! `SkewedLatestGenerator` (after Gray et al., "Quickly Generating
//! Billion-Record Synthetic Databases", SIGMOD 1994), with YCSB's zipfian
//! constant 0.99.

use crate::keys::Rng;

/// YCSB's `ZIPFIAN_CONSTANT`.
pub const ZIPFIAN_CONSTANT: f64 = 0.99;

/// `ScrambledZipfianGenerator.ITEM_COUNT`: the scrambled generator draws
/// from a zipfian over ten billion items and hashes the result into range.
const SCRAMBLED_ITEM_COUNT: u64 = 10_000_000_000;
/// `ScrambledZipfianGenerator.ZETAN`: zeta(10^10, 0.99), precomputed.
const SCRAMBLED_ZETAN: f64 = 26.469_028_201_783_02;

/// `sum_{i=start}^{n-1} 1/(i+1)^theta`, added to `initial`.
fn zeta(start: u64, n: u64, theta: f64, initial: f64) -> f64 {
    (start..n).fold(initial, |sum, i| sum + 1.0 / ((i + 1) as f64).powf(theta))
}

/// YCSB's 64-bit FNV-1 hash of the eight bytes of `val` (as `Utils.fnvhash64`,
/// including its final `Math.abs`).
pub fn fnv_hash64(mut val: u64) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for _ in 0..8 {
        let octet = val & 0xff;
        val >>= 8;
        hash ^= octet;
        hash = hash.wrapping_mul(1_099_511_628_211);
    }
    (hash as i64).unsigned_abs()
}

/// Zipfian over `base..base + items`: item `base` is the most popular.
#[derive(Clone, Debug)]
pub struct Zipfian {
    items: u64,
    base: u64,
    theta: f64,
    zeta2theta: f64,
    alpha: f64,
    zetan: f64,
    eta: f64,
    count_for_zeta: u64,
}

impl Zipfian {
    /// Over `min..=max`, computing zeta(n) (linear in the item count).
    pub fn new(min: u64, max: u64, theta: f64) -> Self {
        let items = max - min + 1;
        Self::with_zetan(min, max, theta, zeta(0, items, theta, 0.0))
    }

    /// Over `min..=max` with a precomputed zeta(n).
    pub fn with_zetan(min: u64, max: u64, theta: f64, zetan: f64) -> Self {
        let items = max - min + 1;
        let zeta2theta = zeta(0, 2, theta, 0.0);
        Zipfian {
            items,
            base: min,
            theta,
            zeta2theta,
            alpha: 1.0 / (1.0 - theta),
            zetan,
            eta: (1.0 - (2.0 / items as f64).powf(1.0 - theta)) / (1.0 - zeta2theta / zetan),
            count_for_zeta: items,
        }
    }

    /// The next value for a population of `item_count` items (YCSB's
    /// `nextLong(itemcount)`). A grown population extends zeta
    /// incrementally, as YCSB does (YCSB keeps `eta` based on the initial
    /// item count; so do we).
    pub fn next_for(&mut self, rng: &mut Rng, item_count: u64) -> u64 {
        if item_count > self.count_for_zeta {
            self.zetan = zeta(self.count_for_zeta, item_count, self.theta, self.zetan);
            self.eta = (1.0 - (2.0 / self.items as f64).powf(1.0 - self.theta))
                / (1.0 - self.zeta2theta / self.zetan);
            self.count_for_zeta = item_count;
        }
        let u = rng.unit();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return self.base;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return self.base + 1;
        }
        self.base + (item_count as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64
    }

    /// The next value over the whole range.
    pub fn next(&mut self, rng: &mut Rng) -> u64 {
        self.next_for(rng, self.items)
    }
}

/// Zipfian popularity with the popular items scattered over `min..=max`
/// (YCSB's default request distribution).
#[derive(Clone, Debug)]
pub struct ScrambledZipfian {
    min: u64,
    item_count: u64,
    inner: Zipfian,
}

impl ScrambledZipfian {
    /// Over `min..=max` with the zipfian constant 0.99.
    pub fn new(min: u64, max: u64) -> Self {
        ScrambledZipfian {
            min,
            item_count: max - min + 1,
            inner: Zipfian::with_zetan(0, SCRAMBLED_ITEM_COUNT, ZIPFIAN_CONSTANT, SCRAMBLED_ZETAN),
        }
    }

    /// The next value.
    pub fn next(&mut self, rng: &mut Rng) -> u64 {
        self.min + fnv_hash64(self.inner.next(rng)) % self.item_count
    }
}

/// The most recently inserted items are the most popular (YCSB's
/// `latest` distribution, workload D).
#[derive(Clone, Debug)]
pub struct SkewedLatest {
    inner: Zipfian,
}

impl SkewedLatest {
    /// For a population whose newest item is `last` (> 0).
    pub fn new(last: u64) -> Self {
        SkewedLatest {
            inner: Zipfian::new(0, last.max(1) - 1, ZIPFIAN_CONSTANT),
        }
    }

    /// The next value, given the newest item now.
    pub fn next(&mut self, rng: &mut Rng, last: u64) -> u64 {
        last - self.inner.next_for(rng, last).min(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_ycsb() {
        // Values of YCSB's Utils.fnvhash64 (signed arithmetic, then abs).
        assert_eq!(fnv_hash64(0), 6_284_781_860_667_377_211);
        assert_eq!(fnv_hash64(1), 8_517_097_267_634_966_620);
        assert_eq!(fnv_hash64(12345), 1_792_800_413_050_876_852);
    }

    #[test]
    fn zipfian_is_skewed_toward_base() {
        let mut rng = Rng::new(3);
        let mut z = Zipfian::new(0, 999, ZIPFIAN_CONSTANT);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            let v = z.next(&mut rng);
            assert!(v < 1000);
            counts[v as usize] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[500]);
        // Item 0 gets 1/zeta(1000) ≈ 13% of draws with theta 0.99.
        assert!((11_000..15_000).contains(&counts[0]), "{}", counts[0]);
    }

    #[test]
    fn scrambled_spreads_popular_items() {
        let mut rng = Rng::new(4);
        let mut z = ScrambledZipfian::new(100, 1099);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            let v = z.next(&mut rng);
            assert!((100..1100).contains(&v));
            counts[(v - 100) as usize] += 1;
        }
        let hottest = counts
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| **c)
            .map(|(i, _)| i);
        assert_ne!(hottest, Some(0), "hot item is scattered");
        let mut sorted = counts.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert!(sorted[0] > 20 * sorted[500].max(1), "still skewed");
    }

    #[test]
    fn latest_prefers_newest() {
        let mut rng = Rng::new(5);
        let mut z = SkewedLatest::new(10_000);
        let mut newest = 0;
        for last in 10_000..20_000 {
            let v = z.next(&mut rng, last);
            assert!(v <= last);
            if last - v < 10 {
                newest += 1;
            }
        }
        // P(rank < 10) = zeta(10) / zeta(n) ≈ 2.9 / 10.5 for n ≈ 10k..20k.
        assert!((2_000..3_500).contains(&newest), "{newest}");
    }
}
