//! `import trello|csv|tasktracker` and `export`.

use crate::helpers::Harness;

/// A fixture of the server's tests, with `{ada}` made the harness user.
fn fixture(app: &Harness, name: &str) -> std::path::PathBuf {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/data").join(name);
    let text = std::fs::read_to_string(source).expect("fixture").replace("{ada}", &app.user.email);
    let path = app.home.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const MAP: &str = "title=Name,description=Notes,state=Status,assignee_email=Assignee,due_date=Due,labels=Tags,priority=Priority,key=Key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_imported_with_progress_and_projects_exported() {
    let app = Harness::start().await;
    app.login().await;
    let project = app.create_project("Launch");
    let csv = fixture(&app, "tasks.csv");
    let csv = csv.to_str().unwrap();

    let imported = app.run(&["import", "csv", csv, "--project", &project, "--map", MAP]).success();
    assert!(imported.stderr.contains(&format!("importing as {project}/operations/")), "{imported:#?}");
    assert!(imported.stdout.starts_with("6 rows: 5 imported, 0 skipped"), "{imported:#?}");
    assert!(imported.stdout.contains("row 10 (T-8): state:"), "{imported:#?}");
    let again = app.run(&["import", "csv", csv, "--project", &project, "--map", MAP, "-o", "json"]).success().json();
    assert_eq!((again["rows_imported"].as_i64(), again["rows_skipped"].as_i64()), (Some(0), Some(5)));

    let board = fixture(&app, "trello-board.json");
    let trello = app.run(&["import", "trello", board.to_str().unwrap(), "-p", &project, "-o", "json"]).success().json();
    assert_eq!(trello["rows_imported"], 5);

    // A bad mapping is a usage error before anything is sent.
    let unmapped = app.run(&["import", "csv", csv, "--project", &project, "--map", "description=Notes"]).failure(2);
    assert!(unmapped.stderr.contains("title"), "{unmapped:#?}");
    // A mapped column the file lacks is the server's INVALID_ARGUMENT.
    let missing = app.run(&["import", "csv", csv, "--project", &project, "--map", "title=Nom"]).failure(2);
    assert!(missing.stderr.contains("csv_mapping.title"), "{missing:#?}");

    let out = app.home.join("launch.json");
    let exported =
        app.run(&["export", "--project", &project, "--format", "json", "-F", out.to_str().unwrap()]).success();
    assert!(exported.stderr.contains("wrote"), "{exported:#?}");
    let document: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(document["format"], "tasktracker-export/1");
    assert_eq!(document["tasks"].as_array().unwrap().len(), 10);

    let table = app.run(&["export", "--project", &project, "--format", "csv"]).success();
    assert!(table.stdout.starts_with("Key,Name,Notes,Status"), "{table:#?}");
    assert!(table.stdout.contains(",'=cmd|' /C calc'!A0,'+1+2,"), "{table:#?}");

    // The JSON export imports into another project.
    let copy = app.create_project("Launch, again");
    let copied = app.run(&["import", "tasktracker", out.to_str().unwrap(), "-p", &copy, "-o", "json"]).success().json();
    assert_eq!((copied["rows_imported"].as_i64(), copied["errors_total"].as_i64()), (Some(10), Some(0)));
}

/// Ctrl-C during an import asks the server to cancel it: the run stops after
/// its batch, and the command says so and exits non-zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_a_running_import() {
    use std::{
        io::{BufRead, BufReader},
        process::Stdio,
        time::{Duration, Instant},
    };
    let app = Harness::start().await;
    app.login().await;
    let project = app.create_project("Big");
    let mut csv = String::from("Key,Name\n");
    for row in 1..=5_000 {
        csv.push_str(&format!("K-{row},Task {row}\n"));
    }
    let file = app.home.join("big.csv");
    std::fs::write(&file, csv).unwrap();
    let mut child = app
        .command(&["import", "csv", file.to_str().unwrap(), "-p", &project, "--map", "title=Name,key=Key"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::task::block_in_place(|| stderr.next()).expect("a line").unwrap();
    assert!(first.starts_with("importing as "), "{first}");
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = tokio::task::block_in_place(|| stderr.map_while(Result::ok).collect());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the import did not end within 60 s of Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1), "{rest:?}");
    assert!(rest.iter().any(|line| line.starts_with("cancelling")), "{rest:?}");
    assert!(rest.last().is_some_and(|line| line.contains("cancelled")), "{rest:?}");
}
