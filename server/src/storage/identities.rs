//! OpenID Connect sign-in: pending sign-ins and the identities linked to
//! users (migration `m20261223_000001_oidc`).
//!
//! A pending sign-in is completed by one `UPDATE` that sets its `use_time`
//! where it is NULL and the row has not lapsed, so a state presented twice
//! (or by two calls at once) completes one sign-in.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, SqlErr, TransactionTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::entities::{memberships, oidc_logins, user_identities, users};
use crate::{
    auth::Role,
    domain::{ProjectId, UserId},
};

/// Why an identity operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityStoreError {
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// How a sign-in found its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The subject was linked before.
    Known,
    /// Linked now to the account with the same (verified) email.
    Linked,
    /// A new account was created for it.
    Created,
}

/// The identity repository.
#[derive(Clone)]
pub struct IdentityStore {
    db: DatabaseConnection,
}

impl IdentityStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Stores a sign-in just started.
    pub async fn insert_login(&self, login: &oidc_logins::Model) -> Result<(), IdentityStoreError> {
        oidc_logins::Entity::insert(oidc_logins::ActiveModel::from(login.clone()))
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// Completes the pending sign-in whose state has digest `state_hash`,
    /// once: `None` if there is none, it lapsed, or it was completed before.
    pub async fn consume_login(
        &self,
        state_hash: &str,
        now: i64,
    ) -> Result<Option<oidc_logins::Model>, IdentityStoreError> {
        let used = oidc_logins::Entity::update_many()
            .col_expr(oidc_logins::Column::UseTime, Expr::value(now))
            .filter(oidc_logins::Column::StateHash.eq(state_hash))
            .filter(oidc_logins::Column::UseTime.is_null())
            .filter(oidc_logins::Column::ExpireTime.gt(now))
            .exec(&self.db)
            .await?;
        if used.rows_affected != 1 {
            return Ok(None);
        }
        Ok(oidc_logins::Entity::find_by_id(state_hash.to_owned()).one(&self.db).await?)
    }

    /// Deletes sign-ins that lapsed before `before`; returns how many.
    pub async fn prune_logins(&self, before: i64) -> Result<u64, IdentityStoreError> {
        let deleted = oidc_logins::Entity::delete_many()
            .filter(oidc_logins::Column::ExpireTime.lt(before))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected)
    }

    /// The user `provider`'s `subject` is linked to, recording the sign-in.
    pub async fn known_user(
        &self,
        provider: &str,
        subject: &str,
        now: i64,
    ) -> Result<Option<users::Model>, IdentityStoreError> {
        let Some(identity) =
            user_identities::Entity::find_by_id((provider.to_owned(), subject.to_owned())).one(&self.db).await?
        else {
            return Ok(None);
        };
        user_identities::Entity::update_many()
            .col_expr(user_identities::Column::LastSignInTime, Expr::value(now))
            .filter(user_identities::Column::Provider.eq(provider))
            .filter(user_identities::Column::Subject.eq(subject))
            .exec(&self.db)
            .await?;
        Ok(users::Entity::find_by_id(identity.user_id).one(&self.db).await?)
    }

    /// Links `provider`'s `subject` to the account with `new_user`'s email
    /// (which the provider verified), or creates `new_user` if there is
    /// none: one transaction. A concurrent first sign-in of the same
    /// subject links it once; both get the same user.
    pub async fn link_or_create(
        &self,
        provider: &str,
        subject: &str,
        new_user: users::Model,
        now: i64,
    ) -> Result<(users::Model, Resolution), IdentityStoreError> {
        // Twice at most: if someone signs up with the email between the
        // lookup and the insert, the second round links to their account.
        let mut attempts = 0;
        let (txn, user, resolution) = loop {
            attempts += 1;
            let txn = self.db.begin().await?;
            let existing =
                users::Entity::find().filter(users::Column::Email.eq(new_user.email.as_str())).one(&txn).await?;
            if let Some(user) = existing {
                break (txn, user, Resolution::Linked);
            }
            let inserted =
                users::Entity::insert(users::ActiveModel::from(new_user.clone())).exec_without_returning(&txn).await;
            match inserted {
                Ok(_) => break (txn, new_user.clone(), Resolution::Created),
                Err(error) if attempts < 2 && matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    txn.rollback().await?;
                }
                Err(error) => return Err(error.into()),
            }
        };
        let identity = user_identities::ActiveModel {
            provider: Set(provider.to_owned()),
            subject: Set(subject.to_owned()),
            user_id: Set(user.id.clone()),
            email: Set(user.email.clone()),
            create_time: Set(now),
            last_sign_in_time: Set(now),
        };
        let linked = user_identities::Entity::insert(identity)
            .on_conflict(
                OnConflict::columns([user_identities::Column::Provider, user_identities::Column::Subject])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        if linked == 0 {
            // A concurrent first sign-in of this subject won: use its user.
            txn.rollback().await?;
            let user = self.known_user(provider, subject, now).await?;
            return user.map(|user| (user, Resolution::Known)).ok_or_else(|| {
                IdentityStoreError::Database(DbErr::RecordNotFound("the identity's user was deleted".into()))
            });
        }
        txn.commit().await?;
        Ok((user, resolution))
    }

    /// Makes `user` a member of `project` with `role`, or raises their
    /// role to it; never lowers a role. Returns false if the project does
    /// not exist (any more).
    pub async fn grant_membership(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
        now: i64,
    ) -> Result<bool, IdentityStoreError> {
        let membership = memberships::ActiveModel {
            project_id: Set(project.to_string()),
            user_id: Set(user.to_string()),
            role: Set(role.stored()),
            create_time: Set(now),
        };
        let granted = memberships::Entity::insert(membership)
            .on_conflict(
                OnConflict::columns([memberships::Column::ProjectId, memberships::Column::UserId])
                    .update_column(memberships::Column::Role)
                    .action_and_where(Expr::col((memberships::Entity, memberships::Column::Role)).lt(role.stored()))
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await;
        match granted {
            Ok(_) => Ok(true),
            Err(error) if matches!(error.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}
