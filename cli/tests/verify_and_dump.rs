//! `verify` finds a flipped byte and names the file; `dump` decodes every
//! file type, as text and as JSON.

mod common;
use common::{files, holdfast, small_db};
use holdfast::{Db, ManualClock, Options, Retention, Timestamp};
use std::sync::Arc;

#[test]
fn verify_is_clean_then_finds_a_flipped_table_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    let p = path.to_str().unwrap();
    let clean = holdfast([p, "verify", "--quiet"]).ok();
    assert!(
        clean.stdout.contains("OK: no problem found"),
        "{}",
        clean.stdout
    );
    let report = holdfast([p, "verify", "--json"]).ok().json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["by_type"]["table"]["files"], 1);
    assert!(report["bytes"].as_u64().unwrap() > 0);

    let table = files(&path, ".table").remove(0);
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[40] ^= 0x04;
    std::fs::write(&table, &bytes).unwrap();
    let run = holdfast([p, "verify"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let name = table.file_name().unwrap().to_str().unwrap();
    assert!(
        run.stdout.contains("PROBLEM") && run.stdout.contains(name),
        "{}",
        run.stdout
    );
    let report = holdfast([p, "verify", "--json"]);
    assert_eq!(report.code, 1);
    let report = report.json();
    assert_eq!(report["ok"], false);
    let problem = &report["problems"][0];
    assert!(problem["file"].as_str().unwrap().ends_with(name));
    assert!(
        problem["detail"].as_str().unwrap().contains("checksum"),
        "{problem}"
    );
    // Dumping the damaged table fails the same way, with file and offset.
    let dump = holdfast(["dump", "table", table.to_str().unwrap()]);
    assert_eq!(dump.code, 1);
    assert!(
        dump.stderr.contains(name) && dump.stderr.contains("offset"),
        "{}",
        dump.stderr
    );
}

#[test]
fn dump_decodes_every_file_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    // A record with retention, left in the WAL: its metadata is dumped.
    let db = Db::open(&path, Options::default()).unwrap();
    let until = Timestamp::from_date(2400, 1, 1).unwrap();
    db.put_with(
        "invoice/1",
        "ACME",
        &Retention::new().retain_until(until).compliance(),
    )
    .unwrap();
    db.close().unwrap();
    let p = path.to_str().unwrap();

    let wal = files(&path, ".wal").pop().unwrap();
    let json = holdfast(["dump", "wal", wal.to_str().unwrap(), "--json"])
        .ok()
        .json();
    let ops: Vec<_> = json["records"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["ops"].as_array().unwrap().clone())
        .collect();
    let record = ops
        .iter()
        .find(|o| o["key"] == "invoice/1")
        .expect("the record");
    assert_eq!(record["kind"], "record");
    assert_eq!(record["value"], "ACME");
    assert_eq!(record["meta"]["mode"], "compliance");
    assert_eq!(
        record["meta"]["retain_until_utc"],
        "2400-01-01T00:00:00.000Z"
    );
    let text = holdfast([p, "dump", "wal", wal.file_name().unwrap().to_str().unwrap()]).ok();
    assert!(
        text.stdout.contains("invoice/1 = ACME [written"),
        "{}",
        text.stdout
    );

    let table = files(&path, ".table").remove(0);
    let json = holdfast(["dump", "table", table.to_str().unwrap(), "--json"])
        .ok()
        .json();
    assert_eq!(json["entries"].as_array().unwrap().len(), 51);
    assert_eq!(json["properties"]["entries"], 51);
    assert_eq!(json["footer"]["format_version"], 1);
    assert_eq!(json["entries"][0]["key"], "other");
    assert!(!json["index"].as_array().unwrap().is_empty());
    let text = holdfast(["dump", "table", table.to_str().unwrap()])
        .ok()
        .stdout;
    assert!(text.contains("user/049 = name 49"), "{text}");

    let manifest = files(&path, "MANIFEST-").remove(0);
    let json = holdfast(["dump", "manifest", manifest.to_str().unwrap(), "--json"])
        .ok()
        .json();
    let edits = json["edits"].as_array().unwrap();
    assert!(
        edits[0]["next_file_number"].is_u64(),
        "the snapshot comes first"
    );
    assert_eq!(edits[0]["added"][0]["smallest"], "other");
    assert!(holdfast(["dump", "manifest", manifest.to_str().unwrap()])
        .ok()
        .stdout
        .contains("add table"));

    let audit = files(&path, "AUDIT-").remove(0);
    let json = holdfast(["dump", "audit", audit.to_str().unwrap(), "--json"])
        .ok()
        .json();
    let entries = json["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["event"]["type"] == "retention_set"),
        "{json}"
    );
    assert_eq!(entries[0]["seq"], 1);
    assert!(json["head"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}:", entries.len())));
    let text = holdfast(["dump", "audit", audit.to_str().unwrap()])
        .ok()
        .stdout;
    assert!(text.contains("retention_set"), "{text}");

    // A file of another type, and a name that is no holdfast file's.
    assert_eq!(
        holdfast(["dump", "table", manifest.to_str().unwrap()]).code,
        1
    );
    assert_eq!(holdfast(["dump", "wal", table.to_str().unwrap()]).code, 1);
}

#[test]
fn eligible_lists_expired_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    // Written in the past: the engine's clock never runs backwards, so a
    // start in the past makes the records expire by the real clock.
    let start = Timestamp::from_date(2020, 1, 1).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let db = Db::open(&path, Options::default().clock(clock)).unwrap();
    let expires = Timestamp::from_date(2021, 1, 1).unwrap();
    db.put_with("old/1", "gone", &Retention::new().expires_at(expires))
        .unwrap();
    db.put("plain", "stays").unwrap();
    db.close().unwrap();
    let p = path.to_str().unwrap();
    let json = holdfast([p, "eligible", "--json"]).ok().json();
    let list = json.as_array().unwrap();
    assert_eq!(list.len(), 1, "{json}");
    assert_eq!(list[0]["key"], "old/1");
    let purged = holdfast([p, "purge", "--json"]).ok().json();
    assert!(purged["bytes_after"].is_u64());
}
