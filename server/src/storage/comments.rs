//! Comments on tasks, and each task's history (activity).

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::entities::{comments, task_activities};
use crate::domain::{UserId, names::ActivityId, time::Micros};

/// Why a comment or history operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CommentStoreError {
    #[error("cannot encode a history entry: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A field's value before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old_value: String,
    pub new_value: String,
}

/// A history entry as stored, its changes decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub row: task_activities::Model,
    pub changes: Vec<FieldChange>,
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

    pub async fn insert(&self, comment: comments::Model) -> Result<comments::Model, CommentStoreError> {
        comments::Entity::insert(comments::ActiveModel::from(comment.clone())).exec(&self.db).await?;
        Ok(comment)
    }

    /// A task's comments, oldest first: `limit` after the comment `after`.
    pub async fn list(
        &self,
        task: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<comments::Model>, CommentStoreError> {
        let mut query = comments::Entity::find().filter(comments::Column::TaskId.eq(task));
        if let Some(after) = after {
            query = query.filter(comments::Column::Id.gt(after));
        }
        Ok(query.order_by_asc(comments::Column::Id).limit(limit).all(&self.db).await?)
    }

    /// A task's history, oldest first: `limit` after the entry `after`.
    pub async fn activities(
        &self,
        task: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Activity>, CommentStoreError> {
        let mut query = task_activities::Entity::find().filter(task_activities::Column::TaskId.eq(task));
        if let Some(after) = after {
            query = query.filter(task_activities::Column::Id.gt(after));
        }
        let rows = query.order_by_asc(task_activities::Column::Id).limit(limit).all(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|row| Activity { changes: serde_json::from_str(&row.changes).unwrap_or_default(), row })
            .collect())
    }
}

/// Adds an entry to a task's history, inside the writer's transaction.
#[tracing::instrument(name = "db.activity.record", skip_all, fields(otel.kind = "client"))]
pub(super) async fn record_activity(
    txn: &impl ConnectionTrait,
    task: &str,
    actor: UserId,
    kind: i16,
    changes: &[FieldChange],
    time: Micros,
) -> Result<(), CommentStoreError> {
    task_activities::Entity::insert(task_activities::ActiveModel {
        id: Set(ActivityId::generate().to_string()),
        task_id: Set(task.to_owned()),
        actor_id: Set(actor.to_string()),
        kind: Set(kind),
        changes: Set(serde_json::to_string(changes)?),
        time: Set(time),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}
