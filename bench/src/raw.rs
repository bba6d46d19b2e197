//! The raw baseline: for each benchmarked RPC, the SQL statements the server
//! issues, in the same order, in the same transactions, with the same kinds
//! of parameters, sent straight to PostgreSQL through sqlx (the driver under
//! SeaORM) with prepared statements, as SeaORM does.
//!
//! The statement texts are those the server sends (captured with
//! `log_statement = all`; they come from `server/src/auth/layer.rs`,
//! `server/src/auth/mod.rs`, `server/src/storage/tasks.rs` and
//! `server/src/services/tasks.rs`). If the server's queries change, capture
//! them again: see docs/performance.md.

use prost::Message;
use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use tasktracker_proto::v1;

use crate::load::Failure;

/// Auth layer: the caller's session, per call.
pub const SESSION: &str = r#"SELECT "sessions"."id", "sessions"."user_id", "sessions"."refresh_hash", "sessions"."refresh_expire_time", "sessions"."expire_time", "sessions"."create_time", "sessions"."revoke_time" FROM "sessions" WHERE "sessions"."id" = $1 LIMIT $2"#;
/// `Authorizer::require`: the caller's membership…
pub const MEMBERSHIP: &str = r#"SELECT "memberships"."project_id", "memberships"."user_id", "memberships"."role", "memberships"."create_time" FROM "memberships" WHERE "memberships"."project_id" = $1 AND "memberships"."user_id" = $2 LIMIT $3"#;
/// …and the project.
pub const PROJECT: &str = r#"SELECT "projects"."id", "projects"."title", "projects"."description", "projects"."creator_id", "projects"."request_id", "projects"."create_time", "projects"."update_time", "projects"."archive_time", "projects"."version", "projects"."event_seq" FROM "projects" WHERE "projects"."id" = $1 LIMIT $2"#;
/// `storage::tasks::find`.
pub const TASK_BY_ID: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version" FROM "tasks" WHERE "tasks"."id" = $1 AND "tasks"."project_id" = $2 LIMIT $3"#;
/// CreateTask's retry lookup by `request_id`.
pub const TASK_BY_REQUEST_ID: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version" FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."request_id" = $2 LIMIT $3"#;
/// ListTasks with `status = … AND priority >= …`.
pub const LIST_STATUS_PRIORITY: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version" FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."delete_time" IS NULL AND ("status" = $2 AND "priority" >= $3) ORDER BY "position" ASC, "tasks"."id" ASC LIMIT $4"#;
/// ListTasks with `label = …`.
pub const LIST_LABEL: &str = r#"SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."start_time", "tasks"."due_time", "tasks"."position", "tasks"."creator_id", "tasks"."request_id", "tasks"."create_time", "tasks"."update_time", "tasks"."complete_time", "tasks"."delete_time", "tasks"."version" FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."delete_time" IS NULL AND "tasks"."id" IN (SELECT "task_id" FROM "task_labels" WHERE "label" = $2) ORDER BY "position" ASC, "tasks"."id" ASC LIMIT $3"#;
/// `storage::tasks::next_event_seq`: the project's feed lock and number.
pub const NEXT_EVENT_SEQ: &str = "UPDATE projects SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq";
/// `services::tasks::bottom_of_column`.
pub const BOTTOM_OF_COLUMN: &str =
    r#"SELECT MAX("position") FROM "tasks" WHERE "tasks"."project_id" = $1 AND "tasks"."status" = $2 LIMIT $3"#;
pub const INSERT_TASK: &str = r#"INSERT INTO "tasks" ("id", "project_id", "title", "description", "status", "priority", "start_time", "due_time", "position", "creator_id", "request_id", "create_time", "update_time", "complete_time", "delete_time", "version") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING "id""#;
pub const DELETE_ASSIGNEES: &str = r#"DELETE FROM "task_assignees" WHERE "task_assignees"."task_id" = $1"#;
pub const DELETE_LABELS: &str = r#"DELETE FROM "task_labels" WHERE "task_labels"."task_id" = $1"#;
pub const INSERT_LABEL: &str =
    r#"INSERT INTO "task_labels" ("task_id", "label") VALUES ($1, $2) RETURNING "task_id", "label""#;
pub const INSERT_ACTIVITY: &str = r#"INSERT INTO "task_activities" ("id", "task_id", "actor_id", "kind", "changes", "time") VALUES ($1, $2, $3, $4, $5, $6) RETURNING "id""#;
pub const INSERT_EVENT: &str = r#"INSERT INTO "task_events" ("project_id", "seq", "task_id", "actor_id", "kind", "task", "time") VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING "project_id", "seq""#;
pub const NOTIFY: &str = "SELECT pg_notify($1, $2)";
/// The guarded write of a task's new version (`Tasks::write`).
pub const UPDATE_TASK: &str = r#"UPDATE "tasks" SET "id" = $1, "project_id" = $2, "title" = $3, "description" = $4, "status" = $5, "priority" = $6, "start_time" = $7, "due_time" = $8, "position" = $9, "creator_id" = $10, "request_id" = $11, "create_time" = $12, "update_time" = $13, "complete_time" = $14, "delete_time" = $15, "version" = $16 WHERE "tasks"."id" = $17 AND "tasks"."version" = $18"#;
/// The server's NOTIFY channel.
pub const NOTIFY_CHANNEL: &str = "tasktracker_task_events";
/// `Task.position` gap (`services::tasks::POSITION_GAP`).
const POSITION_GAP: i64 = 1 << 20;
/// Event and history kinds (`TaskEventType`).
const CREATED: i16 = 1;
const UPDATED: i16 = 2;

/// Most ids in one relations query: a page of 50 plus the look-ahead row.
const MAX_IN: usize = 51;

/// `IN ($1, …, $n)` relation queries as SeaORM writes them, one text per
/// list length (each is its own prepared statement, as in the server).
pub struct RelationQueries {
    assignees: Vec<&'static str>,
    labels: Vec<&'static str>,
}

impl Default for RelationQueries {
    fn default() -> Self {
        let make = |table: &str, column: &str| -> Vec<&'static str> {
            (0..=MAX_IN)
                .map(|n| {
                    let condition = if n == 0 {
                        // SeaORM's rendering of `IN ()`.
                        "$1 = $2".to_owned()
                    } else {
                        let list = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                        format!(r#""{table}"."task_id" IN ({list})"#)
                    };
                    let sql = format!(
                        r#"SELECT "{table}"."task_id", "{table}"."{column}" FROM "{table}" WHERE {condition} ORDER BY "{table}"."{column}" ASC"#
                    );
                    &*Box::leak(sql.into_boxed_str())
                })
                .collect()
        };
        Self { assignees: make("task_assignees", "user_id"), labels: make("task_labels", "label") }
    }
}

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
    fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get(0)?,
            project_id: row.try_get(1)?,
            title: row.try_get(2)?,
            description: row.try_get(3)?,
            status: row.try_get(4)?,
            priority: row.try_get(5)?,
            start_time: row.try_get(6)?,
            due_time: row.try_get(7)?,
            position: row.try_get(8)?,
            creator_id: row.try_get(9)?,
            request_id: row.try_get(10)?,
            create_time: row.try_get(11)?,
            update_time: row.try_get(12)?,
            complete_time: row.try_get(13)?,
            delete_time: row.try_get(14)?,
            version: row.try_get(15)?,
        })
    }

    fn bind_all<'q>(
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
        }
        .encode_to_vec()
    }
}

/// What every raw call needs to know.
pub struct RawContext {
    pub session_id: String,
    pub user_id: String,
    pub project_id: String,
    pub relations: RelationQueries,
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// The auth layer and `Authorizer::require`: session, membership, project.
async fn authorize(pool: &PgPool, context: &RawContext) -> Result<(), Failure> {
    let session = sqlx::query(SESSION).bind(&context.session_id).bind(1i64).fetch_optional(pool).await?;
    let session = session.ok_or_else(|| Failure::other("raw: no session"))?;
    let _revoked: Option<i64> = session.try_get(6)?;
    let membership = sqlx::query(MEMBERSHIP)
        .bind(&context.project_id)
        .bind(&context.user_id)
        .bind(1i64)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Failure::other("raw: not a member"))?;
    let _role: i16 = membership.try_get(2)?;
    let project = sqlx::query(PROJECT)
        .bind(&context.project_id)
        .bind(1i64)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Failure::other("raw: no project"))?;
    let _archived: Option<i64> = project.try_get(7)?;
    Ok(())
}

fn bind_ids<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ids: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    if ids.is_empty() {
        return query.bind(1i32).bind(2i32);
    }
    for id in ids {
        query = query.bind(id);
    }
    query
}

/// Assignees and labels of `ids` (`storage::tasks::with_relations`), each
/// query on a connection of its own from the pool, as SeaORM does.
async fn relations(pool: &PgPool, context: &RawContext, ids: &[String]) -> Result<(usize, usize), Failure> {
    let ids = &ids[..ids.len().min(MAX_IN)];
    let assignees = bind_ids(sqlx::query(context.relations.assignees[ids.len()]), ids).fetch_all(pool).await?;
    let labels = bind_ids(sqlx::query(context.relations.labels[ids.len()]), ids).fetch_all(pool).await?;
    Ok((assignees.len(), labels.len()))
}

/// The same, inside a transaction.
async fn relations_in(
    connection: &mut PgConnection,
    context: &RawContext,
    id: &str,
) -> Result<(Vec<String>, Vec<String>), Failure> {
    let ids = [id.to_owned()];
    let assignees = bind_ids(sqlx::query(context.relations.assignees[1]), &ids).fetch_all(&mut *connection).await?;
    let labels = bind_ids(sqlx::query(context.relations.labels[1]), &ids).fetch_all(&mut *connection).await?;
    Ok((
        assignees.iter().map(|row| row.try_get(1)).collect::<Result<_, _>>()?,
        labels.iter().map(|row| row.try_get(1)).collect::<Result<_, _>>()?,
    ))
}

/// GetTask.
pub async fn get(pool: &PgPool, context: &RawContext, task_id: &str) -> Result<(), Failure> {
    authorize(pool, context).await?;
    let row = sqlx::query(TASK_BY_ID)
        .bind(task_id)
        .bind(&context.project_id)
        .bind(1i64)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Failure::other("raw: no task"))?;
    let task = TaskRow::from_row(&row)?;
    relations(pool, context, &[task.id]).await?;
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

/// ListTasks, first page of `page_size`.
pub async fn list(pool: &PgPool, context: &RawContext, filter: RawFilter, page_size: i64) -> Result<usize, Failure> {
    authorize(pool, context).await?;
    let query = match filter {
        RawFilter::StatusAtLeastPriority { status, priority } => {
            sqlx::query(LIST_STATUS_PRIORITY).bind(&context.project_id).bind(status).bind(priority)
        }
        RawFilter::Label(label) => sqlx::query(LIST_LABEL).bind(&context.project_id).bind(label),
    };
    let rows = query.bind(page_size + 1).fetch_all(pool).await?;
    let tasks = rows.iter().map(TaskRow::from_row).collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<String> = tasks.into_iter().take(page_size as usize).map(|task| task.id).collect();
    relations(pool, context, &ids).await?;
    Ok(ids.len())
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
    let existing = sqlx::query(TASK_BY_REQUEST_ID)
        .bind(&context.project_id)
        .bind(&new.request_id)
        .bind(1i64)
        .fetch_optional(pool)
        .await?;
    if let Some(existing) = existing {
        return Ok(TaskRow::from_row(&existing)?.id);
    }
    let now = now_micros();
    let mut task = TaskRow {
        id: new_id(),
        project_id: context.project_id.clone(),
        title: new.title.clone(),
        description: new.description.clone(),
        status: 1,
        priority: new.priority,
        start_time: None,
        due_time: None,
        position: 0,
        creator_id: context.user_id.clone(),
        request_id: Some(new.request_id.clone()),
        create_time: now,
        update_time: now,
        complete_time: None,
        delete_time: None,
        version: 1,
    };
    let mut txn = pool.begin().await?;
    let seq: i64 = sqlx::query(NEXT_EVENT_SEQ).bind(&context.project_id).fetch_one(&mut *txn).await?.try_get(0)?;
    let max: Option<i64> = sqlx::query(BOTTOM_OF_COLUMN)
        .bind(&context.project_id)
        .bind(task.status)
        .bind(1i64)
        .fetch_one(&mut *txn)
        .await?
        .try_get(0)?;
    task.position = max.map_or(0, |max| max + POSITION_GAP);
    task.bind_all(sqlx::query(INSERT_TASK)).fetch_one(&mut *txn).await?;
    sqlx::query(DELETE_ASSIGNEES).bind(&task.id).execute(&mut *txn).await?;
    sqlx::query(DELETE_LABELS).bind(&task.id).execute(&mut *txn).await?;
    sqlx::query(INSERT_LABEL).bind(&task.id).bind(&new.label).fetch_one(&mut *txn).await?;
    let labels = [new.label.clone()];
    let changes = serde_json::json!([
        {"field": "title", "old_value": "", "new_value": task.title},
        {"field": "description", "old_value": "", "new_value": task.description},
        {"field": "status", "old_value": "", "new_value": "TASK_STATUS_TODO"},
        {"field": "priority", "old_value": "", "new_value": "PRIORITY_HIGH"},
        {"field": "labels", "old_value": "", "new_value": new.label},
    ])
    .to_string();
    record_change(&mut txn, context, &task, seq, CREATED, changes, &labels, &[]).await?;
    txn.commit().await?;
    Ok(task.id)
}

#[allow(clippy::too_many_arguments, reason = "mirrors storage::tasks::record_change")]
async fn record_change(
    connection: &mut PgConnection,
    context: &RawContext,
    task: &TaskRow,
    seq: i64,
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
        .fetch_one(&mut *connection)
        .await?;
    sqlx::query(INSERT_EVENT)
        .bind(&task.project_id)
        .bind(seq)
        .bind(&task.id)
        .bind(&context.user_id)
        .bind(kind)
        .bind(task.encoded(labels, assignees))
        .bind(task.update_time)
        .fetch_one(&mut *connection)
        .await?;
    sqlx::query(NOTIFY).bind(NOTIFY_CHANNEL).bind(&task.project_id).fetch_one(&mut *connection).await?;
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
    let seq: i64 = sqlx::query(NEXT_EVENT_SEQ).bind(&context.project_id).fetch_one(&mut *txn).await?.try_get(0)?;
    let row = sqlx::query(TASK_BY_ID)
        .bind(task_id)
        .bind(&context.project_id)
        .bind(1i64)
        .fetch_optional(&mut *txn)
        .await?
        .ok_or_else(|| Failure::other("raw: no task"))?;
    let before = TaskRow::from_row(&row)?;
    let (assignees, labels) = relations_in(&mut txn, context, task_id).await?;
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
    record_change(&mut txn, context, &after, seq, UPDATED, changes, &labels, &assignees).await?;
    txn.commit().await?;
    Ok(after.version)
}
