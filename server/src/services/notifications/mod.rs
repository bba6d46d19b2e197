//! `tasktracker.v1.NotificationService`: each user's inbox and the tasks
//! they follow.
//!
//! The inbox is the caller's own: another user's notification is NOT_FOUND,
//! and API tokens restricted to one project cannot read it (it spans every
//! project). Following a task takes read access to it. The notifications
//! themselves are made by the writes they report
//! ([`crate::storage::notifications`]).

use tasktracker_proto::v1::{self, notification_service_server::NotificationService};
use tonic::{Request, Response, Status};

use super::SharedState;
use crate::{
    auth::{Caller, Permission},
    domain::{
        NotificationName, ProjectId, TaskId, TaskName, UserId, Violations,
        page::{Cursor, page_size},
        time::{self, from_timestamp, to_optional_timestamp, to_timestamp},
    },
    email::unsubscribe::Scope,
    error::{ServiceError, ServiceResult},
    inbox::{self, NotificationStream},
    storage::{
        email::{EmailDelivery, Preferences},
        entities::task_subscriptions,
        notifications::{Marks, NotificationKind, NotificationQuery, NotificationRow},
        reminders::{MAX_LEAD_SECONDS, ReminderDefaults, TaskReminder},
    },
};

/// The shortest reminder lead time.
const MIN_LEAD_SECONDS: i64 = 60;

/// Default and largest page.
const PAGE: (u64, u64) = (50, 100);
/// Most notifications one MarkNotificationsRead names.
const MAX_MARKS: usize = 500;
/// Longest snooze.
const MAX_SNOOZE: i64 = time::seconds(90 * time::DAY);

pub struct Notifications {
    shared: SharedState,
}

impl Notifications {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }
}

/// Stored kinds are the API's numbers ([`NotificationKind::stored`]).
fn kind_to_proto(stored: i16) -> v1::NotificationKind {
    v1::NotificationKind::try_from(i32::from(stored)).unwrap_or_default()
}

/// Converts a stored notification for the API.
pub fn notification_to_proto(notification: NotificationRow) -> v1::Notification {
    let NotificationRow { row, actor_display_name } = notification;
    let user = UserId::from_stored(&row.user_id);
    let task = TaskName { project: ProjectId::from_stored(&row.project_id), task: TaskId::from_stored(&row.task_id) };
    v1::Notification {
        name: NotificationName { user, seq: row.seq }.to_string(),
        kind: kind_to_proto(row.kind) as i32,
        task: task.to_string(),
        task_title: row.title,
        // The scheduler's notifications (reminders) name no actor.
        actor: if row.actor_id.is_empty() { String::new() } else { UserId::from_stored(&row.actor_id).name() },
        actor_display_name,
        summary: row.summary,
        create_time: Some(to_timestamp(row.create_time)),
        read_time: to_optional_timestamp(row.read_time),
        snooze_time: to_optional_timestamp(row.snooze_time),
        cursor: row.seq.to_string(),
    }
}

fn subscription_to_proto(task: TaskName, subscription: Option<task_subscriptions::Model>) -> v1::TaskSubscription {
    let (subscribed, reason) = subscription.map_or((false, 0), |row| (row.subscribed, i32::from(row.reason)));
    v1::TaskSubscription { task: task.to_string(), subscribed, reason }
}

/// A notification name that must be the caller's: another user's is
/// NOT_FOUND, as if it did not exist.
fn own_notification(caller: &Caller, field: &str, name: &str) -> ServiceResult<i64> {
    let name = NotificationName::parse(field, name)?;
    if name.user != caller.user {
        return Err(ServiceError::NotFound("notification"));
    }
    Ok(name.seq)
}

/// A cursor: a notification number, or 0 before the first.
fn parse_cursor(field: &str, cursor: &str) -> ServiceResult<Option<i64>> {
    if cursor.is_empty() {
        return Ok(None);
    }
    let seq = cursor.parse::<i64>().ok().filter(|seq| *seq >= 0);
    seq.map(Some).ok_or_else(|| ServiceError::invalid(field, "is not a cursor this server issued"))
}

/// A parsed `ListNotificationsRequest`.
struct ListNotifications {
    query: NotificationQuery,
    limit: u64,
    /// What page tokens are bound to.
    fingerprint: String,
}

impl TryFrom<v1::ListNotificationsRequest> for ListNotifications {
    type Error = ServiceError;

    fn try_from(request: v1::ListNotificationsRequest) -> ServiceResult<Self> {
        let v1::ListNotificationsRequest {
            page_size: size,
            page_token,
            unread_only,
            mentions_only,
            kinds,
            show_snoozed,
        } = request;
        let mut violations = Violations::default();
        let limit = violations.check(page_size("page_size", size, PAGE.0, PAGE.1));
        let mut stored = Vec::new();
        for (index, kind) in kinds.iter().enumerate() {
            match v1::NotificationKind::try_from(*kind) {
                Ok(v1::NotificationKind::Unspecified) | Err(_) => {
                    violations.add(format!("kinds[{index}]"), format!("is not a notification kind ({kind})"));
                }
                Ok(kind) => stored.push(kind as i16),
            }
        }
        if mentions_only {
            stored = if stored.is_empty() || stored.contains(&(v1::NotificationKind::Mentioned as i16)) {
                vec![NotificationKind::Mentioned.stored()]
            } else {
                // Mentions only, of kinds that exclude mentions: nothing.
                vec![-1]
            };
        }
        stored.sort_unstable();
        stored.dedup();
        let fingerprint = format!("{unread_only}|{show_snoozed}|{stored:?}");
        let after = violations.check(Cursor::decode("page_token", &page_token, &fingerprint));
        violations.finish()?;
        let before = match after.flatten() {
            Some(cursor) => {
                Some(cursor.id.parse::<i64>().map_err(|_| ServiceError::invalid("page_token", "is not a page token"))?)
            }
            None => None,
        };
        let limit = limit.unwrap_or(PAGE.0);
        let query =
            NotificationQuery { unread_only, kinds: stored, show_snoozed, before, after: None, limit: limit + 1 };
        Ok(Self { query, limit, fingerprint })
    }
}

#[tonic::async_trait]
impl NotificationService for Notifications {
    type WatchNotificationsStream = NotificationStream;

    async fn list_notifications(
        &self,
        request: Request<v1::ListNotificationsRequest>,
    ) -> Result<Response<v1::ListNotificationsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListNotifications { query, limit, fingerprint } = request.into_inner().try_into()?;
        self.shared.authorizer.inbox(&caller, Permission::Read)?;
        let now = time::now();
        let store = &self.shared.notifications;
        let mut rows = store.list(caller.user, &query, now).await.map_err(ServiceError::from)?;
        let next_page_token = crate::domain::page::next_page(&mut rows, limit, |last| {
            Cursor::new(None, last.row.seq.to_string(), &fingerprint)
        });
        let counts = store.counts(caller.user, now).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::ListNotificationsResponse {
            notifications: rows.into_iter().map(notification_to_proto).collect(),
            next_page_token,
            unread_count: i32::try_from(counts.unread).unwrap_or(i32::MAX),
            unread_mention_count: i32::try_from(counts.mentions).unwrap_or(i32::MAX),
        }))
    }

    async fn mark_notifications_read(
        &self,
        request: Request<v1::MarkNotificationsReadRequest>,
    ) -> Result<Response<v1::MarkNotificationsReadResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::MarkNotificationsReadRequest { names, up_to_cursor, unread } = request.into_inner();
        let marks = match (names.is_empty(), up_to_cursor.is_empty()) {
            (true, true) => return Err(ServiceError::invalid("names", "name notifications or set up_to_cursor").into()),
            (false, false) => {
                return Err(ServiceError::invalid("up_to_cursor", "set either names or up_to_cursor, not both").into());
            }
            (false, true) if names.len() > MAX_MARKS => {
                return Err(ServiceError::invalid("names", format!("at most {MAX_MARKS} a call")).into());
            }
            (false, true) => {
                let mut numbers = Vec::with_capacity(names.len());
                for (index, name) in names.iter().enumerate() {
                    numbers.push(own_notification(&caller, &format!("names[{index}]"), name)?);
                }
                Marks::Numbers(numbers)
            }
            (true, false) => Marks::UpTo(parse_cursor("up_to_cursor", &up_to_cursor)?.unwrap_or(0)),
        };
        self.shared.authorizer.inbox(&caller, Permission::Write)?;
        let now = time::now();
        let store = &self.shared.notifications;
        let changed = store.mark(caller.user, &marks, unread, now).await.map_err(ServiceError::from)?;
        let counts = store.counts(caller.user, now).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::MarkNotificationsReadResponse {
            changed_count: i32::try_from(changed).unwrap_or(i32::MAX),
            unread_count: i32::try_from(counts.unread).unwrap_or(i32::MAX),
            unread_mention_count: i32::try_from(counts.mentions).unwrap_or(i32::MAX),
        }))
    }

    async fn snooze_notification(
        &self,
        request: Request<v1::SnoozeNotificationRequest>,
    ) -> Result<Response<v1::Notification>, Status> {
        let caller = Caller::of(&request)?;
        let v1::SnoozeNotificationRequest { name, snooze_time } = request.into_inner();
        let seq = own_notification(&caller, "name", &name)?;
        let now = time::now();
        let until = match snooze_time {
            None => None,
            Some(timestamp) => {
                let until = from_timestamp("snooze_time", &timestamp)?;
                if until <= now {
                    return Err(ServiceError::invalid("snooze_time", "must be in the future").into());
                }
                if until - now > MAX_SNOOZE {
                    return Err(ServiceError::invalid("snooze_time", "must be at most 90 days ahead").into());
                }
                Some(until)
            }
        };
        self.shared.authorizer.inbox(&caller, Permission::Write)?;
        let snoozed = self.shared.notifications.snooze(caller.user, seq, until).await.map_err(ServiceError::from)?;
        let snoozed = snoozed.ok_or(ServiceError::NotFound("notification"))?;
        Ok(Response::new(notification_to_proto(snoozed)))
    }

    async fn watch_notifications(
        &self,
        request: Request<v1::WatchNotificationsRequest>,
    ) -> Result<Response<Self::WatchNotificationsStream>, Status> {
        let caller = Caller::of(&request)?;
        let cursor = parse_cursor("cursor", &request.into_inner().cursor)?;
        self.shared.authorizer.inbox(&caller, Permission::Read)?;
        let latest = self.shared.notifications.last_seq(caller.user).await.map_err(ServiceError::from)?;
        let start = match cursor {
            Some(cursor) if cursor > latest => {
                return Err(ServiceError::invalid("cursor", "is ahead of the inbox").into());
            }
            Some(cursor) => cursor,
            None => latest,
        };
        Ok(Response::new(inbox::watch(self.shared.clone(), caller, start)))
    }

    async fn get_task_subscription(
        &self,
        request: Request<v1::GetTaskSubscriptionRequest>,
    ) -> Result<Response<v1::TaskSubscription>, Status> {
        let caller = Caller::of(&request)?;
        let name = TaskName::parse("task", &request.into_inner().task).map_err(ServiceError::from)?;
        let task = self.shared.authorizer.task(&caller, name, Permission::Read).await?;
        let found = self.shared.notifications.subscription(&task.task.id, caller.user).await;
        Ok(Response::new(subscription_to_proto(name, found.map_err(ServiceError::from)?)))
    }

    async fn subscribe_task(
        &self,
        request: Request<v1::SubscribeTaskRequest>,
    ) -> Result<Response<v1::TaskSubscription>, Status> {
        let caller = Caller::of(&request)?;
        let name = TaskName::parse("task", &request.into_inner().task).map_err(ServiceError::from)?;
        Ok(Response::new(self.set_subscription(&caller, name, true).await?))
    }

    async fn get_notification_settings(
        &self,
        request: Request<v1::GetNotificationSettingsRequest>,
    ) -> Result<Response<v1::NotificationSettings>, Status> {
        let caller = Caller::of(&request)?;
        own_settings(&caller, "name", &request.into_inner().name)?;
        self.shared.authorizer.inbox(&caller, Permission::Read)?;
        let defaults = self.shared.reminders.defaults(caller.user).await.map_err(ServiceError::from)?;
        let email = self.shared.email.preferences(caller.user).await.map_err(ServiceError::from)?;
        Ok(Response::new(self.settings_to_proto(caller.user, defaults, &email)))
    }

    async fn update_notification_settings(
        &self,
        request: Request<v1::UpdateNotificationSettingsRequest>,
    ) -> Result<Response<v1::NotificationSettings>, Status> {
        let caller = Caller::of(&request)?;
        let v1::UpdateNotificationSettingsRequest { settings, update_mask } = request.into_inner();
        let settings = settings.ok_or_else(|| ServiceError::invalid("settings", "is required"))?;
        own_settings(&caller, "settings.name", &settings.name)?;
        let paths = update_mask.map(|mask| mask.paths).unwrap_or_default();
        let star = paths.iter().any(|path| path == "*");
        let all = paths.is_empty() || star;
        let mut violations = Violations::default();
        for (index, path) in paths.iter().enumerate() {
            if !matches!(path.as_str(), "*" | "reminder_lead" | "reminders_off" | "email_preferences") {
                violations.add(format!("update_mask.paths[{index}]"), format!("`{path}` cannot be updated"));
            }
        }
        let set_email = star
            || paths.iter().any(|path| path == "email_preferences")
            || (paths.is_empty() && !settings.email_preferences.is_empty());
        let email_changes = if set_email {
            violations.check(email_changes(&settings.email_preferences)).unwrap_or_default()
        } else {
            Vec::new()
        };
        violations.finish().map_err(ServiceError::from)?;
        let set_lead = all || paths.iter().any(|path| path == "reminder_lead");
        let set_off = all || paths.iter().any(|path| path == "reminders_off");
        let lead = match (set_lead, &settings.reminder_lead) {
            (false, _) => None,
            (true, None) => return Err(ServiceError::invalid("settings.reminder_lead", "is required").into()),
            (true, Some(lead)) => Some(lead_seconds("settings.reminder_lead", lead)?),
        };
        self.shared.authorizer.inbox(&caller, Permission::Write)?;
        let mut defaults = self.shared.reminders.defaults(caller.user).await.map_err(ServiceError::from)?;
        defaults.lead_seconds = lead.unwrap_or(defaults.lead_seconds);
        if set_off {
            defaults.off = settings.reminders_off;
        }
        let now = time::now();
        self.shared.reminders.set_defaults(caller.user, defaults, now).await.map_err(ServiceError::from)?;
        let email = &self.shared.email;
        email.set_preferences(caller.user, &email_changes, now).await.map_err(ServiceError::from)?;
        let preferences = email.preferences(caller.user).await.map_err(ServiceError::from)?;
        Ok(Response::new(self.settings_to_proto(caller.user, defaults, &preferences)))
    }

    async fn unsubscribe_email(
        &self,
        request: Request<v1::UnsubscribeEmailRequest>,
    ) -> Result<Response<v1::UnsubscribeEmailResponse>, Status> {
        let v1::UnsubscribeEmailRequest { token } = request.into_inner();
        if token.is_empty() {
            return Err(ServiceError::invalid("token", "is required").into());
        }
        // One answer for every bad token: nothing to learn by trying.
        let (user, scope) = self
            .shared
            .unsubscribe
            .verify(&token)
            .ok_or_else(|| ServiceError::invalid("token", "is not an unsubscribe link this server made"))?;
        let email = &self.shared.email;
        let kinds: Vec<NotificationKind> = match scope {
            Scope::Kind(kind) => vec![kind],
            Scope::Digest => {
                let preferences = email.preferences(user).await.map_err(ServiceError::from)?;
                preferences
                    .into_iter()
                    .filter(|(_, delivery)| *delivery == EmailDelivery::Digest)
                    .map(|(kind, _)| kind)
                    .collect()
            }
        };
        let changes: Vec<_> = kinds.iter().map(|kind| (*kind, Some(EmailDelivery::Off))).collect();
        email.set_preferences(user, &changes, time::now()).await.map_err(ServiceError::from)?;
        tracing::info!(%user, count = kinds.len(), "email unsubscribed by link");
        Ok(Response::new(v1::UnsubscribeEmailResponse {
            kinds: kinds.into_iter().map(|kind| i32::from(kind.stored())).collect(),
        }))
    }

    async fn get_task_reminder(
        &self,
        request: Request<v1::GetTaskReminderRequest>,
    ) -> Result<Response<v1::TaskReminder>, Status> {
        let caller = Caller::of(&request)?;
        let name = TaskName::parse("task", &request.into_inner().task).map_err(ServiceError::from)?;
        let task = self.shared.authorizer.task(&caller, name, Permission::Read).await?;
        Ok(Response::new(self.task_reminder_of(&caller, name, &task.task.id).await?))
    }

    async fn update_task_reminder(
        &self,
        request: Request<v1::UpdateTaskReminderRequest>,
    ) -> Result<Response<v1::TaskReminder>, Status> {
        let caller = Caller::of(&request)?;
        let v1::UpdateTaskReminderRequest { reminder, reset } = request.into_inner();
        let reminder = reminder.ok_or_else(|| ServiceError::invalid("reminder", "is required"))?;
        let name = TaskName::parse("reminder.task", &reminder.task).map_err(ServiceError::from)?;
        let own = if reset {
            None
        } else {
            let lead = reminder.lead.as_ref().map(|lead| lead_seconds("reminder.lead", lead)).transpose()?;
            Some(TaskReminder { lead_seconds: lead, off: reminder.off })
        };
        // One's own reminder, like following, takes read access only.
        let task = self.shared.authorizer.task(&caller, name, Permission::Read).await?;
        let store = &self.shared.reminders;
        store.set_task_reminder(&task.task.id, caller.user, own, time::now()).await.map_err(ServiceError::from)?;
        Ok(Response::new(self.task_reminder_of(&caller, name, &task.task.id).await?))
    }

    async fn unsubscribe_task(
        &self,
        request: Request<v1::UnsubscribeTaskRequest>,
    ) -> Result<Response<v1::TaskSubscription>, Status> {
        let caller = Caller::of(&request)?;
        let name = TaskName::parse("task", &request.into_inner().task).map_err(ServiceError::from)?;
        Ok(Response::new(self.set_subscription(&caller, name, false).await?))
    }
}

/// A lead time from the API: whole seconds from a minute to 30 days.
fn lead_seconds(field: &str, lead: &prost_types::Duration) -> ServiceResult<i64> {
    if lead.nanos != 0 || !(MIN_LEAD_SECONDS..=MAX_LEAD_SECONDS).contains(&lead.seconds) {
        return Err(ServiceError::invalid(field, "must be whole seconds from 1 minute to 30 days"));
    }
    Ok(lead.seconds)
}

fn duration(seconds: i64) -> prost_types::Duration {
    prost_types::Duration { seconds, nanos: 0 }
}

/// `users/{user}/notificationSettings`, which must be the caller's own.
fn own_settings(caller: &Caller, field: &str, name: &str) -> ServiceResult<()> {
    let user =
        name.strip_suffix("/notificationSettings").and_then(|user| UserId::parse_name(field, user).ok()).ok_or_else(
            || ServiceError::invalid(field, "must be a resource name of the form `users/{user}/notificationSettings`"),
        )?;
    if user != caller.user {
        return Err(ServiceError::NotFound("notification settings"));
    }
    Ok(())
}

/// The API's email delivery.
fn delivery_to_proto(delivery: EmailDelivery) -> v1::EmailDelivery {
    match delivery {
        EmailDelivery::Immediate => v1::EmailDelivery::Immediate,
        EmailDelivery::Digest => v1::EmailDelivery::DailyDigest,
        EmailDelivery::Off => v1::EmailDelivery::Off,
    }
}

/// The changes an update's `email_preferences` ask for: each kind once,
/// UNSPECIFIED delivery meaning the kind's default.
fn email_changes(
    preferences: &[v1::EmailPreference],
) -> Result<Vec<(NotificationKind, Option<EmailDelivery>)>, crate::domain::FieldViolation> {
    let mut changes: Vec<(NotificationKind, Option<EmailDelivery>)> = Vec::with_capacity(preferences.len());
    for (index, preference) in preferences.iter().enumerate() {
        let field = format!("settings.email_preferences[{index}]");
        let kind = i16::try_from(preference.kind).ok().and_then(NotificationKind::from_stored).ok_or_else(|| {
            crate::domain::FieldViolation::new(
                format!("{field}.kind"),
                format!("is not a notification kind ({})", preference.kind),
            )
        })?;
        if changes.iter().any(|(seen, _)| *seen == kind) {
            return Err(crate::domain::FieldViolation::new(format!("{field}.kind"), "names a kind a second time"));
        }
        let delivery = match v1::EmailDelivery::try_from(preference.delivery) {
            Ok(v1::EmailDelivery::Unspecified) => None,
            Ok(v1::EmailDelivery::Immediate) => Some(EmailDelivery::Immediate),
            Ok(v1::EmailDelivery::DailyDigest) => Some(EmailDelivery::Digest),
            Ok(v1::EmailDelivery::Off) => Some(EmailDelivery::Off),
            Err(_) => {
                return Err(crate::domain::FieldViolation::new(
                    format!("{field}.delivery"),
                    format!("is not an email delivery ({})", preference.delivery),
                ));
            }
        };
        changes.push((kind, delivery));
    }
    Ok(changes)
}

impl Notifications {
    fn settings_to_proto(
        &self,
        user: UserId,
        defaults: ReminderDefaults,
        email: &Preferences,
    ) -> v1::NotificationSettings {
        v1::NotificationSettings {
            name: format!("{}/notificationSettings", user.name()),
            reminder_lead: Some(duration(defaults.lead_seconds)),
            reminders_off: defaults.off,
            email_preferences: email
                .iter()
                .map(|(kind, delivery)| v1::EmailPreference {
                    kind: i32::from(kind.stored()),
                    delivery: delivery_to_proto(*delivery) as i32,
                })
                .collect(),
            email_enabled: self.shared.mailer.is_some(),
        }
    }

    /// The caller's reminder for `task` as the API shows it.
    async fn task_reminder_of(
        &self,
        caller: &Caller,
        name: TaskName,
        task_id: &str,
    ) -> ServiceResult<v1::TaskReminder> {
        let own = self.shared.reminders.task_reminder(task_id, caller.user).await?;
        let defaults = self.shared.reminders.defaults(caller.user).await?;
        Ok(match own {
            Some(own) => v1::TaskReminder {
                task: name.to_string(),
                lead: Some(duration(own.lead_seconds.unwrap_or(defaults.lead_seconds))),
                off: own.off,
                overridden: true,
            },
            None => v1::TaskReminder {
                task: name.to_string(),
                lead: Some(duration(defaults.lead_seconds)),
                off: defaults.off,
                overridden: false,
            },
        })
    }

    /// Following a task is the caller's own business: read access to the
    /// task is enough, also for viewers.
    async fn set_subscription(
        &self,
        caller: &Caller,
        name: TaskName,
        subscribed: bool,
    ) -> ServiceResult<v1::TaskSubscription> {
        let task = self.shared.authorizer.task(caller, name, Permission::Read).await?;
        let store = &self.shared.notifications;
        let row = store.set_subscription(&task.task.id, caller.user, subscribed, time::now()).await?;
        Ok(subscription_to_proto(name, Some(row)))
    }
}
