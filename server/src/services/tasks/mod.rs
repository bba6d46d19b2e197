//! `tasktracker.v1.TaskService`: each handler parses its request into a
//! command ([`requests`]), authorizes through the `Authorizer`, calls the
//! repositories and converts the result back ([`convert`]); [`columns`]
//! picks the workflow state a write puts the task in. Watch streams are
//! served by [`crate::live`].

mod columns;
pub(super) mod convert;
mod recurrence;
mod requests;

use tasktracker_proto::v1::{self, task_service_server::TaskService};
use tonic::{Request, Response, Status};

use self::{
    convert::{activity_to_proto, comment_to_proto, history, search_result_to_proto, task_to_proto},
    requests::{
        BatchDeleteTasks, BatchUpdateTasks, CreateComment, CreateTask, CustomEdit, DeleteComment, ListOccurrences,
        ListTasks, ListUnderTask, MoveTask, Scope, SearchTasks, Target, TaskEdit, UpdateComment, UpdateTask,
        WatchTasks, custom_path,
    },
};
use super::{SharedState, projects::check_etag};
use crate::{
    auth::{Caller, CommentAction, Permission},
    domain::{
        CommentName, FieldId, FieldViolation, Priority, ProjectId, RequestId, TaskDescription, TaskId, TaskName,
        TaskStatus, UserId, Violations,
        fields::{FieldDefinition, FieldType, FieldValue},
        filter::{self, Filter},
        markdown,
        names::CommentId,
        page::{CustomSort, CustomSortKind, SortKey, TaskOrderField},
        time,
    },
    error::{PreconditionViolation, ServiceError, ServiceResult},
    live,
    storage::{
        comments::{CommentChange, CommentStoreError, FieldChange},
        entities::{comments, projects, tasks},
        states::{Board, Column},
        tasks::{
            BatchFailure, Committed, CustomValue, Placement, Rollup, SearchQuery, TaskQuery, TaskRecord,
            TaskStoreError, TaskWriter, sort_key_of,
        },
    },
};

impl From<TaskStoreError> for ServiceError {
    fn from(error: TaskStoreError) -> Self {
        match error {
            TaskStoreError::NotFound => Self::NotFound("task"),
            TaskStoreError::Stale => Self::stale_etag("task"),
            TaskStoreError::NoSuchNeighbour => {
                Self::invalid("after_task", "must name a live task of the target column, other than the one moving")
            }
            full @ TaskStoreError::ColumnFull { .. } => Self::FailedPrecondition(full.to_string()),
            TaskStoreError::Parent(reason) => Self::invalid("task.parent", reason.to_string()),
            TaskStoreError::FieldDeleted(key) => {
                let path = requests::custom_path(&key);
                Self::invalid(path, TaskStoreError::FieldDeleted(key).to_string())
            }
            TaskStoreError::Events(error) => error.into(),
            TaskStoreError::History(error) => error.into(),
            TaskStoreError::Database(error) => error.into(),
            duplicate @ TaskStoreError::DuplicateRequest => Self::Internal(duplicate.into()),
        }
    }
}

impl From<CommentStoreError> for ServiceError {
    fn from(error: CommentStoreError) -> Self {
        match error {
            CommentStoreError::Stale => Self::stale_etag("comment"),
            CommentStoreError::Database(error) => error.into(),
            encoding @ CommentStoreError::Encoding(_) => Self::Internal(encoding.into()),
        }
    }
}

pub struct Tasks {
    shared: SharedState,
}

impl Tasks {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// The live comment `name`, once `caller` may `action` it; `etag`, if
    /// set, must be its version. A non-member gets PERMISSION_DENIED, a
    /// member NOT_FOUND for a missing or deleted comment; the task must not
    /// be deleted.
    async fn changeable_comment(
        &self,
        caller: &Caller,
        name: CommentName,
        etag: &str,
        action: CommentAction,
    ) -> ServiceResult<(comments::Model, tasks::Model)> {
        let (task, role) = self.shared.authorizer.task_with_role(caller, name.task, Permission::Write).await?;
        let comment = self.shared.comments.get(&task.task.id, &name.comment.to_string()).await?;
        let comment =
            comment.filter(|comment| comment.delete_time.is_none()).ok_or(ServiceError::NotFound("comment"))?;
        self.shared.authorizer.change_comment(caller, role, UserId::from_stored(&comment.author_id), action)?;
        if task.task.delete_time.is_some() {
            return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()));
        }
        check_etag(etag, comment.version, "comment")?;
        Ok((comment, task.task))
    }

    /// Fails unless every assignee is a member of the project.
    async fn check_assignees(&self, project: ProjectId, assignees: &[String]) -> ServiceResult<()> {
        if assignees.is_empty() {
            return Ok(());
        }
        let members = self.shared.tasks.assignable(project, assignees).await?;
        let mut violations = Violations::default();
        for (index, assignee) in assignees.iter().enumerate() {
            if !members.contains(assignee) {
                violations.add(format!("task.assignees[{index}]"), "is not a member of the project");
            }
        }
        Ok(violations.finish()?)
    }

    /// Checks a request's custom field values against `project`'s fields
    /// (key, type, options, bounds, users' membership): every violation
    /// names `task.custom_fields.<key>`. The caller is authorized.
    async fn check_custom(&self, project: ProjectId, edit: CustomEdit) -> ServiceResult<CustomChange> {
        let definitions = self.shared.fields.definitions(project).await?;
        let mut violations = Violations::default();
        let mut values = std::collections::BTreeMap::new();
        let mut users = Vec::new();
        for (key, value) in edit.values {
            let path = custom_path(&key);
            let Some(definition) = definitions.iter().find(|definition| definition.key == key) else {
                violations.add(path, format!("the project has no custom field `{key}`"));
                continue;
            };
            let checked = match value {
                None => None,
                Some(value) => match violations.check(definition.check(&path, value)) {
                    Some(value) => Some(value),
                    None => continue,
                },
            };
            if let Some(FieldValue::User(user)) = &checked {
                users.push((key.clone(), user.to_string()));
            }
            values.insert(key, checked.map(|value| CustomValue { field_id: definition.id.clone(), value }));
        }
        if !users.is_empty() {
            let ids: Vec<String> = users.iter().map(|(_, user)| user.clone()).collect();
            let members = self.shared.tasks.assignable(project, &ids).await?;
            for (key, user) in users {
                if !members.contains(&user) {
                    violations.add(custom_path(&key), "is not a member of the project");
                }
            }
        }
        violations.finish()?;
        Ok(CustomChange { replace: edit.replace, values })
    }

    /// The project's board, for a write the caller may make that names a
    /// column.
    async fn board(&self, caller: &Caller, project: ProjectId) -> ServiceResult<Board> {
        let grant = self.shared.authorizer.require(caller, project, Permission::Write).await?;
        Ok(self.shared.states.board(&grant.project).await?)
    }

    /// Changes one task the caller may write, guarded by `etag`, then wakes
    /// watchers and counts completions and deletions. A change that may
    /// place the task between neighbours or into another column
    /// ([`Placement::Between`]) queues behind the project's other moves.
    async fn write<F>(
        &self,
        caller: &Caller,
        (name, etag): (TaskName, &str),
        (kind, placement): (v1::TaskEventType, Placement),
        change: F,
    ) -> ServiceResult<TaskRecord>
    where
        F: AsyncFnOnce(&TaskWriter<'_>, &mut TaskRecord) -> ServiceResult<()>,
    {
        Ok(self.write_all(caller, (name, etag), (kind, placement), change).await?.0)
    }

    /// [`Tasks::write`], also returning the tasks the change created (the
    /// next occurrence of a recurring task and its subtasks).
    async fn write_all<F>(
        &self,
        caller: &Caller,
        (name, etag): (TaskName, &str),
        (kind, placement): (v1::TaskEventType, Placement),
        change: F,
    ) -> ServiceResult<(TaskRecord, Vec<TaskRecord>)>
    where
        F: AsyncFnOnce(&TaskWriter<'_>, &mut TaskRecord) -> ServiceResult<()>,
    {
        self.shared.authorizer.require(caller, name.project, Permission::Write).await?;
        let batch = self.shared.tasks.begin_batch(name.project, &[name.task], placement).await;
        let mut batch = batch.map_err(|failure| ServiceError::from(failure.error))?;
        let (writer, record) = batch.edit(0);
        check_etag(etag, record.task.version, "task")?;
        change(&writer, record).await?;
        batch.save(0).await?;
        let committed = batch.commit_all(caller.user, kind as i16, |before, after| history(Some(before), after));
        let committed = committed.await?;
        let (mut written, created) = self.written(name.project, committed);
        Ok((written.pop().expect("one task"), created))
    }

    /// After tasks of `project` changed: wakes watchers, and counts
    /// completions, deletions and the tasks created (next occurrences of
    /// recurring tasks and their subtasks). Returns the tasks as they are
    /// now, and the ones created.
    fn written(&self, project: ProjectId, committed: Committed) -> (Vec<TaskRecord>, Vec<TaskRecord>) {
        let Committed { changed, created } = committed;
        self.shared.feed.notify(project);
        for record in &created {
            self.shared.metrics.tasks_created.inc();
            if record.task.series_id.is_some() {
                self.shared.metrics.occurrences_created.inc();
            }
        }
        let mut written = Vec::with_capacity(changed.len());
        for (before, after) in changed {
            if after.task.complete_time.is_some() && before.task.complete_time.is_none() {
                self.shared.metrics.tasks_completed.inc();
            }
            if after.task.delete_time.is_some() && before.task.delete_time.is_none() {
                self.shared.metrics.tasks_deleted.inc();
            }
            written.push(after);
        }
        (written, created)
    }

    /// UpdateTask and UpdateOccurrence: `scope` says whether a change of
    /// an occurrence's template fields applies to the following ones.
    async fn update(&self, caller: &Caller, update: UpdateTask, scope: Scope) -> ServiceResult<TaskRecord> {
        let UpdateTask { name, mut edit, etag } = update;
        let touches_template = edit.touches_template();
        if let Some(assignees) = &edit.assignees {
            self.shared.authorizer.require(caller, name.project, Permission::Write).await?;
            self.check_assignees(name.project, assignees).await?;
        }
        let custom = match edit.custom_fields.take() {
            Some(custom) => {
                self.shared.authorizer.require(caller, name.project, Permission::Write).await?;
                Some(self.check_custom(name.project, custom).await?)
            }
            None => None,
        };
        let board = match edit.column {
            Some(_) => Some(self.board(caller, name.project).await?),
            None => None,
        };
        // Entering another column may count against a WIP limit; a new
        // parent's chain is checked under the lock every such write takes.
        let sets_parent = matches!(edit.parent, Some(Some(_)));
        let placement = if board.is_some() || sets_parent { Placement::Between } else { Placement::Keep };
        let kind = (v1::TaskEventType::Updated, placement);
        let record = self.write(caller, (name, &etag), kind, async |writer, record| {
            apply_edit(writer, record, (edit, custom), (board.as_ref(), scope, touches_template)).await
        });
        record.await
    }

    /// Creates the task, or returns the one an earlier call with the same
    /// request id made.
    async fn create(&self, caller: &Caller, row: &projects::Model, command: CreateTask) -> ServiceResult<TaskRecord> {
        let CreateTask { project, mut edit, request_id } = command;
        let recurrence = edit.recurrence.take().flatten();
        if let Some(request_id) = &request_id
            && let Some(existing) = self.shared.tasks.find_by_request_id(project, request_id).await?
        {
            return retried(request_id, existing);
        }
        let custom = match edit.custom_fields.take() {
            Some(custom) if !custom.values.is_empty() => self.check_custom(project, custom).await?,
            _ => CustomChange::default(),
        };
        let board = self.shared.states.board(row).await?;
        let target = edit.column.unwrap_or(Target::Status(TaskStatus::Todo));
        let column = columns::resolve(&board, &target, "task.")?;
        let mut record = new_task(caller, project, edit, custom, request_id.as_ref());
        let series = match recurrence {
            Some(recurrence) => Some(recurrence::start_series(recurrence, &mut record)?),
            None => None,
        };
        let kind = v1::TaskEventType::Created as i16;
        let created = self.shared.tasks.create(record, (&column, series), kind, |record| history(None, record));
        let record = match (created.await, &request_id) {
            (Ok(record), _) => record,
            // A concurrent retry with the same request id committed first.
            (Err(TaskStoreError::DuplicateRequest), Some(request_id)) => {
                let existing = self.shared.tasks.find_by_request_id(project, request_id).await?;
                let existing = existing
                    .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("a task with this request id vanished")))?;
                return retried(request_id, existing);
            }
            (Err(error), _) => return Err(error.into()),
        };
        self.shared.feed.notify(project);
        self.shared.metrics.tasks_created.inc();
        if record.task.complete_time.is_some() {
            self.shared.metrics.tasks_completed.inc();
        }
        Ok(record)
    }
}

/// Types a filter's custom field restrictions with the project's fields: an
/// unknown key, or a value or operator its field's type does not take, is
/// INVALID_ARGUMENT naming `filter`.
fn resolve_filter(definitions: &[FieldDefinition], filter: &mut Filter) -> ServiceResult<()> {
    filter::resolve_custom(filter, |key| {
        definitions
            .iter()
            .find(|definition| definition.key == key)
            .map(|definition| (definition.id.clone(), definition.kind))
    })
    .map_err(|message| ServiceError::invalid("filter", message))
}

/// The custom field `order_by` names, if the project has it and its type
/// sorts (NUMBER, DATE, CHECKBOX, TEXT, SINGLE_SELECT); else INVALID_ARGUMENT
/// naming `order_by`.
fn resolve_order(definitions: &[FieldDefinition], key: &str) -> ServiceResult<CustomSort> {
    let definition = definitions
        .iter()
        .find(|definition| definition.key == key)
        .ok_or_else(|| ServiceError::invalid("order_by", format!("the project has no custom field `{key}`")))?;
    let kind = match definition.kind {
        FieldType::Number => CustomSortKind::Number,
        FieldType::Date => CustomSortKind::Date,
        FieldType::Checkbox => CustomSortKind::Checkbox,
        FieldType::Text | FieldType::SingleSelect => CustomSortKind::Text,
        other => {
            return Err(ServiceError::invalid(
                "order_by",
                format!(
                    "`cf.{key}` is a {} field; order by NUMBER, DATE, CHECKBOX, TEXT or SINGLE_SELECT fields",
                    other.to_proto().as_str_name()
                ),
            ));
        }
    };
    Ok(CustomSort { field: FieldId::from_stored(&definition.id), kind })
}

/// Custom field values checked against the project's fields.
#[derive(Debug, Default)]
struct CustomChange {
    /// Every field not in `values` loses its value.
    replace: bool,
    /// By key; `None` clears the field.
    values: std::collections::BTreeMap<String, Option<CustomValue>>,
}

impl CustomChange {
    fn apply(self, record: &mut TaskRecord) {
        if self.replace {
            record.custom_fields.clear();
        }
        for (key, value) in self.values {
            match value {
                Some(value) => record.custom_fields.insert(key, value),
                None => record.custom_fields.remove(&key),
            };
        }
    }
}

/// The task an earlier create with `request_id` made, if this create is
/// that request again.
fn retried(request_id: &RequestId, existing: TaskRecord) -> ServiceResult<TaskRecord> {
    if request_id.repeats(existing.task.request_hash.as_deref()) {
        Ok(existing)
    } else {
        Err(ServiceError::request_id_reused("task"))
    }
}

/// A new task from a create's fields (put in its column and placed by the
/// repository).
fn new_task(
    caller: &Caller,
    project: ProjectId,
    edit: TaskEdit,
    custom: CustomChange,
    request_id: Option<&RequestId>,
) -> TaskRecord {
    let now = time::now();
    let mut record = TaskRecord {
        task: tasks::Model {
            id: TaskId::generate().to_string(),
            project_id: project.to_string(),
            title: edit.title.unwrap_or_default(),
            description: edit.description.unwrap_or_default(),
            status: TaskStatus::Todo.stored(),
            priority: edit.priority.unwrap_or(Priority::Unspecified).stored(),
            start_time: edit.start_time.flatten(),
            due_time: edit.due_time.flatten(),
            position: 0,
            creator_id: caller.user.to_string(),
            request_id: request_id.map(|id| id.as_str().to_owned()),
            request_hash: request_id.map(|id| id.fingerprint().to_owned()),
            create_time: now,
            update_time: now,
            complete_time: None,
            delete_time: None,
            version: 1,
            state_id: None,
            parent_id: edit.parent.flatten().map(|parent| parent.task.to_string()),
            series_id: None,
            occurrence_time: None,
            skip_time: None,
            previous_occurrence_id: None,
        },
        assignees: edit.assignees.unwrap_or_default(),
        labels: edit.labels.unwrap_or_default(),
        state: None,
        subtasks: Rollup::default(),
        custom_fields: Default::default(),
        recurrence: None,
    };
    custom.apply(&mut record);
    record
}

/// Applies an update's fields to a live task; `board` is given if the
/// update names a column.
/// `scope` says whether template fields of an occurrence of a recurring
/// task change for the following ones too (`touches_template`: the edit
/// names one). Completing an occurrence creates the next one.
async fn apply_edit(
    writer: &TaskWriter<'_>,
    record: &mut TaskRecord,
    (edit, custom): (TaskEdit, Option<CustomChange>),
    (board, scope, touches_template): (Option<&Board>, Scope, bool),
) -> ServiceResult<()> {
    if record.task.delete_time.is_some() {
        return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()));
    }
    let was_done = TaskStatus::from_stored(record.task.status) == TaskStatus::Done;
    let task = &mut record.task;
    task.title = edit.title.unwrap_or(std::mem::take(&mut task.title));
    task.description = edit.description.unwrap_or(std::mem::take(&mut task.description));
    task.priority = edit.priority.map_or(task.priority, Priority::stored);
    task.start_time = edit.start_time.unwrap_or(task.start_time);
    task.due_time = edit.due_time.unwrap_or(task.due_time);
    if let Some(board) = board
        && let Some(column) = columns::destination(board, record, edit.column.as_ref(), "task.")?
    {
        writer.check_room(&column, &record.task.id).await?;
        check_blockers(writer, board, &column, record).await?;
        record.task.position = writer.bottom_of_column(&column).await?;
        record.enter(&column, time::now());
    }
    record.assignees = edit.assignees.unwrap_or(std::mem::take(&mut record.assignees));
    record.labels = edit.labels.unwrap_or(std::mem::take(&mut record.labels));
    if let Some(parent) = edit.parent {
        let parent = parent.map(|parent| parent.task.to_string());
        if parent != record.task.parent_id {
            if let Some(parent) = &parent {
                writer.check_parent(&record.task.id, parent).await?;
            }
            record.task.parent_id = parent;
        }
    }
    if let Some(custom) = custom {
        custom.apply(record);
    }
    recurrence::apply_update(writer, record, edit.recurrence, (scope, touches_template)).await?;
    recurrence::follow(writer, board, was_done, record).await?;
    Ok(())
}

/// Soft-deletes a live task (a deleted one is not found).
fn delete(record: &mut TaskRecord) -> ServiceResult<()> {
    if record.task.delete_time.is_some() {
        return Err(ServiceError::NotFound("task"));
    }
    record.task.delete_time = Some(time::now());
    Ok(())
}

/// `error`, of entry `index` of a batch request, naming that entry: its
/// fields as `requests[index].<field>`, and its message prefixed.
fn in_entry(index: usize, error: ServiceError) -> ServiceError {
    let entry = format!("requests[{index}]");
    match error {
        ServiceError::InvalidArgument(violations) => ServiceError::InvalidArgument(
            violations
                .into_iter()
                .map(|violation| FieldViolation::new(format!("{entry}.{}", violation.field), violation.description))
                .collect(),
        ),
        ServiceError::FailedPrecondition(message) => ServiceError::FailedPrecondition(format!("{entry}: {message}")),
        ServiceError::PreconditionViolated { message, violations } => {
            ServiceError::PreconditionViolated { message: format!("{entry}: {message}"), violations }
        }
        ServiceError::AlreadyExists(message) => ServiceError::AlreadyExists(format!("{entry}: {message}")),
        ServiceError::Aborted(message) => ServiceError::Aborted(format!("{entry}: {message}")),
        ServiceError::OutOfRange(message) => ServiceError::OutOfRange(format!("{entry}: {message}")),
        // Nothing of the entry's to name (or, for NOT_FOUND, nothing the
        // caller should learn beyond "not found").
        other @ (ServiceError::Unauthenticated(_)
        | ServiceError::PermissionDenied
        | ServiceError::NotFound(_)
        | ServiceError::ResourceExhausted(_)
        | ServiceError::Unavailable(_)
        | ServiceError::DeadlineExceeded(_)
        | ServiceError::Internal(_)) => other,
    }
}

/// A batch that could not start, naming the entry it is about (if one).
fn located(failure: BatchFailure) -> ServiceError {
    let error = ServiceError::from(failure.error);
    match failure.index {
        Some(index) => in_entry(index, error),
        None => error,
    }
}

/// Most blockers a refusal names in its message; its details name all.
const BLOCKERS_IN_MESSAGE: usize = 10;

/// Fails with FAILED_PRECONDITION, naming each open blocker (in the message
/// and a `PreconditionFailure`), if the project requires blockers done and
/// `record`, not complete yet, is about to enter `column`, a COMPLETED
/// state. Runs inside the write's transaction, under the task's row lock.
async fn check_blockers(
    writer: &TaskWriter<'_>,
    board: &Board,
    column: &Column,
    record: &TaskRecord,
) -> ServiceResult<()> {
    if !board.require_blockers_done || !column.completes() || record.task.complete_time.is_some() {
        return Ok(());
    }
    let blockers = writer.open_blockers(&record.task.id).await?;
    if blockers.is_empty() {
        return Ok(());
    }
    let mut named: Vec<String> =
        blockers.iter().take(BLOCKERS_IN_MESSAGE).map(|(name, title)| format!("{name} ({title:?})")).collect();
    if blockers.len() > BLOCKERS_IN_MESSAGE {
        named.push(format!("and {} more", blockers.len() - BLOCKERS_IN_MESSAGE));
    }
    let message = format!(
        "the project requires blockers done, and the task is blocked by {} open task(s): {}; complete or cancel \
         them first",
        blockers.len(),
        named.join(", ")
    );
    let violations = blockers
        .into_iter()
        .map(|(name, title)| PreconditionViolation {
            kind: "BLOCKED_BY",
            subject: name.to_string(),
            description: format!("blocked by {title:?}, which is not completed or canceled"),
        })
        .collect();
    Err(ServiceError::PreconditionViolated { message, violations })
}

#[tonic::async_trait]
impl TaskService for Tasks {
    async fn create_task(&self, request: Request<v1::CreateTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let command = CreateTask::try_from(request.into_inner())?;
        let grant = self.shared.authorizer.require(&caller, command.project, Permission::Write).await?;
        self.check_assignees(command.project, command.edit.assignees.as_deref().unwrap_or_default()).await?;
        let record = self.create(&caller, &grant.project, command).await?;
        Ok(Response::new(task_to_proto(&record)))
    }

    async fn get_task(&self, request: Request<v1::GetTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let name = TaskName::parse("name", &request.get_ref().name)?;
        let record = self.shared.authorizer.task(&caller, name, Permission::Read).await?;
        Ok(Response::new(task_to_proto(&record)))
    }

    async fn list_tasks(
        &self,
        request: Request<v1::ListTasksRequest>,
    ) -> Result<Response<v1::ListTasksResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListTasks { project, mut filter, mut order, order_key, show_deleted, page } =
            request.into_inner().try_into()?;
        self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        if filter.as_ref().is_some_and(filter::has_custom) || order_key.is_some() {
            let definitions = self.shared.fields.definitions(project).await.map_err(ServiceError::from)?;
            if let Some(filter) = filter.as_mut() {
                resolve_filter(&definitions, filter)?;
            }
            if let Some(key) = order_key {
                order.field = TaskOrderField::Custom(Some(resolve_order(&definitions, &key)?));
            }
        }
        let query = TaskQuery {
            project,
            filter: filter.as_ref(),
            caller: caller.user,
            order,
            show_deleted,
            after: page.after.as_ref(),
            limit: page.fetch(),
        };
        let mut records = self.shared.tasks.list(query).await.map_err(ServiceError::from)?;
        let next_page_token = page.finish(&mut records, |last| (Some(sort_key_of(order, last)), last.task.id.clone()));
        Ok(Response::new(v1::ListTasksResponse { tasks: records.iter().map(task_to_proto).collect(), next_page_token }))
    }

    async fn search_tasks(
        &self,
        request: Request<v1::SearchTasksRequest>,
    ) -> Result<Response<v1::SearchTasksResponse>, Status> {
        let caller = Caller::of(&request)?;
        let SearchTasks { text, project, include_archived, page } = request.into_inner().try_into()?;
        // One project: the caller must be able to read it (a non-member is
        // refused, as for ListTasks). Every project: those the caller is a
        // member of, or the one an API token is restricted to.
        let project = match project {
            Some(project) => Some(self.shared.authorizer.require(&caller, project, Permission::Read).await?.project),
            None => None,
        }
        .map(|row| ProjectId::from_stored(&row.id))
        .or(self.shared.authorizer.visible_project(&caller));
        let after = page.after.as_ref().and_then(|after| match after.key {
            Some(SortKey::Number(score)) => Some((score, after.id.as_str())),
            _ => None,
        });
        let query =
            SearchQuery { caller: caller.user, text: &text, project, include_archived, after, limit: page.fetch() };
        let mut hits = self.shared.tasks.search(query).await.map_err(ServiceError::from)?;
        let next_page_token =
            page.finish(&mut hits, |last| (Some(SortKey::Number(last.score)), last.record.task.id.clone()));
        let results = hits.iter().map(search_result_to_proto).collect();
        Ok(Response::new(v1::SearchTasksResponse { results, next_page_token }))
    }

    async fn update_task(&self, request: Request<v1::UpdateTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let update = request.into_inner().try_into()?;
        Ok(Response::new(task_to_proto(&self.update(&caller, update, Scope::ThisAndFollowing).await?)))
    }

    async fn update_occurrence(
        &self,
        request: Request<v1::UpdateOccurrenceRequest>,
    ) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let update = request.into_inner().try_into()?;
        Ok(Response::new(task_to_proto(&self.update(&caller, update, Scope::ThisOccurrence).await?)))
    }

    async fn delete_task(&self, request: Request<v1::DeleteTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let v1::DeleteTaskRequest { name, etag } = request.into_inner();
        let name = TaskName::parse("name", &name)?;
        let record = self
            .write(&caller, (name, &etag), (v1::TaskEventType::Deleted, Placement::Keep), async |_, record| {
                delete(record)
            })
            .await?;
        Ok(Response::new(task_to_proto(&record)))
    }

    async fn batch_update_tasks(
        &self,
        request: Request<v1::BatchUpdateTasksRequest>,
    ) -> Result<Response<v1::BatchUpdateTasksResponse>, Status> {
        let caller = Caller::of(&request)?;
        let BatchUpdateTasks { project, updates } = request.into_inner().try_into()?;
        self.shared.authorizer.require(&caller, project, Permission::Write).await?;
        // Every entry checked before any is written, each failure naming it.
        let mut edits = Vec::with_capacity(updates.len());
        let (mut moves, mut reparents) = (false, false);
        for (index, UpdateTask { name, mut edit, etag }) in updates.into_iter().enumerate() {
            let touches_template = edit.touches_template();
            if let Some(assignees) = &edit.assignees {
                self.check_assignees(project, assignees).await.map_err(|error| in_entry(index, error))?;
            }
            let custom = match edit.custom_fields.take() {
                Some(custom) => Some(self.check_custom(project, custom).await.map_err(|error| in_entry(index, error))?),
                None => None,
            };
            moves |= edit.column.is_some();
            reparents |= matches!(edit.parent, Some(Some(_)));
            edits.push((name.task, etag, edit, custom, (Scope::ThisAndFollowing, touches_template)));
        }
        let board = if moves { Some(self.board(&caller, project).await?) } else { None };
        let placement = if moves || reparents { Placement::Between } else { Placement::Keep };
        let ids: Vec<TaskId> = edits.iter().map(|(task, ..)| *task).collect();
        let mut batch = self.shared.tasks.begin_batch(project, &ids, placement).await.map_err(located)?;
        for (index, (_, etag, edit, custom, (scope, touches))) in edits.into_iter().enumerate() {
            let (writer, record) = batch.edit(index);
            check_etag(&etag, record.task.version, "task").map_err(|error| in_entry(index, error))?;
            let edited = apply_edit(&writer, record, (edit, custom), (board.as_ref(), scope, touches)).await;
            edited.map_err(|error| in_entry(index, error))?;
            batch.save(index).await.map_err(|error| in_entry(index, error.into()))?;
        }
        let kind = v1::TaskEventType::Updated as i16;
        let changed = batch.commit_all(caller.user, kind, |before, after| history(Some(before), after)).await;
        let (written, _) = self.written(project, changed.map_err(ServiceError::from)?);
        Ok(Response::new(v1::BatchUpdateTasksResponse { tasks: written.iter().map(task_to_proto).collect() }))
    }

    async fn batch_delete_tasks(
        &self,
        request: Request<v1::BatchDeleteTasksRequest>,
    ) -> Result<Response<v1::BatchDeleteTasksResponse>, Status> {
        let caller = Caller::of(&request)?;
        let BatchDeleteTasks { project, deletions } = request.into_inner().try_into()?;
        self.shared.authorizer.require(&caller, project, Permission::Write).await?;
        let ids: Vec<TaskId> = deletions.iter().map(|(name, _)| name.task).collect();
        let mut batch = self.shared.tasks.begin_batch(project, &ids, Placement::Keep).await.map_err(located)?;
        for (index, (_, etag)) in deletions.iter().enumerate() {
            let (_, record) = batch.edit(index);
            check_etag(etag, record.task.version, "task")
                .and_then(|()| delete(record))
                .map_err(|error| in_entry(index, error))?;
        }
        let kind = v1::TaskEventType::Deleted as i16;
        let changed = batch.commit_all(caller.user, kind, |before, after| history(Some(before), after)).await;
        let (written, _) = self.written(project, changed.map_err(ServiceError::from)?);
        Ok(Response::new(v1::BatchDeleteTasksResponse { tasks: written.iter().map(task_to_proto).collect() }))
    }

    async fn undelete_task(&self, request: Request<v1::UndeleteTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let name = TaskName::parse("name", &request.get_ref().name)?;
        let board = self.board(&caller, name.project).await?;
        let record = self
            .write(&caller, (name, ""), (v1::TaskEventType::Undeleted, Placement::Keep), async |writer, record| {
                if record.task.delete_time.is_none() {
                    return Err(ServiceError::FailedPrecondition("the task is not deleted".into()));
                }
                record.task.delete_time = None;
                // Its state was archived meanwhile: back in its status's first one.
                if columns::current(&board, record).is_ok_and(|column| column.state.archive_time.is_some()) {
                    let status = TaskStatus::from_stored(record.task.status);
                    let column = columns::resolve(&board, &Target::Status(status), "")?;
                    record.task.position = writer.bottom_of_column(&column).await?;
                    record.enter(&column, time::now());
                }
                Ok(())
            })
            .await?;
        Ok(Response::new(task_to_proto(&record)))
    }

    async fn move_task(&self, request: Request<v1::MoveTaskRequest>) -> Result<Response<v1::Task>, Status> {
        let caller = Caller::of(&request)?;
        let MoveTask { name, target, after, etag } = request.into_inner().try_into()?;
        let board = self.board(&caller, name.project).await?;
        let kind = (v1::TaskEventType::Moved, Placement::Between);
        let record = self
            .write(&caller, (name, &etag), kind, async |writer, record| {
                if record.task.delete_time.is_some() {
                    return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()));
                }
                let was_done = TaskStatus::from_stored(record.task.status) == TaskStatus::Done;
                let column = match columns::destination(&board, record, target.as_ref(), "")? {
                    Some(column) => {
                        writer.check_room(&column, &record.task.id).await?;
                        check_blockers(writer, &board, &column, record).await?;
                        record.enter(&column, time::now());
                        column
                    }
                    None => columns::current(&board, record)?,
                };
                let after_id = after.map(|after| after.task.to_string());
                record.task.position = writer.position_after(&column, &record.task.id, after_id.as_deref()).await?;
                recurrence::follow(writer, Some(&board), was_done, record).await?;
                Ok(())
            })
            .await?;
        Ok(Response::new(task_to_proto(&record)))
    }

    type WatchTasksStream = live::WatchStream;

    async fn watch_tasks(
        &self,
        request: Request<v1::WatchTasksRequest>,
    ) -> Result<Response<Self::WatchTasksStream>, Status> {
        let caller = Caller::of(&request)?;
        let WatchTasks { project, cursor } = request.into_inner().try_into()?;
        let grant = self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        let latest = grant.project.event_seq;
        let start = live::start_point(&self.shared.events, project, cursor, latest).await?;
        Ok(Response::new(live::watch(self.shared.clone(), caller, project, start, latest)))
    }

    async fn create_comment(
        &self,
        request: Request<v1::CreateCommentRequest>,
    ) -> Result<Response<v1::Comment>, Status> {
        let caller = Caller::of(&request)?;
        let CreateComment { task: name, body } = request.into_inner().try_into()?;
        let task = self.shared.authorizer.task(&caller, name, Permission::Write).await?;
        if task.task.delete_time.is_some() {
            return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()).into());
        }
        let comment = comments::Model {
            id: CommentId::generate().to_string(),
            task_id: task.task.id.clone(),
            author_id: caller.user.to_string(),
            body: body.into_inner(),
            create_time: time::now(),
            edit_time: None,
            delete_time: None,
            version: 0,
        };
        let comment = self.shared.comments.insert(comment, &task.task).await.map_err(ServiceError::from)?;
        Ok(Response::new(comment_to_proto(name, comment)))
    }

    async fn list_comments(
        &self,
        request: Request<v1::ListCommentsRequest>,
    ) -> Result<Response<v1::ListCommentsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::ListCommentsRequest { parent, page_size, page_token, show_deleted } = request.into_inner();
        let ListUnderTask { task: name, page } = ListUnderTask::parse(&parent, page_size, &page_token)?;
        let task = self.shared.authorizer.task(&caller, name, Permission::Read).await?;
        let comments = self.shared.comments.list(&task.task.id, page.after_id(), page.fetch(), show_deleted);
        let mut rows = comments.await.map_err(ServiceError::from)?;
        let next_page_token = page.finish(&mut rows, |last| (None, last.id.clone()));
        let comments = rows.into_iter().map(|row| comment_to_proto(name, row)).collect();
        Ok(Response::new(v1::ListCommentsResponse { comments, next_page_token }))
    }

    async fn update_comment(
        &self,
        request: Request<v1::UpdateCommentRequest>,
    ) -> Result<Response<v1::Comment>, Status> {
        let caller = Caller::of(&request)?;
        let UpdateComment { name, body, etag } = request.into_inner().try_into()?;
        let (comment, task) = self.changeable_comment(&caller, name, &etag, CommentAction::Edit).await?;
        if comment.body == body.as_str() {
            return Ok(Response::new(comment_to_proto(name.task, comment)));
        }
        let history =
            FieldChange { field: "comment".into(), old_value: comment.body.clone(), new_value: body.as_str().into() };
        let by = (caller.user, v1::TaskEventType::Updated as i16, time::now());
        let edit = CommentChange::Edit(body.into_inner());
        let changed = self.shared.comments.change(comment, edit, history, by, &task);
        let changed = changed.await.map_err(ServiceError::from)?;
        Ok(Response::new(comment_to_proto(name.task, changed)))
    }

    async fn delete_comment(
        &self,
        request: Request<v1::DeleteCommentRequest>,
    ) -> Result<Response<v1::Comment>, Status> {
        let caller = Caller::of(&request)?;
        let DeleteComment { name, etag } = request.into_inner().try_into()?;
        let (comment, task) = self.changeable_comment(&caller, name, &etag, CommentAction::Delete).await?;
        // History names the comment, not its text: deleting it takes the
        // text out of every answer.
        let history = FieldChange { field: "comment".into(), old_value: name.to_string(), new_value: "deleted".into() };
        let by = (caller.user, v1::TaskEventType::Updated as i16, time::now());
        let deleted = self.shared.comments.change(comment, CommentChange::Delete, history, by, &task);
        let deleted = deleted.await.map_err(ServiceError::from)?;
        Ok(Response::new(comment_to_proto(name.task, deleted)))
    }

    async fn list_task_activities(
        &self,
        request: Request<v1::ListTaskActivitiesRequest>,
    ) -> Result<Response<v1::ListTaskActivitiesResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::ListTaskActivitiesRequest { parent, page_size, page_token } = request.into_inner();
        let ListUnderTask { task: name, page } = ListUnderTask::parse(&parent, page_size, &page_token)?;
        let task = self.shared.authorizer.task(&caller, name, Permission::Read).await?;
        let activities = self.shared.comments.activities(&task.task.id, page.after_id(), page.fetch());
        let mut rows = activities.await.map_err(ServiceError::from)?;
        let next_page_token = page.finish(&mut rows, |last| (None, last.row.id.clone()));
        let activities = rows.into_iter().map(|row| activity_to_proto(name, row)).collect();
        Ok(Response::new(v1::ListTaskActivitiesResponse { activities, next_page_token }))
    }

    async fn skip_occurrence(
        &self,
        request: Request<v1::SkipOccurrenceRequest>,
    ) -> Result<Response<v1::SkipOccurrenceResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::SkipOccurrenceRequest { name, etag } = request.into_inner();
        let name = TaskName::parse("name", &name)?;
        let board = self.board(&caller, name.project).await?;
        let column = recurrence::skipped_column(&board)?;
        // Entering another column may count against a WIP limit.
        let kind = (v1::TaskEventType::Updated, Placement::Between);
        let (skipped, created) = self
            .write_all(&caller, (name, &etag), kind, async |writer, record| {
                if record.task.delete_time.is_some() {
                    return Err(ServiceError::FailedPrecondition("the task is deleted; undelete it first".into()));
                }
                if record.recurrence.is_none() {
                    return Err(ServiceError::FailedPrecondition(
                        "the task is not an occurrence of a recurring task".into(),
                    ));
                }
                if TaskStatus::from_stored(record.task.status) == TaskStatus::Done {
                    return Err(ServiceError::FailedPrecondition("the occurrence is done already".into()));
                }
                let now = time::now();
                writer.check_room(&column, &record.task.id).await?;
                check_blockers(writer, &board, &column, record).await?;
                record.task.skip_time = Some(now);
                record.task.position = writer.bottom_of_column(&column).await?;
                record.enter(&column, now);
                recurrence::follow(writer, Some(&board), false, record).await?;
                Ok(())
            })
            .await?;
        let next = created.iter().find(|task| task.task.previous_occurrence_id.as_ref() == Some(&skipped.task.id));
        Ok(Response::new(v1::SkipOccurrenceResponse {
            skipped: Some(task_to_proto(&skipped)),
            next: next.map(task_to_proto),
        }))
    }

    async fn list_occurrences(
        &self,
        request: Request<v1::ListOccurrencesRequest>,
    ) -> Result<Response<v1::ListOccurrencesResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListOccurrences { task: name, show_deleted, page } = request.into_inner().try_into()?;
        let record = self.shared.authorizer.task(&caller, name, Permission::Read).await?;
        let Some(series) = record.task.series_id.clone() else {
            // A one-off task is its own history.
            return Ok(Response::new(v1::ListOccurrencesResponse {
                tasks: vec![task_to_proto(&record)],
                next_page_token: String::new(),
            }));
        };
        let occurrences = self.shared.tasks.occurrences(&series, show_deleted, page.after_id(), page.fetch());
        let mut rows = occurrences.await.map_err(ServiceError::from)?;
        let next_page_token = page.finish(&mut rows, |last| (None, last.task.id.clone()));
        Ok(Response::new(v1::ListOccurrencesResponse {
            tasks: rows.iter().map(task_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn render_markdown(
        &self,
        request: Request<v1::RenderMarkdownRequest>,
    ) -> Result<Response<v1::RenderMarkdownResponse>, Status> {
        Caller::of(&request)?;
        // The longest Markdown anything holds is a task description.
        let markdown = TaskDescription::parse("markdown", &request.into_inner().markdown)?;
        Ok(Response::new(v1::RenderMarkdownResponse { html: markdown::to_safe_html(markdown.as_str()) }))
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;
    use tonic_types::StatusExt;

    use super::*;

    #[test]
    fn a_value_of_a_field_deleted_meanwhile_is_invalid_naming_its_key() {
        let status = Status::from(ServiceError::from(TaskStoreError::FieldDeleted("estimate".into())));
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let violations = status.get_details_bad_request().expect("BadRequest details").field_violations;
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "task.custom_fields.estimate");
        assert!(violations[0].description.contains("no custom field `estimate`"), "{violations:?}");
        assert!(violations[0].description.contains("deleted"), "{violations:?}");
    }
}
