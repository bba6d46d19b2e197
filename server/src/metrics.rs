//! Prometheus metrics (prometheus-client), served on the admin address.
//!
//! Per-RPC counters, latency histograms and in-flight gauges are filled by
//! the [`crate::observe`] middleware; services count business events; pool
//! and process figures are read when Prometheus scrapes.

use std::sync::{Arc, atomic::AtomicU64};

use axum::{Router, extract::State, http::header::CONTENT_TYPE, response::IntoResponse, routing::get};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram, info::Info},
    registry::Registry,
};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::storage::{
    notifications::{InboxSignals, KindLabels},
    tasks::WriteTimings,
};

/// Latency buckets from a millisecond to ten seconds.
const LATENCY_BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets for parts of one write, from 100 µs to a second.
const WRITE_BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub grpc_service: String,
    pub grpc_method: String,
    pub grpc_code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub grpc_service: String,
    pub grpc_method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OidcSignInLabels {
    provider: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CredentialLabels {
    credential: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Buckets of a webhook attempt's duration, from 10 ms to its 10 s timeout.
const WEBHOOK_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// A credential authentication had to read from the database.
#[derive(Debug, Clone, Copy)]
pub enum AuthLookup {
    /// An access token's session (its first use on this replica, or the
    /// revocation set was not live).
    Session,
    /// An API token (not cached, or the set was not live).
    ApiToken,
}

impl AuthLookup {
    const ALL: [Self; 2] = [Self::Session, Self::ApiToken];

    fn label(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::ApiToken => "api_token",
        }
    }
}

/// How an OpenID Connect sign-in ended (CompleteOidcSignIn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcOutcome {
    /// Signed in: a session was opened.
    Success,
    /// The user has two-factor authentication: a challenge was returned.
    SecondFactor,
    /// The state was unknown, lapsed or already used (replay).
    UnknownState,
    /// The provider's token endpoint refused the code.
    Refused,
    /// The ID token failed validation (signature, issuer, audience, expiry, nonce).
    InvalidToken,
    /// The email was not verified by the provider, or is missing.
    UnverifiedEmail,
    /// The email's domain is not allowed for this provider.
    DomainNotAllowed,
    /// The provider could not be reached.
    Unavailable,
    RateLimited,
}

impl OidcOutcome {
    const ALL: [Self; 9] = [
        Self::Success,
        Self::SecondFactor,
        Self::UnknownState,
        Self::Refused,
        Self::InvalidToken,
        Self::UnverifiedEmail,
        Self::DomainNotAllowed,
        Self::Unavailable,
        Self::RateLimited,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::SecondFactor => "second_factor",
            Self::UnknownState => "unknown_state",
            Self::Refused => "refused",
            Self::InvalidToken => "invalid_token",
            Self::UnverifiedEmail => "unverified_email",
            Self::DomainNotAllowed => "domain_not_allowed",
            Self::Unavailable => "unavailable",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Outcome of a sign-in attempt.
#[derive(Debug, Clone, Copy)]
pub enum SignInResult {
    Success,
    Failure,
    RateLimited,
}

impl SignInResult {
    const ALL: [Self; 3] = [Self::Success, Self::Failure, Self::RateLimited];

    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Status codes whose request counters exist from start for every API
/// method: success, and the codes the availability objective counts.
const INITIALISED_CODES: &[&str] = &["OK", "Unknown", "Internal", "Unavailable", "DataLoss", "DeadlineExceeded"];

/// Every `(service, method)` of the `tasktracker.v1` API, read from its
/// descriptor set so a new RPC is covered without a list to update.
fn api_methods() -> Vec<(String, String)> {
    use prost::Message as _;
    let Ok(descriptors) = prost_types::FileDescriptorSet::decode(tasktracker_proto::v1::FILE_DESCRIPTOR_SET) else {
        return Vec::new();
    };
    descriptors
        .file
        .iter()
        .flat_map(|file| {
            let package = file.package().to_owned();
            file.service.iter().flat_map(move |service| {
                let service_name = format!("{package}.{}", service.name());
                service.method.iter().map(move |method| (service_name.clone(), method.name().to_owned()))
            })
        })
        .collect()
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RpcLabels, Counter>,
    pub request_duration: Family<RpcLabels, Histogram, fn() -> Histogram>,
    pub requests_in_flight: Family<MethodLabels, Gauge>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max_connections: Gauge,
    pub pool_acquire_duration: Histogram,
    pub database_up: Gauge,
    pub watch_streams_active: Gauge,
    pub watch_events_delivered: Counter,
    pub watch_delivery_failures: Counter,
    pub watch_streams_revoked: Counter,
    pub tasks_created: Counter,
    pub tasks_completed: Counter,
    pub tasks_deleted: Counter,
    /// Next occurrences of recurring tasks, made when one is done.
    pub occurrences_created: Counter,
    pub write_timings: WriteTimings,
    /// Inbox wake-ups, and the notifications made.
    pub inbox: InboxSignals,
    pub notification_streams_active: Gauge,
    reminder_passes: Family<PassLabels, Counter>,
    reminder_delay: FloatGauge,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    webhook_delivery_duration: Histogram,
    pub webhook_backlog: Gauge,
    pub webhook_oldest_pending_age: FloatGauge,
    pub webhooks_paused: Counter,
    pub webhook_dispatch_errors: Counter,
    /// Imports started.
    pub imports_started: Counter,
    imports_finished: Family<OutcomeLabels, Counter>,
    /// Tasks and subtasks imports made.
    pub import_rows: Counter,
    attachment_confirms: Family<OutcomeLabels, Counter>,
    attachment_bytes: Counter,
    emails_sent: Family<KindLabels, Counter>,
    emails_failed: Family<KindLabels, Counter>,
    /// Outbox rows due now and not yet sent.
    pub email_outbox_backlog: Gauge,
    /// How long the oldest of them has been due.
    pub email_outbox_oldest_seconds: FloatGauge,
    sign_ins: Family<SignInLabels, Counter>,
    oidc_sign_ins: Family<OidcSignInLabels, Counter>,
    auth_lookups: Family<CredentialLabels, Counter>,
    auth_token_cache: Family<CacheLabels, Counter>,
    pub auth_revocations_live: Gauge,
    pub auth_revoked_sessions: Gauge,
    process_cpu_seconds: Counter<f64, AtomicU64>,
    process_resident_memory: Gauge,
    process_open_fds: Gauge,
    process_start_time: FloatGauge,
}

impl Default for WriteTimings {
    fn default() -> Self {
        Self { transaction: Histogram::new(WRITE_BUCKETS), feed_lock: Histogram::new(WRITE_BUCKETS) }
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// Records a reminder scheduler pass: its result, and for a pass that
    /// ran, how late its latest reminder was (microseconds).
    pub fn reminder_pass(&self, result: &'static str, delay: Option<i64>) {
        self.reminder_passes.get_or_create(&PassLabels { result }).inc();
        if result == "ok" {
            self.reminder_delay.set(delay.unwrap_or(0) as f64 / 1e6);
        }
    }

    /// Records a webhook delivery attempt: `delivered`, `failed` (an HTTP
    /// error status, a timeout, no connection) or `refused` (a forbidden
    /// address), and how long it took.
    pub fn webhook_attempt(&self, outcome: &'static str, seconds: f64) {
        self.webhook_deliveries.get_or_create(&OutcomeLabels { outcome }).inc();
        self.webhook_delivery_duration.observe(seconds);
    }

    /// Counts a finished import: `succeeded`, `failed` or `cancelled`.
    pub fn import_finished(&self, outcome: &'static str) {
        self.imports_finished.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Records a ConfirmAttachment that checked an upload: `confirmed`
    /// (with its size) or `refused` (size, checksum or type did not match).
    pub fn attachment_confirm(&self, outcome: &'static str, bytes: u64) {
        self.attachment_confirms.get_or_create(&OutcomeLabels { outcome }).inc();
        self.attachment_bytes.inc_by(bytes);
    }

    /// Counts an email the SMTP server accepted.
    pub fn email_sent(&self, kind: &'static str) {
        self.emails_sent.get_or_create(&KindLabels { kind }).inc();
    }

    /// Counts a failed attempt to send an email.
    pub fn email_failed(&self, kind: &'static str) {
        self.emails_failed.get_or_create(&KindLabels { kind }).inc();
    }

    pub fn new(max_connections: u32) -> Arc<Self> {
        let mut registry = Registry::default();
        let metrics = Self {
            requests: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            requests_in_flight: Family::default(),
            pool_connections: Family::default(),
            pool_max_connections: Gauge::default(),
            pool_acquire_duration: latency_histogram(),
            database_up: Gauge::default(),
            watch_streams_active: Gauge::default(),
            watch_events_delivered: Counter::default(),
            watch_delivery_failures: Counter::default(),
            watch_streams_revoked: Counter::default(),
            tasks_created: Counter::default(),
            tasks_completed: Counter::default(),
            tasks_deleted: Counter::default(),
            occurrences_created: Counter::default(),
            write_timings: WriteTimings::default(),
            inbox: InboxSignals::default(),
            notification_streams_active: Gauge::default(),
            reminder_passes: Family::default(),
            reminder_delay: FloatGauge::default(),
            webhook_deliveries: Family::default(),
            webhook_delivery_duration: Histogram::new(WEBHOOK_BUCKETS),
            webhook_backlog: Gauge::default(),
            webhook_oldest_pending_age: FloatGauge::default(),
            webhooks_paused: Counter::default(),
            webhook_dispatch_errors: Counter::default(),
            imports_started: Counter::default(),
            imports_finished: Family::default(),
            import_rows: Counter::default(),
            attachment_confirms: Family::default(),
            attachment_bytes: Counter::default(),
            emails_sent: Family::default(),
            emails_failed: Family::default(),
            email_outbox_backlog: Gauge::default(),
            email_outbox_oldest_seconds: FloatGauge::default(),
            sign_ins: Family::default(),
            oidc_sign_ins: Family::default(),
            auth_lookups: Family::default(),
            auth_token_cache: Family::default(),
            auth_revocations_live: Gauge::default(),
            auth_revoked_sessions: Gauge::default(),
            process_cpu_seconds: Counter::default(),
            process_resident_memory: Gauge::default(),
            process_open_fds: Gauge::default(),
            process_start_time: FloatGauge::default(),
            registry: Registry::default(),
        };
        metrics.pool_max_connections.set(i64::from(max_connections));
        registry.register(
            "grpc_server_requests",
            "RPCs completed, by method and status code",
            metrics.requests.clone(),
        );
        registry.register(
            "grpc_server_request_duration_seconds",
            "Time from request to final status, by method and status code",
            metrics.request_duration.clone(),
        );
        registry.register("grpc_server_requests_in_flight", "RPCs in progress", metrics.requests_in_flight.clone());
        registry.register(
            "tasktracker_db_pool_connections",
            "Pooled database connections by state",
            metrics.pool_connections.clone(),
        );
        registry.register(
            "tasktracker_db_pool_max_connections",
            "Pool size limit",
            metrics.pool_max_connections.clone(),
        );
        registry.register(
            "tasktracker_db_pool_acquire_duration_seconds",
            "Time to get a pooled connection (sampled by the health probe)",
            metrics.pool_acquire_duration.clone(),
        );
        registry.register(
            "tasktracker_database_up",
            "1 while the database answers the health probe",
            metrics.database_up.clone(),
        );
        registry.register(
            "tasktracker_watch_streams_active",
            "Open WatchTasks streams",
            metrics.watch_streams_active.clone(),
        );
        registry.register(
            "tasktracker_watch_events_delivered",
            "Task events sent to watchers",
            metrics.watch_events_delivered.clone(),
        );
        registry.register(
            "tasktracker_watch_delivery_failures",
            "Watch streams ended by a failure to read the feed",
            metrics.watch_delivery_failures.clone(),
        );
        registry.register(
            "tasktracker_watch_streams_revoked",
            "Watch streams ended because their caller lost access (signed out, or no longer a member)",
            metrics.watch_streams_revoked.clone(),
        );
        registry.register("tasktracker_tasks_created", "Tasks created", metrics.tasks_created.clone());
        registry.register("tasktracker_tasks_completed", "Tasks moved to DONE", metrics.tasks_completed.clone());
        registry.register("tasktracker_tasks_deleted", "Tasks deleted", metrics.tasks_deleted.clone());
        registry.register(
            "tasktracker_recurring_occurrences_created",
            "Next occurrences of recurring tasks created when one was done, canceled or skipped",
            metrics.occurrences_created.clone(),
        );
        registry.register(
            "tasktracker_task_write_duration_seconds",
            "Task write transactions, from BEGIN to the end of COMMIT",
            metrics.write_timings.transaction.clone(),
        );
        registry.register(
            "tasktracker_feed_lock_hold_duration_seconds",
            "Part of each task write spent holding its project's feed lock, from taking the event number to the end of COMMIT",
            metrics.write_timings.feed_lock.clone(),
        );
        registry.register(
            "tasktracker_notifications_created",
            "Notifications made, by kind (one per recipient)",
            metrics.inbox.created.clone(),
        );
        registry.register(
            "tasktracker_notification_streams_active",
            "Open WatchNotifications streams",
            metrics.notification_streams_active.clone(),
        );
        for result in ["ok", "skipped", "error"] {
            metrics.reminder_passes.get_or_create(&PassLabels { result }).inc_by(0);
        }
        registry.register(
            "tasktracker_reminder_passes",
            "Due-date reminder scheduler passes by result: ok, skipped (another replica held the lock) or error",
            metrics.reminder_passes.clone(),
        );
        registry.register(
            "tasktracker_reminder_delay_seconds",
            "How late the latest reminder of the last pass went out, past its time (0 when on time or none was due)",
            metrics.reminder_delay.clone(),
        );
        for outcome in ["delivered", "failed", "refused"] {
            metrics.webhook_deliveries.get_or_create(&OutcomeLabels { outcome }).inc_by(0);
        }
        registry.register(
            "tasktracker_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered (2xx), failed (other status, timeout, no connection) or refused (forbidden address)",
            metrics.webhook_deliveries.clone(),
        );
        for outcome in ["confirmed", "refused"] {
            metrics.attachment_confirms.get_or_create(&OutcomeLabels { outcome }).inc_by(0);
        }
        registry.register(
            "tasktracker_attachment_confirms",
            "Uploads checked by ConfirmAttachment: confirmed, or refused (size, checksum or content type did not match)",
            metrics.attachment_confirms.clone(),
        );
        registry.register(
            "tasktracker_attachment_confirmed_bytes",
            "Bytes of the uploads ConfirmAttachment accepted",
            metrics.attachment_bytes.clone(),
        );
        registry.register(
            "tasktracker_webhook_delivery_duration_seconds",
            "Webhook delivery attempts, from resolving the host to the end of the reply",
            metrics.webhook_delivery_duration.clone(),
        );
        registry.register(
            "tasktracker_webhook_backlog",
            "Pending webhook deliveries of webhooks that are not paused (all replicas; read by the dispatcher)",
            metrics.webhook_backlog.clone(),
        );
        registry.register(
            "tasktracker_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending delivery of a webhook that is not paused (0 when none)",
            metrics.webhook_oldest_pending_age.clone(),
        );
        registry.register(
            "tasktracker_webhooks_paused",
            "Webhooks this replica paused after their retry window ran out",
            metrics.webhooks_paused.clone(),
        );
        registry.register(
            "tasktracker_webhook_dispatch_errors",
            "Webhook dispatcher passes that failed on the database",
            metrics.webhook_dispatch_errors.clone(),
        );
        registry.register(
            "tasktracker_imports_started",
            "Imports (ImportTasks operations) this replica started",
            metrics.imports_started.clone(),
        );
        for outcome in ["succeeded", "failed", "cancelled"] {
            metrics.imports_finished.get_or_create(&OutcomeLabels { outcome }).inc_by(0);
        }
        registry.register(
            "tasktracker_imports_finished",
            "Imports this replica ran to an end, by outcome: succeeded, failed or cancelled",
            metrics.imports_finished.clone(),
        );
        registry.register(
            "tasktracker_import_rows",
            "Tasks and subtasks imports made (skipped and failed rows not counted)",
            metrics.import_rows.clone(),
        );
        for kind in crate::storage::notifications::NotificationKind::ALL
            .map(crate::storage::notifications::NotificationKind::label)
            .into_iter()
            .chain(["digest"])
        {
            metrics.emails_sent.get_or_create(&KindLabels { kind }).inc_by(0);
            metrics.emails_failed.get_or_create(&KindLabels { kind }).inc_by(0);
        }
        registry.register(
            "tasktracker_emails_sent",
            "Emails accepted by the SMTP server, by kind: a notification kind, or digest",
            metrics.emails_sent.clone(),
        );
        registry.register(
            "tasktracker_emails_failed",
            "Email send attempts that failed (each retry counts), by kind: a notification kind, or digest",
            metrics.emails_failed.clone(),
        );
        registry.register(
            "tasktracker_email_outbox_backlog",
            "Email outbox rows due now and not yet sent (not those waiting for a digest or a retry)",
            metrics.email_outbox_backlog.clone(),
        );
        registry.register(
            "tasktracker_email_outbox_oldest_seconds",
            "How long the oldest email outbox row due now has waited (0 when none)",
            metrics.email_outbox_oldest_seconds.clone(),
        );
        registry.register("tasktracker_sign_ins", "Sign-in attempts by result", metrics.sign_ins.clone());
        registry.register(
            "tasktracker_oidc_sign_ins",
            "OpenID Connect sign-ins completed (CompleteOidcSignIn) by identity provider and outcome",
            metrics.oidc_sign_ins.clone(),
        );
        registry.register(
            "tasktracker_auth_database_lookups",
            "Credentials authentication read from the database, by kind: once per session or API token per replica while revocations are live, every call while not",
            metrics.auth_lookups.clone(),
        );
        registry.register(
            "tasktracker_auth_token_cache_requests",
            "API token cache lookups by result",
            metrics.auth_token_cache.clone(),
        );
        registry.register(
            "tasktracker_auth_revocations_live",
            "1 while this replica's revocation set is loaded and followed",
            metrics.auth_revocations_live.clone(),
        );
        registry.register(
            "tasktracker_auth_revoked_sessions",
            "Recently revoked sessions this replica holds",
            metrics.auth_revoked_sessions.clone(),
        );
        registry.register("process_cpu_seconds", "CPU time used by the process", metrics.process_cpu_seconds.clone());
        registry.register("process_resident_memory_bytes", "Resident memory", metrics.process_resident_memory.clone());
        registry.register("process_open_fds", "Open file descriptors", metrics.process_open_fds.clone());
        registry.register(
            "process_start_time_seconds",
            "Start time, seconds since the epoch",
            metrics.process_start_time.clone(),
        );
        registry.register(
            "tasktracker_build",
            "Version and git revision of the running build",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION")), ("revision", env!("TASKTRACKER_REVISION"))]),
        );
        metrics.process_start_time.set(crate::domain::time::now() as f64 / 1e6);
        metrics.initialise_known_series();
        Arc::new(Self { registry, ..metrics })
    }

    /// Creates, at zero, every labelled series a rule or dashboard reads, so
    /// `rate()` and the alerts see a fresh replica from its first scrape
    /// rather than from its first sign-in or first error.
    fn initialise_known_series(&self) {
        for result in SignInResult::ALL {
            let _ = self.sign_ins.get_or_create(&SignInLabels { result: result.label() });
        }
        for lookup in AuthLookup::ALL {
            let _ = self.auth_lookups.get_or_create(&CredentialLabels { credential: lookup.label() });
        }
        for result in ["hit", "miss"] {
            let _ = self.auth_token_cache.get_or_create(&CacheLabels { result });
        }
        for (grpc_service, grpc_method) in api_methods() {
            for code in INITIALISED_CODES {
                let labels = RpcLabels {
                    grpc_service: grpc_service.clone(),
                    grpc_method: grpc_method.clone(),
                    grpc_code: (*code).to_owned(),
                };
                let _ = self.requests.get_or_create(&labels);
            }
        }
    }

    pub fn sign_in(&self, result: SignInResult) {
        self.sign_ins.get_or_create(&SignInLabels { result: result.label() }).inc();
    }

    /// Creates every outcome's counter for `provider` at zero, so dashboards
    /// see them before the first sign-in.
    pub fn init_oidc_provider(&self, provider: &str) {
        for outcome in OidcOutcome::ALL {
            let _ = self
                .oidc_sign_ins
                .get_or_create(&OidcSignInLabels { provider: provider.to_owned(), outcome: outcome.label() });
        }
    }

    pub fn oidc_sign_in(&self, provider: &str, outcome: OidcOutcome) {
        self.oidc_sign_ins
            .get_or_create(&OidcSignInLabels { provider: provider.to_owned(), outcome: outcome.label() })
            .inc();
    }

    pub fn auth_database_lookup(&self, lookup: AuthLookup) {
        self.auth_lookups.get_or_create(&CredentialLabels { credential: lookup.label() }).inc();
    }

    /// An API token cache lookup: `"hit"` or `"miss"`.
    pub fn auth_cache(&self, result: &'static str) {
        self.auth_token_cache.get_or_create(&CacheLabels { result }).inc();
    }

    /// Reads the figures that are only known on demand.
    fn refresh(&self, db: &DatabaseConnection) {
        let (size, idle) = match db.get_database_backend() {
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let idle = idle as i64;
        self.pool_connections.get_or_create(&PoolLabels { state: "idle" }).set(idle);
        self.pool_connections.get_or_create(&PoolLabels { state: "in_use" }).set(i64::from(size) - idle);
        if let Some(process) = ProcessStats::read() {
            let recorded = self.process_cpu_seconds.get();
            if process.cpu_seconds > recorded {
                self.process_cpu_seconds.inc_by(process.cpu_seconds - recorded);
            }
            self.process_resident_memory.set(process.resident_bytes);
            self.process_open_fds.set(process.open_fds);
        }
    }

    /// The text exposition format.
    pub fn render(&self, db: &DatabaseConnection) -> String {
        self.refresh(db);
        self.render_registry()
    }

    /// The registry as it stands, without refreshing on-demand figures.
    fn render_registry(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// What /proc says about this process.
struct ProcessStats {
    cpu_seconds: f64,
    resident_bytes: i64,
    open_fds: i64,
}

impl ProcessStats {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks_per_second = 100.0; // USER_HZ, fixed on Linux
        let cpu_seconds =
            (fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / ticks_per_second;
        let page_size = 4096;
        let resident_bytes = fields.get(21)?.parse::<i64>().ok()? * page_size;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as i64;
        Some(Self { cpu_seconds, resident_bytes, open_fds })
    }
}

#[derive(Clone)]
struct MetricsState {
    metrics: Arc<Metrics>,
    db: DatabaseConnection,
}

async fn render(State(state): State<MetricsState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render(&state.db))
}

/// The admin router: `/metrics`.
pub fn router(metrics: Arc<Metrics>, db: DatabaseConnection) -> Router {
    Router::new().route("/metrics", get(render)).with_state(MetricsState { metrics, db })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_counters_exist_at_zero_from_start() {
        let metrics = Metrics::new(5);
        let text = metrics.render_registry();
        for result in ["success", "failure", "rate_limited"] {
            assert!(text.contains(&format!("tasktracker_sign_ins_total{{result=\"{result}\"}} 0")), "{result}: {text}");
        }
        for credential in ["session", "api_token"] {
            let series = format!("tasktracker_auth_database_lookups_total{{credential=\"{credential}\"}} 0");
            assert!(text.contains(&series), "missing {series}");
        }
        for (service, method) in
            [("tasktracker.v1.TaskService", "GetTask"), ("tasktracker.v1.AccountService", "SignIn")]
        {
            for code in ["OK", "Internal"] {
                let series = format!(
                    "grpc_server_requests_total{{grpc_service=\"{service}\",grpc_method=\"{method}\",grpc_code=\"{code}\"}} 0"
                );
                assert!(text.contains(&series), "missing {series}");
            }
        }
    }

    #[test]
    fn process_stats_are_read_from_proc() {
        let stats = ProcessStats::read().expect("Linux /proc");
        assert!(stats.resident_bytes > 0);
        assert!(stats.open_fds > 0);
        assert!(stats.cpu_seconds >= 0.0);
    }
}
