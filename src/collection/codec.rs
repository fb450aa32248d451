//! The bytes of a collection's pairs: the prefix made from the name, raw
//! keys (prefix, then the key's encoding from `key.rs`) and values
//! (postcard). Every decode failure becomes an [`Error::Decode`] naming
//! the collection and the raw key; every encode failure an
//! [`Error::InvalidArgument`]. Nothing here panics on bad bytes.

use super::key::{EncodeKey, OrderedKey};
use crate::records::display_key;
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The longest collection name, in bytes.
pub const COLLECTION_NAME_LEN_MAX: usize = 255;

/// Ends the name in the prefix. Names hold no `0x00`, so of two distinct
/// names' prefixes neither is a prefix of the other ("a" → `61 00`,
/// "ab" → `61 62 00`): two collections never share a key.
const NAME_TERMINATOR: u8 = 0x00;

/// The key prefix of collection `name`, or why the name is refused.
pub(super) fn prefix_of(name: &str) -> Result<Vec<u8>> {
    if name.is_empty() || name.len() > COLLECTION_NAME_LEN_MAX {
        return Err(Error::InvalidArgument(format!(
            "collection names are 1 to {COLLECTION_NAME_LEN_MAX} bytes, not {}",
            name.len()
        )));
    }
    if name.as_bytes().contains(&NAME_TERMINATOR) {
        return Err(Error::InvalidArgument(format!(
            "collection name {name:?} contains a 0x00 byte"
        )));
    }
    let mut prefix = Vec::with_capacity(name.len() + 1);
    prefix.extend_from_slice(name.as_bytes());
    prefix.push(NAME_TERMINATOR);
    debug_assert_eq!(prefix.iter().filter(|&&b| b == 0).count(), 1);
    Ok(prefix)
}

/// `prefix`, then the encoding of `key`.
pub(super) fn raw_key<Q: EncodeKey + ?Sized>(prefix: &[u8], key: &Q) -> Vec<u8> {
    let mut raw = Vec::with_capacity(prefix.len() + 16);
    raw.extend_from_slice(prefix);
    key.encode_key(&mut raw);
    raw
}

/// The typed key of raw key `raw`, whose first `prefix_len` bytes are the
/// collection's prefix. Every byte after the prefix must be the key's.
pub(super) fn decode_key<K: OrderedKey>(
    collection: &str,
    raw: &[u8],
    prefix_len: usize,
) -> Result<K> {
    debug_assert!(raw.len() >= prefix_len, "scans stay inside the prefix");
    let mut input = raw.get(prefix_len..).unwrap_or_default();
    let key = K::decode_key(&mut input).map_err(|why| decode_error(collection, raw, "key", why))?;
    if !input.is_empty() {
        let why = format!("{} bytes after the key", input.len());
        return Err(decode_error(collection, raw, "key", why));
    }
    Ok(key)
}

/// The postcard bytes of `value`, to be stored under `raw`.
pub(super) fn encode_value<V: Serialize>(
    collection: &str,
    raw: &[u8],
    value: &V,
) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| {
        Error::InvalidArgument(format!(
            "collection {collection:?}: the value for key {} cannot be encoded: {e}",
            display_key(raw)
        ))
    })
}

/// The value stored under `raw`: postcard of `V`, with nothing after it.
pub(super) fn decode_value<V: DeserializeOwned>(
    collection: &str,
    raw: &[u8],
    bytes: &[u8],
) -> Result<V> {
    match postcard::take_from_bytes::<V>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => {
            let why = format!("{} bytes after the value", rest.len());
            Err(decode_error(collection, raw, "value", why))
        }
        Err(e) => Err(decode_error(
            collection,
            raw,
            "value",
            format!("postcard: {e}"),
        )),
    }
}

fn decode_error(collection: &str, raw: &[u8], what: &str, why: String) -> Error {
    Error::Decode {
        collection: collection.to_string(),
        key: raw.to_vec(),
        detail: format!("{what}: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(prefix_of("a").unwrap(), b"a\0");
        assert_eq!(prefix_of("ab").unwrap(), b"ab\0");
        for bad in [String::new(), "a\0b".into(), "x".repeat(256)] {
            let err = prefix_of(&bad).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        }
        assert!(prefix_of(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn trailing_bytes_are_decode_errors() {
        let raw = raw_key(b"c\0", &5u8);
        assert_eq!(decode_key::<u8>("c", &raw, 2).unwrap(), 5);
        let mut longer = raw.clone();
        longer.push(9);
        let err = decode_key::<u8>("c", &longer, 2).unwrap_err().to_string();
        assert!(err.contains("1 bytes after the key"), "{err}");
        let err = decode_value::<u8>("c", &raw, &[1, 2])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("after the value") && err.contains("\"c\""),
            "{err}"
        );
        let err = decode_value::<String>("c", &raw, &[5, b'a']).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err}");
    }
}
