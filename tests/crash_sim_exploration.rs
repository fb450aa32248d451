//! Crash-point exploration on the simulated file system.
//!
//! A seeded workload (puts, deletes, batches, sync and buffered writes,
//! `flush`, `flush_memtables`, `compact`, and the opens and closes around
//! them) runs once on a [`SimFileSystem`] that records, after **every**
//! mutating file operation, the disk images a power cut at that moment
//! would leave — several damage variants each ([`CUTS`]). Every image is
//! then booted and checked against the oracle of `sim_support`:
//!
//! 1. the database opens (the simulator never damages synced data, so
//!    there is no excuse for `Corruption`);
//! 2. forward scan, backward scan and point reads agree;
//! 3. the contents are exactly a prefix of the issued writes (batches
//!    whole, nothing never written), at least every write acknowledged as
//!    durable before the cut, at most the writes issued before it;
//! 4. what the recovered database showed is durable: after a synced marker
//!    write and a second power cut that loses everything unsynced, the
//!    database reopens with the same contents plus the marker;
//! 5. for one image in [`NESTED_EVERY`], the reopen itself is explored: a
//!    power cut after each of its operations must still recover the same
//!    contents.
//!
//! CI runs at least 100,000 crash states (items 1–3 for each; 4 and 5 on
//! top). `HOLDFAST_CRASH_STATES=N` raises the total (spread over the four
//! workloads); `HOLDFAST_CRASH_SEED=S` changes the seeds. See
//! `docs/TESTING.md`.

mod sim_support;

use holdfast::fs::{CrashImage, DiskImage, PowerCut, SimFileSystem, UnsyncedFate};
use holdfast::{Db, Error};
use sim_support::*;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Damage variants recorded after every operation.
const CUTS: [PowerCut; 4] = [
    PowerCut::Uniform(UnsyncedFate::Lost),
    PowerCut::Uniform(UnsyncedFate::TornLastWrite),
    PowerCut::Seeded(0x5EED_0001),
    PowerCut::Seeded(0x5EED_0002),
];

/// One crash image in this many also has its recovery explored.
const NESTED_EVERY: u64 = 64;

/// Crash states each of the four tests covers in CI; the total is over
/// 100,000.
const CI_STATES_PER_TEST: u64 = 26_000;

/// What one explorer run found.
#[derive(Default)]
struct Tally {
    states: u64,
    nested_states: u64,
    workloads: u64,
    failures: Vec<String>,
    known: BTreeCounts,
}

/// Counts of failures that match a known engine bug (see `known_bug`).
#[derive(Default)]
struct BTreeCounts(std::collections::BTreeMap<&'static str, u64>);

/// Failures matching an engine bug already reported are counted apart, so
/// that CI stays green until the engine is fixed; strict mode (the default; `HOLDFAST_TOLERATE_KNOWN_BUGS=1` counts them instead)
/// makes them fail like any other.
fn known_bug(error: &Error) -> Option<&'static str> {
    if !env_flag("HOLDFAST_TOLERATE_KNOWN_BUGS") {
        return None;
    }
    let Error::Io { context, source } = error else {
        return None;
    };
    match source.kind() {
        std::io::ErrorKind::NotFound if context.contains("opening manifest") => {
            Some("KB2: CURRENT names a manifest whose directory entry was never synced")
        }
        _ => None,
    }
}

struct Explorer {
    name: &'static str,
    mix: Mix,
    explicit_only: bool,
    /// Close and reopen (a clean restart) every this many steps.
    reopen_every: usize,
}

impl Explorer {
    fn run(&self, target_states: u64) -> Tally {
        let base_seed = env_u64("HOLDFAST_CRASH_SEED", 1);
        let mut tally = Tally::default();
        let started = Instant::now();
        let mut round = 0;
        while tally.states < target_states && tally.failures.len() < 5 {
            let seed = base_seed
                .wrapping_mul(1_000_003)
                .wrapping_add(round * 7919 + self.name.len() as u64);
            self.explore_one(seed, &mut tally);
            tally.workloads += 1;
            round += 1;
        }
        eprintln!(
            "{}: {} crash states ({} inside recoveries) from {} workloads in {:.1}s; known-bug hits: {:?}",
            self.name,
            tally.states,
            tally.nested_states,
            tally.workloads,
            started.elapsed().as_secs_f64(),
            tally.known.0
        );
        tally
    }

    fn explore_one(&self, seed: u64, tally: &mut Tally) {
        let steps = workload(seed, self.mix);
        let probe = all_keys(&steps);
        let fs = SimFileSystem::new(seed);
        fs.record_crash_images(CUTS.to_vec());
        let clock = {
            let fs = fs.clone();
            move || fs.mutating_ops()
        };
        let mut history = History::default();
        let ctx = Ctx {
            name: self.name,
            seed,
            explicit_only: self.explicit_only,
            probe: &probe,
        };
        for chunk in steps.chunks(self.reopen_every) {
            let db = match Db::open(
                DB_DIR,
                small_options(Arc::new(fs.clone()), self.explicit_only),
            ) {
                Ok(db) => db,
                Err(e) => panic!(
                    "{}: seed {seed}: open without a crash failed: {e}",
                    self.name
                ),
            };
            let mut verify = |history: &History| {
                let images = fs.take_crash_images();
                ctx.verify_all(images, history, tally);
            };
            // Images of the open itself are checked by the first step.
            if let Err((index, e)) = run_steps(&db, chunk, &mut history, &clock, &mut verify) {
                panic!(
                    "{}: seed {seed}: step {index} failed without a crash: {e}",
                    self.name
                );
            }
            db.close()
                .unwrap_or_else(|e| panic!("{}: close: {e}", self.name));
            history.durable.push((clock(), history.writes.len()));
            let images = fs.take_crash_images();
            ctx.verify_all(images, &history, tally);
            if tally.failures.len() >= 5 {
                return;
            }
        }
    }
}

struct Ctx<'a> {
    name: &'static str,
    seed: u64,
    explicit_only: bool,
    probe: &'a [Vec<u8>],
}

impl Ctx<'_> {
    fn verify_all(&self, images: Vec<CrashImage>, history: &History, tally: &mut Tally) {
        if images.is_empty() {
            return;
        }
        let states = history.states();
        for crash in images {
            tally.states += 1;
            let lo = history.durable_at(crash.op);
            let hi = history.issued_before(crash.op);
            let nested =
                (crash.op * CUTS.len() as u64 + crash.cut as u64).is_multiple_of(NESTED_EVERY);
            let result = self.verify(&crash.image, &states, lo, hi, nested, tally);
            if let Err(why) = result {
                if tally.failures.len() < 5 {
                    tally.failures.push(format!(
                        "{}: seed {} crash after op {} ({}) cut {:?}: writes durable {lo}, issued {hi}: {why}\n    files: {}",
                        self.name,
                        self.seed,
                        crash.op,
                        crash.last_op,
                        CUTS[crash.cut],
                        listing(&crash.image)
                    ));
                }
            }
        }
    }

    fn open(&self, fs: &SimFileSystem) -> holdfast::Result<Db> {
        Db::open(
            DB_DIR,
            small_options(Arc::new(fs.clone()), self.explicit_only),
        )
    }

    /// Checks one crash image; `Err` describes the violation.
    fn verify(
        &self,
        image: &DiskImage,
        states: &[State],
        lo: usize,
        hi: usize,
        nested: bool,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let fs = SimFileSystem::from_image(image, self.seed);
        if nested {
            fs.record_crash_images(vec![PowerCut::Seeded(self.seed)]);
        }
        let db = match self.open(&fs) {
            Ok(db) => db,
            Err(e) => {
                if let Some(bug) = known_bug(&e) {
                    *tally.known.0.entry(bug).or_default() += 1;
                    return Ok(());
                }
                return Err(format!("open failed: {e}"));
            }
        };
        let recovery_images = fs.take_crash_images();
        fs.record_crash_images(Vec::new());
        let got = read_state(&db, self.probe)?;
        let Some(_) = matching_prefix(states, lo, hi, &got) else {
            let want = &states[lo.min(states.len() - 1)];
            return Err(format!(
                "contents are no prefix in {lo}..={hi}; against the durable prefix: {}",
                diff(want, &got)
            ));
        };

        // 4: what recovery showed is durable.
        let marker = (b"~marker".to_vec(), b"after-recovery".to_vec());
        db.write_opt(
            batch_of(&vec![(marker.0.clone(), Some(marker.1.clone()))]),
            &holdfast::WriteOptions::new().sync(true),
        )
        .map_err(|e| format!("synced write after recovery failed: {e}"))?;
        let second = fs.crash_image(PowerCut::Uniform(UnsyncedFate::Lost));
        db.simulate_crash();
        let fs2 = SimFileSystem::from_image(&second, self.seed ^ 1);
        let db2 = self
            .open(&fs2)
            .map_err(|e| format!("second open (after a synced marker) failed: {e}"))?;
        let mut probe = self.probe.to_vec();
        probe.push(marker.0.clone());
        let again = read_state(&db2, &probe)?;
        let mut want = got.clone();
        want.insert(marker.0, marker.1);
        if again != want {
            return Err(format!(
                "recovered contents did not survive a second power cut: {}",
                diff(&want, &again)
            ));
        }
        db2.simulate_crash();

        // 5: a power cut during the recovery recovers the same contents.
        for inner in recovery_images {
            tally.nested_states += 1;
            let fs3 = SimFileSystem::from_image(&inner.image, self.seed ^ 2);
            let db3 = match self.open(&fs3) {
                Ok(db) => db,
                Err(e) => {
                    if let Some(bug) = known_bug(&e) {
                        *tally.known.0.entry(bug).or_default() += 1;
                        continue;
                    }
                    return Err(format!(
                        "power cut after op {} ({}) of the recovery: reopen failed: {e}\n    files: {}",
                        inner.op,
                        inner.last_op,
                        listing(&inner.image)
                    ));
                }
            };
            let third = read_state(&db3, self.probe)?;
            if third != got {
                return Err(format!(
                    "power cut after op {} ({}) of the recovery changed the contents: {}",
                    inner.op,
                    inner.last_op,
                    diff(&got, &third)
                ));
            }
            db3.simulate_crash();
        }
        Ok(())
    }
}

fn target() -> u64 {
    let total = env_u64("HOLDFAST_CRASH_STATES", 4 * CI_STATES_PER_TEST);
    total.div_ceil(4)
}

fn check(tally: Tally) {
    assert!(
        tally.failures.is_empty(),
        "{} crash state(s) violate the oracle:\n  {}",
        tally.failures.len(),
        tally.failures.join("\n  ")
    );
}

/// Small synced and buffered writes with explicit flushes and compactions:
/// the operation order is (nearly) the same on every run.
#[test]
fn crash_states_explicit_flush_and_compaction() {
    let explorer = Explorer {
        name: "explicit",
        mix: Mix {
            steps: 90,
            keys: 40,
            value_max: 120,
            sync_pct: 30,
            batch_pct: 25,
            flush_pct: 5,
            flush_memtables_pct: 6,
            compact_pct: 3,
        },
        explicit_only: true,
        reopen_every: 45,
    };
    check(explorer.run(target()));
}

/// Mostly buffered writes: the power cut decides how much of the WAL tail
/// survives, and torn or garbage tails are common.
#[test]
fn crash_states_buffered_writes_torn_tails() {
    let explorer = Explorer {
        name: "buffered",
        mix: Mix {
            steps: 80,
            keys: 30,
            value_max: 300,
            sync_pct: 8,
            batch_pct: 40,
            flush_pct: 8,
            flush_memtables_pct: 4,
            compact_pct: 2,
        },
        explicit_only: true,
        reopen_every: 80,
    };
    check(explorer.run(target()));
}

/// Larger values: memtables fill and rotate on their own, the background
/// thread flushes and compacts level 0 while writes go on.
#[test]
fn crash_states_background_flush_and_compaction() {
    let explorer = Explorer {
        name: "background",
        mix: Mix {
            steps: 70,
            keys: 60,
            value_max: 2500,
            sync_pct: 25,
            batch_pct: 30,
            flush_pct: 3,
            flush_memtables_pct: 3,
            compact_pct: 1,
        },
        explicit_only: false,
        reopen_every: 35,
    };
    check(explorer.run(target()));
}

/// Many reopens: crashes inside `open` (manifest rewrite, `CURRENT`
/// switch, orphan removal, torn-tail cut, new segment) and inside `close`.
#[test]
fn crash_states_around_open_and_close() {
    let explorer = Explorer {
        name: "reopen",
        mix: Mix {
            steps: 40,
            keys: 20,
            value_max: 200,
            sync_pct: 40,
            batch_pct: 30,
            flush_pct: 5,
            flush_memtables_pct: 10,
            compact_pct: 5,
        },
        explicit_only: true,
        reopen_every: 8,
    };
    check(explorer.run(target()));
}

#[test]
fn a_crash_image_of_an_empty_directory_opens_empty() {
    let fs = SimFileSystem::from_image(&DiskImage::default(), 3);
    let db = Db::open(DB_DIR, small_options(Arc::new(fs.clone()), true)).unwrap();
    assert!(read_state(&db, &[]).unwrap().is_empty());
    assert!(Path::new(DB_DIR).is_absolute());
}
