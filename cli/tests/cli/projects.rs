//! `projects list|get|create`.

use crate::helpers::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_created_listed_and_shown() {
    let app = Harness::start().await;
    app.login().await;

    let apollo = app.create_project("Apollo");
    assert!(apollo.starts_with("projects/"), "{apollo}");
    let created = app.run(&["projects", "create", "Gemini", "--description", "two seats"]).success();
    assert!(created.stdout.contains("Gemini") && created.stdout.contains("owner"), "{created:#?}");

    let listed = app.run(&["projects", "list", "-o", "json"]).success().json_lines();
    let titles: Vec<&str> = listed.iter().map(|project| project["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Gemini", "Apollo"], "newest first");
    assert_eq!(listed[0]["caller_role"], "OWNER");
    assert_eq!(listed[0]["description"], "two seats");

    let limited = app.run(&["projects", "list", "--limit", "1", "-o", "json"]).success().json_lines();
    assert_eq!(limited.len(), 1);

    let table = app.run(&["projects", "list"]).success();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].contains("ID") && lines[0].contains("TITLE"), "{table:#?}");
    assert!(lines.iter().any(|line| line.contains("Apollo")), "{table:#?}");

    // By bare id as well as by name.
    let id = apollo.trim_start_matches("projects/");
    let got = app.run(&["projects", "get", id, "-o", "json"]).success().json();
    assert_eq!(got["name"], apollo.as_str());

    let missing = app.run(&["projects", "get", &format!("projects/{}", uuid::Uuid::now_v7())]).failure(3);
    assert!(missing.stderr.starts_with("error: "), "{missing:#?}");
}
