//! `tasks list|get|create|update|move|done|delete`, filters and errors.

use serde_json::Value;

use crate::helpers::Harness;

fn titles(tasks: &[Value]) -> Vec<&str> {
    tasks.iter().map(|task| task["title"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_created_listed_updated_completed_and_deleted() {
    let app = Harness::start().await;
    app.login().await;
    let project = app.create_project("Launch");
    let p = project.as_str();

    let created = app
        .run(&[
            "tasks",
            "create",
            "-p",
            p,
            "Write the press release",
            "--priority",
            "high",
            "-l",
            "comms",
            "--due",
            "2026-12-31",
            "-a",
            "me",
            "-o",
            "json",
        ])
        .success()
        .json();
    let name = created["name"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(name.starts_with(&format!("{project}/tasks/")), "{created}");
    assert_eq!(created["priority"], "HIGH");
    assert_eq!(created["status"], "TODO");
    assert_eq!(created["labels"], serde_json::json!(["comms"]));
    assert_eq!(created["assignees"], serde_json::json!([app.user.name]));
    assert_eq!(created["due_time"], "2026-12-31T00:00:00Z");
    assert_eq!(created["complete_time"], Value::Null);

    // A table, with the state's name and the date.
    let table = app.run(&["tasks", "list", "-p", p]).success();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one task:\n{}", table.stdout);
    for column in ["ID", "TITLE", "STATE", "PRIORITY", "DUE"] {
        assert!(lines[0].contains(column), "{column} in {}", lines[0]);
    }
    for cell in [id.as_str(), "Write the press release", "To do", "high", "comms", "2026-12-31"] {
        assert!(lines[1].contains(cell), "{cell} in {}", lines[1]);
    }

    // JSON: one document per task, stable fields.
    let listed = app.run(&["tasks", "list", "-p", p, "-o", "json"]).success().json_lines();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], name.as_str());
    assert_eq!(listed[0]["etag"], created["etag"]);

    // Update: only the fields given, a label added to the others.
    let updated = app
        .run(&[
            "tasks",
            "update",
            &id,
            "-p",
            p,
            "--title",
            "Publish the press release",
            "--add-label",
            "launch",
            "--state",
            "in progress",
            "-o",
            "json",
        ])
        .success()
        .json();
    assert_eq!(updated["title"], "Publish the press release");
    assert_eq!(updated["labels"], serde_json::json!(["comms", "launch"]));
    assert_eq!(updated["status"], "IN_PROGRESS");
    assert_eq!(updated["priority"], "HIGH", "fields not given are kept");
    assert_ne!(updated["etag"], created["etag"]);

    // A stale etag is a conflict.
    let stale = created["etag"].as_str().unwrap();
    let conflict = app.run(&["tasks", "update", &name, "--etag", stale, "--priority", "low"]).failure(4);
    assert!(conflict.stderr.starts_with("error: conflict"), "{conflict:#?}");

    let shown = app.run(&["tasks", "get", &name]).success();
    assert!(shown.stdout.contains("In progress") && shown.stdout.contains("comms, launch"), "{shown:#?}");

    // Done: the project's first COMPLETED state.
    let done = app.run(&["tasks", "done", &name, "-o", "json"]).success().json();
    assert_eq!(done["status"], "DONE");
    assert_ne!(done["complete_time"], Value::Null);
    let again = app.run(&["tasks", "done", &name, "-o", "json"]).success().json();
    assert_eq!(again["etag"], done["etag"], "a completed task stays as it is");

    let deleted = app.run(&["tasks", "delete", &name, "-o", "json"]).success().json();
    assert_ne!(deleted["delete_time"], Value::Null);
    assert!(app.run(&["tasks", "list", "-p", p, "-o", "json"]).success().stdout.is_empty());
    let with_deleted = app.run(&["tasks", "list", "-p", p, "--deleted", "-o", "json"]).success().json_lines();
    assert_eq!(titles(&with_deleted), ["Publish the press release"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_filtered_ordered_paged_and_moved() {
    let app = Harness::start().await;
    app.login().await;
    let project = app.create_project("Filters");
    let p = project.as_str();
    for (title, priority, label) in
        [("Fix the login bug", "urgent", "bug"), ("Write docs", "low", "docs"), ("Crash on save", "high", "bug")]
    {
        app.run(&["tasks", "create", "-p", p, title, "--priority", priority, "-l", label]).success();
    }

    let urgent_bugs = app
        .run(&[
            "tasks",
            "list",
            "-p",
            p,
            "--filter",
            "label = \"bug\" priority >= HIGH",
            "--order-by",
            "priority desc",
            "-o",
            "json",
        ])
        .success()
        .json_lines();
    assert_eq!(titles(&urgent_bugs), ["Fix the login bug", "Crash on save"]);

    let words = app.run(&["tasks", "list", "-p", p, "-f", "\"docs\"", "-o", "json"]).success().json_lines();
    assert_eq!(titles(&words), ["Write docs"]);

    // Every page, or up to --limit (pages of one forced by the limit).
    let all = app.run(&["tasks", "list", "-p", p, "--order-by", "title", "-o", "json"]).success().json_lines();
    assert_eq!(titles(&all), ["Crash on save", "Fix the login bug", "Write docs"]);
    let two = app
        .run(&["tasks", "list", "-p", p, "--order-by", "title", "--limit", "2", "-o", "json"])
        .success()
        .json_lines();
    assert_eq!(titles(&two), ["Crash on save", "Fix the login bug"]);

    // Move into another column, after a task already there.
    let first = all[0]["name"].as_str().unwrap();
    let second = all[1]["name"].as_str().unwrap();
    app.run(&["tasks", "move", first, "--state", "Done"]).success();
    let moved = app.run(&["tasks", "move", second, "--state", "Done", "--after", first, "-o", "json"]).success().json();
    assert_eq!(moved["status"], "DONE");
    let done = app.run(&["tasks", "list", "-p", p, "-f", "status = DONE", "-o", "json"]).success().json_lines();
    assert_eq!(titles(&done), ["Crash on save", "Fix the login bug"], "board order");

    let unknown_state = app.run(&["tasks", "move", first, "--state", "Shipped"]).failure(2);
    assert!(unknown_state.stderr.contains("To do, In progress, Done"), "{unknown_state:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_shows_the_field_violation_and_missing_tasks_exit_with_3() {
    let app = Harness::start().await;
    app.login().await;
    let project = app.create_project("Errors");
    let p = project.as_str();

    let long_title = "x".repeat(501);
    let invalid = app.run(&["tasks", "create", "-p", p, &long_title]).failure(2);
    assert!(invalid.stderr.starts_with("error: invalid input"), "{invalid:#?}");
    assert!(invalid.stderr.lines().any(|line| line.trim_start().starts_with("task.title: ")), "{invalid:#?}");
    assert_eq!(invalid.stderr.matches("task.title").count(), 1, "said once: {invalid:#?}");

    let bad_filter = app.run(&["tasks", "list", "-p", p, "--filter", "priority >>> HIGH"]).failure(2);
    assert!(bad_filter.stderr.lines().any(|line| line.trim_start().starts_with("filter: ")), "{bad_filter:#?}");

    let missing = format!("{project}/tasks/{}", uuid::Uuid::now_v7());
    let not_found = app.run(&["tasks", "get", &missing]).failure(3);
    assert!(not_found.stderr.starts_with("error: not found"), "{not_found:#?}");
    app.run(&["tasks", "delete", &missing]).failure(3);

    let bare_id = app.run(&["tasks", "get", "abc"]).failure(2);
    assert!(bare_id.stderr.contains("--project"), "{bare_id:#?}");
}
