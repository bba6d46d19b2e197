//! API tokens: their secrets' digests, scopes and uses.

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use super::entities::api_tokens;
use crate::domain::{ApiTokenId, UserId, page::PageRequest};

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

    /// Stores a new token.
    pub async fn insert(&self, token: &api_tokens::Model) -> Result<(), ApiTokenStoreError> {
        api_tokens::Entity::insert(api_tokens::ActiveModel::from(token.clone())).exec(&self.db).await?;
        Ok(())
    }

    /// `user`'s tokens, newest first: [`PageRequest::fetch`] rows after
    /// [`PageRequest::after_id`].
    pub async fn list(&self, user: UserId, page: &PageRequest) -> Result<Vec<api_tokens::Model>, ApiTokenStoreError> {
        let mut query = api_tokens::Entity::find().filter(api_tokens::Column::UserId.eq(user.to_string()));
        if let Some(after) = page.after_id() {
            query = query.filter(api_tokens::Column::Id.lt(after));
        }
        Ok(query.order_by_desc(api_tokens::Column::Id).limit(page.fetch()).all(&self.db).await?)
    }

    /// Revokes `user`'s token `id` at `now` unless it already was, and
    /// returns it; `None` if `user` has no such token. On PostgreSQL a
    /// trigger announces the revocation to every replica as it commits.
    pub async fn revoke(
        &self,
        user: UserId,
        id: ApiTokenId,
        now: i64,
    ) -> Result<Option<api_tokens::Model>, ApiTokenStoreError> {
        let (user, id) = (user.to_string(), id.to_string());
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::RevokeTime, Expr::value(now))
            .filter(api_tokens::Column::Id.eq(&id))
            .filter(api_tokens::Column::UserId.eq(&user))
            .filter(api_tokens::Column::RevokeTime.is_null())
            .exec(&self.db)
            .await?;
        Ok(api_tokens::Entity::find_by_id(id).filter(api_tokens::Column::UserId.eq(user)).one(&self.db).await?)
    }

    /// The token `id`, if any, revoked or expired ones included.
    pub async fn find(&self, id: ApiTokenId) -> Result<Option<api_tokens::Model>, ApiTokenStoreError> {
        Ok(api_tokens::Entity::find_by_id(id.to_string()).one(&self.db).await?)
    }

    /// Notes that token `id` was used at `now`.
    pub async fn record_use(&self, id: ApiTokenId, now: i64) -> Result<(), ApiTokenStoreError> {
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::LastUseTime, Expr::value(now))
            .filter(api_tokens::Column::Id.eq(id.to_string()))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
