//! The task table: which columns it shows (a saved view's, or the default
//! ones), what each column's header sorts by, and bulk edits of the rows
//! selected in it.

use prost_types::FieldMask;
use tasktracker_proto::v1::{self, CustomField};

/// The columns a table shows when its view names none.
pub const DEFAULT_COLUMNS: [&str; 6] = ["title", "state", "priority", "assignees", "labels", "due_time"];

/// The built-in columns a view may name, with their headers.
const BUILT_IN: [(&str, &str); 9] = [
    ("title", "Title"),
    ("state", "Status"),
    ("priority", "Priority"),
    ("assignees", "Assignees"),
    ("labels", "Labels"),
    ("start_time", "Start"),
    ("due_time", "Due"),
    ("update_time", "Updated"),
    ("create_time", "Created"),
];

/// The columns to show: the view's known ones in its order, or the default
/// ones when it names none (a custom field's column stays while the field
/// exists).
pub fn columns(view: &[String], fields: &[CustomField]) -> Vec<String> {
    let known = |column: &&String| {
        BUILT_IN.iter().any(|(key, _)| key == column)
            || column.strip_prefix("cf.").is_some_and(|key| fields.iter().any(|f| f.key == key))
    };
    let shown: Vec<String> = view.iter().filter(known).cloned().collect();
    if shown.is_empty() { DEFAULT_COLUMNS.map(str::to_owned).to_vec() } else { shown }
}

/// A column's header: the built-in name, or the custom field's.
pub fn header(column: &str, fields: &[CustomField]) -> String {
    match column.strip_prefix("cf.") {
        Some(key) => fields.iter().find(|f| f.key == key).map_or(key, |f| f.display_name.as_str()).to_owned(),
        None => BUILT_IN.iter().find(|(key, _)| *key == column).map_or(column, |(_, label)| label).to_owned(),
    }
}

/// Whether the list can be ordered by `column` (its header sorts then).
pub fn sortable(column: &str) -> bool {
    matches!(column, "title" | "priority" | "due_time" | "create_time" | "update_time")
        || column.strip_prefix("cf.").is_some_and(|key| !key.is_empty())
}

/// The `order_by` a click on `column`'s header asks for: ascending, or
/// descending when the list is already in its ascending order.
pub fn header_order(column: &str, current: &str) -> String {
    if current == column { format!("{column} desc") } else { column.to_owned() }
}

/// `aria-sort` of `column`'s header under the order `current`.
pub fn aria_sort(column: &str, current: &str) -> Option<&'static str> {
    if current == column {
        Some("ascending")
    } else if current.strip_suffix(" desc") == Some(column) {
        Some("descending")
    } else {
        None
    }
}

/// One change made to every selected task; `None` keeps each task's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkChange {
    /// A workflow state of the project, `projects/{project}/states/{state}`.
    pub state: Option<String>,
    /// The one assignee (`users/{user}`), or empty for nobody.
    pub assignee: Option<String>,
    pub priority: Option<i32>,
    /// A label added to each task that lacks it.
    pub add_label: Option<String>,
}

impl BulkChange {
    /// Whether the change changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// One `UpdateTaskRequest` per task, in order, each guarded by the
    /// task's etag so that a task changed meanwhile fails the whole batch.
    pub fn requests(&self, tasks: &[v1::Task]) -> Vec<v1::UpdateTaskRequest> {
        tasks
            .iter()
            .map(|task| {
                let mut update = v1::Task { name: task.name.clone(), etag: task.etag.clone(), ..Default::default() };
                let mut paths = Vec::new();
                if let Some(state) = &self.state {
                    update.state.clone_from(state);
                    paths.push("state");
                }
                if let Some(assignee) = &self.assignee {
                    update.assignees = (!assignee.is_empty()).then(|| assignee.clone()).into_iter().collect();
                    paths.push("assignees");
                }
                if let Some(priority) = self.priority {
                    update.priority = priority;
                    paths.push("priority");
                }
                if let Some(label) = &self.add_label {
                    update.labels.clone_from(&task.labels);
                    if !update.labels.contains(label) {
                        update.labels.push(label.clone());
                    }
                    paths.push("labels");
                }
                let update_mask = Some(FieldMask { paths: paths.into_iter().map(str::to_owned).collect() });
                v1::UpdateTaskRequest { task: Some(update), update_mask }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str, name: &str) -> CustomField {
        CustomField { key: key.into(), display_name: name.into(), ..Default::default() }
    }

    fn task(id: &str, labels: &[&str]) -> v1::Task {
        v1::Task {
            name: format!("projects/p/tasks/{id}"),
            etag: format!("e{id}"),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            assignees: vec!["users/old".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_view_names_the_columns_and_unknown_ones_drop_out() {
        let fields = [field("estimate", "Estimate")];
        let view = ["due_time", "cf.estimate", "cf.gone", "nonsense", "title"].map(str::to_owned);
        assert_eq!(columns(&view, &fields), ["due_time", "cf.estimate", "title"]);
        assert_eq!(columns(&[], &fields), DEFAULT_COLUMNS);
        assert_eq!(columns(&["cf.gone".to_owned()], &fields), DEFAULT_COLUMNS);
        assert_eq!(header("cf.estimate", &fields), "Estimate");
        assert_eq!(header("due_time", &fields), "Due");
        assert_eq!(header("cf.gone", &fields), "gone");
    }

    #[test]
    fn a_header_sorts_ascending_then_descending() {
        assert!(sortable("title") && sortable("cf.estimate") && sortable("due_time"));
        assert!(!sortable("assignees") && !sortable("labels") && !sortable("cf."));
        assert_eq!(header_order("title", "position"), "title");
        assert_eq!(header_order("title", "title"), "title desc");
        assert_eq!(header_order("title", "title desc"), "title");
        assert_eq!(aria_sort("title", "title"), Some("ascending"));
        assert_eq!(aria_sort("title", "title desc"), Some("descending"));
        assert_eq!(aria_sort("title", "priority desc"), None);
        assert_eq!(aria_sort("due_time", "due_time_x"), None);
    }

    #[test]
    fn a_bulk_change_updates_only_what_it_sets_with_each_etag() {
        let tasks = [task("1", &["docs"]), task("2", &[])];
        let change = BulkChange {
            state: Some("projects/p/states/done".into()),
            add_label: Some("docs".into()),
            ..Default::default()
        };
        let requests = change.requests(&tasks);
        assert_eq!(requests.len(), 2);
        for (request, id) in requests.iter().zip(["1", "2"]) {
            let update = request.task.as_ref().unwrap();
            assert_eq!(update.name, format!("projects/p/tasks/{id}"));
            assert_eq!(update.etag, format!("e{id}"));
            assert_eq!(update.state, "projects/p/states/done");
            assert_eq!(update.labels, ["docs"]);
            assert_eq!(request.update_mask.as_ref().unwrap().paths, ["state", "labels"]);
        }
    }

    #[test]
    fn a_bulk_assignee_replaces_the_assignees_and_empty_unassigns() {
        let tasks = [task("1", &[])];
        let assign = BulkChange { assignee: Some("users/u".into()), priority: Some(3), ..Default::default() };
        let request = &assign.requests(&tasks)[0];
        assert_eq!(request.task.as_ref().unwrap().assignees, ["users/u"]);
        assert_eq!(request.task.as_ref().unwrap().priority, 3);
        assert_eq!(request.update_mask.as_ref().unwrap().paths, ["assignees", "priority"]);
        let nobody = BulkChange { assignee: Some(String::new()), ..Default::default() };
        assert!(nobody.requests(&tasks)[0].task.as_ref().unwrap().assignees.is_empty());
        assert!(BulkChange::default().is_empty() && !nobody.is_empty());
    }
}
