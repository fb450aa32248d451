//! The 64-bit hash behind the bloom filter: XXH64 (seed 0), written out here.
//!
//! XXH64 is specified publicly (Yann Collet's xxHash, `doc/xxhash_spec.md`
//! in its repository), deterministic on every platform (it reads input as
//! little-endian words and uses only wrapping 64-bit arithmetic), and has
//! implementations in every language, so a tool in another language can
//! check a holdfast filter. The test vectors below were produced with an
//! independent implementation (the Python `xxhash` package).
//!
//! The filter's bits are on disk, so this function is part of the table
//! format: changing it requires a new format version.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

/// XXH64 of `input` with seed 0.
pub(crate) fn xxh64(input: &[u8]) -> u64 {
    let seed = 0u64;
    let len = input.len() as u64;
    let mut rest = input;
    let mut h = if rest.len() >= 32 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while let Some((stripe, tail)) = rest.split_first_chunk::<32>() {
            for (lane, acc) in v.iter_mut().enumerate() {
                *acc = round(*acc, word64(&stripe[lane * 8..lane * 8 + 8]));
            }
            rest = tail;
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for acc in v {
            h = (h ^ round(0, acc)).wrapping_mul(P1).wrapping_add(P4);
        }
        h
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(len);
    while let Some((word, tail)) = rest.split_first_chunk::<8>() {
        h ^= round(0, u64::from_le_bytes(*word));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = tail;
    }
    if let Some((word, tail)) = rest.split_first_chunk::<4>() {
        h ^= u64::from(u32::from_le_bytes(*word)).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = tail;
    }
    for &byte in rest {
        h ^= u64::from(byte).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

fn round(acc: u64, input: u64) -> u64 {
    acc.wrapping_add(input.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

/// Reads 8 bytes as a little-endian word; `bytes` is always 8 long here.
fn word64(bytes: &[u8]) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(bytes);
    u64::from_le_bytes(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_vectors() {
        let ramp40: Vec<u8> = (0..40).collect();
        let ramp100: Vec<u8> = (0..100).collect();
        let cases: [(&[u8], u64); 6] = [
            (b"", 0xef46_db37_51d8_e999),
            (b"a", 0xd24e_c4f1_a98c_6e5b),
            (b"abc", 0x44bc_2cf5_ad77_0999),
            (b"holdfast", 0xda38_8dac_7657_6ebd),
            (&ramp40, 0xf5da_40f1_b117_41e9),
            (&ramp100, 0x6ac1_e580_3216_6597),
        ];
        for (input, expected) in cases {
            assert_eq!(xxh64(input), expected, "input of {} bytes", input.len());
        }
    }
}
