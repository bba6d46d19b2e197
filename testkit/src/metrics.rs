//! Reading a server's Prometheus metrics: the text at `/metrics` on its
//! admin address, and single samples out of it.

use std::net::SocketAddr;

use anyhow::{Context, ensure};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The text exposition at `http://{address}/metrics` (one HTTP/1.0 request).
pub async fn scrape_metrics(address: SocketAddr) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(address).await.with_context(|| format!("connect to {address}"))?;
    stream.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").context("no end of headers")?;
    let status = head.lines().next().unwrap_or_default();
    ensure!(status.split(' ').nth(1) == Some("200"), "/metrics answered {status}");
    Ok(body.to_owned())
}

/// The value of the sample `name{labels}` (exactly as exported), if any.
pub fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::sample;

    #[test]
    fn reads_samples_only_by_their_exact_name_and_labels() {
        let text = "# TYPE x histogram\nx_sum 1.5\nx_sum_other 9\nx_count 3 1700000000\nx_bucket{le=\"0.1\"} 2\n";
        assert_eq!(sample(text, "x_sum"), Some(1.5));
        assert_eq!(sample(text, "x_count"), Some(3.0), "a timestamp after the value is ignored");
        assert_eq!(sample(text, "x_bucket{le=\"0.1\"}"), Some(2.0));
        assert_eq!(sample(text, "x_bucket"), None);
        assert_eq!(sample(text, "y_sum"), None);
    }
}
