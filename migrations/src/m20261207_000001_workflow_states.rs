//! Workflow states per project: a project's board columns, each with a
//! category that `tasks.status` follows.
//!
//! Expand only, so the previous release keeps working on the new schema:
//!
//! - a new table `workflow_states` (the previous release never reads it);
//! - a nullable `tasks.state_id`: the previous release inserts tasks
//!   without it (NULL) and changes `tasks.status` without touching it. This
//!   release reads a task's state as `state_id` while that state's status
//!   agrees with `tasks.status`, and otherwise as the project's first
//!   non-archived state for the status (see `tasktracker-server`'s
//!   `storage::states`), and it keeps writing `tasks.status` whenever it
//!   sets a state, so the previous release still reads the right column;
//! - `projects.enforce_wip_limits`, NOT NULL with a default, so the previous
//!   release's inserts get `false`;
//! - backfill: every existing project gets To do / In progress / Done
//!   (UNSTARTED / STARTED / COMPLETED) and every existing task the state of
//!   its status. Projects the previous release creates after this ran get
//!   their states from this release when it first needs them, under the same
//!   ids ([`default_state_id`]), so two servers doing it at once agree.
//!
//! The contract step (a later release, once no previous-release server runs):
//! set the remaining NULL `state_id`s and make the column NOT NULL.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_workflow_states"
    }
}

/// A project's default states: display name, colour, category and the
/// `tasks.status` it stands for (both as stored: the proto enum numbers).
pub const DEFAULT_STATES: [(&str, &str, i16, i16); 3] =
    [("To do", "#6b7280", 2, 1), ("In progress", "#2563eb", 3, 2), ("Done", "#16a34a", 4, 3)];

/// Distance between neighbouring states' positions.
pub const STATE_POSITION_GAP: i64 = 1 << 20;

/// The id of a project's `index`-th default state: the project's id with
/// its last hex digit XORed with `index + 1`. Deterministic, so that whoever
/// creates a project's default states (this migration, a new project, a
/// server finding a project without states) creates the same rows, and a
/// second attempt conflicts instead of duplicating them.
pub fn default_state_id(project_id: &str, index: usize) -> String {
    let mut id = project_id.to_owned();
    let last = id.pop().and_then(|c| c.to_digit(16)).unwrap_or(0);
    let digit = last ^ (index as u32 + 1);
    id.push(char::from_digit(digit & 0xf, 16).unwrap_or('0'));
    id
}

/// A project's id and creation time (its default states' times).
struct ProjectRow {
    id: String,
    create_time: i64,
}

/// Projects per INSERT of their default states.
const BATCH: usize = 300;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkflowStates::Table)
                    .col(ColumnDef::new(WorkflowStates::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(WorkflowStates::ProjectId).string_len(36).not_null())
                    .col(ColumnDef::new(WorkflowStates::DisplayName).string_len(50).not_null())
                    .col(ColumnDef::new(WorkflowStates::Color).string_len(7).not_null())
                    .col(ColumnDef::new(WorkflowStates::Category).small_integer().not_null())
                    // The `tasks.status` the category stands for, so reads
                    // compare it with `tasks.status` in SQL.
                    .col(ColumnDef::new(WorkflowStates::Status).small_integer().not_null())
                    .col(ColumnDef::new(WorkflowStates::Position).big_integer().not_null())
                    .col(ColumnDef::new(WorkflowStates::WipLimit).integer().null())
                    .col(ColumnDef::new(WorkflowStates::CreateTime).big_integer().not_null())
                    .col(ColumnDef::new(WorkflowStates::UpdateTime).big_integer().not_null())
                    .col(ColumnDef::new(WorkflowStates::ArchiveTime).big_integer().null())
                    .col(ColumnDef::new(WorkflowStates::Version).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(WorkflowStates::Table, WorkflowStates::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("workflow_states_project")
                    .table(WorkflowStates::Table)
                    .col(WorkflowStates::ProjectId)
                    .col(WorkflowStates::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tasks::Table)
                    .add_column(ColumnDef::new(Tasks::StateId).string_len(36).null())
                    .to_owned(),
            )
            .await?;
        // A column's tasks in board order, ties by id as pages are ordered
        // (moves, WIP counts, the state filter's keyset pages).
        manager
            .create_index(
                Index::create()
                    .name("tasks_by_state_position")
                    .table(Tasks::Table)
                    .col(Tasks::ProjectId)
                    .col(Tasks::StateId)
                    .col(Tasks::Position)
                    .col(Tasks::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Projects::Table)
                    .add_column(ColumnDef::new(Projects::EnforceWipLimits).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        backfill(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("tasks_by_state_position").table(Tasks::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Tasks::Table).drop_column(Tasks::StateId).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Projects::Table).drop_column(Projects::EnforceWipLimits).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(WorkflowStates::Table).to_owned()).await
    }
}

/// Gives every project its default states and every task the state of its
/// status.
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let select = Query::select().columns([Projects::Id, Projects::CreateTime]).from(Projects::Table).to_owned();
    let projects = db
        .query_all(&select)
        .await?
        .iter()
        .map(|row| Ok(ProjectRow { id: row.try_get("", "id")?, create_time: row.try_get("", "create_time")? }))
        .collect::<Result<Vec<_>, DbErr>>()?;
    for batch in projects.chunks(BATCH) {
        let mut insert = Query::insert();
        insert.into_table(WorkflowStates::Table).columns([
            WorkflowStates::Id,
            WorkflowStates::ProjectId,
            WorkflowStates::DisplayName,
            WorkflowStates::Color,
            WorkflowStates::Category,
            WorkflowStates::Status,
            WorkflowStates::Position,
            WorkflowStates::CreateTime,
            WorkflowStates::UpdateTime,
            WorkflowStates::Version,
        ]);
        for project in batch {
            for (index, (name, color, category, status)) in DEFAULT_STATES.into_iter().enumerate() {
                insert.values_panic([
                    default_state_id(&project.id, index).into(),
                    project.id.clone().into(),
                    name.into(),
                    color.into(),
                    category.into(),
                    status.into(),
                    (index as i64 * STATE_POSITION_GAP).into(),
                    project.create_time.into(),
                    project.create_time.into(),
                    1_i64.into(),
                ]);
            }
        }
        insert.on_conflict(OnConflict::column(WorkflowStates::Id).do_nothing().to_owned());
        db.execute(&insert).await?;
    }
    // One state per status in every project now: each task takes its own.
    db.execute_unprepared(
        r#"UPDATE "tasks" SET "state_id" = (
             SELECT "workflow_states"."id" FROM "workflow_states"
             WHERE "workflow_states"."project_id" = "tasks"."project_id"
               AND "workflow_states"."status" = "tasks"."status"
           ) WHERE "state_id" IS NULL"#,
    )
    .await?;
    Ok(())
}

#[derive(DeriveIden)]
enum WorkflowStates {
    Table,
    Id,
    ProjectId,
    DisplayName,
    Color,
    Category,
    Status,
    Position,
    WipLimit,
    CreateTime,
    UpdateTime,
    ArchiveTime,
    Version,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    CreateTime,
    EnforceWipLimits,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    ProjectId,
    StateId,
    Position,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_state_ids_are_distinct_and_canonical() {
        let project = "0193a5b4-7c1e-7d2f-8a3b-4c5d6e7f8091";
        let ids: Vec<String> = (0..3).map(|index| default_state_id(project, index)).collect();
        assert_eq!(
            ids,
            [
                "0193a5b4-7c1e-7d2f-8a3b-4c5d6e7f8090",
                "0193a5b4-7c1e-7d2f-8a3b-4c5d6e7f8093",
                "0193a5b4-7c1e-7d2f-8a3b-4c5d6e7f8092"
            ]
        );
        assert!(ids.iter().all(|id| id != project && id.len() == 36));
    }
}
