//! Due-date reminders: each user's default lead time, per-task overrides,
//! and the scheduler's pass ([`ReminderStore::send_due`]), which also sends
//! the "due date reached" notifications, the same way.
//!
//! A reminder goes to each assignee of a task that is neither done nor
//! deleted, once `now` reaches its due time minus the assignee's lead time
//! (the task's own setting, else their default, else 24 hours), and at most a
//! day after the task fell due (an old overdue task is not a reminder). It
//! goes out once per task, assignee and due time: the pass inserts the
//! `reminders_sent` row and the notification in one transaction, and the row's
//! primary key refuses a second one, whichever replica tries, before or after
//! a restart. On PostgreSQL a transaction-scoped advisory lock also lets one
//! replica at a time do the pass, so the others do not repeat its work.

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, Statement, TransactionTrait,
    sea_query::OnConflict,
};

use super::{
    entities::{notification_settings, task_reminders},
    notifications::{self, InboxSignals, Notice, NotificationKind, Sql},
};
use crate::domain::{
    TaskStatus, UserId,
    time::{self, Micros},
};

/// The lead time until a user sets one: a day.
pub const DEFAULT_LEAD_SECONDS: i64 = 86_400;
/// The longest lead time: 30 days.
pub const MAX_LEAD_SECONDS: i64 = 30 * 86_400;
/// How long after its due time a task is still reminded of.
const LATE_WINDOW: Micros = time::seconds(86_400);
/// First key of the scheduler's advisory lock: "ttrm".
const REMINDER_LOCK: i64 = 0x7474_726d;

/// A user's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderDefaults {
    pub lead_seconds: i64,
    pub off: bool,
}

impl Default for ReminderDefaults {
    fn default() -> Self {
        Self { lead_seconds: DEFAULT_LEAD_SECONDS, off: false }
    }
}

/// A task's own setting for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskReminder {
    /// `None`: the user's default lead.
    pub lead_seconds: Option<i64>,
    pub off: bool,
}

/// What one scheduler pass did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pass {
    /// Another replica holds the scheduler's lock; nothing was read.
    pub skipped: bool,
    pub sent: usize,
    /// How late the latest-sent reminder went out, past its time.
    pub delay: Option<Micros>,
}

/// The reminders repository.
#[derive(Clone)]
pub struct ReminderStore {
    db: DatabaseConnection,
    inbox: InboxSignals,
}

impl ReminderStore {
    pub fn new(db: DatabaseConnection, inbox: InboxSignals) -> Self {
        Self { db, inbox }
    }

    /// `user`'s defaults.
    pub async fn defaults(&self, user: UserId) -> Result<ReminderDefaults, DbErr> {
        let row = notification_settings::Entity::find_by_id(user.to_string()).one(&self.db).await?;
        Ok(row.map_or_else(ReminderDefaults::default, |row| ReminderDefaults {
            lead_seconds: row.reminder_lead_seconds,
            off: row.reminders_off,
        }))
    }

    /// Replaces `user`'s defaults.
    pub async fn set_defaults(&self, user: UserId, defaults: ReminderDefaults, now: Micros) -> Result<(), DbErr> {
        let row = notification_settings::ActiveModel {
            user_id: Set(user.to_string()),
            reminder_lead_seconds: Set(defaults.lead_seconds),
            reminders_off: Set(defaults.off),
            update_time: Set(now),
        };
        notification_settings::Entity::insert(row)
            .on_conflict(
                OnConflict::column(notification_settings::Column::UserId)
                    .update_columns([
                        notification_settings::Column::ReminderLeadSeconds,
                        notification_settings::Column::RemindersOff,
                        notification_settings::Column::UpdateTime,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// `user`'s own setting for `task_id`, if any.
    pub async fn task_reminder(&self, task_id: &str, user: UserId) -> Result<Option<TaskReminder>, DbErr> {
        let row = task_reminders::Entity::find_by_id((task_id.to_owned(), user.to_string())).one(&self.db).await?;
        Ok(row.map(|row| TaskReminder { lead_seconds: row.lead_seconds, off: row.off }))
    }

    /// Sets `user`'s own setting for `task_id`, or (`None`) drops it.
    pub async fn set_task_reminder(
        &self,
        task_id: &str,
        user: UserId,
        reminder: Option<TaskReminder>,
        now: Micros,
    ) -> Result<(), DbErr> {
        let key = (task_id.to_owned(), user.to_string());
        let Some(reminder) = reminder else {
            task_reminders::Entity::delete_by_id(key).exec(&self.db).await?;
            return Ok(());
        };
        let row = task_reminders::ActiveModel {
            task_id: Set(key.0),
            user_id: Set(key.1),
            lead_seconds: Set(reminder.lead_seconds),
            off: Set(reminder.off),
            update_time: Set(now),
        };
        task_reminders::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([task_reminders::Column::TaskId, task_reminders::Column::UserId])
                    .update_columns([
                        task_reminders::Column::LeadSeconds,
                        task_reminders::Column::Off,
                        task_reminders::Column::UpdateTime,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// Sends the reminders due at `now`, at most `limit`, in one
    /// transaction; announces them once committed.
    #[tracing::instrument(name = "db.reminders.send_due", skip_all, fields(otel.kind = "client"))]
    pub async fn send_due(&self, now: Micros, limit: u64) -> Result<Pass, DbErr> {
        let txn = self.db.begin().await?;
        let backend = txn.get_database_backend();
        if backend == DbBackend::Postgres {
            let lock = Statement::from_sql_and_values(
                backend,
                r#"SELECT pg_try_advisory_xact_lock($1) AS "locked""#,
                [REMINDER_LOCK.into()],
            );
            let locked: bool = txn.query_one_raw(lock).await?.map_or(Ok(false), |row| row.try_get("", "locked"))?;
            if !locked {
                txn.rollback().await?;
                return Ok(Pass { skipped: true, ..Pass::default() });
            }
        }
        // Each `push` adds one placeholder, in order (SQLite numbers `?` by
        // position).
        let mut sql =
            Sql::new(backend, r#"SELECT "t"."id", "t"."project_id", "t"."title", "t"."due_time", "a"."user_id""#);
        sql.push(
            r#", "t"."due_time" - COALESCE("r"."lead_seconds", "s"."reminder_lead_seconds", {}) * 1000000 AS "remind_time"
               FROM "tasks" AS "t"
               JOIN "task_assignees" AS "a" ON "a"."task_id" = "t"."id"
               LEFT JOIN "notification_settings" AS "s" ON "s"."user_id" = "a"."user_id"
               LEFT JOIN "task_reminders" AS "r" ON "r"."task_id" = "t"."id" AND "r"."user_id" = "a"."user_id""#,
            DEFAULT_LEAD_SECONDS,
        )
        .push(r#" WHERE "t"."due_time" > {}"#, now - LATE_WINDOW)
        .push(r#" AND "t"."due_time" <= {}"#, now + time::seconds(MAX_LEAD_SECONDS))
        .raw(r#" AND "t"."delete_time" IS NULL"#)
        .push(r#" AND "t"."status" <> {}"#, TaskStatus::Done.stored())
        .raw(r#" AND (CASE WHEN "r"."task_id" IS NULL THEN COALESCE("s"."reminders_off", FALSE) ELSE "r"."off" END) = FALSE"#)
        .push(r#" AND "t"."due_time" - COALESCE("r"."lead_seconds", "s"."reminder_lead_seconds", {}) * 1000000"#, DEFAULT_LEAD_SECONDS)
        .push(" <= {}", now)
        .raw(
            r#" AND NOT EXISTS (SELECT 1 FROM "reminders_sent" AS "x"
                   WHERE "x"."task_id" = "t"."id" AND "x"."user_id" = "a"."user_id" AND "x"."due_time" = "t"."due_time")
               AND EXISTS (SELECT 1 FROM "memberships" AS "m"
                   WHERE "m"."project_id" = "t"."project_id" AND "m"."user_id" = "a"."user_id")
               ORDER BY "t"."due_time""#,
        )
        .push(" LIMIT {}", i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = txn.query_all_raw(sql.build()).await?;
        let mut notices = Vec::with_capacity(rows.len());
        let mut delay = None;
        for row in rows {
            let task_id: String = row.try_get("", "id")?;
            let user: String = row.try_get("", "user_id")?;
            let due_time: i64 = row.try_get("", "due_time")?;
            let remind_time: i64 = row.try_get("", "remind_time")?;
            if !claim(&txn, ClaimTable::Reminders, (&task_id, &user, due_time), now).await? {
                continue;
            }
            delay = delay.max(Some((now - remind_time).max(0)));
            notices.push(Notice {
                project_id: row.try_get("", "project_id")?,
                user,
                task_id,
                title: row.try_get("", "title")?,
                kind: NotificationKind::DueSoon,
                summary: due_summary(due_time, now),
            });
        }
        notices.extend(due_reached(&txn, now, limit).await?);
        let made = notifications::deliver(&txn, self.inbox.outbox(), "", notices, now).await?;
        txn.commit().await?;
        self.inbox.announce(&made);
        Ok(Pass { skipped: false, sent: made.len(), delay })
    }
}

/// The "due date reached" notifications due at `now`, at most `limit`: to
/// each assignee (still a member) of a task that is neither done nor deleted
/// and whose due time has passed, within [`LATE_WINDOW`] (a task long
/// overdue when this started is not news). Each is claimed in
/// `due_notices_sent` first, whose primary key lets it happen once per task,
/// assignee and due time, as `reminders_sent` does for reminders.
async fn due_reached(txn: &impl ConnectionTrait, now: Micros, limit: u64) -> Result<Vec<Notice>, DbErr> {
    let backend = txn.get_database_backend();
    let mut sql = Sql::new(
        backend,
        r#"SELECT "t"."id", "t"."project_id", "t"."title", "t"."due_time", "a"."user_id"
           FROM "tasks" AS "t" JOIN "task_assignees" AS "a" ON "a"."task_id" = "t"."id""#,
    );
    sql.push(r#" WHERE "t"."due_time" > {}"#, now - LATE_WINDOW)
        .push(r#" AND "t"."due_time" <= {}"#, now)
        .raw(r#" AND "t"."delete_time" IS NULL"#)
        .push(r#" AND "t"."status" <> {}"#, TaskStatus::Done.stored())
        .raw(
            r#" AND NOT EXISTS (SELECT 1 FROM "due_notices_sent" AS "x"
                   WHERE "x"."task_id" = "t"."id" AND "x"."user_id" = "a"."user_id" AND "x"."due_time" = "t"."due_time")
               AND EXISTS (SELECT 1 FROM "memberships" AS "m"
                   WHERE "m"."project_id" = "t"."project_id" AND "m"."user_id" = "a"."user_id")
               ORDER BY "t"."due_time""#,
        )
        .push(" LIMIT {}", i64::try_from(limit).unwrap_or(i64::MAX));
    let rows = txn.query_all_raw(sql.build()).await?;
    let mut notices = Vec::with_capacity(rows.len());
    for row in rows {
        let task_id: String = row.try_get("", "id")?;
        let user: String = row.try_get("", "user_id")?;
        let due_time: i64 = row.try_get("", "due_time")?;
        if !claim(txn, ClaimTable::DueNotices, (&task_id, &user, due_time), now).await? {
            continue;
        }
        notices.push(Notice {
            project_id: row.try_get("", "project_id")?,
            user,
            task_id,
            title: row.try_get("", "title")?,
            kind: NotificationKind::DueReached,
            summary: due_summary(due_time, now),
        });
    }
    Ok(notices)
}

/// "Due in 3 hours", "Due in 20 minutes", "Due now", "Overdue by 2 hours".
fn due_summary(due_time: Micros, now: Micros) -> String {
    let seconds = (due_time - now) / 1_000_000;
    let span = |seconds: i64| {
        let (value, unit) = match seconds.abs() {
            s if s >= 2 * 86_400 => (s / 86_400, "days"),
            s if s >= 7_200 => (s / 3_600, "hours"),
            s if s >= 3_600 => (1, "hour"),
            s if s >= 120 => (s / 60, "minutes"),
            _ => (1, "minute"),
        };
        format!("{value} {unit}")
    };
    match seconds {
        s if s.abs() < 60 => "Due now".to_owned(),
        s if s > 0 => format!("Due in {}", span(s)),
        s => format!("Overdue by {}", span(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::due_summary;
    use crate::domain::time;

    #[test]
    fn summaries_say_how_soon() {
        let now = time::seconds(1_000_000);
        assert_eq!(due_summary(now + time::seconds(3 * 3_600 + 5), now), "Due in 3 hours");
        assert_eq!(due_summary(now + time::seconds(3_700), now), "Due in 1 hour");
        assert_eq!(due_summary(now + time::seconds(20 * 60), now), "Due in 20 minutes");
        assert_eq!(due_summary(now + time::seconds(3 * 86_400), now), "Due in 3 days");
        assert_eq!(due_summary(now + time::seconds(30), now), "Due now");
        assert_eq!(due_summary(now - time::seconds(2 * 3_600), now), "Overdue by 2 hours");
    }
}

/// Where a notice that goes out once per task, user and due time is claimed.
#[derive(Clone, Copy)]
enum ClaimTable {
    Reminders,
    DueNotices,
}

/// Claims the notice of `(task, user, due time)`: true if this call
/// inserted its row (so it is this transaction's to send), false if it was
/// claimed before.
async fn claim(
    txn: &impl ConnectionTrait,
    table: ClaimTable,
    (task_id, user, due_time): (&str, &str, i64),
    now: Micros,
) -> Result<bool, DbErr> {
    let table = match table {
        ClaimTable::Reminders => "reminders_sent",
        ClaimTable::DueNotices => "due_notices_sent",
    };
    let insert = format!(r#"INSERT INTO "{table}" ("task_id", "user_id", "due_time", "send_time") VALUES ("#);
    let mut claim = Sql::new(txn.get_database_backend(), &insert);
    claim
        .push("{}", task_id.to_owned())
        .push(", {}", user.to_owned())
        .push(", {}", due_time)
        .push(", {})", now)
        .raw(" ON CONFLICT DO NOTHING");
    Ok(txn.execute_raw(claim.build()).await?.rows_affected() == 1)
}
