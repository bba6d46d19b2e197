//! Saved views: their lifecycle, who sees personal and shared views, who
//! may change them, validation, and that a view's filter and order work as
//! ListTasks arguments.

use prost_types::FieldMask;
use tasktracker_proto::v1;
use tonic::{Code, Status};

use crate::{
    helpers::{Backend, TestApp, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    views_are_created_listed_updated_and_deleted,
    personal_views_are_private_and_shared_views_are_for_every_member,
    only_the_creator_or_an_owner_changes_a_view,
    bad_views_are_refused_naming_the_field,
    an_archived_project_keeps_its_views_unchanged,
);

fn view(display_name: &str, visibility: v1::ViewVisibility) -> v1::SavedView {
    v1::SavedView { display_name: display_name.into(), visibility: visibility as i32, ..Default::default() }
}

async fn create(app: &TestApp, user: &TestUser, project: &str, view: v1::SavedView) -> Result<v1::SavedView, Status> {
    let request = v1::CreateSavedViewRequest { parent: project.into(), saved_view: Some(view) };
    app.views().create_saved_view(user.call(request)).await.map(tonic::Response::into_inner)
}

async fn update(app: &TestApp, user: &TestUser, view: v1::SavedView, paths: &[&str]) -> Result<v1::SavedView, Status> {
    let mask = FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() };
    let request = v1::UpdateSavedViewRequest { saved_view: Some(view), update_mask: Some(mask) };
    app.views().update_saved_view(user.call(request)).await.map(tonic::Response::into_inner)
}

async fn delete(app: &TestApp, user: &TestUser, view: &v1::SavedView) -> Result<(), Status> {
    let request = v1::DeleteSavedViewRequest { name: view.name.clone(), etag: view.etag.clone() };
    app.views().delete_saved_view(user.call(request)).await.map(|_| ())
}

async fn names(app: &TestApp, user: &TestUser, project: &str) -> Vec<String> {
    let request = v1::ListSavedViewsRequest { parent: project.into() };
    let views = app.views().list_saved_views(user.call(request)).await.unwrap().into_inner().saved_views;
    views.into_iter().map(|view| view.display_name).collect()
}

async fn get(app: &TestApp, user: &TestUser, name: &str) -> Result<v1::SavedView, Status> {
    let request = v1::GetSavedViewRequest { name: name.into() };
    app.views().get_saved_view(user.call(request)).await.map(tonic::Response::into_inner)
}

/// Ada owns a project with Bob as an editor and Vic as a viewer.
async fn team(app: &TestApp) -> (TestUser, TestUser, TestUser, v1::Project) {
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let vic = app.sign_up("vic").await;
    let project = app.create_project(&ada, "Views").await;
    app.add_member(&ada, &project.name, &bob, v1::Role::Editor).await;
    app.add_member(&ada, &project.name, &vic, v1::Role::Viewer).await;
    (ada, bob, vic, project)
}

async fn views_are_created_listed_updated_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, _, _, project) = team(&app).await;
    app.create_task(&ada, &project.name, v1::Task { priority: v1::Priority::Urgent as i32, ..task("on fire") }).await;
    app.create_task(&ada, &project.name, task("calm")).await;
    let urgent = v1::SavedView {
        filter: "priority >= HIGH".into(),
        order_by: "due_time desc".into(),
        layout: v1::ViewLayout::Table as i32,
        group_by: v1::ViewGrouping::Assignee as i32,
        columns: vec!["title".into(), "priority".into(), "cf.estimate".into()],
        ..view("Urgent", v1::ViewVisibility::Shared)
    };
    let created = create(&app, &ada, &project.name, urgent.clone()).await.unwrap();
    assert!(created.name.starts_with(&format!("{}/views/", project.name)), "{}", created.name);
    assert_eq!(created.creator, ada.name);
    assert_eq!(
        (created.filter.as_str(), created.order_by.as_str(), created.layout, created.group_by),
        ("priority >= HIGH", "due_time desc", urgent.layout, urgent.group_by)
    );
    assert_eq!(created.columns, urgent.columns);
    assert_eq!(created.visibility, v1::ViewVisibility::Shared as i32);
    assert_eq!(get(&app, &ada, &created.name).await.unwrap(), created);

    // A view's filter and order are ListTasks arguments as they are.
    let listed = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest {
            parent: project.name.clone(),
            filter: created.filter.clone(),
            order_by: created.order_by.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(listed.iter().map(|task| task.title.as_str()).collect::<Vec<_>>(), ["on fire"]);

    // A layout left unspecified is a list; the update mask changes only what it names.
    let inbox = create(&app, &ada, &project.name, view("Inbox", v1::ViewVisibility::Personal)).await.unwrap();
    assert_eq!(inbox.layout, v1::ViewLayout::List as i32);
    let renamed = v1::SavedView { display_name: "A calm inbox".into(), filter: "ignored".into(), ..inbox.clone() };
    let renamed = update(&app, &ada, renamed, &["display_name"]).await.unwrap();
    assert_eq!((renamed.display_name.as_str(), renamed.filter.as_str()), ("A calm inbox", ""));
    assert_ne!(renamed.etag, inbox.etag);
    assert_eq!(names(&app, &ada, &project.name).await, ["A calm inbox", "Urgent"], "by display name");

    // A stale etag is refused, for updates and deletes alike.
    let stale = update(&app, &ada, inbox.clone(), &["display_name"]).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(delete(&app, &ada, &inbox).await.unwrap_err().code(), Code::Aborted);
    delete(&app, &ada, &renamed).await.unwrap();
    assert_eq!(get(&app, &ada, &renamed.name).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(names(&app, &ada, &project.name).await, ["Urgent"]);
    app.stop().await;
}

async fn personal_views_are_private_and_shared_views_are_for_every_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, vic, project) = team(&app).await;
    let adas = create(&app, &ada, &project.name, view("Ada's own", v1::ViewVisibility::Personal)).await.unwrap();
    create(&app, &bob, &project.name, view("Team board", v1::ViewVisibility::Shared)).await.unwrap();
    // A viewer keeps personal views but cannot share one.
    create(&app, &vic, &project.name, view("Vic's own", v1::ViewVisibility::Personal)).await.unwrap();
    let shared = create(&app, &vic, &project.name, view("Vic shares", v1::ViewVisibility::Shared)).await;
    assert_eq!(shared.unwrap_err().code(), Code::PermissionDenied);

    assert_eq!(names(&app, &ada, &project.name).await, ["Ada's own", "Team board"]);
    assert_eq!(names(&app, &bob, &project.name).await, ["Team board"]);
    assert_eq!(names(&app, &vic, &project.name).await, ["Team board", "Vic's own"]);
    // Another member's personal view does not exist for Bob, even by name.
    assert_eq!(get(&app, &bob, &adas.name).await.unwrap_err().code(), Code::NotFound);
    let hijack = v1::SavedView { display_name: "mine now".into(), ..adas.clone() };
    assert_eq!(update(&app, &ada, hijack.clone(), &["display_name"]).await.unwrap().creator, ada.name);
    assert_eq!(update(&app, &bob, hijack, &["display_name"]).await.unwrap_err().code(), Code::NotFound);
    // Sharing it makes it everyone's to see.
    let adas = get(&app, &ada, &adas.name).await.unwrap();
    let shared = v1::SavedView { visibility: v1::ViewVisibility::Shared as i32, ..adas };
    update(&app, &ada, shared, &["visibility"]).await.unwrap();
    assert_eq!(names(&app, &bob, &project.name).await, ["mine now", "Team board"]);
    app.stop().await;
}

async fn only_the_creator_or_an_owner_changes_a_view(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, vic, project) = team(&app).await;
    let carl = app.sign_up("carl").await;
    app.add_member(&ada, &project.name, &carl, v1::Role::Editor).await;
    let bobs = create(&app, &bob, &project.name, view("Bob's board", v1::ViewVisibility::Shared)).await.unwrap();
    let renamed = |name: &str| v1::SavedView { display_name: name.into(), etag: String::new(), ..bobs.clone() };
    // Another editor and a viewer may not; a stranger learns nothing.
    for who in [&carl, &vic] {
        let refused = update(&app, who, renamed("Carl's now"), &["display_name"]).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        assert_eq!(delete(&app, who, &renamed("")).await.unwrap_err().code(), Code::PermissionDenied);
    }
    let eve = app.sign_up("eve").await;
    assert_eq!(get(&app, &eve, &bobs.name).await.unwrap_err().code(), Code::PermissionDenied);
    // The creator may, and so may an owner (the view is the team's).
    update(&app, &bob, renamed("Bob's better board"), &["display_name"]).await.unwrap();
    let tidied = update(&app, &ada, renamed("Tidied by Ada"), &["display_name"]).await.unwrap();
    assert_eq!(tidied.creator, bob.name, "the creator stays");
    delete(&app, &ada, &renamed("")).await.unwrap();
    assert!(names(&app, &bob, &project.name).await.is_empty());
    app.stop().await;
}

async fn bad_views_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, _, _, project) = team(&app).await;
    let cases = [
        (
            v1::SavedView { display_name: " ".into(), ..view("", v1::ViewVisibility::Personal) },
            "saved_view.display_name",
        ),
        (
            v1::SavedView { filter: "priority >=".into(), ..view("x", v1::ViewVisibility::Personal) },
            "saved_view.filter",
        ),
        (v1::SavedView { order_by: "colour".into(), ..view("x", v1::ViewVisibility::Personal) }, "saved_view.order_by"),
        (v1::SavedView { layout: 42, ..view("x", v1::ViewVisibility::Personal) }, "saved_view.layout"),
        (
            v1::SavedView { group_by: v1::ViewGrouping::CustomField as i32, ..view("x", v1::ViewVisibility::Personal) },
            "saved_view.group_by_field",
        ),
        (
            v1::SavedView { columns: vec!["colour".into()], ..view("x", v1::ViewVisibility::Personal) },
            "saved_view.columns",
        ),
        (view("x", v1::ViewVisibility::Unspecified), "saved_view.visibility"),
    ];
    for (bad, field) in cases {
        let status = create(&app, &ada, &project.name, bad).await.unwrap_err();
        assert_invalid_field(&status, field);
    }
    let status = create(&app, &ada, "projects/nope", view("x", v1::ViewVisibility::Personal)).await.unwrap_err();
    assert_invalid_field(&status, "parent");
    let created = create(&app, &ada, &project.name, view("ok", v1::ViewVisibility::Personal)).await.unwrap();
    assert_invalid_field(&update(&app, &ada, created.clone(), &["creator"]).await.unwrap_err(), "update_mask");
    assert_invalid_field(&update(&app, &ada, created, &[]).await.unwrap_err(), "update_mask");
    assert!(names(&app, &ada, &project.name).await == ["ok"], "nothing bad was stored");
    app.stop().await;
}

async fn an_archived_project_keeps_its_views_unchanged(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, _, _, project) = team(&app).await;
    let kept = create(&app, &ada, &project.name, view("Kept", v1::ViewVisibility::Shared)).await.unwrap();
    app.projects()
        .archive_project(ada.call(v1::ArchiveProjectRequest { name: project.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    let refused = create(&app, &ada, &project.name, view("New", v1::ViewVisibility::Personal)).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let renamed = v1::SavedView { display_name: "Renamed".into(), ..kept.clone() };
    assert_eq!(update(&app, &ada, renamed, &["display_name"]).await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(delete(&app, &ada, &kept).await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(get(&app, &ada, &kept.name).await.unwrap(), kept, "still readable");
    app.stop().await;
}
