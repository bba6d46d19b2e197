//! Identity: invitations, membership ends announced, and what a session
//! remembers of its device.
//!
//! - `invitations`: a project's invitations, addressed to an email (or a
//!   user id). Nothing refers to `users` for the invitee: inviting must not
//!   depend on whether an account exists. `pending_key` is the invitee
//!   (the email, or `users/{id}`) while the invitation is pending and
//!   `NULL` once it is answered, so the unique index on
//!   `(project_id, pending_key)` keeps one pending invitation per invitee
//!   (`NULL`s are distinct on both databases) and the index on
//!   `pending_key` finds a user's invitations.
//! - On PostgreSQL, a trigger on `memberships` that sends
//!   `NOTIFY tasktracker_memberships, '{project}:{user}'` when a
//!   membership row is deleted, whoever deletes it (this release, the
//!   previous one during a rolling deploy, an operator), so that every
//!   replica ends that user's watch streams on that project.
//! - `sessions.user_agent`, `client_ip` and `last_seen_time`: nullable,
//!   for the sessions list; sessions opened by the previous release have
//!   none.
//!
//! Expand only: the previous release never reads the new table or
//! columns, and the trigger only notifies.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

/// The PostgreSQL channel the membership trigger notifies.
pub const MEMBERSHIP_CHANNEL: &str = "tasktracker_memberships";

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261217_000001_invitations"
    }
}

const TRIGGER: &str = "memberships_ended";

fn create_function() -> String {
    format!(
        "CREATE OR REPLACE FUNCTION tasktracker_announce_membership_end() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           PERFORM pg_notify('{MEMBERSHIP_CHANNEL}', OLD.project_id || ':' || OLD.user_id);
           RETURN NULL;
         END $$"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(ColumnDef::new(Invitations::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Invitations::ProjectId).string_len(36).not_null())
                    // Empty when invited by user id.
                    .col(ColumnDef::new(Invitations::Email).string_len(320).not_null())
                    // Not a foreign key: the user may not exist.
                    .col(ColumnDef::new(Invitations::InviteeId).string_len(36).null())
                    .col(ColumnDef::new(Invitations::Role).small_integer().not_null())
                    .col(ColumnDef::new(Invitations::InviterId).string_len(36).not_null())
                    .col(ColumnDef::new(Invitations::State).small_integer().not_null())
                    .col(ColumnDef::new(Invitations::PendingKey).string_len(330).null())
                    .col(ColumnDef::new(Invitations::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(Invitations::ExpireTime).big_integer().not_null())
                    .col(ColumnDef::new(Invitations::ResolveTime).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::InviterId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invitations_pending")
                    .table(Invitations::Table)
                    .col(Invitations::ProjectId)
                    .col(Invitations::PendingKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invitations_by_invitee")
                    .table(Invitations::Table)
                    .col(Invitations::PendingKey)
                    .col(Invitations::Id)
                    .to_owned(),
            )
            .await?;
        for column in [
            ColumnDef::new(Sessions::UserAgent).string_len(512).null().to_owned(),
            ColumnDef::new(Sessions::ClientIp).string_len(64).null().to_owned(),
            ColumnDef::new(Sessions::LastSeenTime).big_integer().null().to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Sessions::Table).add_column(column).to_owned()).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(&create_function()).await?;
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {TRIGGER} ON memberships")).await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {TRIGGER} AFTER DELETE ON memberships
                 FOR EACH ROW EXECUTE FUNCTION tasktracker_announce_membership_end()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {TRIGGER} ON memberships")).await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS tasktracker_announce_membership_end()").await?;
        }
        for column in [Sessions::UserAgent, Sessions::ClientIp, Sessions::LastSeenTime] {
            manager.alter_table(Table::alter().table(Sessions::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(Invitations::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    ProjectId,
    Email,
    InviteeId,
    Role,
    InviterId,
    State,
    PendingKey,
    CreateTime,
    ExpireTime,
    ResolveTime,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    UserAgent,
    ClientIp,
    LastSeenTime,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
