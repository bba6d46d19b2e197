//! Tasks, comments and history entries as API messages, and the field by
//! field description of a change that history and watchers receive.

use prost::Message as _;
use tasktracker_proto::v1;

use crate::{
    domain::{
        ProjectId, TaskName, TaskStatus, UserId, markdown, search,
        time::{to_optional_timestamp, to_timestamp},
    },
    storage::{
        comments::{Activity, FieldChange},
        entities::comments,
        tasks::{DELETED_RETENTION, History, SearchHit, TaskRecord},
    },
};

/// A search hit as an API message: the snippet split at its highlight
/// markers into plain text pieces.
pub fn search_result_to_proto(hit: &SearchHit) -> v1::SearchResult {
    v1::SearchResult {
        task: Some(task_to_proto(&hit.record)),
        project: ProjectId::from_stored(&hit.record.task.project_id).name(),
        project_title: hit.project_title.clone(),
        score: hit.score,
        snippet: search::segments(&hit.snippet)
            .into_iter()
            .map(|segment| v1::SnippetSegment { text: segment.text, highlighted: segment.highlighted })
            .collect(),
    }
}

/// The one conversion from stored task to API message.
pub fn task_to_proto(record: &TaskRecord) -> v1::Task {
    let task = &record.task;
    v1::Task {
        name: record.name().to_string(),
        title: task.title.clone(),
        description: task.description.clone(),
        status: TaskStatus::from_stored(task.status).to_proto() as i32,
        priority: i32::from(task.priority),
        assignees: record.assignees.iter().map(|user| UserId::from_stored(user).name()).collect(),
        labels: record.labels.clone(),
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
        state: state_name(record),
        parent: parent_name(record),
        subtasks_total: i32::try_from(record.subtasks.total).unwrap_or(i32::MAX),
        subtasks_done: i32::try_from(record.subtasks.done).unwrap_or(i32::MAX),
        custom_fields: record
            .custom_fields
            .iter()
            .map(|(key, custom)| (key.clone(), custom.value.to_proto()))
            .collect(),
        recurrence: record.recurrence.as_ref().map(|recurrence| recurrence.to_proto()),
        series: series_name(record),
        occurrence_time: to_optional_timestamp(task.occurrence_time),
        skip_time: to_optional_timestamp(task.skip_time),
    }
}

/// The task's series as a resource name; empty for a one-off task.
pub fn series_name(record: &TaskRecord) -> String {
    record
        .task
        .series_id
        .as_ref()
        .map(|id| format!("projects/{}/series/{id}", record.task.project_id))
        .unwrap_or_default()
}

/// The task's parent as a resource name; empty for a top-level task.
fn parent_name(record: &TaskRecord) -> String {
    record
        .task
        .parent_id
        .as_ref()
        .map(|id| format!("projects/{}/tasks/{id}", record.task.project_id))
        .unwrap_or_default()
}

/// The task's workflow state as a resource name; empty if it has none.
fn state_name(record: &TaskRecord) -> String {
    record.state.as_ref().map(|id| format!("projects/{}/states/{id}", record.task.project_id)).unwrap_or_default()
}

/// A comment as the API shows it: a deleted one without its text.
pub fn comment_to_proto(task: TaskName, comment: comments::Model) -> v1::Comment {
    let body = if comment.delete_time.is_some() { String::new() } else { comment.body };
    v1::Comment {
        name: format!("{task}/comments/{}", comment.id),
        body_html: markdown::to_safe_html(&body),
        body,
        author: UserId::from_stored(&comment.author_id).name(),
        create_time: Some(to_timestamp(comment.create_time)),
        edit_time: to_optional_timestamp(comment.edit_time),
        delete_time: to_optional_timestamp(comment.delete_time),
        etag: comment.version.to_string(),
    }
}

pub fn activity_to_proto(task: TaskName, activity: Activity) -> v1::TaskActivity {
    let Activity { row, changes } = activity;
    v1::TaskActivity {
        name: format!("{task}/activities/{}", row.id),
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

/// What a write records: the changed fields, and the task as watchers get it.
pub fn history(before: Option<&TaskRecord>, after: &TaskRecord) -> History {
    History { changes: diff(before, after), snapshot: task_to_proto(after).encode_to_vec() }
}

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
    push("state", before.map(state_name).unwrap_or_default(), state_name(after));
    push("priority", old.map(|t| priority_name(t.priority)).unwrap_or_default(), priority_name(new.priority));
    let names =
        |users: &[String]| users.iter().map(|user| UserId::from_stored(user).name()).collect::<Vec<_>>().join(",");
    push("assignees", before.map(|r| names(&r.assignees)).unwrap_or_default(), names(&after.assignees));
    push("labels", before.map(|r| r.labels.join(",")).unwrap_or_default(), after.labels.join(","));
    push("start_time", text_time(old.and_then(|t| t.start_time)), text_time(new.start_time));
    push("due_time", text_time(old.and_then(|t| t.due_time)), text_time(new.due_time));
    push("parent", before.map(parent_name).unwrap_or_default(), parent_name(after));
    push("delete_time", text_time(old.and_then(|t| t.delete_time)), text_time(new.delete_time));
    let recurrence = |record: &TaskRecord| {
        record
            .recurrence
            .as_ref()
            .map(|r| format!("{} ({}, {})", r.rule(), r.zone_name(), r.mode().to_proto().as_str_name()))
    };
    push("recurrence", before.and_then(recurrence).unwrap_or_default(), recurrence(after).unwrap_or_default());
    push("skip_time", text_time(old.and_then(|t| t.skip_time)), text_time(new.skip_time));
    let no_values = Default::default();
    let old_values = before.map_or(&no_values, |record| &record.custom_fields);
    let keys: std::collections::BTreeSet<&String> = old_values.keys().chain(after.custom_fields.keys()).collect();
    let render = |value: Option<&crate::storage::tasks::CustomValue>| {
        value.map(|custom| custom.value.render()).unwrap_or_default()
    };
    for key in keys {
        push(&format!("custom_fields.{key}"), render(old_values.get(key)), render(after.custom_fields.get(key)));
    }
    changes
}
