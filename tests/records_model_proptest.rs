//! Model-based property test of the records layer (`shared/RECORDS.md`)
//! against a model written from the contract (`records_model/mod.rs`).
//!
//! Each case opens a database with a [`ManualClock`], `sync_writes(true)`
//! (so a crash loses nothing acknowledged), a purge window too long to
//! ever trigger a background purge, and one disposal mode for the whole
//! case (Automatic or Review). It defines two policies — `short` (retain
//! 10 days after creation, then dispose) and `acct` (retain 5 days after
//! the event `closed`, then dispose) — and runs a generated sequence over
//! six keys under `a/` and `b/`:
//!
//! * plain `put` and `delete`, `put_with` with random `retain_until` /
//!   `expires_at` (some in the past, some before `retain_until`), a mode,
//!   a policy (`short`, `acct` or the undefined `unknown`), each with or
//!   without `bypass_governance`;
//! * `extend_retention`, `set_retention(Some | None)` and `set_mode`, with
//!   and without bypass;
//! * `place_hold` / `release_hold` over a key or a prefix (ids from a small
//!   set: duplicates, empty and unknown ids included), `record_event`,
//!   `set_default_policy("b/", "short")` (once; `unknown` is refused);
//! * the clock moved forward (0 to 30 days, or hours) or set backwards;
//! * `flush_memtables`, `compact`, `purge`, a clean reopen, a crash
//!   (`simulate_crash`, then open), and in Review mode `dispose` of every
//!   eligible key (or of one key, eligible or not).
//!
//! Every operation's outcome (Ok, InvalidArgument, RetentionLocked with its
//! date and mode, Held with its hold ids) must be the model's. After every
//! operation:
//!
//! * every key reads back as the model says through `get`, `get_record`
//!   (value, `written_at`, effective `retain_until`, mode, `expires_at`,
//!   policy, pending event, holds) and full scans both ways; the holds in
//!   force are the model's;
//! * model-free: no record returned is eligible (expired and unheld); a
//!   record that was protected or held is still there, unaltered, unless
//!   the operation was a Governance bypass of that key (or released a
//!   hold); a Compliance `retain_until` never decreases and the mode stays
//!   Compliance (the first recording of an awaited event, which turns the
//!   indefinite retention into a date, excepted);
//! * `audit().verify()` passes and the trail holds exactly the model's
//!   number of entries of each kind; `disposed` receipts name only record
//!   versions that were eligible in the model, exactly as many as `dispose`
//!   removed in Review mode, at most as many as the model allows (plus one
//!   repeat per crash) in Automatic mode, where any compaction may dispose
//!   of an eligible record: the model marks it "maybe disposed" and learns
//!   the truth when a hold or an event would make it visible again.
//!
//! "Now" is the highest clock reading so far, and it never runs
//! backwards, across a reopen or a crash included (RECORDS.md rule 8): the
//! model keeps it, whatever the clock says when the database is opened.
//! Effective dates follow the contract: explicit dates combined with the
//! policy's (latest wins), `Timestamp::MAX` and no expiry while an awaited
//! event is not recorded, and an expiry never earlier than the effective
//! `retain_until` (a record never expires while protected). Every case
//! ends with a clean reopen and a crash, each followed by the full check.
//!
//! 256 cases by default (about 12 s in release on two cores when nothing
//! fails); `PROPTEST_CASES` overrides it (`PROPTEST_CASES=2000`: about
//! 90 s).

mod common;
mod records_model;

use holdfast::audit::RecordId;
use holdfast::{
    days, AuditEvent, Db, Disposal, Error, Hold, ManualClock, Mode, Options, Policy, Record,
    Retention, Scope, Timestamp, WriteBatch, WriteOptions,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use records_model::{Change, Model, Outcome, Pol, Request, HOUR, KEYS};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

/// One of the six keys, printed as its name.
#[derive(Clone, Copy, PartialEq, Eq)]
struct K(usize);

impl K {
    fn bytes(self) -> &'static [u8] {
        KEYS[self.0].as_bytes()
    }
}

impl fmt::Debug for K {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", KEYS[self.0])
    }
}

/// An offset from the engine's "now", in hours, printed as `now+2d3h`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Off(i64);

impl Off {
    fn ms(self) -> i64 {
        self.0 * HOUR
    }
}

impl fmt::Debug for Off {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (sign, h) = if self.0 < 0 {
            ('-', -self.0)
        } else {
            ('+', self.0)
        };
        match (h / 24, h % 24) {
            (0, h) => write!(f, "now{sign}{h}h"),
            (d, 0) => write!(f, "now{sign}{d}d"),
            (d, h) => write!(f, "now{sign}{d}d{h}h"),
        }
    }
}

/// `expires_at` of a `put_with`: relative to now, or to its
/// `retain_until` (to now when there is none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exp {
    Abs(Off),
    AfterRetain(Off),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Ret {
    retain: Option<Off>,
    expires: Option<Exp>,
    mode: Option<Mode>,
    policy: Option<Pol>,
}

/// A hold or event scope.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sc {
    Key(K),
    Prefix(&'static str),
}

impl Sc {
    fn scope(self) -> Scope {
        match self {
            Sc::Key(k) => Scope::Key(k.bytes().to_vec()),
            Sc::Prefix(p) => Scope::Prefix(p.as_bytes().to_vec()),
        }
    }
}

impl fmt::Debug for Sc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sc::Key(k) => write!(f, "Key({k:?})"),
            Sc::Prefix(p) => write!(f, "Prefix({p:?})"),
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Put(K, bool),
    Delete(K, bool),
    PutWith(K, Ret, bool),
    Extend(K, Off),
    SetRetention(K, Option<Off>, bool),
    SetMode(K, Mode, bool),
    PlaceHold(&'static str, Sc),
    ReleaseHold(&'static str),
    /// `record_event("closed", scope, now - hours)` (negative: the future).
    RecordEvent(Sc, Off),
    /// `set_default_policy("b/", "short")` once (`unknown` if true).
    SetDefault(bool),
    /// Clock forward by this many hours.
    Advance(i64),
    /// Clock backwards by this many hours.
    ClockBack(i64),
    Flush,
    Compact,
    Purge,
    Reopen,
    Crash,
    /// Review mode: dispose of every eligible key (`None`) or of one key.
    /// Automatic mode: only list the eligible records.
    Dispose(Option<K>),
}

impl Op {
    /// Whether the operation may legitimately alter or remove a protected
    /// Governance record of `key` (a bypass aimed at it).
    fn bypasses(&self, key: K) -> bool {
        match self {
            Op::Put(k, b) | Op::Delete(k, b) | Op::PutWith(k, _, b) => *k == key && *b,
            Op::SetRetention(k, _, b) => *k == key && *b,
            _ => false,
        }
    }
}

const HOLD_IDS: [&str; 4] = ["h1", "h2", "h3", ""];
const RELEASE_IDS: [&str; 5] = ["h1", "h2", "h3", "h9", ""];

fn key() -> impl Strategy<Value = K> {
    (0..KEYS.len()).prop_map(K)
}

/// A date relative to now for retention: mostly days ahead, some in the
/// past or exactly now, some hours ahead.
fn future_off() -> impl Strategy<Value = Off> {
    prop_oneof![
        1 => (-3i64..=0).prop_map(|d| Off(d * 24)),
        5 => (1i64..=40).prop_map(|d| Off(d * 24)),
        2 => (1i64..=72).prop_map(Off),
    ]
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Governance), Just(Mode::Compliance)]
}

fn policy() -> impl Strategy<Value = Pol> {
    prop_oneof![3 => Just(Pol::Short), 3 => Just(Pol::Acct), 1 => Just(Pol::Unknown)]
}

fn ret() -> impl Strategy<Value = Ret> {
    let expires = prop_oneof![
        future_off().prop_map(Exp::Abs),
        (-2i64..=10).prop_map(|d| Exp::AfterRetain(Off(d * 24))),
    ];
    (
        prop::option::weighted(0.6, future_off()),
        prop::option::weighted(0.5, expires),
        prop::option::weighted(0.35, mode()),
        prop::option::weighted(0.35, policy()),
    )
        .prop_map(|(retain, expires, mode, policy)| Ret {
            retain,
            expires,
            mode,
            policy,
        })
}

fn scope() -> impl Strategy<Value = Sc> {
    prop_oneof![
        3 => key().prop_map(Sc::Key),
        2 => Just(Sc::Prefix("a/")),
        2 => Just(Sc::Prefix("b/")),
        1 => Just(Sc::Prefix("")),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (key(), prop::bool::weighted(0.25)).prop_map(|(k, b)| Op::Put(k, b)),
        3 => (key(), prop::bool::weighted(0.3)).prop_map(|(k, b)| Op::Delete(k, b)),
        10 => (key(), ret(), prop::bool::weighted(0.25)).prop_map(|(k, r, b)| Op::PutWith(k, r, b)),
        3 => (key(), future_off()).prop_map(|(k, t)| Op::Extend(k, t)),
        3 => (key(), prop::option::weighted(0.7, future_off()), any::<bool>())
            .prop_map(|(k, t, b)| Op::SetRetention(k, t, b)),
        3 => (key(), mode(), any::<bool>()).prop_map(|(k, m, b)| Op::SetMode(k, m, b)),
        3 => (prop::sample::select(&HOLD_IDS[..]), scope()).prop_map(|(id, s)| Op::PlaceHold(id, s)),
        3 => prop::sample::select(&RELEASE_IDS[..]).prop_map(Op::ReleaseHold),
        2 => (scope(), prop_oneof![
            1 => Just(Off(-24)),
            6 => (0i64..=30).prop_map(|d| Off(d * 24)),
            2 => (0i64..=72).prop_map(Off),
        ]).prop_map(|(s, back)| Op::RecordEvent(s, back)),
        1 => prop::bool::weighted(0.2).prop_map(Op::SetDefault),
        5 => prop_oneof![(0i64..=30).prop_map(|d| d * 24), 1i64..48].prop_map(Op::Advance),
        1 => (1i64..=20).prop_map(|d| Op::ClockBack(d * 24)),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Purge),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
        2 => prop::option::weighted(0.3, key()).prop_map(Op::Dispose),
    ]
}

fn start() -> Timestamp {
    Timestamp::from_date(2026, 11, 24).expect("date")
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn options(bypass: bool) -> WriteOptions {
    match bypass {
        true => WriteOptions::new().bypass_governance("r"),
        false => WriteOptions::new(),
    }
}

fn outcome<T>(result: holdfast::Result<T>) -> Outcome {
    match result {
        Ok(_) => Outcome::Ok,
        Err(Error::InvalidArgument(_)) => Outcome::Invalid,
        Err(Error::RetentionLocked { until, mode, .. }) => Outcome::Locked {
            until: until.as_millis(),
            mode,
        },
        Err(Error::Held { holds, .. }) => Outcome::Held(holds),
        Err(e) => Outcome::Other(e.to_string()),
    }
}

fn short() -> Policy {
    Policy::new("short").retain_for(days(10)).then_dispose()
}

fn acct() -> Policy {
    Policy::new("acct")
        .retain_after_event(records_model::EVENT, days(5))
        .then_dispose()
}

/// A disposal receipt: key, content hash, approver.
type Receipt = (Vec<u8>, [u8; 32], Option<String>);

/// What a check saw of one key.
#[derive(Clone, Debug)]
struct Seen {
    value: Vec<u8>,
    retain_until: Option<i64>,
    mode: Option<Mode>,
    pending: bool,
    held: bool,
}

struct Harness {
    dir: TempDir,
    clock: Arc<ManualClock>,
    clock_ms: i64,
    db: Option<Db>,
    model: Model,
    /// Values are unique: `<key>#<n>`.
    writes: u64,
    crashes: u64,
    /// The previous check's view and "now".
    seen: BTreeMap<Vec<u8>, Seen>,
    seen_now: i64,
}

impl Harness {
    fn new(review: bool) -> Result<Harness, TestCaseError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = start().as_millis();
        let clock = Arc::new(ManualClock::new(start()));
        let mut harness = Harness {
            dir,
            clock,
            clock_ms: now,
            db: None,
            model: Model::new(now, review),
            writes: 0,
            crashes: 0,
            seen: BTreeMap::new(),
            seen_now: now,
        };
        harness.open()?;
        harness.db().define_policy(short()).expect("define short");
        harness.db().define_policy(acct()).expect("define acct");
        harness.check(&Op::Flush)?;
        Ok(harness)
    }

    fn db(&self) -> &Db {
        self.db.as_ref().expect("database open")
    }

    fn open(&mut self) -> Result<(), TestCaseError> {
        let disposal = match self.model.review {
            true => Disposal::Review,
            false => Disposal::Automatic,
        };
        let options = Options::default()
            .clock(Arc::clone(&self.clock) as Arc<dyn holdfast::Clock>)
            .sync_writes(true)
            .disposal(disposal)
            .purge_window(Duration::from_secs(u64::MAX));
        let db = Db::open(self.dir.path(), options);
        prop_assert!(db.is_ok(), "open failed: {:?}", db.err());
        self.db = db.ok();
        // Defining the same policies again changes nothing.
        prop_assert!(self.db().define_policy(short()).is_ok());
        prop_assert!(self.db().define_policy(acct()).is_ok());
        Ok(())
    }

    fn value(&mut self, k: K) -> Vec<u8> {
        self.writes += 1;
        format!("{}#{}", KEYS[k.0], self.writes).into_bytes()
    }

    fn request(&self, r: &Ret) -> Request {
        let now = self.model.now;
        let retain = r.retain.map(|o| now + o.ms());
        let expires = r.expires.map(|e| match e {
            Exp::Abs(o) => now + o.ms(),
            Exp::AfterRetain(o) => retain.unwrap_or(now) + o.ms(),
        });
        Request {
            retain_until: retain,
            expires_at: expires,
            mode: r.mode,
            policy: r.policy,
        }
    }

    fn retention(req: &Request) -> Retention {
        let mut r = Retention::new();
        if let Some(t) = req.retain_until {
            r = r.retain_until(ts(t));
        }
        if let Some(t) = req.expires_at {
            r = r.expires_at(ts(t));
        }
        r = match req.mode {
            Some(Mode::Governance) => r.governance(),
            Some(Mode::Compliance) => r.compliance(),
            None => r,
        };
        if let Some(p) = req.policy {
            r = r.policy(p.name());
        }
        r
    }

    fn set_clock(&mut self, ms: i64) {
        self.clock_ms = ms;
        self.clock.set(ts(ms));
        self.model.observe(ms);
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let (expected, got) = match op {
            Op::Put(k, bypass) => {
                let v = self.value(*k);
                let expected = self.model.put(k.bytes(), v.clone(), *bypass);
                let mut batch = WriteBatch::new();
                batch.put(k.bytes(), &v);
                (
                    expected,
                    outcome(self.db().write_opt(batch, &options(*bypass))),
                )
            }
            Op::Delete(k, bypass) => {
                let expected = self.model.delete(k.bytes(), *bypass);
                let mut batch = WriteBatch::new();
                batch.delete(k.bytes());
                (
                    expected,
                    outcome(self.db().write_opt(batch, &options(*bypass))),
                )
            }
            Op::PutWith(k, r, bypass) => {
                let v = self.value(*k);
                let req = self.request(r);
                let expected = self.model.put_with(k.bytes(), v.clone(), &req, *bypass);
                let mut batch = WriteBatch::new();
                batch.put_with(k.bytes(), &v, &Self::retention(&req));
                (
                    expected,
                    outcome(self.db().write_opt(batch, &options(*bypass))),
                )
            }
            Op::Extend(k, off) => {
                let t = self.model.now + off.ms();
                let expected = self.model.change(k.bytes(), Change::Until(t), false);
                (
                    expected,
                    outcome(self.db().extend_retention(k.bytes(), ts(t))),
                )
            }
            Op::SetRetention(k, off, bypass) => {
                let t = off.map(|o| self.model.now + o.ms());
                let change = t.map_or(Change::Clear, Change::Until);
                let expected = self.model.change(k.bytes(), change, *bypass);
                let got = self
                    .db()
                    .set_retention(k.bytes(), t.map(ts), &options(*bypass));
                (expected, outcome(got))
            }
            Op::SetMode(k, m, bypass) => {
                let expected = self.model.change(k.bytes(), Change::Mode(*m), *bypass);
                let got = self.db().set_mode(k.bytes(), *m, &options(*bypass));
                (expected, outcome(got))
            }
            Op::PlaceHold(id, sc) => {
                let expected = self.model.place_hold(id, sc.scope());
                let hold = Hold {
                    id: (*id).to_string(),
                    scope: sc.scope(),
                    reason: "case".into(),
                    issuer: "legal".into(),
                };
                (expected, outcome(self.db().place_hold(hold)))
            }
            Op::ReleaseHold(id) => {
                let expected = self.model.release_hold(id);
                (expected, outcome(self.db().release_hold(id)))
            }
            Op::RecordEvent(sc, back) => {
                let at = self.model.now - back.ms();
                let expected = self.model.record_event(sc.scope(), at);
                let got = self
                    .db()
                    .record_event(records_model::EVENT, sc.scope(), ts(at));
                (expected, outcome(got))
            }
            Op::SetDefault(unknown) => {
                if !unknown && self.model.default_set {
                    return self.check(op); // once only
                }
                let policy = if *unknown { Pol::Unknown } else { Pol::Short };
                let expected = self.model.set_default(policy);
                let got = self
                    .db()
                    .set_default_policy(records_model::DEFAULT_PREFIX, policy.name());
                (expected, outcome(got))
            }
            Op::Advance(hours) => {
                self.set_clock(self.clock_ms + hours * HOUR);
                (Outcome::Ok, Outcome::Ok)
            }
            Op::ClockBack(hours) => {
                self.set_clock(self.clock_ms - hours * HOUR);
                (Outcome::Ok, Outcome::Ok)
            }
            Op::Flush => (Outcome::Ok, outcome(self.db().flush_memtables())),
            Op::Compact => (Outcome::Ok, outcome(self.db().compact())),
            Op::Purge => {
                self.model.count("purged");
                (Outcome::Ok, outcome(self.db().purge()))
            }
            Op::Reopen => {
                let closed = self.db.take().expect("open").close();
                prop_assert!(closed.is_ok(), "close failed: {:?}", closed);
                self.open()?;
                (Outcome::Ok, Outcome::Ok)
            }
            Op::Crash => {
                self.db.take().expect("open").simulate_crash();
                self.crashes += 1;
                self.open()?;
                (Outcome::Ok, Outcome::Ok)
            }
            Op::Dispose(one) => self.dispose(*one)?,
        };
        prop_assert_eq!(
            &got,
            &expected,
            "{:?}: engine (left) and model (right) disagree; now = {:?}",
            op,
            ts(self.model.now)
        );
        self.model.note_eligible();
        self.check(op)
    }

    fn dispose(&mut self, one: Option<K>) -> Result<(Outcome, Outcome), TestCaseError> {
        let listed: Vec<Vec<u8>> = self
            .db()
            .eligible_for_disposal()
            .expect("eligible_for_disposal")
            .map(|r| r.key.to_vec())
            .collect();
        let eligible = self.model.eligible_keys();
        if !self.model.review {
            // Automatic: what is still there is a subset of the eligible.
            for key in &listed {
                prop_assert!(
                    eligible.contains(key),
                    "eligible_for_disposal lists {:?}, not eligible in the model",
                    String::from_utf8_lossy(key)
                );
            }
            return Ok((Outcome::Ok, Outcome::Ok));
        }
        prop_assert_eq!(&listed, &eligible, "eligible_for_disposal (left) vs model");
        match one {
            None => {
                for key in &eligible {
                    self.model.dispose_now(key);
                }
                let got = self.db().dispose(&listed, "records-manager");
                prop_assert_eq!(
                    got.as_ref().ok(),
                    Some(&(eligible.len() as u64)),
                    "dispose of every eligible key: {:?}",
                    got
                );
                Ok((Outcome::Ok, Outcome::Ok))
            }
            Some(k) => {
                let expected = self.model.dispose_one(k.bytes());
                let got = self.db().dispose([k.bytes()], "records-manager");
                if let Ok(n) = &got {
                    prop_assert_eq!(*n, 1, "dispose of one key");
                }
                Ok((expected, outcome(got)))
            }
        }
    }

    /// Resolves "maybe disposed" records the model would show again.
    fn resolve_disposals(&mut self) -> Result<(), TestCaseError> {
        let unsure: Vec<Vec<u8>> = self
            .model
            .records
            .iter()
            .filter(|(k, r)| r.maybe_disposed && self.model.visible(k).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for key in unsure {
            let found = self.db().get_record(&key).expect("get_record");
            if found.is_some() {
                let rec = self.model.records.get_mut(&key).expect("record");
                rec.maybe_disposed = false;
                continue;
            }
            let rec = self.model.records.remove(&key).expect("record");
            let hash: [u8; 32] = Sha256::digest(&rec.value).into();
            let receipt = self
                .receipts()?
                .into_iter()
                .any(|(k, h, _)| k == key && h == hash);
            prop_assert!(
                receipt,
                "{:?} was disposed of without a receipt",
                String::from_utf8_lossy(&key)
            );
        }
        Ok(())
    }

    /// Disposal receipts in the trail: key, content hash, approver.
    fn receipts(&self) -> Result<Vec<Receipt>, TestCaseError> {
        let mut out = Vec::new();
        for entry in self.db().audit().iter().expect("audit iter") {
            let entry = entry.expect("audit entry");
            if let AuditEvent::Disposed(r) = entry.event {
                let RecordId::Key(key) = r.record else {
                    return Err(TestCaseError::fail(format!(
                        "receipt without key: {:?}",
                        r.record
                    )));
                };
                out.push((key, r.content_hash, r.approver));
            }
        }
        Ok(out)
    }

    fn check(&mut self, op: &Op) -> Result<(), TestCaseError> {
        self.resolve_disposals()?;
        let now = self.model.now;
        let mut seen = BTreeMap::new();
        for k in KEYS.iter().map(|k| k.as_bytes()) {
            let name = String::from_utf8_lossy(k).into_owned();
            let expected = self.model.visible(k).cloned();
            let got = self.db().get(k).expect("get").map(|v| v.to_vec());
            prop_assert_eq!(
                got.as_ref(),
                expected.as_ref().map(|r| &r.value),
                "get {} after {:?} (now {:?})",
                name,
                op,
                ts(now)
            );
            let record = self.db().get_record(k).expect("get_record");
            prop_assert_eq!(
                record.is_some(),
                expected.is_some(),
                "get_record {} after {:?}",
                name,
                op
            );
            let (Some(record), Some(rec)) = (record, expected) else {
                continue;
            };
            self.check_record(k, &record, &rec, op)?;
            let m = &record.meta;
            // Model-free: an eligible record is never returned.
            let expired = m.expires_at.is_some_and(|e| now >= e.as_millis());
            prop_assert!(
                !(expired && m.holds.is_empty()),
                "{} is eligible but returned: {:?}",
                name,
                m
            );
            seen.insert(
                k.to_vec(),
                Seen {
                    value: record.value.to_vec(),
                    retain_until: m.retain_until.map(Timestamp::as_millis),
                    mode: m.mode,
                    pending: m.event_pending.is_some(),
                    held: !m.holds.is_empty(),
                },
            );
        }
        self.check_against_previous(&seen, op)?;
        self.seen = seen;
        self.seen_now = now;

        let expect = self.model.contents();
        let forward: BTreeMap<Vec<u8>, Vec<u8>> = common::collect(self.db().range::<&[u8], _>(..))
            .into_iter()
            .collect();
        prop_assert_eq!(&forward, &expect, "forward scan after {:?}", op);
        let mut reverse = common::collect(self.db().range::<&[u8], _>(..).rev());
        reverse.reverse();
        let expect: Vec<(Vec<u8>, Vec<u8>)> = expect.into_iter().collect();
        prop_assert_eq!(&reverse, &expect, "reverse scan after {:?}", op);

        let holds: Vec<String> = self.db().holds().into_iter().map(|h| h.hold.id).collect();
        let expected_holds: Vec<String> = self.model.holds.keys().cloned().collect();
        prop_assert_eq!(holds, expected_holds, "holds in force after {:?}", op);

        self.check_audit(op)
    }

    fn check_record(
        &self,
        k: &[u8],
        record: &Record,
        rec: &records_model::Rec,
        op: &Op,
    ) -> Result<(), TestCaseError> {
        let name = String::from_utf8_lossy(k);
        let eff = self.model.rec_effective(k, rec);
        let meta = rec.meta.clone().unwrap_or_default();
        let m = &record.meta;
        let ms = |t: Option<Timestamp>| t.map(Timestamp::as_millis);
        prop_assert_eq!(&record.value[..], &rec.value[..], "value of {}", name);
        let got = (
            ms(m.written_at),
            ms(m.retain_until),
            m.mode,
            ms(m.expires_at),
            m.policy.as_deref(),
            m.event_pending.as_deref(),
            m.holds.clone(),
        );
        let expected = (
            meta.written_at,
            eff.retain_until,
            eff.mode,
            eff.expires_at,
            meta.policy.map(Pol::name),
            eff.pending.then_some(records_model::EVENT),
            self.model.holds_on(k),
        );
        prop_assert_eq!(
            got,
            expected,
            "get_record {} after {:?} (now {:?}): (written_at, retain_until, mode, \
             expires_at, policy, event_pending, holds), engine left, model right",
            name,
            op,
            ts(self.model.now)
        );
        Ok(())
    }

    /// Model-free checks against the previous view.
    fn check_against_previous(
        &self,
        seen: &BTreeMap<Vec<u8>, Seen>,
        op: &Op,
    ) -> Result<(), TestCaseError> {
        let now = self.model.now;
        for (i, k) in KEYS.iter().enumerate() {
            let key = k.as_bytes();
            let Some(before) = self.seen.get(key) else {
                continue;
            };
            let after = seen.get(key);
            let event_dated = before.pending && matches!(op, Op::RecordEvent(..));
            let until = before.retain_until.unwrap_or(i64::MIN);
            // Still protected by the date it had (the clock only goes on).
            let protected = self.seen_now < until && now < until && !event_dated;
            if protected && before.mode == Some(Mode::Compliance) {
                let Some(after) = after else {
                    return Err(TestCaseError::fail(format!(
                        "{k}: a protected Compliance record vanished after {op:?}"
                    )));
                };
                prop_assert_eq!(
                    &after.value,
                    &before.value,
                    "{}: Compliance record altered",
                    k
                );
                prop_assert_eq!(
                    after.mode,
                    Some(Mode::Compliance),
                    "{}: Compliance mode lost",
                    k
                );
                prop_assert!(
                    after.retain_until.unwrap_or(i64::MIN) >= until,
                    "{}: Compliance retain_until went from {:?} to {:?} after {:?}",
                    k,
                    before.retain_until.map(ts),
                    after.retain_until.map(ts),
                    op
                );
            }
            if protected && !op.bypasses(K(i)) {
                let Some(after) = after else {
                    return Err(TestCaseError::fail(format!(
                        "{k}: a protected record vanished after {op:?}"
                    )));
                };
                prop_assert_eq!(
                    &after.value,
                    &before.value,
                    "{}: protected record altered",
                    k
                );
            }
            if before.held && !matches!(op, Op::ReleaseHold(_)) {
                let Some(after) = after else {
                    return Err(TestCaseError::fail(format!(
                        "{k}: a held record vanished after {op:?}"
                    )));
                };
                prop_assert_eq!(&after.value, &before.value, "{}: held record altered", k);
            }
        }
        Ok(())
    }

    fn check_audit(&self, op: &Op) -> Result<(), TestCaseError> {
        let verified = self.db().audit().verify();
        prop_assert!(
            verified.is_ok(),
            "audit verify after {:?}: {:?}",
            op,
            verified
        );
        let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
        for entry in self.db().audit().iter().expect("audit iter") {
            let entry = entry.expect("audit entry");
            *counts.entry(entry.event.name()).or_default() += 1;
        }
        let get = |m: &BTreeMap<&'static str, u64>, n: &str| m.get(n).copied().unwrap_or(0);
        for name in records_model::EVENT_NAMES {
            // Disposals are checked below; `clock_advanced` is the engine's
            // own bookkeeping of its clock (written at close and hourly),
            // not a retention event.
            if name == "disposed" || name == "clock_advanced" {
                continue;
            }
            prop_assert_eq!(
                get(&counts, name),
                get(&self.model.counts, name),
                "audit entries {:?} after {:?} (engine left, model right); all: {:?}",
                name,
                op,
                counts
            );
        }
        let receipts = self.receipts()?;
        for (key, hash, approver) in &receipts {
            let known = self
                .model
                .disposable
                .iter()
                .any(|(k, v)| k == key && Sha256::digest(v).as_slice() == hash);
            prop_assert!(
                known,
                "receipt for {:?}: no version of it was eligible in the model",
                String::from_utf8_lossy(key)
            );
            let expected = self.model.review.then(|| "records-manager".to_string());
            prop_assert_eq!(approver, &expected, "receipt approver");
        }
        let disposed = receipts.len() as u64;
        if self.model.review {
            prop_assert_eq!(
                disposed,
                get(&self.model.counts, "disposed"),
                "disposed receipts after {:?}",
                op
            );
        } else {
            let allowed = self.model.disposable.len() as u64 + self.crashes;
            prop_assert!(
                disposed <= allowed,
                "{} receipts, at most {} allowed, after {:?}",
                disposed,
                allowed,
                op
            );
        }
        Ok(())
    }
}

fn run(review: bool, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut harness = Harness::new(review)?;
    for op in ops {
        harness.apply(op)?;
    }
    harness.apply(&Op::Reopen)?;
    harness.apply(&Op::Crash)
}

/// 256 cases by default; `PROPTEST_CASES` overrides it.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        max_shrink_iters: 2_000,
        max_shrink_time: 30_000,
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn records_layer_matches_its_model(
        review in any::<bool>(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run(review, &ops)?;
    }
}

/// Every operation kind once, in both disposal modes, so the harness is
/// exercised whatever the generator's weights.
#[test]
fn every_operation_kind_once() {
    let k = |i| K(i);
    let ret = Ret {
        retain: Some(Off(2 * 24)),
        expires: Some(Exp::AfterRetain(Off(24))),
        mode: None,
        policy: None,
    };
    let ops = vec![
        Op::Put(k(0), false),
        Op::PutWith(k(1), ret.clone(), false),
        Op::PutWith(
            k(2),
            Ret {
                policy: Some(Pol::Acct),
                mode: Some(Mode::Compliance),
                ..ret.clone()
            },
            false,
        ),
        Op::SetDefault(true),
        Op::SetDefault(false),
        Op::Put(k(3), false),
        Op::Delete(k(1), false),
        Op::Delete(k(1), true),
        Op::Extend(k(1), Off(5 * 24)),
        Op::SetRetention(k(0), Some(Off(24)), false),
        Op::SetRetention(k(0), None, true),
        Op::SetMode(k(3), Mode::Compliance, true),
        Op::PlaceHold("h1", Sc::Prefix("a/")),
        Op::PlaceHold("h1", Sc::Key(k(4))),
        Op::PlaceHold("", Sc::Key(k(4))),
        Op::Put(k(0), false),
        Op::Flush,
        Op::Advance(4 * 24),
        Op::Dispose(None),
        Op::ReleaseHold("h1"),
        Op::ReleaseHold("h9"),
        Op::Dispose(Some(k(1))),
        Op::RecordEvent(Sc::Prefix("a/"), Off(24)),
        Op::RecordEvent(Sc::Prefix("a/"), Off(-24)),
        Op::Compact,
        Op::Advance(20 * 24),
        Op::ClockBack(10 * 24),
        Op::Reopen,
        Op::Dispose(None),
        Op::Purge,
        Op::Crash,
    ];
    for review in [false, true] {
        run(review, &ops).unwrap();
    }
}
