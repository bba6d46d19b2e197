//! `watch`: a live feed of another client's changes, ended by Ctrl-C.

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    sync::mpsc,
    time::Duration,
};

use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient};

use crate::helpers::Harness;

/// How long a line may take to arrive.
const WITHIN: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_a_change_made_by_another_client_and_ends_on_ctrl_c() {
    let app = Harness::start().await;
    app.login().await;
    let project = app.create_project("Live");

    let mut watch = app
        .command(&["watch", "-p", &project, "-o", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch starts");
    let (lines, received) = mpsc::channel();
    for (stream, pipe) in [
        ("stdout", Box::new(watch.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>),
        ("stderr", Box::new(watch.stderr.take().unwrap())),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = lines.send((stream, line));
            }
        });
    }
    let next = |wanted: &str| {
        tokio::task::block_in_place(|| {
            loop {
                match received.recv_timeout(WITHIN) {
                    Ok((stream, line)) if stream == wanted => return line,
                    Ok(_) => continue,
                    Err(error) => panic!("no {wanted} line within {WITHIN:?}: {error}"),
                }
            }
        })
    };

    // Once it is watching, another client (the API directly) creates a task.
    let watching = next("stderr");
    assert!(watching.starts_with(&format!("Watching {project}")), "{watching}");
    let task = TaskServiceClient::new(app.channel.clone())
        .create_task(app.authorized(v1::CreateTaskRequest {
            parent: project.clone(),
            task: Some(v1::Task { title: "Made elsewhere".into(), ..Default::default() }),
            request_id: String::new(),
        }))
        .await
        .expect("creates a task")
        .into_inner();

    let event: serde_json::Value = serde_json::from_str(&next("stdout")).expect("a JSON line");
    assert_eq!(event["type"], "CREATED");
    assert_eq!(event["task"]["name"], task.name.as_str());
    assert_eq!(event["task"]["title"], "Made elsewhere");
    assert_eq!(event["actor"], app.user.name.as_str());
    assert!(!event["cursor"].as_str().unwrap_or_default().is_empty(), "{event}");

    // Ctrl-C ends it cleanly.
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(watch.id() as i32, libc::SIGINT) };
    let status = tokio::task::block_in_place(|| {
        let deadline = std::time::Instant::now() + WITHIN;
        loop {
            if let Some(status) = watch.try_wait().expect("waits") {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = watch.kill();
                panic!("watch did not end within {WITHIN:?} of SIGINT");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    assert_eq!(status.code(), Some(0), "{status:?}");
}
