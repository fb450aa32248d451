//! Real process crashes: a child process (this test binary, re-run with
//! `HOLDFAST_KILL_CHILD_DIR` set) opens a database on the real file system
//! and writes — puts, batches and deletes, a third of them synced, with
//! background flushes and compactions running — and reports over its
//! stdout pipe each write it is about to issue and each write that was
//! acknowledged. The parent kills it with SIGKILL at a random moment
//! (also during its open), reopens the database and checks:
//!
//! 1. every acknowledged write is there — synced or not: a process crash
//!    loses nothing handed to the operating system, and with the default
//!    `wal_buffer_bytes` of 0 every acknowledged write was;
//! 2. every acknowledged delete stayed deleted;
//! 3. every key present has exactly the value its writer wrote, and every
//!    key present was at least announced (nothing never written);
//! 4. a batch is all or nothing, acknowledged or not;
//! 5. records layer: every acknowledged record with retention (a tenth of
//!    the writes) has its retain-until date and refuses a delete, every
//!    acknowledged legal hold is in force, no hold or record metadata
//!    appears that was never announced, and the audit trail verifies.
//!
//! CI runs 300 cycles; `HOLDFAST_KILL_CYCLES=N` runs N (a new database
//! every 30 cycles keeps each one small).

use holdfast::{Db, Error, Hold, Options, Retention, Scope, Timestamp, WriteBatch, WriteOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIR_ENV: &str = "HOLDFAST_KILL_CHILD_DIR";
const CHILD_START_ENV: &str = "HOLDFAST_KILL_CHILD_START";
const CYCLES_PER_DATABASE: u64 = 30;

fn options() -> Options {
    Options::default()
        .memtable_bytes(64 << 10)
        .target_table_bytes(16 << 10)
        .level1_bytes(64 << 10)
        .table_block_bytes(1024)
        .background_threads(2)
        .l0_triggers(2, 8, 12)
}

fn key(id: u64) -> String {
    format!("key{id:012}")
}

/// The only value ever written under `key(id)`.
fn value(id: u64) -> Vec<u8> {
    let mut v = format!("value-of-{id}-").into_bytes();
    let len = (id.wrapping_mul(2_654_435_761) % 1500) as usize;
    v.extend((0..len).map(|i| b'a' + ((id as usize + i) % 26) as u8));
    v
}

/// The retain-until date of every record with retention.
fn until() -> Timestamp {
    Timestamp::from_date(2400, 1, 1).expect("date")
}

fn hold_id(n: u64) -> String {
    format!("hold-{n}")
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The child: writes until it is killed. Protocol, one line each:
/// `P id` / `p id` — put of `id` announced / acknowledged;
/// `B id n` / `b id` — batch of ids `id..id+n` announced / acknowledged;
/// `D id` / `d id` — delete of `id` (a put acknowledged in this run);
/// `R id` / `r id` — put of `id` with retention announced / acknowledged;
/// `H n` / `h n` — legal hold `hold-n` announced / acknowledged.
#[test]
fn kill_child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return; // Not a child: nothing to do.
    };
    let start: u64 = std::env::var(CHILD_START_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        // A line is written whole with its newline, then flushed.
        let _ = out.write_all(format!("{line}\n").as_bytes());
        let _ = out.flush();
    };
    let db = Db::open(&dir, options()).expect("child open");
    say("ready".into());
    let mut rng = start | 1;
    let mut id = start;
    let mut acked_puts: Vec<u64> = Vec::new();
    loop {
        let sync = xorshift(&mut rng).is_multiple_of(3);
        let write = WriteOptions::new().sync(sync);
        match xorshift(&mut rng) % 20 {
            0..=9 => {
                say(format!("P {id}"));
                db.put(key(id), value(id)).expect("child put");
                if sync {
                    db.flush().expect("child flush");
                }
                say(format!("p {id}"));
                acked_puts.push(id);
                id += 1;
            }
            10..=15 => {
                let n = 2 + xorshift(&mut rng) % 4;
                say(format!("B {id} {n}"));
                let mut batch = WriteBatch::new();
                for i in id..id + n {
                    batch.put(key(i), value(i));
                }
                db.write_opt(batch, &write).expect("child batch");
                say(format!("b {id}"));
                id += n;
            }
            16 => {
                say(format!("R {id}"));
                let retention = Retention::new().retain_until(until()).governance();
                db.put_with(key(id), value(id), &retention)
                    .expect("child put_with");
                if sync {
                    db.flush().expect("child flush");
                }
                say(format!("r {id}"));
                id += 1;
            }
            17 => {
                // Over a key never written: holds refuse changes of what
                // they cover, and the writes here must not fail.
                say(format!("H {id}"));
                db.place_hold(Hold {
                    id: hold_id(id),
                    scope: Scope::Key(format!("held{id}").into_bytes()),
                    reason: "kill test".into(),
                    issuer: "parent".into(),
                })
                .expect("child hold");
                say(format!("h {id}"));
            }
            _ => {
                if let Some(victim) = acked_puts.pop() {
                    say(format!("D {victim}"));
                    let mut batch = WriteBatch::new();
                    batch.delete(key(victim));
                    db.write_opt(batch, &write).expect("child delete");
                    say(format!("d {victim}"));
                }
            }
        }
    }
}

/// What the parent knows from the pipe.
#[derive(Default)]
struct Model {
    /// Puts acknowledged and not deleted since.
    present: BTreeSet<u64>,
    /// Deletes acknowledged.
    deleted: BTreeSet<u64>,
    /// Deletes announced and never acknowledged: either outcome is right.
    maybe_deleted: BTreeSet<u64>,
    /// Every id ever announced (as a put or in a batch).
    announced: BTreeSet<u64>,
    /// Batches announced: `(first id, count)`, and whether acknowledged.
    batches: Vec<(u64, u64, bool)>,
    acked_writes: u64,
    /// Records with retention announced, and acknowledged.
    retained_announced: BTreeSet<u64>,
    retained: BTreeSet<u64>,
    /// Holds announced, and acknowledged.
    holds_announced: BTreeSet<u64>,
    holds: BTreeSet<u64>,
}

impl Model {
    fn apply(&mut self, line: &str) {
        let mut parts = line.split(' ');
        let tag = parts.next().unwrap_or("");
        let id: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        match tag {
            "P" => {
                self.announced.insert(id);
            }
            "p" => {
                self.present.insert(id);
                self.acked_writes += 1;
            }
            "B" => {
                let n: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                self.announced.extend(id..id + n);
                self.batches.push((id, n, false));
            }
            "b" => {
                if let Some(batch) = self.batches.iter_mut().rev().find(|b| b.0 == id) {
                    batch.2 = true;
                    self.present.extend(id..id + batch.1);
                }
                self.acked_writes += 1;
            }
            "D" => {
                self.maybe_deleted.insert(id);
            }
            "R" => {
                self.announced.insert(id);
                self.retained_announced.insert(id);
            }
            "r" => {
                self.present.insert(id);
                self.retained.insert(id);
                self.acked_writes += 1;
            }
            "H" => {
                self.holds_announced.insert(id);
            }
            "h" => {
                self.holds.insert(id);
                self.acked_writes += 1;
            }
            "d" => {
                self.present.remove(&id);
                self.maybe_deleted.remove(&id);
                self.deleted.insert(id);
                self.acked_writes += 1;
            }
            _ => {}
        }
    }
}

/// Checks the reopened database.
fn verify(dir: &Path, model: &Model, cycle: u64) {
    let db = Db::open(dir, options())
        .unwrap_or_else(|e| panic!("cycle {cycle}: reopen after SIGKILL failed: {e}"));
    for &id in model.present.difference(&model.maybe_deleted) {
        let got = db.get(key(id)).expect("get");
        assert!(
            got.as_deref() == Some(&value(id)[..]),
            "cycle {cycle}: acknowledged write of id {id} lost or wrong (got {:?} bytes)",
            got.map(|v| v.len())
        );
    }
    for &id in &model.deleted {
        assert_eq!(
            db.get(key(id)).expect("get"),
            None,
            "cycle {cycle}: acknowledged delete of id {id} undone"
        );
    }
    let mut seen = BTreeSet::new();
    for item in db.range::<&[u8], _>(..) {
        let (k, v) = item.expect("scan");
        let text = std::str::from_utf8(&k).expect("utf-8 key");
        let id: u64 = text
            .strip_prefix("key")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("cycle {cycle}: unknown key {text}"));
        assert!(
            model.announced.contains(&id),
            "cycle {cycle}: key of id {id} was never written"
        );
        assert!(v == value(id), "cycle {cycle}: wrong value for id {id}");
        seen.insert(id);
    }
    verify_records(&db, model, &seen, cycle);
    for &(first, n, acked) in &model.batches {
        let present = (first..first + n).filter(|i| seen.contains(i)).count() as u64;
        let deleted_since = (first..first + n)
            .any(|i| model.deleted.contains(&i) || model.maybe_deleted.contains(&i));
        assert!(
            deleted_since || present == 0 || present == n,
            "cycle {cycle}: batch {first}+{n} (acknowledged: {acked}) is partly there ({present})"
        );
    }
    db.close().expect("close");
}

/// Check 5 of the module documentation.
fn verify_records(db: &Db, model: &Model, seen: &BTreeSet<u64>, cycle: u64) {
    for &id in seen {
        let record = db.get_record(key(id)).expect("get_record").expect("seen");
        let retained = record.meta.retain_until.is_some();
        assert_eq!(
            retained,
            model.retained_announced.contains(&id),
            "cycle {cycle}: id {id} has retention {:?}, announced with retention: {}",
            record.meta.retain_until,
            model.retained_announced.contains(&id)
        );
        if retained {
            assert_eq!(record.meta.retain_until, Some(until()));
        }
    }
    for &id in &model.retained {
        assert!(seen.contains(&id), "cycle {cycle}: retained id {id} lost");
    }
    if let Some(&id) = model.retained.iter().next_back() {
        assert!(
            matches!(db.delete(key(id)), Err(Error::RetentionLocked { .. })),
            "cycle {cycle}: a retained record accepted a delete"
        );
    }
    let holds: BTreeSet<u64> = db
        .holds()
        .iter()
        .map(|h| {
            h.hold
                .id
                .strip_prefix("hold-")
                .and_then(|n| n.parse().ok())
                .unwrap_or(u64::MAX)
        })
        .collect();
    for id in &model.holds {
        assert!(
            holds.contains(id),
            "cycle {cycle}: acknowledged hold {id} lost"
        );
    }
    for id in &holds {
        assert!(
            model.holds_announced.contains(id),
            "cycle {cycle}: hold {id} was never placed"
        );
    }
    let head = db
        .audit()
        .verify()
        .unwrap_or_else(|e| panic!("cycle {cycle}: the audit trail does not verify: {e}"));
    let expected = (model.retained.len() + model.holds.len()) as u64;
    assert!(
        head.seq >= expected,
        "cycle {cycle}: {} audit entries for {expected} acknowledged retention events",
        head.seq
    );
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_write() {
    if std::env::var(CHILD_DIR_ENV).is_ok() {
        return; // Inside a child: only `kill_child_writer` runs.
    }
    let cycles: u64 = std::env::var("HOLDFAST_KILL_CYCLES")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(300);
    let exe = std::env::current_exe().expect("test binary");
    let started = Instant::now();
    let mut seed = 0x9E37_79B9_u64 ^ cycles;
    let mut model = Model::default();
    let mut tmp = tempfile::tempdir().expect("tempdir");
    let (mut total_acked, mut killed_before_ready) = (0u64, 0u64);
    let (mut total_retained, mut total_holds) = (0usize, 0usize);
    for cycle in 0..cycles {
        if cycle % CYCLES_PER_DATABASE == 0 && cycle > 0 {
            total_acked += model.acked_writes;
            total_retained += model.retained.len();
            total_holds += model.holds.len();
            model = Model::default();
            tmp = tempfile::tempdir().expect("tempdir");
        }
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, tmp.path())
            .env(CHILD_START_ENV, (cycle * 10_000_000).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                // A line cut by the kill has no newline: it never happened.
                if line.ends_with(b"\n") {
                    lines.push(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
                }
                line.clear();
            }
            lines
        });
        // Up to 150 ms after the spawn: some kills land in the child's
        // start-up or its open, most while it writes.
        let delay = xorshift(&mut seed) % 150;
        std::thread::sleep(Duration::from_millis(10 + delay));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap child");
        let lines = reader.join().expect("reader");
        if !lines.iter().any(|l| l.ends_with("ready")) {
            killed_before_ready += 1;
        }
        for line in &lines {
            model.apply(line);
        }
        verify(tmp.path(), &model, cycle);
    }
    total_acked += model.acked_writes;
    total_retained += model.retained.len();
    total_holds += model.holds.len();
    eprintln!(
        "kill cycles: {cycles} SIGKILLs in {:.1}s, {total_acked} acknowledged writes checked ({total_retained} records with retention, {total_holds} legal holds), {killed_before_ready} kills before the child's open returned",
        started.elapsed().as_secs_f64()
    );
    assert!(total_acked > cycles, "the children hardly wrote anything");
    assert!(
        total_retained > 0 && total_holds > 0,
        "the children wrote no records-layer operations"
    );
}

#[test]
fn values_are_distinct_per_id() {
    let ids: BTreeMap<Vec<u8>, u64> = (0..1000).map(|id| (value(id), id)).collect();
    assert_eq!(ids.len(), 1000);
}
