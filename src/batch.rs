//! [`WriteBatch`]: a group of puts and deletes applied atomically, and the
//! batch payload codec — the bytes a batch occupies inside a WAL record.
//!
//! A batch is encoded as it is built, so committing it costs no second
//! encoding: the write path patches the first sequence number into the
//! header and appends the bytes to the WAL, and the memtable holds slices of
//! the same buffer.
//!
//! # Payload layout (little-endian; see `docs/FORMAT.md`)
//! ```text
//! seq u64 | count u32 | count × op
//! op = kind u8 | key_len u32 | key | (kind = 1 only) value_len u32 | value
//! ```
//! Operation `i` of the batch has sequence number `seq + i`.

use crate::codec::ByteReader;
use crate::key::{check_key, check_value, SeqNo, ValueKind, SEQ_MAX, VALUE_LEN_MAX};
use crate::records::meta::STORED_META_MAX;
use bytes::{BufMut, Bytes, BytesMut};

/// Size of the payload header: `seq u64 | count u32`.
pub(crate) const BATCH_HEADER_LEN: usize = 12;

/// Largest encoded batch, in bytes (1 GiB): bounds memory per commit and
/// keeps every length inside `u32`.
pub const BATCH_BYTES_MAX: usize = 1 << 30;

/// An atomic group of writes: after [`Db::write`](crate::Db::write) either
/// all of them are visible or none, also after a crash.
///
/// Operations apply in the order they were added; a later operation on the
/// same key wins.
///
/// ```
/// # fn main() -> holdfast::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// let db = holdfast::Db::open(dir.path(), holdfast::Options::default())?;
/// let mut batch = holdfast::WriteBatch::new();
/// batch.put("account/alice", "90").put("account/bob", "110");
/// batch.delete("pending/transfer-17");
/// db.write(batch)?;
/// assert_eq!(db.get("account/bob")?.as_deref(), Some(&b"110"[..]));
/// # Ok(()) }
/// ```
///
/// Limits are checked as operations are added; a batch holding an invalid
/// operation is refused whole by `write` with
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument).
#[derive(Debug, Clone)]
pub struct WriteBatch {
    buf: BytesMut,
    count: u32,
    invalid: Option<String>,
    /// Holds an operation of kind `Record` or `RetentionUpdate`: the commit
    /// leader resolves such a batch before it reaches the WAL.
    records: bool,
    /// Holds a deletion (its bytes are due for erasure; RECORDS.md rule 10).
    deletes: bool,
}

impl Default for WriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::with_capacity(128)
    }

    /// An empty batch with room for `bytes` of keys and values (plus their
    /// small per-operation headers) before it reallocates.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = BytesMut::with_capacity(BATCH_HEADER_LEN + bytes.min(BATCH_BYTES_MAX));
        buf.put_u64_le(0);
        buf.put_u32_le(0);
        WriteBatch {
            buf,
            count: 0,
            invalid: None,
            records: false,
            deletes: false,
        }
    }

    /// Adds `key = value`.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        let (key, value) = (key.as_ref(), value.as_ref());
        if let Err(why) = check_key(key).and_then(|()| check_value(value)) {
            self.refuse(why);
            return self;
        }
        if !self.reserve(1 + 4 + key.len() + 4 + value.len()) {
            return self;
        }
        self.buf.put_u8(ValueKind::Value as u8);
        put_bytes(&mut self.buf, key);
        put_bytes(&mut self.buf, value);
        self.count += 1;
        self
    }

    /// Adds `key = value` with retention metadata (see
    /// [`Db::put_with`](crate::Db::put_with)). The whole batch is refused if
    /// the retention is invalid or a record it would overwrite or delete is
    /// protected.
    pub fn put_with(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        retention: &crate::records::Retention,
    ) -> &mut Self {
        let (key, value) = (key.as_ref(), value.as_ref());
        let request = match retention.to_request() {
            Ok(request) => request,
            Err(why) => {
                self.refuse(why);
                return self;
            }
        };
        self.push_meta_op(ValueKind::Record, key, request, value)
    }

    /// Adds a metadata-only request for `key` (the commit leader resolves
    /// it against the record's current metadata).
    pub(crate) fn retention_update(
        &mut self,
        key: &[u8],
        request: &crate::records::meta::StoredMeta,
    ) -> &mut Self {
        self.push_meta_op(ValueKind::RetentionUpdate, key, request.as_ref(), &[])
    }

    /// Appends an operation whose stored value is `meta | value`.
    pub(crate) fn push_meta_op(
        &mut self,
        kind: ValueKind,
        key: &[u8],
        meta: crate::records::meta::MetaRef<'_>,
        value: &[u8],
    ) -> &mut Self {
        if let Err(why) = check_key(key).and_then(|()| check_value(value)) {
            self.refuse(why);
            return self;
        }
        let stored_len = meta.encoded_len() + value.len();
        if !self.reserve(1 + 4 + key.len() + 4 + stored_len) {
            return self;
        }
        self.buf.put_u8(kind as u8);
        put_bytes(&mut self.buf, key);
        self.buf.put_u32_le(stored_len as u32);
        meta.encode_into(&mut self.buf);
        self.buf.put_slice(value);
        self.count += 1;
        self.records = true;
        self
    }

    /// Appends a `Record` operation (the commit leader's resolution of a
    /// request); returns where its key and user value lie in the encoding,
    /// which the sealed payload keeps (`None` if the batch refused it).
    pub(crate) fn push_record(
        &mut self,
        key: &[u8],
        meta: crate::records::meta::MetaRef<'_>,
        value: &[u8],
    ) -> Option<OpSpans> {
        let (start, count) = (self.buf.len(), self.count);
        self.push_meta_op(ValueKind::Record, key, meta, value);
        if self.count == count {
            return None;
        }
        let end = self.buf.len();
        let key_start = start + 1 + 4; // kind, key length
        Some(OpSpans {
            key: key_start..key_start + key.len(),
            value: end - value.len()..end,
        })
    }

    /// The operation of a one-operation batch, borrowed from the encoding:
    /// kind, key and stored value. `None` for any other batch.
    pub(crate) fn only_op(&self) -> Option<(ValueKind, &[u8], &[u8])> {
        if self.count != 1 || self.invalid.is_some() {
            return None;
        }
        let mut reader = ByteReader::over(self.buf.get(BATCH_HEADER_LEN..)?);
        let kind = ValueKind::from_u8(reader.u8().ok()?)?;
        let mut length_prefixed = || {
            let len = reader.u32().ok()? as usize;
            reader.slice_exact(len).ok()
        };
        let key = length_prefixed()?;
        let value = match kind {
            ValueKind::Tombstone => &[][..],
            _ => length_prefixed()?,
        };
        Some((kind, key, value))
    }

    /// Resolves a one-operation batch in place (the commit leader's common
    /// case, which then copies nothing): its put becomes a `Record` whose
    /// stored value is `meta` followed by the user value, which is the
    /// op's stored value less its first `replaced` bytes (a request's
    /// metadata; 0 for a plain put). Returns where key and user value now
    /// lie; `None`, with the batch unchanged, if it is not a one-put batch
    /// or the result would pass the batch limit.
    pub(crate) fn resolve_only_op(
        &mut self,
        replaced: usize,
        meta: crate::records::meta::MetaRef<'_>,
    ) -> Option<OpSpans> {
        let (kind, key, stored) = self.only_op()?;
        if kind == ValueKind::Tombstone || replaced > stored.len() {
            return None;
        }
        let (key_len, user_len) = (key.len(), stored.len() - replaced);
        let len_at = BATCH_HEADER_LEN + 5 + key_len;
        let value_at = len_at + 4;
        let old_end = value_at + stored.len();
        let meta_len = meta.encoded_len();
        let new_end = value_at + meta_len + user_len;
        if old_end != self.buf.len() || new_end > BATCH_BYTES_MAX {
            return None;
        }
        if new_end > old_end {
            self.buf.resize(new_end, 0);
        }
        self.buf
            .copy_within(value_at + replaced..old_end, value_at + meta_len);
        self.buf.truncate(new_end);
        meta.encode_into(&mut &mut self.buf[value_at..value_at + meta_len]);
        let stored_len = (meta_len + user_len) as u32; // < BATCH_BYTES_MAX
        self.buf[len_at..value_at].copy_from_slice(&stored_len.to_le_bytes());
        self.buf[BATCH_HEADER_LEN] = ValueKind::Record as u8;
        self.records = true;
        Some(OpSpans {
            key: BATCH_HEADER_LEN + 5..len_at,
            value: new_end - user_len..new_end,
        })
    }

    /// Appends an operation of a metadata-carrying kind with its stored
    /// value as it is (fuzzing re-encodes decoded payloads with it).
    #[doc(hidden)]
    pub(crate) fn push_stored(&mut self, kind: ValueKind, key: &[u8], stored: &[u8]) -> &mut Self {
        debug_assert!(kind.has_meta());
        if !self.reserve(1 + 4 + key.len() + 4 + stored.len()) {
            return self;
        }
        self.buf.put_u8(kind as u8);
        put_bytes(&mut self.buf, key);
        put_bytes(&mut self.buf, stored);
        self.count += 1;
        self.records = true;
        self
    }

    /// True when the batch deletes a key.
    pub(crate) fn has_deletes(&self) -> bool {
        self.deletes
    }

    /// True when the batch holds records-layer operations.
    pub(crate) fn has_records(&self) -> bool {
        self.records
    }

    /// The payload with sequence numbers from 1, for the commit leader to
    /// decode with [`BatchOps`] before the batch is sealed (no copy; give
    /// it back with [`WriteBatch::from_inspected`]).
    pub(crate) fn into_inspected(mut self) -> (Bytes, BatchFlags) {
        self.buf[0..8].copy_from_slice(&1u64.to_le_bytes());
        self.buf[8..12].copy_from_slice(&self.count.to_le_bytes());
        let flags = BatchFlags {
            count: self.count,
            records: self.records,
            deletes: self.deletes,
        };
        (self.buf.freeze(), flags)
    }

    /// The batch [`WriteBatch::into_inspected`] took apart (copied only if
    /// a slice of it is still alive).
    pub(crate) fn from_inspected(payload: Bytes, flags: BatchFlags) -> WriteBatch {
        let buf = payload
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        WriteBatch {
            buf,
            count: flags.count,
            invalid: None,
            records: flags.records,
            deletes: flags.deletes,
        }
    }

    /// Adds a deletion of `key` (deleting an absent key is not an error).
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        let key = key.as_ref();
        if let Err(why) = check_key(key) {
            self.refuse(why);
            return self;
        }
        if !self.reserve(1 + 4 + key.len()) {
            return self;
        }
        self.buf.put_u8(ValueKind::Tombstone as u8);
        put_bytes(&mut self.buf, key);
        self.count += 1;
        self.deletes = true;
        self
    }

    /// Number of operations in the batch.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size in bytes (what the batch adds to the WAL, less framing).
    pub fn encoded_len(&self) -> usize {
        self.buf.len()
    }

    /// Removes every operation and any recorded refusal.
    pub fn clear(&mut self) {
        *self = WriteBatch::new();
    }

    /// The first refused operation's reason, if any.
    pub(crate) fn validation_error(&self) -> Option<&str> {
        self.invalid.as_deref()
    }

    /// Stamps the first sequence number and hands out the encoded payload.
    pub(crate) fn seal(mut self, first_seq: SeqNo) -> Bytes {
        debug_assert!(
            self.invalid.is_none(),
            "refused batches never reach the WAL"
        );
        debug_assert!(first_seq + u64::from(self.count) <= SEQ_MAX + 1);
        self.buf[0..8].copy_from_slice(&first_seq.to_le_bytes());
        self.buf[8..12].copy_from_slice(&self.count.to_le_bytes());
        self.buf.freeze()
    }

    fn refuse(&mut self, why: String) {
        if self.invalid.is_none() {
            self.invalid = Some(format!("operation {} of the batch: {why}", self.count));
        }
    }

    /// Checks that `more` bytes fit under the batch limits.
    fn reserve(&mut self, more: usize) -> bool {
        if self.buf.len() + more > BATCH_BYTES_MAX || self.count == u32::MAX {
            self.refuse(format!("batch would exceed {BATCH_BYTES_MAX} bytes"));
            return false;
        }
        true
    }
}

fn put_bytes(buf: &mut BytesMut, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    debug_assert_eq!(len as usize, bytes.len(), "limits keep lengths in u32");
    buf.put_u32_le(len);
    buf.put_slice(bytes);
}

/// What [`WriteBatch::into_inspected`] keeps besides the bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchFlags {
    count: u32,
    records: bool,
    deletes: bool,
}

/// Where one operation's key and user value lie in a batch's encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpSpans {
    pub key: std::ops::Range<usize>,
    pub value: std::ops::Range<usize>,
}

/// One operation decoded from a batch payload; key and value share the
/// payload's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BatchOp {
    pub seq: SeqNo,
    pub kind: ValueKind,
    pub key: Bytes,
    pub value: Bytes,
}

/// A decoded batch payload.
#[derive(Debug)]
pub(crate) struct DecodedBatch {
    pub first_seq: SeqNo,
    pub ops: Vec<BatchOp>,
}

impl DecodedBatch {
    /// Sequence number of the batch's last operation (`first_seq - 1` for an
    /// empty batch).
    pub(crate) fn last_seq(&self) -> SeqNo {
        self.first_seq + self.ops.len() as u64 - 1
    }
}

/// Decodes a batch payload. The bytes are untrusted (they come from disk):
/// every length is checked against what remains before it is used, and the
/// operation vector grows only as operations are actually found. Returns a
/// description of the first problem and the payload offset where it is.
pub(crate) fn decode_batch(payload: &Bytes) -> Result<DecodedBatch, (usize, String)> {
    let mut ops = BatchOps::new(payload)?;
    let first_seq = ops.first_seq;
    let decoded = DecodedBatch {
        first_seq,
        ops: ops.by_ref().collect::<Result<_, _>>()?,
    };
    if ops.reader.remaining() != 0 {
        let at = ops.reader.pos();
        return Err((at, format!("{} trailing bytes", payload.len() - at)));
    }
    if decoded.ops.is_empty() {
        return Err((0, "empty batch".into()));
    }
    Ok(decoded)
}

/// The operations of a batch payload, decoded one at a time (the commit
/// path inserts them into the memtable without collecting them first).
pub(crate) struct BatchOps<'a> {
    reader: ByteReader<'a>,
    first_seq: SeqNo,
    next: u64,
    count: u64,
}

impl<'a> BatchOps<'a> {
    /// Checks the header; the operations follow as the iterator is driven.
    pub(crate) fn new(payload: &'a Bytes) -> Result<Self, (usize, String)> {
        let mut reader = ByteReader::new(payload);
        let first_seq = reader.u64()?;
        let count = u64::from(reader.u32()?);
        if first_seq == 0 || first_seq > SEQ_MAX || first_seq + count > SEQ_MAX + 1 {
            return Err((
                0,
                format!("sequence number {first_seq} (+{count}) out of range"),
            ));
        }
        Ok(BatchOps {
            reader,
            first_seq,
            next: 0,
            count,
        })
    }

    fn decode_op(&mut self) -> Result<BatchOp, (usize, String)> {
        let reader = &mut self.reader;
        let at = reader.pos();
        let tag = reader.u8()?;
        let kind =
            ValueKind::from_u8(tag).ok_or_else(|| (at, format!("unknown operation kind {tag}")))?;
        let key = reader.bytes()?;
        check_key(&key).map_err(|why| (at, why))?;
        let value = match kind {
            ValueKind::Tombstone => Bytes::new(),
            ValueKind::Value | ValueKind::Record | ValueKind::RetentionUpdate => reader.bytes()?,
        };
        if kind.has_meta() {
            // The stored value is the metadata, then the user's value.
            if value.len() > VALUE_LEN_MAX + STORED_META_MAX {
                return Err((at, format!("record of {} bytes is too long", value.len())));
            }
        } else {
            check_value(&value).map_err(|why| (at, why))?;
        }
        let seq = self.first_seq + self.next;
        self.next += 1;
        Ok(BatchOp {
            seq,
            kind,
            key,
            value,
        })
    }
}

impl Iterator for BatchOps<'_> {
    type Item = Result<BatchOp, (usize, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.count {
            return None;
        }
        let op = self.decode_op();
        if op.is_err() {
            self.next = self.count; // stop after the first error
        }
        Some(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KEY_LEN_MAX;

    #[test]
    fn encode_decode_round_trip() {
        let mut batch = WriteBatch::new();
        batch.put("k1", "v1").delete("k2").put("k1", "");
        assert_eq!(batch.len(), 3);
        let payload = batch.seal(7);
        let decoded = decode_batch(&payload).unwrap();
        assert_eq!(decoded.first_seq, 7);
        assert_eq!(decoded.last_seq(), 9);
        let ops: Vec<_> = decoded
            .ops
            .iter()
            .map(|op| (op.seq, op.kind, &op.key[..], &op.value[..]))
            .collect();
        assert_eq!(
            ops,
            vec![
                (7, ValueKind::Value, &b"k1"[..], &b"v1"[..]),
                (8, ValueKind::Tombstone, &b"k2"[..], &b""[..]),
                (9, ValueKind::Value, &b"k1"[..], &b""[..]),
            ]
        );
    }

    #[test]
    fn record_spans_point_at_key_and_value_in_the_sealed_payload() {
        use crate::records::meta::MetaRef;
        let meta = MetaRef {
            written_at: 5,
            retain_until: Some(9),
            policy: Some("invoice"),
            ..MetaRef::default()
        };
        let mut batch = WriteBatch::new();
        batch.put("plain", "before");
        let first = batch.push_record(b"rec-1", meta, b"value one").unwrap();
        batch.delete("gone");
        let second = batch.push_record(b"r2", meta, b"").unwrap();
        let payload = batch.seal(1);
        assert_eq!(&payload[first.key], b"rec-1");
        assert_eq!(&payload[first.value], b"value one");
        assert_eq!(&payload[second.key], b"r2");
        assert!(second.value.is_empty() && second.value.end == payload.len());
        // A refused operation has no spans.
        let mut refused = WriteBatch::new();
        assert!(refused.push_record(b"", meta, b"v").is_none());
    }

    #[test]
    fn a_one_put_batch_is_resolved_in_place() {
        use crate::records::meta::MetaRef;
        let resolved = MetaRef {
            written_at: 1_000,
            retain_until: Some(2_000),
            expires_at: Some(3_000),
            policy: Some("invoice"),
            ..MetaRef::default()
        };
        let request = MetaRef {
            policy: Some("a-much-longer-policy-name"),
            ..MetaRef::default()
        };
        let mut requested = WriteBatch::new();
        requested.push_record(b"key", request, b"user value");
        let mut plain = WriteBatch::new();
        plain.put("key", "user value");
        // A request's metadata longer than the resolution (the batch
        // shrinks) and a plain put gaining metadata (it grows).
        for (mut batch, replaced) in [(requested, request.encoded_len()), (plain, 0)] {
            let spans = batch.resolve_only_op(replaced, resolved).unwrap();
            assert!(batch.has_records());
            let payload = batch.seal(9);
            assert_eq!(&payload[spans.key], b"key");
            assert_eq!(&payload[spans.value], b"user value");
            let ops = decode_batch(&payload).unwrap().ops;
            assert_eq!(ops.len(), 1);
            assert_eq!((ops[0].seq, ops[0].kind), (9, ValueKind::Record));
            let (meta, value) = MetaRef::split_record(&ops[0].value).unwrap();
            assert_eq!((meta, &value[..]), (resolved, &b"user value"[..]));
        }
        // Not a one-put batch: nothing changes.
        let mut two = WriteBatch::new();
        two.put("a", "1").put("b", "2");
        assert!(two.resolve_only_op(0, resolved).is_none());
        let mut delete = WriteBatch::new();
        delete.delete("a");
        assert!(delete.resolve_only_op(0, resolved).is_none());
        assert!(delete
            .only_op()
            .is_some_and(|op| op.0 == ValueKind::Tombstone));
    }

    #[test]
    fn invalid_operations_are_remembered() {
        let mut batch = WriteBatch::new();
        batch
            .put("ok", "v")
            .put("", "v")
            .delete(vec![1u8; KEY_LEN_MAX + 1]);
        let why = batch.validation_error().unwrap();
        assert!(why.contains("operation 1"), "{why}");
        assert_eq!(batch.len(), 1);
        batch.clear();
        assert!(batch.validation_error().is_none());
        assert!(batch.is_empty());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut batch = WriteBatch::new();
        batch.put("key", "value").delete("gone");
        let payload = batch.seal(1);
        for len in 0..payload.len() {
            assert!(decode_batch(&payload.slice(..len)).is_err(), "len {len}");
        }
        assert!(decode_batch(&payload).is_ok());
    }

    #[test]
    fn lying_lengths_are_rejected() {
        let mut raw = Vec::new();
        raw.extend_from_slice(&1u64.to_le_bytes());
        raw.extend_from_slice(&u32::MAX.to_le_bytes()); // claims 4 billion ops
        raw.push(1);
        raw.extend_from_slice(&u32::MAX.to_le_bytes()); // and a 4 GiB key
        let err = decode_batch(&Bytes::from(raw)).unwrap_err();
        assert!(err.1.contains("needs"), "{err:?}");
    }

    #[test]
    fn seq_zero_and_overflow_are_rejected() {
        let mut batch = WriteBatch::new();
        batch.put("k", "v");
        let payload = batch.seal(1);
        for bad_seq in [0, SEQ_MAX, SEQ_MAX + 1, u64::MAX] {
            let mut raw = payload.to_vec();
            raw[0..8].copy_from_slice(&bad_seq.to_le_bytes());
            // SEQ_MAX itself is a valid last sequence number for a single op.
            let ok = decode_batch(&Bytes::from(raw)).is_ok();
            assert_eq!(ok, bad_seq == SEQ_MAX, "seq {bad_seq}");
        }
    }
}
