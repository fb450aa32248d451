//! The event registry: when did a policy event (e.g. `"account-closed"`)
//! last happen for a key? (RECORDS.md rule 6.)
//!
//! An event-based policy clause starts its clock at the latest recorded
//! event of its name whose scope covers the record's key; until one is
//! recorded the record is retained indefinitely. Events are recorded once
//! per scope, however many records they cover, and indexed in memory by
//! event name, then by scope (`ScopeIndex` in `holds.rs`, as for holds);
//! the index is rebuilt from their durable entries on open.
//!
//! Invariants:
//! 1. `latest(event, key)` is the maximum `at` over every event ever
//!    recorded with that name and a scope covering `key`; recording an event
//!    never makes it earlier (re-recording one with an older `at` changes
//!    nothing), so an event can only extend retention, never shorten it.
//! 2. One entry per distinct (event, scope): `len()` counts those pairs.

use std::collections::BTreeMap;

use crate::audit::Scope;
use crate::records::holds::ScopeIndex;
use crate::records::time::Timestamp;

/// A recorded policy event (e.g. "account-closed" for prefix "account/42/").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The event's name, as policies' `AfterEvent` clauses refer to it.
    pub event: String,
    /// The key or key prefix it happened for.
    pub scope: Scope,
    /// When it happened.
    pub at: Timestamp,
}

/// All recorded events, answering "when did `event` last happen for `key`?".
#[derive(Clone, Debug, Default)]
pub(crate) struct EventRegistry {
    /// By event name, then scope: the latest `at` recorded for the pair.
    by_event: BTreeMap<String, ScopeIndex<Timestamp>>,
    /// Distinct (event, scope) pairs.
    len: usize,
}

impl EventRegistry {
    /// Records `e`; for an (event, scope) already recorded, keeps the later time.
    pub(crate) fn record(&mut self, e: RecordedEvent) {
        let scopes = self.by_event.entry(e.event).or_default();
        match scopes.get_mut(&e.scope) {
            Some(at) => *at = (*at).max(e.at),
            None => {
                scopes.insert(e.scope, e.at);
                self.len += 1;
            }
        }
    }

    /// The latest `at` among recorded events named `event` whose scope covers `key`.
    pub(crate) fn latest(&self, event: &str, key: &[u8]) -> Option<Timestamp> {
        self.by_event.get(event)?.covering(key).max().copied()
    }

    /// Whether no event has been recorded.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many distinct (event, scope) pairs have been recorded.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, scope: Scope, at: i64) -> RecordedEvent {
        RecordedEvent {
            event: name.into(),
            scope,
            at: Timestamp::from_millis(at),
        }
    }

    /// The obviously correct answer: scan every event ever recorded.
    fn naive(events: &[RecordedEvent], name: &str, key: &[u8]) -> Option<Timestamp> {
        let covers = |scope: &Scope| match scope {
            Scope::Key(k) => k == key,
            Scope::Prefix(prefix) => key.starts_with(prefix),
        };
        events
            .iter()
            .filter(|e| e.event == name && covers(&e.scope))
            .map(|e| e.at)
            .max()
    }

    /// Short byte strings over a 3-letter alphabet, so that prefixes overlap.
    fn bytes_from(n: u64) -> Vec<u8> {
        let len = (n % 5) as usize;
        (0..len)
            .map(|i| b"abc"[((n >> (8 + 2 * i)) % 3) as usize])
            .collect()
    }

    #[test]
    fn matches_a_naive_model() {
        let names = ["closed", "ended", "closed ", ""];
        let (mut registry, mut model) = (EventRegistry::default(), Vec::<RecordedEvent>::new());
        let mut pairs = Vec::new();
        let (mut n, mut answered): (u64, usize) = (3, 0);
        for step in 0..500 {
            n = n
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let bytes = bytes_from(n >> 30);
            let scope = match (n >> 25) % 2 {
                0 if !bytes.is_empty() => Scope::Key(bytes),
                _ => Scope::Prefix(bytes),
            };
            // Times go both ways, with extremes, so "latest" is really a max.
            let at = match (n >> 10) % 10 {
                0 => i64::MIN,
                1 => i64::MAX,
                r => (n >> 40) as i64 - (1 << 23) + i64::from(r as u8),
            };
            let e = event(names[((n >> 55) % 4) as usize], scope, at);
            if !pairs.contains(&(e.event.clone(), e.scope.clone())) {
                pairs.push((e.event.clone(), e.scope.clone()));
            }
            registry.record(e.clone());
            model.push(e);
            assert_eq!((registry.len(), registry.is_empty()), (pairs.len(), false));
            if step % 20 != 0 {
                continue;
            }
            for k in 0..200u64 {
                let key = bytes_from(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                for name in names.iter().copied().chain(["missing"]) {
                    let expected = naive(&model, name, &key);
                    assert_eq!(registry.latest(name, &key), expected, "{name:?} {key:?}");
                    answered += usize::from(expected.is_some());
                }
            }
        }
        assert!(answered > 1000, "the model test should find events");
    }

    #[test]
    fn latest_event_wins_and_scopes_are_respected() {
        let mut registry = EventRegistry::default();
        assert!(registry.is_empty());
        assert_eq!(registry.len(), 0);
        assert_eq!(registry.latest("closed", b"account/42/x"), None);
        registry.record(event("closed", Scope::Prefix(b"account/42/".to_vec()), 100));
        registry.record(event("closed", Scope::Key(b"account/42/x".to_vec()), 50));
        registry.record(event("closed", Scope::Prefix(b"account/42/".to_vec()), 10));
        assert_eq!(registry.len(), 2);
        let at = |ms| Some(Timestamp::from_millis(ms));
        assert_eq!(registry.latest("closed", b"account/42/x"), at(100));
        assert_eq!(registry.latest("closed", b"account/42/"), at(100));
        assert_eq!(registry.latest("closed", b"account/4"), None);
        assert_eq!(registry.latest("closed", b"account/43/x"), None);
        assert_eq!(registry.latest("opened", b"account/42/x"), None);
        registry.record(event("closed", Scope::Key(b"account/42/x".to_vec()), 500));
        assert_eq!(registry.latest("closed", b"account/42/x"), at(500));
        assert_eq!(registry.latest("closed", b"account/42/y"), at(100));
        registry.record(event("closed", Scope::Prefix(Vec::new()), 1000));
        assert_eq!(registry.latest("closed", b""), at(1000));
        assert_eq!(registry.latest("closed", b"anything"), at(1000));
        assert_eq!(registry.len(), 3);
    }
}
