//! Recurring tasks inside a task write's transaction: making a task the
//! first occurrence of a series, changing or stopping its rule, keeping the
//! series' template, and creating the next occurrence when one is done.
//! See `docs/recurrence.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tasktracker_proto::v1;

use super::{
    columns,
    convert::history,
    requests::{Scope, Target},
};
use crate::{
    domain::{
        FieldViolation, TaskId, TaskStatus, UserId,
        fields::FieldValue,
        recurrence::{Recurrence, RecurrenceMode},
        time::{self, Micros},
    },
    error::{ServiceError, ServiceResult},
    storage::{
        entities::task_series,
        states::{Board, Column},
        tasks::{CustomValue, TaskRecord, TaskWriter},
    },
};

/// What the next occurrences of a series copy: the fields "this and
/// following" edits change. Stored as JSON in `task_series.template`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Template {
    title: String,
    description: String,
    priority: i16,
    assignees: Vec<String>,
    labels: Vec<String>,
    custom_fields: Vec<TemplateValue>,
}

/// A custom field value in a template, by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TemplateValue {
    key: String,
    field_id: String,
    value: StoredValue,
}

/// [`FieldValue`] as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredValue {
    Text(String),
    Number(f64),
    Date(Micros),
    Option(String),
    Options(Vec<String>),
    User(String),
    Checkbox(bool),
}

impl Template {
    /// The template fields of `record`.
    pub fn of(record: &TaskRecord) -> Self {
        let custom_fields = record
            .custom_fields
            .iter()
            .map(|(key, custom)| TemplateValue {
                key: key.clone(),
                field_id: custom.field_id.clone(),
                value: match &custom.value {
                    FieldValue::Text(text) => StoredValue::Text(text.clone()),
                    FieldValue::Number(number) => StoredValue::Number(*number),
                    FieldValue::Date(date) => StoredValue::Date(*date),
                    FieldValue::Option(option) => StoredValue::Option(option.clone()),
                    FieldValue::Options(options) => StoredValue::Options(options.clone()),
                    FieldValue::User(user) => StoredValue::User(user.to_string()),
                    FieldValue::Checkbox(checked) => StoredValue::Checkbox(*checked),
                },
            })
            .collect();
        Self {
            title: record.task.title.clone(),
            description: record.task.description.clone(),
            priority: record.task.priority,
            assignees: record.assignees.clone(),
            labels: record.labels.clone(),
            custom_fields,
        }
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).expect("a template encodes")
    }

    fn decode(json: &str) -> ServiceResult<Self> {
        serde_json::from_str(json)
            .map_err(|error| ServiceError::Internal(anyhow::anyhow!("task_series.template: {error}")))
    }

    /// Gives `record` the template's fields.
    fn apply(self, record: &mut TaskRecord) {
        record.task.title = self.title;
        record.task.description = self.description;
        record.task.priority = self.priority;
        record.assignees = self.assignees;
        record.labels = self.labels;
        record.custom_fields = self
            .custom_fields
            .into_iter()
            .map(|TemplateValue { key, field_id, value }| {
                let value = match value {
                    StoredValue::Text(text) => FieldValue::Text(text),
                    StoredValue::Number(number) => FieldValue::Number(number),
                    StoredValue::Date(date) => FieldValue::Date(date),
                    StoredValue::Option(option) => FieldValue::Option(option),
                    StoredValue::Options(options) => FieldValue::Options(options),
                    StoredValue::User(user) => FieldValue::User(UserId::from_stored(&user)),
                    StoredValue::Checkbox(checked) => FieldValue::Checkbox(checked),
                };
                (key, CustomValue { field_id, value })
            })
            .collect::<BTreeMap<_, _>>();
    }
}

/// The start of a recurrence set on `record`: its due time; failing that
/// (from completion only) now. A rule from the due date needs one.
fn anchor(recurrence: &Recurrence, record: &TaskRecord) -> ServiceResult<Micros> {
    match (record.task.due_time, recurrence.mode()) {
        (Some(due), _) => Ok(due),
        (None, RecurrenceMode::FromCompletion) => Ok(time::now()),
        (None, RecurrenceMode::FromDue) => Err(ServiceError::invalid(
            "task.due_time",
            "is required for a recurrence from the due date (RECURRENCE_MODE_FROM_DUE)",
        )),
    }
}

/// A new series for `record`, its first occurrence, which it then names.
/// Fails naming `task.due_time` (from the due date without one) or
/// `task.recurrence.rule` (an UNTIL before the start, or not in UTC).
pub fn start_series(recurrence: Recurrence, record: &mut TaskRecord) -> ServiceResult<task_series::Model> {
    let anchor = anchor(&recurrence, record)?;
    recurrence.check_start("task.recurrence", anchor).map_err(invalid)?;
    let now = time::now();
    let series = task_series::Model {
        id: TaskId::generate().to_string(),
        project_id: record.task.project_id.clone(),
        rule: recurrence.rule().to_owned(),
        time_zone: recurrence.zone_name().to_owned(),
        mode: recurrence.mode().stored(),
        anchor_time: anchor,
        template: Template::of(record).encode(),
        create_time: now,
        update_time: now,
        end_time: None,
    };
    record.task.series_id = Some(series.id.clone());
    record.task.occurrence_time = record.task.due_time;
    record.recurrence = Some(recurrence);
    Ok(series)
}

fn invalid(violation: FieldViolation) -> ServiceError {
    ServiceError::invalid(violation.field, violation.description)
}

/// After an update edited `record`: applies a change of its recurrence
/// (`Some(Some)` sets or changes the rule, from this occurrence on;
/// `Some(None)` stops the series) and, for "this and following", copies
/// the edited template fields into the series.
pub async fn apply_update(
    writer: &TaskWriter<'_>,
    record: &mut TaskRecord,
    change: Option<Option<Recurrence>>,
    (scope, touches_template): (Scope, bool),
) -> ServiceResult<()> {
    let follows = scope == Scope::ThisAndFollowing && touches_template;
    let series = match &record.task.series_id {
        Some(id) if change.is_some() || follows => writer.series(id).await?,
        _ => None,
    };
    match (change, series) {
        (None, None) => {}
        (None, Some(mut series)) => {
            if series.end_time.is_none() {
                series.template = Template::of(record).encode();
                series.update_time = time::now();
                writer.save_series(series, false).await?;
            }
        }
        (Some(None), None) => {}
        (Some(None), Some(mut series)) => {
            if series.end_time.is_none() {
                series.end_time = Some(time::now());
                series.update_time = time::now();
                writer.save_series(series, false).await?;
            }
            record.recurrence = None;
        }
        (Some(Some(recurrence)), None) => {
            let series = start_series(recurrence, record)?;
            writer.save_series(series, true).await?;
        }
        (Some(Some(recurrence)), Some(mut series)) => {
            // The rule restarts at this occurrence, which the following
            // ones copy whatever the scope.
            let anchor = anchor(&recurrence, record)?;
            recurrence.check_start("task.recurrence", anchor).map_err(invalid)?;
            series.rule = recurrence.rule().to_owned();
            series.time_zone = recurrence.zone_name().to_owned();
            series.mode = recurrence.mode().stored();
            series.anchor_time = anchor;
            series.end_time = None;
            series.update_time = time::now();
            if scope == Scope::ThisAndFollowing {
                series.template = Template::of(record).encode();
            }
            writer.save_series(series, false).await?;
            record.task.occurrence_time = record.task.occurrence_time.or(record.task.due_time);
            record.recurrence = Some(recurrence);
        }
    }
    Ok(())
}

/// After a write moved `record` (DONE before if `was_done`): if it just
/// became DONE (completed, canceled or skipped) and is an occurrence of a
/// live series without a successor yet, creates the next occurrence in
/// the write's transaction, and copies of its live subtasks, open, under
/// it. Returns the next occurrence, if one was made.
///
/// Exactly one successor per occurrence: the occurrence's row is locked
/// by the write, the successor is looked for first, and the unique
/// `tasks_successor` index backs that up.
pub async fn follow(
    writer: &TaskWriter<'_>,
    board: Option<&Board>,
    was_done: bool,
    record: &TaskRecord,
) -> ServiceResult<Option<TaskRecord>> {
    let done = TaskStatus::from_stored(record.task.status) == TaskStatus::Done;
    let (Some(board), Some(series_id)) = (board, &record.task.series_id) else { return Ok(None) };
    if was_done || !done || record.task.delete_time.is_some() || writer.has_successor(&record.task.id).await? {
        return Ok(None);
    }
    let Some(series) = writer.series(series_id).await? else { return Ok(None) };
    if series.end_time.is_some() {
        return Ok(None);
    }
    let Some(recurrence) = Recurrence::from_stored(&series.rule, &series.time_zone, series.mode) else {
        return Ok(None);
    };
    let now = time::now();
    let so_far = writer.occurrences_since(series_id, series.anchor_time).await?;
    let so_far = u32::try_from(so_far).unwrap_or(u32::MAX);
    let Some(next) = recurrence.next(series.anchor_time, record.task.due_time, now, so_far) else { return Ok(None) };
    let shift = record.task.due_time.map(|due| next - due);
    let column = columns::resolve(board, &Target::Status(TaskStatus::Todo), "")?;
    let kind = v1::TaskEventType::Created as i16;

    let mut successor = fresh_copy(record, now);
    Template::decode(&series.template)?.apply(&mut successor);
    successor.task.due_time = Some(next);
    successor.task.start_time = match (record.task.start_time, record.task.due_time) {
        (Some(start), Some(due)) => Some(next - (due - start)),
        _ => None,
    };
    successor.task.series_id = Some(series_id.clone());
    successor.task.occurrence_time = Some(next);
    successor.task.previous_occurrence_id = Some(record.task.id.clone());
    successor.recurrence = Some(recurrence);
    let successor = writer.create_occurrence(successor, &column, kind, |created| history(None, created)).await?;

    for subtask in writer.live_subtasks(&record.task.id).await? {
        let mut copy = fresh_copy(&subtask, now);
        copy.task.parent_id = Some(successor.task.id.clone());
        copy.task.due_time = subtask.task.due_time.map(|due| shift.map_or(due, |shift| due + shift));
        copy.task.start_time = subtask.task.start_time.map(|start| shift.map_or(start, |shift| start + shift));
        writer.create_occurrence(copy, &column, kind, |created| history(None, created)).await?;
    }
    Ok(Some(successor))
}

/// A new, open task with `record`'s fields, not (yet) in a series.
fn fresh_copy(record: &TaskRecord, now: Micros) -> TaskRecord {
    let mut copy = record.clone();
    copy.task.id = TaskId::generate().to_string();
    copy.task.status = TaskStatus::Todo.stored();
    copy.task.position = 0;
    copy.task.request_id = None;
    copy.task.request_hash = None;
    copy.task.create_time = now;
    copy.task.update_time = now;
    copy.task.complete_time = None;
    copy.task.delete_time = None;
    copy.task.version = 1;
    copy.task.state_id = None;
    copy.task.series_id = None;
    copy.task.occurrence_time = None;
    copy.task.skip_time = None;
    copy.task.previous_occurrence_id = None;
    copy.state = None;
    copy.subtasks = Default::default();
    copy.recurrence = None;
    copy
}

/// The column a skipped occurrence goes to: the project's first
/// non-archived CANCELED state, else its first COMPLETED one.
pub fn skipped_column(board: &Board) -> ServiceResult<Column> {
    use crate::domain::StateCategory;
    let canceled = board
        .states
        .iter()
        .filter(|state| state.archive_time.is_none())
        .filter(|state| StateCategory::from_stored(state.category) == StateCategory::Canceled)
        .min_by_key(|state| state.position);
    match canceled {
        Some(state) => Ok(board.column(state)),
        None => columns::resolve(board, &Target::Status(TaskStatus::Done), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::entities::tasks;

    #[test]
    fn a_template_gives_the_next_occurrence_every_copied_field() {
        let mut record = TaskRecord {
            task: tasks::Model {
                id: TaskId::generate().to_string(),
                project_id: "p".into(),
                title: "Water the plants".into(),
                description: "the *fern* too".into(),
                status: TaskStatus::Done.stored(),
                priority: 3,
                start_time: None,
                due_time: Some(1),
                position: 0,
                creator_id: "u".into(),
                request_id: None,
                request_hash: None,
                create_time: 0,
                update_time: 0,
                complete_time: Some(2),
                delete_time: None,
                version: 3,
                state_id: None,
                parent_id: None,
                series_id: None,
                occurrence_time: None,
                skip_time: None,
                previous_occurrence_id: None,
            },
            assignees: vec!["a".into(), "b".into()],
            labels: vec!["home".into()],
            state: None,
            subtasks: Default::default(),
            custom_fields: Default::default(),
            recurrence: None,
        };
        let values = [
            ("a-text", FieldValue::Text("t".into())),
            ("b-number", FieldValue::Number(2.5)),
            ("c-date", FieldValue::Date(86_400_000_000)),
            ("d-option", FieldValue::Option("x".into())),
            ("e-options", FieldValue::Options(vec!["x".into(), "y".into()])),
            ("f-user", FieldValue::User(UserId::from_stored("0190c5a8-0000-7000-8000-000000000000"))),
            ("g-checkbox", FieldValue::Checkbox(true)),
        ];
        for (key, value) in values {
            record.custom_fields.insert(key.into(), CustomValue { field_id: format!("field-{key}"), value });
        }
        let decoded = Template::decode(&Template::of(&record).encode()).expect("decodes");
        let mut next = fresh_copy(&record, 5);
        next.task.title.clear();
        next.custom_fields.clear();
        decoded.apply(&mut next);
        assert_eq!(
            (&next.task.title, &next.task.description, next.task.priority, &next.assignees, &next.labels),
            (&record.task.title, &record.task.description, 3, &record.assignees, &record.labels)
        );
        assert_eq!(next.custom_fields, record.custom_fields);
        assert_eq!(
            (next.task.status, next.task.complete_time, next.task.version),
            (TaskStatus::Todo.stored(), None, 1)
        );
        assert_ne!(next.task.id, record.task.id);
    }
}
