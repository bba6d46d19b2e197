//! Editable comments: edits by their author (etag-guarded, marked, in
//! history), soft deletes by their author or an owner, and who may not.

use prost_types::FieldMask;
use sea_orm::{ConnectionTrait, Database};
use tasktracker_proto::v1;
use tonic::{Code, Status};

use crate::{
    helpers::{Backend, TestApp, TestUser, assert_invalid_field, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    an_author_edits_a_comment_and_history_keeps_both_texts,
    a_stale_etag_is_aborted,
    deleted_comments_are_hidden_and_lose_their_text,
    only_the_author_edits_and_only_the_author_or_an_owner_deletes,
    a_comment_the_previous_release_wrote_can_be_edited,
);

async fn comment_on(app: &TestApp, user: &TestUser, task: &str, body: &str) -> v1::Comment {
    app.tasks()
        .create_comment(user.call(v1::CreateCommentRequest {
            parent: task.into(),
            comment: Some(v1::Comment { body: body.into(), ..Default::default() }),
        }))
        .await
        .unwrap()
        .into_inner()
}

async fn edit(app: &TestApp, user: &TestUser, comment: &v1::Comment, body: &str) -> Result<v1::Comment, Status> {
    let mut edited = comment.clone();
    edited.body = body.into();
    let request =
        v1::UpdateCommentRequest { comment: Some(edited), update_mask: Some(FieldMask { paths: vec!["body".into()] }) };
    app.tasks().update_comment(user.call(request)).await.map(tonic::Response::into_inner)
}

async fn delete(app: &TestApp, user: &TestUser, comment: &v1::Comment) -> Result<v1::Comment, Status> {
    let request = v1::DeleteCommentRequest { name: comment.name.clone(), etag: comment.etag.clone() };
    app.tasks().delete_comment(user.call(request)).await.map(tonic::Response::into_inner)
}

async fn comments(app: &TestApp, user: &TestUser, task: &str, show_deleted: bool) -> Vec<v1::Comment> {
    let request = v1::ListCommentsRequest { parent: task.into(), show_deleted, ..Default::default() };
    app.tasks().list_comments(user.call(request)).await.unwrap().into_inner().comments
}

async fn comment_history(app: &TestApp, user: &TestUser, task: &str) -> Vec<v1::FieldChange> {
    let request = v1::ListTaskActivitiesRequest { parent: task.into(), ..Default::default() };
    let activities = app.tasks().list_task_activities(user.call(request)).await.unwrap().into_inner().activities;
    activities.into_iter().flat_map(|activity| activity.changes).filter(|change| change.field == "comment").collect()
}

/// A project of Ada's (owner) with Bob as an editor and Vic as a viewer,
/// and one task.
async fn team(app: &TestApp) -> (TestUser, TestUser, TestUser, v1::Task) {
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let vic = app.sign_up("vic").await;
    let project = app.create_project(&ada, "Comments").await;
    app.add_member(&ada, &project.name, &bob, v1::Role::Editor).await;
    app.add_member(&ada, &project.name, &vic, v1::Role::Viewer).await;
    let created = app.create_task(&ada, &project.name, task("discussed")).await;
    (ada, bob, vic, created)
}

async fn an_author_edits_a_comment_and_history_keeps_both_texts(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, bob, _, created) = team(&app).await;
    let comment = comment_on(&app, &bob, &created.name, "Frist!").await;
    assert_eq!(comment.edit_time, None, "a new comment is not edited");

    let edited = edit(&app, &bob, &comment, "First, **properly**").await.unwrap();
    assert_eq!(edited.name, comment.name);
    assert_eq!(edited.body, "First, **properly**");
    assert_eq!(edited.body_html, "<p>First, <strong>properly</strong></p>\n");
    assert!(edited.edit_time.is_some(), "an edited comment carries its edit time");
    assert_ne!(edited.etag, comment.etag);
    assert_eq!(comments(&app, &bob, &created.name, false).await, vec![edited.clone()]);

    // The same text again changes nothing.
    assert_eq!(edit(&app, &bob, &edited, "First, **properly**").await.unwrap(), edited);
    let history = comment_history(&app, &bob, &created.name).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!((history[0].old_value.as_str(), history[0].new_value.as_str()), ("Frist!", "First, **properly**"));

    let empty = edit(&app, &bob, &edited, "").await.unwrap_err();
    assert_invalid_field(&empty, "comment.body");
    let mut request = v1::UpdateCommentRequest { comment: Some(edited.clone()), update_mask: None };
    request.update_mask = Some(FieldMask { paths: vec!["author".into()] });
    assert_invalid_field(&app.tasks().update_comment(bob.call(request)).await.unwrap_err(), "update_mask");
    let mut malformed = edited.clone();
    malformed.name = created.name.clone();
    let request = v1::UpdateCommentRequest { comment: Some(malformed), update_mask: None };
    assert_invalid_field(&app.tasks().update_comment(bob.call(request)).await.unwrap_err(), "comment.name");
    app.stop().await;
}

async fn a_stale_etag_is_aborted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, bob, _, created) = team(&app).await;
    let comment = comment_on(&app, &bob, &created.name, "one").await;
    edit(&app, &bob, &comment, "two").await.unwrap();
    // Both an edit and a delete against the version read before it fail.
    assert_eq!(edit(&app, &bob, &comment, "three").await.unwrap_err().code(), Code::Aborted);
    assert_eq!(delete(&app, &bob, &comment).await.unwrap_err().code(), Code::Aborted);
    assert_eq!(comments(&app, &bob, &created.name, false).await[0].body, "two");
    // Without an etag the last writer wins.
    let unguarded = v1::Comment { etag: String::new(), ..comment };
    assert_eq!(edit(&app, &bob, &unguarded, "three").await.unwrap().body, "three");
    app.stop().await;
}

async fn deleted_comments_are_hidden_and_lose_their_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, _, created) = team(&app).await;
    let kept = comment_on(&app, &bob, &created.name, "kept").await;
    let doomed = comment_on(&app, &bob, &created.name, "a secret pasted by mistake").await;

    let deleted = delete(&app, &bob, &doomed).await.unwrap();
    assert!(deleted.delete_time.is_some());
    assert_eq!((deleted.body.as_str(), deleted.body_html.as_str()), ("", ""), "its text is gone from answers");
    assert_eq!(comments(&app, &ada, &created.name, false).await, vec![kept.clone()]);
    let all = comments(&app, &ada, &created.name, true).await;
    assert_eq!(all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), [kept.name.as_str(), doomed.name.as_str()]);
    assert_eq!(all[1].body, "", "show_deleted shows where it was, not what it said");

    let history = comment_history(&app, &ada, &created.name).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!((history[0].old_value.as_str(), history[0].new_value.as_str()), (doomed.name.as_str(), "deleted"));
    assert!(!format!("{history:?}").contains("secret"), "history does not keep the deleted text");

    // Gone for editing and deleting again.
    let fresh = v1::Comment { etag: String::new(), ..doomed };
    assert_eq!(edit(&app, &bob, &fresh, "back").await.unwrap_err().code(), Code::NotFound);
    assert_eq!(delete(&app, &bob, &fresh).await.unwrap_err().code(), Code::NotFound);
    app.stop().await;
}

async fn only_the_author_edits_and_only_the_author_or_an_owner_deletes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, vic, created) = team(&app).await;
    let eve = app.sign_up("eve").await;
    let bobs = comment_on(&app, &bob, &created.name, "Bob's words").await;
    let adas = comment_on(&app, &ada, &created.name, "Ada's words").await;

    // Nobody edits another's words, owners included.
    for (who, comment) in [(&ada, &bobs), (&bob, &adas), (&vic, &bobs)] {
        assert_eq!(edit(&app, who, comment, "put in their mouth").await.unwrap_err().code(), Code::PermissionDenied);
    }
    // An editor cannot delete another's comment; a viewer not even their own
    // role's (viewers cannot write at all); a stranger sees nothing.
    assert_eq!(delete(&app, &bob, &adas).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(delete(&app, &vic, &bobs).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(edit(&app, &eve, &bobs, "x").await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(delete(&app, &eve, &bobs).await.unwrap_err().code(), Code::PermissionDenied);
    // A stranger cannot tell a missing comment from an existing one.
    let missing = v1::Comment { name: format!("{}/comments/{}", created.name, uuid::Uuid::now_v7()), ..bobs.clone() };
    assert_eq!(delete(&app, &eve, &missing).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(delete(&app, &bob, &missing).await.unwrap_err().code(), Code::NotFound);

    // The owner moderates: deletes Bob's comment.
    delete(&app, &ada, &bobs).await.unwrap();
    assert_eq!(comments(&app, &vic, &created.name, false).await, vec![adas]);
    app.stop().await;
}

/// The previous release inserts comments without the new columns; the new
/// server lists and edits them as never edited, version 0.
async fn a_comment_the_previous_release_wrote_can_be_edited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, bob, _, created) = team(&app).await;
    let bob_id = bob.name.trim_start_matches("users/");
    let task_id = created.name.rsplit('/').next().unwrap();
    let id = uuid::Uuid::now_v7();
    let db = Database::connect(app.database.url.clone()).await.unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO comments (id, task_id, author_id, body, create_time) VALUES ('{id}', '{task_id}', '{bob_id}', 'old', 1)"
    ))
    .await
    .unwrap();
    let listed = comments(&app, &bob, &created.name, false).await;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].body.as_str(), listed[0].etag.as_str(), listed[0].edit_time), ("old", "0", None));
    let edited = edit(&app, &bob, &listed[0], "new").await.unwrap();
    assert_eq!(edited.body, "new");
    db.close().await.unwrap();
    app.stop().await;
}
