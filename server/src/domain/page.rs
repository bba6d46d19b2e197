//! Keyset pagination (AIP-158): opaque page tokens and `order_by`.
//!
//! A token carries the sort key and id of the last row returned, so a page
//! continues strictly after it: rows inserted meanwhile neither shift pages
//! (no skips) nor repeat earlier ones, which offsets cannot promise.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{FieldId, FieldViolation};

/// Validated `page_size`.
pub fn page_size(field: &str, requested: i32, default: u64, max: u64) -> Result<u64, FieldViolation> {
    match requested {
        0 => Ok(default),
        n if n < 0 => Err(FieldViolation::new(field, "must not be negative")),
        n => Ok((n as u64).min(max)),
    }
}

/// Trims the extra row fetched to detect a next page; returns the next
/// page's token, empty on the last page.
pub fn next_page<T>(rows: &mut Vec<T>, limit: u64, cursor: impl Fn(&T) -> Cursor) -> String {
    if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|last| cursor(last).encode()).unwrap_or_default()
    } else {
        String::new()
    }
}

/// A list request's paging, parsed: how many rows, and after which.
///
/// The one helper every list uses: repositories fetch `limit + 1` rows
/// after [`PageRequest::after`]; [`PageRequest::finish`] trims the extra row
/// and issues the next page's token.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<Cursor>,
    /// The request's other list parameters, which a token is bound to.
    query: String,
}

impl PageRequest {
    /// Parses `page_size` (0 means `default`, at most `max`) and
    /// `page_token`, recording violations of either field.
    pub fn parse(
        violations: &mut super::Violations,
        requested: i32,
        page_token: &str,
        (default, max): (u64, u64),
        query: impl Into<String>,
    ) -> Option<Self> {
        let query = query.into();
        let limit = violations.check(page_size("page_size", requested, default, max));
        let after = violations.check(Cursor::decode("page_token", page_token, &query));
        Some(Self { limit: limit?, after: after?, query })
    }

    /// Rows to fetch: one more than the page, to know if another follows.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// The id of the last row of the previous page, if any.
    pub fn after_id(&self) -> Option<&str> {
        self.after.as_ref().map(|cursor| cursor.id.as_str())
    }

    /// Trims the extra row; returns the next page's token, empty on the
    /// last page. `key` reads a row's sort key (`None` when ordered by id
    /// alone) and id.
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> (Option<SortKey>, String)) -> String {
        next_page(rows, self.limit, |last| {
            let (key, id) = key(last);
            Cursor::new(key, id, &self.query)
        })
    }
}

/// A sort key value of the last row on a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    Integer(i64),
    /// A custom NUMBER field's value (JSON writes it with a fraction, so it
    /// never reads back as an integer).
    Number(f64),
    Text(String),
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Sort key of the last row (absent when ordering by id alone).
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<SortKey>,
    /// Id of the last row.
    #[serde(rename = "i")]
    pub id: String,
    /// Fingerprint of the query the token belongs to.
    #[serde(rename = "q")]
    query: String,
}

fn fingerprint(query: &str) -> String {
    hex::encode(&Sha256::digest(query.as_bytes())[..8])
}

impl Cursor {
    pub fn new(key: Option<SortKey>, id: String, query: &str) -> Self {
        Self { key, id, query: fingerprint(query) }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Tokens this server issues never carry control characters (ids and
    /// sort keys are validated on the way in); a forged one could smuggle a
    /// NUL, which PostgreSQL refuses in text.
    fn is_plain(&self) -> bool {
        let plain = |text: &str| !text.chars().any(char::is_control);
        plain(&self.id) && !matches!(&self.key, Some(SortKey::Text(text)) if !plain(text))
    }

    /// Decodes `page_token`; `query` describes the request's other list
    /// parameters, which must not change between pages.
    pub fn decode(field: &str, token: &str, query: &str) -> Result<Option<Self>, FieldViolation> {
        if token.is_empty() {
            return Ok(None);
        }
        let cursor: Self = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(Self::is_plain)
            .ok_or_else(|| FieldViolation::new(field, "is not a page token this server issued"))?;
        if cursor.query != fingerprint(query) {
            return Err(FieldViolation::new(
                field,
                "belongs to a request with other parameters (filter, order_by, ...)",
            ));
        }
        Ok(Some(cursor))
    }
}

/// Fields `ListTasks` can order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOrderField {
    Position,
    CreateTime,
    UpdateTime,
    DueTime,
    Priority,
    Title,
    /// `cf.<key>`: resolved by the service once the project's fields are
    /// read (`None` until then; storage then orders by position).
    Custom(Option<CustomSort>),
}

/// Ordering by a custom field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomSort {
    pub field: FieldId,
    pub kind: CustomSortKind,
}

/// The custom field types `order_by` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomSortKind {
    Number,
    Date,
    Checkbox,
    /// TEXT and SINGLE_SELECT fields: by the text, in the database's
    /// collation.
    Text,
}

/// A parsed `order_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOrder {
    pub field: TaskOrderField,
    pub descending: bool,
}

impl TaskOrder {
    pub fn parse(field: &str, order_by: &str) -> Result<Self, FieldViolation> {
        let mut words = order_by.split_whitespace();
        let order_field = match words.next() {
            None | Some("position") => TaskOrderField::Position,
            Some("create_time") => TaskOrderField::CreateTime,
            Some("update_time") => TaskOrderField::UpdateTime,
            Some("due_time") => TaskOrderField::DueTime,
            Some("priority") => TaskOrderField::Priority,
            Some("title") => TaskOrderField::Title,
            Some(custom) if custom.strip_prefix("cf.").is_some_and(super::fields::is_key) => {
                TaskOrderField::Custom(None)
            }
            Some(other) => {
                return Err(FieldViolation::new(
                    field,
                    format!(
                        "cannot order by `{other}`; use position, create_time, update_time, due_time, priority, title \
                         or cf.<key>"
                    ),
                ));
            }
        };
        let descending = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(FieldViolation::new(field, format!("expected `desc` or `asc`, found `{other}`")));
            }
        };
        if words.next().is_some() {
            return Err(FieldViolation::new(field, "order by one field, optionally followed by `desc`"));
        }
        Ok(Self { field: order_field, descending })
    }

    /// The custom field key an `order_by` names, if any.
    pub fn custom_key(order_by: &str) -> Option<&str> {
        order_by.split_whitespace().next()?.strip_prefix("cf.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_query() {
        let cursor = Cursor::new(Some(SortKey::Text("abc".into())), "id-1".into(), "filter=x");
        let token = cursor.encode();
        assert_eq!(Cursor::decode("page_token", &token, "filter=x").unwrap(), Some(cursor));
        assert!(Cursor::decode("page_token", &token, "filter=y").is_err());
        assert!(Cursor::decode("page_token", "garbage!", "filter=x").is_err());
        assert_eq!(Cursor::decode("page_token", "", "anything").unwrap(), None);
    }

    #[test]
    fn forged_cursors_with_control_characters_are_refused() {
        for cursor in [
            Cursor::new(None, "id\u{0}".into(), "q"),
            Cursor::new(Some(SortKey::Text("a\u{0}b".into())), "id-1".into(), "q"),
        ] {
            let error = Cursor::decode("page_token", &cursor.encode(), "q").unwrap_err();
            assert_eq!(error.field, "page_token");
        }
    }

    #[test]
    fn order_by_parses_one_field_and_a_direction() {
        assert_eq!(
            TaskOrder::parse("o", "").unwrap(),
            TaskOrder { field: TaskOrderField::Position, descending: false }
        );
        assert_eq!(
            TaskOrder::parse("o", " due_time  desc ").unwrap(),
            TaskOrder { field: TaskOrderField::DueTime, descending: true }
        );
        assert!(TaskOrder::parse("o", "colour").is_err());
        assert!(TaskOrder::parse("o", "title sideways").is_err());
        assert!(TaskOrder::parse("o", "title desc extra").is_err());
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size("page_size", 0, 50, 500).unwrap(), 50);
        assert_eq!(page_size("page_size", 10_000, 50, 500).unwrap(), 500);
        assert!(page_size("page_size", -1, 50, 500).is_err());
    }
}
