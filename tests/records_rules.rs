//! The rules of `shared/RECORDS.md`, one test (or a few) per rule, through
//! the public API, with a manual clock that travels in time.

mod common;

use common::{contents, get};
use holdfast::{
    days, years, AuditEvent, Db, Disposal, Error, Hold, ManualClock, Mode, Options, Policy,
    Retention, Scope, Timestamp, WriteBatch, WriteOptions,
};
use std::sync::Arc;

const START: (i32, u32, u32) = (2026, 11, 24);

fn start() -> Timestamp {
    Timestamp::from_date(START.0, START.1, START.2).expect("date")
}

fn open_with(dir: &std::path::Path, clock: &Arc<ManualClock>, disposal: Disposal) -> Db {
    let options = Options::default()
        .clock(Arc::clone(clock) as Arc<dyn holdfast::Clock>)
        .disposal(disposal);
    Db::open(dir, options).expect("open")
}

fn setup() -> (tempfile::TempDir, Arc<ManualClock>, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(start()));
    let db = open_with(dir.path(), &clock, Disposal::Automatic);
    (dir, clock, db)
}

fn retained(until: Timestamp) -> Retention {
    Retention::new().retain_until(until)
}

fn is_locked(r: holdfast::Result<()>) -> bool {
    matches!(r, Err(Error::RetentionLocked { .. }))
}

fn is_held(r: holdfast::Result<()>) -> bool {
    matches!(r, Err(Error::Held { .. }))
}

fn audit_events(db: &Db) -> Vec<AuditEvent> {
    db.audit()
        .iter()
        .expect("audit iter")
        .map(|e| e.expect("audit entry").event)
        .collect()
}

fn count(db: &Db, name: &str) -> usize {
    audit_events(db).iter().filter(|e| e.name() == name).count()
}

#[test]
fn rule1_write_once_while_protected_and_batches_all_or_nothing() {
    let (_dir, clock, db) = setup();
    let until = start().saturating_add(days(30));
    db.put_with("inv/1", "v1", &retained(until)).unwrap();
    assert!(is_locked(db.put("inv/1", "v2")));
    assert!(is_locked(db.delete("inv/1")));
    assert!(is_locked(db.put_with("inv/1", "v2", &retained(until))));
    // One refused operation refuses the whole batch.
    let mut batch = WriteBatch::new();
    batch.put("other", "x").delete("inv/1");
    assert!(is_locked(db.write(batch)));
    assert_eq!(get(&db, "other"), None);
    assert_eq!(get(&db, "inv/1").as_deref(), Some(&b"v1"[..]));
    // Across a flush to tables too.
    db.flush_memtables().unwrap();
    assert!(is_locked(db.put("inv/1", "v2")));
    // Once the date has passed, the record is an ordinary one.
    clock.set(until);
    db.put("inv/1", "v2").unwrap();
    assert_eq!(get(&db, "inv/1").as_deref(), Some(&b"v2"[..]));
    db.delete("inv/1").unwrap();
    assert_eq!(get(&db, "inv/1"), None);
}

#[test]
fn rule1_racing_writers_cannot_both_pass() {
    let (_dir, _clock, db) = setup();
    let until = start().saturating_add(years(1));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let db = db.clone();
            std::thread::spawn(move || {
                let value = format!("writer-{i}");
                db.put_with("contested", value, &retained(until).compliance())
                    .is_ok()
            })
        })
        .collect();
    let winners = threads
        .into_iter()
        .filter(|_| true)
        .map(|t| t.join().unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(
        winners, 1,
        "exactly one writer may create the protected record"
    );
}

#[test]
fn rule2_extend_never_shorten_in_compliance_bypass_only_in_governance() {
    let (_dir, _clock, db) = setup();
    let until = start().saturating_add(years(1));
    let later = start().saturating_add(years(2));
    let earlier = start().saturating_add(days(10));
    let bypass = WriteOptions::new().bypass_governance("court order 17");

    db.put_with("c", "v", &retained(until).compliance())
        .unwrap();
    db.extend_retention("c", later).unwrap();
    let meta = db.get_record("c").unwrap().unwrap().meta;
    assert_eq!(meta.retain_until, Some(later));
    assert_eq!(meta.mode, Some(Mode::Compliance));
    assert!(is_locked(db.extend_retention("c", earlier)));
    assert!(is_locked(db.set_retention("c", Some(earlier), &bypass)));
    assert!(is_locked(db.set_retention("c", None, &bypass)));
    assert!(is_locked(db.write_opt(
        {
            let mut b = WriteBatch::new();
            b.delete("c");
            b
        },
        &bypass
    )));
    assert_eq!(
        db.get_record("c").unwrap().unwrap().meta.retain_until,
        Some(later)
    );

    db.put_with("g", "v", &retained(until).governance())
        .unwrap();
    assert!(is_locked(db.extend_retention("g", earlier)));
    db.set_retention("g", Some(earlier), &bypass).unwrap();
    assert_eq!(
        db.get_record("g").unwrap().unwrap().meta.retain_until,
        Some(earlier)
    );
    let mut overwrite = WriteBatch::new();
    overwrite.put("g", "new");
    db.write_opt(overwrite, &bypass).unwrap();
    assert_eq!(get(&db, "g").as_deref(), Some(&b"new"[..]));
    assert_eq!(count(&db, "retention_shortened"), 1);
    assert_eq!(count(&db, "governance_bypass"), 1);
    assert_eq!(count(&db, "retention_extended"), 1);
    db.audit().verify().unwrap();
}

#[test]
fn rule2_extension_survives_flush_compaction_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let until = start().saturating_add(days(1));
    let later = start().saturating_add(days(100));
    {
        let db = open_with(dir.path(), &clock, Disposal::Automatic);
        db.put_with("k", "value", &retained(until).expires_at(until))
            .unwrap();
        db.flush_memtables().unwrap();
        db.compact().unwrap();
        db.extend_retention("k", later).unwrap(); // an update above the table
        db.close().unwrap();
    }
    clock.set(start().saturating_add(days(50)));
    let db = open_with(dir.path(), &clock, Disposal::Automatic);
    db.compact().unwrap(); // the base record alone looks expired: it must stay
    assert_eq!(get(&db, "k").as_deref(), Some(&b"value"[..]));
    assert!(is_locked(db.delete("k")));
    let meta = db.get_record("k").unwrap().unwrap().meta;
    assert_eq!(meta.retain_until, Some(later));
    assert_eq!(
        meta.expires_at,
        Some(later),
        "expiry moves with the extension"
    );
}

#[test]
fn rule3_mode_changes() {
    let (_dir, _clock, db) = setup();
    let until = start().saturating_add(years(1));
    let bypass = WriteOptions::new().bypass_governance("made permanent by the board");
    db.put_with("k", "v", &retained(until)).unwrap();
    assert_eq!(
        db.get_record("k").unwrap().unwrap().meta.mode,
        Some(Mode::Governance)
    );
    assert!(is_locked(db.set_mode(
        "k",
        Mode::Compliance,
        &WriteOptions::new()
    )));
    db.set_mode("k", Mode::Compliance, &bypass).unwrap();
    assert_eq!(
        db.get_record("k").unwrap().unwrap().meta.mode,
        Some(Mode::Compliance)
    );
    assert!(is_locked(db.set_mode("k", Mode::Governance, &bypass)));
    assert!(is_locked(db.set_mode(
        "k",
        Mode::Governance,
        &WriteOptions::new()
    )));
    assert_eq!(count(&db, "mode_changed"), 1);
}

fn hold(id: &str, scope: Scope) -> Hold {
    Hold {
        id: id.into(),
        scope,
        reason: "litigation".into(),
        issuer: "legal@example.com".into(),
    }
}

#[test]
fn rule4_holds_are_independent_of_dates_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let db = open_with(dir.path(), &clock, Disposal::Automatic);
    db.put("cust/1/a", "plain").unwrap();
    let gov = retained(start().saturating_add(days(1))).expires_at(start().saturating_add(days(2)));
    db.put_with("cust/1/b", "kept", &gov).unwrap();
    db.place_hold(hold("case-1", Scope::Prefix(b"cust/1/".to_vec())))
        .unwrap();
    db.place_hold(hold("case-2", Scope::Key(b"cust/1/a".to_vec())))
        .unwrap();
    assert!(matches!(
        db.place_hold(hold("case-1", Scope::Key(b"x".to_vec()))),
        Err(Error::InvalidArgument(_))
    ));
    let bypass = WriteOptions::new().bypass_governance("try anyway");
    assert!(is_held(db.put("cust/1/a", "changed")));
    assert!(is_held(db.delete("cust/1/a")));
    assert!(is_held(db.write_opt(
        {
            let mut b = WriteBatch::new();
            b.delete("cust/1/b");
            b
        },
        &bypass
    )));
    // A new key under a held prefix can be created (nothing to preserve).
    db.put("cust/1/new", "n").unwrap();
    // Expired but held: still visible, never disposed.
    clock.set(start().saturating_add(days(3)));
    db.compact().unwrap();
    assert_eq!(get(&db, "cust/1/b").as_deref(), Some(&b"kept"[..]));
    let holds = db.get_record("cust/1/a").unwrap().unwrap().meta.holds;
    assert_eq!(holds, ["case-1", "case-2"]);
    db.close().unwrap();

    let db = open_with(dir.path(), &clock, Disposal::Automatic);
    assert_eq!(db.holds().len(), 2, "holds persist across restarts");
    assert!(is_held(db.put("cust/1/a", "changed")));
    db.release_hold("case-1").unwrap();
    // Releasing one of several holds frees nothing.
    assert!(is_held(db.put("cust/1/a", "changed")));
    // cust/1/b is free now: expired, so eligible and invisible at once.
    assert_eq!(get(&db, "cust/1/b"), None);
    db.release_hold("case-2").unwrap();
    db.put("cust/1/a", "changed").unwrap();
    assert!(db.release_hold("case-2").is_err());
    assert_eq!(count(&db, "hold_placed"), 2);
    assert_eq!(count(&db, "hold_released"), 2);
}

#[test]
fn rule5_expiry_hides_at_once_and_automatic_disposal_leaves_receipts() {
    // No background purge: with the default window the engine may dispose
    // of the expired record on its own as soon as the clock jumps (before
    // the test looks at the trail), which is correct but racy here; the
    // explicit `compact` below is the disposal under test.
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(start()));
    let options = Options::default()
        .clock(Arc::clone(&clock) as Arc<dyn holdfast::Clock>)
        .disposal(Disposal::Automatic)
        .purge_window(std::time::Duration::MAX);
    let db = Db::open(dir.path(), options).expect("open");
    let expires = start().saturating_add(days(7));
    db.put_with("tmp/1", "gone soon", &Retention::new().expires_at(expires))
        .unwrap();
    db.put("tmp/2", "plain").unwrap();
    db.flush_memtables().unwrap();
    clock.set(expires);
    assert_eq!(get(&db, "tmp/1"), None);
    assert!(db.get_record("tmp/1").unwrap().is_none());
    assert_eq!(contents(&db).len(), 1);
    assert_eq!(db.prefix("tmp/").rev().count(), 1);
    assert_eq!(count(&db, "disposed"), 0);
    db.compact().unwrap();
    let receipts: Vec<_> = audit_events(&db)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Disposed(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(receipts.len(), 1);
    assert_eq!(
        receipts[0].record,
        holdfast::audit::RecordId::Key(b"tmp/1".to_vec())
    );
    assert_eq!(receipts[0].expires_at, expires.as_millis());
    assert_eq!(receipts[0].approver, None);
    // The key may be written again: the disposed record protects nothing.
    db.put("tmp/1", "again").unwrap();
    assert_eq!(get(&db, "tmp/1").as_deref(), Some(&b"again"[..]));
}

#[test]
fn rule5_review_mode_lists_and_disposes_with_approval() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let db = open_with(dir.path(), &clock, Disposal::Review);
    let expires = start().saturating_add(days(1));
    for i in 0..5 {
        db.put_with(format!("r/{i}"), "v", &Retention::new().expires_at(expires))
            .unwrap();
    }
    assert!(db.dispose(["r/0"], "auditor").is_err(), "not expired yet");
    clock.set(expires);
    db.compact().unwrap(); // review mode: compaction disposes of nothing
    assert_eq!(count(&db, "disposed"), 0);
    let eligible: Vec<_> = db.eligible_for_disposal().unwrap().map(|r| r.key).collect();
    assert_eq!(eligible.len(), 5);
    db.place_hold(hold("h", Scope::Key(b"r/4".to_vec())))
        .unwrap();
    assert_eq!(db.eligible_for_disposal().unwrap().count(), 4);
    assert!(is_held(db.dispose(["r/4"], "auditor").map(|_| ())));
    assert_eq!(db.dispose(["r/0", "r/1"], "records-manager").unwrap(), 2);
    assert_eq!(db.eligible_for_disposal().unwrap().count(), 2);
    let approvers: Vec<_> = audit_events(&db)
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Disposed(r) => r.approver,
            _ => None,
        })
        .collect();
    assert_eq!(approvers, ["records-manager", "records-manager"]);
    assert_eq!(get(&db, "r/4").as_deref(), Some(&b"v"[..]), "held: visible");
}

#[test]
fn rule6_policies_defaults_and_events() {
    let (_dir, clock, db) = setup();
    db.define_policy(Policy::new("invoice").retain_for(years(7)).then_dispose())
        .unwrap();
    db.define_policy(
        Policy::new("account")
            .retain_for(years(1))
            .retain_after_event("account-closed", years(6))
            .compliance()
            .then_dispose(),
    )
    .unwrap();
    // Same definition again: fine; a different one: refused.
    db.define_policy(Policy::new("invoice").retain_for(years(7)).then_dispose())
        .unwrap();
    assert!(db
        .define_policy(Policy::new("invoice").retain_for(years(1)))
        .is_err());

    db.put_with("inv/1", "v", &Retention::new().policy("invoice"))
        .unwrap();
    let meta = db.get_record("inv/1").unwrap().unwrap().meta;
    let seven = start().saturating_add(years(7));
    assert_eq!(meta.written_at, Some(start()));
    assert_eq!(meta.retain_until, Some(seven));
    assert_eq!(meta.expires_at, Some(seven));
    assert_eq!(meta.policy.as_deref(), Some("invoice"));

    // Defaults by prefix, for plain puts too; later changes affect later writes.
    db.put("acct/1/before-default", "v").unwrap();
    db.set_default_policy("acct/", "account").unwrap();
    db.put("acct/1/stmt", "v").unwrap();
    db.put_with("acct/1/own", "v", &Retention::new().policy("invoice"))
        .unwrap();
    assert_eq!(
        db.get_record("acct/1/before-default")
            .unwrap()
            .unwrap()
            .meta
            .policy,
        None
    );
    assert_eq!(
        db.get_record("acct/1/own")
            .unwrap()
            .unwrap()
            .meta
            .policy
            .as_deref(),
        Some("invoice")
    );
    let pending = db.get_record("acct/1/stmt").unwrap().unwrap().meta;
    assert_eq!(pending.event_pending.as_deref(), Some("account-closed"));
    assert_eq!(pending.retain_until, Some(Timestamp::MAX));
    assert_eq!(pending.mode, Some(Mode::Compliance));
    // Retained indefinitely while the event is pending.
    clock.set(start().saturating_add(years(50)));
    assert!(is_locked(db.delete("acct/1/stmt")));
    let closed = start().saturating_add(years(49));
    db.record_event("account-closed", Scope::Prefix(b"acct/1/".to_vec()), closed)
        .unwrap();
    let dated = db.get_record("acct/1/stmt").unwrap().unwrap().meta;
    assert_eq!(dated.event_pending, None);
    assert_eq!(dated.retain_until, Some(closed.saturating_add(years(6))));
    assert!(is_locked(db.delete("acct/1/stmt")));
    clock.set(closed.saturating_add(years(6)));
    assert_eq!(
        get(&db, "acct/1/stmt"),
        None,
        "eligible once the event's clock ran out"
    );
    assert!(
        db.record_event("account-closed", Scope::Key(b"k".to_vec()), Timestamp::MAX)
            .is_err(),
        "events in the future are refused"
    );
    assert_eq!(count(&db, "policy_defined"), 2);
    assert_eq!(count(&db, "event_recorded"), 1);
    assert_eq!(count(&db, "default_policy_set"), 1);
}

#[test]
fn rule7_input_checks_write_nothing() {
    let (_dir, _clock, db) = setup();
    let past = start().saturating_add(days(0));
    let future = start().saturating_add(days(10));
    let sooner = start().saturating_add(days(5));
    let invalid = |r: holdfast::Result<()>| matches!(r, Err(Error::InvalidArgument(_)));
    assert!(invalid(db.put_with("k", "v", &retained(past))));
    assert!(invalid(db.put_with(
        "k",
        "v",
        &retained(future).expires_at(sooner)
    )));
    assert!(invalid(db.put_with(
        "k",
        "v",
        &Retention::new().policy("nope")
    )));
    assert!(invalid(db.put_with(
        "k",
        "v",
        &Retention::new().compliance()
    )));
    assert!(invalid(db.place_hold(hold("", Scope::Key(b"k".to_vec())))));
    assert!(invalid(db.set_default_policy("p/", "nope")));
    let mut batch = WriteBatch::new();
    batch.put("a", "1").put_with("k", "v", &retained(past));
    assert!(invalid(db.write(batch)));
    assert!(contents(&db).is_empty());
    assert_eq!(count(&db, "retention_set"), 0);
}

#[test]
fn rule8_time_never_runs_backwards_and_a_failed_clock_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let until = start().saturating_add(days(10));
    {
        let db = open_with(dir.path(), &clock, Disposal::Automatic);
        clock.set(start().saturating_add(days(5)));
        db.put_with("k", "v", &retained(until)).unwrap();
        // The clock jumps back: "now" stays where it was.
        clock.set(start());
        assert!(
            matches!(
                db.put_with("k2", "v", &retained(start().saturating_add(days(4)))),
                Err(Error::InvalidArgument(_))
            ),
            "a date before the engine's now is in the past, whatever the clock says"
        );
        db.close().unwrap();
    }
    // Across a restart too.
    clock.set(Timestamp::from_millis(0));
    let db = open_with(dir.path(), &clock, Disposal::Automatic);
    let meta = db.get_record("k").unwrap().unwrap().meta;
    assert_eq!(meta.written_at, Some(start().saturating_add(days(5))));
    assert!(is_locked(db.delete("k")));
    clock.fail("NTP daemon gone");
    assert!(matches!(
        db.put_with("k3", "v", &retained(until)),
        Err(Error::ClockUnavailable(_))
    ));
    assert!(matches!(db.delete("k"), Err(Error::ClockUnavailable(_))));
    assert_eq!(get(&db, "k").as_deref(), Some(&b"v"[..]), "reads go on");
    clock.set(until);
    db.delete("k").unwrap();
}

#[test]
fn dates_far_ahead_and_around_leap_days() {
    let (_dir, clock, db) = setup();
    let y2400 = Timestamp::from_date(2400, 2, 29).expect("2400 is a leap year");
    assert!(Timestamp::from_date(2100, 2, 29).is_none());
    db.put_with("far", "v", &retained(y2400).compliance())
        .unwrap();
    assert_eq!(
        db.get_record("far").unwrap().unwrap().meta.retain_until,
        Some(y2400)
    );
    db.define_policy(Policy::new("one-year").retain_for(years(1)).then_dispose())
        .unwrap();
    clock.set(Timestamp::from_date(2028, 2, 29).unwrap());
    db.put_with("leap", "v", &Retention::new().policy("one-year"))
        .unwrap();
    let meta = db.get_record("leap").unwrap().unwrap().meta;
    assert_eq!(meta.retain_until, Timestamp::from_date(2029, 2, 28));
    clock.set(Timestamp::from_date(2399, 12, 31).unwrap());
    assert!(is_locked(db.delete("far")));
    clock.set(y2400);
    db.delete("far").unwrap();
}
