//! WatchTasks: live delivery, heartbeats, resuming from a cursor, and
//! delivery across server processes sharing one PostgreSQL database.

use std::time::Duration;

use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient, watch_tasks_response::Kind};
use tonic::Streaming;

use crate::{
    helpers::{Backend, ServerProcess, TestApp, TestUser, connect, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    watchers_see_changes_live_and_resume_from_a_cursor,
    signing_out_ends_the_sessions_streams,
    removing_a_member_ends_their_streams_on_the_project,
);

const WAIT: Duration = Duration::from_secs(10);

/// The next message of a stream, within `WAIT`.
async fn next(stream: &mut Streaming<v1::WatchTasksResponse>) -> Kind {
    tokio::time::timeout(WAIT, stream.message())
        .await
        .expect("a message within the wait")
        .expect("stream healthy")
        .expect("stream open")
        .kind
        .expect("kind set")
}

/// The next event, skipping heartbeats.
async fn next_event(stream: &mut Streaming<v1::WatchTasksResponse>) -> v1::TaskEvent {
    loop {
        if let Kind::Event(event) = next(stream).await {
            return event;
        }
    }
}

async fn watch(
    client: &mut TaskServiceClient<tonic::transport::Channel>,
    user: &TestUser,
    project: &str,
    cursor: &str,
) -> Streaming<v1::WatchTasksResponse> {
    client
        .watch_tasks(user.call(v1::WatchTasksRequest { parent: project.into(), cursor: cursor.into() }))
        .await
        .expect("watch starts")
        .into_inner()
}

async fn rename(app: &TestApp, user: &TestUser, name: &str, title: &str) {
    app.tasks()
        .update_task(user.call(v1::UpdateTaskRequest {
            task: Some(v1::Task { name: name.into(), title: title.into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
        }))
        .await
        .expect("rename");
}

async fn watchers_see_changes_live_and_resume_from_a_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Live").await;
    let mut stream = watch(&mut app.tasks(), &ada, &project.name, "").await;
    let Kind::Heartbeat(first) = next(&mut stream).await else { panic!("a stream starts with a heartbeat") };
    assert_eq!(first.cursor, "0");

    let created = app.create_task(&ada, &project.name, task("live")).await;
    let event = next_event(&mut stream).await;
    assert_eq!(event.r#type, v1::TaskEventType::Created as i32);
    assert_eq!(event.task.as_ref().unwrap(), &created);
    assert_eq!(event.actor, ada.name);

    // An idle stream keeps sending heartbeats (every second in tests).
    let Kind::Heartbeat(idle) = next(&mut stream).await else { panic!("idle streams send heartbeats") };
    assert_eq!(idle.cursor, event.cursor);
    drop(stream);

    // Changes made while disconnected arrive, in order, after resuming.
    rename(&app, &ada, &created.name, "renamed once").await;
    rename(&app, &ada, &created.name, "renamed twice").await;
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: created.name.clone(), etag: String::new() }))
        .await
        .unwrap();
    let mut resumed = watch(&mut app.tasks(), &ada, &project.name, &event.cursor).await;
    let titles = [next_event(&mut resumed).await, next_event(&mut resumed).await, next_event(&mut resumed).await];
    assert_eq!(
        titles.iter().map(|event| (event.r#type, event.task.as_ref().unwrap().title.as_str())).collect::<Vec<_>>(),
        [
            (v1::TaskEventType::Updated as i32, "renamed once"),
            (v1::TaskEventType::Updated as i32, "renamed twice"),
            (v1::TaskEventType::Deleted as i32, "renamed twice"),
        ]
    );
    let cursors: Vec<i64> = titles.iter().map(|event| event.cursor.parse().unwrap()).collect();
    assert!(cursors.windows(2).all(|pair| pair[1] == pair[0] + 1));

    let ahead = app
        .tasks()
        .watch_tasks(ada.call(v1::WatchTasksRequest { parent: project.name.clone(), cursor: "999".into() }))
        .await
        .unwrap_err();
    crate::helpers::assert_invalid_field(&ahead, "cursor");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_through_one_process_reach_watchers_of_another() {
    let app = spawn_app(Backend::Postgres).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Replicas").await;
    // Longer than the test waits: only LISTEN/NOTIFY can deliver in time.
    let other = ServerProcess::start(&app.database.url, &[("TASKTRACKER_WATCH_HEARTBEAT", "60s")]);
    let mut other_client = TaskServiceClient::new(connect(other.address).await);
    let mut stream = watch(&mut other_client, &ada, &project.name, "").await;
    assert!(matches!(next(&mut stream).await, Kind::Heartbeat(_)));

    let started = std::time::Instant::now();
    let created = app.create_task(&ada, &project.name, task("across processes")).await;
    let event = next_event(&mut stream).await;
    let latency = started.elapsed();
    assert_eq!(event.task.unwrap().name, created.name);
    assert!(latency < WAIT, "delivered through LISTEN/NOTIFY, not a heartbeat poll: {latency:?}");
    eprintln!("cross-process delivery took {latency:?}");

    // SIGTERM ends the stream cleanly and the process exits 0.
    let status = other.terminate();
    assert!(status.success(), "{status:?}");
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends");
    assert!(matches!(end, Ok(None)), "a clean end of stream, got {end:?}");
    app.stop().await;
}

/// A signed-out session's open streams end within about a second, with
/// UNAUTHENTICATED; another session's stream goes on.
async fn signing_out_ends_the_sessions_streams(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Watched").await;
    let other_session = app
        .accounts()
        .sign_in(v1::SignInRequest { email: ada.email.clone(), password: crate::helpers::PASSWORD.into() })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    let other = TestUser { token: other_session.access_token, ..ada.clone() };
    let mut client = app.tasks();
    let mut signed_out = watch(&mut client, &ada, &project.name, "").await;
    let mut kept = watch(&mut client, &other, &project.name, "").await;
    assert!(matches!(next(&mut signed_out).await, Kind::Heartbeat(_)));
    assert!(matches!(next(&mut kept).await, Kind::Heartbeat(_)));

    app.accounts().sign_out(ada.call(v1::SignOutRequest {})).await.unwrap();
    let started = std::time::Instant::now();
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match signed_out.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends");
    let status = end.expect_err("ended with a status");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "within about a second: {:?}", started.elapsed());

    // The other session still gets events.
    let created = app.create_task(&other, &project.name, task("still watched")).await;
    assert_eq!(next_event(&mut kept).await.task.unwrap().name, created.name);
    app.stop().await;
}

/// Waits for `stream` to end (skipping messages) and returns its status and
/// how long that took from `since`.
async fn ended(stream: &mut Streaming<v1::WatchTasksResponse>, since: std::time::Instant) -> (tonic::Status, Duration) {
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends");
    (end.expect_err("ended with a status"), since.elapsed())
}

/// Removing a member ends their open streams on that project within a
/// second, with PERMISSION_DENIED (as a read would); their streams on other
/// projects and other members' streams go on.
async fn removing_a_member_ends_their_streams_on_the_project(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let grace = app.sign_up("grace").await;
    let bob = app.sign_up("bob").await;
    let project = app.create_project(&ada, "Watched").await;
    let other_project = app.create_project(&ada, "Also watched").await;
    app.add_member(&ada, &project.name, &grace, v1::Role::Editor).await;
    app.add_member(&ada, &other_project.name, &grace, v1::Role::Viewer).await;
    app.add_member(&ada, &project.name, &bob, v1::Role::Viewer).await;
    let mut client = app.tasks();
    let mut removed = watch(&mut client, &grace, &project.name, "").await;
    let mut elsewhere = watch(&mut client, &grace, &other_project.name, "").await;
    let mut kept = watch(&mut client, &bob, &project.name, "").await;
    for stream in [&mut removed, &mut elsewhere, &mut kept] {
        assert!(matches!(next(stream).await, Kind::Heartbeat(_)));
    }

    let grace_id = grace.name.trim_start_matches("users/");
    let membership = format!("{}/members/{grace_id}", project.name);
    app.projects().remove_member(ada.call(v1::RemoveMemberRequest { name: membership })).await.unwrap();
    let (status, took) = ended(&mut removed, std::time::Instant::now()).await;
    eprintln!("the removed member's stream ended {took:?} after the removal");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert!(took < Duration::from_secs(1), "within a second: {took:?}");
    let text = crate::helpers::scrape(app.metrics_address).await;
    assert_eq!(crate::helpers::sample(&text, "tasktracker_watch_streams_revoked_total"), Some(1.0), "{text}");

    // Bob still watches the project, and Grace her other one.
    let created = app.create_task(&ada, &project.name, task("still watched")).await;
    assert_eq!(next_event(&mut kept).await.task.unwrap().name, created.name);
    let created = app.create_task(&ada, &other_project.name, task("hers still")).await;
    assert_eq!(next_event(&mut elsewhere).await.task.unwrap().name, created.name);
    // Watching again is refused, as any read.
    let again = client
        .watch_tasks(grace.call(v1::WatchTasksRequest { parent: project.name.clone(), cursor: String::new() }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::PermissionDenied);
    app.stop().await;
}

/// On PostgreSQL a removal reaches the streams another server process
/// holds, through the trigger's NOTIFY: also a removal no server made (an
/// operator's DELETE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_ends_streams_on_another_process_within_a_second() {
    let app = spawn_app(Backend::Postgres).await;
    let ada = app.sign_up("ada").await;
    let grace = app.sign_up("grace").await;
    let bob = app.sign_up("bob").await;
    let project = app.create_project(&ada, "Watched").await;
    app.add_member(&ada, &project.name, &grace, v1::Role::Editor).await;
    app.add_member(&ada, &project.name, &bob, v1::Role::Editor).await;
    let other = ServerProcess::start(&app.database.url, &[]);
    // Its listener is in place: what follows tests NOTIFY.
    crate::helpers::eventually(WAIT, async || {
        let text = crate::helpers::scrape(other.metrics_address).await;
        crate::helpers::sample(&text, "tasktracker_auth_revocations_live") == Some(1.0)
    })
    .await;
    let mut client = TaskServiceClient::new(connect(other.address).await);
    let mut graces = watch(&mut client, &grace, &project.name, "").await;
    let mut bobs = watch(&mut client, &bob, &project.name, "").await;
    assert!(matches!(next(&mut graces).await, Kind::Heartbeat(_)));
    assert!(matches!(next(&mut bobs).await, Kind::Heartbeat(_)));

    let grace_id = grace.name.trim_start_matches("users/");
    let membership = format!("{}/members/{grace_id}", project.name);
    app.projects().remove_member(ada.call(v1::RemoveMemberRequest { name: membership })).await.unwrap();
    let (status, took) = ended(&mut graces, std::time::Instant::now()).await;
    eprintln!("removal reached a stream on the other process in {took:?}");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert!(took < Duration::from_secs(1), "within a second: {took:?}");

    // An operator's DELETE ends Bob's the same way.
    use sea_orm::{ConnectionTrait, Database};
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    let bob_id = bob.name.trim_start_matches("users/");
    let project_id = project.name.trim_start_matches("projects/");
    db.execute_unprepared(&format!(
        "DELETE FROM memberships WHERE project_id = '{project_id}' AND user_id = '{bob_id}'"
    ))
    .await
    .unwrap();
    let (status, took) = ended(&mut bobs, std::time::Instant::now()).await;
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert!(took < Duration::from_secs(1), "within a second: {took:?}");
    drop(other);
    app.stop().await;
}
