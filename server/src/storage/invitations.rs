//! Invitations to projects.
//!
//! An invitation names its invitee by email (or user id) and is made
//! without looking either up, so inviting reveals nothing about accounts.
//! While pending, its `pending_key` is the invitee; a unique index on
//! `(project_id, pending_key)` keeps one pending invitation per invitee, and
//! answering it (accept, decline, revoke) clears the key.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
    TransactionError, TransactionTrait,
    sea_query::{Expr, OnConflict},
};

use super::entities::{invitations, memberships, projects, users};
use crate::{
    auth::Role,
    domain::{Email, InvitationId, ProjectId, UserId, page::PageRequest, time::Micros},
};

/// How long an invitation waits for its invitee: 7 days.
pub const INVITATION_LIFETIME: Micros = crate::domain::time::seconds(7 * 86_400);

/// Stored states (the numbers of `tasktracker.v1.InvitationState`).
pub mod state {
    pub const PENDING: i16 = 1;
    pub const ACCEPTED: i16 = 2;
    pub const DECLINED: i16 = 3;
    pub const REVOKED: i16 = 4;
    pub const EXPIRED: i16 = 5;
}

/// Why an invitation operation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvitationStoreError {
    #[error(transparent)]
    Database(#[from] DbErr),
    /// No such invitation in the project.
    #[error("invitation not found")]
    NotFound,
    /// It was answered or has expired (its current row).
    #[error("the invitation is no longer pending")]
    NotPending(Box<invitations::Model>),
}

impl From<TransactionError<InvitationStoreError>> for InvitationStoreError {
    fn from(error: TransactionError<InvitationStoreError>) -> Self {
        match error {
            TransactionError::Connection(error) => error.into(),
            TransactionError::Transaction(error) => error,
        }
    }
}

/// Who an invitation is for.
#[derive(Debug, Clone)]
pub enum Invitee {
    Email(Email),
    User(UserId),
}

impl Invitee {
    /// The invitation's `pending_key` while it waits for this invitee.
    pub fn key(&self) -> String {
        match self {
            Self::Email(email) => email.as_str().to_owned(),
            Self::User(user) => user.name(),
        }
    }
}

/// The keys invitations addressed to a signed-in user carry: their
/// account's email and their user name.
pub fn keys_of(user: &users::Model) -> [String; 2] {
    [user.email.clone(), UserId::from_stored(&user.id).name()]
}

/// Whether `invitation` is addressed to `user`, pending or not.
pub fn addressed_to(invitation: &invitations::Model, user: &users::Model) -> bool {
    (!invitation.email.is_empty() && invitation.email == user.email)
        || invitation.invitee_id.as_deref() == Some(user.id.as_str())
}

/// An invitation to make.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub project: ProjectId,
    pub invitee: Invitee,
    pub role: Role,
    pub inviter: UserId,
    /// Email the invitee (in the same transaction: see
    /// [`super::email::queue_invitation`]); false when email is off.
    pub mail: bool,
}

/// An invitation with what its invitee sees of the project and inviter.
#[derive(Debug, Clone)]
pub struct ReceivedInvitation {
    pub invitation: invitations::Model,
    pub project_title: String,
    pub inviter_display_name: String,
}

fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The invitations repository.
#[derive(Clone)]
pub struct InvitationStore {
    db: DatabaseConnection,
}

impl InvitationStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Invites `new.invitee` at `now`: the pending invitation it already
    /// has in the project, with the new role, inviter and a renewed expiry;
    /// else a new one (an expired one is marked EXPIRED first). Concurrent
    /// invitations of the same invitee end with one.
    #[tracing::instrument(name = "db.invitations.invite", skip_all, fields(otel.kind = "client"))]
    pub async fn invite(&self, new: NewInvitation, now: Micros) -> Result<invitations::Model, InvitationStoreError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let new = new.clone();
            let result = self.db.transaction::<_, invitations::Model, InvitationStoreError>(|txn| {
                Box::pin(async move {
                    let key = new.invitee.key();
                    let existing = invitations::Entity::find()
                        .filter(invitations::Column::ProjectId.eq(new.project.to_string()))
                        .filter(invitations::Column::PendingKey.eq(key.clone()))
                        .one(txn)
                        .await?;
                    let expire_time = now + INVITATION_LIFETIME;
                    if let Some(existing) = existing {
                        if existing.expire_time > now {
                            let active = invitations::ActiveModel {
                                id: Set(existing.id.clone()),
                                role: Set(new.role.stored()),
                                inviter_id: Set(new.inviter.to_string()),
                                expire_time: Set(expire_time),
                                ..Default::default()
                            };
                            let renewed = invitations::Entity::update(active).exec(txn).await?;
                            if new.mail {
                                super::email::queue_invitation(txn, &renewed.id, now).await?;
                            }
                            return Ok(renewed);
                        }
                        let expired = invitations::ActiveModel {
                            id: Set(existing.id.clone()),
                            state: Set(state::EXPIRED),
                            pending_key: Set(None),
                            resolve_time: Set(Some(existing.expire_time)),
                            ..Default::default()
                        };
                        invitations::Entity::update(expired).exec(txn).await?;
                    }
                    let (email, invitee_id) = match &new.invitee {
                        Invitee::Email(email) => (email.as_str().to_owned(), None),
                        Invitee::User(user) => (String::new(), Some(user.to_string())),
                    };
                    let row = invitations::Model {
                        id: InvitationId::generate().to_string(),
                        project_id: new.project.to_string(),
                        email,
                        invitee_id,
                        role: new.role.stored(),
                        inviter_id: new.inviter.to_string(),
                        state: state::PENDING,
                        pending_key: Some(key),
                        create_time: now,
                        expire_time,
                        resolve_time: None,
                    };
                    invitations::Entity::insert(invitations::ActiveModel::from(row.clone()))
                        .exec_without_returning(txn)
                        .await?;
                    if new.mail {
                        super::email::queue_invitation(txn, &row.id, now).await?;
                    }
                    Ok(row)
                })
            });
            match result.await {
                // Another call invited the same invitee at the same moment:
                // the second attempt finds its invitation.
                Err(TransactionError::Transaction(InvitationStoreError::Database(error)))
                    if attempts < 3 && is_unique_violation(&error) => {}
                result => return result.map_err(Into::into),
            }
        }
    }

    /// A page of `project`'s pending invitations not expired at `now`,
    /// newest first.
    #[tracing::instrument(name = "db.invitations.list_pending", skip_all, fields(otel.kind = "client"))]
    pub async fn list_pending(
        &self,
        project: ProjectId,
        page: &PageRequest,
        now: Micros,
    ) -> Result<Vec<invitations::Model>, InvitationStoreError> {
        let mut query = invitations::Entity::find()
            .filter(invitations::Column::ProjectId.eq(project.to_string()))
            .filter(invitations::Column::PendingKey.is_not_null())
            .filter(invitations::Column::ExpireTime.gt(now));
        if let Some(after) = page.after_id() {
            query = query.filter(invitations::Column::Id.lt(after));
        }
        Ok(query.order_by_desc(invitations::Column::Id).limit(page.fetch()).all(&self.db).await?)
    }

    /// A page of the pending invitations, not expired at `now`, addressed
    /// to `keys` (see [`keys_of`]), newest first, with their projects'
    /// titles and inviters' names.
    #[tracing::instrument(name = "db.invitations.list_received", skip_all, fields(otel.kind = "client"))]
    pub async fn list_received(
        &self,
        keys: &[String],
        page: &PageRequest,
        now: Micros,
    ) -> Result<Vec<ReceivedInvitation>, InvitationStoreError> {
        let mut query = invitations::Entity::find()
            .filter(invitations::Column::PendingKey.is_in(keys.iter().cloned()))
            .filter(invitations::Column::ExpireTime.gt(now));
        if let Some(after) = page.after_id() {
            query = query.filter(invitations::Column::Id.lt(after));
        }
        let rows = query.order_by_desc(invitations::Column::Id).limit(page.fetch()).all(&self.db).await?;
        let projects = projects::Entity::find()
            .filter(projects::Column::Id.is_in(rows.iter().map(|row| row.project_id.clone())))
            .all(&self.db)
            .await?;
        let inviters = users::Entity::find()
            .filter(users::Column::Id.is_in(rows.iter().map(|row| row.inviter_id.clone())))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|invitation| ReceivedInvitation {
                project_title: projects
                    .iter()
                    .find(|project| project.id == invitation.project_id)
                    .map(|project| project.title.clone())
                    .unwrap_or_default(),
                inviter_display_name: inviters
                    .iter()
                    .find(|user| user.id == invitation.inviter_id)
                    .map(|user| user.display_name.clone())
                    .unwrap_or_default(),
                invitation,
            })
            .collect())
    }

    /// Invitation `id` of `project`, answered or not.
    #[tracing::instrument(name = "db.invitations.get", skip_all, fields(otel.kind = "client"))]
    pub async fn get(
        &self,
        project: ProjectId,
        id: InvitationId,
    ) -> Result<Option<invitations::Model>, InvitationStoreError> {
        Ok(invitations::Entity::find_by_id(id.to_string())
            .filter(invitations::Column::ProjectId.eq(project.to_string()))
            .one(&self.db)
            .await?)
    }

    /// Answers pending invitation `id` of `project` with `new_state`
    /// (DECLINED or REVOKED) at `now`, unless it was answered or expired
    /// meanwhile ([`InvitationStoreError::NotPending`]).
    #[tracing::instrument(name = "db.invitations.resolve", skip_all, fields(otel.kind = "client"))]
    pub async fn resolve(
        &self,
        project: ProjectId,
        id: InvitationId,
        new_state: i16,
        now: Micros,
    ) -> Result<invitations::Model, InvitationStoreError> {
        let updated = invitations::Entity::update_many()
            .col_expr(invitations::Column::State, Expr::value(new_state))
            .col_expr(invitations::Column::PendingKey, Expr::value(Option::<String>::None))
            .col_expr(invitations::Column::ResolveTime, Expr::value(now))
            .filter(invitations::Column::Id.eq(id.to_string()))
            .filter(invitations::Column::ProjectId.eq(project.to_string()))
            .filter(invitations::Column::PendingKey.is_not_null())
            .filter(invitations::Column::ExpireTime.gt(now))
            .exec(&self.db)
            .await?;
        let row = self.get(project, id).await?.ok_or(InvitationStoreError::NotFound)?;
        if updated.rows_affected == 1 { Ok(row) } else { Err(InvitationStoreError::NotPending(Box::new(row))) }
    }

    /// Accepts pending invitation `id` of `project` for `user` at `now`, in
    /// one transaction: the invitation becomes ACCEPTED and `user` a member
    /// with its role (a member already keeps theirs). Returns the
    /// invitation and the membership.
    #[tracing::instrument(name = "db.invitations.accept", skip_all, fields(otel.kind = "client"))]
    pub async fn accept(
        &self,
        project: ProjectId,
        id: InvitationId,
        user: UserId,
        now: Micros,
    ) -> Result<(invitations::Model, memberships::Model), InvitationStoreError> {
        let result = self
            .db
            .transaction::<_, _, InvitationStoreError>(|txn| {
                Box::pin(async move {
                    let updated = invitations::Entity::update_many()
                        .col_expr(invitations::Column::State, Expr::value(state::ACCEPTED))
                        .col_expr(invitations::Column::PendingKey, Expr::value(Option::<String>::None))
                        .col_expr(invitations::Column::ResolveTime, Expr::value(now))
                        .filter(invitations::Column::Id.eq(id.to_string()))
                        .filter(invitations::Column::ProjectId.eq(project.to_string()))
                        .filter(invitations::Column::PendingKey.is_not_null())
                        .filter(invitations::Column::ExpireTime.gt(now))
                        .exec(txn)
                        .await?;
                    let invitation = invitations::Entity::find_by_id(id.to_string())
                        .one(txn)
                        .await?
                        .ok_or(InvitationStoreError::NotFound)?;
                    if updated.rows_affected != 1 {
                        return Err(InvitationStoreError::NotPending(Box::new(invitation)));
                    }
                    let membership = memberships::ActiveModel {
                        project_id: Set(project.to_string()),
                        user_id: Set(user.to_string()),
                        role: Set(invitation.role),
                        create_time: Set(now),
                    };
                    memberships::Entity::insert(membership)
                        .on_conflict(
                            OnConflict::columns([memberships::Column::ProjectId, memberships::Column::UserId])
                                .do_nothing()
                                .to_owned(),
                        )
                        .exec_without_returning(txn)
                        .await?;
                    let membership = memberships::Entity::find_by_id((project.to_string(), user.to_string()))
                        .one(txn)
                        .await?
                        .ok_or(InvitationStoreError::NotFound)?;
                    Ok((invitation, membership))
                })
            })
            .await;
        Ok(result?)
    }
}
