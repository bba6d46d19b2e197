//! `watch`: a live feed of another client's changes, ended by Ctrl-C, that
//! survives a server restart.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::Value;
use tasktracker_proto::v1::{self, task_service_client::TaskServiceClient};
use tonic::transport::Channel;

use crate::helpers::Harness;

/// How long a line may take to arrive.
const WITHIN: Duration = Duration::from_secs(20);

/// `tasktracker watch -o json` running, its output read line by line.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<(&'static str, String)>,
}

impl Watch {
    fn start(app: &Harness, project: &str) -> Self {
        let mut child = app
            .command(&["watch", "-p", project, "-o", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("watch starts");
        let (sender, lines) = mpsc::channel();
        let pipes: [(&'static str, Box<dyn Read + Send>); 2] =
            [("stdout", Box::new(child.stdout.take().unwrap())), ("stderr", Box::new(child.stderr.take().unwrap()))];
        for (stream, pipe) in pipes {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = sender.send((stream, line));
                }
            });
        }
        Self { child, lines }
    }

    /// The next line on `stream` ("stdout" or "stderr"), skipping the other's.
    fn next(&self, stream: &str) -> String {
        tokio::task::block_in_place(|| {
            loop {
                match self.lines.recv_timeout(WITHIN) {
                    Ok((from, line)) if from == stream => return line,
                    Ok(_) => continue,
                    Err(error) => panic!("no {stream} line within {WITHIN:?}: {error}"),
                }
            }
        })
    }

    /// The next change printed.
    fn next_event(&self) -> Value {
        let line = self.next("stdout");
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
    }

    /// Sends SIGINT (Ctrl-C); returns the exit code.
    fn interrupt(mut self) -> Option<i32> {
        // SAFETY: kill(2) on the child this test started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        tokio::task::block_in_place(|| {
            let deadline = Instant::now() + WITHIN;
            loop {
                if let Some(status) = self.child.try_wait().expect("waits") {
                    return status.code();
                }
                if Instant::now() > deadline {
                    let _ = self.child.kill();
                    panic!("watch did not end within {WITHIN:?} of SIGINT");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    }
}

/// Another client (the API directly) creates a task.
async fn create_task(app: &Harness, channel: Channel, project: &str, title: &str) -> v1::Task {
    TaskServiceClient::new(channel)
        .create_task(app.authorized(v1::CreateTaskRequest {
            parent: project.to_owned(),
            task: Some(v1::Task { title: title.into(), ..Default::default() }),
            request_id: String::new(),
        }))
        .await
        .expect("creates a task")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_a_change_made_by_another_client_and_ends_on_ctrl_c() {
    let app = Harness::start().await;
    app.login().await;
    let project = app.create_project("Live");
    let watch = Watch::start(&app, &project);

    let watching = watch.next("stderr");
    assert!(watching.starts_with(&format!("Watching {project}")), "{watching}");
    let task = create_task(&app, app.channel.clone(), &project, "Made elsewhere").await;

    let event = watch.next_event();
    assert_eq!(event["type"], "CREATED");
    assert_eq!(event["task"]["name"], task.name.as_str());
    assert_eq!(event["task"]["title"], "Made elsewhere");
    assert_eq!(event["actor"], app.user.name.as_str());
    assert!(!event["cursor"].as_str().unwrap_or_default().is_empty(), "{event}");

    assert_eq!(watch.interrupt(), Some(0), "Ctrl-C ends it cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reconnects_after_a_server_restart_and_misses_nothing() {
    let mut app = Harness::start().await;
    app.login().await;
    let project = app.create_project("Restarts");
    let watch = Watch::start(&app, &project);
    watch.next("stderr");
    create_task(&app, app.channel.clone(), &project, "Before").await;
    assert_eq!(watch.next_event()["task"]["title"], "Before");

    // A crash and a restart on the same address; a change is made before
    // the watch is back: it resumes from its cursor, so it sees that change
    // (and not the one before again).
    app.server.restart().await.expect("the server restarts");
    let channel = tonic::transport::Endpoint::from_shared(app.server.url()).unwrap().connect().await.unwrap();
    create_task(&app, channel, &project, "While away").await;
    let lost = watch.next("stderr");
    assert!(lost.starts_with("connection lost"), "{lost}");
    let event = watch.next_event();
    assert_eq!(event["type"], "CREATED");
    assert_eq!(event["task"]["title"], "While away");

    assert_eq!(watch.interrupt(), Some(0));
}
