//! Comments on tasks, and each task's history (activity).

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::{
    entities::{comments, task_activities, tasks},
    notifications::{self, InboxSignals},
};
use crate::domain::{UserId, names::ActivityId, time::Micros};

/// Why a comment or history operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CommentStoreError {
    #[error("the comment changed since it was read")]
    Stale,
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

/// A change to a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentChange {
    /// A new body.
    Edit(String),
    /// A soft delete: the row stays, with its text, and is no longer shown.
    Delete,
}

/// The comments and activity repository.
#[derive(Clone)]
pub struct CommentStore {
    db: DatabaseConnection,
    inbox: InboxSignals,
}

impl CommentStore {
    pub fn new(db: DatabaseConnection, inbox: InboxSignals) -> Self {
        Self { db, inbox }
    }

    /// Adds `comment` to `task`, notifying the task's followers and the
    /// members it mentions, in one transaction.
    pub async fn insert(
        &self,
        comment: comments::Model,
        task: &tasks::Model,
    ) -> Result<comments::Model, CommentStoreError> {
        let txn = self.db.begin().await?;
        comments::Entity::insert(comments::ActiveModel::from(comment.clone())).exec_without_returning(&txn).await?;
        let author = UserId::from_stored(&comment.author_id);
        let made = notifications::on_comment(
            &txn,
            self.inbox.outbox(),
            task,
            author,
            &comment.body,
            None,
            comment.create_time,
        )
        .await?;
        txn.commit().await?;
        self.inbox.announce(&made);
        Ok(comment)
    }

    /// The comment `id` of the task `task`, deleted or not.
    pub async fn get(&self, task: &str, id: &str) -> Result<Option<comments::Model>, CommentStoreError> {
        let query = comments::Entity::find_by_id(id).filter(comments::Column::TaskId.eq(task));
        Ok(query.one(&self.db).await?)
    }

    /// Applies `change` to `comment` as read (its `version` guards against a
    /// concurrent change: [`CommentStoreError::Stale`]) and adds `history`
    /// to the task's history, in one transaction; `by` is who, the kind of
    /// history entry, and when.
    pub async fn change(
        &self,
        comment: comments::Model,
        change: CommentChange,
        history: FieldChange,
        (actor, kind, time): (UserId, i16, Micros),
        task: &tasks::Model,
    ) -> Result<comments::Model, CommentStoreError> {
        let old_body = comment.body.clone();
        let mut changed = comments::Model { version: comment.version + 1, ..comment };
        let mut update = comments::ActiveModel { version: Set(changed.version), ..Default::default() };
        match change {
            CommentChange::Edit(body) => {
                changed.body = body;
                changed.edit_time = Some(time);
                update.body = Set(changed.body.clone());
                update.edit_time = Set(changed.edit_time);
            }
            CommentChange::Delete => {
                changed.delete_time = Some(time);
                update.delete_time = Set(changed.delete_time);
            }
        }
        let txn = self.db.begin().await?;
        let updated = comments::Entity::update_many()
            .set(update)
            .filter(comments::Column::Id.eq(&changed.id))
            .filter(comments::Column::Version.eq(changed.version - 1))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(CommentStoreError::Stale);
        }
        record_activity(&txn, &changed.task_id, actor, kind, &[history], time).await?;
        // An edit notifies the members it newly mentions.
        let made = if changed.delete_time.is_none() {
            notifications::on_comment(&txn, self.inbox.outbox(), task, actor, &changed.body, Some(&old_body), time)
                .await?
        } else {
            Vec::new()
        };
        txn.commit().await?;
        self.inbox.announce(&made);
        Ok(changed)
    }

    /// A task's comments, oldest first: `limit` after the comment `after`,
    /// the deleted ones only if `show_deleted`.
    pub async fn list(
        &self,
        task: &str,
        after: Option<&str>,
        limit: u64,
        show_deleted: bool,
    ) -> Result<Vec<comments::Model>, CommentStoreError> {
        let mut query = comments::Entity::find().filter(comments::Column::TaskId.eq(task));
        if !show_deleted {
            query = query.filter(comments::Column::DeleteTime.is_null());
        }
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
