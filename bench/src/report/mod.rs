//! The report: medians, holdfast's ratio to the best peer, every figure as
//! JSON and CSV, SVG charts, and the markdown fragment for
//! `docs/benchmarks.md`.

pub mod aggregate;
pub mod charts;
pub mod files;
pub mod machine;
pub mod table;

use crate::config::Config;
use crate::workloads::Measurement;
use std::path::PathBuf;

/// What [`write_all`] wrote.
pub struct Written {
    /// The markdown fragment (also written to `fragment.md`).
    pub markdown: String,
    /// Paths of the files written.
    pub files: Vec<PathBuf>,
}

/// Writes `results.json`, `results.csv`, the charts and `fragment.md` into
/// the configured output directory.
pub fn write_all(
    cfg: &Config,
    machine: &machine::Machine,
    runs: &[Measurement],
) -> Result<Written, Box<dyn std::error::Error>> {
    let dir = &cfg.out_dir;
    std::fs::create_dir_all(dir)?;
    let medians = aggregate::medians(runs);
    let engines = files::engine_names(&cfg.engines);
    let mut written = Vec::new();
    let mut put = |name: &str, text: &str| -> std::io::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        written.push(path);
        Ok(())
    };
    put("results.json", &files::json(cfg, machine, &medians, runs))?;
    put("results.csv", &files::csv(&medians, runs))?;
    // The fragment lives in docs/benchmarks.md, next to docs/bench/.
    let chart_dir = dir
        .file_name()
        .map_or_else(|| ".".to_string(), |n| n.to_string_lossy().into_owned());
    let markdown = table::markdown(cfg, machine, &medians, &engines, &chart_dir);
    put("fragment.md", &markdown)?;
    charts::write_all(dir, &medians, &engines)?;
    for chart in ["throughput.svg", "latency.svg", "resources.svg"] {
        written.push(dir.join(chart));
    }
    Ok(Written {
        markdown,
        files: written,
    })
}
