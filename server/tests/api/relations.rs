//! Task relations: each kind and its inverse side, deleting from either
//! side, the rules a relation must meet, the project's blocker rule through
//! UpdateTask, MoveTask and CreateTask, purging, history, the change feed,
//! and the migration.

use std::time::Duration;

use prost_types::FieldMask;
use sea_orm::{ConnectionTrait, Database};
use tasktracker_proto::v1::{self, TaskRelationType as Kind, watch_tasks_response};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::{
    helpers::{Backend, TestApp, TestDatabase, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    each_kind_is_listed_with_its_inverse_on_the_other_task,
    deleting_either_side_removes_both,
    bad_relations_are_refused_naming_the_field,
    open_blockers_stop_completion_only_while_the_project_requires_it,
    completed_canceled_or_deleted_blockers_no_longer_block,
    tasks_are_filtered_by_open_blockers,
    purging_a_task_removes_its_relations,
    relation_changes_are_in_both_histories_and_the_feed,
    lists_are_paged,
    a_task_has_at_most_200_relations,
    the_migration_adds_relations_and_the_rule_off_for_existing_projects,
);

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() })
}

async fn relate(
    app: &TestApp,
    user: &TestUser,
    from: &v1::Task,
    kind: Kind,
    to: &v1::Task,
) -> Result<v1::TaskRelation, Status> {
    relate_names(app, user, &from.name, kind, &to.name).await
}

async fn relate_names(
    app: &TestApp,
    user: &TestUser,
    from: &str,
    kind: Kind,
    to: &str,
) -> Result<v1::TaskRelation, Status> {
    app.relations()
        .create_task_relation(user.call(v1::CreateTaskRelationRequest {
            parent: from.into(),
            task_relation: Some(v1::TaskRelation { r#type: kind as i32, task: to.into(), ..Default::default() }),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn relations_of(app: &TestApp, user: &TestUser, task: &v1::Task) -> Vec<v1::TaskRelation> {
    app.relations()
        .list_task_relations(
            user.call(v1::ListTaskRelationsRequest { parent: task.name.clone(), ..Default::default() }),
        )
        .await
        .expect("list relations")
        .into_inner()
        .task_relations
}

/// `(type, other task)` of each of `task`'s relations.
async fn kinds_of(app: &TestApp, user: &TestUser, task: &v1::Task) -> Vec<(Kind, String)> {
    relations_of(app, user, task)
        .await
        .into_iter()
        .map(|relation| (Kind::try_from(relation.r#type).unwrap(), relation.task))
        .collect()
}

async fn delete(app: &TestApp, user: &TestUser, name: &str) -> Result<(), Status> {
    app.relations()
        .delete_task_relation(user.call(v1::DeleteTaskRelationRequest { name: name.into() }))
        .await
        .map(|_| ())
}

/// The id part of a resource name.
fn id_of(name: &str) -> &str {
    name.rsplit('/').next().unwrap()
}

async fn set_status(
    app: &TestApp,
    user: &TestUser,
    task: &v1::Task,
    status: v1::TaskStatus,
) -> Result<v1::Task, Status> {
    app.tasks()
        .update_task(user.call(v1::UpdateTaskRequest {
            task: Some(v1::Task { name: task.name.clone(), status: status as i32, ..Default::default() }),
            update_mask: mask(&["status"]),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn set_state(app: &TestApp, user: &TestUser, task: &v1::Task, state: &str) -> Result<v1::Task, Status> {
    app.tasks()
        .update_task(user.call(v1::UpdateTaskRequest {
            task: Some(v1::Task { name: task.name.clone(), state: state.into(), ..Default::default() }),
            update_mask: mask(&["state"]),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn move_to(app: &TestApp, user: &TestUser, task: &v1::Task, state: &str) -> Result<v1::Task, Status> {
    app.tasks()
        .move_task(user.call(v1::MoveTaskRequest {
            name: task.name.clone(),
            status: v1::TaskStatus::Unspecified as i32,
            after_task: String::new(),
            etag: String::new(),
            state: state.into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn require_blockers_done(app: &TestApp, owner: &TestUser, project: &str, on: bool) -> v1::Project {
    app.projects()
        .update_project(owner.call(v1::UpdateProjectRequest {
            project: Some(v1::Project { name: project.into(), require_blockers_done: on, ..Default::default() }),
            update_mask: mask(&["require_blockers_done"]),
        }))
        .await
        .expect("update project")
        .into_inner()
}

/// The name of `project`'s state called `display_name`.
async fn state_named(app: &TestApp, user: &TestUser, project: &str, display_name: &str) -> String {
    app.list_states(user, project, true)
        .await
        .into_iter()
        .find(|state| state.display_name == display_name)
        .unwrap()
        .name
}

/// Asserts a FAILED_PRECONDITION naming every blocker (name and title) in
/// its message and in a PreconditionFailure detail.
fn assert_blocked(result: Result<v1::Task, Status>, blockers: &[&v1::Task]) {
    let status = result.expect_err("blocked");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    for blocker in blockers {
        assert!(status.message().contains(&blocker.name), "{} in {:?}", blocker.name, status.message());
        assert!(status.message().contains(&blocker.title), "{} in {:?}", blocker.title, status.message());
    }
    let failure = status.get_details_precondition_failure().expect("a PreconditionFailure detail");
    let mut subjects: Vec<&str> = failure.violations.iter().map(|violation| violation.subject.as_str()).collect();
    let mut expected: Vec<&str> = blockers.iter().map(|blocker| blocker.name.as_str()).collect();
    subjects.sort_unstable();
    expected.sort_unstable();
    assert_eq!(subjects, expected);
    assert!(failure.violations.iter().all(|violation| violation.r#type == "BLOCKED_BY"));
}

async fn each_kind_is_listed_with_its_inverse_on_the_other_task(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Relations").await;
    let p = &project.name;
    let hub = app.create_task(&ada, p, task("hub")).await;
    let cases = [
        (Kind::Blocks, Kind::BlockedBy),
        (Kind::BlockedBy, Kind::Blocks),
        (Kind::Duplicates, Kind::DuplicatedBy),
        (Kind::DuplicatedBy, Kind::Duplicates),
        (Kind::RelatesTo, Kind::RelatesTo),
    ];
    let mut expected_on_hub = Vec::new();
    for (kind, inverse) in cases {
        let other = app.create_task(&ada, p, task(&format!("other {}", kind.as_str_name()))).await;
        let created = relate(&app, &ada, &hub, kind, &other).await.unwrap();
        assert!(created.name.starts_with(&format!("{}/relations/", hub.name)), "{}", created.name);
        assert_eq!((created.r#type, created.task.as_str()), (kind as i32, other.name.as_str()));
        assert_eq!(created.task_title, other.title);
        assert_eq!(created.task_state, other.state);
        assert_eq!(created.task_state_category, v1::StateCategory::Unstarted as i32);
        assert!(created.task_complete_time.is_none() && created.task_delete_time.is_none());
        assert_eq!(created.creator, ada.name);
        assert!(created.create_time.is_some());
        // The other side: the inverse, under the same relation id.
        let theirs = relations_of(&app, &ada, &other).await;
        assert_eq!(theirs.len(), 1);
        assert_eq!((theirs[0].r#type, theirs[0].task.as_str()), (inverse as i32, hub.name.as_str()));
        assert_eq!(theirs[0].task_title, "hub");
        assert_eq!(theirs[0].name, format!("{}/relations/{}", other.name, id_of(&created.name)));
        expected_on_hub.push((kind, other.name.clone()));
    }
    assert_eq!(kinds_of(&app, &ada, &hub).await, expected_on_hub, "both directions, oldest first");

    // The other task's state is shown as it changes.
    let (_, done_one) = &expected_on_hub[0];
    let done_one = v1::Task { name: done_one.clone(), ..Default::default() };
    set_status(&app, &ada, &done_one, v1::TaskStatus::Done).await.unwrap();
    let first = relations_of(&app, &ada, &hub).await.remove(0);
    assert_eq!(first.task_state_category, v1::StateCategory::Completed as i32);
    assert!(first.task_complete_time.is_some());
    app.stop().await;
}

async fn deleting_either_side_removes_both(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Relations").await;
    let p = &project.name;
    let (a, b) = (app.create_task(&ada, p, task("a")).await, app.create_task(&ada, p, task("b")).await);

    // From the side it was created on.
    let created = relate(&app, &ada, &a, Kind::Blocks, &b).await.unwrap();
    delete(&app, &ada, &created.name).await.unwrap();
    assert!(relations_of(&app, &ada, &a).await.is_empty());
    assert!(relations_of(&app, &ada, &b).await.is_empty());
    assert_eq!(delete(&app, &ada, &created.name).await.unwrap_err().code(), Code::NotFound);

    // From the other side.
    relate(&app, &ada, &a, Kind::Duplicates, &b).await.unwrap();
    let theirs = relations_of(&app, &ada, &b).await.remove(0);
    assert_eq!(theirs.r#type, Kind::DuplicatedBy as i32);
    delete(&app, &ada, &theirs.name).await.unwrap();
    assert!(relations_of(&app, &ada, &a).await.is_empty());
    assert!(relations_of(&app, &ada, &b).await.is_empty());

    // Once gone, the same relation can be made again.
    relate(&app, &ada, &a, Kind::Duplicates, &b).await.unwrap();
    // A relation id under the wrong task is not found.
    let c = app.create_task(&ada, p, task("c")).await;
    let mine = relations_of(&app, &ada, &a).await.remove(0);
    let elsewhere = format!("{}/relations/{}", c.name, id_of(&mine.name));
    assert_eq!(delete(&app, &ada, &elsewhere).await.unwrap_err().code(), Code::NotFound);
    assert_invalid_field(&delete(&app, &ada, &a.name).await.unwrap_err(), "name");
    assert_eq!(relations_of(&app, &ada, &b).await.len(), 1);
    app.stop().await;
}

async fn bad_relations_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Relations").await;
    let p = &project.name;
    let (a, b) = (app.create_task(&ada, p, task("a")).await, app.create_task(&ada, p, task("b")).await);
    let elsewhere = app.create_project(&ada, "Elsewhere").await;
    let foreign = app.create_task(&ada, &elsewhere.name, task("foreign")).await;

    let myself = relate(&app, &ada, &a, Kind::Blocks, &a).await.unwrap_err();
    assert_invalid_field(&myself, "task_relation.task");
    let cross = relate(&app, &ada, &a, Kind::RelatesTo, &foreign).await.unwrap_err();
    assert_invalid_field(&cross, "task_relation.task");
    let missing = format!("{p}/tasks/{}", uuid::Uuid::now_v7());
    assert_invalid_field(
        &relate_names(&app, &ada, &a.name, Kind::Blocks, &missing).await.unwrap_err(),
        "task_relation.task",
    );
    assert_eq!(relate_names(&app, &ada, &missing, Kind::Blocks, &a.name).await.unwrap_err().code(), Code::NotFound);
    assert_invalid_field(&relate(&app, &ada, &a, Kind::Unspecified, &b).await.unwrap_err(), "task_relation.type");
    assert_invalid_field(&relate_names(&app, &ada, &a.name, Kind::Blocks, "").await.unwrap_err(), "task_relation.task");
    assert_invalid_field(&relate_names(&app, &ada, "tasks/x", Kind::Blocks, &b.name).await.unwrap_err(), "parent");

    // Duplicates: the same relation, also as seen from the other side.
    relate(&app, &ada, &a, Kind::Blocks, &b).await.unwrap();
    assert_eq!(relate(&app, &ada, &a, Kind::Blocks, &b).await.unwrap_err().code(), Code::AlreadyExists);
    assert_eq!(relate(&app, &ada, &b, Kind::BlockedBy, &a).await.unwrap_err().code(), Code::AlreadyExists);
    // A blocking cycle of two.
    assert_invalid_field(&relate(&app, &ada, &b, Kind::Blocks, &a).await.unwrap_err(), "task_relation.type");
    assert_invalid_field(&relate(&app, &ada, &a, Kind::BlockedBy, &b).await.unwrap_err(), "task_relation.type");
    // RELATES_TO is symmetric: one either way.
    relate(&app, &ada, &a, Kind::RelatesTo, &b).await.unwrap();
    assert_eq!(relate(&app, &ada, &b, Kind::RelatesTo, &a).await.unwrap_err().code(), Code::AlreadyExists);
    relate(&app, &ada, &b, Kind::Duplicates, &a).await.unwrap();
    assert_invalid_field(&relate(&app, &ada, &a, Kind::Duplicates, &b).await.unwrap_err(), "task_relation.type");
    assert_eq!(kinds_of(&app, &ada, &a).await.len(), 3);

    // Deleted tasks: neither side may be one.
    let gone = app.create_task(&ada, p, task("gone")).await;
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: gone.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    assert_invalid_field(&relate(&app, &ada, &a, Kind::RelatesTo, &gone).await.unwrap_err(), "task_relation.task");
    assert_eq!(relate(&app, &ada, &gone, Kind::RelatesTo, &a).await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(kinds_of(&app, &ada, &a).await.len(), 3, "nothing refused was stored");
    app.stop().await;
}

async fn open_blockers_stop_completion_only_while_the_project_requires_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Blockers").await;
    let p = &project.name;
    assert!(!project.require_blockers_done, "off by default");
    let done = state_named(&app, &ada, p, "Done").await;
    let todo = state_named(&app, &ada, p, "To do").await;
    let spec = app.create_task(&ada, p, task("Write the spec")).await;
    let review = app.create_task(&ada, p, task("Review the spec")).await;
    let ship = app.create_task(&ada, p, task("Ship")).await;
    relate(&app, &ada, &spec, Kind::Blocks, &ship).await.unwrap();
    relate(&app, &ada, &ship, Kind::BlockedBy, &review).await.unwrap();
    // Other kinds do not block.
    let related = app.create_task(&ada, p, task("related")).await;
    relate(&app, &ada, &ship, Kind::RelatesTo, &related).await.unwrap();
    relate(&app, &ada, &ship, Kind::Duplicates, &related).await.unwrap();

    // Off: blockers do not stop anything.
    set_status(&app, &ada, &ship, v1::TaskStatus::Done).await.unwrap();
    set_status(&app, &ada, &ship, v1::TaskStatus::Todo).await.unwrap();

    let updated = require_blockers_done(&app, &ada, p, true).await;
    assert!(updated.require_blockers_done);
    let got = app.projects().get_project(ada.call(v1::GetProjectRequest { name: p.clone() })).await.unwrap();
    assert!(got.into_inner().require_blockers_done);

    // On: UpdateTask (status or state) and MoveTask are refused, naming both.
    assert_blocked(set_status(&app, &ada, &ship, v1::TaskStatus::Done).await, &[&spec, &review]);
    assert_blocked(set_state(&app, &ada, &ship, &done).await, &[&spec, &review]);
    assert_blocked(move_to(&app, &ada, &ship, &done).await, &[&spec, &review]);
    let unchanged = app.tasks().get_task(ada.call(v1::GetTaskRequest { name: ship.name.clone() })).await.unwrap();
    let unchanged = unchanged.into_inner();
    assert_eq!((unchanged.state.as_str(), unchanged.complete_time), (todo.as_str(), None));
    // Moves that do not complete it are not affected.
    let in_progress = state_named(&app, &ada, p, "In progress").await;
    move_to(&app, &ada, &ship, &in_progress).await.unwrap();
    // Only the blocked side is stopped: a blocker completes freely.
    move_to(&app, &ada, &spec, &done).await.unwrap();
    assert_blocked(move_to(&app, &ada, &ship, &done).await, &[&review]);

    // A new task has no blockers: CreateTask straight into Done works.
    let created = app.create_task(&ada, p, v1::Task { state: done.clone(), ..task("born done") }).await;
    assert!(created.complete_time.is_some());
    // A task already complete can gain a blocker, and stays complete.
    relate(&app, &ada, &review, Kind::Blocks, &created).await.unwrap();
    // Moving it between COMPLETED states is not completing it again.
    let shipped = app
        .states()
        .create_workflow_state(ada.call(v1::CreateWorkflowStateRequest {
            parent: p.clone(),
            state: Some(v1::WorkflowState {
                display_name: "Shipped".into(),
                color: "#00aa00".into(),
                category: v1::StateCategory::Completed as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    move_to(&app, &ada, &created, &shipped.name).await.unwrap();

    // Off again: the rule no longer applies.
    require_blockers_done(&app, &ada, p, false).await;
    move_to(&app, &ada, &ship, &done).await.unwrap();
    app.stop().await;
}

async fn completed_canceled_or_deleted_blockers_no_longer_block(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Blockers").await;
    let p = &project.name;
    require_blockers_done(&app, &ada, p, true).await;
    let canceled = app
        .states()
        .create_workflow_state(ada.call(v1::CreateWorkflowStateRequest {
            parent: p.clone(),
            state: Some(v1::WorkflowState {
                display_name: "Won't do".into(),
                color: "#999999".into(),
                category: v1::StateCategory::Canceled as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let blocked = app.create_task(&ada, p, task("blocked")).await;
    let (done_blocker, canceled_blocker, deleted_blocker) = (
        app.create_task(&ada, p, task("finish me")).await,
        app.create_task(&ada, p, task("cancel me")).await,
        app.create_task(&ada, p, task("delete me")).await,
    );
    for blocker in [&done_blocker, &canceled_blocker, &deleted_blocker] {
        relate(&app, &ada, blocker, Kind::Blocks, &blocked).await.unwrap();
    }
    assert_blocked(
        set_status(&app, &ada, &blocked, v1::TaskStatus::Done).await,
        &[&done_blocker, &canceled_blocker, &deleted_blocker],
    );
    set_status(&app, &ada, &done_blocker, v1::TaskStatus::Done).await.unwrap();
    assert_blocked(
        set_status(&app, &ada, &blocked, v1::TaskStatus::Done).await,
        &[&canceled_blocker, &deleted_blocker],
    );
    move_to(&app, &ada, &canceled_blocker, &canceled.name).await.unwrap();
    assert_blocked(set_status(&app, &ada, &blocked, v1::TaskStatus::Done).await, &[&deleted_blocker]);
    let delete = v1::DeleteTaskRequest { name: deleted_blocker.name.clone(), etag: String::new() };
    app.tasks().delete_task(ada.call(delete)).await.unwrap();
    // The deleted blocker's relation stays, marked, but blocks no more.
    let listed = relations_of(&app, &ada, &blocked).await;
    assert_eq!(listed.len(), 3);
    let marked = listed.iter().find(|relation| relation.task == deleted_blocker.name).unwrap();
    assert!(marked.task_delete_time.is_some());
    let canceled_side = listed.iter().find(|relation| relation.task == canceled_blocker.name).unwrap();
    assert_eq!(canceled_side.task_state_category, v1::StateCategory::Canceled as i32);
    let completed = set_status(&app, &ada, &blocked, v1::TaskStatus::Done).await.unwrap();
    assert!(completed.complete_time.is_some());
    // Undeleted, it blocks again (once the blocked task is reopened).
    set_status(&app, &ada, &blocked, v1::TaskStatus::Todo).await.unwrap();
    app.tasks().undelete_task(ada.call(v1::UndeleteTaskRequest { name: deleted_blocker.name.clone() })).await.unwrap();
    assert_blocked(set_status(&app, &ada, &blocked, v1::TaskStatus::Done).await, &[&deleted_blocker]);
    app.stop().await;
}

/// Titles of the tasks `filter` lists, by title.
async fn filtered(app: &TestApp, user: &TestUser, project: &str, filter: &str) -> Result<Vec<String>, Status> {
    let request = v1::ListTasksRequest {
        parent: project.into(),
        filter: filter.into(),
        order_by: "title".into(),
        ..Default::default()
    };
    let page = app.tasks().list_tasks(user.call(request)).await?.into_inner();
    Ok(page.tasks.into_iter().map(|task| task.title).collect())
}

/// `is:blocked`: at least one open blocker; `is:blocking`: open, and blocks
/// at least one open task. Done, canceled and deleted tasks are not open;
/// other relation kinds do not count; either side of a relation works.
async fn tasks_are_filtered_by_open_blockers(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Blockers").await;
    let p = &project.name;
    let made = async |title: &str| app.create_task(&ada, p, task(title)).await;
    let (a, b, c, d, e, f) =
        (made("a").await, made("b").await, made("c").await, made("d").await, made("e").await, made("f").await);
    // a blocks b; c is blocked by a (created from c's side); d blocks e,
    // then d is done; e duplicates f (not a blocking relation).
    relate(&app, &ada, &a, Kind::Blocks, &b).await.unwrap();
    relate(&app, &ada, &c, Kind::BlockedBy, &a).await.unwrap();
    relate(&app, &ada, &d, Kind::Blocks, &e).await.unwrap();
    relate(&app, &ada, &e, Kind::Duplicates, &f).await.unwrap();
    assert_eq!(filtered(&app, &ada, p, "is:blocked").await.unwrap(), ["b", "c", "e"]);
    assert_eq!(filtered(&app, &ada, p, "is:blocking").await.unwrap(), ["a", "d"]);
    set_status(&app, &ada, &d, v1::TaskStatus::Done).await.unwrap();
    assert_eq!(filtered(&app, &ada, p, "is:blocked").await.unwrap(), ["b", "c"]);
    assert_eq!(filtered(&app, &ada, p, "is:blocking").await.unwrap(), ["a"]);
    assert_eq!(filtered(&app, &ada, p, "-is:blocked").await.unwrap(), ["a", "d", "e", "f"]);
    assert_eq!(filtered(&app, &ada, p, "is:blocked OR is:blocking").await.unwrap(), ["a", "b", "c"]);
    assert_eq!(filtered(&app, &ada, p, "is:blocked title:b").await.unwrap(), ["b"]);
    // Blocking a done task is not blocking: b done, a still blocks c; c
    // done too, a blocks nobody open. A done task stays blocked while its
    // blocker is open.
    set_status(&app, &ada, &b, v1::TaskStatus::Done).await.unwrap();
    assert_eq!(filtered(&app, &ada, p, "is:blocking").await.unwrap(), ["a"]);
    set_status(&app, &ada, &c, v1::TaskStatus::Done).await.unwrap();
    assert!(filtered(&app, &ada, p, "is:blocking").await.unwrap().is_empty());
    assert_eq!(filtered(&app, &ada, p, "is:blocked").await.unwrap(), ["b", "c"]);
    set_status(&app, &ada, &c, v1::TaskStatus::Todo).await.unwrap();
    // d reopened blocks e again.
    set_status(&app, &ada, &d, v1::TaskStatus::Todo).await.unwrap();
    assert_eq!(filtered(&app, &ada, p, "is:blocking").await.unwrap(), ["a", "d"]);
    set_status(&app, &ada, &d, v1::TaskStatus::Done).await.unwrap();
    // A deleted blocker blocks no more; undeleted, it does again.
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: a.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    assert!(filtered(&app, &ada, p, "is:blocked").await.unwrap().is_empty());
    app.tasks().undelete_task(ada.call(v1::UndeleteTaskRequest { name: a.name.clone() })).await.unwrap();
    assert_eq!(filtered(&app, &ada, p, "is:blocked").await.unwrap(), ["b", "c"]);
    // Another project's relations are its own.
    let other = app.create_project(&ada, "Other").await;
    let (x, y) =
        (app.create_task(&ada, &other.name, task("x")).await, app.create_task(&ada, &other.name, task("y")).await);
    relate(&app, &ada, &x, Kind::Blocks, &y).await.unwrap();
    assert_eq!(filtered(&app, &ada, &other.name, "is:blocked").await.unwrap(), ["y"]);
    assert_eq!(filtered(&app, &ada, p, "is:blocked").await.unwrap(), ["b", "c"]);
    // Anything else after `is:` names the filter.
    for bad in ["is:stuck", "is = blocked", "is:*"] {
        let status = filtered(&app, &ada, p, bad).await.expect_err(bad);
        assert_invalid_field(&status, "filter");
    }
    app.stop().await;
}

async fn purging_a_task_removes_its_relations(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Purge").await;
    let p = &project.name;
    let (a, b, c) = (
        app.create_task(&ada, p, task("a")).await,
        app.create_task(&ada, p, task("b")).await,
        app.create_task(&ada, p, task("c")).await,
    );
    relate(&app, &ada, &a, Kind::Blocks, &b).await.unwrap();
    relate(&app, &ada, &c, Kind::RelatesTo, &a).await.unwrap();
    relate(&app, &ada, &b, Kind::Duplicates, &c).await.unwrap();
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: a.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    // The statement the pruner runs, as it would 30 days on: tasks deleted
    // before (now + 30 days) - 30 days.
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
    let purged = db.execute_unprepared(&format!("DELETE FROM tasks WHERE delete_time < {}", now + 1)).await.unwrap();
    assert_eq!(purged.rows_affected(), 1);
    let rows = |task: &str| {
        format!("SELECT COUNT(*) AS n FROM task_relations WHERE task_id = '{task}' OR other_task_id = '{task}'")
    };
    let count = db
        .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), rows(id_of(&a.name))))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(count, 0);
    db.close().await.unwrap();
    assert_eq!(kinds_of(&app, &ada, &b).await, [(Kind::Duplicates, c.name.clone())]);
    assert_eq!(kinds_of(&app, &ada, &c).await, [(Kind::DuplicatedBy, b.name.clone())]);
    app.stop().await;
}

/// The last history entry of `task`: its type and changes.
async fn last_activity(app: &TestApp, user: &TestUser, task: &v1::Task) -> (i32, Vec<(String, String, String)>) {
    let activities = app
        .tasks()
        .list_task_activities(user.call(v1::ListTaskActivitiesRequest {
            parent: task.name.clone(),
            page_size: 200,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .activities;
    let last = activities.last().unwrap();
    let changes = last.changes.iter().map(|c| (c.field.clone(), c.old_value.clone(), c.new_value.clone())).collect();
    (last.r#type, changes)
}

async fn relation_changes_are_in_both_histories_and_the_feed(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let edgar = app.sign_up("edgar").await;
    let project = app.create_project(&ada, "History").await;
    let p = &project.name;
    app.add_member(&ada, p, &edgar, v1::Role::Editor).await;
    let (a, b) = (app.create_task(&ada, p, task("a")).await, app.create_task(&ada, p, task("b")).await);
    let mut stream = app
        .tasks()
        .watch_tasks(ada.call(v1::WatchTasksRequest { parent: p.clone(), cursor: String::new() }))
        .await
        .unwrap()
        .into_inner();

    // An editor relates them.
    let created = relate(&app, &edgar, &a, Kind::Blocks, &b).await.unwrap();
    let updated = v1::TaskEventType::Updated as i32;
    assert_eq!(last_activity(&app, &ada, &a).await, (updated, vec![("blocks".into(), String::new(), b.name.clone())]));
    assert_eq!(
        last_activity(&app, &ada, &b).await,
        (updated, vec![("blocked_by".into(), String::new(), a.name.clone())])
    );
    let activities = app
        .tasks()
        .list_task_activities(ada.call(v1::ListTaskActivitiesRequest { parent: b.name.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .activities;
    assert_eq!(activities.last().unwrap().actor, edgar.name);

    // Deleted from B's side.
    let theirs = relations_of(&app, &ada, &b).await.remove(0);
    assert_eq!(id_of(&theirs.name), id_of(&created.name));
    delete(&app, &edgar, &theirs.name).await.unwrap();
    assert_eq!(last_activity(&app, &ada, &a).await, (updated, vec![("blocks".into(), b.name.clone(), String::new())]));
    assert_eq!(
        last_activity(&app, &ada, &b).await,
        (updated, vec![("blocked_by".into(), a.name.clone(), String::new())])
    );

    // Watchers saw four UPDATED events: A and B on create, again on delete.
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.message()).await.unwrap().unwrap().unwrap();
        if let Some(watch_tasks_response::Kind::Event(event)) = message.kind {
            assert_eq!(event.r#type, updated);
            assert_eq!(event.actor, edgar.name);
            seen.push(event.task.unwrap().name);
        }
    }
    seen[..2].sort_unstable();
    seen[2..].sort_unstable();
    let mut pair = vec![a.name.clone(), b.name.clone()];
    pair.sort_unstable();
    assert_eq!(seen, [pair.clone(), pair].concat());
    app.stop().await;
}

async fn lists_are_paged(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Pages").await;
    let p = &project.name;
    let hub = app.create_task(&ada, p, task("hub")).await;
    let mut expected = Vec::new();
    for index in 0..5 {
        let other = app.create_task(&ada, p, task(&format!("t{index}"))).await;
        relate(&app, &ada, &other, Kind::RelatesTo, &hub).await.unwrap();
        expected.push(other.name);
    }
    let (mut listed, mut token) = (Vec::new(), String::new());
    loop {
        let page = app
            .relations()
            .list_task_relations(ada.call(v1::ListTaskRelationsRequest {
                parent: hub.name.clone(),
                page_size: 2,
                page_token: token,
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(page.task_relations.len() <= 2);
        listed.extend(page.task_relations.into_iter().map(|relation| relation.task));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(listed, expected);
    let bad = app
        .relations()
        .list_task_relations(ada.call(v1::ListTaskRelationsRequest {
            parent: hub.name.clone(),
            page_size: -1,
            page_token: String::new(),
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&bad, "page_size");
    app.stop().await;
}

async fn a_task_has_at_most_200_relations(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Crowded").await;
    let p = &project.name;
    let hub = app.create_task(&ada, p, task("hub")).await;
    let mut first = None;
    for index in 0..200 {
        let other = app.create_task(&ada, p, task(&format!("t{index}"))).await;
        let kind = if index % 2 == 0 { Kind::RelatesTo } else { Kind::BlockedBy };
        let created = relate(&app, &ada, &hub, kind, &other).await.unwrap();
        first.get_or_insert(created);
    }
    let extra = app.create_task(&ada, p, task("one too many")).await;
    let refused = relate(&app, &ada, &hub, Kind::RelatesTo, &extra).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("200"), "{}", refused.message());
    // From the other side too: the hub is full either way.
    let refused = relate(&app, &ada, &extra, Kind::Blocks, &hub).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    // Deleting one makes room.
    delete(&app, &ada, &first.unwrap().name).await.unwrap();
    relate(&app, &ada, &extra, Kind::Blocks, &hub).await.unwrap();
    app.stop().await;
}

/// How many migrations come before the one called `name`.
fn migrations_before(name: &str) -> u32 {
    use sea_orm_migration::MigratorTrait;
    let migrations = tasktracker_migrations::Migrator::migrations();
    migrations.iter().position(|migration| migration.name() == name).expect("a migration of that name") as u32
}

/// A project as the previous release inserts it: it does not know
/// `require_blockers_done`.
async fn insert_project_like_the_previous_release(db: &impl ConnectionTrait, id: &str, creator: &str) {
    db.execute_unprepared(&format!(
        "INSERT INTO projects (id, title, description, creator_id, request_id, create_time, update_time, \
         archive_time, version, event_seq, enforce_wip_limits) VALUES ('{id}', 'Old', '', '{creator}', NULL, 9, 9, \
         NULL, 1, 0, false)"
    ))
    .await
    .unwrap();
}

async fn the_migration_adds_relations_and_the_rule_off_for_existing_projects(backend: Backend) {
    use sea_orm_migration::MigratorTrait;
    use tasktracker_migrations::Migrator;

    let database = TestDatabase::create_empty(backend).await;
    let db = Database::connect(database.url.clone()).await.unwrap();
    Migrator::up(&db, Some(migrations_before("m20261210_000001_task_relations"))).await.unwrap();
    let (user, before, after) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    db.execute_unprepared(&format!(
        "INSERT INTO users (id, email, display_name, password_hash, create_time) \
         VALUES ('{user}', 'old@example.com', 'Old', '', 1)"
    ))
    .await
    .unwrap();
    insert_project_like_the_previous_release(&db, &before.to_string(), &user.to_string()).await;
    Migrator::up(&db, None).await.unwrap();
    // The previous release keeps inserting projects after the migration.
    insert_project_like_the_previous_release(&db, &after.to_string(), &user.to_string()).await;
    let rule = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT require_blockers_done FROM projects WHERE id IN ('{before}', '{after}')"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<bool>(0).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(rule, [false, false]);
    let empty = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM task_relations",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(empty, 0);
    // Down and up again: the migration is reversible.
    Migrator::down(&db, Some(1)).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db.close().await.unwrap();
}
