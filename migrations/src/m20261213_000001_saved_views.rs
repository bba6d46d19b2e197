//! Saved views: a named filter, order, layout, grouping and table columns
//! of a project's tasks, personal to their creator or shared.
//!
//! A new table only, so the previous release keeps working: it never reads
//! it. Its rows go with their project (`ON DELETE CASCADE`, for a purge by
//! either release) and with their creator's account. Listing a project's
//! views for one member reads the index `(project_id, creator_id)`: shared
//! views and the member's own, at most 200 a project.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261213_000001_saved_views"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SavedViews::Table)
                    .col(ColumnDef::new(SavedViews::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(SavedViews::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(SavedViews::CreatorId).string_len(36).not_null())
                    .col(ColumnDef::new(SavedViews::DisplayName).string_len(100).not_null())
                    .col(ColumnDef::new(SavedViews::Filter).text().not_null())
                    .col(ColumnDef::new(SavedViews::OrderBy).text().not_null())
                    .col(ColumnDef::new(SavedViews::Layout).small_integer().not_null())
                    .col(ColumnDef::new(SavedViews::GroupBy).small_integer().not_null())
                    .col(ColumnDef::new(SavedViews::GroupByField).string_len(32).not_null())
                    // A JSON array of strings: the table's columns in order.
                    .col(ColumnDef::new(SavedViews::Columns).text().not_null())
                    .col(ColumnDef::new(SavedViews::Shared).boolean().not_null())
                    .col(ColumnDef::new(SavedViews::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(SavedViews::UpdateTime).big_integer().not_null())
                    .col(ColumnDef::new(SavedViews::Version).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(SavedViews::Table, SavedViews::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SavedViews::Table, SavedViews::CreatorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("saved_views_by_project")
                    .table(SavedViews::Table)
                    .col(SavedViews::ProjectId)
                    .col(SavedViews::CreatorId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SavedViews::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SavedViews {
    Table,
    Id,
    ProjectId,
    CreatorId,
    DisplayName,
    Filter,
    OrderBy,
    Layout,
    GroupBy,
    GroupByField,
    Columns,
    Shared,
    CreateTime,
    UpdateTime,
    Version,
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
