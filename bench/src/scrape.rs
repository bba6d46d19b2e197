//! Reads the server's own Prometheus metrics during a run: here, the share
//! of write-transaction time spent holding a project's feed lock.

use std::net::SocketAddr;

use tasktracker_testkit::{sample, scrape_metrics};
use tokio::sync::Mutex;

const TRANSACTION_SUM: &str = "tasktracker_task_write_duration_seconds_sum";
const FEED_LOCK_SUM: &str = "tasktracker_feed_lock_hold_duration_seconds_sum";

/// Follows the feed lock's share of write time between scenarios.
pub struct LockShare {
    address: SocketAddr,
    /// Sums (transaction, lock) at the last reading.
    last: Mutex<(f64, f64)>,
}

impl LockShare {
    pub async fn new(address: SocketAddr) -> Self {
        let share = Self { address, last: Mutex::new((0.0, 0.0)) };
        let _ = share.share_since_last().await;
        share
    }

    /// Feed-lock hold time over write-transaction time since the last call,
    /// or `None` if no write finished meanwhile (or the metrics are unreadable).
    pub async fn share_since_last(&self) -> Option<f64> {
        let text = scrape_metrics(self.address).await.ok()?;
        let now = (sample(&text, TRANSACTION_SUM)?, sample(&text, FEED_LOCK_SUM)?);
        let mut last = self.last.lock().await;
        let (transaction, lock) = (now.0 - last.0, now.1 - last.1);
        *last = now;
        (transaction > 0.0).then(|| lock / transaction)
    }
}
