//! Webhook delivery: the dispatcher that every replica runs
//! ([`spawn_dispatcher`]), the SSRF address policy ([`address`]) and the
//! signed HTTP request ([`sender`]).
//!
//! Each pass queues new feed events as deliveries
//! ([`WebhookStore::enqueue`](crate::storage::webhooks::WebhookStore::enqueue)),
//! leases the deliveries due (the head of each webhook's queue), sends them
//! concurrently, one per webhook, with no database connection held, and
//! records each attempt. A failure is retried after an exponential backoff
//! with jitter; once a delivery has failed for the whole retry window the
//! webhook is paused and its owners notified.

pub mod address;
pub mod sender;

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

use self::sender::{Request, Sender};
use crate::{
    config::WebhookSettings,
    domain::time::{self, Micros},
    services::SharedState,
    storage::webhooks::{Attempt, Claimed, event_id},
};

/// Deliveries one pass leases at most (one per webhook).
const CLAIM_BATCH: u64 = 32;

/// When and how often deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
    pub window: Duration,
}

impl RetryPolicy {
    pub fn from_settings(settings: &WebhookSettings) -> Self {
        Self { base: settings.retry_base, max: settings.retry_max, window: settings.retry_window }
    }

    /// Wait before the attempt after `attempts` failed ones: `base` doubled
    /// per failure, at most `max`, then between half and all of it (jitter,
    /// so receivers coming back are not hit by every sender at once).
    pub fn delay(&self, attempts: i32, jitter: f64) -> Duration {
        let doubling = 2f64.powi(attempts.saturating_sub(1).clamp(0, 30));
        let full = (self.base.as_secs_f64() * doubling).min(self.max.as_secs_f64());
        Duration::from_secs_f64(full * (0.5 + 0.5 * jitter.clamp(0.0, 1.0)))
    }
}

fn micros(duration: Duration) -> Micros {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Runs the dispatcher until `stop`.
pub fn spawn_dispatcher(shared: SharedState, settings: WebhookSettings, stop: CancellationToken) {
    let sender = shared.webhook_sender.clone();
    let retry = RetryPolicy::from_settings(&settings);
    // A lease outlives any attempt (which the sender's timeout bounds), so
    // no other replica sends the delivery while this one may still be.
    let lease = micros(settings.timeout * 2 + Duration::from_secs(30));
    // A committed change (here, or on another replica through the feed's
    // LISTEN relay) starts a pass at once; the poll interval paces retries.
    let mut changes = shared.feed.wakeups();
    tokio::spawn(async move {
        loop {
            if stop.is_cancelled() {
                return;
            }
            // A pass sends at most one delivery per webhook: after one that
            // sent any, the next may be due at once.
            let more = match pass(&shared, &sender, retry, lease).await {
                Ok(sent) => sent > 0,
                Err(error) => {
                    shared.metrics.webhook_dispatch_errors.inc();
                    tracing::warn!(%error, "webhook dispatch pass failed");
                    false
                }
            };
            if more {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(settings.poll_interval) => {}
                _ = changes.recv() => {
                    // One pass covers every change announced so far.
                    while changes.try_recv().is_ok() {}
                }
            }
        }
    });
}

/// One pass; returns how many deliveries it sent.
async fn pass(shared: &SharedState, sender: &Sender, retry: RetryPolicy, lease: Micros) -> anyhow::Result<usize> {
    let store = &shared.webhooks;
    store.enqueue(time::now()).await?;
    let backlog = store.backlog().await?;
    let now = time::now();
    shared.metrics.webhook_backlog.set(backlog.pending);
    shared
        .metrics
        .webhook_oldest_pending_age
        .set(backlog.oldest_create_time.map_or(0.0, |oldest| (now - oldest).max(0) as f64 / 1e6));
    let claimed = store.claim(now, CLAIM_BATCH, lease).await?;
    let count = claimed.len();
    let sends = claimed.into_iter().map(|claimed| deliver(shared, sender, retry, claimed));
    for result in futures::future::join_all(sends).await {
        result?;
    }
    Ok(count)
}

/// Sends one leased delivery and records the attempt.
async fn deliver(shared: &SharedState, sender: &Sender, retry: RetryPolicy, claimed: Claimed) -> anyhow::Result<()> {
    let delivery = &claimed.delivery;
    let started = std::time::Instant::now();
    let attempt_time = time::now();
    let reply = sender
        .send(Request {
            url: &claimed.url,
            secret: &claimed.secret,
            body: &delivery.body,
            event_id: &event_id(&claimed.project_id, delivery.event_seq),
            delivery_id: &delivery.id,
            timestamp: attempt_time.div_euclid(1_000_000),
        })
        .await;
    let elapsed = started.elapsed();
    let outcome = match (reply.delivered(), reply.error.starts_with("refused")) {
        (true, _) => "delivered",
        (false, true) => "refused",
        (false, false) => "failed",
    };
    shared.metrics.webhook_attempt(outcome, elapsed.as_secs_f64());
    let attempt = Attempt {
        time: attempt_time,
        status_code: reply.status.map_or(0, i32::from),
        error: reply.error.clone(),
        latency_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
        delivered: reply.delivered(),
    };
    let jitter = rand::rng().random::<f64>();
    let retry_in = micros(retry.delay(delivery.attempts + 1, jitter));
    let recorded = shared.webhooks.record(&claimed, &attempt, retry_in, micros(retry.window)).await?;
    if recorded.paused {
        shared.metrics.webhooks_paused.inc();
        tracing::warn!(webhook = %delivery.webhook_id, error = %reply.error, "webhook paused after its retry window");
    } else if !reply.delivered() {
        tracing::info!(webhook = %delivery.webhook_id, delivery = %delivery.id, error = %reply.error, "webhook delivery failed; will retry");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_the_cap() {
        let policy = RetryPolicy {
            base: Duration::from_secs(10),
            max: Duration::from_secs(3_600),
            window: Duration::from_secs(90_000),
        };
        assert_eq!(policy.delay(1, 1.0), Duration::from_secs(10));
        assert_eq!(policy.delay(2, 1.0), Duration::from_secs(20));
        assert_eq!(policy.delay(4, 1.0), Duration::from_secs(80));
        assert_eq!(policy.delay(4, 0.0), Duration::from_secs(40));
        assert_eq!(policy.delay(30, 1.0), Duration::from_secs(3_600));
        assert_eq!(policy.delay(i32::MAX, 0.5), Duration::from_secs(2_700));
        // Retried for the whole window: at the cap, about a day takes some
        // 30 attempts, every one recorded.
        let mut waited = Duration::ZERO;
        let mut attempts = 0;
        while waited < policy.window {
            attempts += 1;
            waited += policy.delay(attempts, 1.0);
        }
        assert!((25..40).contains(&attempts), "{attempts}");
    }
}
