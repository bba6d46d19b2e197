//! `TaskService` requests parsed into commands: every field checked, every
//! violation collected, before anything is authorized or read.

use std::collections::BTreeMap;

use tasktracker_proto::v1;

use crate::domain::{
    CommentBody, CommentName, FieldViolation, Invalid, Priority, ProjectId, RequestId, StateName, TaskDescription,
    TaskName, TaskStatus, TaskTitle, UserId, Violations,
    fields::{FieldValue, is_key},
    filter::{self, Filter},
    page::{PageRequest, SortKey, TaskOrder},
    parse_labels,
    recurrence::Recurrence,
    search::SearchText,
    time::{Micros, from_timestamp},
};

/// Most assignees per task.
const MAX_ASSIGNEES: usize = 20;
/// Every updatable field, for `update_mask` `*`.
pub const UPDATABLE: &[&str] = &[
    "title",
    "description",
    "status",
    "state",
    "priority",
    "assignees",
    "labels",
    "start_time",
    "due_time",
    "parent",
    "custom_fields",
    "recurrence",
];

/// A required sub-message, or a violation naming it.
fn required<'a, T>(field: &str, value: &'a Option<T>) -> Result<&'a T, Invalid> {
    value.as_ref().ok_or_else(|| FieldViolation::new(field, "is required").into())
}

/// The column a request asks for: a workflow state, or (older clients) a
/// status, which means that status's first state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    State(StateName),
    Status(TaskStatus),
}

/// Task fields given in a request; `None` means "not given".
#[derive(Debug, Default)]
pub struct TaskEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    /// `state`, or failing that `status`.
    pub column: Option<Target>,
    pub priority: Option<Priority>,
    /// Sorted and deduplicated user ids.
    pub assignees: Option<Vec<String>>,
    pub labels: Option<Vec<String>>,
    pub start_time: Option<Option<Micros>>,
    pub due_time: Option<Option<Micros>>,
    /// The parent task; `Some(None)` makes the task top-level.
    pub parent: Option<Option<TaskName>>,
    /// Custom field values, checked for shape only (the service checks
    /// them against the project's fields).
    pub custom_fields: Option<CustomEdit>,
    /// The recurrence; `Some(None)` stops the series.
    pub recurrence: Option<Option<Recurrence>>,
}

impl TaskEdit {
    /// Whether the edit changes a field the next occurrences of a
    /// recurring task copy.
    pub fn touches_template(&self) -> bool {
        self.title.is_some()
            || self.description.is_some()
            || self.priority.is_some()
            || self.assignees.is_some()
            || self.labels.is_some()
            || self.custom_fields.is_some()
    }
}

/// Which occurrences of a recurring task an update applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This occurrence and the series' template.
    ThisAndFollowing,
    /// This occurrence only.
    ThisOccurrence,
}

/// The custom field values a request sets.
#[derive(Debug, Default, PartialEq)]
pub struct CustomEdit {
    /// `custom_fields` was named: every field not in `values` loses its value.
    pub replace: bool,
    /// By key; `None` clears the field.
    pub values: BTreeMap<String, Option<FieldValue>>,
}

/// A custom field's request path.
pub fn custom_path(key: &str) -> String {
    format!("task.custom_fields.{key}")
}

/// The value of `key` in `task`'s map, checked for shape; `None` if absent.
fn parse_custom(task: &v1::Task, key: &str, violations: &mut Violations) -> Option<Option<FieldValue>> {
    match task.custom_fields.get(key) {
        None => Some(None),
        Some(value) => violations.check(FieldValue::parse(&custom_path(key), value)).map(Some),
    }
}

impl TaskEdit {
    /// Parses the fields in `paths` from `task`, a task of `project` (if
    /// its name parsed).
    fn parse(task: &v1::Task, paths: &[&str], project: Option<ProjectId>, violations: &mut Violations) -> Self {
        let mut edit = Self::default();
        let mut state = None;
        for path in paths {
            match *path {
                "title" => {
                    edit.title =
                        violations.check(TaskTitle::parse("task.title", &task.title)).map(TaskTitle::into_inner)
                }
                "description" => {
                    edit.description = violations
                        .check(TaskDescription::parse("task.description", &task.description))
                        .map(TaskDescription::into_inner)
                }
                "status" => {
                    edit.column = violations
                        .check(TaskStatus::from_proto("task.status", task.status))
                        .map(|s| Target::Status(s.unwrap_or(TaskStatus::Todo)))
                }
                "state" => state = Some(parse_state("task.state", &task.state, project, violations)),
                "priority" => edit.priority = violations.check(Priority::from_proto("task.priority", task.priority)),
                "labels" => {
                    edit.labels = violations
                        .check(parse_labels("task.labels", &task.labels))
                        .map(|labels| labels.iter().map(|label| label.as_str().to_owned()).collect())
                }
                "assignees" => edit.assignees = parse_assignees(&task.assignees, violations),
                "start_time" => edit.start_time = parse_time("task.start_time", &task.start_time, violations),
                "due_time" => edit.due_time = parse_time("task.due_time", &task.due_time, violations),
                "parent" => edit.parent = parse_parent(&task.parent, project, violations),
                "recurrence" => {
                    edit.recurrence = match &task.recurrence {
                        None => Some(None),
                        Some(recurrence) => match Recurrence::parse("task.recurrence", recurrence) {
                            Ok(recurrence) => Some(Some(recurrence)),
                            Err(invalid) => {
                                invalid.0.into_iter().for_each(|v| violations.add(v.field, v.description));
                                None
                            }
                        },
                    }
                }
                "custom_fields" => {
                    let custom = edit.custom_fields.get_or_insert_with(CustomEdit::default);
                    custom.replace = true;
                    for key in task.custom_fields.keys() {
                        if !is_key(key) {
                            violations.add(custom_path(key), "is not a custom field key");
                        } else if let Some(value) = parse_custom(task, key, violations) {
                            custom.values.insert(key.clone(), value);
                        }
                    }
                }
                path if path.starts_with("custom_fields.") => {
                    let key = &path["custom_fields.".len()..];
                    if !is_key(key) {
                        violations.add("update_mask", format!("`{path}` names no custom field key"));
                    } else if let Some(value) = parse_custom(task, key, violations) {
                        let custom = edit.custom_fields.get_or_insert_with(CustomEdit::default);
                        custom.values.insert(key.to_owned(), value);
                    }
                }
                other => {
                    violations.add("update_mask", format!("`{other}` cannot be updated; use {}", UPDATABLE.join(", ")))
                }
            }
        }
        match state {
            // `state` wins over `status`.
            Some(Some(state)) => edit.column = Some(Target::State(state)),
            // Empty: "not given" if `status` is, else a missing value.
            Some(None) if edit.column.is_none() && task.state.is_empty() => {
                violations.add("task.state", "is required when the update mask names `state`")
            }
            _ => {}
        }
        edit
    }
}

/// A state of `project` named in `field`; `None` if empty or invalid (then
/// recorded, unless empty).
fn parse_state(field: &str, name: &str, project: Option<ProjectId>, violations: &mut Violations) -> Option<StateName> {
    if name.is_empty() {
        return None;
    }
    match project {
        Some(project) => violations.check(StateName::parse_in(field, name, project)),
        None => violations.check(StateName::parse(field, name)),
    }
}

/// A parent task of `project` (if known), or `Some(None)` if empty; `None`
/// if invalid (then recorded).
fn parse_parent(name: &str, project: Option<ProjectId>, violations: &mut Violations) -> Option<Option<TaskName>> {
    if name.is_empty() {
        return Some(None);
    }
    let parent = violations.check(TaskName::parse("task.parent", name))?;
    if project.is_some_and(|project| project != parent.project) {
        violations.add("task.parent", "must be a task of the same project");
        return None;
    }
    Some(Some(parent))
}

fn parse_assignees(assignees: &[String], violations: &mut Violations) -> Option<Vec<String>> {
    if assignees.len() > MAX_ASSIGNEES {
        violations.add("task.assignees", format!("at most {MAX_ASSIGNEES} assignees"));
        return None;
    }
    let mut users: Vec<String> = assignees
        .iter()
        .enumerate()
        .filter_map(|(index, assignee)| {
            violations
                .check(UserId::parse_name(&format!("task.assignees[{index}]"), assignee))
                .map(|user| user.to_string())
        })
        .collect();
    users.sort();
    users.dedup();
    Some(users)
}

fn parse_time(
    field: &str,
    value: &Option<prost_types::Timestamp>,
    violations: &mut Violations,
) -> Option<Option<Micros>> {
    match value {
        None => Some(None),
        Some(timestamp) => violations.check(from_timestamp(field, timestamp)).map(Some),
    }
}

/// `CreateTask`.
#[derive(Debug)]
pub struct CreateTask {
    pub project: ProjectId,
    pub edit: TaskEdit,
    pub request_id: Option<RequestId>,
}

impl TryFrom<v1::CreateTaskRequest> for CreateTask {
    type Error = Invalid;

    fn try_from(request: v1::CreateTaskRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &request.parent));
        let edit = TaskEdit::parse(required("task", &request.task)?, UPDATABLE, project, &mut violations);
        let request_id = violations.check(RequestId::parse("request_id", &request.request_id, || canonical(&request)));
        violations.finish()?;
        Ok(Self { project: project.expect("checked"), edit, request_id: request_id.expect("checked") })
    }
}

/// The create request without its idempotency key, encoded the same way
/// every time: its custom field values (a map, whose encoding order is not
/// fixed) follow the rest, by key.
fn canonical(request: &v1::CreateTaskRequest) -> Vec<u8> {
    use prost::Message as _;
    let mut task = request.task.clone().unwrap_or_default();
    let values: BTreeMap<String, v1::CustomFieldValue> = std::mem::take(&mut task.custom_fields).into_iter().collect();
    let rest = v1::CreateTaskRequest { parent: request.parent.clone(), task: Some(task), request_id: String::new() };
    let mut bytes = rest.encode_length_delimited_to_vec();
    for (key, value) in values {
        bytes.extend(key.encode_length_delimited_to_vec());
        bytes.extend(value.encode_length_delimited_to_vec());
    }
    bytes
}

/// `ListTasks`.
#[derive(Debug)]
pub struct ListTasks {
    pub project: ProjectId,
    pub filter: Option<Filter>,
    pub order: TaskOrder,
    /// The custom field `order` names (`cf.<key>`), resolved by the service.
    pub order_key: Option<String>,
    pub show_deleted: bool,
    pub page: PageRequest,
}

impl TryFrom<v1::ListTasksRequest> for ListTasks {
    type Error = Invalid;

    fn try_from(request: v1::ListTasksRequest) -> Result<Self, Invalid> {
        let v1::ListTasksRequest { parent, page_size, page_token, filter, order_by, show_deleted } = request;
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", &parent));
        let parsed_filter =
            violations.check(filter::parse(&filter).map_err(|error| FieldViolation::new("filter", error.to_string())));
        let order = violations.check(TaskOrder::parse("order_by", &order_by));
        let fingerprint = format!("tasks\0{parent}\0{filter}\0{order_by}\0{show_deleted}");
        let page = PageRequest::parse(&mut violations, page_size, &page_token, (50, 500), fingerprint);
        // A task list's token always carries the last row's sort key.
        if page.as_ref().and_then(|page| page.after.as_ref()).is_some_and(|after| after.key.is_none()) {
            violations.add("page_token", "is not a page token of this list");
        }
        violations.finish()?;
        Ok(Self {
            project: project.expect("checked"),
            filter: parsed_filter.expect("checked"),
            order: order.expect("checked"),
            order_key: TaskOrder::custom_key(&order_by).map(str::to_owned),
            show_deleted,
            page: page.expect("checked"),
        })
    }
}

/// `SearchTasks`.
#[derive(Debug)]
pub struct SearchTasks {
    pub text: SearchText,
    pub project: Option<ProjectId>,
    pub include_archived: bool,
    pub page: PageRequest,
}

impl TryFrom<v1::SearchTasksRequest> for SearchTasks {
    type Error = Invalid;

    fn try_from(request: v1::SearchTasksRequest) -> Result<Self, Invalid> {
        let v1::SearchTasksRequest { query, page_size, page_token, project, include_archived } = request;
        let fingerprint = format!("search\0{query}\0{project}\0{include_archived}");
        let mut violations = Violations::default();
        let text = violations.check(SearchText::parse("query", &query));
        let project = if project.is_empty() {
            Some(None)
        } else {
            violations.check(ProjectId::parse_name("project", &project)).map(Some)
        };
        let page = PageRequest::parse(&mut violations, page_size, &page_token, (20, 100), fingerprint);
        // A search's token always carries the last result's score.
        if page
            .as_ref()
            .and_then(|page| page.after.as_ref())
            .is_some_and(|after| !matches!(after.key, Some(SortKey::Number(_))))
        {
            violations.add("page_token", "is not a page token of this search");
        }
        violations.finish()?;
        Ok(Self {
            text: text.expect("checked"),
            project: project.expect("checked"),
            include_archived,
            page: page.expect("checked"),
        })
    }
}

/// `UpdateTask`.
#[derive(Debug)]
pub struct UpdateTask {
    pub name: TaskName,
    pub edit: TaskEdit,
    pub etag: String,
}

impl TryFrom<v1::UpdateTaskRequest> for UpdateTask {
    type Error = Invalid;

    fn try_from(request: v1::UpdateTaskRequest) -> Result<Self, Invalid> {
        let task = required("task", &request.task)?;
        let mut violations = Violations::default();
        let name = violations.check(TaskName::parse("task.name", &task.name));
        let paths = request.update_mask.map(|mask| mask.paths).unwrap_or_default();
        let paths: Vec<&str> = if paths.iter().any(|path| path == "*") {
            // An empty `parent` is "not given" here: clients that predate
            // subtasks send none. Clearing it takes naming it.
            // Likewise an empty `custom_fields`.
            UPDATABLE
                .iter()
                .copied()
                .filter(|path| *path != "parent" || !task.parent.is_empty())
                .filter(|path| *path != "custom_fields" || !task.custom_fields.is_empty())
                // Likewise an unset `recurrence`.
                .filter(|path| *path != "recurrence" || task.recurrence.is_some())
                .collect()
        } else {
            paths.iter().map(String::as_str).collect()
        };
        if paths.is_empty() {
            violations.add("update_mask", format!("name at least one field: {}", UPDATABLE.join(", ")));
        }
        let edit = TaskEdit::parse(task, &paths, name.map(|name| name.project), &mut violations);
        violations.finish()?;
        Ok(Self { name: name.expect("checked"), edit, etag: task.etag.clone() })
    }
}

impl TryFrom<v1::UpdateOccurrenceRequest> for UpdateTask {
    type Error = Invalid;

    fn try_from(request: v1::UpdateOccurrenceRequest) -> Result<Self, Invalid> {
        let v1::UpdateOccurrenceRequest { task, update_mask } = request;
        Self::try_from(v1::UpdateTaskRequest { task, update_mask })
    }
}

/// Most tasks one `BatchUpdateTasks` or `BatchDeleteTasks` may change.
pub const BATCH_LIMIT: usize = 100;

/// `BatchUpdateTasks`: updates of distinct tasks of one project.
#[derive(Debug)]
pub struct BatchUpdateTasks {
    pub project: ProjectId,
    pub updates: Vec<UpdateTask>,
}

impl TryFrom<v1::BatchUpdateTasksRequest> for BatchUpdateTasks {
    type Error = Invalid;

    fn try_from(request: v1::BatchUpdateTasksRequest) -> Result<Self, Invalid> {
        let v1::BatchUpdateTasksRequest { parent, requests } = request;
        let mut batch = Batch::new(&parent, requests.len());
        if requests.len() > BATCH_LIMIT {
            return Err(batch.violations.finish().expect_err("too many entries"));
        }
        let mut updates = Vec::with_capacity(requests.len());
        for (index, request) in requests.into_iter().enumerate() {
            match UpdateTask::try_from(request) {
                Ok(update) => {
                    batch.names(index, "task.name", update.name);
                    updates.push(update);
                }
                Err(Invalid(found)) => batch.nest(index, found),
            }
        }
        batch.violations.complete(|| Some(Self { project: batch.project?, updates }))
    }
}

/// `BatchDeleteTasks`: deletions of distinct tasks of one project.
#[derive(Debug)]
pub struct BatchDeleteTasks {
    pub project: ProjectId,
    /// Each task with its etag (empty: unconditional).
    pub deletions: Vec<(TaskName, String)>,
}

impl TryFrom<v1::BatchDeleteTasksRequest> for BatchDeleteTasks {
    type Error = Invalid;

    fn try_from(request: v1::BatchDeleteTasksRequest) -> Result<Self, Invalid> {
        let v1::BatchDeleteTasksRequest { parent, requests } = request;
        let mut batch = Batch::new(&parent, requests.len());
        if requests.len() > BATCH_LIMIT {
            return Err(batch.violations.finish().expect_err("too many entries"));
        }
        let mut deletions = Vec::with_capacity(requests.len());
        for (index, v1::DeleteTaskRequest { name, etag }) in requests.into_iter().enumerate() {
            match TaskName::parse("name", &name) {
                Ok(name) => {
                    batch.names(index, "name", name);
                    deletions.push((name, etag));
                }
                Err(violation) => batch.nest(index, vec![violation]),
            }
        }
        batch.violations.complete(|| Some(Self { project: batch.project?, deletions }))
    }
}

/// What every batch request checks: its `parent`, its size, and that its
/// entries name distinct tasks of that project. Violations of an entry's
/// fields are named `requests[i].<field>`.
struct Batch {
    project: Option<ProjectId>,
    seen: std::collections::HashSet<crate::domain::TaskId>,
    violations: Violations,
}

impl Batch {
    fn new(parent: &str, entries: usize) -> Self {
        let mut violations = Violations::default();
        let project = violations.check(ProjectId::parse_name("parent", parent));
        match entries {
            0 => violations.add("requests", "name at least one task"),
            entries if entries > BATCH_LIMIT => {
                violations.add("requests", format!("at most {BATCH_LIMIT} tasks per batch, not {entries}"));
            }
            _ => {}
        }
        Self { project, seen: Default::default(), violations }
    }

    /// Checks that entry `index` names a task of the batch's project that
    /// no earlier entry named.
    fn names(&mut self, index: usize, field: &str, name: TaskName) {
        if self.project.is_some_and(|project| project != name.project) {
            self.violations.add(format!("requests[{index}].{field}"), "must be a task of `parent`");
        } else if !self.seen.insert(name.task) {
            self.violations.add(format!("requests[{index}].{field}"), "names a task an earlier entry names");
        }
    }

    fn nest(&mut self, index: usize, found: Vec<FieldViolation>) {
        for violation in found {
            self.violations.add(format!("requests[{index}].{}", violation.field), violation.description);
        }
    }
}

/// `MoveTask`.
#[derive(Debug)]
pub struct MoveTask {
    pub name: TaskName,
    /// The target column; `None` keeps the task's own.
    pub target: Option<Target>,
    /// The task to place it after; `None` puts it at the top.
    pub after: Option<TaskName>,
    pub etag: String,
}

impl TryFrom<v1::MoveTaskRequest> for MoveTask {
    type Error = Invalid;

    fn try_from(request: v1::MoveTaskRequest) -> Result<Self, Invalid> {
        let v1::MoveTaskRequest { name, status, after_task, etag, state } = request;
        let mut violations = Violations::default();
        let name = violations.check(TaskName::parse("name", &name));
        let status = violations.check(TaskStatus::from_proto("status", status));
        let state = parse_state("state", &state, name.map(|name| name.project), &mut violations);
        let after = if after_task.is_empty() {
            Some(None)
        } else {
            violations.check(TaskName::parse("after_task", &after_task)).map(Some)
        };
        violations.finish()?;
        let (name, after) = (name.expect("checked"), after.expect("checked"));
        if after.is_some_and(|after| after.project != name.project) {
            return Err(FieldViolation::new("after_task", "must be a task of the same project").into());
        }
        let target = state.map(Target::State).or(status.expect("checked").map(Target::Status));
        Ok(Self { name, target, after, etag })
    }
}

/// `WatchTasks`.
#[derive(Debug)]
pub struct WatchTasks {
    pub project: ProjectId,
    pub cursor: Option<i64>,
}

impl TryFrom<v1::WatchTasksRequest> for WatchTasks {
    type Error = Invalid;

    fn try_from(request: v1::WatchTasksRequest) -> Result<Self, Invalid> {
        let project = ProjectId::parse_name("parent", &request.parent)?;
        let cursor = match request.cursor.as_str() {
            "" => None,
            text => Some(
                text.parse::<i64>()
                    .ok()
                    .filter(|seq| *seq >= 0)
                    .ok_or_else(|| FieldViolation::new("cursor", "is not a cursor this server issued"))?,
            ),
        };
        Ok(Self { project, cursor })
    }
}

/// `CreateComment`.
#[derive(Debug)]
pub struct CreateComment {
    pub task: TaskName,
    pub body: CommentBody,
}

impl TryFrom<v1::CreateCommentRequest> for CreateComment {
    type Error = Invalid;

    fn try_from(request: v1::CreateCommentRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let task = violations.check(TaskName::parse("parent", &request.parent));
        let comment = required("comment", &request.comment)?;
        let body = violations.check(CommentBody::parse("comment.body", &comment.body));
        violations.finish()?;
        Ok(Self { task: task.expect("checked"), body: body.expect("checked") })
    }
}

/// `UpdateComment`: a new body for a comment, maybe guarded by its etag.
#[derive(Debug)]
pub struct UpdateComment {
    pub name: CommentName,
    pub body: CommentBody,
    pub etag: String,
}

impl TryFrom<v1::UpdateCommentRequest> for UpdateComment {
    type Error = Invalid;

    fn try_from(request: v1::UpdateCommentRequest) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let comment = required("comment", &request.comment)?;
        let name = violations.check(CommentName::parse("comment.name", &comment.name));
        let body = violations.check(CommentBody::parse("comment.body", &comment.body));
        let paths = request.update_mask.map(|mask| mask.paths).unwrap_or_default();
        if let Some(other) = paths.iter().find(|path| !matches!(path.as_str(), "body" | "*")) {
            violations.add("update_mask", format!("`{other}` cannot be updated; only `body` can"));
        }
        violations.finish()?;
        Ok(Self { name: name.expect("checked"), body: body.expect("checked"), etag: comment.etag.clone() })
    }
}

/// `DeleteComment`.
#[derive(Debug)]
pub struct DeleteComment {
    pub name: CommentName,
    pub etag: String,
}

impl TryFrom<v1::DeleteCommentRequest> for DeleteComment {
    type Error = Invalid;

    fn try_from(request: v1::DeleteCommentRequest) -> Result<Self, Invalid> {
        Ok(Self { name: CommentName::parse("name", &request.name)?, etag: request.etag })
    }
}

/// `ListOccurrences`.
#[derive(Debug)]
pub struct ListOccurrences {
    pub task: TaskName,
    pub show_deleted: bool,
    pub page: PageRequest,
}

impl TryFrom<v1::ListOccurrencesRequest> for ListOccurrences {
    type Error = Invalid;

    fn try_from(request: v1::ListOccurrencesRequest) -> Result<Self, Invalid> {
        let v1::ListOccurrencesRequest { task, page_size, page_token, show_deleted } = request;
        let mut violations = Violations::default();
        let name = violations.check(TaskName::parse("task", &task));
        let fingerprint = format!("occurrences\0{task}\0{show_deleted}");
        let page = PageRequest::parse(&mut violations, page_size, &page_token, (50, 200), fingerprint);
        violations.finish()?;
        Ok(Self { task: name.expect("checked"), show_deleted, page: page.expect("checked") })
    }
}

/// A page of something under one task: comments or history.
#[derive(Debug)]
pub struct ListUnderTask {
    pub task: TaskName,
    pub page: PageRequest,
}

impl ListUnderTask {
    pub fn parse(parent: &str, page_size: i32, page_token: &str) -> Result<Self, Invalid> {
        let mut violations = Violations::default();
        let task = violations.check(TaskName::parse("parent", parent));
        let page = PageRequest::parse(&mut violations, page_size, page_token, (50, 200), parent);
        violations.finish()?;
        Ok(Self { task: task.expect("checked"), page: page.expect("checked") })
    }
}

#[cfg(test)]
mod tests {
    use prost_types::FieldMask;

    use super::*;
    use crate::domain::TaskId;

    #[test]
    fn a_create_is_fingerprinted_by_content_not_by_map_order_or_key() {
        let value = |n: f64| v1::CustomFieldValue { value: Some(v1::custom_field_value::Value::Number(n)) };
        let request = |keys: &[usize], request_id: &str| v1::CreateTaskRequest {
            parent: format!("projects/{}", ProjectId::generate()),
            task: Some(v1::Task {
                title: "t".into(),
                custom_fields: keys.iter().map(|k| (format!("f{k}"), value(*k as f64))).collect(),
                ..Default::default()
            }),
            request_id: request_id.into(),
        };
        let forwards = request(&[1, 2, 3, 4, 5, 6, 7, 8], "a");
        let backwards = v1::CreateTaskRequest {
            task: request(&[8, 7, 6, 5, 4, 3, 2, 1], "b").task,
            parent: forwards.parent.clone(),
            ..forwards.clone()
        };
        assert_eq!(canonical(&forwards), canonical(&backwards));
        let other_key = v1::CreateTaskRequest { request_id: "c".into(), ..backwards.clone() };
        assert_eq!(canonical(&forwards), canonical(&other_key), "the key itself is not part of it");
        let mut changed = backwards;
        changed.task.as_mut().unwrap().custom_fields.insert("f1".into(), value(9.0));
        assert_ne!(canonical(&forwards), canonical(&changed));
    }

    fn update(task: v1::Task, paths: &[&str]) -> Result<UpdateTask, Invalid> {
        let paths = paths.iter().map(|path| (*path).to_owned()).collect();
        UpdateTask::try_from(v1::UpdateTaskRequest { task: Some(task), update_mask: Some(FieldMask { paths }) })
    }

    #[test]
    fn parent_is_a_task_of_the_same_project_or_empty() {
        let project = ProjectId::generate();
        let name = TaskName { project, task: TaskId::generate() };
        let parent = TaskName { project, task: TaskId::generate() };
        let task =
            v1::Task { name: name.to_string(), parent: parent.to_string(), title: "t".into(), ..Default::default() };
        assert_eq!(update(task.clone(), &["parent"]).unwrap().edit.parent, Some(Some(parent)));
        let cleared = v1::Task { parent: String::new(), ..task.clone() };
        assert_eq!(update(cleared.clone(), &["parent"]).unwrap().edit.parent, Some(None));
        // `*` with an empty parent leaves it; with one, sets it.
        assert_eq!(update(cleared, &["*"]).unwrap().edit.parent, None);
        assert_eq!(update(task.clone(), &["*"]).unwrap().edit.parent, Some(Some(parent)));
        assert_eq!(update(task.clone(), &["title"]).unwrap().edit.parent, None);

        let elsewhere = TaskName { project: ProjectId::generate(), task: TaskId::generate() };
        let invalid = |parent: String| {
            let task = v1::Task { parent, ..task.clone() };
            update(task, &["parent"]).expect_err("invalid parent").0
        };
        let violations = invalid(elsewhere.to_string());
        assert_eq!(violations[0].field, "task.parent");
        assert!(violations[0].description.contains("same project"));
        assert_eq!(invalid("tasks/1".into())[0].field, "task.parent");
    }
}
