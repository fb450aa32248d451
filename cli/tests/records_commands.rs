//! `holds`, `policies` and `audit`.

mod common;
use common::{holdfast, small_db};
use holdfast::{years, Db, Options, Policy};

#[test]
fn holds_are_placed_listed_and_released_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    let p = path.to_str().unwrap();
    holdfast([
        p,
        "holds",
        "place",
        "case-7",
        "--prefix",
        "user/",
        "--issuer",
        "legal",
        "--reason",
        "litigation",
    ])
    .ok();
    holdfast([
        p, "holds", "place", "h2", "--key", "other", "--issuer", "legal",
    ])
    .ok();
    let list = holdfast([p, "holds", "list", "--json"]).ok().json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], "case-7");
    assert_eq!(list[0]["scope"], "prefix");
    assert_eq!(list[0]["bytes"], "user/");
    assert_eq!(list[0]["issuer"], "legal");
    // A held key cannot be deleted.
    let refused = holdfast([p, "delete", "user/001"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("legal hold"), "{}", refused.stderr);
    holdfast([p, "holds", "release", "case-7"]).ok();
    let text = holdfast([p, "holds", "list"]).ok().stdout;
    assert!(text.starts_with("h2\tkey other"), "{text}");
    assert_eq!(holdfast([p, "holds", "release", "nope"]).code, 1);
    assert_eq!(
        holdfast([p, "holds", "place", "x", "--issuer", "a"]).code,
        2,
        "no scope"
    );

    let export = holdfast([p, "audit", "export"]).ok().stdout;
    let types: Vec<String> = export
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(types.contains(&"hold_placed".to_string()), "{types:?}");
    assert!(types.contains(&"hold_released".to_string()), "{types:?}");
}

#[test]
fn policies_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    let db = Db::open(&path, Options::default()).unwrap();
    db.define_policy(Policy::new("invoice").retain_for(years(7)).then_dispose())
        .unwrap();
    db.close().unwrap();
    let p = path.to_str().unwrap();
    let json = holdfast([p, "policies", "list", "--json"]).ok().json();
    assert_eq!(json[0]["name"], "invoice");
    assert_eq!(json[0]["mode"], "governance");
    assert_eq!(json[0]["disposes"], true);
    let text = holdfast([p, "policies", "list"]).ok().stdout;
    assert!(
        text.contains("invoice\tgovernance; retain") && text.contains("then dispose"),
        "{text}"
    );
}

#[test]
fn audit_checkpoint_and_verify_against_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    let p = path.to_str().unwrap();
    holdfast([
        p, "holds", "place", "h", "--key", "other", "--issuer", "legal",
    ])
    .ok();
    let checkpoint = holdfast([p, "audit", "checkpoint"])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(checkpoint.contains(':'), "{checkpoint}");
    let verified = holdfast([p, "audit", "verify", "--against", &checkpoint]).ok();
    assert!(
        verified.stdout.contains("matches the checkpoint"),
        "{}",
        verified.stdout
    );
    let json = holdfast([p, "audit", "verify", "--json"]).ok().json();
    assert_eq!(json["ok"], true);
    // A checkpoint from another history fails; a malformed one is usage.
    let (seq, _) = checkpoint.split_once(':').unwrap();
    let forged = format!("{seq}:{}", "ab".repeat(32));
    assert_eq!(
        holdfast([p, "audit", "verify", "--against", &forged]).code,
        1
    );
    assert_eq!(
        holdfast([p, "audit", "verify", "--against", "garbage"]).code,
        2
    );
}
