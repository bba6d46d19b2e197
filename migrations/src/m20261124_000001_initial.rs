//! The first schema: accounts, projects, tasks, comments, history and the
//! change feed.
//!
//! Times are stored as microseconds since the Unix epoch (`BIGINT`): one
//! representation that orders and compares the same on PostgreSQL and SQLite.
//! Identifiers are UUIDv7 strings, so ordering by id is ordering by creation.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_initial"
    }
}

fn id(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(36).not_null().primary_key().to_owned()
}

fn reference(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(36).not_null().to_owned()
}

fn time(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

fn optional_time(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}

fn foreign_key(from: (impl IntoIden, impl IntoIden), to: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

fn index(name: &str, table: impl IntoIden, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(id(Users::Id))
                    .col(ColumnDef::new(Users::Email).string_len(320).not_null().unique_key())
                    .col(ColumnDef::new(Users::DisplayName).string_len(200).not_null())
                    .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                    .col(time(Users::CreateTime))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(id(Sessions::Id))
                    .col(reference(Sessions::UserId))
                    .col(ColumnDef::new(Sessions::RefreshHash).string_len(64).not_null().unique_key())
                    .col(time(Sessions::RefreshExpireTime))
                    .col(time(Sessions::ExpireTime))
                    .col(time(Sessions::CreateTime))
                    .col(optional_time(Sessions::RevokeTime))
                    .foreign_key(&mut foreign_key((Sessions::Table, Sessions::UserId), (Users::Table, Users::Id)))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("sessions_user", Sessions::Table, &["user_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(id(Projects::Id))
                    .col(ColumnDef::new(Projects::Title).string_len(200).not_null())
                    .col(ColumnDef::new(Projects::Description).text().not_null())
                    .col(reference(Projects::CreatorId))
                    .col(ColumnDef::new(Projects::RequestId).string_len(64).null())
                    .col(time(Projects::CreateTime))
                    .col(time(Projects::UpdateTime))
                    .col(optional_time(Projects::ArchiveTime))
                    .col(ColumnDef::new(Projects::Version).big_integer().not_null())
                    .col(ColumnDef::new(Projects::EventSeq).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("projects_request", Projects::Table, &["creator_id", "request_id"]).unique().to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(id(ApiTokens::Id))
                    .col(reference(ApiTokens::UserId))
                    .col(ColumnDef::new(ApiTokens::DisplayName).string_len(200).not_null())
                    .col(ColumnDef::new(ApiTokens::Scope).small_integer().not_null())
                    .col(ColumnDef::new(ApiTokens::ProjectId).string_len(36).null())
                    .col(ColumnDef::new(ApiTokens::SecretHash).string_len(64).not_null())
                    .col(time(ApiTokens::CreateTime))
                    .col(time(ApiTokens::ExpireTime))
                    .col(optional_time(ApiTokens::LastUseTime))
                    .col(optional_time(ApiTokens::RevokeTime))
                    .foreign_key(&mut foreign_key((ApiTokens::Table, ApiTokens::UserId), (Users::Table, Users::Id)))
                    .foreign_key(&mut foreign_key(
                        (ApiTokens::Table, ApiTokens::ProjectId),
                        (Projects::Table, Projects::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("api_tokens_user", ApiTokens::Table, &["user_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(reference(Memberships::ProjectId))
                    .col(reference(Memberships::UserId))
                    .col(ColumnDef::new(Memberships::Role).small_integer().not_null())
                    .col(time(Memberships::CreateTime))
                    .primary_key(Index::create().col(Memberships::ProjectId).col(Memberships::UserId))
                    .foreign_key(&mut foreign_key(
                        (Memberships::Table, Memberships::ProjectId),
                        (Projects::Table, Projects::Id),
                    ))
                    .foreign_key(&mut foreign_key((Memberships::Table, Memberships::UserId), (Users::Table, Users::Id)))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("memberships_user", Memberships::Table, &["user_id", "project_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(id(Tasks::Id))
                    .col(reference(Tasks::ProjectId))
                    .col(ColumnDef::new(Tasks::Title).string_len(500).not_null())
                    .col(ColumnDef::new(Tasks::Description).text().not_null())
                    .col(ColumnDef::new(Tasks::Status).small_integer().not_null())
                    .col(ColumnDef::new(Tasks::Priority).small_integer().not_null())
                    .col(optional_time(Tasks::StartTime))
                    .col(optional_time(Tasks::DueTime))
                    .col(ColumnDef::new(Tasks::Position).big_integer().not_null())
                    .col(reference(Tasks::CreatorId))
                    .col(ColumnDef::new(Tasks::RequestId).string_len(64).null())
                    .col(time(Tasks::CreateTime))
                    .col(time(Tasks::UpdateTime))
                    .col(optional_time(Tasks::CompleteTime))
                    .col(optional_time(Tasks::DeleteTime))
                    .col(ColumnDef::new(Tasks::Version).big_integer().not_null())
                    .foreign_key(&mut foreign_key((Tasks::Table, Tasks::ProjectId), (Projects::Table, Projects::Id)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("tasks_request", Tasks::Table, &["project_id", "request_id"]).unique().to_owned())
            .await?;
        // One index per list ordering; each ends in `id`, the keyset tiebreaker.
        for (name, column) in [
            ("tasks_by_position", "position"),
            ("tasks_by_create_time", "create_time"),
            ("tasks_by_update_time", "update_time"),
            ("tasks_by_due_time", "due_time"),
            ("tasks_by_priority", "priority"),
            ("tasks_by_title", "title"),
        ] {
            manager.create_index(index(name, Tasks::Table, &["project_id", column, "id"])).await?;
        }
        manager.create_index(index("tasks_by_status", Tasks::Table, &["project_id", "status", "position"])).await?;
        manager.create_index(index("tasks_deleted", Tasks::Table, &["delete_time"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(TaskAssignees::Table)
                    .col(reference(TaskAssignees::TaskId))
                    .col(reference(TaskAssignees::UserId))
                    .primary_key(Index::create().col(TaskAssignees::TaskId).col(TaskAssignees::UserId))
                    .foreign_key(&mut foreign_key(
                        (TaskAssignees::Table, TaskAssignees::TaskId),
                        (Tasks::Table, Tasks::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("task_assignees_user", TaskAssignees::Table, &["user_id", "task_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(TaskLabels::Table)
                    .col(reference(TaskLabels::TaskId))
                    .col(ColumnDef::new(TaskLabels::Label).string_len(50).not_null())
                    .primary_key(Index::create().col(TaskLabels::TaskId).col(TaskLabels::Label))
                    .foreign_key(&mut foreign_key((TaskLabels::Table, TaskLabels::TaskId), (Tasks::Table, Tasks::Id)))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("task_labels_label", TaskLabels::Table, &["label", "task_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(id(Comments::Id))
                    .col(reference(Comments::TaskId))
                    .col(reference(Comments::AuthorId))
                    .col(ColumnDef::new(Comments::Body).text().not_null())
                    .col(time(Comments::CreateTime))
                    .foreign_key(&mut foreign_key((Comments::Table, Comments::TaskId), (Tasks::Table, Tasks::Id)))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("comments_task", Comments::Table, &["task_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(TaskActivities::Table)
                    .col(id(TaskActivities::Id))
                    .col(reference(TaskActivities::TaskId))
                    .col(reference(TaskActivities::ActorId))
                    .col(ColumnDef::new(TaskActivities::Kind).small_integer().not_null())
                    .col(ColumnDef::new(TaskActivities::Changes).text().not_null())
                    .col(time(TaskActivities::Time))
                    .foreign_key(&mut foreign_key(
                        (TaskActivities::Table, TaskActivities::TaskId),
                        (Tasks::Table, Tasks::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("task_activities_task", TaskActivities::Table, &["task_id", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(TaskEvents::Table)
                    .col(reference(TaskEvents::ProjectId))
                    .col(ColumnDef::new(TaskEvents::Seq).big_integer().not_null())
                    .col(reference(TaskEvents::TaskId))
                    .col(reference(TaskEvents::ActorId))
                    .col(ColumnDef::new(TaskEvents::Kind).small_integer().not_null())
                    .col(ColumnDef::new(TaskEvents::Task).blob().not_null())
                    .col(time(TaskEvents::Time))
                    .primary_key(Index::create().col(TaskEvents::ProjectId).col(TaskEvents::Seq))
                    .foreign_key(&mut foreign_key(
                        (TaskEvents::Table, TaskEvents::ProjectId),
                        (Projects::Table, Projects::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("task_events_time", TaskEvents::Table, &["time"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TaskEvents::Table.into_iden(),
            TaskActivities::Table.into_iden(),
            Comments::Table.into_iden(),
            TaskLabels::Table.into_iden(),
            TaskAssignees::Table.into_iden(),
            Tasks::Table.into_iden(),
            Memberships::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Projects::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    PasswordHash,
    CreateTime,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    RefreshHash,
    RefreshExpireTime,
    ExpireTime,
    CreateTime,
    RevokeTime,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    DisplayName,
    Scope,
    ProjectId,
    SecretHash,
    CreateTime,
    ExpireTime,
    LastUseTime,
    RevokeTime,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Title,
    Description,
    CreatorId,
    RequestId,
    CreateTime,
    UpdateTime,
    ArchiveTime,
    Version,
    EventSeq,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    ProjectId,
    UserId,
    Role,
    CreateTime,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    ProjectId,
    Title,
    Description,
    Status,
    Priority,
    StartTime,
    DueTime,
    Position,
    CreatorId,
    RequestId,
    CreateTime,
    UpdateTime,
    CompleteTime,
    DeleteTime,
    Version,
}

#[derive(DeriveIden)]
enum TaskAssignees {
    Table,
    TaskId,
    UserId,
}

#[derive(DeriveIden)]
enum TaskLabels {
    Table,
    TaskId,
    Label,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
    TaskId,
    AuthorId,
    Body,
    CreateTime,
}

#[derive(DeriveIden)]
enum TaskActivities {
    Table,
    Id,
    TaskId,
    ActorId,
    Kind,
    Changes,
    Time,
}

#[derive(DeriveIden)]
enum TaskEvents {
    Table,
    ProjectId,
    Seq,
    TaskId,
    ActorId,
    Kind,
    Task,
    Time,
}
