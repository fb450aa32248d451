//! Useful errors and exit codes: a missing database is never created, a
//! locked one is named, usage errors exit 2, `--help` works everywhere.

mod common;
use common::{holdfast, small_db};

#[test]
fn a_missing_database_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let path = missing.to_str().unwrap();
    for args in [
        vec![path, "stats"],
        vec![path, "get", "k"],
        vec![path, "scan"],
        vec![path, "verify"],
        vec![path, "holds", "list"],
        vec![path, "audit", "verify"],
    ] {
        let run = holdfast(&args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(
            run.stderr.contains("no holdfast database"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(!missing.exists(), "a read command created the database");
    // An existing but empty directory is no database either.
    assert_eq!(holdfast([dir.path().to_str().unwrap(), "stats"]).code, 1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_locked_database_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_db(dir.path());
    let db = holdfast::Db::open(&path, holdfast::Options::default()).unwrap();
    let p = path.to_str().unwrap();
    for args in [vec![p, "get", "other"], vec![p, "verify"]] {
        let run = holdfast(&args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(run.stderr.contains("locked"), "{args:?}: {}", run.stderr);
    }
    db.close().unwrap();
    assert_eq!(holdfast([p, "get", "other"]).ok().stdout, "x\n");
}

#[test]
fn usage_errors_exit_2_and_every_command_has_help_with_examples() {
    assert_eq!(holdfast(["--no-such-flag"]).code, 2);
    assert_eq!(holdfast(["db", "frobnicate"]).code, 2);
    assert_eq!(holdfast(["db", "get"]).code, 2, "missing key");
    assert_eq!(holdfast(["--hex", "db", "get", "xyz"]).code, 2, "bad hex");
    assert_eq!(holdfast(["stats"]).code, 2, "no database given");
    let help = holdfast(["--help"]).ok().stdout;
    assert!(help.contains("Exit codes"), "{help}");
    for command in [
        &["stats"][..],
        &["get"],
        &["put"],
        &["delete"],
        &["scan"],
        &["verify"],
        &["compact"],
        &["dump"],
        &["holds"],
        &["policies"],
        &["audit"],
        &["holds", "list"],
        &["holds", "place"],
        &["holds", "release"],
        &["policies", "list"],
        &["audit", "verify"],
        &["audit", "export"],
        &["audit", "checkpoint"],
        &["eligible"],
        &["purge"],
    ] {
        let mut args = vec!["db"];
        args.extend_from_slice(command);
        args.push("--help");
        let run = holdfast(&args).ok();
        assert!(
            run.stdout.contains("Example"),
            "{command:?}:\n{}",
            run.stdout
        );
    }
}
