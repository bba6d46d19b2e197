//! Task storage: reading tasks with their assignees and labels, turning the
//! parsed filter into SQL, and recording every change in the task's history
//! and the project's change feed.

use prost::Message;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Statement,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr},
};
use serde::{Deserialize, Serialize};
use tasktracker_proto::v1;

use super::entities::{task_activities, task_assignees, task_events, task_labels, tasks};
use crate::{
    domain::{
        ProjectId, TaskId, TaskName, TaskStatus, UserId,
        filter::{Assignee, Comparison, Filter, TextField, TimeField},
        names::ActivityId,
        page::{Cursor, SortKey, TaskOrder, TaskOrderField},
        time::{self, to_optional_timestamp, to_timestamp},
    },
    error::ServiceResult,
};

/// Why a task operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskStoreError {
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

/// The tasks repository.
#[derive(Clone)]
pub struct TaskStore {
    db: sea_orm::DatabaseConnection,
}

impl TaskStore {
    pub fn new(db: sea_orm::DatabaseConnection) -> Self {
        Self { db }
    }
}

/// How long a deleted task stays recoverable.
pub const DELETED_RETENTION: i64 = time::seconds(30 * time::DAY);
/// PostgreSQL channel that wakes watchers on other replicas.
pub const NOTIFY_CHANNEL: &str = "tasktracker_task_events";

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

    /// The one conversion from stored task to API message.
    pub fn to_proto(&self) -> v1::Task {
        let task = &self.task;
        v1::Task {
            name: self.name().to_string(),
            title: task.title.clone(),
            description: task.description.clone(),
            status: TaskStatus::from_stored(task.status).to_proto() as i32,
            priority: i32::from(task.priority),
            assignees: self.assignees.iter().map(|user| UserId::from_stored(user).name()).collect(),
            labels: self.labels.clone(),
            start_time: to_optional_timestamp(task.start_time),
            due_time: to_optional_timestamp(task.due_time),
            position: task.position,
            creator: UserId::from_stored(&task.creator_id).name(),
            create_time: Some(to_timestamp(task.create_time)),
            update_time: Some(to_timestamp(task.update_time)),
            complete_time: to_optional_timestamp(task.complete_time),
            delete_time: to_optional_timestamp(task.delete_time),
            purge_time: to_optional_timestamp(task.delete_time.map(|deleted| deleted + DELETED_RETENTION)),
            etag: task.version.to_string(),
        }
    }
}

/// Loads assignees and labels for `rows`, two queries for the whole batch.
#[tracing::instrument(name = "db.tasks.with_relations", skip_all, fields(otel.kind = "client"))]
pub async fn with_relations(db: &impl ConnectionTrait, rows: Vec<tasks::Model>) -> ServiceResult<Vec<TaskRecord>> {
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

/// The task named `name`, if it exists in that project.
#[tracing::instrument(name = "db.tasks.find", skip_all, fields(otel.kind = "client"))]
pub async fn find(db: &impl ConnectionTrait, name: TaskName) -> ServiceResult<Option<TaskRecord>> {
    let Some(task) = tasks::Entity::find_by_id(name.task.to_string())
        .filter(tasks::Column::ProjectId.eq(name.project.to_string()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(with_relations(db, vec![task]).await?.pop())
}

/// Replaces a task's assignees and labels.
#[tracing::instrument(name = "db.tasks.replace_relations", skip_all, fields(otel.kind = "client"))]
pub async fn replace_relations(
    db: &impl ConnectionTrait,
    task: &str,
    assignees: &[String],
    labels: &[String],
) -> ServiceResult<()> {
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

/// The sort key expression and how to read it off a row. Tasks without a due
/// time sort last in either direction.
/// Reads a row's sort key.
type KeyOf = Box<dyn Fn(&tasks::Model) -> SortKey + Send + Sync>;

fn sort_key(order: TaskOrder) -> (SimpleExpr, KeyOf) {
    let column = |column: tasks::Column| Expr::col(column);
    match order.field {
        TaskOrderField::Position => (column(tasks::Column::Position), Box::new(|t| SortKey::Integer(t.position))),
        TaskOrderField::CreateTime => {
            (column(tasks::Column::CreateTime), Box::new(|t| SortKey::Integer(t.create_time)))
        }
        TaskOrderField::UpdateTime => {
            (column(tasks::Column::UpdateTime), Box::new(|t| SortKey::Integer(t.update_time)))
        }
        TaskOrderField::Priority => {
            (column(tasks::Column::Priority), Box::new(|t| SortKey::Integer(t.priority.into())))
        }
        TaskOrderField::Title => (column(tasks::Column::Title), Box::new(|t| SortKey::Text(t.title.clone()))),
        TaskOrderField::DueTime => {
            let missing = if order.descending { i64::MIN } else { i64::MAX };
            (
                Func::coalesce([Expr::col(tasks::Column::DueTime), Expr::value(missing)]).into(),
                Box::new(move |t| SortKey::Integer(t.due_time.unwrap_or(missing))),
            )
        }
    }
}

/// One page of a project's tasks.
pub struct TaskQuery<'a> {
    pub project: ProjectId,
    pub filter: Option<&'a Filter>,
    pub caller: UserId,
    pub order: TaskOrder,
    pub show_deleted: bool,
    pub after: Option<Cursor>,
    pub limit: u64,
    /// Identifies the query in page tokens.
    pub fingerprint: &'a str,
}

/// Lists tasks; returns the page and the next page's token.
#[tracing::instrument(name = "db.tasks.list", skip_all, fields(otel.kind = "client"))]
pub async fn list(db: &impl ConnectionTrait, query: TaskQuery<'_>) -> ServiceResult<(Vec<TaskRecord>, String)> {
    let (key, key_of) = sort_key(query.order);
    let mut select = tasks::Entity::find().filter(tasks::Column::ProjectId.eq(query.project.to_string()));
    if !query.show_deleted {
        select = select.filter(tasks::Column::DeleteTime.is_null());
    }
    if let Some(filter) = query.filter {
        select = select.filter(condition(filter, query.caller));
    }
    if let Some(after) = query.after {
        let value: sea_orm::Value = match after.key {
            Some(SortKey::Integer(value)) => value.into(),
            Some(SortKey::Text(value)) => value.into(),
            None => return Err(crate::error::ServiceError::invalid("page_token", "is not a page token of this list")),
        };
        let id = Expr::col(tasks::Column::Id);
        let keyset = if query.order.descending {
            key.clone().lt(value.clone()).or(key.clone().eq(value).and(id.lt(after.id)))
        } else {
            key.clone().gt(value.clone()).or(key.clone().eq(value).and(id.gt(after.id)))
        };
        select = select.filter(keyset);
    }
    let direction = if query.order.descending { Order::Desc } else { Order::Asc };
    let mut rows = select
        .order_by(key, direction.clone())
        .order_by(tasks::Column::Id, direction)
        .limit(query.limit + 1)
        .all(db)
        .await?;
    let next_page_token = crate::domain::page::next_page(&mut rows, query.limit, |last| {
        Cursor::new(Some(key_of(last)), last.id.clone(), query.fingerprint)
    });
    Ok((with_relations(db, rows).await?, next_page_token))
}

/// A field's value before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old_value: String,
    pub new_value: String,
}

/// Takes the project's change-feed lock and the next event sequence number.
///
/// The row lock serialises a project's writers, so sequence numbers commit
/// in order: a watcher that has seen event n has seen every event before it.
#[tracing::instrument(name = "db.tasks.next_event_seq", skip_all, fields(otel.kind = "client"))]
pub async fn next_event_seq(txn: &impl ConnectionTrait, project: ProjectId) -> ServiceResult<i64> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "UPDATE projects SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
        _ => "UPDATE projects SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq",
    };
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [project.to_string().into()]))
        .await?
        .ok_or_else(|| anyhow::anyhow!("project {project} vanished during a write"))?;
    Ok(row.try_get("", "event_seq")?)
}

/// Records a change: an entry in the task's history and an event in the
/// project's feed (with a wake-up for other replicas on PostgreSQL).
#[tracing::instrument(name = "db.tasks.record_change", skip_all, fields(otel.kind = "client"))]
pub async fn record_change(
    txn: &impl ConnectionTrait,
    seq: i64,
    record: &TaskRecord,
    kind: v1::TaskEventType,
    actor: UserId,
    changes: &[FieldChange],
) -> ServiceResult<()> {
    let now = record.task.update_time;
    task_activities::Entity::insert(task_activities::ActiveModel {
        id: Set(ActivityId::generate().to_string()),
        task_id: Set(record.task.id.clone()),
        actor_id: Set(actor.to_string()),
        kind: Set(kind as i16),
        changes: Set(serde_json::to_string(changes).map_err(anyhow::Error::from)?),
        time: Set(now),
    })
    .exec(txn)
    .await?;
    task_events::Entity::insert(task_events::ActiveModel {
        project_id: Set(record.task.project_id.clone()),
        seq: Set(seq),
        task_id: Set(record.task.id.clone()),
        actor_id: Set(actor.to_string()),
        kind: Set(kind as i16),
        task: Set(record.to_proto().encode_to_vec()),
        time: Set(now),
    })
    .exec(txn)
    .await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [NOTIFY_CHANNEL.into(), record.task.project_id.clone().into()],
        ))
        .await?;
    }
    Ok(())
}

/// Events of `project` after `seq`, oldest first.
#[tracing::instrument(name = "db.tasks.events_after", skip_all, fields(otel.kind = "client"))]
pub async fn events_after(
    db: &impl ConnectionTrait,
    project: ProjectId,
    seq: i64,
    limit: u64,
) -> ServiceResult<Vec<task_events::Model>> {
    Ok(task_events::Entity::find()
        .filter(task_events::Column::ProjectId.eq(project.to_string()))
        .filter(task_events::Column::Seq.gt(seq))
        .order_by_asc(task_events::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}

/// Converts a stored event for the stream.
pub fn event_to_proto(event: task_events::Model) -> v1::TaskEvent {
    v1::TaskEvent {
        cursor: event.seq.to_string(),
        r#type: i32::from(event.kind),
        task: v1::Task::decode(event.task.as_slice()).ok(),
        actor: UserId::from_stored(&event.actor_id).name(),
        event_time: Some(to_timestamp(event.time)),
    }
}

/// Deletes feed events older than `events_before` and tasks deleted before
/// `tasks_deleted_before` (their relations cascade).
pub async fn prune(
    db: &impl ConnectionTrait,
    events_before: i64,
    tasks_deleted_before: i64,
) -> ServiceResult<(u64, u64)> {
    let events =
        task_events::Entity::delete_many().filter(task_events::Column::Time.lt(events_before)).exec(db).await?;
    let tasks =
        tasks::Entity::delete_many().filter(tasks::Column::DeleteTime.lt(tasks_deleted_before)).exec(db).await?;
    Ok((events.rows_affected, tasks.rows_affected))
}

/// Converts a history row to the API message.
pub fn activity_to_proto(name: TaskName, row: task_activities::Model) -> v1::TaskActivity {
    let changes: Vec<FieldChange> = serde_json::from_str(&row.changes).unwrap_or_default();
    v1::TaskActivity {
        name: format!("{name}/activities/{}", row.id),
        r#type: i32::from(row.kind),
        actor: UserId::from_stored(&row.actor_id).name(),
        time: Some(to_timestamp(row.time)),
        changes: changes
            .into_iter()
            .map(|change| v1::FieldChange {
                field: change.field,
                old_value: change.old_value,
                new_value: change.new_value,
            })
            .collect(),
    }
}

/// Ids and positions of a status column's live tasks, in board order,
/// for position arithmetic.
#[tracing::instrument(name = "db.tasks.column_positions", skip_all, fields(otel.kind = "client"))]
pub async fn column_positions(
    db: &impl ConnectionTrait,
    project: ProjectId,
    status: TaskStatus,
    except: Option<&str>,
) -> ServiceResult<Vec<(String, i64)>> {
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
    Ok(select.order_by_asc(tasks::Column::Position).order_by_asc(tasks::Column::Id).into_tuple().all(db).await?)
}

/// Sets positions directly, used when a column is renumbered.
pub async fn set_position(db: &impl ConnectionTrait, task: &str, position: i64) -> ServiceResult<()> {
    tasks::Entity::update_many()
        .col_expr(tasks::Column::Position, Expr::value(position))
        .filter(tasks::Column::Id.eq(task))
        .exec(db)
        .await?;
    Ok(())
}
