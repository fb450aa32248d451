//! `put`, `get`, `delete`, `scan`, `stats`, `compact` and `checkpoint`,
//! in text, JSON and hex.

mod common;
use common::{holdfast, small_db};

#[test]
fn put_get_delete_round_trip_in_text_json_and_hex() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new");
    let db = db.to_str().unwrap();
    // Write commands create a database only when asked.
    assert_eq!(holdfast([db, "put", "k", "v"]).code, 1);
    holdfast([db, "put", "--create", "k", "v"]).ok();
    holdfast([db, "put", "user/1", "ada"]).ok();
    assert_eq!(holdfast([db, "get", "user/1"]).ok().stdout, "ada\n");
    let got = holdfast([db, "get", "user/1", "--json"]).ok().json();
    assert_eq!(got["value"], "ada");

    // Non-UTF-8 bytes: hex in, escaped or hex out.
    holdfast(["--hex", db, "put", "00ff", "0a5c41"]).ok();
    assert_eq!(
        holdfast(["--hex", db, "get", "00ff"]).ok().stdout,
        "0a5c41\n"
    );
    let scan = holdfast([db, "scan", "--json"]).ok().json();
    assert_eq!(scan[0]["key"], "\\x00\\xff");
    assert_eq!(scan[0]["value"], "\\x0a\\\\A");

    holdfast([db, "delete", "user/1"]).ok();
    let missing = holdfast([db, "get", "user/1"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
}

#[test]
fn scan_bounds_limits_and_reverses() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let db = db.to_str().unwrap();
    let keys = |args: &[&str]| -> Vec<String> {
        let mut all = vec![db, "scan", "--json", "--keys-only"];
        all.extend_from_slice(args);
        let json = holdfast(all).ok().json();
        json.as_array()
            .unwrap()
            .iter()
            .map(|p| p["key"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(keys(&["--prefix", "user/"]).len(), 50);
    assert_eq!(
        keys(&["--prefix", "user/", "--limit", "2"]),
        ["user/000", "user/001"]
    );
    assert_eq!(
        keys(&["--prefix", "user/", "--limit", "1", "--reverse"]),
        ["user/049"]
    );
    assert_eq!(
        keys(&["--from", "user/010", "--to", "user/012"]),
        ["user/010", "user/011"]
    );
    assert_eq!(keys(&["--from", "w"]), ["wal/only"]);
    let text = holdfast([db, "scan", "--prefix", "oth"]).ok().stdout;
    assert_eq!(text, "other\tx\n");
    // --prefix and --from are exclusive: a usage error.
    assert_eq!(
        holdfast([db, "scan", "--prefix", "a", "--from", "b"]).code,
        2
    );
}

#[test]
fn stats_and_compact_report_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let db = db.to_str().unwrap();
    let stats = holdfast([db, "stats", "--json"]).ok().json();
    assert_eq!(stats["levels"][0]["tables"], 1);
    assert!(stats["table_bytes"].as_u64().unwrap() > 0);
    assert!(stats["last_seq"].as_u64().unwrap() >= 52);
    assert_eq!(stats["levels"][0]["entries"], 51, "one table of 51 entries");
    assert_eq!(stats["records"]["with_metadata"], 0);
    assert!(
        stats["write_amplification"].is_null(),
        "nothing written since open"
    );
    let text = holdfast([db, "stats"]).ok().stdout;
    assert!(text.contains("space amplification"), "{text}");
    assert!(text.contains("0 with metadata"), "{text}");

    let compacted = holdfast([db, "compact", "--json"]).ok().json();
    assert!(compacted["table_bytes_after"].as_u64().unwrap() > 0);
    let stats = holdfast([db, "stats", "--json"]).ok().json();
    assert_eq!(stats["levels"][0]["tables"], 0, "compact empties level 0");
    assert_eq!(holdfast([db, "get", "user/007"]).ok().stdout, "name 7\n");
}

#[test]
fn checkpoint_writes_an_openable_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let db = db.to_str().unwrap();
    let copy = dir.path().join("copy");
    let copy = copy.to_str().unwrap();
    let report = holdfast([db, "checkpoint", copy, "--json"]).ok().json();
    assert!(report["seq"].as_u64().unwrap() >= 52);
    // The table written before, and possibly the flush of the memtable
    // frozen at the cut, if it installs before the cut reads the version.
    let linked = report["tables_linked"].as_u64().unwrap();
    assert!((1..=2).contains(&linked), "{report}");
    // The copy is a database of its own, with what the source held.
    assert_eq!(
        holdfast([copy, "get", "wal/only"]).ok().stdout,
        "in the log\n"
    );
    assert_eq!(holdfast([copy, "get", "user/049"]).ok().stdout, "name 49\n");
    holdfast([copy, "verify", "--quiet"]).ok();
    // A second checkpoint into the same, now non-empty, directory fails.
    let again = holdfast([db, "checkpoint", copy]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);
}
