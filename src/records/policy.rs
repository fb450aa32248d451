//! Named retention policies (RECORDS.md rule 6) and their canonical text.
//!
//! A policy is a mode, one or more clauses ("retain 7y after creation",
//! "retain 6y after event \"account-closed\"") and a disposition (dispose or
//! keep once every clause has run out). The engine computes a record's dates
//! from it at write time; the latest clause wins.
//!
//! The canonical text is what the audit trail and the manifest store, so it
//! is part of the on-disk format:
//!
//! ```text
//! governance; retain 7y after creation; then dispose
//! compliance; retain 6y after event "account-closed"; retain 6y after creation; then keep
//! ```
//!
//! Invariants:
//! 1. `parse_canonical(p.name(), &p.canonical()) == Ok(p)` for every valid `p`.
//! 2. `parse_canonical` accepts nothing else: whatever it returns `Ok` for is
//!    valid and its `canonical()` is byte-for-byte the parsed text. It never
//!    panics, on any input.
//! 3. The name is not part of the canonical text (it is stored beside it),
//!    so renaming a policy cannot alter what it does.

use crate::records::time::{Period, Timestamp};

/// Longest policy name, in bytes.
const NAME_LEN_MAX: usize = 256;
/// Longest event name, in bytes.
const EVENT_LEN_MAX: usize = 256;
/// Most clauses in one policy.
const CLAUSES_MAX: usize = 64;

/// Retention mode of a record. Governance may be bypassed with an explicit,
/// audited option; Compliance never.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Protects against everyone except a caller who passes an explicit,
    /// audited governance bypass.
    Governance,
    /// Protects against everyone; nothing bypasses it.
    Compliance,
}

impl Mode {
    /// The word used in canonical text.
    fn word(self) -> &'static str {
        match self {
            Mode::Governance => "governance",
            Mode::Compliance => "compliance",
        }
    }
}

/// One way a policy computes a retention date.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Clause {
    /// Retain for this period after the record's `written_at`.
    AfterCreation(Period),
    /// Retain for `period` after the latest recorded `event` covering the
    /// record's key; until then, retain indefinitely.
    AfterEvent {
        /// Name of the event, e.g. `"account-closed"`.
        event: String,
        /// How long to retain once the event has happened.
        period: Period,
    },
}

/// A named retention policy (RECORDS.md rule 6). Builder:
///
/// ```text
/// Policy::new("invoice").retain_for(years(7)).then_dispose()
/// Policy::new("account")
///     .retain_after_event("account-closed", years(6))
///     .retain_for(years(6))
///     .compliance()
///     .then_dispose()
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    name: String,
    mode: Mode,
    clauses: Vec<Clause>,
    dispose: bool,
}

impl Policy {
    /// A policy with no clauses, in Governance mode, that keeps records once
    /// their retention has run out. Add at least one clause before use.
    pub fn new(name: impl Into<String>) -> Policy {
        Policy {
            name: name.into(),
            mode: Mode::Governance,
            clauses: Vec::new(),
            dispose: false,
        }
    }

    /// Adds a clause: retain for `p` after creation.
    #[must_use]
    pub fn retain_for(mut self, p: Period) -> Policy {
        self.clauses.push(Clause::AfterCreation(p));
        self
    }

    /// Adds a clause: retain for `p` after the event named `event`.
    #[must_use]
    pub fn retain_after_event(mut self, event: impl Into<String>, p: Period) -> Policy {
        self.clauses.push(Clause::AfterEvent {
            event: event.into(),
            period: p,
        });
        self
    }

    /// Sets the mode to Governance (the default).
    #[must_use]
    pub fn governance(mut self) -> Policy {
        self.mode = Mode::Governance;
        self
    }

    /// Sets the mode to Compliance.
    #[must_use]
    pub fn compliance(mut self) -> Policy {
        self.mode = Mode::Compliance;
        self
    }

    /// Records become eligible for disposal once retention has run out.
    #[must_use]
    pub fn then_dispose(mut self) -> Policy {
        self.dispose = true;
        self
    }

    /// Records are kept once retention has run out (the default).
    #[must_use]
    pub fn then_keep(mut self) -> Policy {
        self.dispose = false;
        self
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The retention mode given to the records it governs.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The clauses, in the order they were added.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// Whether records are disposed of (rather than kept) once retention ends.
    pub fn disposes(&self) -> bool {
        self.dispose
    }
}

impl Policy {
    /// InvalidArgument reasons: empty name or name > 256 bytes; no clause;
    /// an empty event name or > 256 bytes; more than 64 clauses.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.len() > NAME_LEN_MAX {
            return Err(format!("policy name must be 1 to {NAME_LEN_MAX} bytes"));
        }
        if self.clauses.is_empty() || self.clauses.len() > CLAUSES_MAX {
            let name = &self.name;
            return Err(format!(
                "policy {name:?} must have 1 to {CLAUSES_MAX} clauses"
            ));
        }
        for (event, _) in self.event_clauses() {
            if event.is_empty() || event.len() > EVENT_LEN_MAX {
                return Err(format!("event names must be 1 to {EVENT_LEN_MAX} bytes"));
            }
        }
        Ok(())
    }

    /// Canonical, stable, human-readable text of mode + clauses +
    /// disposition (NOT the name), e.g.
    /// `governance; retain 7y after creation; then dispose` or
    /// `compliance; retain 6y after event "account-closed"; retain 6y after creation; then keep`.
    /// Event names are quoted with \" and \\ escaped.
    pub(crate) fn canonical(&self) -> String {
        let mut text = String::from(self.mode.word());
        for clause in &self.clauses {
            text.push_str("; retain ");
            match clause {
                Clause::AfterCreation(period) => {
                    text.push_str(&format!("{period} after creation"));
                }
                Clause::AfterEvent { event, period } => {
                    text.push_str(&format!("{period} after event \""));
                    for c in event.chars() {
                        if c == '"' || c == '\\' {
                            text.push('\\');
                        }
                        text.push(c);
                    }
                    text.push('"');
                }
            }
        }
        text.push_str(if self.dispose {
            "; then dispose"
        } else {
            "; then keep"
        });
        text
    }

    /// Strict inverse of canonical: parse_canonical(p.name(), &p.canonical())
    /// == Ok(p) for every valid p; any other text -> Err(String) (never panic).
    pub(crate) fn parse_canonical(name: &str, text: &str) -> Result<Policy, String> {
        let fail = |why: &str| format!("invalid policy text {text:?}: {why}");
        let mut rest = text;
        let mut policy = Policy::new(name);
        policy.mode = if eat(&mut rest, "governance") {
            Mode::Governance
        } else if eat(&mut rest, "compliance") {
            Mode::Compliance
        } else {
            return Err(fail("expected \"governance\" or \"compliance\""));
        };
        loop {
            if !eat(&mut rest, "; ") {
                return Err(fail("expected \"; \""));
            }
            if eat(&mut rest, "then dispose") {
                policy.dispose = true;
                break;
            }
            if eat(&mut rest, "then keep") {
                break;
            }
            if !eat(&mut rest, "retain ") {
                return Err(fail("expected \"retain \" or \"then \""));
            }
            if policy.clauses.len() == CLAUSES_MAX {
                return Err(fail("more than 64 clauses"));
            }
            let Some((period_text, after)) = rest.split_once(' ') else {
                return Err(fail("expected a period"));
            };
            rest = after;
            let period = parse_period(period_text).map_err(|why| fail(&why))?;
            if eat(&mut rest, "after creation") {
                policy.clauses.push(Clause::AfterCreation(period));
            } else if eat(&mut rest, "after event \"") {
                let event = parse_quoted(&mut rest).map_err(fail)?;
                policy.clauses.push(Clause::AfterEvent { event, period });
            } else {
                return Err(fail("expected \"after creation\" or \"after event\""));
            }
        }
        if !rest.is_empty() {
            return Err(fail("text after the disposition"));
        }
        policy.validate().map_err(|why| fail(&why))?;
        // Belt and braces for invariant 2: only the canonical spelling parses.
        if policy.canonical() != text {
            return Err(fail("not in canonical form"));
        }
        Ok(policy)
    }

    /// The latest date of the AfterCreation clauses for a record written at
    /// `written_at` (None if it has none). Saturates at Timestamp::MAX.
    pub(crate) fn creation_until(&self, written_at: Timestamp) -> Option<Timestamp> {
        let dates = self.clauses.iter().filter_map(|clause| match clause {
            Clause::AfterCreation(period) => Some(written_at.saturating_add(*period)),
            Clause::AfterEvent { .. } => None,
        });
        dates.max()
    }

    /// The AfterEvent clauses as (event, period).
    pub(crate) fn event_clauses(&self) -> impl Iterator<Item = (&str, Period)> {
        self.clauses.iter().filter_map(|clause| match clause {
            Clause::AfterEvent { event, period } => Some((event.as_str(), *period)),
            Clause::AfterCreation(_) => None,
        })
    }
}

/// Consumes `literal` from the front of `rest` if it is there.
fn eat(rest: &mut &str, literal: &str) -> bool {
    match rest.strip_prefix(literal) {
        Some(after) => {
            *rest = after;
            true
        }
        None => false,
    }
}

/// A period in its canonical spelling only (`12mo` is refused: it is `1y`).
fn parse_period(text: &str) -> Result<Period, String> {
    let period: Period = text.parse()?;
    if period.to_string() != text {
        return Err(format!("period {text:?} is not canonical (write {period})"));
    }
    Ok(period)
}

/// The body of a quoted string whose opening quote has been consumed;
/// consumes through the closing quote. Only `\"` and `\\` are escapes.
fn parse_quoted(rest: &mut &str) -> Result<String, &'static str> {
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                *rest = rest.get(at + 1..).unwrap_or_default();
                return Ok(out);
            }
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => out.push(escaped),
                _ => return Err("only \\\" and \\\\ may follow a backslash"),
            },
            _ => out.push(c),
        }
    }
    Err("unterminated event name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::time::{days, hours, millis, months, years};

    const EVENTS: [&str; 10] = [
        "account-closed",
        "a\"b",
        "back\\slash",
        "\\\"",
        "\"",
        "Kündigung fristlos 終了 🗄️",
        "x; then keep",
        "\"; retain 1d after creation",
        "line\nbreak\ttab\0nul",
        " ",
    ];

    /// Deterministic variety: mode, 1 to 6 clauses, disposition.
    fn policies() -> Vec<Policy> {
        let periods = [
            years(7),
            months(18),
            days(30),
            hours(5),
            millis(1500),
            millis(0),
        ];
        let mut out = Vec::new();
        let mut n: u64 = 7;
        for i in 0..300u64 {
            n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let mut p = Policy::new(format!("p{i}"));
            for c in 0..=(n >> 60) % 6 {
                let period = periods[((n >> (c * 7)) % 6) as usize];
                p = match (n >> (c * 5 + 20)) % 3 {
                    0 => p.retain_for(period),
                    _ => p.retain_after_event(EVENTS[((n >> (c * 3 + 40)) % 10) as usize], period),
                };
            }
            p = if n & 1 == 0 {
                p.compliance()
            } else {
                p.governance()
            };
            out.push(if n & 2 == 0 {
                p.then_dispose()
            } else {
                p.then_keep()
            });
        }
        out
    }

    #[test]
    fn canonical_examples() {
        let p = Policy::new("invoice").retain_for(years(7)).then_dispose();
        assert_eq!(
            p.canonical(),
            "governance; retain 7y after creation; then dispose"
        );
        let p = Policy::new("account")
            .retain_after_event("account-closed", years(6))
            .retain_for(years(6))
            .compliance();
        let text = "compliance; retain 6y after event \"account-closed\"; \
                    retain 6y after creation; then keep";
        assert_eq!(p.canonical(), text);
        assert_eq!(Policy::parse_canonical("account", text), Ok(p));
        let p = Policy::new("q").retain_after_event("say \"hi\" \\o/", days(1));
        let text = r#"governance; retain 1d after event "say \"hi\" \\o/"; then keep"#;
        assert_eq!(p.canonical(), text);
    }

    #[test]
    fn canonical_round_trips() {
        for p in policies() {
            assert_eq!(p.validate(), Ok(()));
            assert_eq!(Policy::parse_canonical(p.name(), &p.canonical()), Ok(p));
        }
        let mut many = Policy::new("many");
        for i in 0..CLAUSES_MAX as u32 {
            many = many.retain_for(days(i)).retain_after_event("e", hours(1));
        }
        many.clauses.truncate(CLAUSES_MAX);
        assert_eq!(
            Policy::parse_canonical("many", &many.canonical()),
            Ok(many.clone())
        );
        let too_many = many.retain_for(days(1));
        assert!(Policy::parse_canonical("many", &too_many.canonical()).is_err());
    }

    /// Every prefix and every single-byte change (replacement by any byte,
    /// deletion) either fails or parses to a policy whose text is the input.
    #[test]
    fn parse_is_strict_under_mutation() {
        let check = |text: &str| {
            if let Ok(p) = Policy::parse_canonical("m", text) {
                assert_eq!(p.canonical(), text);
                assert_eq!(p.validate(), Ok(()));
            }
        };
        let mut accepted_mutants = 0;
        for p in policies().iter().step_by(15) {
            let text = p.canonical();
            for end in 0..text.len() {
                if let Some(prefix) = text.get(..end) {
                    assert!(Policy::parse_canonical("m", prefix).is_err(), "{prefix:?}");
                }
            }
            let bytes = text.as_bytes();
            for at in 0..bytes.len() {
                let mut deleted = bytes.to_vec();
                deleted.remove(at);
                if let Ok(mutant) = String::from_utf8(deleted) {
                    check(&mutant);
                }
                for b in 0..=255u8 {
                    let mut changed = bytes.to_vec();
                    changed[at] = b;
                    if let Ok(mutant) = String::from_utf8(changed) {
                        check(&mutant);
                        let parsed = Policy::parse_canonical("m", &mutant).is_ok();
                        accepted_mutants += usize::from(parsed && mutant != text);
                    }
                }
            }
        }
        // Changing an event name's letters or a period's digits stays valid.
        assert!(accepted_mutants > 0);
    }

    #[test]
    fn parse_rejects_garbage() {
        for text in [
            "",
            "governance",
            "governance; then keep",
            "Governance; retain 7y after creation; then keep",
            "governance;  retain 7y after creation; then keep",
            "governance; retain 12mo after creation; then keep",
            "governance; retain 7 y after creation; then keep",
            "governance; retain 7y after creation; then keep ",
            "governance; retain 7y after creation; then keep; then keep",
            "governance; retain 7y after creation; then",
            "governance; retain 7y after creation;then keep",
            "governance; retain 7y after creation",
            "governance; retain 7y after event \"\"; then keep",
            "governance; retain 7y after event \"a\\x\"; then keep",
            "governance; retain 7y after event \"a; then keep",
            "governance; retain 7y after event a; then keep",
            "governance; retain -7y after creation; then keep",
            "governance; retain 99999999999999999999d after creation; then keep",
            "governance; retain 7y after deletion; then keep",
            "\u{feff}governance; retain 7y after creation; then keep",
        ] {
            assert!(Policy::parse_canonical("x", text).is_err(), "{text:?}");
        }
        let long_event = "e".repeat(EVENT_LEN_MAX + 1);
        let p = Policy::new("x").retain_after_event(long_event, days(1));
        assert!(Policy::parse_canonical("x", &p.canonical()).is_err());
        let valid = "governance; retain 7y after creation; then keep";
        assert!(Policy::parse_canonical("", valid).is_err());
        assert!(Policy::parse_canonical(&"n".repeat(NAME_LEN_MAX + 1), valid).is_err());
    }

    #[test]
    fn creation_until_takes_the_latest_clause() {
        let t = Timestamp::from_date(2024, 2, 29).unwrap();
        let p = Policy::new("p")
            .retain_for(days(30))
            .retain_for(years(1))
            .retain_for(months(11));
        assert_eq!(p.creation_until(t), Timestamp::from_date(2025, 2, 28));
        let p = p.retain_after_event("closed", years(100));
        assert_eq!(p.creation_until(t), Timestamp::from_date(2025, 2, 28));
        let events: Vec<_> = p.event_clauses().collect();
        assert_eq!(events, vec![("closed", years(100))]);
        let only_event = Policy::new("p").retain_after_event("closed", years(1));
        assert_eq!(only_event.creation_until(t), None);
        assert_eq!(
            Policy::new("p")
                .retain_for(years(1))
                .event_clauses()
                .count(),
            0
        );
        let huge = Policy::new("p").retain_for(millis(u64::MAX));
        assert_eq!(huge.creation_until(t), Some(Timestamp::MAX));
        assert_eq!(huge.creation_until(Timestamp::MAX), Some(Timestamp::MAX));
    }

    #[test]
    fn validate_and_builder() {
        let ok = Policy::new("n").retain_for(days(1));
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(
            Policy::new("n".repeat(NAME_LEN_MAX))
                .retain_for(days(1))
                .validate(),
            Ok(())
        );
        let event_max = "e".repeat(EVENT_LEN_MAX);
        assert_eq!(
            Policy::new("n")
                .retain_after_event(event_max, days(1))
                .validate(),
            Ok(())
        );
        for bad in [
            Policy::new("").retain_for(days(1)),
            Policy::new("n".repeat(NAME_LEN_MAX + 1)).retain_for(days(1)),
            Policy::new("n"),
            Policy::new("n").retain_after_event("", days(1)),
            Policy::new("n").retain_after_event("e".repeat(EVENT_LEN_MAX + 1), days(1)),
            (0..=CLAUSES_MAX as u32).fold(Policy::new("n"), |p, i| p.retain_for(days(i))),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert_eq!(
            (ok.mode(), ok.disposes(), ok.name()),
            (Mode::Governance, false, "n")
        );
        let p = ok.compliance().then_dispose();
        assert_eq!((p.mode(), p.disposes()), (Mode::Compliance, true));
        let p = p.governance().then_keep();
        assert_eq!((p.mode(), p.disposes()), (Mode::Governance, false));
        assert_eq!(p.clauses(), &[Clause::AfterCreation(days(1))]);
        assert!(Mode::Governance < Mode::Compliance);
    }
}
