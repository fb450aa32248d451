//! Records, at build time, the versions of the engines (from the
//! workspace's `Cargo.lock`) and of rustc, for the report.

use std::path::Path;
use std::process::Command;

fn main() {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let crates = [
        ("holdfast", "HOLDFAST"),
        ("rocksdb", "ROCKSDB"),
        ("librocksdb-sys", "LIBROCKSDB_SYS"),
        ("fjall", "FJALL"),
        ("redb", "REDB"),
        ("sled", "SLED"),
        ("plotters", "PLOTTERS"),
    ];
    for (name, var) in crates {
        let version = locked_version(&text, name).unwrap_or_else(|| "unknown".into());
        println!("cargo:rustc-env=BENCH_VERSION_{var}={version}");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BENCH_RUSTC_VERSION={version}");
}

/// The version of the first `[[package]]` named `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let needle = format!("name = \"{name}\"\nversion = \"");
    let start = lock.find(&needle)? + needle.len();
    let end = lock[start..].find('"')? + start;
    Some(lock[start..end].to_string())
}
