//! The model of `tests/records_model_proptest.rs`: what the records layer
//! should do, written from `shared/RECORDS.md` and the semantics stated in
//! the test's documentation, independently of `src/records/`.
//!
//! A record is its value and its *stored* metadata (the explicit dates, the
//! mode and the policy as resolved at write time, or as changed later by
//! `set_retention` / `set_mode`); its *effective* dates are computed on
//! demand from the stored metadata, the policies, the recorded events and
//! the engine's "now", as the contract says they must be.

use holdfast::{Mode, Scope};
use std::collections::{BTreeMap, BTreeSet};

/// Milliseconds in an hour and in a day (periods here never use months).
pub const HOUR: i64 = 3_600_000;
/// Milliseconds in a day.
pub const DAY: i64 = 24 * HOUR;
/// `short` retains for 10 days after creation, then disposes.
pub const SHORT_RETAIN: i64 = 10 * DAY;
/// `acct` retains for 5 days after the latest `closed` event, then disposes.
pub const ACCT_AFTER_EVENT: i64 = 5 * DAY;
/// The event `acct` waits for.
pub const EVENT: &str = "closed";

/// The key space: six keys under two prefixes.
pub const KEYS: [&str; 6] = ["a/1", "a/2", "a/3", "b/1", "b/2", "b/3"];
/// The prefix that gets a default policy.
pub const DEFAULT_PREFIX: &str = "b/";

/// Every audit event name the engine can write, in a fixed order.
pub const EVENT_NAMES: [&str; 14] = [
    "policy_defined",
    "default_policy_set",
    "retention_set",
    "retention_extended",
    "retention_shortened",
    "mode_changed",
    "hold_placed",
    "hold_released",
    "governance_bypass",
    "event_recorded",
    "disposed",
    "purged",
    "clock_advanced",
    "torn_tail_removed",
];

/// A policy a write may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pol {
    /// `retain_for(days(10)).then_dispose()`.
    Short,
    /// `retain_after_event("closed", days(5)).then_dispose()`.
    Acct,
    /// Never defined.
    Unknown,
}

impl Pol {
    /// The policy's name.
    pub fn name(self) -> &'static str {
        match self {
            Pol::Short => "short",
            Pol::Acct => "acct",
            Pol::Unknown => "unknown",
        }
    }
}

/// A record's stored metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// `None`: the record was a plain put whose retention was set later.
    pub written_at: Option<i64>,
    pub retain_until: Option<i64>,
    pub mode: Option<Mode>,
    pub expires_at: Option<i64>,
    /// `Short` or `Acct` (an unknown policy is never stored).
    pub policy: Option<Pol>,
}

/// A record's effective protection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Eff {
    pub retain_until: Option<i64>,
    pub mode: Option<Mode>,
    pub expires_at: Option<i64>,
    /// The policy waits for its event (retained indefinitely).
    pub pending: bool,
}

impl Eff {
    /// `now < retain_until`.
    pub fn protected(&self, now: i64) -> bool {
        self.retain_until.is_some_and(|until| now < until)
    }

    /// `now >= expires_at`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// The current version of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    pub value: Vec<u8>,
    /// `None`: a plain put (no metadata at all).
    pub meta: Option<Meta>,
    /// Automatic disposal: the record was eligible at some point, so a
    /// compaction may have disposed of it; resolved by looking at the
    /// database once the record would be visible again.
    pub maybe_disposed: bool,
}

/// The outcome of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Invalid,
    Locked {
        until: i64,
        mode: Mode,
    },
    Held(Vec<String>),
    /// Any other error (never expected).
    Other(String),
}

/// What `put_with` asks for (explicit fields only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub retain_until: Option<i64>,
    pub expires_at: Option<i64>,
    pub mode: Option<Mode>,
    pub policy: Option<Pol>,
}

/// A metadata-only change: `set_retention` or `set_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// `set_retention(Some(t))` (`extend_retention` is this without bypass).
    Until(i64),
    /// `set_retention(None)`.
    Clear,
    /// `set_mode`.
    Mode(Mode),
}

/// Whether `scope` covers `key`.
pub fn covers(scope: &Scope, key: &[u8]) -> bool {
    match scope {
        Scope::Key(k) => k == key,
        Scope::Prefix(p) => key.starts_with(p),
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct Model {
    /// The engine's "now": the highest clock reading so far.
    pub now: i64,
    pub records: BTreeMap<Vec<u8>, Rec>,
    pub holds: BTreeMap<String, Scope>,
    /// Recorded `closed` events: scope and time.
    pub events: Vec<(Scope, i64)>,
    /// `set_default_policy("b/", "short")` was done.
    pub default_set: bool,
    /// `Disposal::Review` (else Automatic).
    pub review: bool,
    /// Expected audit entries by event name.
    pub counts: BTreeMap<&'static str, u64>,
    /// Record versions (key, value) that were eligible at some point: in
    /// Automatic mode a compaction may dispose of any of them; in Review
    /// mode, those `dispose` removed.
    pub disposable: BTreeSet<(Vec<u8>, Vec<u8>)>,
}

impl Model {
    /// An empty database at `now` with the two policies defined.
    pub fn new(now: i64, review: bool) -> Model {
        let mut model = Model {
            now,
            records: BTreeMap::new(),
            holds: BTreeMap::new(),
            events: Vec::new(),
            default_set: false,
            review,
            counts: BTreeMap::new(),
            disposable: BTreeSet::new(),
        };
        model.count("policy_defined");
        model.count("policy_defined");
        model
    }

    pub fn count(&mut self, name: &'static str) {
        *self.counts.entry(name).or_default() += 1;
    }

    /// The clock read `t`: "now" never runs backwards.
    pub fn observe(&mut self, t: i64) {
        self.now = self.now.max(t);
    }

    /// Ids of the holds covering `key`, ascending.
    pub fn holds_on(&self, key: &[u8]) -> Vec<String> {
        self.holds
            .iter()
            .filter(|(_, scope)| covers(scope, key))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The latest recorded `closed` event covering `key`.
    pub fn latest_event(&self, key: &[u8]) -> Option<i64> {
        self.events
            .iter()
            .filter(|(scope, _)| covers(scope, key))
            .map(|(_, at)| *at)
            .max()
    }

    /// Effective dates of a record of `key` with stored metadata `meta`.
    pub fn effective(&self, key: &[u8], meta: &Meta) -> Eff {
        let mut eff = Eff {
            retain_until: meta.retain_until,
            mode: meta.mode,
            expires_at: meta.expires_at,
            pending: false,
        };
        let Some(policy) = meta.policy else {
            return eff;
        };
        // Both policies are Governance.
        eff.mode = eff.mode.or(Some(Mode::Governance));
        if policy == Pol::Acct {
            match self.latest_event(key) {
                Some(at) => {
                    let date = at.saturating_add(ACCT_AFTER_EVENT);
                    eff.retain_until = Some(eff.retain_until.map_or(date, |r| r.max(date)));
                    eff.expires_at = Some(eff.expires_at.map_or(date, |e| e.max(date)));
                }
                None => {
                    eff.pending = true;
                    eff.retain_until = Some(i64::MAX);
                    eff.expires_at = None;
                }
            }
        }
        // A record never expires while protected (RECORDS.md: expires_at
        // >= retain_until; rules 1 and 5): an event date that moves
        // retain_until past the record's expiry moves the expiry too.
        if let (Some(retain), Some(expires)) = (eff.retain_until, eff.expires_at) {
            eff.expires_at = Some(expires.max(retain));
        }
        eff
    }

    /// Effective dates of `rec` (default: a plain record).
    pub fn rec_effective(&self, key: &[u8], rec: &Rec) -> Eff {
        rec.meta
            .as_ref()
            .map(|m| self.effective(key, m))
            .unwrap_or_default()
    }

    /// Expired and unheld.
    pub fn eligible(&self, key: &[u8], rec: &Rec) -> bool {
        self.rec_effective(key, rec).expired(self.now) && self.holds_on(key).is_empty()
    }

    /// The record readers see: `None` when absent or eligible.
    pub fn visible(&self, key: &[u8]) -> Option<&Rec> {
        self.records.get(key).filter(|rec| !self.eligible(key, rec))
    }

    /// The visible records, in key order.
    pub fn contents(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        KEYS.iter()
            .map(|k| k.as_bytes())
            .filter_map(|k| self.visible(k).map(|r| (k.to_vec(), r.value.clone())))
            .collect()
    }

    /// Keys eligible for disposal now (records with metadata only).
    pub fn eligible_keys(&self) -> Vec<Vec<u8>> {
        self.records
            .iter()
            .filter(|(k, r)| r.meta.is_some() && self.eligible(k, r))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The write check of an overwrite or delete of `key`: `Ok(true)` if it
    /// passes with a Governance bypass (one `governance_bypass` entry).
    fn check_replace(&self, key: &[u8], bypass: bool) -> Result<bool, Outcome> {
        let Some(rec) = self.visible(key) else {
            return Ok(false);
        };
        let holds = self.holds_on(key);
        if !holds.is_empty() {
            return Err(Outcome::Held(holds));
        }
        let eff = self.rec_effective(key, rec);
        if !eff.protected(self.now) {
            return Ok(false);
        }
        let mode = eff.mode.unwrap_or(Mode::Governance);
        match (mode, bypass) {
            (Mode::Governance, true) => Ok(true),
            _ => Err(Outcome::Locked {
                until: eff.retain_until.unwrap_or(i64::MAX),
                mode,
            }),
        }
    }

    fn default_policy(&self, key: &[u8]) -> Option<Pol> {
        (self.default_set && key.starts_with(DEFAULT_PREFIX.as_bytes())).then_some(Pol::Short)
    }

    /// A plain `put`.
    pub fn put(&mut self, key: &[u8], value: Vec<u8>, bypass: bool) -> Outcome {
        if self.default_policy(key).is_some() {
            return self.put_with(key, value, &Request::default(), bypass);
        }
        match self.check_replace(key, bypass) {
            Err(e) => e,
            Ok(bypassed) => {
                if bypassed {
                    self.count("governance_bypass");
                }
                let rec = Rec {
                    value,
                    meta: None,
                    maybe_disposed: false,
                };
                self.records.insert(key.to_vec(), rec);
                Outcome::Ok
            }
        }
    }

    /// A `delete`.
    pub fn delete(&mut self, key: &[u8], bypass: bool) -> Outcome {
        match self.check_replace(key, bypass) {
            Err(e) => e,
            Ok(bypassed) => {
                if bypassed {
                    self.count("governance_bypass");
                }
                self.records.remove(key);
                Outcome::Ok
            }
        }
    }

    /// `put_with` (or a plain put that gets the default policy).
    pub fn put_with(&mut self, key: &[u8], value: Vec<u8>, req: &Request, bypass: bool) -> Outcome {
        // Checks that need no state: the batch is refused as it is built.
        if let (Some(r), Some(e)) = (req.retain_until, req.expires_at) {
            if e < r {
                return Outcome::Invalid;
            }
        }
        if req.mode.is_some() && req.retain_until.is_none() && req.policy.is_none() {
            return Outcome::Invalid;
        }
        // Then the write check, then the dates.
        let bypassed = match self.check_replace(key, bypass) {
            Err(e) => return e,
            Ok(b) => b,
        };
        let policy = req.policy.or(self.default_policy(key));
        if policy == Some(Pol::Unknown) {
            return Outcome::Invalid;
        }
        let now = self.now;
        if req.retain_until.is_some_and(|t| t <= now) || req.expires_at.is_some_and(|t| t <= now) {
            return Outcome::Invalid;
        }
        let created = (policy == Some(Pol::Short)).then(|| now + SHORT_RETAIN);
        let retain_until = match (req.retain_until, created) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        // Only an explicit expiry before the retention is refused; a
        // disposing policy expires the record when its retention ends.
        if let (Some(r), Some(e)) = (retain_until, req.expires_at) {
            if e < r {
                return Outcome::Invalid;
            }
        }
        let expires_at = match (created, retain_until) {
            (Some(_), Some(r)) => Some(req.expires_at.map_or(r, |e| e.max(r))),
            _ => req.expires_at,
        };
        let mode = if retain_until.is_some() || policy.is_some() {
            req.mode
                .or(req.retain_until.map(|_| Mode::Governance))
                .or(policy.map(|_| Mode::Governance))
        } else {
            None
        };
        if bypassed {
            self.count("governance_bypass");
        }
        self.count("retention_set");
        let meta = Meta {
            written_at: Some(now),
            retain_until,
            mode,
            expires_at,
            policy,
        };
        let rec = Rec {
            value,
            meta: Some(meta),
            maybe_disposed: false,
        };
        self.records.insert(key.to_vec(), rec);
        Outcome::Ok
    }

    /// `set_retention` / `extend_retention` / `set_mode`.
    pub fn change(&mut self, key: &[u8], change: Change, bypass: bool) -> Outcome {
        let Some(rec) = self.visible(key) else {
            return Outcome::Invalid;
        };
        let now = self.now;
        let eff = self.rec_effective(key, rec);
        let mut meta = rec.meta.clone().unwrap_or_default();
        let held = !self.holds_on(key).is_empty();
        let protected = eff.protected(now);
        let mode = eff.mode.unwrap_or(Mode::Governance);
        let current = eff.retain_until;
        // A privileged change of a protected record.
        let privileged = || -> Result<(), Outcome> {
            if held && protected {
                return Err(Outcome::Held(self.holds_on(key)));
            }
            match (bypass, mode) {
                (true, Mode::Governance) => Ok(()),
                _ => Err(Outcome::Locked {
                    until: current.unwrap_or(i64::MAX),
                    mode,
                }),
            }
        };
        let mut entries: Vec<&'static str> = Vec::new();
        match change {
            Change::Clear => {
                if protected {
                    if let Err(e) = privileged() {
                        return e;
                    }
                    entries.push("retention_shortened");
                }
                // The protection goes; the expiry the record had stays.
                meta.retain_until = None;
                meta.mode = None;
                meta.policy = None;
                meta.expires_at = eff.expires_at;
            }
            Change::Until(until) => {
                if until <= now {
                    return Outcome::Invalid;
                }
                match current {
                    Some(from) if until < from && protected => {
                        if let Err(e) = privileged() {
                            return e;
                        }
                        entries.push("retention_shortened");
                    }
                    Some(from) if until > from => entries.push("retention_extended"),
                    Some(_) => {}
                    None => entries.push("retention_extended"),
                }
                if current.is_some_and(|from| until < from) {
                    // Shortened: the given date replaces the policy's.
                    meta.policy = None;
                    meta.expires_at = eff.expires_at.map(|e| e.max(until));
                } else {
                    meta.expires_at = meta.expires_at.map(|e| e.max(until));
                }
                meta.retain_until = Some(until);
                meta.mode = meta.mode.or(Some(Mode::Governance));
            }
            Change::Mode(to) => {
                let from = meta.mode.or(eff.mode);
                if meta.retain_until.is_none() && eff.retain_until.is_none() {
                    return Outcome::Invalid;
                }
                match (from, to) {
                    (Some(Mode::Compliance), Mode::Governance) => {
                        return Outcome::Locked {
                            until: current.unwrap_or(i64::MAX),
                            mode: Mode::Compliance,
                        }
                    }
                    (Some(Mode::Governance) | None, Mode::Compliance) => {
                        if protected {
                            if let Err(e) = privileged() {
                                return e;
                            }
                        }
                        entries.push("mode_changed");
                    }
                    _ => {}
                }
                meta.mode = Some(to);
            }
        }
        for name in entries {
            self.count(name);
        }
        let rec = self.records.get_mut(key).expect("visible record");
        rec.meta = Some(meta);
        Outcome::Ok
    }

    /// `place_hold`.
    pub fn place_hold(&mut self, id: &str, scope: Scope) -> Outcome {
        if id.is_empty() || self.holds.contains_key(id) {
            return Outcome::Invalid;
        }
        self.holds.insert(id.to_string(), scope);
        self.count("hold_placed");
        Outcome::Ok
    }

    /// `release_hold`.
    pub fn release_hold(&mut self, id: &str) -> Outcome {
        if self.holds.remove(id).is_none() {
            return Outcome::Invalid;
        }
        self.count("hold_released");
        Outcome::Ok
    }

    /// `record_event("closed", scope, at)`.
    pub fn record_event(&mut self, scope: Scope, at: i64) -> Outcome {
        if at > self.now {
            return Outcome::Invalid;
        }
        self.events.push((scope, at));
        self.count("event_recorded");
        Outcome::Ok
    }

    /// `set_default_policy("b/", policy)`.
    pub fn set_default(&mut self, policy: Pol) -> Outcome {
        if policy == Pol::Unknown {
            return Outcome::Invalid;
        }
        self.default_set = true;
        self.count("default_policy_set");
        Outcome::Ok
    }

    /// `dispose([key], approver)` (Review mode).
    pub fn dispose_one(&mut self, key: &[u8]) -> Outcome {
        let Some(rec) = self.records.get(key) else {
            return Outcome::Invalid;
        };
        if rec.meta.is_none() {
            return Outcome::Invalid;
        }
        let holds = self.holds_on(key);
        if !holds.is_empty() {
            return Outcome::Held(holds);
        }
        if !self.rec_effective(key, rec).expired(self.now) {
            return Outcome::Invalid;
        }
        self.dispose_now(key);
        Outcome::Ok
    }

    /// Removes an eligible record with a receipt.
    pub fn dispose_now(&mut self, key: &[u8]) {
        let rec = self.records.remove(key).expect("eligible record");
        self.disposable.insert((key.to_vec(), rec.value));
        self.count("disposed");
    }

    /// After every operation in Automatic mode: whatever is eligible now
    /// may be disposed of by any compaction from now on.
    pub fn note_eligible(&mut self) {
        if self.review {
            return;
        }
        for key in self.eligible_keys() {
            let rec = self.records.get_mut(&key).expect("record");
            rec.maybe_disposed = true;
            let value = rec.value.clone();
            self.disposable.insert((key, value));
        }
    }
}
