//! Legal holds (RECORDS.md rule 4) and the in-memory index that answers
//! "which holds cover this key?".
//!
//! Holds are few (hundreds) and consulted on every protected write and
//! every disposal, so they live in memory, rebuilt from their durable
//! entries on open. `ScopeIndex` keeps exact keys in one sorted map and
//! prefixes in one sorted map per distinct prefix length: a lookup probes
//! the key itself and, for each prefix length `l <= key.len()`, the key's
//! first `l` bytes — O(distinct prefix lengths × log n).
//!
//! Invariants:
//! 1. A key is held while at least one hold in force covers it; releasing
//!    one of several holds on a key frees nothing.
//! 2. `Scope::Prefix(vec![])` covers every key.
//! 3. Every hold in `HoldSet::by_id` appears in exactly one scope entry of
//!    `HoldSet::scopes` and vice versa; no scope entry or length map is
//!    ever left empty.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::Scope;
use crate::records::time::Timestamp;

/// Longest hold id, issuer or reason, in bytes.
const HOLD_TEXT_LEN_MAX: usize = 4096;
/// Longest scope, in bytes: the engine's `KEY_LEN_MAX` (a longer prefix
/// could cover no key, so it is refused rather than silently useless).
const SCOPE_LEN_MAX: usize = 65_536;

/// A legal hold (RECORDS.md rule 4): covers one key or every key with a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// Unique among the holds in force, chosen by the caller (e.g. a case number).
    pub id: String,
    /// The key or key prefix held.
    pub scope: Scope,
    /// Why the records are held (may be empty).
    pub reason: String,
    /// Who placed the hold.
    pub issuer: String,
}

/// A hold in force, with when it was placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedHold {
    /// The hold.
    pub hold: Hold,
    /// The engine clock when it was placed.
    pub placed_at: Timestamp,
}

impl Hold {
    /// InvalidArgument reasons: empty id, empty issuer, id/issuer/reason >
    /// 4096 bytes, an empty Key scope or key > 65536 bytes. A prefix longer
    /// than 65536 bytes is refused too (it could never cover a key).
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() {
            return Err("hold id must not be empty".to_string());
        }
        if self.issuer.is_empty() {
            return Err(format!("hold {:?}: issuer must not be empty", self.id));
        }
        for (field, text) in [
            ("id", &self.id),
            ("issuer", &self.issuer),
            ("reason", &self.reason),
        ] {
            if text.len() > HOLD_TEXT_LEN_MAX {
                return Err(format!(
                    "hold {field} longer than {HOLD_TEXT_LEN_MAX} bytes"
                ));
            }
        }
        let bytes = match &self.scope {
            Scope::Key(key) if key.is_empty() => {
                return Err(format!("hold {:?}: key must not be empty", self.id));
            }
            Scope::Key(bytes) | Scope::Prefix(bytes) => bytes,
        };
        if bytes.len() > SCOPE_LEN_MAX {
            return Err(format!(
                "hold {:?}: scope longer than {SCOPE_LEN_MAX} bytes",
                self.id
            ));
        }
        Ok(())
    }
}

/// A map from scopes to values, answering "which values' scopes cover this
/// key?" in O(distinct prefix lengths × log n). Shared by [`HoldSet`] and
/// the event registry (`events.rs`).
#[derive(Clone, Debug)]
pub(crate) struct ScopeIndex<V> {
    /// `Scope::Key` entries.
    keys: BTreeMap<Vec<u8>, V>,
    /// `Scope::Prefix` entries, by prefix length; no inner map is empty.
    prefixes: BTreeMap<usize, BTreeMap<Vec<u8>, V>>,
}

impl<V> Default for ScopeIndex<V> {
    fn default() -> Self {
        ScopeIndex {
            keys: BTreeMap::new(),
            prefixes: BTreeMap::new(),
        }
    }
}

impl<V> ScopeIndex<V> {
    /// The value stored for exactly `scope`.
    pub(crate) fn get_mut(&mut self, scope: &Scope) -> Option<&mut V> {
        match scope {
            Scope::Key(key) => self.keys.get_mut(key),
            Scope::Prefix(prefix) => self.prefixes.get_mut(&prefix.len())?.get_mut(prefix),
        }
    }

    /// Stores `value` for `scope`, returning the value it replaces.
    pub(crate) fn insert(&mut self, scope: Scope, value: V) -> Option<V> {
        match scope {
            Scope::Key(key) => self.keys.insert(key, value),
            Scope::Prefix(prefix) => self
                .prefixes
                .entry(prefix.len())
                .or_default()
                .insert(prefix, value),
        }
    }

    /// Removes and returns the value stored for exactly `scope`.
    pub(crate) fn remove(&mut self, scope: &Scope) -> Option<V> {
        match scope {
            Scope::Key(key) => self.keys.remove(key),
            Scope::Prefix(prefix) => {
                let by_prefix = self.prefixes.get_mut(&prefix.len())?;
                let value = by_prefix.remove(prefix);
                if by_prefix.is_empty() {
                    self.prefixes.remove(&prefix.len());
                }
                value
            }
        }
    }

    /// The values of every scope that covers `key`: the key itself, then
    /// its prefixes from shortest to longest.
    pub(crate) fn covering<'a>(&'a self, key: &'a [u8]) -> impl Iterator<Item = &'a V> + 'a {
        let exact = self.keys.get(key);
        let prefixes = self
            .prefixes
            .range(..=key.len())
            .filter_map(move |(&len, by_prefix)| {
                key.get(..len).and_then(|prefix| by_prefix.get(prefix))
            });
        exact.into_iter().chain(prefixes)
    }

    /// Whether nothing is stored.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.prefixes.is_empty()
    }
}

/// The holds in force, answering "which holds cover this key?" in
/// O(distinct prefix lengths * log n).
#[derive(Clone, Debug, Default)]
pub(crate) struct HoldSet {
    /// Every hold in force, by id.
    by_id: BTreeMap<String, PlacedHold>,
    /// The ids of the holds in force, by scope (several holds may share one).
    scopes: ScopeIndex<BTreeSet<String>>,
}

impl HoldSet {
    /// Puts `hold` in force; Err if a hold with its id already is.
    pub(crate) fn insert(&mut self, hold: PlacedHold) -> Result<(), String> {
        if self.by_id.contains_key(&hold.hold.id) {
            return Err(format!(
                "a hold with id {:?} is already in force",
                hold.hold.id
            ));
        }
        let id = hold.hold.id.clone();
        match self.scopes.get_mut(&hold.hold.scope) {
            Some(ids) => {
                ids.insert(id.clone());
            }
            None => {
                self.scopes
                    .insert(hold.hold.scope.clone(), BTreeSet::from([id.clone()]));
            }
        }
        self.by_id.insert(id, hold);
        debug_assert!(!self.scopes.is_empty());
        Ok(())
    }

    /// Releases the hold `id`, returning it; None if no such hold is in force.
    pub(crate) fn remove(&mut self, id: &str) -> Option<PlacedHold> {
        let placed = self.by_id.remove(id)?;
        let scope = &placed.hold.scope;
        if let Some(ids) = self.scopes.get_mut(scope) {
            ids.remove(id);
            if ids.is_empty() {
                self.scopes.remove(scope);
            }
        }
        debug_assert_eq!(self.by_id.is_empty(), self.scopes.is_empty());
        Some(placed)
    }

    /// The hold `id`, if in force.
    pub(crate) fn get(&self, id: &str) -> Option<&PlacedHold> {
        self.by_id.get(id)
    }

    /// The ids of the holds covering `key`, sorted ascending.
    pub(crate) fn covering(&self, key: &[u8]) -> Vec<String> {
        let mut ids: Vec<String> = self.scopes.covering(key).flatten().cloned().collect();
        ids.sort_unstable();
        ids
    }

    /// Whether at least one hold covers `key`.
    pub(crate) fn is_held(&self, key: &[u8]) -> bool {
        self.scopes.covering(key).next().is_some()
    }

    /// Whether no hold is in force.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// How many holds are in force.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Every hold in force, sorted by id.
    pub(crate) fn list(&self) -> Vec<PlacedHold> {
        self.by_id.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(id: &str, scope: Scope) -> PlacedHold {
        let hold = Hold {
            id: id.into(),
            scope,
            reason: "case".into(),
            issuer: "legal".into(),
        };
        PlacedHold {
            hold,
            placed_at: Timestamp::from_millis(7),
        }
    }

    /// The obviously correct answer: scan every hold.
    fn naive(holds: &[PlacedHold], key: &[u8]) -> Vec<String> {
        let mut ids: Vec<String> = holds
            .iter()
            .filter(|p| match &p.hold.scope {
                Scope::Key(k) => k == key,
                Scope::Prefix(prefix) => key.starts_with(prefix),
            })
            .map(|p| p.hold.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Short keys over a 3-letter alphabet, so that prefixes overlap a lot.
    fn bytes_from(n: u64) -> Vec<u8> {
        let len = (n % 5) as usize;
        (0..len)
            .map(|i| b"abc"[((n >> (8 + 2 * i)) % 3) as usize])
            .collect()
    }

    /// Compares `set` with `model`; returns the most holds seen on one key.
    fn check(set: &HoldSet, model: &[PlacedHold]) -> usize {
        assert_eq!((set.len(), set.is_empty()), (model.len(), model.is_empty()));
        let mut sorted = model.to_vec();
        sorted.sort_by(|a, b| a.hold.id.cmp(&b.hold.id));
        assert_eq!(set.list(), sorted);
        let mut most = 0;
        for n in 0..400u64 {
            let key = bytes_from(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let expected = naive(model, &key);
            assert_eq!(set.is_held(&key), !expected.is_empty());
            assert_eq!(set.covering(&key), expected, "{key:?}");
            most = most.max(expected.len());
        }
        most
    }

    #[test]
    fn matches_a_naive_model() {
        let (mut set, mut model) = (HoldSet::default(), Vec::<PlacedHold>::new());
        let (mut n, mut most): (u64, usize) = (1, 0);
        for step in 0..600 {
            n = n
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let id = format!("h{}", (n >> 50) % 40);
            if (n >> 20) % 3 == 0 {
                let removed = set.remove(&id);
                let at = model.iter().position(|p| p.hold.id == id);
                assert_eq!(removed, at.map(|at| model.remove(at)));
            } else {
                let bytes = bytes_from(n >> 30);
                let scope = match (n >> 25) % 2 {
                    0 if !bytes.is_empty() => Scope::Key(bytes),
                    _ => Scope::Prefix(bytes),
                };
                let placed = hold(&id, scope);
                let fresh = !model.iter().any(|p| p.hold.id == id);
                assert_eq!(set.insert(placed.clone()).is_ok(), fresh);
                if fresh {
                    model.push(placed);
                }
            }
            assert_eq!(set.get(&id), model.iter().find(|p| p.hold.id == id));
            if step % 25 == 0 {
                most = most.max(check(&set, &model));
            }
        }
        assert!(most >= 4, "the model test should see overlapping holds");
        check(&set, &model);
        for p in model.drain(..) {
            assert_eq!(set.remove(&p.hold.id), Some(p));
        }
        check(&set, &model);
        assert!(set.scopes.is_empty());
    }

    #[test]
    fn releasing_one_of_several_holds_frees_nothing() {
        let mut set = HoldSet::default();
        set.insert(hold("a", Scope::Key(b"k/1".to_vec()))).unwrap();
        set.insert(hold("b", Scope::Key(b"k/1".to_vec()))).unwrap();
        set.insert(hold("c", Scope::Prefix(b"k/".to_vec())))
            .unwrap();
        assert_eq!(set.covering(b"k/1"), ["a", "b", "c"]);
        assert_eq!(set.remove("a").map(|p| p.hold.id), Some("a".to_string()));
        assert_eq!(set.covering(b"k/1"), ["b", "c"]);
        assert!(set.remove("c").is_some());
        assert!(set.is_held(b"k/1") && !set.is_held(b"k/2"));
        assert!(set.remove("b").is_some() && set.remove("b").is_none());
        assert!(!set.is_held(b"k/1") && set.is_empty());
        // Re-insert after remove, with another scope.
        set.insert(hold("a", Scope::Prefix(Vec::new()))).unwrap();
        assert!(set.insert(hold("a", Scope::Key(b"x".to_vec()))).is_err());
        assert_eq!(set.covering(b""), ["a"]);
        assert_eq!(set.covering(&[0xff; 70_000]), ["a"]);
        assert_eq!(
            set.get("a").map(|p| &p.hold.scope),
            Some(&Scope::Prefix(Vec::new()))
        );
    }

    #[test]
    fn validate() {
        let ok = hold("id", Scope::Key(b"k".to_vec())).hold;
        assert_eq!(ok.validate(), Ok(()));
        let big = "x".repeat(HOLD_TEXT_LEN_MAX);
        let edge = Hold {
            id: big.clone(),
            issuer: big.clone(),
            reason: big,
            ..ok.clone()
        };
        assert_eq!(edge.validate(), Ok(()));
        let prefix_all = Hold {
            scope: Scope::Prefix(Vec::new()),
            ..ok.clone()
        };
        assert_eq!(prefix_all.validate(), Ok(()));
        let longest = Hold {
            scope: Scope::Key(vec![1; SCOPE_LEN_MAX]),
            ..ok.clone()
        };
        assert_eq!(longest.validate(), Ok(()));
        let no_reason = Hold {
            reason: String::new(),
            ..ok.clone()
        };
        assert_eq!(no_reason.validate(), Ok(()));
        let long = "x".repeat(HOLD_TEXT_LEN_MAX + 1);
        for bad in [
            Hold {
                id: String::new(),
                ..ok.clone()
            },
            Hold {
                issuer: String::new(),
                ..ok.clone()
            },
            Hold {
                id: long.clone(),
                ..ok.clone()
            },
            Hold {
                issuer: long.clone(),
                ..ok.clone()
            },
            Hold {
                reason: long,
                ..ok.clone()
            },
            Hold {
                scope: Scope::Key(Vec::new()),
                ..ok.clone()
            },
            Hold {
                scope: Scope::Key(vec![1; SCOPE_LEN_MAX + 1]),
                ..ok.clone()
            },
            Hold {
                scope: Scope::Prefix(vec![1; SCOPE_LEN_MAX + 1]),
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
