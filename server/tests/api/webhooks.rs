//! Webhooks: signed deliveries in feed order to a receiver on 127.0.0.1,
//! retries until it recovers, replay and redelivery, the pause after the
//! retry window with the owners notified, and the SSRF refusals.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, http::StatusCode, routing::post};
use prost_types::FieldMask;
use tasktracker_proto::v1::{self, notification_service_client::NotificationServiceClient};
use tasktracker_server::webhooks::{
    address::AddressPolicy,
    sender::{Request, Sender},
};
use tonic::Code;

use crate::{
    helpers::{
        Backend, ServerProcess, TestApp, TestDatabase, TestUser, assert_invalid_field, eventually, sample, scrape,
        spawn_app, spawn_app_with, task,
    },
    on_both_backends,
};

on_both_backends!(
    deliveries_are_signed_in_feed_order_and_logged,
    a_receiver_that_fails_then_recovers_gets_every_event_in_order,
    replay_and_redelivery_send_events_again,
    a_webhook_failing_past_its_window_is_paused_its_owners_notified_and_resumes,
    internal_addresses_are_refused_when_saved,
    bad_webhook_requests_are_refused_naming_the_field,
    three_replicas_send_each_delivery_once_and_in_order,
);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    timestamp: String,
    signature: String,
    event_id: String,
    delivery: String,
    body: serde_json::Value,
    raw: String,
    /// What the receiver answered.
    accepted: bool,
    at: std::time::Instant,
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Requests still to refuse with 500.
    fail_next: AtomicUsize,
    /// Refuse every request while set.
    down: AtomicBool,
    /// How long each request takes to answer, in milliseconds.
    delay_ms: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A webhook receiver on 127.0.0.1.
struct Receiver {
    address: SocketAddr,
    state: Arc<ReceiverState>,
}

async fn hook(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst) as u64;
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let failing = state.down.load(Ordering::SeqCst)
        || state.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    state.received.lock().unwrap().push(Received {
        timestamp: header("tasktracker-timestamp"),
        signature: header("tasktracker-signature"),
        event_id: header("tasktracker-event-id"),
        delivery: header("tasktracker-delivery"),
        body: serde_json::from_str(&body).unwrap_or_default(),
        raw: body,
        accepted: !failing,
        at: std::time::Instant::now(),
    });
    if failing { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT }
}

impl Receiver {
    async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let router = axum::Router::new().route("/hook", post(hook)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { address, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The event ids of the requests it accepted, in arrival order.
    fn accepted(&self) -> Vec<String> {
        self.received().into_iter().filter(|r| r.accepted).map(|r| r.event_id).collect()
    }
}

/// Checks `received`'s signature with `ring` (not the server's HMAC crate)
/// and that its timestamp is recent, as a receiver should.
fn assert_signed(received: &Received, secret: &str) {
    let hex = received.signature.strip_prefix("v1=").unwrap_or_else(|| panic!("{received:?}"));
    let tag = hex::decode(hex).expect("hex signature");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let message = format!("{}.{}", received.timestamp, received.raw);
    ring::hmac::verify(&key, message.as_bytes(), &tag).expect("the signature verifies");
    let other = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"whsec_not-the-secret");
    assert!(ring::hmac::verify(&other, message.as_bytes(), &tag).is_err());
    let sent: i64 = received.timestamp.parse().expect("a Unix time");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - sent).abs() <= 300, "timestamp {sent} vs now {now}");
}

/// A test server that may reach 127.0.0.1 (only), with `window` as the
/// retry window.
async fn app_reaching_loopback(backend: Backend, window: Duration) -> TestApp {
    spawn_app_with(backend, TestDatabase::create(backend).await, |settings| {
        settings.webhooks.allowed_networks = vec!["127.0.0.1/32".parse().unwrap()];
        settings.webhooks.retry_window = window;
    })
    .await
}

async fn create_webhook(
    app: &TestApp,
    owner: &TestUser,
    project: &str,
    url: &str,
    kinds: &[v1::WebhookEventKind],
) -> v1::Webhook {
    app.webhooks()
        .create_webhook(owner.call(v1::CreateWebhookRequest {
            parent: project.into(),
            webhook: Some(v1::Webhook {
                url: url.into(),
                event_kinds: kinds.iter().map(|kind| *kind as i32).collect(),
                ..Default::default()
            }),
        }))
        .await
        .expect("create webhook")
        .into_inner()
}

async fn deliveries(app: &TestApp, owner: &TestUser, webhook: &str) -> Vec<v1::WebhookDelivery> {
    let request = v1::ListWebhookDeliveriesRequest { parent: webhook.into(), page_size: 100, ..Default::default() };
    app.webhooks().list_webhook_deliveries(owner.call(request)).await.expect("list deliveries").into_inner().deliveries
}

async fn get_webhook(app: &TestApp, owner: &TestUser, webhook: &str) -> v1::Webhook {
    app.webhooks().get_webhook(owner.call(v1::GetWebhookRequest { name: webhook.into() })).await.unwrap().into_inner()
}

const WAIT: Duration = Duration::from_secs(10);

async fn deliveries_are_signed_in_feed_order_and_logged(backend: Backend) {
    // Polling only every 30 s: changes must wake the dispatcher.
    let app = spawn_app_with(backend, TestDatabase::create(backend).await, |settings| {
        settings.webhooks.allowed_networks = vec!["127.0.0.1/32".parse().unwrap()];
        settings.webhooks.poll_interval = Duration::from_secs(30);
    })
    .await;
    let receiver = Receiver::start().await;
    let creations = Receiver::start().await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Hooked").await;
    let before = app.create_task(&ada, &project.name, task("Before the webhook")).await;
    let webhook = create_webhook(&app, &ada, &project.name, &receiver.url(), &[]).await;
    assert!(webhook.secret.starts_with("whsec_") && webhook.secret.len() == 6 + 43, "{}", webhook.secret);
    let only_created =
        create_webhook(&app, &ada, &project.name, &creations.url(), &[v1::WebhookEventKind::TaskCreated]).await;
    // The secret is shown once.
    assert!(get_webhook(&app, &ada, &webhook.name).await.secret.is_empty());
    let first = app.create_task(&ada, &project.name, task("First")).await;
    let second = app.create_task(&ada, &project.name, task("Second")).await;
    app.tasks()
        .update_task(ada.call(v1::UpdateTaskRequest {
            task: Some(v1::Task { name: first.name.clone(), title: "First, renamed".into(), ..Default::default() }),
            update_mask: Some(FieldMask { paths: vec!["title".into()] }),
        }))
        .await
        .unwrap();
    eventually(WAIT, async || receiver.accepted().len() >= 3 && creations.accepted().len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 3, "nothing from before the webhook, nothing twice: {received:?}");
    for request in &received {
        assert_signed(request, &webhook.secret);
        assert_eq!(request.body["id"], request.event_id.as_str());
    }
    let bodies: Vec<&serde_json::Value> = received.iter().map(|request| &request.body).collect();
    assert_eq!(
        bodies.iter().map(|body| body["type"].as_str().unwrap()).collect::<Vec<_>>(),
        ["task.created", "task.created", "task.updated"]
    );
    assert_eq!(
        bodies.iter().map(|body| body["task"].as_str().unwrap()).collect::<Vec<_>>(),
        [first.name.as_str(), second.name.as_str(), first.name.as_str()]
    );
    let cursors: Vec<i64> = bodies.iter().map(|body| body["cursor"].as_str().unwrap().parse().unwrap()).collect();
    assert!(cursors.windows(2).all(|pair| pair[0] < pair[1]), "feed order: {cursors:?}");
    assert_eq!(bodies[2]["actor"], ada.name.as_str());
    assert_eq!(bodies[2]["project"], project.name.as_str());
    let changes = bodies[2]["changes"].as_array().expect("a field diff");
    let title = changes.iter().find(|change| change["field"] == "title").expect("the title changed");
    assert_eq!((title["old_value"].as_str(), title["new_value"].as_str()), (Some("First"), Some("First, renamed")));
    assert_ne!(before.name, first.name);
    // The kind filter: creations only.
    let created: Vec<String> =
        creations.received().iter().map(|request| request.body["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(created, ["task.created", "task.created"]);
    assert_signed(&creations.received()[0], &only_created.secret);
    // The log: newest first, delivered at the first attempt (once recorded:
    // the receiver answers before the sender records).
    let delivered = v1::WebhookDeliveryOutcome::Delivered as i32;
    eventually(WAIT, async || {
        deliveries(&app, &ada, &webhook.name).await.iter().all(|delivery| delivery.outcome == delivered)
    })
    .await;
    let log = deliveries(&app, &ada, &webhook.name).await;
    assert_eq!(log.len(), 3);
    assert_eq!(
        log.iter().map(|d| d.cursor.parse::<i64>().unwrap()).collect::<Vec<_>>(),
        [cursors[2], cursors[1], cursors[0]]
    );
    for delivery in &log {
        assert_eq!(delivery.outcome, v1::WebhookDeliveryOutcome::Delivered as i32, "{delivery:?}");
        assert_eq!((delivery.attempts, delivery.status_code, delivery.error.as_str()), (1, 204, ""));
        assert!(delivery.attempt_time.is_some() && delivery.next_attempt_time.is_none());
        assert!(delivery.name.starts_with(&format!("{}/deliveries/", webhook.name)));
    }
    assert_eq!(received[2].delivery, log[0].name.rsplit('/').next().unwrap());
    assert_eq!(log[0].kind, v1::WebhookEventKind::TaskUpdated as i32);
    // Paging through the log.
    let page = app
        .webhooks()
        .list_webhook_deliveries(ada.call(v1::ListWebhookDeliveriesRequest {
            parent: webhook.name.clone(),
            page_size: 2,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.deliveries.len(), 2);
    let rest = app
        .webhooks()
        .list_webhook_deliveries(ada.call(v1::ListWebhookDeliveriesRequest {
            parent: webhook.name.clone(),
            page_size: 2,
            page_token: page.next_page_token,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.deliveries.iter().map(|d| d.name.clone()).collect::<Vec<_>>(), [log[2].name.clone()]);
    assert!(rest.next_page_token.is_empty());
    // Rotating the secret signs the next delivery with the new one.
    let rotated = app
        .webhooks()
        .rotate_webhook_secret(ada.call(v1::RotateWebhookSecretRequest { name: webhook.name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.secret, webhook.secret);
    app.create_task(&ada, &project.name, task("Third")).await;
    eventually(WAIT, async || receiver.accepted().len() == 4).await;
    assert_signed(&receiver.received()[3], &rotated.secret);
    // Latency from the write's reply to the receiver, one change at a time.
    let mut latencies = Vec::new();
    for index in 0..20 {
        let before = receiver.received().len();
        let started = std::time::Instant::now();
        app.create_task(&ada, &project.name, task(&format!("Timed {index}"))).await;
        eventually(WAIT, async || receiver.received().len() > before).await;
        latencies.push(receiver.received()[before].at.duration_since(started));
    }
    latencies.sort();
    let (p50, p95) = (latencies[9], latencies[18]);
    println!(
        "webhook delivery latency over 20 changes ({backend:?}): p50 {p50:?}, p95 {p95:?}, max {:?}",
        latencies[19]
    );
    assert!(p95 < Duration::from_secs(2), "woken by the change, not the 30 s poll: {latencies:?}");
    let metrics = scrape(app.metrics_address).await;
    let delivered = sample(&metrics, r#"tasktracker_webhook_deliveries_total{outcome="delivered"}"#).unwrap();
    assert!(delivered >= 26.0, "{delivered}");
    assert!(metrics.contains("tasktracker_webhook_delivery_duration_seconds_bucket"));
    // Deleting the webhook stops its deliveries.
    app.webhooks()
        .delete_webhook(ada.call(v1::DeleteWebhookRequest { name: webhook.name.clone(), etag: rotated.etag }))
        .await
        .unwrap();
    let status = app.webhooks().get_webhook(ada.call(v1::GetWebhookRequest { name: webhook.name })).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    app.stop().await;
}

async fn a_receiver_that_fails_then_recovers_gets_every_event_in_order(backend: Backend) {
    let app = app_reaching_loopback(backend, Duration::from_secs(90_000)).await;
    let receiver = Receiver::start().await;
    receiver.state.fail_next.store(4, Ordering::SeqCst);
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Flaky").await;
    let webhook = create_webhook(&app, &ada, &project.name, &receiver.url(), &[]).await;
    let mut titles = Vec::new();
    for index in 0..5 {
        let created = app.create_task(&ada, &project.name, task(&format!("Task {index}"))).await;
        titles.push(created.name);
    }
    eventually(WAIT, async || receiver.accepted().len() >= 5).await;
    let received = receiver.received();
    // The first event failed four times, and nothing overtook it.
    assert!(received[..4].iter().all(|request| !request.accepted), "{received:?}");
    assert!(received[..5].iter().all(|request| request.event_id == received[0].event_id));
    let accepted: Vec<&Received> = received.iter().filter(|request| request.accepted).collect();
    assert_eq!(accepted.len(), 5, "each event once accepted: {received:?}");
    let tasks: Vec<&str> = accepted.iter().map(|request| request.body["task"].as_str().unwrap()).collect();
    assert_eq!(tasks, titles.iter().map(String::as_str).collect::<Vec<_>>(), "feed order");
    // The receiver answers before the sender records the attempt.
    let delivered = v1::WebhookDeliveryOutcome::Delivered as i32;
    eventually(WAIT, async || {
        deliveries(&app, &ada, &webhook.name).await.iter().all(|delivery| delivery.outcome == delivered)
    })
    .await;
    let log = deliveries(&app, &ada, &webhook.name).await;
    let oldest = log.last().unwrap();
    assert_eq!((oldest.attempts, oldest.outcome), (5, v1::WebhookDeliveryOutcome::Delivered as i32), "{oldest:?}");
    assert!(log[..4].iter().all(|delivery| delivery.attempts == 1));
    let metrics = scrape(app.metrics_address).await;
    let failed = sample(&metrics, r#"tasktracker_webhook_deliveries_total{outcome="failed"}"#);
    assert_eq!(failed, Some(4.0));
    // The next pass finds nothing pending.
    eventually(WAIT, async || sample(&scrape(app.metrics_address).await, "tasktracker_webhook_backlog") == Some(0.0))
        .await;
    app.stop().await;
}

async fn replay_and_redelivery_send_events_again(backend: Backend) {
    let app = app_reaching_loopback(backend, Duration::from_secs(90_000)).await;
    let receiver = Receiver::start().await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Again").await;
    let webhook = create_webhook(&app, &ada, &project.name, &receiver.url(), &[]).await;
    for index in 0..3 {
        app.create_task(&ada, &project.name, task(&format!("Task {index}"))).await;
    }
    eventually(WAIT, async || receiver.accepted().len() == 3).await;
    let first_round = receiver.accepted();
    let log = deliveries(&app, &ada, &webhook.name).await;
    let first_cursor = log.last().unwrap().cursor.clone();
    // Replay after the first event: the other two again, in order.
    let replayed = app
        .webhooks()
        .replay_webhook(ada.call(v1::ReplayWebhookRequest { name: webhook.name.clone(), cursor: first_cursor }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replayed.queued, 2);
    assert_eq!(replayed.cursor, log[0].cursor);
    eventually(WAIT, async || receiver.accepted().len() == 5).await;
    assert_eq!(receiver.accepted()[3..], first_round[1..]);
    // Redeliver the first.
    let again = app
        .webhooks()
        .redeliver_webhook(ada.call(v1::RedeliverWebhookRequest { name: log.last().unwrap().name.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.redelivery_of, log.last().unwrap().name);
    assert_eq!(again.event_id, log.last().unwrap().event_id);
    eventually(WAIT, async || receiver.accepted().len() == 6).await;
    assert_eq!(receiver.accepted()[5], first_round[0]);
    assert_eq!(receiver.received()[5].delivery, again.name.rsplit('/').next().unwrap());
    // Replaying from 0 replays the whole feed kept.
    let everything = app
        .webhooks()
        .replay_webhook(ada.call(v1::ReplayWebhookRequest { name: webhook.name.clone(), cursor: "0".into() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(everything.queued, 3);
    eventually(WAIT, async || receiver.accepted().len() == 9).await;
    assert_eq!(receiver.accepted()[6..], first_round[..]);
    // A cursor ahead of the feed, and a missing delivery.
    let ahead = app
        .webhooks()
        .replay_webhook(ada.call(v1::ReplayWebhookRequest { name: webhook.name.clone(), cursor: "999".into() }))
        .await
        .unwrap_err();
    assert_invalid_field(&ahead, "cursor");
    let missing = format!("{}/deliveries/{}", webhook.name, uuid::Uuid::now_v7());
    let status = app.webhooks().redeliver_webhook(ada.call(v1::RedeliverWebhookRequest { name: missing })).await;
    assert_eq!(status.unwrap_err().code(), Code::NotFound);
    app.stop().await;
}

async fn a_webhook_failing_past_its_window_is_paused_its_owners_notified_and_resumes(backend: Backend) {
    let app = app_reaching_loopback(backend, Duration::from_millis(600)).await;
    let receiver = Receiver::start().await;
    receiver.state.down.store(true, Ordering::SeqCst);
    let ada = app.sign_up("ada").await;
    let olga = app.sign_up("olga").await;
    let eddie = app.sign_up("eddie").await;
    let project = app.create_project(&ada, "Down").await;
    app.add_member(&ada, &project.name, &olga, v1::Role::Owner).await;
    app.add_member(&ada, &project.name, &eddie, v1::Role::Editor).await;
    let webhook = create_webhook(&app, &olga, &project.name, &receiver.url(), &[]).await;
    let stuck = app.create_task(&eddie, &project.name, task("Stuck")).await;
    eventually(WAIT, async || get_webhook(&app, &ada, &webhook.name).await.paused).await;
    let paused = get_webhook(&app, &ada, &webhook.name).await;
    assert!(paused.pause_reason.contains("HTTP 500"), "{}", paused.pause_reason);
    let attempts = receiver.received().len();
    assert!(attempts >= 3, "retried before pausing: {attempts}");
    // Both owners (one of them its creator) are told; the editor is not.
    let paused_notices = async |user: &TestUser| {
        let request = v1::ListNotificationsRequest {
            kinds: vec![v1::NotificationKind::WebhookPaused as i32],
            ..Default::default()
        };
        let inbox = NotificationServiceClient::new(app.channel.clone());
        inbox.clone().list_notifications(user.call(request)).await.unwrap().into_inner().notifications
    };
    for owner in [&ada, &olga] {
        let notices = paused_notices(owner).await;
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].task, stuck.name);
        assert!(notices[0].summary.contains("127.0.0.1"), "{}", notices[0].summary);
    }
    assert!(paused_notices(&eddie).await.is_empty());
    // Paused: nothing is sent, but new events still queue.
    let later = app.create_task(&eddie, &project.name, task("Later")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), attempts, "a paused webhook sends nothing");
    receiver.state.down.store(false, Ordering::SeqCst);
    app.webhooks()
        .update_webhook(ada.call(v1::UpdateWebhookRequest {
            webhook: Some(v1::Webhook {
                name: webhook.name.clone(),
                paused: false,
                etag: paused.etag,
                ..Default::default()
            }),
            update_mask: Some(FieldMask { paths: vec!["paused".into()] }),
        }))
        .await
        .unwrap();
    eventually(WAIT, async || receiver.accepted().len() == 2).await;
    let tasks: Vec<String> = receiver
        .received()
        .iter()
        .filter(|request| request.accepted)
        .map(|request| request.body["task"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tasks, [stuck.name, later.name], "resumed where it stopped, in order, nothing lost");
    let resumed = get_webhook(&app, &ada, &webhook.name).await;
    assert!(!resumed.paused && resumed.pause_reason.is_empty());
    let metrics = scrape(app.metrics_address).await;
    assert_eq!(sample(&metrics, "tasktracker_webhooks_paused_total"), Some(1.0));
    app.stop().await;
}

async fn internal_addresses_are_refused_when_saved(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Inside").await;
    let port = receiver.address.port();
    for url in [
        receiver.url(),
        format!("http://localhost:{port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.1.2.3/".to_owned(),
        "http://192.168.0.10:8080/".to_owned(),
        "http://100.64.1.1/".to_owned(),
        "http://[::1]/".to_owned(),
        "http://[fd00:ec2::254]/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
    ] {
        let status = app
            .webhooks()
            .create_webhook(ada.call(v1::CreateWebhookRequest {
                parent: project.name.clone(),
                webhook: Some(v1::Webhook { url: url.clone(), ..Default::default() }),
            }))
            .await
            .expect_err(&url);
        assert_invalid_field(&status, "webhook.url");
    }
    // Nor may an update point a webhook inside.
    let outside = create_webhook(&app, &ada, &project.name, "https://203.0.113.9/hook", &[]).await;
    let status = app
        .webhooks()
        .update_webhook(ada.call(v1::UpdateWebhookRequest {
            webhook: Some(v1::Webhook { name: outside.name, url: receiver.url(), ..Default::default() }),
            update_mask: Some(FieldMask { paths: vec!["url".into()] }),
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&status, "webhook.url");
    // At delivery time the sender checks the addresses it connects to, so a
    // name that resolves inside is refused too, and nothing reaches the
    // receiver.
    let sender = Sender::new(AddressPolicy::default(), Duration::from_secs(2));
    for url in [receiver.url(), format!("http://localhost:{port}/hook")] {
        let reply = sender
            .send(Request { url: &url, secret: "s", body: "{}", event_id: "e", delivery_id: "d", timestamp: 0 })
            .await;
        assert!(reply.error.starts_with("refused"), "{url}: {reply:?}");
        assert_eq!(reply.status, None);
    }
    assert!(receiver.received().is_empty());
    // The operator's allow-list opens it.
    let allowed = Sender::new(AddressPolicy::new(vec!["127.0.0.1/32".parse().unwrap()]), Duration::from_secs(2));
    let url = receiver.url();
    let reply = allowed
        .send(Request { url: &url, secret: "s", body: "{}", event_id: "e", delivery_id: "d", timestamp: 0 })
        .await;
    assert_eq!((reply.status, reply.error.as_str()), (Some(204), ""));
    assert_eq!(receiver.received().len(), 1);
    app.stop().await;
}

async fn bad_webhook_requests_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Strict").await;
    let create = async |webhook: v1::Webhook| {
        app.webhooks()
            .create_webhook(ada.call(v1::CreateWebhookRequest { parent: project.name.clone(), webhook: Some(webhook) }))
            .await
            .unwrap_err()
    };
    for url in ["", "ftp://203.0.113.9/", "not a url", "https://user:secret@203.0.113.9/"] {
        assert_invalid_field(&create(v1::Webhook { url: url.into(), ..Default::default() }).await, "webhook.url");
    }
    let kinds = v1::Webhook { url: "https://203.0.113.9/".into(), event_kinds: vec![42], ..Default::default() };
    assert_invalid_field(&create(kinds).await, "webhook.event_kinds[0]");
    let webhook = create_webhook(&app, &ada, &project.name, "https://203.0.113.9/", &[]).await;
    let replay = |cursor: &str| v1::ReplayWebhookRequest { name: webhook.name.clone(), cursor: cursor.into() };
    for cursor in ["", "-3", "abc"] {
        let status = app.webhooks().replay_webhook(ada.call(replay(cursor))).await.unwrap_err();
        assert_invalid_field(&status, "cursor");
    }
    let status = app
        .webhooks()
        .list_webhook_deliveries(ada.call(v1::ListWebhookDeliveriesRequest {
            parent: webhook.name.clone(),
            page_size: -1,
            page_token: "garbage".into(),
        }))
        .await
        .unwrap_err();
    assert_invalid_field(&status, "page_size");
    assert_invalid_field(&status, "page_token");
    // A stale etag.
    let stale = app
        .webhooks()
        .update_webhook(ada.call(v1::UpdateWebhookRequest {
            webhook: Some(v1::Webhook {
                name: webhook.name.clone(),
                paused: true,
                etag: "99".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask { paths: vec!["paused".into()] }),
        }))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    app.stop().await;
}

/// Three dispatchers (this process and two server processes) on one
/// database: the receiver never has two requests of the webhook at once,
/// and gets every event once, in feed order, although the first attempts
/// fail. The events are queued while the webhook is paused, so that the
/// test writes nothing while three processes share a SQLite file.
async fn three_replicas_send_each_delivery_once_and_in_order(backend: Backend) {
    const TASKS: usize = 12;
    let app = app_reaching_loopback(backend, Duration::from_secs(90_000)).await;
    let receiver = Receiver::start().await;
    receiver.state.delay_ms.store(20, Ordering::SeqCst);
    receiver.state.fail_next.store(3, Ordering::SeqCst);
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Busy").await;
    let webhook = app
        .webhooks()
        .create_webhook(ada.call(v1::CreateWebhookRequest {
            parent: project.name.clone(),
            webhook: Some(v1::Webhook { url: receiver.url(), paused: true, ..Default::default() }),
        }))
        .await
        .unwrap()
        .into_inner();
    let mut tasks = Vec::new();
    for index in 0..TASKS {
        tasks.push(app.create_task(&ada, &project.name, task(&format!("Task {index}"))).await.name);
    }
    eventually(WAIT, async || deliveries(&app, &ada, &webhook.name).await.len() == TASKS).await;
    let env = [
        ("TASKTRACKER_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32"),
        ("TASKTRACKER_WEBHOOK_POLL_INTERVAL", "20ms"),
        ("TASKTRACKER_WEBHOOK_RETRY_BASE", "50ms"),
        ("TASKTRACKER_WEBHOOK_RETRY_MAX", "100ms"),
    ];
    let replicas = [ServerProcess::start(&app.database.url, &env), ServerProcess::start(&app.database.url, &env)];
    app.webhooks()
        .update_webhook(ada.call(v1::UpdateWebhookRequest {
            webhook: Some(v1::Webhook { name: webhook.name.clone(), paused: false, ..Default::default() }),
            update_mask: Some(FieldMask { paths: vec!["paused".into()] }),
        }))
        .await
        .unwrap();
    eventually(Duration::from_secs(20), async || receiver.accepted().len() >= TASKS).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.received();
    let accepted: Vec<&Received> = received.iter().filter(|request| request.accepted).collect();
    assert_eq!(accepted.len(), TASKS, "each event accepted once: {received:?}");
    assert_eq!(received.len(), TASKS + 3, "no request beyond the three refused ones");
    let order: Vec<&str> = accepted.iter().map(|request| request.body["task"].as_str().unwrap()).collect();
    assert_eq!(order, tasks.iter().map(String::as_str).collect::<Vec<_>>(), "feed order");
    assert_eq!(receiver.state.max_in_flight.load(Ordering::SeqCst), 1, "one request of the webhook at a time");
    // The replicas did send some: the work was shared.
    let mut sent_elsewhere = 0.0;
    for replica in &replicas {
        let text = scrape(replica.metrics_address).await;
        sent_elsewhere += sample(&text, r#"tasktracker_webhook_deliveries_total{outcome="delivered"}"#).unwrap_or(0.0);
    }
    println!("deliveries sent by the two other processes: {sent_elsewhere} of {TASKS}");
    drop(replicas);
    app.stop().await;
}
