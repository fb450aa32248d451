//! Typed collections end to end, on a fresh temporary directory:
//!
//! 1. a collection of `Invoice` structs (serde, stored with postcard)
//!    keyed by `(customer: u32, number: u64)`;
//! 2. invoices written with a seven-year Compliance retention policy
//!    through `put_with`, one batch of typed writes, and a delete refused
//!    while the retention holds;
//! 3. reads back with `get` and `get_record` (value and retention
//!    metadata), a range scan across customers, and a prefix scan of one
//!    customer's invoices, forwards and backwards;
//! 4. a value written raw under the collection's prefix: reading it is a
//!    clean `Error::Decode` naming the collection and the key.
//!
//! Every outcome it prints is also asserted, so it cannot silently go
//! wrong. The key encoding is specified in `docs/FORMAT.md`.
//!
//! ```text
//! cargo run --release --example typed
//! ```

use holdfast::{years, Collection, Db, Error, Options, Policy, Retention, WriteBatch};
use serde::{Deserialize, Serialize};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Invoice {
    customer: String,
    amount_cents: u64,
    currency: String,
    /// ISO 8601 date of issue.
    issued: String,
    lines: Vec<String>,
}

/// Invoices by `(customer number, invoice number)`.
type Invoices = Collection<(u32, u64), Invoice>;

fn invoice(customer: &str, amount_cents: u64, issued: &str) -> Invoice {
    Invoice {
        customer: customer.into(),
        amount_cents,
        currency: "EUR".into(),
        issued: issued.into(),
        lines: vec![format!("services, {issued}")],
    }
}

fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(dir.path(), Options::default())?;
    let invoices: Invoices = db.collection("invoices")?;
    println!(
        "collection {:?}: raw prefix {:02x?}",
        invoices.name(),
        invoices.prefix_bytes()
    );

    // 2. Seven years, Compliance mode: no overwrite or delete before then.
    // Kept, not disposed of, when the seven years are over.
    let policy = Policy::new("invoices-7y").retain_for(years(7)).compliance();
    db.define_policy(policy.then_keep())?;
    let seven_years = Retention::new().policy("invoices-7y");
    let written = [
        ((42, 1001), invoice("ACME", 120_000, "2026-01-15")),
        ((7, 1002), invoice("Globex", 9_950, "2026-02-01")),
        ((42, 1003), invoice("ACME", 4_500, "2026-03-10")),
        ((9, 1004), invoice("Initech", 77_700, "2026-03-12")),
    ];
    for (key, value) in &written {
        invoices.put_with(key, value, &seven_years)?;
    }
    let mut batch = WriteBatch::new();
    invoices.batch_put_with(
        &mut batch,
        &(42, 1005),
        &invoice("ACME", 310, "2026-04-01"),
        &seven_years,
    )?;
    invoices.batch_put_with(
        &mut batch,
        &(7, 1006),
        &invoice("Globex", 1_200, "2026-04-02"),
        &seven_years,
    )?;
    db.write(batch)?;
    println!("wrote 6 invoices with policy invoices-7y (4 puts, 1 batch of 2)");
    let refused = invoices.delete(&(42, 1001));
    println!("delete (42, 1001): {}", describe(&refused));
    assert!(matches!(refused, Err(Error::RetentionLocked { .. })));

    // 3. Reads.
    let acme_1 = invoices
        .get(&(42, 1001))?
        .ok_or("invoice (42, 1001) is missing")?;
    println!("get (42, 1001): {acme_1:?}");
    assert_eq!(acme_1, written[0].1);
    let record = invoices
        .get_record(&(7, 1002))?
        .ok_or("invoice (7, 1002) is missing")?;
    println!(
        "get_record (7, 1002): {} cents, policy {:?}, retained until {}",
        record.value.amount_cents,
        record.meta.policy,
        record
            .meta
            .retain_until
            .map(|t| t.to_string())
            .unwrap_or_default()
    );
    assert_eq!(record.meta.policy.as_deref(), Some("invoices-7y"));
    assert!(record.meta.retain_until.is_some());

    let customers_7_to_9: Vec<(u32, u64)> = invoices
        .range((7, 0)..=(9, u64::MAX))
        .map(|pair| pair.map(|(key, _)| key))
        .collect::<holdfast::Result<_>>()?;
    println!("range (7, 0)..=(9, MAX): {customers_7_to_9:?}");
    assert_eq!(customers_7_to_9, [(7, 1002), (7, 1006), (9, 1004)]);

    let acme: Vec<(u64, u64)> = invoices
        .prefix(&42)
        .map(|pair| pair.map(|((_, number), inv)| (number, inv.amount_cents)))
        .collect::<holdfast::Result<_>>()?;
    println!("prefix 42 (ACME): {acme:?}");
    assert_eq!(acme, [(1001, 120_000), (1003, 4_500), (1005, 310)]);
    let newest = invoices
        .prefix(&42)
        .next_back()
        .ok_or("no ACME invoice")??;
    println!("prefix 42, from the back: {:?}", newest.0);
    assert_eq!(newest.0, (42, 1005));
    let total: u64 = invoices
        .iter()
        .map(|pair| pair.map(|(_, inv)| inv.amount_cents))
        .sum::<holdfast::Result<u64>>()?;
    println!("total of all invoices: {total} cents");
    assert_eq!(total, 213_660);

    // 4. Bytes that are not an Invoice, written raw under the prefix.
    db.put(invoices.raw_key(&(99, 1)), b"not postcard")?;
    let broken = invoices.get(&(99, 1));
    println!("get (99, 1) after a raw write: {}", describe(&broken));
    match &broken {
        Err(Error::Decode {
            collection, key, ..
        }) => {
            assert_eq!(collection, "invoices");
            assert_eq!(key, &invoices.raw_key(&(99, 1)));
        }
        other => return Err(format!("expected a decode error, got {other:?}").into()),
    }
    let scanned: Vec<holdfast::Result<_>> = invoices.iter().collect();
    let failed = scanned.iter().filter(|pair| pair.is_err()).count();
    println!("full scan: {} pairs, {failed} decode error", scanned.len());
    assert_eq!((scanned.len(), failed), (7, 1));

    db.close()?;
    println!("ok");
    Ok(())
}

fn describe<T>(result: &holdfast::Result<T>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => format!("refused: {e}"),
    }
}
