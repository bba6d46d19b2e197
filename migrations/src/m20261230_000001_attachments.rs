//! Attachments: files on tasks, their bytes in object storage.
//!
//! - `attachments`: one row per declared upload. `state` 1 is pending (the
//!   bytes may not be there yet; `expire_time` is when an unconfirmed upload
//!   is discarded), 2 active (checked on confirm). `object_key` is where the
//!   bytes live in the object store. `delete_time` marks a soft delete; the
//!   pruner removes the object and then the row, as it purges deleted tasks.
//!
//! A new table only, so the previous release keeps working (it never reads
//! it). Rows go with their task (`ON DELETE CASCADE`), but the pruner
//! removes a purged task's objects first, so no object is left behind.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261230_000001_attachments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(ColumnDef::new(Attachments::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Attachments::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(Attachments::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(Attachments::Filename).text().not_null())
                    .col(ColumnDef::new(Attachments::ContentType).text().not_null())
                    .col(ColumnDef::new(Attachments::SizeBytes).big_integer().not_null())
                    .col(ColumnDef::new(Attachments::Sha256).string_len(64).not_null())
                    // 1 pending, 2 active (`AttachmentState`).
                    .col(ColumnDef::new(Attachments::State).small_integer().not_null())
                    .col(ColumnDef::new(Attachments::ObjectKey).text().not_null())
                    .col(ColumnDef::new(Attachments::CreatorId).string_len(36).not_null())
                    .col(ColumnDef::new(Attachments::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(Attachments::ConfirmTime).big_integer().null())
                    .col(ColumnDef::new(Attachments::ExpireTime).big_integer().not_null())
                    .col(ColumnDef::new(Attachments::DeleteTime).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachments::Table, Attachments::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A task's attachments in order.
        manager
            .create_index(
                Index::create()
                    .name("attachments_by_task")
                    .table(Attachments::Table)
                    .col(Attachments::TaskId)
                    .col(Attachments::CreateTime)
                    .to_owned(),
            )
            .await?;
        // The per-project total checked on every upload.
        manager
            .create_index(
                Index::create()
                    .name("attachments_by_project")
                    .table(Attachments::Table)
                    .col(Attachments::ProjectId)
                    .col(Attachments::DeleteTime)
                    .to_owned(),
            )
            .await?;
        // The pruner's scan for lapsed uploads.
        manager
            .create_index(
                Index::create()
                    .name("attachments_expiring")
                    .table(Attachments::Table)
                    .col(Attachments::State)
                    .col(Attachments::ExpireTime)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Attachments::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    ProjectId,
    TaskId,
    Filename,
    ContentType,
    SizeBytes,
    Sha256,
    State,
    ObjectKey,
    CreatorId,
    CreateTime,
    ConfirmTime,
    ExpireTime,
    DeleteTime,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
}
