//! Imports: long-running import operations and what each imported.
//!
//! - `import_operations`: one row per import (AIP-151 operation), its
//!   progress and outcome. The runner writes its progress after every batch
//!   and stamps `heartbeat_time`; a row still running whose heartbeat is old
//!   was interrupted (its server stopped) and is marked failed, so a poll on
//!   any replica sees the truth.
//! - `import_items`: every imported task's source and its id there, unique
//!   per project, so importing the same file again skips what it made.
//!
//! New tables only, so the previous release keeps working (it neither
//! writes nor reads them). Rows go with their project, and an item with its
//! task (`ON DELETE CASCADE`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261231_000001_imports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportOperations::Table)
                    .col(ColumnDef::new(ImportOperations::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(ImportOperations::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(ImportOperations::CreatorId).string_len(36).not_null())
                    // `ImportFormat`.
                    .col(ColumnDef::new(ImportOperations::Format).small_integer().not_null())
                    // 1 running, 2 succeeded, 3 failed, 4 cancelled.
                    .col(ColumnDef::new(ImportOperations::State).small_integer().not_null())
                    .col(ColumnDef::new(ImportOperations::CancelRequested).boolean().not_null())
                    .col(ColumnDef::new(ImportOperations::RowsTotal).big_integer().not_null())
                    .col(ColumnDef::new(ImportOperations::RowsDone).big_integer().not_null())
                    .col(ColumnDef::new(ImportOperations::RowsImported).big_integer().not_null())
                    .col(ColumnDef::new(ImportOperations::RowsSkipped).big_integer().not_null())
                    .col(ColumnDef::new(ImportOperations::ErrorsTotal).big_integer().not_null())
                    // JSON array of the first row errors.
                    .col(ColumnDef::new(ImportOperations::RowErrors).text().not_null())
                    // Why a failed or cancelled operation ended: gRPC code and message.
                    .col(ColumnDef::new(ImportOperations::ErrorCode).integer().not_null())
                    .col(ColumnDef::new(ImportOperations::ErrorMessage).text().not_null())
                    .col(ColumnDef::new(ImportOperations::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(ImportOperations::UpdateTime).big_integer().not_null())
                    .col(ColumnDef::new(ImportOperations::HeartbeatTime).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportOperations::Table, ImportOperations::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A project's operations, newest first (ListOperations).
        manager
            .create_index(
                Index::create()
                    .name("import_operations_by_project")
                    .table(ImportOperations::Table)
                    .col(ImportOperations::ProjectId)
                    .col(ImportOperations::Id)
                    .to_owned(),
            )
            .await?;
        // Running operations whose heartbeat stopped (the sweep at start-up).
        manager
            .create_index(
                Index::create()
                    .name("import_operations_running")
                    .table(ImportOperations::Table)
                    .col(ImportOperations::State)
                    .col(ImportOperations::HeartbeatTime)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ImportItems::Table)
                    .col(ColumnDef::new(ImportItems::ProjectId).string_len(36).not_null())
                    // "trello", "csv".
                    .col(ColumnDef::new(ImportItems::Source).string_len(16).not_null())
                    .col(ColumnDef::new(ImportItems::SourceId).text().not_null())
                    .col(ColumnDef::new(ImportItems::TaskId).string_len(36).not_null())
                    .primary_key(
                        Index::create().col(ImportItems::ProjectId).col(ImportItems::Source).col(ImportItems::SourceId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportItems::Table, ImportItems::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportItems::Table, ImportItems::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The cascade from a purged task.
        manager
            .create_index(
                Index::create()
                    .name("import_items_by_task")
                    .table(ImportItems::Table)
                    .col(ImportItems::TaskId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ImportItems::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ImportOperations::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ImportOperations {
    Table,
    Id,
    ProjectId,
    CreatorId,
    Format,
    State,
    CancelRequested,
    RowsTotal,
    RowsDone,
    RowsImported,
    RowsSkipped,
    ErrorsTotal,
    RowErrors,
    ErrorCode,
    ErrorMessage,
    CreateTime,
    UpdateTime,
    HeartbeatTime,
}

#[derive(DeriveIden)]
enum ImportItems {
    Table,
    ProjectId,
    Source,
    SourceId,
    TaskId,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
}
