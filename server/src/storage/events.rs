//! Each project's change feed (`task_events`), in sequence order.
//!
//! Writers append inside their own transaction ([`next_seq`], [`append`]),
//! which the tasks repository opens; readers page through the feed with
//! [`EventStore::after`].

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};

use super::entities::task_events;
use crate::domain::{ProjectId, UserId, time::Micros};

/// PostgreSQL channel that wakes watchers on other replicas.
pub const NOTIFY_CHANNEL: &str = "tasktracker_task_events";

/// Why a change feed operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    #[error("project {0} vanished during a write")]
    ProjectVanished(ProjectId),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The change feed repository.
#[derive(Clone)]
pub struct EventStore {
    db: DatabaseConnection,
}

/// One change to append to a project's feed.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub project: ProjectId,
    pub seq: i64,
    pub task_id: &'a str,
    pub actor: UserId,
    pub kind: i16,
    /// The task after the change, encoded for watchers.
    pub snapshot: Vec<u8>,
    pub time: Micros,
}

impl EventStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Events of `project` after `seq`, oldest first, at most `limit`.
    #[tracing::instrument(name = "db.events.after", skip_all, fields(otel.kind = "client"))]
    pub async fn after(
        &self,
        project: ProjectId,
        seq: i64,
        limit: u64,
    ) -> Result<Vec<task_events::Model>, EventStoreError> {
        Ok(task_events::Entity::find()
            .filter(task_events::Column::ProjectId.eq(project.to_string()))
            .filter(task_events::Column::Seq.gt(seq))
            .order_by_asc(task_events::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// Deletes events older than `before`; returns how many.
    pub async fn prune(&self, before: Micros) -> Result<u64, EventStoreError> {
        let deleted =
            task_events::Entity::delete_many().filter(task_events::Column::Time.lt(before)).exec(&self.db).await?;
        Ok(deleted.rows_affected)
    }
}

/// Takes the project's change-feed lock and the next event sequence number.
///
/// The row lock serialises a project's writers, so sequence numbers commit
/// in order: a watcher that has seen event n has seen every event before it.
/// Take it as late in the transaction as possible: it is held until commit.
#[tracing::instrument(name = "db.events.next_seq", skip_all, fields(otel.kind = "client"))]
pub(super) async fn next_seq(txn: &impl ConnectionTrait, project: ProjectId) -> Result<i64, EventStoreError> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "UPDATE projects SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
        _ => "UPDATE projects SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq",
    };
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [project.to_string().into()]))
        .await?
        .ok_or(EventStoreError::ProjectVanished(project))?;
    Ok(row.try_get("", "event_seq")?)
}

/// Appends `event` (with a wake-up for other replicas on PostgreSQL, sent
/// when the transaction commits).
#[tracing::instrument(name = "db.events.append", skip_all, fields(otel.kind = "client"))]
pub(super) async fn append(txn: &impl ConnectionTrait, event: NewEvent<'_>) -> Result<(), EventStoreError> {
    let project = event.project.to_string();
    task_events::Entity::insert(task_events::ActiveModel {
        project_id: Set(project.clone()),
        seq: Set(event.seq),
        task_id: Set(event.task_id.to_owned()),
        actor_id: Set(event.actor.to_string()),
        kind: Set(event.kind),
        task: Set(event.snapshot),
        time: Set(event.time),
    })
    .exec(txn)
    .await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [NOTIFY_CHANNEL.into(), project.into()],
        ))
        .await?;
    }
    Ok(())
}
