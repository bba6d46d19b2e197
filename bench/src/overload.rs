//! Overload: many more concurrent clients than the server admits. The
//! server must refuse the excess at once (UNAVAILABLE / RESOURCE_EXHAUSTED)
//! and keep the latency of the calls it accepts, and its memory, bounded.

use std::{sync::Arc, time::Duration};

use tonic::transport::Channel;

use crate::{
    load::{self, LoadConfig},
    scenarios::{ApiWorker, RunState, Scenario},
    server::{RssSampler, rss_mb},
    stats::Summary,
};

/// What overload did to the server.
#[derive(Debug, Clone, Default)]
pub struct OverloadReport {
    pub clients: usize,
    pub accepted_rps: f64,
    pub accepted: Summary,
    pub shed_rps: f64,
    pub shed: Summary,
    /// Every call made, accepted or shed, warm-up included (for CPU per call).
    pub total_calls: u64,
    /// Share of calls refused.
    pub shed_fraction: f64,
    /// Failures other than shedding, by code.
    pub other_errors: u64,
    pub error_codes: Vec<(String, u64)>,
    pub rss_before_mb: f64,
    pub rss_peak_mb: f64,
    pub rss_after_mb: f64,
}

/// Drives `clients` concurrent readers (70% GetTask, 30% ListTasks) over
/// `channels`; a shed client pauses `backoff` before its next call.
pub async fn run(
    channels: &[Channel],
    state: &Arc<RunState>,
    server_pid: u32,
    clients: usize,
    config: LoadConfig,
    backoff: Duration,
) -> OverloadReport {
    let rss_before_mb = rss_mb(server_pid).unwrap_or(0.0);
    let sampler = RssSampler::start(server_pid, Duration::from_millis(200));
    let workers = (0..clients)
        .map(|index| {
            ApiWorker::new(channels[index % channels.len()].clone(), state.clone(), Scenario::Overload, index, clients)
        })
        .collect();
    let outcome = load::run(workers, LoadConfig { backoff_after_shed: backoff, ..config }).await;
    let rss_peak_mb = sampler.stop().await;
    let shed = outcome.shed();
    let total = outcome.latencies.len() + outcome.errors() as usize;
    let measured = outcome.measured.as_secs_f64();
    let error_codes: Vec<(String, u64)> = outcome.failures.iter().map(|(code, n)| (code.clone(), *n)).collect();
    // Let in-flight work drain before reading the settled RSS.
    tokio::time::sleep(Duration::from_secs(1)).await;
    OverloadReport {
        clients,
        accepted_rps: outcome.rps(),
        shed_rps: shed as f64 / measured,
        shed_fraction: if total == 0 { 0.0 } else { shed as f64 / total as f64 },
        total_calls: outcome.total_calls,
        other_errors: outcome.errors() - shed as u64,
        error_codes,
        accepted: outcome.latencies.summary(),
        shed: outcome.shed_latencies.summary(),
        rss_before_mb,
        rss_peak_mb,
        rss_after_mb: rss_mb(server_pid).unwrap_or(0.0),
    }
}
