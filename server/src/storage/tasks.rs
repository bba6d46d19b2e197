//! Tasks with their assignees, labels and workflow state: reading them (one
//! task, or a filtered, ordered page), turning the parsed filter into SQL,
//! and writing them in one transaction with their history entry and change
//! feed event.

mod import;
mod search;

use std::{collections::BTreeMap, sync::Mutex, time::Instant};

use prometheus_client::metrics::histogram::Histogram;

use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    FromQueryResult, Iterable, Order, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select, SqlErr,
    Statement, TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait, Func, JoinType, LikeExpr, LockType, Query, SimpleExpr},
};

use super::{
    comments::{self, CommentStoreError, FieldChange},
    entities::{
        custom_fields, memberships, projects, task_assignees, task_field_values, task_labels, task_relations,
        task_series, tasks,
    },
    events::{self, EventStoreError, NewEvent},
    notifications::{self, InboxSignals},
    states::Column,
};
use crate::domain::{
    ProjectId, RelationKind, RequestId, TaskId, TaskName, TaskStatus, UserId,
    fields::{FieldType, FieldValue},
    filter::{Assignee, Blocking, Comparison, CustomCondition, CustomTerm, CustomTest, Filter, TextField, TimeField},
    page::{Cursor, CustomSort, CustomSortKind, SortKey, TaskOrder, TaskOrderField},
    recurrence::Recurrence,
    time::{self, Micros},
};

pub use self::{
    import::{ImportOutcome, NewImport},
    search::{SearchHit, SearchQuery},
};

/// How long a deleted task stays recoverable.
pub const DELETED_RETENTION: i64 = time::seconds(30 * time::DAY);
/// Space left between neighbours in a column, so most moves write one row.
const POSITION_GAP: i64 = 1 << 20;
/// Most tasks in a chain of subtasks, from a top-level task down to its
/// deepest subtask.
pub const MAX_DEPTH: usize = 5;
/// First key of the projects' placement advisory locks (the second is a
/// hash of the project id): "ttpl".
const PLACEMENT_LOCK_CLASS: i32 = 0x7474_706c;

/// Why a task operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskStoreError {
    #[error("task not found")]
    NotFound,
    /// A create with this request id committed first.
    #[error("a task with this request id exists")]
    DuplicateRequest,
    /// The task changed since it was read.
    #[error("the task changed meanwhile")]
    Stale,
    /// `after` names no live task of the target column.
    #[error("no such neighbour in the column")]
    NoSuchNeighbour,
    /// The project enforces WIP limits and the target state is at its own.
    #[error("the state \"{state}\" is at its WIP limit of {limit} tasks")]
    ColumnFull { state: String, limit: i32 },
    /// The parent a write names cannot be the task's.
    #[error("{0}")]
    Parent(ParentError),
    /// A value the write sets is of a custom field (this key) that was
    /// deleted after the value was checked.
    #[error("the project has no custom field `{0}`; it was deleted meanwhile")]
    FieldDeleted(String),
    #[error(transparent)]
    Events(#[from] EventStoreError),
    #[error(transparent)]
    History(#[from] CommentStoreError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Why a task cannot be another's subtask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParentError {
    #[error("names no task of the project")]
    NotInProject,
    #[error("names a deleted task")]
    Deleted,
    #[error("would make the task its own ancestor")]
    Cycle,
    #[error("would make a chain of more than {MAX_DEPTH} tasks from a top-level task down to its deepest subtask")]
    TooDeep,
}

/// A task's subtasks that are not deleted, and how many of them are done
/// (in a COMPLETED state: `complete_time` set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rollup {
    pub total: i64,
    pub done: i64,
}

/// A task with its assignees, labels and workflow state.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub task: tasks::Model,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    /// The id of the task's workflow state: `task.state_id` as read (the
    /// database keeps it in step with `status` for rows of the previous
    /// release); `None` only while the project has no state for the status.
    /// A write stores it back in `task.state_id`.
    pub state: Option<String>,
    /// Read with the task; a write leaves it as read.
    pub subtasks: Rollup,
    /// Values of the project's custom fields, by key; read in the task's
    /// statement, and written with the task when they changed.
    pub custom_fields: BTreeMap<String, CustomValue>,
    /// The recurrence of the task's series, read with the task; `None` for
    /// a one-off task and once the series is stopped. Written through the
    /// series ([`TaskWriter::save_series`]), never with the task.
    pub recurrence: Option<Recurrence>,
}

/// A task a write creates besides the ones it changes (the next
/// occurrence of a recurring task, and its subtasks), with what its
/// creation records.
struct Created {
    record: TaskRecord,
    kind: i16,
    history: History,
}

/// What a batch committed: each task before and after, in the batch's
/// order, and the tasks it created (next occurrences and their subtasks).
pub struct Committed {
    pub changed: Vec<(TaskRecord, TaskRecord)>,
    pub created: Vec<TaskRecord>,
}

/// A task's value of one custom field.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomValue {
    /// The field's id.
    pub field_id: String,
    pub value: FieldValue,
}

impl TaskRecord {
    pub fn name(&self) -> TaskName {
        TaskName { project: ProjectId::from_stored(&self.task.project_id), task: TaskId::from_stored(&self.task.id) }
    }

    /// Puts the task in `column`'s state (and status), stamping or clearing
    /// the completion time as the state's category says.
    pub fn enter(&mut self, column: &Column, now: Micros) {
        let was_complete = self.task.complete_time.is_some();
        self.state = Some(column.state.id.clone());
        self.task.status = column.status().stored();
        self.task.complete_time = match (column.completes(), was_complete) {
            (true, true) => self.task.complete_time,
            (true, false) => Some(now),
            (false, _) => None,
        };
    }
}

/// A member's standing in a project and one of its tasks, read together.
#[derive(Debug, Clone)]
pub struct MemberTask {
    /// The member's role, as stored.
    pub role: i16,
    pub project_archived: bool,
    /// The project refuses members without two-factor authentication.
    pub project_requires_two_factor: bool,
    /// The member has confirmed two-factor authentication.
    pub two_factor: bool,
    /// The task, if the project has one of that name.
    pub task: Option<TaskRecord>,
}

/// What a write records besides the task: its history entry's field
/// changes, and the task as watchers receive it (encoded by the caller).
#[derive(Debug, Clone)]
pub struct History {
    pub changes: Vec<FieldChange>,
    pub snapshot: Vec<u8>,
}

/// Whether a change may place its task between neighbours, which can
/// renumber a whole column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The task keeps its place, or goes to the bottom of a column.
    Keep,
    /// The task goes between neighbours ([`TaskWriter::position_after`]).
    Between,
}

/// One page of a project's tasks.
pub struct TaskQuery<'a> {
    pub project: ProjectId,
    pub filter: Option<&'a Filter>,
    pub caller: UserId,
    pub order: TaskOrder,
    pub show_deleted: bool,
    pub after: Option<&'a Cursor>,
    /// Rows to fetch.
    pub limit: u64,
}

/// The tasks repository.
#[derive(Clone)]
pub struct TaskStore {
    db: DatabaseConnection,
    timings: WriteTimings,
    inbox: InboxSignals,
}

/// How long writes take, and how long of that they hold their project's
/// feed lock (from taking the event number to the end of the commit).
#[derive(Clone)]
pub struct WriteTimings {
    pub transaction: Histogram,
    pub feed_lock: Histogram,
}

impl WriteTimings {
    fn observe(&self, started: Instant, locked: Instant) {
        let now = Instant::now();
        self.transaction.observe(now.duration_since(started).as_secs_f64());
        self.feed_lock.observe(now.duration_since(locked).as_secs_f64());
    }
}

impl TaskStore {
    pub fn new(db: DatabaseConnection, timings: WriteTimings, inbox: InboxSignals) -> Self {
        Self { db, timings, inbox }
    }

    #[cfg(test)]
    pub(super) fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// `user`'s standing in the project of `name` and the task, in one
    /// statement: nothing if `user` is not a member, so the caller can
    /// refuse a non-member without learning whether the task exists.
    #[tracing::instrument(name = "db.tasks.find_as_member", skip_all, fields(otel.kind = "client"))]
    pub async fn find_as_member(&self, name: TaskName, user: UserId) -> Result<Option<MemberTask>, TaskStoreError> {
        let member = |column: memberships::Column| Expr::col((memberships::Entity, column));
        let task = |column: tasks::Column| Expr::col((tasks::Entity, column));
        let mut select = Query::select();
        select
            .expr_as(member(memberships::Column::Role), "member_role")
            .expr_as(Expr::col((projects::Entity, projects::Column::ArchiveTime)), "project_archive_time")
            .expr_as(Expr::col((projects::Entity, projects::Column::RequireTwoFactor)), "project_require_two_factor")
            .expr_as(super::projects::has_two_factor(member(memberships::Column::UserId)), "member_two_factor")
            .columns(tasks::Column::iter().map(|column| (tasks::Entity, column)))
            .from(memberships::Entity)
            .inner_join(
                projects::Entity,
                Expr::col((projects::Entity, projects::Column::Id)).eq(member(memberships::Column::ProjectId)),
            )
            .left_join(
                tasks::Entity,
                task(tasks::Column::ProjectId)
                    .eq(member(memberships::Column::ProjectId))
                    .and(task(tasks::Column::Id).eq(name.task.to_string())),
            )
            .and_where(member(memberships::Column::ProjectId).eq(name.project.to_string()))
            .and_where(member(memberships::Column::UserId).eq(user.to_string()));
        for (list, alias) in computed_columns(self.db.get_database_backend()) {
            select.expr_as(list, alias);
        }
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(None);
        };
        let found: Option<String> = row.try_get("", "id")?;
        Ok(Some(MemberTask {
            role: row.try_get("", "member_role")?,
            project_archived: row.try_get::<Option<i64>>("", "project_archive_time")?.is_some(),
            project_requires_two_factor: row.try_get("", "project_require_two_factor")?,
            two_factor: row.try_get("", "member_two_factor")?,
            task: found.map(|_| record_of(&row)).transpose()?,
        }))
    }

    /// The task a create with `request_id` made in `project`, if any.
    pub async fn find_by_request_id(
        &self,
        project: ProjectId,
        request_id: &RequestId,
    ) -> Result<Option<TaskRecord>, TaskStoreError> {
        let select = tasks::Entity::find()
            .filter(tasks::Column::ProjectId.eq(project.to_string()))
            .filter(tasks::Column::RequestId.eq(request_id.as_str()));
        Ok(fetch(&self.db, select).await?.pop())
    }

    /// Those of `users` who are members of `project`, and may be assigned.
    pub async fn assignable(&self, project: ProjectId, users: &[String]) -> Result<Vec<String>, TaskStoreError> {
        Ok(memberships::Entity::find()
            .select_only()
            .column(memberships::Column::UserId)
            .filter(memberships::Column::ProjectId.eq(project.to_string()))
            .filter(memberships::Column::UserId.is_in(users.to_vec()))
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// A page of tasks: up to `query.limit` rows after `query.after`.
    #[tracing::instrument(name = "db.tasks.list", skip_all, fields(otel.kind = "client"))]
    pub async fn list(&self, query: TaskQuery<'_>) -> Result<Vec<TaskRecord>, TaskStoreError> {
        if let TaskOrderField::Custom(Some(sort)) = query.order.field {
            return self.list_by_custom(&query, sort).await;
        }
        let key = sort_key(query.order);
        let mut select = listed(&query, self.db.get_database_backend());
        if let Some(after) = query.after {
            let value: sea_orm::Value = match &after.key {
                Some(SortKey::Integer(value)) => (*value).into(),
                Some(SortKey::Number(value)) => (*value).into(),
                Some(SortKey::Text(value)) => value.clone().into(),
                // Tokens of task lists always carry a key; tampered ones are
                // refused by their fingerprint before they get here.
                None => return Ok(Vec::new()),
            };
            select = select.filter(keyset(
                query.order.descending,
                key.clone(),
                Expr::col(tasks::Column::Id),
                value,
                &after.id,
            ));
        }
        let direction = if query.order.descending { Order::Desc } else { Order::Asc };
        let select = select.order_by(key, direction.clone()).order_by(tasks::Column::Id, direction).limit(query.limit);
        fetch(&self.db, select).await
    }

    /// A page in the order of a custom field: the tasks with a value, in
    /// the order of the values (ties by id), then those without one, by id,
    /// both in the order's direction — the order of [`sort_key`], read in
    /// two parts so that neither sorts the project. The first walks the
    /// field's `(field_id, <typed column>, task_id)` index from the token's
    /// value on (`"sort_value"` joined to its task), and stops at the page;
    /// the second, run only if the first did not fill the page, reads the
    /// tasks without a value (an anti-join on the values' primary key) in
    /// id order.
    async fn list_by_custom(&self, query: &TaskQuery<'_>, sort: CustomSort) -> Result<Vec<TaskRecord>, TaskStoreError> {
        let backend = self.db.get_database_backend();
        let start = match query.after {
            None => CustomStart::Values(None),
            Some(after) => match custom_after(query.order, sort.kind, after.key.as_ref()) {
                Some(CustomStart::Values(value)) => CustomStart::Values(value.map(|value| (value, after.id.as_str()))),
                Some(CustomStart::Missing(())) => CustomStart::Missing(after.id.as_str()),
                None => return Ok(Vec::new()),
            },
        };
        let (mut records, tail_after) = match start {
            CustomStart::Values(after) => (fetch(&self.db, with_values(query, sort, after, backend)).await?, None),
            CustomStart::Missing(after_id) => (Vec::new(), Some(after_id)),
        };
        let rest = query.limit.saturating_sub(records.len() as u64);
        // A filter that only tasks with a value pass (`cf.estimate >= 13`
        // ordered by `cf.estimate`) leaves none for the second part, which
        // would read the whole project to find that out.
        let has_tail = !query.filter.is_some_and(|filter| requires_value(filter, &sort.field.to_string()));
        if rest > 0 && has_tail {
            records.extend(fetch(&self.db, without_value(query, sort, (tail_after, rest), backend)).await?);
        }
        Ok(records)
    }

    /// Inserts a new task at the bottom of `column` (which it must have
    /// room in), with its history entry and feed event, in one transaction.
    ///
    /// A `series` (the task is its first occurrence) is inserted first.
    pub async fn create(
        &self,
        mut record: TaskRecord,
        (column, series): (&Column, Option<task_series::Model>),
        kind: i16,
        describe: impl FnOnce(&TaskRecord) -> History,
    ) -> Result<TaskRecord, TaskStoreError> {
        let started = Instant::now();
        let project = ProjectId::from_stored(&record.task.project_id);
        let txn = self.db.begin().await?;
        // Counting against a WIP limit, and checking a parent's chain, take
        // the lock moves take.
        let placement = if column.enforced_limit.is_some() || record.task.parent_id.is_some() {
            Placement::Between
        } else {
            Placement::Keep
        };
        if placement == Placement::Between {
            lock_placement(&txn, project).await?;
        }
        let created = Mutex::default();
        let writer = TaskWriter { txn: &txn, project, placement, created: &created };
        writer.check_room(column, &record.task.id).await?;
        if let Some(series) = series {
            writer.save_series(series, true).await?;
        }
        if let Some(parent) = &record.task.parent_id {
            writer.check_parent(&record.task.id, parent).await?;
        }
        lock_fields(&txn, &mut record, None).await?;
        record.enter(column, record.task.create_time);
        record.task.state_id = record.state.clone();
        record.task.position = writer.bottom_of_column(column).await?;
        let inserted =
            tasks::Entity::insert(tasks::ActiveModel::from(record.task.clone())).exec_without_returning(&txn);
        if let Err(error) = inserted.await {
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) if record.task.request_id.is_some() => {
                    TaskStoreError::DuplicateRequest
                }
                _ => error.into(),
            });
        }
        insert_relations(&txn, &record.task.id, &record.assignees, &record.labels).await?;
        insert_values(&txn, &record).await?;
        let history = describe(&record);
        let creator = UserId::from_stored(&record.task.creator_id);
        let made = notifications::on_task_change(&txn, self.inbox.outbox(), None, &record, creator).await?;
        let locked = record_change(&txn, &record, kind, history, record.task.creator_id.as_str()).await?;
        txn.commit().await?;
        self.timings.observe(started, locked);
        self.inbox.announce(&made);
        Ok(record)
    }

    /// Changes one task: `change` edits the current record (and may place
    /// it, through the [`TaskWriter`]); the new version is written, guarded
    /// by the old one, and recorded in history and feed, in one transaction.
    /// Returns the task before and after.
    ///
    /// Locks, in this order, so that writers cannot deadlock: the project's
    /// placement lock if `placement` is [`Placement::Between`] (such changes
    /// of a project queue behind each other, since renumbering a column
    /// writes rows other than their own); the task's row, read for update
    /// (changes of one task queue up; an unconditional one never fails on a
    /// concurrent one); if the custom field values change, a share lock on
    /// their fields' definitions ([`lock_fields`]: a field's delete waits
    /// for the write, and takes no task row); last, the project's feed
    /// lock. Between the last two, the followers' inbox numbers
    /// ([`notifications`]), in user order. Nobody waits for a row while
    /// holding the feed lock.
    pub async fn change<E, F, D>(
        &self,
        name: TaskName,
        actor: UserId,
        (kind, placement): (i16, Placement),
        change: F,
        describe: D,
    ) -> Result<(TaskRecord, TaskRecord), E>
    where
        E: From<TaskStoreError>,
        F: AsyncFnOnce(&TaskWriter<'_>, &mut TaskRecord) -> Result<(), E>,
        D: FnOnce(&TaskRecord, &TaskRecord) -> History,
    {
        let batch = self.begin_batch(name.project, &[name.task], placement).await;
        let mut batch = batch.map_err(|failure| E::from(failure.error))?;
        let (writer, record) = batch.edit(0);
        change(&writer, record).await?;
        batch.save(0).await?;
        let mut describe = Some(describe);
        let describe = |before: &TaskRecord, after: &TaskRecord| describe.take().expect("one task")(before, after);
        let mut changed = batch.commit(actor, kind, describe).await?;
        Ok(changed.pop().expect("one task"))
    }

    /// Starts a change of several tasks of `project` in one transaction,
    /// all or nothing: each is then edited and saved in turn (in the order
    /// given: a task saved counts for the next, against a WIP limit say),
    /// and [`TaskBatch::commit`] records them. A task that is not found
    /// fails with its index.
    ///
    /// Locks as [`TaskStore::change`] does; the task rows all at once,
    /// first, in id order (so two batches over the same tasks cannot
    /// deadlock); and the inboxes of all the changes' recipients together.
    pub async fn begin_batch(
        &self,
        project: ProjectId,
        tasks: &[TaskId],
        placement: Placement,
    ) -> Result<TaskBatch<'_>, BatchFailure> {
        let started = Instant::now();
        let txn = self.db.begin().await.map_err(BatchFailure::of_batch)?;
        if placement == Placement::Between {
            lock_placement(&txn, project).await.map_err(BatchFailure::of_batch)?;
        }
        let mut order: Vec<usize> = (0..tasks.len()).collect();
        order.sort_by_key(|&index| tasks[index]);
        let mut locked = vec![None; tasks.len()];
        for index in order {
            let name = TaskName { project, task: tasks[index] };
            let found = find_for_update(&txn, name).await.map_err(BatchFailure::at(index))?;
            locked[index] = Some(found.ok_or(TaskStoreError::NotFound).map_err(BatchFailure::at(index))?);
        }
        let records = locked.into_iter().map(|record| {
            let before = record.expect("every task was locked above");
            (before.clone(), before, false)
        });
        let created = Mutex::default();
        Ok(TaskBatch { store: self, txn, project, placement, started, records: records.collect(), created })
    }

    /// A page of the occurrences of `series`, newest first (by id: each
    /// is created after the one it follows).
    pub async fn occurrences(
        &self,
        series: &str,
        show_deleted: bool,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<TaskRecord>, TaskStoreError> {
        let mut select = tasks::Entity::find().filter(tasks::Column::SeriesId.eq(series));
        if !show_deleted {
            select = select.filter(tasks::Column::DeleteTime.is_null());
        }
        if let Some(after) = after {
            select = select.filter(tasks::Column::Id.lt(after));
        }
        fetch(&self.db, select.order_by_desc(tasks::Column::Id).limit(limit)).await
    }

    /// Purges tasks deleted before `before` (their relations cascade).
    pub async fn purge_deleted(&self, before: Micros) -> Result<u64, TaskStoreError> {
        let purged = tasks::Entity::delete_many().filter(tasks::Column::DeleteTime.lt(before)).exec(&self.db).await?;
        Ok(purged.rows_affected)
    }
}

/// Several tasks of a project changing in one transaction
/// ([`TaskStore::begin_batch`]); dropped without a commit, nothing changes.
pub struct TaskBatch<'s> {
    store: &'s TaskStore,
    txn: DatabaseTransaction,
    project: ProjectId,
    placement: Placement,
    started: Instant,
    /// Each task before, after (as edited so far), and whether saved.
    records: Vec<(TaskRecord, TaskRecord, bool)>,
    /// Tasks the edits created ([`TaskWriter::create_occurrence`]).
    created: Mutex<Vec<Created>>,
}

impl TaskBatch<'_> {
    /// Task `index` to edit, and the writer that places it.
    pub fn edit(&mut self, index: usize) -> (TaskWriter<'_>, &mut TaskRecord) {
        let writer =
            TaskWriter { txn: &self.txn, project: self.project, placement: self.placement, created: &self.created };
        (writer, &mut self.records[index].1)
    }

    /// Writes task `index`'s new version, once its edit is done.
    pub async fn save(&mut self, index: usize) -> Result<(), TaskStoreError> {
        let (before, after, saved) = &mut self.records[index];
        if !*saved {
            write_version(&self.txn, before, after).await?;
            *saved = true;
        }
        Ok(())
    }

    /// Saves the tasks not saved yet, notifies, records each change in
    /// history and the feed (`describe` says what changed), and commits.
    /// Returns each task before and after, in the batch's order.
    pub async fn commit(
        self,
        actor: UserId,
        kind: i16,
        describe: impl FnMut(&TaskRecord, &TaskRecord) -> History,
    ) -> Result<Vec<(TaskRecord, TaskRecord)>, TaskStoreError> {
        Ok(self.commit_all(actor, kind, describe).await?.changed)
    }

    /// [`TaskBatch::commit`], also recording and returning the tasks the
    /// edits created (after the changed ones, in the feed too).
    pub async fn commit_all(
        mut self,
        actor: UserId,
        kind: i16,
        mut describe: impl FnMut(&TaskRecord, &TaskRecord) -> History,
    ) -> Result<Committed, TaskStoreError> {
        for index in 0..self.records.len() {
            self.save(index).await?;
        }
        let created = std::mem::take(&mut *self.created.lock().expect("not poisoned"));
        let mut changes: Vec<_> = self.records.iter().map(|(before, after, _)| (Some(before), after)).collect();
        changes.extend(created.iter().map(|created| (None, &created.record)));
        let made = notifications::on_task_changes(&self.txn, self.store.inbox.outbox(), &changes, actor).await?;
        let mut feed_locked = None;
        for (before, after, _) in &self.records {
            let history = describe(before, after);
            let at = record_change(&self.txn, after, kind, history, &actor.to_string()).await?;
            feed_locked.get_or_insert(at);
        }
        let mut records = Vec::with_capacity(created.len());
        for Created { record, kind, history } in created {
            let at = record_change(&self.txn, &record, kind, history, &actor.to_string()).await?;
            feed_locked.get_or_insert(at);
            records.push(record);
        }
        self.txn.commit().await?;
        self.store.timings.observe(self.started, feed_locked.unwrap_or(self.started));
        self.store.inbox.announce(&made);
        let changed = self.records.into_iter().map(|(before, after, _)| (before, after)).collect();
        Ok(Committed { changed, created: records })
    }
}

/// A failed [`TaskStore::begin_batch`]: the index of the task it is about,
/// or `None` if the batch as a whole failed (the database).
#[derive(Debug)]
pub struct BatchFailure {
    pub index: Option<usize>,
    pub error: TaskStoreError,
}

impl BatchFailure {
    fn of_batch(error: impl Into<TaskStoreError>) -> Self {
        Self { index: None, error: error.into() }
    }

    fn at(index: usize) -> impl Fn(TaskStoreError) -> Self {
        move |error| Self { index: Some(index), error }
    }
}

/// Writes `after`, the changed `before`, as the task's next version:
/// guarded by the old version, with its assignees, labels and custom
/// field values if they changed.
async fn write_version(
    txn: &DatabaseTransaction,
    before: &TaskRecord,
    after: &mut TaskRecord,
) -> Result<(), TaskStoreError> {
    if before.custom_fields != after.custom_fields {
        lock_fields(txn, after, Some(before)).await?;
    }
    after.task.state_id = after.state.clone();
    after.task.version = before.task.version + 1;
    after.task.update_time = time::now();
    let updated = tasks::Entity::update_many()
        .set(tasks::ActiveModel::from(after.task.clone()).reset_all())
        .filter(tasks::Column::Id.eq(&after.task.id))
        .filter(tasks::Column::Version.eq(before.task.version))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(TaskStoreError::Stale);
    }
    if before.assignees != after.assignees || before.labels != after.labels {
        replace_relations(txn, &after.task.id, &after.assignees, &after.labels).await?;
    }
    if before.custom_fields != after.custom_fields {
        task_field_values::Entity::delete_many()
            .filter(task_field_values::Column::TaskId.eq(&after.task.id))
            .exec(txn)
            .await?;
        insert_values(txn, after).await?;
    }
    Ok(())
}

/// Places tasks inside a write's transaction.
pub struct TaskWriter<'a> {
    txn: &'a DatabaseTransaction,
    project: ProjectId,
    placement: Placement,
    created: &'a Mutex<Vec<Created>>,
}

impl TaskWriter<'_> {
    /// Position at the bottom of a column. Two writers may get the same one
    /// at once; ties sort by id (creation order), and the next placement
    /// between them renumbers.
    pub async fn bottom_of_column(&self, column: &Column) -> Result<i64, TaskStoreError> {
        bottom_of(self.txn, self.project, column).await
    }

    /// Fails with [`TaskStoreError::ColumnFull`] if `column` enforces a WIP
    /// limit that its live tasks other than `moving` already reach. Holds
    /// only under the placement lock, which every write into a limited
    /// column takes.
    pub async fn check_room(&self, column: &Column, moving: &str) -> Result<(), TaskStoreError> {
        let Some(limit) = column.enforced_limit else { return Ok(()) };
        debug_assert_eq!(self.placement, Placement::Between, "counting against a WIP limit takes the placement lock");
        let live = count_in_column(self.txn, self.project, column, Some(moving)).await?;
        if live >= u64::try_from(limit).unwrap_or_default() {
            return Err(TaskStoreError::ColumnFull { state: column.state.display_name.clone(), limit });
        }
        Ok(())
    }

    /// Fails with [`TaskStoreError::Parent`] unless `parent` may be the
    /// parent of `task` (a new task, or one whose subtasks move with it):
    /// a task of the project that is not deleted, not `task` or one of its
    /// subtasks (a cycle), and deep enough in its chain that `task`'s own
    /// subtasks stay within [`MAX_DEPTH`]. Reads `parent`'s ancestors and
    /// `task`'s descendants (deleted ones too: they may be undeleted), each
    /// with a recursive query. Holds only under the placement lock, which
    /// every write that sets a parent takes: two writers re-parenting at
    /// once could otherwise each see no cycle and together make one.
    pub async fn check_parent(&self, task: &str, parent: &str) -> Result<(), TaskStoreError> {
        debug_assert_eq!(self.placement, Placement::Between, "checking a parent's chain takes the placement lock");
        let backend = self.txn.get_database_backend();
        let [first, second] = if backend == DbBackend::Postgres { ["$1", "$2"] } else { ["?", "?"] };
        // Bounded, in case a chain ever exceeded the limit: one row more
        // than any allowed chain shows it is too deep.
        let ancestors = format!(
            r#"WITH RECURSIVE "chain" ("id", "parent_id", "delete_time", "depth") AS (
                 SELECT "id", "parent_id", "delete_time", 1 FROM "tasks" WHERE "id" = {first} AND "project_id" = {second}
                 UNION ALL
                 SELECT "t"."id", "t"."parent_id", "t"."delete_time", "chain"."depth" + 1
                 FROM "tasks" AS "t" JOIN "chain" ON "t"."id" = "chain"."parent_id"
                 WHERE "chain"."depth" <= {MAX_DEPTH}
               )
               SELECT "id", "delete_time" FROM "chain""#
        );
        let values = [parent.into(), self.project.to_string().into()];
        let rows = self.txn.query_all_raw(Statement::from_sql_and_values(backend, ancestors, values)).await?;
        let chain = rows
            .iter()
            .map(|row| Ok((row.try_get::<String>("", "id")?, row.try_get::<Option<i64>>("", "delete_time")?)))
            .collect::<Result<Vec<_>, DbErr>>()?;
        match chain.iter().find(|(id, _)| id == parent) {
            None => return Err(TaskStoreError::Parent(ParentError::NotInProject)),
            Some((_, Some(_))) => return Err(TaskStoreError::Parent(ParentError::Deleted)),
            Some(_) => {}
        }
        if chain.iter().any(|(id, _)| id == task) {
            return Err(TaskStoreError::Parent(ParentError::Cycle));
        }
        let descendants = format!(
            r#"WITH RECURSIVE "below" ("id", "depth") AS (
                 SELECT "id", 1 FROM "tasks" WHERE "parent_id" = {first}
                 UNION ALL
                 SELECT "t"."id", "below"."depth" + 1
                 FROM "tasks" AS "t" JOIN "below" ON "t"."parent_id" = "below"."id"
                 WHERE "below"."depth" < {MAX_DEPTH}
               )
               SELECT CAST(COALESCE(MAX("depth"), 0) AS BIGINT) AS "height" FROM "below""#
        );
        let statement = Statement::from_sql_and_values(backend, descendants, [task.into()]);
        let height: i64 = match self.txn.query_one_raw(statement).await? {
            Some(row) => row.try_get("", "height")?,
            None => 0,
        };
        // The parent's chain, the task, and the task's deepest subtask.
        if chain.len() + 1 + usize::try_from(height).unwrap_or(MAX_DEPTH) > MAX_DEPTH {
            return Err(TaskStoreError::Parent(ParentError::TooDeep));
        }
        Ok(())
    }

    /// The open tasks that block `task`, with their titles (see
    /// [`super::relations::open_blockers`]): read under the lock of
    /// `task`'s row, which a write of it holds.
    pub async fn open_blockers(&self, task: &str) -> Result<Vec<(TaskName, String)>, TaskStoreError> {
        Ok(super::relations::open_blockers(self.txn, self.project, task).await?)
    }

    /// Position right after the task `after` (or at the top), renumbering
    /// the column if there is no room left between neighbours.
    pub async fn position_after(
        &self,
        target: &Column,
        moving: &str,
        after: Option<&str>,
    ) -> Result<i64, TaskStoreError> {
        debug_assert_eq!(self.placement, Placement::Between, "placing between neighbours takes the placement lock");
        let mut column = column_positions(self.txn, self.project, target, moving).await?;
        let index = match after {
            None => None,
            Some(after) => Some(column.iter().position(|(id, _)| id == after).ok_or(TaskStoreError::NoSuchNeighbour)?),
        };
        let slot = |column: &[(String, i64)]| -> Option<i64> {
            let previous = index.map(|i| column[i].1);
            let next = column.get(index.map_or(0, |i| i + 1)).map(|(_, position)| *position);
            match (previous, next) {
                (None, None) => Some(0),
                (None, Some(next)) => next.checked_sub(POSITION_GAP),
                (Some(previous), None) => previous.checked_add(POSITION_GAP),
                (Some(previous), Some(next)) => (next - previous > 1).then(|| previous + (next - previous) / 2),
            }
        };
        if let Some(position) = slot(&column) {
            return Ok(position);
        }
        for (rank, (id, position)) in column.iter_mut().enumerate() {
            *position = rank as i64 * POSITION_GAP;
            set_position(self.txn, id, *position).await?;
        }
        // After renumbering the gaps are wide: there is always a slot.
        Ok(slot(&column).unwrap_or_default())
    }
}

impl TaskWriter<'_> {
    /// The series `id` of the project, its row locked until the
    /// transaction ends (a completion and a rule change of one series
    /// queue up).
    pub async fn series(&self, id: &str) -> Result<Option<task_series::Model>, TaskStoreError> {
        let select = task_series::Entity::find_by_id(id.to_owned())
            .filter(task_series::Column::ProjectId.eq(self.project.to_string()));
        let select = if self.txn.get_database_backend() == DbBackend::Postgres {
            select.lock(LockType::NoKeyUpdate)
        } else {
            select
        };
        Ok(select.one(self.txn).await?)
    }

    /// Inserts (`new`) or updates a series of the project.
    pub async fn save_series(&self, series: task_series::Model, new: bool) -> Result<(), TaskStoreError> {
        let row = task_series::ActiveModel::from(series);
        if new {
            task_series::Entity::insert(row).exec_without_returning(self.txn).await?;
        } else {
            task_series::Entity::update(row.reset_all()).exec(self.txn).await?;
        }
        Ok(())
    }

    /// Whether the occurrence `task` already has its successor (the
    /// `tasks_successor` index allows one).
    pub async fn has_successor(&self, task: &str) -> Result<bool, TaskStoreError> {
        let found = tasks::Entity::find()
            .select_only()
            .column(tasks::Column::Id)
            .filter(tasks::Column::PreviousOccurrenceId.eq(task))
            .into_tuple::<String>()
            .one(self.txn)
            .await?;
        Ok(found.is_some())
    }

    /// How many occurrences the series has had since `since` (its rule's
    /// start), deleted ones included.
    pub async fn occurrences_since(&self, series: &str, since: Micros) -> Result<u64, TaskStoreError> {
        use sea_orm::PaginatorTrait as _;
        let count = tasks::Entity::find()
            .filter(tasks::Column::SeriesId.eq(series))
            .filter(tasks::Column::OccurrenceTime.gte(since))
            .count(self.txn)
            .await?;
        Ok(count)
    }

    /// The live subtasks of `parent`, oldest first.
    pub async fn live_subtasks(&self, parent: &str) -> Result<Vec<TaskRecord>, TaskStoreError> {
        let select = tasks::Entity::find()
            .filter(tasks::Column::ParentId.eq(parent))
            .filter(tasks::Column::DeleteTime.is_null())
            .order_by_asc(tasks::Column::Id);
        fetch(self.txn, select).await
    }

    /// Inserts a task the write creates besides the ones it changes (the
    /// next occurrence of a recurring task, or one of its subtasks) at the
    /// bottom of `column`, with its assignees, labels and custom field
    /// values (a value of a field deleted meanwhile is dropped). Not
    /// counted against a WIP limit: completing a task never fails for its
    /// successor. History and feed record it at the commit, as `kind`,
    /// with what `describe` says.
    pub async fn create_occurrence(
        &self,
        mut record: TaskRecord,
        column: &Column,
        kind: i16,
        describe: impl FnOnce(&TaskRecord) -> History,
    ) -> Result<TaskRecord, TaskStoreError> {
        let template = record.clone();
        lock_fields(self.txn, &mut record, Some(&template)).await?;
        record.enter(column, record.task.create_time);
        record.task.state_id = record.state.clone();
        record.task.position = self.bottom_of_column(column).await?;
        tasks::Entity::insert(tasks::ActiveModel::from(record.task.clone())).exec_without_returning(self.txn).await?;
        insert_relations(self.txn, &record.task.id, &record.assignees, &record.labels).await?;
        insert_values(self.txn, &record).await?;
        let history = describe(&record);
        let created = Created { record: record.clone(), kind, history };
        self.created.lock().expect("not poisoned").push(created);
        Ok(record)
    }
}

/// The task named `name`, its row locked until the transaction ends.
pub(super) async fn find_for_update(
    txn: &DatabaseTransaction,
    name: TaskName,
) -> Result<Option<TaskRecord>, TaskStoreError> {
    let select = tasks::Entity::find_by_id(name.task.to_string())
        .filter(tasks::Column::ProjectId.eq(name.project.to_string()))
        // The lock an UPDATE of non-key columns takes: comments and history
        // rows referring to the task can still be written meanwhile.
        .lock(LockType::NoKeyUpdate);
    Ok(fetch(txn, select).await?.pop())
}

/// Takes the project's placement lock until the transaction ends (on
/// PostgreSQL: a transaction-scoped advisory lock; SQLite serialises
/// writers anyway). Changes of a project's states take it too.
#[tracing::instrument(name = "db.tasks.lock_placement", skip_all, fields(otel.kind = "client"))]
pub(super) async fn lock_placement(txn: &DatabaseTransaction, project: ProjectId) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        let lock = "SELECT pg_advisory_xact_lock($1, hashtext($2))";
        let values = [PLACEMENT_LOCK_CLASS.into(), project.to_string().into()];
        txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, lock, values)).await?;
    }
    Ok(())
}

/// Runs `select` with each task's assignees and labels alongside: one
/// statement, whatever the number of rows.
#[tracing::instrument(name = "db.tasks.fetch", skip_all, fields(otel.kind = "client"))]
async fn fetch(
    db: &impl ConnectionTrait,
    mut select: Select<tasks::Entity>,
) -> Result<Vec<TaskRecord>, TaskStoreError> {
    let backend = db.get_database_backend();
    for (list, alias) in computed_columns(backend) {
        QueryTrait::query(&mut select).expr_as(list, alias);
    }
    let rows = db.query_all_raw(select.build(backend)).await?;
    Ok(rows.iter().map(record_of).collect::<Result<_, _>>()?)
}

/// A task's assignees and labels as JSON arrays of strings, and its custom
/// field values as a JSON array of `[key, field id, type, ordinal, text,
/// number, time, bool]` rows, computed by correlated subqueries over their
/// primary keys (which lead with the task id), and its subtasks' rollup,
/// counted on `tasks_by_parent`, in the statement that reads the task: a
/// page of tasks with their values is still one statement.
fn computed_columns(backend: DbBackend) -> [(Expr, &'static str); 6] {
    let [assignees, labels, custom_fields, recurrence] = match backend {
        DbBackend::Postgres => [
            r#"(SELECT COALESCE(json_agg("user_id")::text, '[]') FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id")"#,
            r#"(SELECT COALESCE(json_agg("label")::text, '[]') FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id")"#,
            r#"(SELECT COALESCE(json_agg(json_build_array("f"."key", "v"."field_id", "f"."kind", "v"."ordinal", "v"."text_value", "v"."number_value", "v"."time_value", "v"."bool_value"))::text, '[]') FROM "task_field_values" AS "v" JOIN "custom_fields" AS "f" ON "f"."id" = "v"."field_id" WHERE "v"."task_id" = "tasks"."id")"#,
            r#"(SELECT json_build_array("s"."rule", "s"."time_zone", "s"."mode")::text FROM "task_series" AS "s" WHERE "s"."id" = "tasks"."series_id" AND "s"."end_time" IS NULL)"#,
        ],
        _ => [
            r#"(SELECT json_group_array("user_id") FROM "task_assignees" WHERE "task_assignees"."task_id" = "tasks"."id")"#,
            r#"(SELECT json_group_array("label") FROM "task_labels" WHERE "task_labels"."task_id" = "tasks"."id")"#,
            r#"(SELECT json_group_array(json_array("f"."key", "v"."field_id", "f"."kind", "v"."ordinal", "v"."text_value", "v"."number_value", "v"."time_value", "v"."bool_value")) FROM "task_field_values" AS "v" JOIN "custom_fields" AS "f" ON "f"."id" = "v"."field_id" WHERE "v"."task_id" = "tasks"."id")"#,
            r#"(SELECT json_array("s"."rule", "s"."time_zone", "s"."mode") FROM "task_series" AS "s" WHERE "s"."id" = "tasks"."series_id" AND "s"."end_time" IS NULL)"#,
        ],
    };
    // COUNT is BIGINT on PostgreSQL and INTEGER (64-bit) on SQLite.
    let total = r#"(SELECT COUNT(*) FROM "tasks" AS "subtasks" WHERE "subtasks"."parent_id" = "tasks"."id" AND "subtasks"."delete_time" IS NULL)"#;
    let done = r#"(SELECT COUNT(*) FROM "tasks" AS "subtasks" WHERE "subtasks"."parent_id" = "tasks"."id" AND "subtasks"."delete_time" IS NULL AND "subtasks"."complete_time" IS NOT NULL)"#;
    [
        (Expr::cust(assignees), "assignees"),
        (Expr::cust(labels), "labels"),
        (Expr::cust(custom_fields), "custom_fields"),
        (Expr::cust(total), "subtasks_total"),
        (Expr::cust(done), "subtasks_done"),
        (Expr::cust(recurrence), "recurrence"),
    ]
}

/// A task read with [`computed_columns`]; assignees and labels come sorted.
fn record_of(row: &QueryResult) -> Result<TaskRecord, DbErr> {
    let list = |alias: &str| -> Result<Vec<String>, DbErr> {
        let json: String = row.try_get("", alias)?;
        let mut values: Vec<String> =
            serde_json::from_str(&json).map_err(|error| DbErr::Type(format!("tasks.{alias}: {error}")))?;
        values.sort_unstable();
        Ok(values)
    };
    let task = tasks::Model::from_query_result(row, "")?;
    let subtasks = Rollup { total: row.try_get("", "subtasks_total")?, done: row.try_get("", "subtasks_done")? };
    let recurrence = match row.try_get::<Option<String>>("", "recurrence")? {
        None => None,
        Some(json) => {
            let (rule, zone, mode): (String, String, i16) =
                serde_json::from_str(&json).map_err(|error| DbErr::Type(format!("tasks.recurrence: {error}")))?;
            Recurrence::from_stored(&rule, &zone, mode)
        }
    };
    Ok(TaskRecord {
        state: task.state_id.clone(),
        task,
        assignees: list("assignees")?,
        labels: list("labels")?,
        subtasks,
        custom_fields: custom_values(&row.try_get::<String>("", "custom_fields")?)?,
        recurrence,
    })
}

/// The custom field values of [`computed_columns`], by key.
fn custom_values(json: &str) -> Result<BTreeMap<String, CustomValue>, DbErr> {
    use serde_json::Value;
    let malformed = |error: &dyn std::fmt::Display| DbErr::Type(format!("tasks.custom_fields: {error}"));
    let rows: Vec<Vec<Value>> = serde_json::from_str(json).map_err(|error| malformed(&error))?;
    let mut rows: Vec<&[Value]> = rows.iter().filter(|row| row.len() == 8).map(Vec::as_slice).collect();
    rows.sort_by_key(|row| row[3].as_i64());
    let mut values = BTreeMap::new();
    for row in rows {
        let (Some(key), Some(field_id), Some(kind)) = (row[0].as_str(), row[1].as_str(), row[2].as_i64()) else {
            return Err(malformed(&"a value row without key, field or type"));
        };
        let text = || row[4].as_str().unwrap_or_default().to_owned();
        // SQLite's booleans are 0 and 1.
        let checked = row[7].as_bool().unwrap_or_else(|| row[7].as_i64() == Some(1));
        let value = match FieldType::from_stored(kind as i16) {
            FieldType::Text => FieldValue::Text(text()),
            FieldType::Number => FieldValue::Number(row[5].as_f64().unwrap_or_default()),
            FieldType::Date => FieldValue::Date(row[6].as_i64().unwrap_or_default()),
            FieldType::SingleSelect => FieldValue::Option(text()),
            FieldType::MultiSelect => {
                if let Some(CustomValue { value: FieldValue::Options(options), .. }) = values.get_mut(key) {
                    options.push(text());
                    continue;
                }
                FieldValue::Options(vec![text()])
            }
            FieldType::User => FieldValue::User(UserId::from_stored(row[4].as_str().unwrap_or_default())),
            FieldType::Checkbox => FieldValue::Checkbox(checked),
        };
        values.insert(key.to_owned(), CustomValue { field_id: field_id.to_owned(), value });
    }
    Ok(values)
}

/// Keeps the fields `record` has values of from being deleted until the
/// transaction ends, so that its values can be written: a share lock on
/// each definition's row (PostgreSQL; SQLite has one writer, and a write
/// has already written its task row when this runs). A field's delete
/// waits for the write, then removes the values with the field; a delete
/// that committed first is seen here: a value the write sets of such a
/// field fails with [`TaskStoreError::FieldDeleted`] naming its key, and
/// one it only carries over from `before` (read before the delete
/// committed) is dropped, as the delete dropped it. Without this, the
/// insert would fail on the foreign key and surface as INTERNAL.
async fn lock_fields(
    txn: &DatabaseTransaction,
    record: &mut TaskRecord,
    before: Option<&TaskRecord>,
) -> Result<(), TaskStoreError> {
    if record.custom_fields.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = record.custom_fields.values().map(|value| value.field_id.clone()).collect();
    let existing: Vec<String> = custom_fields::Entity::find()
        .select_only()
        .column(custom_fields::Column::Id)
        .filter(custom_fields::Column::Id.is_in(ids))
        .lock(LockType::KeyShare)
        .into_tuple()
        .all(txn)
        .await?;
    let gone: Vec<String> = record
        .custom_fields
        .iter()
        .filter(|(_, value)| !existing.contains(&value.field_id))
        .map(|(key, _)| key.clone())
        .collect();
    for key in gone {
        let carried_over = before.and_then(|before| before.custom_fields.get(&key)) == record.custom_fields.get(&key);
        if !carried_over {
            return Err(TaskStoreError::FieldDeleted(key));
        }
        record.custom_fields.remove(&key);
    }
    Ok(())
}

/// Adds a task's custom field values (it has none stored): one row per
/// value, one per option of a multi-select.
async fn insert_values(db: &impl ConnectionTrait, record: &TaskRecord) -> Result<(), DbErr> {
    let mut rows = Vec::new();
    for CustomValue { field_id, value } in record.custom_fields.values() {
        let row = |ordinal: usize| task_field_values::Model {
            task_id: record.task.id.clone(),
            field_id: field_id.clone(),
            ordinal: ordinal as i16,
            project_id: record.task.project_id.clone(),
            text_value: None,
            number_value: None,
            time_value: None,
            bool_value: None,
        };
        match value {
            FieldValue::Text(text) | FieldValue::Option(text) => {
                rows.push(task_field_values::Model { text_value: Some(text.clone()), ..row(0) })
            }
            FieldValue::User(user) => {
                rows.push(task_field_values::Model { text_value: Some(user.to_string()), ..row(0) })
            }
            FieldValue::Number(number) => rows.push(task_field_values::Model { number_value: Some(*number), ..row(0) }),
            FieldValue::Date(micros) => rows.push(task_field_values::Model { time_value: Some(*micros), ..row(0) }),
            FieldValue::Checkbox(checked) => {
                rows.push(task_field_values::Model { bool_value: Some(*checked), ..row(0) })
            }
            FieldValue::Options(options) => rows.extend(options.iter().enumerate().map(|(ordinal, option)| {
                task_field_values::Model { text_value: Some(option.clone()), ..row(ordinal) }
            })),
        }
    }
    if !rows.is_empty() {
        task_field_values::Entity::insert_many(rows.into_iter().map(task_field_values::ActiveModel::from))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Replaces a task's assignees and labels.
#[tracing::instrument(name = "db.tasks.replace_relations", skip_all, fields(otel.kind = "client"))]
async fn replace_relations(
    db: &impl ConnectionTrait,
    task: &str,
    assignees: &[String],
    labels: &[String],
) -> Result<(), DbErr> {
    task_assignees::Entity::delete_many().filter(task_assignees::Column::TaskId.eq(task)).exec(db).await?;
    task_labels::Entity::delete_many().filter(task_labels::Column::TaskId.eq(task)).exec(db).await?;
    insert_relations(db, task, assignees, labels).await
}

/// Adds assignees and labels to a task that has none.
async fn insert_relations(
    db: &impl ConnectionTrait,
    task: &str,
    assignees: &[String],
    labels: &[String],
) -> Result<(), DbErr> {
    if !assignees.is_empty() {
        task_assignees::Entity::insert_many(
            assignees
                .iter()
                .map(|user| task_assignees::ActiveModel { task_id: Set(task.to_owned()), user_id: Set(user.clone()) }),
        )
        .exec_without_returning(db)
        .await?;
    }
    if !labels.is_empty() {
        task_labels::Entity::insert_many(
            labels
                .iter()
                .map(|label| task_labels::ActiveModel { task_id: Set(task.to_owned()), label: Set(label.clone()) }),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Records a change: an entry in the task's history, then, last, the
/// event in the project's feed, which takes the project's feed lock.
/// Returns when the lock was taken.
async fn record_change(
    txn: &impl ConnectionTrait,
    record: &TaskRecord,
    kind: i16,
    history: History,
    actor: &str,
) -> Result<Instant, TaskStoreError> {
    record_change_at(txn, record, kind, history, UserId::from_stored(actor), record.task.update_time).await
}

/// [`record_change`] at `time`: for a change recorded on a task whose row
/// it does not write (a relation's).
#[tracing::instrument(name = "db.tasks.record_change", skip_all, fields(otel.kind = "client"))]
pub(super) async fn record_change_at(
    txn: &impl ConnectionTrait,
    record: &TaskRecord,
    kind: i16,
    history: History,
    actor: UserId,
    time: Micros,
) -> Result<Instant, TaskStoreError> {
    comments::record_activity(txn, &record.task.id, actor, kind, &history.changes, time).await?;
    let locked = Instant::now();
    let event = NewEvent {
        project: ProjectId::from_stored(&record.task.project_id),
        task_id: &record.task.id,
        actor,
        kind,
        snapshot: history.snapshot,
        time,
    };
    events::append(txn, event).await?;
    Ok(locked)
}

fn compare(column: SimpleExpr, comparison: Comparison, value: impl Into<sea_orm::Value>) -> SimpleExpr {
    let value = value.into();
    match comparison {
        Comparison::Equal => column.eq(value),
        Comparison::NotEqual => column.ne(value),
        Comparison::Less => column.lt(value),
        Comparison::LessOrEqual => column.lte(value),
        Comparison::Greater => column.gt(value),
        Comparison::GreaterOrEqual => column.gte(value),
    }
}

fn contains(column: tasks::Column, needle: &str) -> SimpleExpr {
    contains_in(Expr::col(column), needle)
}

/// `field` contains `needle` (at least three characters), case-insensitive,
/// on SQLite's `task_trigrams` FTS5 table (a trigram phrase is a
/// substring). Its case folding is Unicode's where `lower()` folds ASCII
/// only: "É" finds "é" here, and not in the `LIKE` that shorter needles and
/// PostgreSQL use (where the `lower(…)` trigram indexes serve the `LIKE`).
fn trigram_contains(field: TextField, needle: &str) -> SimpleExpr {
    let columns = match field {
        TextField::Title => "title",
        TextField::Description => "description",
        TextField::Text => "title description",
    };
    let phrase = format!("{{{columns}}} : \"{}\"", needle.replace('"', "\"\""));
    Expr::cust_with_values(
        r#""tasks"."id" IN (SELECT "k"."task_id" FROM "task_trigrams" JOIN "task_search_keys" AS "k" ON "k"."key" = "task_trigrams"."rowid" WHERE "task_trigrams" MATCH ?)"#,
        [phrase],
    )
}

/// `column` contains `needle`, case-insensitive.
fn contains_in(column: Expr, needle: &str) -> SimpleExpr {
    let escaped = needle.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Expr::expr(Func::lower(column)).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

fn task_ids_where(
    table: impl sea_orm::sea_query::IntoTableRef,
    condition: Option<SimpleExpr>,
    id_column: impl sea_orm::sea_query::IntoColumnRef,
) -> sea_orm::sea_query::SelectStatement {
    let mut select = Query::select();
    select.column(id_column).from(table);
    if let Some(condition) = condition {
        select.and_where(condition);
    }
    select.to_owned()
}

/// Translates a parsed filter into SQL; `me` is `caller`.
///
/// A filter may chain hundreds of terms with one operator (`a OR b OR …`,
/// as many as 2,000 characters hold). Such a chain is walked without
/// recursion and joined pairwise, so neither this function nor the query
/// builder (which renders expressions recursively) goes deeper than about
/// log2 of its length: a deep chain once overflowed a worker's stack.
pub fn condition(filter: &Filter, caller: UserId, backend: DbBackend) -> SimpleExpr {
    match filter {
        Filter::And(..) => balanced(chain(filter, true), (caller, backend), SimpleExpr::and),
        Filter::Or(..) => balanced(chain(filter, false), (caller, backend), SimpleExpr::or),
        Filter::Not(inner) => condition(inner, caller, backend).not(),
        term => term_condition(term, caller, backend),
    }
}

/// The operands of the chain of ANDs (`and`) or ORs at the top of
/// `filter`, in order, collected without recursion.
fn chain(filter: &Filter, and: bool) -> Vec<&Filter> {
    let mut operands = Vec::new();
    let mut pending = vec![filter];
    while let Some(next) = pending.pop() {
        match (next, and) {
            (Filter::And(left, right), true) | (Filter::Or(left, right), false) => {
                pending.push(right);
                pending.push(left);
            }
            _ => operands.push(next),
        }
    }
    operands
}

/// The operands' conditions joined pairwise, level by level: a tree about
/// log2(n) deep instead of a chain n deep (AND and OR are associative).
fn balanced(
    operands: Vec<&Filter>,
    (caller, backend): (UserId, DbBackend),
    join: fn(SimpleExpr, SimpleExpr) -> SimpleExpr,
) -> SimpleExpr {
    let mut level: Vec<SimpleExpr> = operands.into_iter().map(|operand| condition(operand, caller, backend)).collect();
    while level.len() > 1 {
        let mut pairs = level.into_iter();
        let mut next = Vec::new();
        while let Some(left) = pairs.next() {
            next.push(match pairs.next() {
                Some(right) => join(left, right),
                None => left,
            });
        }
        level = next;
    }
    level.pop().unwrap_or_else(|| Expr::value(true))
}

/// One term of a filter (anything but AND, OR and NOT).
fn term_condition(filter: &Filter, caller: UserId, backend: DbBackend) -> SimpleExpr {
    let id = || Expr::col((tasks::Entity, tasks::Column::Id));
    match filter {
        Filter::And(..) | Filter::Or(..) | Filter::Not(..) => condition(filter, caller, backend),
        Filter::Status(comparison, status) => compare(Expr::col(tasks::Column::Status), *comparison, status.stored()),
        // On the `(project_id, state_id, position, id)` index: the database
        // keeps `state_id` in step for rows of the previous release too.
        Filter::State(comparison, state) => {
            compare(Expr::col((tasks::Entity, tasks::Column::StateId)), *comparison, state.state.to_string())
        }
        // On `tasks_by_parent`; `!=` a task includes top-level tasks.
        Filter::Parent(comparison, parent) => {
            let column = || Expr::col((tasks::Entity, tasks::Column::ParentId));
            match (comparison, parent) {
                (Comparison::NotEqual, None) => column().is_not_null(),
                (_, None) => column().is_null(),
                (Comparison::NotEqual, Some(parent)) => column().is_null().or(column().ne(parent.task.to_string())),
                (_, Some(parent)) => column().eq(parent.task.to_string()),
            }
        }
        Filter::Priority(comparison, priority) => {
            compare(Expr::col(tasks::Column::Priority), *comparison, priority.stored())
        }
        Filter::Time(field, comparison, micros) => {
            let column = match field {
                TimeField::Due => tasks::Column::DueTime,
                TimeField::Start => tasks::Column::StartTime,
                TimeField::Create => tasks::Column::CreateTime,
                TimeField::Update => tasks::Column::UpdateTime,
            };
            compare(Expr::col(column), *comparison, *micros)
        }
        Filter::Contains(field, needle) => match (backend, field) {
            (DbBackend::Sqlite, field) if needle.chars().count() >= 3 => trigram_contains(*field, needle),
            (_, TextField::Title) => contains(tasks::Column::Title, needle),
            (_, TextField::Description) => contains(tasks::Column::Description, needle),
            (_, TextField::Text) => {
                contains(tasks::Column::Title, needle).or(contains(tasks::Column::Description, needle))
            }
        },
        Filter::Assignee(comparison, assignee) => {
            let user = match assignee {
                Assignee::User(user) => *user,
                Assignee::Me => caller,
            };
            let assigned = task_ids_where(
                task_assignees::Entity,
                Some(Expr::col(task_assignees::Column::UserId).eq(user.to_string())),
                task_assignees::Column::TaskId,
            );
            match comparison {
                Comparison::NotEqual => id().not_in_subquery(assigned),
                _ => id().in_subquery(assigned),
            }
        }
        Filter::AnyAssignee => {
            id().in_subquery(task_ids_where(task_assignees::Entity, None, task_assignees::Column::TaskId))
        }
        Filter::Label(comparison, label) => {
            let labelled = task_ids_where(
                task_labels::Entity,
                Some(Expr::col(task_labels::Column::Label).eq(label.as_str())),
                task_labels::Column::TaskId,
            );
            match comparison {
                Comparison::NotEqual => id().not_in_subquery(labelled),
                _ => id().in_subquery(labelled),
            }
        }
        Filter::AnyLabel => id().in_subquery(task_ids_where(task_labels::Entity, None, task_labels::Column::TaskId)),
        Filter::Is(blocking) => {
            // An open task on the other side of a blocking relation: on the
            // `task_relations` primary key `(task_id, id)`, then the other
            // task by its primary key.
            let (relation, other) = (Alias::new("blocking_relation"), Alias::new("blocking_task"));
            let kind = match blocking {
                Blocking::Blocked => RelationKind::BlockedBy,
                Blocking::Blocking => RelationKind::Blocks,
            };
            let mut open = Query::select();
            open.expr(Expr::value(1))
                .from_as(task_relations::Entity, relation.clone())
                .join_as(
                    JoinType::InnerJoin,
                    tasks::Entity,
                    other.clone(),
                    Expr::col((other.clone(), tasks::Column::Id))
                        .equals((relation.clone(), task_relations::Column::OtherTaskId)),
                )
                .and_where(
                    Expr::col((relation.clone(), task_relations::Column::TaskId))
                        .equals((tasks::Entity, tasks::Column::Id)),
                )
                .and_where(Expr::col((relation, task_relations::Column::Kind)).eq(kind.stored()))
                .and_where(Expr::col((other.clone(), tasks::Column::Status)).ne(TaskStatus::Done.stored()))
                .and_where(Expr::col((other, tasks::Column::DeleteTime)).is_null());
            let outer = |column: tasks::Column| Expr::col((tasks::Entity, column));
            match blocking {
                Blocking::Blocked => Expr::exists(open),
                // A done or deleted task blocks nothing (as for the
                // completion rule), whatever its relations say.
                Blocking::Blocking => Expr::exists(open)
                    .and(outer(tasks::Column::Status).ne(TaskStatus::Done.stored()))
                    .and(outer(tasks::Column::DeleteTime).is_null()),
            }
        }
        Filter::Custom(term) => match &term.resolved {
            Some(resolved) => custom_condition(resolved, caller),
            // The service resolves every term before listing; an unresolved
            // one matches nothing rather than everything.
            None => Expr::value(false),
        },
    }
}

/// A custom field restriction: the task's id among those with a matching
/// value, found on the field's `(field_id, <typed column>, task_id)` index.
/// `!=` (and an unchecked checkbox) is the negation of `=`, so tasks
/// without a value match it.
fn custom_condition(resolved: &CustomCondition, caller: UserId) -> SimpleExpr {
    let id = || Expr::col((tasks::Entity, tasks::Column::Id));
    let column = |column: task_field_values::Column| Expr::col((task_field_values::Entity, column));
    let having = |value: Option<SimpleExpr>| {
        let field = column(task_field_values::Column::FieldId).eq(resolved.field_id.as_str());
        let condition = match value {
            Some(value) => field.and(value),
            None => field,
        };
        task_ids_where(task_field_values::Entity, Some(condition), task_field_values::Column::TaskId)
    };
    let negatable = |comparison: Comparison, value: SimpleExpr| match comparison {
        Comparison::NotEqual => id().not_in_subquery(having(Some(value))),
        _ => id().in_subquery(having(Some(value))),
    };
    let text = || column(task_field_values::Column::TextValue);
    match &resolved.test {
        CustomTest::Any => id().in_subquery(having(None)),
        CustomTest::Number(Comparison::NotEqual, number) => {
            negatable(Comparison::NotEqual, column(task_field_values::Column::NumberValue).eq(*number))
        }
        CustomTest::Number(comparison, number) => id().in_subquery(having(Some(compare(
            column(task_field_values::Column::NumberValue),
            *comparison,
            *number,
        )))),
        CustomTest::Time(Comparison::NotEqual, micros) => {
            negatable(Comparison::NotEqual, column(task_field_values::Column::TimeValue).eq(*micros))
        }
        CustomTest::Time(comparison, micros) => {
            id().in_subquery(having(Some(compare(column(task_field_values::Column::TimeValue), *comparison, *micros))))
        }
        CustomTest::Text(comparison, value) => negatable(*comparison, text().eq(value.as_str())),
        CustomTest::Me(comparison) => negatable(*comparison, text().eq(caller.to_string())),
        CustomTest::Contains(needle) => id().in_subquery(having(Some(contains_in(text(), needle)))),
        CustomTest::Checked(checked) => {
            let is_checked = column(task_field_values::Column::BoolValue).eq(true);
            if *checked {
                id().in_subquery(having(Some(is_checked)))
            } else {
                id().not_in_subquery(having(Some(is_checked)))
            }
        }
    }
}

/// The rows a list reads, before its order and its token: the project's
/// tasks (live ones unless `show_deleted`) that match the filter.
fn listed(query: &TaskQuery<'_>, backend: DbBackend) -> Select<tasks::Entity> {
    let mut select = tasks::Entity::find().filter(tasks::Column::ProjectId.eq(query.project.to_string()));
    if !query.show_deleted {
        select = select.filter(tasks::Column::DeleteTime.is_null());
    }
    if let Some(filter) = query.filter {
        select = select.filter(condition(filter, query.caller, backend));
    }
    select
}

/// Rows strictly after (`key`, `id`) = (`value`, `after_id`) in the order's
/// direction. The redundant bound comes first: the index of the order starts
/// its scan there, instead of at the first page.
fn keyset(descending: bool, key: Expr, id: Expr, value: sea_orm::Value, after_id: &str) -> SimpleExpr {
    if descending {
        key.clone().lte(value.clone()).and(key.clone().lt(value.clone()).or(key.eq(value).and(id.lt(after_id))))
    } else {
        key.clone().gte(value.clone()).and(key.clone().gt(value.clone()).or(key.eq(value).and(id.gt(after_id))))
    }
}

/// The first part of a page in the order of a custom field: tasks with a
/// value, after `after` (the value and task id of the previous page's last
/// row), in the order of the field's `(field_id, <typed column>, task_id)`
/// index, joined to their tasks as `"sort_value"`.
fn with_values(
    query: &TaskQuery<'_>,
    sort: CustomSort,
    after: Option<(sea_orm::Value, &str)>,
    backend: DbBackend,
) -> Select<tasks::Entity> {
    let alias = Alias::new("sort_value");
    let column = |column: task_field_values::Column| Expr::col((alias.clone(), column));
    let value = column(match sort.kind {
        CustomSortKind::Number => task_field_values::Column::NumberValue,
        CustomSortKind::Date => task_field_values::Column::TimeValue,
        CustomSortKind::Checkbox => task_field_values::Column::BoolValue,
        CustomSortKind::Text => task_field_values::Column::TextValue,
    });
    let task = column(task_field_values::Column::TaskId);
    let mut select = listed(query, backend);
    QueryTrait::query(&mut select).join_as(
        JoinType::InnerJoin,
        task_field_values::Entity,
        alias.clone(),
        task.clone()
            .equals((tasks::Entity, tasks::Column::Id))
            .and(column(task_field_values::Column::FieldId).eq(sort.field.to_string())),
    );
    if let Some((after_value, after_id)) = after {
        select = select.filter(keyset(query.order.descending, value.clone(), task.clone(), after_value, after_id));
    }
    let direction = if query.order.descending { Order::Desc } else { Order::Asc };
    select.order_by(value, direction.clone()).order_by(task, direction).limit(query.limit)
}

/// The second part: `limit` tasks without a value (an anti-join on the
/// values' primary key), after the task `after`, by id.
fn without_value(
    query: &TaskQuery<'_>,
    sort: CustomSort,
    (after, limit): (Option<&str>, u64),
    backend: DbBackend,
) -> Select<tasks::Entity> {
    let values = |column: task_field_values::Column| Expr::col((task_field_values::Entity, column));
    let mut valued = Query::select();
    valued
        .expr(Expr::value(1))
        .from(task_field_values::Entity)
        .and_where(values(task_field_values::Column::TaskId).equals((tasks::Entity, tasks::Column::Id)))
        .and_where(values(task_field_values::Column::FieldId).eq(sort.field.to_string()));
    let mut select = listed(query, backend).filter(Expr::exists(valued).not());
    let id = || Expr::col((tasks::Entity, tasks::Column::Id));
    if let Some(after) = after {
        select = select.filter(if query.order.descending { id().lt(after) } else { id().gt(after) });
    }
    let direction = if query.order.descending { Order::Desc } else { Order::Asc };
    select.order_by(id(), direction).limit(limit)
}

/// Whether only tasks with a value of the field `field_id` can pass
/// `filter`: one of the restrictions it ANDs at its top needs a value
/// (`cf.x:*`, `cf.x >= 3`, `cf.x = "a"`, `cf.x:text`, `cf.x = true`; not
/// `!=`, nor `= false`, which tasks without a value pass). Walked without
/// recursion, like [`condition`].
fn requires_value(filter: &Filter, field_id: &str) -> bool {
    chain(filter, true).into_iter().any(|term| match term {
        Filter::Custom(CustomTerm { resolved: Some(resolved), .. }) if resolved.field_id == field_id => {
            match &resolved.test {
                CustomTest::Number(comparison, _)
                | CustomTest::Time(comparison, _)
                | CustomTest::Text(comparison, _)
                | CustomTest::Me(comparison) => *comparison != Comparison::NotEqual,
                CustomTest::Any | CustomTest::Contains(_) => true,
                CustomTest::Checked(checked) => *checked,
            }
        }
        _ => false,
    })
}

/// Where a page in the order of a custom field starts.
#[derive(Debug, Clone, PartialEq)]
enum CustomStart<V, M> {
    /// Among the tasks with a value: at the first one, or after a value.
    Values(Option<V>),
    /// Among the tasks without a value.
    Missing(M),
}

/// Where the page after a token's sort `key` starts, as the value to
/// compare the field's typed column with; `None` for a key of another type
/// (the token's fingerprint binds it to the order, so only a forged token
/// has one). A key past the values (the missing value's place, or beyond)
/// starts among the tasks without a value; one before them, at the first.
fn custom_after(
    order: TaskOrder,
    kind: CustomSortKind,
    key: Option<&SortKey>,
) -> Option<CustomStart<sea_orm::Value, ()>> {
    use CustomStart::{Missing, Values};
    let descending = order.descending;
    // Where a key outside the values starts: `below` them or above.
    let outside = |below: bool| if below == descending { Missing(()) } else { Values(None) };
    Some(match (kind, key?) {
        (CustomSortKind::Number, key @ (SortKey::Number(_) | SortKey::Integer(_))) => {
            let number = match key {
                SortKey::Integer(integer) => *integer as f64,
                SortKey::Number(number) => *number,
                SortKey::Text(_) => return None,
            };
            match number {
                n if n <= -MAX_NUMBER_KEY => outside(true),
                n if n >= MAX_NUMBER_KEY => outside(false),
                n => Values(Some(n.into())),
            }
        }
        (CustomSortKind::Date, SortKey::Integer(micros)) => match *micros {
            i64::MIN => outside(true),
            i64::MAX => outside(false),
            micros => Values(Some(micros.into())),
        },
        (CustomSortKind::Checkbox, SortKey::Integer(checked)) => match *checked {
            ..0 => outside(true),
            2.. => outside(false),
            checked => Values(Some((checked == 1).into())),
        },
        (CustomSortKind::Text, SortKey::Text(text)) => match text.strip_prefix('0') {
            Some(value) => Values(Some(value.to_owned().into())),
            None if text.is_empty() => outside(true),
            None => outside(false),
        },
        _ => return None,
    })
}

/// Number keys at least this far from zero are no value's: values are at
/// most 1e15 in magnitude, the missing value's place is ±1e300.
const MAX_NUMBER_KEY: f64 = 1e200;

/// Where a missing due time sorts: last, in either direction.
fn missing_due_time(order: TaskOrder) -> i64 {
    if order.descending { i64::MIN } else { i64::MAX }
}

/// Where a task without a value of a custom NUMBER field sorts: last, in
/// either direction (values are at most 1e15 in magnitude).
fn missing_number(order: TaskOrder) -> f64 {
    if order.descending { -1e300 } else { 1e300 }
}

/// Where a task without a value of a custom CHECKBOX field sorts:
/// unchecked is 0, checked 1; missing last, in either direction.
fn missing_checkbox(order: TaskOrder) -> i64 {
    if order.descending { -1 } else { 2 }
}

/// Where a task without a value of a custom TEXT or SINGLE_SELECT field
/// sorts, against [`present_text`] keys: last, in either direction. Every
/// present key starts with `0`, which sorts before `1` and after the empty
/// string in any collation, so no sentinel text value is needed.
fn missing_text(order: TaskOrder) -> &'static str {
    if order.descending { "" } else { "1" }
}

/// The sort key of a present TEXT or SINGLE_SELECT value: `0` and the text
/// (the shared first character keeps the values' own collation order).
fn present_text(value: &str) -> String {
    format!("0{value}")
}

/// The sort key expression of `order` (a custom field's order is read
/// by [`TaskStore::list_by_custom`]; its key is [`sort_key_of`]'s).
fn sort_key(order: TaskOrder) -> Expr {
    match order.field {
        TaskOrderField::Position | TaskOrderField::Custom(_) => Expr::col(tasks::Column::Position),
        TaskOrderField::CreateTime => Expr::col(tasks::Column::CreateTime),
        TaskOrderField::UpdateTime => Expr::col(tasks::Column::UpdateTime),
        TaskOrderField::Priority => Expr::col(tasks::Column::Priority),
        TaskOrderField::Title => Expr::col(tasks::Column::Title),
        TaskOrderField::DueTime => {
            Func::coalesce([Expr::col(tasks::Column::DueTime), Expr::value(missing_due_time(order))]).into()
        }
    }
}

/// A row's value of the sort key of `order`, for the next page's token.
pub fn sort_key_of(order: TaskOrder, record: &TaskRecord) -> SortKey {
    let task = &record.task;
    match order.field {
        TaskOrderField::Custom(Some(sort)) => {
            let id = sort.field.to_string();
            let value = record.custom_fields.values().find(|custom| custom.field_id == id).map(|custom| &custom.value);
            match (sort.kind, value) {
                (CustomSortKind::Number, Some(FieldValue::Number(number))) => SortKey::Number(*number),
                (CustomSortKind::Number, _) => SortKey::Number(missing_number(order)),
                (CustomSortKind::Date, Some(FieldValue::Date(micros))) => SortKey::Integer(*micros),
                (CustomSortKind::Date, _) => SortKey::Integer(missing_due_time(order)),
                (CustomSortKind::Checkbox, Some(FieldValue::Checkbox(checked))) => {
                    SortKey::Integer(i64::from(*checked))
                }
                (CustomSortKind::Checkbox, _) => SortKey::Integer(missing_checkbox(order)),
                (CustomSortKind::Text, Some(FieldValue::Text(text) | FieldValue::Option(text))) => {
                    SortKey::Text(present_text(text))
                }
                (CustomSortKind::Text, _) => SortKey::Text(missing_text(order).to_owned()),
            }
        }
        TaskOrderField::Position | TaskOrderField::Custom(None) => SortKey::Integer(task.position),
        TaskOrderField::CreateTime => SortKey::Integer(task.create_time),
        TaskOrderField::UpdateTime => SortKey::Integer(task.update_time),
        TaskOrderField::Priority => SortKey::Integer(task.priority.into()),
        TaskOrderField::Title => SortKey::Text(task.title.clone()),
        TaskOrderField::DueTime => SortKey::Integer(task.due_time.unwrap_or(missing_due_time(order))),
    }
}

/// The rows of `column`'s tasks, on the `(project_id, state_id, position, id)`
/// index.
fn in_column(column: &Column) -> SimpleExpr {
    Expr::col((tasks::Entity, tasks::Column::StateId)).eq(column.state.id.clone())
}

async fn bottom_of(db: &impl ConnectionTrait, project: ProjectId, column: &Column) -> Result<i64, TaskStoreError> {
    let max: Option<i64> = tasks::Entity::find()
        .select_only()
        .expr(Func::max(Expr::col(tasks::Column::Position)))
        .filter(tasks::Column::ProjectId.eq(project.to_string()))
        .filter(in_column(column))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    Ok(max.map_or(0, |max| max + POSITION_GAP))
}

/// How many live tasks other than `excluding` are in `column`.
pub(super) async fn count_in_column(
    db: &impl ConnectionTrait,
    project: ProjectId,
    column: &Column,
    excluding: Option<&str>,
) -> Result<u64, DbErr> {
    let mut select = tasks::Entity::find()
        .filter(tasks::Column::ProjectId.eq(project.to_string()))
        .filter(in_column(column))
        .filter(tasks::Column::DeleteTime.is_null());
    if let Some(excluding) = excluding {
        select = select.filter(tasks::Column::Id.ne(excluding));
    }
    sea_orm::PaginatorTrait::count(select, db).await
}

/// Moves every task of `from` (deleted ones too) to the bottom of `to`, in
/// board order, each with a history entry and a feed event; the caller
/// holds the project's placement lock. Returns how many moved.
pub(super) async fn move_column(
    txn: &DatabaseTransaction,
    project: ProjectId,
    (from, to): (&Column, &Column),
    (actor, kind): (UserId, i16),
    describe: impl Fn(&TaskRecord, &TaskRecord) -> History,
) -> Result<u64, TaskStoreError> {
    let select = tasks::Entity::find()
        .filter(tasks::Column::ProjectId.eq(project.to_string()))
        .filter(in_column(from))
        .order_by_asc(tasks::Column::Position)
        .order_by_asc(tasks::Column::Id)
        .lock(LockType::NoKeyUpdate);
    let records = fetch(txn, select).await?;
    let mut position = bottom_of(txn, project, to).await?;
    let now = time::now();
    for before in &records {
        let mut after = before.clone();
        after.enter(to, now);
        after.task.state_id = after.state.clone();
        after.task.position = position;
        after.task.version += 1;
        after.task.update_time = now;
        position += POSITION_GAP;
        tasks::ActiveModel::from(after.task.clone()).reset_all().update(txn).await?;
        let history = describe(before, &after);
        record_change(txn, &after, kind, history, &actor.to_string()).await?;
    }
    Ok(records.len() as u64)
}

/// Ids and positions of a column's live tasks other than `moving`, in
/// board order, for position arithmetic.
#[tracing::instrument(name = "db.tasks.column_positions", skip_all, fields(otel.kind = "client"))]
async fn column_positions(
    db: &impl ConnectionTrait,
    project: ProjectId,
    column: &Column,
    moving: &str,
) -> Result<Vec<(String, i64)>, DbErr> {
    tasks::Entity::find()
        .select_only()
        .column(tasks::Column::Id)
        .column(tasks::Column::Position)
        .filter(tasks::Column::ProjectId.eq(project.to_string()))
        .filter(in_column(column))
        .filter(tasks::Column::DeleteTime.is_null())
        .filter(tasks::Column::Id.ne(moving))
        .order_by_asc(tasks::Column::Position)
        .order_by_asc(tasks::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// Sets positions directly, used when a column is renumbered.
async fn set_position(db: &impl ConnectionTrait, task: &str, position: i64) -> Result<(), DbErr> {
    tasks::Entity::update_many()
        .col_expr(tasks::Column::Position, Expr::value(position))
        .filter(tasks::Column::Id.eq(task))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, Query};

    use super::*;
    use crate::domain::{FieldId, TaskStatus, filter::Comparison};

    /// The statement of `select` as the server sends it to PostgreSQL, its
    /// values inlined (with `TASKTRACKER_PRINT_SQL` set, printed for
    /// `EXPLAIN ANALYZE`).
    fn postgres_sql(mut select: Select<tasks::Entity>) -> String {
        for (list, alias) in computed_columns(DbBackend::Postgres) {
            QueryTrait::query(&mut select).expr_as(list, alias);
        }
        let sql = select.build(DbBackend::Postgres).to_string();
        if std::env::var_os("TASKTRACKER_PRINT_SQL").is_some() {
            println!("{sql};");
        }
        sql
    }

    #[test]
    fn a_custom_order_walks_the_value_index_then_reads_the_tasks_without_a_value() {
        let sort = CustomSort {
            field: FieldId::from_stored("019af0e0-0000-7000-8000-00000000f1e1"),
            kind: CustomSortKind::Number,
        };
        let query = TaskQuery {
            project: ProjectId::from_stored("019af0e0-0000-7000-8000-0000000000a1"),
            filter: None,
            caller: UserId::from_stored("019af0e0-0000-7000-8000-0000000000b1"),
            order: TaskOrder { field: TaskOrderField::Custom(Some(sort)), descending: true },
            show_deleted: false,
            after: None,
            limit: 51,
        };
        let first = postgres_sql(with_values(&query, sort, None, DbBackend::Postgres));
        assert!(first.contains(r#"INNER JOIN "task_field_values" AS "sort_value" ON "sort_value"."task_id" = "tasks"."id" AND "sort_value"."field_id" = '019af0e0-0000-7000-8000-00000000f1e1'"#), "{first}");
        assert!(
            first.ends_with(r#"ORDER BY "sort_value"."number_value" DESC, "sort_value"."task_id" DESC LIMIT 51"#),
            "{first}"
        );
        let after = "019af0e0-0000-7000-8000-0000000000c1";
        let next = postgres_sql(with_values(&query, sort, Some((3.5.into(), after)), DbBackend::Postgres));
        assert!(next.contains(r#""sort_value"."number_value" <= 3.5 AND ("sort_value"."number_value" < 3.5 OR ("sort_value"."number_value" = 3.5 AND "sort_value"."task_id" < '019af0e0-0000-7000-8000-0000000000c1'))"#), "{next}");
        let rest = postgres_sql(without_value(&query, sort, (Some(after), 7), DbBackend::Postgres));
        assert!(rest.contains(r#"NOT EXISTS(SELECT 1 FROM "task_field_values" WHERE "task_field_values"."task_id" = "tasks"."id" AND "task_field_values"."field_id" = '019af0e0-0000-7000-8000-00000000f1e1')"#), "{rest}");
        assert!(rest.contains(r#""tasks"."id" < '019af0e0-0000-7000-8000-0000000000c1'"#), "{rest}");
        assert!(rest.ends_with(r#"ORDER BY "tasks"."id" DESC LIMIT 7"#), "{rest}");
        assert!(!rest.contains("sort_value"));
    }

    #[test]
    fn filters_that_need_a_value_of_the_sort_field_are_recognised() {
        let field = "field-1";
        let lookup = |key: &str| match key {
            "estimate" => Some((field.to_owned(), crate::domain::fields::FieldType::Number)),
            "done" => Some((field.to_owned(), crate::domain::fields::FieldType::Checkbox)),
            _ => Some(("other".to_owned(), crate::domain::fields::FieldType::Number)),
        };
        let needs = |input: &str| {
            let mut filter = crate::domain::filter::parse(input).expect("parses").expect("a filter");
            crate::domain::filter::resolve_custom(&mut filter, lookup).expect("resolves");
            requires_value(&filter, field)
        };
        for input in
            ["cf.estimate >= 13", "status = TODO cf.estimate:*", "cf.estimate = 3 AND label:*", "cf.done = true"]
        {
            assert!(needs(input), "{input}");
        }
        for input in [
            "cf.estimate != 3",
            "cf.done = false",
            "cf.estimate > 3 OR status = TODO",
            "NOT cf.estimate:*",
            "cf.other > 1",
            "status = TODO",
        ] {
            assert!(!needs(input), "{input}");
        }
    }

    #[test]
    fn a_custom_order_token_starts_among_the_values_or_after_them() {
        use CustomStart::{Missing, Values};
        let ascending = TaskOrder { field: TaskOrderField::Custom(None), descending: false };
        let descending = TaskOrder { descending: true, ..ascending };
        let start = |order, kind, key: SortKey| custom_after(order, kind, Some(&key));
        let value = |value: sea_orm::Value| Some(Values(Some(value)));
        // The keys `sort_key_of` writes: values, and the missing value's place.
        for order in [ascending, descending] {
            assert_eq!(start(order, CustomSortKind::Number, SortKey::Number(2.5)), value(2.5.into()));
            assert_eq!(start(order, CustomSortKind::Number, SortKey::Integer(3)), value(3.0.into()));
            assert_eq!(start(order, CustomSortKind::Number, SortKey::Number(missing_number(order))), Some(Missing(())));
            assert_eq!(start(order, CustomSortKind::Date, SortKey::Integer(7)), value(7_i64.into()));
            assert_eq!(
                start(order, CustomSortKind::Date, SortKey::Integer(missing_due_time(order))),
                Some(Missing(()))
            );
            assert_eq!(start(order, CustomSortKind::Checkbox, SortKey::Integer(1)), value(true.into()));
            assert_eq!(start(order, CustomSortKind::Checkbox, SortKey::Integer(0)), value(false.into()));
            assert_eq!(
                start(order, CustomSortKind::Checkbox, SortKey::Integer(missing_checkbox(order))),
                Some(Missing(()))
            );
            assert_eq!(start(order, CustomSortKind::Text, SortKey::Text(present_text("0b"))), value("0b".into()));
            assert_eq!(start(order, CustomSortKind::Text, SortKey::Text(present_text(""))), value("".into()));
            assert_eq!(
                start(order, CustomSortKind::Text, SortKey::Text(missing_text(order).into())),
                Some(Missing(()))
            );
            // A key of another type comes only from a forged token: nothing.
            assert_eq!(start(order, CustomSortKind::Date, SortKey::Text("x".into())), None);
            assert_eq!(start(order, CustomSortKind::Text, SortKey::Number(1.0)), None);
            assert_eq!(custom_after(order, CustomSortKind::Number, None), None);
        }
        // Forged keys beyond the values: before them, the first value; past
        // them, the tasks without one.
        assert_eq!(start(ascending, CustomSortKind::Checkbox, SortKey::Integer(-5)), Some(Values(None)));
        assert_eq!(start(descending, CustomSortKind::Checkbox, SortKey::Integer(5)), Some(Values(None)));
        assert_eq!(start(descending, CustomSortKind::Checkbox, SortKey::Integer(-5)), Some(Missing(())));
        assert_eq!(start(ascending, CustomSortKind::Number, SortKey::Number(-1e250)), Some(Values(None)));
        assert_eq!(start(ascending, CustomSortKind::Text, SortKey::Text("zz".into())), Some(Missing(())));
        assert_eq!(start(descending, CustomSortKind::Text, SortKey::Text("zz".into())), Some(Values(None)));
    }

    /// `status = TODO OR status = TODO OR …`, `n` terms, nested as the
    /// parser nests a chain (left-deep).
    fn or_chain(n: usize) -> Filter {
        let term = || Filter::Status(Comparison::Equal, TaskStatus::Todo);
        (1..n).fold(term(), |chain, _| Filter::Or(Box::new(chain), Box::new(term())))
    }

    #[test]
    fn long_chains_become_shallow_sql_with_every_term() {
        // A small stack: a translation as deep as the chain would overflow it.
        let sql = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let caller = UserId::from_stored("01a24e54-5d11-72c2-a18b-6eb7ba45004c");
                let filter = Filter::And(Box::new(or_chain(1_000)), Box::new(or_chain(3)));
                let condition = condition(&filter, caller, DbBackend::Postgres);
                let sql = Query::select()
                    .column(tasks::Column::Id)
                    .from(tasks::Entity)
                    .and_where(condition)
                    .to_string(PostgresQueryBuilder);
                std::mem::forget(filter); // dropping the left-deep input recurses; the input is the parser's concern
                sql
            })
            .expect("thread starts")
            .join()
            .expect("no stack overflow");
        assert_eq!(sql.matches(r#""status" = 1"#).count(), 1_003, "{sql}");
        assert_eq!(sql.matches(" OR ").count(), 999 + 2);
        assert_eq!(sql.matches(" AND ").count(), 1);
        let depth = sql.chars().try_fold((0_usize, 0_usize), |(open, deepest), c| match c {
            '(' => Some((open + 1, deepest.max(open + 1))),
            ')' => open.checked_sub(1).map(|open| (open, deepest)),
            _ => Some((open, deepest)),
        });
        let (_, deepest) = depth.expect("balanced parentheses");
        assert!(deepest <= 16, "parenthesised {deepest} deep: {sql}");
    }
}
