//! Tasktracker's schema migrations.
//!
//! Migrations follow expand/contract: a migration only adds (tables, nullable
//! columns, indexes) so the previous release keeps working while a new one
//! rolls out; removals come in a later release, once nothing reads them.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial;
mod m20261202_000001_revocation_notices;
mod m20261207_000001_workflow_states;
mod m20261208_000001_state_sync;
mod m20261209_000001_subtasks;
mod m20261210_000001_task_relations;
mod m20261211_000001_custom_fields;
mod m20261212_000001_comment_edits;
mod m20261213_000001_saved_views;
mod m20261214_000001_retired_refresh_tokens;
mod m20261215_000001_request_fingerprints;
mod m20261216_000001_notifications;
mod m20261217_000001_invitations;
mod m20261218_000001_search;
mod m20261219_000001_reminders;
mod m20261220_000001_webhooks;
mod m20261221_000001_email;
mod m20261222_000001_totp;
mod m20261223_000001_oidc;
mod m20261226_000001_recurrence;
mod m20261229_000001_profile_and_invitation_mail;
mod m20261230_000001_attachments;
mod m20261230_000002_search_words;
mod m20261231_000001_imports;

pub use m20261202_000001_revocation_notices::REVOCATION_CHANNEL;
pub use m20261207_000001_workflow_states::{DEFAULT_STATES, STATE_POSITION_GAP, default_state_id};
pub use m20261217_000001_invitations::MEMBERSHIP_CHANNEL;

/// Hash of this crate's sources (every migration): changes whenever a
/// migration does. The test kit names its migrated templates after it.
pub const SOURCE_HASH: &str = env!("MIGRATIONS_HASH");

/// Every migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial::Migration),
            Box::new(m20261202_000001_revocation_notices::Migration),
            Box::new(m20261207_000001_workflow_states::Migration),
            Box::new(m20261208_000001_state_sync::Migration),
            Box::new(m20261209_000001_subtasks::Migration),
            Box::new(m20261210_000001_task_relations::Migration),
            Box::new(m20261211_000001_custom_fields::Migration),
            Box::new(m20261212_000001_comment_edits::Migration),
            Box::new(m20261213_000001_saved_views::Migration),
            Box::new(m20261214_000001_retired_refresh_tokens::Migration),
            Box::new(m20261215_000001_request_fingerprints::Migration),
            Box::new(m20261216_000001_notifications::Migration),
            Box::new(m20261217_000001_invitations::Migration),
            Box::new(m20261218_000001_search::Migration),
            Box::new(m20261219_000001_reminders::Migration),
            Box::new(m20261220_000001_webhooks::Migration),
            Box::new(m20261221_000001_email::Migration),
            Box::new(m20261222_000001_totp::Migration),
            Box::new(m20261223_000001_oidc::Migration),
            Box::new(m20261226_000001_recurrence::Migration),
            Box::new(m20261229_000001_profile_and_invitation_mail::Migration),
            Box::new(m20261230_000001_attachments::Migration),
            Box::new(m20261230_000002_search_words::Migration),
            Box::new(m20261231_000001_imports::Migration),
        ]
    }
}
