//! Starting the server against a fresh database, and calling it.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use tasktracker_proto::google::longrunning::operations_client::OperationsClient;
use tasktracker_proto::v1::{
    self, account_service_client::AccountServiceClient, custom_field_service_client::CustomFieldServiceClient,
    import_service_client::ImportServiceClient, project_service_client::ProjectServiceClient,
    saved_view_service_client::SavedViewServiceClient, task_relation_service_client::TaskRelationServiceClient,
    task_service_client::TaskServiceClient, webhook_service_client::WebhookServiceClient,
    workflow_state_service_client::WorkflowStateServiceClient,
};
use tasktracker_server::{
    config::{AttachmentSettings, LogFormat, Settings, WebhookSettings},
    startup::Application,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Runs `async fn $name(backend: Backend)` once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            }
        )*
    };
}

/// The PostgreSQL server tests create their databases on
/// (`TEST_DATABASE_URL`, through the testkit).
pub fn postgres_admin_url() -> String {
    tasktracker_testkit::admin_url()
}

/// A database that exists for one test and is dropped after it: a copy of
/// the testkit's migrated template (the server's own migration is then a
/// no-op check), or an empty one.
pub struct TestDatabase {
    pub url: String,
    // Dropped with this: the database on PostgreSQL (a SQLite one goes with
    // `directory`).
    postgres: Option<tasktracker_testkit::PostgresDatabase>,
    pub directory: PathBuf,
}

impl TestDatabase {
    /// A migrated database.
    pub async fn create(backend: Backend) -> Self {
        Self::make(backend, true).await
    }

    /// An empty database: for tests of migrating itself, or restoring into.
    pub async fn create_empty(backend: Backend) -> Self {
        Self::make(backend, false).await
    }

    async fn make(backend: Backend, migrated: bool) -> Self {
        let directory = std::env::temp_dir().join(format!("tasktracker-test-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&directory).expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let file = directory.join("test.sqlite3");
                if migrated {
                    tasktracker_testkit::sqlite_database(&file).await.expect("SQLite template copy");
                }
                Self { url: format!("sqlite://{}?mode=rwc", file.display()), postgres: None, directory }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let database = if migrated {
                    tasktracker_testkit::PostgresDatabase::create(&admin, "tasktracker_test").await
                } else {
                    tasktracker_testkit::PostgresDatabase::create_empty(&admin, "tasktracker_test").await
                }
                .expect("a database on the PostgreSQL at TEST_DATABASE_URL");
                Self { url: database.url.clone(), postgres: Some(database), directory }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
        // Drops the PostgreSQL database (terminating its connections).
        drop(self.postgres.take());
    }
}

/// Settings for a test server on `database`.
pub fn test_settings(database: &TestDatabase) -> Settings {
    Settings {
        database_url: Some(database.url.clone().into()),
        data_dir: database.directory.clone(),
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        web_dir: None,
        cors_origins: vec![],
        trusted_proxies: vec![],
        token_secret: Some("a test secret that is at least 32 bytes long".to_owned().into()),
        auto_migrate: true,
        db_max_connections: 5,
        max_concurrent_calls: 256,
        request_timeout: Duration::from_secs(30),
        watch_heartbeat: Duration::from_secs(1),
        shutdown_timeout: Duration::from_secs(10),
        event_retention: Duration::from_secs(7 * 86_400),
        reminder_interval: Duration::from_millis(200),
        import_max_bytes: 32 * 1024 * 1024,
        // Seconds, not hours: a test sees retries, and a pause when it
        // shortens the window. No network is allowed: tests that run a
        // receiver on 127.0.0.1 allow it themselves.
        webhooks: WebhookSettings {
            allowed_networks: vec![],
            poll_interval: Duration::from_millis(100),
            timeout: Duration::from_secs(2),
            retry_base: Duration::from_millis(100),
            retry_max: Duration::from_millis(400),
            retry_window: Duration::from_secs(25 * 3_600),
        },
        attachments: AttachmentSettings {
            max_bytes: 1024 * 1024,
            project_max_bytes: 4 * 1024 * 1024,
            upload_expiry: Duration::from_secs(60),
            download_expiry: Duration::from_secs(60),
            s3_bucket: None,
            s3_region: None,
            s3_endpoint: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
        },
        smtp_url: None,
        email_from: None,
        public_url: None,
        email_digest_period: Duration::from_secs(86_400),
        email_interval: Duration::from_millis(100),
        email_retry_delay: Duration::from_millis(200),
        oidc_providers: vec![],
        oidc: vec![],
        otlp_endpoint: None,
        trace_sample_ratio: 1.0,
        log_format: LogFormat::Pretty,
    }
}

/// A running server and its database.
pub struct TestApp {
    pub address: SocketAddr,
    pub metrics_address: SocketAddr,
    pub shutdown: CancellationToken,
    pub server: JoinHandle<anyhow::Result<()>>,
    pub channel: Channel,
    // Dropped last: the server must stop before its database goes.
    pub database: TestDatabase,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    let database = TestDatabase::create(backend).await;
    spawn_app_with(backend, database, |_| {}).await
}

pub async fn spawn_app_with(
    _backend: Backend,
    database: TestDatabase,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(&database);
    configure(&mut settings);
    let application = Application::build(settings).await.expect("server builds");
    let address = application.local_addr();
    let metrics_address = application.metrics_addr();
    let shutdown = application.shutdown_token();
    let server = tokio::spawn(application.run_until_stopped());
    let channel = connect(address).await;
    TestApp { address, metrics_address, shutdown, server, channel, database }
}

pub async fn connect(address: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{address}")).unwrap().connect().await.expect("connects")
}

impl TestApp {
    pub fn accounts(&self) -> AccountServiceClient<Channel> {
        AccountServiceClient::new(self.channel.clone())
    }

    pub fn projects(&self) -> ProjectServiceClient<Channel> {
        ProjectServiceClient::new(self.channel.clone())
    }

    pub fn tasks(&self) -> TaskServiceClient<Channel> {
        TaskServiceClient::new(self.channel.clone())
    }

    pub fn states(&self) -> WorkflowStateServiceClient<Channel> {
        WorkflowStateServiceClient::new(self.channel.clone())
    }

    pub fn fields(&self) -> CustomFieldServiceClient<Channel> {
        CustomFieldServiceClient::new(self.channel.clone())
    }

    pub fn relations(&self) -> TaskRelationServiceClient<Channel> {
        TaskRelationServiceClient::new(self.channel.clone())
    }

    pub fn views(&self) -> SavedViewServiceClient<Channel> {
        SavedViewServiceClient::new(self.channel.clone())
    }

    pub fn imports(&self) -> ImportServiceClient<Channel> {
        // Import files are larger than other calls' messages.
        ImportServiceClient::new(self.channel.clone()).max_encoding_message_size(usize::MAX)
    }

    pub fn operations(&self) -> OperationsClient<Channel> {
        OperationsClient::new(self.channel.clone())
    }

    pub fn webhooks(&self) -> WebhookServiceClient<Channel> {
        WebhookServiceClient::new(self.channel.clone())
    }

    /// `project`'s workflow states in board order.
    pub async fn list_states(&self, user: &TestUser, project: &str, show_archived: bool) -> Vec<v1::WorkflowState> {
        self.states()
            .list_workflow_states(user.call(v1::ListWorkflowStatesRequest { parent: project.into(), show_archived }))
            .await
            .expect("list states")
            .into_inner()
            .states
    }

    /// Signs up a new user called `who`.
    pub async fn sign_up(&self, who: &str) -> TestUser {
        let email = format!("{who}-{}@example.com", uuid::Uuid::now_v7().simple());
        let response = self
            .accounts()
            .sign_up(v1::SignUpRequest { email: email.clone(), password: PASSWORD.into(), display_name: who.into() })
            .await
            .expect("sign up")
            .into_inner();
        let session = response.session.expect("session");
        TestUser { name: response.user.expect("user").name, email, token: session.access_token }
    }

    /// Creates a custom field `key` of `kind` (with `options`, for selects)
    /// in `project`.
    pub async fn create_field(
        &self,
        owner: &TestUser,
        project: &str,
        key: &str,
        kind: v1::CustomFieldType,
        options: &[&str],
    ) -> v1::CustomField {
        self.fields()
            .create_custom_field(owner.call(v1::CreateCustomFieldRequest {
                parent: project.into(),
                field: Some(v1::CustomField {
                    key: key.into(),
                    display_name: key.to_uppercase(),
                    r#type: kind as i32,
                    options: options.iter().map(|option| (*option).to_owned()).collect(),
                    ..Default::default()
                }),
            }))
            .await
            .expect("create field")
            .into_inner()
    }

    /// Creates a project owned by `owner`.
    pub async fn create_project(&self, owner: &TestUser, title: &str) -> v1::Project {
        self.projects()
            .create_project(owner.call(v1::CreateProjectRequest {
                project: Some(v1::Project { title: title.into(), ..Default::default() }),
                request_id: String::new(),
            }))
            .await
            .expect("create project")
            .into_inner()
    }

    /// Creates a task in `project`.
    pub async fn create_task(&self, user: &TestUser, project: &str, task: v1::Task) -> v1::Task {
        self.tasks()
            .create_task(user.call(v1::CreateTaskRequest {
                parent: project.into(),
                task: Some(task),
                request_id: String::new(),
            }))
            .await
            .expect("create task")
            .into_inner()
    }

    /// Tries to create a task in `project`.
    pub async fn create_task_result(&self, user: &TestUser, project: &str, task: v1::Task) -> Result<v1::Task, Status> {
        self.tasks()
            .create_task(user.call(v1::CreateTaskRequest {
                parent: project.into(),
                task: Some(task),
                request_id: String::new(),
            }))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Adds `user` to `project` with `role`: `owner` invites them by
    /// email, and they accept.
    pub async fn add_member(&self, owner: &TestUser, project: &str, user: &TestUser, role: v1::Role) {
        let invited = self
            .projects()
            .add_member(owner.call(v1::AddMemberRequest {
                parent: project.into(),
                member: Some(v1::Member { email: user.email.clone(), role: role as i32, ..Default::default() }),
            }))
            .await
            .expect("invite")
            .into_inner();
        self.projects()
            .accept_invitation(user.call(v1::AcceptInvitationRequest { name: invited.invitation }))
            .await
            .expect("accept the invitation");
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.expect("server task").expect("server stops cleanly");
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A signed-up user and their credentials.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// `users/{user}`.
    pub name: String,
    pub email: String,
    pub token: String,
}

impl TestUser {
    /// A request carrying this user's access token.
    pub fn call<T>(&self, message: T) -> Request<T> {
        with_token(&self.token, message)
    }
}

pub fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// A minimal task.
pub fn task(title: &str) -> v1::Task {
    v1::Task { title: title.into(), ..Default::default() }
}

/// Asserts an INVALID_ARGUMENT whose BadRequest names `field`.
pub fn assert_invalid_field(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad_request = status.get_details_bad_request().unwrap_or_else(|| panic!("no BadRequest details in {status:?}"));
    let fields: Vec<&str> = bad_request.field_violations.iter().map(|violation| violation.field.as_str()).collect();
    assert!(fields.contains(&field), "expected a violation of `{field}`, got {fields:?} ({})", status.message());
}

/// Waits until `check` holds, polling; panics after `timeout`.
pub async fn eventually<F: AsyncFnMut() -> bool>(timeout: Duration, mut check: F) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "condition not met within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The admin port's `/metrics` page.
pub async fn scrape(address: std::net::SocketAddr) -> String {
    tasktracker_testkit::scrape_metrics(address).await.expect("/metrics")
}

pub use tasktracker_testkit::sample;

/// A `tasktracker-server` process of its own.
pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
    pub metrics_address: SocketAddr,
}

impl ServerProcess {
    /// Starts the server binary on `database_url` with `env` set too.
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tasktracker-server"))
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("TASKTRACKER_LISTEN_ADDR", "127.0.0.1:0")
            // Another test's process may hold the default admin port.
            .env("TASKTRACKER_METRICS_ADDR", "127.0.0.1:0")
            .env("TASKTRACKER_TOKEN_SECRET", "a test secret that is at least 32 bytes long")
            .env("TASKTRACKER_LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                let field = |name| json.get(name).and_then(|value| value.as_str()).and_then(|text| text.parse().ok());
                if let (Some(address), Some(metrics_address)) = (field("address"), field("metrics_address")) {
                    let _ = sender.send((address, metrics_address));
                }
            }
        });
        let (address, metrics_address) =
            receiver.recv_timeout(Duration::from_secs(30)).expect("the server reports its addresses");
        Self { child, address, metrics_address }
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "the server did not stop within 15 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
