//! Each project's change feed (`task_events`), in sequence order.

use sea_orm::{DatabaseConnection, DbErr};

/// Why a change feed operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The change feed repository.
#[derive(Clone)]
pub struct EventStore {
    db: DatabaseConnection,
}

impl EventStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}
