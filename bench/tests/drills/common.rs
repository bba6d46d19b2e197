//! Starting servers on fresh databases, and a client that retries.

use std::{
    path::PathBuf,
    sync::OnceLock,
    time::{Duration, Instant},
};

use tasktracker_bench::{
    client::{self, User},
    database::{FreshDatabase, admin_url},
    server::{ServerConfig, ServerProcess},
};
use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient};
use tonic::transport::Channel;

/// Drills that load the machine take turns, so each stays well inside its
/// time bound on two cores.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The server binary (`TASKTRACKER_SERVER_BIN`, else built), once per
/// test process.
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| tasktracker_testkit::server_binary().expect("tasktracker-server builds")).clone()
}

/// Settings for drill servers: the binary, a database, quiet logs.
pub fn server_config(database_url: &str) -> ServerConfig {
    ServerConfig::new(server_binary(), database_url)
        .env("RUST_LOG", "info")
        .env("TASKTRACKER_SHUTDOWN_TIMEOUT", "10s")
        .env("TASKTRACKER_WATCH_HEARTBEAT", "1s")
}

/// A server on a fresh database of the shared PostgreSQL, with an owner and
/// a project. Fields drop in order: the server stops before its database goes.
pub struct Started {
    pub server: ServerProcess,
    pub channel: Channel,
    pub owner: User,
    pub project: String,
    pub database: FreshDatabase,
}

impl Started {
    pub fn tasks(&self) -> TaskServiceClient<Channel> {
        TaskServiceClient::new(self.channel.clone())
    }

    /// A request with the owner's token.
    pub fn call<T>(&self, message: T) -> tonic::Request<T> {
        client::authorized(&client::bearer(&self.owner.access_token), message)
    }

    /// Panics unless the server is still up, never panicked and still answers.
    ///
    /// The normal call goes over a new connection: a drill may have made the
    /// server close the old one on purpose (a header list over the limit is an
    /// HTTP/2 connection error), and a client would reconnect too.
    pub async fn assert_healthy(&mut self) {
        assert!(self.server.is_running(), "the server process exited");
        let panics = self.server.panics();
        assert!(panics.is_empty(), "the server panicked: {panics:#?}");
        self.channel = client::connect(&self.server.url()).await.expect("the server still accepts connections");
        let created = self
            .tasks()
            .create_task(self.call(create_request(&self.project, "")))
            .await
            .expect("a normal call still succeeds");
        assert!(!created.get_ref().name.is_empty());
    }
}

pub async fn start() -> Started {
    let database = FreshDatabase::create(&admin_url(), "tasktracker_drill").await.expect("fresh database");
    let server = ServerProcess::start(&server_config(&database.url)).expect("server starts");
    let channel = client::connect(&server.url()).await.expect("connects");
    let owner = client::sign_up(&channel, "owner").await.expect("sign up");
    let project = client::create_project(&channel, &owner, "Drill").await.expect("project");
    Started { server, channel, owner, project, database }
}

/// A CreateTask request; `request_id` may be empty.
pub fn create_request(project: &str, request_id: &str) -> v1::CreateTaskRequest {
    v1::CreateTaskRequest {
        parent: project.into(),
        task: Some(v1::Task {
            title: format!("Drill task {request_id}"),
            labels: vec!["drill".into()],
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

/// Polls `check` until true or `timeout`; returns how long it took.
pub async fn within<F: AsyncFnMut() -> bool>(timeout: Duration, mut check: F) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if check().await {
            return Some(started.elapsed());
        }
        if started.elapsed() >= timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
