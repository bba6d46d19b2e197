//! Each project's change feed (`task_events`), in sequence order.
//!
//! Writers append inside their own transaction ([`append`]), which the
//! tasks repository opens; readers page through the feed with
//! [`EventStore::after`].

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
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

/// Appends `event` under the next sequence number of its project, and
/// returns that number.
///
/// Taking the number locks the project's row until commit. The lock
/// serialises a project's writers, so sequence numbers commit in order: a
/// watcher that has seen event n has seen every event before it. Call this
/// last in the transaction, so the lock is held for the shortest time. On
/// PostgreSQL it is one statement: the number, the event and the wake-up for
/// other replicas (sent when the transaction commits).
#[tracing::instrument(name = "db.events.append", skip_all, fields(otel.kind = "client"))]
pub(super) async fn append(txn: &impl ConnectionTrait, event: NewEvent<'_>) -> Result<i64, EventStoreError> {
    let backend = txn.get_database_backend();
    let project = event.project.to_string();
    let values = [
        project.clone().into(),
        event.task_id.into(),
        event.actor.to_string().into(),
        event.kind.into(),
        event.snapshot.into(),
        event.time.into(),
    ];
    if backend == DbBackend::Postgres {
        const APPEND: &str = "WITH next AS (UPDATE projects SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq), \
             appended AS (INSERT INTO task_events (project_id, seq, task_id, actor_id, kind, task, time) \
             SELECT $1, event_seq, $2, $3, $4, $5, $6 FROM next RETURNING seq) \
             SELECT appended.seq FROM appended, pg_notify($7, $1)";
        let values = values.into_iter().chain([NOTIFY_CHANNEL.into()]);
        let row = txn.query_one_raw(Statement::from_sql_and_values(backend, APPEND, values)).await?;
        return Ok(row.ok_or(EventStoreError::ProjectVanished(event.project))?.try_get("", "seq")?);
    }
    // SQLite has no data-changing CTEs; its writers are serialised anyway.
    let next = "UPDATE projects SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq";
    let row = txn.query_one_raw(Statement::from_sql_and_values(backend, next, [project.into()])).await?;
    let seq: i64 = row.ok_or(EventStoreError::ProjectVanished(event.project))?.try_get("", "event_seq")?;
    let [project, task_id, actor_id, kind, task, time] = values;
    let insert =
        "INSERT INTO task_events (project_id, seq, task_id, actor_id, kind, task, time) VALUES (?, ?, ?, ?, ?, ?, ?)";
    let values = [project, seq.into(), task_id, actor_id, kind, task, time];
    txn.execute_raw(Statement::from_sql_and_values(backend, insert, values)).await?;
    Ok(seq)
}
