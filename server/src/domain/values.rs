//! Validated field values of tasks, projects, comments and accounts.

use sha2::Digest as _;
use tasktracker_proto::v1;

use super::FieldViolation;

/// Checks a free-text field: length in characters and no control characters
/// other than newlines and tabs.
fn text(field: &str, value: &str, min: usize, max: usize, single_line: bool) -> Result<String, FieldViolation> {
    let value = if single_line { value.trim() } else { value };
    let length = value.chars().count();
    if length < min {
        return Err(FieldViolation::new(
            field,
            if min == 1 { "must not be empty".to_owned() } else { format!("must be at least {min} characters") },
        ));
    }
    if length > max {
        return Err(FieldViolation::new(field, format!("must be at most {max} characters (got {length})")));
    }
    let allowed = |c: char| !c.is_control() || (!single_line && (c == '\n' || c == '\t' || c == '\r'));
    if !value.chars().all(allowed) {
        return Err(FieldViolation::new(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, min = $min:expr, max = $max:expr, single_line = $single:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
                text(field, value, $min, $max, $single).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_type!(
    /// A task's title: one line, 1 to 500 characters.
    TaskTitle, min = 1, max = 500, single_line = true
);
text_type!(
    /// A task's markdown description.
    TaskDescription, min = 0, max = 20_000, single_line = false
);
text_type!(
    /// A project's title.
    ProjectTitle, min = 1, max = 200, single_line = true
);
text_type!(
    /// A project's description.
    ProjectDescription, min = 0, max = 10_000, single_line = false
);
text_type!(
    /// A comment's markdown body.
    CommentBody, min = 1, max = 10_000, single_line = false
);
text_type!(
    /// A workflow state's display name.
    StateDisplayName, min = 1, max = 50, single_line = true
);
text_type!(
    /// A saved view's display name.
    ViewDisplayName, min = 1, max = 100, single_line = true
);
text_type!(
    /// A saved view's filter (a ListTasks filter, checked by its parser too).
    ViewFilter, min = 0, max = 2_000, single_line = false
);
text_type!(
    /// A user's or an API token's display name.
    DisplayName, min = 1, max = 200, single_line = true
);

/// An IANA time zone name such as `Europe/Berlin`, spelt as the zone
/// database does, or empty for "not chosen".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(Self(String::new()));
        }
        value.parse::<chrono_tz::Tz>().map(|zone| Self(zone.name().to_owned())).map_err(|_| {
            FieldViolation::new(field, "must be an IANA time zone name such as Europe/Berlin or UTC, or empty")
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A label: 1 to 50 characters from a small, URL- and filter-safe set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label(String);

impl Label {
    pub const MAX_PER_TASK: usize = 20;

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let valid_char = |c: char| c.is_alphanumeric() || "-_.:/".contains(c);
        let length = value.chars().count();
        if length == 0 || length > 50 || !value.chars().all(valid_char) {
            return Err(FieldViolation::new(field, "must be 1 to 50 letters, digits, `-`, `_`, `.`, `:` or `/`"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a task's labels: valid, at most 20, duplicates removed.
pub fn parse_labels(field: &str, values: &[String]) -> Result<Vec<Label>, FieldViolation> {
    if values.len() > Label::MAX_PER_TASK {
        return Err(FieldViolation::new(field, format!("at most {} labels", Label::MAX_PER_TASK)));
    }
    let mut labels = values
        .iter()
        .enumerate()
        .map(|(index, value)| Label::parse(&format!("{field}[{index}]"), value))
        .collect::<Result<Vec<_>, _>>()?;
    labels.sort();
    labels.dedup();
    Ok(labels)
}

/// A normalised email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let value = value.trim().to_lowercase();
        let well_formed = value.len() <= 320
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(FieldViolation::new(field, "must be an email address"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10 to 1,024 characters (OWASP ASVS 2.1).
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let length = value.chars().count();
        if !(10..=1024).contains(&length) {
            return Err(FieldViolation::new(field, "must be 10 to 1,024 characters"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("NewPassword(<redacted>)")
    }
}

/// A task's board column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Todo,
    InProgress,
    Done,
}

impl TaskStatus {
    /// Parses the proto enum; UNSPECIFIED is `None`.
    pub fn from_proto(field: &str, value: i32) -> Result<Option<Self>, FieldViolation> {
        match v1::TaskStatus::try_from(value) {
            Ok(v1::TaskStatus::Unspecified) => Ok(None),
            Ok(v1::TaskStatus::Todo) => Ok(Some(Self::Todo)),
            Ok(v1::TaskStatus::InProgress) => Ok(Some(Self::InProgress)),
            Ok(v1::TaskStatus::Done) => Ok(Some(Self::Done)),
            Err(_) => Err(FieldViolation::new(field, format!("unknown status {value}"))),
        }
    }

    pub fn to_proto(self) -> v1::TaskStatus {
        match self {
            Self::Todo => v1::TaskStatus::Todo,
            Self::InProgress => v1::TaskStatus::InProgress,
            Self::Done => v1::TaskStatus::Done,
        }
    }

    pub fn stored(self) -> i16 {
        self.to_proto() as i16
    }

    pub fn from_stored(value: i16) -> Self {
        match Self::from_proto("", value.into()) {
            Ok(Some(status)) => status,
            _ => Self::Todo,
        }
    }

    /// Parses a filter value: `TODO`, `IN_PROGRESS` or `DONE`, any case,
    /// with or without the `TASK_STATUS_` prefix.
    pub fn from_filter(value: &str) -> Option<Self> {
        let upper = value.to_uppercase();
        match upper.strip_prefix("TASK_STATUS_").unwrap_or(&upper) {
            "TODO" => Some(Self::Todo),
            "IN_PROGRESS" => Some(Self::InProgress),
            "DONE" => Some(Self::Done),
            _ => None,
        }
    }
}

/// What a workflow state means; a task's [`TaskStatus`] follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateCategory {
    Backlog,
    Unstarted,
    Started,
    Completed,
    Canceled,
}

impl StateCategory {
    /// Parses the proto enum; UNSPECIFIED is a violation.
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match v1::StateCategory::try_from(value) {
            Ok(v1::StateCategory::Backlog) => Ok(Self::Backlog),
            Ok(v1::StateCategory::Unstarted) => Ok(Self::Unstarted),
            Ok(v1::StateCategory::Started) => Ok(Self::Started),
            Ok(v1::StateCategory::Completed) => Ok(Self::Completed),
            Ok(v1::StateCategory::Canceled) => Ok(Self::Canceled),
            Ok(v1::StateCategory::Unspecified) => {
                Err(FieldViolation::new(field, "is required: BACKLOG, UNSTARTED, STARTED, COMPLETED or CANCELED"))
            }
            Err(_) => Err(FieldViolation::new(field, format!("unknown category {value}"))),
        }
    }

    pub fn to_proto(self) -> v1::StateCategory {
        match self {
            Self::Backlog => v1::StateCategory::Backlog,
            Self::Unstarted => v1::StateCategory::Unstarted,
            Self::Started => v1::StateCategory::Started,
            Self::Completed => v1::StateCategory::Completed,
            Self::Canceled => v1::StateCategory::Canceled,
        }
    }

    pub fn stored(self) -> i16 {
        self.to_proto() as i16
    }

    pub fn from_stored(value: i16) -> Self {
        Self::from_proto("", value.into()).unwrap_or(Self::Unstarted)
    }

    /// The status clients that predate states see.
    pub fn status(self) -> TaskStatus {
        match self {
            Self::Backlog | Self::Unstarted => TaskStatus::Todo,
            Self::Started => TaskStatus::InProgress,
            Self::Completed | Self::Canceled => TaskStatus::Done,
        }
    }

    /// Whether a state of this category is picked for its status only after
    /// every other one: a TODO goes to an UNSTARTED state before a BACKLOG
    /// one, a DONE to a COMPLETED state before a CANCELED one. The stored
    /// categories for which this holds are in `storage::states`' SQL too.
    pub fn second_choice(self) -> bool {
        matches!(self, Self::Backlog | Self::Canceled)
    }
}

/// How a task relates to another, seen from the task (see
/// `TaskRelationType`). Stored as the proto value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationKind {
    Blocks,
    BlockedBy,
    Duplicates,
    DuplicatedBy,
    RelatesTo,
}

impl RelationKind {
    /// Parses the proto enum; UNSPECIFIED is a violation.
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match v1::TaskRelationType::try_from(value) {
            Ok(v1::TaskRelationType::Blocks) => Ok(Self::Blocks),
            Ok(v1::TaskRelationType::BlockedBy) => Ok(Self::BlockedBy),
            Ok(v1::TaskRelationType::Duplicates) => Ok(Self::Duplicates),
            Ok(v1::TaskRelationType::DuplicatedBy) => Ok(Self::DuplicatedBy),
            Ok(v1::TaskRelationType::RelatesTo) => Ok(Self::RelatesTo),
            Ok(v1::TaskRelationType::Unspecified) => Err(FieldViolation::new(
                field,
                "is required: BLOCKS, BLOCKED_BY, DUPLICATES, DUPLICATED_BY or RELATES_TO",
            )),
            Err(_) => Err(FieldViolation::new(field, format!("unknown relation type {value}"))),
        }
    }

    pub fn to_proto(self) -> v1::TaskRelationType {
        match self {
            Self::Blocks => v1::TaskRelationType::Blocks,
            Self::BlockedBy => v1::TaskRelationType::BlockedBy,
            Self::Duplicates => v1::TaskRelationType::Duplicates,
            Self::DuplicatedBy => v1::TaskRelationType::DuplicatedBy,
            Self::RelatesTo => v1::TaskRelationType::RelatesTo,
        }
    }

    pub fn stored(self) -> i16 {
        self.to_proto() as i16
    }

    /// Reads a stored kind; an unknown value (written by a later release)
    /// reads as RELATES_TO, which constrains nothing.
    pub fn from_stored(value: i16) -> Self {
        Self::from_proto("", value.into()).unwrap_or(Self::RelatesTo)
    }

    /// The kind the other task sees.
    pub fn inverse(self) -> Self {
        match self {
            Self::Blocks => Self::BlockedBy,
            Self::BlockedBy => Self::Blocks,
            Self::Duplicates => Self::DuplicatedBy,
            Self::DuplicatedBy => Self::Duplicates,
            Self::RelatesTo => Self::RelatesTo,
        }
    }

    /// Whether "A kind B" together with "B kind A" is a cycle (refused):
    /// every kind but RELATES_TO, which is symmetric.
    pub fn directed(self) -> bool {
        self != Self::RelatesTo
    }

    /// The history field a change of such a relation is recorded under.
    pub fn field(self) -> &'static str {
        match self {
            Self::Blocks => "blocks",
            Self::BlockedBy => "blocked_by",
            Self::Duplicates => "duplicates",
            Self::DuplicatedBy => "duplicated_by",
            Self::RelatesTo => "relates_to",
        }
    }
}

/// A colour: `#rrggbb`, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Color(String);

impl Color {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let hex = value.strip_prefix('#').filter(|hex| hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()));
        match hex {
            Some(_) => Ok(Self(value.to_ascii_lowercase())),
            None => Err(FieldViolation::new(field, "must be a colour `#rrggbb`")),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A workflow state's WIP limit: `None` is no limit.
pub fn parse_wip_limit(field: &str, value: Option<i32>) -> Result<Option<i32>, FieldViolation> {
    match value {
        Some(limit) if !(1..=10_000).contains(&limit) => {
            Err(FieldViolation::new(field, "must be 1 to 10,000, or unset for no limit"))
        }
        limit => Ok(limit),
    }
}

/// A task's priority; `Unspecified` sorts lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Unspecified,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        match v1::Priority::try_from(value) {
            Ok(v1::Priority::Unspecified) => Ok(Self::Unspecified),
            Ok(v1::Priority::Low) => Ok(Self::Low),
            Ok(v1::Priority::Medium) => Ok(Self::Medium),
            Ok(v1::Priority::High) => Ok(Self::High),
            Ok(v1::Priority::Urgent) => Ok(Self::Urgent),
            Err(_) => Err(FieldViolation::new(field, format!("unknown priority {value}"))),
        }
    }

    pub fn stored(self) -> i16 {
        self as i16
    }

    /// Parses a filter value: a name (any case, `PRIORITY_` prefix optional)
    /// or its number.
    pub fn from_filter(value: &str) -> Option<Self> {
        if let Ok(number) = value.parse::<i32>() {
            return Self::from_proto("", number).ok();
        }
        let upper = value.to_uppercase();
        match upper.strip_prefix("PRIORITY_").unwrap_or(&upper) {
            "UNSPECIFIED" | "NONE" => Some(Self::Unspecified),
            "LOW" => Some(Self::Low),
            "MEDIUM" => Some(Self::Medium),
            "HIGH" => Some(Self::High),
            "URGENT" => Some(Self::Urgent),
            _ => None,
        }
    }
}

/// A client's idempotency key for a create (AIP-155): a retry with the same
/// key returns what the first call made instead of making it twice. It
/// carries the fingerprint of the request it came with (SHA-256 of the rest
/// of the request, canonically encoded), stored with what it made, so that
/// the same key with a different request is refused rather than answered
/// with the first one's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId {
    id: String,
    fingerprint: String,
}

impl RequestId {
    pub const MAX_CHARS: usize = 64;

    /// Parses `request_id`; empty means none was given. `body` is the rest
    /// of the request, encoded the same way for the same request.
    pub fn parse(field: &str, value: &str, body: impl FnOnce() -> Vec<u8>) -> Result<Option<Self>, FieldViolation> {
        if value.len() > Self::MAX_CHARS {
            return Err(FieldViolation::new(field, format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if value.chars().any(char::is_control) {
            return Err(FieldViolation::new(field, "must not contain control characters"));
        }
        if value.is_empty() {
            return Ok(None);
        }
        let fingerprint = hex::encode(sha2::Sha256::digest(body()));
        Ok(Some(Self { id: value.to_owned(), fingerprint }))
    }

    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// What to store with the object the request makes.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether this request may be answered with the object made by the
    /// one that stored `stored`: the same request again. Objects made by
    /// releases that kept no fingerprint (`None`) are taken as retries.
    pub fn repeats(&self, stored: Option<&str>) -> bool {
        stored.is_none_or(|stored| stored == self.fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(TaskTitle::parse("title", "  Ship it ").unwrap().as_str(), "Ship it");
        assert_eq!(TaskTitle::parse("title", "   ").unwrap_err().field, "title");
        assert!(TaskTitle::parse("title", &"x".repeat(500)).is_ok());
        let too_long = TaskTitle::parse("task.title", &"é".repeat(501)).unwrap_err();
        assert_eq!(too_long.field, "task.title");
        assert!(too_long.description.contains("500"));
        assert!(TaskTitle::parse("title", "line\nbreak").is_err());
    }

    #[test]
    fn descriptions_keep_newlines() {
        assert!(TaskDescription::parse("d", "# Heading\n\n- item\twith tab").is_ok());
        assert!(TaskDescription::parse("d", "").is_ok());
        assert!(TaskDescription::parse("d", "bell\u{7}").is_err());
    }

    #[test]
    fn labels_are_checked_deduplicated_and_counted() {
        let labels = parse_labels("labels", &["bug".into(), "area/api".into(), "bug".into()]).unwrap();
        assert_eq!(labels.iter().map(Label::as_str).collect::<Vec<_>>(), ["area/api", "bug"]);
        assert_eq!(parse_labels("task.labels", &["ok".into(), "not ok".into()]).unwrap_err().field, "task.labels[1]");
        let many = (0..21).map(|i| format!("l{i}")).collect::<Vec<_>>();
        assert_eq!(parse_labels("task.labels", &many).unwrap_err().field, "task.labels");
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse("email", " Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in ["", "ada", "@example.com", "ada@example", "ada@.com", "a da@example.com"] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_have_a_minimum_length_and_never_print() {
        assert!(NewPassword::parse("password", "short").is_err());
        let password = NewPassword::parse("password", "correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn statuses_and_priorities_parse_from_proto_and_filters() {
        assert_eq!(TaskStatus::from_proto("s", 0).unwrap(), None);
        assert_eq!(TaskStatus::from_proto("s", 2).unwrap(), Some(TaskStatus::InProgress));
        assert!(TaskStatus::from_proto("s", 9).is_err());
        assert_eq!(TaskStatus::from_filter("in_progress"), Some(TaskStatus::InProgress));
        assert_eq!(TaskStatus::from_filter("TASK_STATUS_DONE"), Some(TaskStatus::Done));
        assert_eq!(Priority::from_filter("high"), Some(Priority::High));
        assert_eq!(Priority::from_filter("4"), Some(Priority::Urgent));
        assert!(Priority::Low < Priority::Urgent);
        assert!(Priority::from_proto("p", -1).is_err());
    }

    #[test]
    fn state_fields_parse_and_categories_map_to_statuses() {
        assert_eq!(Color::parse("c", "#A1b2C3").unwrap().into_inner(), "#a1b2c3");
        for bad in ["", "a1b2c3", "#a1b2c", "#a1b2c3d", "#ggg000"] {
            assert_eq!(Color::parse("state.color", bad).unwrap_err().field, "state.color", "{bad}");
        }
        assert_eq!(parse_wip_limit("w", None).unwrap(), None);
        assert_eq!(parse_wip_limit("w", Some(3)).unwrap(), Some(3));
        assert!(parse_wip_limit("w", Some(0)).is_err());
        assert!(StateDisplayName::parse("n", &"x".repeat(51)).is_err());
        assert!(StateCategory::from_proto("c", 0).is_err());
        assert_eq!(StateCategory::from_proto("c", 5).unwrap().status(), TaskStatus::Done);
        assert_eq!(StateCategory::Backlog.status(), TaskStatus::Todo);
        assert_eq!(StateCategory::Started.status(), TaskStatus::InProgress);
    }

    #[test]
    fn request_ids_are_optional_bounded_and_printable() {
        let body = || b"the rest".to_vec();
        assert_eq!(RequestId::parse("request_id", "", body).unwrap(), None);
        let id = RequestId::parse("request_id", "retry-1", body).unwrap().unwrap();
        assert_eq!(id.as_str(), "retry-1");
        assert_eq!(RequestId::parse("request_id", &"x".repeat(65), body).unwrap_err().field, "request_id");
        assert!(RequestId::parse("request_id", "a\0b", body).is_err());
        // The same request repeats itself; another one under the same key does not.
        let again = RequestId::parse("request_id", "retry-1", body).unwrap().unwrap();
        assert!(again.repeats(Some(id.fingerprint())) && again.repeats(None));
        let other = RequestId::parse("request_id", "retry-1", || b"something else".to_vec()).unwrap().unwrap();
        assert!(!other.repeats(Some(id.fingerprint())));
    }

    #[test]
    fn time_zones_are_iana_names_or_empty() {
        assert_eq!(TimeZoneName::parse("z", "Europe/Berlin").unwrap().as_str(), "Europe/Berlin");
        assert_eq!(TimeZoneName::parse("z", " UTC ").unwrap().as_str(), "UTC");
        assert_eq!(TimeZoneName::parse("z", "").unwrap().as_str(), "");
        for bad in ["europe/berlin", "Mars/Olympus", "+02:00", "Europe/Berlin/Mitte"] {
            assert_eq!(TimeZoneName::parse("user.time_zone", bad).unwrap_err().field, "user.time_zone", "{bad:?}");
        }
    }
}
