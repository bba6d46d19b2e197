//! Revocation notices: every server replica keeps the recently revoked
//! sessions in memory and caches API tokens briefly, so that authenticating
//! a call reads nothing from the database. This migration gives them:
//!
//! - on PostgreSQL, a trigger on `sessions` and on `api_tokens` that sends
//!   `NOTIFY tasktracker_revocations, 'session:{id}'` (or `token:{id}`)
//!   when a row's `revoke_time` is first set. The notice commits with the
//!   revocation, whoever writes it: this release, the previous one during
//!   a rolling deploy, or an operator's `UPDATE`;
//! - an index on `sessions.revoke_time`, for the recently revoked sessions
//!   a replica reads when it starts or its listener reconnects.
//!
//! Expand only: the previous release neither needs nor notices either.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

/// The PostgreSQL channel the triggers notify.
pub const REVOCATION_CHANNEL: &str = "tasktracker_revocations";

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000001_revocation_notices"
    }
}

const INDEX: &str = "sessions_revoke_time";

/// The trigger function; its one argument names the kind (`session`, `token`).
fn create_function() -> String {
    format!(
        "CREATE OR REPLACE FUNCTION tasktracker_announce_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.revoke_time IS NOT NULL AND OLD.revoke_time IS NULL THEN
             PERFORM pg_notify('{REVOCATION_CHANNEL}', TG_ARGV[0] || ':' || NEW.id);
           END IF;
           RETURN NULL;
         END $$"
    )
}

const TRIGGERS: [(&str, &str, &str); 2] =
    [("sessions_revoked", "sessions", "session"), ("api_tokens_revoked", "api_tokens", "token")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create().name(INDEX).table(Sessions::Table).col(Sessions::RevokeTime).if_not_exists().to_owned(),
            )
            .await?;
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&create_function()).await?;
        for (trigger, table, kind) in TRIGGERS {
            // Not CREATE OR REPLACE TRIGGER: that needs PostgreSQL 14.
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger} ON {table}")).await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {trigger} AFTER UPDATE OF revoke_time ON {table}
                 FOR EACH ROW EXECUTE FUNCTION tasktracker_announce_revocation('{kind}')"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for (trigger, table, _) in TRIGGERS {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {trigger} ON {table}")).await?;
            }
            db.execute_unprepared("DROP FUNCTION IF EXISTS tasktracker_announce_revocation()").await?;
        }
        manager.drop_index(Index::drop().name(INDEX).table(Sessions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    RevokeTime,
}
