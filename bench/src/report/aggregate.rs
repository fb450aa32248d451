//! Medians over runs, and holdfast's ratio to the best peer.

use crate::engines::EngineKind;
use crate::workloads::{workload, Measurement, Metric, Status, WORKLOADS};
use std::collections::BTreeMap;

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

fn median_of(runs: &[&Measurement], f: impl Fn(&Measurement) -> Option<f64>) -> Option<f64> {
    median(runs.iter().filter_map(|m| f(m)).collect())
}

/// The median of every figure of the runs of one engine on one workload
/// (`run` = 0). Runs without figures count only if no run has any.
pub fn summarize(runs: &[&Measurement]) -> Option<Measurement> {
    let first = runs.first()?;
    let ok: Vec<&Measurement> = runs
        .iter()
        .copied()
        .filter(|m| m.status == Status::Ok)
        .collect();
    let mut notes: Vec<&str> = runs
        .iter()
        .map(|m| m.note.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    notes.dedup();
    let failed = runs.len() - ok.len();
    if ok.is_empty() {
        let mut m = (*first).clone();
        m.run = 0;
        m.rep = 0;
        return Some(m);
    }
    let mut m = ok[0].clone();
    m.run = 0;
    m.rep = 0;
    m.note = notes.join("; ");
    if failed > 0 {
        m.note = format!("{failed} of {} samples failed; {}", runs.len(), m.note);
    }
    let as_u64 = |v: Option<f64>| v.map(|x| x.round() as u64);
    m.ops = as_u64(median_of(&ok, |r| Some(r.ops as f64))).unwrap_or(0);
    m.secs = median_of(&ok, |r| Some(r.secs)).unwrap_or(0.0);
    m.ops_per_sec = median_of(&ok, |r| r.ops_per_sec);
    m.p50_us = median_of(&ok, |r| r.p50_us);
    m.p99_us = median_of(&ok, |r| r.p99_us);
    m.peak_rss_bytes = as_u64(median_of(&ok, |r| r.peak_rss_bytes.map(|v| v as f64)));
    m.disk_write_bytes = as_u64(median_of(&ok, |r| r.disk_write_bytes.map(|v| v as f64)));
    m.logical_write_bytes =
        as_u64(median_of(&ok, |r| Some(r.logical_write_bytes as f64))).unwrap_or(0);
    m.write_amp = median_of(&ok, |r| r.write_amp);
    m.disk_bytes = as_u64(median_of(&ok, |r| r.disk_bytes.map(|v| v as f64)));
    m.logical_bytes = as_u64(median_of(&ok, |r| r.logical_bytes.map(|v| v as f64)));
    m.space_amp = median_of(&ok, |r| r.space_amp);
    let keys: Vec<String> = ok.iter().flat_map(|r| r.extra.keys().cloned()).collect();
    m.extra = keys
        .into_iter()
        .filter_map(|k| median_of(&ok, |r| r.extra.get(&k).copied()).map(|v| (k, v)))
        .collect();
    Some(m)
}

/// Medians keyed by (workload id, engine name).
pub type Medians = BTreeMap<(String, String), Measurement>;

/// The medians of every (workload, engine) pair measured.
pub fn medians(all: &[Measurement]) -> Medians {
    let mut groups: BTreeMap<(String, String), Vec<&Measurement>> = BTreeMap::new();
    for m in all {
        groups
            .entry((m.workload.clone(), m.engine.clone()))
            .or_default()
            .push(m);
    }
    groups
        .into_iter()
        .filter_map(|(k, runs)| summarize(&runs).map(|m| (k, m)))
        .collect()
}

/// The figure a workload is ranked by, oriented so that higher is better:
/// throughput, or 1 / seconds.
pub fn score(m: &Measurement) -> Option<f64> {
    if m.status != Status::Ok {
        return None;
    }
    match workload(&m.workload)?.metric {
        Metric::Throughput => m.ops_per_sec,
        Metric::Seconds => (m.secs > 0.0).then(|| 1.0 / m.secs),
        Metric::Unranked => None,
    }
}

/// holdfast against the best peer on one workload.
pub struct Ratio {
    /// Workload id.
    pub workload: &'static str,
    /// holdfast's median.
    pub holdfast: Option<Measurement>,
    /// The best peer's median.
    pub best_peer: Option<Measurement>,
    /// holdfast's score ÷ the best peer's: above 1, holdfast is faster.
    pub ratio: Option<f64>,
}

/// Whether engine `engine`'s figure for workload `id` is like-for-like with
/// holdfast's: sync writes count only from engines whose sync is an fsync.
pub fn comparable(id: &str, engine: &str) -> bool {
    let sync_workload = matches!(id, "sync-1t" | "sync-8t");
    !sync_workload || EngineKind::parse(engine).is_none_or(EngineKind::sync_is_fsync)
}

/// The ratio of holdfast to the best peer for every ranked workload (see
/// [`comparable`]).
pub fn ratios(medians: &Medians, engines: &[String]) -> Vec<Ratio> {
    WORKLOADS
        .iter()
        .filter(|w| w.metric != Metric::Unranked)
        .map(|w| {
            let get = |e: &str| medians.get(&(w.id.to_string(), e.to_string()));
            let holdfast = get("holdfast").cloned();
            let best_peer = engines
                .iter()
                .filter(|e| e.as_str() != "holdfast")
                .filter(|e| comparable(w.id, e))
                .filter_map(|e| get(e))
                .filter_map(|m| score(m).map(|s| (s, m)))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, m)| m.clone());
            let ratio = match (
                holdfast.as_ref().and_then(score),
                best_peer.as_ref().and_then(score),
            ) {
                (Some(h), Some(p)) if p > 0.0 => Some(h / p),
                _ => None,
            };
            Ratio {
                workload: w.id,
                holdfast,
                best_peer,
                ratio,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(engine: EngineKind, wl: &str, run: u32, ops_per_sec: f64) -> Measurement {
        let tag = crate::workloads::Tag {
            engine,
            run,
            rep: 1,
        };
        let mut m = Measurement::empty(tag, wl, Status::Ok, String::new());
        m.ops_per_sec = Some(ops_per_sec);
        m.secs = 1.0 / ops_per_sec;
        m
    }

    #[test]
    fn medians_and_ratios() {
        let all = vec![
            m(EngineKind::Holdfast, "read-random", 1, 100.0),
            m(EngineKind::Holdfast, "read-random", 2, 300.0),
            m(EngineKind::Holdfast, "read-random", 3, 200.0),
            m(EngineKind::Fjall, "read-random", 1, 400.0),
            m(EngineKind::Redb, "read-random", 1, 100.0),
            m(EngineKind::Holdfast, "reopen", 1, 2.0),
            m(EngineKind::Fjall, "reopen", 1, 4.0),
        ];
        let med = medians(&all);
        let h = &med[&("read-random".to_string(), "holdfast".to_string())];
        assert_eq!(h.ops_per_sec, Some(200.0));
        let engines: Vec<String> = ["holdfast", "fjall", "redb"].map(String::from).to_vec();
        let r = ratios(&med, &engines);
        let read = r.iter().find(|r| r.workload == "read-random").expect("row");
        assert_eq!(read.ratio, Some(0.5));
        assert_eq!(
            read.best_peer.as_ref().map(|m| m.engine.as_str()),
            Some("fjall")
        );
        let reopen = r.iter().find(|r| r.workload == "reopen").expect("row");
        assert_eq!(reopen.ratio, Some(0.5));
        assert_eq!(median(vec![1.0, 2.0, 3.0, 10.0]), Some(2.5));
    }
}
