//! The key encoding of typed collections keeps order and round-trips
//! (`src/collection/key.rs`, invariants 1–3), property-tested for every
//! provided key type and for tuples of them. Strings and byte strings are
//! drawn from a tiny alphabet around `0x00`, `0x01` and `0xFF` with short
//! lengths, so that equal strings, prefixes of each other and escapes are
//! common; integers include their extremes.

use holdfast::{EncodeKey, KeyPrefix, OrderedKey};
use proptest::prelude::*;
use std::fmt::Debug;

fn encode<K: EncodeKey + ?Sized>(key: &K) -> Vec<u8> {
    let mut out = Vec::new();
    key.encode_key(&mut out);
    out
}

/// Order kept, round trip exact, and decoding reads exactly the key.
fn check_pair<K: OrderedKey + Ord + Debug>(a: &K, b: &K) -> Result<(), TestCaseError> {
    let (ea, eb) = (encode(a), encode(b));
    prop_assert_eq!(
        a.cmp(b),
        ea.cmp(&eb),
        "{:?} vs {:?}: {:02x?} vs {:02x?}",
        a,
        b,
        ea,
        eb
    );
    for (key, bytes) in [(a, &ea), (b, &eb)] {
        let mut input = &bytes[..];
        prop_assert_eq!(
            &K::decode_key(&mut input).map_err(TestCaseError::fail)?,
            key
        );
        prop_assert!(input.is_empty());
        // Self-delimiting: trailing bytes are left for the next component.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0x00, 0xff]);
        let mut input = &longer[..];
        prop_assert_eq!(
            &K::decode_key(&mut input).map_err(TestCaseError::fail)?,
            key
        );
        prop_assert_eq!(input, &[0x00, 0xff][..]);
    }
    Ok(())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![0x00u8, 0x01, 0x02, b'a', 0xfe, 0xff]),
        0..5,
    )
}

fn text() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec!['\0', '\u{1}', 'a', 'b', '\u{ff}', '\u{10ffff}']);
    prop::collection::vec(chars, 0..5).prop_map(|c| c.into_iter().collect())
}

/// Integers with their extremes and neighbours of zero drawn often.
macro_rules! int {
    ($t:ty) => {
        prop_oneof![
            prop::sample::select(vec![
                <$t>::MIN,
                <$t>::MIN + 1,
                0 as $t,
                1 as $t,
                <$t>::MAX - 1,
                <$t>::MAX
            ]),
            any::<$t>(),
        ]
    };
}

/// Two independent draws of one strategy.
macro_rules! pair {
    ($strategy:expr) => {
        ($strategy, $strategy)
    };
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn integers(
        a in pair!(int!(u8)), b in pair!(int!(u16)), c in pair!(int!(u32)),
        d in pair!(int!(u64)), e in pair!(int!(u128)),
        f in pair!(int!(i8)), g in pair!(int!(i16)), h in pair!(int!(i32)),
        i in pair!(int!(i64)), j in pair!(int!(i128)),
    ) {
        check_pair(&a.0, &a.1)?;
        check_pair(&b.0, &b.1)?;
        check_pair(&c.0, &c.1)?;
        check_pair(&d.0, &d.1)?;
        check_pair(&e.0, &e.1)?;
        check_pair(&f.0, &f.1)?;
        check_pair(&g.0, &g.1)?;
        check_pair(&h.0, &h.1)?;
        check_pair(&i.0, &i.1)?;
        check_pair(&j.0, &j.1)?;
    }

    #[test]
    fn strings_byte_strings_arrays_and_bools(a in text(), b in text(), c in bytes(), d in bytes(),
                                             e in any::<[u8; 16]>(), f in any::<[u8; 16]>(),
                                             g in any::<[u8; 3]>(), h in any::<[u8; 3]>(),
                                             i in any::<bool>(), j in any::<bool>()) {
        check_pair(&a, &b)?;
        check_pair(&c, &d)?;
        check_pair(&e, &f)?;
        check_pair(&g, &h)?;
        check_pair(&i, &j)?;
        // The same value twice (prefix-of cases are equal-and-longer here).
        check_pair(&a, &a)?;
        let mut longer = c.clone();
        longer.push(0);
        check_pair(&c, &longer)?;
    }

    #[test]
    fn tuples_compare_component_by_component(
        a in (text(), int!(i32)), b in (text(), int!(i32)),
        c in (bytes(), text(), int!(u8)), d in (bytes(), text(), int!(u8)),
        e in (int!(u64), bytes(), any::<[u8; 2]>(), text()),
        f in (int!(u64), bytes(), any::<[u8; 2]>(), text()),
    ) {
        check_pair(&a, &b)?;
        check_pair(&c, &d)?;
        check_pair(&e, &f)?;
        // Tuples sharing a first component, to reach the later ones.
        let same_first = (a.0.clone(), b.1);
        check_pair(&a, &same_first)?;
        let same_two = (c.0.clone(), c.1.clone(), d.2);
        check_pair(&c, &same_two)?;
    }

    #[test]
    fn prefixes_encode_as_byte_prefixes_of_their_keys(
        key in (int!(u32), text(), bytes(), int!(i16))
    ) {
        fn is_prefix<P: KeyPrefix<K> + ?Sized, K: OrderedKey>(p: &P, k: &K) -> bool {
            encode(k).starts_with(&encode(p))
        }
        prop_assert!(is_prefix(&key.0, &key));
        prop_assert!(is_prefix(&(key.0, key.1.clone()), &key));
        prop_assert!(is_prefix(&(key.0, key.1.clone(), key.2.clone()), &key));
        let tail = (key.1.clone(), key.2.clone(), key.3);
        prop_assert!(is_prefix(key.1.as_str(), &tail));
        prop_assert!(is_prefix(&key.1, &tail));
        let bytes_first = (key.2.clone(), key.0);
        prop_assert!(is_prefix(&key.2[..], &bytes_first));
    }

    #[test]
    fn garbage_never_panics(raw in prop::collection::vec(any::<u8>(), 0..24)) {
        let _ = <(u32, String, Vec<u8>, i64)>::decode_key(&mut &raw[..]);
        let _ = <(String, [u8; 16])>::decode_key(&mut &raw[..]);
        let _ = <(bool, u128)>::decode_key(&mut &raw[..]);
        let decoded = <(Vec<u8>, String)>::decode_key(&mut &raw[..]);
        if let Ok(key) = decoded {
            // Whatever decodes re-encodes to the bytes it was read from.
            prop_assert!(raw.starts_with(&encode(&key)));
        }
    }
}
