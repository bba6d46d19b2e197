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
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{DatabaseConnection, DbBackend};
use tasktracker_proto::v1;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::{
    domain::ProjectId,
    metrics::Metrics,
    storage::tasks::{self as store, NOTIFY_CHANNEL},
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
    db: DatabaseConnection,
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
    pub fn new(db: DatabaseConnection, metrics: Arc<Metrics>) -> Self {
        Self { wakeups: broadcast::channel(1_024).0, watched: Arc::default(), db, metrics }
    }

    /// A change to `project` was committed.
    pub fn notify(&self, project: ProjectId) {
        // No receivers is fine: nobody is watching.
        let _ = self.wakeups.send(Some(project));
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
                db: self.db.clone(),
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
        if db.get_database_backend() != DbBackend::Postgres {
            return;
        }
        let pool = db.get_postgres_connection_pool().clone();
        let sender = self.wakeups.clone();
        tokio::spawn(async move {
            use sea_orm::sqlx::postgres::PgListener;
            loop {
                let listener = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen(NOTIFY_CHANNEL).await?;
                    // Anything sent while we were not listening is read now.
                    let _ = sender.send(None);
                    loop {
                        let notification = listener.recv().await?;
                        let project = ProjectId::from_stored(notification.payload());
                        let _ = sender.send(Some(project));
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), sea_orm::sqlx::Error>(())
                };
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    result = listener => {
                        if let Err(error) = result {
                            tracing::warn!(%error, "change feed listener lost; reconnecting");
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
}

/// Reads one project's new events once per change and broadcasts them.
struct Reader {
    project: ProjectId,
    /// The last sequence number broadcast (or known before the reader began).
    last: i64,
    events: broadcast::Sender<Arc<FeedEvent>>,
    wakeups: broadcast::Receiver<Wakeup>,
    db: DatabaseConnection,
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
            match store::events_after(&self.db, self.project, self.last, EVENT_BATCH).await {
                Ok(events) => {
                    let full = events.len() as u64 == EVENT_BATCH;
                    for event in events {
                        self.last = event.seq;
                        // No receivers is fine: the last stream just ended.
                        let _ = self
                            .events
                            .send(Arc::new(FeedEvent { seq: event.seq, event: store::event_to_proto(event) }));
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
