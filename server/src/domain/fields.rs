//! Custom fields: their keys, types, definitions' parts and the values tasks
//! hold, parsed from requests. A value is checked twice: here for its shape
//! (which member is set, lengths, finiteness), and against the field's
//! definition ([`FieldDefinition::check`]) once the project's fields are read.

use tasktracker_proto::v1;

use super::{FieldViolation, UserId, time::Micros, time::from_timestamp};

/// Most fields per project.
pub const MAX_FIELDS: usize = 50;
/// Most options per select.
pub const MAX_OPTIONS: usize = 100;
/// Longest option, in characters.
pub const MAX_OPTION_CHARS: usize = 100;
/// Longest text value, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Largest magnitude of a number value (beyond it doubles lose integers).
pub const MAX_NUMBER: f64 = 1e15;

/// What values a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Number,
    Date,
    SingleSelect,
    MultiSelect,
    User,
    Checkbox,
}

impl FieldType {
    pub fn from_proto(field: &str, value: i32) -> Result<Self, FieldViolation> {
        use v1::CustomFieldType as T;
        match T::try_from(value) {
            Ok(T::Text) => Ok(Self::Text),
            Ok(T::Number) => Ok(Self::Number),
            Ok(T::Date) => Ok(Self::Date),
            Ok(T::SingleSelect) => Ok(Self::SingleSelect),
            Ok(T::MultiSelect) => Ok(Self::MultiSelect),
            Ok(T::User) => Ok(Self::User),
            Ok(T::Checkbox) => Ok(Self::Checkbox),
            Ok(T::Unspecified) => Err(FieldViolation::new(field, "is required")),
            Err(_) => Err(FieldViolation::new(field, format!("unknown custom field type {value}"))),
        }
    }

    pub fn to_proto(self) -> v1::CustomFieldType {
        use v1::CustomFieldType as T;
        match self {
            Self::Text => T::Text,
            Self::Number => T::Number,
            Self::Date => T::Date,
            Self::SingleSelect => T::SingleSelect,
            Self::MultiSelect => T::MultiSelect,
            Self::User => T::User,
            Self::Checkbox => T::Checkbox,
        }
    }

    /// As stored: the proto number.
    pub fn stored(self) -> i16 {
        self.to_proto() as i16
    }

    pub fn from_stored(value: i16) -> Self {
        Self::from_proto("", value.into()).unwrap_or(Self::Text)
    }

    pub fn is_select(self) -> bool {
        matches!(self, Self::SingleSelect | Self::MultiSelect)
    }

    /// The member of `CustomFieldValue.value` the type takes.
    fn member(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::SingleSelect => "option",
            Self::MultiSelect => "options",
            Self::User => "user",
            Self::Checkbox => "checkbox",
        }
    }
}

/// A field's key: `[a-z][a-z0-9_]{0,31}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldKey(String);

impl FieldKey {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        if is_key(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(FieldViolation::new(
                field,
                "must be 1 to 32 characters: a lowercase letter, then lowercase letters, digits or `_`",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Whether `value` is a well-formed key.
pub fn is_key(value: &str) -> bool {
    let mut chars = value.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && value.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A select's options: 1 to [`MAX_OPTIONS`], each one line of 1 to
/// [`MAX_OPTION_CHARS`] characters, distinct.
pub fn parse_options(field: &str, options: &[String]) -> Result<Vec<String>, FieldViolation> {
    if options.is_empty() || options.len() > MAX_OPTIONS {
        return Err(FieldViolation::new(field, format!("a select has 1 to {MAX_OPTIONS} options")));
    }
    let mut parsed: Vec<String> = Vec::with_capacity(options.len());
    for (index, option) in options.iter().enumerate() {
        let path = format!("{field}[{index}]");
        let trimmed = option.trim();
        let length = trimmed.chars().count();
        if length == 0 || length > MAX_OPTION_CHARS {
            return Err(FieldViolation::new(path, format!("must be 1 to {MAX_OPTION_CHARS} characters")));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldViolation::new(path, "must not contain control characters"));
        }
        if parsed.iter().any(|seen| seen == trimmed) {
            return Err(FieldViolation::new(path, format!("repeats the option \"{trimmed}\"")));
        }
        parsed.push(trimmed.to_owned());
    }
    Ok(parsed)
}

/// A number bound: finite, at most [`MAX_NUMBER`] in magnitude.
pub fn parse_bound(field: &str, value: Option<f64>) -> Result<Option<f64>, FieldViolation> {
    match value {
        Some(number) if !number.is_finite() || number.abs() > MAX_NUMBER => {
            Err(FieldViolation::new(field, format!("must be a finite number of at most {MAX_NUMBER:e} in magnitude")))
        }
        other => Ok(other),
    }
}

/// A task's value of one field, as stored (users by id).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(String),
    Number(f64),
    Date(Micros),
    Option(String),
    /// At least one option; in the field's option order once checked.
    Options(Vec<String>),
    User(UserId),
    Checkbox(bool),
}

impl FieldValue {
    /// Parses a value's shape; `field` is its request path
    /// (`task.custom_fields.<key>`).
    pub fn parse(field: &str, value: &v1::CustomFieldValue) -> Result<Self, FieldViolation> {
        use v1::custom_field_value::Value;
        let Some(value) = &value.value else {
            return Err(FieldViolation::new(field, "set one member of `value`; to clear the field, leave it out"));
        };
        Ok(match value {
            Value::Text(text) => {
                let length = text.chars().count();
                if length > MAX_TEXT_CHARS {
                    return Err(FieldViolation::new(
                        field,
                        format!("must be at most {MAX_TEXT_CHARS} characters (got {length})"),
                    ));
                }
                if text.is_empty() {
                    return Err(FieldViolation::new(field, "must not be empty; to clear the field, leave it out"));
                }
                if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
                    return Err(FieldViolation::new(field, "must not contain control characters"));
                }
                Self::Text(text.clone())
            }
            Value::Number(number) => {
                Self::Number(parse_bound(field, Some(*number))?.expect("a bound given is returned"))
            }
            Value::Date(timestamp) => Self::Date(from_timestamp(field, timestamp)?),
            Value::Option(option) => Self::Option(option.clone()),
            Value::Options(list) => {
                if list.values.is_empty() {
                    return Err(FieldViolation::new(
                        field,
                        "name at least one option; to clear the field, leave it out",
                    ));
                }
                Self::Options(list.values.clone())
            }
            Value::User(user) => Self::User(UserId::parse_name(field, user)?),
            Value::Checkbox(checked) => Self::Checkbox(*checked),
        })
    }

    pub fn to_proto(&self) -> v1::CustomFieldValue {
        use v1::custom_field_value::Value;
        let value = match self {
            Self::Text(text) => Value::Text(text.clone()),
            Self::Number(number) => Value::Number(*number),
            Self::Date(micros) => Value::Date(super::time::to_timestamp(*micros)),
            Self::Option(option) => Value::Option(option.clone()),
            Self::Options(options) => Value::Options(v1::StringList { values: options.clone() }),
            Self::User(user) => Value::User(user.name()),
            Self::Checkbox(checked) => Value::Checkbox(*checked),
        };
        v1::CustomFieldValue { value: Some(value) }
    }

    /// The value as history renders it.
    pub fn render(&self) -> String {
        match self {
            Self::Text(text) | Self::Option(text) => text.clone(),
            Self::Number(number) => number.to_string(),
            Self::Date(micros) => super::time::to_timestamp(*micros).to_string(),
            Self::Options(options) => options.join(","),
            Self::User(user) => user.name(),
            Self::Checkbox(checked) => checked.to_string(),
        }
    }

    fn kind(&self) -> FieldType {
        match self {
            Self::Text(_) => FieldType::Text,
            Self::Number(_) => FieldType::Number,
            Self::Date(_) => FieldType::Date,
            Self::Option(_) => FieldType::SingleSelect,
            Self::Options(_) => FieldType::MultiSelect,
            Self::User(_) => FieldType::User,
            Self::Checkbox(_) => FieldType::Checkbox,
        }
    }
}

/// What a value is checked against: a field's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDefinition {
    pub id: String,
    pub key: String,
    pub kind: FieldType,
    pub options: Vec<String>,
    pub number_min: Option<f64>,
    pub number_max: Option<f64>,
}

impl FieldDefinition {
    /// Checks `value` against the definition (all but a user's membership,
    /// which takes the database); multi-select options come back in the
    /// field's option order, once each.
    pub fn check(&self, field: &str, value: FieldValue) -> Result<FieldValue, FieldViolation> {
        if value.kind() != self.kind {
            return Err(FieldViolation::new(
                field,
                format!("the field is {}: set `{}`", self.kind.to_proto().as_str_name(), self.kind.member()),
            ));
        }
        let known = |option: &String| {
            if self.options.contains(option) {
                Ok(())
            } else {
                Err(FieldViolation::new(field, format!("\"{option}\" is not an option of the field")))
            }
        };
        match value {
            FieldValue::Number(number) => {
                if self.number_min.is_some_and(|min| number < min) || self.number_max.is_some_and(|max| number > max) {
                    let bound = |bound: Option<f64>| bound.map_or("none".to_owned(), |b| b.to_string());
                    return Err(FieldViolation::new(
                        field,
                        format!(
                            "{number} is outside the field's bounds (min {}, max {})",
                            bound(self.number_min),
                            bound(self.number_max)
                        ),
                    ));
                }
                Ok(FieldValue::Number(number))
            }
            FieldValue::Option(option) => {
                known(&option)?;
                Ok(FieldValue::Option(option))
            }
            FieldValue::Options(chosen) => {
                for option in &chosen {
                    known(option)?;
                }
                Ok(FieldValue::Options(self.options.iter().filter(|option| chosen.contains(option)).cloned().collect()))
            }
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_lowercase_identifiers() {
        for good in ["a", "estimate", "due_q3", &"x".repeat(32)] {
            assert!(is_key(good), "{good}");
        }
        for bad in ["", "1a", "_a", "Estimate", "a-b", "a.b", &"x".repeat(33), "é"] {
            assert!(!is_key(bad), "{bad}");
        }
    }

    #[test]
    fn options_are_distinct_and_bounded() {
        let options = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse_options("o", &options(&[" a ", "b"])).unwrap(), options(&["a", "b"]));
        assert_eq!(parse_options("o", &options(&["a", "a"])).unwrap_err().field, "o[1]");
        assert!(parse_options("o", &[]).is_err());
        assert!(parse_options("o", &vec!["x".to_owned(); 101]).is_err());
    }

    #[test]
    fn values_are_checked_against_their_definition() {
        let definition = FieldDefinition {
            id: String::new(),
            key: "size".into(),
            kind: FieldType::MultiSelect,
            options: vec!["s".into(), "m".into(), "l".into()],
            number_min: None,
            number_max: None,
        };
        let checked = definition.check("f", FieldValue::Options(vec!["l".into(), "s".into()])).unwrap();
        assert_eq!(checked, FieldValue::Options(vec!["s".into(), "l".into()]));
        assert!(definition.check("f", FieldValue::Options(vec!["xl".into()])).is_err());
        assert!(definition.check("f", FieldValue::Text("s".into())).is_err());
        let number =
            FieldDefinition { kind: FieldType::Number, number_min: Some(0.0), number_max: Some(5.0), ..definition };
        assert!(number.check("f", FieldValue::Number(5.0)).is_ok());
        assert_eq!(number.check("f", FieldValue::Number(5.5)).unwrap_err().field, "f");
    }
}
