//! Tasktracker's own export ([`super::document`], `tasktracker-export/1`)
//! read back: its states and custom fields are added where the project
//! lacks them (by name, by key), its tasks keep their subtasks, values,
//! comments, history, times and relations. Members are matched by email;
//! users who are not members of the project are left out as assignees, and
//! their comments and history entries become the importer's (a comment
//! names its author).

use std::collections::HashMap;

use super::{
    document::{self, Document, FORMAT},
    export::value_text,
    items::{ItemActivity, ItemComment, MAX_ITEMS, Parsed, RawItem, RelationSpec, RowError, StateSpec},
};
use crate::{
    domain::{
        RelationKind, StateCategory,
        fields::{FieldKey, FieldType},
        time::parse_rfc3339,
    },
    error::ServiceError,
    storage::fields::NewField,
};
use tasktracker_proto::v1;

/// Reads an export. JSON that is not one, or of another format version, is
/// refused naming `content`.
pub fn parse(content: &str) -> Result<Parsed, ServiceError> {
    let document: Document = serde_json::from_str(content).map_err(|error| {
        ServiceError::invalid(
            "content",
            format!("is not a {FORMAT} document: {error} (line {}, column {})", error.line(), error.column()),
        )
    })?;
    if document.format != FORMAT {
        return Err(ServiceError::invalid(
            "content",
            format!("is a \"{}\" document; this server reads \"{FORMAT}\"", document.format),
        ));
    }
    if document.tasks.len() > MAX_ITEMS {
        return Err(ServiceError::invalid("content", format!("has more than {MAX_ITEMS} tasks")));
    }
    let Document { states, custom_fields, tasks, relations, .. } = document;
    let state_names: HashMap<&str, &str> =
        states.iter().map(|state| (state.id.as_str(), state.display_name.as_str())).collect();
    let mut parsed = Parsed {
        states: states
            .iter()
            .filter(|state| !state.archived)
            .map(|state| StateSpec {
                name: state.display_name.clone(),
                category: category(&state.category),
                color: Some(state.color.clone()),
            })
            .collect(),
        fields: custom_fields.iter().filter_map(field_spec).collect(),
        ..Parsed::default()
    };
    let rows: HashMap<&str, i64> =
        tasks.iter().enumerate().map(|(index, task)| (task.id.as_str(), index as i64 + 1)).collect();
    for (index, task) in tasks.iter().enumerate() {
        let history = task
            .history
            .iter()
            .filter_map(|activity| {
                Some(ItemActivity {
                    actor_email: activity.actor.clone(),
                    kind: v1::TaskEventType::from_str_name(&format!("TASK_EVENT_TYPE_{}", activity.kind))? as i16,
                    time: parse_rfc3339(&activity.time)?,
                    changes: activity.changes.clone(),
                })
            })
            .collect();
        let comments = task
            .comments
            .iter()
            .map(|comment| ItemComment {
                author_email: Some(comment.author.clone()),
                author_name: comment.author.clone(),
                body: comment.body.clone(),
                time: parse_rfc3339(&comment.create_time),
            })
            .collect();
        parsed.push(RawItem {
            row: index as i64 + 1,
            source_id: task.id.clone(),
            parent: task.parent.clone(),
            title: &task.title,
            description: &task.description,
            state: state_names.get(task.state.as_str()).copied().unwrap_or(""),
            assignees: task.assignees.clone(),
            due: task.due_time.as_deref().unwrap_or(""),
            start: task.start_time.as_deref().unwrap_or(""),
            labels: task.labels.iter().map(String::as_str).collect(),
            priority: &task.priority,
            custom_fields: task.custom_fields.iter().map(|(key, value)| (key.clone(), value_text(value))).collect(),
            comments,
            create_time: parse_rfc3339(&task.create_time),
            complete_time: task.complete_time.as_deref().and_then(parse_rfc3339),
            history,
            ..RawItem::default()
        });
    }
    for relation in relations {
        let row = rows.get(relation.task.as_str()).copied().unwrap_or(0);
        match relation_kind(&relation.kind) {
            Some(kind) => parsed.relations.push(RelationSpec { row, task: relation.task, kind, other: relation.other }),
            None => parsed.errors.push(RowError::new(
                row,
                &relation.task,
                "relations",
                format!("\"{}\" is not a relation type: BLOCKS, DUPLICATES or RELATES_TO", relation.kind),
            )),
        }
    }
    Ok(parsed)
}

fn category(name: &str) -> Option<StateCategory> {
    let value = v1::StateCategory::from_str_name(&format!("STATE_CATEGORY_{name}"))?;
    StateCategory::from_proto("", value as i32).ok()
}

/// A field of the document, if its key and type are ones this server knows.
fn field_spec(field: &document::Field) -> Option<NewField> {
    let kind = v1::CustomFieldType::from_str_name(&format!("CUSTOM_FIELD_TYPE_{}", field.kind))?;
    Some(NewField {
        key: FieldKey::parse("key", &field.key).ok()?,
        display_name: field.display_name.clone(),
        kind: FieldType::from_proto("", kind as i32).ok()?,
        options: field.options.clone(),
        number_min: field.number_min,
        number_max: field.number_max,
        show_on_card: field.show_on_card,
    })
}

fn relation_kind(name: &str) -> Option<RelationKind> {
    let value = v1::TaskRelationType::from_str_name(&format!("TASK_RELATION_TYPE_{name}"))?;
    RelationKind::from_proto("", value as i32).ok()
}
