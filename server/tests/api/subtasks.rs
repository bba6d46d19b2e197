//! Subtasks: `Task.parent`, the rollup of a task's subtasks, the rules a
//! parent must meet (same project, not deleted, no cycle, bounded depth),
//! the filter, and history.

use prost_types::FieldMask;
use tasktracker_proto::v1;
use tonic::Status;

use crate::{
    helpers::{Backend, TestApp, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    subtasks_are_created_under_a_parent_and_rolled_up,
    tasks_are_reparented_and_made_top_level,
    cycles_are_refused,
    concurrent_reparenting_cannot_make_a_cycle,
    chains_deeper_than_the_limit_are_refused,
    a_parent_must_be_a_live_task_of_the_same_project,
    tasks_are_filtered_by_parent,
);

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() })
}

fn under(title: &str, parent: &v1::Task) -> v1::Task {
    v1::Task { parent: parent.name.clone(), ..task(title) }
}

async fn get(app: &TestApp, user: &TestUser, task: &v1::Task) -> v1::Task {
    app.tasks().get_task(user.call(v1::GetTaskRequest { name: task.name.clone() })).await.unwrap().into_inner()
}

async fn update(app: &TestApp, user: &TestUser, task: v1::Task, paths: &[&str]) -> Result<v1::Task, Status> {
    app.tasks()
        .update_task(user.call(v1::UpdateTaskRequest { task: Some(task), update_mask: mask(paths) }))
        .await
        .map(tonic::Response::into_inner)
}

/// Sets (or, with `None`, clears) `task`'s parent.
async fn set_parent(
    app: &TestApp,
    user: &TestUser,
    task: &v1::Task,
    parent: Option<&v1::Task>,
) -> Result<v1::Task, Status> {
    let parent = parent.map(|parent| parent.name.clone()).unwrap_or_default();
    update(app, user, v1::Task { name: task.name.clone(), parent, ..Default::default() }, &["parent"]).await
}

fn rollup(task: &v1::Task) -> (i32, i32) {
    (task.subtasks_done, task.subtasks_total)
}

async fn subtasks_are_created_under_a_parent_and_rolled_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Subtasks").await;
    let p = &project.name;
    let parent = app.create_task(&ada, p, task("release")).await;
    assert_eq!((parent.parent.as_str(), rollup(&parent)), ("", (0, 0)));
    let notes = app.create_task(&ada, p, under("notes", &parent)).await;
    let tag = app.create_task(&ada, p, under("tag", &parent)).await;
    let build = app.create_task(&ada, p, under("build", &parent)).await;
    assert_eq!(notes.parent, parent.name);
    assert_eq!(rollup(&get(&app, &ada, &parent).await), (0, 3));

    // Done: in a COMPLETED state.
    let done = v1::Task { name: notes.name.clone(), status: v1::TaskStatus::Done as i32, ..Default::default() };
    let done = update(&app, &ada, done, &["status"]).await.unwrap();
    assert!(done.complete_time.is_some());
    assert_eq!(done.parent, parent.name, "an update without `parent` in the mask keeps it");
    assert_eq!(rollup(&get(&app, &ada, &parent).await), (1, 3));

    // A deleted subtask leaves the rollup, and comes back with undelete.
    let delete = v1::DeleteTaskRequest { name: tag.name.clone(), etag: String::new() };
    app.tasks().delete_task(ada.call(delete)).await.unwrap();
    assert_eq!(rollup(&get(&app, &ada, &parent).await), (1, 2));
    app.tasks().undelete_task(ada.call(v1::UndeleteTaskRequest { name: tag.name.clone() })).await.unwrap();
    assert_eq!(rollup(&get(&app, &ada, &parent).await), (1, 3));

    // ListTasks carries the rollup too.
    let listed = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest { parent: p.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    let listed_parent = listed.iter().find(|task| task.name == parent.name).unwrap();
    assert_eq!(rollup(listed_parent), (1, 3));

    // Deleting the parent keeps its subtasks, which still name it.
    let delete = v1::DeleteTaskRequest { name: parent.name.clone(), etag: String::new() };
    app.tasks().delete_task(ada.call(delete)).await.unwrap();
    let build = get(&app, &ada, &build).await;
    assert!(build.delete_time.is_none());
    assert_eq!(build.parent, parent.name);
    app.stop().await;
}

async fn tasks_are_reparented_and_made_top_level(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Re-parenting").await;
    let p = &project.name;
    let first = app.create_task(&ada, p, task("first")).await;
    let second = app.create_task(&ada, p, task("second")).await;
    let child = app.create_task(&ada, p, under("child", &first)).await;

    let moved = set_parent(&app, &ada, &child, Some(&second)).await.unwrap();
    assert_eq!(moved.parent, second.name);
    assert_eq!(rollup(&get(&app, &ada, &first).await), (0, 0));
    assert_eq!(rollup(&get(&app, &ada, &second).await), (0, 1));

    // `*` with an empty parent leaves it (clients that predate subtasks).
    let everything = v1::Task { title: "child, renamed".into(), parent: String::new(), ..moved.clone() };
    let renamed = update(&app, &ada, everything, &["*"]).await.unwrap();
    assert_eq!(renamed.parent, second.name);

    let cleared = set_parent(&app, &ada, &child, None).await.unwrap();
    assert_eq!(cleared.parent, "");
    assert_eq!(rollup(&get(&app, &ada, &second).await), (0, 0));

    // Each change is an UPDATED entry in history naming the field.
    let history = app
        .tasks()
        .list_task_activities(
            ada.call(v1::ListTaskActivitiesRequest { parent: child.name.clone(), ..Default::default() }),
        )
        .await
        .unwrap()
        .into_inner()
        .activities;
    let parents: Vec<(String, String)> = history
        .iter()
        .filter(|activity| activity.r#type == v1::TaskEventType::Updated as i32)
        .flat_map(|activity| activity.changes.iter().filter(|change| change.field == "parent"))
        .map(|change| (change.old_value.clone(), change.new_value.clone()))
        .collect();
    assert_eq!(
        parents,
        [(first.name.clone(), second.name.clone()), (second.name.clone(), String::new())],
        "{history:?}"
    );
    let created = &history[0];
    assert_eq!(created.r#type, v1::TaskEventType::Created as i32);
    assert!(created.changes.iter().any(|change| change.field == "parent" && change.new_value == first.name));
    app.stop().await;
}

async fn cycles_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Cycles").await;
    let p = &project.name;
    let a = app.create_task(&ada, p, task("a")).await;
    let b = app.create_task(&ada, p, under("b", &a)).await;
    let c = app.create_task(&ada, p, under("c", &b)).await;

    let own = set_parent(&app, &ada, &a, Some(&a)).await.unwrap_err();
    assert_invalid_field(&own, "task.parent");
    // A → B → A.
    let short = set_parent(&app, &ada, &a, Some(&b)).await.unwrap_err();
    assert_invalid_field(&short, "task.parent");
    assert!(short.message().contains("its own ancestor"), "{short:?}");
    // A → B → C → A.
    let longer = set_parent(&app, &ada, &a, Some(&c)).await.unwrap_err();
    assert_invalid_field(&longer, "task.parent");
    assert_eq!(get(&app, &ada, &a).await.parent, "", "nothing changed");

    // Moving within the tree without a cycle is fine: C up under A.
    assert_eq!(set_parent(&app, &ada, &c, Some(&a)).await.unwrap().parent, a.name);
    app.stop().await;
}

async fn concurrent_reparenting_cannot_make_a_cycle(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Races").await;
    let p = &project.name;
    for round in 0..5 {
        let a = app.create_task(&ada, p, task(&format!("a{round}"))).await;
        let b = app.create_task(&ada, p, task(&format!("b{round}"))).await;
        // Each alone is fine; together they would be a cycle.
        let (a_under_b, b_under_a) =
            tokio::join!(set_parent(&app, &ada, &a, Some(&b)), set_parent(&app, &ada, &b, Some(&a)));
        let refused = match (a_under_b, b_under_a) {
            (Ok(_), Err(refused)) | (Err(refused), Ok(_)) => refused,
            other => panic!("exactly one may win: {other:?}"),
        };
        assert_invalid_field(&refused, "task.parent");
        let (a, b) = (get(&app, &ada, &a).await, get(&app, &ada, &b).await);
        assert!(a.parent.is_empty() != b.parent.is_empty(), "one is the other's subtask: {a:?} {b:?}");
    }
    app.stop().await;
}

async fn chains_deeper_than_the_limit_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Depth").await;
    let p = &project.name;
    // A chain of 5 tasks is the most allowed.
    let mut chain = vec![app.create_task(&ada, p, task("level 1")).await];
    for level in 2..=5 {
        let parent = chain.last().unwrap().clone();
        chain.push(app.create_task(&ada, p, under(&format!("level {level}"), &parent)).await);
    }
    let too_deep = app.create_task_result(&ada, p, under("level 6", &chain[4])).await.unwrap_err();
    assert_invalid_field(&too_deep, "task.parent");
    assert!(too_deep.message().contains("more than 5"), "{too_deep:?}");

    // Re-parenting counts the moving task's own subtasks: a two-task
    // subtree fits under level 3, not under level 4.
    let top = app.create_task(&ada, p, task("top")).await;
    app.create_task(&ada, p, under("below top", &top)).await;
    let refused = set_parent(&app, &ada, &top, Some(&chain[3])).await.unwrap_err();
    assert_invalid_field(&refused, "task.parent");
    assert_eq!(set_parent(&app, &ada, &top, Some(&chain[2])).await.unwrap().parent, chain[2].name);
    let leaf = app.create_task(&ada, p, task("leaf")).await;
    let refused = set_parent(&app, &ada, &leaf, Some(&chain[4])).await.unwrap_err();
    assert_invalid_field(&refused, "task.parent");
    app.stop().await;
}

async fn a_parent_must_be_a_live_task_of_the_same_project(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Home").await;
    let other = app.create_project(&ada, "Elsewhere").await;
    let p = &project.name;
    let stranger = app.create_task(&ada, &other.name, task("in another project")).await;
    let refused = app.create_task_result(&ada, p, under("child", &stranger)).await.unwrap_err();
    assert_invalid_field(&refused, "task.parent");
    let mine = app.create_task(&ada, p, task("mine")).await;
    let refused = set_parent(&app, &ada, &mine, Some(&stranger)).await.unwrap_err();
    assert_invalid_field(&refused, "task.parent");

    // A well-formed name of no task of the project.
    let missing = v1::Task { name: format!("{p}/tasks/0193a5b4-7c1e-7d2f-8a3b-4c5d6e7f8091"), ..Default::default() };
    let refused = app.create_task_result(&ada, p, under("orphan", &missing)).await.unwrap_err();
    assert_invalid_field(&refused, "task.parent");
    let malformed = v1::Task { parent: "tasks/1".into(), ..task("bad") };
    assert_invalid_field(&app.create_task_result(&ada, p, malformed).await.unwrap_err(), "task.parent");

    // A deleted task takes no new subtasks.
    let deleted = app.create_task(&ada, p, task("deleted")).await;
    let delete = v1::DeleteTaskRequest { name: deleted.name.clone(), etag: String::new() };
    app.tasks().delete_task(ada.call(delete)).await.unwrap();
    let refused = app.create_task_result(&ada, p, under("late", &deleted)).await.unwrap_err();
    assert_invalid_field(&refused, "task.parent");
    assert!(refused.message().contains("deleted"), "{refused:?}");
    let refused = set_parent(&app, &ada, &mine, Some(&deleted)).await.unwrap_err();
    assert_invalid_field(&refused, "task.parent");
    app.stop().await;
}

async fn tasks_are_filtered_by_parent(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Filters").await;
    let p = &project.name;
    let alpha = app.create_task(&ada, p, task("alpha")).await;
    let beta = app.create_task(&ada, p, task("beta")).await;
    app.create_task(&ada, p, under("alpha 1", &alpha)).await;
    app.create_task(&ada, p, under("alpha 2", &alpha)).await;
    app.create_task(&ada, p, under("beta 1", &beta)).await;
    let titles = async |filter: String| -> Vec<String> {
        let request =
            v1::ListTasksRequest { parent: p.clone(), filter, order_by: "title".into(), ..Default::default() };
        let tasks = app.tasks().list_tasks(ada.call(request)).await.unwrap().into_inner().tasks;
        tasks.into_iter().map(|task| task.title).collect()
    };
    assert_eq!(titles(format!("parent = \"{}\"", alpha.name)).await, ["alpha 1", "alpha 2"]);
    assert_eq!(titles(format!("parent != \"{}\"", alpha.name)).await, ["alpha", "beta", "beta 1"]);
    assert_eq!(titles("parent = \"\"".into()).await, ["alpha", "beta"]);
    assert_eq!(titles("-parent:*".into()).await, ["alpha", "beta"]);
    assert_eq!(titles("parent:*".into()).await, ["alpha 1", "alpha 2", "beta 1"]);
    assert_eq!(titles("parent != \"\" AND title:1".into()).await, ["alpha 1", "beta 1"]);
    let refused = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest {
            parent: p.clone(),
            filter: "parent = alpha".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&refused, "filter");
    app.stop().await;
}
