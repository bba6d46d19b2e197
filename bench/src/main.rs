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
    cpu::{CpuMark, CpuSpent},
    database::{FreshDatabase, admin_url, wait_until},
    load::{self, LoadConfig, Outcome},
    open_loop::{self, OpenLoopConfig},
    overload,
    raw::RawContext,
    report::{self, ScenarioResult},
    scenarios::{ApiWorker, Baseline, RawWorker, RunState, Scenario},
    scrape::LockShare,
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
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "create,get,list,list_state,list_field,search,list_text,update,mixed,open,watch,overload"
    )]
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
    /// Calls per second the open-loop scenario offers (the mixed calls).
    #[arg(long, default_value_t = 2_100.0)]
    open_rate: f64,
    /// Workers of the open-loop scenario: at most this many calls in flight.
    #[arg(long, default_value_t = 256)]
    open_clients: usize,
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
    /// Exit with an error if any call of the closed-loop request scenarios
    /// (API or either baseline) failed: proves both baselines' SQL valid.
    #[arg(long)]
    fail_on_errors: bool,
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

/// Microseconds per call.
fn per_call(us: f64, calls: u64) -> Option<f64> {
    (calls > 0).then(|| (us / calls as f64).round())
}

/// CPU per call of the load generator, the server and PostgreSQL.
fn cpu_per_call(cpu: CpuSpent, calls: u64) -> Value {
    json!({
        "client": per_call(cpu.client_us, calls),
        "server": per_call(cpu.server_us, calls),
        "postgres": per_call(cpu.postgres_us, calls),
    })
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
    let context =
        Arc::new(RawContext { user_id: fixture.owner.id().to_owned(), project_id: fixture.project_id.clone() });
    let lock_share = match server.metrics_address() {
        Some(address) => Some(LockShare::new(address).await),
        None => None,
    };
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
                let mark = CpuMark::now(server_pid, &pool).await;
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
                let cpu = mark.spent(server_pid, &pool).await;
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
                    minimal_rps: None,
                    ratio: None,
                    statements_rps: None,
                    statements_ratio: None,
                    // Per event delivered, stream opening included.
                    server_cpu_us: per_call(cpu.server_us, report.deliveries as u64),
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
                let mark = CpuMark::now(server_pid, &pool).await;
                let report = overload::run(
                    &channels,
                    &state,
                    server_pid,
                    args.overload_clients,
                    load_config,
                    Duration::from_millis(args.overload_backoff_ms),
                )
                .await;
                let cpu = mark.spent(server_pid, &pool).await;
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
                    minimal_rps: None,
                    ratio: None,
                    statements_rps: None,
                    statements_ratio: None,
                    // Per call answered, accepted or shed.
                    server_cpu_us: per_call(cpu.server_us, report.total_calls),
                    p50_ms: report.accepted.p50_ms,
                    p95_ms: report.accepted.p95_ms,
                    p99_ms: report.accepted.p99_ms,
                    errors: report.other_errors,
                    server_rss_mb: report.rss_peak_mb,
                    details,
                }
            }
            Scenario::Open => {
                let clients = args.open_clients.max(1);
                let sampler = RssSampler::start(server_pid, Duration::from_millis(250));
                let workers = (0..clients)
                    .map(|i| ApiWorker::new(channels[i % channels.len()].clone(), state.clone(), scenario, i, clients))
                    .collect();
                let mark = CpuMark::now(server_pid, &pool).await;
                let config = OpenLoopConfig { rate: args.open_rate, load: load_config };
                let report = open_loop::run(workers, config).await;
                let cpu = mark.spent(server_pid, &pool).await;
                let rss = sampler.stop().await;
                let outcome = &report.outcome;
                let summary = outcome.latencies.summary();
                let mut details = Map::new();
                details.insert("offered_rate".into(), json!(args.open_rate));
                details.insert("offered_calls".into(), json!(report.offered));
                details.insert("not_started".into(), json!(report.not_started));
                details.insert("api_failures".into(), codes(outcome));
                details.insert("api_max_ms".into(), json!(summary.max_ms));
                details.insert("api_cpu_us_per_call".into(), cpu_per_call(cpu, outcome.total_calls));
                eprintln!(
                    "  open: offered {:.0}/s, answered {:.0}/s, p50 {:.2} p95 {:.2} p99 {:.2} ms, {} errors, {} not started, server {:.0} µs/call",
                    args.open_rate,
                    outcome.rps(),
                    summary.p50_ms,
                    summary.p95_ms,
                    summary.p99_ms,
                    outcome.errors(),
                    report.not_started,
                    cpu.server_us / outcome.total_calls.max(1) as f64,
                );
                ScenarioResult {
                    scenario: "open".into(),
                    concurrency: clients,
                    api_rps: outcome.rps(),
                    minimal_rps: None,
                    ratio: None,
                    statements_rps: None,
                    statements_ratio: None,
                    p50_ms: summary.p50_ms,
                    p95_ms: summary.p95_ms,
                    p99_ms: summary.p99_ms,
                    server_cpu_us: per_call(cpu.server_us, outcome.total_calls),
                    errors: outcome.errors() + report.not_started,
                    server_rss_mb: rss,
                    details,
                }
            }
            Scenario::Search | Scenario::ListText => {
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
                let summary = api.latencies.summary();
                let mut details = Map::new();
                details.insert("api_failures".into(), codes(&api));
                details.insert("api_calls".into(), json!(api.latencies.len()));
                details.insert("api_max_ms".into(), json!(summary.max_ms));
                details.insert("api_cpu_us_per_call".into(), cpu_per_call(api_cpu, api.total_calls));
                eprintln!(
                    "  {}: api {:.0}/s p50 {:.2} p95 {:.2} p99 {:.2} ms, server {:.0} µs/call, {} errors",
                    scenario.name(),
                    api.rps(),
                    summary.p50_ms,
                    summary.p95_ms,
                    summary.p99_ms,
                    per_call(api_cpu.server_us, api.total_calls).unwrap_or_default(),
                    api.errors(),
                );
                ScenarioResult {
                    scenario: scenario.name().into(),
                    concurrency,
                    api_rps: api.rps(),
                    minimal_rps: None,
                    ratio: None,
                    statements_rps: None,
                    statements_ratio: None,
                    p50_ms: summary.p50_ms,
                    p95_ms: summary.p95_ms,
                    p99_ms: summary.p99_ms,
                    server_cpu_us: per_call(api_cpu.server_us, api.total_calls),
                    errors: api.errors(),
                    server_rss_mb: rss,
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
                let mut baselines = Vec::new();
                for baseline in [Baseline::Minimal, Baseline::Statements] {
                    let workers = (0..concurrency)
                        .map(|i| {
                            let kind = (scenario, baseline);
                            RawWorker::new(pool.clone(), context.clone(), state.clone(), kind, i, concurrency)
                        })
                        .collect();
                    let mark = CpuMark::now(server_pid, &pool).await;
                    let outcome = load::run(workers, load_config).await;
                    baselines.push((outcome, mark.spent(server_pid, &pool).await));
                }
                let [(minimal, minimal_cpu), (statements, statements_cpu)] =
                    <[_; 2]>::try_from(baselines).map_err(|_| anyhow::anyhow!("two baselines"))?;
                let api_rps = api.rps();
                let ratio = |rps: f64| if rps > 0.0 { api_rps / rps } else { 0.0 };
                let mut details = Map::new();
                details.insert("api_failures".into(), codes(&api));
                details.insert("api_calls".into(), json!(api.latencies.len()));
                let api_summary = api.latencies.summary();
                details.insert("api_max_ms".into(), json!(api_summary.max_ms));
                details.insert("api_cpu_us_per_call".into(), cpu_per_call(api_cpu, api.total_calls));
                for (name, outcome, cpu) in
                    [("minimal", &minimal, minimal_cpu), ("statements", &statements, statements_cpu)]
                {
                    let summary = outcome.latencies.summary();
                    details.insert(format!("{name}_failures"), codes(outcome));
                    details.insert(format!("{name}_calls"), json!(outcome.latencies.len()));
                    details.insert(format!("{name}_p50_ms"), json!(summary.p50_ms));
                    details.insert(format!("{name}_p95_ms"), json!(summary.p95_ms));
                    details.insert(format!("{name}_p99_ms"), json!(summary.p99_ms));
                    details.insert(format!("{name}_cpu_us_per_call"), cpu_per_call(cpu, outcome.total_calls));
                }
                if let Some(lock) = &lock_share
                    && let Some(share) = lock.share_since_last().await
                {
                    details.insert("feed_lock_share".into(), json!(share));
                }
                let result = ScenarioResult {
                    scenario: scenario.name().into(),
                    concurrency,
                    api_rps,
                    minimal_rps: Some(minimal.rps()),
                    ratio: Some(ratio(minimal.rps())),
                    statements_rps: Some(statements.rps()),
                    statements_ratio: Some(ratio(statements.rps())),
                    p50_ms: api_summary.p50_ms,
                    p95_ms: api_summary.p95_ms,
                    p99_ms: api_summary.p99_ms,
                    server_cpu_us: per_call(api_cpu.server_us, api.total_calls),
                    errors: api.errors() + minimal.errors() + statements.errors(),
                    server_rss_mb: rss,
                    details,
                };
                eprintln!(
                    "  {}: api {:.0}/s p95 {:.2} ms, server {:.0} µs/call | minimal {:.0}/s (ratio {:.2}) | \
                     statements {:.0}/s (ratio {:.2}) | errors api {} minimal {} statements {}",
                    result.scenario,
                    api_rps,
                    api_summary.p95_ms,
                    result.server_cpu_us.unwrap_or_default(),
                    minimal.rps(),
                    result.ratio.unwrap_or_default(),
                    statements.rps(),
                    result.statements_ratio.unwrap_or_default(),
                    api.errors(),
                    minimal.errors(),
                    statements.errors(),
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
    if args.fail_on_errors {
        let failed: Vec<String> = results
            .iter()
            .filter(|result| result.ratio.is_some() && result.errors > 0)
            .map(|result| format!("{}: {} errors {:?}", result.scenario, result.errors, result.details))
            .collect();
        anyhow::ensure!(failed.is_empty(), "calls failed:\n{}", failed.join("\n"));
    }
    Ok(())
}
