//! Reads the server's own Prometheus metrics during a run: here, the share
//! of write-transaction time spent holding a project's feed lock.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::Mutex,
};

const TRANSACTION_SUM: &str = "tasktracker_task_write_duration_seconds_sum";
const FEED_LOCK_SUM: &str = "tasktracker_feed_lock_hold_duration_seconds_sum";

/// The text exposition at `http://{address}/metrics`.
pub async fn metrics_text(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response.split_once("\r\n\r\n").map_or(response.clone(), |(_, body)| body.to_owned()))
}

/// The value of an unlabelled sample `name`.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

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
        let text = metrics_text(self.address).await.ok()?;
        let now = (sample(&text, TRANSACTION_SUM)?, sample(&text, FEED_LOCK_SUM)?);
        let mut last = self.last.lock().await;
        let (transaction, lock) = (now.0 - last.0, now.1 - last.1);
        *last = now;
        (transaction > 0.0).then(|| lock / transaction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_unlabelled_samples_only_by_their_exact_name() {
        let text = "# TYPE x histogram\nx_sum 1.5\nx_sum_other 9\nx_count 3\nx_bucket{le=\"0.1\"} 2\n";
        assert_eq!(sample(text, "x_sum"), Some(1.5));
        assert_eq!(sample(text, "x_count"), Some(3.0));
        assert_eq!(sample(text, "x_bucket"), None);
        assert_eq!(sample(text, "y_sum"), None);
    }
}
