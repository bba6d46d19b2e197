//! Subtasks: a task may name another task of its project as its parent.
//!
//! Expand only, so the previous release keeps working on the new schema:
//!
//! - a nullable `tasks.parent_id`. The previous release never reads it,
//!   inserts tasks without it (NULL: top-level) and updates only the columns
//!   it knows, so a subtask it edits stays a subtask. It references
//!   `tasks.id` `ON DELETE SET NULL`: purging a deleted task (which either
//!   release does) makes its subtasks top-level instead of leaving them a
//!   dangling parent. On PostgreSQL the constraint is added `NOT VALID` and
//!   then validated, so the check of the (all NULL) column blocks no writer;
//!   SQLite adds the column with its `REFERENCES` clause, as it requires.
//! - an index `tasks_by_parent (parent_id)`: each read counts a task's live
//!   and done subtasks through it (a correlated subquery per task), the
//!   filter `parent = "…"` finds one task's subtasks through it, and the
//!   foreign key's `SET NULL` finds a purged task's subtasks through it
//!   (without it, every purged row would scan the table).
//!
//! Nothing to backfill (every existing task is top-level) and nothing to
//! contract later.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000001_subtasks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(r#"ALTER TABLE "tasks" ADD COLUMN "parent_id" varchar(36) NULL"#).await?;
            db.execute_unprepared(
                r#"ALTER TABLE "tasks" ADD CONSTRAINT "tasks_parent" FOREIGN KEY ("parent_id")
                   REFERENCES "tasks" ("id") ON DELETE SET NULL NOT VALID"#,
            )
            .await?;
            db.execute_unprepared(r#"ALTER TABLE "tasks" VALIDATE CONSTRAINT "tasks_parent""#).await?;
        } else {
            db.execute_unprepared(
                r#"ALTER TABLE "tasks" ADD COLUMN "parent_id" varchar(36) NULL
                   REFERENCES "tasks" ("id") ON DELETE SET NULL"#,
            )
            .await?;
        }
        manager
            .create_index(Index::create().name("tasks_by_parent").table(Tasks::Table).col(Tasks::ParentId).to_owned())
            .await
    }

    /// On PostgreSQL only: SQLite cannot drop a column that a foreign key
    /// uses (it would need the table rebuilt), so there `down` fails and
    /// the column stays; the previous release ignores it anyway.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("tasks_by_parent").table(Tasks::Table).to_owned()).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(r#"ALTER TABLE "tasks" DROP CONSTRAINT "tasks_parent""#)
                .await?;
        }
        manager.alter_table(Table::alter().table(Tasks::Table).drop_column(Tasks::ParentId).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    ParentId,
}
