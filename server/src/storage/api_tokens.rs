//! API tokens: their secrets' digests, scopes and uses.

use sea_orm::{DatabaseConnection, DbErr};

/// Why an API token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiTokenStoreError {
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The API tokens repository.
#[derive(Clone)]
pub struct ApiTokenStore {
    db: DatabaseConnection,
}

impl ApiTokenStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}
