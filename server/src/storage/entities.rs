//! SeaORM entities, one module per table (see `tasktracker-migrations`).
//! Times are microseconds since the Unix epoch; ids are UUIDv7 strings.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub email: String,
        pub display_name: String,
        pub password_hash: String,
        pub create_time: i64,
        /// IANA zone the user's times are shown in; empty until chosen.
        pub time_zone: String,
    }

    no_relations!();
}

pub mod sessions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        pub refresh_hash: String,
        pub refresh_expire_time: i64,
        pub expire_time: i64,
        pub create_time: i64,
        pub revoke_time: Option<i64>,
        /// The `User-Agent` the session was opened with (at most 512
        /// characters); none for sessions opened before it was kept.
        pub user_agent: Option<String>,
        /// The client's address when it was opened or last refreshed.
        pub client_ip: Option<String>,
        /// When it was last refreshed (or opened).
        pub last_seen_time: Option<i64>,
    }

    no_relations!();
}

pub mod retired_refresh_tokens {
    use sea_orm::entity::prelude::*;

    /// A refresh token digest its session rotated away from.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "retired_refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub refresh_hash: String,
        pub session_id: String,
        pub retire_time: i64,
    }

    no_relations!();
}

pub mod totp_credentials {
    use sea_orm::entity::prelude::*;

    /// A user's TOTP secret: pending until `confirm_time` is set.
    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "totp_credentials")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        /// Base32. Never returned after enrolment, never logged (no `Debug`).
        pub secret: String,
        pub create_time: i64,
        pub confirm_time: Option<i64>,
        /// The last time step whose code was accepted (replays are refused).
        pub last_step: Option<i64>,
    }

    /// The secret stays out of logs and panics.
    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TotpCredential")
                .field("user_id", &self.user_id)
                .field("secret", &"<redacted>")
                .field("confirm_time", &self.confirm_time)
                .field("last_step", &self.last_step)
                .finish_non_exhaustive()
        }
    }

    no_relations!();
}

pub mod recovery_codes {
    use sea_orm::entity::prelude::*;

    /// One of a user's one-time recovery codes, as a SHA-256 digest.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recovery_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_hash: String,
        pub create_time: i64,
        pub use_time: Option<i64>,
    }

    no_relations!();
}

pub mod api_tokens {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        pub display_name: String,
        pub scope: i16,
        pub project_id: Option<String>,
        pub secret_hash: String,
        pub create_time: i64,
        pub expire_time: i64,
        pub last_use_time: Option<i64>,
        pub revoke_time: Option<i64>,
    }

    no_relations!();
}

pub mod projects {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "projects")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub title: String,
        pub description: String,
        pub creator_id: String,
        pub request_id: Option<String>,
        /// SHA-256 of the create request `request_id` came with; none for rows
        /// made before fingerprints were kept.
        pub request_hash: Option<String>,
        pub create_time: i64,
        pub update_time: i64,
        pub archive_time: Option<i64>,
        pub version: i64,
        /// Sequence number of the project's latest task event.
        pub event_seq: i64,
        /// Refuse to put a task into a state at its WIP limit.
        pub enforce_wip_limits: bool,
        /// Refuse to complete a task while a task that blocks it is open.
        pub require_blockers_done: bool,
        /// Refuse project access to members without two-factor
        /// authentication.
        pub require_two_factor: bool,
    }

    no_relations!();
}

pub mod memberships {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "memberships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub project_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub role: i16,
        pub create_time: i64,
    }

    no_relations!();
}

pub mod invitations {
    use sea_orm::entity::prelude::*;

    /// An invitation to a project, addressed to an email or a user id.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invitations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        /// Empty when addressed to a user id.
        pub email: String,
        /// Set when addressed to a user id (which may not exist).
        pub invitee_id: Option<String>,
        pub role: i16,
        pub inviter_id: String,
        /// `tasktracker.v1.InvitationState`, as stored: PENDING until
        /// answered (expiry is read from `expire_time`).
        pub state: i16,
        /// The invitee (email or `users/{id}`) while pending; `NULL` after.
        pub pending_key: Option<String>,
        pub create_time: i64,
        pub expire_time: i64,
        pub resolve_time: Option<i64>,
    }

    no_relations!();
}

pub mod tasks {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tasks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        pub title: String,
        pub description: String,
        pub status: i16,
        pub priority: i16,
        pub start_time: Option<i64>,
        pub due_time: Option<i64>,
        pub position: i64,
        pub creator_id: String,
        pub request_id: Option<String>,
        /// SHA-256 of the create request `request_id` came with; none for rows
        /// made before fingerprints were kept.
        pub request_hash: Option<String>,
        pub create_time: i64,
        pub update_time: i64,
        pub complete_time: Option<i64>,
        pub delete_time: Option<i64>,
        pub version: i64,
        /// The workflow state; NULL in rows the previous release wrote, and
        /// not trusted where it disagrees with `status` (see
        /// [`crate::storage::states`]).
        pub state_id: Option<String>,
        /// The task this one is a subtask of (same project); NULL for a
        /// top-level task, and in every row the previous release inserts.
        pub parent_id: Option<String>,
        /// The series this task is an occurrence of; NULL for a one-off task.
        pub series_id: Option<String>,
        /// The rule instant the occurrence stands for.
        pub occurrence_time: Option<i64>,
        /// Set once the occurrence was skipped.
        pub skip_time: Option<i64>,
        /// The occurrence this one follows (unique: one successor each).
        pub previous_occurrence_id: Option<String>,
    }

    no_relations!();
}

pub mod task_series {
    use sea_orm::entity::prelude::*;

    /// A recurring task's rule and template.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_series")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        /// The RRULE value, normalised.
        pub rule: String,
        /// IANA time zone name.
        pub time_zone: String,
        /// `RecurrenceMode`, as stored.
        pub mode: i16,
        /// The rule's DTSTART: the first occurrence's due time, or that of
        /// the occurrence the rule last changed on.
        pub anchor_time: i64,
        /// JSON: what the next occurrences copy.
        pub template: String,
        pub create_time: i64,
        pub update_time: i64,
        /// Set once the recurrence was removed: no more occurrences.
        pub end_time: Option<i64>,
    }

    no_relations!();
}

pub mod workflow_states {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workflow_states")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        pub display_name: String,
        pub color: String,
        /// `StateCategory`, as stored.
        pub category: i16,
        /// The `tasks.status` the category stands for.
        pub status: i16,
        pub position: i64,
        pub wip_limit: Option<i32>,
        pub create_time: i64,
        pub update_time: i64,
        pub archive_time: Option<i64>,
        pub version: i64,
    }

    no_relations!();
}

pub mod custom_fields {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "custom_fields")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        pub key: String,
        pub display_name: String,
        /// `CustomFieldType`, as stored (its proto number).
        pub kind: i16,
        /// A JSON array of strings: a select's options, in order.
        pub options: String,
        pub number_min: Option<f64>,
        pub number_max: Option<f64>,
        pub show_on_card: bool,
        pub position: i64,
        pub create_time: i64,
        pub update_time: i64,
        pub version: i64,
    }

    no_relations!();
}

pub mod saved_views {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "saved_views")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        pub creator_id: String,
        pub display_name: String,
        pub filter: String,
        pub order_by: String,
        /// `ViewLayout`, as stored (its proto number).
        pub layout: i16,
        /// `ViewGrouping`, as stored (its proto number).
        pub group_by: i16,
        pub group_by_field: String,
        /// A JSON array of strings: the table's columns, in order.
        pub columns: String,
        pub shared: bool,
        pub create_time: i64,
        pub update_time: i64,
        pub version: i64,
    }

    no_relations!();
}

pub mod task_field_values {
    use sea_orm::entity::prelude::*;

    /// One value of a task's custom field: the column of the field's type
    /// is set. A multi-select value is one row per option (`ordinal` 0, 1, …).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_field_values")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub task_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub field_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub ordinal: i16,
        pub project_id: String,
        pub text_value: Option<String>,
        pub number_value: Option<f64>,
        pub time_value: Option<i64>,
        pub bool_value: Option<bool>,
    }

    no_relations!();
}

pub mod task_assignees {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_assignees")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub task_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
    }

    no_relations!();
}

pub mod task_labels {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_labels")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub task_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub label: String,
    }

    no_relations!();
}

pub mod comments {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "comments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub task_id: String,
        pub author_id: String,
        pub body: String,
        pub create_time: i64,
        pub edit_time: Option<i64>,
        pub delete_time: Option<i64>,
        /// Bumped by each change; the etag.
        pub version: i64,
    }

    no_relations!();
}

pub mod task_activities {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_activities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub task_id: String,
        pub actor_id: String,
        pub kind: i16,
        /// JSON array of `{field, old_value, new_value}`.
        pub changes: String,
        pub time: i64,
    }

    no_relations!();
}

pub mod task_events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub project_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub task_id: String,
        pub actor_id: String,
        pub kind: i16,
        /// The task after the change, as an encoded `tasktracker.v1.Task`.
        pub task: Vec<u8>,
        pub time: i64,
    }

    no_relations!();
}

pub mod task_relations {
    use sea_orm::entity::prelude::*;

    /// One side of a relation between two tasks; the other side is the row
    /// with the same `id` under `other_task_id`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_relations")]
    pub struct Model {
        /// The task whose side this is.
        #[sea_orm(primary_key, auto_increment = false)]
        pub task_id: String,
        /// The relation's id, shared by both sides.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub other_task_id: String,
        /// `RelationKind` as seen from `task_id`, as stored.
        pub kind: i16,
        pub creator_id: String,
        pub create_time: i64,
    }

    no_relations!();
}

pub mod task_subscriptions {
    use sea_orm::entity::prelude::*;

    /// Whether a user follows a task, and why.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub task_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        /// False once unsubscribed by hand.
        pub subscribed: bool,
        /// `SubscriptionReason`, as stored.
        pub reason: i16,
        pub update_time: i64,
    }

    no_relations!();
}

pub mod inboxes {
    use sea_orm::entity::prelude::*;

    /// A user's last notification number.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "inboxes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub last_seq: i64,
    }

    no_relations!();
}

pub mod notifications {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        /// The notification's number in its user's inbox, from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub project_id: String,
        pub task_id: String,
        /// `NotificationKind`, as stored.
        pub kind: i16,
        pub actor_id: String,
        /// The task's title when the notification was made.
        pub title: String,
        pub summary: String,
        pub create_time: i64,
        pub read_time: Option<i64>,
        pub snooze_time: Option<i64>,
    }

    no_relations!();
}

pub mod notification_settings {
    use sea_orm::entity::prelude::*;

    /// A user's notification settings; no row means the defaults.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notification_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub reminder_lead_seconds: i64,
        pub reminders_off: bool,
        pub update_time: i64,
    }

    no_relations!();
}

pub mod task_reminders {
    use sea_orm::entity::prelude::*;

    /// One user's reminder setting for one task.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_reminders")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub task_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        /// `None`: the user's default lead.
        pub lead_seconds: Option<i64>,
        pub off: bool,
        pub update_time: i64,
    }

    no_relations!();
}

pub mod webhooks {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhooks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        pub url: String,
        /// JSON array of `WebhookEventKind` numbers; empty means every kind.
        pub event_kinds: String,
        pub secret: String,
        pub paused: bool,
        pub pause_reason: String,
        pub creator_id: String,
        /// The last feed seq turned into deliveries.
        pub feed_cursor: i64,
        /// The last delivery number taken.
        pub delivery_seq: i64,
        pub create_time: i64,
        pub update_time: i64,
        pub version: i64,
    }

    no_relations!();
}

pub mod webhook_deliveries {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub webhook_id: String,
        /// Place in the webhook's queue: lower numbers go first.
        pub number: i64,
        pub event_seq: i64,
        pub task_id: String,
        pub kind: i16,
        /// The JSON request body.
        pub body: String,
        /// `WebhookDeliveryOutcome`, as stored.
        pub outcome: i16,
        pub attempts: i32,
        pub status_code: i32,
        pub error: String,
        pub latency_ms: i64,
        pub create_time: i64,
        pub attempt_time: Option<i64>,
        pub next_attempt_time: i64,
        pub first_failure_time: Option<i64>,
        pub lease_until: i64,
        pub lease_token: Option<String>,
        pub redelivery_of: Option<String>,
    }

    no_relations!();
}

pub mod webhook_attempts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub delivery_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub attempt: i32,
        pub time: i64,
        pub status_code: i32,
        pub error: String,
        pub latency_ms: i64,
    }

    no_relations!();
}

pub mod email_preferences {
    use sea_orm::entity::prelude::*;

    /// One user's email delivery for one notification kind; no row means
    /// the kind's default.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_preferences")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: i16,
        pub delivery: i16,
        pub update_time: i64,
    }

    no_relations!();
}

pub mod invitation_emails {
    use sea_orm::entity::prelude::*;

    /// An invitation to email (the invitation's outbox row).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invitation_emails")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub invitation_id: String,
        /// As `email_outbox.state` (`storage::email::OutboxState`).
        pub state: i16,
        pub attempts: i32,
        pub next_attempt_time: i64,
        /// Claimed by a sender until then.
        pub lease_until: Option<i64>,
        pub last_error: Option<String>,
        pub create_time: i64,
        pub finish_time: Option<i64>,
    }

    no_relations!();
}

pub mod email_outbox {
    use sea_orm::entity::prelude::*;

    /// A notification to email (keyed like the notification).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub kind: i16,
        /// 0 pending, 1 sent, 2 failed, 3 dropped (`storage::email::OutboxState`).
        pub state: i16,
        pub attempts: i32,
        pub next_attempt_time: i64,
        /// Claimed by a sender until then.
        pub lease_until: Option<i64>,
        pub last_error: Option<String>,
        pub create_time: i64,
        pub finish_time: Option<i64>,
    }

    no_relations!();
}

pub mod oidc_logins {
    use sea_orm::entity::prelude::*;

    /// A sign-in started with an identity provider, keyed by its state's
    /// digest; `use_time` is set once, when it completes.
    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oidc_logins")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub state_hash: String,
        pub provider: String,
        pub nonce: String,
        /// Never logged (no `Debug`).
        pub pkce_verifier: String,
        pub redirect_uri: String,
        pub create_time: i64,
        pub expire_time: i64,
        pub use_time: Option<i64>,
    }

    /// The nonce and the verifier stay out of logs and panics.
    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("OidcLogin")
                .field("provider", &self.provider)
                .field("redirect_uri", &self.redirect_uri)
                .field("expire_time", &self.expire_time)
                .field("use_time", &self.use_time)
                .finish_non_exhaustive()
        }
    }

    no_relations!();
}

pub mod user_identities {
    use sea_orm::entity::prelude::*;

    /// A provider's subject, linked to a user.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_identities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject: String,
        pub user_id: String,
        /// The email the provider vouched for when the identity was linked.
        pub email: String,
        pub create_time: i64,
        pub last_sign_in_time: i64,
    }

    no_relations!();
}

pub mod import_operations {
    use sea_orm::entity::prelude::*;

    /// One import (a long-running operation) and its progress.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "import_operations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        pub creator_id: String,
        /// `ImportFormat`, as stored.
        pub format: i16,
        /// [`crate::storage::imports::OperationState`], as stored.
        pub state: i16,
        pub cancel_requested: bool,
        pub rows_total: i64,
        pub rows_done: i64,
        pub rows_imported: i64,
        pub rows_skipped: i64,
        pub errors_total: i64,
        /// JSON array of the first row errors.
        pub row_errors: String,
        /// gRPC code of a failed or cancelled operation; 0 otherwise.
        pub error_code: i32,
        pub error_message: String,
        pub create_time: i64,
        pub update_time: i64,
        /// Stamped by the running import after every batch.
        pub heartbeat_time: i64,
    }

    no_relations!();
}

pub mod import_items {
    use sea_orm::entity::prelude::*;

    /// A task an import made, by its source and its id there.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "import_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub project_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub source_id: String,
        pub task_id: String,
    }

    no_relations!();
}

pub mod attachments {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attachments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub project_id: String,
        pub task_id: String,
        pub filename: String,
        pub content_type: String,
        pub size_bytes: i64,
        /// Lower-case hex.
        pub sha256: String,
        /// 1 pending, 2 active (`AttachmentState`).
        pub state: i16,
        /// Where the bytes are in the object store.
        pub object_key: String,
        pub creator_id: String,
        pub create_time: i64,
        pub confirm_time: Option<i64>,
        /// When a pending upload is discarded.
        pub expire_time: i64,
        pub delete_time: Option<i64>,
    }

    no_relations!();
}
