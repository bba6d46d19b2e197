//! Live delivery for `WatchNotifications` streams.
//!
//! The `notifications` table is the source of truth; each user's
//! notifications are numbered and commit in number order (see
//! [`crate::storage::notifications`]). A change to a user's inbox wakes
//! that user's streams: directly in this process, and on PostgreSQL through
//! a LISTEN connection that relays every replica's NOTIFYs. A woken stream
//! reads what is new after its cursor and the unread counts, so it never
//! skips or repeats a notification; a missed wake-up (a lost LISTEN
//! connection) wakes every stream once the connection is back.

use std::pin::Pin;

use futures::Stream;
use sea_orm::DatabaseConnection;
use tasktracker_proto::v1;
use tokio::sync::{broadcast::error::RecvError, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{Caller, Credential},
    domain::{
        UserId,
        time::{self, to_timestamp},
    },
    error::ServiceError,
    live::{OpenStream, relay_notifications},
    services::{SharedState, notifications::notification_to_proto},
    storage::notifications::{Counts, InboxSignals, NOTIFY_CHANNEL, NotificationQuery},
};

/// Notifications read from the table per query.
const BATCH: u64 = 100;

/// On PostgreSQL, relays inbox NOTIFYs from every replica until `shutdown`.
pub fn listen(db: &DatabaseConnection, signals: InboxSignals, shutdown: CancellationToken) {
    relay_notifications(db, NOTIFY_CHANNEL, shutdown, move |payload| match payload {
        Some(users) => users.split(',').for_each(|user| signals.wake(Some(UserId::from_stored(user)))),
        // Connected again: wake every stream, in case it missed its user's.
        None => signals.wake(None),
    });
}

/// A `WatchNotifications` response stream.
pub type NotificationStream = Pin<Box<dyn Stream<Item = Result<v1::WatchNotificationsResponse, tonic::Status>> + Send>>;

fn counts(counts: Counts, cursor: i64) -> v1::WatchNotificationsResponse {
    v1::WatchNotificationsResponse {
        kind: Some(v1::watch_notifications_response::Kind::Counts(v1::InboxCounts {
            unread_count: i32::try_from(counts.unread).unwrap_or(i32::MAX),
            unread_mention_count: i32::try_from(counts.mentions).unwrap_or(i32::MAX),
            cursor: cursor.to_string(),
        })),
    }
}

fn heartbeat(cursor: i64) -> v1::WatchNotificationsResponse {
    v1::WatchNotificationsResponse {
        kind: Some(v1::watch_notifications_response::Kind::Heartbeat(v1::Heartbeat {
            cursor: cursor.to_string(),
            time: Some(to_timestamp(time::now())),
        })),
    }
}

/// Streams the caller's notifications after `start`, then the unread
/// counts, and again after each change to their inbox; a heartbeat when
/// idle. Ends when the client goes, the server shuts down, or (with
/// UNAUTHENTICATED) the caller's session is signed out.
pub fn watch(shared: SharedState, caller: Caller, start: i64) -> NotificationStream {
    let (sender, receiver) = mpsc::channel(64);
    // Subscribed before the first read, so no change falls between the two.
    let wakeups = shared.metrics.inbox.subscribe();
    tokio::spawn(async move {
        let _open = OpenStream::new(&shared.metrics.notification_streams_active);
        let mut stream = Watcher { shared, caller, cursor: start, sender, counted: None };
        stream.run(wakeups).await;
    });
    Box::pin(ReceiverStream::new(receiver))
}

struct Watcher {
    shared: SharedState,
    caller: Caller,
    /// The last notification number sent.
    cursor: i64,
    sender: mpsc::Sender<Result<v1::WatchNotificationsResponse, tonic::Status>>,
    /// The counts last sent, and the cursor they were sent with.
    counted: Option<(Counts, i64)>,
}

impl Watcher {
    async fn send(&self, response: v1::WatchNotificationsResponse) -> bool {
        self.sender.send(Ok(response)).await.is_ok()
    }

    fn signed_out(&self) -> bool {
        match self.caller.credential {
            Credential::Session(session) => self.shared.revocations.session_revoked(session),
            Credential::ApiToken { .. } => false,
        }
    }

    async fn run(&mut self, mut wakeups: tokio::sync::broadcast::Receiver<Option<UserId>>) {
        let mut ticker = tokio::time::interval(self.shared.heartbeat_interval);
        ticker.reset();
        let mut revocations = self.shared.revocations.session_revocations();
        if !self.catch_up().await {
            return;
        }
        loop {
            tokio::select! {
                () = self.shared.shutdown.cancelled() => return,
                () = self.sender.closed() => return,
                wakeup = wakeups.recv() => {
                    let ours = match wakeup {
                        Ok(Some(user)) => user == self.caller.user,
                        Ok(None) | Err(RecvError::Lagged(_)) => true,
                        Err(RecvError::Closed) => return,
                    };
                    if ours {
                        if !self.catch_up().await {
                            return;
                        }
                        ticker.reset();
                    }
                }
                _ = ticker.tick() => {
                    if !self.send(heartbeat(self.cursor)).await {
                        return;
                    }
                }
                Ok(()) = revocations.changed() => {
                    if self.signed_out() {
                        let ended = tonic::Status::unauthenticated("the session was signed out");
                        let _ = self.sender.send(Err(ended)).await;
                        return;
                    }
                }
            }
        }
    }

    /// Sends every notification after the cursor, then the counts; false
    /// once the stream has ended.
    async fn catch_up(&mut self) -> bool {
        let user = self.caller.user;
        let store = &self.shared.notifications;
        loop {
            let query =
                NotificationQuery { after: Some(self.cursor), show_snoozed: true, limit: BATCH, ..Default::default() };
            let rows = match store.list(user, &query, time::now()).await {
                Ok(rows) => rows,
                Err(error) => return self.fail(error).await,
            };
            let full = rows.len() as u64 == BATCH;
            for row in rows {
                self.cursor = row.row.seq;
                let notification = v1::WatchNotificationsResponse {
                    kind: Some(v1::watch_notifications_response::Kind::Notification(notification_to_proto(row))),
                };
                if !self.send(notification).await {
                    return false;
                }
            }
            if !full {
                break;
            }
        }
        // Counts only when they changed: a wake-up that found nothing new
        // (another replica's, or a reconnected listener's) stays silent.
        match store.counts(user, time::now()).await {
            Ok(counted) if self.counted == Some((counted, self.cursor)) => true,
            Ok(counted) => {
                self.counted = Some((counted, self.cursor));
                self.send(counts(counted, self.cursor)).await
            }
            Err(error) => self.fail(error).await,
        }
    }

    async fn fail(&self, error: sea_orm::DbErr) -> bool {
        let _ = self.sender.send(Err(ServiceError::from(error).into())).await;
        false
    }
}
