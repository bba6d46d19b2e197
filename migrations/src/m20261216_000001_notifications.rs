//! Notifications: who follows a task, and each user's inbox.
//!
//! - `task_subscriptions`: one row per (task, user) that follows the task or
//!   has stopped following it by hand (`subscribed = false`, so an automatic
//!   subscription does not bring them back).
//! - `inboxes`: each user's last notification number. Taking the next one
//!   locks the user's row until commit, so a user's notifications commit in
//!   number order and a stream resuming after number n misses none.
//! - `notifications`: one row per user and number, with the task's title
//!   and a short summary as they were when it was made.
//!
//! New tables only, so the previous release keeps working: it never reads
//! them (its writes make no notifications). Rows go with their task,
//! project and user (`ON DELETE CASCADE`, for a purge by either release).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261216_000001_notifications"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TaskSubscriptions::Table)
                    .col(ColumnDef::new(TaskSubscriptions::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskSubscriptions::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskSubscriptions::Subscribed).boolean().not_null())
                    .col(ColumnDef::new(TaskSubscriptions::Reason).small_integer().not_null())
                    .col(ColumnDef::new(TaskSubscriptions::UpdateTime).big_integer().not_null())
                    .primary_key(Index::create().col(TaskSubscriptions::TaskId).col(TaskSubscriptions::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskSubscriptions::Table, TaskSubscriptions::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskSubscriptions::Table, TaskSubscriptions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Inboxes::Table)
                    .col(ColumnDef::new(Inboxes::UserId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Inboxes::LastSeq).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Inboxes::Table, Inboxes::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(ColumnDef::new(Notifications::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(Notifications::Seq).big_integer().not_null())
                    .col(ColumnDef::new(Notifications::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(Notifications::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(Notifications::Kind).small_integer().not_null())
                    .col(ColumnDef::new(Notifications::ActorId).string_len(36).not_null())
                    .col(ColumnDef::new(Notifications::Title).text().not_null())
                    .col(ColumnDef::new(Notifications::Summary).text().not_null())
                    .col(ColumnDef::new(Notifications::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(Notifications::ReadTime).big_integer().null())
                    .col(ColumnDef::new(Notifications::SnoozeTime).big_integer().null())
                    .primary_key(Index::create().col(Notifications::UserId).col(Notifications::Seq))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A purge of a task deletes its notifications through this index.
        manager
            .create_index(
                Index::create()
                    .name("notifications_by_task")
                    .table(Notifications::Table)
                    .col(Notifications::TaskId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Notifications::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Inboxes::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TaskSubscriptions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TaskSubscriptions {
    Table,
    TaskId,
    UserId,
    Subscribed,
    Reason,
    UpdateTime,
}

#[derive(DeriveIden)]
enum Inboxes {
    Table,
    UserId,
    LastSeq,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    UserId,
    Seq,
    ProjectId,
    TaskId,
    Kind,
    ActorId,
    Title,
    Summary,
    CreateTime,
    ReadTime,
    SnoozeTime,
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

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}
