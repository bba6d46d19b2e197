//! `tasktracker-bench`: starts a server on a fresh PostgreSQL database,
//! seeds a big board, then measures each scenario through the API and the
//! same SQL sent raw, watch fan-out and overload. See docs/performance.md.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use serde_json::{Map, Value, json};
use sqlx::postgres::PgPoolOptions;
use tasktracker_bench::{
    client,
    cpu::CpuMark,
    database::{FreshDatabase, admin_url, wait_until},
    load::{self, LoadConfig, Outcome},
    overload,
    raw::{RawContext, RelationQueries},
    report::{self, ScenarioResult},
    scenarios::{ApiWorker, RawWorker, RunState, Scenario},
    seed,
    server::{RssSampler, ServerConfig, ServerProcess, server_binary},
    watch::{self, WatchConfig},
};
use tonic_health::pb::health_check_response::ServingStatus;

/// Load generator and raw-PostgreSQL baseline for Tasktracker.
///
/// With no options: every scenario, against a server it starts itself on a
/// fresh database of the PostgreSQL at --database-url (dropped afterwards).
#[derive(Debug, Parser)]
#[command(name = "tasktracker-bench", version, about)]
struct Args {
    /// Scenarios to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "create,get,list,update,mixed,watch,overload")]
    scenarios: Vec<Scenario>,
    /// Concurrent clients of the request scenarios (API and raw alike); 8 is
    /// the knee on two cores: throughput near its peak, little queueing.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Measured seconds per phase (each scenario has an API and a raw phase).
    #[arg(long, default_value_t = 6.0)]
    duration: f64,
    /// Warm-up seconds before each phase, not measured.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Tasks seeded into the project before measuring.
    #[arg(long, default_value_t = 100_000)]
    tasks: usize,
    /// Project members besides the owner (assignees of seeded tasks).
    #[arg(long, default_value_t = 5)]
    members: usize,
    /// HTTP/2 connections the request scenarios share.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Concurrent WatchTasks streams.
    #[arg(long, default_value_t = 10_000)]
    watch_streams: usize,
    /// HTTP/2 connections carrying the watch streams.
    #[arg(long, default_value_t = 100)]
    watch_connections: usize,
    /// Updates fanned out to every watcher, one after the other.
    #[arg(long, default_value_t = 3)]
    watch_updates: usize,
    /// Concurrent clients of the overload scenario.
    #[arg(long, default_value_t = 1_024)]
    overload_clients: usize,
    /// Pause of an overload client after its call was shed, milliseconds
    /// (clients back off before retrying, as the server asks them to).
    #[arg(long, default_value_t = 100)]
    overload_backoff_ms: u64,
    /// Write one JSON object per scenario (JSON lines) to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// PostgreSQL maintenance database the fresh one is created from.
    #[arg(long, env = "TEST_DATABASE_URL", default_value_t = admin_url(), hide_env_values = true)]
    database_url: String,
    /// The server binary (default: tasktracker-server next to this binary).
    #[arg(long, env = "TASKTRACKER_SERVER_BIN")]
    server_bin: Option<PathBuf>,
    /// Extra server setting, e.g. `TASKTRACKER_DB_MAX_CONNECTIONS=10` (repeatable).
    #[arg(long = "server-env", value_parser = parse_key_value)]
    server_env: Vec<(String, String)>,
    /// Connections of the raw baseline's pool (default: the server's pool size).
    #[arg(long)]
    raw_pool: Option<u32>,
    /// Keep the database afterwards (for EXPLAIN and friends) and print its URL.
    #[arg(long)]
    keep_database: bool,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| "expected KEY=VALUE".into())
}

/// The server's pool size: its default, or what --server-env sets.
fn server_pool_size(args: &Args) -> u32 {
    args.server_env
        .iter()
        .find(|(key, _)| key == "TASKTRACKER_DB_MAX_CONNECTIONS")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(20)
}

fn secs(value: f64) -> Duration {
    Duration::from_secs_f64(value.max(0.0))
}

fn codes(outcome: &Outcome) -> Value {
    Value::Object(outcome.failures.iter().map(|(code, n)| (code.clone(), json!(n))).collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let fd_limit = tasktracker_bench::raise_fd_limit().context("cannot raise the open-file limit")?;
    let binary = match &args.server_bin {
        Some(path) => path.clone(),
        None => server_binary()?,
    };
    let pool_size = server_pool_size(&args);
    let raw_pool_size = args.raw_pool.unwrap_or(pool_size);

    // Empty, the server migrates it: a standalone benchmark leaves no
    // template database behind (test.sh's smoke run is no different).
    let database = FreshDatabase::create_empty(&args.database_url, "tasktracker_bench").await?;
    eprintln!("database {} created; server {}", database.name(), binary.display());
    let mut config = ServerConfig::new(binary, &database.url).env("RUST_LOG", "info");
    config.env.extend(args.server_env.iter().cloned());
    let mut server = ServerProcess::start(&config)?;
    let server_pid = server.pid();
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(client::connect(&server.url()).await?);
    }
    let serving = wait_until(Duration::from_secs(20), Duration::from_millis(100), async || {
        client::health(&channels[0], "").await == Some(ServingStatus::Serving)
    })
    .await;
    anyhow::ensure!(serving, "the server never reported SERVING");
    eprintln!(
        "server pid {server_pid} at {} (pool {pool_size}); fd limit {fd_limit}; rss {:.1} MiB",
        server.address,
        server.rss_mb().unwrap_or(0.0)
    );

    let pool = PgPoolOptions::new()
        .max_connections(raw_pool_size)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        // As the server's pool: it pings only connections idle for 30 s,
        // which never happens under load.
        .test_before_acquire(false)
        .connect(&database.url)
        .await?;
    eprintln!("seeding {} tasks…", args.tasks);
    let fixture = seed::seed(&channels[0], &pool, args.tasks.max(1), args.members).await?;
    let context = Arc::new(RawContext {
        session_id: fixture.session_id.clone(),
        user_id: fixture.owner.id().to_owned(),
        project_id: fixture.project_id.clone(),
        relations: RelationQueries::default(),
    });
    let state = RunState::new(fixture);
    let load_config = LoadConfig::new(secs(args.warmup), secs(args.duration));
    let concurrency = args.concurrency.max(1);

    let mut results = Vec::new();
    let mut scenarios = args.scenarios.clone();
    scenarios.sort();
    scenarios.dedup();
    for scenario in scenarios {
        let result = match scenario {
            Scenario::Watch => {
                let channels: Vec<_> = {
                    let mut list = Vec::new();
                    for _ in 0..args.watch_connections.max(1) {
                        list.push(client::connect(&server.url()).await?);
                    }
                    list
                };
                let report = watch::run(
                    &channels,
                    &state.fixture,
                    server_pid,
                    WatchConfig {
                        streams: args.watch_streams,
                        updates: args.watch_updates.max(1),
                        open_concurrency: 128,
                        timeout: Duration::from_secs(30),
                    },
                )
                .await?;
                drop(channels);
                let fan_out_total: f64 = report.fan_out_seconds.iter().sum();
                let mut details = Map::new();
                details.insert("streams_requested".into(), json!(report.streams_requested));
                details.insert("streams_open".into(), json!(report.streams_open));
                details.insert("connections".into(), json!(args.watch_connections));
                details.insert("open_seconds".into(), json!(report.open_seconds));
                details.insert("open_retries".into(), json!(report.open_retries));
                details.insert("open_failures".into(), json!(report.open_failures));
                details.insert("deliveries".into(), json!(report.deliveries));
                details.insert("deliveries_expected".into(), json!(report.deliveries_expected));
                details.insert("stream_errors".into(), json!(report.stream_errors));
                details.insert("delivery_max_ms".into(), json!(report.latency.max_ms));
                details.insert("fan_out_seconds".into(), json!(report.fan_out_seconds));
                details.insert("rss_before_mb".into(), json!(report.rss_before_mb));
                details.insert("rss_open_mb".into(), json!(report.rss_open_mb));
                details.insert("rss_per_stream_kb".into(), json!(report.rss_per_stream_kb));
                eprintln!(
                    "  watch: {}/{} streams open in {:.1} s ({} retries), {}/{} deliveries, p99 {:.0} ms, {:.1} KiB/stream",
                    report.streams_open,
                    report.streams_requested,
                    report.open_seconds,
                    report.open_retries,
                    report.deliveries,
                    report.deliveries_expected,
                    report.latency.p99_ms,
                    report.rss_per_stream_kb
                );
                ScenarioResult {
                    scenario: "watch".into(),
                    concurrency: report.streams_open,
                    api_rps: report.deliveries as f64 / fan_out_total.max(1e-9),
                    raw_rps: None,
                    ratio: None,
                    p50_ms: report.latency.p50_ms,
                    p95_ms: report.latency.p95_ms,
                    p99_ms: report.latency.p99_ms,
                    errors: (report.deliveries_expected - report.deliveries
                        + report.open_failures
                        + report.stream_errors) as u64,
                    server_rss_mb: report.rss_peak_mb,
                    details,
                }
            }
            Scenario::Overload => {
                let report = overload::run(
                    &channels,
                    &state,
                    server_pid,
                    args.overload_clients,
                    load_config,
                    Duration::from_millis(args.overload_backoff_ms),
                )
                .await;
                let mut details = Map::new();
                details.insert("accepted_max_ms".into(), json!(report.accepted.max_ms));
                details.insert("shed_rps".into(), json!(report.shed_rps));
                details.insert("shed_fraction".into(), json!(report.shed_fraction));
                details.insert("shed_p50_ms".into(), json!(report.shed.p50_ms));
                details.insert("shed_p99_ms".into(), json!(report.shed.p99_ms));
                details.insert("shed_max_ms".into(), json!(report.shed.max_ms));
                details.insert("backoff_ms".into(), json!(args.overload_backoff_ms));
                details.insert("rss_before_mb".into(), json!(report.rss_before_mb));
                details.insert("rss_after_mb".into(), json!(report.rss_after_mb));
                details.insert(
                    "failure_codes".into(),
                    Value::Object(report.error_codes.iter().map(|(c, n)| (c.clone(), json!(n))).collect()),
                );
                eprintln!(
                    "  overload: {} clients: accepted {:.0}/s p99 {:.1} ms; shed {:.0}/s ({:.0}%) p99 {:.2} ms; rss {:.1} -> peak {:.1} MiB",
                    report.clients,
                    report.accepted_rps,
                    report.accepted.p99_ms,
                    report.shed_rps,
                    report.shed_fraction * 100.0,
                    report.shed.p99_ms,
                    report.rss_before_mb,
                    report.rss_peak_mb
                );
                ScenarioResult {
                    scenario: "overload".into(),
                    concurrency: report.clients,
                    api_rps: report.accepted_rps,
                    raw_rps: None,
                    ratio: None,
                    p50_ms: report.accepted.p50_ms,
                    p95_ms: report.accepted.p95_ms,
                    p99_ms: report.accepted.p99_ms,
                    errors: report.other_errors,
                    server_rss_mb: report.rss_peak_mb,
                    details,
                }
            }
            _ => {
                let sampler = RssSampler::start(server_pid, Duration::from_millis(250));
                let workers = (0..concurrency)
                    .map(|i| {
                        ApiWorker::new(channels[i % channels.len()].clone(), state.clone(), scenario, i, concurrency)
                    })
                    .collect();
                let mark = CpuMark::now(server_pid, &pool).await;
                let api = load::run(workers, load_config).await;
                let api_cpu = mark.spent(server_pid, &pool).await;
                let rss = sampler.stop().await;
                let workers = (0..concurrency)
                    .map(|i| RawWorker::new(pool.clone(), context.clone(), state.clone(), scenario, i, concurrency))
                    .collect();
                let mark = CpuMark::now(server_pid, &pool).await;
                let raw = load::run(workers, load_config).await;
                let raw_cpu = mark.spent(server_pid, &pool).await;
                let (api_rps, raw_rps) = (api.rps(), raw.rps());
                let errors = api.errors();
                let raw_errors = raw.errors();
                let mut details = Map::new();
                details.insert("api_failures".into(), codes(&api));
                details.insert("raw_failures".into(), codes(&raw));
                details.insert("api_calls".into(), json!(api.latencies.len()));
                details.insert("raw_calls".into(), json!(raw.latencies.len()));
                let api_summary = api.latencies.summary();
                let raw_summary = raw.latencies.summary();
                details.insert("api_max_ms".into(), json!(api_summary.max_ms));
                details.insert("raw_p50_ms".into(), json!(raw_summary.p50_ms));
                details.insert("raw_p95_ms".into(), json!(raw_summary.p95_ms));
                details.insert("raw_p99_ms".into(), json!(raw_summary.p99_ms));
                let per_call = |us: f64, calls: u64| json!((us / calls.max(1) as f64).round());
                details.insert(
                    "api_cpu_us_per_call".into(),
                    json!({
                        "client": per_call(api_cpu.client_us, api.total_calls),
                        "server": per_call(api_cpu.server_us, api.total_calls),
                        "postgres": per_call(api_cpu.postgres_us, api.total_calls),
                    }),
                );
                details.insert(
                    "raw_cpu_us_per_call".into(),
                    json!({
                        "client": per_call(raw_cpu.client_us, raw.total_calls),
                        "postgres": per_call(raw_cpu.postgres_us, raw.total_calls),
                    }),
                );
                let result = ScenarioResult {
                    scenario: scenario.name().into(),
                    concurrency,
                    api_rps,
                    raw_rps: Some(raw_rps),
                    ratio: Some(if raw_rps > 0.0 { api_rps / raw_rps } else { 0.0 }),
                    p50_ms: api_summary.p50_ms,
                    p95_ms: api_summary.p95_ms,
                    p99_ms: api_summary.p99_ms,
                    errors,
                    server_rss_mb: rss,
                    details,
                };
                eprintln!(
                    "  {}: api {:.0}/s p95 {:.2} ms | raw {:.0}/s p95 {:.2} ms | ratio {:.2} | errors {} (raw {}) | \
                     CPU µs/call api: client {:.0} server {:.0} pg {:.0}, raw: client {:.0} pg {:.0}",
                    result.scenario,
                    api_rps,
                    api_summary.p95_ms,
                    raw_rps,
                    raw_summary.p95_ms,
                    result.ratio.unwrap_or(0.0),
                    errors,
                    raw_errors,
                    api_cpu.client_us / api.total_calls.max(1) as f64,
                    api_cpu.server_us / api.total_calls.max(1) as f64,
                    api_cpu.postgres_us / api.total_calls.max(1) as f64,
                    raw_cpu.client_us / raw.total_calls.max(1) as f64,
                    raw_cpu.postgres_us / raw.total_calls.max(1) as f64,
                );
                result
            }
        };
        results.push(result);
    }

    println!();
    print!("{}", report::table(&results));
    if let Some(path) = &args.json {
        report::write_json(path, &results)?;
        eprintln!("wrote {}", path.display());
    }
    let panics = server.panics();
    if !panics.is_empty() {
        eprintln!("the server panicked:\n{}", panics.join("\n"));
    }
    pool.close().await;
    if let Err(error) = server.terminate(Duration::from_secs(30)) {
        eprintln!("warning: {error:#}");
    }
    if args.keep_database {
        eprintln!("kept database {} ({})", database.name(), database.url);
        database.keep();
    } else {
        database.drop_now().await?;
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
    anyhow::ensure!(panics.is_empty(), "the server panicked");
    Ok(())
}
