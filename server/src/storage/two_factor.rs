//! Users' second factors: TOTP credentials and recovery codes
//! (migration `m20261222_000001_totp`).
//!
//! Every decision that must hold under concurrency is one statement: a code
//! is accepted by moving `last_step` forward (so the same code, or an older
//! one, presented twice or by two calls at once, is accepted once); a
//! recovery code is spent by setting its `use_time` where it is NULL.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::entities::{recovery_codes, totp_credentials};
use crate::domain::UserId;

/// Why a second-factor operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TwoFactorStoreError {
    /// The user already has a confirmed TOTP credential.
    #[error("two-factor authentication is already on")]
    AlreadyEnabled,
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The second-factor repository.
#[derive(Clone)]
pub struct TwoFactorStore {
    db: DatabaseConnection,
}

impl TwoFactorStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// `user`'s TOTP credential, pending or confirmed.
    pub async fn credential(&self, user: UserId) -> Result<Option<totp_credentials::Model>, TwoFactorStoreError> {
        Ok(totp_credentials::Entity::find_by_id(user.to_string()).one(&self.db).await?)
    }

    /// Whether `user` has confirmed two-factor authentication.
    pub async fn enabled(&self, user: UserId) -> Result<bool, TwoFactorStoreError> {
        Ok(self.credential(user).await?.is_some_and(|credential| credential.confirm_time.is_some()))
    }

    /// Starts (or restarts) enrolment with `secret`: stores it pending,
    /// replacing a pending one; fails with
    /// [`TwoFactorStoreError::AlreadyEnabled`] over a confirmed one (one
    /// statement: the upsert's update only applies to a pending row).
    pub async fn begin(&self, user: UserId, secret: String, now: i64) -> Result<(), TwoFactorStoreError> {
        let row = totp_credentials::ActiveModel {
            user_id: Set(user.to_string()),
            secret: Set(secret),
            create_time: Set(now),
            confirm_time: Set(None),
            last_step: Set(None),
        };
        let written = totp_credentials::Entity::insert(row)
            .on_conflict(
                OnConflict::column(totp_credentials::Column::UserId)
                    .update_columns([totp_credentials::Column::Secret, totp_credentials::Column::CreateTime])
                    .action_and_where(
                        Expr::col((totp_credentials::Entity, totp_credentials::Column::ConfirmTime)).is_null(),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        if written == 0 {
            return Err(TwoFactorStoreError::AlreadyEnabled);
        }
        Ok(())
    }

    /// Confirms `user`'s pending credential if its secret is still `secret`
    /// (a concurrent restart of enrolment replaced it otherwise), records
    /// `step` as used, and stores the recovery codes' digests, replacing any
    /// old ones: one transaction. Returns whether it confirmed.
    pub async fn confirm(
        &self,
        user: UserId,
        secret: &str,
        step: i64,
        code_digests: Vec<String>,
        now: i64,
    ) -> Result<bool, TwoFactorStoreError> {
        let txn = self.db.begin().await?;
        let confirmed = totp_credentials::Entity::update_many()
            .col_expr(totp_credentials::Column::ConfirmTime, Expr::value(now))
            .col_expr(totp_credentials::Column::LastStep, Expr::value(step))
            .filter(totp_credentials::Column::UserId.eq(user.to_string()))
            .filter(totp_credentials::Column::Secret.eq(secret))
            .filter(totp_credentials::Column::ConfirmTime.is_null())
            .exec(&txn)
            .await?;
        if confirmed.rows_affected != 1 {
            return Ok(false);
        }
        replace_codes(&txn, user, code_digests, now).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Accepts a code of `step` for `user`'s confirmed credential unless a
    /// code of that step or a later one was accepted before (a replay).
    /// Returns whether it was accepted.
    pub async fn accept_step(&self, user: UserId, step: i64) -> Result<bool, TwoFactorStoreError> {
        let accepted = totp_credentials::Entity::update_many()
            .col_expr(totp_credentials::Column::LastStep, Expr::value(step))
            .filter(totp_credentials::Column::UserId.eq(user.to_string()))
            .filter(totp_credentials::Column::ConfirmTime.is_not_null())
            .filter(totp_credentials::Column::LastStep.is_null().or(totp_credentials::Column::LastStep.lt(step)))
            .exec(&self.db)
            .await?;
        Ok(accepted.rows_affected == 1)
    }

    /// Spends `user`'s unused recovery code with digest `digest`; false if
    /// there is none (wrong, or used already).
    pub async fn use_recovery_code(&self, user: UserId, digest: &str, now: i64) -> Result<bool, TwoFactorStoreError> {
        let used = recovery_codes::Entity::update_many()
            .col_expr(recovery_codes::Column::UseTime, Expr::value(now))
            .filter(recovery_codes::Column::UserId.eq(user.to_string()))
            .filter(recovery_codes::Column::CodeHash.eq(digest))
            .filter(recovery_codes::Column::UseTime.is_null())
            .exec(&self.db)
            .await?;
        Ok(used.rows_affected == 1)
    }

    /// How many of `user`'s recovery codes are unused.
    pub async fn unused_recovery_codes(&self, user: UserId) -> Result<u64, TwoFactorStoreError> {
        Ok(recovery_codes::Entity::find()
            .filter(recovery_codes::Column::UserId.eq(user.to_string()))
            .filter(recovery_codes::Column::UseTime.is_null())
            .count(&self.db)
            .await?)
    }

    /// Replaces all of `user`'s recovery codes with new digests.
    pub async fn replace_recovery_codes(
        &self,
        user: UserId,
        code_digests: Vec<String>,
        now: i64,
    ) -> Result<(), TwoFactorStoreError> {
        let txn = self.db.begin().await?;
        replace_codes(&txn, user, code_digests, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Turns two-factor authentication off for `user`: the credential and
    /// the recovery codes go, in one transaction. Returns whether there was
    /// a credential.
    pub async fn disable(&self, user: UserId) -> Result<bool, TwoFactorStoreError> {
        let txn = self.db.begin().await?;
        recovery_codes::Entity::delete_many()
            .filter(recovery_codes::Column::UserId.eq(user.to_string()))
            .exec(&txn)
            .await?;
        let deleted = totp_credentials::Entity::delete_many()
            .filter(totp_credentials::Column::UserId.eq(user.to_string()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(deleted.rows_affected == 1)
    }
}

async fn replace_codes(
    txn: &sea_orm::DatabaseTransaction,
    user: UserId,
    code_digests: Vec<String>,
    now: i64,
) -> Result<(), DbErr> {
    recovery_codes::Entity::delete_many().filter(recovery_codes::Column::UserId.eq(user.to_string())).exec(txn).await?;
    let rows = code_digests.into_iter().map(|digest| recovery_codes::ActiveModel {
        user_id: Set(user.to_string()),
        code_hash: Set(digest),
        create_time: Set(now),
        use_time: Set(None),
    });
    recovery_codes::Entity::insert_many(rows).exec_without_returning(txn).await?;
    Ok(())
}
