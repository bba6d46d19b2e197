//! The statements baseline: for each benchmarked RPC, the SQL statements the
//! server issues, in the same order, in the same transactions, with the same
//! kinds of parameters, sent straight to PostgreSQL through sqlx (the driver
//! under SeaORM) with prepared statements, as SeaORM does.
//!
//! The statement texts are those the server sends (captured with
//! `log_statement = all`; they come from `server/src/auth/mod.rs`,
//! `server/src/storage/{projects,tasks,comments,events}.rs`). If the
//! server's queries change, capture them again: see docs/performance.md.

use prost::Message;
use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use tasktracker_proto::v1;

use crate::load::Failure;

/// `Authorizer::require`: the caller's membership joined to its project.
/// (With `projects.enforce_wip_limits` since workflow states arrived, and
/// `projects.require_blockers_done` since task relations did.)
pub const MEMBERSHIP: &str = r#"SELECT "projects"."id", "projects"."title", "projects"."description", "projects"."creator_id", "projects"."request_id", "projects"."create_time", "projects"."update_time", "projects"."archive_time", "projects"."version", "projects"."event_seq", "projects"."enforce_wip_limits", "projects"."require_blockers_done", "memberships"."role" AS "member_role" FROM "projects" INNER JOIN "memberships" ON "memberships"."project_id" = "projects"."id" WHERE "projects"."id" = $1 AND "memberships"."user_id" = $2"#;
/// `Authorizer::task`: the caller's standing, the task and its relations.
pub const TASK_AS_MEMBER: &str = r#"SELECT "memberships"."role" AS "member_role", "projects"."archive_time" AS "project_archive_time", "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version", (SELECT COALESCE(json_agg("user_id")::text, '[]') FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id") AS "assignees", (SELECT COALESCE(json_agg("label")::text, '[]') FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id") AS "labels" FROM "memberships" INNER JOIN "projects" ON "projects"."id" = "memberships"."project_id" LEFT JOIN "tasks" ON "tasks"."project_id" = "memberships"."project_id" AND "tasks"."id" = $1 WHERE "memberships"."project_id" = $2 AND "memberships"."user_id" = $3"#;
/// `storage::tasks::find_for_update`, inside a write.
pub const TASK_BY_ID: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version", (SELECT COALESCE(json_agg("user_id")::text, '[]') FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id") AS "assignees", (SELECT COALESCE(json_agg("label")::text, '[]') FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id") AS "labels" FROM "tasks" WHERE "tasks"."id" = $1 AND "tasks"."project_id" = $2 FOR NO KEY UPDATE"#;
/// CreateTask's retry lookup by `request_id`.
pub const TASK_BY_REQUEST_ID: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version", (SELECT COALESCE(json_agg("user_id")::text, '[]') FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id") AS "assignees", (SELECT COALESCE(json_agg("label")::text, '[]') FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id") AS "labels" FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."request_id" = $2"#;
/// ListTasks with `status = … AND priority >= …`.
pub const LIST_STATUS_PRIORITY: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version", (SELECT COALESCE(json_agg("user_id")::text, '[]') FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id") AS "assignees", (SELECT COALESCE(json_agg("label")::text, '[]') FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id") AS "labels" FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."delete_time" IS NULL AND ("status" = $2 AND "priority" >= $3) ORDER BY "position" ASC, "tasks"."id" ASC LIMIT $4"#;
/// ListTasks with `label = …`.
pub const LIST_LABEL: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version", (SELECT COALESCE(json_agg("user_id")::text, '[]') FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id") AS "assignees", (SELECT COALESCE(json_agg("label")::text, '[]') FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id") AS "labels" FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."delete_time" IS NULL AND "tasks"."id" IN (SELECT "task_id" FROM "task_labels" WHERE "label" = $2) ORDER BY "position" ASC, "tasks"."id" ASC LIMIT $3"#;
/// ListTasks with `state = "projects/…/states/…"` (the `list_state`
/// scenario): the page on the `(project_id, state_id, position, id)` index.
/// The server reads `state_id` with every task since workflow states
/// arrived; the task statements above predate that and stay as they were.
pub const LIST_STATE: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version", "tasks"."state_id", (SELECT COALESCE(json_agg("user_id")::text, '[]') FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id") AS "assignees", (SELECT COALESCE(json_agg("label")::text, '[]') FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id") AS "labels" FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."delete_time" IS NULL AND "tasks"."state_id" = $2 ORDER BY "position" ASC, "tasks"."id" ASC LIMIT $3"#;
/// ListTasks with `cf.<key> >= …` on a NUMBER field (the `list_field`
/// scenario): the task ids come from the field's `(field_id, number_value,
/// task_id)` index; each task's values come in the same statement.
pub const LIST_FIELD: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version", "tasks"."state_id", (SELECT COALESCE(json_agg("user_id")::text, '[]') FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id") AS "assignees", (SELECT COALESCE(json_agg("label")::text, '[]') FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id") AS "labels", (SELECT COALESCE(json_agg(json_build_array("f"."key", "v"."field_id", "f"."kind", "v"."ordinal", "v"."text_value", "v"."number_value", "v"."time_value", "v"."bool_value"))::text, '[]') FROM "task_field_values" AS "v" JOIN "custom_fields" AS "f" ON "f"."id" = "v"."field_id" WHERE "v"."task_id" = "tasks"."id") AS "custom_fields" FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."delete_time" IS NULL AND "tasks"."id" IN (SELECT "task_id" FROM "task_field_values" WHERE "task_field_values"."field_id" = $2 AND "task_field_values"."number_value" >= $3) ORDER BY "position" ASC, "tasks"."id" ASC LIMIT $4"#;
/// `FieldStore::definitions`: the project's custom fields, which a filter
/// naming one is typed with.
pub const FIELD_DEFINITIONS: &str = r#"SELECT "custom_fields"."id", "custom_fields"."project_id", "custom_fields"."key", "custom_fields"."display_name", "custom_fields"."kind", "custom_fields"."options", "custom_fields"."number_min", "custom_fields"."number_max", "custom_fields"."show_on_card", "custom_fields"."position", "custom_fields"."create_time", "custom_fields"."update_time", "custom_fields"."version" FROM "custom_fields" WHERE "custom_fields"."project_id" = $1 ORDER BY "custom_fields"."position" ASC, "custom_fields"."id" ASC"#;
/// `TaskWriter::bottom_of_column`.
pub const BOTTOM_OF_COLUMN: &str =
    r#"SELECT MAX("position") FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."status" = $2 LIMIT $3"#;
pub const INSERT_TASK: &str = r#"INSERT INTO "tasks" ("id", "project_id", "title", "description", "status", "priority", "start_time", "due_time", "position", "creator_id", "request_id", "create_time", "update_time", "complete_time", "delete_time", "version") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"#;
pub const INSERT_LABEL: &str = r#"INSERT INTO "task_labels" ("task_id", "label") VALUES ($1, $2)"#;
pub const INSERT_ACTIVITY: &str = r#"INSERT INTO "task_activities" ("id", "task_id", "actor_id", "kind", "changes", "time") VALUES ($1, $2, $3, $4, $5, $6)"#;
/// `storage::events::append`: the feed lock and number, the event and the
/// wake-up, in one statement, last before COMMIT.
pub const APPEND_EVENT: &str = "WITH next AS (UPDATE projects SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq), appended AS (INSERT INTO task_events (project_id, seq, task_id, actor_id, kind, task, time) SELECT $1, event_seq, $2, $3, $4, $5, $6 FROM next RETURNING seq) SELECT appended.seq FROM appended, pg_notify($7, $1)";
/// The guarded write of a task's new version (`TaskStore::change`).
pub const UPDATE_TASK: &str = r#"UPDATE "tasks" SET "id" = $1, "project_id" = $2, "title" = $3, "description" = $4, "status" = $5, "priority" = $6, "start_time" = $7, "due_time" = $8, "position" = $9, "creator_id" = $10, "request_id" = $11, "create_time" = $12, "update_time" = $13, "complete_time" = $14, "delete_time" = $15, "version" = $16 WHERE "tasks"."id" = $17 AND "tasks"."version" = $18"#;
/// The server's NOTIFY channel.
pub const NOTIFY_CHANNEL: &str = "tasktracker_task_events";
/// `Task.position` gap (`storage::tasks::POSITION_GAP`).
const POSITION_GAP: i64 = 1 << 20;
/// Event and history kinds (`TaskEventType`).
const CREATED: i16 = 1;
const UPDATED: i16 = 2;

/// A `tasks` row.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub description: String,
    pub status: i16,
    pub priority: i16,
    pub start_time: Option<i64>,
    pub due_time: Option<i64>,
    pub position: i64,
    pub creator_id: String,
    pub request_id: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
    pub complete_time: Option<i64>,
    pub delete_time: Option<i64>,
    pub version: i64,
}

impl TaskRow {
    pub fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            project_id: row.try_get("project_id")?,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            status: row.try_get("status")?,
            priority: row.try_get("priority")?,
            start_time: row.try_get("start_time")?,
            due_time: row.try_get("due_time")?,
            position: row.try_get("position")?,
            creator_id: row.try_get("creator_id")?,
            request_id: row.try_get("request_id")?,
            create_time: row.try_get("create_time")?,
            update_time: row.try_get("update_time")?,
            complete_time: row.try_get("complete_time")?,
            delete_time: row.try_get("delete_time")?,
            version: row.try_get("version")?,
        })
    }

    pub fn bind_all<'q>(
        &'q self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(&self.id)
            .bind(&self.project_id)
            .bind(&self.title)
            .bind(&self.description)
            .bind(self.status)
            .bind(self.priority)
            .bind(self.start_time)
            .bind(self.due_time)
            .bind(self.position)
            .bind(&self.creator_id)
            .bind(&self.request_id)
            .bind(self.create_time)
            .bind(self.update_time)
            .bind(self.complete_time)
            .bind(self.delete_time)
            .bind(self.version)
    }

    /// The task as the server encodes it into the change feed.
    fn encoded(&self, labels: &[String], assignees: &[String]) -> Vec<u8> {
        let timestamp = |micros: i64| prost_types::Timestamp {
            seconds: micros.div_euclid(1_000_000),
            nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
        };
        v1::Task {
            name: format!("projects/{}/tasks/{}", self.project_id, self.id),
            title: self.title.clone(),
            description: self.description.clone(),
            status: i32::from(self.status),
            priority: i32::from(self.priority),
            assignees: assignees.iter().map(|user| format!("users/{user}")).collect(),
            labels: labels.to_vec(),
            start_time: self.start_time.map(timestamp),
            due_time: self.due_time.map(timestamp),
            position: self.position,
            creator: format!("users/{}", self.creator_id),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            complete_time: self.complete_time.map(timestamp),
            delete_time: None,
            purge_time: None,
            etag: self.version.to_string(),
            // Written as the previous release wrote tasks: no workflow state,
            // no parent.
            state: String::new(),
            ..Default::default()
        }
        .encode_to_vec()
    }
}

/// A row's assignees and labels, as the server reads them (JSON arrays).
fn relation_lists(row: &PgRow) -> Result<(Vec<String>, Vec<String>), Failure> {
    let list = |column: &str| -> Result<Vec<String>, Failure> {
        let json: String = row.try_get(column)?;
        let mut values: Vec<String> = serde_json::from_str(&json).map_err(|_| Failure::other("raw: bad list"))?;
        values.sort_unstable();
        Ok(values)
    };
    Ok((list("assignees")?, list("labels")?))
}

impl TaskRow {
    /// The row CreateTask inserts for `new`.
    pub fn created(context: &RawContext, new: &NewTask, position: i64) -> Self {
        let now = now_micros();
        Self {
            id: new_id(),
            project_id: context.project_id.clone(),
            title: new.title.clone(),
            description: new.description.clone(),
            status: 1,
            priority: new.priority,
            start_time: None,
            due_time: None,
            position,
            creator_id: context.user_id.clone(),
            request_id: Some(new.request_id.clone()),
            create_time: now,
            update_time: now,
            complete_time: None,
            delete_time: None,
            version: 1,
        }
    }
}

/// What every raw call needs to know.
pub struct RawContext {
    pub user_id: String,
    pub project_id: String,
}

pub fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// `Authorizer::require`: the membership joined to its project. (The
/// caller's access token is verified in memory: no statement.)
async fn authorize(pool: &PgPool, context: &RawContext) -> Result<(), Failure> {
    let membership = sqlx::query(MEMBERSHIP)
        .bind(&context.project_id)
        .bind(&context.user_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Failure::other("raw: not a member"))?;
    let _role: i16 = membership.try_get("member_role")?;
    let _archived: Option<i64> = membership.try_get("archive_time")?;
    let _enforce: bool = membership.try_get("enforce_wip_limits")?;
    let _blockers: bool = membership.try_get("require_blockers_done")?;
    Ok(())
}

/// GetTask: one statement.
pub async fn get(pool: &PgPool, context: &RawContext, task_id: &str) -> Result<(), Failure> {
    let row = sqlx::query(TASK_AS_MEMBER)
        .bind(task_id)
        .bind(&context.project_id)
        .bind(&context.user_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Failure::other("raw: not a member"))?;
    let _role: i16 = row.try_get("member_role")?;
    let _archived: Option<i64> = row.try_get("project_archive_time")?;
    let _id: Option<String> = row.try_get("id")?;
    TaskRow::from_row(&row)?;
    relation_lists(&row)?;
    Ok(())
}

/// The filters the `list` scenario rotates through, as (ListTasks filter,
/// raw equivalent).
pub const LIST_FILTERS: &[(&str, RawFilter)] = &[
    ("status = TODO AND priority >= HIGH", RawFilter::StatusAtLeastPriority { status: 1, priority: 3 }),
    ("label = bug", RawFilter::Label("bug")),
];

/// A ListTasks filter, translated as `storage::tasks::condition` does.
#[derive(Debug, Clone, Copy)]
pub enum RawFilter {
    StatusAtLeastPriority { status: i16, priority: i16 },
    Label(&'static str),
}

/// ListTasks, first page of `page_size`: the membership, then the page with
/// its relations.
pub async fn list(pool: &PgPool, context: &RawContext, filter: RawFilter, page_size: i64) -> Result<usize, Failure> {
    authorize(pool, context).await?;
    let query = match filter {
        RawFilter::StatusAtLeastPriority { status, priority } => {
            sqlx::query(LIST_STATUS_PRIORITY).bind(&context.project_id).bind(status).bind(priority)
        }
        RawFilter::Label(label) => sqlx::query(LIST_LABEL).bind(&context.project_id).bind(label),
    };
    let rows = query.bind(page_size + 1).fetch_all(pool).await?;
    for row in &rows {
        TaskRow::from_row(row)?;
        relation_lists(row)?;
    }
    Ok(rows.len().min(page_size as usize))
}

/// ListTasks filtered on the state `state_id`, first page of `page_size`:
/// the membership, then the page with its
/// relations and states.
pub async fn list_state(pool: &PgPool, context: &RawContext, state_id: &str, page_size: i64) -> Result<usize, Failure> {
    authorize(pool, context).await?;
    let rows =
        sqlx::query(LIST_STATE).bind(&context.project_id).bind(state_id).bind(page_size + 1).fetch_all(pool).await?;
    for row in &rows {
        TaskRow::from_row(row)?;
        let _state: Option<String> = row.try_get("state_id")?;
        relation_lists(row)?;
    }
    Ok(rows.len().min(page_size as usize))
}

/// ListTasks filtered on a custom NUMBER field (`cf.<key> >= bound`), first
/// page of `page_size`: the membership, the project's field definitions,
/// then the page with its relations and values.
pub async fn list_field(
    pool: &PgPool,
    context: &RawContext,
    (field_id, bound): (&str, f64),
    page_size: i64,
) -> Result<usize, Failure> {
    authorize(pool, context).await?;
    let fields = sqlx::query(FIELD_DEFINITIONS).bind(&context.project_id).fetch_all(pool).await?;
    if fields.is_empty() {
        return Err(Failure::other("no custom field"));
    }
    let rows = sqlx::query(LIST_FIELD)
        .bind(&context.project_id)
        .bind(field_id)
        .bind(bound)
        .bind(page_size + 1)
        .fetch_all(pool)
        .await?;
    for row in &rows {
        TaskRow::from_row(row)?;
        relation_lists(row)?;
        let _values: String = row.try_get("custom_fields")?;
    }
    Ok(rows.len().min(page_size as usize))
}

/// What a created task holds (the `create` scenario's request).
pub struct NewTask {
    pub title: String,
    pub description: String,
    pub priority: i16,
    pub label: String,
    pub request_id: String,
}

/// CreateTask with a request id, first attempt.
pub async fn create(pool: &PgPool, context: &RawContext, new: &NewTask) -> Result<String, Failure> {
    authorize(pool, context).await?;
    let existing =
        sqlx::query(TASK_BY_REQUEST_ID).bind(&context.project_id).bind(&new.request_id).fetch_optional(pool).await?;
    if let Some(existing) = existing {
        return Ok(TaskRow::from_row(&existing)?.id);
    }
    let mut task = TaskRow::created(context, new, 0);
    let mut txn = pool.begin().await?;
    let max: Option<i64> = sqlx::query(BOTTOM_OF_COLUMN)
        .bind(&context.project_id)
        .bind(task.status)
        .bind(1i64)
        .fetch_one(&mut *txn)
        .await?
        .try_get(0)?;
    task.position = max.map_or(0, |max| max + POSITION_GAP);
    task.bind_all(sqlx::query(INSERT_TASK)).execute(&mut *txn).await?;
    sqlx::query(INSERT_LABEL).bind(&task.id).bind(&new.label).execute(&mut *txn).await?;
    let labels = [new.label.clone()];
    let changes = serde_json::json!([
        {"field": "title", "old_value": "", "new_value": task.title},
        {"field": "description", "old_value": "", "new_value": task.description},
        {"field": "status", "old_value": "", "new_value": "TASK_STATUS_TODO"},
        {"field": "priority", "old_value": "", "new_value": "PRIORITY_HIGH"},
        {"field": "labels", "old_value": "", "new_value": new.label},
    ])
    .to_string();
    record_change(&mut txn, context, &task, CREATED, changes, &labels, &[]).await?;
    txn.commit().await?;
    Ok(task.id)
}

/// The history entry, then the feed event (which takes the feed lock).
async fn record_change(
    connection: &mut PgConnection,
    context: &RawContext,
    task: &TaskRow,
    kind: i16,
    changes: String,
    labels: &[String],
    assignees: &[String],
) -> Result<(), Failure> {
    sqlx::query(INSERT_ACTIVITY)
        .bind(new_id())
        .bind(&task.id)
        .bind(&context.user_id)
        .bind(kind)
        .bind(changes)
        .bind(task.update_time)
        .execute(&mut *connection)
        .await?;
    sqlx::query(APPEND_EVENT)
        .bind(&task.project_id)
        .bind(&task.id)
        .bind(&context.user_id)
        .bind(kind)
        .bind(task.encoded(labels, assignees))
        .bind(task.update_time)
        .bind(NOTIFY_CHANNEL)
        .fetch_one(&mut *connection)
        .await?;
    Ok(())
}

/// UpdateTask of the title with an etag (`Tasks::write`); returns the new version.
pub async fn update_title(
    pool: &PgPool,
    context: &RawContext,
    task_id: &str,
    etag: i64,
    title: &str,
) -> Result<i64, Failure> {
    authorize(pool, context).await?;
    let mut txn = pool.begin().await?;
    let row = sqlx::query(TASK_BY_ID)
        .bind(task_id)
        .bind(&context.project_id)
        .fetch_optional(&mut *txn)
        .await?
        .ok_or_else(|| Failure::other("raw: no task"))?;
    let before = TaskRow::from_row(&row)?;
    let (assignees, labels) = relation_lists(&row)?;
    if before.version != etag {
        return Err(Failure::other("Aborted"));
    }
    let mut after = before.clone();
    after.title = title.to_owned();
    after.version = before.version + 1;
    after.update_time = now_micros();
    let updated =
        after.bind_all(sqlx::query(UPDATE_TASK)).bind(&after.id).bind(before.version).execute(&mut *txn).await?;
    if updated.rows_affected() != 1 {
        return Err(Failure::other("Aborted"));
    }
    let changes =
        serde_json::json!([{"field": "title", "old_value": before.title, "new_value": after.title}]).to_string();
    record_change(&mut txn, context, &after, UPDATED, changes, &labels, &assignees).await?;
    txn.commit().await?;
    Ok(after.version)
}
