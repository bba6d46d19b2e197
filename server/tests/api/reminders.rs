//! Due-date reminders: who gets one and when, defaults and per-task
//! settings, validation, and exactly once with two server processes and a
//! restart in the middle.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::{FieldMask, Timestamp};
use tasktracker_proto::v1::{self, notification_service_client::NotificationServiceClient};
use tonic::{Code, transport::Channel};

use crate::{
    helpers::{Backend, ServerProcess, TestApp, TestUser, assert_invalid_field, eventually, scrape, spawn_app, task},
    on_both_backends,
};

on_both_backends!(
    assignees_are_reminded_once_per_due_time,
    defaults_and_per_task_settings_decide_who_is_reminded,
    bad_reminder_settings_are_refused_naming_the_field,
);

fn inbox(app: &TestApp) -> NotificationServiceClient<Channel> {
    NotificationServiceClient::new(app.channel.clone())
}

fn in_hours(hours: f64) -> Timestamp {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs_f64();
    Timestamp { seconds: (now + hours * 3_600.0) as i64, nanos: 0 }
}

/// `user`'s reminders as task titles, oldest first.
async fn reminded(app: &TestApp, user: &TestUser) -> Vec<String> {
    let request = v1::ListNotificationsRequest {
        kinds: vec![v1::NotificationKind::DueSoon as i32],
        page_size: 100,
        show_snoozed: true,
        ..Default::default()
    };
    let listed = inbox(app).list_notifications(user.call(request)).await.expect("list").into_inner();
    listed.notifications.into_iter().rev().map(|notification| notification.task_title).collect()
}

/// Gives the scheduler (every 200 ms in tests) time for several passes.
async fn a_few_passes() {
    tokio::time::sleep(Duration::from_millis(1_000)).await;
}

async fn due_task(
    app: &TestApp,
    by: &TestUser,
    project: &str,
    title: &str,
    assignee: &TestUser,
    hours: f64,
) -> v1::Task {
    let due = v1::Task { due_time: Some(in_hours(hours)), assignees: vec![assignee.name.clone()], ..task(title) };
    app.create_task(by, project, due).await
}

async fn team(app: &TestApp) -> (TestUser, TestUser, v1::Project) {
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let project = app.create_project(&ada, "Deadlines").await;
    app.add_member(&ada, &project.name, &bob, v1::Role::Editor).await;
    (ada, bob, project)
}

async fn assignees_are_reminded_once_per_due_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, project) = team(&app).await;
    let soon = due_task(&app, &ada, &project.name, "Soon", &bob, 2.0).await;
    due_task(&app, &ada, &project.name, "Next month", &bob, 24.0 * 20.0).await;
    // Done from the start: a pass between a create and an update would
    // rightly remind Bob of it.
    let finished = v1::Task {
        due_time: Some(in_hours(1.0)),
        assignees: vec![bob.name.clone()],
        status: v1::TaskStatus::Done as i32,
        ..task("Finished")
    };
    app.create_task(&ada, &project.name, finished).await;
    app.create_task(&ada, &project.name, v1::Task { due_time: Some(in_hours(1.0)), ..task("Nobody's") }).await;
    due_task(&app, &ada, &project.name, "Ada's own", &ada, 1.0).await;
    due_task(&app, &ada, &project.name, "Long overdue", &bob, -48.0).await;

    eventually(Duration::from_secs(10), async || reminded(&app, &bob).await == ["Soon"]).await;
    eventually(Duration::from_secs(10), async || reminded(&app, &ada).await == ["Ada's own"]).await;
    a_few_passes().await;
    assert_eq!(reminded(&app, &bob).await, ["Soon"], "once, and only for open tasks due within the lead time");
    let listed = inbox(&app)
        .list_notifications(bob.call(v1::ListNotificationsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .notifications;
    let reminder = listed.iter().find(|n| n.kind() == v1::NotificationKind::DueSoon).expect("a reminder");
    assert!(
        reminder.summary.starts_with("Due in 1 hour") || reminder.summary.starts_with("Due in 2 hours"),
        "{reminder:?}"
    );
    assert_eq!((reminder.actor.as_str(), reminder.task.as_str()), ("", soon.name.as_str()));

    // A new due date is a new reminder.
    let moved = v1::Task { name: soon.name.clone(), due_time: Some(in_hours(1.0)), ..Default::default() };
    let mask = Some(FieldMask { paths: vec!["due_time".into()] });
    app.tasks().update_task(ada.call(v1::UpdateTaskRequest { task: Some(moved), update_mask: mask })).await.unwrap();
    eventually(Duration::from_secs(10), async || reminded(&app, &bob).await == ["Soon", "Soon"]).await;

    let metrics = scrape(app.metrics_address).await;
    assert!(metrics.contains(r#"tasktracker_notifications_created_total{kind="due_soon"} 3"#), "{metrics}");
    assert!(metrics.contains(r#"tasktracker_reminder_passes_total{result="ok"}"#), "{metrics}");
    app.stop().await;
}

async fn defaults_and_per_task_settings_decide_who_is_reminded(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, project) = team(&app).await;
    let settings_name = format!("{}/notificationSettings", bob.name);
    let get = v1::GetNotificationSettingsRequest { name: settings_name.clone() };
    let defaults = inbox(&app).get_notification_settings(bob.call(get)).await.unwrap().into_inner();
    assert_eq!((defaults.reminder_lead.map(|lead| lead.seconds), defaults.reminders_off), (Some(86_400), false));

    // Bob wants two hours' notice, and no reminders unless a task asks.
    let settings = v1::NotificationSettings {
        name: settings_name,
        reminder_lead: Some(prost_types::Duration { seconds: 7_200, nanos: 0 }),
        reminders_off: true,
        ..Default::default()
    };
    let request = v1::UpdateNotificationSettingsRequest { settings: Some(settings), update_mask: None };
    let updated = inbox(&app).update_notification_settings(bob.call(request)).await.unwrap().into_inner();
    assert!(updated.reminders_off);
    due_task(&app, &ada, &project.name, "Quiet", &bob, 1.0).await;
    let wanted = due_task(&app, &ada, &project.name, "Wanted", &bob, 3.0).await;
    let early = due_task(&app, &ada, &project.name, "Too early", &bob, 3.0).await;

    let own = |task: &v1::Task, hours: i64| v1::UpdateTaskReminderRequest {
        reminder: Some(v1::TaskReminder {
            task: task.name.clone(),
            lead: Some(prost_types::Duration { seconds: hours * 3_600, nanos: 0 }),
            off: false,
            overridden: false,
        }),
        reset: false,
    };
    let set = inbox(&app).update_task_reminder(bob.call(own(&wanted, 4))).await.unwrap().into_inner();
    assert!(set.overridden && !set.off);
    inbox(&app).update_task_reminder(bob.call(own(&early, 1))).await.unwrap();
    eventually(Duration::from_secs(10), async || reminded(&app, &bob).await == ["Wanted"]).await;
    a_few_passes().await;
    assert_eq!(reminded(&app, &bob).await, ["Wanted"], "defaults off; Too early is 3 hours away with 1 hour's notice");

    // Back to the defaults: the task shows them.
    let reset = v1::UpdateTaskReminderRequest {
        reminder: Some(v1::TaskReminder { task: early.name.clone(), ..Default::default() }),
        reset: true,
    };
    let shown = inbox(&app).update_task_reminder(bob.call(reset)).await.unwrap().into_inner();
    assert!(!shown.overridden && shown.off);
    assert_eq!(shown.lead.map(|lead| lead.seconds), Some(7_200));
    let shown = inbox(&app)
        .get_task_reminder(bob.call(v1::GetTaskReminderRequest { task: wanted.name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((shown.overridden, shown.lead.map(|lead| lead.seconds)), (true, Some(4 * 3_600)));

    // A removed member is not reminded of the project's tasks.
    let other = app.sign_up("cat").await;
    app.add_member(&ada, &project.name, &other, v1::Role::Editor).await;
    due_task(&app, &ada, &project.name, "Gone", &other, 1.0).await;
    let member = format!("{}/members/{}", project.name, other.name.trim_start_matches("users/"));
    app.projects().remove_member(ada.call(v1::RemoveMemberRequest { name: member })).await.unwrap();
    a_few_passes().await;
    assert!(reminded(&app, &other).await.is_empty());
    app.stop().await;
}

async fn bad_reminder_settings_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, project) = team(&app).await;
    let created = app.create_task(&ada, &project.name, task("Any")).await;
    let lead = |seconds| Some(prost_types::Duration { seconds, nanos: 0 });
    let update = |name: String, seconds| v1::UpdateNotificationSettingsRequest {
        settings: Some(v1::NotificationSettings {
            name,
            reminder_lead: lead(seconds),
            reminders_off: false,
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["reminder_lead".into()] }),
    };
    let own = format!("{}/notificationSettings", bob.name);
    let refused = inbox(&app).update_notification_settings(bob.call(update(own.clone(), 31 * 86_400))).await;
    assert_invalid_field(&refused.unwrap_err(), "settings.reminder_lead");
    let refused = inbox(&app).update_notification_settings(bob.call(update(own.clone(), 30))).await;
    assert_invalid_field(&refused.unwrap_err(), "settings.reminder_lead");
    let refused = inbox(&app).update_notification_settings(bob.call(update("users/me".into(), 3_600))).await;
    assert_invalid_field(&refused.unwrap_err(), "settings.name");
    let mut bad_mask = update(own.clone(), 3_600);
    bad_mask.update_mask = Some(FieldMask { paths: vec!["email".into()] });
    let refused = inbox(&app).update_notification_settings(bob.call(bad_mask)).await;
    assert_invalid_field(&refused.unwrap_err(), "update_mask.paths[0]");
    let theirs = format!("{}/notificationSettings", ada.name);
    let get = v1::GetNotificationSettingsRequest { name: theirs };
    assert_eq!(inbox(&app).get_notification_settings(bob.call(get)).await.unwrap_err().code(), Code::NotFound);

    let reminder = |seconds| v1::UpdateTaskReminderRequest {
        reminder: Some(v1::TaskReminder { task: created.name.clone(), lead: lead(seconds), ..Default::default() }),
        reset: false,
    };
    let refused = inbox(&app).update_task_reminder(bob.call(reminder(59))).await;
    assert_invalid_field(&refused.unwrap_err(), "reminder.lead");
    let stranger = app.sign_up("sam").await;
    let refused = inbox(&app).update_task_reminder(stranger.call(reminder(3_600))).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);
    app.stop().await;
}

/// Two server processes and the test's own run the scheduler on one
/// database, and one process is restarted half way: every reminder goes out
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_go_out_once_across_processes_and_a_restart() {
    const TASKS: usize = 30;
    let app = spawn_app(Backend::Postgres).await;
    let (ada, bob, project) = team(&app).await;
    let env = [("TASKTRACKER_REMINDER_INTERVAL", "50ms")];
    let mut first = Some(ServerProcess::start(&app.database.url, &env));
    let second = ServerProcess::start(&app.database.url, &env);
    let mut titles = Vec::new();
    let mut restarted = None;
    for index in 0..TASKS {
        let title = format!("Task {index:02}");
        due_task(&app, &ada, &project.name, &title, &bob, 1.0).await;
        titles.push(title);
        if index == TASKS / 2 {
            let stopped = first.take().expect("running").terminate();
            assert!(stopped.success(), "a clean stop");
            restarted = Some(ServerProcess::start(&app.database.url, &env));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eventually(Duration::from_secs(15), async || reminded(&app, &bob).await.len() >= TASKS).await;
    a_few_passes().await;
    let mut got = reminded(&app, &bob).await;
    got.sort();
    assert_eq!(got, titles, "each task reminded exactly once");
    let text = scrape(second.metrics_address).await;
    assert!(text.contains("tasktracker_reminder_passes_total"), "{text}");
    drop((second, restarted));
    app.stop().await;
}
