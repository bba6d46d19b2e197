//! Wake-ups for `WatchTasks` streams.
//!
//! The `task_events` table is the feed; this only tells watchers that a
//! project has something new to read. Writes in this process notify
//! directly; on PostgreSQL a LISTEN connection relays NOTIFYs from every
//! replica. A missed wake-up only delays delivery until the next heartbeat,
//! when watchers read the table anyway.

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::{domain::ProjectId, storage::tasks::NOTIFY_CHANNEL};

/// Which project changed; `None` means "maybe any" (after a lost connection).
pub type Wakeup = Option<ProjectId>;

/// Fan-out of change notifications to the watchers in this process.
#[derive(Clone)]
pub struct ChangeFeed {
    sender: broadcast::Sender<Wakeup>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self { sender: broadcast::channel(1_024).0 }
    }
}

impl ChangeFeed {
    pub fn notify(&self, project: ProjectId) {
        // No receivers is fine: nobody is watching.
        let _ = self.sender.send(Some(project));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Wakeup> {
        self.sender.subscribe()
    }

    /// On PostgreSQL, relays NOTIFYs from other replicas until `shutdown`.
    pub fn listen(&self, db: &DatabaseConnection, shutdown: CancellationToken) {
        if db.get_database_backend() != DbBackend::Postgres {
            return;
        }
        let pool = db.get_postgres_connection_pool().clone();
        let sender = self.sender.clone();
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
