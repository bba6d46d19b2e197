//! Custom fields: typed fields a project defines (`custom_fields`) and
//! their values on tasks (`task_field_values`).
//!
//! Expand only: two new tables. The previous release never reads them; when
//! it purges a task, or deletes a project, the values (and definitions) go
//! with it through `ON DELETE CASCADE`, so it cannot leave a value pointing
//! at nothing.
//!
//! A value is one row per task and field, with the column of its type set
//! (`text_value` for text, single-select options and users, `number_value`,
//! `time_value`, `bool_value`); a multi-select value is one row per chosen
//! option (`ordinal` 0, 1, …). The indexes lead with the field, then the
//! typed column, then the task, so a filter on one field (`cf.estimate >=
//! 3`) reads only that field's matching entries, whatever the project's
//! size; the primary key leads with the task, so a page of tasks reads its
//! values by task id.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261211_000001_custom_fields"
    }
}

/// The typed value indexes: name and column.
const VALUE_INDEXES: [(&str, TaskFieldValues); 4] = [
    ("task_field_values_by_text", TaskFieldValues::TextValue),
    ("task_field_values_by_number", TaskFieldValues::NumberValue),
    ("task_field_values_by_time", TaskFieldValues::TimeValue),
    ("task_field_values_by_bool", TaskFieldValues::BoolValue),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CustomFields::Table)
                    .col(ColumnDef::new(CustomFields::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(CustomFields::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(CustomFields::Key).string_len(32).not_null())
                    .col(ColumnDef::new(CustomFields::DisplayName).string_len(100).not_null())
                    .col(ColumnDef::new(CustomFields::Kind).small_integer().not_null())
                    // A JSON array of strings: the options of a select.
                    .col(ColumnDef::new(CustomFields::Options).text().not_null())
                    .col(ColumnDef::new(CustomFields::NumberMin).double().null())
                    .col(ColumnDef::new(CustomFields::NumberMax).double().null())
                    .col(ColumnDef::new(CustomFields::ShowOnCard).boolean().not_null().default(false))
                    .col(ColumnDef::new(CustomFields::Position).big_integer().not_null())
                    .col(ColumnDef::new(CustomFields::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(CustomFields::UpdateTime).big_integer().not_null())
                    .col(ColumnDef::new(CustomFields::Version).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(CustomFields::Table, CustomFields::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Keys are unique per project; filters look fields up by key.
        manager
            .create_index(
                Index::create()
                    .name("custom_fields_key")
                    .table(CustomFields::Table)
                    .col(CustomFields::ProjectId)
                    .col(CustomFields::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TaskFieldValues::Table)
                    .col(ColumnDef::new(TaskFieldValues::TaskId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskFieldValues::FieldId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskFieldValues::Ordinal).small_integer().not_null())
                    .col(ColumnDef::new(TaskFieldValues::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskFieldValues::TextValue).string_len(2000).null())
                    .col(ColumnDef::new(TaskFieldValues::NumberValue).double().null())
                    .col(ColumnDef::new(TaskFieldValues::TimeValue).big_integer().null())
                    .col(ColumnDef::new(TaskFieldValues::BoolValue).boolean().null())
                    .primary_key(
                        Index::create()
                            .col(TaskFieldValues::TaskId)
                            .col(TaskFieldValues::FieldId)
                            .col(TaskFieldValues::Ordinal),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskFieldValues::Table, TaskFieldValues::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskFieldValues::Table, TaskFieldValues::FieldId)
                            .to(CustomFields::Table, CustomFields::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in VALUE_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(TaskFieldValues::Table)
                        .col(TaskFieldValues::FieldId)
                        .col(column)
                        .col(TaskFieldValues::TaskId)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TaskFieldValues::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(CustomFields::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum CustomFields {
    Table,
    Id,
    ProjectId,
    Key,
    DisplayName,
    Kind,
    Options,
    NumberMin,
    NumberMax,
    ShowOnCard,
    Position,
    CreateTime,
    UpdateTime,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum TaskFieldValues {
    Table,
    TaskId,
    FieldId,
    Ordinal,
    ProjectId,
    TextValue,
    NumberValue,
    TimeValue,
    BoolValue,
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
