//! Who follows which task (`task_subscriptions`), and each user's inbox
//! (`inboxes`, `notifications`).
//!
//! Notifications are made by the writes they report, in the same
//! transaction ([`on_task_change`], [`on_comment`]): a change that commits
//! has notified its followers, and one that rolls back has notified nobody.
//! Each user's notifications are numbered from 1; taking a number locks the
//! user's `inboxes` row until commit, so numbers commit in order and a stream
//! resuming after n misses none. A write takes its recipients' numbers in
//! user order, so two writes cannot deadlock on them; the project's feed lock
//! is taken after, as always last.
//!
//! After the commit, the writer announces the recipients ([`InboxSignals`]):
//! to this process's streams directly, and on PostgreSQL to every replica by
//! a NOTIFY on [`NOTIFY_CHANNEL`] that commits with the notifications.

use std::collections::{BTreeMap, BTreeSet};

use prometheus_client::{encoding::EncodeLabelSet, metrics::counter::Counter, metrics::family::Family};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryResult,
    Statement, Value, sea_query::OnConflict,
};
use tokio::sync::broadcast;

use super::{
    entities::{notifications, task_subscriptions, tasks},
    placeholders,
    tasks::TaskRecord,
};
use crate::domain::{
    TaskStatus, UserId,
    mentions::{self, Mentionable},
    time::Micros,
};

/// PostgreSQL channel that wakes inbox streams on other replicas; the
/// payload is a comma-separated list of user ids.
pub const NOTIFY_CHANNEL: &str = "tasktracker_inbox";
/// Users named in one NOTIFY payload (under PostgreSQL's 8,000 bytes).
const USERS_PER_NOTICE: usize = 100;
/// Characters of a comment or description a summary keeps.
const SUMMARY_CHARS: usize = 140;

/// What a notification reports (`tasktracker.v1.NotificationKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationKind {
    Assigned,
    Mentioned,
    Commented,
    StateChanged,
    Unblocked,
    DueSoon,
    WebhookPaused,
    DueReached,
}

impl NotificationKind {
    pub const ALL: [Self; 8] = [
        Self::Assigned,
        Self::Mentioned,
        Self::Commented,
        Self::StateChanged,
        Self::Unblocked,
        Self::DueSoon,
        Self::WebhookPaused,
        Self::DueReached,
    ];

    /// The kind stored as `stored`.
    pub fn from_stored(stored: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.stored() == stored)
    }

    pub fn stored(self) -> i16 {
        match self {
            Self::Assigned => 1,
            Self::Mentioned => 2,
            Self::Commented => 3,
            Self::StateChanged => 4,
            Self::Unblocked => 5,
            Self::DueSoon => 6,
            Self::WebhookPaused => 7,
            Self::DueReached => 8,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::Mentioned => "mentioned",
            Self::Commented => "commented",
            Self::StateChanged => "state_changed",
            Self::Unblocked => "unblocked",
            Self::DueSoon => "due_soon",
            Self::WebhookPaused => "webhook_paused",
            Self::DueReached => "due_reached",
        }
    }
}

/// Why a user follows a task (`tasktracker.v1.SubscriptionReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionReason {
    Creator,
    Assignee,
    Mentioned,
    Commenter,
    Manual,
}

impl SubscriptionReason {
    pub fn stored(self) -> i16 {
        match self {
            Self::Creator => 1,
            Self::Assignee => 2,
            Self::Mentioned => 3,
            Self::Commenter => 4,
            Self::Manual => 5,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

/// Which user's inbox changed; `None` means "maybe anyone's" (after a lost
/// connection).
pub type InboxWakeup = Option<UserId>;

/// Announcements of inbox changes in this process, and their count; and
/// whether notifications are also queued for email.
#[derive(Clone)]
pub struct InboxSignals {
    wakeups: broadcast::Sender<InboxWakeup>,
    /// Notifications made, by kind.
    pub created: Family<KindLabels, Counter>,
    /// Whether each notification also gets an `email_outbox` row (email is
    /// configured).
    outbox: bool,
}

impl Default for InboxSignals {
    fn default() -> Self {
        let created = Family::default();
        for kind in NotificationKind::ALL {
            let _ = created.get_or_create(&KindLabels { kind: kind.label() });
        }
        Self { wakeups: broadcast::channel(1_024).0, created, outbox: false }
    }
}

impl InboxSignals {
    /// The same signals, queueing notifications for email or not.
    pub fn with_outbox(mut self, outbox: bool) -> Self {
        self.outbox = outbox;
        self
    }

    /// Whether notifications are queued for email.
    pub(super) fn outbox(&self) -> bool {
        self.outbox
    }

    pub fn subscribe(&self) -> broadcast::Receiver<InboxWakeup> {
        self.wakeups.subscribe()
    }

    /// `wakeup`'s inbox changed (a commit here, or one another replica
    /// announced).
    pub fn wake(&self, wakeup: InboxWakeup) {
        // No receivers is fine: nobody is watching.
        let _ = self.wakeups.send(wakeup);
    }

    /// Announces what a committed write made.
    pub(super) fn announce(&self, made: &[Made]) {
        let mut woken = BTreeSet::new();
        for notification in made {
            self.created.get_or_create(&KindLabels { kind: notification.kind.label() }).inc();
            if woken.insert(notification.user) {
                self.wake(Some(notification.user));
            }
        }
    }
}

/// A notification a write made, announced once it commits.
#[derive(Debug, Clone)]
pub struct Made {
    pub user: UserId,
    pub kind: NotificationKind,
}

/// One notification to make.
pub(super) struct Notice {
    pub(super) project_id: String,
    pub(super) user: String,
    pub(super) task_id: String,
    pub(super) title: String,
    pub(super) kind: NotificationKind,
    pub(super) summary: String,
}

/// The first [`SUMMARY_CHARS`] characters of `text`, on one line.
fn summary_of(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() <= SUMMARY_CHARS {
        return line;
    }
    let mut short: String = line.chars().take(SUMMARY_CHARS - 1).collect();
    short.push('…');
    short
}

/// The project's members as mentions see them.
async fn mentionable(txn: &impl ConnectionTrait, project_id: &str) -> Result<Vec<Mentionable<String>>, DbErr> {
    let backend = txn.get_database_backend();
    let [project] = placeholders::<1>(backend);
    let sql = format!(
        r#"SELECT "u"."id", "u"."email" FROM "memberships" AS "m" JOIN "users" AS "u" ON "u"."id" = "m"."user_id"
           WHERE "m"."project_id" = {project}"#
    );
    let rows = txn.query_all_raw(Statement::from_sql_and_values(backend, sql, [project_id.into()])).await?;
    rows.iter().map(|row| Ok(Mentionable { id: row.try_get("", "id")?, email: row.try_get("", "email")? })).collect()
}

/// Members newly mentioned in `text` (mentioned there and not in `old`).
async fn newly_mentioned(
    txn: &impl ConnectionTrait,
    project_id: &str,
    text: &str,
    old: &str,
) -> Result<BTreeSet<String>, DbErr> {
    let tokens: BTreeSet<String> = mentions::tokens(text).difference(&mentions::tokens(old)).cloned().collect();
    if tokens.is_empty() {
        return Ok(BTreeSet::new());
    }
    Ok(mentions::resolve(&tokens, &mentionable(txn, project_id).await?))
}

/// Members of `project_id` who follow `task_id`.
async fn followers(txn: &impl ConnectionTrait, task_id: &str, project_id: &str) -> Result<Vec<String>, DbErr> {
    let backend = txn.get_database_backend();
    let [task, project] = placeholders::<2>(backend);
    // Placeholders in the order of `values` (SQLite numbers `?` by position).
    let sql = format!(
        r#"SELECT "s"."user_id" FROM "task_subscriptions" AS "s"
           WHERE "s"."task_id" = {task} AND "s"."subscribed" AND EXISTS (
               SELECT 1 FROM "memberships" AS "m" WHERE "m"."project_id" = {project} AND "m"."user_id" = "s"."user_id")"#
    );
    let values = [task_id.into(), project_id.into()];
    let rows = txn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter().map(|row| row.try_get("", "user_id")).collect()
}

/// Subscribes `users` to `task_id` for `reason`, also those who had
/// unsubscribed by hand (being assigned, mentioned or commenting is a new
/// reason to follow); an existing subscription keeps its reason. A user
/// named twice follows for the first reason.
async fn follow(
    txn: &impl ConnectionTrait,
    task_id: &str,
    users: impl IntoIterator<Item = (String, SubscriptionReason)>,
    now: Micros,
) -> Result<(), DbErr> {
    let mut reasons = BTreeMap::new();
    for (user, reason) in users {
        reasons.entry(user).or_insert(reason);
    }
    for (user, reason) in reasons {
        let mut sql = Sql::new(txn.get_database_backend(), "");
        sql.push(
            r#"INSERT INTO "task_subscriptions" ("task_id", "user_id", "subscribed", "reason", "update_time")
               VALUES ({}"#,
            task_id,
        )
        .push(", {}, TRUE", user)
        .push(", {}", reason.stored())
        .push(", {})", now)
        .raw(
            r#" ON CONFLICT ("task_id", "user_id") DO UPDATE SET "subscribed" = TRUE,
                "reason" = CASE WHEN "task_subscriptions"."subscribed" THEN "task_subscriptions"."reason"
                                ELSE "excluded"."reason" END,
                "update_time" = "excluded"."update_time""#,
        );
        txn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// Makes `notices` (`actor` is empty for the scheduler's), taking each
/// recipient's next number in user order across all of them, queues each
/// for email when `outbox` is on (in the same transaction, so a committed
/// notification is never left unmailed), and on PostgreSQL queues the
/// wake-up of other replicas for the commit.
pub(super) async fn deliver(
    txn: &impl ConnectionTrait,
    outbox: bool,
    actor: &str,
    mut notices: Vec<Notice>,
    now: Micros,
) -> Result<Vec<Made>, DbErr> {
    notices.sort_by(|first, second| (&first.user, &first.task_id).cmp(&(&second.user, &second.task_id)));
    let backend = txn.get_database_backend();
    let [user_param] = placeholders::<1>(backend);
    let next = format!(
        r#"INSERT INTO "inboxes" ("user_id", "last_seq") VALUES ({user_param}, 1)
           ON CONFLICT ("user_id") DO UPDATE SET "last_seq" = "inboxes"."last_seq" + 1
           RETURNING "last_seq""#
    );
    let mut made = Vec::with_capacity(notices.len());
    for notice in notices {
        let row = txn.query_one_raw(Statement::from_sql_and_values(backend, &next, [notice.user.clone().into()]));
        let seq: i64 = row.await?.ok_or_else(|| DbErr::RecordNotFound("inbox".into()))?.try_get("", "last_seq")?;
        let model = notifications::Model {
            user_id: notice.user.clone(),
            seq,
            project_id: notice.project_id,
            task_id: notice.task_id,
            kind: notice.kind.stored(),
            actor_id: actor.to_owned(),
            title: notice.title,
            summary: notice.summary,
            create_time: now,
            read_time: None,
            snooze_time: None,
        };
        notifications::Entity::insert(notifications::ActiveModel::from(model)).exec_without_returning(txn).await?;
        if outbox {
            super::email::queue(txn, &notice.user, seq, notice.kind, now).await?;
        }
        made.push(Made { user: UserId::from_stored(&notice.user), kind: notice.kind });
    }
    if backend == DbBackend::Postgres {
        let users: BTreeSet<String> = made.iter().map(|made| made.user.to_string()).collect();
        let users: Vec<String> = users.into_iter().collect();
        for chunk in users.chunks(USERS_PER_NOTICE) {
            let values: [Value; 2] = [NOTIFY_CHANNEL.into(), chunk.join(",").into()];
            txn.execute_raw(Statement::from_sql_and_values(backend, "SELECT pg_notify($1, $2)", values)).await?;
        }
    }
    Ok(made)
}

/// Notifies the followers of a task's creation or change, and subscribes
/// its creator, new assignees and newly mentioned members. `before` is
/// `None` for a creation. Call it inside the write's transaction, before
/// the feed event (which takes the feed lock, always last).
pub(super) async fn on_task_change(
    txn: &impl ConnectionTrait,
    outbox: bool,
    before: Option<&TaskRecord>,
    after: &TaskRecord,
    actor: UserId,
) -> Result<Vec<Made>, DbErr> {
    on_task_changes(txn, outbox, &[(before, after)], actor).await
}

/// [`on_task_change`] for several changes in one transaction (a batch):
/// their notifications are numbered together, so each recipient's inbox
/// is locked once and in user order.
pub(super) async fn on_task_changes(
    txn: &impl ConnectionTrait,
    outbox: bool,
    changes: &[(Option<&TaskRecord>, &TaskRecord)],
    actor: UserId,
) -> Result<Vec<Made>, DbErr> {
    let actor = actor.to_string();
    let mut all = Vec::new();
    let mut now = 0;
    for &(before, after) in changes {
        now = now.max(after.task.update_time);
        all.extend(notices_of_change(txn, before, after, &actor).await?);
    }
    deliver(txn, outbox, &actor, all, now).await
}

/// The notifications one change makes (subscribing whom it concerns).
async fn notices_of_change(
    txn: &impl ConnectionTrait,
    before: Option<&TaskRecord>,
    after: &TaskRecord,
    actor: &str,
) -> Result<Vec<Notice>, DbErr> {
    let task = &after.task;
    let actor = actor.to_owned();
    let now = task.update_time;
    // One notification per user and change: the most specific reason.
    let mut notices: BTreeMap<String, (NotificationKind, String)> = BTreeMap::new();
    let mut follows = Vec::new();
    if before.is_none() {
        follows.push((task.creator_id.clone(), SubscriptionReason::Creator));
    }
    let old_assignees = before.map_or(&[][..], |before| &before.assignees[..]);
    for assignee in after.assignees.iter().filter(|assignee| !old_assignees.contains(assignee)) {
        follows.push((assignee.clone(), SubscriptionReason::Assignee));
        if *assignee != actor {
            notices.entry(assignee.clone()).or_insert((NotificationKind::Assigned, String::new()));
        }
    }
    let old_description = before.map_or("", |before| before.task.description.as_str());
    if task.description != old_description {
        for user in newly_mentioned(txn, &task.project_id, &task.description, old_description).await? {
            follows.push((user.clone(), SubscriptionReason::Mentioned));
            if user != actor {
                notices.entry(user).or_insert((NotificationKind::Mentioned, summary_of(&task.description)));
            }
        }
    }
    follow(txn, &task.id, follows, now).await?;
    if let Some(before) = before
        && before.state != after.state
        && let Some(state) = &after.state
    {
        let summary = format!("Moved to {}", state_name(txn, state).await?);
        for user in followers(txn, &task.id, &task.project_id).await? {
            if user != actor {
                notices.entry(user).or_insert((NotificationKind::StateChanged, summary.clone()));
            }
        }
    }
    let mut all: Vec<Notice> = notices
        .into_iter()
        .map(|(user, (kind, summary))| Notice {
            project_id: task.project_id.clone(),
            user,
            task_id: task.id.clone(),
            title: task.title.clone(),
            kind,
            summary,
        })
        .collect();
    let done = TaskStatus::Done.stored();
    if before.is_some_and(|before| before.task.status != done) && task.status == done {
        let summary = summary_of(&format!("{} is done", task.title));
        for (blocked, title) in blocked_by(txn, &task.id).await? {
            for user in followers(txn, &blocked, &task.project_id).await? {
                if user != actor {
                    all.push(Notice {
                        project_id: task.project_id.clone(),
                        user,
                        task_id: blocked.clone(),
                        title: title.clone(),
                        kind: NotificationKind::Unblocked,
                        summary: summary.clone(),
                    });
                }
            }
        }
    }
    Ok(all)
}

/// Notifies a comment's readers: members it newly mentions and, for a new
/// comment (`old_body` is `None`), the task's other followers; subscribes
/// its author (for a new comment) and those it mentions.
pub(super) async fn on_comment(
    txn: &impl ConnectionTrait,
    outbox: bool,
    task: &tasks::Model,
    author: UserId,
    body: &str,
    old_body: Option<&str>,
    now: Micros,
) -> Result<Vec<Made>, DbErr> {
    let author = author.to_string();
    let mentioned = newly_mentioned(txn, &task.project_id, body, old_body.unwrap_or("")).await?;
    let mut follows: Vec<_> = mentioned.iter().map(|user| (user.clone(), SubscriptionReason::Mentioned)).collect();
    if old_body.is_none() {
        follows.push((author.clone(), SubscriptionReason::Commenter));
    }
    // Followers are read before the new ones join: a member mentioned for
    // the first time is notified of the mention, not of the comment too.
    let existing = if old_body.is_none() { followers(txn, &task.id, &task.project_id).await? } else { Vec::new() };
    follow(txn, &task.id, follows, now).await?;
    let summary = summary_of(body);
    let notice = |user: &String, kind| Notice {
        project_id: task.project_id.clone(),
        user: user.clone(),
        task_id: task.id.clone(),
        title: task.title.clone(),
        kind,
        summary: summary.clone(),
    };
    let mut notices: Vec<Notice> = mentioned
        .iter()
        .filter(|user| **user != author)
        .map(|user| notice(user, NotificationKind::Mentioned))
        .collect();
    for user in existing.iter().filter(|user| **user != author && !mentioned.contains(*user)) {
        notices.push(notice(user, NotificationKind::Commented));
    }
    deliver(txn, outbox, &author, notices, now).await
}

async fn state_name(txn: &impl ConnectionTrait, state_id: &str) -> Result<String, DbErr> {
    use super::entities::workflow_states;
    let state = workflow_states::Entity::find_by_id(state_id.to_owned()).one(txn).await?;
    Ok(state.map(|state| state.display_name).unwrap_or_default())
}

/// The tasks `task_id` blocks that are not deleted, with their titles.
async fn blocked_by(txn: &impl ConnectionTrait, task_id: &str) -> Result<Vec<(String, String)>, DbErr> {
    let backend = txn.get_database_backend();
    let [task, kind] = placeholders::<2>(backend);
    let sql = format!(
        r#"SELECT "t"."id", "t"."title" FROM "task_relations" AS "r" JOIN "tasks" AS "t" ON "t"."id" = "r"."other_task_id"
           WHERE "r"."task_id" = {task} AND "r"."kind" = {kind} AND "t"."delete_time" IS NULL"#
    );
    let values = [task_id.into(), crate::domain::RelationKind::Blocks.stored().into()];
    let rows = txn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter().map(|row| Ok((row.try_get("", "id")?, row.try_get("", "title")?))).collect()
}

/// A notification with its actor's display name.
#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub row: notifications::Model,
    pub actor_display_name: String,
}

/// Which notifications a list returns.
#[derive(Debug, Clone, Default)]
pub struct NotificationQuery {
    pub unread_only: bool,
    /// Only these kinds (stored values); empty means every kind.
    pub kinds: Vec<i16>,
    pub show_snoozed: bool,
    /// Numbers below this one (the previous page's last).
    pub before: Option<i64>,
    /// Numbers above this one, oldest first (a stream catching up).
    pub after: Option<i64>,
    pub limit: u64,
}

/// Unread, not snoozed notifications: all of them, and the mentions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub unread: i64,
    pub mentions: i64,
}

/// Which notifications a read mark changes.
#[derive(Debug, Clone)]
pub enum Marks {
    Numbers(Vec<i64>),
    UpTo(i64),
}

/// The inbox repository.
#[derive(Clone)]
pub struct NotificationStore {
    db: DatabaseConnection,
    signals: InboxSignals,
}

/// The conditions every inbox read shares: the user's own notifications,
/// of projects they are still a member of.
const VISIBLE: &str = r#"FROM "notifications" AS "n"
    JOIN "memberships" AS "m" ON "m"."project_id" = "n"."project_id" AND "m"."user_id" = "n"."user_id"
    LEFT JOIN "users" AS "a" ON "a"."id" = "n"."actor_id""#;

fn notification_of(row: &QueryResult) -> Result<NotificationRow, DbErr> {
    Ok(NotificationRow {
        row: notifications::Model {
            user_id: row.try_get("", "user_id")?,
            seq: row.try_get("", "seq")?,
            project_id: row.try_get("", "project_id")?,
            task_id: row.try_get("", "task_id")?,
            kind: row.try_get("", "kind")?,
            actor_id: row.try_get("", "actor_id")?,
            title: row.try_get("", "title")?,
            summary: row.try_get("", "summary")?,
            create_time: row.try_get("", "create_time")?,
            read_time: row.try_get("", "read_time")?,
            snooze_time: row.try_get("", "snooze_time")?,
        },
        actor_display_name: row.try_get::<Option<String>>("", "actor_display_name")?.unwrap_or_default(),
    })
}

/// Builds a statement with numbered placeholders from `sql` parts.
pub(super) struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub(super) fn new(backend: DbBackend, text: &str) -> Self {
        Self { backend, text: text.to_owned(), values: Vec::new() }
    }

    /// Appends `text`, with `{}` standing for `value`'s placeholder.
    pub(super) fn push(&mut self, text: &str, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        let placeholder =
            if self.backend == DbBackend::Postgres { format!("${}", self.values.len()) } else { "?".into() };
        self.text.push_str(&text.replace("{}", &placeholder));
        self
    }

    pub(super) fn raw(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub(super) fn build(&self) -> Statement {
        Statement::from_sql_and_values(self.backend, &self.text, self.values.clone())
    }
}

impl NotificationStore {
    pub fn new(db: DatabaseConnection, signals: InboxSignals) -> Self {
        Self { db, signals }
    }

    /// `user`'s notifications: newest first, or oldest first after
    /// `query.after`.
    #[tracing::instrument(name = "db.notifications.list", skip_all, fields(otel.kind = "client"))]
    pub async fn list(
        &self,
        user: UserId,
        query: &NotificationQuery,
        now: Micros,
    ) -> Result<Vec<NotificationRow>, DbErr> {
        let mut sql = Sql::new(
            self.db.get_database_backend(),
            r#"SELECT "n"."user_id", "n"."seq", "n"."project_id", "n"."task_id", "n"."kind", "n"."actor_id",
                      "n"."title", "n"."summary", "n"."create_time", "n"."read_time", "n"."snooze_time",
                      "a"."display_name" AS "actor_display_name" "#,
        );
        sql.raw(VISIBLE).push(r#" WHERE "n"."user_id" = {}"#, user.to_string());
        if query.unread_only {
            sql.raw(r#" AND "n"."read_time" IS NULL"#);
        }
        if !query.show_snoozed {
            sql.push(r#" AND ("n"."snooze_time" IS NULL OR "n"."snooze_time" <= {})"#, now);
        }
        if !query.kinds.is_empty() {
            sql.raw(r#" AND "n"."kind" IN ("#);
            for (index, kind) in query.kinds.iter().enumerate() {
                sql.push(if index == 0 { "{}" } else { ", {}" }, *kind);
            }
            sql.raw(")");
        }
        if let Some(before) = query.before {
            sql.push(r#" AND "n"."seq" < {}"#, before);
        }
        if let Some(after) = query.after {
            sql.push(r#" AND "n"."seq" > {}"#, after);
            sql.raw(r#" ORDER BY "n"."seq" ASC"#);
        } else {
            sql.raw(r#" ORDER BY "n"."seq" DESC"#);
        }
        sql.push(" LIMIT {}", query.limit as i64);
        let rows = self.db.query_all_raw(sql.build()).await?;
        rows.iter().map(notification_of).collect()
    }

    /// One of `user`'s notifications, if they can see it.
    pub async fn get(&self, user: UserId, seq: i64) -> Result<Option<NotificationRow>, DbErr> {
        let mut sql = Sql::new(
            self.db.get_database_backend(),
            r#"SELECT "n"."user_id", "n"."seq", "n"."project_id", "n"."task_id", "n"."kind", "n"."actor_id",
                      "n"."title", "n"."summary", "n"."create_time", "n"."read_time", "n"."snooze_time",
                      "a"."display_name" AS "actor_display_name" "#,
        );
        sql.raw(VISIBLE).push(r#" WHERE "n"."user_id" = {}"#, user.to_string()).push(r#" AND "n"."seq" = {}"#, seq);
        let row = self.db.query_one_raw(sql.build()).await?;
        row.as_ref().map(notification_of).transpose()
    }

    /// `user`'s unread, not snoozed notifications.
    #[tracing::instrument(name = "db.notifications.counts", skip_all, fields(otel.kind = "client"))]
    pub async fn counts(&self, user: UserId, now: Micros) -> Result<Counts, DbErr> {
        let mut sql = Sql::new(self.db.get_database_backend(), "");
        sql.push(
            r#"SELECT COUNT(*) AS "unread",
                      COALESCE(SUM(CASE WHEN "n"."kind" = {} THEN 1 ELSE 0 END), 0) AS "mentions" "#,
            NotificationKind::Mentioned.stored(),
        );
        sql.raw(VISIBLE)
            .push(r#" WHERE "n"."user_id" = {} AND "n"."read_time" IS NULL"#, user.to_string())
            .push(r#" AND ("n"."snooze_time" IS NULL OR "n"."snooze_time" <= {})"#, now);
        let row = self.db.query_one_raw(sql.build()).await?;
        let Some(row) = row else { return Ok(Counts::default()) };
        Ok(Counts { unread: row.try_get("", "unread")?, mentions: row.try_get("", "mentions")? })
    }

    /// `user`'s last notification number (0 before their first).
    pub async fn last_seq(&self, user: UserId) -> Result<i64, DbErr> {
        use super::entities::inboxes;
        let inbox = inboxes::Entity::find_by_id(user.to_string()).one(&self.db).await?;
        Ok(inbox.map_or(0, |inbox| inbox.last_seq))
    }

    /// Marks notifications read at `now`, or unread; returns how many
    /// changed.
    #[tracing::instrument(name = "db.notifications.mark", skip_all, fields(otel.kind = "client"))]
    pub async fn mark(&self, user: UserId, marks: &Marks, unread: bool, now: Micros) -> Result<u64, DbErr> {
        let mut update = notifications::Entity::update_many()
            .col_expr(
                notifications::Column::ReadTime,
                sea_orm::sea_query::Expr::value(if unread { None } else { Some(now) }),
            )
            .filter(notifications::Column::UserId.eq(user.to_string()));
        update = if unread {
            update.filter(notifications::Column::ReadTime.is_not_null())
        } else {
            update.filter(notifications::Column::ReadTime.is_null())
        };
        update = match marks {
            Marks::Numbers(numbers) => update.filter(notifications::Column::Seq.is_in(numbers.iter().copied())),
            Marks::UpTo(seq) => update.filter(notifications::Column::Seq.lte(*seq)),
        };
        let changed = update.exec(&self.db).await?.rows_affected;
        if changed > 0 {
            self.announce_change(user).await?;
        }
        Ok(changed)
    }

    /// Snoozes one notification until `until` (or ends its snooze); a
    /// snoozed notification comes back unread. `None` if there is none.
    pub async fn snooze(
        &self,
        user: UserId,
        seq: i64,
        until: Option<Micros>,
    ) -> Result<Option<NotificationRow>, DbErr> {
        let mut update = notifications::Entity::update_many()
            .col_expr(notifications::Column::SnoozeTime, sea_orm::sea_query::Expr::value(until))
            .filter(notifications::Column::UserId.eq(user.to_string()))
            .filter(notifications::Column::Seq.eq(seq));
        if until.is_some() {
            update = update.col_expr(notifications::Column::ReadTime, sea_orm::sea_query::Expr::value(None::<i64>));
        }
        if update.exec(&self.db).await?.rows_affected == 0 {
            return Ok(None);
        }
        self.announce_change(user).await?;
        self.get(user, seq).await
    }

    /// Wakes `user`'s streams here and, on PostgreSQL, on other replicas.
    async fn announce_change(&self, user: UserId) -> Result<(), DbErr> {
        self.signals.wake(Some(user));
        let backend = self.db.get_database_backend();
        if backend == DbBackend::Postgres {
            let values: [Value; 2] = [NOTIFY_CHANNEL.into(), user.to_string().into()];
            self.db.execute_raw(Statement::from_sql_and_values(backend, "SELECT pg_notify($1, $2)", values)).await?;
        }
        Ok(())
    }

    /// Whether `user` follows `task_id`.
    pub async fn subscription(&self, task_id: &str, user: UserId) -> Result<Option<task_subscriptions::Model>, DbErr> {
        task_subscriptions::Entity::find_by_id((task_id.to_owned(), user.to_string())).one(&self.db).await
    }

    /// Subscribes `user` to `task_id` by hand, or unsubscribes them.
    #[tracing::instrument(name = "db.notifications.set_subscription", skip_all, fields(otel.kind = "client"))]
    pub async fn set_subscription(
        &self,
        task_id: &str,
        user: UserId,
        subscribed: bool,
        now: Micros,
    ) -> Result<task_subscriptions::Model, DbErr> {
        let row = task_subscriptions::Model {
            task_id: task_id.to_owned(),
            user_id: user.to_string(),
            subscribed,
            reason: SubscriptionReason::Manual.stored(),
            update_time: now,
        };
        task_subscriptions::Entity::insert(task_subscriptions::ActiveModel::from(row.clone()))
            .on_conflict(
                OnConflict::columns([task_subscriptions::Column::TaskId, task_subscriptions::Column::UserId])
                    .update_columns([
                        task_subscriptions::Column::Subscribed,
                        task_subscriptions::Column::Reason,
                        task_subscriptions::Column::UpdateTime,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::summary_of;

    #[test]
    fn summaries_are_one_short_line() {
        assert_eq!(summary_of("  Looks\n\ngood   to me "), "Looks good to me");
        let long = "word ".repeat(100);
        let summary = summary_of(&long);
        assert_eq!(summary.chars().count(), 140);
        assert!(summary.ends_with('…'));
    }
}
