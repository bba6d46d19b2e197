//! Email: each user's delivery per notification kind, and the outbox.
//!
//! [`queue`] adds a notification to `email_outbox` inside the transaction
//! that makes it ([`super::notifications::deliver`]), so a committed
//! notification is always mailed or deliberately dropped, never lost. The
//! sender ([`crate::email`]) claims due rows for a lease
//! ([`EmailStore::claim_due`]): on PostgreSQL the claim's inner `SELECT`
//! takes `FOR UPDATE SKIP LOCKED`, so two replicas never take the same row,
//! and a lease that runs out (a sender that died mid-send) makes the row
//! claimable again: at least once, and in practice once. The preference is
//! read when the row is claimed, so a change applies to mail not yet sent.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryResult, sea_query::OnConflict,
};

use super::{
    entities::{email_outbox, email_preferences, invitation_emails},
    notifications::{NotificationKind, Sql},
};
use crate::domain::{UserId, time::Micros};

/// How a user wants one kind of notification emailed
/// (`tasktracker.v1.EmailDelivery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailDelivery {
    Immediate,
    Digest,
    Off,
}

impl EmailDelivery {
    pub fn stored(self) -> i16 {
        match self {
            Self::Immediate => 1,
            Self::Digest => 2,
            Self::Off => 3,
        }
    }

    pub fn from_stored(stored: i16) -> Option<Self> {
        [Self::Immediate, Self::Digest, Self::Off].into_iter().find(|delivery| delivery.stored() == stored)
    }

    /// Until a user chooses: what is about them personally (assigned,
    /// mentioned) and a webhook of theirs paused at once, the rest in the
    /// digest.
    pub fn default_for(kind: NotificationKind) -> Self {
        match kind {
            NotificationKind::Assigned | NotificationKind::Mentioned | NotificationKind::WebhookPaused => {
                Self::Immediate
            }
            NotificationKind::Commented
            | NotificationKind::StateChanged
            | NotificationKind::Unblocked
            | NotificationKind::DueSoon
            | NotificationKind::DueReached => Self::Digest,
        }
    }
}

/// A user's delivery for every kind, defaults included.
pub type Preferences = BTreeMap<NotificationKind, EmailDelivery>;

/// Where an outbox row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Sent,
    /// Given up: a permanent refusal, or too many attempts.
    Failed,
    /// Not mailed: email off for the kind, or the user left the project.
    Dropped,
}

impl OutboxState {
    pub fn stored(self) -> i16 {
        match self {
            Self::Pending => 0,
            Self::Sent => 1,
            Self::Failed => 2,
            Self::Dropped => 3,
        }
    }
}

/// Queues notification `seq` of `user` for email; call it in the
/// transaction that makes the notification.
pub(super) async fn queue(
    txn: &impl ConnectionTrait,
    user: &str,
    seq: i64,
    kind: NotificationKind,
    now: Micros,
) -> Result<(), DbErr> {
    let row = email_outbox::Model {
        user_id: user.to_owned(),
        seq,
        kind: kind.stored(),
        state: OutboxState::Pending.stored(),
        attempts: 0,
        next_attempt_time: now,
        lease_until: None,
        last_error: None,
        create_time: now,
        finish_time: None,
    };
    email_outbox::Entity::insert(email_outbox::ActiveModel::from(row)).exec_without_returning(txn).await?;
    Ok(())
}

/// The shortest time between two emails of one invitation: renewing an
/// invitation mails it again, but not more often than this.
pub const INVITATION_RESEND_GAP: Micros = crate::domain::time::seconds(3_600);

/// Queues invitation `invitation` for email; call it in the transaction
/// that makes or renews the invitation. A mail already waiting stays as it
/// is; one sent less than [`INVITATION_RESEND_GAP`] ago is not sent again.
pub(super) async fn queue_invitation(txn: &impl ConnectionTrait, invitation: &str, now: Micros) -> Result<(), DbErr> {
    let pending = OutboxState::Pending.stored();
    let mut sql = Sql::new(txn.get_database_backend(), "");
    sql.push(
        r#"INSERT INTO "invitation_emails" ("invitation_id", "state", "attempts", "next_attempt_time", "create_time")
           VALUES ({}"#,
        invitation.to_owned(),
    )
    .push(", {}, 0", pending)
    .push(", {}", now)
    .push(", {})", now)
    .push(r#" ON CONFLICT ("invitation_id") DO UPDATE SET "state" = {}"#, pending)
    .raw(
        r#", "attempts" = 0, "next_attempt_time" = "excluded"."next_attempt_time", "lease_until" = NULL,
           "last_error" = NULL, "create_time" = "excluded"."create_time", "finish_time" = NULL"#,
    )
    .push(r#" WHERE "invitation_emails"."state" <> {}"#, pending)
    .push(
        r#" AND ("invitation_emails"."finish_time" IS NULL OR "invitation_emails"."finish_time" < {})"#,
        now - INVITATION_RESEND_GAP,
    );
    txn.execute_raw(sql.build()).await?;
    Ok(())
}

/// A claimed invitation email with what it shows; `to` is empty when the
/// invitation names a user who no longer exists.
#[derive(Debug, Clone)]
pub struct InvitationMail {
    pub invitation_id: String,
    pub attempts: i32,
    /// Still pending and not expired: else it is not mailed.
    pub pending: bool,
    pub to: String,
    pub project_title: String,
    pub inviter_display_name: String,
    pub role: i16,
    pub expire_time: Micros,
}

/// An outbox row a sender holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub user: String,
    pub seq: i64,
    pub kind: Option<NotificationKind>,
    pub attempts: i32,
    pub create_time: Micros,
}

/// A claimed notification with what its email shows.
#[derive(Debug, Clone)]
pub struct MailItem {
    pub seq: i64,
    pub kind: NotificationKind,
    pub project_id: String,
    pub project_title: String,
    pub task_id: String,
    pub task_title: String,
    pub actor_display_name: String,
    pub summary: String,
    pub create_time: Micros,
}

/// Who an email goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub user: UserId,
    pub email: String,
    pub display_name: String,
}

/// The outbox at a glance, for the metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backlog {
    /// Pending rows due now (not waiting for a digest or a retry).
    pub due: i64,
    /// When the oldest of them fell due.
    pub oldest_due_time: Option<Micros>,
}

/// The email repository.
#[derive(Clone)]
pub struct EmailStore {
    db: DatabaseConnection,
}

const RETURNING: &str = r#" RETURNING "user_id", "seq", "kind", "attempts", "create_time""#;

fn claimed_of(row: &QueryResult) -> Result<Claimed, DbErr> {
    Ok(Claimed {
        user: row.try_get("", "user_id")?,
        seq: row.try_get("", "seq")?,
        kind: NotificationKind::from_stored(row.try_get("", "kind")?),
        attempts: row.try_get("", "attempts")?,
        create_time: row.try_get("", "create_time")?,
    })
}

impl EmailStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// `user`'s delivery for every kind.
    pub async fn preferences(&self, user: UserId) -> Result<Preferences, DbErr> {
        let rows = email_preferences::Entity::find()
            .filter(email_preferences::Column::UserId.eq(user.to_string()))
            .all(&self.db)
            .await?;
        let mut preferences: Preferences =
            NotificationKind::ALL.into_iter().map(|kind| (kind, EmailDelivery::default_for(kind))).collect();
        for row in rows {
            if let (Some(kind), Some(delivery)) =
                (NotificationKind::from_stored(row.kind), EmailDelivery::from_stored(row.delivery))
            {
                preferences.insert(kind, delivery);
            }
        }
        Ok(preferences)
    }

    /// Sets `user`'s delivery of each listed kind; `None` goes back to the
    /// default.
    pub async fn set_preferences(
        &self,
        user: UserId,
        changes: &[(NotificationKind, Option<EmailDelivery>)],
        now: Micros,
    ) -> Result<(), DbErr> {
        for (kind, delivery) in changes {
            let Some(delivery) = delivery else {
                email_preferences::Entity::delete_by_id((user.to_string(), kind.stored())).exec(&self.db).await?;
                continue;
            };
            let row = email_preferences::ActiveModel {
                user_id: Set(user.to_string()),
                kind: Set(kind.stored()),
                delivery: Set(delivery.stored()),
                update_time: Set(now),
            };
            email_preferences::Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([email_preferences::Column::UserId, email_preferences::Column::Kind])
                        .update_columns([email_preferences::Column::Delivery, email_preferences::Column::UpdateTime])
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await?;
        }
        Ok(())
    }

    /// Claims up to `limit` pending rows due at `now` until `lease_until`,
    /// oldest due first.
    #[tracing::instrument(name = "db.email.claim_due", skip_all, fields(otel.kind = "client"))]
    pub async fn claim_due(&self, now: Micros, lease_until: Micros, limit: u64) -> Result<Vec<Claimed>, DbErr> {
        let backend = self.db.get_database_backend();
        let mut sql = Sql::new(backend, "");
        sql.push(r#"UPDATE "email_outbox" SET "lease_until" = {}"#, lease_until)
            .push(
                r#" WHERE ("user_id", "seq") IN (SELECT "user_id", "seq" FROM "email_outbox"
                    WHERE "state" = {}"#,
                OutboxState::Pending.stored(),
            )
            .push(r#" AND "next_attempt_time" <= {}"#, now)
            .push(r#" AND ("lease_until" IS NULL OR "lease_until" < {})"#, now)
            .push(r#" ORDER BY "next_attempt_time" LIMIT {}"#, i64::try_from(limit).unwrap_or(i64::MAX));
        if backend == DbBackend::Postgres {
            sql.raw(" FOR UPDATE SKIP LOCKED");
        }
        sql.raw(")").raw(RETURNING);
        let rows = self.db.query_all_raw(sql.build()).await?;
        rows.iter().map(claimed_of).collect()
    }

    /// Claims up to `limit` other pending rows of `user`'s of `kinds` that
    /// nobody holds, due or not, oldest first (a digest takes them all).
    pub async fn claim_user_kinds(
        &self,
        user: &str,
        kinds: &[NotificationKind],
        now: Micros,
        lease_until: Micros,
        limit: u64,
    ) -> Result<Vec<Claimed>, DbErr> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.db.get_database_backend();
        let mut sql = Sql::new(backend, "");
        sql.push(r#"UPDATE "email_outbox" SET "lease_until" = {}"#, lease_until)
            .push(
                r#" WHERE ("user_id", "seq") IN (SELECT "user_id", "seq" FROM "email_outbox" WHERE "user_id" = {}"#,
                user,
            )
            .push(r#" AND "state" = {}"#, OutboxState::Pending.stored())
            .push(r#" AND ("lease_until" IS NULL OR "lease_until" < {})"#, now)
            .raw(r#" AND "kind" IN ("#);
        for (index, kind) in kinds.iter().enumerate() {
            sql.push(if index == 0 { "{}" } else { ", {}" }, kind.stored());
        }
        sql.push(r#") ORDER BY "seq" LIMIT {}"#, i64::try_from(limit).unwrap_or(i64::MAX));
        if backend == DbBackend::Postgres {
            sql.raw(" FOR UPDATE SKIP LOCKED");
        }
        sql.raw(")").raw(RETURNING);
        let rows = self.db.query_all_raw(sql.build()).await?;
        rows.iter().map(claimed_of).collect()
    }

    /// `user` and their notifications `seqs` as the emails show them; a
    /// notification of a project they have left is not returned.
    pub async fn mail_items(&self, user: &str, seqs: &[i64]) -> Result<(Option<Recipient>, Vec<MailItem>), DbErr> {
        let recipient = super::entities::users::Entity::find_by_id(user.to_owned()).one(&self.db).await?.map(|row| {
            Recipient { user: UserId::from_stored(&row.id), email: row.email, display_name: row.display_name }
        });
        if seqs.is_empty() {
            return Ok((recipient, Vec::new()));
        }
        let mut sql = Sql::new(
            self.db.get_database_backend(),
            r#"SELECT "n"."seq", "n"."kind", "n"."project_id", "p"."title" AS "project_title", "n"."task_id",
                      "n"."title", "n"."summary", "n"."create_time", "a"."display_name" AS "actor_display_name"
               FROM "notifications" AS "n"
               JOIN "memberships" AS "m" ON "m"."project_id" = "n"."project_id" AND "m"."user_id" = "n"."user_id"
               JOIN "projects" AS "p" ON "p"."id" = "n"."project_id"
               LEFT JOIN "users" AS "a" ON "a"."id" = "n"."actor_id""#,
        );
        sql.push(r#" WHERE "n"."user_id" = {} AND "n"."seq" IN ("#, user.to_owned());
        for (index, seq) in seqs.iter().enumerate() {
            sql.push(if index == 0 { "{}" } else { ", {}" }, *seq);
        }
        sql.raw(r#") ORDER BY "n"."seq""#);
        let rows = self.db.query_all_raw(sql.build()).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(kind) = NotificationKind::from_stored(row.try_get("", "kind")?) else { continue };
            items.push(MailItem {
                seq: row.try_get("", "seq")?,
                kind,
                project_id: row.try_get("", "project_id")?,
                project_title: row.try_get("", "project_title")?,
                task_id: row.try_get("", "task_id")?,
                task_title: row.try_get("", "title")?,
                actor_display_name: row.try_get::<Option<String>>("", "actor_display_name")?.unwrap_or_default(),
                summary: row.try_get("", "summary")?,
                create_time: row.try_get("", "create_time")?,
            });
        }
        Ok((recipient, items))
    }

    fn rows_of(user: &str, seqs: &[i64]) -> sea_orm::UpdateMany<email_outbox::Entity> {
        email_outbox::Entity::update_many()
            .filter(email_outbox::Column::UserId.eq(user.to_owned()))
            .filter(email_outbox::Column::Seq.is_in(seqs.iter().copied()))
    }

    /// Ends rows: sent, failed for good, or dropped.
    pub async fn finish(
        &self,
        user: &str,
        seqs: &[i64],
        state: OutboxState,
        error: Option<&str>,
        now: Micros,
    ) -> Result<(), DbErr> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        if seqs.is_empty() {
            return Ok(());
        }
        let mut update = Self::rows_of(user, seqs)
            .col_expr(email_outbox::Column::State, Expr::value(state.stored()))
            .col_expr(email_outbox::Column::FinishTime, Expr::value(now))
            .col_expr(email_outbox::Column::LeaseUntil, Expr::value(None::<i64>));
        if state != OutboxState::Dropped {
            update = update
                .col_expr(email_outbox::Column::Attempts, Expr::col(email_outbox::Column::Attempts).add(1))
                .col_expr(email_outbox::Column::LastError, Expr::value(error.map(str::to_owned)));
        }
        update.exec(&self.db).await?;
        Ok(())
    }

    /// A failed attempt to be retried at `next_attempt_time`.
    pub async fn retry(&self, user: &str, seqs: &[i64], error: &str, next_attempt_time: Micros) -> Result<(), DbErr> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        if seqs.is_empty() {
            return Ok(());
        }
        Self::rows_of(user, seqs)
            .col_expr(email_outbox::Column::Attempts, Expr::col(email_outbox::Column::Attempts).add(1))
            .col_expr(email_outbox::Column::LastError, Expr::value(error.to_owned()))
            .col_expr(email_outbox::Column::NextAttemptTime, Expr::value(next_attempt_time))
            .col_expr(email_outbox::Column::LeaseUntil, Expr::value(None::<i64>))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Releases a row to wait until `until` (a digest not yet due).
    pub async fn defer(&self, user: &str, seqs: &[i64], until: Micros) -> Result<(), DbErr> {
        use sea_orm::sea_query::Expr;
        if seqs.is_empty() {
            return Ok(());
        }
        Self::rows_of(user, seqs)
            .col_expr(email_outbox::Column::NextAttemptTime, Expr::value(until))
            .col_expr(email_outbox::Column::LeaseUntil, Expr::value(None::<i64>))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Claims up to `limit` invitation emails due at `now` until
    /// `lease_until`, oldest due first, with what each shows.
    #[tracing::instrument(name = "db.email.claim_invitations", skip_all, fields(otel.kind = "client"))]
    pub async fn claim_invitations(
        &self,
        now: Micros,
        lease_until: Micros,
        limit: u64,
    ) -> Result<Vec<InvitationMail>, DbErr> {
        let backend = self.db.get_database_backend();
        let mut sql = Sql::new(backend, "");
        sql.push(r#"UPDATE "invitation_emails" SET "lease_until" = {}"#, lease_until)
            .push(
                r#" WHERE "invitation_id" IN (SELECT "invitation_id" FROM "invitation_emails" WHERE "state" = {}"#,
                OutboxState::Pending.stored(),
            )
            .push(r#" AND "next_attempt_time" <= {}"#, now)
            .push(r#" AND ("lease_until" IS NULL OR "lease_until" < {})"#, now)
            .push(r#" ORDER BY "next_attempt_time" LIMIT {}"#, i64::try_from(limit).unwrap_or(i64::MAX));
        if backend == DbBackend::Postgres {
            sql.raw(" FOR UPDATE SKIP LOCKED");
        }
        sql.raw(r#") RETURNING "invitation_id", "attempts""#);
        let claimed = self.db.query_all_raw(sql.build()).await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // What the mails show, in one statement: an invitation gone with
        // its project (the outbox row cascades) is simply not found.
        let mut attempts = HashMap::with_capacity(claimed.len());
        let mut sql = Sql::new(
            backend,
            r#"SELECT "i"."id", "i"."role", "i"."expire_time", "i"."pending_key", "i"."email",
                      "u"."email" AS "invitee_email", "p"."title" AS "project_title",
                      "a"."display_name" AS "inviter_display_name"
               FROM "invitations" AS "i"
               JOIN "projects" AS "p" ON "p"."id" = "i"."project_id"
               LEFT JOIN "users" AS "a" ON "a"."id" = "i"."inviter_id"
               LEFT JOIN "users" AS "u" ON "u"."id" = "i"."invitee_id"
               WHERE "i"."id" IN ("#,
        );
        for (index, row) in claimed.iter().enumerate() {
            let id: String = row.try_get("", "invitation_id")?;
            attempts.insert(id.clone(), row.try_get::<i32>("", "attempts")?);
            sql.push(if index == 0 { "{}" } else { ", {}" }, id);
        }
        sql.raw(")");
        let rows = self.db.query_all_raw(sql.build()).await?;
        rows.iter()
            .map(|row| {
                let invitation_id: String = row.try_get("", "id")?;
                let expire_time: Micros = row.try_get("", "expire_time")?;
                let invitee_email: Option<String> = row.try_get("", "invitee_email")?;
                Ok(InvitationMail {
                    attempts: attempts.get(&invitation_id).copied().unwrap_or(0),
                    invitation_id,
                    pending: row.try_get::<Option<String>>("", "pending_key")?.is_some() && expire_time > now,
                    // Addressed to a user: their own address (empty if they are gone).
                    to: invitee_email.unwrap_or(row.try_get("", "email")?),
                    project_title: row.try_get("", "project_title")?,
                    inviter_display_name: row
                        .try_get::<Option<String>>("", "inviter_display_name")?
                        .unwrap_or_default(),
                    role: row.try_get("", "role")?,
                    expire_time,
                })
            })
            .collect()
    }

    fn invitation_row(invitation: &str) -> sea_orm::UpdateMany<invitation_emails::Entity> {
        invitation_emails::Entity::update_many()
            .filter(invitation_emails::Column::InvitationId.eq(invitation.to_owned()))
    }

    /// Ends an invitation email: sent, failed for good, or dropped.
    pub async fn finish_invitation(
        &self,
        invitation: &str,
        state: OutboxState,
        error: Option<&str>,
        now: Micros,
    ) -> Result<(), DbErr> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        let mut update = Self::invitation_row(invitation)
            .col_expr(invitation_emails::Column::State, Expr::value(state.stored()))
            .col_expr(invitation_emails::Column::FinishTime, Expr::value(now))
            .col_expr(invitation_emails::Column::LeaseUntil, Expr::value(None::<i64>));
        if state != OutboxState::Dropped {
            update = update
                .col_expr(invitation_emails::Column::Attempts, Expr::col(invitation_emails::Column::Attempts).add(1))
                .col_expr(invitation_emails::Column::LastError, Expr::value(error.map(str::to_owned)));
        }
        update.exec(&self.db).await?;
        Ok(())
    }

    /// A failed attempt at an invitation email, retried at `next_attempt_time`.
    pub async fn retry_invitation(
        &self,
        invitation: &str,
        error: &str,
        next_attempt_time: Micros,
    ) -> Result<(), DbErr> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        Self::invitation_row(invitation)
            .col_expr(invitation_emails::Column::Attempts, Expr::col(invitation_emails::Column::Attempts).add(1))
            .col_expr(invitation_emails::Column::LastError, Expr::value(error.to_owned()))
            .col_expr(invitation_emails::Column::NextAttemptTime, Expr::value(next_attempt_time))
            .col_expr(invitation_emails::Column::LeaseUntil, Expr::value(None::<i64>))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Pending rows due at `now`, and how long the oldest has waited.
    pub async fn backlog(&self, now: Micros) -> Result<Backlog, DbErr> {
        let mut sql = Sql::new(self.db.get_database_backend(), "");
        // Both outboxes: notifications and invitations.
        sql.push(
            r#"SELECT COUNT(*) AS "due", MIN("next_attempt_time") AS "oldest" FROM (
                 SELECT "next_attempt_time" FROM "email_outbox" WHERE "state" = {}"#,
            OutboxState::Pending.stored(),
        )
        .push(r#" AND "next_attempt_time" <= {}"#, now)
        .push(
            r#" UNION ALL SELECT "next_attempt_time" FROM "invitation_emails" WHERE "state" = {}"#,
            OutboxState::Pending.stored(),
        )
        .push(r#" AND "next_attempt_time" <= {}) AS "due_rows""#, now);
        let Some(row) = self.db.query_one_raw(sql.build()).await? else { return Ok(Backlog::default()) };
        Ok(Backlog { due: row.try_get("", "due")?, oldest_due_time: row.try_get("", "oldest")? })
    }

    /// Deletes rows finished before `before`; returns how many.
    pub async fn prune(&self, before: Micros) -> Result<u64, DbErr> {
        let deleted = email_outbox::Entity::delete_many()
            .filter(email_outbox::Column::State.ne(OutboxState::Pending.stored()))
            .filter(email_outbox::Column::FinishTime.lt(before))
            .exec(&self.db)
            .await?;
        let invitations = invitation_emails::Entity::delete_many()
            .filter(invitation_emails::Column::State.ne(OutboxState::Pending.stored()))
            .filter(invitation_emails::Column::FinishTime.lt(before))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected + invitations.rows_affected)
    }
}
