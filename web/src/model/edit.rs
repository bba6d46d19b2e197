//! The task editor's draft, and the partial update (`update_mask`) it makes.

use tasktracker_proto::v1::{CustomField, Priority, Task, TaskStatus};

use super::{dates, fields};

/// What the editor's controls hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskDraft {
    pub title: String,
    pub description: String,
    /// For new tasks (the new-task form); the task page sets `state`.
    pub status: i32,
    /// `projects/{project}/states/{state}`: the task's workflow state.
    pub state: String,
    pub priority: i32,
    pub assignees: Vec<String>,
    /// Comma- or space-separated.
    pub labels: String,
    /// `YYYY-MM-DD` or empty.
    pub start_day: String,
    /// `YYYY-MM-DD` or empty.
    pub due_day: String,
    /// Custom field values as `(key, text)`, as their controls hold them
    /// ([`fields::value_text`]); a missing key is no value. (A short list:
    /// a map would cost the bundle its sorting and tree code.)
    pub custom: Vec<(String, String)>,
}

/// A field the user must fix (as the server names it), and why.
pub type FieldError = (String, String);

/// Labels typed as `a, b c` -> `["a", "b", "c"]`, without duplicates.
pub fn parse_labels(text: &str) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for label in text.split([',', ' ', '\t', '\n']).map(str::trim).filter(|l| !l.is_empty()) {
        if !labels.iter().any(|l| l == label) {
            labels.push(label.to_owned());
        }
    }
    labels
}

impl TaskDraft {
    /// The draft of an existing task.
    pub fn of(task: &Task) -> Self {
        Self {
            title: task.title.clone(),
            description: task.description.clone(),
            status: task.status,
            state: task.state.clone(),
            priority: task.priority,
            assignees: task.assignees.clone(),
            labels: task.labels.join(", "),
            start_day: task.start_time.as_ref().map(dates::to_day).unwrap_or_default(),
            due_day: task.due_time.as_ref().map(dates::to_day).unwrap_or_default(),
            custom: task.custom_fields.iter().map(|(key, value)| (key.clone(), fields::value_text(value))).collect(),
        }
    }

    /// The text of the custom field `key` (empty: no value).
    pub fn custom_text(&self, key: &str) -> &str {
        self.custom.iter().find(|(k, _)| k == key).map_or("", |(_, text)| text)
    }

    /// Sets the text of the custom field `key`.
    pub fn set_custom(&mut self, key: &str, text: String) {
        match self.custom.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = text,
            None => self.custom.push((key.to_owned(), text)),
        }
    }

    /// Checks what the browser can check; the server checks the rest.
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.title.trim().is_empty() {
            errors.push(("title".to_owned(), "A title is required.".to_owned()));
        }
        for (field, day) in [("start_time", &self.start_day), ("due_time", &self.due_day)] {
            if !day.trim().is_empty() && dates::from_day(day).is_none() {
                errors.push((field.to_owned(), "Use a date like 2026-12-31.".to_owned()));
            }
        }
        if let (Some(start), Some(due)) = (dates::from_day(&self.start_day), dates::from_day(&self.due_day))
            && due.seconds < start.seconds
        {
            errors.push(("due_time".to_owned(), "The due date is before the start date.".to_owned()));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// A new task from the draft (for CreateTask).
    pub fn to_new_task(&self) -> Result<Task, Vec<FieldError>> {
        self.validate()?;
        Ok(Task {
            title: self.title.trim().to_owned(),
            description: self.description.clone(),
            status: if self.status == 0 { TaskStatus::Todo as i32 } else { self.status },
            priority: self.priority,
            assignees: self.assignees.clone(),
            labels: parse_labels(&self.labels),
            start_time: dates::from_day(&self.start_day),
            due_time: dates::from_day(&self.due_day),
            ..Default::default()
        })
    }

    /// The update of `original` to this draft: a task carrying the changed
    /// fields, its name and etag, and the mask naming exactly those fields.
    /// An empty mask means nothing changed. Custom field values are compared
    /// for the project's `fields`, each change masked as `custom_fields.<key>`
    /// (a blank value absent from the map: the server clears it).
    pub fn to_update(&self, original: &Task, fields: &[CustomField]) -> Result<(Task, Vec<String>), Vec<FieldError>> {
        self.validate()?;
        let custom = self.custom_update(original, fields)?;
        let before = Self::of(original);
        let mut task = Task { name: original.name.clone(), etag: original.etag.clone(), ..Default::default() };
        let mut mask = Vec::new();
        if self.title.trim() != before.title {
            task.title = self.title.trim().to_owned();
            mask.push("title");
        }
        if self.description != before.description {
            task.description = self.description.clone();
            mask.push("description");
        }
        if self.state != before.state {
            task.state = self.state.clone();
            mask.push("state");
        }
        if self.priority != before.priority {
            task.priority = self.priority;
            mask.push("priority");
        }
        let mut assignees = self.assignees.clone();
        assignees.dedup();
        if assignees != before.assignees {
            task.assignees = assignees;
            mask.push("assignees");
        }
        let labels = parse_labels(&self.labels);
        if labels != original.labels {
            task.labels = labels;
            mask.push("labels");
        }
        if self.start_day.trim() != before.start_day {
            task.start_time = dates::from_day(&self.start_day);
            mask.push("start_time");
        }
        if self.due_day.trim() != before.due_day {
            task.due_time = dates::from_day(&self.due_day);
            mask.push("due_time");
        }
        let mut mask: Vec<String> = mask.into_iter().map(str::to_owned).collect();
        for (key, value) in custom {
            mask.push(format!("custom_fields.{key}"));
            if let Some(value) = value {
                task.custom_fields.insert(key, value);
            }
        }
        Ok((task, mask))
    }

    /// The custom field values changed from `original`'s: key and new value
    /// (`None`: cleared), in the fields' order.
    fn custom_update(
        &self,
        original: &Task,
        fields: &[CustomField],
    ) -> Result<Vec<(String, Option<tasktracker_proto::v1::CustomFieldValue>)>, Vec<FieldError>> {
        let before = Self::of(original);
        let (mut changes, mut errors) = (Vec::new(), Vec::new());
        for field in fields {
            let (now, was) = (self.custom_text(&field.key), before.custom_text(&field.key));
            if now == was || (now.trim().is_empty() && was.is_empty()) {
                continue;
            }
            match fields::parse_value(field.r#type, now) {
                Ok(value) => changes.push((field.key.clone(), value)),
                Err(message) => errors.push((format!("custom_fields.{}", field.key), message)),
            }
        }
        if errors.is_empty() { Ok(changes) } else { Err(errors) }
    }
}

/// Human names of the enums.
pub fn status_label(status: i32) -> &'static str {
    match TaskStatus::try_from(status).unwrap_or(TaskStatus::Unspecified) {
        TaskStatus::Todo | TaskStatus::Unspecified => "To do",
        TaskStatus::InProgress => "In progress",
        TaskStatus::Done => "Done",
    }
}

/// Human name of a priority.
pub fn priority_label(priority: i32) -> &'static str {
    match Priority::try_from(priority).unwrap_or(Priority::Unspecified) {
        Priority::Unspecified => "None",
        Priority::Low => "Low",
        Priority::Medium => "Medium",
        Priority::High => "High",
        Priority::Urgent => "Urgent",
    }
}

#[cfg(test)]
mod tests {
    use tasktracker_proto::v1::CustomFieldType;

    use super::*;

    fn task() -> Task {
        Task {
            name: "projects/1/tasks/2".into(),
            etag: "e1".into(),
            title: "Write".into(),
            status: TaskStatus::Todo as i32,
            labels: vec!["docs".into()],
            due_time: dates::from_day("2026-12-01"),
            ..Default::default()
        }
    }

    #[test]
    fn an_unchanged_draft_updates_nothing() {
        let (_, mask) = TaskDraft::of(&task()).to_update(&task(), &[]).unwrap();
        assert!(mask.is_empty(), "{mask:?}");
    }

    #[test]
    fn only_changed_fields_are_in_the_mask() {
        let mut draft = TaskDraft::of(&task());
        draft.title = "Write the README ".into();
        draft.labels = "docs, urgent docs".into();
        draft.due_day = String::new();
        draft.priority = Priority::High as i32;
        let (update, mask) = draft.to_update(&task(), &[]).unwrap();
        assert_eq!(mask, ["title", "priority", "labels", "due_time"]);
        assert_eq!(update.name, "projects/1/tasks/2");
        assert_eq!(update.etag, "e1");
        assert_eq!(update.title, "Write the README");
        assert_eq!(update.labels, ["docs", "urgent"]);
        assert_eq!(update.due_time, None);
    }

    #[test]
    fn a_new_state_is_sent_as_state_not_status() {
        let mut original = task();
        original.state = "projects/1/states/10".into();
        let mut draft = TaskDraft::of(&original);
        assert_eq!(draft.state, "projects/1/states/10");
        draft.state = "projects/1/states/12".into();
        let (update, mask) = draft.to_update(&original, &[]).unwrap();
        assert_eq!(mask, ["state"]);
        assert_eq!(update.state, "projects/1/states/12");
        assert_eq!(update.status, 0, "the server derives the status from the state");
    }

    #[test]
    fn invalid_drafts_name_their_fields() {
        let mut draft = TaskDraft::of(&task());
        draft.title = " ".into();
        draft.start_day = "2026-12-05".into();
        let errors = draft.to_update(&task(), &[]).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["title", "due_time"]);
        draft.title = "x".into();
        draft.due_day = "31/12/2026".into();
        assert_eq!(draft.to_update(&task(), &[]).unwrap_err()[0].0, "due_time");
    }

    fn field(key: &str, kind: CustomFieldType) -> CustomField {
        CustomField { key: key.into(), r#type: kind as i32, ..Default::default() }
    }

    #[test]
    fn custom_field_changes_are_masked_by_key() {
        use tasktracker_proto::v1::{CustomFieldValue, custom_field_value::Value};
        let fields = [
            field("estimate", CustomFieldType::Number),
            field("team", CustomFieldType::SingleSelect),
            field("notes", CustomFieldType::Text),
            field("done", CustomFieldType::Checkbox),
        ];
        let mut original = task();
        original.custom_fields.insert("team".into(), CustomFieldValue { value: Some(Value::Option("core".into())) });
        original.custom_fields.insert("done".into(), CustomFieldValue { value: Some(Value::Checkbox(true)) });
        let mut draft = TaskDraft::of(&original);
        assert_eq!(draft.custom_text("team"), "core");
        let (_, mask) = draft.to_update(&original, &fields).unwrap();
        assert!(mask.is_empty(), "{mask:?}");
        draft.set_custom("estimate", "3".into());
        draft.set_custom("team", String::new());
        draft.set_custom("notes", "  ".into());
        draft.set_custom("done", "true".into());
        let (update, mask) = draft.to_update(&original, &fields).unwrap();
        assert_eq!(mask, ["custom_fields.estimate", "custom_fields.team"]);
        assert_eq!(update.custom_fields.len(), 1, "the cleared team is left out of the map");
        assert_eq!(update.custom_fields["estimate"].value, Some(Value::Number(3.0)));
        draft.set_custom("estimate", "three".into());
        let errors = draft.to_update(&original, &fields).unwrap_err();
        assert_eq!(errors, [("custom_fields.estimate".to_owned(), "Enter a number.".to_owned())]);
    }

    #[test]
    fn new_tasks_default_to_todo() {
        let draft = TaskDraft { title: "New".into(), labels: "a b".into(), ..Default::default() };
        let task = draft.to_new_task().unwrap();
        assert_eq!(task.status, TaskStatus::Todo as i32);
        assert_eq!(task.labels, ["a", "b"]);
    }
}
