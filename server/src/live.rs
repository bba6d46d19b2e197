//! Live delivery for `WatchTasks` streams.
//!
//! The `task_events` table is the feed and the source of truth. Writes in
//! this process wake the feed directly; on PostgreSQL a LISTEN connection
//! relays NOTIFYs from every replica. Each watched project has one reader
//! task per process: woken, it reads the new events once and broadcasts them
//! to every stream watching the project, so 10,000 watchers cost one query
//! per change, not 10,000. A stream that falls behind the broadcast (or
//! joins with an older cursor) reads the table itself until it has caught
//! up; events carry their sequence number, so a stream never skips or
//! repeats one. A missed wake-up only delays delivery until the reader's
//! next rescan.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::Stream;
use prometheus_client::metrics::gauge::Gauge;
use prost::Message as _;
use sea_orm::{DatabaseConnection, DbBackend};
use tasktracker_proto::v1;
use tokio::sync::{broadcast, broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{Caller, Credential, Permission, revocations::MembershipEnd},
    domain::{
        ProjectId, UserId,
        time::{self, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    metrics::Metrics,
    services::SharedState,
    storage::{
        entities::task_events,
        events::{EventStore, EventStoreError, NOTIFY_CHANNEL},
    },
};

/// Which project changed; `None` means "maybe any" (after a lost connection).
pub type Wakeup = Option<ProjectId>;

/// Events read from the table per query.
pub const EVENT_BATCH: u64 = 200;
/// Events a project's broadcast holds for streams still sending earlier ones;
/// a stream further behind reads the table instead.
const PROJECT_BACKLOG: usize = 256;
/// How often a reader rereads its project's feed without a wake-up.
const RESCAN_INTERVAL: Duration = Duration::from_secs(5);

/// One event of a project's feed, shared by every stream that sends it.
#[derive(Debug)]
pub struct FeedEvent {
    pub seq: i64,
    pub event: v1::TaskEvent,
}

/// A watched project: its broadcast and how many streams watch it.
struct Watched {
    events: broadcast::Sender<Arc<FeedEvent>>,
    streams: usize,
    /// Stops the project's reader once the last stream ends.
    stop: CancellationToken,
}

/// Fan-out of changes to the watchers in this process.
#[derive(Clone)]
pub struct ChangeFeed {
    wakeups: broadcast::Sender<Wakeup>,
    watched: Arc<Mutex<HashMap<ProjectId, Watched>>>,
    events: EventStore,
    metrics: Arc<Metrics>,
}

/// A stream's place in a project's broadcast; leaving the last one stops the
/// project's reader.
pub struct Subscription {
    pub events: broadcast::Receiver<Arc<FeedEvent>>,
    project: ProjectId,
    watched: Arc<Mutex<HashMap<ProjectId, Watched>>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut watched = self.watched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = watched.get_mut(&self.project) {
            entry.streams -= 1;
            if entry.streams == 0 {
                entry.stop.cancel();
                watched.remove(&self.project);
            }
        }
    }
}

impl ChangeFeed {
    pub fn new(events: EventStore, metrics: Arc<Metrics>) -> Self {
        Self { wakeups: broadcast::channel(1_024).0, watched: Arc::default(), events, metrics }
    }

    /// A change to `project` was committed.
    pub fn notify(&self, project: ProjectId) {
        // No receivers is fine: nobody is watching.
        let _ = self.wakeups.send(Some(project));
    }

    /// Wake-ups of changes to any project, committed here or (on PostgreSQL)
    /// on another replica; `None` after the relay reconnected.
    pub fn wakeups(&self) -> broadcast::Receiver<Wakeup> {
        self.wakeups.subscribe()
    }

    /// Joins `project`'s broadcast, starting its reader if this is the first
    /// stream; `latest` is a sequence number the caller knows is committed,
    /// from which a new reader starts.
    pub fn subscribe(&self, project: ProjectId, latest: i64) -> Subscription {
        let mut watched = self.watched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = watched.entry(project).or_insert_with(|| {
            let events = broadcast::channel(PROJECT_BACKLOG).0;
            let stop = CancellationToken::new();
            let reader = Reader {
                project,
                last: latest,
                events: events.clone(),
                wakeups: self.wakeups.subscribe(),
                store: self.events.clone(),
                metrics: self.metrics.clone(),
            };
            tokio::spawn(reader.run(stop.clone()));
            Watched { events, streams: 0, stop }
        });
        entry.streams += 1;
        Subscription { events: entry.events.subscribe(), project, watched: self.watched.clone() }
    }

    /// On PostgreSQL, relays NOTIFYs from other replicas until `shutdown`.
    pub fn listen(&self, db: &DatabaseConnection, shutdown: CancellationToken) {
        let sender = self.wakeups.clone();
        relay_notifications(db, NOTIFY_CHANNEL, shutdown, move |payload| {
            // `None` (connected again): anything sent meanwhile is read now.
            let _ = sender.send(payload.map(ProjectId::from_stored));
        });
    }
}

/// On PostgreSQL, LISTENs on `channel` until `shutdown`, reconnecting a
/// second after a lost connection, and hands each NOTIFY's payload to
/// `deliver`; `None` once listening (again), since notifications sent
/// while not listening are lost. Does nothing on SQLite (one process).
pub fn relay_notifications(
    db: &DatabaseConnection,
    channel: &'static str,
    shutdown: CancellationToken,
    deliver: impl Fn(Option<&str>) + Send + Sync + 'static,
) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    tokio::spawn(async move {
        use sea_orm::sqlx::postgres::PgListener;
        loop {
            let listener = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(channel).await?;
                deliver(None);
                loop {
                    let notification = listener.recv().await?;
                    deliver(Some(notification.payload()));
                }
                #[allow(unreachable_code)]
                Ok::<(), sea_orm::sqlx::Error>(())
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                result = listener => {
                    if let Err(error) = result {
                        tracing::warn!(%error, channel, "notification listener lost; reconnecting");
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
        }
    });
}

/// Reads one project's new events once per change and broadcasts them.
struct Reader {
    project: ProjectId,
    /// The last sequence number broadcast (or known before the reader began).
    last: i64,
    events: broadcast::Sender<Arc<FeedEvent>>,
    wakeups: broadcast::Receiver<Wakeup>,
    store: EventStore,
    metrics: Arc<Metrics>,
}

impl Reader {
    async fn run(mut self, stop: CancellationToken) {
        let mut rescan = tokio::time::interval(RESCAN_INTERVAL);
        rescan.reset();
        loop {
            // The first round reads at once: changes may have committed
            // since `last` was read.
            self.broadcast_new().await;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    wakeup = self.wakeups.recv() => match wakeup {
                        Ok(Some(changed)) if changed != self.project => continue,
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    _ = rescan.tick() => break,
                }
            }
        }
    }

    /// Broadcasts every event after `last`. A failed read is retried on the
    /// next wake-up or rescan; streams meanwhile keep their heartbeats.
    async fn broadcast_new(&mut self) {
        loop {
            match self.store.after(self.project, self.last, EVENT_BATCH).await {
                Ok(events) => {
                    let full = events.len() as u64 == EVENT_BATCH;
                    for event in events {
                        self.last = event.seq;
                        // No receivers is fine: the last stream just ended.
                        let _ = self.events.send(Arc::new(FeedEvent { seq: event.seq, event: event_to_proto(event) }));
                    }
                    if !full {
                        return;
                    }
                }
                Err(error) => {
                    self.metrics.watch_delivery_failures.inc();
                    tracing::warn!(project = %self.project, error = %error, "cannot read the change feed; retrying");
                    return;
                }
            }
        }
    }
}

/// Converts a stored event for the stream.
pub fn event_to_proto(event: task_events::Model) -> v1::TaskEvent {
    v1::TaskEvent {
        cursor: event.seq.to_string(),
        r#type: i32::from(event.kind),
        task: v1::Task::decode(event.task.as_slice()).ok(),
        actor: UserId::from_stored(&event.actor_id).name(),
        event_time: Some(to_timestamp(event.time)),
    }
}

impl From<EventStoreError> for ServiceError {
    fn from(error: EventStoreError) -> Self {
        match error {
            EventStoreError::Database(error) => error.into(),
            vanished @ EventStoreError::ProjectVanished(_) => Self::Internal(vanished.into()),
        }
    }
}

/// A `WatchTasks` response stream.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::WatchTasksResponse, tonic::Status>> + Send>>;

/// Where a watch starts: after `cursor` if given (it must be neither ahead
/// of the feed nor older than its oldest retained event), else at `latest`.
pub async fn start_point(
    events: &EventStore,
    project: ProjectId,
    cursor: Option<i64>,
    latest: i64,
) -> ServiceResult<i64> {
    match cursor {
        None => Ok(latest),
        Some(cursor) if cursor > latest => Err(ServiceError::invalid("cursor", "is ahead of the project's feed")),
        Some(cursor) => {
            // Events are pruned by age: a cursor older than the oldest
            // retained event cannot be resumed without a gap.
            let first = events.after(project, cursor, 1).await?;
            if cursor < latest && first.first().is_none_or(|event| event.seq != cursor + 1) {
                return Err(ServiceError::OutOfRange(
                    "the cursor has expired; list the tasks again and watch from now".into(),
                ));
            }
            Ok(cursor)
        }
    }
}

/// The next membership end to look at: a lagging receiver must look at
/// its own (`None`: maybe any); never, once nothing can be announced.
async fn next_membership_end(ends: &mut broadcast::Receiver<MembershipEnd>) -> MembershipEnd {
    match ends.recv().await {
        Ok(end) => end,
        Err(RecvError::Lagged(_)) => None,
        Err(RecvError::Closed) => std::future::pending().await,
    }
}

/// Counts a stream in `gauge` as open until its task ends, however it ends.
pub struct OpenStream(Gauge);

impl OpenStream {
    pub fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn heartbeat(cursor: i64) -> v1::WatchTasksResponse {
    v1::WatchTasksResponse {
        kind: Some(v1::watch_tasks_response::Kind::Heartbeat(v1::Heartbeat {
            cursor: cursor.to_string(),
            time: Some(to_timestamp(time::now())),
        })),
    }
}

fn event_response(event: v1::TaskEvent) -> v1::WatchTasksResponse {
    v1::WatchTasksResponse { kind: Some(v1::watch_tasks_response::Kind::Event(event)) }
}

/// Streams `project`'s events after `start` to one watcher: first from the
/// table until caught up with `latest`, then from the project's broadcast,
/// with a heartbeat whenever the stream has been idle for the heartbeat
/// interval. Ends when the client goes, or the server shuts down, or (with
/// UNAUTHENTICATED) once the caller's session is signed out on any replica,
/// or (with PERMISSION_DENIED, as a read would) once the caller is no
/// longer a member of the project (as soon as the announcement arrives:
/// within a second).
pub fn watch(shared: SharedState, caller: Caller, project: ProjectId, start: i64, latest: i64) -> WatchStream {
    let (sender, receiver) = mpsc::channel(64);
    // Joined before reading the table, so no event falls between the two.
    let subscription = shared.feed.subscribe(project, latest);
    tokio::spawn(async move {
        let _open = OpenStream::new(&shared.metrics.watch_streams_active);
        let mut stream = Watcher { shared, caller, project, cursor: start, sender, subscription };
        if stream.send(heartbeat(start)).await {
            stream.run(start < latest).await;
        }
    });
    Box::pin(ReceiverStream::new(receiver))
}

/// One open watch stream.
struct Watcher {
    shared: SharedState,
    caller: Caller,
    project: ProjectId,
    /// The last sequence number sent.
    cursor: i64,
    sender: mpsc::Sender<Result<v1::WatchTasksResponse, tonic::Status>>,
    subscription: Subscription,
}

impl Watcher {
    /// Sends one response; false once the client has gone.
    async fn send(&self, response: v1::WatchTasksResponse) -> bool {
        self.sender.send(Ok(response)).await.is_ok()
    }

    async fn send_event(&mut self, seq: i64, event: v1::TaskEvent) -> bool {
        self.cursor = seq;
        let sent = self.send(event_response(event)).await;
        if sent {
            self.shared.metrics.watch_events_delivered.inc();
        }
        sent
    }

    /// Whether the caller's session has been signed out since the stream
    /// opened. (An API token's revocation is not followed here: the caller
    /// carries no token id; its stream ends at the token's next call.)
    fn signed_out(&self) -> bool {
        match self.caller.credential {
            Credential::Session(session) => self.shared.revocations.session_revoked(session),
            Credential::ApiToken { .. } => false,
        }
    }

    async fn run(&mut self, mut behind: bool) {
        let mut ticker = tokio::time::interval(self.shared.heartbeat_interval);
        ticker.reset();
        // Woken when a session is revoked or a membership ends (here, or
        // announced by another replica), not on a timer: thousands of open
        // streams stay asleep.
        let mut revocations = self.shared.revocations.session_revocations();
        let mut membership_ends = self.shared.revocations.membership_ends();
        loop {
            if behind {
                match self.catch_up().await {
                    Some(still_behind) => behind = still_behind,
                    None => return,
                }
                ticker.reset();
                continue;
            }
            tokio::select! {
                () = self.shared.shutdown.cancelled() => return,
                () = self.sender.closed() => return,
                received = self.subscription.events.recv() => match received {
                    // Already sent from the table.
                    Ok(shared_event) if shared_event.seq <= self.cursor => {}
                    Ok(shared_event) if shared_event.seq == self.cursor + 1 => {
                        if !self.send_event(shared_event.seq, shared_event.event.clone()).await {
                            return;
                        }
                        ticker.reset();
                    }
                    // A gap (the broadcast began after our cursor) or
                    // events dropped because this stream fell behind.
                    Ok(_) | Err(RecvError::Lagged(_)) => behind = true,
                    Err(RecvError::Closed) => return,
                },
                _ = ticker.tick() => {
                    if !self.send(heartbeat(self.cursor)).await {
                        return;
                    }
                }
                Ok(()) = revocations.changed() => {
                    if self.signed_out() {
                        self.shared.metrics.watch_streams_revoked.inc();
                        let ended = tonic::Status::unauthenticated("the session was signed out");
                        let _ = self.sender.send(Err(ended)).await;
                        return;
                    }
                }
                ended = next_membership_end(&mut membership_ends) => {
                    let ours = ended.is_none_or(|(project, user)| project == self.project && user == self.caller.user);
                    if ours && let Err(refused) = self.may_still_read().await {
                        self.shared.metrics.watch_streams_revoked.inc();
                        let _ = self.sender.send(Err(refused.into())).await;
                        return;
                    }
                }
            }
        }
    }

    /// Whether the caller may still read the project, asked as a call
    /// would: PERMISSION_DENIED once they are no longer a member (or another
    /// error if the database cannot say; the stream then ends too, and the
    /// client's reconnect is authorized afresh).
    async fn may_still_read(&self) -> ServiceResult<()> {
        self.shared.authorizer.require(&self.caller, self.project, Permission::Read).await.map(drop)
    }

    /// Sends the next batch from the table: whether more remain, or `None`
    /// if the stream ended.
    async fn catch_up(&mut self) -> Option<bool> {
        match self.shared.events.after(self.project, self.cursor, EVENT_BATCH).await {
            Ok(events) => {
                let full = events.len() as u64 == EVENT_BATCH;
                for stored in events {
                    if !self.send_event(stored.seq, event_to_proto(stored)).await {
                        return None;
                    }
                }
                Some(full)
            }
            Err(error) => {
                self.shared.metrics.watch_delivery_failures.inc();
                let _ = self.sender.send(Err(ServiceError::from(error).into())).await;
                None
            }
        }
    }
}
