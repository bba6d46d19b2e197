//! Watch fan-out: N concurrent `WatchTasks` streams on one server, spread
//! over a number of HTTP/2 connections (as behind a load balancer); one task
//! update at a time must reach every stream. Reports how long opening took,
//! delivery latency percentiles (from sending the update to the event's
//! arrival) and the server's memory per open stream.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient, watch_tasks_response::Kind};
use tokio::sync::{Semaphore, mpsc, watch};
use tonic::transport::Channel;

use crate::{
    client::{authorized, bearer},
    seed::Fixture,
    server::rss_mb,
    stats::{Latencies, Summary},
};

/// How to run the fan-out.
#[derive(Debug, Clone, Copy)]
pub struct WatchConfig {
    pub streams: usize,
    /// Updates sent, one after the other.
    pub updates: usize,
    /// Streams being opened at once.
    pub open_concurrency: usize,
    /// Longest wait for all streams to open, and for each update to arrive everywhere.
    pub timeout: Duration,
}

/// What the fan-out saw.
#[derive(Debug, Clone, Default)]
pub struct WatchReport {
    pub streams_requested: usize,
    pub streams_open: usize,
    pub open_seconds: f64,
    /// Opening attempts refused (shed) and retried.
    pub open_retries: usize,
    /// Streams that could not be opened.
    pub open_failures: usize,
    pub rss_before_mb: f64,
    pub rss_open_mb: f64,
    pub rss_per_stream_kb: f64,
    pub rss_peak_mb: f64,
    pub deliveries_expected: usize,
    pub deliveries: usize,
    /// Streams that ended with an error while watching.
    pub stream_errors: usize,
    pub latency: Summary,
    /// Per update: time until the last stream had it.
    pub fan_out_seconds: Vec<f64>,
}

/// One stream's arrivals: (event ordinal, arrival time).
type Arrivals = mpsc::UnboundedSender<(usize, Instant)>;

async fn open_stream(
    mut client: TaskServiceClient<Channel>,
    authorization: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    project: String,
    deadline: Instant,
) -> Result<(tonic::Streaming<v1::WatchTasksResponse>, usize), tonic::Status> {
    let mut retries = 0;
    loop {
        let request =
            authorized(&authorization, v1::WatchTasksRequest { parent: project.clone(), cursor: String::new() });
        match client.watch_tasks(request).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                // The first message is a heartbeat: the stream is live.
                let remaining = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(remaining, stream.message()).await {
                    Ok(Ok(Some(_))) => return Ok((stream, retries)),
                    Ok(Ok(None)) => return Err(tonic::Status::unavailable("stream ended at once")),
                    Ok(Err(status)) => return Err(status),
                    Err(_) => return Err(tonic::Status::deadline_exceeded("no first heartbeat")),
                }
            }
            Err(status)
                if matches!(status.code(), tonic::Code::Unavailable | tonic::Code::ResourceExhausted)
                    && Instant::now() < deadline =>
            {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(20 + (retries as u64 * 10).min(200))).await;
            }
            Err(status) => return Err(status),
        }
    }
}

/// Reads a stream until `stop`, reporting each event's arrival.
async fn read_stream(
    mut stream: tonic::Streaming<v1::WatchTasksResponse>,
    arrivals: Arrivals,
    mut stop: watch::Receiver<bool>,
) -> bool {
    let mut events = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => return true,
            message = stream.message() => match message {
                Ok(Some(v1::WatchTasksResponse { kind: Some(Kind::Event(_)) })) => {
                    let _ = arrivals.send((events, Instant::now()));
                    events += 1;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return false,
            }
        }
    }
}

/// Opens the streams, sends `updates` updates to one seeded task, and
/// measures delivery; closes every stream before returning.
pub async fn run(
    channels: &[Channel],
    fixture: &Fixture,
    server_pid: u32,
    config: WatchConfig,
) -> anyhow::Result<WatchReport> {
    let mut report = WatchReport { streams_requested: config.streams, ..Default::default() };
    let authorization = bearer(&fixture.owner.access_token);
    report.rss_before_mb = rss_mb(server_pid).unwrap_or(0.0);
    let (stop, stopped) = watch::channel(false);
    let (arrivals, mut arrived) = mpsc::unbounded_channel();
    let permits = Arc::new(Semaphore::new(config.open_concurrency.max(1)));
    let started = Instant::now();
    let deadline = started + config.timeout;
    let mut openers = Vec::with_capacity(config.streams);
    for index in 0..config.streams {
        let client = TaskServiceClient::new(channels[index % channels.len()].clone());
        let authorization = authorization.clone();
        let project = fixture.project.clone();
        let permits = permits.clone();
        let arrivals = arrivals.clone();
        let stopped = stopped.clone();
        openers.push(tokio::spawn(async move {
            let permit = permits.acquire_owned().await.expect("semaphore open");
            let opened = open_stream(client, authorization, project, deadline).await;
            drop(permit);
            match opened {
                Ok((stream, retries)) => {
                    let reader = tokio::spawn(read_stream(stream, arrivals, stopped));
                    Ok((reader, retries))
                }
                Err(status) => Err(status),
            }
        }));
    }
    drop(arrivals);
    let mut readers = Vec::with_capacity(config.streams);
    for opener in openers {
        match opener.await {
            Ok(Ok((reader, retries))) => {
                readers.push(reader);
                report.open_retries += retries;
            }
            Ok(Err(status)) => {
                if report.open_failures == 0 {
                    eprintln!("  a watch stream failed to open: {status}");
                }
                report.open_failures += 1;
            }
            Err(_) => report.open_failures += 1,
        }
    }
    report.streams_open = readers.len();
    report.open_seconds = started.elapsed().as_secs_f64();
    // Let the server settle (stream tasks parked, buffers allocated).
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.rss_open_mb = rss_mb(server_pid).unwrap_or(0.0);
    report.rss_peak_mb = report.rss_open_mb;
    if report.streams_open > 0 {
        report.rss_per_stream_kb = (report.rss_open_mb - report.rss_before_mb) * 1024.0 / report.streams_open as f64;
    }

    let mut client = TaskServiceClient::new(channels[0].clone());
    let name = fixture.task_name(fixture.tasks.len() - 1);
    let mut latencies = Latencies::with_capacity(config.streams * config.updates);
    let mut etag = String::new();
    for update in 0..config.updates {
        let sent = Instant::now();
        let response = client
            .update_task(authorized(
                &authorization,
                v1::UpdateTaskRequest {
                    task: Some(v1::Task {
                        name: name.clone(),
                        title: format!("Watched update {update}"),
                        etag: etag.clone(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
                },
            ))
            .await?;
        etag = response.into_inner().etag;
        report.deliveries_expected += report.streams_open;
        let mut received = 0;
        let wait_until = Instant::now() + config.timeout;
        let mut last = sent;
        while received < report.streams_open {
            let remaining = wait_until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, arrived.recv()).await {
                Ok(Some((ordinal, at))) => {
                    if ordinal == update {
                        received += 1;
                        latencies.record(at.saturating_duration_since(sent));
                        last = last.max(at);
                    }
                }
                Ok(None) | Err(_) => break,
            }
            if received % 1_000 == 0 {
                report.rss_peak_mb = report.rss_peak_mb.max(rss_mb(server_pid).unwrap_or(0.0));
            }
        }
        report.rss_peak_mb = report.rss_peak_mb.max(rss_mb(server_pid).unwrap_or(0.0));
        report.deliveries += received;
        report.fan_out_seconds.push(last.saturating_duration_since(sent).as_secs_f64());
    }
    let _ = stop.send(true);
    for reader in readers {
        if !reader.await.unwrap_or(false) {
            report.stream_errors += 1;
        }
    }
    report.latency = latencies.summary();
    Ok(report)
}
