//! Imports (`ImportService`) and their long-running operations
//! (`google.longrunning.Operations`): CSV and Trello files become tasks,
//! twice the same file makes nothing twice, bad files are refused naming
//! what is wrong, and operations are polled, listed, cancelled and deleted.

use std::{collections::BTreeMap, time::Duration};

use prost::Message;
use tasktracker_proto::{google::longrunning as lro, v1};
use tonic::Code;

use crate::{
    helpers::{Backend, TestApp, TestUser, assert_invalid_field, scrape, spawn_app, spawn_app_with},
    on_both_backends,
};

on_both_backends!(
    a_csv_file_becomes_tasks_and_its_bad_rows_are_reported,
    importing_the_same_file_twice_makes_nothing_twice,
    a_trello_board_becomes_states_tasks_subtasks_and_comments,
    files_that_cannot_be_read_are_refused_naming_the_field,
    operations_are_listed_cancelled_and_deleted,
    a_large_board_is_imported_in_batches_and_its_rate_measured,
    an_exported_project_imports_into_another_with_nothing_lost,
    a_csv_export_escapes_formula_cells,
    an_interrupted_import_is_failed_and_resumed_by_importing_again,
);

const CSV: &str = include_str!("../data/tasks.csv");
const TRELLO: &str = include_str!("../data/trello-board.json");

/// The fixture's mapping of tasks.csv.
pub fn csv_mapping() -> v1::CsvMapping {
    v1::CsvMapping {
        title: "Name".into(),
        description: "Notes".into(),
        state: "Status".into(),
        assignee_email: "Assignee".into(),
        due_date: "Due".into(),
        labels: "Tags".into(),
        priority: "Priority".into(),
        source_id: "Key".into(),
        custom_fields: [("estimate".to_owned(), "Estimate".to_owned())].into(),
    }
}

/// Starts an import of `content` into `project`.
pub async fn start_import(
    app: &TestApp,
    user: &TestUser,
    project: &str,
    format: v1::ImportFormat,
    content: &str,
) -> Result<lro::Operation, tonic::Status> {
    let request = v1::ImportTasksRequest {
        parent: project.into(),
        format: format as i32,
        content: content.as_bytes().to_vec(),
        csv_mapping: (format == v1::ImportFormat::Csv).then(csv_mapping),
    };
    app.imports().import_tasks(user.call(request)).await.map(tonic::Response::into_inner)
}

/// Polls the operation `name` until it is done (at most 60 s).
pub async fn wait_done(app: &TestApp, user: &TestUser, name: &str) -> lro::Operation {
    for _ in 0..1_200 {
        let request = user.call(lro::GetOperationRequest { name: name.into() });
        let operation = app.operations().get_operation(request).await.expect("get operation").into_inner();
        if operation.done {
            return operation;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import {name} did not finish within 60 s");
}

pub fn metadata(operation: &lro::Operation) -> v1::ImportMetadata {
    let any = operation.metadata.as_ref().expect("metadata");
    assert_eq!(any.type_url, "type.googleapis.com/tasktracker.v1.ImportMetadata");
    v1::ImportMetadata::decode(any.value.as_slice()).expect("ImportMetadata")
}

pub fn response(operation: &lro::Operation) -> v1::ImportTasksResponse {
    match &operation.result {
        Some(lro::operation::Result::Response(any)) => {
            assert_eq!(any.type_url, "type.googleapis.com/tasktracker.v1.ImportTasksResponse");
            v1::ImportTasksResponse::decode(any.value.as_slice()).expect("ImportTasksResponse")
        }
        other => panic!("the import did not succeed: {other:?}"),
    }
}

/// Imports `content` and waits for the result.
async fn import(
    app: &TestApp,
    user: &TestUser,
    project: &str,
    format: v1::ImportFormat,
    content: &str,
) -> v1::ImportTasksResponse {
    let operation = start_import(app, user, project, format, content).await.expect("import starts");
    response(&wait_done(app, user, &operation.name).await)
}

/// Every live task of `project`, by title.
async fn tasks_by_title(app: &TestApp, user: &TestUser, project: &str) -> BTreeMap<String, v1::Task> {
    let mut tasks = BTreeMap::new();
    let mut page_token = String::new();
    for _ in 0..1_000 {
        let request = v1::ListTasksRequest {
            parent: project.into(),
            page_size: 1_000,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = app.tasks().list_tasks(user.call(request)).await.expect("list tasks").into_inner();
        tasks.extend(page.tasks.into_iter().map(|task| (task.title.clone(), task)));
        if page.next_page_token.is_empty() {
            return tasks;
        }
        page_token = page.next_page_token;
    }
    panic!("more than 1,000 pages");
}

/// State names of `project` by resource name.
async fn state_names(app: &TestApp, user: &TestUser, project: &str) -> BTreeMap<String, String> {
    let states = app.list_states(user, project, true).await;
    states.into_iter().map(|state| (state.name, state.display_name)).collect()
}

async fn project_with_estimate(app: &TestApp, ada: &TestUser) -> String {
    let project = app.create_project(ada, "Launch").await.name;
    app.create_field(ada, &project, "estimate", v1::CustomFieldType::Number, &[]).await;
    project
}

fn row_errors(response: &v1::ImportTasksResponse) -> Vec<(i64, String, String)> {
    response.errors.iter().map(|error| (error.row, error.source_id.clone(), error.field.clone())).collect()
}

async fn a_csv_file_becomes_tasks_and_its_bad_rows_are_reported(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = project_with_estimate(&app, &ada).await;
    let operation = start_import(&app, &ada, &project, v1::ImportFormat::Csv, &CSV.replace("{ada}", &ada.email))
        .await
        .expect("import starts");
    assert!(operation.name.starts_with(&format!("{project}/operations/")), "{}", operation.name);
    assert_eq!(metadata(&operation).rows_total, 6, "T-6 (no title) and T-7 (no priority) are refused as they are read");
    let done = wait_done(&app, &ada, &operation.name).await;
    let progress = metadata(&done);
    assert_eq!((progress.rows_done, progress.rows_imported, progress.errors), (6, 5, 7));
    assert_eq!(progress.creator, ada.name);
    let result = response(&done);
    assert_eq!((result.rows_total, result.rows_imported, result.rows_skipped, result.errors_total), (6, 5, 0, 7));
    let owned = |row: i64, id: &str, field: &str| (row, id.to_owned(), field.to_owned());
    assert_eq!(
        row_errors(&result),
        [
            owned(7, "T-5", "due_date"),
            owned(7, "T-5", "labels"),
            owned(7, "T-5", "assignee_email"),
            owned(7, "T-5", "cf.estimate"),
            owned(8, "T-6", "title"),
            owned(9, "T-7", "priority"),
            owned(10, "T-8", "state"),
        ],
        "{:#?}",
        result.errors
    );
    assert!(result.errors[2].message.contains("nobody@example.org"), "{:?}", result.errors[2]);

    let tasks = tasks_by_title(&app, &ada, &project).await;
    let states = state_names(&app, &ada, &project).await;
    assert_eq!(tasks.len(), 5, "{:?}", tasks.keys());
    let notes = &tasks["Write the release notes"];
    assert_eq!(notes.description, "Cover the import, the export\nand the CLI.");
    assert_eq!(states[&notes.state], "In progress");
    assert_eq!(notes.assignees, std::slice::from_ref(&ada.name));
    assert_eq!(notes.labels, ["docs", "release"]);
    assert_eq!(notes.priority, v1::Priority::High as i32);
    assert_eq!(notes.due_time.unwrap().seconds, 1_799_971_200, "2027-01-15");
    let estimate = notes.custom_fields["estimate"].value.clone();
    assert_eq!(estimate, Some(v1::custom_field_value::Value::Number(3.0)));
    let cake = &tasks["Order the cake"];
    assert_eq!((states[&cake.state].as_str(), cake.status), ("Done", v1::TaskStatus::Done as i32));
    assert!(cake.complete_time.is_some());
    // Formula-like cells are text, stored as they came.
    assert_eq!(tasks["=cmd|' /C calc'!A0"].description, "+1+2");
    assert_eq!(tasks["-2+3"].description, "@SUM(1:2)");
    let party = &tasks["Plan the party"];
    assert_eq!((party.labels.as_slice(), party.due_time, party.assignees.len()), (&["party".to_owned()][..], None, 0));
    assert!(party.custom_fields.is_empty());
    // The import is in each task's history, as a creation by the importer.
    let history = app
        .tasks()
        .list_task_activities(
            ada.call(v1::ListTaskActivitiesRequest { parent: notes.name.clone(), ..Default::default() }),
        )
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.activities.len(), 1, "{:?}", history.activities);
    let metrics = scrape(app.metrics_address).await;
    assert!(metrics.contains("tasktracker_imports_started_total 1"), "{metrics}");
    assert!(metrics.contains("tasktracker_imports_finished_total{outcome=\"succeeded\"} 1"), "{metrics}");
    assert!(metrics.contains("tasktracker_import_rows_total 5"), "{metrics}");
    app.stop().await;
}

async fn importing_the_same_file_twice_makes_nothing_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = project_with_estimate(&app, &ada).await;
    let csv = CSV.replace("{ada}", &ada.email);
    let trello = TRELLO.replace("{ada}", &ada.email);
    let first = import(&app, &ada, &project, v1::ImportFormat::Csv, &csv).await;
    let first_board = import(&app, &ada, &project, v1::ImportFormat::Trello, &trello).await;
    assert_eq!((first.rows_imported, first_board.rows_imported), (5, 5));
    let before = tasks_by_title(&app, &ada, &project).await;
    let again = import(&app, &ada, &project, v1::ImportFormat::Csv, &csv).await;
    assert_eq!((again.rows_imported, again.rows_skipped), (0, 5));
    // What a skipped row would have left out is not reported again; rows
    // that were never imported still are.
    let fields: Vec<_> = again.errors.iter().map(|error| error.field.as_str()).collect();
    assert_eq!(fields, ["title", "priority", "state"]);
    let board_again = import(&app, &ada, &project, v1::ImportFormat::Trello, &trello).await;
    assert_eq!((board_again.rows_imported, board_again.rows_skipped), (0, 5));
    let after = tasks_by_title(&app, &ada, &project).await;
    assert_eq!(after.len(), 10);
    assert_eq!(before, after, "nothing changed");
    // The same board into another project is another import.
    let other = app.create_project(&ada, "Other").await.name;
    let elsewhere = import(&app, &ada, &other, v1::ImportFormat::Trello, &trello).await;
    assert_eq!(elsewhere.rows_imported, 5);
    app.stop().await;
}

async fn a_trello_board_becomes_states_tasks_subtasks_and_comments(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Launch").await.name;
    let result = import(&app, &ada, &project, v1::ImportFormat::Trello, &TRELLO.replace("{ada}", &ada.email)).await;
    assert_eq!((result.rows_total, result.rows_imported), (5, 5));
    assert_eq!(row_errors(&result), [(2, "card-logo".to_owned(), "attachments".to_owned())]);
    assert!(result.errors[0].message.contains("sketch.png"), "{:?}", result.errors[0]);
    let states = app.list_states(&ada, &project, true).await;
    let names: Vec<_> = states.iter().map(|state| state.display_name.as_str()).collect();
    assert_eq!(names, ["To do", "In progress", "Done", "Backlog", "Doing"], "lists the project lacked are added");
    assert_eq!(states[3].category, v1::StateCategory::Backlog as i32);
    assert_eq!(states[4].category, v1::StateCategory::Started as i32);
    let state_of = state_names(&app, &ada, &project).await;
    let tasks = tasks_by_title(&app, &ada, &project).await;
    assert_eq!(
        tasks.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Buy the domain", "Collect ideas", "Draw the logo", "Pick one", "Sketch three ideas"],
        "archived cards and lists stay out"
    );
    let logo = &tasks["Draw the logo"];
    assert_eq!(state_of[&logo.state], "Doing");
    assert_eq!(logo.labels, ["Design", "green"]);
    assert_eq!(logo.assignees, std::slice::from_ref(&ada.name), "Zed has no known email: not an assignee");
    assert_eq!(logo.due_time.unwrap().seconds, 1_801_472_400, "2027-02-01T09:00:00Z");
    assert!(logo.description.starts_with("Something **bold**."), "{}", logo.description);
    assert!(logo.description.ends_with("- [Mood board](https://example.com/mood-board)"), "{}", logo.description);
    assert_eq!((logo.subtasks_total, logo.subtasks_done), (2, 1));
    let sketch = &tasks["Sketch three ideas"];
    assert_eq!((sketch.parent.as_str(), state_of[&sketch.state].as_str()), (logo.name.as_str(), "Done"));
    assert_eq!(state_of[&tasks["Pick one"].state], "To do");
    assert_eq!(state_of[&tasks["Buy the domain"].state], "Done");
    assert_eq!(state_of[&tasks["Collect ideas"].state], "Backlog");
    let comments = app
        .tasks()
        .list_comments(ada.call(v1::ListCommentsRequest { parent: logo.name.clone(), ..Default::default() }))
        .await
        .expect("comments")
        .into_inner()
        .comments;
    let bodies: Vec<_> = comments.iter().map(|comment| (comment.author.as_str(), comment.body.as_str())).collect();
    assert_eq!(
        bodies,
        [
            (ada.name.as_str(), "I'll start on Monday."),
            (ada.name.as_str(), "**Zed Outsider** wrote:\n\nPurple, please.")
        ],
        "oldest first; an author without a known email is named in the body"
    );
    assert_eq!(comments[0].create_time.unwrap().seconds, 1_798_884_000, "2027-01-02T10:00:00Z");
    app.stop().await;
}

async fn files_that_cannot_be_read_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app_with(backend, crate::helpers::TestDatabase::create(backend).await, |settings| {
        settings.import_max_bytes = 64 * 1024;
    })
    .await;
    let ada = app.sign_up("ada").await;
    let project = project_with_estimate(&app, &ada).await;
    let refused = |result: Result<lro::Operation, tonic::Status>| result.expect_err("refused");
    let malformed = refused(start_import(&app, &ada, &project, v1::ImportFormat::Trello, "{\"cards\": [").await);
    assert_invalid_field(&malformed, "content");
    assert!(malformed.message().contains("line 1"), "{malformed:?}");
    let latin1 = v1::ImportTasksRequest {
        parent: project.clone(),
        format: v1::ImportFormat::Csv as i32,
        content: b"Key,Name\nT-1,Caf\xe9\n".to_vec(),
        csv_mapping: Some(v1::CsvMapping { title: "Name".into(), ..Default::default() }),
    };
    let latin1 = app.imports().import_tasks(ada.call(latin1)).await.expect_err("not UTF-8");
    assert_invalid_field(&latin1, "content");
    assert!(latin1.message().contains("UTF-8"), "{latin1:?}");
    let missing = refused(start_import(&app, &ada, &project, v1::ImportFormat::Csv, "Title,Notes\nx,y\n").await);
    assert_invalid_field(&missing, "csv_mapping.title");
    // Past the configured limit: refused naming `content`.
    let big = format!("Key,Name\n{}", "T,Padding\n".repeat(7_000));
    let too_big = refused(start_import(&app, &ada, &project, v1::ImportFormat::Csv, &big).await);
    assert_invalid_field(&too_big, "content");
    assert!(too_big.message().contains("65536 bytes"), "{too_big:?}");
    // Far past it (100 MB): refused before it is read into memory.
    let huge = refused(start_import(&app, &ada, &project, v1::ImportFormat::Csv, &"x".repeat(100 * 1024 * 1024)).await);
    assert_eq!(huge.code(), Code::OutOfRange, "{huge:?}");
    // Nothing was imported, and the server still answers.
    assert!(tasks_by_title(&app, &ada, &project).await.is_empty());
    let listed = app
        .operations()
        .list_operations(ada.call(lro::ListOperationsRequest { name: project.clone(), ..Default::default() }))
        .await
        .expect("list")
        .into_inner();
    assert!(listed.operations.is_empty(), "a refused file starts no operation");
    app.stop().await;
}

/// `count` CSV rows with keys `K-1`...
fn many_rows(count: usize) -> String {
    let mut csv = String::from("Key,Name,Notes,Status,Assignee,Due,Tags,Priority,Estimate\n");
    for row in 1..=count {
        csv.push_str(&format!("K-{row},Task {row},,,,,,,\n"));
    }
    csv
}

async fn operations_are_listed_cancelled_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = project_with_estimate(&app, &ada).await;
    let small = import(&app, &ada, &project, v1::ImportFormat::Csv, &CSV.replace("{ada}", &ada.email)).await;
    assert_eq!(small.rows_imported, 5);
    let running = start_import(&app, &ada, &project, v1::ImportFormat::Csv, &many_rows(5_000)).await.unwrap();
    assert!(!running.done);
    // A running operation cannot be deleted.
    let delete = async |name: &str| {
        let request = ada.call(lro::DeleteOperationRequest { name: name.into() });
        app.operations().delete_operation(request).await
    };
    let refused = delete(&running.name).await.expect_err("still running");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    app.operations()
        .cancel_operation(ada.call(lro::CancelOperationRequest { name: running.name.clone() }))
        .await
        .expect("cancel");
    let cancelled = wait_done(&app, &ada, &running.name).await;
    let Some(lro::operation::Result::Error(status)) = &cancelled.result else {
        panic!("a cancelled operation ends with an error: {cancelled:?}")
    };
    assert_eq!(status.code, Code::Cancelled as i32);
    let progress = metadata(&cancelled);
    assert!(progress.cancel_requested);
    assert!(progress.rows_done < 5_000, "stopped between batches: {progress:?}");
    assert_eq!(progress.rows_done % 200, 0, "whole batches only: {progress:?}");
    let tasks = tasks_by_title(&app, &ada, &project).await;
    assert_eq!(tasks.len() as i64, 5 + progress.rows_imported, "each batch all or nothing");
    // Both listed, newest first, a page at a time.
    let list = async |page_token: String| {
        let request =
            lro::ListOperationsRequest { name: project.clone(), page_size: 1, page_token, ..Default::default() };
        app.operations().list_operations(ada.call(request)).await
    };
    let first = list(String::new()).await.unwrap().into_inner();
    assert_eq!(first.operations[0].name, running.name);
    let second = list(first.next_page_token).await.unwrap().into_inner();
    assert_eq!(second.operations.len(), 1);
    assert!(second.operations[0].done);
    assert!(second.next_page_token.is_empty());
    // Done, it can be deleted; what it imported stays.
    delete(&running.name).await.expect("delete a finished operation");
    let gone = app
        .operations()
        .get_operation(ada.call(lro::GetOperationRequest { name: running.name.clone() }))
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(tasks_by_title(&app, &ada, &project).await.len(), tasks.len());
    // Importing the file again finishes the job: nothing twice.
    let rest = import(&app, &ada, &project, v1::ImportFormat::Csv, &many_rows(5_000)).await;
    assert_eq!((rest.rows_skipped, rest.rows_imported), (progress.rows_imported, 5_000 - progress.rows_imported));
    let metrics = scrape(app.metrics_address).await;
    assert!(metrics.contains("tasktracker_imports_finished_total{outcome=\"cancelled\"} 1"), "{metrics}");
    app.stop().await;
}

/// A made-up Trello board of `cards` cards over five lists, every fifth
/// with a two-item checklist, every tenth with a comment.
pub fn generated_board(cards: usize) -> String {
    let lists: Vec<_> = (0..5)
        .map(|list| serde_json::json!({"id": format!("list-{list}"), "name": format!("Column {list}"), "pos": list}))
        .collect();
    let mut card_rows = Vec::with_capacity(cards);
    let mut checklists = Vec::new();
    let mut actions = Vec::new();
    for card in 0..cards {
        card_rows.push(serde_json::json!({
            "id": format!("card-{card}"),
            "name": format!("Card number {card}"),
            "desc": "A generated card with a **short** description.",
            "idList": format!("list-{}", card % 5),
            "pos": card,
            "due": if card % 3 == 0 { serde_json::json!("2027-03-01T12:00:00.000Z") } else { serde_json::Value::Null },
            "idLabels": ["label-a"],
        }));
        if card % 5 == 0 {
            checklists.push(serde_json::json!({
                "id": format!("checklist-{card}"),
                "idCard": format!("card-{card}"),
                "checkItems": [
                    {"id": format!("item-{card}-1"), "name": "First step", "state": "complete", "pos": 1},
                    {"id": format!("item-{card}-2"), "name": "Second step", "state": "incomplete", "pos": 2},
                ],
            }));
        }
        if card % 10 == 0 {
            actions.push(serde_json::json!({
                "type": "commentCard",
                "date": "2027-01-01T10:00:00.000Z",
                "data": {"text": "A generated comment.", "card": {"id": format!("card-{card}")}},
                "memberCreator": {"id": "member-x", "fullName": "Someone"},
            }));
        }
    }
    serde_json::json!({
        "name": "Generated",
        "lists": lists,
        "labels": [{"id": "label-a", "name": "generated", "color": "blue"}],
        "cards": card_rows,
        "checklists": checklists,
        "actions": actions,
    })
    .to_string()
}

/// 5,000 cards (and 2,000 checklist items): prints the import rate.
async fn a_large_board_is_imported_in_batches_and_its_rate_measured(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Big board").await.name;
    let board = generated_board(5_000);
    let started = std::time::Instant::now();
    let result = import(&app, &ada, &project, v1::ImportFormat::Trello, &board).await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!((result.rows_total, result.rows_imported, result.errors_total), (7_000, 7_000, 0));
    println!(
        "import rate ({backend:?}): 5,000 cards + 2,000 checklist items ({} KiB) in {seconds:.2} s: {:.0} cards/s, {:.0} items/s",
        board.len() / 1024,
        5_000.0 / seconds,
        7_000.0 / seconds
    );
    let tasks = tasks_by_title(&app, &ada, &project).await;
    assert_eq!(tasks["Card number 4999"].labels, ["generated"]);
    app.stop().await;
}

/// The whole export of `project`, concatenated.
pub async fn export(app: &TestApp, user: &TestUser, project: &str, format: v1::ExportFormat) -> (String, Vec<u8>) {
    let request = v1::ExportProjectRequest { name: project.into(), format: format as i32 };
    let mut stream = app.imports().export_project(user.call(request)).await.expect("export").into_inner();
    let (mut content_type, mut data) = (String::new(), Vec::new());
    for _ in 0..100_000 {
        match stream.message().await.expect("export chunk") {
            Some(chunk) => {
                assert!(chunk.data.len() <= 256 * 1024);
                if content_type.is_empty() {
                    content_type = chunk.content_type;
                }
                data.extend(chunk.data);
            }
            None => return (content_type, data),
        }
    }
    panic!("more than 100,000 chunks");
}

/// An export with what differs between two projects holding the same
/// things taken out: ids (tasks are named by title, states by name), the
/// project's name, times of the export and of the last change, and each
/// task's history after the entries its source had.
fn comparable(document: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let tasks = document["tasks"].as_array().unwrap();
    let title =
        |id: &Value| tasks.iter().find(|task| task["id"] == *id).map_or(Value::Null, |task| task["title"].clone());
    let states = document["states"].as_array().unwrap();
    let state =
        |id: &Value| states.iter().find(|state| state["id"] == *id).map_or(Value::Null, |s| s["display_name"].clone());
    let mut tasks: Vec<Value> = tasks
        .iter()
        .map(|task| {
            let mut task = task.clone();
            task["parent"] = title(&task["parent"]);
            task["state"] = state(&task["state"]);
            task["id"] = Value::Null;
            task["update_time"] = Value::Null;
            // An import adds its own entries (the creation, relations) after
            // the ones it copies: compared apart.
            task["history"] = Value::Null;
            task
        })
        .collect();
    tasks.sort_by_key(|task| task.to_string());
    let mut relations: Vec<Value> = document["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|relation| json!([title(&relation["task"]), relation["type"], title(&relation["other"])]))
        .collect();
    relations.sort_by_key(|relation| relation.to_string());
    let strip_id = |items: &Value| -> Vec<Value> {
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                let mut item = item.clone();
                item["id"] = Value::Null;
                item
            })
            .collect()
    };
    json!({
        "format": document["format"],
        "states": strip_id(&document["states"]),
        "custom_fields": strip_id(&document["custom_fields"]),
        "tasks": tasks,
        "relations": relations,
        "attachments": document["attachments"],
    })
}

async fn an_exported_project_imports_into_another_with_nothing_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let project = project_with_estimate(&app, &ada).await;
    app.add_member(&ada, &project, &bob, v1::Role::Editor).await;
    for (key, kind, options) in [
        ("size", v1::CustomFieldType::SingleSelect, &["S", "M", "L"][..]),
        ("areas", v1::CustomFieldType::MultiSelect, &["web", "api", "cli"]),
        ("reviewer", v1::CustomFieldType::User, &[]),
        ("ready", v1::CustomFieldType::Checkbox, &[]),
        ("shipped", v1::CustomFieldType::Date, &[]),
    ] {
        app.create_field(&ada, &project, key, kind, options).await;
    }
    import(&app, &ada, &project, v1::ImportFormat::Csv, &CSV.replace("{ada}", &bob.email)).await;
    import(&app, &ada, &project, v1::ImportFormat::Trello, &TRELLO.replace("{ada}", &bob.email)).await;
    let tasks = tasks_by_title(&app, &ada, &project).await;
    // Values of every type, a relation of each kind, a change and a comment.
    let mut values = tasks["Draw the logo"].custom_fields.clone();
    let value = |value: v1::custom_field_value::Value| v1::CustomFieldValue { value: Some(value) };
    use v1::custom_field_value::Value;
    values.insert("size".into(), value(Value::Option("M".into())));
    values.insert("areas".into(), value(Value::Options(v1::StringList { values: vec!["web".into(), "cli".into()] })));
    values.insert("reviewer".into(), value(Value::User(bob.name.clone())));
    values.insert("ready".into(), value(Value::Checkbox(true)));
    values.insert("shipped".into(), value(Value::Date(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 })));
    values.insert("estimate".into(), value(Value::Number(2.5)));
    app.tasks()
        .update_task(ada.call(v1::UpdateTaskRequest {
            task: Some(v1::Task {
                name: tasks["Draw the logo"].name.clone(),
                custom_fields: values,
                priority: v1::Priority::Urgent as i32,
                start_time: Some(prost_types::Timestamp { seconds: 1_799_000_000, nanos: 0 }),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["custom_fields".into(), "priority".into(), "start_time".into()],
            }),
        }))
        .await
        .expect("update");
    for (task, kind, other) in [
        ("Draw the logo", v1::TaskRelationType::Blocks, "Write the release notes"),
        ("Order the cake", v1::TaskRelationType::RelatesTo, "Plan the party"),
        ("-2+3", v1::TaskRelationType::Duplicates, "=cmd|' /C calc'!A0"),
    ] {
        app.relations()
            .create_task_relation(ada.call(v1::CreateTaskRelationRequest {
                parent: tasks[task].name.clone(),
                task_relation: Some(v1::TaskRelation {
                    r#type: kind as i32,
                    task: tasks[other].name.clone(),
                    ..Default::default()
                }),
            }))
            .await
            .expect("relate");
    }
    app.tasks()
        .create_comment(bob.call(v1::CreateCommentRequest {
            parent: tasks["Buy the domain"].name.clone(),
            comment: Some(v1::Comment { body: "Done: *example.org*".into(), ..Default::default() }),
        }))
        .await
        .expect("comment");

    let (content_type, json) = export(&app, &ada, &project, v1::ExportFormat::Json).await;
    assert_eq!(content_type, "application/json");
    let original: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(original["format"], "tasktracker-export/1");
    assert_eq!(original["tasks"].as_array().unwrap().len(), 10);
    assert_eq!(original["relations"].as_array().unwrap().len(), 3, "one entry per relation");

    let copy = app.create_project(&ada, "Launch, again").await.name;
    app.add_member(&ada, &copy, &bob, v1::Role::Editor).await;
    let result = import(&app, &ada, &copy, v1::ImportFormat::Tasktracker, std::str::from_utf8(&json).unwrap()).await;
    assert_eq!((result.rows_imported, result.errors_total), (10, 0), "{:?}", result.errors);
    let (_, copied) = export(&app, &ada, &copy, v1::ExportFormat::Json).await;
    let copied: serde_json::Value = serde_json::from_slice(&copied).unwrap();
    assert_eq!(comparable(&copied), comparable(&original));
    // Each task's history starts with the entries it had.
    for task in original["tasks"].as_array().unwrap() {
        let twin = copied["tasks"].as_array().unwrap().iter().find(|copy| copy["title"] == task["title"]).unwrap();
        let (had, has) = (task["history"].as_array().unwrap(), twin["history"].as_array().unwrap());
        assert_eq!(&has[..had.len()], had.as_slice(), "{}", task["title"]);
    }
    // Importing it again changes nothing.
    let again = import(&app, &ada, &copy, v1::ImportFormat::Tasktracker, std::str::from_utf8(&json).unwrap()).await;
    assert_eq!((again.rows_imported, again.rows_skipped), (0, 10));
    let (_, twice) = export(&app, &ada, &copy, v1::ExportFormat::Json).await;
    assert_eq!(comparable(&serde_json::from_slice(&twice).unwrap()), comparable(&copied));
    app.stop().await;
}

async fn a_csv_export_escapes_formula_cells(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = project_with_estimate(&app, &ada).await;
    import(&app, &ada, &project, v1::ImportFormat::Csv, &CSV.replace("{ada}", &ada.email)).await;
    let (content_type, csv) = export(&app, &ada, &project, v1::ExportFormat::Csv).await;
    assert_eq!(content_type, "text/csv");
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Key,Name,Notes,Status,Assignee,Due,Tags,Priority,Parent,Start,Completed,Created,cf.estimate"
    );
    assert!(csv.contains(",'=cmd|' /C calc'!A0,'+1+2,To do,"), "{csv}");
    assert!(csv.contains(",'-2+3,'@SUM(1:2),To do,"), "{csv}");
    assert!(csv.contains(&format!(",Write the release notes,\"Cover the import, the export\nand the CLI.\",In progress,{},2027-01-15T00:00:00Z,\"docs, release\",HIGH,", ada.email)), "{csv}");
    app.stop().await;
}

/// A server that shuts down mid-import marks it failed after the batch it
/// is writing; a run whose server died (its heartbeat stopped) is marked
/// failed when next seen. Importing the file again finishes the job.
async fn an_interrupted_import_is_failed_and_resumed_by_importing_again(backend: Backend) {
    use sea_orm::{ConnectionTrait, Database};
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = project_with_estimate(&app, &ada).await;
    let rows = many_rows(5_000);
    let running = start_import(&app, &ada, &project, v1::ImportFormat::Csv, &rows).await.unwrap();
    let TestApp { shutdown, server, database, .. } = app;
    shutdown.cancel();
    server.await.expect("server task").expect("server stops cleanly");
    let app = spawn_app_with(backend, database, |_| {}).await;
    let stopped = wait_done(&app, &ada, &running.name).await;
    let Some(lro::operation::Result::Error(status)) = &stopped.result else { panic!("failed: {stopped:?}") };
    assert_eq!(status.code, Code::Aborted as i32, "{status:?}");
    assert!(status.message.contains("interrupted"), "{status:?}");
    let imported = metadata(&stopped).rows_imported;
    assert!(imported < 5_000, "stopped early: {imported}");
    // A run whose server died: still "running", its heartbeat long past.
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let id = running.name.rsplit('/').next().unwrap();
    db.execute_unprepared(&format!(
        "UPDATE import_operations SET state = 1, heartbeat_time = 0, error_code = 0 WHERE id = '{id}'"
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
    let swept = app
        .operations()
        .get_operation(ada.call(lro::GetOperationRequest { name: running.name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(swept.done, "{swept:?}");
    let Some(lro::operation::Result::Error(status)) = &swept.result else { panic!("failed: {swept:?}") };
    assert_eq!(status.code, Code::Aborted as i32);
    let rest = import(&app, &ada, &project, v1::ImportFormat::Csv, &rows).await;
    assert_eq!((rest.rows_skipped, rest.rows_imported), (imported, 5_000 - imported));
    assert_eq!(tasks_by_title(&app, &ada, &project).await.len(), 5_000);
    app.stop().await;
}
