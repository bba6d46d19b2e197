//! Builds and runs the application: database, shared state, the router
//! ([`router`]), listeners and background tasks ([`background`]). The
//! one-shot subcommands live in [`commands`].

mod background;
pub mod commands;
pub mod router;
mod secrets;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};

use self::{
    background::{SERVICES, set_health, spawn_health_probe, spawn_pruner, spawn_reminders},
    secrets::{database_url, token_secret},
};
pub use self::{
    commands::{healthcheck, migrate},
    router::MAX_MESSAGE_BYTES,
};
use crate::{
    attachments::{ObjectStore, local::LocalStore, s3::S3Store},
    auth::{
        Authorizer, layer::Authenticator, oidc::IdentityProviders, password::PasswordHasher, rate_limit::SignInLimiter,
        revocations::Revocations, tokens::TokenSigner,
    },
    config::Settings,
    email::{Mailer, spawn_sender, unsubscribe::UnsubscribeSigner},
    inbox,
    live::ChangeFeed,
    metrics::Metrics,
    overload::DatabaseStatus,
    services::{Shared, SharedState},
    storage::{
        self, accounts::AccountStore, api_tokens::ApiTokenStore, attachments::AttachmentStore, comments::CommentStore,
        email::EmailStore, events::EventStore, exports::ExportStore, fields::FieldStore, identities::IdentityStore,
        imports::ImportStore, invitations::InvitationStore, notifications::NotificationStore, projects::ProjectStore,
        relations::RelationStore, reminders::ReminderStore, states::StateStore, tasks::TaskStore,
        two_factor::TwoFactorStore, views::ViewStore, webhooks::WebhookStore,
    },
    webhooks::{address::AddressPolicy, sender::Sender, spawn_dispatcher},
};

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    metrics_listener: TcpListener,
    routes: Routes,
    settings: Settings,
    shared: SharedState,
    health: HealthReporter,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (url, local) = database_url(&settings)?;
        let secret = token_secret(&settings, local)?;
        let mailer = Mailer::from_settings(&settings)?;
        settings.attachments.check()?;
        // An S3 bucket, or the embedded object store: files under the data
        // directory, moved through this server's own signed URLs.
        let (object_store, local_files): (Arc<dyn ObjectStore>, _) = if settings.attachments.s3_bucket.is_some() {
            (Arc::new(S3Store::new(&settings.attachments)?), None)
        } else {
            let local = Arc::new(LocalStore::new(
                settings.data_dir.join("attachments"),
                &secret,
                settings.public_url.as_deref(),
            ));
            (local.clone(), Some(local))
        };
        let identity_providers =
            Arc::new(IdentityProviders::new(settings.oidc.clone(), settings.public_url.as_deref())?);
        if settings.auto_migrate {
            storage::migrate(&url).await?;
        }
        let db = storage::connect(&url, settings.db_max_connections, Some(settings.request_timeout)).await?;
        let shutdown = CancellationToken::new();
        let metrics = Metrics::new(settings.db_max_connections);
        for provider in identity_providers.list() {
            metrics.init_oidc_provider(&provider.id);
        }
        let feed = ChangeFeed::new(EventStore::new(db.clone()), metrics.clone());
        feed.listen(&db, shutdown.clone());
        let revocations = Revocations::new(metrics.clone());
        revocations.follow(&db, AccountStore::new(db.clone()), shutdown.clone());
        let signer = TokenSigner::new(&secret);
        // Notifications are queued for email only when it can be sent.
        let inbox_signals = metrics.inbox.clone().with_outbox(mailer.is_some());
        let tasks = TaskStore::new(db.clone(), metrics.write_timings.clone(), inbox_signals.clone());
        inbox::listen(&db, metrics.inbox.clone(), shutdown.clone());
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let shared = Arc::new(Shared {
            db: db.clone(),
            accounts: AccountStore::new(db.clone()),
            api_tokens: ApiTokenStore::new(db.clone()),
            projects: ProjectStore::new(db.clone()),
            invitations: InvitationStore::new(db.clone()),
            states: StateStore::new(db.clone()),
            fields: FieldStore::new(db.clone()),
            tasks: tasks.clone(),
            relations: RelationStore::new(db.clone()),
            views: ViewStore::new(db.clone()),
            comments: CommentStore::new(db.clone(), inbox_signals.clone()),
            notifications: NotificationStore::new(db.clone(), inbox_signals.clone()),
            reminders: ReminderStore::new(db.clone(), inbox_signals.clone()),
            email: EmailStore::new(db.clone()),
            mailer,
            unsubscribe: UnsubscribeSigner::new(&secret),
            two_factor: TwoFactorStore::new(db.clone()),
            identities: IdentityStore::new(db.clone()),
            identity_providers,
            events: EventStore::new(db.clone()),
            webhooks: WebhookStore::new(db.clone(), inbox_signals.clone()),
            webhook_sender: Sender::new(
                AddressPolicy::new(settings.webhooks.allowed_networks.clone()),
                settings.webhooks.timeout,
            ),
            attachments: AttachmentStore::new(db.clone()),
            object_store,
            attachment_settings: settings.attachments.clone(),
            authorizer: Authorizer::new(ProjectStore::new(db.clone()), tasks.clone()),
            hasher: PasswordHasher::new(cores)?,
            signer: signer.clone(),
            sign_in_limiter: SignInLimiter::default(),
            revocations: revocations.clone(),
            feed,
            metrics,
            database: DatabaseStatus::up(),
            heartbeat_interval: settings.watch_heartbeat,
            shutdown,
            imports: ImportStore::new(db.clone()),
            exports: ExportStore::new(db.clone(), tasks),
            imports_running: Arc::default(),
            import_max_bytes: settings.import_max_bytes,
        });

        let (health, health_service) = tonic_health::server::health_reporter();
        // The database just answered (migrations, pool): serving from the
        // first call; the probe takes over from here.
        for service in SERVICES {
            health.set_service_status(*service, ServingStatus::Serving).await;
        }
        let router = router::build(
            &settings,
            &shared,
            Authenticator::new(shared.accounts.clone(), shared.api_tokens.clone(), signer, revocations),
            health_service,
            local_files,
        )?;

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
        spawn_pruner(shared.clone(), settings.event_retention, stop.clone());
        // Discovery in the background: an unreachable provider delays
        // nothing, and is tried again at its next sign-in.
        let providers = shared.identity_providers.clone();
        tokio::spawn(async move { providers.discover_all().await });
        spawn_reminders(shared.clone(), settings.reminder_interval, stop.clone());
        spawn_dispatcher(shared.clone(), settings.webhooks.clone(), stop.clone());
        let sweeping = shared.clone();
        tokio::spawn(async move {
            match crate::services::operations::fail_interrupted(&sweeping).await {
                Ok(0) => {}
                Ok(count) => tracing::warn!(count, "imports interrupted by a stopped server marked failed"),
                Err(error) => tracing::error!(error = ?error, "cannot mark interrupted imports failed"),
            }
        });
        match shared.mailer.clone() {
            Some(mailer) => spawn_sender(shared.clone(), mailer, stop.clone()),
            None => tracing::info!("no SMTP server configured (TASKTRACKER_SMTP_URL): email is off"),
        }
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
        set_health(&health, ServingStatus::NotServing).await;
        // Streams end on this; the listener closes and in-flight calls finish.
        shared.shutdown.cancel();
        stop.cancel();
        match tokio::time::timeout(settings.shutdown_timeout, server).await {
            Ok(result) => result?.context("server failed")?,
            Err(_) => {
                tracing::warn!(timeout = ?settings.shutdown_timeout, "calls still running at the shutdown deadline; closing")
            }
        }
        // Running imports stop after their batch and record it.
        let imports = tokio::time::timeout(settings.shutdown_timeout, shared.imports_running.write()).await;
        if imports.is_err() {
            tracing::warn!("imports still running at the shutdown deadline; they will be marked failed later");
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
