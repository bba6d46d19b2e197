//! Notifications: who follows a task, which changes notify whom (never the
//! actor), mentions of members only, the inbox's reads, marks, snoozes and
//! pages, and the live, resumable WatchNotifications stream, also across
//! two server processes.

use std::time::Duration;

use prost_types::{FieldMask, Timestamp};
use tasktracker_proto::v1::{
    self, notification_service_client::NotificationServiceClient, watch_notifications_response::Kind,
};
use tokio_stream::StreamExt;
use tonic::{Code, Status, Streaming, transport::Channel};

use crate::{
    helpers::{Backend, ServerProcess, TestApp, TestUser, assert_invalid_field, connect, scrape, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    followers_are_notified_but_never_of_their_own_actions,
    mentions_reach_members_only_and_subscribe_them,
    the_inbox_lists_pages_marks_and_snoozes,
    unsubscribing_lasts_until_the_user_is_involved_again,
    completing_a_blocker_notifies_the_followers_of_what_it_blocked,
    a_former_member_sees_nothing_of_the_project,
    the_stream_delivers_live_and_resumes_from_a_cursor,
    the_inbox_is_for_people_and_unrestricted_tokens_only,
);

/// How long a live notification may take to arrive.
const LIVE: Duration = Duration::from_secs(5);

fn inbox(app: &TestApp) -> NotificationServiceClient<Channel> {
    NotificationServiceClient::new(app.channel.clone())
}

async fn list(app: &TestApp, user: &TestUser, request: v1::ListNotificationsRequest) -> v1::ListNotificationsResponse {
    inbox(app).list_notifications(user.call(request)).await.expect("list notifications").into_inner()
}

/// `user`'s notifications, newest first, as (kind, task title, summary).
async fn kinds(app: &TestApp, user: &TestUser) -> Vec<(v1::NotificationKind, String, String)> {
    let listed = list(app, user, v1::ListNotificationsRequest::default()).await;
    listed
        .notifications
        .into_iter()
        .map(|notification| (notification.kind(), notification.task_title, notification.summary))
        .collect()
}

fn handle(user: &TestUser) -> &str {
    user.email.split_once('@').expect("an email").0
}

async fn comment(app: &TestApp, user: &TestUser, task: &str, body: &str) -> v1::Comment {
    let request = v1::CreateCommentRequest {
        parent: task.into(),
        comment: Some(v1::Comment { body: body.into(), ..Default::default() }),
    };
    app.tasks().create_comment(user.call(request)).await.expect("comment").into_inner()
}

async fn update(app: &TestApp, user: &TestUser, task: v1::Task, paths: &[&str]) -> v1::Task {
    let mask = FieldMask { paths: paths.iter().map(|path| (*path).to_owned()).collect() };
    let request = v1::UpdateTaskRequest { task: Some(task), update_mask: Some(mask) };
    app.tasks().update_task(user.call(request)).await.expect("update task").into_inner()
}

async fn subscription(app: &TestApp, user: &TestUser, task: &str) -> v1::TaskSubscription {
    let request = v1::GetTaskSubscriptionRequest { task: task.into() };
    inbox(app).get_task_subscription(user.call(request)).await.expect("get subscription").into_inner()
}

/// Ada owns a project with Bob as an editor and Vic as a viewer.
async fn team(app: &TestApp) -> (TestUser, TestUser, TestUser, v1::Project) {
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let vic = app.sign_up("vic").await;
    let project = app.create_project(&ada, "Inbox").await;
    app.add_member(&ada, &project.name, &bob, v1::Role::Editor).await;
    app.add_member(&ada, &project.name, &vic, v1::Role::Viewer).await;
    (ada, bob, vic, project)
}

async fn followers_are_notified_but_never_of_their_own_actions(backend: Backend) {
    use v1::NotificationKind::{Assigned, Commented, StateChanged};
    let app = spawn_app(backend).await;
    let (ada, bob, vic, project) = team(&app).await;
    let created =
        app.create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task("Ship it") }).await;
    assert_eq!(kinds(&app, &bob).await, [(Assigned, "Ship it".to_owned(), String::new())]);
    assert!(kinds(&app, &ada).await.is_empty(), "nobody is notified of their own actions");

    comment(&app, &bob, &created.name, "On it.\n\nShould be   quick").await;
    assert_eq!(kinds(&app, &ada).await, [(Commented, "Ship it".to_owned(), "On it. Should be quick".to_owned())]);
    assert_eq!(kinds(&app, &bob).await.len(), 1, "Bob's own comment did not notify him");

    let states = app.list_states(&ada, &project.name, false).await;
    let moved = update(
        &app,
        &ada,
        v1::Task { name: created.name.clone(), state: states[1].name.clone(), ..Default::default() },
        &["state"],
    )
    .await;
    let summary = format!("Moved to {}", states[1].display_name);
    assert_eq!(kinds(&app, &bob).await[0], (StateChanged, "Ship it".to_owned(), summary));
    assert_eq!(kinds(&app, &ada).await.len(), 1);
    assert!(kinds(&app, &vic).await.is_empty(), "Vic follows nothing");

    // A viewer may follow by hand; then comments reach them too.
    let followed = inbox(&app)
        .subscribe_task(vic.call(v1::SubscribeTaskRequest { task: moved.name.clone() }))
        .await
        .expect("subscribe")
        .into_inner();
    assert!(followed.subscribed);
    assert_eq!(followed.reason(), v1::SubscriptionReason::Manual);
    comment(&app, &ada, &moved.name, "Thanks").await;
    assert_eq!(kinds(&app, &vic).await, [(Commented, "Ship it".to_owned(), "Thanks".to_owned())]);
    assert_eq!(kinds(&app, &bob).await[0].0, Commented);
    assert_eq!(kinds(&app, &ada).await.len(), 1);
    assert_eq!(subscription(&app, &bob, &moved.name).await.reason(), v1::SubscriptionReason::Assignee);
    assert_eq!(subscription(&app, &ada, &moved.name).await.reason(), v1::SubscriptionReason::Creator);

    let metrics = scrape(app.metrics_address).await;
    assert!(metrics.contains(r#"tasktracker_notifications_created_total{kind="commented"} 3"#), "{metrics}");
    assert!(metrics.contains(r#"tasktracker_notifications_created_total{kind="assigned"} 1"#), "{metrics}");
    app.stop().await;
}

async fn mentions_reach_members_only_and_subscribe_them(backend: Backend) {
    use v1::NotificationKind::Mentioned;
    let app = spawn_app(backend).await;
    let (ada, bob, vic, project) = team(&app).await;
    let outsider = app.sign_up("eve").await;
    let created = app.create_task(&ada, &project.name, task("Plan")).await;

    let body = format!(
        "@{} please look, and @{}; not `@{}` in code, nor @{} who is no member, nor @nobody.",
        handle(&vic),
        bob.email.to_uppercase(),
        handle(&ada),
        handle(&outsider)
    );
    let said = comment(&app, &ada, &created.name, &body).await;
    for member in [&vic, &bob] {
        let got = kinds(&app, member).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, Mentioned);
        assert_eq!(subscription(&app, member, &created.name).await.reason(), v1::SubscriptionReason::Mentioned);
    }
    assert!(kinds(&app, &outsider).await.is_empty(), "only members can be mentioned");
    assert!(kinds(&app, &ada).await.is_empty());

    // An edit notifies only whom it newly mentions.
    let mut edited = said.clone();
    edited.body = format!("{body} Also @{}.", handle(&ada));
    let request =
        v1::UpdateCommentRequest { comment: Some(edited), update_mask: Some(FieldMask { paths: vec!["body".into()] }) };
    app.tasks().update_comment(bob.call(request.clone())).await.expect_err("only the author edits");
    app.tasks().update_comment(ada.call(request)).await.expect("edit");
    assert!(kinds(&app, &ada).await.is_empty(), "mentioning yourself notifies nobody");
    assert_eq!(kinds(&app, &vic).await.len(), 1, "Vic was mentioned before the edit");

    // Mentions in a description.
    let described =
        v1::Task { name: created.name.clone(), description: format!("cc @{}", handle(&ada)), ..Default::default() };
    update(&app, &bob, described, &["description"]).await;
    assert_eq!(kinds(&app, &ada).await, [(Mentioned, "Plan".to_owned(), format!("cc @{}", handle(&ada)))]);
    let listed = list(&app, &ada, v1::ListNotificationsRequest { mentions_only: true, ..Default::default() }).await;
    assert_eq!((listed.notifications.len(), listed.unread_mention_count), (1, 1));
    assert_eq!(listed.notifications[0].actor, bob.name);
    assert_eq!(listed.notifications[0].actor_display_name, "bob");
    app.stop().await;
}

async fn the_inbox_lists_pages_marks_and_snoozes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, _vic, project) = team(&app).await;
    for title in ["one", "two", "three", "four", "five"] {
        app.create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task(title) }).await;
    }
    // Pages, newest first, with no overlap.
    let page = |token: String| v1::ListNotificationsRequest { page_size: 2, page_token: token, ..Default::default() };
    let mut titles = Vec::new();
    let mut token = String::new();
    loop {
        let listed = list(&app, &bob, page(token)).await;
        assert_eq!(listed.unread_count, 5);
        titles.extend(listed.notifications.into_iter().map(|notification| notification.task_title));
        token = listed.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(titles, ["five", "four", "three", "two", "one"]);
    let other = v1::ListNotificationsRequest {
        page_size: 2,
        page_token: list(&app, &bob, page(String::new())).await.next_page_token,
        unread_only: true,
        ..Default::default()
    };
    let refused = inbox(&app).list_notifications(bob.call(other)).await.unwrap_err();
    assert_invalid_field(&refused, "page_token");

    let all = list(&app, &bob, v1::ListNotificationsRequest::default()).await.notifications;
    let mark = |names: Vec<String>, up_to_cursor: String, unread: bool| v1::MarkNotificationsReadRequest {
        names,
        up_to_cursor,
        unread,
    };
    let marked = inbox(&app)
        .mark_notifications_read(bob.call(mark(vec![all[0].name.clone()], String::new(), false)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((marked.changed_count, marked.unread_count), (1, 4));
    let unread = list(&app, &bob, v1::ListNotificationsRequest { unread_only: true, ..Default::default() }).await;
    assert_eq!(unread.notifications.len(), 4);
    assert!(unread.notifications.iter().all(|notification| notification.read_time.is_none()));
    // Up to the third newest's cursor: the three oldest.
    let marked = inbox(&app)
        .mark_notifications_read(bob.call(mark(Vec::new(), all[2].cursor.clone(), false)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((marked.changed_count, marked.unread_count), (3, 1));
    let marked = inbox(&app)
        .mark_notifications_read(bob.call(mark(vec![all[4].name.clone()], String::new(), true)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((marked.changed_count, marked.unread_count), (1, 2));

    // Snoozed: hidden, and unread again when it comes back.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    let later = Timestamp { seconds: i64::try_from(now.as_secs()).expect("seconds") + 3_600, nanos: 0 };
    let request = v1::SnoozeNotificationRequest { name: all[0].name.clone(), snooze_time: Some(later) };
    let snoozed = inbox(&app).snooze_notification(bob.call(request)).await.unwrap().into_inner();
    assert!(snoozed.snooze_time.is_some() && snoozed.read_time.is_none());
    let listed = list(&app, &bob, v1::ListNotificationsRequest::default()).await;
    assert_eq!((listed.notifications.len(), listed.unread_count), (4, 2));
    let listed = list(&app, &bob, v1::ListNotificationsRequest { show_snoozed: true, ..Default::default() }).await;
    assert_eq!(listed.notifications.len(), 5);
    let request = v1::SnoozeNotificationRequest { name: all[0].name.clone(), snooze_time: None };
    inbox(&app).snooze_notification(bob.call(request)).await.unwrap();
    assert_eq!(list(&app, &bob, v1::ListNotificationsRequest::default()).await.unread_count, 3);

    // Bad input names its field; another user's notification does not exist.
    let past = Timestamp { seconds: 1, nanos: 0 };
    let request = v1::SnoozeNotificationRequest { name: all[0].name.clone(), snooze_time: Some(past) };
    assert_invalid_field(&inbox(&app).snooze_notification(bob.call(request)).await.unwrap_err(), "snooze_time");
    let request = v1::SnoozeNotificationRequest { name: "users/x/notifications/1".into(), snooze_time: None };
    assert_invalid_field(&inbox(&app).snooze_notification(bob.call(request)).await.unwrap_err(), "name");
    let request = v1::SnoozeNotificationRequest { name: all[0].name.clone(), snooze_time: None };
    assert_eq!(inbox(&app).snooze_notification(ada.call(request)).await.unwrap_err().code(), Code::NotFound);
    let stolen =
        inbox(&app).mark_notifications_read(ada.call(mark(vec![all[1].name.clone()], String::new(), false))).await;
    assert_eq!(stolen.unwrap_err().code(), Code::NotFound);
    let neither = inbox(&app).mark_notifications_read(bob.call(mark(Vec::new(), String::new(), false))).await;
    assert_invalid_field(&neither.unwrap_err(), "names");
    let request = v1::ListNotificationsRequest { kinds: vec![42], ..Default::default() };
    assert_invalid_field(&inbox(&app).list_notifications(bob.call(request)).await.unwrap_err(), "kinds[0]");
    let request = v1::ListNotificationsRequest { page_size: -1, ..Default::default() };
    assert_invalid_field(&inbox(&app).list_notifications(bob.call(request)).await.unwrap_err(), "page_size");
    app.stop().await;
}

async fn unsubscribing_lasts_until_the_user_is_involved_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, _vic, project) = team(&app).await;
    let created =
        app.create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task("Quiet") }).await;
    let left = inbox(&app)
        .unsubscribe_task(bob.call(v1::UnsubscribeTaskRequest { task: created.name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(!left.subscribed);
    comment(&app, &ada, &created.name, "anyone?").await;
    assert_eq!(kinds(&app, &bob).await.len(), 1, "only the assignment, from before");
    comment(&app, &ada, &created.name, &format!("@{} you?", handle(&bob))).await;
    assert_eq!(kinds(&app, &bob).await[0].0, v1::NotificationKind::Mentioned);
    assert!(subscription(&app, &bob, &created.name).await.subscribed, "a mention subscribes again");
    comment(&app, &ada, &created.name, "thanks").await;
    assert_eq!(kinds(&app, &bob).await[0].0, v1::NotificationKind::Commented);

    // Following takes read access to the task.
    let stranger = app.sign_up("sam").await;
    let refused =
        inbox(&app).subscribe_task(stranger.call(v1::SubscribeTaskRequest { task: created.name.clone() })).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);
    let refused = inbox(&app).subscribe_task(bob.call(v1::SubscribeTaskRequest { task: "tasks/1".into() })).await;
    assert_invalid_field(&refused.unwrap_err(), "task");
    app.stop().await;
}

async fn completing_a_blocker_notifies_the_followers_of_what_it_blocked(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, _vic, project) = team(&app).await;
    let blocker = app.create_task(&ada, &project.name, task("Pour the foundation")).await;
    let blocked = app
        .create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task("Build walls") })
        .await;
    let relation = v1::TaskRelation {
        r#type: v1::TaskRelationType::Blocks as i32,
        task: blocked.name.clone(),
        ..Default::default()
    };
    let request = v1::CreateTaskRelationRequest { parent: blocker.name.clone(), task_relation: Some(relation) };
    app.relations().create_task_relation(ada.call(request)).await.expect("relate");
    let done = v1::Task { name: blocker.name.clone(), status: v1::TaskStatus::Done as i32, ..Default::default() };
    update(&app, &ada, done, &["status"]).await;
    let got = list(&app, &bob, v1::ListNotificationsRequest::default()).await.notifications;
    assert_eq!(got[0].kind(), v1::NotificationKind::Unblocked);
    assert_eq!(got[0].task, blocked.name);
    assert_eq!(got[0].summary, "Pour the foundation is done");
    assert!(kinds(&app, &ada).await.is_empty(), "Ada completed it herself");
    app.stop().await;
}

async fn a_former_member_sees_nothing_of_the_project(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, _vic, project) = team(&app).await;
    app.create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task("Secret") }).await;
    assert_eq!(list(&app, &bob, v1::ListNotificationsRequest::default()).await.unread_count, 1);
    let member = format!("{}/members/{}", project.name, bob.name.trim_start_matches("users/"));
    app.projects().remove_member(ada.call(v1::RemoveMemberRequest { name: member })).await.expect("remove member");
    let listed = list(&app, &bob, v1::ListNotificationsRequest { show_snoozed: true, ..Default::default() }).await;
    assert!(listed.notifications.is_empty(), "{listed:?}");
    assert_eq!(listed.unread_count, 0);
    app.stop().await;
}

async fn next(stream: &mut Streaming<v1::WatchNotificationsResponse>) -> Kind {
    loop {
        let response = tokio::time::timeout(LIVE, stream.next()).await.expect("a message in time");
        let kind = response.expect("an open stream").expect("a message").kind.expect("a kind");
        if !matches!(kind, Kind::Heartbeat(_)) {
            return kind;
        }
    }
}

async fn watch(
    client: &mut NotificationServiceClient<Channel>,
    user: &TestUser,
    cursor: &str,
) -> Result<Streaming<v1::WatchNotificationsResponse>, Status> {
    let request = v1::WatchNotificationsRequest { cursor: cursor.into() };
    client.watch_notifications(user.call(request)).await.map(tonic::Response::into_inner)
}

fn counts(kind: Kind) -> (i32, i32) {
    match kind {
        Kind::Counts(counts) => (counts.unread_count, counts.unread_mention_count),
        other => panic!("expected counts, got {other:?}"),
    }
}

async fn the_stream_delivers_live_and_resumes_from_a_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, _vic, project) = team(&app).await;
    let mut stream = watch(&mut inbox(&app), &bob, "").await.expect("watch");
    assert_eq!(counts(next(&mut stream).await), (0, 0));

    let created =
        app.create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task("Live") }).await;
    let Kind::Notification(first) = next(&mut stream).await else { panic!("expected a notification") };
    assert_eq!((first.kind(), first.task.as_str()), (v1::NotificationKind::Assigned, created.name.as_str()));
    assert_eq!(counts(next(&mut stream).await), (1, 0));
    comment(&app, &ada, &created.name, &format!("@{} ping", handle(&bob))).await;
    let Kind::Notification(second) = next(&mut stream).await else { panic!("expected a notification") };
    assert_eq!(second.kind(), v1::NotificationKind::Mentioned);
    assert_eq!(counts(next(&mut stream).await), (2, 1));

    // Reading in another tab updates this one's badge.
    let request = v1::MarkNotificationsReadRequest { up_to_cursor: second.cursor.clone(), ..Default::default() };
    inbox(&app).mark_notifications_read(bob.call(request)).await.expect("mark read");
    assert_eq!(counts(next(&mut stream).await), (0, 0));

    // Resuming from the first cursor replays exactly what followed it.
    let mut resumed = watch(&mut inbox(&app), &bob, &first.cursor).await.expect("resume");
    let Kind::Notification(replayed) = next(&mut resumed).await else { panic!("expected a notification") };
    assert_eq!(replayed.name, second.name);
    assert_eq!(counts(next(&mut resumed).await), (0, 0));

    let ahead = watch(&mut inbox(&app), &bob, "99").await.unwrap_err();
    assert_invalid_field(&ahead, "cursor");
    let bad = watch(&mut inbox(&app), &bob, "x").await.unwrap_err();
    assert_invalid_field(&bad, "cursor");

    // Signing out ends the stream.
    app.accounts().sign_out(bob.call(v1::SignOutRequest {})).await.expect("sign out");
    let ended = tokio::time::timeout(LIVE, async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => {}
                Some(Err(status)) => return status.code(),
                None => return Code::Ok,
            }
        }
    });
    assert_eq!(ended.await.expect("the stream ends"), Code::Unauthenticated);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_reach_a_stream_on_another_process() {
    let app = spawn_app(Backend::Postgres).await;
    let (ada, bob, _vic, project) = team(&app).await;
    let other = ServerProcess::start(&app.database.url, &[]);
    let mut elsewhere = NotificationServiceClient::new(connect(other.address).await);
    let mut stream = watch(&mut elsewhere, &bob, "").await.expect("watch on the other process");
    assert_eq!(counts(next(&mut stream).await), (0, 0));
    let created =
        app.create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task("Far") }).await;
    let Kind::Notification(arrived) = next(&mut stream).await else { panic!("expected a notification") };
    assert_eq!(arrived.task, created.name);
    assert_eq!(counts(next(&mut stream).await), (1, 0));

    // Fan-out across the two replicas, measured: from sending a write here
    // to its notification arriving on the other process's stream (printed
    // with `--no-capture`; figures, not a bound). Every one arrives, in
    // order, with the counts after it.
    let mut latencies = Vec::new();
    for round in 1..=FAN_OUT_ROUNDS {
        let sent = std::time::Instant::now();
        let title = format!("Far {round}");
        let created =
            app.create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task(&title) }).await;
        let Kind::Notification(arrived) = next(&mut stream).await else { panic!("expected a notification") };
        latencies.push(sent.elapsed());
        assert_eq!(arrived.task, created.name);
        assert_eq!(counts(next(&mut stream).await), (round + 1, 0));
    }
    latencies.sort();
    let at = |quantile: f64| latencies[((latencies.len() - 1) as f64 * quantile).round() as usize];
    eprintln!(
        "notification fan-out across two replicas (write sent -> other replica's stream, n={}): p50 {:?}, p95 {:?}, max {:?}",
        latencies.len(),
        at(0.5),
        at(0.95),
        at(1.0)
    );
    drop(other);
    app.stop().await;
}

/// Writes whose notifications `notifications_reach_a_stream_on_another_process` times.
const FAN_OUT_ROUNDS: i32 = 20;

async fn the_inbox_is_for_people_and_unrestricted_tokens_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, _vic, project) = team(&app).await;
    app.create_task(&ada, &project.name, v1::Task { assignees: vec![bob.name.clone()], ..task("Token") }).await;
    let token = |scope: v1::ApiTokenScope, project: &str| v1::CreateApiTokenRequest {
        api_token: Some(v1::ApiToken {
            display_name: "script".into(),
            scope: scope as i32,
            project: project.into(),
            ..Default::default()
        }),
    };
    let mut accounts = app.accounts();
    let scoped = token(v1::ApiTokenScope::Write, &project.name);
    let scoped = accounts.create_api_token(bob.call(scoped)).await.expect("token").into_inner().secret;
    let reader = token(v1::ApiTokenScope::Read, "");
    let reader = accounts.create_api_token(bob.call(reader)).await.expect("token").into_inner().secret;
    let user = |secret: &str| TestUser { token: secret.to_owned(), ..bob.clone() };
    // A token restricted to one project cannot read an inbox that spans all.
    let refused = inbox(&app).list_notifications(user(&scoped).call(v1::ListNotificationsRequest::default())).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);
    let refused = watch(&mut inbox(&app), &user(&scoped), "").await.map(|_| ()).unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // A read token reads it, and cannot change it.
    let listed = list(&app, &user(&reader), v1::ListNotificationsRequest::default()).await;
    assert_eq!(listed.unread_count, 1);
    let request =
        v1::MarkNotificationsReadRequest { up_to_cursor: listed.notifications[0].cursor.clone(), ..Default::default() };
    let refused = inbox(&app).mark_notifications_read(user(&reader).call(request)).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);
    let anonymous = inbox(&app).list_notifications(v1::ListNotificationsRequest::default()).await;
    assert_eq!(anonymous.unwrap_err().code(), Code::Unauthenticated);
    app.stop().await;
}
