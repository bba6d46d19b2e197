//! Workflow states kept in step by the database, at write time.
//!
//! The previous migration let the previous release (which knows only
//! `tasks.status`) run on the new schema, and left this release to work out
//! each task's state in every read: `state_id` if its state's status agrees
//! with `status`, else the project's first non-archived state for the status.
//! That is a correlated subquery per row, which no index serves: a list
//! filtered by state scanned the whole project. From this migration on the
//! database stores that state itself, whoever writes the row:
//!
//! - `tasks` (PostgreSQL: a `BEFORE` trigger that sets `NEW.state_id`;
//!   SQLite, which cannot change `NEW`: `AFTER` triggers that update the
//!   row): on every INSERT, and on every UPDATE that changes `status` or
//!   `state_id` or leaves `state_id` NULL, a `state_id` that is NULL or
//!   names no state of the project with the row's status becomes the
//!   project's first non-archived state for the status (`first_choice`:
//!   UNSTARTED before BACKLOG, COMPLETED before CANCELED, then position and
//!   id, as the server chooses), or NULL if it has none. A row that is
//!   already consistent is left alone, so SQLite's fix-up UPDATE never
//!   fires its trigger again, even with `recursive_triggers` on.
//! - `projects` (`AFTER INSERT`): the three default states, under the ids
//!   [`default_state_id`](crate::default_state_id) derives from the project's id, `ON CONFLICT DO
//!   NOTHING`. This release's `CreateProject` still inserts the same rows
//!   itself, the same way, so either side may run first and none doubles.
//! - A one-off fix-up of the rows the previous release wrote between the
//!   two migrations: projects without states get their defaults, tasks their
//!   state. The triggers exist first (in the same transaction; on PostgreSQL
//!   `CREATE TRIGGER` blocks the table's writers until commit), so no row
//!   slips between the fix-up and the triggers.
//!
//! The contract step (the next release, once no previous-release server
//! runs): drop these triggers and their functions (the server writes
//! `state_id` and the default states itself), set any `state_id` still NULL
//! (a status the project had no state for) and make `tasks.state_id`
//! NOT NULL.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::m20261207_000001_workflow_states::{DEFAULT_STATES, STATE_POSITION_GAP};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_state_sync"
    }
}

/// The first non-archived state of the project for the status of the
/// `tasks` row `row` (`NEW`, or `"tasks"`): the server's `first_choice`, in
/// SQL. Ranked last: BACKLOG (1) and CANCELED (5).
fn first_choice(row: &str) -> String {
    format!(
        r#"(SELECT "ws"."id" FROM "workflow_states" AS "ws"
            WHERE "ws"."project_id" = {row}."project_id" AND "ws"."status" = {row}."status"
              AND "ws"."archive_time" IS NULL
            ORDER BY CASE WHEN "ws"."category" IN (1, 5) THEN 1 ELSE 0 END, "ws"."position", "ws"."id"
            LIMIT 1)"#
    )
}

/// Whether the `tasks` row `row` names a state of its project whose status
/// is the row's.
fn consistent(row: &str) -> String {
    format!(
        r#"EXISTS (SELECT 1 FROM "workflow_states" AS "ws"
            WHERE "ws"."id" = {row}."state_id" AND "ws"."project_id" = {row}."project_id"
              AND "ws"."status" = {row}."status")"#
    )
}

/// Whether the `tasks` row `row` needs its state set: a state of another
/// status (or project, or none that exists), or none while the project has
/// one for the status.
fn needs_state(row: &str) -> String {
    format!(
        r#"(({row}."state_id" IS NOT NULL AND NOT {consistent}) OR ({row}."state_id" IS NULL AND {first} IS NOT NULL))"#,
        consistent = consistent(row),
        first = first_choice(row),
    )
}

/// SQL for [`default_state_id`](crate::default_state_id) of the project id `id` (an expression):
/// its last hex digit XORed with `index + 1` (a digit that is not hex
/// counts as 0).
fn default_state_id_sql(backend: DbBackend, id: &str, index: usize) -> String {
    let key = index + 1;
    match backend {
        DbBackend::Postgres => format!(
            "substr({id}, 1, length({id}) - 1) || to_hex(greatest(strpos('0123456789abcdef', \
             lower(substr({id}, length({id}), 1))) - 1, 0) # {key})"
        ),
        // SQLite has no XOR: a ^ b = (a | b) - (a & b).
        _ => {
            let digit = format!("max(instr('0123456789abcdef', lower(substr({id}, length({id}), 1))) - 1, 0)");
            format!(
                "substr({id}, 1, length({id}) - 1) || substr('0123456789abcdef', 1 + (({digit} | {key}) - ({digit} & \
                 {key})), 1)"
            )
        }
    }
}

/// An INSERT of the default states of the project `id` (an expression;
/// `create_time` its creation time), from `from` (a FROM/WHERE tail, or
/// nothing), that skips states which exist.
fn insert_defaults(backend: DbBackend, id: &str, create_time: &str, from: &str) -> String {
    let selects: Vec<String> = DEFAULT_STATES
        .into_iter()
        .enumerate()
        .map(|(index, (name, color, category, status))| {
            format!(
                "SELECT {state_id}, {id}, '{name}', '{color}', {category}, {status}, {position}, {create_time}, \
                 {create_time}, 1 {from}",
                state_id = default_state_id_sql(backend, id, index),
                position = index as i64 * STATE_POSITION_GAP,
            )
        })
        .collect();
    // `WHERE true`: SQLite needs it to tell the upsert from a join's ON.
    format!(
        r#"INSERT INTO "workflow_states" ("id", "project_id", "display_name", "color", "category", "status",
             "position", "create_time", "update_time", "version")
           SELECT * FROM ({}) AS "defaults" WHERE true ON CONFLICT ("id") DO NOTHING"#,
        selects.join(" UNION ALL ")
    )
}

/// The statements that create the triggers on `backend`.
fn create_triggers(backend: DbBackend) -> Vec<String> {
    match backend {
        DbBackend::Postgres => vec![
            format!(
                r#"CREATE FUNCTION "tasks_sync_state"() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF NEW."state_id" IS NULL OR NOT {consistent} THEN
                    NEW."state_id" := {first};
                  END IF;
                  RETURN NEW;
                END
                $$"#,
                consistent = consistent("NEW"),
                first = first_choice("NEW"),
            ),
            r#"CREATE TRIGGER "tasks_sync_state_insert" BEFORE INSERT ON "tasks"
               FOR EACH ROW EXECUTE FUNCTION "tasks_sync_state"()"#
                .to_owned(),
            r#"CREATE TRIGGER "tasks_sync_state_update" BEFORE UPDATE ON "tasks"
               FOR EACH ROW WHEN (NEW."state_id" IS NULL OR NEW."status" IS DISTINCT FROM OLD."status"
                 OR NEW."state_id" IS DISTINCT FROM OLD."state_id")
               EXECUTE FUNCTION "tasks_sync_state"()"#
                .to_owned(),
            format!(
                r#"CREATE FUNCTION "projects_default_states"() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  {insert};
                  RETURN NULL;
                END
                $$"#,
                insert = insert_defaults(backend, r#"NEW."id""#, r#"NEW."create_time""#, ""),
            ),
            r#"CREATE TRIGGER "projects_default_states" AFTER INSERT ON "projects"
               FOR EACH ROW EXECUTE FUNCTION "projects_default_states"()"#
                .to_owned(),
        ],
        _ => {
            let set_state = format!(
                r#"BEGIN UPDATE "tasks" SET "state_id" = {first} WHERE "id" = NEW."id"; END"#,
                first = first_choice("NEW")
            );
            vec![
                format!(
                    r#"CREATE TRIGGER "tasks_sync_state_insert" AFTER INSERT ON "tasks"
                       FOR EACH ROW WHEN {needs} {set_state}"#,
                    needs = needs_state("NEW"),
                ),
                format!(
                    r#"CREATE TRIGGER "tasks_sync_state_update" AFTER UPDATE ON "tasks"
                       FOR EACH ROW WHEN (NEW."state_id" IS NULL OR NEW."status" IS NOT OLD."status"
                         OR NEW."state_id" IS NOT OLD."state_id") AND {needs} {set_state}"#,
                    needs = needs_state("NEW"),
                ),
                format!(
                    r#"CREATE TRIGGER "projects_default_states" AFTER INSERT ON "projects"
                       FOR EACH ROW BEGIN {insert}; END"#,
                    insert = insert_defaults(backend, r#"NEW."id""#, r#"NEW."create_time""#, ""),
                ),
            ]
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: the triggers and the fix-up
    /// together, or neither.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for statement in create_triggers(backend) {
            db.execute_unprepared(&statement).await?;
        }
        // Projects the previous release created since the last migration.
        db.execute_unprepared(&insert_defaults(
            backend,
            r#""projects"."id""#,
            r#""projects"."create_time""#,
            r#"FROM "projects" WHERE NOT EXISTS (SELECT 1 FROM "workflow_states" WHERE "workflow_states"."project_id" = "projects"."id")"#,
        ))
        .await?;
        // Tasks it inserted, or whose status it changed, since then.
        db.execute_unprepared(&format!(
            r#"UPDATE "tasks" SET "state_id" = {first} WHERE {needs}"#,
            first = first_choice(r#""tasks""#),
            needs = needs_state(r#""tasks""#),
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                r#"DROP TRIGGER "tasks_sync_state_insert" ON "tasks""#,
                r#"DROP TRIGGER "tasks_sync_state_update" ON "tasks""#,
                r#"DROP FUNCTION "tasks_sync_state"()"#,
                r#"DROP TRIGGER "projects_default_states" ON "projects""#,
                r#"DROP FUNCTION "projects_default_states"()"#,
            ],
            _ => &[
                r#"DROP TRIGGER "tasks_sync_state_insert""#,
                r#"DROP TRIGGER "tasks_sync_state_update""#,
                r#"DROP TRIGGER "projects_default_states""#,
            ],
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
