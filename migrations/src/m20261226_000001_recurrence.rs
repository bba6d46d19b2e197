//! Recurring tasks: a series holds the rule and the template; each
//! occurrence is an ordinary task that names its series.
//!
//! Expand only, so the previous release keeps working on the new schema:
//!
//! - `task_series`: the RFC 5545 rule, its IANA time zone, the mode (from
//!   the due date or from completion), the rule's start (`anchor_time`,
//!   DTSTART), the template the next occurrences copy (JSON), and
//!   `end_time`, set once the recurrence is removed. Rows go with their
//!   project.
//! - nullable `tasks.series_id` (`ON DELETE SET NULL`), `occurrence_time`,
//!   `skip_time` and `previous_occurrence_id` (`ON DELETE SET NULL`). The
//!   previous release never reads them, inserts tasks without them (a
//!   one-off task) and updates only the columns it knows. On PostgreSQL the
//!   constraints are added `NOT VALID`, then validated, so checking the
//!   (all NULL) columns blocks no writer; SQLite adds the columns with
//!   their `REFERENCES` clauses, as it requires (and cannot drop them
//!   again: `down` keeps them there).
//! - a unique index `tasks_successor (previous_occurrence_id)`: an
//!   occurrence has at most one successor, whichever replica completes it,
//!   however often it is reopened and completed again.
//! - an index `tasks_by_series (series_id)` for a series' history.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261226_000001_recurrence"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TaskSeries::Table)
                    .col(ColumnDef::new(TaskSeries::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(TaskSeries::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(TaskSeries::Rule).text().not_null())
                    .col(ColumnDef::new(TaskSeries::TimeZone).string_len(64).not_null())
                    .col(ColumnDef::new(TaskSeries::Mode).small_integer().not_null())
                    .col(ColumnDef::new(TaskSeries::AnchorTime).big_integer().not_null())
                    .col(ColumnDef::new(TaskSeries::Template).text().not_null())
                    .col(ColumnDef::new(TaskSeries::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(TaskSeries::UpdateTime).big_integer().not_null())
                    .col(ColumnDef::new(TaskSeries::EndTime).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(TaskSeries::Table, TaskSeries::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // A column already there is one an earlier `down` on SQLite kept
        // (see below).
        for column in ["occurrence_time", "skip_time"] {
            if !manager.has_column("tasks", column).await? {
                db.execute_unprepared(&format!(r#"ALTER TABLE "tasks" ADD COLUMN "{column}" bigint NULL"#)).await?;
            }
        }
        let references =
            [("series_id", "task_series", "tasks_series"), ("previous_occurrence_id", "tasks", "tasks_previous")];
        for (column, table, constraint) in references {
            if manager.get_database_backend() == DbBackend::Postgres {
                db.execute_unprepared(&format!(r#"ALTER TABLE "tasks" ADD COLUMN "{column}" varchar(36) NULL"#))
                    .await?;
                db.execute_unprepared(&format!(
                    r#"ALTER TABLE "tasks" ADD CONSTRAINT "{constraint}" FOREIGN KEY ("{column}")
                       REFERENCES "{table}" ("id") ON DELETE SET NULL NOT VALID"#
                ))
                .await?;
                db.execute_unprepared(&format!(r#"ALTER TABLE "tasks" VALIDATE CONSTRAINT "{constraint}""#)).await?;
            } else if !manager.has_column("tasks", column).await? {
                db.execute_unprepared(&format!(
                    r#"ALTER TABLE "tasks" ADD COLUMN "{column}" varchar(36) NULL
                       REFERENCES "{table}" ("id") ON DELETE SET NULL"#
                ))
                .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name("tasks_successor")
                    .table(Tasks::Table)
                    .col(Tasks::PreviousOccurrenceId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("tasks_by_series").table(Tasks::Table).col(Tasks::SeriesId).to_owned())
            .await
    }

    /// SQLite cannot drop a column that a foreign key uses (it would need
    /// the table rebuilt): there `series_id` and `previous_occurrence_id`
    /// stay (all NULL once the series are gone), and `up` keeps them.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("tasks_by_series").table(Tasks::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("tasks_successor").table(Tasks::Table).to_owned()).await?;
        let mut columns = vec![Tasks::OccurrenceTime, Tasks::SkipTime];
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(r#"ALTER TABLE "tasks" DROP CONSTRAINT "tasks_previous""#).await?;
            db.execute_unprepared(r#"ALTER TABLE "tasks" DROP CONSTRAINT "tasks_series""#).await?;
            columns.extend([Tasks::SeriesId, Tasks::PreviousOccurrenceId]);
        }
        // One column per statement: SQLite alters one thing at a time.
        for column in columns {
            manager.alter_table(Table::alter().table(Tasks::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(TaskSeries::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TaskSeries {
    Table,
    Id,
    ProjectId,
    Rule,
    TimeZone,
    Mode,
    AnchorTime,
    Template,
    CreateTime,
    UpdateTime,
    EndTime,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    SeriesId,
    PreviousOccurrenceId,
    OccurrenceTime,
    SkipTime,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}
