//! The minimal baseline: the least SQL that could answer each benchmarked
//! call, sent straight to PostgreSQL through sqlx with prepared statements.
//! It is the limit any design of the API can approach, where [`crate::raw`]
//! replays the server's own statements and so measures only the layers.
//!
//! - get: one primary-key `SELECT` of the task row;
//! - list, list_state, list_field: one indexed `SELECT` of the page, with
//!   the same filter and order (list_state: with the task's state);
//! - create: one `INSERT` in a transaction;
//! - update: one version-guarded `UPDATE` in a transaction.
//!
//! No authorization, no relations, no history, no change feed: the ratio
//! against it is what all of that, and the API, cost together.

use sqlx::{PgPool, Row};

use crate::{
    load::Failure,
    raw::{INSERT_TASK, RawContext, RawFilter, TaskRow},
};

/// The task columns, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, project_id, title, description, status, priority, start_time, due_time, position, creator_id, \
         request_id, create_time, update_time, complete_time, delete_time, version"
    };
}

const GET: &str = concat!("SELECT ", columns!(), " FROM tasks WHERE id = $1");
const LIST_STATUS_PRIORITY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tasks WHERE project_id = $1 AND delete_time IS NULL AND status = $2 AND priority >= $3 \
     ORDER BY position, id LIMIT $4"
);
const LIST_LABEL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tasks WHERE project_id = $1 AND delete_time IS NULL \
     AND id IN (SELECT task_id FROM task_labels WHERE label = $2) ORDER BY position, id LIMIT $3"
);
const LIST_STATE: &str = concat!(
    "SELECT ",
    columns!(),
    ", state_id FROM tasks WHERE project_id = $1 AND delete_time IS NULL AND state_id = $2 \
     ORDER BY position, id LIMIT $3"
);
const LIST_FIELD_MINIMAL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tasks WHERE project_id = $1 AND delete_time IS NULL \
     AND id IN (SELECT task_id FROM task_field_values WHERE field_id = $2 AND number_value >= $3) \
     ORDER BY position, id LIMIT $4"
);
const UPDATE_TITLE: &str = "UPDATE tasks SET title = $1, update_time = $2, version = version + 1 \
                            WHERE id = $3 AND version = $4 RETURNING version";

/// GetTask: the task row by primary key.
pub async fn get(pool: &PgPool, task_id: &str) -> Result<(), Failure> {
    let row = sqlx::query(GET).bind(task_id).fetch_optional(pool).await?;
    TaskRow::from_row(&row.ok_or_else(|| Failure::other("minimal: no task"))?)?;
    Ok(())
}

/// ListTasks: one page; returns how many rows it holds.
pub async fn list(pool: &PgPool, context: &RawContext, filter: RawFilter, page_size: i64) -> Result<usize, Failure> {
    let query = match filter {
        RawFilter::StatusAtLeastPriority { status, priority } => {
            sqlx::query(LIST_STATUS_PRIORITY).bind(&context.project_id).bind(status).bind(priority)
        }
        RawFilter::Label(label) => sqlx::query(LIST_LABEL).bind(&context.project_id).bind(label),
    };
    let rows = query.bind(page_size).fetch_all(pool).await?;
    Ok(rows.iter().map(TaskRow::from_row).collect::<Result<Vec<_>, _>>()?.len())
}

/// ListTasks filtered on the state `state_id`: one page on the
/// `(project_id, state_id, position, id)` index; returns how many rows it holds.
pub async fn list_state(pool: &PgPool, context: &RawContext, state_id: &str, page_size: i64) -> Result<usize, Failure> {
    let rows = sqlx::query(LIST_STATE).bind(&context.project_id).bind(state_id).bind(page_size).fetch_all(pool).await?;
    for row in &rows {
        TaskRow::from_row(row)?;
        let _state: Option<String> = row.try_get("state_id")?;
    }
    Ok(rows.len())
}

/// ListTasks filtered on a custom NUMBER field (`cf.<key> >= bound`): one
/// page, its task ids from the field's `(field_id, number_value, task_id)`
/// index; returns how many rows it holds.
pub async fn list_field(
    pool: &PgPool,
    context: &RawContext,
    field_id: &str,
    bound: f64,
    page_size: i64,
) -> Result<usize, Failure> {
    let rows = sqlx::query(LIST_FIELD_MINIMAL)
        .bind(&context.project_id)
        .bind(field_id)
        .bind(bound)
        .bind(page_size)
        .fetch_all(pool)
        .await?;
    for row in &rows {
        TaskRow::from_row(row)?;
    }
    Ok(rows.len())
}

/// Where minimal creates put their tasks: below every seeded and created
/// task (the minimal SQL does not look for the bottom of the column), so
/// they do not crowd the first pages the `list` scenario reads.
pub const BOTTOM: i64 = i64::MAX / 2;

/// CreateTask: the task row, inserted in a transaction of its own.
pub async fn create(pool: &PgPool, task: &TaskRow) -> Result<(), Failure> {
    let mut txn = pool.begin().await?;
    task.bind_all(sqlx::query(INSERT_TASK)).execute(&mut *txn).await?;
    txn.commit().await?;
    Ok(())
}

/// UpdateTask of the title, guarded by `etag`; returns the new version.
pub async fn update_title(pool: &PgPool, task_id: &str, etag: i64, title: &str, now: i64) -> Result<i64, Failure> {
    let mut txn = pool.begin().await?;
    let row =
        sqlx::query(UPDATE_TITLE).bind(title).bind(now).bind(task_id).bind(etag).fetch_optional(&mut *txn).await?;
    let version = row.ok_or_else(|| Failure::other("Aborted"))?.try_get(0)?;
    txn.commit().await?;
    Ok(version)
}
