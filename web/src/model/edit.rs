//! The task editor's draft, and the partial update (`update_mask`) it makes.

use tasktracker_proto::v1::{Priority, Task, TaskStatus};

use super::dates;

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
}

/// A field the user must fix, and why.
pub type FieldError = (&'static str, String);

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
        }
    }

    /// Checks what the browser can check; the server checks the rest.
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.title.trim().is_empty() {
            errors.push(("title", "A title is required.".to_owned()));
        }
        for (field, day) in [("start_time", &self.start_day), ("due_time", &self.due_day)] {
            if !day.trim().is_empty() && dates::from_day(day).is_none() {
                errors.push((field, "Use a date like 2026-12-31.".to_owned()));
            }
        }
        if let (Some(start), Some(due)) = (dates::from_day(&self.start_day), dates::from_day(&self.due_day))
            && due.seconds < start.seconds
        {
            errors.push(("due_time", "The due date is before the start date.".to_owned()));
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
    /// An empty mask means nothing changed.
    pub fn to_update(&self, original: &Task) -> Result<(Task, Vec<String>), Vec<FieldError>> {
        self.validate()?;
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
        Ok((task, mask.into_iter().map(str::to_owned).collect()))
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
        let (_, mask) = TaskDraft::of(&task()).to_update(&task()).unwrap();
        assert!(mask.is_empty(), "{mask:?}");
    }

    #[test]
    fn only_changed_fields_are_in_the_mask() {
        let mut draft = TaskDraft::of(&task());
        draft.title = "Write the README ".into();
        draft.labels = "docs, urgent docs".into();
        draft.due_day = String::new();
        draft.priority = Priority::High as i32;
        let (update, mask) = draft.to_update(&task()).unwrap();
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
        let (update, mask) = draft.to_update(&original).unwrap();
        assert_eq!(mask, ["state"]);
        assert_eq!(update.state, "projects/1/states/12");
        assert_eq!(update.status, 0, "the server derives the status from the state");
    }

    #[test]
    fn invalid_drafts_name_their_fields() {
        let mut draft = TaskDraft::of(&task());
        draft.title = " ".into();
        draft.start_day = "2026-12-05".into();
        let errors = draft.to_update(&task()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["title", "due_time"]);
        draft.title = "x".into();
        draft.due_day = "31/12/2026".into();
        assert_eq!(draft.to_update(&task()).unwrap_err()[0].0, "due_time");
    }

    #[test]
    fn new_tasks_default_to_todo() {
        let draft = TaskDraft { title: "New".into(), labels: "a b".into(), ..Default::default() };
        let task = draft.to_new_task().unwrap();
        assert_eq!(task.status, TaskStatus::Todo as i32);
        assert_eq!(task.labels, ["a", "b"]);
    }
}
