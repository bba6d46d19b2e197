//! Comments on tasks, and each task's history (activity).

use sea_orm::{DatabaseConnection, DbErr};

/// Why a comment or history operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CommentStoreError {
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The comments and activity repository.
#[derive(Clone)]
pub struct CommentStore {
    db: DatabaseConnection,
}

impl CommentStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}
