//! A user's time zone, and invitation emails.
//!
//! - `users.time_zone`: the IANA zone (`Europe/Berlin`) the user's dates
//!   and times are shown in; NOT NULL with a default (empty: not chosen),
//!   so the previous release's inserts, which do not name it, still work.
//! - `invitation_emails`: the outbox of invitation emails, one row per
//!   invitation addressed to an email, written in the transaction that
//!   makes (or renews) the invitation and sent by the email sender like the
//!   notification outbox (`lease_until` is a sender's claim). The index on
//!   `(state, next_attempt_time)` is the sender's due query.
//!
//! Expand only: the previous release never reads the new table or column
//! (its invitations are simply not mailed), and rows go with their
//! invitation (`ON DELETE CASCADE`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261229_000001_profile_and_invitation_mail"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::TimeZone).string_len(64).not_null().default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InvitationEmails::Table)
                    .col(ColumnDef::new(InvitationEmails::InvitationId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(InvitationEmails::State).small_integer().not_null())
                    .col(ColumnDef::new(InvitationEmails::Attempts).integer().not_null())
                    .col(ColumnDef::new(InvitationEmails::NextAttemptTime).big_integer().not_null())
                    .col(ColumnDef::new(InvitationEmails::LeaseUntil).big_integer().null())
                    .col(ColumnDef::new(InvitationEmails::LastError).text().null())
                    .col(ColumnDef::new(InvitationEmails::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(InvitationEmails::FinishTime).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(InvitationEmails::Table, InvitationEmails::InvitationId)
                            .to(Invitations::Table, Invitations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invitation_emails_due")
                    .table(InvitationEmails::Table)
                    .col(InvitationEmails::State)
                    .col(InvitationEmails::NextAttemptTime)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(InvitationEmails::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::TimeZone).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    TimeZone,
}

#[derive(DeriveIden)]
enum InvitationEmails {
    Table,
    InvitationId,
    State,
    Attempts,
    NextAttemptTime,
    LeaseUntil,
    LastError,
    CreateTime,
    FinishTime,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
}
