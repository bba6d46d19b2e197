//! Tasks: the standard methods, filters, ordering, paging, concurrency,
//! soft delete, moves, comments and history.

use std::collections::HashSet;

use prost_types::{FieldMask, Timestamp};
use tasktracker_proto::v1;
use tonic::Code;

use crate::{
    helpers::{Backend, TestApp, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    tasks_are_created_read_updated_and_listed,
    every_filter_selects_the_right_tasks,
    order_by_sorts_and_pages_follow_the_order,
    paging_neither_skips_nor_repeats_under_concurrent_inserts,
    a_stale_etag_is_aborted_and_exactly_one_concurrent_update_wins,
    create_is_idempotent_with_a_request_id,
    delete_is_soft_and_can_be_undone,
    tasks_move_within_and_between_columns,
    concurrent_moves_edits_and_creates_in_one_column_all_succeed,
    comments_and_history_are_recorded,
    markdown_is_rendered_safely,
);

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() })
}

fn at(date: &str) -> Timestamp {
    format!("{date}T12:00:00Z").parse().unwrap()
}

async fn list(app: &TestApp, user: &TestUser, project: &str, filter: &str, order_by: &str) -> Vec<String> {
    let response = app
        .tasks()
        .list_tasks(user.call(v1::ListTasksRequest {
            parent: project.into(),
            filter: filter.into(),
            order_by: order_by.into(),
            page_size: 500,
            ..Default::default()
        }))
        .await
        .unwrap_or_else(|status| panic!("filter `{filter}`: {status:?}"))
        .into_inner();
    response.tasks.into_iter().map(|task| task.title).collect()
}

async fn tasks_are_created_read_updated_and_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Launch").await;
    let created = app
        .create_task(
            &ada,
            &project.name,
            v1::Task {
                title: "Write the README".into(),
                description: "# Two commands\n\nRun and test.".into(),
                priority: v1::Priority::High as i32,
                labels: vec!["docs".into(), "docs".into(), "onboarding".into()],
                assignees: vec![ada.name.clone()],
                due_time: Some(at("2026-12-01")),
                ..Default::default()
            },
        )
        .await;
    assert!(created.name.starts_with(&format!("{}/tasks/", project.name)));
    assert_eq!(created.status, v1::TaskStatus::Todo as i32);
    assert_eq!(created.labels, ["docs", "onboarding"]);
    assert_eq!(created.assignees, std::slice::from_ref(&ada.name));
    assert_eq!(created.creator, ada.name);
    assert_eq!(created.etag, "1");

    let got =
        app.tasks().get_task(ada.call(v1::GetTaskRequest { name: created.name.clone() })).await.unwrap().into_inner();
    assert_eq!(got, created);

    let updated = app
        .tasks()
        .update_task(ada.call(v1::UpdateTaskRequest {
            task: Some(v1::Task {
                name: created.name.clone(),
                title: "Write the README and the guide".into(),
                status: v1::TaskStatus::Done as i32,
                labels: vec![],
                etag: created.etag.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["title", "status", "labels"]),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "Write the README and the guide");
    assert_eq!(updated.status, v1::TaskStatus::Done as i32);
    assert!(updated.labels.is_empty());
    assert!(updated.complete_time.is_some());
    // Fields outside the mask are untouched.
    assert_eq!(updated.description, created.description);
    assert_eq!(updated.priority, created.priority);
    assert_eq!(updated.due_time, created.due_time);
    assert_ne!(updated.etag, created.etag);

    let listed = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest { parent: project.name.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.tasks, [updated]);
    assert!(listed.next_page_token.is_empty());
    app.stop().await;
}

async fn every_filter_selects_the_right_tasks(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let grace = app.sign_up("grace").await;
    let project = app.create_project(&ada, "Filters").await;
    app.add_member(&ada, &project.name, &grace, v1::Role::Editor).await;
    let p = &project.name;
    let specs = [
        (
            "alpha",
            v1::TaskStatus::Todo,
            v1::Priority::Low,
            vec!["bug"],
            vec![&ada],
            Some("2026-01-10"),
            "Crash on login page",
        ),
        (
            "beta",
            v1::TaskStatus::InProgress,
            v1::Priority::High,
            vec!["bug", "ui"],
            vec![&grace],
            Some("2026-02-10"),
            "Button colour",
        ),
        (
            "gamma",
            v1::TaskStatus::Done,
            v1::Priority::Urgent,
            vec![],
            vec![&ada, &grace],
            None,
            "100% done_with escapes",
        ),
        (
            "delta",
            v1::TaskStatus::Todo,
            v1::Priority::Unspecified,
            vec!["docs"],
            vec![],
            Some("2026-03-10"),
            "Write the LOGIN guide",
        ),
    ];
    for (title, status, priority, labels, assignees, due, description) in specs {
        app.create_task(
            &ada,
            p,
            v1::Task {
                title: title.into(),
                description: description.into(),
                status: status as i32,
                priority: priority as i32,
                labels: labels.into_iter().map(String::from).collect(),
                assignees: assignees.into_iter().map(|user| user.name.clone()).collect(),
                due_time: due.map(at),
                ..Default::default()
            },
        )
        .await;
    }
    let sorted = |mut titles: Vec<String>| {
        titles.sort();
        titles
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("status = TODO".into(), vec!["alpha", "delta"]),
        ("status != TODO".into(), vec!["beta", "gamma"]),
        ("priority >= HIGH".into(), vec!["beta", "gamma"]),
        ("priority < MEDIUM".into(), vec!["alpha", "delta"]),
        ("priority = UNSPECIFIED".into(), vec!["delta"]),
        ("label = bug".into(), vec!["alpha", "beta"]),
        ("label:ui".into(), vec!["beta"]),
        ("label != bug".into(), vec!["delta", "gamma"]),
        ("label:*".into(), vec!["alpha", "beta", "delta"]),
        ("-label:*".into(), vec!["gamma"]),
        (format!("assignee = \"{}\"", grace.name), vec!["beta", "gamma"]),
        ("assignee = me".into(), vec!["alpha", "gamma"]),
        ("assignee:*".into(), vec!["alpha", "beta", "gamma"]),
        ("NOT assignee:*".into(), vec!["delta"]),
        ("due_time < 2026-02-01".into(), vec!["alpha"]),
        ("due_time >= 2026-02-10T12:00:00Z".into(), vec!["beta", "delta"]),
        ("due_time > 2026-01-01 AND due_time < 2026-03-01".into(), vec!["alpha", "beta"]),
        ("login".into(), vec!["alpha", "delta"]),
        ("\"login page\"".into(), vec!["alpha"]),
        ("title:ALP".into(), vec!["alpha"]),
        ("description:colour".into(), vec!["beta"]),
        ("text:\"100%\"".into(), vec!["gamma"]),
        ("description:done_".into(), vec!["gamma"]),
        ("description:n_c".into(), vec![]),
        ("status = TODO label = docs".into(), vec!["delta"]),
        ("status = DONE OR label = docs".into(), vec!["delta", "gamma"]),
        ("status = TODO AND label = bug OR priority = URGENT".into(), vec!["alpha"]),
        ("(status = TODO AND label = bug) OR priority = URGENT".into(), vec!["alpha", "gamma"]),
        ("NOT (status = TODO OR status = DONE)".into(), vec!["beta"]),
        (format!("create_time > {}", "2000-01-01"), vec!["alpha", "beta", "delta", "gamma"]),
        ("update_time < 2000-01-01".into(), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(sorted(list(&app, &ada, p, &filter, "").await), expected, "filter `{filter}`");
    }
    let bad = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest {
            parent: p.clone(),
            filter: "status = TODO AND (label = bug".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    crate::helpers::assert_invalid_field(&bad, "filter");
    assert!(bad.message().contains("column 19"), "{}", bad.message());
    app.stop().await;
}

async fn order_by_sorts_and_pages_follow_the_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Order").await;
    let p = &project.name;
    for (title, priority, due) in
        [("b", 1, Some("2026-03-01")), ("a", 3, None), ("d", 3, Some("2026-01-01")), ("c", 0, Some("2026-02-01"))]
    {
        app.create_task(
            &ada,
            p,
            v1::Task { title: title.into(), priority, due_time: due.map(at), ..Default::default() },
        )
        .await;
    }
    assert_eq!(list(&app, &ada, p, "", "").await, ["b", "a", "d", "c"], "board order by default");
    assert_eq!(list(&app, &ada, p, "", "title").await, ["a", "b", "c", "d"]);
    assert_eq!(list(&app, &ada, p, "", "title desc").await, ["d", "c", "b", "a"]);
    assert_eq!(list(&app, &ada, p, "", "due_time").await, ["d", "c", "b", "a"], "no due time sorts last");
    assert_eq!(list(&app, &ada, p, "", "due_time desc").await, ["b", "c", "d", "a"], "no due time sorts last");
    assert_eq!(list(&app, &ada, p, "", "create_time desc").await, ["c", "d", "a", "b"]);
    let by_priority = list(&app, &ada, p, "", "priority desc").await;
    assert_eq!(by_priority[2..], ["b", "c"]);

    // Paging one by one reproduces every ordering.
    for order_by in ["title", "due_time desc", "priority desc", "position"] {
        let mut titles = Vec::new();
        let mut token = String::new();
        loop {
            let page = app
                .tasks()
                .list_tasks(ada.call(v1::ListTasksRequest {
                    parent: p.clone(),
                    order_by: order_by.into(),
                    page_size: 1,
                    page_token: token.clone(),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner();
            titles.extend(page.tasks.into_iter().map(|task| task.title));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(titles, list(&app, &ada, p, "", order_by).await, "{order_by}");
    }
    // A token belongs to its query.
    let first = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest {
            parent: p.clone(),
            page_size: 1,
            order_by: "title".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let mismatched = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest {
            parent: p.clone(),
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    crate::helpers::assert_invalid_field(&mismatched, "page_token");
    app.stop().await;
}

async fn paging_neither_skips_nor_repeats_under_concurrent_inserts(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Paging").await;
    let mut originals = HashSet::new();
    for index in 0..30 {
        originals.insert(app.create_task(&ada, &project.name, task(&format!("original {index:02}"))).await.name);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut inserted = 0;
    loop {
        let page = app
            .tasks()
            .list_tasks(ada.call(v1::ListTasksRequest {
                parent: project.name.clone(),
                page_size: 7,
                page_token: token.clone(),
                order_by: "create_time".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.tasks.into_iter().map(|task| task.name));
        // Between pages, others insert tasks concurrently.
        let inserts = (0..3).map(|_| {
            inserted += 1;
            let (app, ada, parent, title) = (&app, &ada, project.name.clone(), format!("inserted {inserted}"));
            async move { app.create_task(ada, &parent, task(&title)).await }
        });
        futures::future::join_all(inserts).await;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no task appears twice");
    assert!(originals.iter().all(|name| unique.contains(name)), "every task that existed before paging is seen");
    app.stop().await;
}

async fn a_stale_etag_is_aborted_and_exactly_one_concurrent_update_wins(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Etags").await;
    let original = app.create_task(&ada, &project.name, task("original")).await;
    let update = |title: String, etag: String| {
        let mut client = app.tasks();
        let request = ada.call(v1::UpdateTaskRequest {
            task: Some(v1::Task { name: original.name.clone(), title, etag, ..Default::default() }),
            update_mask: mask(&["title"]),
        });
        async move { client.update_task(request).await }
    };
    let results =
        futures::future::join_all((0..50).map(|index| update(format!("writer {index}"), original.etag.clone()))).await;
    let winners: Vec<_> = results.iter().filter_map(|result| result.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    assert!(results.iter().filter_map(|result| result.as_ref().err()).all(|status| status.code() == Code::Aborted));
    let current =
        app.tasks().get_task(ada.call(v1::GetTaskRequest { name: original.name.clone() })).await.unwrap().into_inner();
    assert_eq!(&current, winners[0].get_ref());

    // A stale write changes nothing.
    let stale = update("too late".into(), original.etag.clone()).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let after =
        app.tasks().get_task(ada.call(v1::GetTaskRequest { name: original.name.clone() })).await.unwrap().into_inner();
    assert_eq!(after, current);
    // Without an etag the write is unconditional.
    update("last word".into(), String::new()).await.unwrap();
    app.stop().await;
}

async fn create_is_idempotent_with_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Retries").await;
    let request = || {
        ada.call(v1::CreateTaskRequest {
            parent: project.name.clone(),
            task: Some(task("exactly once")),
            request_id: "0b7e7a7e-1d8e-4a4c-9d59-5b1e6f3a9e01".into(),
        })
    };
    let first = app.tasks().create_task(request()).await.unwrap().into_inner();
    let second = app.tasks().create_task(request()).await.unwrap().into_inner();
    assert_eq!(first, second);
    // The same key with another request is refused (AIP-155), whatever
    // differs: a field, or a custom field value (a map, compared by content).
    let mut different = request();
    different.get_mut().task.as_mut().unwrap().title = "exactly twice".into();
    let reused = app.tasks().create_task(different).await.unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition, "{reused:?}");
    assert!(reused.message().contains("request_id"), "{reused:?}");
    let mut with_labels = request();
    with_labels.get_mut().task.as_mut().unwrap().labels = vec!["x".into()];
    assert_eq!(app.tasks().create_task(with_labels).await.unwrap_err().code(), Code::FailedPrecondition);
    // Concurrent retries of another request also create one task.
    let concurrent = futures::future::join_all((0..10).map(|_| {
        let mut client = app.tasks();
        let request = ada.call(v1::CreateTaskRequest {
            parent: project.name.clone(),
            task: Some(task("raced")),
            request_id: "second-request".into(),
        });
        async move { client.create_task(request).await }
    }))
    .await;
    let names: HashSet<String> =
        concurrent.into_iter().map(|result| result.expect("every retry succeeds").into_inner().name).collect();
    assert_eq!(names.len(), 1);
    assert_eq!(list(&app, &ada, &project.name, "", "").await, ["exactly once", "raced"]);
    app.stop().await;
}

async fn delete_is_soft_and_can_be_undone(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Undo").await;
    let doomed = app.create_task(&ada, &project.name, task("doomed")).await;
    app.create_task(&ada, &project.name, task("kept")).await;

    let deleted = app
        .tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: doomed.name.clone(), etag: doomed.etag.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.delete_time.is_some());
    assert!(deleted.purge_time.unwrap().seconds > deleted.delete_time.unwrap().seconds + 29 * 86_400);
    assert_eq!(list(&app, &ada, &project.name, "", "").await, ["kept"]);
    let with_deleted = app
        .tasks()
        .list_tasks(ada.call(v1::ListTasksRequest {
            parent: project.name.clone(),
            show_deleted: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(with_deleted.tasks.len(), 2);
    let again = app
        .tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: doomed.name.clone(), etag: String::new() }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);

    let restored = app
        .tasks()
        .undelete_task(ada.call(v1::UndeleteTaskRequest { name: doomed.name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(restored.delete_time.is_none());
    assert_eq!(restored.title, "doomed");
    assert_eq!(list(&app, &ada, &project.name, "", "").await, ["doomed", "kept"]);
    let not_deleted =
        app.tasks().undelete_task(ada.call(v1::UndeleteTaskRequest { name: doomed.name.clone() })).await.unwrap_err();
    assert_eq!(not_deleted.code(), Code::FailedPrecondition);
    app.stop().await;
}

async fn tasks_move_within_and_between_columns(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Board").await;
    let p = &project.name;
    let mut names = Vec::new();
    for title in ["a", "b", "c"] {
        names.push(app.create_task(&ada, p, task(title)).await.name);
    }
    let move_task = |name: &str, status: v1::TaskStatus, after: &str| {
        let mut client = app.tasks();
        let request = ada.call(v1::MoveTaskRequest {
            name: name.into(),
            status: status as i32,
            after_task: after.into(),
            etag: String::new(),
            state: String::new(),
        });
        async move { client.move_task(request).await }
    };
    let column = async |status: &str| list(&app, &ada, p, &format!("status = {status}"), "position").await;

    move_task(&names[2], v1::TaskStatus::Unspecified, "").await.unwrap();
    assert_eq!(column("TODO").await, ["c", "a", "b"], "c to the top");
    move_task(&names[2], v1::TaskStatus::Unspecified, &names[0]).await.unwrap();
    assert_eq!(column("TODO").await, ["a", "c", "b"], "c after a");
    let moved = move_task(&names[0], v1::TaskStatus::InProgress, "").await.unwrap().into_inner();
    assert_eq!(moved.status, v1::TaskStatus::InProgress as i32);
    assert_eq!(column("TODO").await, ["c", "b"]);
    assert_eq!(column("IN_PROGRESS").await, ["a"]);
    move_task(&names[1], v1::TaskStatus::InProgress, &names[0]).await.unwrap();
    assert_eq!(column("IN_PROGRESS").await, ["a", "b"]);

    // Many inserts at the same spot exhaust the gap and renumber the column.
    for round in 0..26 {
        move_task(if round % 2 == 0 { &names[2] } else { &names[1] }, v1::TaskStatus::InProgress, &names[0])
            .await
            .unwrap();
    }
    assert_eq!(column("IN_PROGRESS").await, ["a", "b", "c"]);

    let foreign = move_task(&names[0], v1::TaskStatus::Done, &names[2]).await.unwrap_err();
    crate::helpers::assert_invalid_field(&foreign, "after_task");
    let done = move_task(&names[0], v1::TaskStatus::Done, "").await.unwrap().into_inner();
    assert!(done.complete_time.is_some());
    app.stop().await;
}

/// Writers of one project overlap (the feed lock is taken last), and a move
/// locks its column's rows: moves that renumber the column, edits of tasks
/// in it and creates into it, all at once, must neither deadlock nor lose a
/// write, and the change feed numbers every one of them.
async fn concurrent_moves_edits_and_creates_in_one_column_all_succeed(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Busy column").await;
    let p = &project.name;
    let mut names = Vec::new();
    for title in ["anchor", "m1", "m2", "m3", "e1", "e2"] {
        names.push(app.create_task(&ada, p, task(title)).await.name);
    }
    let (anchor, movers, edited) = (&names[0], &names[1..4], &names[4..6]);
    let mut calls = Vec::new();
    // 30 moves right after the anchor exhaust the gap (about 20 halvings)
    // and renumber the column while the others write.
    for round in 0..30 {
        let mut client = app.tasks();
        let request = ada.call(v1::MoveTaskRequest {
            name: movers[round % movers.len()].clone(),
            status: v1::TaskStatus::Unspecified as i32,
            after_task: anchor.clone(),
            etag: String::new(),
            state: String::new(),
        });
        calls.push(Box::pin(async move { client.move_task(request).await.map(|_| ()) })
            as std::pin::Pin<Box<dyn Future<Output = Result<(), tonic::Status>> + Send>>);
    }
    for round in 0..20 {
        let mut client = app.tasks();
        let request = ada.call(v1::UpdateTaskRequest {
            task: Some(v1::Task {
                name: edited[round % edited.len()].clone(),
                title: format!("edit {round}"),
                ..Default::default()
            }),
            update_mask: mask(&["title"]),
        });
        calls.push(Box::pin(async move { client.update_task(request).await.map(|_| ()) }));
    }
    for round in 0..10 {
        let mut client = app.tasks();
        let request = ada.call(v1::CreateTaskRequest {
            parent: p.clone(),
            task: Some(task(&format!("new {round}"))),
            request_id: String::new(),
        });
        calls.push(Box::pin(async move { client.create_task(request).await.map(|_| ()) }));
    }
    let results = futures::future::join_all(calls).await;
    let failures: Vec<_> = results.iter().filter_map(|result| result.as_ref().err()).collect();
    assert!(failures.is_empty(), "every write succeeds: {failures:?}");

    let column = list(&app, &ada, p, "status = TODO", "position").await;
    assert_eq!(column.len(), 16, "every task once: {column:?}");
    assert_eq!(column.iter().collect::<HashSet<_>>().len(), 16);
    let mut stream = app
        .tasks()
        .watch_tasks(ada.call(v1::WatchTasksRequest { parent: p.clone(), cursor: "0".into() }))
        .await
        .expect("watch from the start")
        .into_inner();
    let mut seen = Vec::new();
    while seen.len() < 6 + 60 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
            .await
            .expect("the feed replays")
            .expect("stream ok")
            .expect("stream open");
        if let Some(v1::watch_tasks_response::Kind::Event(change)) = event.kind {
            seen.push(change.cursor);
        }
    }
    let numbers: Vec<u64> = seen.iter().map(|cursor| cursor.parse().expect("numeric cursor")).collect();
    assert_eq!(numbers, (1..=66).collect::<Vec<u64>>(), "one event per write, numbered without gaps");
    app.stop().await;
}

async fn comments_and_history_are_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "History").await;
    let created = app.create_task(&ada, &project.name, task("tracked")).await;
    for body in ["First!", "Second, with **markdown**"] {
        let comment = app
            .tasks()
            .create_comment(ada.call(v1::CreateCommentRequest {
                parent: created.name.clone(),
                comment: Some(v1::Comment { body: body.into(), ..Default::default() }),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(comment.author, ada.name);
        assert!(comment.name.starts_with(&format!("{}/comments/", created.name)));
    }
    let first_page = app
        .tasks()
        .list_comments(ada.call(v1::ListCommentsRequest {
            parent: created.name.clone(),
            page_size: 1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_page.comments[0].body, "First!");
    let second_page = app
        .tasks()
        .list_comments(ada.call(v1::ListCommentsRequest {
            parent: created.name.clone(),
            page_size: 1,
            page_token: first_page.next_page_token,
            show_deleted: false,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second_page.comments[0].body, "Second, with **markdown**");
    assert_eq!(second_page.comments[0].body_html, "<p>Second, with <strong>markdown</strong></p>\n");

    app.tasks()
        .update_task(ada.call(v1::UpdateTaskRequest {
            task: Some(v1::Task {
                name: created.name.clone(),
                title: "renamed".into(),
                priority: v1::Priority::Low as i32,
                ..Default::default()
            }),
            update_mask: mask(&["title", "priority"]),
        }))
        .await
        .unwrap();
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: created.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    let history = app
        .tasks()
        .list_task_activities(
            ada.call(v1::ListTaskActivitiesRequest { parent: created.name.clone(), ..Default::default() }),
        )
        .await
        .unwrap()
        .into_inner()
        .activities;
    let kinds: Vec<i32> = history.iter().map(|activity| activity.r#type).collect();
    assert_eq!(
        kinds,
        [v1::TaskEventType::Created as i32, v1::TaskEventType::Updated as i32, v1::TaskEventType::Deleted as i32]
    );
    assert!(history.iter().all(|activity| activity.actor == ada.name));
    let update = &history[1].changes;
    assert_eq!(
        update
            .iter()
            .map(|change| (change.field.as_str(), change.old_value.as_str(), change.new_value.as_str()))
            .collect::<Vec<_>>(),
        [("title", "tracked", "renamed"), ("priority", "PRIORITY_UNSPECIFIED", "PRIORITY_LOW")]
    );
    app.stop().await;
}

async fn markdown_is_rendered_safely(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Markdown").await;
    let created = app.create_task(&ada, &project.name, task("rendered")).await;
    let hostile = "# Plan\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n- [x] done";
    let comment = app
        .tasks()
        .create_comment(ada.call(v1::CreateCommentRequest {
            parent: created.name.clone(),
            comment: Some(v1::Comment { body: hostile.into(), ..Default::default() }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(comment.body, hostile, "the Markdown itself is kept as written");
    let html = &comment.body_html;
    assert!(html.starts_with("<h1>Plan</h1>"), "{html}");
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script"), "{html}");
    assert!(html.contains("<a href=\"#\">x</a>") && !html.contains("href=\"javascript"), "{html}");
    assert!(html.contains("type=\"checkbox\""), "task lists render: {html}");

    let mut tasks = app.tasks();
    let rendered = tasks
        .render_markdown(ada.call(v1::RenderMarkdownRequest { markdown: hostile.into() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(&rendered.html, html, "the preview renders as comments do");
    let empty = tasks.render_markdown(ada.call(v1::RenderMarkdownRequest::default())).await.unwrap().into_inner();
    assert_eq!(empty.html, "");

    let too_long = "a".repeat(20_001);
    let status = tasks.render_markdown(ada.call(v1::RenderMarkdownRequest { markdown: too_long })).await.unwrap_err();
    assert_invalid_field(&status, "markdown");
    app.stop().await;
}
