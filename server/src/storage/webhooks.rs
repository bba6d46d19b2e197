//! Webhooks (`webhooks`) and their delivery outbox (`webhook_deliveries`,
//! `webhook_attempts`).
//!
//! A webhook follows its project's change feed: [`WebhookStore::enqueue`]
//! turns the events after its `feed_cursor` into delivery rows and moves
//! the cursor, in one transaction with the webhook's row locked, so two
//! replicas never queue an event twice. Deliveries are numbered per webhook;
//! only a webhook's lowest pending number may be sent
//! ([`WebhookStore::claim`]), so a receiver sees events in feed order and a
//! failing delivery holds back the ones after it instead of being skipped.
//!
//! A sender claims a delivery by leasing it (`lease_until`, `lease_token`)
//! in a short transaction (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so
//! replicas claiming at once take different rows), sends it with no
//! connection held, then records the attempt under the same token
//! ([`WebhookStore::record`]). A replica that dies mid-send leaves a lease
//! that lapses; another replica then sends the delivery again (at least
//! once: receivers deduplicate by event id).

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};
use serde_json::json;

use super::{
    entities::{task_activities, task_events, webhook_attempts, webhook_deliveries, webhooks},
    notifications::{self, InboxSignals, Made, Notice, NotificationKind, Sql},
};
use crate::{
    auth::Role,
    domain::{
        ProjectId, TaskId, UserId,
        time::{Micros, to_timestamp},
    },
};

/// Most webhooks a project has.
pub const MAX_WEBHOOKS: u64 = 20;
/// Events one ReplayWebhook call queues at most.
pub const REPLAY_LIMIT: u64 = 10_000;
/// Feed events read per statement while queueing.
const ENQUEUE_BATCH: u64 = 500;
/// A delivery waiting to be sent (`WebhookDeliveryOutcome`).
pub const PENDING: i16 = 1;
/// A delivery the receiver accepted.
pub const DELIVERED: i16 = 2;
/// Largest request body sent: a bigger event is sent without its field
/// values (`"truncated": true`), so a receiver still learns of it.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why a webhook operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookStoreError {
    #[error("the webhook changed meanwhile")]
    Stale,
    #[error("a project has at most {MAX_WEBHOOKS} webhooks")]
    TooMany,
    #[error("the cursor is older than the oldest event the feed keeps")]
    CursorExpired,
    #[error("the cursor is ahead of the project's feed")]
    CursorAhead,
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A delivery leased for sending, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery: webhook_deliveries::Model,
    pub url: String,
    pub secret: String,
    pub project_id: String,
    pub lease_token: String,
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub time: Micros,
    /// The HTTP status, 0 if none came.
    pub status_code: i32,
    /// Empty on success.
    pub error: String,
    pub latency_ms: i64,
    pub delivered: bool,
}

/// What recording an attempt led to.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// The lease was still ours (false: the webhook was deleted meanwhile).
    pub recorded: bool,
    /// The failure ended the retry window and paused the webhook.
    pub paused: bool,
    pub notified: Vec<Made>,
}

/// Pending deliveries of webhooks that are not paused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backlog {
    pub pending: i64,
    pub oldest_create_time: Option<Micros>,
}

/// The webhooks repository.
#[derive(Clone)]
pub struct WebhookStore {
    db: DatabaseConnection,
    inbox: InboxSignals,
}

/// The webhook event name of a feed event kind (`TaskEventType`).
pub fn event_type(kind: i16) -> &'static str {
    match kind {
        1 => "task.created",
        2 => "task.updated",
        3 => "task.deleted",
        4 => "task.undeleted",
        5 => "task.moved",
        _ => "task.changed",
    }
}

/// The id receivers deduplicate by: the same for every delivery of one event.
pub fn event_id(project_id: &str, seq: i64) -> String {
    format!("{project_id}.{seq}")
}

/// The event kinds `webhook` wants; empty means every kind.
pub fn wanted_kinds(webhook: &webhooks::Model) -> Vec<i16> {
    serde_json::from_str(&webhook.event_kinds).unwrap_or_default()
}

/// The request body of `event`: its id, cursor, type, task, actor, time
/// and field changes (from the history entry the same write recorded).
async fn body_of(txn: &impl ConnectionTrait, event: &task_events::Model) -> Result<String, DbErr> {
    let activity = task_activities::Entity::find()
        .filter(task_activities::Column::TaskId.eq(&event.task_id))
        .filter(task_activities::Column::Time.eq(event.time))
        .filter(task_activities::Column::Kind.eq(event.kind))
        .one(txn)
        .await?;
    let changes: serde_json::Value = activity
        .and_then(|activity| serde_json::from_str(&activity.changes).ok())
        .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
    let project = ProjectId::from_stored(&event.project_id);
    let mut body = json!({
        "id": event_id(&event.project_id, event.seq),
        "type": event_type(event.kind),
        "cursor": event.seq.to_string(),
        "project": format!("projects/{project}"),
        "task": format!("projects/{project}/tasks/{}", TaskId::from_stored(&event.task_id)),
        "actor": UserId::from_stored(&event.actor_id).name(),
        "time": to_timestamp(event.time).to_string(),
        "changes": changes,
    });
    let mut text = body.to_string();
    if text.len() > MAX_BODY_BYTES {
        body["changes"] = serde_json::Value::Array(Vec::new());
        body["truncated"] = serde_json::Value::Bool(true);
        text = body.to_string();
    }
    Ok(text)
}

/// A new pending delivery of `webhook` numbered `number`.
fn new_delivery(
    webhook_id: &str,
    number: i64,
    event: &task_events::Model,
    body: String,
    now: Micros,
) -> webhook_deliveries::Model {
    webhook_deliveries::Model {
        id: uuid::Uuid::now_v7().to_string(),
        webhook_id: webhook_id.to_owned(),
        number,
        event_seq: event.seq,
        task_id: event.task_id.clone(),
        kind: event.kind,
        body,
        outcome: PENDING,
        attempts: 0,
        status_code: 0,
        error: String::new(),
        latency_ms: 0,
        create_time: now,
        attempt_time: None,
        next_attempt_time: now,
        first_failure_time: None,
        lease_until: 0,
        lease_token: None,
        redelivery_of: None,
    }
}

/// Takes `count` delivery numbers of `webhook_id`; returns the first. The
/// update locks the webhook's row until commit, so numbers commit in order.
async fn take_numbers(txn: &impl ConnectionTrait, webhook_id: &str, count: i64) -> Result<Option<i64>, DbErr> {
    let backend = txn.get_database_backend();
    let mut sql = Sql::new(backend, r#"UPDATE "webhooks" SET "delivery_seq" = "delivery_seq" + "#);
    sql.push("{}", count).push(r#" WHERE "id" = {} RETURNING "delivery_seq""#, webhook_id.to_owned());
    let row = txn.query_one_raw(sql.build()).await?;
    let Some(row) = row else { return Ok(None) };
    let last: i64 = row.try_get("", "delivery_seq")?;
    Ok(Some(last - count + 1))
}

impl WebhookStore {
    pub fn new(db: DatabaseConnection, inbox: InboxSignals) -> Self {
        Self { db, inbox }
    }

    /// `project`'s webhooks, oldest first.
    pub async fn list(&self, project: ProjectId) -> Result<Vec<webhooks::Model>, WebhookStoreError> {
        Ok(webhooks::Entity::find()
            .filter(webhooks::Column::ProjectId.eq(project.to_string()))
            .order_by_asc(webhooks::Column::CreateTime)
            .order_by_asc(webhooks::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The webhook `id` of `project`.
    pub async fn get(&self, project: ProjectId, id: &str) -> Result<Option<webhooks::Model>, WebhookStoreError> {
        let query = webhooks::Entity::find_by_id(id).filter(webhooks::Column::ProjectId.eq(project.to_string()));
        Ok(query.one(&self.db).await?)
    }

    /// Adds `webhook`, following its project's feed from the latest event,
    /// unless the project has [`MAX_WEBHOOKS`] already.
    pub async fn insert(&self, mut webhook: webhooks::Model) -> Result<webhooks::Model, WebhookStoreError> {
        let txn = self.db.begin().await?;
        let count =
            webhooks::Entity::find().filter(webhooks::Column::ProjectId.eq(&webhook.project_id)).count(&txn).await?;
        if count >= MAX_WEBHOOKS {
            return Err(WebhookStoreError::TooMany);
        }
        let backend = txn.get_database_backend();
        let mut sql = Sql::new(backend, r#"SELECT "event_seq" FROM "projects" WHERE "id" = "#);
        sql.push("{}", webhook.project_id.clone());
        let row = txn.query_one_raw(sql.build()).await?.ok_or_else(|| DbErr::RecordNotFound("project".into()))?;
        webhook.feed_cursor = row.try_get("", "event_seq")?;
        webhooks::Entity::insert(webhooks::ActiveModel::from(webhook.clone())).exec_without_returning(&txn).await?;
        txn.commit().await?;
        Ok(webhook)
    }

    /// Stores `webhook`'s URL, kinds, secret and pause if its stored version
    /// is still `read_version`; bumps the version. Unpausing gives the
    /// pending deliveries a fresh retry window, starting now.
    pub async fn update(
        &self,
        mut webhook: webhooks::Model,
        read_version: i64,
        resumed: bool,
    ) -> Result<webhooks::Model, WebhookStoreError> {
        webhook.version = read_version + 1;
        let txn = self.db.begin().await?;
        let changed = webhooks::ActiveModel {
            url: Set(webhook.url.clone()),
            event_kinds: Set(webhook.event_kinds.clone()),
            secret: Set(webhook.secret.clone()),
            paused: Set(webhook.paused),
            pause_reason: Set(webhook.pause_reason.clone()),
            update_time: Set(webhook.update_time),
            version: Set(webhook.version),
            ..Default::default()
        };
        let updated = webhooks::Entity::update_many()
            .set(changed)
            .filter(webhooks::Column::Id.eq(&webhook.id))
            .filter(webhooks::Column::Version.eq(read_version))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(WebhookStoreError::Stale);
        }
        if resumed {
            webhook_deliveries::Entity::update_many()
                .col_expr(webhook_deliveries::Column::NextAttemptTime, Expr::value(webhook.update_time))
                .col_expr(webhook_deliveries::Column::FirstFailureTime, Expr::value(Option::<i64>::None))
                .filter(webhook_deliveries::Column::WebhookId.eq(&webhook.id))
                .filter(webhook_deliveries::Column::Outcome.eq(PENDING))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(webhook)
    }

    /// Deletes the webhook `id` (and its deliveries) if its stored version
    /// is still `read_version`.
    pub async fn delete(&self, id: &str, read_version: i64) -> Result<(), WebhookStoreError> {
        let deleted = webhooks::Entity::delete_many()
            .filter(webhooks::Column::Id.eq(id))
            .filter(webhooks::Column::Version.eq(read_version))
            .exec(&self.db)
            .await?;
        if deleted.rows_affected == 1 { Ok(()) } else { Err(WebhookStoreError::Stale) }
    }

    /// `webhook_id`'s deliveries numbered below `before` (all if `None`),
    /// newest first, at most `limit`.
    pub async fn deliveries(
        &self,
        webhook_id: &str,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<webhook_deliveries::Model>, WebhookStoreError> {
        let mut query = webhook_deliveries::Entity::find().filter(webhook_deliveries::Column::WebhookId.eq(webhook_id));
        if let Some(before) = before {
            query = query.filter(webhook_deliveries::Column::Number.lt(before));
        }
        Ok(query.order_by_desc(webhook_deliveries::Column::Number).limit(limit).all(&self.db).await?)
    }

    /// The delivery `id` of `webhook_id`.
    pub async fn delivery(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> Result<Option<webhook_deliveries::Model>, WebhookStoreError> {
        Ok(webhook_deliveries::Entity::find_by_id(id)
            .filter(webhook_deliveries::Column::WebhookId.eq(webhook_id))
            .one(&self.db)
            .await?)
    }

    /// Queues `original`'s event again, after the webhook's other deliveries.
    pub async fn redeliver(
        &self,
        original: &webhook_deliveries::Model,
        now: Micros,
    ) -> Result<webhook_deliveries::Model, WebhookStoreError> {
        let txn = self.db.begin().await?;
        let number = take_numbers(&txn, &original.webhook_id, 1).await?.ok_or(WebhookStoreError::Stale)?;
        let delivery = webhook_deliveries::Model {
            id: uuid::Uuid::now_v7().to_string(),
            number,
            outcome: PENDING,
            attempts: 0,
            status_code: 0,
            error: String::new(),
            latency_ms: 0,
            create_time: now,
            attempt_time: None,
            next_attempt_time: now,
            first_failure_time: None,
            lease_until: 0,
            lease_token: None,
            redelivery_of: Some(original.redelivery_of.clone().unwrap_or_else(|| original.id.clone())),
            ..original.clone()
        };
        webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel::from(delivery.clone()))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(delivery)
    }

    /// Queues the events of `webhook`'s project after `after` (of the kinds
    /// it wants, at most [`REPLAY_LIMIT`]) after its other deliveries.
    /// Returns how many were queued and the last event's seq.
    pub async fn replay(
        &self,
        webhook: &webhooks::Model,
        after: i64,
        now: Micros,
    ) -> Result<(u64, i64), WebhookStoreError> {
        let project = ProjectId::from_stored(&webhook.project_id);
        let wanted = wanted_kinds(webhook);
        let txn = self.db.begin().await?;
        let mut latest = Sql::new(txn.get_database_backend(), r#"SELECT "event_seq" FROM "projects" WHERE "id" = "#);
        latest.push("{}", webhook.project_id.clone());
        let row = txn.query_one_raw(latest.build()).await?.ok_or_else(|| DbErr::RecordNotFound("project".into()))?;
        if after > row.try_get::<i64>("", "event_seq")? {
            return Err(WebhookStoreError::CursorAhead);
        }
        let mut cursor = after;
        let mut queued = 0;
        let mut read = 0;
        loop {
            let events = task_events::Entity::find()
                .filter(task_events::Column::ProjectId.eq(project.to_string()))
                .filter(task_events::Column::Seq.gt(cursor))
                .order_by_asc(task_events::Column::Seq)
                .limit(Ord::min(ENQUEUE_BATCH, REPLAY_LIMIT - read))
                .all(&txn)
                .await?;
            // "0" means "everything the feed still keeps"; any other cursor
            // must be followed by its next event, or events were pruned.
            if read == 0 && after > 0 && events.first().is_some_and(|first| first.seq != after + 1) {
                return Err(WebhookStoreError::CursorExpired);
            }
            let Some(last) = events.last() else { break };
            cursor = last.seq;
            read += events.len() as u64;
            queued += queue(&txn, &webhook.id, &wanted, &events, now).await?;
            if read >= REPLAY_LIMIT || (events.len() as u64) < ENQUEUE_BATCH {
                break;
            }
        }
        txn.commit().await?;
        Ok((queued, cursor))
    }

    /// Turns new feed events into deliveries for every webhook behind its
    /// project's feed, paused ones included (so nothing is lost while
    /// paused, even once the feed prunes them). Returns how many were queued.
    #[tracing::instrument(name = "db.webhooks.enqueue", skip_all, fields(otel.kind = "client"))]
    pub async fn enqueue(&self, now: Micros) -> Result<u64, WebhookStoreError> {
        let backend = self.db.get_database_backend();
        let behind = Statement::from_string(
            backend,
            r#"SELECT "w"."id" FROM "webhooks" AS "w" JOIN "projects" AS "p" ON "p"."id" = "w"."project_id"
               WHERE "w"."feed_cursor" < "p"."event_seq" LIMIT 100"#,
        );
        let ids: Vec<String> =
            self.db.query_all_raw(behind).await?.iter().map(|row| row.try_get("", "id")).collect::<Result<_, _>>()?;
        let mut queued = 0;
        for id in ids {
            queued += self.enqueue_one(&id, now).await?;
        }
        Ok(queued)
    }

    /// [`Self::enqueue`] for one webhook, with its row locked (another
    /// replica at it skips it).
    async fn enqueue_one(&self, id: &str, now: Micros) -> Result<u64, WebhookStoreError> {
        let txn = self.db.begin().await?;
        let backend = txn.get_database_backend();
        let mut query = webhooks::Entity::find_by_id(id);
        if backend == DbBackend::Postgres {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let Some(webhook) = query.one(&txn).await? else { return Ok(0) };
        let events = task_events::Entity::find()
            .filter(task_events::Column::ProjectId.eq(&webhook.project_id))
            .filter(task_events::Column::Seq.gt(webhook.feed_cursor))
            .order_by_asc(task_events::Column::Seq)
            .limit(ENQUEUE_BATCH)
            .all(&txn)
            .await?;
        let Some(last) = events.last() else { return Ok(0) };
        let last = last.seq;
        if let Some(first) = events.first().filter(|first| first.seq != webhook.feed_cursor + 1) {
            // Only if no dispatcher ran for the whole feed retention: say so loudly.
            tracing::error!(
                webhook = %webhook.id,
                cursor = webhook.feed_cursor,
                first = first.seq,
                "feed events were pruned before this webhook queued them; they cannot be delivered"
            );
        }
        let queued = queue(&txn, &webhook.id, &wanted_kinds(&webhook), &events, now).await?;
        webhooks::Entity::update_many()
            .col_expr(webhooks::Column::FeedCursor, Expr::value(last))
            .filter(webhooks::Column::Id.eq(&webhook.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(queued)
    }

    /// Leases up to `limit` deliveries due at `now` until `now + lease`:
    /// each the head of its webhook's queue, of a webhook not paused.
    #[tracing::instrument(name = "db.webhooks.claim", skip_all, fields(otel.kind = "client"))]
    pub async fn claim(&self, now: Micros, limit: u64, lease: Micros) -> Result<Vec<Claimed>, WebhookStoreError> {
        // A read first: most passes find nothing due, and then write nothing
        // (no row locks on PostgreSQL, no write lock on SQLite).
        let backend = self.db.get_database_backend();
        let mut due = Sql::new(backend, r#"SELECT 1 AS "due" FROM "webhook_deliveries" AS "d""#);
        due.push(r#" WHERE "d"."outcome" = {}"#, PENDING)
            .push(r#" AND "d"."next_attempt_time" <= {}"#, now)
            .push(r#" AND "d"."lease_until" <= {}"#, now)
            .raw(r#" AND EXISTS (SELECT 1 FROM "webhooks" AS "w" WHERE "w"."id" = "d"."webhook_id" AND "w"."paused" = FALSE)"#)
            .raw(" LIMIT 1");
        if self.db.query_one_raw(due.build()).await?.is_none() {
            return Ok(Vec::new());
        }
        let token = uuid::Uuid::now_v7().to_string();
        let txn = self.db.begin().await?;
        let mut sql = Sql::new(backend, r#"UPDATE "webhook_deliveries" SET "lease_until" = "#);
        sql.push("{}", now + lease)
            .push(r#", "lease_token" = {}"#, token.clone())
            .raw(
                r#" WHERE "id" IN (SELECT "d"."id" FROM "webhook_deliveries" AS "d"
                   JOIN "webhooks" AS "w" ON "w"."id" = "d"."webhook_id""#,
            )
            .push(r#" WHERE "d"."outcome" = {}"#, PENDING)
            .push(r#" AND "d"."next_attempt_time" <= {}"#, now)
            .push(r#" AND "d"."lease_until" <= {}"#, now)
            .raw(r#" AND "w"."paused" = FALSE"#)
            .push(
                r#" AND NOT EXISTS (SELECT 1 FROM "webhook_deliveries" AS "e"
                   WHERE "e"."webhook_id" = "d"."webhook_id" AND "e"."outcome" = {} AND "e"."number" < "d"."number")"#,
                PENDING,
            )
            .raw(r#" ORDER BY "d"."next_attempt_time""#)
            .push(" LIMIT {}", i64::try_from(limit).unwrap_or(i64::MAX));
        if backend == DbBackend::Postgres {
            sql.raw(r#" FOR UPDATE OF "d" SKIP LOCKED"#);
        }
        sql.raw(")");
        txn.execute_raw(sql.build()).await?;
        let mut select = Sql::new(
            backend,
            r#"SELECT "d".*, "w"."url" AS "webhook_url", "w"."secret" AS "webhook_secret", "w"."project_id" AS "webhook_project"
               FROM "webhook_deliveries" AS "d" JOIN "webhooks" AS "w" ON "w"."id" = "d"."webhook_id""#,
        );
        select.push(r#" WHERE "d"."lease_token" = {}"#, token.clone());
        let rows = txn.query_all_raw(select.build()).await?;
        txn.commit().await?;
        rows.iter()
            .map(|row| {
                Ok(Claimed {
                    delivery: sea_orm::FromQueryResult::from_query_result(row, "")?,
                    url: row.try_get("", "webhook_url")?,
                    secret: row.try_get("", "webhook_secret")?,
                    project_id: row.try_get("", "webhook_project")?,
                    lease_token: token.clone(),
                })
            })
            .collect::<Result<_, DbErr>>()
            .map_err(Into::into)
    }

    /// Records `attempt` of `claimed` (if its lease is still ours): the
    /// delivery's outcome, the attempt in the log, and, for a failure, the
    /// next attempt `retry_in` later, or, once the delivery has failed for
    /// `retry_window`, the webhook paused and its creator and the project's
    /// owners notified.
    #[tracing::instrument(name = "db.webhooks.record", skip_all, fields(otel.kind = "client"))]
    pub async fn record(
        &self,
        claimed: &Claimed,
        attempt: &Attempt,
        retry_in: Micros,
        retry_window: Micros,
    ) -> Result<Recorded, WebhookStoreError> {
        let delivery = &claimed.delivery;
        let txn = self.db.begin().await?;
        let first_failure =
            if attempt.delivered { None } else { Some(delivery.first_failure_time.unwrap_or(attempt.time)) };
        let updated = webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::Outcome,
                Expr::value(if attempt.delivered { DELIVERED } else { PENDING }),
            )
            .col_expr(webhook_deliveries::Column::Attempts, Expr::value(delivery.attempts + 1))
            .col_expr(webhook_deliveries::Column::StatusCode, Expr::value(attempt.status_code))
            .col_expr(webhook_deliveries::Column::Error, Expr::value(attempt.error.clone()))
            .col_expr(webhook_deliveries::Column::LatencyMs, Expr::value(attempt.latency_ms))
            .col_expr(webhook_deliveries::Column::AttemptTime, Expr::value(Some(attempt.time)))
            .col_expr(webhook_deliveries::Column::NextAttemptTime, Expr::value(attempt.time + retry_in))
            .col_expr(webhook_deliveries::Column::FirstFailureTime, Expr::value(first_failure))
            .col_expr(webhook_deliveries::Column::LeaseUntil, Expr::value(0i64))
            .col_expr(webhook_deliveries::Column::LeaseToken, Expr::value(Option::<String>::None))
            .filter(webhook_deliveries::Column::Id.eq(&delivery.id))
            .filter(webhook_deliveries::Column::LeaseToken.eq(&claimed.lease_token))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Ok(Recorded::default());
        }
        webhook_attempts::Entity::insert(webhook_attempts::ActiveModel {
            delivery_id: Set(delivery.id.clone()),
            attempt: Set(delivery.attempts + 1),
            time: Set(attempt.time),
            status_code: Set(attempt.status_code),
            error: Set(attempt.error.clone()),
            latency_ms: Set(attempt.latency_ms),
        })
        .exec_without_returning(&txn)
        .await?;
        let mut recorded = Recorded { recorded: true, ..Recorded::default() };
        let window_over = first_failure.is_some_and(|first| attempt.time - first >= retry_window);
        if window_over {
            let reason = format!(
                "paused after delivery attempts failed for {} (last: {}); unpause to resume",
                humantime::format_duration(std::time::Duration::from_secs(
                    Ord::max(attempt.time - first_failure.unwrap_or(attempt.time), 0) as u64 / 1_000_000
                )),
                attempt.error
            );
            let paused = webhooks::Entity::update_many()
                .col_expr(webhooks::Column::Paused, Expr::value(true))
                .col_expr(webhooks::Column::PauseReason, Expr::value(reason))
                .col_expr(webhooks::Column::UpdateTime, Expr::value(attempt.time))
                .col_expr(webhooks::Column::Version, Expr::col(webhooks::Column::Version).add(1))
                .filter(webhooks::Column::Id.eq(&delivery.webhook_id))
                .filter(webhooks::Column::Paused.eq(false))
                .exec(&txn)
                .await?;
            if paused.rows_affected == 1 {
                recorded.paused = true;
                recorded.notified = notify_paused(&txn, self.inbox.outbox(), claimed, attempt).await?;
            }
        }
        txn.commit().await?;
        self.inbox.announce(&recorded.notified);
        Ok(recorded)
    }

    /// Pending deliveries of webhooks that are not paused, and the oldest's
    /// creation time.
    pub async fn backlog(&self) -> Result<Backlog, WebhookStoreError> {
        let backend = self.db.get_database_backend();
        let mut sql = Sql::new(
            backend,
            r#"SELECT COUNT(*) AS "pending", MIN("d"."create_time") AS "oldest"
               FROM "webhook_deliveries" AS "d" JOIN "webhooks" AS "w" ON "w"."id" = "d"."webhook_id""#,
        );
        sql.push(r#" WHERE "d"."outcome" = {} AND "w"."paused" = FALSE"#, PENDING);
        let row = self.db.query_one_raw(sql.build()).await?;
        let Some(row) = row else { return Ok(Backlog::default()) };
        Ok(Backlog { pending: row.try_get("", "pending")?, oldest_create_time: row.try_get("", "oldest")? })
    }

    /// Deletes delivered deliveries made before `before`; returns how many.
    pub async fn prune(&self, before: Micros) -> Result<u64, WebhookStoreError> {
        let deleted = webhook_deliveries::Entity::delete_many()
            .filter(webhook_deliveries::Column::Outcome.eq(DELIVERED))
            .filter(webhook_deliveries::Column::CreateTime.lt(before))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected)
    }
}

/// Inserts a delivery of each of `events` whose kind `wanted` includes
/// (every kind if empty), numbered after the webhook's others.
async fn queue(
    txn: &impl ConnectionTrait,
    webhook_id: &str,
    wanted: &[i16],
    events: &[task_events::Model],
    now: Micros,
) -> Result<u64, DbErr> {
    let chosen: Vec<&task_events::Model> =
        events.iter().filter(|event| wanted.is_empty() || wanted.contains(&event.kind)).collect();
    if chosen.is_empty() {
        return Ok(0);
    }
    let count = chosen.len() as i64;
    let first = take_numbers(txn, webhook_id, count).await?.ok_or_else(|| DbErr::RecordNotFound("webhook".into()))?;
    let mut rows = Vec::with_capacity(chosen.len());
    for (offset, event) in chosen.into_iter().enumerate() {
        let body = body_of(txn, event).await?;
        rows.push(webhook_deliveries::ActiveModel::from(new_delivery(
            webhook_id,
            first + offset as i64,
            event,
            body,
            now,
        )));
    }
    webhook_deliveries::Entity::insert_many(rows).exec_without_returning(txn).await?;
    Ok(count as u64)
}

/// Tells the webhook's creator (if still a member) and the project's owners
/// that it was paused, through their inboxes.
async fn notify_paused(
    txn: &impl ConnectionTrait,
    outbox: bool,
    claimed: &Claimed,
    attempt: &Attempt,
) -> Result<Vec<Made>, DbErr> {
    let backend = txn.get_database_backend();
    let delivery = &claimed.delivery;
    // The notification names the task of the event that could not be sent;
    // a task purged meanwhile leaves nothing to name.
    let mut task = Sql::new(backend, r#"SELECT "title" FROM "tasks" WHERE "id" = "#);
    task.push("{}", delivery.task_id.clone());
    let Some(task) = txn.query_one_raw(task.build()).await? else {
        tracing::warn!(webhook = %delivery.webhook_id, "webhook paused; its failed event's task is gone, nobody notified");
        return Ok(Vec::new());
    };
    let title: String = task.try_get("", "title")?;
    let mut recipients = Sql::new(
        backend,
        r#"SELECT "m"."user_id" FROM "memberships" AS "m" JOIN "webhooks" AS "w" ON "w"."project_id" = "m"."project_id""#,
    );
    recipients
        .push(r#" WHERE "w"."id" = {}"#, delivery.webhook_id.clone())
        .push(r#" AND ("m"."role" = {} OR "m"."user_id" = "w"."creator_id")"#, Role::Owner.stored());
    let users: Vec<String> = txn
        .query_all_raw(recipients.build())
        .await?
        .iter()
        .map(|row| row.try_get("", "user_id"))
        .collect::<Result<_, _>>()?;
    let host = claimed.url.split('/').nth(2).unwrap_or_default().to_owned();
    let notices = users
        .into_iter()
        .map(|user| Notice {
            project_id: claimed.project_id.clone(),
            user,
            task_id: delivery.task_id.clone(),
            title: title.clone(),
            kind: NotificationKind::WebhookPaused,
            summary: format!("Webhook to {host} paused after failing since event {}", delivery.event_seq),
        })
        .collect();
    notifications::deliver(txn, outbox, "", notices, attempt.time).await
}
