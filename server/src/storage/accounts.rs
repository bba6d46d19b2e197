//! Users and their sessions.

use sea_orm::{DatabaseConnection, DbErr};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountStoreError {
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The accounts repository.
#[derive(Clone)]
pub struct AccountStore {
    db: DatabaseConnection,
}

impl AccountStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}
