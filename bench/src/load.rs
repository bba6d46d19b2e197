//! The closed-loop load driver: N workers call as fast as answers come back,
//! for a warm-up and then a measured period, each loop bounded in time and
//! in count.

use std::{
    collections::BTreeMap,
    future::Future,
    time::{Duration, Instant},
};

use crate::stats::Latencies;

/// Why a call failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// A gRPC code name (`Unavailable`) or `sql: …`, `timeout`.
    pub code: String,
    /// Refused by load shedding (UNAVAILABLE / RESOURCE_EXHAUSTED).
    pub shed: bool,
}

impl Failure {
    pub fn other(code: impl Into<String>) -> Self {
        Self { code: code.into(), shed: false }
    }
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        let shed = matches!(status.code(), tonic::Code::Unavailable | tonic::Code::ResourceExhausted);
        Self { code: format!("{:?}", status.code()), shed }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        let code = match &error {
            sqlx::Error::Database(database) => format!("sql: {}", database.code().unwrap_or_default()),
            sqlx::Error::PoolTimedOut => "sql: pool timed out".into(),
            other => format!("sql: {other}"),
        };
        Self { code, shed: false }
    }
}

/// One simulated client: issues one call per `call`.
pub trait Worker: Send + 'static {
    fn call(&mut self) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// How long and how much to drive.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    /// Calls in this period are not measured (connections, caches, plans warm up).
    pub warmup: Duration,
    /// The measured period.
    pub duration: Duration,
    /// Hard cap on calls per worker, whatever the time.
    pub max_calls_per_worker: u64,
    /// A call taking longer counts as a `timeout` failure.
    pub call_timeout: Duration,
    /// Pause after a shed call before the next (clients back off).
    pub backoff_after_shed: Duration,
}

impl LoadConfig {
    pub fn new(warmup: Duration, duration: Duration) -> Self {
        Self {
            warmup,
            duration,
            max_calls_per_worker: 1_000_000,
            call_timeout: Duration::from_secs(10),
            backoff_after_shed: Duration::ZERO,
        }
    }
}

/// What the measured period saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Latencies of successful calls.
    pub latencies: Latencies,
    /// Latencies of shed calls.
    pub shed_latencies: Latencies,
    /// Failed calls (shed ones included) by code.
    pub failures: BTreeMap<String, u64>,
    /// The measured period's actual length.
    pub measured: Duration,
    /// Every call made, warm-up included (for CPU per call).
    pub total_calls: u64,
}

impl Outcome {
    /// Successful calls per second.
    pub fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.measured.as_secs_f64().max(1e-9)
    }

    /// Failed calls.
    pub fn errors(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Shed calls.
    pub fn shed(&self) -> usize {
        self.shed_latencies.len()
    }
}

/// Runs every worker until the measured period ends and merges what they saw.
pub async fn run<W: Worker>(workers: Vec<W>, config: LoadConfig) -> Outcome {
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let end = measure_from + config.duration;
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut worker| {
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                let mut calls = 0;
                while calls < config.max_calls_per_worker {
                    let began = Instant::now();
                    if began >= end {
                        break;
                    }
                    calls += 1;
                    let result = match tokio::time::timeout(config.call_timeout, worker.call()).await {
                        Ok(result) => result,
                        Err(_) => Err(Failure::other("timeout")),
                    };
                    let took = began.elapsed();
                    let shed = matches!(&result, Err(failure) if failure.shed);
                    if began >= measure_from {
                        match result {
                            Ok(()) => outcome.latencies.record(took),
                            Err(failure) => {
                                if failure.shed {
                                    outcome.shed_latencies.record(took);
                                }
                                *outcome.failures.entry(failure.code).or_default() += 1;
                            }
                        }
                    }
                    if shed && !config.backoff_after_shed.is_zero() {
                        tokio::time::sleep(config.backoff_after_shed).await;
                    }
                }
                outcome.total_calls = calls;
                outcome
            })
        })
        .collect();
    let mut merged = Outcome::default();
    for task in tasks {
        let Ok(outcome) = task.await else { continue };
        merged.latencies.extend(outcome.latencies);
        merged.shed_latencies.extend(outcome.shed_latencies);
        merged.total_calls += outcome.total_calls;
        for (code, count) in outcome.failures {
            *merged.failures.entry(code).or_default() += count;
        }
    }
    merged.measured = Instant::now().saturating_duration_since(measure_from).max(Duration::from_millis(1));
    merged
}
