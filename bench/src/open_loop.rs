//! The open-loop driver: calls arrive at a fixed rate whether or not earlier
//! ones have been answered, as requests from many independent users do.
//!
//! A closed loop slows down with the server and so hides queueing; here a
//! call's latency counts from the moment it was due, not from when a worker
//! got to it, so a server that falls behind shows it in the percentiles
//! (no coordinated omission). Arrivals are bounded in count (rate × time),
//! and calls in flight by the number of workers.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Mutex, mpsc};

use crate::load::{Failure, LoadConfig, Outcome, Worker};

/// How much to offer.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoopConfig {
    /// Calls per second.
    pub rate: f64,
    /// Warm-up and measured period; the call timeout.
    pub load: LoadConfig,
}

/// What an open-loop run saw, besides the calls' [`Outcome`].
#[derive(Debug, Default)]
pub struct OpenLoopReport {
    pub outcome: Outcome,
    /// Calls due in the measured period.
    pub offered: u64,
    /// Due calls no worker had started when the run ended.
    pub not_started: u64,
}

/// Offers `config.rate` calls per second to `workers` (each making one call
/// at a time) for the warm-up and the measured period.
pub async fn run<W: Worker>(workers: Vec<W>, config: OpenLoopConfig) -> OpenLoopReport {
    let OpenLoopConfig { rate, load } = config;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + load.warmup;
    let end = measure_from + load.duration;
    let arrivals = ((load.warmup + load.duration).as_secs_f64() * rate).ceil() as u64;
    let (due, queue) = mpsc::unbounded_channel::<Instant>();
    let queue = Arc::new(Mutex::new(queue));
    let pacer = tokio::spawn(async move {
        for n in 0..arrivals {
            let at = start + interval.mul_f64(n as f64);
            tokio::time::sleep_until(at.into()).await;
            if due.send(at).is_err() {
                break;
            }
        }
    });
    let tasks: Vec<_> = workers
        .into_iter()
        .map(|mut worker| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                let mut abandoned = 0;
                loop {
                    let next = queue.lock().await.recv().await;
                    let Some(at) = next else { break };
                    // Past the end (plus a grace of one timeout), stop: what
                    // is still queued was never started.
                    if Instant::now() >= end + load.call_timeout {
                        queue.lock().await.close();
                        abandoned += 1;
                        break;
                    }
                    outcome.total_calls += 1;
                    let result = match tokio::time::timeout(load.call_timeout, worker.call()).await {
                        Ok(result) => result,
                        Err(_) => Err(Failure::other("timeout")),
                    };
                    if at < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => outcome.latencies.record(at.elapsed()),
                        Err(failure) => {
                            if failure.shed {
                                outcome.shed_latencies.record(at.elapsed());
                            }
                            *outcome.failures.entry(failure.code).or_default() += 1;
                        }
                    }
                }
                (outcome, abandoned)
            })
        })
        .collect();
    let _ = pacer.await;
    let mut report = OpenLoopReport::default();
    for task in tasks {
        let Ok((outcome, abandoned)) = task.await else { continue };
        report.not_started += abandoned;
        let merged = &mut report.outcome;
        merged.latencies.extend(outcome.latencies);
        merged.shed_latencies.extend(outcome.shed_latencies);
        merged.total_calls += outcome.total_calls;
        for (code, count) in outcome.failures {
            *merged.failures.entry(code).or_default() += count;
        }
    }
    let mut queue = queue.lock().await;
    while queue.try_recv().is_ok() {
        report.not_started += 1;
    }
    report.offered = (load.duration.as_secs_f64() * rate).round() as u64;
    report.outcome.measured = load.duration;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers after a fixed delay.
    struct Sleeper(Duration);

    impl Worker for Sleeper {
        async fn call(&mut self) -> Result<(), Failure> {
            tokio::time::sleep(self.0).await;
            Ok(())
        }
    }

    fn config(rate: f64, seconds: f64) -> OpenLoopConfig {
        OpenLoopConfig { rate, load: LoadConfig::new(Duration::ZERO, Duration::from_secs_f64(seconds)) }
    }

    #[tokio::test]
    async fn offers_the_rate_whatever_the_answers() {
        let workers = (0..8).map(|_| Sleeper(Duration::from_millis(2))).collect();
        let report = run(workers, config(200.0, 0.5)).await;
        assert_eq!(report.offered, 100);
        assert_eq!(report.outcome.latencies.len(), 100, "every due call answered");
        assert_eq!(report.not_started, 0);
        assert!(report.outcome.latencies.summary().p50_ms < 50.0);
    }

    #[tokio::test]
    async fn latency_counts_from_when_a_call_was_due() {
        // Two workers at 50 ms a call serve 40 calls a second; offered 100,
        // the queue grows, and so does the latency of later calls. A closed
        // loop would report 50 ms throughout.
        let workers = (0..2).map(|_| Sleeper(Duration::from_millis(50))).collect();
        let report = run(workers, config(100.0, 0.5)).await;
        let summary = report.outcome.latencies.summary();
        assert_eq!(report.outcome.latencies.len() as u64 + report.not_started, 50);
        assert!(summary.max_ms > 400.0, "queueing shows: {summary:?}");
        assert!(summary.p50_ms > 100.0, "{summary:?}");
    }
}
