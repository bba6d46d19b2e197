//! Results: one record per scenario, printed as a table and written as JSON
//! lines (one object per scenario) with `--json FILE`.

use std::io::Write;

use serde::Serialize;

/// One scenario's result. Fields that do not apply (no baselines for
/// `open`, `watch` and `overload`) are `null`.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub concurrency: usize,
    /// Successful API calls per second (for `watch`: event deliveries per
    /// second during the fan-out).
    pub api_rps: f64,
    /// Calls per second of the minimal SQL for the same calls.
    pub minimal_rps: Option<f64>,
    /// `api_rps / minimal_rps`.
    pub ratio: Option<f64>,
    /// Calls per second of the server's own statements sent raw.
    pub statements_rps: Option<f64>,
    /// `api_rps / statements_rps`.
    pub statements_ratio: Option<f64>,
    /// API latency percentiles (for `watch`: delivery latency; for
    /// `overload`: latency of accepted calls).
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Server CPU per API call, microseconds (warm-up included; `watch`: per
    /// event delivered, `overload`: per call answered, accepted or shed).
    pub server_cpu_us: Option<f64>,
    /// Failed calls, API and baselines (for `overload`: failures other than shedding).
    pub errors: u64,
    /// Server resident memory, peak during the API phase, MiB.
    pub server_rss_mb: f64,
    /// Scenario-specific figures (raw percentiles, error codes, shedding, memory per stream…).
    pub details: serde_json::Map<String, serde_json::Value>,
}

fn ms(value: f64) -> String {
    if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.2}") }
}

/// The human table.
pub fn table(results: &[ScenarioResult]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<10} {:>5} {:>8} {:>8} {:>6} {:>8} {:>6} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7}\n",
        "scenario",
        "conc",
        "api_rps",
        "min_rps",
        "ratio",
        "same_rps",
        "same",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "srv_us",
        "errors",
        "rss_mb"
    ));
    let rps = |value: Option<f64>| value.map_or("-".into(), |rps| format!("{rps:.0}"));
    let ratio = |value: Option<f64>| value.map_or("-".into(), |ratio| format!("{ratio:.2}"));
    for result in results {
        out.push_str(&format!(
            "{:<10} {:>5} {:>8.0} {:>8} {:>6} {:>8} {:>6} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7.1}\n",
            result.scenario,
            result.concurrency,
            result.api_rps,
            rps(result.minimal_rps),
            ratio(result.ratio),
            rps(result.statements_rps),
            ratio(result.statements_ratio),
            ms(result.p50_ms),
            ms(result.p95_ms),
            ms(result.p99_ms),
            rps(result.server_cpu_us),
            result.errors,
            result.server_rss_mb,
        ));
    }
    out
}

/// Writes one JSON object per line.
pub fn write_json(path: &std::path::Path, results: &[ScenarioResult]) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(path)?;
    for result in results {
        serde_json::to_writer(&mut file, result)?;
        file.write_all(b"\n")?;
    }
    Ok(())
}
