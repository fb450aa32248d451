//! Helpers of the CLI's integration tests: run the `holdfast` binary,
//! build databases with the library.

#![allow(dead_code, reason = "each test file uses a part of the helpers")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Asserts exit code 0 and returns self.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `holdfast` with `args`.
pub fn holdfast<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out: Output = Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A database with a few keys, flushed to one table, then closed.
pub fn small_db(dir: &Path) -> PathBuf {
    let path = dir.join("db");
    let db = holdfast::Db::open(&path, holdfast::Options::default()).unwrap();
    for i in 0..50 {
        db.put(format!("user/{i:03}"), format!("name {i}")).unwrap();
    }
    db.put("other", "x").unwrap();
    db.flush_memtables().unwrap();
    db.put("wal/only", "in the log").unwrap();
    db.close().unwrap();
    path
}

/// The files of `dir` whose names contain `part`, sorted.
pub fn files(dir: &Path, part: &str) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(part))
        .collect();
    out.sort();
    out
}
