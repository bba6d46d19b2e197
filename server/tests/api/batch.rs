//! `BatchUpdateTasks` and `BatchDeleteTasks`: many tasks of one project,
//! all or nothing, each guarded by its own etag; a failure names its entry.

use prost_types::FieldMask;
use tasktracker_proto::v1::{self, notification_service_client::NotificationServiceClient};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::{
    helpers::{Backend, TestApp, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    a_batch_update_applies_every_entry_in_one_change_each,
    one_failing_entry_leaves_every_task_unchanged,
    batch_requests_are_checked_entry_by_entry,
    a_batch_delete_deletes_all_or_none,
);

fn update(task: v1::Task, paths: &[&str]) -> v1::UpdateTaskRequest {
    let paths = paths.iter().map(|path| (*path).to_owned()).collect();
    v1::UpdateTaskRequest { task: Some(task), update_mask: Some(FieldMask { paths }) }
}

async fn batch_update(
    app: &TestApp,
    user: &TestUser,
    project: &str,
    requests: Vec<v1::UpdateTaskRequest>,
) -> Result<Vec<v1::Task>, Status> {
    let request = v1::BatchUpdateTasksRequest { parent: project.into(), requests };
    app.tasks().batch_update_tasks(user.call(request)).await.map(|response| response.into_inner().tasks)
}

async fn batch_delete(
    app: &TestApp,
    user: &TestUser,
    project: &str,
    requests: Vec<(&v1::Task, &str)>,
) -> Result<Vec<v1::Task>, Status> {
    let requests = requests
        .into_iter()
        .map(|(task, etag)| v1::DeleteTaskRequest { name: task.name.clone(), etag: etag.into() })
        .collect();
    let request = v1::BatchDeleteTasksRequest { parent: project.into(), requests };
    app.tasks().batch_delete_tasks(user.call(request)).await.map(|response| response.into_inner().tasks)
}

async fn get(app: &TestApp, user: &TestUser, task: &v1::Task) -> v1::Task {
    app.tasks().get_task(user.call(v1::GetTaskRequest { name: task.name.clone() })).await.unwrap().into_inner()
}

async fn a_batch_update_applies_every_entry_in_one_change_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let project = app.create_project(&ada, "Batch").await;
    let p = &project.name;
    app.add_member(&ada, p, &bob, v1::Role::Editor).await;
    let [first, second, third] = [
        app.create_task(&ada, p, task("first")).await,
        app.create_task(&ada, p, task("second")).await,
        app.create_task(&ada, p, task("third")).await,
    ];

    // Each entry its own mask: a state, labels, assignees.
    let done = v1::Task {
        name: first.name.clone(),
        etag: first.etag.clone(),
        status: v1::TaskStatus::Done as i32,
        ..Default::default()
    };
    let labelled = v1::Task { name: second.name.clone(), labels: vec!["release".into()], ..Default::default() };
    let assigned = v1::Task { name: third.name.clone(), assignees: vec![bob.name.clone()], ..Default::default() };
    let requests = vec![update(done, &["status"]), update(labelled, &["labels"]), update(assigned, &["assignees"])];
    let updated = batch_update(&app, &ada, p, requests).await.expect("batch update");

    let names: Vec<&str> = updated.iter().map(|task| task.name.as_str()).collect();
    assert_eq!(names, [first.name.as_str(), &second.name, &third.name], "answered in the order asked");
    assert_eq!(updated[0].status(), v1::TaskStatus::Done);
    assert!(updated[0].complete_time.is_some());
    assert_eq!(updated[1].labels, ["release"]);
    assert_eq!(updated[2].assignees, vec![bob.name.clone()]);
    for (before, after) in [&first, &second, &third].into_iter().zip(&updated) {
        assert_ne!(before.etag, after.etag, "{}: a new version", after.title);
        assert_eq!(after.title, before.title, "fields outside the mask are kept");
        assert_eq!(&get(&app, &ada, before).await, after, "stored as answered");
    }

    // One history entry per task, and Bob notified once, of his assignment.
    let activities = app
        .tasks()
        .list_task_activities(
            ada.call(v1::ListTaskActivitiesRequest { parent: third.name.clone(), ..Default::default() }),
        )
        .await
        .unwrap()
        .into_inner()
        .activities;
    assert_eq!(activities.len(), 2, "created, then assigned: {activities:?}");
    let inbox = NotificationServiceClient::new(app.channel.clone())
        .list_notifications(bob.call(v1::ListNotificationsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .notifications;
    let kinds: Vec<(v1::NotificationKind, &str)> =
        inbox.iter().map(|notification| (notification.kind(), notification.task_title.as_str())).collect();
    assert_eq!(kinds, [(v1::NotificationKind::Assigned, "third")]);
}

async fn one_failing_entry_leaves_every_task_unchanged(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Atomic").await;
    let p = &project.name;
    let first = app.create_task(&ada, p, task("first")).await;
    let second = app.create_task(&ada, p, task("second")).await;
    let renamed = |task: &v1::Task, etag: &str| {
        update(v1::Task { name: task.name.clone(), etag: etag.into(), ..self::task("renamed") }, &["title"])
    };

    // The second entry's etag is stale: nothing is written, and the error
    // names the entry.
    let stale = batch_update(&app, &ada, p, vec![renamed(&first, &first.etag), renamed(&second, "W/\"99\"")])
        .await
        .expect_err("a stale etag");
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    assert!(stale.message().starts_with("requests[1]: "), "{stale:?}");
    assert_eq!(get(&app, &ada, &first).await, first, "the first entry was rolled back");
    assert_eq!(get(&app, &ada, &second).await, second);

    // A rule refusing one entry (a deleted task) refuses the batch.
    batch_delete(&app, &ada, p, vec![(&second, "")]).await.expect("delete the second task");
    let refused =
        batch_update(&app, &ada, p, vec![renamed(&first, ""), renamed(&second, "")]).await.expect_err("a deleted task");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().starts_with("requests[1]: the task is deleted"), "{refused:?}");
    assert_eq!(get(&app, &ada, &first).await, first);

    // A task that does not exist: not found, and still nothing written.
    let missing = v1::Task { name: format!("{p}/tasks/{}", uuid::Uuid::now_v7()), ..task("ghost") };
    let not_found = batch_update(&app, &ada, p, vec![renamed(&first, ""), update(missing, &["title"])])
        .await
        .expect_err("a missing task");
    assert_eq!(not_found.code(), Code::NotFound, "{not_found:?}");
    assert_eq!(get(&app, &ada, &first).await, first);

    // Entries checked before the write name theirs too.
    let carol = app.sign_up("carol").await;
    let stranger = v1::Task { name: first.name.clone(), assignees: vec![carol.name.clone()], ..Default::default() };
    let invalid = batch_update(&app, &ada, p, vec![renamed(&second, ""), update(stranger, &["assignees"])])
        .await
        .expect_err("a non-member assignee");
    assert_invalid_field(&invalid, "requests[1].task.assignees[0]");
}

async fn batch_requests_are_checked_entry_by_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Checks").await;
    let elsewhere = app.create_project(&ada, "Elsewhere").await;
    let p = &project.name;
    let mine = app.create_task(&ada, p, task("mine")).await;
    let other = app.create_task(&ada, &elsewhere.name, task("other")).await;
    let title = |task: &v1::Task, title: &str| {
        update(v1::Task { name: task.name.clone(), title: title.into(), ..Default::default() }, &["title"])
    };

    let empty = batch_update(&app, &ada, p, Vec::new()).await.expect_err("no entries");
    assert_invalid_field(&empty, "requests");
    let too_many = batch_update(&app, &ada, p, vec![title(&mine, "x"); 101]).await.expect_err("101 entries");
    assert_invalid_field(&too_many, "requests");
    let limit = too_many.get_details_bad_request().expect("a BadRequest").field_violations.remove(0).description;
    assert_eq!(limit, "at most 100 tasks per batch, not 101");
    // Wrong everywhere: the error names the first 20, counts the rest.
    let blanks: Vec<_> = (0..100).map(|_| title(&mine, "")).collect();
    let everywhere = batch_update(&app, &ada, p, blanks).await.expect_err("100 blank titles");
    assert_invalid_field(&everywhere, "requests[0].task.title");
    assert_eq!(everywhere.get_details_bad_request().expect("a BadRequest").field_violations.len(), 20);
    assert!(everywhere.message().ends_with("and 80 more"), "{}", everywhere.message());
    let twice = batch_update(&app, &ada, p, vec![title(&mine, "a"), title(&mine, "b")]).await.expect_err("twice");
    assert_invalid_field(&twice, "requests[1].task.name");
    let foreign = batch_update(&app, &ada, p, vec![title(&other, "moved")]).await.expect_err("another project's");
    assert_invalid_field(&foreign, "requests[0].task.name");
    let blank = batch_update(&app, &ada, p, vec![title(&mine, "ok"), title(&other, "")]).await.expect_err("blank");
    assert_invalid_field(&blank, "requests[1].task.title");
    let parent = v1::BatchUpdateTasksRequest { parent: "projects".into(), requests: vec![title(&mine, "x")] };
    let bad_parent = app.tasks().batch_update_tasks(ada.call(parent)).await.expect_err("a bad parent");
    assert_invalid_field(&bad_parent, "parent");
    let deletion = v1::BatchDeleteTasksRequest {
        parent: p.clone(),
        requests: vec![v1::DeleteTaskRequest { name: "tasks/1".into(), etag: String::new() }],
    };
    let bad_name = app.tasks().batch_delete_tasks(ada.call(deletion)).await.expect_err("a bad name");
    assert_invalid_field(&bad_name, "requests[0].name");
    assert_eq!(get(&app, &ada, &mine).await, mine, "nothing was written");
    assert_eq!(get(&app, &ada, &other).await, other);
}

async fn a_batch_delete_deletes_all_or_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Deletes").await;
    let p = &project.name;
    let [first, second, third] = [
        app.create_task(&ada, p, task("first")).await,
        app.create_task(&ada, p, task("second")).await,
        app.create_task(&ada, p, task("third")).await,
    ];

    let deleted = batch_delete(&app, &ada, p, vec![(&first, &first.etag), (&second, "")]).await.expect("delete two");
    assert_eq!(deleted.len(), 2);
    assert!(deleted.iter().all(|task| task.delete_time.is_some() && task.purge_time.is_some()), "{deleted:?}");
    let listed = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest { parent: p.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    let titles: Vec<&str> = listed.iter().map(|task| task.title.as_str()).collect();
    assert_eq!(titles, ["third"]);

    // An entry already deleted (or stale) fails the batch: the third stays.
    let again = batch_delete(&app, &ada, p, vec![(&third, ""), (&first, "")]).await.expect_err("deleted already");
    assert_eq!(again.code(), Code::NotFound, "{again:?}");
    let stale = batch_delete(&app, &ada, p, vec![(&third, "W/\"99\"")]).await.expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    assert!(stale.message().starts_with("requests[0]: "), "{stale:?}");
    assert!(get(&app, &ada, &third).await.delete_time.is_none(), "the third task is live");

    // Undelete works on each as usual.
    let restored = app
        .tasks()
        .undelete_task(ada.call(v1::UndeleteTaskRequest { name: first.name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(restored.delete_time.is_none());
}
