//! What an import file holds, read into items before anything is written:
//! each source ([`super::csv`], [`super::trello`], [`super::native`]) turns its file into
//! [`Parsed`], checking what needs no database (titles, dates, labels);
//! [`super::runner`] then matches states, members and custom fields.

use serde::{Deserialize, Serialize};

use crate::{
    domain::{Label, Priority, RelationKind, StateCategory, TaskDescription, TaskTitle, time::Micros},
    storage::{comments::FieldChange, fields::NewField},
};

/// Most items (tasks and subtasks) one file may hold.
pub const MAX_ITEMS: usize = 100_000;
/// Row errors an operation keeps (all are counted).
pub const MAX_ROW_ERRORS: usize = 1_000;

/// One task to import.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Where the item is in its file (a CSV line, a Trello card's place).
    pub row: i64,
    /// Its id in its source: what makes a second import skip it.
    pub source_id: String,
    /// The source id of the item it is a subtask of (an earlier item).
    pub parent: Option<String>,
    pub title: TaskTitle,
    pub description: TaskDescription,
    /// The display name of its workflow state; none: the first "to do" one.
    pub state: Option<String>,
    /// Its source marks it done (a checked checklist item).
    pub done: bool,
    /// Emails of its assignees.
    pub assignees: Vec<String>,
    pub due_time: Option<Micros>,
    pub labels: Vec<String>,
    pub priority: Priority,
    /// Custom field key and the value as text.
    pub custom_fields: Vec<(String, String)>,
    pub comments: Vec<ItemComment>,
    pub start_time: Option<Micros>,
    /// When its source made it; none: now.
    pub create_time: Option<Micros>,
    /// When its source completed it (kept if its state completes).
    pub complete_time: Option<Micros>,
    /// Its history in its source (a Tasktracker export), oldest first.
    pub history: Vec<ItemActivity>,
    /// What the file held of it that is left out: reported if it is
    /// imported (not when an earlier import made it).
    pub warnings: Vec<RowError>,
}

/// A history entry of an imported task.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemActivity {
    /// The actor's email: a member with it becomes the actor, otherwise the
    /// importer does.
    pub actor_email: String,
    /// `TaskEventType`.
    pub kind: i16,
    pub time: Micros,
    pub changes: Vec<FieldChange>,
}

/// A workflow state an import adds if the project has none of its name.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSpec {
    pub name: String,
    /// None: guessed from the name.
    pub category: Option<StateCategory>,
    pub color: Option<String>,
}

/// A relation between two imported items, by their source ids.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationSpec {
    pub row: i64,
    pub task: String,
    pub kind: RelationKind,
    pub other: String,
}

/// A comment on an imported task.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemComment {
    /// The author's email, if the source has it; a member with it becomes
    /// the author, otherwise the importer does, the author named in the body.
    pub author_email: Option<String>,
    pub author_name: String,
    pub body: String,
    pub time: Option<Micros>,
}

/// Something of one item that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: i64,
    pub source_id: String,
    pub field: String,
    pub message: String,
}

impl RowError {
    pub fn new(row: i64, source_id: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { row, source_id: source_id.to_owned(), field: field.into(), message: message.into() }
    }
}

/// A file read into items.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Workflow states the file names, in board order, to create if the
    /// project lacks them (Trello's lists).
    pub states: Vec<StateSpec>,
    /// Custom fields to create if the project lacks them (by key).
    pub fields: Vec<NewField>,
    pub items: Vec<Item>,
    /// Relations to make once every item is written.
    pub relations: Vec<RelationSpec>,
    /// Items that could not be read at all, and parts of items dropped.
    pub errors: Vec<RowError>,
}

/// An item's fields as its file spells them, before checking.
#[derive(Debug, Default)]
pub struct RawItem<'a> {
    pub row: i64,
    pub source_id: String,
    pub parent: Option<String>,
    pub title: &'a str,
    pub description: &'a str,
    pub state: &'a str,
    pub done: bool,
    pub assignees: Vec<String>,
    /// RFC 3339 or YYYY-MM-DD.
    pub due: &'a str,
    pub labels: Vec<&'a str>,
    pub priority: &'a str,
    pub custom_fields: Vec<(String, String)>,
    pub comments: Vec<ItemComment>,
    /// RFC 3339 or YYYY-MM-DD.
    pub start: &'a str,
    pub create_time: Option<Micros>,
    pub complete_time: Option<Micros>,
    pub history: Vec<ItemActivity>,
    /// What the source's reader left out of it.
    pub warnings: Vec<RowError>,
}

impl Parsed {
    /// Checks `raw` and adds it as an item; a bad title, description or
    /// priority refuses the item, a bad due date or label only drops that.
    pub fn push(&mut self, raw: RawItem<'_>) {
        let RawItem {
            row,
            source_id,
            parent,
            title,
            description,
            state,
            done,
            assignees,
            due,
            labels,
            priority,
            custom_fields,
            comments,
            start,
            create_time,
            complete_time,
            history,
            mut warnings,
        } = raw;
        let error = |field: &str, message: String| RowError::new(row, &source_id, field, message);
        let title = match TaskTitle::parse("title", title.trim()) {
            Ok(title) => title,
            Err(violation) => return self.errors.push(error("title", violation.description)),
        };
        let description = match TaskDescription::parse("description", description) {
            Ok(description) => description,
            Err(violation) => return self.errors.push(error("description", violation.description)),
        };
        let priority = match priority.trim() {
            "" => Priority::Unspecified,
            text => match Priority::from_filter(text) {
                Some(priority) => priority,
                None => {
                    let message = format!("\"{text}\" is not a priority: LOW, MEDIUM, HIGH or URGENT");
                    return self.errors.push(error("priority", message));
                }
            },
        };
        let mut time = |field: &str, text: &str| match text.trim() {
            "" => None,
            text => {
                let parsed = crate::domain::time::parse_rfc3339(text);
                if parsed.is_none() {
                    let message =
                        format!("\"{text}\" is not an RFC 3339 time or a YYYY-MM-DD date; imported without it");
                    warnings.push(error(field, message));
                }
                parsed
            }
        };
        let due_time = time("due_date", due);
        let start_time = time("start_time", start);
        let mut kept = Vec::new();
        for label in labels {
            let label = label_of(label);
            if label.is_empty() || kept.contains(&label) {
                continue;
            }
            if kept.len() == Label::MAX_PER_TASK {
                let message =
                    format!("a task has at most {} labels; imported without \"{label}\"", Label::MAX_PER_TASK);
                warnings.push(error("labels", message));
                continue;
            }
            match Label::parse("labels", &label) {
                Ok(label) => kept.push(label.as_str().to_owned()),
                Err(violation) => {
                    let message = format!("\"{label}\" {}; imported without it", violation.description);
                    warnings.push(error("labels", message));
                }
            }
        }
        kept.sort();
        let state = Some(state.trim()).filter(|state| !state.is_empty()).map(str::to_owned);
        self.items.push(Item {
            row,
            source_id,
            parent,
            title,
            description,
            state,
            done,
            assignees,
            due_time,
            labels: kept,
            priority,
            custom_fields,
            comments,
            start_time,
            create_time,
            complete_time,
            history,
            warnings,
        });
    }
}

/// A label from a source's name for it: spaces become hyphens.
fn label_of(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join("-")
}

/// Splits a list cell ("a, b; c") into its trimmed, non-empty parts.
pub fn split_list(cell: &str) -> Vec<&str> {
    cell.split([',', ';']).map(str::trim).filter(|part| !part.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(title: &str) -> RawItem<'_> {
        RawItem { row: 2, source_id: "a".into(), title, ..Default::default() }
    }

    #[test]
    fn a_bad_title_or_priority_refuses_the_item_and_names_the_field() {
        let mut parsed = Parsed::default();
        parsed.push(raw(""));
        parsed.push(RawItem { priority: "soon", ..raw("ok") });
        assert!(parsed.items.is_empty());
        let fields: Vec<_> = parsed.errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["title", "priority"]);
    }

    #[test]
    fn a_bad_due_date_or_label_only_drops_that_part() {
        let mut parsed = Parsed::default();
        parsed.push(RawItem { due: "next week", labels: vec!["High priority", "bad!label"], ..raw("ok") });
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(parsed.items[0].labels, ["High-priority"]);
        assert_eq!(parsed.items[0].due_time, None);
        assert!(parsed.errors.is_empty(), "the item's own, reported if it is imported");
        let fields: Vec<_> = parsed.items[0].warnings.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["due_date", "labels"]);
    }

    #[test]
    fn formula_like_cells_are_kept_as_text() {
        let mut parsed = Parsed::default();
        parsed.push(RawItem { description: "+1+2", ..raw("=cmd|' /C calc'!A0") });
        assert_eq!(parsed.items[0].title.as_str(), "=cmd|' /C calc'!A0");
        assert_eq!(parsed.items[0].description.as_str(), "+1+2");
    }

    #[test]
    fn list_cells_split_on_commas_and_semicolons() {
        assert_eq!(split_list(" a@x.io, b@x.io;; c "), ["a@x.io", "b@x.io", "c"]);
    }
}
