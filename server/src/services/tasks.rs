//! `tasktracker.v1.TaskService`.

use std::pin::Pin;

use futures::Stream;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, SqlErr, TransactionTrait,
    sea_query::{Expr, Func},
};
use tasktracker_proto::v1::{self, task_service_server::TaskService};
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{SharedState, projects::check_etag, required};
use crate::{
    auth::{Caller, Permission},
    domain::{
        CommentBody, Priority, ProjectId, TaskDescription, TaskId, TaskName, TaskStatus, TaskTitle, UserId, Violations,
        filter,
        names::CommentId,
        page::{Cursor, TaskOrder, next_page, page_size},
        parse_labels,
        time::{self, from_timestamp, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    live::EVENT_BATCH,
    storage::{
        entities::{comments, memberships, task_activities, tasks},
        tasks::{self as store, FieldChange, TaskQuery, TaskRecord},
    },
};

/// Space left between neighbours in a column, so most moves write one row.
const POSITION_GAP: i64 = 1 << 20;
/// Most assignees per task.
const MAX_ASSIGNEES: usize = 20;

pub struct Tasks {
    shared: SharedState,
}

/// Every updatable field, for `update_mask` `*`.
const UPDATABLE: &[&str] =
    &["title", "description", "status", "priority", "assignees", "labels", "start_time", "due_time"];

fn text_time(micros: Option<i64>) -> String {
    micros.map(|micros| to_timestamp(micros).to_string()).unwrap_or_default()
}

fn status_name(status: i16) -> String {
    TaskStatus::from_stored(status).to_proto().as_str_name().to_owned()
}

fn priority_name(priority: i16) -> String {
    v1::Priority::try_from(i32::from(priority)).map(|p| p.as_str_name().to_owned()).unwrap_or_default()
}

/// What changed between two versions of a task, field by field.
fn diff(before: Option<&TaskRecord>, after: &TaskRecord) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    let mut push = |field: &str, old: String, new: String| {
        if old != new {
            changes.push(FieldChange { field: field.into(), old_value: old, new_value: new });
        }
    };
    let old = before.map(|record| &record.task);
    let new = &after.task;
    push("title", old.map(|t| t.title.clone()).unwrap_or_default(), new.title.clone());
    push("description", old.map(|t| t.description.clone()).unwrap_or_default(), new.description.clone());
    push("status", old.map(|t| status_name(t.status)).unwrap_or_default(), status_name(new.status));
    push("priority", old.map(|t| priority_name(t.priority)).unwrap_or_default(), priority_name(new.priority));
    let names =
        |users: &[String]| users.iter().map(|user| UserId::from_stored(user).name()).collect::<Vec<_>>().join(",");
    push("assignees", before.map(|r| names(&r.assignees)).unwrap_or_default(), names(&after.assignees));
    push("labels", before.map(|r| r.labels.join(",")).unwrap_or_default(), after.labels.join(","));
    push("start_time", text_time(old.and_then(|t| t.start_time)), text_time(new.start_time));
    push("due_time", text_time(old.and_then(|t| t.due_time)), text_time(new.due_time));
    push("delete_time", text_time(old.and_then(|t| t.delete_time)), text_time(new.delete_time));
    changes
}

/// Task fields parsed from a request; `None` means "not given".
#[derive(Default)]
struct TaskFields {
    title: Option<String>,
    description: Option<String>,
    status: Option<TaskStatus>,
    priority: Option<Priority>,
    assignees: Option<Vec<String>>,
    labels: Option<Vec<String>>,
    start_time: Option<Option<i64>>,
    due_time: Option<Option<i64>>,
}

/// Parses the fields in `paths` from `task`, collecting every violation.
fn parse_fields(task: &v1::Task, paths: &[&str], violations: &mut Violations) -> TaskFields {
    let mut fields = TaskFields::default();
    for path in paths {
        match *path {
            "title" => {
                fields.title = violations.check(TaskTitle::parse("task.title", &task.title)).map(TaskTitle::into_inner)
            }
            "description" => {
                fields.description = violations
                    .check(TaskDescription::parse("task.description", &task.description))
                    .map(TaskDescription::into_inner)
            }
            "status" => {
                fields.status = violations
                    .check(TaskStatus::from_proto("task.status", task.status))
                    .map(|s| s.unwrap_or(TaskStatus::Todo))
            }
            "priority" => fields.priority = violations.check(Priority::from_proto("task.priority", task.priority)),
            "labels" => {
                fields.labels = violations
                    .check(parse_labels("task.labels", &task.labels))
                    .map(|labels| labels.iter().map(|label| label.as_str().to_owned()).collect())
            }
            "assignees" => {
                if task.assignees.len() > MAX_ASSIGNEES {
                    violations.add("task.assignees", format!("at most {MAX_ASSIGNEES} assignees"));
                    continue;
                }
                let mut users = Vec::new();
                for (index, assignee) in task.assignees.iter().enumerate() {
                    if let Some(user) =
                        violations.check(UserId::parse_name(&format!("task.assignees[{index}]"), assignee))
                    {
                        users.push(user.to_string());
                    }
                }
                users.sort();
                users.dedup();
                fields.assignees = Some(users);
            }
            "start_time" | "due_time" => {
                let (value, field) = if *path == "start_time" {
                    (&task.start_time, "task.start_time")
                } else {
                    (&task.due_time, "task.due_time")
                };
                let parsed = match value {
                    None => Some(None),
                    Some(timestamp) => match from_timestamp(field, timestamp) {
                        Ok(micros) => Some(Some(micros)),
                        Err(_) => {
                            violations.add(field, "timestamp out of range (years 1 to 9999)");
                            None
                        }
                    },
                };
                if *path == "start_time" {
                    fields.start_time = parsed;
                } else {
                    fields.due_time = parsed;
                }
            }
            other => {
                violations.add("update_mask", format!("`{other}` cannot be updated; use {}", UPDATABLE.join(", ")))
            }
        }
    }
    fields
}

impl Tasks {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// Fails unless every assignee is a member of the project.
    async fn check_assignees(&self, project: ProjectId, assignees: &[String]) -> ServiceResult<()> {
        if assignees.is_empty() {
            return Ok(());
        }
        let members: Vec<String> = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::UserId)
            .filter(memberships::Column::ProjectId.eq(project.to_string()))
            .filter(memberships::Column::UserId.is_in(assignees.to_vec()))
            .into_tuple()
            .all(&self.shared.db)
            .await?;
        let mut violations = Violations::default();
        for (index, assignee) in assignees.iter().enumerate() {
            if !members.contains(assignee) {
                violations.add(format!("task.assignees[{index}]"), "is not a member of the project");
            }
        }
        Ok(violations.finish()?)
    }

    /// Loads a task the caller may act on with `permission`.
    async fn authorized_task(
        &self,
        caller: &Caller,
        name: TaskName,
        permission: Permission,
    ) -> ServiceResult<TaskRecord> {
        self.shared.authorizer.require(caller, name.project, permission).await?;
        store::find(&self.shared.db, name).await?.ok_or(ServiceError::NotFound("task"))
    }

    /// Runs a change to one task in a transaction holding the project's feed
    /// lock: `change` edits the current record; the new version is written,
    /// guarded by the old version, and recorded in history and feed.
    async fn write<F>(
        &self,
        caller: &Caller,
        name: TaskName,
        etag: &str,
        kind: v1::TaskEventType,
        change: F,
    ) -> ServiceResult<TaskRecord>
    where
        F: AsyncFnOnce(&DatabaseTransaction, &mut TaskRecord) -> ServiceResult<()>,
    {
        self.shared.authorizer.require(caller, name.project, Permission::Write).await?;
        let txn = self.shared.db.begin().await?;
        let seq = store::next_event_seq(&txn, name.project).await?;
        let before = store::find(&txn, name).await?.ok_or(ServiceError::NotFound("task"))?;
        check_etag(etag, before.task.version, "task")?;
        let mut after = before.clone();
        change(&txn, &mut after).await?;
        let changes = diff(Some(&before), &after);
        after.task.version = before.task.version + 1;
        after.task.update_time = time::now();
        let updated = tasks::Entity::update_many()
            .set(tasks::ActiveModel::from(after.task.clone()).reset_all())
            .filter(tasks::Column::Id.eq(&after.task.id))
            .filter(tasks::Column::Version.eq(before.task.version))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(ServiceError::stale_etag("task"));
        }
        if before.assignees != after.assignees || before.labels != after.labels {
            store::replace_relations(&txn, &after.task.id, &after.assignees, &after.labels).await?;
        }
        store::record_change(&txn, seq, &after, kind, caller.user, &changes).await?;
        txn.commit().await?;
        self.shared.feed.notify(name.project);
        let done = TaskStatus::Done.stored();
        if after.task.status == done && before.task.status != done {
            self.shared.metrics.tasks_completed.inc();
        }
        if after.task.delete_time.is_some() && before.task.delete_time.is_none() {
            self.shared.metrics.tasks_deleted.inc();
        }
        Ok(after)
    }
}

/// Position at the bottom of a column.
async fn bottom_of_column(db: &impl ConnectionTrait, project: ProjectId, status: TaskStatus) -> ServiceResult<i64> {
    let max: Option<i64> = tasks::Entity::find()
        .select_only()
        .expr(Func::max(Expr::col(tasks::Column::Position)))
        .filter(tasks::Column::ProjectId.eq(project.to_string()))
        .filter(tasks::Column::Status.eq(status.stored()))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    Ok(max.map_or(0, |max| max + POSITION_GAP))
}

/// Position right after `after` (or at the top), renumbering the column if
/// there is no room left between neighbours.
async fn position_after(
    db: &impl ConnectionTrait,
    project: ProjectId,
    status: TaskStatus,
    moving: &str,
    after: Option<&str>,
) -> ServiceResult<i64> {
    let mut column = store::column_positions(db, project, status, Some(moving)).await?;
    let index = match after {
        None => None,
        Some(after) => Some(column.iter().position(|(id, _)| id == after).ok_or_else(|| {
            ServiceError::invalid("after_task", "must name a live task of the target column, other than the one moving")
        })?),
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
        store::set_position(db, id, *position).await?;
    }
    slot(&column).ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no position after renumbering")))
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::WatchTasksResponse, Status>> + Send>>;

#[tonic::async_trait]
impl TaskService for Tasks {
    async fn create_task(&self, request: Request<v1::CreateTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let v1::CreateTaskRequest { parent, task, request_id } = request.into_inner();
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &parent));
        let task = required("task", &task)?;
        let fields = parse_fields(task, UPDATABLE, &mut violations);
        if request_id.len() > 64 {
            violations.add("request_id", "must be at most 64 characters");
        } else if request_id.chars().any(char::is_control) {
            violations.add("request_id", "must not contain control characters");
        }
        violations.finish()?;
        let project = project.expect("checked above");
        self.shared.authorizer.require(&caller, project, Permission::Write).await?;
        let assignees = fields.assignees.unwrap_or_default();
        self.check_assignees(project, &assignees).await?;
        let request_id = (!request_id.is_empty()).then_some(request_id);
        let find_retry = async || -> ServiceResult<Option<TaskRecord>> {
            let Some(request_id) = &request_id else { return Ok(None) };
            let existing = tasks::Entity::find()
                .filter(tasks::Column::ProjectId.eq(project.to_string()))
                .filter(tasks::Column::RequestId.eq(request_id.as_str()))
                .one(&self.shared.db)
                .await?;
            Ok(match existing {
                Some(task) => store::with_relations(&self.shared.db, vec![task]).await?.pop(),
                None => None,
            })
        };
        if let Some(existing) = find_retry().await? {
            return Ok(Response::new(existing.to_proto()));
        }
        let now = time::now();
        let status = fields.status.unwrap_or(TaskStatus::Todo);
        let mut record = TaskRecord {
            task: tasks::Model {
                id: TaskId::generate().to_string(),
                project_id: project.to_string(),
                title: fields.title.unwrap_or_default(),
                description: fields.description.unwrap_or_default(),
                status: status.stored(),
                priority: fields.priority.unwrap_or(Priority::Unspecified).stored(),
                start_time: fields.start_time.flatten(),
                due_time: fields.due_time.flatten(),
                position: 0,
                creator_id: caller.user.to_string(),
                request_id: request_id.clone(),
                create_time: now,
                update_time: now,
                complete_time: (status == TaskStatus::Done).then_some(now),
                delete_time: None,
                version: 1,
            },
            assignees,
            labels: fields.labels.unwrap_or_default(),
        };
        let result: ServiceResult<()> = async {
            let txn = self.shared.db.begin().await?;
            let seq = store::next_event_seq(&txn, project).await?;
            record.task.position = bottom_of_column(&txn, project, status).await?;
            tasks::Entity::insert(tasks::ActiveModel::from(record.task.clone())).exec(&txn).await?;
            store::replace_relations(&txn, &record.task.id, &record.assignees, &record.labels).await?;
            store::record_change(&txn, seq, &record, v1::TaskEventType::Created, caller.user, &diff(None, &record))
                .await?;
            txn.commit().await?;
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {}
            Err(ServiceError::Internal(error))
                if error
                    .downcast_ref::<sea_orm::DbErr>()
                    .and_then(sea_orm::DbErr::sql_err)
                    .is_some_and(|e| matches!(e, SqlErr::UniqueConstraintViolation(_))) =>
            {
                // A concurrent retry with the same request id committed first.
                return find_retry()
                    .await?
                    .map(|existing| Response::new(existing.to_proto()))
                    .ok_or_else(|| ServiceError::Internal(error).into());
            }
            Err(error) => return Err(error.into()),
        }
        self.shared.feed.notify(project);
        self.shared.metrics.tasks_created.inc();
        if status == TaskStatus::Done {
            self.shared.metrics.tasks_completed.inc();
        }
        Ok(Response::new(record.to_proto()))
    }

    async fn get_task(&self, request: Request<v1::GetTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let name = TaskName::parse("name", &request.get_ref().name)?;
        let record = self.authorized_task(&caller, name, Permission::Read).await?;
        Ok(Response::new(record.to_proto()))
    }

    async fn list_tasks(
        &self,
        request: Request<v1::ListTasksRequest>,
    ) -> Result<Response<v1::ListTasksResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::ListTasksRequest { parent, page_size: requested, page_token, filter, order_by, show_deleted } =
            request.into_inner();
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &parent));
        let limit = violations.check(page_size("page_size", requested, 50, 500));
        let parsed_filter = filter::parse(&filter).map_err(|error| violations.add("filter", error.to_string())).ok();
        let order = violations.check(TaskOrder::parse("order_by", &order_by));
        let fingerprint = format!("tasks\0{parent}\0{filter}\0{order_by}\0{show_deleted}");
        let after = violations.check(Cursor::decode("page_token", &page_token, &fingerprint));
        violations.finish()?;
        let (Some(project), Some(limit), Some(parsed_filter), Some(order), Some(after)) =
            (project, limit, parsed_filter, order, after)
        else {
            unreachable!("violations.finish() returned early");
        };
        self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        let (records, next_page_token) = store::list(
            &self.shared.db,
            TaskQuery {
                project,
                filter: parsed_filter.as_ref(),
                caller: caller.user,
                order,
                show_deleted,
                after,
                limit,
                fingerprint: &fingerprint,
            },
        )
        .await?;
        Ok(Response::new(v1::ListTasksResponse {
            tasks: records.iter().map(TaskRecord::to_proto).collect(),
            next_page_token,
        }))
    }

    async fn update_task(&self, request: Request<v1::UpdateTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let v1::UpdateTaskRequest { task, update_mask } = request.into_inner();
        let task = required("task", &task)?;
        let mut violations = Violations::default();
        let name = violations.check(TaskName::parse("task.name", &task.name));
        let paths = update_mask.map(|mask| mask.paths).unwrap_or_default();
        let paths: Vec<&str> = if paths.iter().any(|path| path == "*") {
            UPDATABLE.to_vec()
        } else {
            paths.iter().map(String::as_str).collect()
        };
        if paths.is_empty() {
            violations.add("update_mask", format!("name at least one field: {}", UPDATABLE.join(", ")));
        }
        let fields = parse_fields(task, &paths, &mut violations);
        violations.finish()?;
        let name = name.expect("checked above");
        if let Some(assignees) = &fields.assignees {
            self.shared.authorizer.require(&caller, name.project, Permission::Write).await?;
            self.check_assignees(name.project, assignees).await?;
        }
        let record = self
            .write(&caller, name, &task.etag, v1::TaskEventType::Updated, async |txn, record| {
                if record.task.delete_time.is_some() {
                    return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()));
                }
                let now = time::now();
                if let Some(title) = fields.title {
                    record.task.title = title;
                }
                if let Some(description) = fields.description {
                    record.task.description = description;
                }
                if let Some(priority) = fields.priority {
                    record.task.priority = priority.stored();
                }
                if let Some(start_time) = fields.start_time {
                    record.task.start_time = start_time;
                }
                if let Some(due_time) = fields.due_time {
                    record.task.due_time = due_time;
                }
                if let Some(assignees) = fields.assignees {
                    record.assignees = assignees;
                }
                if let Some(labels) = fields.labels {
                    record.labels = labels;
                }
                if let Some(status) = fields.status.filter(|status| status.stored() != record.task.status) {
                    record.task.position = bottom_of_column(txn, name.project, status).await?;
                    record.task.status = status.stored();
                    record.task.complete_time = (status == TaskStatus::Done).then_some(now);
                }
                Ok(())
            })
            .await?;
        Ok(Response::new(record.to_proto()))
    }

    async fn delete_task(&self, request: Request<v1::DeleteTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let v1::DeleteTaskRequest { name, etag } = request.into_inner();
        let name = TaskName::parse("name", &name)?;
        let record = self
            .write(&caller, name, &etag, v1::TaskEventType::Deleted, async |_, record| {
                if record.task.delete_time.is_some() {
                    return Err(ServiceError::NotFound("task"));
                }
                record.task.delete_time = Some(time::now());
                Ok(())
            })
            .await?;
        Ok(Response::new(record.to_proto()))
    }

    async fn undelete_task(&self, request: Request<v1::UndeleteTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let name = TaskName::parse("name", &request.get_ref().name)?;
        let record = self
            .write(&caller, name, "", v1::TaskEventType::Undeleted, async |_, record| {
                if record.task.delete_time.is_none() {
                    return Err(ServiceError::FailedPrecondition("the task is not deleted".into()));
                }
                record.task.delete_time = None;
                Ok(())
            })
            .await?;
        Ok(Response::new(record.to_proto()))
    }

    async fn move_task(&self, request: Request<v1::MoveTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let v1::MoveTaskRequest { name, status, after_task, etag } = request.into_inner();
        let mut violations = Violations::default();
        let name = violations.check(TaskName::parse("name", &name));
        let status = violations.check(TaskStatus::from_proto("status", status));
        let after = if after_task.is_empty() {
            Some(None)
        } else {
            violations.check(TaskName::parse("after_task", &after_task)).map(Some)
        };
        violations.finish()?;
        let (Some(name), Some(status), Some(after)) = (name, status, after) else {
            unreachable!("violations.finish() returned early")
        };
        if after.is_some_and(|after| after.project != name.project) {
            return Err(ServiceError::invalid("after_task", "must be a task of the same project").into());
        }
        let record = self
            .write(&caller, name, &etag, v1::TaskEventType::Moved, async |txn, record| {
                if record.task.delete_time.is_some() {
                    return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()));
                }
                let target = status.unwrap_or(TaskStatus::from_stored(record.task.status));
                let after_id = after.map(|after| after.task.to_string());
                record.task.position =
                    position_after(txn, name.project, target, &record.task.id, after_id.as_deref()).await?;
                if target.stored() != record.task.status {
                    record.task.status = target.stored();
                    record.task.complete_time = (target == TaskStatus::Done).then(time::now);
                }
                Ok(())
            })
            .await?;
        Ok(Response::new(record.to_proto()))
    }

    type WatchTasksStream = WatchStream;

    async fn watch_tasks(
        &self,
        request: Request<v1::WatchTasksRequest>,
    ) -> Result<Response<Self::WatchTasksStream>, Status> {
        let caller = Caller::of(&request)?;
        let v1::WatchTasksRequest { parent, cursor } = request.into_inner();
        let project = ProjectId::parse_name("parent", &parent)?;
        let cursor = match cursor.as_str() {
            "" => None,
            text => Some(
                text.parse::<i64>()
                    .ok()
                    .filter(|seq| *seq >= 0)
                    .ok_or_else(|| ServiceError::invalid("cursor", "is not a cursor this server issued"))?,
            ),
        };
        let grant = self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        let latest = grant.project.event_seq;
        let start = match cursor {
            None => latest,
            Some(cursor) if cursor > latest => {
                return Err(ServiceError::invalid("cursor", "is ahead of the project's feed").into());
            }
            Some(cursor) => {
                // Events are pruned by age: a cursor older than the oldest
                // retained event cannot be resumed without a gap.
                let first = store::events_after(&self.shared.db, project, cursor, 1).await?;
                if cursor < latest && first.first().is_none_or(|event| event.seq != cursor + 1) {
                    return Err(ServiceError::OutOfRange(
                        "the cursor has expired; list the tasks again and watch from now".into(),
                    )
                    .into());
                }
                cursor
            }
        };
        let (sender, receiver) = mpsc::channel(64);
        let shared = self.shared.clone();
        // Joined before reading the table, so no event falls between the two.
        let mut subscription = shared.feed.subscribe(project, latest);
        tokio::spawn(async move {
            /// Counts the stream as open until the task ends, however it ends.
            struct Open(std::sync::Arc<crate::metrics::Metrics>);
            impl Drop for Open {
                fn drop(&mut self) {
                    self.0.watch_streams_active.dec();
                }
            }
            shared.metrics.watch_streams_active.inc();
            let _open = Open(shared.metrics.clone());
            let mut cursor = start;
            let heartbeat = |cursor: i64| v1::WatchTasksResponse {
                kind: Some(v1::watch_tasks_response::Kind::Heartbeat(v1::Heartbeat {
                    cursor: cursor.to_string(),
                    time: Some(to_timestamp(time::now())),
                })),
            };
            let event = |event: v1::TaskEvent| v1::WatchTasksResponse {
                kind: Some(v1::watch_tasks_response::Kind::Event(event)),
            };
            if sender.send(Ok(heartbeat(cursor))).await.is_err() {
                return;
            }
            let mut ticker = tokio::time::interval(shared.heartbeat_interval);
            ticker.reset();
            // Behind the broadcast: read the table until caught up.
            let mut behind = cursor < latest;
            loop {
                if behind {
                    match store::events_after(&shared.db, project, cursor, EVENT_BATCH).await {
                        Ok(events) => {
                            behind = events.len() as u64 == EVENT_BATCH;
                            for stored in events {
                                cursor = stored.seq;
                                if sender.send(Ok(event(store::event_to_proto(stored)))).await.is_err() {
                                    return;
                                }
                                shared.metrics.watch_events_delivered.inc();
                            }
                            ticker.reset();
                        }
                        Err(error) => {
                            shared.metrics.watch_delivery_failures.inc();
                            let _ = sender.send(Err(error.into())).await;
                            return;
                        }
                    }
                    continue;
                }
                tokio::select! {
                    () = shared.shutdown.cancelled() => return,
                    () = sender.closed() => return,
                    received = subscription.events.recv() => match received {
                        // Already sent from the table.
                        Ok(shared_event) if shared_event.seq <= cursor => {}
                        Ok(shared_event) if shared_event.seq == cursor + 1 => {
                            cursor = shared_event.seq;
                            if sender.send(Ok(event(shared_event.event.clone()))).await.is_err() {
                                return;
                            }
                            shared.metrics.watch_events_delivered.inc();
                            ticker.reset();
                        }
                        // A gap (the broadcast began after our cursor) or
                        // events dropped because this stream fell behind.
                        Ok(_) | Err(RecvError::Lagged(_)) => behind = true,
                        Err(RecvError::Closed) => return,
                    },
                    _ = ticker.tick() => {
                        if sender.send(Ok(heartbeat(cursor))).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn create_comment(
        &self,
        request: Request<v1::CreateCommentRequest>,
    ) -> Result<Response<v1::Comment>, Status> {
        let caller = Caller::of(&request)?;
        let v1::CreateCommentRequest { parent, comment } = request.into_inner();
        let mut violations = Violations::default();
        let name = violations.check(TaskName::parse("parent", &parent));
        let comment = required("comment", &comment)?;
        let body = violations.check(CommentBody::parse("comment.body", &comment.body));
        violations.finish()?;
        let (Some(name), Some(body)) = (name, body) else { unreachable!("violations.finish() returned early") };
        let task = self.authorized_task(&caller, name, Permission::Write).await?;
        if task.task.delete_time.is_some() {
            return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()).into());
        }
        let model = comments::Model {
            id: CommentId::generate().to_string(),
            task_id: task.task.id.clone(),
            author_id: caller.user.to_string(),
            body: body.into_inner(),
            create_time: time::now(),
        };
        comments::Entity::insert(comments::ActiveModel::from(model.clone()))
            .exec(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(comment_to_proto(name, model)))
    }

    async fn list_comments(
        &self,
        request: Request<v1::ListCommentsRequest>,
    ) -> Result<Response<v1::ListCommentsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::ListCommentsRequest { parent, page_size: requested, page_token } = request.into_inner();
        let name = TaskName::parse("parent", &parent)?;
        let limit = page_size("page_size", requested, 50, 200)?;
        let cursor = Cursor::decode("page_token", &page_token, &parent)?;
        let task = self.authorized_task(&caller, name, Permission::Read).await?;
        let mut query = comments::Entity::find().filter(comments::Column::TaskId.eq(&task.task.id));
        if let Some(cursor) = cursor {
            query = query.filter(comments::Column::Id.gt(cursor.id));
        }
        let mut rows = query
            .order_by_asc(comments::Column::Id)
            .limit(limit + 1)
            .all(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        let next_page_token = next_page(&mut rows, limit, |last| Cursor::new(None, last.id.clone(), &parent));
        Ok(Response::new(v1::ListCommentsResponse {
            comments: rows.into_iter().map(|row| comment_to_proto(name, row)).collect(),
            next_page_token,
        }))
    }

    async fn list_task_activities(
        &self,
        request: Request<v1::ListTaskActivitiesRequest>,
    ) -> Result<Response<v1::ListTaskActivitiesResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::ListTaskActivitiesRequest { parent, page_size: requested, page_token } = request.into_inner();
        let name = TaskName::parse("parent", &parent)?;
        let limit = page_size("page_size", requested, 50, 200)?;
        let cursor = Cursor::decode("page_token", &page_token, &parent)?;
        let task = self.authorized_task(&caller, name, Permission::Read).await?;
        let mut query = task_activities::Entity::find().filter(task_activities::Column::TaskId.eq(&task.task.id));
        if let Some(cursor) = cursor {
            query = query.filter(task_activities::Column::Id.gt(cursor.id));
        }
        let mut rows = query
            .order_by_asc(task_activities::Column::Id)
            .limit(limit + 1)
            .all(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        let next_page_token = next_page(&mut rows, limit, |last| Cursor::new(None, last.id.clone(), &parent));
        Ok(Response::new(v1::ListTaskActivitiesResponse {
            activities: rows.into_iter().map(|row| store::activity_to_proto(name, row)).collect(),
            next_page_token,
        }))
    }
}

fn comment_to_proto(task: TaskName, comment: comments::Model) -> v1::Comment {
    v1::Comment {
        name: format!("{task}/comments/{}", comment.id),
        body: comment.body,
        author: UserId::from_stored(&comment.author_id).name(),
        create_time: Some(to_timestamp(comment.create_time)),
    }
}
