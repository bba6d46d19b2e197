//! Import operations (`import_operations`): an import's progress and
//! outcome, for whichever replica is polled. The tasks an import makes, and
//! the `import_items` that make importing again idempotent, are written by
//! [`super::tasks::TaskStore::import_batch`].

use std::collections::HashMap;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use super::entities::{import_items, import_operations, memberships, users};
use crate::domain::{ProjectId, time::Micros};

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationState {
    Running = 1,
    Succeeded = 2,
    Failed = 3,
    Cancelled = 4,
}

impl OperationState {
    pub fn stored(self) -> i16 {
        self as i16
    }

    pub fn from_stored(value: i16) -> Self {
        match value {
            2 => Self::Succeeded,
            3 => Self::Failed,
            4 => Self::Cancelled,
            _ => Self::Running,
        }
    }
}

/// Why an import operation call failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportStoreError {
    /// Only a finished operation can be deleted.
    #[error("the operation is still running")]
    Running,
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// How far a running import got, written after each batch.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub rows_done: i64,
    pub rows_imported: i64,
    pub rows_skipped: i64,
    pub errors_total: i64,
    /// JSON array of the first row errors.
    pub row_errors: String,
}

/// The import operations repository.
#[derive(Clone)]
pub struct ImportStore {
    db: DatabaseConnection,
}

impl ImportStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn insert(&self, operation: import_operations::Model) -> Result<(), ImportStoreError> {
        import_operations::Entity::insert(import_operations::ActiveModel::from(operation))
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// The operation `id` of `project`.
    pub async fn get(
        &self,
        project: ProjectId,
        id: &str,
    ) -> Result<Option<import_operations::Model>, ImportStoreError> {
        Ok(import_operations::Entity::find_by_id(id)
            .filter(import_operations::Column::ProjectId.eq(project.to_string()))
            .one(&self.db)
            .await?)
    }

    /// A page of `project`'s operations, newest first, before the id
    /// `before` (ids are time-ordered).
    pub async fn list(
        &self,
        project: ProjectId,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<import_operations::Model>, ImportStoreError> {
        let mut select = import_operations::Entity::find()
            .filter(import_operations::Column::ProjectId.eq(project.to_string()))
            .order_by_desc(import_operations::Column::Id)
            .limit(limit);
        if let Some(before) = before {
            select = select.filter(import_operations::Column::Id.lt(before));
        }
        Ok(select.all(&self.db).await?)
    }

    /// Asks the running operation `id` to stop; its runner sees it between
    /// batches. Returns the operation as it now is.
    pub async fn request_cancel(
        &self,
        project: ProjectId,
        id: &str,
        now: Micros,
    ) -> Result<Option<import_operations::Model>, ImportStoreError> {
        import_operations::Entity::update_many()
            .col_expr(import_operations::Column::CancelRequested, Expr::value(true))
            .col_expr(import_operations::Column::UpdateTime, Expr::value(now))
            .filter(import_operations::Column::Id.eq(id))
            .filter(import_operations::Column::ProjectId.eq(project.to_string()))
            .filter(import_operations::Column::State.eq(OperationState::Running.stored()))
            .exec(&self.db)
            .await?;
        self.get(project, id).await
    }

    /// Deletes the finished operation `id` (its record only: what it
    /// imported stays). Returns whether there was one.
    pub async fn delete(&self, project: ProjectId, id: &str) -> Result<bool, ImportStoreError> {
        let Some(operation) = self.get(project, id).await? else {
            return Ok(false);
        };
        if OperationState::from_stored(operation.state) == OperationState::Running {
            return Err(ImportStoreError::Running);
        }
        import_operations::Entity::delete_by_id(id)
            .filter(import_operations::Column::State.ne(OperationState::Running.stored()))
            .exec(&self.db)
            .await?;
        Ok(true)
    }

    /// Records a running operation's progress and heartbeat; returns
    /// whether it must stop.
    pub async fn progress(&self, id: &str, progress: &Progress, now: Micros) -> Result<bool, ImportStoreError> {
        let Progress { rows_done, rows_imported, rows_skipped, errors_total, row_errors } = progress.clone();
        let update = import_operations::ActiveModel {
            id: Set(id.to_owned()),
            rows_done: Set(rows_done),
            rows_imported: Set(rows_imported),
            rows_skipped: Set(rows_skipped),
            errors_total: Set(errors_total),
            row_errors: Set(row_errors),
            update_time: Set(now),
            heartbeat_time: Set(now),
            ..Default::default()
        };
        import_operations::Entity::update_many()
            .set(update)
            .filter(import_operations::Column::Id.eq(id))
            .filter(import_operations::Column::State.eq(OperationState::Running.stored()))
            .exec(&self.db)
            .await?;
        let row: Option<(bool, i16)> = import_operations::Entity::find_by_id(id)
            .select_only()
            .column(import_operations::Column::CancelRequested)
            .column(import_operations::Column::State)
            .into_tuple()
            .one(&self.db)
            .await?;
        // Stop when asked to, when the operation was marked failed meanwhile
        // (its heartbeat looked stale), or when it is gone with its project.
        Ok(row.is_none_or(|(cancel, state)| cancel || OperationState::from_stored(state) != OperationState::Running))
    }

    /// Ends a running operation in `state`, with the error of a failed or
    /// cancelled one (gRPC code and message).
    pub async fn finish(
        &self,
        id: &str,
        state: OperationState,
        (error_code, error_message): (i32, String),
        now: Micros,
    ) -> Result<(), ImportStoreError> {
        import_operations::Entity::update_many()
            .col_expr(import_operations::Column::State, Expr::value(state.stored()))
            .col_expr(import_operations::Column::ErrorCode, Expr::value(error_code))
            .col_expr(import_operations::Column::ErrorMessage, Expr::value(error_message))
            .col_expr(import_operations::Column::UpdateTime, Expr::value(now))
            .filter(import_operations::Column::Id.eq(id))
            .filter(import_operations::Column::State.eq(OperationState::Running.stored()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Marks failed every running operation whose heartbeat is older than
    /// `stale_before`: its server stopped mid-import. Returns how many.
    pub async fn fail_interrupted(&self, stale_before: Micros, now: Micros) -> Result<u64, ImportStoreError> {
        let result = import_operations::Entity::update_many()
            .col_expr(import_operations::Column::State, Expr::value(OperationState::Failed.stored()))
            .col_expr(import_operations::Column::ErrorCode, Expr::value(tonic::Code::Aborted as i32))
            .col_expr(import_operations::Column::ErrorMessage, Expr::value(INTERRUPTED))
            .col_expr(import_operations::Column::UpdateTime, Expr::value(now))
            .filter(import_operations::Column::State.eq(OperationState::Running.stored()))
            .filter(import_operations::Column::HeartbeatTime.lt(stale_before))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// The tasks imported from `source` into `project` under the source ids
    /// `ids`, by source id.
    pub async fn task_ids(
        &self,
        project: ProjectId,
        source: &str,
        ids: &[String],
    ) -> Result<HashMap<String, String>, ImportStoreError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(1_000) {
            let rows = import_items::Entity::find()
                .filter(import_items::Column::ProjectId.eq(project.to_string()))
                .filter(import_items::Column::Source.eq(source))
                .filter(import_items::Column::SourceId.is_in(chunk.to_vec()))
                .all(&self.db)
                .await?;
            found.extend(rows.into_iter().map(|item| (item.source_id, item.task_id)));
        }
        Ok(found)
    }

    /// `project`'s members by email (emails are stored lowercase).
    pub async fn members_by_email(&self, project: ProjectId) -> Result<HashMap<String, String>, ImportStoreError> {
        let members: Vec<String> = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::UserId)
            .filter(memberships::Column::ProjectId.eq(project.to_string()))
            .into_tuple()
            .all(&self.db)
            .await?;
        let rows: Vec<(String, String)> = users::Entity::find()
            .select_only()
            .column(users::Column::Email)
            .column(users::Column::Id)
            .filter(users::Column::Id.is_in(members))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().collect())
    }
}

/// The error of an operation whose server stopped while it ran.
pub const INTERRUPTED: &str =
    "the import was interrupted (its server stopped); import the file again: what was imported is skipped";
