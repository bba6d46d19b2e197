//! Configuration: environment variables with matching flags (twelve-factor).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

/// Tasktracker's server: gRPC and gRPC-web on one port, metrics on another.
#[derive(Debug, Parser)]
#[command(name = "tasktracker-server", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Ask a running server's gRPC health service; exit 0 if it is SERVING.
    Healthcheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log aggregation.
    Json,
}

fn secret(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value.to_owned()))
}

/// Every setting, each from a flag or its environment variable.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `postgres://user@host:5432/db` or `sqlite://path?mode=rwc`.
    /// Without it the server uses an embedded SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", value_parser = secret, hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Local data directory: the embedded database and the generated token
    /// secret when no DATABASE_URL / TASKTRACKER_TOKEN_SECRET is given.
    #[arg(long, env = "TASKTRACKER_DATA_DIR", default_value = "tasktracker-data")]
    pub data_dir: PathBuf,

    /// Address for native gRPC (HTTP/2), gRPC-web (HTTP/1.1) and the web app.
    #[arg(long, env = "TASKTRACKER_LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// Admin address serving `/metrics`; never route it publicly.
    #[arg(long, env = "TASKTRACKER_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: SocketAddr,

    /// Directory of a built web bundle to serve on the main port.
    #[arg(long, env = "TASKTRACKER_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Browser origins allowed to call gRPC-web, comma-separated
    /// (e.g. `https://app.example.com`). Same-origin calls need none.
    #[arg(long, env = "TASKTRACKER_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Proxies whose `X-Forwarded-For` is believed, as CIDRs, comma-separated
    /// (in AWS, the VPC's: the load balancer's nodes). The client address
    /// (logs, per-address sign-in limits) is then the last address in that
    /// header not in these ranges. Empty: the TCP peer, and the header is
    /// ignored (anyone could write it).
    #[arg(long, env = "TASKTRACKER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Secret (at least 32 bytes) signing access tokens. Required with
    /// DATABASE_URL; generated into the data directory otherwise.
    #[arg(long, env = "TASKTRACKER_TOKEN_SECRET", value_parser = secret, hide_env_values = true)]
    pub token_secret: Option<SecretString>,

    /// Apply migrations at start-up (production runs `migrate` as a one-off
    /// task instead and sets this to false).
    #[arg(long, env = "TASKTRACKER_AUTO_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_migrate: bool,

    /// Database connection pool size (PostgreSQL).
    #[arg(long, env = "TASKTRACKER_DB_MAX_CONNECTIONS", default_value_t = 20)]
    pub db_max_connections: u32,

    /// Calls handled at once; beyond it, calls are refused with UNAVAILABLE
    /// at once instead of queueing. A small multiple of the pool size: more
    /// would only queue inside the server for a connection (the overload
    /// benchmark's accepted-call p99 rose past 500 ms at 256).
    #[arg(long, env = "TASKTRACKER_MAX_CONCURRENT_CALLS", default_value_t = 64)]
    pub max_concurrent_calls: usize,

    /// Deadline for a call when the client sets none (`grpc-timeout` wins if shorter).
    #[arg(long, env = "TASKTRACKER_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,

    /// Idle time after which watch streams send a heartbeat (load balancers
    /// close streams idle for 60 s).
    #[arg(long, env = "TASKTRACKER_WATCH_HEARTBEAT", default_value = "15s", value_parser = humantime::parse_duration)]
    pub watch_heartbeat: Duration,

    /// Longest wait for in-flight calls on shutdown.
    #[arg(long, env = "TASKTRACKER_SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,

    /// How long the change feed keeps events for resuming watchers.
    #[arg(long, env = "TASKTRACKER_EVENT_RETENTION", default_value = "7days", value_parser = humantime::parse_duration)]
    pub event_retention: Duration,

    /// Largest file ImportTasks accepts, in bytes (its request may be this
    /// much larger than other calls' 1 MiB).
    #[arg(long, env = "TASKTRACKER_IMPORT_MAX_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub import_max_bytes: usize,

    /// How often the due-date reminder scheduler looks for reminders to send.
    #[arg(long, env = "TASKTRACKER_REMINDER_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub reminder_interval: Duration,

    /// Webhook delivery: allowed networks, timeouts and retries.
    #[command(flatten)]
    pub webhooks: WebhookSettings,

    /// Attachments: limits and presigned URL lifetimes.
    #[command(flatten)]
    pub attachments: AttachmentSettings,
    /// SMTP server for email notifications: `smtp://host:25` (plain),
    /// `smtp://host:587?tls=required` (STARTTLS) or `smtps://user:password@host`
    /// (TLS). Unset, no email is sent and everything else works.
    #[arg(long, env = "TASKTRACKER_SMTP_URL", value_parser = secret, hide_env_values = true)]
    pub smtp_url: Option<SecretString>,

    /// Sender of notification emails, e.g. `Tasktracker <tasks@example.com>`.
    /// Required with TASKTRACKER_SMTP_URL.
    #[arg(long, env = "TASKTRACKER_EMAIL_FROM")]
    pub email_from: Option<String>,

    /// The web app's address as users reach it (e.g. `https://app.example.com`),
    /// for links in emails. Required with TASKTRACKER_SMTP_URL.
    #[arg(long, env = "TASKTRACKER_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How long a digest gathers notifications: a digest email goes out this
    /// long after the first notification it holds.
    #[arg(long, env = "TASKTRACKER_EMAIL_DIGEST_PERIOD", default_value = "24h", value_parser = humantime::parse_duration)]
    pub email_digest_period: Duration,

    /// How often the email sender looks for mail to send.
    #[arg(long, env = "TASKTRACKER_EMAIL_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub email_interval: Duration,

    /// Wait before the first retry of a failed send; it doubles with each
    /// attempt (at most 6 hours), and a mail is given up after 10 attempts.
    #[arg(long, env = "TASKTRACKER_EMAIL_RETRY_DELAY", default_value = "1m", value_parser = humantime::parse_duration)]
    pub email_retry_delay: Duration,

    /// OpenID Connect providers offered for sign-in, comma-separated ids
    /// (`acme,corp`). Each is configured by `TASKTRACKER_OIDC_<ID>_ISSUER`,
    /// `_CLIENT_ID`, `_CLIENT_SECRET` and optionally `_DISPLAY_NAME`,
    /// `_ALLOWED_DOMAINS` and `_ROLE_MAPPING` (see the README). Needs
    /// TASKTRACKER_PUBLIC_URL.
    #[arg(long, env = "TASKTRACKER_OIDC_PROVIDERS", value_delimiter = ',')]
    pub oidc_providers: Vec<String>,

    /// The providers' settings, read from their `TASKTRACKER_OIDC_<ID>_*`
    /// variables by [`Settings::read_oidc_providers`] (tests set them here).
    #[arg(skip)]
    pub oidc: Vec<crate::auth::oidc::settings::ProviderSettings>,

    /// OTLP/gRPC endpoint to export traces to (e.g. `http://localhost:4317`);
    /// unset, no traces are recorded.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Share of traces sampled when the caller sends no sampling decision.
    #[arg(long, env = "OTEL_TRACES_SAMPLER_ARG", default_value_t = 1.0)]
    pub trace_sample_ratio: f64,

    /// Log format.
    #[arg(long, env = "TASKTRACKER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
}

/// How webhooks are delivered.
#[derive(Debug, Clone, Args)]
pub struct WebhookSettings {
    /// Networks webhooks may reach although they are loopback, private,
    /// link-local, unique-local, CGNAT or cloud metadata addresses, as CIDRs,
    /// comma-separated (e.g. `10.20.0.0/16` for an internal receiver).
    /// Empty: only public addresses.
    #[arg(long = "webhook-allowed-networks", env = "TASKTRACKER_WEBHOOK_ALLOWED_NETWORKS", value_delimiter = ',')]
    pub allowed_networks: Vec<ipnet::IpNet>,

    /// How often the webhook dispatcher looks for due retries; a committed
    /// change wakes it at once.
    #[arg(long = "webhook-poll-interval", env = "TASKTRACKER_WEBHOOK_POLL_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,

    /// Longest a delivery attempt may take, connecting included.
    #[arg(long = "webhook-timeout", env = "TASKTRACKER_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Wait before the first retry of a failed delivery; each further retry
    /// waits twice as long (with jitter), up to `webhook-retry-max`.
    #[arg(long = "webhook-retry-base", env = "TASKTRACKER_WEBHOOK_RETRY_BASE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub retry_base: Duration,

    /// Longest wait between two attempts of a delivery.
    #[arg(long = "webhook-retry-max", env = "TASKTRACKER_WEBHOOK_RETRY_MAX", default_value = "1h", value_parser = humantime::parse_duration)]
    pub retry_max: Duration,

    /// How long a delivery is retried before its webhook is paused (and its
    /// owners notified); at least a day in production.
    #[arg(long = "webhook-retry-window", env = "TASKTRACKER_WEBHOOK_RETRY_WINDOW", default_value = "25h", value_parser = humantime::parse_duration)]
    pub retry_window: Duration,
}

/// Files attached to tasks.
#[derive(Debug, Clone, Args)]
pub struct AttachmentSettings {
    /// Largest file that may be attached, in bytes.
    #[arg(long = "attachment-max-bytes", env = "TASKTRACKER_ATTACHMENT_MAX_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_bytes: u64,

    /// Most bytes of attachments one project may hold (uploads waiting for
    /// confirmation included; deleted ones not).
    #[arg(long = "attachment-project-max-bytes", env = "TASKTRACKER_ATTACHMENT_PROJECT_MAX_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub project_max_bytes: u64,

    /// How long an upload URL works. An upload not confirmed within twice
    /// this is discarded.
    #[arg(long = "attachment-upload-expiry", env = "TASKTRACKER_ATTACHMENT_UPLOAD_EXPIRY", default_value = "15m", value_parser = humantime::parse_duration)]
    pub upload_expiry: Duration,

    /// How long a download URL works.
    #[arg(long = "attachment-download-expiry", env = "TASKTRACKER_ATTACHMENT_DOWNLOAD_EXPIRY", default_value = "5m", value_parser = humantime::parse_duration)]
    pub download_expiry: Duration,

    /// S3 bucket keeping attachments. Unset, files are kept under the data
    /// directory and served by this server (one replica only).
    #[arg(long = "attachment-s3-bucket", env = "TASKTRACKER_ATTACHMENT_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// The bucket's region (default: `AWS_REGION` / `AWS_DEFAULT_REGION`).
    #[arg(long = "attachment-s3-region", env = "TASKTRACKER_ATTACHMENT_S3_REGION")]
    pub s3_region: Option<String>,

    /// An S3-compatible endpoint instead of AWS's (path-style requests), e.g.
    /// `http://127.0.0.1:9000`.
    #[arg(long = "attachment-s3-endpoint", env = "TASKTRACKER_ATTACHMENT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Access key for an S3-compatible store; on AWS leave it unset: the
    /// task role's credentials are used.
    #[arg(long = "attachment-s3-access-key-id", env = "TASKTRACKER_ATTACHMENT_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    /// Secret of `TASKTRACKER_ATTACHMENT_S3_ACCESS_KEY_ID`.
    #[arg(long = "attachment-s3-secret-access-key", env = "TASKTRACKER_ATTACHMENT_S3_SECRET_ACCESS_KEY", value_parser = secret, hide_env_values = true)]
    pub s3_secret_access_key: Option<SecretString>,
}

impl AttachmentSettings {
    /// Refuses limits that contradict each other; the error names the
    /// variable at fault.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.max_bytes == 0 || self.max_bytes > self.project_max_bytes {
            anyhow::bail!(
                "TASKTRACKER_ATTACHMENT_MAX_BYTES must be at least 1 and at most TASKTRACKER_ATTACHMENT_PROJECT_MAX_BYTES ({})",
                self.project_max_bytes
            );
        }
        if i64::try_from(self.project_max_bytes).is_err() {
            anyhow::bail!("TASKTRACKER_ATTACHMENT_PROJECT_MAX_BYTES must be below 2^63");
        }
        if self.s3_access_key_id.is_some() != self.s3_secret_access_key.is_some() {
            anyhow::bail!(
                "TASKTRACKER_ATTACHMENT_S3_ACCESS_KEY_ID and TASKTRACKER_ATTACHMENT_S3_SECRET_ACCESS_KEY go together"
            );
        }
        if self.s3_bucket.is_none() && (self.s3_endpoint.is_some() || self.s3_access_key_id.is_some()) {
            anyhow::bail!(
                "TASKTRACKER_ATTACHMENT_S3_BUCKET is required with the other TASKTRACKER_ATTACHMENT_S3_ settings"
            );
        }
        for (variable, expiry) in [
            ("TASKTRACKER_ATTACHMENT_UPLOAD_EXPIRY", self.upload_expiry),
            ("TASKTRACKER_ATTACHMENT_DOWNLOAD_EXPIRY", self.download_expiry),
        ] {
            // A presigned S3 URL lives at most 7 days.
            if expiry.is_zero() || expiry > Duration::from_secs(7 * 86_400) {
                anyhow::bail!("{variable} must be more than 0 and at most 7 days");
            }
        }
        Ok(())
    }
}

impl Settings {
    /// Reads the settings of every provider in `oidc_providers` from the
    /// environment; an error names the variable at fault.
    pub fn read_oidc_providers(&mut self) -> anyhow::Result<()> {
        self.oidc = crate::auth::oidc::settings::from_env(&self.oidc_providers, |name| std::env::var(name).ok())?;
        Ok(())
    }

    /// Where and how much to trace.
    pub fn trace_export(&self) -> crate::telemetry::TraceExport {
        crate::telemetry::TraceExport {
            endpoint: self.otlp_endpoint.clone().filter(|endpoint| !endpoint.is_empty()),
            sample_ratio: self.trace_sample_ratio.clamp(0.0, 1.0),
        }
    }
}
