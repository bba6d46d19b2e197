//! Workflow states: their lifecycle, tasks moving between them, WIP limits,
//! the filter, and clients (and rows) that know only `Task.status`.

use prost_types::FieldMask;
use sea_orm::{ConnectionTrait, Database};
use tasktracker_proto::v1;
use tonic::{Code, Status};

use crate::{
    helpers::{Backend, TestApp, TestDatabase, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    states_are_created_renamed_reordered_archived_and_deleted,
    tasks_move_between_states_and_their_status_follows,
    wip_limits_are_enforced_only_while_the_project_turns_them_on,
    clients_and_rows_that_know_only_status_keep_working,
    tasks_are_filtered_by_state,
    bad_state_requests_name_the_field,
    the_migration_gives_existing_projects_and_tasks_their_states,
    projects_the_previous_release_inserts_get_the_default_states,
    tasks_the_previous_release_writes_get_their_state_stored,
    the_next_migration_gives_rows_written_in_between_their_states,
);

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() })
}

fn names(states: &[v1::WorkflowState]) -> Vec<&str> {
    states.iter().map(|state| state.display_name.as_str()).collect()
}

/// The state called `display_name` (archived ones included).
async fn state_named(app: &TestApp, user: &TestUser, project: &str, display_name: &str) -> v1::WorkflowState {
    app.list_states(user, project, true)
        .await
        .into_iter()
        .find(|state| state.display_name == display_name)
        .unwrap_or_else(|| panic!("no state {display_name}"))
}

async fn create_state(
    app: &TestApp,
    user: &TestUser,
    project: &str,
    (display_name, category, wip_limit): (&str, v1::StateCategory, Option<i32>),
) -> Result<v1::WorkflowState, Status> {
    app.states()
        .create_workflow_state(user.call(v1::CreateWorkflowStateRequest {
            parent: project.into(),
            state: Some(v1::WorkflowState {
                display_name: display_name.into(),
                color: "#AA00ff".into(),
                category: category as i32,
                wip_limit,
                ..Default::default()
            }),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn update_state(
    app: &TestApp,
    user: &TestUser,
    state: v1::WorkflowState,
    paths: &[&str],
) -> Result<v1::WorkflowState, Status> {
    app.states()
        .update_workflow_state(
            user.call(v1::UpdateWorkflowStateRequest { state: Some(state), update_mask: mask(paths) }),
        )
        .await
        .map(tonic::Response::into_inner)
}

async fn move_state(app: &TestApp, user: &TestUser, name: &str, after: &str) -> v1::WorkflowState {
    app.states()
        .move_workflow_state(user.call(v1::MoveWorkflowStateRequest {
            name: name.into(),
            after_state: after.into(),
            etag: String::new(),
        }))
        .await
        .expect("move state")
        .into_inner()
}

async fn delete_state(app: &TestApp, user: &TestUser, name: &str, move_tasks_to: &str) -> Result<i32, Status> {
    app.states()
        .delete_workflow_state(user.call(v1::DeleteWorkflowStateRequest {
            name: name.into(),
            move_tasks_to: move_tasks_to.into(),
            etag: String::new(),
        }))
        .await
        .map(|response| response.into_inner().moved_tasks)
}

/// Moves a task by state (or, if `state` is empty, by status) to the top.
async fn move_task(
    app: &TestApp,
    user: &TestUser,
    name: &str,
    state: &str,
    status: v1::TaskStatus,
) -> Result<v1::Task, Status> {
    app.tasks()
        .move_task(user.call(v1::MoveTaskRequest {
            name: name.into(),
            status: status as i32,
            after_task: String::new(),
            etag: String::new(),
            state: state.into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn update_task(app: &TestApp, user: &TestUser, task: v1::Task, paths: &[&str]) -> Result<v1::Task, Status> {
    app.tasks()
        .update_task(user.call(v1::UpdateTaskRequest { task: Some(task), update_mask: mask(paths) }))
        .await
        .map(tonic::Response::into_inner)
}

async fn get_task(app: &TestApp, user: &TestUser, name: &str) -> v1::Task {
    app.tasks().get_task(user.call(v1::GetTaskRequest { name: name.into() })).await.expect("get task").into_inner()
}

fn in_state(title: &str, state: &str) -> v1::Task {
    v1::Task { title: title.into(), state: state.into(), ..Default::default() }
}

fn assert_failed_precondition(result: Result<impl std::fmt::Debug, Status>, needle: &str) {
    let status = result.expect_err("a failed precondition");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains(needle), "`{needle}` in {:?}", status.message());
}

async fn states_are_created_renamed_reordered_archived_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Workflow").await;
    let p = &project.name;
    let defaults = app.list_states(&ada, p, false).await;
    assert_eq!(names(&defaults), ["To do", "In progress", "Done"]);
    let categories: Vec<i32> = defaults.iter().map(|state| state.category).collect();
    use v1::StateCategory::{Canceled, Completed, Started, Unstarted};
    assert_eq!(categories, [Unstarted as i32, Started as i32, Completed as i32]);
    assert!(defaults.iter().all(|state| state.name.starts_with(&format!("{p}/states/")) && state.wip_limit.is_none()));

    // Create (at the end), rename, reorder.
    let review = create_state(&app, &ada, p, ("Review", Started, Some(3))).await.unwrap();
    assert_eq!((review.color.as_str(), review.wip_limit, review.etag.as_str()), ("#aa00ff", Some(3), "1"));
    let renamed = v1::WorkflowState { display_name: "Code review".into(), wip_limit: None, ..review.clone() };
    let renamed = update_state(&app, &ada, renamed, &["display_name", "wip_limit"]).await.unwrap();
    assert_eq!((renamed.display_name.as_str(), renamed.wip_limit, renamed.etag.as_str()), ("Code review", None, "2"));
    let stale = update_state(&app, &ada, review.clone(), &["display_name"]).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    move_state(&app, &ada, &review.name, &defaults[1].name).await;
    assert_eq!(names(&app.list_states(&ada, p, false).await), ["To do", "In progress", "Code review", "Done"]);
    move_state(&app, &ada, &review.name, "").await;
    assert_eq!(names(&app.list_states(&ada, p, false).await), ["Code review", "To do", "In progress", "Done"]);

    // Archive: not while it holds tasks; archived states take no tasks and
    // are listed only on request.
    let task = app.create_task(&ada, p, in_state("reviewed", &review.name)).await;
    let current = state_named(&app, &ada, p, "Code review").await;
    let archived = v1::WorkflowState { archived: true, ..current.clone() };
    assert_failed_precondition(update_state(&app, &ada, archived.clone(), &["archived"]).await, "holds 1 tasks");
    move_task(&app, &ada, &task.name, &defaults[0].name, v1::TaskStatus::Unspecified).await.unwrap();
    let shelved = app.create_task(&ada, p, in_state("shelved", &review.name)).await;
    let delete = v1::DeleteTaskRequest { name: shelved.name.clone(), etag: String::new() };
    app.tasks().delete_task(ada.call(delete)).await.unwrap();
    let archived = update_state(&app, &ada, archived, &["archived"]).await.unwrap();
    assert!(archived.archived && archived.archive_time.is_some());
    // Undeleted after its state was archived: back in its status's first state.
    let undelete = v1::UndeleteTaskRequest { name: shelved.name.clone() };
    let restored = app.tasks().undelete_task(ada.call(undelete)).await.unwrap().into_inner();
    assert_eq!(
        (restored.state.as_str(), restored.status),
        (defaults[1].name.as_str(), v1::TaskStatus::InProgress as i32)
    );
    assert_eq!(names(&app.list_states(&ada, p, false).await), ["To do", "In progress", "Done"]);
    assert_eq!(app.list_states(&ada, p, true).await.len(), 4);
    assert_failed_precondition(
        move_task(&app, &ada, &task.name, &review.name, v1::TaskStatus::Unspecified).await,
        "archived",
    );
    assert_failed_precondition(app.create_task_result(&ada, p, in_state("no", &review.name)).await, "archived");
    let unarchived = v1::WorkflowState { archived: false, ..archived };
    assert!(!update_state(&app, &ada, unarchived, &["archived"]).await.unwrap().archived);

    // Delete, moving the tasks (deleted ones too) to another state.
    let wont_do = create_state(&app, &ada, p, ("Won't do", Canceled, None)).await.unwrap();
    let doomed = app.create_task(&ada, p, in_state("doomed", &defaults[1].name)).await;
    let binned = app.create_task(&ada, p, in_state("binned", &defaults[1].name)).await;
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: binned.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    assert_eq!(delete_state(&app, &ada, &defaults[1].name, &wont_do.name).await.unwrap(), 3);
    let moved = get_task(&app, &ada, &doomed.name).await;
    assert_eq!((moved.state.as_str(), moved.status), (wont_do.name.as_str(), v1::TaskStatus::Done as i32));
    assert!(moved.complete_time.is_none(), "a canceled task is not completed");
    let history = app
        .tasks()
        .list_task_activities(
            ada.call(v1::ListTaskActivitiesRequest { parent: doomed.name.clone(), ..Default::default() }),
        )
        .await
        .unwrap()
        .into_inner()
        .activities;
    let last = &history.last().unwrap().changes;
    assert!(
        last.iter().any(|change| change.field == "state"
            && change.old_value == defaults[1].name
            && change.new_value == wont_do.name),
        "{last:?}"
    );
    assert!(last.iter().any(|change| change.field == "status" && change.new_value == "TASK_STATUS_DONE"));
    assert_eq!(names(&app.list_states(&ada, p, false).await), ["Code review", "To do", "Done", "Won't do"]);

    // Refused deletes name the field.
    let missing = format!("{p}/states/{}", uuid::Uuid::now_v7());
    for target in [&wont_do.name, &missing] {
        assert_invalid_field(&delete_state(&app, &ada, &wont_do.name, target).await.unwrap_err(), "move_tasks_to");
    }
    let other = app.create_project(&ada, "Elsewhere").await;
    let foreign = app.list_states(&ada, &other.name, false).await.remove(0);
    assert_invalid_field(&delete_state(&app, &ada, &wont_do.name, &foreign.name).await.unwrap_err(), "move_tasks_to");
    assert_invalid_field(&delete_state(&app, &ada, &wont_do.name, "").await.unwrap_err(), "move_tasks_to");
    let archived_target = update_state(
        &app,
        &ada,
        v1::WorkflowState { archived: true, ..state_named(&app, &ada, p, "Code review").await },
        &["archived"],
    )
    .await
    .unwrap();
    assert_invalid_field(
        &delete_state(&app, &ada, &wont_do.name, &archived_target.name).await.unwrap_err(),
        "move_tasks_to",
    );
    // The last state that is not archived can be neither archived nor deleted.
    let lonely = app.create_project(&ada, "Lonely").await;
    let mut left = app.list_states(&ada, &lonely.name, false).await;
    delete_state(&app, &ada, &left[2].name, &left[0].name).await.unwrap();
    delete_state(&app, &ada, &left[1].name, &left[0].name).await.unwrap();
    let last = left.remove(0);
    let refused = update_state(&app, &ada, v1::WorkflowState { archived: true, ..last.clone() }, &["archived"]).await;
    assert_invalid_field(&refused.unwrap_err(), "state.archived");
    let extra = create_state(&app, &ada, &lonely.name, ("Parked", Unstarted, None)).await.unwrap();
    update_state(&app, &ada, v1::WorkflowState { archived: true, ..extra.clone() }, &["archived"]).await.unwrap();
    assert_invalid_field(&delete_state(&app, &ada, &last.name, &extra.name).await.unwrap_err(), "name");
    app.stop().await;
}

async fn tasks_move_between_states_and_their_status_follows(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let grace = app.sign_up("grace").await;
    let project = app.create_project(&ada, "Moves").await;
    let p = &project.name;
    app.add_member(&ada, p, &grace, v1::Role::Editor).await;
    let defaults = app.list_states(&ada, p, false).await;
    let review = create_state(&app, &ada, p, ("Review", v1::StateCategory::Started, None)).await.unwrap();
    let shipped = create_state(&app, &ada, p, ("Shipped", v1::StateCategory::Completed, None)).await.unwrap();

    // Editors use states: create in one, move between them.
    let created = app.create_task(&grace, p, in_state("feature", &review.name)).await;
    assert_eq!((created.state.as_str(), created.status), (review.name.as_str(), v1::TaskStatus::InProgress as i32));
    let plain = app.create_task(&grace, p, task("plain")).await;
    assert_eq!(plain.state, defaults[0].name);
    let done = move_task(&app, &grace, &created.name, &defaults[2].name, v1::TaskStatus::Unspecified).await.unwrap();
    assert_eq!(done.status, v1::TaskStatus::Done as i32);
    let completed_at = done.complete_time.expect("completed");
    // Between two COMPLETED states the completion time stays.
    let shipped_task =
        move_task(&app, &grace, &created.name, &shipped.name, v1::TaskStatus::Unspecified).await.unwrap();
    assert_eq!(shipped_task.complete_time, Some(completed_at));
    // `state` wins over `status`.
    let back = move_task(&app, &grace, &created.name, &review.name, v1::TaskStatus::Done).await.unwrap();
    assert_eq!(
        (back.state.as_str(), back.status, back.complete_time),
        (review.name.as_str(), v1::TaskStatus::InProgress as i32, None)
    );
    // Placed within the target column, after a neighbour.
    let after = app
        .tasks()
        .move_task(grace.call(v1::MoveTaskRequest {
            name: plain.name.clone(),
            status: 0,
            after_task: created.name.clone(),
            etag: String::new(),
            state: review.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(after.position > back.position);
    // UpdateTask with a `state` mask.
    let updated = update_task(
        &app,
        &grace,
        v1::Task { name: plain.name.clone(), state: shipped.name.clone(), ..Default::default() },
        &["state"],
    )
    .await
    .unwrap();
    assert_eq!((updated.state.as_str(), updated.status), (shipped.name.as_str(), v1::TaskStatus::Done as i32));
    assert!(updated.complete_time.is_some());
    // Editors cannot manage states.
    let refused = create_state(&app, &grace, p, ("Mine", v1::StateCategory::Started, None)).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused = delete_state(&app, &grace, &review.name, &defaults[0].name).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused = app
        .projects()
        .update_project(grace.call(v1::UpdateProjectRequest {
            project: Some(v1::Project { name: p.clone(), enforce_wip_limits: true, ..Default::default() }),
            update_mask: mask(&["enforce_wip_limits"]),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // The change feed and history carry the state.
    let mut stream = app
        .tasks()
        .watch_tasks(ada.call(v1::WatchTasksRequest { parent: p.clone(), cursor: "0".into() }))
        .await
        .unwrap()
        .into_inner();
    // Replays from the start: the last event is the last update.
    let mut last_state = None;
    while let Ok(Ok(Some(message))) = tokio::time::timeout(std::time::Duration::from_secs(2), stream.message()).await {
        match message.kind {
            Some(v1::watch_tasks_response::Kind::Event(event)) => last_state = event.task.map(|task| task.state),
            // The heartbeat after the replay: caught up.
            _ if last_state.is_some() => break,
            _ => {}
        }
    }
    assert_eq!(last_state.as_deref(), Some(shipped.name.as_str()));
    app.stop().await;
}

async fn wip_limits_are_enforced_only_while_the_project_turns_them_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Limits").await;
    let p = &project.name;
    let doing = create_state(&app, &ada, p, ("Doing", v1::StateCategory::Started, Some(1))).await.unwrap();
    let first = app.create_task(&ada, p, in_state("first", &doing.name)).await;
    // Off: the limit is only shown.
    let second = app.create_task(&ada, p, in_state("second", &doing.name)).await;
    let third = app.create_task(&ada, p, task("third")).await;
    let enforced = app
        .projects()
        .update_project(ada.call(v1::UpdateProjectRequest {
            project: Some(v1::Project { name: p.clone(), enforce_wip_limits: true, ..Default::default() }),
            update_mask: mask(&["enforce_wip_limits"]),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(enforced.enforce_wip_limits);
    // On: creating, moving and updating into the full state fail, naming it and the limit.
    for refused in [
        app.create_task_result(&ada, p, in_state("fourth", &doing.name)).await,
        move_task(&app, &ada, &third.name, &doing.name, v1::TaskStatus::Unspecified).await,
        update_task(
            &app,
            &ada,
            v1::Task { name: third.name.clone(), state: doing.name.clone(), ..Default::default() },
            &["state"],
        )
        .await,
    ] {
        assert_failed_precondition(refused, "\"Doing\" is at its WIP limit of 1");
    }
    // Moving within the column, or out of it, is fine; deleted tasks do not count.
    move_task(&app, &ada, &second.name, "", v1::TaskStatus::Unspecified).await.unwrap();
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: second.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    assert_failed_precondition(
        move_task(&app, &ada, &third.name, &doing.name, v1::TaskStatus::Unspecified).await,
        "WIP limit",
    );
    move_task(&app, &ada, &first.name, "", v1::TaskStatus::Done).await.unwrap();
    let entered = move_task(&app, &ada, &third.name, &doing.name, v1::TaskStatus::Unspecified).await.unwrap();
    assert_eq!(entered.state, doing.name);
    // Raising the limit makes room.
    let raised = update_state(
        &app,
        &ada,
        v1::WorkflowState { wip_limit: Some(2), ..state_named(&app, &ada, p, "Doing").await },
        &["wip_limit"],
    )
    .await
    .unwrap();
    assert_eq!(raised.wip_limit, Some(2));
    app.create_task(&ada, p, in_state("fourth", &doing.name)).await;
    app.stop().await;
}

/// A task row as the previous release inserts it: no `state_id`.
async fn insert_like_the_previous_release(app: &TestApp, project: &str, creator: &str, status: i32) -> String {
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    let project_id = project.trim_start_matches("projects/");
    let creator_id = creator.trim_start_matches("users/");
    db.execute_unprepared(&format!(
        "INSERT INTO tasks (id, project_id, title, description, status, priority, start_time, due_time, position, \
         creator_id, request_id, create_time, update_time, complete_time, delete_time, version) \
         VALUES ('{id}', '{project_id}', 'legacy', '', {status}, 0, NULL, NULL, 5, '{creator_id}', NULL, 1, 1, NULL, NULL, 1)"
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
    format!("{project}/tasks/{id}")
}

/// Changes a task's status as the previous release does: `state_id` untouched.
async fn set_status_like_the_previous_release(app: &TestApp, task: &str, status: i32) {
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let id = task.rsplit('/').next().unwrap();
    db.execute_unprepared(&format!("UPDATE tasks SET status = {status}, version = version + 1 WHERE id = '{id}'"))
        .await
        .unwrap();
    db.close().await.unwrap();
}

async fn clients_and_rows_that_know_only_status_keep_working(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Compatible").await;
    let p = &project.name;
    // A BACKLOG state first: a TODO still goes to the UNSTARTED one.
    let backlog = create_state(&app, &ada, p, ("Backlog", v1::StateCategory::Backlog, None)).await.unwrap();
    move_state(&app, &ada, &backlog.name, "").await;
    let review = create_state(&app, &ada, p, ("Review", v1::StateCategory::Started, None)).await.unwrap();
    let [todo, doing, done] = <[v1::WorkflowState; 3]>::try_from(
        app.list_states(&ada, p, false)
            .await
            .into_iter()
            .filter(|state| ["To do", "In progress", "Done"].contains(&state.display_name.as_str()))
            .collect::<Vec<_>>(),
    )
    .unwrap();

    let created =
        app.create_task(&ada, p, v1::Task { status: v1::TaskStatus::InProgress as i32, ..task("old client") }).await;
    assert_eq!(created.state, doing.name);
    let defaulted = app.create_task(&ada, p, task("no status")).await;
    assert_eq!((defaulted.state.as_str(), defaulted.status), (todo.name.as_str(), v1::TaskStatus::Todo as i32));
    let updated = update_task(
        &app,
        &ada,
        v1::Task { name: created.name.clone(), status: v1::TaskStatus::Done as i32, ..Default::default() },
        &["status"],
    )
    .await
    .unwrap();
    assert_eq!(updated.state, done.name);
    assert!(updated.complete_time.is_some());
    let moved = move_task(&app, &ada, &created.name, "", v1::TaskStatus::Todo).await.unwrap();
    assert_eq!((moved.state.as_str(), moved.complete_time), (todo.name.as_str(), None));
    // Sending the status a task already has keeps its (custom) state.
    let in_review = move_task(&app, &ada, &created.name, &review.name, v1::TaskStatus::Unspecified).await.unwrap();
    let same =
        update_task(&app, &ada, v1::Task { title: "renamed".into(), ..in_review.clone() }, &["*"]).await.unwrap();
    assert_eq!((same.state.as_str(), same.title.as_str()), (review.name.as_str(), "renamed"));
    let same = move_task(&app, &ada, &created.name, "", v1::TaskStatus::InProgress).await.unwrap();
    assert_eq!(same.state, review.name);

    // A row the previous release inserted reads in its status's first state,
    // is listed and filtered there, and moves.
    let legacy = insert_like_the_previous_release(&app, p, &ada.name, v1::TaskStatus::InProgress as i32).await;
    let read = get_task(&app, &ada, &legacy).await;
    assert_eq!((read.state.as_str(), read.status), (doing.name.as_str(), v1::TaskStatus::InProgress as i32));
    let filter = format!("state = \"{}\"", doing.name);
    let listed = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest { parent: p.clone(), filter, ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(listed.iter().map(|task| task.name.as_str()).collect::<Vec<_>>(), [legacy.as_str()]);
    let moved = move_task(&app, &ada, &legacy, &done.name, v1::TaskStatus::Unspecified).await.unwrap();
    assert_eq!((moved.state.as_str(), moved.status), (done.name.as_str(), v1::TaskStatus::Done as i32));
    // The previous release changes the status, leaving the state behind: the
    // status wins, and the new server writes the state back with its next change.
    set_status_like_the_previous_release(&app, &legacy, v1::TaskStatus::Todo as i32).await;
    let read = get_task(&app, &ada, &legacy).await;
    assert_eq!((read.state.as_str(), read.status), (todo.name.as_str(), v1::TaskStatus::Todo as i32));
    let renamed = update_task(
        &app,
        &ada,
        v1::Task { name: legacy.clone(), title: "adopted".into(), ..Default::default() },
        &["title"],
    )
    .await
    .unwrap();
    assert_eq!(renamed.state, todo.name);

    // A project the previous release created after the migration gets the
    // default states (from the database).
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let (id, user) = (uuid::Uuid::now_v7(), ada.name.trim_start_matches("users/"));
    db.execute_unprepared(&format!(
        "INSERT INTO projects (id, title, description, creator_id, request_id, create_time, update_time, \
         archive_time, version, event_seq) VALUES ('{id}', 'Made by the previous release', '', '{user}', NULL, 1, 1, \
         NULL, 1, 0)"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO memberships (project_id, user_id, role, create_time) VALUES ('{id}', '{user}', 3, 1)"
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
    let old_project = format!("projects/{id}");
    let created = app.create_task(&ada, &old_project, task("first in an old project")).await;
    let states = app.list_states(&ada, &old_project, false).await;
    assert_eq!(names(&states), ["To do", "In progress", "Done"]);
    assert_eq!(created.state, states[0].name);
    app.stop().await;
}

async fn tasks_are_filtered_by_state(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Filters").await;
    let p = &project.name;
    let review = create_state(&app, &ada, p, ("Review", v1::StateCategory::Started, None)).await.unwrap();
    let defaults = app.list_states(&ada, p, false).await;
    app.create_task(&ada, p, in_state("reviewing", &review.name)).await;
    app.create_task(&ada, p, in_state("doing", &defaults[1].name)).await;
    app.create_task(&ada, p, task("waiting")).await;
    let titles = async |filter: String| -> Vec<String> {
        let tasks = app
            .tasks()
            .list_tasks(ada.call(v1::ListTasksRequest {
                parent: p.clone(),
                filter,
                order_by: "title".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .tasks;
        tasks.into_iter().map(|task| task.title).collect()
    };
    assert_eq!(titles(format!("state = \"{}\"", review.name)).await, ["reviewing"]);
    assert_eq!(titles(format!("state != \"{}\"", review.name)).await, ["doing", "waiting"]);
    assert_eq!(titles("status = IN_PROGRESS".into()).await, ["doing", "reviewing"]);
    assert_eq!(titles(format!("status = IN_PROGRESS AND NOT state = \"{}\"", review.name)).await, ["doing"]);
    let refused = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest {
            parent: p.clone(),
            filter: "state = Review".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&refused, "filter");
    app.stop().await;
}

async fn bad_state_requests_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Validation").await;
    let p = &project.name;
    let refused = app
        .states()
        .create_workflow_state(ada.call(v1::CreateWorkflowStateRequest {
            parent: p.clone(),
            state: Some(v1::WorkflowState {
                display_name: "x".repeat(51),
                color: "red".into(),
                category: 0,
                wip_limit: Some(0),
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    for field in ["state.display_name", "state.color", "state.category", "state.wip_limit"] {
        assert_invalid_field(&refused, field);
    }
    let state = app.list_states(&ada, p, false).await.remove(0);
    let refused = update_state(&app, &ada, state.clone(), &["category"]).await.unwrap_err();
    assert_invalid_field(&refused, "update_mask");
    let refused = app
        .states()
        .move_workflow_state(ada.call(v1::MoveWorkflowStateRequest {
            name: state.name.clone(),
            after_state: "states/1".into(),
            etag: String::new(),
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&refused, "after_state");
    let refused = app
        .states()
        .move_workflow_state(ada.call(v1::MoveWorkflowStateRequest {
            name: state.name.clone(),
            after_state: format!("{p}/states/{}", uuid::Uuid::now_v7()),
            etag: String::new(),
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&refused, "after_state");
    let refused = app.create_task_result(&ada, p, in_state("x", "projects/1/states/2")).await.unwrap_err();
    assert_invalid_field(&refused, "task.state");
    let missing = format!("{p}/states/{}", uuid::Uuid::now_v7());
    assert_invalid_field(&app.create_task_result(&ada, p, in_state("x", &missing)).await.unwrap_err(), "task.state");
    let task = app.create_task(&ada, p, task("t")).await;
    let refused = move_task(&app, &ada, &task.name, "projects/x", v1::TaskStatus::Unspecified).await.unwrap_err();
    assert_invalid_field(&refused, "state");
    let other = app.create_project(&ada, "Other").await;
    let foreign = app.list_states(&ada, &other.name, false).await.remove(0);
    let refused = move_task(&app, &ada, &task.name, &foreign.name, v1::TaskStatus::Unspecified).await.unwrap_err();
    assert_invalid_field(&refused, "state");
    let refused = update_task(&app, &ada, v1::Task { name: task.name.clone(), ..Default::default() }, &["state"])
        .await
        .unwrap_err();
    assert_invalid_field(&refused, "task.state");
    let missing_state = v1::WorkflowState { name: missing, ..state };
    let refused = update_state(&app, &ada, missing_state, &["display_name"]).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    app.stop().await;
}

/// How many migrations come before the one called `name`.
fn migrations_before(name: &str) -> u32 {
    use sea_orm_migration::MigratorTrait;
    let migrations = tasktracker_migrations::Migrator::migrations();
    migrations.iter().position(|migration| migration.name() == name).expect("a migration of that name") as u32
}

/// Runs `sql` on `db` and returns its rows' only column.
async fn column_of(db: &impl ConnectionTrait, sql: String) -> Vec<Option<String>> {
    db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index(0).unwrap())
        .collect()
}

/// The `state_id` stored in the row of `task` (a task id or name).
async fn stored_state(app: &TestApp, task: &str) -> Option<String> {
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let id = task.rsplit('/').next().unwrap();
    let mut column = column_of(&db, format!("SELECT state_id FROM tasks WHERE id = '{id}'")).await;
    db.close().await.unwrap();
    assert_eq!(column.len(), 1, "one row for {task}");
    column.pop().unwrap()
}

/// The id part of a resource name.
fn id_of(name: &str) -> String {
    name.rsplit('/').next().unwrap().to_owned()
}

/// A project as the previous release inserts it (no states).
async fn insert_project_like_the_previous_release(db: &impl ConnectionTrait, id: &str, creator: &str) {
    db.execute_unprepared(&format!(
        "INSERT INTO projects (id, title, description, creator_id, request_id, create_time, update_time, \
         archive_time, version, event_seq) VALUES ('{id}', 'Made by the previous release', '', '{creator}', NULL, 9, \
         9, NULL, 1, 0)"
    ))
    .await
    .unwrap();
}

/// The states of project `id` as stored: id, name, category, status,
/// position and creation time, in board order.
async fn stored_states(db: &impl ConnectionTrait, id: &str) -> Vec<(String, String, i16, i16, i64, i64)> {
    let sql = format!(
        "SELECT id, display_name, category, status, position, create_time FROM workflow_states \
         WHERE project_id = '{id}' ORDER BY position"
    );
    db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get("", "id").unwrap(),
                row.try_get("", "display_name").unwrap(),
                row.try_get("", "category").unwrap(),
                row.try_get("", "status").unwrap(),
                row.try_get("", "position").unwrap(),
                row.try_get("", "create_time").unwrap(),
            )
        })
        .collect()
}

/// What a project created at time 9 has: the default states under their
/// derived ids, as the server creates them.
fn default_states_of(id: &str) -> Vec<(String, String, i16, i16, i64, i64)> {
    tasktracker_migrations::DEFAULT_STATES
        .into_iter()
        .enumerate()
        .map(|(index, (name, _, category, status))| {
            let position = index as i64 * tasktracker_migrations::STATE_POSITION_GAP;
            (tasktracker_migrations::default_state_id(id, index), name.to_owned(), category, status, position, 9)
        })
        .collect()
}

/// The database gives a project the previous release inserts the default
/// states the server would (same ids: whichever side runs second adds
/// nothing), whatever the last digit of its id.
async fn projects_the_previous_release_inserts_get_the_default_states(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let user = id_of(&ada.name);
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    // (Ids apart in more than their last digit: those of one prefix share
    // their states' ids.)
    for last in ['0', '1', '7', '9', 'a', 'c', 'f'] {
        let id = format!("{}{last}", &uuid::Uuid::now_v7().to_string()[..35]);
        insert_project_like_the_previous_release(&db, &id, &user).await;
        assert_eq!(stored_states(&db, &id).await, default_states_of(&id), "project {id}");
    }
    // And a project this release creates has them once.
    let project = app.create_project(&ada, "New").await;
    let states = app.list_states(&ada, &project.name, true).await;
    assert_eq!(names(&states), ["To do", "In progress", "Done"]);
    let ids: Vec<String> = states.iter().map(|state| id_of(&state.name)).collect();
    let project_id = id_of(&project.name);
    assert_eq!(
        ids,
        (0..3).map(|index| tasktracker_migrations::default_state_id(&project_id, index)).collect::<Vec<_>>()
    );
    db.close().await.unwrap();
    app.stop().await;
}

/// Rows the previous release inserts or updates with only `status` get the
/// state the server would choose stored in `state_id`, read back by SQL.
async fn tasks_the_previous_release_writes_get_their_state_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Synchronised").await;
    let p = &project.name;
    // BACKLOG first and a second STARTED state last: TODO still goes to the
    // UNSTARTED state, IN_PROGRESS to the first STARTED one.
    let backlog = create_state(&app, &ada, p, ("Backlog", v1::StateCategory::Backlog, None)).await.unwrap();
    move_state(&app, &ada, &backlog.name, "").await;
    let review = create_state(&app, &ada, p, ("Review", v1::StateCategory::Started, None)).await.unwrap();
    let canceled = create_state(&app, &ada, p, ("Canceled", v1::StateCategory::Canceled, None)).await.unwrap();
    move_state(&app, &ada, &canceled.name, &backlog.name).await;
    let [todo, doing, done] = ["To do", "In progress", "Done"].map(|name| name.to_owned());
    let mut ids = std::collections::HashMap::new();
    for state in app.list_states(&ada, p, false).await {
        ids.insert(state.display_name.clone(), Some(id_of(&state.name)));
    }
    let state = |name: &str| ids[name].clone();

    let (todo_status, doing_status, done_status) =
        (v1::TaskStatus::Todo as i32, v1::TaskStatus::InProgress as i32, v1::TaskStatus::Done as i32);
    let waiting = insert_like_the_previous_release(&app, p, &ada.name, todo_status).await;
    assert_eq!(stored_state(&app, &waiting).await, state(&todo));
    let working = insert_like_the_previous_release(&app, p, &ada.name, doing_status).await;
    assert_eq!(stored_state(&app, &working).await, state(&doing));
    let finished = insert_like_the_previous_release(&app, p, &ada.name, done_status).await;
    assert_eq!(stored_state(&app, &finished).await, state(&done), "COMPLETED before CANCELED");

    // A status change moves the state along; other changes leave it.
    set_status_like_the_previous_release(&app, &waiting, done_status).await;
    assert_eq!(stored_state(&app, &waiting).await, state(&done));
    set_status_like_the_previous_release(&app, &waiting, todo_status).await;
    assert_eq!(stored_state(&app, &waiting).await, state(&todo));
    let reviewed = move_task(&app, &ada, &working, &review.name, v1::TaskStatus::Unspecified).await.unwrap();
    assert_eq!(stored_state(&app, &reviewed.name).await, state("Review"));
    set_status_like_the_previous_release(&app, &working, doing_status).await;
    assert_eq!(stored_state(&app, &working).await, state("Review"), "the same status keeps a custom state");
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    db.execute_unprepared(&format!("UPDATE tasks SET title = 'renamed' WHERE id = '{}'", id_of(&working)))
        .await
        .unwrap();
    assert_eq!(stored_state(&app, &working).await, state("Review"));
    // A stale state (another status's) is replaced on insert too.
    let stale = uuid::Uuid::now_v7();
    db.execute_unprepared(&format!(
        "INSERT INTO tasks (id, project_id, title, description, status, priority, position, creator_id, \
         create_time, update_time, version, state_id) VALUES ('{stale}', '{}', 'stale', '', {done_status}, 0, 5, \
         '{}', 1, 1, 1, '{}')",
        id_of(p),
        id_of(&ada.name),
        state(&todo).unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(stored_state(&app, &stale.to_string()).await, state(&done));
    // What the server reads and lists is what is stored.
    let read = get_task(&app, &ada, &waiting).await;
    assert_eq!((read.state.as_str(), read.status), (format!("{p}/states/{}", state(&todo).unwrap()).as_str(), 1));

    // Without a state for the status the row keeps none, until the project
    // gets one.
    for name in [done.as_str(), "Canceled"] {
        let victim = format!("{p}/states/{}", state(name).unwrap());
        delete_state(&app, &ada, &victim, &format!("{p}/states/{}", state(&todo).unwrap())).await.unwrap();
    }
    let orphan = insert_like_the_previous_release(&app, p, &ada.name, done_status).await;
    assert_eq!(stored_state(&app, &orphan).await, None);
    let shipped = create_state(&app, &ada, p, ("Shipped", v1::StateCategory::Completed, None)).await.unwrap();
    assert_eq!(stored_state(&app, &orphan).await, Some(id_of(&shipped.name)));
    assert_eq!(get_task(&app, &ada, &orphan).await.state, shipped.name);
    db.close().await.unwrap();
    app.stop().await;
}

/// Rows the previous release wrote after the workflow states migration and
/// before the one that keeps states in step: the latter gives projects
/// without states their defaults and every task the state of its status.
async fn the_next_migration_gives_rows_written_in_between_their_states(backend: Backend) {
    use sea_orm_migration::MigratorTrait;
    use tasktracker_migrations::Migrator;

    let database = TestDatabase::create_empty(backend).await;
    let db = Database::connect(database.url.clone()).await.unwrap();
    Migrator::up(&db, Some(migrations_before("m20261208_000001_state_sync"))).await.unwrap();
    let (user, old, new) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    db.execute_unprepared(&format!(
        "INSERT INTO users (id, email, display_name, password_hash, create_time) \
         VALUES ('{user}', 'old@example.com', 'Old', '', 1)"
    ))
    .await
    .unwrap();
    // `old` existed before the workflow states migration (it has states,
    // inserted here the way that migration did); `new` did not.
    for project in [old, new] {
        insert_project_like_the_previous_release(&db, &project.to_string(), &user.to_string()).await;
    }
    for (index, (_, name, category, status, position, time)) in
        default_states_of(&old.to_string()).into_iter().enumerate()
    {
        db.execute_unprepared(&format!(
            "INSERT INTO workflow_states (id, project_id, display_name, color, category, status, position, \
             create_time, update_time, version) VALUES ('{}', '{old}', '{name}', '#000000', {category}, {status}, \
             {position}, {time}, {time}, 1)",
            tasktracker_migrations::default_state_id(&old.to_string(), index)
        ))
        .await
        .unwrap();
    }
    let state =
        |project: uuid::Uuid, index: usize| Some(tasktracker_migrations::default_state_id(&project.to_string(), index));
    // (project, status, state_id as written, state_id expected)
    let rows = [
        (old, 1, None, state(old, 0)),
        (old, 3, state(old, 1), state(old, 2)),
        (old, 2, state(old, 1), state(old, 1)),
        (new, 2, None, state(new, 1)),
        (new, 3, None, state(new, 2)),
    ];
    let mut ids = Vec::new();
    for (index, (project, status, written, _)) in rows.iter().enumerate() {
        let id = uuid::Uuid::now_v7();
        let written = written.as_ref().map_or("NULL".to_owned(), |state| format!("'{state}'"));
        db.execute_unprepared(&format!(
            "INSERT INTO tasks (id, project_id, title, description, status, priority, position, creator_id, \
             create_time, update_time, version, state_id) VALUES ('{id}', '{project}', 't{index}', '', {status}, 0, \
             {index}, '{user}', 1, 1, 1, {written})"
        ))
        .await
        .unwrap();
        ids.push(id);
    }
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(stored_states(&db, &new.to_string()).await, default_states_of(&new.to_string()));
    assert_eq!(stored_states(&db, &old.to_string()).await.len(), 3, "nothing added to a project with states");
    for (id, (_, _, _, expected)) in ids.iter().zip(rows) {
        let stored = column_of(&db, format!("SELECT state_id FROM tasks WHERE id = '{id}'")).await;
        assert_eq!(stored, [expected], "task {id}");
    }
    db.close().await.unwrap();
}

/// Rows of the previous release, then the migration: every project gets the
/// three default states and every task the state of its status.
async fn the_migration_gives_existing_projects_and_tasks_their_states(backend: Backend) {
    use sea_orm_migration::MigratorTrait;
    use tasktracker_migrations::Migrator;

    let database = TestDatabase::create_empty(backend).await;
    let db = Database::connect(database.url.clone()).await.unwrap();
    Migrator::up(&db, Some(migrations_before("m20261207_000001_workflow_states"))).await.unwrap();
    let (user, project) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    db.execute_unprepared(&format!(
        "INSERT INTO users (id, email, display_name, password_hash, create_time) \
         VALUES ('{user}', 'old@example.com', 'Old', '', 1)"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO projects (id, title, description, creator_id, request_id, create_time, update_time, \
         archive_time, version, event_seq) VALUES ('{project}', 'Old', '', '{user}', NULL, 7, 7, NULL, 1, 0)"
    ))
    .await
    .unwrap();
    for (index, status) in [1, 2, 3, 2].into_iter().enumerate() {
        db.execute_unprepared(&format!(
            "INSERT INTO tasks (id, project_id, title, description, status, priority, start_time, due_time, \
             position, creator_id, request_id, create_time, update_time, complete_time, delete_time, version) \
             VALUES ('{}', '{project}', 't{index}', '', {status}, 0, NULL, NULL, {index}, '{user}', NULL, 1, 1, \
             NULL, NULL, 1)",
            uuid::Uuid::now_v7()
        ))
        .await
        .unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT s.display_name, s.category, s.status, (SELECT COUNT(*) FROM tasks t WHERE t.state_id = s.id \
                 AND t.status = s.status) AS tasks FROM workflow_states s WHERE s.project_id = '{project}' \
                 ORDER BY s.position"
            ),
        ))
        .await
        .unwrap();
    let states: Vec<(String, i16, i16, i64)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get("", "display_name").unwrap(),
                row.try_get("", "category").unwrap(),
                row.try_get("", "status").unwrap(),
                row.try_get("", "tasks").unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("To do".into(), 2, 1, 1), ("In progress".into(), 3, 2, 2), ("Done".into(), 4, 3, 1)]);
    let unset = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS unset FROM tasks WHERE state_id IS NULL",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unset.try_get::<i64>("", "unset").unwrap(), 0);
    db.close().await.unwrap();
}
