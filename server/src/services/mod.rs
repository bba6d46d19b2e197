//! One tonic service per proto service; handlers validate, authorize once,
//! call storage and convert back.

pub mod accounts;
pub mod attachments;
pub mod fields;
pub mod imports;
pub mod notifications;
pub mod operations;
pub mod projects;
pub mod relations;
pub mod states;
pub mod tasks;
pub mod views;
pub mod webhooks;

use std::{net::IpAddr, sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{
    attachments::ObjectStore,
    auth::{
        Authorizer, oidc::IdentityProviders, password::PasswordHasher, rate_limit::SignInLimiter,
        revocations::Revocations, tokens::TokenSigner,
    },
    config::AttachmentSettings,
    email::{Mailer, unsubscribe::UnsubscribeSigner},
    live::ChangeFeed,
    metrics::Metrics,
    overload::DatabaseStatus,
    storage::{
        accounts::AccountStore, api_tokens::ApiTokenStore, attachments::AttachmentStore, comments::CommentStore,
        email::EmailStore, events::EventStore, exports::ExportStore, fields::FieldStore, identities::IdentityStore,
        imports::ImportStore, invitations::InvitationStore, notifications::NotificationStore, projects::ProjectStore,
        relations::RelationStore, reminders::ReminderStore, states::StateStore, tasks::TaskStore,
        two_factor::TwoFactorStore, views::ViewStore, webhooks::WebhookStore,
    },
    webhooks::sender::Sender,
};

/// What every service shares.
pub struct Shared {
    /// For health and pool figures only; data goes through the repositories.
    pub db: DatabaseConnection,
    pub accounts: AccountStore,
    pub api_tokens: ApiTokenStore,
    pub projects: ProjectStore,
    pub invitations: InvitationStore,
    pub states: StateStore,
    pub fields: FieldStore,
    pub tasks: TaskStore,
    pub relations: RelationStore,
    pub comments: CommentStore,
    pub notifications: NotificationStore,
    pub reminders: ReminderStore,
    pub two_factor: TwoFactorStore,
    /// OpenID Connect sign-ins and linked identities.
    pub identities: IdentityStore,
    /// The configured OpenID Connect providers.
    pub identity_providers: Arc<IdentityProviders>,
    pub email: EmailStore,
    /// How email is sent; `None` when no SMTP server is configured.
    pub mailer: Option<Mailer>,
    /// Signs and checks the unsubscribe links in emails.
    pub unsubscribe: UnsubscribeSigner,
    pub views: ViewStore,
    pub events: EventStore,
    pub webhooks: WebhookStore,
    /// Sends webhook requests; its address policy also checks new URLs.
    pub webhook_sender: Sender,
    pub attachments: AttachmentStore,
    /// Where attachments' bytes are kept.
    pub object_store: Arc<dyn ObjectStore>,
    pub attachment_settings: AttachmentSettings,
    pub authorizer: Authorizer,
    pub hasher: PasswordHasher,
    pub signer: TokenSigner,
    pub sign_in_limiter: SignInLimiter,
    /// Revoked sessions and cached API tokens; revocations are announced here.
    pub revocations: Revocations,
    pub feed: ChangeFeed,
    pub metrics: Arc<Metrics>,
    /// What the health probe last saw of the database.
    pub database: DatabaseStatus,
    /// Idle time after which a watch stream sends a heartbeat.
    pub heartbeat_interval: Duration,
    /// Cancelled when the server starts shutting down; streams end on it.
    pub shutdown: CancellationToken,
    /// Import operations.
    pub imports: ImportStore,
    /// Reads whole projects for exports.
    pub exports: ExportStore,
    /// Largest file an import accepts, in bytes.
    pub import_max_bytes: usize,
    /// Held shared by every running import; shutdown takes it exclusively
    /// to wait for them to record how they ended before the pool closes.
    pub imports_running: Arc<tokio::sync::RwLock<()>>,
}

pub type SharedState = Arc<Shared>;

/// The client's IP address (behind trusted proxies, the one they saw), for
/// per-address limits.
fn peer_ip<T>(request: &tonic::Request<T>) -> Option<IpAddr> {
    let client = request.extensions().get::<crate::transport::client::ClientAddr>().map(|client| client.0);
    client.or_else(|| request.remote_addr().map(|address| address.ip()))
}
