//! [`CollectionIter`]: a database [`Iter`] over a collection's raw pairs,
//! decoding each into `(K, V)`. It adds no state of its own to the scan:
//! order, snapshot and double-ended behaviour are the raw iterator's.

use super::codec;
use super::key::OrderedKey;
use crate::{Iter, Result};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;

/// The pairs of a typed collection in key order, as `Result<(K, V)>`; made
/// by [`Collection::iter`](super::Collection::iter),
/// [`range`](super::Collection::range) and
/// [`prefix`](super::Collection::prefix). Double-ended: `.rev()` gives
/// descending order.
///
/// Like [`Iter`], it reads the database as of its creation. A pair that
/// does not decode is yielded as an [`Error::Decode`](crate::Error::Decode)
/// naming the collection and the key, and the iteration may go on past it;
/// an error of the database itself (a corrupt table) ends it.
pub struct CollectionIter<K, V> {
    inner: Iter,
    name: Arc<str>,
    prefix_len: usize,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> std::fmt::Debug for CollectionIter<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectionIter")
            .field("collection", &self.name)
            .field("inner", &self.inner)
            .finish()
    }
}

impl<K: OrderedKey, V: DeserializeOwned> CollectionIter<K, V> {
    pub(super) fn new(inner: Iter, name: Arc<str>, prefix_len: usize) -> Self {
        CollectionIter {
            inner,
            name,
            prefix_len,
            _types: PhantomData,
        }
    }

    fn decode(&self, raw: Result<(Bytes, Bytes)>) -> Result<(K, V)> {
        let (key, value) = raw?;
        let typed_key = codec::decode_key(&self.name, &key, self.prefix_len)?;
        let typed_value = codec::decode_value(&self.name, &key, &value)?;
        Ok((typed_key, typed_value))
    }
}

impl<K: OrderedKey, V: DeserializeOwned> Iterator for CollectionIter<K, V> {
    type Item = Result<(K, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.inner.next()?;
        Some(self.decode(raw))
    }
}

impl<K: OrderedKey, V: DeserializeOwned> DoubleEndedIterator for CollectionIter<K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let raw = self.inner.next_back()?;
        Some(self.decode(raw))
    }
}

impl<K: OrderedKey, V: DeserializeOwned> std::iter::FusedIterator for CollectionIter<K, V> {}
