//! Builds the application: database, services, layers and listeners.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{extract::Request, middleware::from_fn_with_state, response::IntoResponse};
use http::{HeaderName, HeaderValue, Method};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use tasktracker_proto::v1::{
    account_service_server::AccountServiceServer, project_service_server::ProjectServiceServer,
    task_service_server::TaskServiceServer,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::ServiceExt;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    services::{ServeDir, ServeFile},
};

use crate::{
    auth::{
        Authorizer, layer::Authenticator, password::PasswordHasher, rate_limit::SignInLimiter, tokens::TokenSigner,
    },
    config::Settings,
    domain::time,
    live::ChangeFeed,
    metrics::Metrics,
    overload::{
        CallLimit, DatabaseStatus, DefaultDeadline, enforce_deadline, fail_fast_while_database_down, shed_load,
    },
    services::{Shared, SharedState, accounts::Accounts, projects::Projects, tasks::Tasks},
    storage::{self, tasks::DELETED_RETENTION},
};

/// Largest request message accepted (and response sent).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// How often the health probe asks the database while it answers.
const HEALTH_PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// How often it asks while it does not, so serving resumes quickly.
const HEALTH_RETRY_INTERVAL: Duration = Duration::from_millis(250);
/// How long a probe's ping may take before the database counts as down.
const HEALTH_PING_TIMEOUT: Duration = Duration::from_secs(1);
/// Services whose health follows the database.
const SERVICES: &[&str] =
    &["tasktracker.v1.AccountService", "tasktracker.v1.ProjectService", "tasktracker.v1.TaskService"];

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    metrics_listener: TcpListener,
    routes: Routes,
    settings: Settings,
    shared: SharedState,
    health: HealthReporter,
}

/// The database URL to use, and whether it is the embedded local default.
fn database_url(settings: &Settings) -> anyhow::Result<(SecretString, bool)> {
    if let Some(url) = &settings.database_url {
        return Ok((url.clone(), false));
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data directory {}", settings.data_dir.display()))?;
    let file = settings.data_dir.join("tasktracker.sqlite3");
    Ok((SecretString::from(format!("sqlite://{}?mode=rwc", file.display())), true))
}

/// The token signing secret: from the environment, or for the local default
/// only, generated once and kept in the data directory.
fn token_secret(settings: &Settings, local: bool) -> anyhow::Result<SecretString> {
    if let Some(secret) = &settings.token_secret {
        anyhow::ensure!(secret.expose_secret().len() >= 32, "TASKTRACKER_TOKEN_SECRET must be at least 32 bytes");
        return Ok(secret.clone());
    }
    anyhow::ensure!(local, "TASKTRACKER_TOKEN_SECRET is required when DATABASE_URL is set");
    let path = settings.data_dir.join("token-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(existing.trim().to_owned()));
    }
    let secret = crate::auth::tokens::random_secret();
    write_private(&path, &secret)?;
    tracing::info!(path = %path.display(), "generated a token signing secret for local use");
    Ok(SecretString::from(secret))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// `tasktracker-server migrate`.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let (url, _) = database_url(settings)?;
    storage::migrate(&url).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// `tasktracker-server healthcheck`: exit status 0 if SERVING.
pub async fn healthcheck(settings: &Settings) -> anyhow::Result<()> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let mut address = settings.listen_addr;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect()
        .await?;
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await?;
    anyhow::ensure!(response.get_ref().status == ServingStatus::Serving as i32, "not serving");
    Ok(())
}

fn cors(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins.iter().map(|origin| HeaderValue::from_str(origin.trim())).collect::<Result<Vec<_>, _>>()?;
    let headers =
        ["content-type", "authorization", "x-grpc-web", "x-user-agent", "grpc-timeout"].map(HeaderName::from_static);
    let exposed = ["grpc-status", "grpc-message", "grpc-status-details-bin"].map(HeaderName::from_static);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::POST, Method::OPTIONS])
            .allow_headers(headers)
            .expose_headers(exposed)
            .max_age(Duration::from_secs(3_600)),
    ))
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (url, local) = database_url(&settings)?;
        let secret = token_secret(&settings, local)?;
        if settings.auto_migrate {
            storage::migrate(&url).await?;
        }
        let db = storage::connect(&url, settings.db_max_connections, Some(settings.request_timeout)).await?;
        let shutdown = CancellationToken::new();
        let metrics = Metrics::new(settings.db_max_connections);
        let feed = ChangeFeed::new(db.clone(), metrics.clone());
        feed.listen(&db, shutdown.clone());
        let signer = TokenSigner::new(&secret);
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let shared = Arc::new(Shared {
            db: db.clone(),
            authorizer: Authorizer::new(db.clone()),
            hasher: PasswordHasher::new(cores)?,
            signer: signer.clone(),
            sign_in_limiter: SignInLimiter::default(),
            feed,
            metrics,
            database: DatabaseStatus::up(),
            heartbeat_interval: settings.watch_heartbeat,
            shutdown,
        });

        let (health, health_service) = tonic_health::server::health_reporter();
        // The database just answered (migrations, pool): serving from the
        // first call; the probe takes over from here.
        for service in SERVICES {
            health.set_service_status(*service, ServingStatus::Serving).await;
        }
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(tasktracker_proto::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // So reflection clients can decode google.rpc.BadRequest details.
                .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        };
        let mut builder = Routes::builder();
        builder
            .add_service(health_service)
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?)
            .add_service(
                AccountServiceServer::new(Accounts::new(shared.clone()))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                ProjectServiceServer::new(Projects::new(shared.clone()))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                TaskServiceServer::new(Tasks::new(shared.clone()))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            );
        let mut router = builder
            .routes()
            .into_axum_router()
            .layer(from_fn_with_state(Authenticator::new(db.clone(), signer), crate::auth::layer::authenticate))
            .layer(from_fn_with_state(shared.database.clone(), fail_fast_while_database_down))
            .layer(from_fn_with_state(DefaultDeadline(settings.request_timeout), enforce_deadline))
            .layer(from_fn_with_state(CallLimit::new(settings.max_concurrent_calls), shed_load))
            .layer(from_fn_with_state(shared.metrics.clone(), crate::observe::observe))
            .layer(tonic_web::GrpcWebLayer::new());
        if let Some(cors) = cors(&settings.cors_origins)? {
            router = router.layer(cors);
        }
        if let Some(web_dir) = &settings.web_dir {
            let files = ServeDir::new(web_dir).fallback(ServeFile::new(web_dir.join("index.html")));
            router = router.fallback(move |request: Request| async move {
                let grpc = request
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
                if grpc {
                    return tonic::Status::unimplemented("no such method")
                        .into_http::<axum::body::Body>()
                        .into_response();
                }
                match files.oneshot(request).await {
                    Ok(response) => response.into_response(),
                    Err(never) => match never {},
                }
            });
        }

        let listener = TcpListener::bind(settings.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen_addr))?;
        let metrics_listener = TcpListener::bind(settings.metrics_addr)
            .await
            .with_context(|| format!("cannot listen on {} for metrics", settings.metrics_addr))?;
        Ok(Self { listener, metrics_listener, routes: Routes::from(router), settings, shared, health })
    }

    /// The bound address (tests bind port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The bound admin address serving `/metrics`.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_listener.local_addr().expect("a bound listener has an address")
    }

    /// Cancelling this token shuts the server down gracefully, as SIGTERM does.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shared.shutdown.clone()
    }

    /// Serves until SIGTERM, SIGINT or the shutdown token, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { listener, metrics_listener, routes, settings, shared, health } = self;
        let address = listener.local_addr()?;
        let stop = CancellationToken::new();
        spawn_health_probe(shared.clone(), health.clone(), stop.clone());
        let admin = crate::metrics::router(shared.metrics.clone(), shared.db.clone());
        let metrics_address = metrics_listener.local_addr()?;
        let admin_stop = stop.clone();
        tokio::spawn(async move {
            let served =
                axum::serve(metrics_listener, admin).with_graceful_shutdown(admin_stop.cancelled_owned()).await;
            if let Err(error) = served {
                tracing::error!(%error, "metrics endpoint failed");
            }
        });
        spawn_pruner(shared.db.clone(), settings.event_retention, stop.clone());
        let server = Server::builder()
            .accept_http1(true)
            .max_concurrent_streams(Some(1_024))
            .http2_max_pending_accept_reset_streams(Some(100))
            .http2_max_header_list_size(Some(16 * 1024))
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .add_routes(routes)
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                stop.clone().cancelled_owned(),
            );
        let server = tokio::spawn(server);
        tracing::info!(%address, %metrics_address, "serving gRPC and gRPC-web");

        tokio::select! {
            () = shared.shutdown.cancelled() => {}
            () = termination() => {}
        }
        tracing::info!("shutting down: health NOT_SERVING, draining calls");
        health.set_service_status("", ServingStatus::NotServing).await;
        for service in SERVICES {
            health.set_service_status(*service, ServingStatus::NotServing).await;
        }
        // Streams end on this; the listener closes and in-flight calls finish.
        shared.shutdown.cancel();
        stop.cancel();
        match tokio::time::timeout(settings.shutdown_timeout, server).await {
            Ok(result) => result?.context("server failed")?,
            Err(_) => {
                tracing::warn!(timeout = ?settings.shutdown_timeout, "calls still running at the shutdown deadline; closing")
            }
        }
        shared.db.clone().close().await?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn termination() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("cannot install SIGTERM handler");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}

/// Reports SERVING only while the database answers; samples how long a
/// pooled connection takes to get.
fn spawn_health_probe(shared: SharedState, health: HealthReporter, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let started = std::time::Instant::now();
            let up = matches!(tokio::time::timeout(HEALTH_PING_TIMEOUT, shared.db.ping()).await, Ok(Ok(())));
            if up {
                shared.metrics.pool_acquire_duration.observe(started.elapsed().as_secs_f64());
            }
            shared.metrics.database_up.set(i64::from(up));
            shared.database.set(up);
            if stop.is_cancelled() {
                return;
            }
            if last != Some(up) {
                let status = if up { ServingStatus::Serving } else { ServingStatus::NotServing };
                if !up {
                    tracing::warn!("database unreachable: health NOT_SERVING");
                }
                health.set_service_status("", status).await;
                for service in SERVICES {
                    health.set_service_status(*service, status).await;
                }
                last = Some(up);
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(if up { HEALTH_PROBE_INTERVAL } else { HEALTH_RETRY_INTERVAL }) => {}
            }
        }
    });
}

/// Prunes old feed events and purges tasks deleted long ago, hourly.
fn spawn_pruner(db: DatabaseConnection, retention: Duration, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            let now = time::now();
            let events_before = now - i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
            match storage::tasks::prune(&db, events_before, now - DELETED_RETENTION).await {
                Ok((events, tasks)) if events + tasks > 0 => tracing::info!(events, tasks, "pruned"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "pruning failed"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(3_600)) => {}
            }
        }
    });
}
