//! `/metrics` on the admin port reflects real calls.

use tasktracker_proto::v1;

use crate::{
    helpers::{Backend, PASSWORD, sample, scrape, spawn_app, task},
    on_both_backends,
};

on_both_backends!(metrics_count_calls_by_method_and_code);

async fn metrics_count_calls_by_method_and_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Metrics").await;
    app.create_task(&ada, &project.name, task("one")).await;
    let done =
        app.create_task(&ada, &project.name, v1::Task { status: v1::TaskStatus::Done as i32, ..task("two") }).await;
    app.tasks().delete_task(ada.call(v1::DeleteTaskRequest { name: done.name, etag: String::new() })).await.unwrap();
    let invalid = app.create_task_result(&ada, &project.name, task("")).await;
    assert!(invalid.is_err());
    let _ = app.tasks().list_tasks(v1::ListTasksRequest { parent: project.name.clone(), ..Default::default() }).await;
    let _ =
        app.accounts().sign_in(v1::SignInRequest { email: ada.email.clone(), password: "wrong password".into() }).await;
    app.accounts().sign_in(v1::SignInRequest { email: ada.email.clone(), password: PASSWORD.into() }).await.unwrap();

    let text = scrape(app.metrics_address).await;
    let rpc = |method: &str, code: &str| {
        let service = if method.starts_with("Sign") { "AccountService" } else { "TaskService" };
        format!(
            r#"grpc_server_requests_total{{grpc_service="tasktracker.v1.{service}",grpc_method="{method}",grpc_code="{code}"}}"#
        )
    };
    assert_eq!(sample(&text, &rpc("CreateTask", "OK")), Some(2.0), "{text}");
    assert_eq!(sample(&text, &rpc("CreateTask", "InvalidArgument")), Some(1.0));
    assert_eq!(sample(&text, &rpc("ListTasks", "Unauthenticated")), Some(1.0));
    assert_eq!(sample(&text, &rpc("DeleteTask", "OK")), Some(1.0));
    assert_eq!(sample(&text, &rpc("SignIn", "Unauthenticated")), Some(1.0));
    assert_eq!(
        sample(
            &text,
            r#"grpc_server_request_duration_seconds_count{grpc_service="tasktracker.v1.TaskService",grpc_method="CreateTask",grpc_code="OK"}"#
        ),
        Some(2.0)
    );
    assert!(text.contains(r#"grpc_server_request_duration_seconds_bucket{le="0.5",grpc_service="tasktracker.v1.TaskService",grpc_method="CreateTask",grpc_code="OK"}"#) || text.contains(r#"grpc_method="CreateTask",grpc_code="OK",le="0.5"}"#), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"grpc_server_requests_in_flight{grpc_service="tasktracker.v1.TaskService",grpc_method="CreateTask"}"#
        ),
        Some(0.0)
    );
    assert_eq!(sample(&text, "tasktracker_tasks_created_total"), Some(2.0));
    assert_eq!(sample(&text, "tasktracker_tasks_completed_total"), Some(1.0));
    assert_eq!(sample(&text, "tasktracker_tasks_deleted_total"), Some(1.0));
    assert_eq!(sample(&text, r#"tasktracker_sign_ins_total{result="success"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"tasktracker_sign_ins_total{result="failure"}"#), Some(1.0));
    // Three writes (two creates, a delete), each timed whole and for the
    // part that held the project's feed lock.
    let writes = sample(&text, "tasktracker_task_write_duration_seconds_count");
    assert_eq!(writes, Some(3.0), "{text}");
    assert_eq!(sample(&text, "tasktracker_feed_lock_hold_duration_seconds_count"), writes);
    let whole = sample(&text, "tasktracker_task_write_duration_seconds_sum").unwrap();
    let locked = sample(&text, "tasktracker_feed_lock_hold_duration_seconds_sum").unwrap();
    assert!(locked > 0.0 && locked < whole, "the lock is held for part of each write: {locked} of {whole} s");
    assert_eq!(sample(&text, "tasktracker_database_up"), Some(1.0));
    assert!(sample(&text, "process_resident_memory_bytes").unwrap() > 1e6);
    assert!(sample(&text, r#"tasktracker_db_pool_connections{state="idle"}"#).is_some());
    assert!(text.contains("tasktracker_build_info{version="), "{text}");

    // A watch stream is counted while open.
    let mut stream = app
        .tasks()
        .watch_tasks(ada.call(v1::WatchTasksRequest { parent: project.name.clone(), cursor: String::new() }))
        .await
        .unwrap()
        .into_inner();
    stream.message().await.unwrap();
    assert_eq!(sample(&scrape(app.metrics_address).await, "tasktracker_watch_streams_active"), Some(1.0));
    drop(stream);
    crate::helpers::eventually(std::time::Duration::from_secs(5), async || {
        sample(&scrape(app.metrics_address).await, "tasktracker_watch_streams_active") == Some(0.0)
    })
    .await;
    app.stop().await;
}
