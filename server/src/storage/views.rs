//! Saved views (`saved_views`): a project's shared views and each member's
//! personal ones.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};

use super::entities::saved_views;
use crate::domain::{ProjectId, UserId};

/// Most views a project holds, shared and personal together.
pub const MAX_VIEWS: u64 = 200;

/// Why a view operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ViewStoreError {
    #[error("the saved view changed meanwhile")]
    Stale,
    #[error("a project has at most {MAX_VIEWS} saved views")]
    TooMany,
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The saved views repository.
#[derive(Clone)]
pub struct ViewStore {
    db: DatabaseConnection,
}

impl ViewStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// `project`'s shared views and `user`'s personal ones, by display name
    /// ignoring case (sorted here, the same on either database whatever its
    /// collation: there are at most [`MAX_VIEWS`]).
    pub async fn list(&self, project: ProjectId, user: UserId) -> Result<Vec<saved_views::Model>, ViewStoreError> {
        let visible = Condition::any()
            .add(saved_views::Column::Shared.eq(true))
            .add(saved_views::Column::CreatorId.eq(user.to_string()));
        let mut views = saved_views::Entity::find()
            .filter(saved_views::Column::ProjectId.eq(project.to_string()))
            .filter(visible)
            .all(&self.db)
            .await?;
        views.sort_by_cached_key(|view| (view.display_name.to_lowercase(), view.id.clone()));
        Ok(views)
    }

    /// The view `id` of `project`, whoever may see it.
    pub async fn get(&self, project: ProjectId, id: &str) -> Result<Option<saved_views::Model>, ViewStoreError> {
        let query = saved_views::Entity::find_by_id(id).filter(saved_views::Column::ProjectId.eq(project.to_string()));
        Ok(query.one(&self.db).await?)
    }

    /// Adds `view`, unless its project has [`MAX_VIEWS`] already.
    pub async fn insert(&self, view: saved_views::Model) -> Result<saved_views::Model, ViewStoreError> {
        let txn = self.db.begin().await?;
        let count =
            saved_views::Entity::find().filter(saved_views::Column::ProjectId.eq(&view.project_id)).count(&txn).await?;
        if count >= MAX_VIEWS {
            return Err(ViewStoreError::TooMany);
        }
        saved_views::Entity::insert(saved_views::ActiveModel::from(view.clone())).exec_without_returning(&txn).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Stores `view` (its id, project and creator unchanged) if its stored
    /// version is still `read_version`; bumps the version.
    pub async fn update(
        &self,
        mut view: saved_views::Model,
        read_version: i64,
    ) -> Result<saved_views::Model, ViewStoreError> {
        view.version = read_version + 1;
        let changed = saved_views::ActiveModel {
            display_name: Set(view.display_name.clone()),
            filter: Set(view.filter.clone()),
            order_by: Set(view.order_by.clone()),
            layout: Set(view.layout),
            group_by: Set(view.group_by),
            group_by_field: Set(view.group_by_field.clone()),
            columns: Set(view.columns.clone()),
            shared: Set(view.shared),
            update_time: Set(view.update_time),
            version: Set(view.version),
            ..Default::default()
        };
        let updated = saved_views::Entity::update_many()
            .set(changed)
            .filter(saved_views::Column::Id.eq(&view.id))
            .filter(saved_views::Column::Version.eq(read_version))
            .exec(&self.db)
            .await?;
        if updated.rows_affected == 1 { Ok(view) } else { Err(ViewStoreError::Stale) }
    }

    /// Deletes the view `id` if its stored version is still `read_version`.
    pub async fn delete(&self, id: &str, read_version: i64) -> Result<(), ViewStoreError> {
        let deleted = saved_views::Entity::delete_many()
            .filter(saved_views::Column::Id.eq(id))
            .filter(saved_views::Column::Version.eq(read_version))
            .exec(&self.db)
            .await?;
        if deleted.rows_affected == 1 { Ok(()) } else { Err(ViewStoreError::Stale) }
    }
}
