//! Webhooks: per-project subscriptions to the change feed, and their
//! delivery outbox.
//!
//! - `webhooks`: the URL, the event kinds, the signing secret, whether it is
//!   paused, and how far it has followed its project's feed (`feed_cursor`,
//!   the last event seq turned into deliveries) and numbered its deliveries
//!   (`delivery_seq`).
//! - `webhook_deliveries`: one row per event (or redelivery, or replay) to
//!   send, with its JSON body, numbered per webhook: a webhook sends its
//!   lowest pending number first, so receivers see feed order. A sender
//!   claims a row by setting `lease_until` (past it, another replica may try
//!   again), records the attempt and clears the lease.
//! - `webhook_attempts`: every attempt of a delivery, for the log.
//!
//! New tables only, so the previous release keeps working (it neither
//! sends nor reads them). Rows go with their project and webhook
//! (`ON DELETE CASCADE`); a delivery keeps its task's id without a foreign
//! key, so purging a task does not rewrite the log.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261220_000001_webhooks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(ColumnDef::new(Webhooks::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Webhooks::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(Webhooks::Url).text().not_null())
                    // JSON array of event kinds; empty means every kind.
                    .col(ColumnDef::new(Webhooks::EventKinds).text().not_null())
                    .col(ColumnDef::new(Webhooks::Secret).text().not_null())
                    .col(ColumnDef::new(Webhooks::Paused).boolean().not_null())
                    .col(ColumnDef::new(Webhooks::PauseReason).text().not_null())
                    .col(ColumnDef::new(Webhooks::CreatorId).string_len(36).not_null())
                    .col(ColumnDef::new(Webhooks::FeedCursor).big_integer().not_null())
                    .col(ColumnDef::new(Webhooks::DeliverySeq).big_integer().not_null())
                    .col(ColumnDef::new(Webhooks::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(Webhooks::UpdateTime).big_integer().not_null())
                    .col(ColumnDef::new(Webhooks::Version).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Webhooks::Table, Webhooks::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhooks_by_project")
                    .table(Webhooks::Table)
                    .col(Webhooks::ProjectId)
                    .col(Webhooks::CreateTime)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(ColumnDef::new(WebhookDeliveries::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(WebhookDeliveries::WebhookId).string_len(36).not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Number).big_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::EventSeq).big_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Kind).small_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Body).text().not_null())
                    // 1 pending, 2 delivered (`WebhookDeliveryOutcome`).
                    .col(ColumnDef::new(WebhookDeliveries::Outcome).small_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Attempts).integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::StatusCode).integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Error).text().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::LatencyMs).big_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::AttemptTime).big_integer().null())
                    .col(ColumnDef::new(WebhookDeliveries::NextAttemptTime).big_integer().not_null())
                    // When the current run of failures began; NULL after a success.
                    .col(ColumnDef::new(WebhookDeliveries::FirstFailureTime).big_integer().null())
                    .col(ColumnDef::new(WebhookDeliveries::LeaseUntil).big_integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::LeaseToken).string_len(36).null())
                    .col(ColumnDef::new(WebhookDeliveries::RedeliveryOf).string_len(36).null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A webhook's queue in order (the head of the queue, the log pages).
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_by_number")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The dispatcher's scan for due deliveries.
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Outcome)
                    .col(WebhookDeliveries::NextAttemptTime)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(ColumnDef::new(WebhookAttempts::DeliveryId).string_len(36).not_null())
                    .col(ColumnDef::new(WebhookAttempts::Attempt).integer().not_null())
                    .col(ColumnDef::new(WebhookAttempts::Time).big_integer().not_null())
                    .col(ColumnDef::new(WebhookAttempts::StatusCode).integer().not_null())
                    .col(ColumnDef::new(WebhookAttempts::Error).text().not_null())
                    .col(ColumnDef::new(WebhookAttempts::LatencyMs).big_integer().not_null())
                    .primary_key(Index::create().col(WebhookAttempts::DeliveryId).col(WebhookAttempts::Attempt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookAttempts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Webhooks::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    ProjectId,
    Url,
    EventKinds,
    Secret,
    Paused,
    PauseReason,
    CreatorId,
    FeedCursor,
    DeliverySeq,
    CreateTime,
    UpdateTime,
    Version,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    Number,
    EventSeq,
    TaskId,
    Kind,
    Body,
    Outcome,
    Attempts,
    StatusCode,
    Error,
    LatencyMs,
    CreateTime,
    AttemptTime,
    NextAttemptTime,
    FirstFailureTime,
    LeaseUntil,
    LeaseToken,
    RedeliveryOf,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    DeliveryId,
    Attempt,
    Time,
    StatusCode,
    Error,
    LatencyMs,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}
