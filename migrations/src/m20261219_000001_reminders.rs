//! Due-date reminders: each user's default lead time, per-task overrides,
//! and the reminders sent.
//!
//! - `notification_settings`: a user's default ("remind me this long before
//!   a task I am assigned is due", or off). No row means the default.
//! - `task_reminders`: one user's override for one task.
//! - `reminders_sent`: one row per task, user and due time reminded of. Its
//!   primary key is what makes a reminder go out once: the scheduler inserts
//!   the row and the notification in one transaction, so two replicas (or a
//!   restart mid-pass) cannot send it twice, and a new due date is a new
//!   reminder.
//!
//! An index on `tasks.due_time` alone (the list index leads with the
//! project) lets the scheduler read only the tasks due
//! within its window. New tables and an index only, so the previous release
//! keeps working. Rows go with their task and user (`ON DELETE CASCADE`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261219_000001_reminders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotificationSettings::Table)
                    .col(ColumnDef::new(NotificationSettings::UserId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(NotificationSettings::ReminderLeadSeconds).big_integer().not_null())
                    .col(ColumnDef::new(NotificationSettings::RemindersOff).boolean().not_null())
                    .col(ColumnDef::new(NotificationSettings::UpdateTime).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(NotificationSettings::Table, NotificationSettings::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TaskReminders::Table)
                    .col(ColumnDef::new(TaskReminders::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskReminders::UserId).string_len(36).not_null())
                    // NULL: the user's default lead.
                    .col(ColumnDef::new(TaskReminders::LeadSeconds).big_integer().null())
                    .col(ColumnDef::new(TaskReminders::Off).boolean().not_null())
                    .col(ColumnDef::new(TaskReminders::UpdateTime).big_integer().not_null())
                    .primary_key(Index::create().col(TaskReminders::TaskId).col(TaskReminders::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskReminders::Table, TaskReminders::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskReminders::Table, TaskReminders::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RemindersSent::Table)
                    .col(ColumnDef::new(RemindersSent::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(RemindersSent::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(RemindersSent::DueTime).big_integer().not_null())
                    .col(ColumnDef::new(RemindersSent::SendTime).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(RemindersSent::TaskId)
                            .col(RemindersSent::UserId)
                            .col(RemindersSent::DueTime),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RemindersSent::Table, RemindersSent::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RemindersSent::Table, RemindersSent::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("tasks_due_for_reminders").table(Tasks::Table).col(Tasks::DueTime).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("tasks_due_for_reminders").table(Tasks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RemindersSent::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TaskReminders::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(NotificationSettings::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum NotificationSettings {
    Table,
    UserId,
    ReminderLeadSeconds,
    RemindersOff,
    UpdateTime,
}

#[derive(DeriveIden)]
enum TaskReminders {
    Table,
    TaskId,
    UserId,
    LeadSeconds,
    Off,
    UpdateTime,
}

#[derive(DeriveIden)]
enum RemindersSent {
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
    DueTime,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
