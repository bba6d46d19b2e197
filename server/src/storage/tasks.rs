//! Tasks with their assignees and labels: reading them (one task, or a
//! filtered, ordered page), turning the parsed filter into SQL, and writing
//! them in one transaction with their history entry and change feed event.

use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, SqlErr, TransactionTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr},
};

use super::{
    comments::{self, CommentStoreError, FieldChange},
    entities::{memberships, task_assignees, task_labels, tasks},
    events::{self, EventStoreError, NewEvent},
};
use crate::domain::{
    ProjectId, RequestId, TaskId, TaskName, TaskStatus, UserId,
    filter::{Assignee, Comparison, Filter, TextField, TimeField},
    page::{Cursor, SortKey, TaskOrder, TaskOrderField},
    time::{self, Micros},
};

/// How long a deleted task stays recoverable.
pub const DELETED_RETENTION: i64 = time::seconds(30 * time::DAY);
/// Space left between neighbours in a column, so most moves write one row.
const POSITION_GAP: i64 = 1 << 20;

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
    #[error(transparent)]
    Events(#[from] EventStoreError),
    #[error(transparent)]
    History(#[from] CommentStoreError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A task with its assignees and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub task: tasks::Model,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
}

impl TaskRecord {
    pub fn name(&self) -> TaskName {
        TaskName { project: ProjectId::from_stored(&self.task.project_id), task: TaskId::from_stored(&self.task.id) }
    }
}

/// What a write records besides the task: its history entry's field
/// changes, and the task as watchers receive it (encoded by the caller).
#[derive(Debug, Clone)]
pub struct History {
    pub changes: Vec<FieldChange>,
    pub snapshot: Vec<u8>,
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
}

impl TaskStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The task named `name`, if it exists in that project.
    #[tracing::instrument(name = "db.tasks.find", skip_all, fields(otel.kind = "client"))]
    pub async fn find(&self, name: TaskName) -> Result<Option<TaskRecord>, TaskStoreError> {
        find_in(&self.db, name).await
    }

    /// The task a create with `request_id` made in `project`, if any.
    pub async fn find_by_request_id(
        &self,
        project: ProjectId,
        request_id: &RequestId,
    ) -> Result<Option<TaskRecord>, TaskStoreError> {
        let found = tasks::Entity::find()
            .filter(tasks::Column::ProjectId.eq(project.to_string()))
            .filter(tasks::Column::RequestId.eq(request_id.as_str()))
            .one(&self.db)
            .await?;
        Ok(match found {
            Some(task) => with_relations(&self.db, vec![task]).await?.pop(),
            None => None,
        })
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
        let key = sort_key(query.order);
        let mut select = tasks::Entity::find().filter(tasks::Column::ProjectId.eq(query.project.to_string()));
        if !query.show_deleted {
            select = select.filter(tasks::Column::DeleteTime.is_null());
        }
        if let Some(filter) = query.filter {
            select = select.filter(condition(filter, query.caller));
        }
        if let Some(after) = query.after {
            let value: sea_orm::Value = match &after.key {
                Some(SortKey::Integer(value)) => (*value).into(),
                Some(SortKey::Text(value)) => value.clone().into(),
                // Tokens of task lists always carry a key; tampered ones are
                // refused by their fingerprint before they get here.
                None => return Ok(Vec::new()),
            };
            let id = Expr::col(tasks::Column::Id);
            let keyset = if query.order.descending {
                key.clone().lt(value.clone()).or(key.clone().eq(value).and(id.lt(after.id.clone())))
            } else {
                key.clone().gt(value.clone()).or(key.clone().eq(value).and(id.gt(after.id.clone())))
            };
            select = select.filter(keyset);
        }
        let direction = if query.order.descending { Order::Desc } else { Order::Asc };
        let rows = select
            .order_by(key, direction.clone())
            .order_by(tasks::Column::Id, direction)
            .limit(query.limit)
            .all(&self.db)
            .await?;
        with_relations(&self.db, rows).await
    }

    /// Inserts a new task at the bottom of its column, with its history
    /// entry and feed event, in one transaction.
    pub async fn create(
        &self,
        mut record: TaskRecord,
        kind: i16,
        describe: impl FnOnce(&TaskRecord) -> History,
    ) -> Result<TaskRecord, TaskStoreError> {
        let project = ProjectId::from_stored(&record.task.project_id);
        let status = TaskStatus::from_stored(record.task.status);
        let txn = self.db.begin().await?;
        let seq = events::next_seq(&txn, project).await?;
        record.task.position = TaskWriter { txn: &txn, project }.bottom_of_column(status).await?;
        let inserted = tasks::Entity::insert(tasks::ActiveModel::from(record.task.clone())).exec(&txn).await;
        if let Err(error) = inserted {
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) if record.task.request_id.is_some() => {
                    TaskStoreError::DuplicateRequest
                }
                _ => error.into(),
            });
        }
        replace_relations(&txn, &record.task.id, &record.assignees, &record.labels).await?;
        let history = describe(&record);
        record_change(&txn, seq, &record, kind, history, record.task.creator_id.as_str()).await?;
        txn.commit().await?;
        Ok(record)
    }

    /// Changes one task in a transaction holding the project's feed lock:
    /// `change` edits the current record (and may place it, through the
    /// [`TaskWriter`]); the new version is written, guarded by the old one,
    /// and recorded in history and feed. Returns the task before and after.
    pub async fn change<E, F, D>(
        &self,
        name: TaskName,
        actor: UserId,
        kind: i16,
        change: F,
        describe: D,
    ) -> Result<(TaskRecord, TaskRecord), E>
    where
        E: From<TaskStoreError>,
        F: AsyncFnOnce(&TaskWriter<'_>, &mut TaskRecord) -> Result<(), E>,
        D: FnOnce(&TaskRecord, &TaskRecord) -> History,
    {
        let txn = self.db.begin().await.map_err(TaskStoreError::from)?;
        let seq = events::next_seq(&txn, name.project).await.map_err(TaskStoreError::from)?;
        let before = find_in(&txn, name).await?.ok_or(TaskStoreError::NotFound)?;
        let mut after = before.clone();
        change(&TaskWriter { txn: &txn, project: name.project }, &mut after).await?;
        after.task.version = before.task.version + 1;
        after.task.update_time = time::now();
        let history = describe(&before, &after);
        let updated = tasks::Entity::update_many()
            .set(tasks::ActiveModel::from(after.task.clone()).reset_all())
            .filter(tasks::Column::Id.eq(&after.task.id))
            .filter(tasks::Column::Version.eq(before.task.version))
            .exec(&txn)
            .await
            .map_err(TaskStoreError::from)?;
        if updated.rows_affected != 1 {
            return Err(TaskStoreError::Stale.into());
        }
        if before.assignees != after.assignees || before.labels != after.labels {
            replace_relations(&txn, &after.task.id, &after.assignees, &after.labels)
                .await
                .map_err(TaskStoreError::from)?;
        }
        record_change(&txn, seq, &after, kind, history, &actor.to_string()).await?;
        txn.commit().await.map_err(TaskStoreError::from)?;
        Ok((before, after))
    }

    /// Purges tasks deleted before `before` (their relations cascade).
    pub async fn purge_deleted(&self, before: Micros) -> Result<u64, TaskStoreError> {
        let purged = tasks::Entity::delete_many().filter(tasks::Column::DeleteTime.lt(before)).exec(&self.db).await?;
        Ok(purged.rows_affected)
    }
}

/// Places tasks inside a write's transaction.
pub struct TaskWriter<'a> {
    txn: &'a DatabaseTransaction,
    project: ProjectId,
}

impl TaskWriter<'_> {
    /// Position at the bottom of a column.
    pub async fn bottom_of_column(&self, status: TaskStatus) -> Result<i64, TaskStoreError> {
        let max: Option<i64> = tasks::Entity::find()
            .select_only()
            .expr(Func::max(Expr::col(tasks::Column::Position)))
            .filter(tasks::Column::ProjectId.eq(self.project.to_string()))
            .filter(tasks::Column::Status.eq(status.stored()))
            .into_tuple()
            .one(self.txn)
            .await?
            .flatten();
        Ok(max.map_or(0, |max| max + POSITION_GAP))
    }

    /// Position right after the task `after` (or at the top), renumbering
    /// the column if there is no room left between neighbours.
    pub async fn position_after(
        &self,
        status: TaskStatus,
        moving: &str,
        after: Option<&str>,
    ) -> Result<i64, TaskStoreError> {
        let mut column = column_positions(self.txn, self.project, status, Some(moving)).await?;
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

/// The task named `name` on `db` (a pool or a transaction).
async fn find_in(db: &impl ConnectionTrait, name: TaskName) -> Result<Option<TaskRecord>, TaskStoreError> {
    let Some(task) = tasks::Entity::find_by_id(name.task.to_string())
        .filter(tasks::Column::ProjectId.eq(name.project.to_string()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(with_relations(db, vec![task]).await?.pop())
}

/// Loads assignees and labels for `rows`, two queries for the whole batch.
#[tracing::instrument(name = "db.tasks.with_relations", skip_all, fields(otel.kind = "client"))]
async fn with_relations(db: &impl ConnectionTrait, rows: Vec<tasks::Model>) -> Result<Vec<TaskRecord>, TaskStoreError> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let assignees = task_assignees::Entity::find()
        .filter(task_assignees::Column::TaskId.is_in(ids.clone()))
        .order_by_asc(task_assignees::Column::UserId)
        .all(db)
        .await?;
    let labels = task_labels::Entity::find()
        .filter(task_labels::Column::TaskId.is_in(ids))
        .order_by_asc(task_labels::Column::Label)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|task| TaskRecord {
            assignees: assignees.iter().filter(|a| a.task_id == task.id).map(|a| a.user_id.clone()).collect(),
            labels: labels.iter().filter(|l| l.task_id == task.id).map(|l| l.label.clone()).collect(),
            task,
        })
        .collect())
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
    if !assignees.is_empty() {
        task_assignees::Entity::insert_many(
            assignees
                .iter()
                .map(|user| task_assignees::ActiveModel { task_id: Set(task.to_owned()), user_id: Set(user.clone()) }),
        )
        .exec(db)
        .await?;
    }
    if !labels.is_empty() {
        task_labels::Entity::insert_many(
            labels
                .iter()
                .map(|label| task_labels::ActiveModel { task_id: Set(task.to_owned()), label: Set(label.clone()) }),
        )
        .exec(db)
        .await?;
    }
    Ok(())
}

/// Records a change: an entry in the task's history and an event in the
/// project's feed.
#[tracing::instrument(name = "db.tasks.record_change", skip_all, fields(otel.kind = "client"))]
async fn record_change(
    txn: &impl ConnectionTrait,
    seq: i64,
    record: &TaskRecord,
    kind: i16,
    history: History,
    actor: &str,
) -> Result<(), TaskStoreError> {
    let time = record.task.update_time;
    let actor = UserId::from_stored(actor);
    comments::record_activity(txn, &record.task.id, actor, kind, &history.changes, time).await?;
    events::append(
        txn,
        NewEvent {
            project: ProjectId::from_stored(&record.task.project_id),
            seq,
            task_id: &record.task.id,
            actor,
            kind,
            snapshot: history.snapshot,
            time,
        },
    )
    .await?;
    Ok(())
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
    let escaped = needle.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
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
pub fn condition(filter: &Filter, caller: UserId) -> SimpleExpr {
    let id = || Expr::col((tasks::Entity, tasks::Column::Id));
    match filter {
        Filter::And(left, right) => condition(left, caller).and(condition(right, caller)),
        Filter::Or(left, right) => condition(left, caller).or(condition(right, caller)),
        Filter::Not(inner) => condition(inner, caller).not(),
        Filter::Status(comparison, status) => compare(Expr::col(tasks::Column::Status), *comparison, status.stored()),
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
        Filter::Contains(field, needle) => match field {
            TextField::Title => contains(tasks::Column::Title, needle),
            TextField::Description => contains(tasks::Column::Description, needle),
            TextField::Text => contains(tasks::Column::Title, needle).or(contains(tasks::Column::Description, needle)),
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
    }
}

/// Where a missing due time sorts: last, in either direction.
fn missing_due_time(order: TaskOrder) -> i64 {
    if order.descending { i64::MIN } else { i64::MAX }
}

/// The sort key expression of `order`.
fn sort_key(order: TaskOrder) -> Expr {
    match order.field {
        TaskOrderField::Position => Expr::col(tasks::Column::Position),
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
pub fn sort_key_of(order: TaskOrder, task: &tasks::Model) -> SortKey {
    match order.field {
        TaskOrderField::Position => SortKey::Integer(task.position),
        TaskOrderField::CreateTime => SortKey::Integer(task.create_time),
        TaskOrderField::UpdateTime => SortKey::Integer(task.update_time),
        TaskOrderField::Priority => SortKey::Integer(task.priority.into()),
        TaskOrderField::Title => SortKey::Text(task.title.clone()),
        TaskOrderField::DueTime => SortKey::Integer(task.due_time.unwrap_or(missing_due_time(order))),
    }
}

/// Ids and positions of a status column's live tasks, in board order,
/// for position arithmetic.
#[tracing::instrument(name = "db.tasks.column_positions", skip_all, fields(otel.kind = "client"))]
async fn column_positions(
    db: &impl ConnectionTrait,
    project: ProjectId,
    status: TaskStatus,
    except: Option<&str>,
) -> Result<Vec<(String, i64)>, DbErr> {
    let mut select = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::Id)
        .column(tasks::Column::Position)
        .filter(tasks::Column::ProjectId.eq(project.to_string()))
        .filter(tasks::Column::Status.eq(status.stored()))
        .filter(tasks::Column::DeleteTime.is_null());
    if let Some(except) = except {
        select = select.filter(tasks::Column::Id.ne(except));
    }
    select.order_by_asc(tasks::Column::Position).order_by_asc(tasks::Column::Id).into_tuple().all(db).await
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
