//! The backup and restore drill (docs/runbooks/restore.md): data created
//! through the API, dumped with scripts/backup.sh, restored with
//! scripts/restore.sh into a fresh database, and served unchanged by a new
//! server started on the restored copy.

use std::{path::Path, process::Command};

use tasktracker_proto::v1;

use crate::helpers::{Backend, TestDatabase, spawn_app, spawn_app_with, task, with_token};

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("scripts").join(name)
}

fn run(command: &mut Command) {
    let output = command.output().expect("script runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_serves_every_task_unchanged() {
    let app = spawn_app(Backend::Postgres).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Precious").await;
    for index in 0..25 {
        let mut task = task(&format!("task {index}"));
        task.labels = vec![format!("l{}", index % 3)];
        task.description = format!("# Task {index}\n\nwith *markdown* and ünïcode");
        app.create_task(&ada, &project.name, task).await;
    }
    let list = async |app: &crate::helpers::TestApp, token: &str| {
        app.tasks()
            .list_tasks(with_token(
                token,
                v1::ListTasksRequest {
                    parent: project.name.clone(),
                    page_size: 500,
                    show_deleted: true,
                    ..Default::default()
                },
            ))
            .await
            .expect("list")
            .into_inner()
            .tasks
    };
    let before = list(&app, &ada.token).await;
    assert_eq!(before.len(), 25);

    let dump = app.database.directory.join("drill.dump");
    run(Command::new("bash")
        .arg(script("backup.sh"))
        .arg("--database-url")
        .arg(&app.database.url)
        .arg("--output")
        .arg(&dump));

    // Empty: restore.sh refuses a non-empty target.
    let restored = TestDatabase::create_empty(Backend::Postgres).await;
    run(Command::new("bash").arg(script("restore.sh")).arg("--file").arg(&dump).arg("--target-url").arg(&restored.url));

    // A new server on the copy: same tasks, same etags; sessions survive too.
    let copy = spawn_app_with(Backend::Postgres, restored, |_| {}).await;
    let after = list(&copy, &ada.token).await;
    assert_eq!(after, before);
    let signed_in = copy
        .accounts()
        .sign_in(v1::SignInRequest { email: ada.email.clone(), password: crate::helpers::PASSWORD.into() })
        .await
        .expect("the account came back");
    assert!(signed_in.into_inner().session.is_some());
    copy.stop().await;
    app.stop().await;
}
