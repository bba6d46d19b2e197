//! SIGKILL under write load: every create the client saw acknowledged is in
//! the database after a restart, and retrying with the same request id never
//! makes a second task.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection};
use tasktracker_bench::{client, server::ServerProcess};
use tasktracker_proto::v1::task_service_client::TaskServiceClient;

use crate::common::{HEAVY, create_request, server_binary, server_config, start};

const WRITERS: usize = 8;
/// Load runs this long before the kill.
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1_500);
/// Hard caps on each writer.
const MAX_CREATES_PER_WRITER: usize = 5_000;
const WRITER_TIME_LIMIT: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Ledger {
    /// request id → task name, for acknowledged creates.
    acknowledged: HashMap<String, String>,
    /// Request ids sent but not acknowledged (in flight at the kill).
    unacknowledged: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_creates_survive_sigkill_and_retries_do_not_duplicate() {
    let _turn = HEAVY.lock().await;
    // Built (or found up to date) before the clock starts.
    server_binary();
    let started = Instant::now();
    let mut app = start().await;
    let token = client::bearer(&app.owner.access_token);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let mut tasks = app.tasks();
            let token = token.clone();
            let project = app.project.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut ledger = Ledger::default();
                let began = Instant::now();
                for n in 0..MAX_CREATES_PER_WRITER {
                    if stop.load(Ordering::Relaxed) || began.elapsed() > WRITER_TIME_LIMIT {
                        break;
                    }
                    let request_id = format!("kill9-{writer}-{n}");
                    let mut request = client::authorized(&token, create_request(&project, &request_id));
                    request.set_timeout(Duration::from_secs(5));
                    match tasks.create_task(request).await {
                        Ok(response) => {
                            ledger.acknowledged.insert(request_id, response.into_inner().name);
                        }
                        Err(_) => {
                            // The server is gone: this one may or may not have committed.
                            ledger.unacknowledged.push(request_id);
                            break;
                        }
                    }
                }
                ledger
            })
        })
        .collect();

    tokio::time::sleep(LOAD_BEFORE_KILL).await;
    app.server.kill();
    stop.store(true, Ordering::Relaxed);
    let mut ledger = Ledger::default();
    for writer in writers {
        let part = writer.await.expect("writer");
        ledger.acknowledged.extend(part.acknowledged);
        ledger.unacknowledged.extend(part.unacknowledged);
    }
    assert!(ledger.acknowledged.len() >= 50, "too little load before the kill: {}", ledger.acknowledged.len());
    eprintln!(
        "killed after {} acknowledged creates, {} in flight",
        ledger.acknowledged.len(),
        ledger.unacknowledged.len()
    );

    // Every acknowledged task is in the database, exactly once per request id.
    let mut db = PgConnection::connect(&app.database.url).await.expect("database");
    let project_id = app.project.trim_start_matches("projects/").to_owned();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, request_id FROM tasks WHERE project_id = $1 AND request_id LIKE 'kill9-%'")
            .bind(&project_id)
            .fetch_all(&mut db)
            .await
            .expect("tasks");
    let stored: HashMap<String, String> = rows.iter().map(|(id, request)| (request.clone(), id.clone())).collect();
    assert_eq!(stored.len(), rows.len(), "a request id is stored twice");
    for (request_id, name) in &ledger.acknowledged {
        let id = stored.get(request_id).unwrap_or_else(|| panic!("acknowledged create {request_id} was lost"));
        assert!(name.ends_with(id.as_str()), "{request_id}: acknowledged {name}, stored {id}");
    }

    // Restart on the same database; retry everything with the same request ids.
    let restarted = ServerProcess::start(&server_config(&app.database.url)).expect("restarts");
    let mut tasks = TaskServiceClient::new(client::connect(&restarted.url()).await.expect("connects"));
    for (request_id, name) in &ledger.acknowledged {
        let response = tasks
            .create_task(client::authorized(&token, create_request(&app.project, request_id)))
            .await
            .expect("retry of an acknowledged create");
        assert_eq!(&response.get_ref().name, name, "a retry of {request_id} made a new task");
    }
    let mut retried = HashMap::new();
    for request_id in &ledger.unacknowledged {
        for attempt in 0..2 {
            let response = tasks
                .create_task(client::authorized(&token, create_request(&app.project, request_id)))
                .await
                .expect("retry of an unacknowledged create");
            let name = response.into_inner().name;
            if attempt == 1 {
                assert_eq!(retried.get(request_id), Some(&name), "a second retry of {request_id} made a new task");
            }
            retried.insert(request_id.clone(), name);
        }
    }
    let (tasks_stored, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT request_id) FROM tasks WHERE project_id = $1 AND request_id LIKE 'kill9-%'",
    )
    .bind(&project_id)
    .fetch_one(&mut db)
    .await
    .expect("count");
    assert_eq!(tasks_stored, distinct, "duplicated tasks");
    assert_eq!(tasks_stored as usize, ledger.acknowledged.len() + ledger.unacknowledged.len());
    // The change feed has no gap either: one event per committed change.
    let (events, last): (i64, Option<i64>) =
        sqlx::query_as("SELECT count(*), max(seq) FROM task_events WHERE project_id = $1")
            .bind(&project_id)
            .fetch_one(&mut db)
            .await
            .expect("events");
    assert_eq!(Some(events), last, "the change feed skipped a sequence number");
    let panics = restarted.panics();
    assert!(panics.is_empty(), "{panics:#?}");
    db.close().await.ok();
    drop(restarted);
    eprintln!("kill -9 drill took {:.1} s", started.elapsed().as_secs_f64());
    assert!(started.elapsed() < Duration::from_secs(60));
}
