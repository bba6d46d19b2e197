//! The JSON export format, `tasktracker-export/1` (docs/import-export.md):
//! written by [`super::export`], read back by [`super::native`]. Times are
//! RFC 3339 strings; users are named by email; states, fields and tasks
//! keep their ids, so that relations, parents and states refer to them.
//! A later version adds fields (readers ignore unknown ones) and changes
//! `format` only when an old reader would misread a file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::storage::comments::FieldChange;

/// The value of `format`.
pub const FORMAT: &str = "tasktracker-export/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub format: String,
    pub exported_at: String,
    pub project: Project,
    #[serde(default)]
    pub states: Vec<State>,
    #[serde(default)]
    pub custom_fields: Vec<Field>,
    #[serde(default)]
    pub members: Vec<Member>,
    /// Parents before their subtasks.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// One entry per relation ("task blocks other"), not one per side.
    #[serde(default)]
    pub relations: Vec<Relation>,
    /// Always empty: this release stores no attachments.
    #[serde(default)]
    pub attachments: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// `projects/{project}`.
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub enforce_wip_limits: bool,
    #[serde(default)]
    pub require_blockers_done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub display_name: String,
    pub color: String,
    /// `StateCategory` name without its prefix: `STARTED`.
    pub category: String,
    #[serde(default)]
    pub wip_limit: Option<i32>,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub id: String,
    pub key: String,
    pub display_name: String,
    /// `CustomFieldType` name without its prefix: `NUMBER`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub number_min: Option<f64>,
    #[serde(default)]
    pub number_max: Option<f64>,
    #[serde(default)]
    pub show_on_card: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub email: String,
    pub display_name: String,
    /// `OWNER`, `EDITOR`, `VIEWER`.
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// A state's `id`.
    pub state: String,
    /// `Priority` name without its prefix (`HIGH`); empty when unset.
    #[serde(default)]
    pub priority: String,
    /// Emails.
    #[serde(default)]
    pub assignees: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub due_time: Option<String>,
    #[serde(default)]
    pub complete_time: Option<String>,
    pub create_time: String,
    pub update_time: String,
    /// Email.
    pub creator: String,
    /// The parent task's `id`.
    #[serde(default)]
    pub parent: Option<String>,
    /// By key: a string (TEXT, SINGLE_SELECT, DATE as RFC 3339, USER as an
    /// email), a number, a boolean (CHECKBOX) or an array of strings
    /// (MULTI_SELECT).
    #[serde(default)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Oldest first.
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// Oldest first.
    #[serde(default)]
    pub history: Vec<Activity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Email.
    pub author: String,
    pub body: String,
    pub create_time: String,
    #[serde(default)]
    pub edit_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Email.
    pub actor: String,
    /// `TaskEventType` name without its prefix: `CREATED`, `UPDATED`.
    pub kind: String,
    pub time: String,
    #[serde(default)]
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// A task's `id`.
    pub task: String,
    /// `BLOCKS`, `DUPLICATES` or `RELATES_TO`.
    #[serde(rename = "type")]
    pub kind: String,
    pub other: String,
}

/// `name` without `prefix` (`STATE_CATEGORY_STARTED` → `STARTED`).
pub fn short_name<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}
