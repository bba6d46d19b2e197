//! Rolling restart: two server processes on one database behind a client
//! that spreads calls over both and retries UNAVAILABLE on another; each
//! process in turn gets SIGTERM and a replacement while load runs. No call
//! may fail.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tasktracker_bench::{
    client,
    database::{FreshDatabase, admin_url},
    server::ServerProcess,
};
use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient};
use tonic::{
    Code, Status,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::common::{HEAVY, create_request, server_binary, server_config, within};

const WORKERS: usize = 8;
const MAX_CALLS_PER_WORKER: usize = 20_000;
const LOAD_TIME_LIMIT: Duration = Duration::from_secs(40);
/// Retries of one call, spread over about two seconds.
const MAX_ATTEMPTS: usize = 40;

/// The client-side view of the fleet, like a load balancer's target group.
#[derive(Clone, Default)]
struct Targets(Arc<RwLock<Vec<(SocketAddr, Channel)>>>);

impl Targets {
    fn add(&self, address: SocketAddr) {
        let channel = client::connect_lazy(&format!("http://{address}")).expect("endpoint");
        self.0.write().unwrap().push((address, channel));
    }

    fn remove(&self, address: SocketAddr) {
        self.0.write().unwrap().retain(|(target, _)| *target != address);
    }

    fn pick(&self, turn: usize) -> Channel {
        let targets = self.0.read().unwrap();
        targets[turn % targets.len()].1.clone()
    }
}

#[derive(Default)]
struct Tally {
    ok: usize,
    retries: usize,
    /// Codes that were retried, by code.
    retried_codes: BTreeMap<String, usize>,
    /// Calls that failed for good.
    failed: Vec<String>,
}

/// One idempotent call of the load.
enum Call {
    /// CreateTask with this request id.
    Create(String),
    /// GetTask of this task.
    Get(String),
}

async fn attempt(
    mut tasks: TaskServiceClient<Channel>,
    token: &MetadataValue<Ascii>,
    project: &str,
    call: &Call,
) -> Result<String, Status> {
    let response = match call {
        Call::Create(request_id) => {
            let mut request = client::authorized(token, create_request(project, request_id));
            request.set_timeout(Duration::from_secs(5));
            tasks.create_task(request).await?
        }
        Call::Get(name) => {
            let mut request = client::authorized(token, v1::GetTaskRequest { name: name.clone() });
            request.set_timeout(Duration::from_secs(5));
            tasks.get_task(request).await?
        }
    };
    Ok(response.into_inner().name)
}

/// True for a call the client never sent: its connection closed (GOAWAY)
/// before the request went out. hyper reports it as "operation was
/// canceled", which tonic maps to CANCELLED; grpc-go and grpc-java map it to
/// UNAVAILABLE and retry it transparently. A CANCELLED that came from the
/// server, or from our own deadline, is not this.
fn never_sent(status: &Status) -> bool {
    if status.code() != Code::Cancelled {
        return false;
    }
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
            return hyper.is_canceled();
        }
        source = error.source();
    }
    false
}

/// Makes `call` on one target after another until it succeeds, retrying
/// UNAVAILABLE (the policy under test, with a short backoff) and calls the
/// transport never sent (see [`never_sent`]).
async fn with_retries(
    targets: &Targets,
    turn: &mut usize,
    tally: &mut Tally,
    token: &MetadataValue<Ascii>,
    project: &str,
    call: &Call,
) -> Result<String, Status> {
    let mut attempts = 0;
    loop {
        *turn += 1;
        let tasks = TaskServiceClient::new(targets.pick(*turn));
        match attempt(tasks, token, project, call).await {
            Err(status)
                if (status.code() == Code::Unavailable || never_sent(&status)) && attempts + 1 < MAX_ATTEMPTS =>
            {
                attempts += 1;
                tally.retries += 1;
                *tally.retried_codes.entry(format!("{:?}: {}", status.code(), status.message())).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(10 * attempts.min(10) as u64)).await;
            }
            other => return other,
        }
    }
}

async fn wait_serving(address: SocketAddr) {
    let channel = client::connect_lazy(&format!("http://{address}")).unwrap();
    let ready =
        within(Duration::from_secs(20), async || client::health(&channel, "").await == Some(ServingStatus::Serving))
            .await;
    assert!(ready.is_some(), "{address} never reported SERVING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_fails_no_request() {
    let _turn = HEAVY.lock().await;
    // Built (or found up to date) before the clock starts.
    server_binary();
    let started = Instant::now();
    // Empty, as a first deployment: both servers migrate it at once.
    let database = FreshDatabase::create_empty(&admin_url(), "tasktracker_drill").await.unwrap();
    let config = server_config(&database.url);
    let mut first = ServerProcess::start(&config).unwrap();
    let mut second = ServerProcess::start(&config).unwrap();
    wait_serving(first.address).await;
    wait_serving(second.address).await;
    let channel = client::connect(&first.url()).await.unwrap();
    let owner = client::sign_up(&channel, "owner").await.unwrap();
    let project = client::create_project(&channel, &owner, "Rolling").await.unwrap();
    let token = client::bearer(&owner.access_token);

    let targets = Targets::default();
    targets.add(first.address);
    targets.add(second.address);
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (targets, token, project, stop, calls) =
                (targets.clone(), token.clone(), project.clone(), stop.clone(), calls.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut turn = worker;
                let mut last_created: Option<String> = None;
                let began = Instant::now();
                for n in 0..MAX_CALLS_PER_WORKER {
                    if stop.load(Ordering::Relaxed) || began.elapsed() > LOAD_TIME_LIMIT {
                        break;
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                    // Creates (idempotent with their request id) and reads, alternately.
                    let call = match (&last_created, n % 2) {
                        (Some(name), 1) => Call::Get(name.clone()),
                        _ => Call::Create(format!("rolling-{worker}-{n}")),
                    };
                    let result = with_retries(&targets, &mut turn, &mut tally, &token, &project, &call).await;
                    match result {
                        Ok(name) => {
                            tally.ok += 1;
                            last_created = Some(name);
                        }
                        Err(status) => tally.failed.push(format!("{:?}: {}", status.code(), status.message())),
                    }
                }
                tally
            })
        })
        .collect();

    // Replace each process in turn: SIGTERM it while it is still a target (as
    // when the platform stops a task), start its replacement, add it once
    // SERVING, drop the old one from the targets once it has exited.
    let mut replacements = Vec::new();
    for old in [&mut first, &mut second] {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        old.signal_terminate();
        let replacement = ServerProcess::start(&config).expect("replacement starts");
        wait_serving(replacement.address).await;
        targets.add(replacement.address);
        let status = old.wait_exit(Duration::from_secs(20)).expect("SIGTERM ends the process");
        assert!(status.success(), "graceful exit: {status:?}");
        targets.remove(old.address);
        replacements.push(replacement);
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::Relaxed);

    let mut total = Tally::default();
    for worker in workers {
        let tally = worker.await.unwrap();
        total.ok += tally.ok;
        total.retries += tally.retries;
        for (code, n) in tally.retried_codes {
            *total.retried_codes.entry(code).or_default() += n;
        }
        total.failed.extend(tally.failed);
    }
    eprintln!(
        "rolling restart: {} calls, {} ok, {} retries {:?}, {} failed, {:.1} s",
        calls.load(Ordering::Relaxed),
        total.ok,
        total.retries,
        total.retried_codes,
        total.failed.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(total.failed.is_empty(), "failed requests: {:?}", total.failed);
    assert!(total.ok > 200, "too little load to mean anything: {}", total.ok);
    for server in &replacements {
        assert!(server.panics().is_empty());
    }
    assert!(started.elapsed() < Duration::from_secs(60));
}
