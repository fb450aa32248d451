//! Typed collections: serde values under order-preserving typed keys, as
//! key prefixes of one database ([`Db::collection`]).
//!
//! | file       | owns                                                          |
//! |------------|---------------------------------------------------------------|
//! | `mod.rs`   | [`Collection`]: the typed calls, each one raw call of [`Db`] |
//! | `key.rs`   | the key encoding: [`EncodeKey`], [`OrderedKey`], [`KeyPrefix`] |
//! | `codec.rs` | the collection prefix, raw keys, postcard values, decode errors |
//! | `iter.rs`  | [`CollectionIter`]: the typed, double-ended iterator          |
//!
//! A collection is no stored object: it is a name, and the pairs whose raw
//! key starts with its prefix. Nothing is written when one is created.
//!
//! # Invariants
//! 1. The prefix of collection `name` is `name | 0x00`; names are 1 to
//!    [`COLLECTION_NAME_LEN_MAX`] bytes without `0x00`, so no collection's
//!    prefix is a prefix of another's and two collections never see each
//!    other's pairs.
//! 2. A pair's raw key is `prefix | encode(key)` and its raw value the
//!    postcard encoding of the value, with nothing after either. Key order
//!    is raw key order (`key.rs`, invariant 1).
//! 3. Bytes under the prefix that break 2 (raw writes by the application,
//!    a changed value type) are reported as [`Error::Decode`](crate::Error::Decode) naming the
//!    collection and the key — never a panic — and left as they are.

mod codec;
mod iter;
mod key;

pub use codec::COLLECTION_NAME_LEN_MAX;
pub use iter::CollectionIter;
pub use key::{EncodeKey, KeyPrefix, OrderedKey};

use crate::records::{RecordMeta, Retention};
use crate::{Db, Result, WriteBatch};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::borrow::Borrow;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

impl Db {
    /// The typed collection `name`: values of type `V` (stored with
    /// postcard) under keys of type `K` (see [`OrderedKey`]), kept under the
    /// key prefix `name | 0x00` of this database. Cheap and without I/O;
    /// calling it again with the same name gives a handle to the same pairs.
    ///
    /// Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `name` is empty, longer than
    /// [`COLLECTION_NAME_LEN_MAX`] bytes or contains `0x00`.
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// use holdfast::{Db, Options};
    /// let db = Db::open(dir.path(), Options::default())?;
    /// let balances = db.collection::<(u32, String), i64>("balances")?;
    /// balances.put(&(7, "EUR".to_string()), &1200)?;
    /// balances.put(&(7, "USD".to_string()), &-40)?;
    /// balances.put(&(9, "EUR".to_string()), &5)?;
    /// assert_eq!(balances.get(&(7, "USD".to_string()))?, Some(-40));
    /// let customer_7: Vec<_> = balances.prefix(&7).collect::<holdfast::Result<_>>()?;
    /// assert_eq!(customer_7, [((7, "EUR".into()), 1200), ((7, "USD".into()), -40)]);
    /// # Ok(()) }
    /// ```
    pub fn collection<K, V>(&self, name: &str) -> Result<Collection<K, V>>
    where
        K: OrderedKey,
        V: Serialize + DeserializeOwned,
    {
        let prefix = codec::prefix_of(name)?;
        Ok(Collection {
            db: self.clone(),
            name: Arc::from(name),
            prefix: Arc::from(prefix),
            _types: PhantomData,
        })
    }
}

/// A typed view of the pairs under one key prefix of a [`Db`]; made by
/// [`Db::collection`]. Cheap to clone; every call is one call of the
/// database, with the same atomicity, durability and retention rules.
///
/// Key arguments are borrowed forms of `K` as with `BTreeMap` (`&str` for
/// `String`, `&[u8]` for `Vec<u8>`). [`prefix_bytes`](Self::prefix_bytes)
/// gives the raw prefix, e.g. for [`Db::set_default_policy`] or a hold;
/// raw keys the application writes itself under that prefix are not the
/// collection's business: reading them is an [`Error::Decode`](crate::Error::Decode).
pub struct Collection<K, V> {
    db: Db,
    name: Arc<str>,
    prefix: Arc<[u8]>,
    _types: PhantomData<fn() -> (K, V)>,
}

/// A record of a typed collection: its value and its retention metadata
/// (see [`Collection::get_record`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TypedRecord<V> {
    /// The value.
    pub value: V,
    /// The retention metadata, as [`Db::get_record`] reports it.
    pub meta: RecordMeta,
}

impl<K, V> Clone for Collection<K, V> {
    fn clone(&self) -> Self {
        Collection {
            db: self.db.clone(),
            name: Arc::clone(&self.name),
            prefix: Arc::clone(&self.prefix),
            _types: PhantomData,
        }
    }
}

impl<K, V> std::fmt::Debug for Collection<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("name", &self.name)
            .field("key", &std::any::type_name::<K>())
            .field("value", &std::any::type_name::<V>())
            .finish()
    }
}

impl<K, V> Collection<K, V>
where
    K: OrderedKey,
    V: Serialize + DeserializeOwned,
{
    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw key prefix of every pair of the collection: the name's
    /// bytes and `0x00`. Give it to [`Db::set_default_policy`] or a
    /// [`Scope::Prefix`](crate::Scope::Prefix) hold to cover the whole
    /// collection.
    pub fn prefix_bytes(&self) -> &[u8] {
        &self.prefix
    }

    /// The database the collection lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The raw key under which `key` is stored (e.g. for a
    /// [`Scope::Key`](crate::Scope::Key) hold or [`Db::extend_retention`]).
    pub fn raw_key<Q>(&self, key: &Q) -> Vec<u8>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        codec::raw_key(&self.prefix, key)
    }

    /// The raw key prefix of the keys that start with `prefix` (e.g. for a
    /// [`Scope::Prefix`](crate::Scope::Prefix) hold on one customer's
    /// records). See [`Collection::prefix`].
    pub fn raw_prefix<P: KeyPrefix<K> + ?Sized>(&self, prefix: &P) -> Vec<u8> {
        codec::raw_key(&self.prefix, prefix)
    }

    /// Sets `key` to `value`. A value serde cannot encode is
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument); nothing is written then.
    pub fn put<Q>(&self, key: &Q, value: &V) -> Result<()>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        let mut batch = WriteBatch::new();
        self.batch_put(&mut batch, key, value)?;
        self.db.write(batch)
    }

    /// Sets `key` to `value` with retention, as [`Db::put_with`] does.
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// use holdfast::{years, Db, Options, Policy, Retention};
    /// let db = Db::open(dir.path(), Options::default())?;
    /// db.define_policy(Policy::new("7y").retain_for(years(7)).then_dispose())?;
    /// let invoices = db.collection::<u64, String>("invoices")?;
    /// invoices.put_with(&1001, &"ACME, 1200 EUR".to_string(), &Retention::new().policy("7y"))?;
    /// assert!(invoices.delete(&1001).is_err()); // protected for seven years
    /// let record = invoices.get_record(&1001)?.unwrap();
    /// assert_eq!(record.value, "ACME, 1200 EUR");
    /// assert_eq!(record.meta.policy.as_deref(), Some("7y"));
    /// # Ok(()) }
    /// ```
    pub fn put_with<Q>(&self, key: &Q, value: &V, retention: &Retention) -> Result<()>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        let mut batch = WriteBatch::new();
        self.batch_put_with(&mut batch, key, value, retention)?;
        self.db.write(batch)
    }

    /// Deletes `key` (deleting an absent key succeeds).
    pub fn delete<Q>(&self, key: &Q) -> Result<()>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        self.db.delete(self.raw_key(key))
    }

    /// The value of `key`, if any. Stored bytes that are not a `V` are
    /// [`Error::Decode`](crate::Error::Decode).
    pub fn get<Q>(&self, key: &Q) -> Result<Option<V>>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        let raw = self.raw_key(key);
        match self.db.get(&raw)? {
            Some(bytes) => codec::decode_value(&self.name, &raw, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The value of `key` and its retention metadata, as
    /// [`Db::get_record`] reports them.
    pub fn get_record<Q>(&self, key: &Q) -> Result<Option<TypedRecord<V>>>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        let raw = self.raw_key(key);
        let Some(record) = self.db.get_record(&raw)? else {
            return Ok(None);
        };
        let value = codec::decode_value(&self.name, &raw, &record.value)?;
        Ok(Some(TypedRecord {
            value,
            meta: record.meta,
        }))
    }

    /// Adds `key = value` to `batch`, to be written atomically with the
    /// batch's other operations by [`Db::write`].
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// use holdfast::{Db, Options, WriteBatch};
    /// let db = Db::open(dir.path(), Options::default())?;
    /// let stock = db.collection::<String, u32>("stock")?;
    /// let moves = db.collection::<u64, (String, i32)>("moves")?;
    /// stock.put("bolt", &10)?;
    /// let mut batch = WriteBatch::new();
    /// stock.batch_put(&mut batch, "bolt", &7)?;
    /// moves.batch_put(&mut batch, &1, &("bolt".to_string(), -3))?;
    /// db.write(batch)?;
    /// assert_eq!(stock.get("bolt")?, Some(7));
    /// # Ok(()) }
    /// ```
    pub fn batch_put<Q>(&self, batch: &mut WriteBatch, key: &Q, value: &V) -> Result<()>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        let raw = self.raw_key(key);
        let bytes = codec::encode_value(&self.name, &raw, value)?;
        batch.put(raw, bytes);
        Ok(())
    }

    /// Adds `key = value` with retention to `batch` (see
    /// [`WriteBatch::put_with`]).
    pub fn batch_put_with<Q>(
        &self,
        batch: &mut WriteBatch,
        key: &Q,
        value: &V,
        retention: &Retention,
    ) -> Result<()>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        let raw = self.raw_key(key);
        let bytes = codec::encode_value(&self.name, &raw, value)?;
        batch.put_with(raw, bytes, retention);
        Ok(())
    }

    /// Adds a deletion of `key` to `batch`.
    pub fn batch_delete<Q>(&self, batch: &mut WriteBatch, key: &Q)
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
    {
        batch.delete(self.raw_key(key));
    }

    /// Every pair of the collection, in key order (`.rev()` for descending).
    pub fn iter(&self) -> CollectionIter<K, V> {
        self.scan(self.db.prefix(&self.prefix))
    }

    /// The pairs with keys in `range`, in key order (`.rev()` for
    /// descending). An empty or inverted range yields nothing.
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = holdfast::Db::open(dir.path(), holdfast::Options::default())?;
    /// let temps = db.collection::<i32, String>("temperatures")?;
    /// for t in [-20, -3, 0, 4, 25] {
    ///     temps.put(&t, &format!("{t} °C"))?;
    /// }
    /// let keys: Vec<i32> = temps
    ///     .range(-5..=4)
    ///     .rev()
    ///     .map(|pair| pair.map(|(k, _)| k))
    ///     .collect::<holdfast::Result<_>>()?;
    /// assert_eq!(keys, [4, 0, -3]);
    /// # Ok(()) }
    /// ```
    pub fn range<Q, R>(&self, range: R) -> CollectionIter<K, V>
    where
        K: Borrow<Q>,
        Q: EncodeKey + ?Sized,
        R: RangeBounds<Q>,
    {
        let lower = match range.start_bound() {
            Bound::Included(key) => Bound::Included(self.raw_key(key)),
            Bound::Excluded(key) => Bound::Excluded(self.raw_key(key)),
            Bound::Unbounded => Bound::Included(self.prefix.to_vec()),
        };
        let upper = match range.end_bound() {
            Bound::Included(key) => Bound::Included(self.raw_key(key)),
            Bound::Excluded(key) => Bound::Excluded(self.raw_key(key)),
            // The prefix ends in 0x00 (invariant 1): its successor is the
            // same bytes ending in 0x01.
            Bound::Unbounded => {
                debug_assert_eq!(self.prefix.last(), Some(&0x00));
                let mut end = self.prefix.to_vec();
                if let Some(last) = end.last_mut() {
                    *last = 0x01;
                }
                Bound::Excluded(end)
            }
        };
        self.scan(self.db.range::<Vec<u8>, _>((lower, upper)))
    }

    /// The pairs whose key starts with `prefix`, in key order: for a key
    /// `(A, B)`, `prefix(&a)` yields every `(a, _)`; for `(A, B, C)`,
    /// `prefix(&(a, b))` every `(a, b, _)` (see [`KeyPrefix`]). A string
    /// component is matched whole: `prefix("acme")` finds `("acme", _)`
    /// and not `("acme-corp", _)`; use [`range`](Self::range) for the
    /// strings that start with some text.
    ///
    /// ```
    /// # fn main() -> holdfast::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = holdfast::Db::open(dir.path(), holdfast::Options::default())?;
    /// let orders = db.collection::<(String, u64), u32>("orders")?;
    /// for (customer, number) in [("acme", 2), ("acme-corp", 1), ("acme", 1)] {
    ///     orders.put(&(customer.to_string(), number), &0)?;
    /// }
    /// let numbers = |it: holdfast::CollectionIter<(String, u64), u32>| {
    ///     it.map(|pair| pair.map(|((_, n), _)| n)).collect::<holdfast::Result<Vec<_>>>()
    /// };
    /// assert_eq!(numbers(orders.prefix("acme"))?, [1, 2]); // not acme-corp's
    /// // Every customer whose name starts with "acme":
    /// let acme_all = orders.range(("acme".to_string(), 0)..("acmf".to_string(), 0));
    /// assert_eq!(numbers(acme_all)?, [1, 2, 1]);
    /// # Ok(()) }
    /// ```
    pub fn prefix<P: KeyPrefix<K> + ?Sized>(&self, prefix: &P) -> CollectionIter<K, V> {
        self.scan(self.db.prefix(self.raw_prefix(prefix)))
    }

    fn scan(&self, inner: crate::Iter) -> CollectionIter<K, V> {
        CollectionIter::new(inner, Arc::clone(&self.name), self.prefix.len())
    }
}
