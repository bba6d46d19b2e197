//! Invalid input gets INVALID_ARGUMENT naming the offending field.

use prost_types::{FieldMask, Timestamp};
use tasktracker_proto::v1;

use crate::{
    helpers::{Backend, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(each_constrained_field_is_named_when_invalid);

async fn each_constrained_field_is_named_when_invalid(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let outsider = app.sign_up("outsider").await;
    let project = app.create_project(&ada, "Validation").await;
    let existing = app.create_task(&ada, &project.name, task("existing")).await;
    let p = project.name.clone();

    let sign_ups = [
        (
            v1::SignUpRequest {
                email: "not-an-email".into(),
                password: "long enough password".into(),
                display_name: "A".into(),
            },
            "email",
        ),
        (
            v1::SignUpRequest { email: "a@example.com".into(), password: "short".into(), display_name: "A".into() },
            "password",
        ),
        (
            v1::SignUpRequest {
                email: "b@example.com".into(),
                password: "long enough password".into(),
                display_name: " ".into(),
            },
            "display_name",
        ),
    ];
    for (request, field) in sign_ups {
        assert_invalid_field(&app.accounts().sign_up(request).await.unwrap_err(), field);
    }

    let project_with = |title: String, description: String| v1::CreateProjectRequest {
        project: Some(v1::Project { title, description, ..Default::default() }),
        request_id: String::new(),
    };
    for (request, field) in [
        (project_with(String::new(), String::new()), "project.title"),
        (project_with("x".repeat(201), String::new()), "project.title"),
        (project_with("ok".into(), "x".repeat(10_001)), "project.description"),
        (v1::CreateProjectRequest { project: None, request_id: String::new() }, "project"),
    ] {
        assert_invalid_field(&app.projects().create_project(ada.call(request)).await.unwrap_err(), field);
    }

    let create = |parent: &str, task: v1::Task, request_id: &str| {
        ada.call(v1::CreateTaskRequest { parent: parent.into(), task: Some(task), request_id: request_id.into() })
    };
    let cases = vec![
        (create("projects/nope", task("t"), ""), "parent"),
        (create(&p, task(""), ""), "task.title"),
        (create(&p, task(&"x".repeat(501)), ""), "task.title"),
        (create(&p, v1::Task { description: "x".repeat(20_001), ..task("t") }, ""), "task.description"),
        (create(&p, v1::Task { status: 9, ..task("t") }, ""), "task.status"),
        (create(&p, v1::Task { priority: -3, ..task("t") }, ""), "task.priority"),
        (create(&p, v1::Task { labels: vec!["has space".into()], ..task("t") }, ""), "task.labels[0]"),
        (create(&p, v1::Task { labels: (0..21).map(|i| format!("l{i}")).collect(), ..task("t") }, ""), "task.labels"),
        (create(&p, v1::Task { assignees: vec!["ada".into()], ..task("t") }, ""), "task.assignees[0]"),
        (
            create(&p, v1::Task { assignees: vec![ada.name.clone(), outsider.name.clone()], ..task("t") }, ""),
            "task.assignees[1]",
        ),
        (
            create(&p, v1::Task { due_time: Some(Timestamp { seconds: i64::MAX, nanos: 0 }), ..task("t") }, ""),
            "task.due_time",
        ),
        (
            create(&p, v1::Task { start_time: Some(Timestamp { seconds: 0, nanos: -5 }), ..task("t") }, ""),
            "task.start_time",
        ),
        (create(&p, task("t"), &"r".repeat(65)), "request_id"),
    ];
    for (request, field) in cases {
        assert_invalid_field(&app.tasks().create_task(request).await.unwrap_err(), field);
    }
    // Several bad fields are all named at once.
    let several = app.tasks().create_task(create(&p, v1::Task { status: 7, ..task("") }, "")).await.unwrap_err();
    assert_invalid_field(&several, "task.title");
    assert_invalid_field(&several, "task.status");

    let list = |filter: &str, order_by: &str, page_size: i32, page_token: &str| {
        ada.call(v1::ListTasksRequest {
            parent: p.clone(),
            filter: filter.into(),
            order_by: order_by.into(),
            page_size,
            page_token: page_token.into(),
            show_deleted: false,
        })
    };
    for (request, field) in [
        (list("", "", -1, ""), "page_size"),
        (list("status = SOMEDAY", "", 0, ""), "filter"),
        (list("", "colour", 0, ""), "order_by"),
        (list("", "", 0, "forged"), "page_token"),
    ] {
        assert_invalid_field(&app.tasks().list_tasks(request).await.unwrap_err(), field);
    }

    let update = |paths: &[&str]| {
        ada.call(v1::UpdateTaskRequest {
            task: Some(v1::Task { name: existing.name.clone(), ..task("t") }),
            update_mask: Some(FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() }),
        })
    };
    assert_invalid_field(&app.tasks().update_task(update(&[])).await.unwrap_err(), "update_mask");
    assert_invalid_field(&app.tasks().update_task(update(&["creator"])).await.unwrap_err(), "update_mask");
    let comment = |body: String| {
        ada.call(v1::CreateCommentRequest {
            parent: existing.name.clone(),
            comment: Some(v1::Comment { body, ..Default::default() }),
        })
    };
    assert_invalid_field(&app.tasks().create_comment(comment(String::new())).await.unwrap_err(), "comment.body");
    assert_invalid_field(&app.tasks().create_comment(comment("x".repeat(10_001))).await.unwrap_err(), "comment.body");

    let moved = app
        .tasks()
        .move_task(ada.call(v1::MoveTaskRequest {
            name: existing.name.clone(),
            status: 0,
            after_task: "tasks/1".into(),
            etag: String::new(),
            state: String::new(),
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&moved, "after_task");

    let token = |scope: i32, display_name: &str| {
        ada.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken { display_name: display_name.into(), scope, ..Default::default() }),
        })
    };
    assert_invalid_field(&app.accounts().create_api_token(token(0, "bot")).await.unwrap_err(), "api_token.scope");
    assert_invalid_field(&app.accounts().create_api_token(token(1, "")).await.unwrap_err(), "api_token.display_name");

    let member = ada.call(v1::AddMemberRequest {
        parent: p.clone(),
        member: Some(v1::Member { user: outsider.name.clone(), role: 0, ..Default::default() }),
    });
    assert_invalid_field(&app.projects().add_member(member).await.unwrap_err(), "member.role");
    app.stop().await;
}
