//! Typed relations between tasks (blocks, duplicates, relates to), and the
//! project setting that makes open blockers stop a task from completing.
//!
//! Expand only, so the previous release keeps working on the new schema:
//!
//! - a new table `task_relations`, which the previous release never reads
//!   or writes. Each relation is stored as two rows, one per side, under
//!   the same relation id: `A blocks B` is `(A, B, BLOCKS)` and
//!   `(B, A, BLOCKED_BY)`. So a task's relations, both directions, are one
//!   range of the primary key `(task_id, id)`, and deleting a relation
//!   deletes both rows by that key in one statement. The unique index
//!   `task_relations_pair (task_id, other_task_id, kind)` refuses the same
//!   relation twice (from either side: the other side's row collides too).
//!   Both task columns reference `tasks.id` `ON DELETE CASCADE`: purging a
//!   task (which either release does) removes its relations' rows on both
//!   sides; `task_relations_by_other (other_task_id)` lets the cascade find
//!   the rows where the purged task is the other side without a scan.
//! - `projects.require_blockers_done`, NOT NULL with a default (false), so
//!   the previous release's inserts, which do not name it, get the rule
//!   off. The previous release does not enforce the rule; a project that
//!   turns it on sees it enforced only by servers of this release.
//!
//! Nothing to backfill and nothing to contract later.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000001_task_relations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let cascade = |column: TaskRelations| {
            ForeignKey::create()
                .from(TaskRelations::Table, column)
                .to(Tasks::Table, Tasks::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(TaskRelations::Table)
                    // The task whose side of the relation this row is.
                    .col(ColumnDef::new(TaskRelations::TaskId).string_len(36).not_null())
                    // The relation's id, the same in both rows.
                    .col(ColumnDef::new(TaskRelations::Id).string_len(36).not_null())
                    .col(ColumnDef::new(TaskRelations::OtherTaskId).string_len(36).not_null())
                    // `TaskRelationType` as seen from `task_id`.
                    .col(ColumnDef::new(TaskRelations::Kind).small_integer().not_null())
                    .col(ColumnDef::new(TaskRelations::CreatorId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskRelations::CreateTime).big_integer().not_null())
                    .primary_key(Index::create().col(TaskRelations::TaskId).col(TaskRelations::Id))
                    .foreign_key(&mut cascade(TaskRelations::TaskId))
                    .foreign_key(&mut cascade(TaskRelations::OtherTaskId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("task_relations_pair")
                    .table(TaskRelations::Table)
                    .col(TaskRelations::TaskId)
                    .col(TaskRelations::OtherTaskId)
                    .col(TaskRelations::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("task_relations_by_other")
                    .table(TaskRelations::Table)
                    .col(TaskRelations::OtherTaskId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Projects::Table)
                    .add_column(ColumnDef::new(Projects::RequireBlockersDone).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Projects::Table).drop_column(Projects::RequireBlockersDone).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(TaskRelations::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TaskRelations {
    Table,
    TaskId,
    Id,
    OtherTaskId,
    Kind,
    CreatorId,
    CreateTime,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    RequireBlockersDone,
}
