//! Attachments (`attachments`): files on tasks, whose bytes live in an
//! object store ([`crate::attachments`]).
//!
//! A row is written pending when an upload is declared, so that the
//! project's total counts it at once; it becomes active when its upload has
//! been checked. The per-project total is read and the row inserted in one
//! transaction that, on PostgreSQL, locks the project's row, so two uploads
//! declared at once cannot both squeeze under the limit.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::{Expr, ExprTrait, LockType, Query},
};

use super::entities::{attachments, projects, tasks};
use crate::domain::{TaskName, time::Micros};

/// A declared upload, not yet checked (`AttachmentState`).
pub const PENDING: i16 = 1;
/// A checked, listed attachment.
pub const ACTIVE: i16 = 2;
/// Most attachments (pending or active) a task has.
pub const MAX_PER_TASK: u64 = 100;

/// Why an attachment operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentStoreError {
    #[error("the project's attachments would exceed its limit")]
    ProjectFull,
    #[error("a task has at most {MAX_PER_TASK} attachments")]
    TooMany,
    #[error("the attachment changed meanwhile")]
    Stale,
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The attachments repository.
#[derive(Clone)]
pub struct AttachmentStore {
    db: DatabaseConnection,
}

impl AttachmentStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Adds a pending `attachment`, unless its project would then hold more
    /// than `project_limit` bytes or its task more than [`MAX_PER_TASK`]
    /// attachments (deleted ones do not count).
    pub async fn insert_pending(
        &self,
        attachment: attachments::Model,
        project_limit: i64,
    ) -> Result<attachments::Model, AttachmentStoreError> {
        let txn = self.db.begin().await?;
        if txn.get_database_backend() == DbBackend::Postgres {
            projects::Entity::find_by_id(&attachment.project_id).lock(LockType::Update).one(&txn).await?;
        }
        let live = || Condition::all().add(attachments::Column::DeleteTime.is_null());
        let on_task = attachments::Entity::find()
            .filter(live().add(attachments::Column::TaskId.eq(&attachment.task_id)))
            .count(&txn)
            .await?;
        if on_task >= MAX_PER_TASK {
            return Err(AttachmentStoreError::TooMany);
        }
        let used: Option<i64> = attachments::Entity::find()
            .select_only()
            // PostgreSQL sums BIGINTs to NUMERIC.
            .column_as(Expr::cust(r#"CAST(SUM("size_bytes") AS BIGINT)"#), "used")
            .filter(live().add(attachments::Column::ProjectId.eq(&attachment.project_id)))
            .into_tuple::<Option<i64>>()
            .one(&txn)
            .await?
            .flatten();
        if used.unwrap_or(0).saturating_add(attachment.size_bytes) > project_limit {
            return Err(AttachmentStoreError::ProjectFull);
        }
        attachments::Entity::insert(attachments::ActiveModel::from(attachment.clone()))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(attachment)
    }

    /// The attachment `id` of `task`, unless deleted.
    pub async fn get(&self, task: TaskName, id: &str) -> Result<Option<attachments::Model>, AttachmentStoreError> {
        Ok(attachments::Entity::find_by_id(id)
            .filter(attachments::Column::TaskId.eq(task.task.to_string()))
            .filter(attachments::Column::ProjectId.eq(task.project.to_string()))
            .filter(attachments::Column::DeleteTime.is_null())
            .one(&self.db)
            .await?)
    }

    /// `task`'s active attachments, oldest first.
    pub async fn list_active(&self, task: TaskName) -> Result<Vec<attachments::Model>, AttachmentStoreError> {
        Ok(attachments::Entity::find()
            .filter(attachments::Column::TaskId.eq(task.task.to_string()))
            .filter(attachments::Column::ProjectId.eq(task.project.to_string()))
            .filter(attachments::Column::State.eq(ACTIVE))
            .filter(attachments::Column::DeleteTime.is_null())
            .order_by_asc(attachments::Column::CreateTime)
            .order_by_asc(attachments::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Makes the pending attachment `id` active, confirmed at `now`.
    pub async fn activate(&self, id: &str, now: Micros) -> Result<(), AttachmentStoreError> {
        let changed =
            attachments::ActiveModel { state: Set(ACTIVE), confirm_time: Set(Some(now)), ..Default::default() };
        let updated = attachments::Entity::update_many()
            .set(changed)
            .filter(attachments::Column::Id.eq(id))
            .filter(attachments::Column::State.eq(PENDING))
            .filter(attachments::Column::DeleteTime.is_null())
            .exec(&self.db)
            .await?;
        if updated.rows_affected == 1 { Ok(()) } else { Err(AttachmentStoreError::Stale) }
    }

    /// Soft-deletes the attachment `id` at `now`.
    pub async fn delete(&self, id: &str, now: Micros) -> Result<(), AttachmentStoreError> {
        let updated = attachments::Entity::update_many()
            .col_expr(attachments::Column::DeleteTime, Expr::value(now))
            .filter(attachments::Column::Id.eq(id))
            .filter(attachments::Column::DeleteTime.is_null())
            .exec(&self.db)
            .await?;
        if updated.rows_affected == 1 { Ok(()) } else { Err(AttachmentStoreError::Stale) }
    }

    /// Attachments whose bytes are to go: uploads not confirmed by their
    /// `expire_time` (before `now`), and attachments deleted, or of tasks
    /// deleted, before `deleted_before`; at most `limit`.
    pub async fn purgeable(
        &self,
        now: Micros,
        deleted_before: Micros,
        limit: u64,
    ) -> Result<Vec<attachments::Model>, AttachmentStoreError> {
        let deleted_tasks = Query::select()
            .column(tasks::Column::Id)
            .from(tasks::Entity)
            .and_where(Expr::col(tasks::Column::DeleteTime).lt(deleted_before))
            .to_owned();
        let lapsed =
            Condition::all().add(attachments::Column::State.eq(PENDING)).add(attachments::Column::ExpireTime.lt(now));
        let condition = Condition::any()
            .add(lapsed)
            .add(attachments::Column::DeleteTime.lt(deleted_before))
            .add(attachments::Column::TaskId.in_subquery(deleted_tasks));
        Ok(attachments::Entity::find().filter(condition).limit(limit).all(&self.db).await?)
    }

    /// Removes the rows `ids`, once their bytes are gone.
    pub async fn remove(&self, ids: Vec<String>) -> Result<u64, AttachmentStoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let removed =
            attachments::Entity::delete_many().filter(attachments::Column::Id.is_in(ids)).exec(&self.db).await?;
        Ok(removed.rows_affected)
    }
}
