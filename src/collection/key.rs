//! The order-preserving key encoding of typed collections: the traits
//! [`EncodeKey`], [`OrderedKey`] and [`KeyPrefix`] and their impls for
//! integers, `bool`, strings, byte strings, byte arrays and tuples.
//! The byte layout is specified in `docs/FORMAT.md` ("Typed collection
//! keys"); the worked example there is asserted by a test below.
//!
//! # Invariants
//! 1. Order: for two keys `a` and `b` of one type, `a.cmp(&b)` equals the
//!    byte-wise comparison of their encodings. Range scans over the raw
//!    keys therefore come out in the keys' natural order.
//! 2. Self-delimiting and prefix-free: a decoder reads exactly the bytes
//!    its encoder wrote, whatever follows, and no key's encoding is a
//!    proper prefix of another's of the same type. This is what makes the
//!    concatenation of components (a tuple) order-preserving too.
//! 3. Round trip: `decode(encode(k)) == k`; any other input is an `Err`,
//!    never a panic (the bytes come from disk).
//!
//! Integers are big-endian, signed ones with the sign bit flipped; strings
//! and byte strings escape `0x00` as `00 FF` and end with `00 01`; byte
//! arrays are their `N` bytes as they are.

/// A value that can be written as (part of) a collection key.
///
/// Implemented for the owned key types of [`OrderedKey`] and for `str` and
/// `[u8]`, which encode like `String` and `Vec<u8>` so that a
/// `Collection<String, _>` can be read with a `&str`. An implementation for
/// a borrowed form must encode exactly like the owned type it borrows from.
pub trait EncodeKey {
    /// Appends the encoding of `self` to `out` (see `docs/FORMAT.md`).
    fn encode_key(&self, out: &mut Vec<u8>);
}

/// A key type of a typed collection: its encoding keeps its order.
///
/// Implement it for your own key types only with the three properties of
/// the module's invariants: encodings compare like the values
/// (`Ord`), each encoding is self-delimiting and prefix-free, and decoding
/// gives back the value. Wrapping a provided type (a newtype around
/// `[u8; 16]` for a UUID, say) keeps them for free.
///
/// ```
/// use holdfast::collection::{EncodeKey, OrderedKey};
/// let mut bytes = Vec::new();
/// (7u32, "ab").encode_key(&mut bytes);
/// assert_eq!(bytes, [0, 0, 0, 7, b'a', b'b', 0x00, 0x01]);
/// let key = <(u32, String)>::decode_key(&mut &bytes[..]).unwrap();
/// assert_eq!(key, (7, "ab".to_string()));
/// ```
pub trait OrderedKey: EncodeKey + Sized {
    /// Reads one key from the front of `input` and advances `input` past
    /// it. Bytes that no encoder writes are an `Err` describing them.
    fn decode_key(input: &mut &[u8]) -> Result<Self, String>;
}

/// `Self` is the leading components of key type `K`: its encoding is a
/// byte prefix of the encoding of every key of `K` that starts with it.
/// [`Collection::prefix`](super::Collection::prefix) takes one.
///
/// For a key `(A, B)` the prefixes are `A` (and `str` / `[u8]` where `A` is
/// `String` / `Vec<u8>`); for `(A, B, C)` also `(A, B)`; for
/// `(A, B, C, D)` also `(A, B, C)`. A string component in a prefix is
/// matched whole: the prefix `"acme"` finds `("acme", _)`, not
/// `("acme-corp", _)`.
pub trait KeyPrefix<K: OrderedKey>: EncodeKey {}

/// Takes `n` bytes from the front of `input`, or says what is missing.
fn take<'a>(input: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], String> {
    if input.len() < n {
        return Err(format!(
            "key ends inside a {what} ({} of {n} bytes)",
            input.len()
        ));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

macro_rules! unsigned_key {
    ($($t:ty),*) => {$(
        impl EncodeKey for $t {
            fn encode_key(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
        impl OrderedKey for $t {
            fn decode_key(input: &mut &[u8]) -> Result<Self, String> {
                let bytes = take(input, size_of::<$t>(), stringify!($t))?;
                let mut array = [0u8; size_of::<$t>()];
                array.copy_from_slice(bytes);
                Ok(<$t>::from_be_bytes(array))
            }
        }
    )*};
}
unsigned_key!(u8, u16, u32, u64, u128);

macro_rules! signed_key {
    ($($t:ty => $u:ty),*) => {$(
        // Flipping the sign bit maps MIN..=MAX onto 0..=unsigned MAX in order.
        impl EncodeKey for $t {
            fn encode_key(&self, out: &mut Vec<u8>) {
                let flipped = (*self as $u) ^ (1 << (<$u>::BITS - 1));
                flipped.encode_key(out);
            }
        }
        impl OrderedKey for $t {
            fn decode_key(input: &mut &[u8]) -> Result<Self, String> {
                let flipped = <$u>::decode_key(input)?;
                Ok((flipped ^ (1 << (<$u>::BITS - 1))) as $t)
            }
        }
    )*};
}
signed_key!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);

impl EncodeKey for bool {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl OrderedKey for bool {
    fn decode_key(input: &mut &[u8]) -> Result<Self, String> {
        match take(input, 1, "bool")?[0] {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("bool byte is {other:#04x}, not 0 or 1")),
        }
    }
}

/// Escape byte: `00` in the data is written `00 ESCAPED_ZERO`.
const ESCAPED_ZERO: u8 = 0xff;
/// `00 TERMINATOR` ends a string or byte string. It sorts below every
/// other continuation (a data byte `01..=FF` or an escaped zero `00 FF`),
/// so a string sorts before every longer string it is a prefix of.
const TERMINATOR: u8 = 0x01;

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(ESCAPED_ZERO);
        }
    }
    out.extend_from_slice(&[0, TERMINATOR]);
}

fn decode_bytes(input: &mut &[u8], what: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut rest = *input;
    loop {
        let Some(zero) = rest.iter().position(|&b| b == 0) else {
            return Err(format!("{what} has no terminator (00 01)"));
        };
        bytes.extend_from_slice(&rest[..zero]);
        match rest.get(zero + 1) {
            Some(&TERMINATOR) => {
                *input = &rest[zero + 2..];
                return Ok(bytes);
            }
            Some(&ESCAPED_ZERO) => bytes.push(0),
            Some(other) => return Err(format!("{what} escape 00 is followed by {other:#04x}")),
            None => return Err(format!("{what} ends inside an escape")),
        }
        rest = &rest[zero + 2..];
    }
}

impl EncodeKey for [u8] {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self, out);
    }
}

impl EncodeKey for Vec<u8> {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self, out);
    }
}

impl OrderedKey for Vec<u8> {
    fn decode_key(input: &mut &[u8]) -> Result<Self, String> {
        decode_bytes(input, "byte string")
    }
}

impl EncodeKey for str {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self.as_bytes(), out);
    }
}

impl EncodeKey for String {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self.as_bytes(), out);
    }
}

impl OrderedKey for String {
    fn decode_key(input: &mut &[u8]) -> Result<Self, String> {
        let bytes = decode_bytes(input, "string")?;
        String::from_utf8(bytes).map_err(|e| format!("string is not UTF-8: {e}"))
    }
}

impl<T: EncodeKey + ?Sized> EncodeKey for &T {
    fn encode_key(&self, out: &mut Vec<u8>) {
        (**self).encode_key(out);
    }
}

impl<const N: usize> EncodeKey for [u8; N] {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> OrderedKey for [u8; N] {
    fn decode_key(input: &mut &[u8]) -> Result<Self, String> {
        let mut array = [0u8; N];
        array.copy_from_slice(take(input, N, "byte array")?);
        Ok(array)
    }
}

macro_rules! tuple_key {
    ($($name:ident . $i:tt),+) => {
        impl<$($name: EncodeKey),+> EncodeKey for ($($name,)+) {
            fn encode_key(&self, out: &mut Vec<u8>) {
                $(self.$i.encode_key(out);)+
            }
        }
        impl<$($name: OrderedKey),+> OrderedKey for ($($name,)+) {
            fn decode_key(input: &mut &[u8]) -> Result<Self, String> {
                Ok(($(
                    $name::decode_key(input)
                        .map_err(|why| format!("component {}: {why}", $i))?,
                )+))
            }
        }
    };
}
tuple_key!(A.0, B.1);
tuple_key!(A.0, B.1, C.2);
tuple_key!(A.0, B.1, C.2, D.3);

macro_rules! key_prefix {
    ($prefix:ty => ($($p:ident),+ ; $($rest:ident),+)) => {
        impl<$($p: OrderedKey,)+ $($rest: OrderedKey),+> KeyPrefix<($($p,)+ $($rest,)+)> for $prefix {}
    };
    (borrowed $prefix:ty, $owned:ty => ($($rest:ident),+)) => {
        impl<$($rest: OrderedKey),+> KeyPrefix<($owned, $($rest,)+)> for $prefix {}
    };
}
key_prefix!(A => (A; B));
key_prefix!(A => (A; B, C));
key_prefix!((A, B) => (A, B; C));
key_prefix!(A => (A; B, C, D));
key_prefix!((A, B) => (A, B; C, D));
key_prefix!((A, B, C) => (A, B, C; D));
key_prefix!(borrowed str, String => (B));
key_prefix!(borrowed str, String => (B, C));
key_prefix!(borrowed str, String => (B, C, D));
key_prefix!(borrowed [u8], Vec<u8> => (B));
key_prefix!(borrowed [u8], Vec<u8> => (B, C));
key_prefix!(borrowed [u8], Vec<u8> => (B, C, D));

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<K: EncodeKey + ?Sized>(key: &K) -> Vec<u8> {
        let mut out = Vec::new();
        key.encode_key(&mut out);
        out
    }

    #[test]
    fn worked_example_of_format_md() {
        // docs/FORMAT.md, "Typed collection keys", worked example.
        let prefix = super::super::codec::prefix_of("inv").unwrap();
        let raw = super::super::codec::raw_key(&prefix, &(7u32, -2i16, "a\0b"));
        #[rustfmt::skip]
        let expected = [
            0x69, 0x6e, 0x76, 0x00,
            0x00, 0x00, 0x00, 0x07,
            0x7f, 0xfe,
            0x61, 0x00, 0xff, 0x62, 0x00, 0x01,
        ];
        assert_eq!(raw, expected);
        let decoded = <(u32, i16, String)>::decode_key(&mut &raw[4..]).unwrap();
        assert_eq!(decoded, (7, -2, "a\0b".to_string()));
        let value = postcard::to_allocvec(&(1200u64, true, "ACME")).unwrap();
        assert_eq!(value, [0xb0, 0x09, 0x01, 0x04, b'A', b'C', b'M', b'E']);
    }

    #[test]
    fn signed_integers_flip_the_sign_bit() {
        assert_eq!(encode(&i8::MIN), [0x00]);
        assert_eq!(encode(&-1i8), [0x7f]);
        assert_eq!(encode(&0i8), [0x80]);
        assert_eq!(encode(&i64::MAX), [0xff; 8]);
        assert_eq!(i32::decode_key(&mut &encode(&-5i32)[..]), Ok(-5));
    }

    #[test]
    fn bad_bytes_are_errors() {
        let cases: [(&[u8], &str); 5] = [
            (&[0, 0, 7], "ends inside a u32"),
            (b"ab", "no terminator"),
            (&[b'a', 0], "ends inside an escape"),
            (&[b'a', 0, 5], "followed by 0x05"),
            (&[0xc3, 0, 1], "not UTF-8"),
        ];
        for (bytes, expected) in cases {
            let err = match expected {
                "ends inside a u32" => u32::decode_key(&mut &bytes[..]).map(|_| ()),
                _ => String::decode_key(&mut &bytes[..]).map(|_| ()),
            }
            .unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
        let err = bool::decode_key(&mut &[2u8][..]).unwrap_err();
        assert!(err.contains("not 0 or 1"), "{err}");
        let err = <(u8, String)>::decode_key(&mut &[1u8, b'x'][..]).unwrap_err();
        assert!(err.starts_with("component 1: "), "{err}");
    }

    #[test]
    fn decoding_stops_at_the_end_of_its_component() {
        let mut bytes = encode(&(b"\0\xff".to_vec(), [9u8, 8]));
        bytes.push(0xaa);
        let mut input = &bytes[..];
        let key = <(Vec<u8>, [u8; 2])>::decode_key(&mut input).unwrap();
        assert_eq!(key, (vec![0, 0xff], [9, 8]));
        assert_eq!(input, [0xaa]);
    }

    #[test]
    fn borrowed_forms_encode_like_owned_ones() {
        assert_eq!(encode("x\0"), encode(&"x\0".to_string()));
        assert_eq!(encode(&b"x\0"[..]), encode(&b"x\0".to_vec()));
        assert_eq!(encode(&(1u8, "s")), encode(&(1u8, "s".to_string())));
    }
}
