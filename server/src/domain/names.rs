//! Resource names (AIP-122): `projects/{project}/tasks/{task}` and friends.

use std::fmt;

use uuid::Uuid;

use super::FieldViolation;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Reads an id stored in the database.
            pub fn from_stored(text: &str) -> Self {
                Self(Uuid::parse_str(text).unwrap_or_default())
            }

            #[allow(dead_code, reason = "not every id appears in a resource name")]
            fn parse_segment(segment: &str) -> Option<Self> {
                // Only the canonical hyphenated lowercase form: one name, one spelling.
                let id = Uuid::parse_str(segment).ok()?;
                (id.hyphenated().to_string() == segment).then_some(Self(id))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(formatter)
            }
        }
    };
}

id_type!(
    /// Identifies a project.
    ProjectId
);
id_type!(
    /// Identifies a task.
    TaskId
);
id_type!(
    /// Identifies a user.
    UserId
);
id_type!(
    /// Identifies an API token.
    ApiTokenId
);
id_type!(
    /// Identifies a comment.
    CommentId
);
id_type!(
    /// Identifies an entry in a task's history.
    ActivityId
);
id_type!(
    /// Identifies a signed-in session.
    SessionId
);
id_type!(
    /// Identifies a workflow state.
    StateId
);
id_type!(
    /// Identifies a custom field.
    FieldId
);
id_type!(
    /// Identifies a relation between two tasks (both its sides).
    RelationId
);
id_type!(
    /// Identifies a saved view.
    ViewId
);
id_type!(
    /// Identifies an invitation to a project.
    InvitationId
);
id_type!(
    /// Identifies a webhook.
    WebhookId
);
id_type!(
    /// Identifies a webhook delivery.
    DeliveryId
);
id_type!(
    /// Identifies a long-running operation (an import).
    OperationId
);
id_type!(
    /// Identifies a file attached to a task.
    AttachmentId
);

fn malformed(field: &str, pattern: &str) -> FieldViolation {
    FieldViolation::new(field, format!("must be a resource name of the form `{pattern}`"))
}

/// Splits `name` into segments and checks the literal ones.
fn segments<'a, const N: usize>(name: &'a str, literals: [&str; N]) -> Option<[&'a str; N]> {
    let mut parts = name.split('/');
    let mut ids = [""; N];
    for (index, literal) in literals.iter().enumerate() {
        if parts.next()? != *literal {
            return None;
        }
        ids[index] = parts.next()?;
    }
    parts.next().is_none().then_some(ids)
}

impl ProjectId {
    /// Parses `projects/{project}` from request field `field`.
    pub fn parse_name(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects"])
            .and_then(|[project]| Self::parse_segment(project))
            .ok_or_else(|| malformed(field, "projects/{project}"))
    }

    pub fn name(&self) -> String {
        format!("projects/{self}")
    }
}

impl UserId {
    /// Parses `users/{user}` from request field `field`.
    pub fn parse_name(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["users"])
            .and_then(|[user]| Self::parse_segment(user))
            .ok_or_else(|| malformed(field, "users/{user}"))
    }

    pub fn name(&self) -> String {
        format!("users/{self}")
    }
}

/// `projects/{project}/tasks/{task}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskName {
    pub project: ProjectId,
    pub task: TaskId,
}

impl TaskName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "tasks"])
            .and_then(|[project, task]| {
                Some(Self { project: ProjectId::parse_segment(project)?, task: TaskId::parse_segment(task)? })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/tasks/{task}"))
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "projects/{}/tasks/{}", self.project, self.task)
    }
}

/// `projects/{project}/states/{state}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateName {
    pub project: ProjectId,
    pub state: StateId,
}

impl StateName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "states"])
            .and_then(|[project, state]| {
                Some(Self { project: ProjectId::parse_segment(project)?, state: StateId::parse_segment(state)? })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/states/{state}"))
    }

    /// Parses a state of `project` (same project, or a violation of `field`).
    pub fn parse_in(field: &str, name: &str, project: ProjectId) -> Result<Self, FieldViolation> {
        let state = Self::parse(field, name)?;
        if state.project != project {
            return Err(FieldViolation::new(field, "must be a state of the same project"));
        }
        Ok(state)
    }
}

impl fmt::Display for StateName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "projects/{}/states/{}", self.project, self.state)
    }
}

/// `projects/{project}/fields/{field}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldName {
    pub project: ProjectId,
    pub field: FieldId,
}

impl FieldName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "fields"])
            .and_then(|[project, id]| {
                Some(Self { project: ProjectId::parse_segment(project)?, field: FieldId::parse_segment(id)? })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/fields/{field}"))
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "projects/{}/fields/{}", self.project, self.field)
    }
}

/// `projects/{project}/views/{view}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewName {
    pub project: ProjectId,
    pub view: ViewId,
}

impl ViewName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "views"])
            .and_then(|[project, id]| {
                Some(Self { project: ProjectId::parse_segment(project)?, view: ViewId::parse_segment(id)? })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/views/{view}"))
    }
}

impl fmt::Display for ViewName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "projects/{}/views/{}", self.project, self.view)
    }
}

/// `projects/{project}/webhooks/{webhook}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookName {
    pub project: ProjectId,
    pub webhook: WebhookId,
}

impl WebhookName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "webhooks"])
            .and_then(|[project, id]| {
                Some(Self { project: ProjectId::parse_segment(project)?, webhook: WebhookId::parse_segment(id)? })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/webhooks/{webhook}"))
    }
}

impl fmt::Display for WebhookName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "projects/{}/webhooks/{}", self.project, self.webhook)
    }
}

/// `projects/{project}/operations/{operation}`: a long-running operation
/// (AIP-151) of the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationName {
    pub project: ProjectId,
    pub operation: OperationId,
}

impl OperationName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "operations"])
            .and_then(|[project, id]| {
                Some(Self { project: ProjectId::parse_segment(project)?, operation: OperationId::parse_segment(id)? })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/operations/{operation}"))
    }
}

impl fmt::Display for OperationName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "projects/{}/operations/{}", self.project, self.operation)
    }
}

/// `projects/{project}/webhooks/{webhook}/deliveries/{delivery}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryName {
    pub webhook: WebhookName,
    pub delivery: DeliveryId,
}

impl DeliveryName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "webhooks", "deliveries"])
            .and_then(|[project, webhook, id]| {
                Some(Self {
                    webhook: WebhookName {
                        project: ProjectId::parse_segment(project)?,
                        webhook: WebhookId::parse_segment(webhook)?,
                    },
                    delivery: DeliveryId::parse_segment(id)?,
                })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/webhooks/{webhook}/deliveries/{delivery}"))
    }
}

impl fmt::Display for DeliveryName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/deliveries/{}", self.webhook, self.delivery)
    }
}

/// `projects/{project}/tasks/{task}/relations/{relation}`: one side of a
/// relation, under the task whose side it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationName {
    pub task: TaskName,
    pub relation: RelationId,
}

impl RelationName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "tasks", "relations"])
            .and_then(|[project, task, relation]| {
                Some(Self {
                    task: TaskName { project: ProjectId::parse_segment(project)?, task: TaskId::parse_segment(task)? },
                    relation: RelationId::parse_segment(relation)?,
                })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/tasks/{task}/relations/{relation}"))
    }
}

impl fmt::Display for RelationName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/relations/{}", self.task, self.relation)
    }
}

/// `projects/{project}/tasks/{task}/comments/{comment}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentName {
    pub task: TaskName,
    pub comment: CommentId,
}

impl CommentName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "tasks", "comments"])
            .and_then(|[project, task, comment]| {
                Some(Self {
                    task: TaskName { project: ProjectId::parse_segment(project)?, task: TaskId::parse_segment(task)? },
                    comment: CommentId::parse_segment(comment)?,
                })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/tasks/{task}/comments/{comment}"))
    }
}

impl fmt::Display for CommentName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/comments/{}", self.task, self.comment)
    }
}

/// `projects/{project}/tasks/{task}/attachments/{attachment}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentName {
    pub task: TaskName,
    pub attachment: AttachmentId,
}

impl AttachmentName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "tasks", "attachments"])
            .and_then(|[project, task, attachment]| {
                Some(Self {
                    task: TaskName { project: ProjectId::parse_segment(project)?, task: TaskId::parse_segment(task)? },
                    attachment: AttachmentId::parse_segment(attachment)?,
                })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/tasks/{task}/attachments/{attachment}"))
    }
}

impl fmt::Display for AttachmentName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/attachments/{}", self.task, self.attachment)
    }
}

/// `projects/{project}/members/{user}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberName {
    pub project: ProjectId,
    pub user: UserId,
}

impl MemberName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "members"])
            .and_then(|[project, user]| {
                Some(Self { project: ProjectId::parse_segment(project)?, user: UserId::parse_segment(user)? })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/members/{user}"))
    }
}

impl fmt::Display for MemberName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "projects/{}/members/{}", self.project, self.user)
    }
}

/// `users/{user}/apiTokens/{api_token}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTokenName {
    pub user: UserId,
    pub token: ApiTokenId,
}

impl ApiTokenName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["users", "apiTokens"])
            .and_then(|[user, token]| {
                Some(Self { user: UserId::parse_segment(user)?, token: ApiTokenId::parse_segment(token)? })
            })
            .ok_or_else(|| malformed(field, "users/{user}/apiTokens/{api_token}"))
    }
}

impl fmt::Display for ApiTokenName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "users/{}/apiTokens/{}", self.user, self.token)
    }
}

/// `projects/{project}/invitations/{invitation}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationName {
    pub project: ProjectId,
    pub invitation: InvitationId,
}

impl InvitationName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["projects", "invitations"])
            .and_then(|[project, id]| {
                Some(Self { project: ProjectId::parse_segment(project)?, invitation: InvitationId::parse_segment(id)? })
            })
            .ok_or_else(|| malformed(field, "projects/{project}/invitations/{invitation}"))
    }
}

impl fmt::Display for InvitationName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "projects/{}/invitations/{}", self.project, self.invitation)
    }
}

/// `users/{user}/sessions/{session}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionName {
    pub user: UserId,
    pub session: SessionId,
}

impl SessionName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["users", "sessions"])
            .and_then(|[user, session]| {
                Some(Self { user: UserId::parse_segment(user)?, session: SessionId::parse_segment(session)? })
            })
            .ok_or_else(|| malformed(field, "users/{user}/sessions/{session}"))
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "users/{}/sessions/{}", self.user, self.session)
    }
}

/// `users/{user}/notifications/{number}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationName {
    pub user: UserId,
    /// The notification's number in its user's inbox (from 1).
    pub seq: i64,
}

impl NotificationName {
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
        segments(name, ["users", "notifications"])
            .and_then(|[user, seq]| {
                // Digits only, canonical: one name, one spelling.
                let canonical = !seq.starts_with('0') && seq.bytes().all(|byte| byte.is_ascii_digit());
                let seq = seq.parse::<i64>().ok().filter(|seq| canonical && *seq > 0)?;
                Some(Self { user: UserId::parse_segment(user)?, seq })
            })
            .ok_or_else(|| malformed(field, "users/{user}/notifications/{number}"))
    }
}

impl fmt::Display for NotificationName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "users/{}/notifications/{}", self.user, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_names_round_trip_in_one_spelling() {
        let name = NotificationName { user: UserId::generate(), seq: 42 };
        assert_eq!(NotificationName::parse("name", &name.to_string()).unwrap(), name);
        for bad in ["0", "042", "-1", "+4", "x", ""] {
            let text = format!("users/{}/notifications/{bad}", name.user);
            assert!(NotificationName::parse("name", &text).is_err(), "{text}");
        }
    }

    #[test]
    fn task_names_round_trip() {
        let name = TaskName { project: ProjectId::generate(), task: TaskId::generate() };
        assert_eq!(TaskName::parse("name", &name.to_string()).unwrap(), name);
    }

    #[test]
    fn malformed_names_are_rejected_with_the_field() {
        let project = ProjectId::generate();
        for bad in [
            String::new(),
            "projects/".into(),
            "projects/not-a-uuid".into(),
            format!("projects/{project}/"),
            format!("projects/{project}/tasks"),
            format!("tasks/{project}"),
            format!("projects/{}", project.to_string().to_uppercase()),
        ] {
            let error = ProjectId::parse_name("parent", &bad).unwrap_err();
            assert_eq!(error.field, "parent", "{bad}");
        }
        assert!(TaskName::parse("name", &format!("projects/{project}/tasks/x")).is_err());
        let state = StateName { project, state: StateId::generate() };
        assert_eq!(StateName::parse("state", &state.to_string()).unwrap(), state);
        assert!(StateName::parse("state", &format!("projects/{project}/tasks/{}", state.state)).is_err());
        let elsewhere = StateName::parse_in("state", &state.to_string(), ProjectId::generate()).unwrap_err();
        assert_eq!(elsewhere.field, "state");
        let relation =
            RelationName { task: TaskName { project, task: TaskId::generate() }, relation: RelationId::generate() };
        assert_eq!(RelationName::parse("name", &relation.to_string()).unwrap(), relation);
        assert!(RelationName::parse("name", &relation.task.to_string()).is_err());
        assert!(RelationName::parse("name", &format!("{}/comments/{}", relation.task, relation.relation)).is_err());
        let comment = CommentName { task: relation.task, comment: CommentId::generate() };
        assert_eq!(CommentName::parse("name", &comment.to_string()).unwrap(), comment);
        assert!(CommentName::parse("name", &relation.to_string()).is_err());
        assert_eq!(CommentName::parse("comment.name", "comments/x").unwrap_err().field, "comment.name");
        let attachment = AttachmentName { task: relation.task, attachment: AttachmentId::generate() };
        assert_eq!(AttachmentName::parse("name", &attachment.to_string()).unwrap(), attachment);
        assert!(AttachmentName::parse("name", &comment.to_string()).is_err());
        let view = ViewName { project, view: ViewId::generate() };
        assert_eq!(ViewName::parse("name", &view.to_string()).unwrap(), view);
        assert!(ViewName::parse("name", &format!("projects/{project}/fields/{}", view.view)).is_err());
    }
}
