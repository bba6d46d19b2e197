//! Messages as text for people: lists as borderless columns under upper-case
//! headers, single objects as `Field  value` lines.

use comfy_table::{Table, presets};
use tasktracker_proto::v1;

use crate::{names, workflow::Workflow};

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING).set_header(header.iter().map(|cell| cell.to_uppercase()));
    table
}

/// Columns two spaces apart, flush left, no trailing blanks.
fn render(mut table: Table) -> String {
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table.lines().map(|line| line.trim_end().to_owned()).collect::<Vec<_>>().join("\n")
}

/// A two-column `Field  value` table.
fn fields(rows: Vec<(&str, String)>) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    for (field, value) in rows {
        table.add_row(vec![field.to_owned(), value]);
    }
    render(table)
}

fn time(timestamp: Option<&prost_types::Timestamp>) -> String {
    timestamp.map(ToString::to_string).unwrap_or_default()
}

/// A date at midnight UTC as the date alone; other times in full.
fn day_or_time(timestamp: Option<&prost_types::Timestamp>) -> String {
    let text = time(timestamp);
    text.strip_suffix("T00:00:00Z").map_or(text.clone(), str::to_owned)
}

fn priority(priority: i32) -> &'static str {
    match v1::Priority::try_from(priority).unwrap_or_default() {
        v1::Priority::Unspecified => "",
        v1::Priority::Low => "low",
        v1::Priority::Medium => "medium",
        v1::Priority::High => "high",
        v1::Priority::Urgent => "urgent",
    }
}

fn role(role: i32) -> &'static str {
    match v1::Role::try_from(role).unwrap_or_default() {
        v1::Role::Unspecified => "",
        v1::Role::Viewer => "viewer",
        v1::Role::Editor => "editor",
        v1::Role::Owner => "owner",
    }
}

fn event_type(kind: i32) -> &'static str {
    match v1::TaskEventType::try_from(kind).unwrap_or_default() {
        v1::TaskEventType::Unspecified => "changed",
        v1::TaskEventType::Created => "created",
        v1::TaskEventType::Updated => "updated",
        v1::TaskEventType::Deleted => "deleted",
        v1::TaskEventType::Undeleted => "undeleted",
        v1::TaskEventType::Moved => "moved",
    }
}

pub fn projects(projects: &[v1::Project]) -> String {
    let mut table = table(&["id", "title", "role", "created", "archived"]);
    for project in projects {
        table.add_row(vec![
            names::id(&project.name).to_owned(),
            project.title.clone(),
            role(project.caller_role).to_owned(),
            time(project.create_time.as_ref()),
            if project.archive_time.is_some() { "yes" } else { "" }.to_owned(),
        ]);
    }
    render(table)
}

pub fn project(project: &v1::Project) -> String {
    fields(vec![
        ("Name", project.name.clone()),
        ("Title", project.title.clone()),
        ("Description", project.description.clone()),
        ("Your role", role(project.caller_role).to_owned()),
        ("Created", time(project.create_time.as_ref())),
        ("Updated", time(project.update_time.as_ref())),
        ("Archived", time(project.archive_time.as_ref())),
    ])
}

pub fn tasks(tasks: &[v1::Task], workflow: &Workflow) -> String {
    let mut table = table(&["id", "title", "state", "priority", "assignees", "labels", "due"]);
    for task in tasks {
        table.add_row(vec![
            names::id(&task.name).to_owned(),
            task.title.clone(),
            workflow.display_name(&task.state).to_owned(),
            priority(task.priority).to_owned(),
            task.assignees.join(", "),
            task.labels.join(", "),
            day_or_time(task.due_time.as_ref()),
        ]);
    }
    render(table)
}

pub fn task(task: &v1::Task, workflow: &Workflow) -> String {
    let mut rows = vec![
        ("Name", task.name.clone()),
        ("Title", task.title.clone()),
        ("State", workflow.display_name(&task.state).to_owned()),
        ("Priority", priority(task.priority).to_owned()),
        ("Assignees", task.assignees.join(", ")),
        ("Labels", task.labels.join(", ")),
        ("Start", day_or_time(task.start_time.as_ref())),
        ("Due", day_or_time(task.due_time.as_ref())),
        ("Parent", task.parent.clone()),
    ];
    if task.subtasks_total > 0 {
        rows.push(("Subtasks", format!("{} of {} done", task.subtasks_done, task.subtasks_total)));
    }
    rows.extend([
        ("Creator", task.creator.clone()),
        ("Created", time(task.create_time.as_ref())),
        ("Updated", time(task.update_time.as_ref())),
        ("Completed", time(task.complete_time.as_ref())),
        ("Deleted", time(task.delete_time.as_ref())),
        ("Etag", task.etag.clone()),
    ]);
    let mut text = fields(rows.into_iter().filter(|(_, value)| !value.is_empty()).collect());
    if !task.description.is_empty() {
        text.push_str("\n\n");
        text.push_str(&task.description);
    }
    text
}

pub fn user(user: &v1::User, server: &str) -> String {
    fields(vec![
        ("Name", user.name.clone()),
        ("Display name", user.display_name.clone()),
        ("Email", user.email.clone()),
        ("Two-factor", if user.two_factor_enabled { "on" } else { "off" }.to_owned()),
        ("Server", server.to_owned()),
    ])
}

/// `{time}  {what}  {task id}  {title}  [{state}]  by {actor}` on one line.
pub fn event(event: &v1::TaskEvent, workflow: &Workflow) -> String {
    let (id, title, state) = event
        .task
        .as_ref()
        .map_or(("", "", ""), |task| (names::id(&task.name), task.title.as_str(), workflow.display_name(&task.state)));
    format!(
        "{}  {:<9}  {id}  {title:?}  [{state}]  by {}",
        time(event.event_time.as_ref()),
        event_type(event.r#type),
        event.actor
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> v1::Task {
        v1::Task {
            name: "projects/p/tasks/t1".into(),
            title: "Ship it".into(),
            state: "projects/p/states/s1".into(),
            priority: v1::Priority::Urgent as i32,
            labels: vec!["a".into(), "b".into()],
            due_time: Some(prost_types::Timestamp { seconds: 1_798_675_200, nanos: 0 }),
            ..Default::default()
        }
    }

    #[test]
    fn task_lists_are_flush_left_columns_under_upper_case_headers() {
        let text = tasks(&[task()], &Workflow::unknown());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID  "), "{text}");
        assert!(lines[1].starts_with("t1  "), "{text}");
        assert!(lines[1].contains("urgent") && lines[1].contains("a, b") && lines[1].ends_with("2026-12-31"), "{text}");
        assert!(text.lines().all(|line| line == line.trim_end()), "no trailing blanks: {text:?}");
    }

    #[test]
    fn a_change_is_one_line() {
        let moved = v1::TaskEvent {
            cursor: "c1".into(),
            r#type: v1::TaskEventType::Moved as i32,
            task: Some(task()),
            actor: "users/u1".into(),
            event_time: Some(prost_types::Timestamp { seconds: 1_798_675_200, nanos: 0 }),
        };
        assert_eq!(
            event(&moved, &Workflow::unknown()),
            "2026-12-31T00:00:00Z  moved      t1  \"Ship it\"  [projects/p/states/s1]  by users/u1"
        );
    }
}
