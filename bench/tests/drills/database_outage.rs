//! Database outage on a private PostgreSQL instance (never the shared one):
//! under load, calls fail fast with UNAVAILABLE, health turns NOT_SERVING,
//! memory stays bounded; when the database is back the same server process
//! serves again within 5 s.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tasktracker_bench::{
    client,
    database::PrivatePostgres,
    server::{RssSampler, ServerProcess},
    stats::Latencies,
};
use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::common::{HEAVY, create_request, server_binary, server_config, within};

const READERS: usize = 4;
const MAX_CALLS_PER_READER: usize = 50_000;
const OUTAGE: Duration = Duration::from_secs(6);
/// A call failing because the database is down must fail within this.
const FAIL_FAST: Duration = Duration::from_secs(1);

/// What readers saw in one phase.
#[derive(Default)]
struct Seen {
    ok: usize,
    failures: BTreeMap<String, usize>,
    failure_latencies: Latencies,
    /// One message per failure code, for the report.
    messages: BTreeMap<String, String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_fast_with_unavailable_and_heals_without_a_restart() {
    let _turn = HEAVY.lock().await;
    // Built (or found up to date) before the clock starts.
    server_binary();
    let started = Instant::now();
    let postgres = PrivatePostgres::start().expect("a private PostgreSQL starts");
    let url = postgres.create_database("tasktracker").await.expect("database");
    let mut server = ServerProcess::start(&server_config(&url)).expect("server starts");
    let channel = client::connect(&server.url()).await.unwrap();
    let owner = client::sign_up(&channel, "owner").await.unwrap();
    let project = client::create_project(&channel, &owner, "Outage").await.unwrap();
    let token = client::bearer(&owner.access_token);
    let mut tasks = TaskServiceClient::new(channel.clone());
    let task = tasks
        .create_task(client::authorized(&token, create_request(&project, "before")))
        .await
        .unwrap()
        .into_inner()
        .name;

    // 0: before the outage, 1: during, 2: after the restart.
    let phase = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new([Seen::default(), Seen::default(), Seen::default()]));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (mut tasks, token, task) = (tasks.clone(), token.clone(), task.clone());
            let (phase, stop, seen) = (phase.clone(), stop.clone(), seen.clone());
            tokio::spawn(async move {
                for _ in 0..MAX_CALLS_PER_READER {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let began = Instant::now();
                    let mut request = client::authorized(&token, v1::GetTaskRequest { name: task.clone() });
                    request.set_timeout(Duration::from_secs(10));
                    let result = tasks.get_task(request).await;
                    let took = began.elapsed();
                    let failed = result.is_err();
                    // A call belongs to the phase it ends in: one cut short by
                    // the stop counts as "during".
                    let current = phase.load(Ordering::Relaxed);
                    {
                        let mut seen = seen.lock().unwrap();
                        let seen = &mut seen[current];
                        match result {
                            Ok(_) => seen.ok += 1,
                            Err(status) => {
                                let code = format!("{:?}", status.code());
                                seen.messages.entry(code.clone()).or_insert_with(|| status.message().to_owned());
                                *seen.failures.entry(code).or_default() += 1;
                                seen.failure_latencies.record(took);
                            }
                        }
                    }
                    if failed {
                        // A client backs off a little after a failure.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.rss_mb().unwrap_or(0.0);
    let sampler = RssSampler::start(server.pid(), Duration::from_millis(100));
    // Calls from here on count as "during" (some may still succeed).
    phase.store(1, Ordering::Relaxed);
    postgres.stop().expect("PostgreSQL stops");
    let stopped_at = Instant::now();
    let not_serving =
        within(Duration::from_secs(10), async || client::health(&channel, "").await == Some(ServingStatus::NotServing))
            .await;
    let task_service_status = client::health(&channel, "tasktracker.v1.TaskService").await;
    tokio::time::sleep(OUTAGE.saturating_sub(stopped_at.elapsed())).await;
    let rss_peak = sampler.stop().await;

    postgres.start_again().expect("PostgreSQL starts again");
    let restarted_at = Instant::now();
    phase.store(2, Ordering::Relaxed);
    let serving =
        within(Duration::from_secs(10), async || client::health(&channel, "").await == Some(ServingStatus::Serving))
            .await;
    let answering = within(Duration::from_secs(10), async || {
        tasks.get_task(client::authorized(&token, v1::GetTaskRequest { name: task.clone() })).await.is_ok()
    })
    .await
    .map(|_| restarted_at.elapsed());
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    let [before, during, after] = std::mem::take(&mut *seen.lock().unwrap());
    let failures_during: usize = during.failures.values().sum();
    let slowest = during.failure_latencies.clone().summary();
    eprintln!(
        "outage: before {} ok {:?}; during {} ok, failures {:?}, failure latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms; \
         messages {:?}; NOT_SERVING after {:?} (TaskService {:?}); SERVING {:?} and answering {:?} after restart (after: {} ok, failures {:?}); rss {:.1} -> peak {:.1} MiB; {:.1} s",
        before.ok,
        before.failures,
        during.ok,
        during.failures,
        slowest.p50_ms,
        slowest.p99_ms,
        slowest.max_ms,
        during.messages,
        not_serving,
        task_service_status,
        serving,
        answering,
        after.ok,
        after.failures,
        rss_before,
        rss_peak,
        started.elapsed().as_secs_f64()
    );
    for line in server.output().iter().filter(|line| line.contains("internal error")).take(3) {
        eprintln!("server: {line}");
    }
    assert!(before.failures.is_empty(), "calls failed before the outage: {:?}", before.failures);
    assert!(failures_during > 0, "no call failed during the outage");
    let unavailable = during.failures.get("Unavailable").copied().unwrap_or(0);
    assert_eq!(
        failures_during, unavailable,
        "outage failures must all be UNAVAILABLE, calls cut short included: {:?} {:?}",
        during.failures, during.messages
    );
    assert!(
        Duration::from_secs_f64(slowest.max_ms / 1_000.0) <= FAIL_FAST,
        "calls must fail within {FAIL_FAST:?} while the database is down: slowest failure {:.0} ms",
        slowest.max_ms
    );
    assert!(not_serving.is_some(), "health never reported NOT_SERVING");
    assert_eq!(task_service_status, Some(ServingStatus::NotServing));
    assert!(rss_peak < rss_before + 64.0, "memory grew during the outage: {rss_before:.1} -> {rss_peak:.1} MiB");
    let answering = answering.expect("the server never answered again");
    assert!(answering <= Duration::from_secs(5), "serving again took {answering:?}");
    assert!(serving.is_some(), "health never reported SERVING again");
    assert!(server.is_running(), "the server process exited");
    assert!(server.panics().is_empty(), "{:#?}", server.panics());
    // It also writes again (the pool reconnected).
    tasks
        .create_task(client::authorized(&token, create_request(&project, "after")))
        .await
        .expect("writes work after the outage");
    drop(server);
    assert!(started.elapsed() < Duration::from_secs(60));
}
