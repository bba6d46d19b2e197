//! Email notifications: each user's delivery per notification kind, the
//! outbox the sender works through, and the due-date-reached notices sent.
//!
//! - `email_preferences`: one user's delivery for one kind (immediate, daily
//!   digest, off). No row means the kind's default.
//! - `email_outbox`: one row per notification to email, written in the
//!   transaction that makes the notification (so none is lost) and keyed
//!   like it, by user and number. The sender claims due rows by setting
//!   `lease_until` (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas
//!   take different rows), then records the outcome: sent, a retry at
//!   `next_attempt_time`, failed for good, or dropped (email off for the
//!   kind). `(state, next_attempt_time)` indexes the claim.
//! - `due_notices_sent`: like `reminders_sent`, one row per task, user and
//!   due time whose "due date reached" notification went out; its primary
//!   key makes that happen once.
//!
//! New tables only: the previous release never reads them. Rows go with
//! their user and task (`ON DELETE CASCADE`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261221_000001_email"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailPreferences::Table)
                    .col(ColumnDef::new(EmailPreferences::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(EmailPreferences::Kind).small_integer().not_null())
                    .col(ColumnDef::new(EmailPreferences::Delivery).small_integer().not_null())
                    .col(ColumnDef::new(EmailPreferences::UpdateTime).big_integer().not_null())
                    .primary_key(Index::create().col(EmailPreferences::UserId).col(EmailPreferences::Kind))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailPreferences::Table, EmailPreferences::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(ColumnDef::new(EmailOutbox::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(EmailOutbox::Seq).big_integer().not_null())
                    .col(ColumnDef::new(EmailOutbox::Kind).small_integer().not_null())
                    .col(ColumnDef::new(EmailOutbox::State).small_integer().not_null())
                    .col(ColumnDef::new(EmailOutbox::Attempts).integer().not_null())
                    .col(ColumnDef::new(EmailOutbox::NextAttemptTime).big_integer().not_null())
                    .col(ColumnDef::new(EmailOutbox::LeaseUntil).big_integer().null())
                    .col(ColumnDef::new(EmailOutbox::LastError).text().null())
                    .col(ColumnDef::new(EmailOutbox::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(EmailOutbox::FinishTime).big_integer().null())
                    .primary_key(Index::create().col(EmailOutbox::UserId).col(EmailOutbox::Seq))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailOutbox::Table, EmailOutbox::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("email_outbox_due")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::State)
                    .col(EmailOutbox::NextAttemptTime)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DueNoticesSent::Table)
                    .col(ColumnDef::new(DueNoticesSent::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(DueNoticesSent::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(DueNoticesSent::DueTime).big_integer().not_null())
                    .col(ColumnDef::new(DueNoticesSent::SendTime).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(DueNoticesSent::TaskId)
                            .col(DueNoticesSent::UserId)
                            .col(DueNoticesSent::DueTime),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DueNoticesSent::Table, DueNoticesSent::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DueNoticesSent::Table, DueNoticesSent::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DueNoticesSent::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("email_outbox_due").table(EmailOutbox::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(EmailOutbox::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(EmailPreferences::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum EmailPreferences {
    Table,
    UserId,
    Kind,
    Delivery,
    UpdateTime,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    UserId,
    Seq,
    Kind,
    State,
    Attempts,
    NextAttemptTime,
    LeaseUntil,
    LastError,
    CreateTime,
    FinishTime,
}

#[derive(DeriveIden)]
enum DueNoticesSent {
    Table,
    TaskId,
    UserId,
    DueTime,
    SendTime,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
