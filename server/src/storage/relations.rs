//! Typed relations between tasks of a project (blocks, duplicates, relates
//! to).
//!
//! A relation is stored as two rows of `task_relations`, one per side,
//! under the same relation id: "A blocks B" is `(A, B, BLOCKS)` and
//! `(B, A, BLOCKED_BY)` (see the migration `m20261210_000001_task_relations`).
//! So a task's relations, both directions, are one range of the primary key
//! `(task_id, id)`, and a delete removes both rows by that key in one
//! statement. Purging a task cascades to both sides' rows.
//!
//! Every change runs in one transaction that takes, in this order, the
//! project's placement lock (so it never waits for a task row that a move
//! renumbering its column holds while the move waits for it), both tasks'
//! rows (in id order), and last the project's feed lock, as task writes do.
//! Holding the tasks' rows makes the checks (duplicates, cycles of two, the
//! cap) race-free, and orders a new blocker against the blocked task's
//! completion: whichever commits first, the other sees it.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryResult,
    SqlErr, Statement, TransactionTrait, Value,
};

use super::{
    comments::FieldChange,
    entities::task_relations,
    placeholders,
    tasks::{self, History, ParentError, TaskRecord, TaskStoreError},
};
use crate::domain::{
    ProjectId, RelationId, RelationKind, RelationName, TaskId, TaskName, TaskStatus, UserId,
    time::{self, Micros},
};

/// Most relations per task (both directions together).
pub const MAX_RELATIONS: i64 = 200;

/// Why a relation operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RelationStoreError {
    /// No such relation under the task.
    #[error("relation not found")]
    NotFound,
    /// The task the relation is created under is gone.
    #[error("task not found")]
    TaskNotFound,
    /// The task the relation is created under is deleted.
    #[error("the task is deleted")]
    TaskDeleted,
    /// The other task cannot be related: not in the project, or deleted.
    #[error("{0}")]
    OtherTask(ParentError),
    /// The same relation exists (perhaps created from the other side).
    #[error("the relation exists")]
    AlreadyExists,
    /// The inverse relation exists: together they would be a cycle of two.
    #[error("the other task already {0:?} this one")]
    Cycle(RelationKind),
    /// One of the tasks has [`MAX_RELATIONS`] relations.
    #[error("a task has at most {MAX_RELATIONS} relations")]
    TooMany,
    #[error(transparent)]
    Tasks(#[from] TaskStoreError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A relation to create: `task` `kind` `other` ("A blocks B").
#[derive(Debug, Clone, Copy)]
pub struct NewRelation {
    pub task: TaskName,
    pub other: TaskId,
    pub kind: RelationKind,
    pub creator: UserId,
}

/// One side of a relation with what a client shows of the other task.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub row: task_relations::Model,
    /// The other task's project (the same as the task's).
    pub project_id: String,
    pub title: String,
    pub state_id: Option<String>,
    /// The category of the other task's workflow state, as stored.
    pub category: Option<i16>,
    pub complete_time: Option<Micros>,
    pub delete_time: Option<Micros>,
}

/// The relations repository.
#[derive(Clone)]
pub struct RelationStore {
    db: DatabaseConnection,
}

/// A task's relations with the other task's title, state and times: on the
/// primary key `(task_id, id)`, then one row of `tasks` and of
/// `workflow_states` each by primary key.
fn related_query(condition: &str) -> String {
    format!(
        r#"SELECT "r"."task_id", "r"."id", "r"."other_task_id", "r"."kind", "r"."creator_id", "r"."create_time",
                  "t"."project_id", "t"."title", "t"."state_id", "t"."complete_time", "t"."delete_time",
                  "ws"."category"
           FROM "task_relations" AS "r"
           JOIN "tasks" AS "t" ON "t"."id" = "r"."other_task_id"
           LEFT JOIN "workflow_states" AS "ws" ON "ws"."id" = "t"."state_id"
           WHERE {condition}
           ORDER BY "r"."id""#
    )
}

fn related_of(row: &QueryResult) -> Result<Related, DbErr> {
    Ok(Related {
        row: task_relations::Model {
            task_id: row.try_get("", "task_id")?,
            id: row.try_get("", "id")?,
            other_task_id: row.try_get("", "other_task_id")?,
            kind: row.try_get("", "kind")?,
            creator_id: row.try_get("", "creator_id")?,
            create_time: row.try_get("", "create_time")?,
        },
        project_id: row.try_get("", "project_id")?,
        title: row.try_get("", "title")?,
        state_id: row.try_get("", "state_id")?,
        category: row.try_get("", "category")?,
        complete_time: row.try_get("", "complete_time")?,
        delete_time: row.try_get("", "delete_time")?,
    })
}

/// Locks the placement lock of `project`, then the rows of `first` and
/// `second` in id order; returns them in argument order (`None` for a task
/// the project does not have).
async fn lock_pair(
    txn: &sea_orm::DatabaseTransaction,
    project: ProjectId,
    first: TaskId,
    second: TaskId,
) -> Result<(Option<TaskRecord>, Option<TaskRecord>), RelationStoreError> {
    tasks::lock_placement(txn, project).await?;
    let name = |task| TaskName { project, task };
    if first.to_string() <= second.to_string() {
        let a = tasks::find_for_update(txn, name(first)).await?;
        let b = tasks::find_for_update(txn, name(second)).await?;
        Ok((a, b))
    } else {
        let b = tasks::find_for_update(txn, name(second)).await?;
        let a = tasks::find_for_update(txn, name(first)).await?;
        Ok((a, b))
    }
}

/// Records one side's change: `field` (the kind seen from `record`) from
/// `old` to `new`, in history and feed.
async fn record_side(
    txn: &sea_orm::DatabaseTransaction,
    record: &TaskRecord,
    (field, old, new): (RelationKind, String, String),
    (actor, kind, now): (UserId, i16, Micros),
    snapshot: &impl Fn(&TaskRecord) -> Vec<u8>,
) -> Result<(), RelationStoreError> {
    let change = FieldChange { field: field.field().into(), old_value: old, new_value: new };
    let history = History { changes: vec![change], snapshot: snapshot(record) };
    tasks::record_change_at(txn, record, kind, history, actor, now).await?;
    Ok(())
}

impl RelationStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// A page of `task`'s relations, oldest first: up to `limit` after the
    /// relation `after`.
    #[tracing::instrument(name = "db.relations.list", skip_all, fields(otel.kind = "client"))]
    pub async fn list(
        &self,
        task: TaskId,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Related>, RelationStoreError> {
        let backend = self.db.get_database_backend();
        let [first, second] = placeholders::<2>(backend);
        let mut values: Vec<Value> = vec![task.to_string().into()];
        let condition = match after {
            Some(after) => {
                values.push(after.into());
                format!(r#""r"."task_id" = {first} AND "r"."id" > {second}"#)
            }
            None => format!(r#""r"."task_id" = {first}"#),
        };
        let sql = format!("{} LIMIT {limit}", related_query(&condition));
        let rows = self.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        Ok(rows.iter().map(related_of).collect::<Result<_, _>>()?)
    }

    /// Creates the relation and its inverse side, each recorded in its
    /// task's history and the feed (the task as watchers get it encoded by
    /// `snapshot`), in one transaction. Returns the side of `new.task`.
    #[tracing::instrument(name = "db.relations.create", skip_all, fields(otel.kind = "client"))]
    pub async fn create(
        &self,
        new: NewRelation,
        kind: i16,
        snapshot: impl Fn(&TaskRecord) -> Vec<u8>,
    ) -> Result<Related, RelationStoreError> {
        let txn = self.db.begin().await?;
        let (own, other) = lock_pair(&txn, new.task.project, new.task.task, new.other).await?;
        let own = own.ok_or(RelationStoreError::TaskNotFound)?;
        let other = other.ok_or(RelationStoreError::OtherTask(ParentError::NotInProject))?;
        if own.task.delete_time.is_some() {
            return Err(RelationStoreError::TaskDeleted);
        }
        if other.task.delete_time.is_some() {
            return Err(RelationStoreError::OtherTask(ParentError::Deleted));
        }
        let backend = txn.get_database_backend();
        let [first, second] = placeholders::<2>(backend);
        let (own_id, other_id) = (own.task.id.clone(), other.task.id.clone());
        let existing =
            format!(r#"SELECT "kind" FROM "task_relations" WHERE "task_id" = {first} AND "other_task_id" = {second}"#);
        let values = [own_id.clone().into(), other_id.clone().into()];
        let kinds = txn
            .query_all_raw(Statement::from_sql_and_values(backend, existing, values))
            .await?
            .iter()
            .map(|row| row.try_get::<i16>("", "kind").map(RelationKind::from_stored))
            .collect::<Result<Vec<_>, DbErr>>()?;
        if kinds.contains(&new.kind) {
            return Err(RelationStoreError::AlreadyExists);
        }
        if new.kind.directed() && kinds.contains(&new.kind.inverse()) {
            return Err(RelationStoreError::Cycle(new.kind));
        }
        let counts = format!(
            r#"SELECT COUNT(*) AS "relations" FROM "task_relations" WHERE "task_id" = {first}
               UNION ALL SELECT COUNT(*) FROM "task_relations" WHERE "task_id" = {second}"#
        );
        let values = [own_id.clone().into(), other_id.clone().into()];
        for row in txn.query_all_raw(Statement::from_sql_and_values(backend, counts, values)).await? {
            if row.try_get_by_index::<i64>(0)? >= MAX_RELATIONS {
                return Err(RelationStoreError::TooMany);
            }
        }
        let (id, now) = (RelationId::generate().to_string(), time::now());
        let side = |task: &str, other: &str, kind: RelationKind| task_relations::ActiveModel {
            task_id: Set(task.to_owned()),
            id: Set(id.clone()),
            other_task_id: Set(other.to_owned()),
            kind: Set(kind.stored()),
            creator_id: Set(new.creator.to_string()),
            create_time: Set(now),
        };
        let rows = [side(&own_id, &other_id, new.kind), side(&other_id, &own_id, new.kind.inverse())];
        if let Err(error) = task_relations::Entity::insert_many(rows).exec_without_returning(&txn).await {
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => RelationStoreError::AlreadyExists,
                _ => error.into(),
            });
        }
        let actor = (new.creator, kind, now);
        let added = |record: &TaskRecord| record.name().to_string();
        record_side(&txn, &own, (new.kind, String::new(), added(&other)), actor, &snapshot).await?;
        record_side(&txn, &other, (new.kind.inverse(), String::new(), added(&own)), actor, &snapshot).await?;
        let [first, second] = placeholders::<2>(backend);
        let sql = related_query(&format!(r#""r"."task_id" = {first} AND "r"."id" = {second}"#));
        let values = [own_id.into(), id.into()];
        let row = txn.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let created = related_of(&row.ok_or(RelationStoreError::NotFound)?)?;
        txn.commit().await?;
        Ok(created)
    }

    /// Deletes the relation `name` (both sides), recording it in both
    /// tasks' histories and the feed, in one transaction.
    #[tracing::instrument(name = "db.relations.delete", skip_all, fields(otel.kind = "client"))]
    pub async fn delete(
        &self,
        name: RelationName,
        (actor, kind): (UserId, i16),
        snapshot: impl Fn(&TaskRecord) -> Vec<u8>,
    ) -> Result<(), RelationStoreError> {
        let txn = self.db.begin().await?;
        let key = (name.task.task.to_string(), name.relation.to_string());
        let Some(side) = task_relations::Entity::find_by_id(key.clone()).one(&txn).await? else {
            return Err(RelationStoreError::NotFound);
        };
        let other = TaskId::from_stored(&side.other_task_id);
        let (own, other) = lock_pair(&txn, name.task.project, name.task.task, other).await?;
        let (Some(own), Some(other)) = (own, other) else {
            return Err(RelationStoreError::NotFound);
        };
        let deleted = task_relations::Entity::delete_many()
            .filter(task_relations::Column::Id.eq(key.1.as_str()))
            .filter(task_relations::Column::TaskId.is_in([own.task.id.clone(), other.task.id.clone()]))
            .exec(&txn)
            .await?;
        // A concurrent delete got there first.
        if deleted.rows_affected != 2 {
            return Err(RelationStoreError::NotFound);
        }
        let kind_seen = RelationKind::from_stored(side.kind);
        let actor = (actor, kind, time::now());
        let removed = |record: &TaskRecord| record.name().to_string();
        record_side(&txn, &own, (kind_seen, removed(&other), String::new()), actor, &snapshot).await?;
        record_side(&txn, &other, (kind_seen.inverse(), removed(&own), String::new()), actor, &snapshot).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Names and titles of the tasks that block `task` and are open: not
/// deleted, and not in a COMPLETED or CANCELED state (status DONE), in id
/// order; on the primary key `(task_id, id)` and the tasks' primary key.
/// Called inside the transaction that moves `task`, which holds its row:
/// a blocker added meanwhile either committed first (and is seen) or waits
/// for that row (and finds the task complete).
pub(super) async fn open_blockers(
    txn: &impl ConnectionTrait,
    project: ProjectId,
    task: &str,
) -> Result<Vec<(TaskName, String)>, DbErr> {
    let backend = txn.get_database_backend();
    let [first, second, third] = placeholders::<3>(backend);
    let sql = format!(
        r#"SELECT "t"."id", "t"."title" FROM "task_relations" AS "r"
           JOIN "tasks" AS "t" ON "t"."id" = "r"."other_task_id"
           WHERE "r"."task_id" = {first} AND "r"."kind" = {second}
             AND "t"."status" <> {third} AND "t"."delete_time" IS NULL
           ORDER BY "t"."id""#
    );
    let values: [Value; 3] = [task.into(), RelationKind::BlockedBy.stored().into(), TaskStatus::Done.stored().into()];
    let rows = txn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("", "id")?;
            Ok((TaskName { project, task: TaskId::from_stored(&id) }, row.try_get("", "title")?))
        })
        .collect()
}
