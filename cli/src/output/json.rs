//! Messages as JSON: the API's field names (snake_case), every field
//! present, enums by their short names (`TODO`, `HIGH`, `OWNER`), times in
//! RFC 3339. Scripts may rely on this shape; fields are only ever added.

use serde_json::{Map, Value, json};
use tasktracker_proto::v1::{self, custom_field_value};

use crate::names;

fn time(timestamp: Option<&prost_types::Timestamp>) -> Value {
    timestamp.map_or(Value::Null, |timestamp| Value::String(timestamp.to_string()))
}

/// An enum value's name without its prefix (`TASK_STATUS_TODO` → `TODO`);
/// `null` for the unspecified value.
fn short_name(name: Option<&str>, prefix: &str) -> Value {
    match name.map(|name| name.trim_start_matches(prefix)) {
        None | Some("UNSPECIFIED") => Value::Null,
        Some(short) => Value::String(short.to_owned()),
    }
}

fn optional_string(text: &str) -> Value {
    if text.is_empty() { Value::Null } else { Value::String(text.to_owned()) }
}

pub fn project(project: &v1::Project) -> Value {
    json!({
        "name": project.name,
        "id": names::id(&project.name),
        "title": project.title,
        "description": project.description,
        "caller_role": short_name(v1::Role::try_from(project.caller_role).ok().map(|role| role.as_str_name()), "ROLE_"),
        "create_time": time(project.create_time.as_ref()),
        "update_time": time(project.update_time.as_ref()),
        "archive_time": time(project.archive_time.as_ref()),
        "enforce_wip_limits": project.enforce_wip_limits,
        "require_blockers_done": project.require_blockers_done,
        "require_two_factor": project.require_two_factor,
        "etag": project.etag,
    })
}

pub fn task(task: &v1::Task) -> Value {
    let custom_fields: Map<String, Value> =
        task.custom_fields.iter().map(|(key, value)| (key.clone(), custom_field(value))).collect();
    json!({
        "name": task.name,
        "id": names::id(&task.name),
        "title": task.title,
        "description": task.description,
        "state": task.state,
        "status": short_name(v1::TaskStatus::try_from(task.status).ok().map(|status| status.as_str_name()), "TASK_STATUS_"),
        "priority": short_name(v1::Priority::try_from(task.priority).ok().map(|priority| priority.as_str_name()), "PRIORITY_"),
        "assignees": task.assignees,
        "labels": task.labels,
        "start_time": time(task.start_time.as_ref()),
        "due_time": time(task.due_time.as_ref()),
        "parent": optional_string(&task.parent),
        "subtasks_total": task.subtasks_total,
        "subtasks_done": task.subtasks_done,
        "custom_fields": custom_fields,
        "position": task.position,
        "creator": task.creator,
        "create_time": time(task.create_time.as_ref()),
        "update_time": time(task.update_time.as_ref()),
        "complete_time": time(task.complete_time.as_ref()),
        "delete_time": time(task.delete_time.as_ref()),
        "purge_time": time(task.purge_time.as_ref()),
        "etag": task.etag,
    })
}

fn custom_field(value: &v1::CustomFieldValue) -> Value {
    match &value.value {
        None => Value::Null,
        Some(custom_field_value::Value::Text(text)) => json!(text),
        Some(custom_field_value::Value::Number(number)) => json!(number),
        Some(custom_field_value::Value::Date(date)) => time(Some(date)),
        Some(custom_field_value::Value::Option(option)) => json!(option),
        Some(custom_field_value::Value::Options(options)) => json!(options.values),
        Some(custom_field_value::Value::User(user)) => json!(user),
        Some(custom_field_value::Value::Checkbox(checked)) => json!(checked),
    }
}

pub fn user(user: &v1::User, server: &str) -> Value {
    json!({
        "name": user.name,
        "email": user.email,
        "display_name": user.display_name,
        "create_time": time(user.create_time.as_ref()),
        "two_factor_enabled": user.two_factor_enabled,
        "server": server,
    })
}

pub fn event(event: &v1::TaskEvent) -> Value {
    json!({
        "cursor": event.cursor,
        "type": short_name(v1::TaskEventType::try_from(event.r#type).ok().map(|kind| kind.as_str_name()), "TASK_EVENT_TYPE_"),
        "actor": event.actor,
        "event_time": time(event.event_time.as_ref()),
        "task": event.task.as_ref().map_or(Value::Null, task),
    })
}
