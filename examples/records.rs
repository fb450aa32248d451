//! The records layer end to end, on a fresh temporary directory, with a
//! [`ManualClock`] that travels eight years in a fraction of a second:
//!
//! 1. a retention policy ("invoices: 7 years, Compliance, then dispose")
//!    made the default for the `invoice/` prefix;
//! 2. invoices written with plain `put`s, which the default turns into
//!    protected records; an overwrite refused, even with a governance
//!    bypass; an audit checkpoint kept *outside* the database;
//! 3. a litigation hold on one customer's invoices; seven years later the
//!    other customer's invoices are eligible, the held ones are not, and
//!    deleting one of them is refused;
//! 4. disposal in Review mode: list, approve, read the receipts; purge,
//!    and check that the values' bytes are gone from every file;
//! 5. the hold released and the rest disposed of; a clock set back
//!    changes nothing; the audit trail verified, checked against the
//!    checkpoint, and exported as JSON lines.
//!
//! Every outcome it prints is also asserted, so it cannot silently go
//! wrong. The guide to all of this is `docs/RECORDS.md`.
//!
//! ```text
//! cargo run --release --example records
//! ```

use holdfast::audit::RecordId;
use holdfast::{
    years, AuditCheckpoint, AuditEvent, Db, Disposal, Error, Hold, ManualClock, Mode, Options,
    Policy, Retention, Scope, Timestamp, WriteBatch, WriteOptions,
};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const ACME_1: &str = "invoice/acme/2026-0001";
const ACME_2: &str = "invoice/acme/2026-0002";
const GLOBEX_1: &str = "invoice/globex/2026-0001";
const GLOBEX_2: &str = "invoice/globex/2026-0002";
const NOTE: &str = "notes/2026-01-15";
const HOLD_ID: &str = "case-2029-117";
const APPROVER: &str = "records-manager@example.com";

/// The invoices' values: unique strings, so that the erasure check can
/// look for their bytes in the database's files.
fn value_of(key: &str) -> String {
    let (customer, amount) = match key {
        ACME_1 => ("ACME Corp", "1,200.00"),
        ACME_2 => ("ACME Corp", "860.00"),
        GLOBEX_1 => ("Globex Corporation", "15,400.00"),
        _ => ("Globex Corporation", "2,310.00"),
    };
    format!("{customer}; {amount} EUR; consulting, January 2026; key {key}")
}

fn date(year: i32, month: u32, day: u32) -> Timestamp {
    Timestamp::from_date(year, month, day).expect("a valid date")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn main() -> Result<()> {
    // A fresh, unique directory under the system's temporary directory,
    // removed when `root` is dropped (also if an assertion fails).
    let root = tempfile::Builder::new()
        .prefix("holdfast-records-example-")
        .tempdir_in(std::env::temp_dir())?;
    let db_dir = root.path().join("db");
    // Stands for somewhere the database's owner cannot rewrite: another
    // system, a ticket, a printed report, a timestamping service.
    let escrow = root.path().join("escrow-checkpoint.txt");
    println!("holdfast records example in {}", root.path().display());

    let start = Timestamp::from_utc(2026, 1, 15, 9, 0, 0).expect("a valid time");
    let clock = Arc::new(ManualClock::new(start));
    let options = Options::default()
        .clock(Arc::clone(&clock) as Arc<dyn holdfast::Clock>)
        .disposal(Disposal::Review);
    let db = Db::open(&db_dir, options)?;

    run(&db, &clock, &db_dir, &escrow, start)?;

    db.close()?;
    println!(
        "\nall outcomes as expected; removing {}",
        root.path().display()
    );
    Ok(())
}

fn run(db: &Db, clock: &ManualClock, db_dir: &Path, escrow: &Path, start: Timestamp) -> Result<()> {
    // ------------------------------------------------------------------
    step(&format!("{start}: a policy, and a default for invoice/"));
    db.define_policy(
        Policy::new("invoice-7y")
            .retain_for(years(7))
            .compliance()
            .then_dispose(),
    )?;
    db.set_default_policy("invoice/", "invoice-7y")?;
    println!("defined policy invoice-7y: retain 7 years after creation, Compliance, then dispose");
    println!("set it as the default policy of the prefix \"invoice/\"");

    // ------------------------------------------------------------------
    step("invoices written with plain puts; the default policy protects them");
    for key in [ACME_1, ACME_2, GLOBEX_1, GLOBEX_2] {
        db.put(key, value_of(key))?;
    }
    db.put(NOTE, "call ACME about the February order")?;
    let seven_years = start.saturating_add(years(7)); // 2033-01-15T09:00Z
    let meta = db.get_record(ACME_1)?.expect("just written").meta;
    println!("{ACME_1}:");
    println!("  written_at   {}", show(meta.written_at));
    println!("  retain_until {}", show(meta.retain_until));
    println!("  mode         {:?}", meta.mode.expect("a mode"));
    println!("  expires_at   {}", show(meta.expires_at));
    println!("  policy       {}", meta.policy.as_deref().unwrap_or("-"));
    assert_eq!(meta.written_at, Some(start));
    assert_eq!(meta.retain_until, Some(seven_years));
    assert_eq!(meta.expires_at, Some(seven_years));
    assert_eq!(meta.mode, Some(Mode::Compliance));
    assert_eq!(meta.policy.as_deref(), Some("invoice-7y"));
    let note = db.get_record(NOTE)?.expect("just written").meta;
    println!(
        "{NOTE} (no default covers notes/): written_at {}, retain_until {}",
        show(note.written_at),
        show(note.retain_until)
    );
    assert_eq!((note.written_at, note.retain_until), (None, None));

    // ------------------------------------------------------------------
    step("an overwrite is refused, with or without a governance bypass");
    let refused = db
        .put(ACME_1, "ACME Corp; 12.00 EUR")
        .expect_err("protected");
    println!("put {ACME_1} -> Err: {refused}");
    assert!(matches!(
        refused,
        Error::RetentionLocked { until, mode: Mode::Compliance, .. } if until == seven_years
    ));
    let mut batch = WriteBatch::new();
    batch.put(ACME_1, "ACME Corp; 12.00 EUR");
    let bypass = WriteOptions::new().bypass_governance("typo in the amount");
    let refused = db.write_opt(batch, &bypass).expect_err("Compliance");
    println!("same with bypass_governance -> Err: {refused} (nothing bypasses Compliance)");
    assert!(matches!(refused, Error::RetentionLocked { .. }));
    assert_eq!(
        db.get(ACME_1)?.as_deref(),
        Some(value_of(ACME_1).as_bytes())
    );

    // ------------------------------------------------------------------
    step("an audit checkpoint, kept outside the database");
    let checkpoint = db.audit().checkpoint()?;
    std::fs::write(escrow, checkpoint.to_string())?;
    println!("checkpoint {checkpoint}");
    println!("written to {}", escrow.display());
    assert_eq!(checkpoint.seq, 6, "policy, default, four retention sets");

    // ------------------------------------------------------------------
    clock.set(date(2029, 3, 2));
    step(&format!(
        "{}: litigation — a hold on Globex's invoices",
        date(2029, 3, 2)
    ));
    db.place_hold(Hold {
        id: HOLD_ID.into(),
        scope: Scope::Prefix(b"invoice/globex/".to_vec()),
        reason: "Globex v. Example Ltd, discovery request 4".into(),
        issuer: "legal@example.com".into(),
    })?;
    for placed in db.holds() {
        let scope = match &placed.hold.scope {
            Scope::Key(key) => format!("key {:?}", String::from_utf8_lossy(key)),
            Scope::Prefix(prefix) => format!("prefix {:?}", String::from_utf8_lossy(prefix)),
        };
        println!(
            "hold {} on {scope} by {}, placed {}: {}",
            placed.hold.id, placed.hold.issuer, placed.placed_at, placed.hold.reason
        );
    }
    assert_eq!(db.holds().len(), 1);

    // ------------------------------------------------------------------
    let later = date(2033, 2, 1);
    clock.set(later);
    step(&format!("{later}: seven years on"));
    for key in [ACME_1, ACME_2] {
        let seen = db.get(key)?;
        println!(
            "get {key} -> {:?} (expired and not held: eligible, invisible)",
            seen
        );
        assert!(seen.is_none() && db.get_record(key)?.is_none());
    }
    let globex = db.get_record(GLOBEX_1)?.expect("held records stay visible");
    println!(
        "get_record {GLOBEX_1} -> expired {} but held by {:?}: still visible",
        show(globex.meta.expires_at),
        globex.meta.holds
    );
    assert_eq!(globex.meta.holds, [HOLD_ID]);
    let refused = db.delete(GLOBEX_1).expect_err("held");
    println!("delete {GLOBEX_1} -> Err: {refused}");
    assert!(matches!(&refused, Error::Held { holds, .. } if holds == &[HOLD_ID]));

    // ------------------------------------------------------------------
    step("Review mode: compaction disposes of nothing on its own");
    db.flush_memtables()?;
    db.compact()?;
    assert_eq!(count(db, "disposed")?, 0);
    let eligible: Vec<String> = db
        .eligible_for_disposal()?
        .map(|r| String::from_utf8_lossy(&r.key).into_owned())
        .collect();
    println!("eligible_for_disposal -> {eligible:?}");
    assert_eq!(eligible, [ACME_1, ACME_2]);
    let disposed = db.dispose(&eligible, APPROVER)?;
    println!("dispose(.., {APPROVER:?}) -> {disposed} records disposed of");
    assert_eq!(disposed, 2);

    // ------------------------------------------------------------------
    step("the receipts in the audit trail");
    let receipts = receipts(db)?;
    assert_eq!(receipts.len(), 2);
    for (actor, r) in &receipts {
        let key = match &r.record {
            RecordId::Key(key) => String::from_utf8_lossy(key).into_owned(),
            RecordId::KeyDigest(digest) => format!("digest {}", hex(digest)),
        };
        println!("receipt for {key} (entry actor {actor}):");
        println!("  written_at   {}", Timestamp::from_millis(r.written_at));
        println!(
            "  retain_until {}",
            show(r.retain_until.map(Timestamp::from_millis))
        );
        println!("  expires_at   {}", Timestamp::from_millis(r.expires_at));
        println!("  policy       {}", r.policy.as_deref().unwrap_or("-"));
        println!("  content_hash {}", hex(&r.content_hash));
        println!("  approver     {}", r.approver.as_deref().unwrap_or("-"));
        let expected: [u8; 32] = Sha256::digest(value_of(&key).as_bytes()).into();
        assert_eq!(r.content_hash, expected, "SHA-256 of the destroyed value");
        assert_eq!(r.written_at, start.as_millis());
        assert_eq!(r.retain_until, Some(seven_years.as_millis()));
        assert_eq!(r.expires_at, seven_years.as_millis());
        assert_eq!(r.policy.as_deref(), Some("invoice-7y"));
        assert_eq!(r.approver.as_deref(), Some(APPROVER));
        assert_eq!(actor, APPROVER);
    }
    println!("(each content_hash is the SHA-256 of the value that was destroyed)");

    // ------------------------------------------------------------------
    step("purge: the disposed values' bytes leave every file");
    let before = all_bytes(db_dir)?;
    assert!(
        contains(&before, value_of(ACME_1).as_bytes()),
        "still on disk"
    );
    let report = db.purge()?;
    println!(
        "purge -> disposed {}, files removed {}, written {}, bytes {} -> {}, live snapshots {}",
        report.disposed,
        report.files_removed,
        report.files_written,
        report.bytes_before,
        report.bytes_after,
        report.live_snapshots
    );
    println!("(disposed 0: in Review mode dispose() did the disposing, the purge erases)");
    assert_eq!(report.live_snapshots, 0);
    let after = all_bytes(db_dir)?;
    for key in [ACME_1, ACME_2] {
        assert!(!contains(&after, value_of(key).as_bytes()));
        println!("value of {key}: in no file of the directory any more");
    }
    assert!(contains(&audit_bytes(db_dir)?, ACME_1.as_bytes()));
    println!("key {ACME_1}: still in the audit trail (the receipt names it, by design)");
    for key in [GLOBEX_1, GLOBEX_2] {
        assert!(contains(&after, value_of(key).as_bytes()), "held: kept");
    }

    // ------------------------------------------------------------------
    let settled = date(2034, 6, 1);
    clock.set(settled);
    step(&format!(
        "{settled}: the case is settled, the hold released"
    ));
    let released = db.release_hold(HOLD_ID)?;
    println!(
        "released hold {} (placed {})",
        released.hold.id, released.placed_at
    );
    assert!(db.holds().is_empty());
    assert!(
        db.get(GLOBEX_1)?.is_none(),
        "eligible at once, so invisible"
    );
    let eligible: Vec<_> = db.eligible_for_disposal()?.map(|r| r.key).collect();
    println!("eligible_for_disposal -> {} records", eligible.len());
    assert_eq!(eligible.len(), 2);
    assert_eq!(db.dispose(&eligible, APPROVER)?, 2);
    let report = db.purge()?;
    println!(
        "disposed of both; purge removed {} files",
        report.files_removed
    );
    assert!(!contains(
        &all_bytes(db_dir)?,
        value_of(GLOBEX_1).as_bytes()
    ));

    // ------------------------------------------------------------------
    step("the engine's clock never runs backwards");
    clock.set(date(2026, 1, 1));
    let refused = db
        .put_with(
            "contract/2026-7",
            "signed",
            &Retention::new().retain_until(date(2030, 1, 1)),
        )
        .expect_err("2030 is in the engine's past");
    println!("clock set back to 2026; retain_until 2030 -> Err: {refused}");
    assert!(matches!(refused, Error::InvalidArgument(_)));
    clock.set(settled);

    // ------------------------------------------------------------------
    step("the audit trail: count, verify, verify against the checkpoint, export");
    let entries = db.audit().iter()?.count();
    let head = db.audit().verify()?;
    println!("{entries} entries; verify() -> Ok, head {head}");
    assert_eq!(head.seq, entries as u64);
    // 14 retention events, plus the engine's own `clock_advanced` entries:
    // the clock travelled years, and the high-water mark is recorded once
    // it moves an hour past the trail.
    let clock_entries = db
        .audit()
        .iter()?
        .filter(|e| e.as_ref().is_ok_and(|e| e.event.name() == "clock_advanced"))
        .count();
    println!("of which {clock_entries} clock_advanced");
    assert_eq!(entries - clock_entries, 14);
    let kept: AuditCheckpoint = std::fs::read_to_string(escrow)?.parse()?;
    db.audit().verify_against(&kept)?;
    println!("verify_against(checkpoint {} from escrow) -> Ok", kept.seq);
    let forged = AuditCheckpoint {
        hash: [0xab; 32],
        ..kept
    };
    let detected = db.audit().verify_against(&forged).expect_err("forged");
    println!("verify_against(a forged checkpoint) -> Err: {detected}");
    assert!(detected.is_corruption());
    for (name, n) in [
        ("policy_defined", 1),
        ("default_policy_set", 1),
        ("retention_set", 4),
        ("hold_placed", 1),
        ("hold_released", 1),
        ("disposed", 4),
        ("purged", 2),
    ] {
        assert_eq!(count(db, name)?, n, "{name}");
    }
    let mut jsonl = Vec::new();
    let exported = db.audit().export_jsonl(&mut jsonl)?;
    assert_eq!(exported, head);
    let text = String::from_utf8(jsonl)?;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), entries);
    println!("export_jsonl -> {} lines; the last three:", lines.len());
    for line in &lines[lines.len() - 3..] {
        println!("{line}");
    }
    assert!(lines[lines.len() - 1].contains("\"type\":\"purged\""));
    assert!(lines[lines.len() - 2].contains("\"type\":\"disposed\""));
    Ok(())
}

fn show(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "None".to_string(), |t| t.to_string())
}

/// How many audit entries carry an event named `name`.
fn count(db: &Db, name: &str) -> Result<usize> {
    let mut n = 0;
    for entry in db.audit().iter()? {
        n += usize::from(entry?.event.name() == name);
    }
    Ok(n)
}

/// The disposal receipts in the trail, with the entries' actors.
fn receipts(db: &Db) -> Result<Vec<(String, holdfast::audit::DisposalReceipt)>> {
    let mut out = Vec::new();
    for entry in db.audit().iter()? {
        let entry = entry?;
        if let AuditEvent::Disposed(receipt) = entry.event {
            out.push((entry.actor, receipt));
        }
    }
    Ok(out)
}

/// Every file of the database directory, concatenated.
fn all_bytes(dir: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            out.extend(std::fs::read(path)?);
        }
    }
    Ok(out)
}

/// The audit trail's file (`AUDIT-…` in the database directory).
fn audit_bytes(dir: &Path) -> Result<Vec<u8>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("AUDIT-"))
        {
            return Ok(std::fs::read(path)?);
        }
    }
    Err("no audit file".into())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
