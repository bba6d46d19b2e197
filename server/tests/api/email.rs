//! Email notifications, sent to a real SMTP server on 127.0.0.1 (aiosmtpd,
//! `server/tests/smtp_sink.py`, which decodes each mail with Python's own
//! email parser): content (text and HTML, the task link, the unsubscribe
//! link and header, no secret and nothing of another project), preferences
//! (off sends nothing), digest batching, retries after SMTP failures, and the
//! "due date reached" notification exactly once.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use prost_types::{FieldMask, Timestamp};
use tasktracker_proto::v1::{self, notification_service_client::NotificationServiceClient};
use tonic::{Request, transport::Channel};

use crate::{
    helpers::{
        Backend, ServerProcess, TestApp, TestDatabase, TestUser, assert_invalid_field, eventually, sample, scrape,
        spawn_app, spawn_app_with, task,
    },
    on_both_backends,
};

on_both_backends!(
    an_email_carries_the_notification_and_a_working_unsubscribe_link,
    digests_batch_and_off_sends_nothing,
    failed_sends_are_retried_until_accepted,
    due_date_reached_is_notified_and_mailed_once,
    without_smtp_email_is_off,
    invitations_are_mailed_once_to_whoever_is_invited,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_each_email_once() {
    // PostgreSQL only: SQLite serves one process. Both replicas' senders
    // claim from one outbox every 100 ms (FOR UPDATE SKIP LOCKED).
    let sink = SmtpSink::start(0);
    let app = spawn_mailing_app(Backend::Postgres, &sink, Duration::from_secs(86_400)).await;
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let other = ServerProcess::start(
        &app.database.url,
        &[
            ("TASKTRACKER_SMTP_URL", &smtp),
            ("TASKTRACKER_EMAIL_FROM", "Tasktracker <tasks@example.com>"),
            ("TASKTRACKER_PUBLIC_URL", PUBLIC_URL),
            ("TASKTRACKER_EMAIL_INTERVAL", "100ms"),
        ],
    );
    let (ada, bob, project) = team(&app).await;
    const TASKS: usize = 40;
    // Four at a time: the test server's pool has five connections.
    for chunk in (0..TASKS).collect::<Vec<_>>().chunks(4) {
        let creates = chunk
            .iter()
            .map(|index| app.create_task(&ada, &project.name, assigned_to(&format!("Task {index:02}"), &bob)));
        futures::future::join_all(creates).await;
    }
    sink.wait_for(TASKS).await;
    a_few_passes().await;
    let mut subjects: Vec<String> = sink.mails().into_iter().map(|mail| mail.subject).collect();
    assert_eq!(subjects.len(), TASKS, "{subjects:#?}");
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), TASKS, "an email went out twice");
    let sent = |metrics: &str| sample(metrics, r#"tasktracker_emails_sent_total{kind="assigned"}"#).unwrap_or(0.0);
    let here = sent(&scrape(app.metrics_address).await);
    let there = sent(&scrape(other.metrics_address).await);
    eprintln!("emails sent: {here} by the in-process replica, {there} by the other process");
    assert_eq!(here + there, TASKS as f64);
    drop(other);
    app.stop().await;
}

const PUBLIC_URL: &str = "https://tasks.example.com";
const TOKEN_SECRET: &str = "a test secret that is at least 32 bytes long";

/// An aiosmtpd server on a free 127.0.0.1 port, writing what it receives
/// to a directory of its own; stopped when dropped.
struct SmtpSink {
    child: Child,
    port: u16,
    directory: PathBuf,
}

/// One received mail, as the sink decoded it.
#[derive(Debug, Clone)]
struct Mail {
    to: Vec<String>,
    subject: String,
    list_unsubscribe: String,
    content_type: String,
    text: String,
    html: String,
    raw: String,
}

impl Mail {
    /// Invitations carry no unsubscribe link; every notification mail does.
    fn is_invitation(&self) -> bool {
        self.list_unsubscribe.is_empty()
    }
}

impl SmtpSink {
    /// Starts the sink; it refuses the first `fail_first` mails with a
    /// transient error.
    fn start(fail_first: u32) -> Self {
        let python = std::env::var("TASKTRACKER_TEST_SMTPD_PYTHON").unwrap_or_else(|_| {
            panic!(
                "TASKTRACKER_TEST_SMTPD_PYTHON is not set: the email tests need aiosmtpd. scripts/test.sh installs \
                 it; by hand: `source scripts/lib/tools.sh && ensure_aiosmtpd` and export that variable"
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().unwrap().port();
        let directory = std::env::temp_dir().join(format!("tasktracker-smtp-{}", uuid::Uuid::now_v7().simple()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
        let mut child = Command::new(&python)
            .arg(script)
            .arg(port.to_string())
            .arg(&directory)
            .arg(fail_first.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {python} (aiosmtpd): {error}"));
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(Duration::from_secs(20)).expect("the SMTP sink starts");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Self { child, port, directory }
    }

    /// Every notification mail received so far, in order (invitations,
    /// which a test's team set-up may cause, are left out).
    fn mails(&self) -> Vec<Mail> {
        self.all_mails().into_iter().filter(|mail| !mail.is_invitation()).collect()
    }

    /// Every invitation mail received so far, in order.
    fn invitation_mails(&self) -> Vec<Mail> {
        self.all_mails().into_iter().filter(Mail::is_invitation).collect()
    }

    /// Every mail received so far, in order.
    fn all_mails(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(&self.directory) else { return Vec::new() };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let json: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).expect("a mail")).expect("JSON");
                let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
                Mail {
                    to: json["rcpt_tos"].as_array().unwrap().iter().map(text).collect(),
                    subject: text(&json["headers"]["subject"]),
                    list_unsubscribe: text(&json["headers"]["list-unsubscribe"]),
                    content_type: text(&json["content_type"]),
                    text: text(&json["text"]),
                    html: text(&json["html"]),
                    raw: std::fs::read_to_string(path.with_extension("eml")).expect("the raw mail"),
                }
            })
            .collect()
    }

    /// Waits until at least `count` mails have arrived; returns them all.
    async fn wait_for(&self, count: usize) -> Vec<Mail> {
        eventually(Duration::from_secs(10), async || self.mails().len() >= count).await;
        self.mails()
    }

    /// The mails to `user`.
    fn mails_to(&self, user: &TestUser) -> Vec<Mail> {
        self.mails().into_iter().filter(|mail| mail.to.contains(&user.email)).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// A server that mails through `sink`, with a digest period of `digest`.
async fn spawn_mailing_app(backend: Backend, sink: &SmtpSink, digest: Duration) -> TestApp {
    let database = TestDatabase::create(backend).await;
    let port = sink.port;
    spawn_app_with(backend, database, move |settings| {
        settings.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
        settings.email_from = Some("Tasktracker <tasks@example.com>".into());
        settings.public_url = Some(format!("{PUBLIC_URL}/"));
        settings.email_digest_period = digest;
    })
    .await
}

fn inbox(app: &TestApp) -> NotificationServiceClient<Channel> {
    NotificationServiceClient::new(app.channel.clone())
}

/// Ada owns "Launch" with Bob as an editor.
async fn team(app: &TestApp) -> (TestUser, TestUser, v1::Project) {
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let project = app.create_project(&ada, "Launch").await;
    app.add_member(&ada, &project.name, &bob, v1::Role::Editor).await;
    (ada, bob, project)
}

fn assigned_to(title: &str, user: &TestUser) -> v1::Task {
    v1::Task { assignees: vec![user.name.clone()], ..task(title) }
}

/// The path of a task's page in the web app.
fn task_link(task: &v1::Task) -> String {
    format!("{PUBLIC_URL}/{}", task.name)
}

/// The token of an unsubscribe link or `List-Unsubscribe` header.
fn token_of(link: &str) -> String {
    let (_, token) = link.split_once("/unsubscribe?token=").unwrap_or_else(|| panic!("no unsubscribe link in {link}"));
    token.trim_end_matches('>').split_whitespace().next().unwrap().to_owned()
}

async fn settings(app: &TestApp, user: &TestUser) -> v1::NotificationSettings {
    let request = v1::GetNotificationSettingsRequest { name: format!("{}/notificationSettings", user.name) };
    inbox(app).get_notification_settings(user.call(request)).await.expect("settings").into_inner()
}

fn delivery_of(settings: &v1::NotificationSettings, kind: v1::NotificationKind) -> v1::EmailDelivery {
    let preference = settings.email_preferences.iter().find(|preference| preference.kind == kind as i32);
    preference.expect("every kind is listed").delivery()
}

async fn set_deliveries(
    app: &TestApp,
    user: &TestUser,
    deliveries: &[(v1::NotificationKind, v1::EmailDelivery)],
) -> Result<v1::NotificationSettings, tonic::Status> {
    let settings = v1::NotificationSettings {
        name: format!("{}/notificationSettings", user.name),
        email_preferences: deliveries
            .iter()
            .map(|(kind, delivery)| v1::EmailPreference { kind: *kind as i32, delivery: *delivery as i32 })
            .collect(),
        ..Default::default()
    };
    let mask = FieldMask { paths: vec!["email_preferences".into()] };
    let request = v1::UpdateNotificationSettingsRequest { settings: Some(settings), update_mask: Some(mask) };
    inbox(app).update_notification_settings(user.call(request)).await.map(tonic::Response::into_inner)
}

/// Lets the sender (every 100 ms in tests) make several passes.
async fn a_few_passes() {
    tokio::time::sleep(Duration::from_millis(800)).await;
}

async fn an_email_carries_the_notification_and_a_working_unsubscribe_link(backend: Backend) {
    let sink = SmtpSink::start(0);
    let app = spawn_mailing_app(backend, &sink, Duration::from_secs(86_400)).await;
    let (ada, bob, project) = team(&app).await;
    // Another project, of Ada's and Carol's only: nothing of it may reach Bob.
    let carol = app.sign_up("carol").await;
    let secret_project = app.create_project(&carol, "Skunkworks").await;
    app.add_member(&carol, &secret_project.name, &ada, v1::Role::Editor).await;
    let hidden = app.create_task(&carol, &secret_project.name, assigned_to("Confidential merger", &ada)).await;

    let created = app.create_task(&ada, &project.name, assigned_to("Write <the> README & docs", &bob)).await;
    let mails = sink.wait_for(2).await;
    assert_eq!(mails.len(), 2, "{mails:#?}");

    let to_bob = sink.mails_to(&bob);
    assert_eq!(to_bob.len(), 1, "{to_bob:#?}");
    let mail = &to_bob[0];
    assert_eq!(mail.to, vec![bob.email.clone()]);
    assert_eq!(mail.subject, "[Launch] ada assigned you: Write <the> README & docs");
    assert_eq!(mail.content_type, "multipart/alternative");
    // Plain text: the headline, the task with its project, its link.
    assert!(mail.text.contains("ada assigned you."), "{}", mail.text);
    assert!(mail.text.contains("Task: Write <the> README & docs (project Launch)"), "{}", mail.text);
    assert!(mail.text.contains(&format!("Open it: {}", task_link(&created))), "{}", mail.text);
    // HTML: the same, escaped, with the link as a link.
    assert!(
        mail.html.contains(&format!("<a href=\"{}\">Write &lt;the&gt; README &amp; docs</a>", task_link(&created)))
    );
    assert!(!mail.html.contains("<the>"), "unescaped text in {}", mail.html);
    // The unsubscribe link, in the body and as List-Unsubscribe.
    assert!(mail.list_unsubscribe.starts_with(&format!("<{PUBLIC_URL}/unsubscribe?token=")), "{mail:?}");
    let token = token_of(&mail.list_unsubscribe);
    assert!(mail.text.contains(&format!("{PUBLIC_URL}/unsubscribe?token={token}")), "{}", mail.text);
    assert!(mail.html.contains(&format!("{PUBLIC_URL}/unsubscribe?token={token}")), "{}", mail.html);
    // No secret, and nothing of the other project.
    for text in [&mail.raw, &mail.text, &mail.html] {
        assert!(!text.contains(TOKEN_SECRET), "the token secret is in a mail");
        assert!(!text.contains("Skunkworks") && !text.contains("Confidential"), "another project's data: {text}");
        assert!(!text.contains(&hidden.name), "another project's task: {text}");
    }
    // Ada's own mail is about Carol's project, and goes to her alone.
    let to_ada = sink.mails_to(&ada);
    assert_eq!(to_ada.len(), 1, "{to_ada:#?}");
    assert_eq!(to_ada[0].subject, "[Skunkworks] carol assigned you: Confidential merger");
    assert!(!to_ada[0].text.contains("Launch") && !to_ada[0].html.contains("Launch"), "{:?}", to_ada[0]);

    // The link's token, with no credentials, turns assignments off for Bob
    // (for him only).
    assert_eq!(delivery_of(&settings(&app, &bob).await, v1::NotificationKind::Assigned), v1::EmailDelivery::Immediate);
    let unsubscribed = inbox(&app)
        .unsubscribe_email(Request::new(v1::UnsubscribeEmailRequest { token: token.clone() }))
        .await
        .expect("unsubscribe without credentials")
        .into_inner();
    assert_eq!(unsubscribed.kinds, vec![v1::NotificationKind::Assigned as i32]);
    assert_eq!(delivery_of(&settings(&app, &bob).await, v1::NotificationKind::Assigned), v1::EmailDelivery::Off);
    assert_eq!(delivery_of(&settings(&app, &ada).await, v1::NotificationKind::Assigned), v1::EmailDelivery::Immediate);
    // A token that is not the server's, or altered, changes nothing.
    for bad in ["", "nonsense", &token.replacen(".1.", ".2.", 1), &format!("{token}A")] {
        let refused = inbox(&app)
            .unsubscribe_email(Request::new(v1::UnsubscribeEmailRequest { token: bad.to_owned() }))
            .await
            .expect_err("a bad token is refused");
        assert_invalid_field(&refused, "token");
    }
    assert_eq!(delivery_of(&settings(&app, &bob).await, v1::NotificationKind::Mentioned), v1::EmailDelivery::Immediate);

    // Bob is assigned again: the inbox has it, no email comes.
    app.create_task(&ada, &project.name, assigned_to("Second", &bob)).await;
    let unread = inbox(&app)
        .list_notifications(bob.call(v1::ListNotificationsRequest::default()))
        .await
        .expect("inbox")
        .into_inner();
    assert_eq!(unread.notifications.len(), 2);
    a_few_passes().await;
    assert_eq!(sink.mails_to(&bob).len(), 1, "{:#?}", sink.mails_to(&bob));

    let metrics = scrape(app.metrics_address).await;
    assert_eq!(sample(&metrics, r#"tasktracker_emails_sent_total{kind="assigned"}"#), Some(2.0));
    assert_eq!(sample(&metrics, "tasktracker_email_outbox_backlog"), Some(0.0));
    app.stop().await;
}

async fn digests_batch_and_off_sends_nothing(backend: Backend) {
    let sink = SmtpSink::start(0);
    // Long enough for everything below to happen inside one period.
    let digest = Duration::from_millis(2_500);
    let app = spawn_mailing_app(backend, &sink, digest).await;
    let (ada, bob, project) = team(&app).await;
    let carol = app.sign_up("carol").await;
    let other = app.create_project(&carol, "Skunkworks").await;
    app.add_member(&carol, &other.name, &bob, v1::Role::Editor).await;

    // The defaults: assignments, mentions and paused webhooks at once, the
    // rest in the digest.
    let defaults = settings(&app, &bob).await;
    assert!(defaults.email_enabled);
    let kinds: Vec<i32> = defaults.email_preferences.iter().map(|preference| preference.kind).collect();
    assert_eq!(kinds, (1..=8).collect::<Vec<i32>>());
    for (kind, delivery) in [
        (v1::NotificationKind::Assigned, v1::EmailDelivery::Immediate),
        (v1::NotificationKind::Mentioned, v1::EmailDelivery::Immediate),
        (v1::NotificationKind::Commented, v1::EmailDelivery::DailyDigest),
        (v1::NotificationKind::StateChanged, v1::EmailDelivery::DailyDigest),
        (v1::NotificationKind::DueReached, v1::EmailDelivery::DailyDigest),
        (v1::NotificationKind::WebhookPaused, v1::EmailDelivery::Immediate),
    ] {
        assert_eq!(delivery_of(&defaults, kind), delivery, "{kind:?}");
    }
    // Bad preferences are refused, naming the field.
    let refused = set_deliveries(&app, &bob, &[(v1::NotificationKind::Unspecified, v1::EmailDelivery::Off)]).await;
    assert_invalid_field(&refused.expect_err("no kind"), "settings.email_preferences[0].kind");
    let twice = [
        (v1::NotificationKind::Commented, v1::EmailDelivery::Off),
        (v1::NotificationKind::Commented, v1::EmailDelivery::Immediate),
    ];
    let refused = set_deliveries(&app, &bob, &twice).await;
    assert_invalid_field(&refused.expect_err("a kind twice"), "settings.email_preferences[1].kind");
    let mut bad = v1::EmailPreference { kind: v1::NotificationKind::Commented as i32, delivery: 0 };
    bad.delivery = 99;
    let request = v1::UpdateNotificationSettingsRequest {
        settings: Some(v1::NotificationSettings {
            name: format!("{}/notificationSettings", bob.name),
            email_preferences: vec![bad],
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["email_preferences".into()] }),
    };
    let refused = inbox(&app).update_notification_settings(bob.call(request)).await.expect_err("no such delivery");
    assert_invalid_field(&refused, "settings.email_preferences[0].delivery");

    // Bob turns assignment emails off; the other kinds keep their setting.
    let updated = set_deliveries(&app, &bob, &[(v1::NotificationKind::Assigned, v1::EmailDelivery::Off)]).await;
    let updated = updated.expect("update");
    assert_eq!(delivery_of(&updated, v1::NotificationKind::Assigned), v1::EmailDelivery::Off);
    assert_eq!(delivery_of(&updated, v1::NotificationKind::Mentioned), v1::EmailDelivery::Immediate);
    // The reminder settings are untouched by an email_preferences update.
    assert_eq!(updated.reminder_lead.map(|lead| lead.seconds), Some(86_400));

    let started = std::time::Instant::now();
    let created = app.create_task(&ada, &project.name, assigned_to("Ship it", &bob)).await;
    for body in ["First thoughts", "Second thoughts"] {
        let request = v1::CreateCommentRequest {
            parent: created.name.clone(),
            comment: Some(v1::Comment { body: body.into(), ..Default::default() }),
        };
        app.tasks().create_comment(ada.call(request)).await.expect("comment");
    }
    let done = v1::Task { name: created.name.clone(), status: v1::TaskStatus::Done as i32, ..Default::default() };
    let mask = FieldMask { paths: vec!["status".into()] };
    app.tasks()
        .update_task(ada.call(v1::UpdateTaskRequest { task: Some(done), update_mask: Some(mask) }))
        .await
        .expect("complete the task");
    // A comment in Carol's project, on a task Bob follows there.
    let theirs = app.create_task(&carol, &other.name, assigned_to("Their task", &bob)).await;
    let request = v1::CreateCommentRequest {
        parent: theirs.name.clone(),
        comment: Some(v1::Comment { body: "Carol's note".into(), ..Default::default() }),
    };
    app.tasks().create_comment(carol.call(request)).await.expect("comment");

    // Nothing before the digest is due; then one email with all four.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(sink.mails_to(&bob).is_empty() || started.elapsed() >= digest, "{:#?}", sink.mails_to(&bob));
    eventually(Duration::from_secs(10), async || !sink.mails_to(&bob).is_empty()).await;
    assert!(started.elapsed() >= digest, "the digest came before its period");
    a_few_passes().await;
    let to_bob = sink.mails_to(&bob);
    assert_eq!(to_bob.len(), 1, "assignments are off and the rest is one digest: {to_bob:#?}");
    let mail = &to_bob[0];
    assert_eq!(mail.subject, "Tasktracker digest: 4 notifications");
    for expected in ["First thoughts", "Second thoughts", "Moved to Done", "Carol's note"] {
        assert!(mail.text.contains(expected), "`{expected}` missing from {}", mail.text);
        assert!(mail.html.contains(&expected.replace('\'', "&#39;")), "`{expected}` missing from {}", mail.html);
    }
    assert!(mail.text.contains("* [Launch] Ship it: ada commented"), "{}", mail.text);
    assert!(mail.text.contains("* [Skunkworks] Their task: carol commented"), "{}", mail.text);
    assert!(mail.text.contains(&task_link(&created)) && mail.text.contains(&task_link(&theirs)));
    assert!(!mail.text.contains("assigned you"), "assignments are off: {}", mail.text);

    // The digest's link turns every digest kind off.
    let token = token_of(&mail.list_unsubscribe);
    let unsubscribed = inbox(&app)
        .unsubscribe_email(Request::new(v1::UnsubscribeEmailRequest { token }))
        .await
        .expect("unsubscribe")
        .into_inner();
    assert!(unsubscribed.kinds.contains(&(v1::NotificationKind::Commented as i32)), "{unsubscribed:?}");
    assert!(!unsubscribed.kinds.contains(&(v1::NotificationKind::Mentioned as i32)), "{unsubscribed:?}");
    let now = settings(&app, &bob).await;
    assert_eq!(delivery_of(&now, v1::NotificationKind::Commented), v1::EmailDelivery::Off);
    assert_eq!(delivery_of(&now, v1::NotificationKind::Mentioned), v1::EmailDelivery::Immediate);
    let request = v1::CreateCommentRequest {
        parent: created.name.clone(),
        comment: Some(v1::Comment { body: "After the unsubscribe".into(), ..Default::default() }),
    };
    app.tasks().create_comment(ada.call(request)).await.expect("comment");
    tokio::time::sleep(digest + Duration::from_millis(800)).await;
    assert_eq!(sink.mails_to(&bob).len(), 1, "{:#?}", sink.mails_to(&bob));

    let metrics = scrape(app.metrics_address).await;
    assert_eq!(sample(&metrics, r#"tasktracker_emails_sent_total{kind="digest"}"#), Some(1.0));
    assert_eq!(sample(&metrics, r#"tasktracker_emails_sent_total{kind="assigned"}"#), Some(0.0));
    app.stop().await;
}

async fn failed_sends_are_retried_until_accepted(backend: Backend) {
    // The SMTP server refuses the first two attempts (451, transient).
    let sink = SmtpSink::start(2);
    let app = spawn_mailing_app(backend, &sink, Duration::from_secs(86_400)).await;
    let (ada, bob, project) = team(&app).await;
    app.create_task(&ada, &project.name, assigned_to("Retry me", &bob)).await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec![bob.email.clone()]);
    assert!(mails[0].subject.ends_with("Retry me"), "{}", mails[0].subject);
    a_few_passes().await;
    assert_eq!(sink.mails().len(), 1, "sent once, after the failures");
    let metrics = scrape(app.metrics_address).await;
    assert_eq!(sample(&metrics, r#"tasktracker_emails_failed_total{kind="assigned"}"#), Some(2.0));
    assert_eq!(sample(&metrics, r#"tasktracker_emails_sent_total{kind="assigned"}"#), Some(1.0));
    app.stop().await;
}

fn in_seconds(seconds: f64) -> Timestamp {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs_f64();
    Timestamp { seconds: (now + seconds).ceil() as i64, nanos: 0 }
}

async fn due_reached(app: &TestApp, user: &TestUser) -> Vec<v1::Notification> {
    let request = v1::ListNotificationsRequest {
        kinds: vec![v1::NotificationKind::DueReached as i32],
        show_snoozed: true,
        ..Default::default()
    };
    inbox(app).list_notifications(user.call(request)).await.expect("inbox").into_inner().notifications
}

async fn due_date_reached_is_notified_and_mailed_once(backend: Backend) {
    let sink = SmtpSink::start(0);
    let app = spawn_mailing_app(backend, &sink, Duration::from_secs(86_400)).await;
    let (ada, bob, project) = team(&app).await;
    set_deliveries(&app, &bob, &[(v1::NotificationKind::DueReached, v1::EmailDelivery::Immediate)])
        .await
        .expect("due dates reached by email at once");
    let due = v1::Task { due_time: Some(in_seconds(2.0)), ..assigned_to("Due shortly", &bob) };
    let created = app.create_task(&ada, &project.name, due).await;
    // Done before its time: no notice.
    let finished = v1::Task {
        due_time: Some(in_seconds(1.0)),
        status: v1::TaskStatus::Done as i32,
        ..assigned_to("Finished early", &bob)
    };
    app.create_task(&ada, &project.name, finished).await;
    // Not before the due time.
    assert!(due_reached(&app, &bob).await.is_empty());

    eventually(Duration::from_secs(10), async || !due_reached(&app, &bob).await.is_empty()).await;
    let reached_mails =
        || sink.mails_to(&bob).into_iter().filter(|mail| mail.subject.contains("Due date reached")).collect::<Vec<_>>();
    eventually(Duration::from_secs(10), async || !reached_mails().is_empty()).await;
    // Many scheduler and sender passes later, still one of each.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let notices = due_reached(&app, &bob).await;
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert_eq!(notices[0].task, created.name);
    assert_eq!(notices[0].actor, "");
    let reached = reached_mails();
    assert_eq!(reached.len(), 1, "{reached:#?}");
    assert!(reached[0].subject.ends_with("Due shortly"), "{}", reached[0].subject);
    assert!(reached[0].text.contains(&task_link(&created)), "{}", reached[0].text);
    assert!(due_reached(&app, &ada).await.is_empty(), "only assignees are told");
    app.stop().await;
}

async fn without_smtp_email_is_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, bob, project) = team(&app).await;
    assert!(!settings(&app, &bob).await.email_enabled);
    app.create_task(&ada, &project.name, assigned_to("No mail", &bob)).await;
    let listed = inbox(&app)
        .list_notifications(bob.call(v1::ListNotificationsRequest::default()))
        .await
        .expect("the inbox works")
        .into_inner();
    assert_eq!(listed.notifications.len(), 1);
    let metrics = scrape(app.metrics_address).await;
    assert_eq!(sample(&metrics, r#"tasktracker_emails_sent_total{kind="assigned"}"#), Some(0.0));
    app.stop().await;
}

fn invite(email: &str, user: &str, role: v1::Role) -> v1::Member {
    v1::Member { email: email.into(), user: user.into(), role: role as i32, ..Default::default() }
}

async fn invitations_are_mailed_once_to_whoever_is_invited(backend: Backend) {
    let sink = SmtpSink::start(0);
    let app = spawn_mailing_app(backend, &sink, Duration::from_secs(86_400)).await;
    let ada = app.sign_up("ada").await;
    let bob = app.sign_up("bob").await;
    let carol = app.sign_up("carol").await;
    let project = app.create_project(&ada, "Launch <beta>").await;
    let add = async |member: v1::Member| {
        let request = v1::AddMemberRequest { parent: project.name.clone(), member: Some(member) };
        app.projects().add_member(ada.call(request)).await.expect("invite").into_inner()
    };

    // Someone without an account, an account by email, an account by name:
    // each gets one mail, to their own address.
    add(invite("newcomer@example.com", "", v1::Role::Editor)).await;
    add(invite(&bob.email, "", v1::Role::Viewer)).await;
    add(invite("", &carol.name, v1::Role::Owner)).await;
    eventually(Duration::from_secs(10), async || sink.invitation_mails().len() >= 3).await;
    let mails = sink.invitation_mails();
    let to = |address: &str| {
        let found: Vec<&Mail> = mails.iter().filter(|mail| mail.to == vec![address.to_owned()]).collect();
        assert_eq!(found.len(), 1, "one mail to {address}: {mails:#?}");
        found[0].clone()
    };
    let newcomer = to("newcomer@example.com");
    assert_eq!(newcomer.subject, "[Launch <beta>] ada invited you");
    assert!(newcomer.text.contains("ada invited you to the project Launch <beta> as an editor."), "{}", newcomer.text);
    assert!(newcomer.text.contains(&format!("{PUBLIC_URL}/signup")), "{}", newcomer.text);
    assert!(newcomer.html.contains("Launch &lt;beta&gt;") && !newcomer.html.contains("<beta>"), "{}", newcomer.html);
    assert!(to(&bob.email).text.contains("as a viewer."));
    assert!(to(&carol.email).text.contains("as an owner."));
    for mail in &mails {
        assert!(!mail.raw.contains(TOKEN_SECRET), "the token secret is in a mail");
        assert!(!mail.raw.contains(&ada.email), "the inviter's address is in a mail");
    }
    assert!(sink.mails().is_empty(), "no notification mail: {:#?}", sink.mails());

    // Renewing an invitation (a new role) within the hour mails nothing new.
    add(invite("newcomer@example.com", "", v1::Role::Viewer)).await;
    a_few_passes().await;
    assert_eq!(sink.invitation_mails().len(), 3);

    // Each was counted once, as sent.
    let metrics = scrape(app.metrics_address).await;
    assert_eq!(sample(&metrics, r#"tasktracker_emails_sent_total{kind="invitation"}"#), Some(3.0));
    app.stop().await;
}
