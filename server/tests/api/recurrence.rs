//! Recurring tasks: a rule on create, the next occurrence made when one is
//! done (fields copied, subtasks open again), the series' history, skip,
//! "edit this one" against "this and following", rule changes, bad input,
//! and concurrent completions making exactly one successor.

use prost_types::{FieldMask, Timestamp};
use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient};
use tonic::{Code, Status};

use crate::{
    helpers::{Backend, TestApp, TestUser, assert_invalid_field, connect, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    completing_an_occurrence_makes_the_next_with_its_fields_and_open_subtasks,
    skipped_and_done_occurrences_stay_in_the_series_history,
    edit_this_one_keeps_the_template_and_this_and_following_changes_it,
    changing_the_rule_applies_from_this_occurrence_and_removing_it_stops_the_series,
    from_completion_counts_from_when_the_task_was_done,
    bad_recurrences_are_refused_naming_the_field,
    concurrent_completions_make_exactly_one_successor,
);

const DAY: i64 = 86_400;
/// 2027-01-05 09:00 in Europe/Berlin (a Tuesday).
const FIRST_DUE: i64 = 1_799_136_000;

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() })
}

fn at(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn recurrence(rule: &str, zone: &str, mode: v1::RecurrenceMode) -> Option<v1::Recurrence> {
    Some(v1::Recurrence { rule: rule.into(), time_zone: zone.into(), mode: mode as i32 })
}

fn weekly() -> Option<v1::Recurrence> {
    recurrence("FREQ=WEEKLY;BYDAY=TU", "Europe/Berlin", v1::RecurrenceMode::FromDue)
}

/// A task due at [`FIRST_DUE`] repeating by `rule`.
fn recurring(title: &str, rule: Option<v1::Recurrence>) -> v1::Task {
    v1::Task { due_time: at(FIRST_DUE), recurrence: rule, ..task(title) }
}

async fn update(app: &TestApp, user: &TestUser, task: v1::Task, paths: &[&str]) -> Result<v1::Task, Status> {
    let request = v1::UpdateTaskRequest { task: Some(task), update_mask: mask(paths) };
    app.tasks().update_task(user.call(request)).await.map(tonic::Response::into_inner)
}

/// Moves `task` to DONE (or back to TODO) through UpdateTask.
async fn set_status(app: &TestApp, user: &TestUser, task: &v1::Task, status: v1::TaskStatus) -> v1::Task {
    let change = v1::Task { name: task.name.clone(), status: status as i32, ..Default::default() };
    update(app, user, change, &["status"]).await.expect("status changes")
}

async fn occurrences(app: &TestApp, user: &TestUser, task: &v1::Task) -> Vec<v1::Task> {
    let request = v1::ListOccurrencesRequest { task: task.name.clone(), ..Default::default() };
    app.tasks().list_occurrences(user.call(request)).await.expect("occurrences").into_inner().tasks
}

async fn subtasks(app: &TestApp, user: &TestUser, project: &str, parent: &v1::Task) -> Vec<v1::Task> {
    let request = v1::ListTasksRequest {
        parent: project.into(),
        filter: format!("parent = \"{}\"", parent.name),
        order_by: "create_time".into(),
        ..Default::default()
    };
    app.tasks().list_tasks(user.call(request)).await.expect("list").into_inner().tasks
}

async fn completing_an_occurrence_makes_the_next_with_its_fields_and_open_subtasks(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Chores").await;
    let p = &project.name;
    let template = v1::Task {
        description: "the *big* bins".into(),
        priority: v1::Priority::High as i32,
        labels: vec!["home".into()],
        assignees: vec![ada.name.clone()],
        start_time: at(FIRST_DUE - 3_600),
        ..recurring("Take out the bins", weekly())
    };
    let first = app.create_task(&ada, p, template).await;
    assert_eq!(first.recurrence, weekly());
    assert!(first.series.starts_with(&format!("{p}/series/")), "{}", first.series);
    assert_eq!(first.occurrence_time, at(FIRST_DUE));
    let sort = app.create_task(&ada, p, v1::Task { parent: first.name.clone(), ..task("sort the glass") }).await;
    let done_subtask = app.create_task(&ada, p, v1::Task { parent: first.name.clone(), ..task("rinse") }).await;
    set_status(&app, &ada, &done_subtask, v1::TaskStatus::Done).await;

    let done = set_status(&app, &ada, &first, v1::TaskStatus::Done).await;
    assert!(done.complete_time.is_some());
    let series = occurrences(&app, &ada, &first).await;
    assert_eq!(series.len(), 2, "{series:#?}");
    let next = &series[0];
    assert_eq!(series[1].name, first.name, "newest first");
    assert_ne!(next.name, first.name);
    assert_eq!(next.due_time, at(FIRST_DUE + 7 * DAY), "the next Tuesday, 09:00 in Berlin");
    assert_eq!(next.start_time, at(FIRST_DUE + 7 * DAY - 3_600), "as long before its due time");
    assert_eq!(next.occurrence_time, next.due_time);
    assert_eq!(next.status, v1::TaskStatus::Todo as i32);
    assert!(next.complete_time.is_none());
    assert_eq!(
        (next.title.as_str(), next.description.as_str(), next.priority, &next.labels, &next.assignees),
        ("Take out the bins", "the *big* bins", v1::Priority::High as i32, &first.labels, &first.assignees)
    );
    assert_eq!((&next.series, &next.recurrence), (&first.series, &first.recurrence));
    // The subtasks come again, open, under the new occurrence; the old
    // ones stay as they were.
    let copies = subtasks(&app, &ada, p, next).await;
    assert_eq!(copies.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["sort the glass", "rinse"]);
    assert!(copies.iter().all(|t| t.complete_time.is_none() && t.status == v1::TaskStatus::Todo as i32));
    assert_eq!((next.subtasks_done, next.subtasks_total), (0, 2));
    let old = subtasks(&app, &ada, p, &first).await;
    assert_eq!(old.len(), 2);
    assert_eq!(old.iter().find(|t| t.name == sort.name).expect("kept").status, v1::TaskStatus::Todo as i32);
    // Its history says it was created.
    let activities = app
        .tasks()
        .list_task_activities(
            ada.call(v1::ListTaskActivitiesRequest { parent: next.name.clone(), ..Default::default() }),
        )
        .await
        .unwrap()
        .into_inner()
        .activities;
    assert_eq!(activities.len(), 1);
    assert_eq!(activities[0].r#type, v1::TaskEventType::Created as i32);
    let metrics = crate::helpers::scrape(app.metrics_address).await;
    assert!(metrics.contains("tasktracker_recurring_occurrences_created_total 1"), "{metrics}");
    app.stop().await;
}

async fn skipped_and_done_occurrences_stay_in_the_series_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Team").await;
    let first = app.create_task(&ada, &project.name, recurring("Stand-up notes", weekly())).await;
    let skip = v1::SkipOccurrenceRequest { name: first.name.clone(), etag: first.etag.clone() };
    let skipped = app.tasks().skip_occurrence(ada.call(skip)).await.expect("skip").into_inner();
    let (skipped_task, second) = (skipped.skipped.expect("skipped"), skipped.next.expect("next"));
    assert!(skipped_task.skip_time.is_some());
    assert_eq!(skipped_task.status, v1::TaskStatus::Done as i32);
    assert_eq!(second.due_time, at(FIRST_DUE + 7 * DAY));
    // Skipping it again (or a done occurrence) is refused.
    let again = v1::SkipOccurrenceRequest { name: first.name.clone(), etag: String::new() };
    let status = app.tasks().skip_occurrence(ada.call(again)).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let third = {
        set_status(&app, &ada, &second, v1::TaskStatus::Done).await;
        occurrences(&app, &ada, &first).await.remove(0)
    };
    assert_eq!(third.due_time, at(FIRST_DUE + 14 * DAY));
    let history = occurrences(&app, &ada, &second).await;
    assert_eq!(history.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), [&third.name, &second.name, &first.name]);
    assert_eq!(history.iter().map(|t| t.skip_time.is_some()).collect::<Vec<_>>(), [false, false, true]);
    // Paged.
    let page = app
        .tasks()
        .list_occurrences(ada.call(v1::ListOccurrencesRequest {
            task: third.name.clone(),
            page_size: 2,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.tasks.len(), 2);
    let rest = app
        .tasks()
        .list_occurrences(ada.call(v1::ListOccurrencesRequest {
            task: third.name.clone(),
            page_size: 2,
            page_token: page.next_page_token,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), [first.name.as_str()]);
    assert!(rest.next_page_token.is_empty());
    // A one-off task cannot be skipped, and is its own history.
    let one_off = app.create_task(&ada, &project.name, task("once")).await;
    let status = app
        .tasks()
        .skip_occurrence(ada.call(v1::SkipOccurrenceRequest { name: one_off.name.clone(), etag: String::new() }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(occurrences(&app, &ada, &one_off).await.len(), 1);
    app.stop().await;
}

async fn edit_this_one_keeps_the_template_and_this_and_following_changes_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Garden").await;
    let first = app.create_task(&ada, &project.name, recurring("Water the plants", weekly())).await;
    // This one only: the next occurrence keeps the template.
    let renamed = v1::Task {
        name: first.name.clone(),
        title: "Water the plants (and the new fern)".into(),
        ..Default::default()
    };
    let request = v1::UpdateOccurrenceRequest { task: Some(renamed), update_mask: mask(&["title", "labels"]) };
    let changed = app.tasks().update_occurrence(ada.call(request)).await.expect("update this one").into_inner();
    assert_eq!(changed.title, "Water the plants (and the new fern)");
    set_status(&app, &ada, &first, v1::TaskStatus::Done).await;
    let second = occurrences(&app, &ada, &first).await.remove(0);
    assert_eq!(second.title, "Water the plants");
    // This and following (UpdateTask): the next one copies the change.
    let renamed = v1::Task { name: second.name.clone(), title: "Water the garden".into(), ..Default::default() };
    update(&app, &ada, renamed, &["title"]).await.expect("update this and following");
    set_status(&app, &ada, &second, v1::TaskStatus::Done).await;
    let third = occurrences(&app, &ada, &first).await.remove(0);
    assert_eq!(third.title, "Water the garden");
    app.stop().await;
}

async fn changing_the_rule_applies_from_this_occurrence_and_removing_it_stops_the_series(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Habits").await;
    let first = app.create_task(&ada, &project.name, recurring("Stretch", weekly())).await;
    let daily = recurrence("RRULE:FREQ=DAILY", "Europe/Berlin", v1::RecurrenceMode::FromDue);
    let change = v1::Task { name: first.name.clone(), recurrence: daily.clone(), ..Default::default() };
    let changed = update(&app, &ada, change, &["recurrence"]).await.expect("rule changes");
    assert_eq!(changed.recurrence.as_ref().map(|r| r.rule.as_str()), Some("FREQ=DAILY"), "stored without the prefix");
    assert_eq!(changed.series, first.series, "the same series");
    set_status(&app, &ada, &first, v1::TaskStatus::Done).await;
    let second = occurrences(&app, &ada, &first).await.remove(0);
    assert_eq!(second.due_time, at(FIRST_DUE + DAY));
    // An update with `*` and no recurrence leaves it alone.
    let star = v1::Task { name: second.name.clone(), title: "Stretch!".into(), ..Default::default() };
    let starred = update(&app, &ada, star, &["*"]).await.expect("update *");
    assert_eq!(starred.recurrence.as_ref().map(|r| r.rule.as_str()), Some("FREQ=DAILY"));
    // Removed: the occurrence stays in the series' history, and completing
    // it makes no next one.
    let stop = v1::Task { name: second.name.clone(), ..Default::default() };
    let stopped = update(&app, &ada, stop, &["recurrence"]).await.expect("recurrence removed");
    assert!(stopped.recurrence.is_none());
    assert_eq!(stopped.series, first.series);
    set_status(&app, &ada, &second, v1::TaskStatus::Done).await;
    assert_eq!(occurrences(&app, &ada, &first).await.len(), 2);
    // A one-off task becomes recurring by an update.
    let one_off = app.create_task(&ada, &project.name, v1::Task { due_time: at(FIRST_DUE), ..task("Read") }).await;
    assert!(one_off.series.is_empty() && one_off.recurrence.is_none());
    let make = v1::Task { name: one_off.name.clone(), recurrence: daily, ..Default::default() };
    let made = update(&app, &ada, make, &["recurrence"]).await.expect("made recurring");
    assert!(!made.series.is_empty());
    let moved =
        v1::MoveTaskRequest { name: made.name.clone(), status: v1::TaskStatus::Done as i32, ..Default::default() };
    app.tasks().move_task(ada.call(moved)).await.expect("done through MoveTask");
    let series = occurrences(&app, &ada, &made).await;
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].due_time, at(FIRST_DUE + DAY));
    app.stop().await;
}

async fn from_completion_counts_from_when_the_task_was_done(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Home").await;
    // Due long ago, every three days from completion, at 09:00 UTC.
    let every_three_days = recurrence("FREQ=DAILY;INTERVAL=3", "UTC", v1::RecurrenceMode::FromCompletion);
    let first = app
        .create_task(
            &ada,
            &project.name,
            v1::Task {
                due_time: at(1_700_000_000 - 1_700_000_000 % DAY + 9 * 3_600),
                ..recurring("Descale the kettle", every_three_days)
            },
        )
        .await;
    set_status(&app, &ada, &first, v1::TaskStatus::Done).await;
    let next = occurrences(&app, &ada, &first).await.remove(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let due = next.due_time.expect("due").seconds;
    assert_eq!(due % DAY, 9 * 3_600, "09:00, the series' time of day");
    assert!(due > now && due <= now + 3 * DAY, "within three days of now, not of the old due date: {due} vs {now}");
    app.stop().await;
}

async fn bad_recurrences_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Errors").await;
    let p = &project.name;
    let cases = [
        (recurrence("FREQ=FORTNIGHTLY", "UTC", v1::RecurrenceMode::FromDue), "task.recurrence.rule"),
        (recurrence("FREQ=MINUTELY", "UTC", v1::RecurrenceMode::FromDue), "task.recurrence.rule"),
        (recurrence("FREQ=DAILY;COUNT=100000", "UTC", v1::RecurrenceMode::FromDue), "task.recurrence.rule"),
        (recurrence("FREQ=DAILY;UNTIL=20261201T000000Z", "UTC", v1::RecurrenceMode::FromDue), "task.recurrence.rule"),
        (recurrence("FREQ=DAILY", "Europe/Atlantis", v1::RecurrenceMode::FromDue), "task.recurrence.time_zone"),
    ];
    for (rule, field) in cases {
        let status = app.create_task_result(&ada, p, recurring("bad", rule.clone())).await.unwrap_err();
        assert_invalid_field(&status, field);
    }
    // From the due date without a due date.
    let undated = v1::Task { recurrence: weekly(), ..task("undated") };
    let status = app.create_task_result(&ada, p, undated).await.unwrap_err();
    assert_invalid_field(&status, "task.due_time");
    // On update too, and nothing changes.
    let existing = app.create_task(&ada, p, task("plain")).await;
    let change = v1::Task { name: existing.name.clone(), recurrence: weekly(), ..Default::default() };
    let status = update(&app, &ada, change, &["recurrence"]).await.unwrap_err();
    assert_invalid_field(&status, "task.due_time");
    let bad_zone = v1::Task {
        name: existing.name.clone(),
        recurrence: recurrence("FREQ=DAILY", "Nowhere", v1::RecurrenceMode::FromCompletion),
        ..Default::default()
    };
    let status = update(&app, &ada, bad_zone, &["recurrence"]).await.unwrap_err();
    assert_invalid_field(&status, "task.recurrence.time_zone");
    let status = app
        .tasks()
        .list_occurrences(ada.call(v1::ListOccurrencesRequest { task: "tasks/x".into(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_invalid_field(&status, "task");
    app.stop().await;
}

async fn concurrent_completions_make_exactly_one_successor(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Race").await;
    let first = app.create_task(&ada, &project.name, recurring("Backup", weekly())).await;
    // Two clients on their own connections complete the same occurrence
    // at once, one by UpdateTask, one by MoveTask (neither with an etag).
    let (mut one, mut two) =
        (TaskServiceClient::new(connect(app.address).await), TaskServiceClient::new(connect(app.address).await));
    let done = v1::Task { name: first.name.clone(), status: v1::TaskStatus::Done as i32, ..Default::default() };
    let by_update = ada.call(v1::UpdateTaskRequest { task: Some(done), update_mask: mask(&["status"]) });
    let by_move = ada.call(v1::MoveTaskRequest {
        name: first.name.clone(),
        status: v1::TaskStatus::Done as i32,
        ..Default::default()
    });
    let (updated, moved) = tokio::join!(one.update_task(by_update), two.move_task(by_move));
    updated.expect("update");
    moved.expect("move");
    assert_eq!(occurrences(&app, &ada, &first).await.len(), 2);
    // Reopened and done again: still one successor.
    set_status(&app, &ada, &first, v1::TaskStatus::Todo).await;
    set_status(&app, &ada, &first, v1::TaskStatus::Done).await;
    let series = occurrences(&app, &ada, &first).await;
    assert_eq!(series.len(), 2, "{series:#?}");
    // Many rounds of racing completions of the newest occurrence.
    for _ in 0..3 {
        let newest = occurrences(&app, &ada, &first).await.remove(0);
        let done = v1::Task { name: newest.name.clone(), status: v1::TaskStatus::Done as i32, ..Default::default() };
        let a = ada.call(v1::UpdateTaskRequest { task: Some(done.clone()), update_mask: mask(&["status"]) });
        let b = ada.call(v1::UpdateTaskRequest { task: Some(done), update_mask: mask(&["status"]) });
        let (a, b) = tokio::join!(one.update_task(a), two.update_task(b));
        a.expect("first");
        b.expect("second");
    }
    assert_eq!(occurrences(&app, &ada, &first).await.len(), 5);
    app.stop().await;
}
