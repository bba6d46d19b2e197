//! Users and their sessions.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    SqlErr, TransactionTrait, sea_query::Expr,
};

use super::entities::{retired_refresh_tokens, sessions, users};
use crate::domain::{Email, UserId, names::SessionId, page::PageRequest};

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountStoreError {
    /// Another account already has the email.
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The profile fields an `UpdateCurrentUser` changes; `None` keeps one.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    /// An IANA zone name, or empty to clear the choice.
    pub time_zone: Option<String>,
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

    /// Stores a new user; fails with [`AccountStoreError::EmailTaken`] if
    /// the email is in use.
    pub async fn insert_user(&self, user: &users::Model) -> Result<(), AccountStoreError> {
        let inserted = users::Entity::insert(users::ActiveModel::from(user.clone())).exec(&self.db).await;
        match inserted {
            Ok(_) => Ok(()),
            Err(error) => match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => Err(AccountStoreError::EmailTaken),
                _ => Err(error.into()),
            },
        }
    }

    /// The user with `email`, if any.
    pub async fn user_by_email(&self, email: &Email) -> Result<Option<users::Model>, AccountStoreError> {
        Ok(users::Entity::find().filter(users::Column::Email.eq(email.as_str())).one(&self.db).await?)
    }

    /// The user `id`, if they still exist.
    pub async fn user(&self, id: UserId) -> Result<Option<users::Model>, AccountStoreError> {
        Ok(users::Entity::find_by_id(id.to_string()).one(&self.db).await?)
    }

    /// Changes the profile fields given of user `id`; the updated user, or
    /// `None` if they no longer exist.
    pub async fn update_profile(
        &self,
        id: UserId,
        change: ProfileChange,
    ) -> Result<Option<users::Model>, AccountStoreError> {
        let ProfileChange { display_name, time_zone } = change;
        if display_name.is_some() || time_zone.is_some() {
            let mut update = users::Entity::update_many().filter(users::Column::Id.eq(id.to_string()));
            if let Some(display_name) = display_name {
                update = update.col_expr(users::Column::DisplayName, Expr::value(display_name));
            }
            if let Some(time_zone) = time_zone {
                update = update.col_expr(users::Column::TimeZone, Expr::value(time_zone));
            }
            update.exec(&self.db).await?;
        }
        self.user(id).await
    }

    /// Stores a newly opened session.
    pub async fn insert_session(&self, session: &sessions::Model) -> Result<(), AccountStoreError> {
        sessions::Entity::insert(sessions::ActiveModel::from(session.clone())).exec(&self.db).await?;
        Ok(())
    }

    /// The session `id`, if any, revoked or expired ones included.
    pub async fn session(&self, id: SessionId) -> Result<Option<sessions::Model>, AccountStoreError> {
        Ok(sessions::Entity::find_by_id(id.to_string()).one(&self.db).await?)
    }

    /// The session whose current refresh token has digest `refresh_hash`.
    pub async fn session_by_refresh_hash(
        &self,
        refresh_hash: &str,
    ) -> Result<Option<sessions::Model>, AccountStoreError> {
        Ok(sessions::Entity::find().filter(sessions::Column::RefreshHash.eq(refresh_hash)).one(&self.db).await?)
    }

    /// Replaces session `id`'s refresh token digest `old_hash` with
    /// `new_hash`, a compare-and-swap: of two concurrent rotations of the
    /// same token exactly one wins. Returns whether this one did.
    ///
    /// The old digest is kept as retired (in the same transaction), so
    /// that presenting its token again is seen as reuse
    /// ([`Self::session_of_retired_hash`]).
    ///
    /// The same statement records the session as seen `now` from
    /// `client_ip`: last-seen costs no write of its own.
    pub async fn rotate_refresh_hash(
        &self,
        id: SessionId,
        old_hash: &str,
        new_hash: String,
        (refresh_expire_time, now): (i64, i64),
        client_ip: Option<String>,
    ) -> Result<bool, AccountStoreError> {
        let txn = self.db.begin().await?;
        let mut rotate = sessions::Entity::update_many()
            .col_expr(sessions::Column::RefreshHash, Expr::value(new_hash))
            .col_expr(sessions::Column::RefreshExpireTime, Expr::value(refresh_expire_time))
            .col_expr(sessions::Column::LastSeenTime, Expr::value(now));
        if let Some(client_ip) = client_ip {
            rotate = rotate.col_expr(sessions::Column::ClientIp, Expr::value(client_ip));
        }
        let rotated = rotate
            .filter(sessions::Column::Id.eq(id.to_string()))
            .filter(sessions::Column::RefreshHash.eq(old_hash))
            // No access token is issued after a revocation (the revocation
            // set relies on it).
            .filter(sessions::Column::RevokeTime.is_null())
            .exec(&txn)
            .await?;
        if rotated.rows_affected != 1 {
            return Ok(false);
        }
        retired_refresh_tokens::Entity::insert(retired_refresh_tokens::ActiveModel {
            refresh_hash: Set(old_hash.to_owned()),
            session_id: Set(id.to_string()),
            retire_time: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The session that once had the refresh token digest `refresh_hash`
    /// and rotated away from it, if any.
    pub async fn session_of_retired_hash(&self, refresh_hash: &str) -> Result<Option<SessionId>, AccountStoreError> {
        let retired = retired_refresh_tokens::Entity::find_by_id(refresh_hash).one(&self.db).await?;
        Ok(retired.map(|retired| SessionId::from_stored(&retired.session_id)))
    }

    /// Revokes session `id` at `now`, unless it already was. On PostgreSQL
    /// a trigger announces it to every replica as it commits (migration
    /// `m20261202_000001_revocation_notices`).
    pub async fn revoke_session(&self, id: SessionId, now: i64) -> Result<(), AccountStoreError> {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokeTime, Expr::value(now))
            .filter(sessions::Column::Id.eq(id.to_string()))
            .filter(sessions::Column::RevokeTime.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A page of `user`'s sessions usable at `now` (not revoked, within
    /// their idle and absolute lifetimes), newest first.
    pub async fn list_sessions(
        &self,
        user: UserId,
        page: &PageRequest,
        now: i64,
    ) -> Result<Vec<sessions::Model>, AccountStoreError> {
        let mut query = sessions::Entity::find()
            .filter(sessions::Column::UserId.eq(user.to_string()))
            .filter(sessions::Column::RevokeTime.is_null())
            .filter(sessions::Column::ExpireTime.gt(now))
            .filter(sessions::Column::RefreshExpireTime.gt(now));
        if let Some(after) = page.after_id() {
            query = query.filter(sessions::Column::Id.lt(after));
        }
        Ok(query.order_by_desc(sessions::Column::Id).limit(page.fetch()).all(&self.db).await?)
    }

    /// Revokes `user`'s session `id` at `now`; false if they have no such
    /// session or it already was revoked. On PostgreSQL the trigger
    /// announces it, as for [`Self::revoke_session`].
    pub async fn revoke_own_session(&self, user: UserId, id: SessionId, now: i64) -> Result<bool, AccountStoreError> {
        let revoked = sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokeTime, Expr::value(now))
            .filter(sessions::Column::Id.eq(id.to_string()))
            .filter(sessions::Column::UserId.eq(user.to_string()))
            .filter(sessions::Column::RevokeTime.is_null())
            .exec(&self.db)
            .await?;
        Ok(revoked.rows_affected == 1)
    }

    /// Sessions revoked at `since` or later, with their revocation times.
    pub async fn sessions_revoked_since(&self, since: i64) -> Result<Vec<(SessionId, i64)>, AccountStoreError> {
        let rows: Vec<(String, Option<i64>)> = sessions::Entity::find()
            .select_only()
            .column(sessions::Column::Id)
            .column(sessions::Column::RevokeTime)
            .filter(sessions::Column::RevokeTime.gte(since))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|(id, revoked)| (SessionId::from_stored(&id), revoked.unwrap_or(since))).collect())
    }
}
