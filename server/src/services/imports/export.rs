//! Exports: a project read whole ([`ProjectDump`]) written as the JSON
//! document ([`super::document`]) or as CSV (its tasks, one row each).

use std::collections::HashMap;

use tasktracker_proto::v1;

use super::document::{self, Document, FORMAT, short_name};
use crate::{
    domain::{
        ProjectId, RelationKind,
        fields::{FieldType, FieldValue},
        time::{Micros, to_timestamp},
    },
    storage::{comments::FieldChange, exports::ProjectDump, fields::options_of},
};

/// RFC 3339 text of a stored time.
fn text_time(micros: Micros) -> String {
    to_timestamp(micros).to_string()
}

/// The JSON document of `dump`, exported at `now`.
pub fn document(dump: &ProjectDump, now: Micros) -> Document {
    let email = |id: &str| dump.users.get(id).map(|user| user.email.clone()).unwrap_or_default();
    let ProjectDump { project, states, fields, members, tasks, comments, activities, relations, users } = dump;
    let states = states
        .iter()
        .map(|state| document::State {
            id: state.id.clone(),
            display_name: state.display_name.clone(),
            color: state.color.clone(),
            category: category_name(state.category),
            wip_limit: state.wip_limit,
            archived: state.archive_time.is_some(),
        })
        .collect();
    let custom_fields = fields
        .iter()
        .map(|field| document::Field {
            id: field.id.clone(),
            key: field.key.clone(),
            display_name: field.display_name.clone(),
            kind: short_name(FieldType::from_stored(field.kind).to_proto().as_str_name(), "CUSTOM_FIELD_TYPE_")
                .to_owned(),
            options: options_of(field),
            number_min: field.number_min,
            number_max: field.number_max,
            show_on_card: field.show_on_card,
        })
        .collect();
    let members = members
        .iter()
        .map(|member| document::Member {
            email: email(&member.user_id),
            display_name: users.get(&member.user_id).map(|user| user.display_name.clone()).unwrap_or_default(),
            role: v1::Role::try_from(i32::from(member.role))
                .map_or_else(|_| member.role.to_string(), |role| short_name(role.as_str_name(), "ROLE_").to_owned()),
        })
        .collect();
    let mut comments_of: HashMap<&str, Vec<document::Comment>> = HashMap::new();
    for comment in comments {
        comments_of.entry(comment.task_id.as_str()).or_default().push(document::Comment {
            author: email(&comment.author_id),
            body: comment.body.clone(),
            create_time: text_time(comment.create_time),
            edit_time: comment.edit_time.map(text_time),
        });
    }
    let mut history_of: HashMap<&str, Vec<document::Activity>> = HashMap::new();
    for activity in activities {
        let kind = v1::TaskEventType::try_from(i32::from(activity.kind)).map_or_else(
            |_| activity.kind.to_string(),
            |kind| short_name(kind.as_str_name(), "TASK_EVENT_TYPE_").to_owned(),
        );
        history_of.entry(activity.task_id.as_str()).or_default().push(document::Activity {
            actor: email(&activity.actor_id),
            kind,
            time: text_time(activity.time),
            changes: serde_json::from_str::<Vec<FieldChange>>(&activity.changes).unwrap_or_default(),
        });
    }
    let tasks = tasks
        .iter()
        .map(|record| {
            let task = &record.task;
            document::Task {
                id: task.id.clone(),
                title: task.title.clone(),
                description: task.description.clone(),
                state: record.state.clone().unwrap_or_default(),
                priority: priority_name(task.priority),
                assignees: record.assignees.iter().map(|user| email(user)).collect(),
                labels: record.labels.clone(),
                start_time: task.start_time.map(text_time),
                due_time: task.due_time.map(text_time),
                complete_time: task.complete_time.map(text_time),
                create_time: text_time(task.create_time),
                update_time: text_time(task.update_time),
                creator: email(&task.creator_id),
                parent: task.parent_id.clone(),
                custom_fields: record
                    .custom_fields
                    .iter()
                    .map(|(key, value)| (key.clone(), value_json(&value.value, &email)))
                    .collect(),
                comments: comments_of.remove(task.id.as_str()).unwrap_or_default(),
                history: history_of.remove(task.id.as_str()).unwrap_or_default(),
            }
        })
        .collect();
    // One entry per relation: the side that reads "task blocks / duplicates
    // / relates to other" (of RELATES_TO, the side from the smaller id).
    let relations = relations
        .iter()
        .filter(|relation| match RelationKind::from_stored(relation.kind) {
            RelationKind::Blocks | RelationKind::Duplicates => true,
            RelationKind::RelatesTo => relation.task_id < relation.other_task_id,
            RelationKind::BlockedBy | RelationKind::DuplicatedBy => false,
        })
        .map(|relation| document::Relation {
            task: relation.task_id.clone(),
            kind: short_name(RelationKind::from_stored(relation.kind).to_proto().as_str_name(), "TASK_RELATION_TYPE_")
                .to_owned(),
            other: relation.other_task_id.clone(),
        })
        .collect();
    Document {
        format: FORMAT.into(),
        exported_at: text_time(now),
        project: document::Project {
            name: ProjectId::from_stored(&project.id).name(),
            title: project.title.clone(),
            description: project.description.clone(),
            enforce_wip_limits: project.enforce_wip_limits,
            require_blockers_done: project.require_blockers_done,
        },
        states,
        custom_fields,
        members,
        tasks,
        relations,
        attachments: Vec::new(),
    }
}

fn category_name(category: i16) -> String {
    let category = crate::domain::StateCategory::from_stored(category).to_proto();
    short_name(category.as_str_name(), "STATE_CATEGORY_").to_owned()
}

fn priority_name(priority: i16) -> String {
    match v1::Priority::try_from(i32::from(priority)) {
        Ok(v1::Priority::Unspecified) | Err(_) => String::new(),
        Ok(priority) => short_name(priority.as_str_name(), "PRIORITY_").to_owned(),
    }
}

/// A custom field value as the document writes it.
fn value_json(value: &FieldValue, email: &impl Fn(&str) -> String) -> serde_json::Value {
    use serde_json::Value;
    match value {
        FieldValue::Text(text) | FieldValue::Option(text) => Value::String(text.clone()),
        FieldValue::Number(number) => serde_json::json!(number),
        FieldValue::Date(micros) => Value::String(text_time(*micros)),
        FieldValue::Options(options) => serde_json::json!(options),
        FieldValue::User(user) => Value::String(email(&user.to_string())),
        FieldValue::Checkbox(checked) => Value::Bool(*checked),
    }
}

/// A custom field value as a CSV cell (and as the importer reads it).
pub fn value_text(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a
/// tab or carriage return first) gets a leading `'`, so it shows as text.
pub fn escape_formula(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_owned() }
}

/// The tasks of `document` as CSV: the columns `tasks.csv`'s mapping
/// reads (Key, Name, Notes, Status, Assignee, Due, Tags, Priority), then
/// Parent, Start, Completed, Created, and one `cf.<key>` column per field.
pub fn csv(document: &Document) -> anyhow::Result<Vec<u8>> {
    let states: HashMap<&str, &str> =
        document.states.iter().map(|state| (state.id.as_str(), state.display_name.as_str())).collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "Key",
        "Name",
        "Notes",
        "Status",
        "Assignee",
        "Due",
        "Tags",
        "Priority",
        "Parent",
        "Start",
        "Completed",
        "Created",
    ]
    .map(str::to_owned)
    .into();
    header.extend(document.custom_fields.iter().map(|field| format!("cf.{}", field.key)));
    writer.write_record(&header)?;
    let optional = |time: &Option<String>| time.clone().unwrap_or_default();
    for task in &document.tasks {
        let mut row = vec![
            task.id.clone(),
            task.title.clone(),
            task.description.clone(),
            states.get(task.state.as_str()).copied().unwrap_or_default().to_owned(),
            task.assignees.join(", "),
            optional(&task.due_time),
            task.labels.join(", "),
            task.priority.clone(),
            task.parent.clone().unwrap_or_default(),
            optional(&task.start_time),
            optional(&task.complete_time),
            task.create_time.clone(),
        ];
        row.extend(
            document
                .custom_fields
                .iter()
                .map(|field| task.custom_fields.get(&field.key).map(value_text).unwrap_or_default()),
        );
        writer.write_record(row.iter().map(|cell| escape_formula(cell)))?;
    }
    writer.into_inner().map_err(|error| anyhow::anyhow!("writing CSV: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_get_a_leading_quote() {
        for formula in ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(1:2)", "\t=1"] {
            assert_eq!(escape_formula(formula), format!("'{formula}"));
        }
        assert_eq!(escape_formula("Plain text"), "Plain text");
        assert_eq!(escape_formula(""), "");
    }
}
