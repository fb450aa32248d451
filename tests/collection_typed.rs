//! Typed collections through the public API: put/get/delete, range,
//! prefix and reverse scans, batches, retention, reopen, isolation of
//! collections with overlapping names, decode and encode errors, and
//! refused names.

use holdfast::{years, Collection, Db, Error, Hold, Options, Policy, Retention, Scope, WriteBatch};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Invoice {
    amount_cents: u64,
    currency: String,
    paid: bool,
}

fn invoice(amount_cents: u64) -> Invoice {
    Invoice {
        amount_cents,
        currency: "EUR".into(),
        paid: false,
    }
}

type Invoices = Collection<(u32, u64), Invoice>;

fn open(dir: &std::path::Path) -> Db {
    Db::open(dir, Options::default()).expect("open")
}

/// Customers 1..=3 with invoices 10, 20, 30 each; amount = customer * 1000 + number.
fn filled(db: &Db) -> Invoices {
    let invoices = db.collection("invoices").expect("collection");
    for customer in [3u32, 1, 2] {
        for number in [30u64, 10, 20] {
            let amount = u64::from(customer) * 1000 + number;
            invoices
                .put(&(customer, number), &invoice(amount))
                .expect("put");
        }
    }
    invoices
}

fn keys<K, V>(iter: impl Iterator<Item = holdfast::Result<(K, V)>>) -> Vec<K> {
    iter.map(|pair| pair.expect("pair").0).collect()
}

#[test]
fn put_get_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let invoices = filled(&db);
    assert_eq!(invoices.get(&(2, 20)).expect("get"), Some(invoice(2020)));
    assert_eq!(invoices.get(&(2, 21)).expect("get"), None);
    invoices.put(&(2, 20), &invoice(7)).expect("overwrite");
    assert_eq!(invoices.get(&(2, 20)).expect("get"), Some(invoice(7)));
    invoices.delete(&(2, 20)).expect("delete");
    invoices.delete(&(2, 20)).expect("deleting an absent key");
    assert_eq!(invoices.get(&(2, 20)).expect("get"), None);
    assert_eq!(invoices.iter().count(), 8);
    // Borrowed key forms.
    let names = db.collection::<String, u8>("names").expect("collection");
    names.put("ada", &1).expect("put &str");
    assert_eq!(names.get(&"ada".to_string()).expect("get"), Some(1));
    assert_eq!(names.get("ada").expect("get &str"), Some(1));
}

#[test]
fn range_prefix_and_reverse_come_out_in_key_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let invoices = filled(&db);
    let all = keys(invoices.iter());
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    assert_eq!(all.len(), 9);
    assert_eq!(
        keys(invoices.range((1, 20)..(2, 20))),
        [(1, 20), (1, 30), (2, 10)]
    );
    assert_eq!(
        keys(invoices.range((1, 20)..=(2, 20)).rev()),
        [(2, 20), (2, 10), (1, 30), (1, 20)]
    );
    assert_eq!(keys(invoices.range(..(1, 20))), [(1, 10)]);
    assert_eq!(keys(invoices.range((3, 25)..)), [(3, 30)]);
    assert_eq!(keys(invoices.range((3, 0)..(1, 0))), []);
    assert_eq!(keys(invoices.prefix(&2)), [(2, 10), (2, 20), (2, 30)]);
    assert_eq!(keys(invoices.prefix(&2).rev()), [(2, 30), (2, 20), (2, 10)]);
    assert_eq!(keys(invoices.prefix(&4)), []);
    // Both ends of one iterator meet without repeating a key.
    let mut both = invoices.prefix(&1);
    assert_eq!(both.next().expect("front").expect("ok").0, (1, 10));
    assert_eq!(both.next_back().expect("back").expect("ok").0, (1, 30));
    assert_eq!(both.next().expect("middle").expect("ok").0, (1, 20));
    assert!(both.next().is_none() && both.next_back().is_none());
}

#[test]
fn signed_and_string_keys_scan_in_natural_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let temps = db.collection::<i64, ()>("temps").expect("collection");
    for t in [5i64, -1, i64::MIN, 0, i64::MAX, -300] {
        temps.put(&t, &()).expect("put");
    }
    assert_eq!(keys(temps.iter()), [i64::MIN, -300, -1, 0, 5, i64::MAX]);
    let tags = db
        .collection::<(String, String), ()>("tags")
        .expect("collection");
    for (a, b) in [
        ("acme", "x"),
        ("acme-corp", "y"),
        ("ac", "z"),
        ("acme\0", "w"),
    ] {
        tags.put(&(a.to_string(), b.to_string()), &()).expect("put");
    }
    let firsts: Vec<String> = keys(tags.iter()).into_iter().map(|k| k.0).collect();
    assert_eq!(firsts, ["ac", "acme", "acme\0", "acme-corp"]);
    // A string prefix component is matched whole.
    assert_eq!(
        keys(tags.prefix("acme")),
        [("acme".to_string(), "x".to_string())]
    );
    assert_eq!(keys(tags.prefix(&"ac".to_string())).len(), 1);
    // Two leading components of a 3-tuple.
    let events = db
        .collection::<(u32, String, u64), ()>("events")
        .expect("collection");
    for (a, b, c) in [(1, "x", 2), (1, "x", 1), (1, "xy", 0), (2, "x", 0)] {
        events.put(&(a, b.to_string(), c), &()).expect("put");
    }
    let found: Vec<u64> = keys(events.prefix(&(1, "x".to_string())).rev())
        .into_iter()
        .map(|k| k.2)
        .collect();
    assert_eq!(found, [2, 1]);
}

#[test]
fn batches_write_typed_operations_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let invoices = filled(&db);
    let paid = db.collection::<u64, u32>("paid").expect("collection");
    let mut batch = WriteBatch::new();
    let mut settled = invoice(1010);
    settled.paid = true;
    invoices
        .batch_put(&mut batch, &(1, 10), &settled)
        .expect("batch put");
    paid.batch_put(&mut batch, &10, &1).expect("batch put");
    invoices.batch_delete(&mut batch, &(1, 20));
    assert_eq!(batch.len(), 3);
    db.write(batch).expect("write");
    assert_eq!(invoices.get(&(1, 10)).expect("get"), Some(settled));
    assert_eq!(invoices.get(&(1, 20)).expect("get"), None);
    assert_eq!(paid.get(&10).expect("get"), Some(1));
}

#[test]
fn retention_through_put_with_get_record_and_default_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    db.define_policy(Policy::new("invoice-7y").retain_for(years(7)))
        .expect("policy");
    let invoices: Invoices = db.collection("invoices").expect("collection");
    let seven_years = Retention::new().policy("invoice-7y").compliance();
    invoices
        .put_with(&(1, 1), &invoice(100), &seven_years)
        .expect("put_with");
    let record = invoices
        .get_record(&(1, 1))
        .expect("get_record")
        .expect("found");
    assert_eq!(record.value, invoice(100));
    assert_eq!(record.meta.policy.as_deref(), Some("invoice-7y"));
    assert!(record.meta.retain_until.is_some());
    let refused = invoices.delete(&(1, 1)).expect_err("protected");
    assert!(
        matches!(refused, Error::RetentionLocked { .. }),
        "{refused}"
    );
    let refused = invoices.put(&(1, 1), &invoice(1)).expect_err("protected");
    assert!(
        matches!(refused, Error::RetentionLocked { .. }),
        "{refused}"
    );

    let mut batch = WriteBatch::new();
    invoices
        .batch_put_with(&mut batch, &(1, 2), &invoice(200), &seven_years)
        .expect("batch put_with");
    db.write(batch).expect("write");
    let meta = invoices
        .get_record(&(1, 2))
        .expect("get")
        .expect("found")
        .meta;
    assert_eq!(meta.policy.as_deref(), Some("invoice-7y"));

    // The raw prefix targets the whole collection; a plain put gets the default.
    let notes = db.collection::<u32, String>("notes").expect("collection");
    db.set_default_policy(notes.prefix_bytes(), "invoice-7y")
        .expect("default policy");
    notes.put(&1, &"kept".to_string()).expect("put");
    let meta = notes.get_record(&1).expect("get").expect("found").meta;
    assert_eq!(meta.policy.as_deref(), Some("invoice-7y"));
    assert_eq!(invoices.get_record(&(9, 9)).expect("get"), None);
}

#[test]
fn a_hold_on_a_raw_prefix_covers_one_customer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let invoices = filled(&db);
    db.place_hold(Hold {
        id: "case-1".into(),
        scope: Scope::Prefix(invoices.raw_prefix(&2)),
        reason: "audit".into(),
        issuer: "legal".into(),
    })
    .expect("hold");
    let refused = invoices.delete(&(2, 10)).expect_err("held");
    assert!(matches!(refused, Error::Held { .. }), "{refused}");
    invoices.delete(&(1, 10)).expect("other customer");
    invoices.delete(&(3, 10)).expect("other customer");
}

#[test]
fn collections_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let before = keys(filled(&db).iter());
    db.close().expect("close");
    let db = open(dir.path());
    let invoices: Invoices = db.collection("invoices").expect("collection");
    assert_eq!(keys(invoices.iter()), before);
    assert_eq!(invoices.get(&(3, 30)).expect("get"), Some(invoice(3030)));
}

#[test]
fn collections_with_overlapping_names_do_not_see_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let a = db.collection::<Vec<u8>, u8>("a").expect("a");
    let ab = db.collection::<Vec<u8>, u8>("ab").expect("ab");
    // Raw key of a's key "b": 61 00 62 00 01; of ab's key "": 61 62 00 00 01.
    a.put(&b"b".to_vec(), &1).expect("put");
    a.put(&vec![], &2).expect("put");
    ab.put(&vec![], &3).expect("put");
    ab.put(&b"\0".to_vec(), &4).expect("put");
    assert_eq!(keys(a.iter()), [vec![], b"b".to_vec()]);
    assert_eq!(keys(ab.iter()), [vec![], vec![0]]);
    assert_eq!(keys(a.range::<Vec<u8>, _>(..)).len(), 2);
    assert_eq!(ab.get(&b"b".to_vec()).expect("get"), None);
    assert_ne!(a.prefix_bytes(), ab.prefix_bytes());
}

#[test]
fn undecodable_pairs_are_errors_naming_collection_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let invoices = filled(&db);
    // A value that is not an Invoice, and a key that is not a (u32, u64).
    db.put(invoices.raw_key(&(2, 20)), [0xff, 0xff])
        .expect("raw put");
    let mut bad_key = invoices.prefix_bytes().to_vec();
    bad_key.extend_from_slice(&[0, 0, 0, 2, 0xee]);
    db.put(&bad_key, "x").expect("raw put");

    let err = invoices.get(&(2, 20)).expect_err("bad value");
    let Error::Decode {
        collection,
        key,
        detail,
    } = &err
    else {
        panic!("expected Error::Decode, got {err}");
    };
    assert_eq!(collection, "invoices");
    assert_eq!(key, &invoices.raw_key(&(2, 20)));
    assert!(detail.starts_with("value: "), "{detail}");
    let text = err.to_string();
    assert!(
        text.contains("\"invoices\"") && text.contains("value"),
        "{text}"
    );

    // Scans report both pairs and go on past them.
    let items: Vec<_> = invoices.prefix(&2).collect();
    assert_eq!(items.len(), 4);
    let errors: Vec<String> = items
        .iter()
        .filter_map(|item| item.as_ref().err().map(ToString::to_string))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    // (2, 20) sorts first; the bad key's 0xee after customer 2 sorts last.
    assert!(errors[0].contains("value: postcard"), "{errors:?}");
    assert!(errors[1].contains("key: component 1"), "{errors:?}");
    assert_eq!(invoices.iter().rev().filter(Result::is_ok).count(), 8);
    // get_record reports the bad value the same way.
    let err = invoices.get_record(&(2, 20)).expect_err("bad value");
    assert!(matches!(err, Error::Decode { .. }), "{err}");
}

/// A value serde refuses to encode.
struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("not today"))
    }
}

impl<'de> Deserialize<'de> for Unencodable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d).map(|()| Unencodable)
    }
}

#[test]
fn encode_failures_and_bad_names_are_invalid_arguments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let odd = db.collection::<u8, Unencodable>("odd").expect("collection");
    let err = odd.put(&1, &Unencodable).expect_err("encode failure");
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    let mut batch = WriteBatch::new();
    assert!(odd.batch_put(&mut batch, &1, &Unencodable).is_err());
    assert!(batch.is_empty());
    assert_eq!(odd.iter().count(), 0);

    let long = "n".repeat(holdfast::collection::COLLECTION_NAME_LEN_MAX + 1);
    for name in ["", "in\0voices", long.as_str()] {
        let err = db.collection::<u8, u8>(name).expect_err("bad name");
        assert!(matches!(err, Error::InvalidArgument(_)), "{name:?}: {err}");
    }
}
