//! `SearchTasks`: ranking, stemming, typo tolerance, comments, who sees
//! what (never a deleted task, never another project's), paging and bad
//! queries; and `ListTasks`' free-text term on the new indexes.

use std::collections::HashSet;

use prost_types::FieldMask;
use tasktracker_proto::v1;
use tonic::{Code, Status};

use crate::{
    helpers::{Backend, TestApp, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    a_title_match_ranks_above_a_description_match_with_a_highlighted_snippet,
    stemming_finds_other_forms_of_a_word,
    a_typo_in_a_title_is_tolerated,
    typos_follow_renamed_titles_and_each_word_of_the_query,
    comments_are_searched_and_edits_are_followed,
    deleted_tasks_and_other_projects_tasks_are_never_returned,
    archived_projects_are_searched_only_when_asked,
    an_api_token_for_one_project_searches_only_that_project,
    pages_follow_the_ranking_without_repeats_or_gaps,
    bad_queries_are_invalid_naming_the_field,
    the_list_filters_free_text_is_still_a_case_insensitive_substring,
);

async fn search_as(
    app: &TestApp,
    user: &TestUser,
    request: v1::SearchTasksRequest,
) -> Result<v1::SearchTasksResponse, Status> {
    app.tasks().search_tasks(user.call(request)).await.map(tonic::Response::into_inner)
}

/// The titles of the first page of results for `query`, best first.
async fn titles(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    let request = v1::SearchTasksRequest { query: query.into(), ..Default::default() };
    let response = search_as(app, user, request).await.expect("search");
    response.results.into_iter().map(|result| result.task.expect("task").title).collect()
}

fn described(title: &str, description: &str) -> v1::Task {
    v1::Task { title: title.into(), description: description.into(), ..Default::default() }
}

/// The snippet with highlights in brackets.
fn marked(result: &v1::SearchResult) -> String {
    result
        .snippet
        .iter()
        .map(|segment| if segment.highlighted { format!("[{}]", segment.text) } else { segment.text.clone() })
        .collect()
}

async fn a_title_match_ranks_above_a_description_match_with_a_highlighted_snippet(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Ranking").await;
    // Created first, so an order by id alone would put it first.
    app.create_task(&ada, &project.name, described("Tidy the docs", "then update the invoice & \"its\" template"))
        .await;
    app.create_task(&ada, &project.name, described("Send the invoice", "to the customer")).await;
    app.create_task(&ada, &project.name, described("Unrelated", "nothing here")).await;

    let request = v1::SearchTasksRequest { query: "invoice".into(), ..Default::default() };
    let response = search_as(&app, &ada, request).await.unwrap();
    let found: Vec<&str> = response.results.iter().map(|result| result.task.as_ref().unwrap().title.as_str()).collect();
    assert_eq!(found, ["Send the invoice", "Tidy the docs"]);
    let (first, second) = (&response.results[0], &response.results[1]);
    assert!(first.score > second.score, "{} > {}", first.score, second.score);
    assert!((1.0..2.0).contains(&second.score), "a full-text score: {}", second.score);
    assert_eq!(first.project, project.name);
    assert_eq!(first.project_title, "Ranking");
    // User text comes back as text, the match flagged, never as markup.
    let snippet = marked(second);
    assert!(snippet.contains("[invoice]"), "{snippet}");
    assert!(snippet.contains("& \"its\""), "the description's text, unescaped: {snippet}");
    assert!(marked(first).contains("[invoice]"), "{}", marked(first));
    app.stop().await;
}

async fn stemming_finds_other_forms_of_a_word(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Stems").await;
    app.create_task(&ada, &project.name, task("Run the nightly build")).await;
    app.create_task(&ada, &project.name, described("Migrations", "the databases are migrated")).await;
    app.create_task(&ada, &project.name, task("Rename the walk")).await;

    assert_eq!(titles(&app, &ada, "running").await, ["Run the nightly build"]);
    assert_eq!(titles(&app, &ada, "runs").await, ["Run the nightly build"]);
    // Every word must match, in any of the fields.
    assert_eq!(titles(&app, &ada, "database migration").await, ["Migrations"]);
    app.stop().await;
}

async fn a_typo_in_a_title_is_tolerated(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Typos").await;
    app.create_task(&ada, &project.name, task("Polish the dashboard")).await;
    app.create_task(&ada, &project.name, described("Release notes", "link them from the dashboard")).await;
    app.create_task(&ada, &project.name, task("Write the release notes")).await;

    let request = v1::SearchTasksRequest { query: "dashbaord".into(), ..Default::default() };
    let response = search_as(&app, &ada, request).await.unwrap();
    let found: Vec<&str> = response.results.iter().map(|result| result.task.as_ref().unwrap().title.as_str()).collect();
    assert_eq!(found, ["Polish the dashboard"], "titles only, and only similar ones");
    assert!(response.results[0].score < 1.0, "a typo match scores below every full-text match");
    assert_eq!(marked(&response.results[0]), "Polish the dashboard");

    // Spelled right, both match in full text, the title first.
    assert_eq!(titles(&app, &ada, "dashboard").await, ["Polish the dashboard", "Release notes"]);
    app.stop().await;
}

async fn typos_follow_renamed_titles_and_each_word_of_the_query(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Renames").await;
    let draft = app.create_task(&ada, &project.name, task("Draft")).await;
    app.create_task(&ada, &project.name, task("Billing webhook retries")).await;
    app.create_task(&ada, &project.name, task("Billing export")).await;
    app.create_task(&ada, &project.name, task("Unrelated chores")).await;

    // A title's new words are found with a typo; its old ones are gone.
    let mut renamed = draft.clone();
    renamed.title = "Quarterly forecast".into();
    let update =
        v1::UpdateTaskRequest { task: Some(renamed), update_mask: Some(FieldMask { paths: vec!["title".into()] }) };
    app.tasks().update_task(ada.call(update)).await.unwrap();
    assert_eq!(titles(&app, &ada, "forcast").await, ["Quarterly forecast"]);
    assert!(titles(&app, &ada, "drafd").await.is_empty());
    // Two words, one misspelt: the title holding both ranks first; one
    // holding only the exact word is similar enough to follow.
    assert_eq!(titles(&app, &ada, "billing webhok").await, ["Billing webhook retries", "Billing export"]);
    // Nothing similar: nothing found.
    assert!(titles(&app, &ada, "zyxwvut").await.is_empty());
    app.stop().await;
}

async fn comment_on(app: &TestApp, user: &TestUser, task: &str, body: &str) -> v1::Comment {
    let comment = Some(v1::Comment { body: body.into(), ..Default::default() });
    app.tasks()
        .create_comment(user.call(v1::CreateCommentRequest { parent: task.into(), comment }))
        .await
        .unwrap()
        .into_inner()
}

async fn comments_are_searched_and_edits_are_followed(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Comments").await;
    let discussed = app.create_task(&ada, &project.name, task("Discussed")).await;
    app.create_task(&ada, &project.name, task("Quiet")).await;
    let comment = comment_on(&app, &ada, &discussed.name, "The flamingo mascot needs a new colour").await;
    comment_on(&app, &ada, &discussed.name, "and a hat").await;

    let request = v1::SearchTasksRequest { query: "flamingo".into(), ..Default::default() };
    let response = search_as(&app, &ada, request).await.unwrap();
    assert_eq!(response.results.len(), 1);
    assert_eq!(response.results[0].task.as_ref().unwrap().name, discussed.name);
    assert!(marked(&response.results[0]).contains("[flamingo]"), "{}", marked(&response.results[0]));

    // An edited comment is found by its new text only.
    let mut edited = comment.clone();
    edited.body = "The pelican mascot".into();
    let update =
        v1::UpdateCommentRequest { comment: Some(edited), update_mask: Some(FieldMask { paths: vec!["body".into()] }) };
    let edited = app.tasks().update_comment(ada.call(update)).await.unwrap().into_inner();
    assert!(titles(&app, &ada, "flamingo").await.is_empty());
    assert_eq!(titles(&app, &ada, "pelican").await, ["Discussed"]);
    // A deleted comment is not searched; the task's other comments are.
    let delete = v1::DeleteCommentRequest { name: edited.name.clone(), etag: edited.etag.clone() };
    app.tasks().delete_comment(ada.call(delete)).await.unwrap();
    assert!(titles(&app, &ada, "pelican").await.is_empty());
    assert_eq!(titles(&app, &ada, "hat").await, ["Discussed"]);

    // Edits of the title and description are followed too.
    let mut renamed = discussed.clone();
    renamed.title = "Reconsidered".into();
    renamed.description = "with a giraffe".into();
    let update = v1::UpdateTaskRequest {
        task: Some(renamed),
        update_mask: Some(FieldMask { paths: vec!["title".into(), "description".into()] }),
    };
    app.tasks().update_task(ada.call(update)).await.unwrap();
    assert!(titles(&app, &ada, "discussed").await.is_empty());
    assert_eq!(titles(&app, &ada, "giraffe").await, ["Reconsidered"]);
    app.stop().await;
}

async fn deleted_tasks_and_other_projects_tasks_are_never_returned(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let bea = app.sign_up("bea").await;
    let ours = app.create_project(&ada, "Ours").await;
    let theirs = app.create_project(&bea, "Theirs").await;
    // A perfect match in Bea's project, in every field.
    let secret = app.create_task(&bea, &theirs.name, described("Quarterly forecast", "quarterly forecast")).await;
    comment_on(&app, &bea, &secret.name, "quarterly forecast").await;
    app.create_task(&ada, &ours.name, described("Forecast review", "look at the quarterly numbers")).await;
    let gone = app.create_task(&ada, &ours.name, task("Quarterly forecast draft")).await;
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: gone.name.clone(), etag: String::new() }))
        .await
        .unwrap();

    for query in ["quarterly forecast", "forecast", "quartely forcast"] {
        let found = titles(&app, &ada, query).await;
        assert!(!found.iter().any(|title| title == "Quarterly forecast"), "{query}: another project's task: {found:?}");
        assert!(!found.iter().any(|title| title == "Quarterly forecast draft"), "{query}: a deleted task: {found:?}");
    }
    assert_eq!(titles(&app, &ada, "quarterly forecast").await, ["Forecast review"]);
    assert_eq!(titles(&app, &bea, "quarterly forecast").await, ["Quarterly forecast"]);

    // Naming Bea's project is refused as ListTasks refuses it.
    let request =
        v1::SearchTasksRequest { query: "forecast".into(), project: theirs.name.clone(), ..Default::default() };
    assert_eq!(search_as(&app, &ada, request).await.unwrap_err().code(), Code::PermissionDenied);
    // Once Ada is a member she sees it; filtering by project narrows.
    app.add_member(&bea, &theirs.name, &ada, v1::Role::Viewer).await;
    let request =
        v1::SearchTasksRequest { query: "forecast".into(), project: theirs.name.clone(), ..Default::default() };
    let response = search_as(&app, &ada, request).await.unwrap();
    let names: Vec<&str> = response.results.iter().map(|result| result.task.as_ref().unwrap().name.as_str()).collect();
    assert_eq!(names, [secret.name.as_str()]);
    assert_eq!(titles(&app, &ada, "forecast").await.len(), 2);
    // Undeleted, the task is found again.
    app.tasks().undelete_task(ada.call(v1::UndeleteTaskRequest { name: gone.name.clone() })).await.unwrap();
    assert!(titles(&app, &ada, "draft").await.contains(&"Quarterly forecast draft".to_owned()));
    app.stop().await;
}

async fn archived_projects_are_searched_only_when_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let old = app.create_project(&ada, "Old").await;
    app.create_task(&ada, &old.name, task("Archived walrus")).await;
    let current = app.create_project(&ada, "Current").await;
    app.create_task(&ada, &current.name, task("Current walrus")).await;
    let archive = v1::ArchiveProjectRequest { name: old.name.clone(), etag: String::new() };
    app.projects().archive_project(ada.call(archive)).await.unwrap();

    assert_eq!(titles(&app, &ada, "walrus").await, ["Current walrus"]);
    let request = v1::SearchTasksRequest { query: "walrus".into(), include_archived: true, ..Default::default() };
    assert_eq!(search_as(&app, &ada, request).await.unwrap().results.len(), 2);
    app.stop().await;
}

async fn an_api_token_for_one_project_searches_only_that_project(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let first = app.create_project(&ada, "First").await;
    let second = app.create_project(&ada, "Second").await;
    app.create_task(&ada, &first.name, task("Kiwi one")).await;
    app.create_task(&ada, &second.name, task("Kiwi two")).await;
    let secret = app
        .accounts()
        .create_api_token(ada.call(v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "first only".into(),
                scope: v1::ApiTokenScope::Read as i32,
                project: first.name.clone(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .secret;
    let token = TestUser { token: secret, ..ada.clone() };
    assert_eq!(titles(&app, &token, "kiwi").await, ["Kiwi one"]);
    let request = v1::SearchTasksRequest { query: "kiwi".into(), project: second.name.clone(), ..Default::default() };
    assert_eq!(search_as(&app, &token, request).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(titles(&app, &ada, "kiwi").await.len(), 2);
    app.stop().await;
}

async fn pages_follow_the_ranking_without_repeats_or_gaps(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Pages").await;
    // Scores tie within each group: pages must break ties by id.
    for index in 0..4 {
        app.create_task(&ada, &project.name, task(&format!("Otter {index}"))).await;
        app.create_task(&ada, &project.name, described(&format!("Note {index}"), "about an otter")).await;
    }
    app.create_task(&ada, &project.name, task("Ottre typo")).await;
    let mut seen = Vec::new();
    let mut scores = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let request = v1::SearchTasksRequest {
            query: "otter".into(),
            page_size: 3,
            page_token: token.clone(),
            ..Default::default()
        };
        let response = search_as(&app, &ada, request).await.unwrap();
        assert!(response.results.len() <= 3);
        for result in &response.results {
            seen.push(result.task.as_ref().unwrap().title.clone());
            scores.push(result.score);
        }
        pages += 1;
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
        assert!(pages < 10, "paging ends");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no repeats: {seen:?}");
    let full_text = seen.iter().filter(|title| !title.starts_with("Ottre")).count();
    assert_eq!(full_text, 8, "every match once: {seen:?}");
    assert!(scores.windows(2).all(|pair| pair[0] >= pair[1]), "best first: {scores:?}");
    assert!(seen[..4].iter().all(|title| title.starts_with("Otter")), "title matches first: {seen:?}");
    // A token belongs to its query.
    let first =
        search_as(&app, &ada, v1::SearchTasksRequest { query: "otter".into(), page_size: 1, ..Default::default() })
            .await
            .unwrap();
    let request = v1::SearchTasksRequest {
        query: "note".into(),
        page_size: 1,
        page_token: first.next_page_token,
        ..Default::default()
    };
    assert_invalid_field(&search_as(&app, &ada, request).await.unwrap_err(), "page_token");
    app.stop().await;
}

async fn bad_queries_are_invalid_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    for query in ["", "   ", "a\nb", "?!", &"x".repeat(201)] {
        let request = v1::SearchTasksRequest { query: query.into(), ..Default::default() };
        assert_invalid_field(&search_as(&app, &ada, request).await.unwrap_err(), "query");
    }
    let request = v1::SearchTasksRequest { query: "x".into(), project: "nope".into(), ..Default::default() };
    assert_invalid_field(&search_as(&app, &ada, request).await.unwrap_err(), "project");
    let request = v1::SearchTasksRequest { query: "x".into(), page_size: -1, ..Default::default() };
    assert_invalid_field(&search_as(&app, &ada, request).await.unwrap_err(), "page_size");
    let request = v1::SearchTasksRequest { query: "x".into(), page_token: "garbage".into(), ..Default::default() };
    assert_invalid_field(&search_as(&app, &ada, request).await.unwrap_err(), "page_token");
    // FTS syntax in a query is plain words, not an error.
    for query in ["\"unbalanced", "NEAR(a b)", "title: x", "a AND OR NOT", "x*", "-y", "'quote'"] {
        let request = v1::SearchTasksRequest { query: query.into(), ..Default::default() };
        search_as(&app, &ada, request).await.unwrap_or_else(|status| panic!("{query}: {status:?}"));
    }
    app.stop().await;
}

async fn the_list_filters_free_text_is_still_a_case_insensitive_substring(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Lists").await;
    app.create_task(&ada, &project.name, described("Dashboard polish", "")).await;
    app.create_task(&ada, &project.name, described("Other", "the DASHBOARD's \"quoted\" 100% text")).await;
    app.create_task(&ada, &project.name, described("Running", "")).await;
    let list = |filter: &str| {
        let request =
            v1::ListTasksRequest { parent: project.name.clone(), filter: filter.into(), ..Default::default() };
        let mut tasks = app.tasks();
        let ada = ada.clone();
        async move {
            let mut found: Vec<String> = tasks
                .list_tasks(ada.call(request))
                .await
                .unwrap()
                .into_inner()
                .tasks
                .into_iter()
                .map(|task| task.title)
                .collect();
            found.sort();
            found
        }
    };
    assert_eq!(list("ashb").await, ["Dashboard polish", "Other"]);
    assert_eq!(list("title:ASHB").await, ["Dashboard polish"]);
    assert_eq!(list("description:ashb").await, ["Other"]);
    assert_eq!(list("\"d's \\\"quo\"").await, ["Other"]);
    assert_eq!(list("\"100%\"").await, ["Other"]);
    assert_eq!(list("sh").await, ["Dashboard polish", "Other"], "two characters");
    // A substring, not stemmed words: "run" is in "Running", "runs" is not.
    assert_eq!(list("run").await, ["Running"]);
    assert!(list("runs").await.is_empty());
    assert_eq!(list("-ashb").await, ["Running"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_word_in_very_many_tasks_ranks_its_newest_matches() {
    // PostgreSQL only (the bound is its statement's): the best match of
    // "zephyr" is the oldest task, and 1,000 newer tasks mention it once;
    // only the newest 1,000 matches are ranked, so it is not on the page.
    // One fewer newer task, and it is ranked first again.
    let app = spawn_app(Backend::Postgres).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Crowded").await;
    let best = described("Zephyr zephyr zephyr", "zephyr zephyr zephyr");
    app.create_task(&ada, &project.name, best).await;
    let indexes: Vec<usize> = (0..1_000).collect();
    let mut newer = Vec::new();
    for chunk in indexes.chunks(4) {
        let creates = chunk.iter().map(|index| {
            app.create_task(&ada, &project.name, described(&format!("Task {index}"), "mentions zephyr once"))
        });
        newer.extend(futures::future::join_all(creates).await);
    }
    let first = titles(&app, &ada, "zephyr").await;
    assert_eq!(first.len(), 20);
    assert!(!first.contains(&"Zephyr zephyr zephyr".to_owned()), "{first:?}");

    // Deleting one newer match brings the oldest into the ranked set (ids
    // are time-ordered: the greatest is the newest).
    let newest = newer.into_iter().max_by(|left, right| left.name.cmp(&right.name)).expect("tasks");
    app.tasks()
        .delete_task(ada.call(v1::DeleteTaskRequest { name: newest.name, ..Default::default() }))
        .await
        .expect("delete");
    let again = titles(&app, &ada, "zephyr").await;
    assert_eq!(again.first().map(String::as_str), Some("Zephyr zephyr zephyr"), "{again:?}");
    app.stop().await;
}
