//! The commit leader resolves records-layer requests two ways: a batch of
//! one put alone in its group is patched in place, any other batch is
//! rebuilt op by op. Both must store the same record and audit the same
//! retention-set entry — with the record's own key and content hash — and
//! a privileged overwrite must audit its bypass before the new record.

use holdfast::audit::AuditEntry;
use holdfast::{
    days, years, AuditEvent, Db, ManualClock, Options, Policy, Record, Retention, Timestamp,
    WriteBatch, WriteOptions,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn setup() -> (tempfile::TempDir, Db, Timestamp) {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = Timestamp::from_date(2026, 11, 25).expect("date");
    let clock = Arc::new(ManualClock::new(now));
    let options = Options::default().clock(clock as Arc<dyn holdfast::Clock>);
    let db = Db::open(dir.path(), options).expect("open");
    db.define_policy(Policy::new("invoice").retain_for(years(7)).then_dispose())
        .expect("policy");
    db.set_default_policy("default/", "invoice")
        .expect("default");
    (dir, db, now)
}

fn record(db: &Db, key: &str) -> Record {
    db.get_record(key).expect("get_record").expect("present")
}

fn entries(db: &Db) -> Vec<AuditEntry> {
    db.audit()
        .iter()
        .expect("audit iter")
        .map(|e| e.expect("audit entry"))
        .collect()
}

/// The retention-set entry of `key`, its sequence number and key blanked
/// (they differ between the two writes compared).
fn retention_set(db: &Db, key: &str) -> AuditEvent {
    let mut found: Vec<AuditEvent> = entries(db)
        .into_iter()
        .map(|entry| entry.event)
        .filter(|event| match event {
            AuditEvent::RetentionSet { key: k, .. } => k.as_slice() == key.as_bytes(),
            _ => false,
        })
        .collect();
    assert_eq!(found.len(), 1, "{key}: one retention-set entry");
    let mut event = found.remove(0);
    if let AuditEvent::RetentionSet {
        ref mut record_seq,
        key: ref mut k,
        ..
    } = event
    {
        *record_seq = 0;
        k.clear();
    }
    event
}

fn content_hash(event: &AuditEvent) -> Option<[u8; 32]> {
    match event {
        AuditEvent::RetentionSet { content_hash, .. } => *content_hash,
        _ => None,
    }
}

/// Writes `key = value` alone (resolved in place) or
/// beside another put in one batch (rebuilt).
fn write(db: &Db, alone: bool, key: &str, value: &str, retention: Option<&Retention>) {
    let mut batch = WriteBatch::new();
    match retention {
        Some(retention) => batch.put_with(key, value, retention),
        None => batch.put(key, value),
    };
    if !alone {
        batch.put(format!("{key}/neighbour"), "plain");
    }
    db.write(batch).expect("write");
}

#[test]
fn in_place_and_rebuilt_resolutions_store_and_audit_the_same() {
    let (_dir, db, now) = setup();
    let until = now.saturating_add(days(30));
    let cases: Vec<(&str, Option<Retention>)> = vec![
        ("policy", Some(Retention::new().policy("invoice"))),
        (
            "dates",
            Some(
                Retention::new()
                    .retain_until(until)
                    .expires_at(until.saturating_add(days(1)))
                    .compliance(),
            ),
        ),
        ("default/plain", None),
        (
            "default/explicit",
            Some(Retention::new().retain_until(until)),
        ),
    ];
    for (name, retention) in &cases {
        let value = format!("value of {name}");
        let (alone, rebuilt) = (format!("{name}/alone"), format!("{name}/rebuilt"));
        write(&db, true, &alone, &value, retention.as_ref());
        write(&db, false, &rebuilt, &value, retention.as_ref());
        let (a, b) = (record(&db, &alone), record(&db, &rebuilt));
        assert_eq!(a.value, value.as_bytes(), "{name}");
        assert_eq!((&a.value, &a.meta), (&b.value, &b.meta), "{name}");
        assert!(
            a.meta.written_at.is_some(),
            "{name}: a record, not a plain put"
        );
        let (a, b) = (retention_set(&db, &alone), retention_set(&db, &rebuilt));
        assert_eq!(a, b, "{name}");
        let expected: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        assert_eq!(content_hash(&a), Some(expected), "{name}");
    }
}

#[test]
fn an_in_place_overwrite_with_bypass_audits_the_bypass_then_the_record() {
    let (_dir, db, now) = setup();
    let until = now.saturating_add(days(30));
    db.put_with("contract", "first", &Retention::new().retain_until(until))
        .expect("first");
    let mut batch = WriteBatch::new();
    batch.put_with("contract", "second", &Retention::new().retain_until(until));
    let bypass = WriteOptions::new()
        .bypass_governance("typo in the contract")
        .actor("legal");
    db.write_opt(batch, &bypass).expect("overwrite with bypass");
    assert_eq!(record(&db, "contract").value, "second".as_bytes());
    let trail = entries(&db);
    let tail: Vec<&AuditEntry> = trail.iter().rev().take(2).rev().collect();
    match (&tail[0].event, &tail[1].event) {
        (
            AuditEvent::GovernanceBypass { key, reason, .. },
            AuditEvent::RetentionSet {
                key: set_key,
                content_hash,
                ..
            },
        ) => {
            assert_eq!(
                (key.as_slice(), reason.as_str()),
                (&b"contract"[..], "typo in the contract")
            );
            assert_eq!(set_key.as_slice(), b"contract");
            let expected: [u8; 32] = Sha256::digest(b"second").into();
            assert_eq!(*content_hash, Some(expected));
        }
        other => panic!("unexpected trail tail {other:?}"),
    }
    assert_eq!(
        (tail[0].actor.as_str(), tail[1].actor.as_str()),
        ("legal", "legal")
    );
}
