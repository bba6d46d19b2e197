//! The `ListTasks` filter: a documented subset of the AIP-160 grammar.
//!
//! ```text
//! filter      = [expression]
//! expression  = sequence { "AND" sequence }
//! sequence    = factor { factor }            (side by side: AND)
//! factor      = term { "OR" term }           (OR binds tighter than AND)
//! term        = { "NOT" | "-" } simple
//! simple      = "(" expression ")" | restriction
//! restriction = comparable [ comparator argument ]
//! comparator  = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
//! ```
//!
//! A bare comparable (a word or a quoted string) searches title and
//! description. Fields are listed in `tasks.proto` (`ListTasksRequest.filter`).
//! Parsing yields typed values, so storage never sees an unchecked string.

use std::fmt;

use super::{
    Label, Priority, StateName, TaskName, TaskStatus, UserId,
    fields::{FieldType, is_key},
    time::{Micros, parse_rfc3339},
};

/// Longest accepted filter, in characters.
pub const MAX_LENGTH: usize = 2_000;
/// Deepest accepted nesting of parentheses and NOTs.
const MAX_DEPTH: usize = 32;
/// Most `label`, `assignee`, custom field (`cf.<key>`) and `is:`
/// restrictions in one filter. Each becomes a
/// subquery; PostgreSQL plans ANDed ones as semi-joins and searches their
/// join orders, so planning time grows steeply with their number (about
/// 90 ms for 16, seconds for 100): without a cap, one short filter could
/// pin a database core.
pub const MAX_RELATION_TERMS: usize = 16;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Status(Comparison, TaskStatus),
    /// `state = "projects/…/states/…"`: the task's workflow state.
    State(Comparison, StateName),
    /// `parent = "projects/…/tasks/…"`, or with `""` (`None`) no parent:
    /// `parent = ""` is a top-level task, `parent != ""` (and `parent:*`) a
    /// subtask. `parent != "…"` includes top-level tasks.
    Parent(Comparison, Option<TaskName>),
    Priority(Comparison, Priority),
    /// `assignee = x`, `assignee != x`, `assignee:x`.
    Assignee(Comparison, Assignee),
    /// `assignee:*`: has any assignee.
    AnyAssignee,
    Label(Comparison, Label),
    /// `label:*`: has any label.
    AnyLabel,
    Time(TimeField, Comparison, Micros),
    /// Case-insensitive substring search.
    Contains(TextField, String),
    /// `cf.<key> op value`: typed by [`resolve_custom`] once the project's
    /// fields are known.
    Custom(CustomTerm),
    /// `is:blocked`, `is:blocking`: the task's blocking relations.
    Is(Blocking),
}

/// What `is:` tests of a task's blocking relations. "Open" is as for
/// completing a task with blockers: not deleted, and not DONE (a COMPLETED
/// or CANCELED state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocking {
    /// `is:blocked`: at least one open task blocks it.
    Blocked,
    /// `is:blocking`: it is open and blocks at least one open task (a done
    /// or deleted task blocks nothing).
    Blocking,
}

/// A restriction on a custom field, as written, and once resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomTerm {
    pub key: String,
    pub operator: Operator,
    pub value: String,
    /// Set by [`resolve_custom`].
    pub resolved: Option<CustomCondition>,
}

/// A custom field restriction typed by its field.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomCondition {
    /// The field's id.
    pub field_id: String,
    pub test: CustomTest,
}

/// What a task's value of the field must be.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomTest {
    /// Has a value (`:*`).
    Any,
    Number(Comparison, f64),
    Time(Comparison, Micros),
    /// `=` or `!=` a stored text: a text, an option, a user id. For a
    /// multi-select, `=` means "has the option".
    Text(Comparison, String),
    /// `=` or `!=` the caller (`me`).
    Me(Comparison),
    /// Contains, case-insensitive.
    Contains(String),
    /// `= true` (`true`), or not checked (`false`; unset counts).
    Checked(bool),
}

/// Types every custom field restriction of `filter` with `lookup`, which
/// gives a key's field id and type in the project; the error names the
/// first restriction that does not fit. Walks without recursion, as the
/// SQL translation does (see `storage::tasks::condition`).
pub fn resolve_custom(filter: &mut Filter, lookup: impl Fn(&str) -> Option<(String, FieldType)>) -> Result<(), String> {
    let mut pending = vec![filter];
    while let Some(next) = pending.pop() {
        match next {
            Filter::And(left, right) | Filter::Or(left, right) => {
                pending.push(left);
                pending.push(right);
            }
            Filter::Not(inner) => pending.push(inner),
            Filter::Custom(term) => {
                let (field_id, kind) =
                    lookup(&term.key).ok_or_else(|| format!("the project has no custom field `{}`", term.key))?;
                let test = custom_test(term, kind)?;
                term.resolved = Some(CustomCondition { field_id, test });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `filter` has a custom field restriction (walked without recursion).
pub fn has_custom(filter: &Filter) -> bool {
    let mut pending = vec![filter];
    while let Some(next) = pending.pop() {
        match next {
            Filter::And(left, right) | Filter::Or(left, right) => {
                pending.push(left);
                pending.push(right);
            }
            Filter::Not(inner) => pending.push(inner),
            Filter::Custom(_) => return true,
            _ => {}
        }
    }
    false
}

/// Types one custom field restriction for a field of type `kind`.
fn custom_test(term: &CustomTerm, kind: FieldType) -> Result<CustomTest, String> {
    let CustomTerm { key, operator, value, .. } = term;
    let field = format!("cf.{key}");
    if *operator == Operator::Has && value == "*" {
        return Ok(CustomTest::Any);
    }
    let equality = || match operator {
        Operator::Equal => Ok(Comparison::Equal),
        Operator::NotEqual => Ok(Comparison::NotEqual),
        _ => Err(format!("`{field}` supports only `=`, `!=` and `:*`, not `{}`", operator.symbol())),
    };
    match kind {
        FieldType::Number => {
            let comparison = operator.ordering(&field)?;
            let number = value
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .ok_or_else(|| format!("`{value}` is not a number"))?;
            Ok(CustomTest::Number(comparison, number))
        }
        FieldType::Date => {
            let comparison = operator.ordering(&field)?;
            let micros = parse_rfc3339(value)
                .ok_or_else(|| format!("`{value}` is not an RFC 3339 timestamp or a YYYY-MM-DD date"))?;
            Ok(CustomTest::Time(comparison, micros))
        }
        FieldType::Text if *operator == Operator::Has => Ok(CustomTest::Contains(value.clone())),
        FieldType::Text | FieldType::SingleSelect => Ok(CustomTest::Text(equality()?, value.clone())),
        FieldType::MultiSelect => {
            let comparison = if *operator == Operator::Has { Comparison::Equal } else { equality()? };
            Ok(CustomTest::Text(comparison, value.clone()))
        }
        FieldType::User => {
            let comparison = equality()?;
            if value == "me" {
                return Ok(CustomTest::Me(comparison));
            }
            let user =
                UserId::parse_name("", value).map_err(|_| format!("`{value}` is not `me` or `users/{{user}}`"))?;
            Ok(CustomTest::Text(comparison, user.to_string()))
        }
        FieldType::Checkbox => {
            let comparison = equality()?;
            let checked = match value.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(format!("`{field}` is a checkbox: compare it with true or false")),
            };
            Ok(CustomTest::Checked(checked == (comparison == Comparison::Equal)))
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// Who `assignee` refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    User(UserId),
    /// The caller.
    Me,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    Due,
    Start,
    Create,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Title,
    Description,
    /// Title or description.
    Text,
}

/// Why a filter does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "at column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for FilterError {}

/// Parses a filter; an empty or blank one is `None`.
pub fn parse(input: &str) -> Result<Option<Filter>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    if chars.len() > MAX_LENGTH {
        return Err(FilterError {
            column: MAX_LENGTH + 1,
            message: format!("filter longer than {MAX_LENGTH} characters"),
        });
    }
    // NUL and other control characters are never meaningful in a filter, and
    // PostgreSQL refuses NUL in text.
    if let Some(column) = chars.iter().position(|c| c.is_control() && !c.is_whitespace()) {
        return Err(FilterError {
            column: column + 1,
            message: format!("control character U+{:04X} is not allowed", u32::from(chars[column])),
        });
    }
    let mut parser = Parser { chars, position: 0, depth: 0, relation_terms: 0 };
    parser.skip_whitespace();
    if parser.at_end() {
        return Ok(None);
    }
    let filter = parser.expression()?;
    parser.skip_whitespace();
    if !parser.at_end() {
        return Err(parser.error(if parser.peek() == Some(')') { "unbalanced `)`" } else { "unexpected input" }));
    }
    Ok(Some(filter))
}

struct Parser {
    chars: Vec<char>,
    position: usize,
    depth: usize,
    /// `label` and `assignee` restrictions seen so far.
    relation_terms: usize,
}

/// The comparable of a restriction: a word or a quoted string.
enum Comparable {
    Word(String),
    Quoted(String),
}

impl Parser {
    fn error(&self, message: impl Into<String>) -> FilterError {
        FilterError { column: self.position + 1, message: message.into() }
    }

    fn error_at(&self, position: usize, message: impl Into<String>) -> FilterError {
        FilterError { column: position + 1, message: message.into() }
    }

    fn at_end(&self) -> bool {
        self.position >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    /// Is the keyword next, followed by a separator?
    fn at_keyword(&self, keyword: &str) -> bool {
        let end = self.position + keyword.len();
        end <= self.chars.len()
            && self.chars[self.position..end].iter().copied().eq(keyword.chars())
            && self.chars.get(end).is_none_or(|c| c.is_whitespace() || *c == '(')
    }

    fn descend(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn expression(&mut self) -> Result<Filter, FilterError> {
        let mut filter = self.sequence()?;
        loop {
            self.skip_whitespace();
            if !self.at_keyword("AND") {
                return Ok(filter);
            }
            self.position += 3;
            self.skip_whitespace();
            let right = self.sequence()?;
            filter = Filter::And(Box::new(filter), Box::new(right));
        }
    }

    fn sequence(&mut self) -> Result<Filter, FilterError> {
        let mut filter = self.factor()?;
        loop {
            self.skip_whitespace();
            if self.at_end() || self.peek() == Some(')') || self.at_keyword("AND") {
                return Ok(filter);
            }
            let right = self.factor()?;
            filter = Filter::And(Box::new(filter), Box::new(right));
        }
    }

    fn factor(&mut self) -> Result<Filter, FilterError> {
        let mut filter = self.term()?;
        loop {
            let before = self.position;
            self.skip_whitespace();
            if !self.at_keyword("OR") {
                self.position = before;
                return Ok(filter);
            }
            self.position += 2;
            self.skip_whitespace();
            let right = self.term()?;
            filter = Filter::Or(Box::new(filter), Box::new(right));
        }
    }

    fn term(&mut self) -> Result<Filter, FilterError> {
        let negated = if self.at_keyword("NOT") {
            self.position += 3;
            self.skip_whitespace();
            true
        } else if self.peek() == Some('-') {
            self.position += 1;
            true
        } else {
            false
        };
        if !negated {
            return self.simple();
        }
        self.descend()?;
        let inner = self.term()?;
        self.depth -= 1;
        Ok(Filter::Not(Box::new(inner)))
    }

    fn simple(&mut self) -> Result<Filter, FilterError> {
        match self.peek() {
            None => Err(self.error("expected a restriction, found the end of the filter")),
            Some('(') => {
                let open = self.position;
                self.position += 1;
                self.descend()?;
                self.skip_whitespace();
                if self.peek() == Some(')') {
                    return Err(self.error("empty parentheses"));
                }
                let inner = self.expression()?;
                self.skip_whitespace();
                if self.peek() != Some(')') {
                    return Err(self.error_at(open, "`(` is never closed"));
                }
                self.position += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(')') => Err(self.error("unexpected `)`")),
            Some(c) if is_comparator_start(c) => {
                Err(self.error(format!("expected a field or a search term before `{c}`")))
            }
            Some(_) if self.at_keyword("AND") || self.at_keyword("OR") => {
                Err(self.error("expected a restriction before this operator"))
            }
            Some(_) => self.restriction(),
        }
    }

    fn restriction(&mut self) -> Result<Filter, FilterError> {
        let start = self.position;
        let comparable =
            if self.peek() == Some('"') { Comparable::Quoted(self.quoted()?) } else { Comparable::Word(self.word()) };
        let before_operator = self.position;
        self.skip_whitespace();
        let Some(operator) = self.comparator() else {
            self.position = before_operator;
            let text = match comparable {
                Comparable::Word(word) | Comparable::Quoted(word) => word,
            };
            return Ok(Filter::Contains(TextField::Text, text));
        };
        let Comparable::Word(field) = comparable else {
            return Err(self.error_at(start, "a quoted string cannot be compared; name a field"));
        };
        self.skip_whitespace();
        let value_start = self.position;
        let value = match self.peek() {
            Some('"') => self.quoted()?,
            Some(c) if !c.is_whitespace() && c != ')' => self.value_word(),
            _ => return Err(self.error(format!("expected a value after `{}`", operator.symbol()))),
        };
        let filter = restriction(&field, operator, value).map_err(|message| {
            let column = if message.starts_with("unknown field") { start } else { value_start };
            self.error_at(column, message)
        })?;
        if matches!(
            filter,
            Filter::Assignee(..)
                | Filter::AnyAssignee
                | Filter::Label(..)
                | Filter::AnyLabel
                | Filter::Custom(..)
                | Filter::Is(..)
        ) {
            self.relation_terms += 1;
            if self.relation_terms > MAX_RELATION_TERMS {
                return Err(self.error_at(
                    start,
                    format!(
                        "more than {MAX_RELATION_TERMS} `label`, `assignee`, `cf.` and `is:` restrictions in one filter"
                    ),
                ));
            }
        }
        Ok(filter)
    }

    /// A comparable word: up to whitespace, a parenthesis, a quote or a comparator.
    fn word(&mut self) -> String {
        let start = self.position;
        while self.peek().is_some_and(|c| !c.is_whitespace() && !"()\"".contains(c) && !is_comparator_start(c)) {
            self.position += 1;
        }
        self.chars[start..self.position].iter().collect()
    }

    /// A value word: up to whitespace or `)`, so timestamps keep their colons.
    fn value_word(&mut self) -> String {
        let start = self.position;
        while self.peek().is_some_and(|c| !c.is_whitespace() && c != ')') {
            self.position += 1;
        }
        self.chars[start..self.position].iter().collect()
    }

    fn quoted(&mut self) -> Result<String, FilterError> {
        let open = self.position;
        self.position += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error_at(open, "string is never closed")),
                Some('"') => {
                    self.position += 1;
                    return Ok(text);
                }
                Some('\\') => {
                    self.position += 1;
                    match self.peek() {
                        Some(c @ ('"' | '\\')) => text.push(c),
                        _ => return Err(self.error("only `\\\"` and `\\\\` are escapes")),
                    }
                    self.position += 1;
                }
                Some(c) => {
                    text.push(c);
                    self.position += 1;
                }
            }
        }
    }

    fn comparator(&mut self) -> Option<Operator> {
        let next = self.chars.get(self.position + 1).copied();
        let (operator, length) = match (self.peek()?, next) {
            ('<', Some('=')) => (Operator::LessOrEqual, 2),
            ('>', Some('=')) => (Operator::GreaterOrEqual, 2),
            ('!', Some('=')) => (Operator::NotEqual, 2),
            ('<', _) => (Operator::Less, 1),
            ('>', _) => (Operator::Greater, 1),
            ('=', _) => (Operator::Equal, 1),
            (':', _) => (Operator::Has, 1),
            _ => return None,
        };
        self.position += length;
        Some(operator)
    }
}

fn is_comparator_start(c: char) -> bool {
    "=!<>:".contains(c)
}

/// A comparator as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Has,
}

impl Operator {
    fn symbol(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Less => "<",
            Self::LessOrEqual => "<=",
            Self::Greater => ">",
            Self::GreaterOrEqual => ">=",
            Self::Has => ":",
        }
    }

    fn comparison(self) -> Option<Comparison> {
        Some(match self {
            Self::Equal => Comparison::Equal,
            Self::NotEqual => Comparison::NotEqual,
            Self::Less => Comparison::Less,
            Self::LessOrEqual => Comparison::LessOrEqual,
            Self::Greater => Comparison::Greater,
            Self::GreaterOrEqual => Comparison::GreaterOrEqual,
            Self::Has => return None,
        })
    }

    /// `=`, `!=` and `:` (has) only.
    fn equality(self, field: &str) -> Result<Comparison, String> {
        match self {
            Self::Equal | Self::Has => Ok(Comparison::Equal),
            Self::NotEqual => Ok(Comparison::NotEqual),
            _ => Err(format!("`{field}` supports only `=`, `!=` and `:`, not `{}`", self.symbol())),
        }
    }

    fn ordering(self, field: &str) -> Result<Comparison, String> {
        self.comparison().ok_or_else(|| format!("`{field}` does not support `:`; use = != < <= > >="))
    }
}

/// Types one restriction; the error message names what is wrong.
fn restriction(field: &str, operator: Operator, value: String) -> Result<Filter, String> {
    let time_field = match field {
        "due_time" => Some(TimeField::Due),
        "start_time" => Some(TimeField::Start),
        "create_time" => Some(TimeField::Create),
        "update_time" => Some(TimeField::Update),
        _ => None,
    };
    if let Some(time_field) = time_field {
        let comparison = operator.ordering(field)?;
        let micros = parse_rfc3339(&value)
            .ok_or_else(|| format!("`{value}` is not an RFC 3339 timestamp or a YYYY-MM-DD date"))?;
        return Ok(Filter::Time(time_field, comparison, micros));
    }
    if let Some(key) = field.strip_prefix("cf.") {
        if !is_key(key) {
            return Err(format!("unknown field `{field}`: a custom field key is a lowercase identifier"));
        }
        return Ok(Filter::Custom(CustomTerm { key: key.to_owned(), operator, value, resolved: None }));
    }
    match field {
        "status" => {
            if operator == Operator::Has {
                return Err("`status` supports `=` and `!=`".into());
            }
            let comparison = operator.equality(field)?;
            let status = TaskStatus::from_filter(&value)
                .ok_or_else(|| format!("unknown status `{value}`; use TODO, IN_PROGRESS or DONE"))?;
            Ok(Filter::Status(comparison, status))
        }
        "state" => {
            if operator == Operator::Has {
                return Err("`state` supports `=` and `!=`".into());
            }
            let comparison = operator.equality(field)?;
            let state = StateName::parse("", &value)
                .map_err(|_| format!("`{value}` is not a state name `projects/{{project}}/states/{{state}}`"))?;
            Ok(Filter::State(comparison, state))
        }
        "parent" => {
            if operator == Operator::Has {
                return match value.as_str() {
                    "*" => Ok(Filter::Parent(Comparison::NotEqual, None)),
                    _ => Err("`parent` supports `=`, `!=` and `:*` (has a parent)".into()),
                };
            }
            let comparison = operator.equality(field)?;
            if value.is_empty() {
                return Ok(Filter::Parent(comparison, None));
            }
            let task = TaskName::parse("", &value).map_err(|_| {
                format!("`{value}` is not a task name `projects/{{project}}/tasks/{{task}}`, or `\"\"` for none")
            })?;
            Ok(Filter::Parent(comparison, Some(task)))
        }
        "priority" => {
            let comparison = operator.ordering(field)?;
            let priority = Priority::from_filter(&value)
                .ok_or_else(|| format!("unknown priority `{value}`; use UNSPECIFIED, LOW, MEDIUM, HIGH or URGENT"))?;
            Ok(Filter::Priority(comparison, priority))
        }
        "assignee" => {
            if operator == Operator::Has && value == "*" {
                return Ok(Filter::AnyAssignee);
            }
            let comparison = operator.equality(field)?;
            let assignee = if value == "me" {
                Assignee::Me
            } else {
                Assignee::User(
                    UserId::parse_name("", &value).map_err(|_| format!("`{value}` is not `me` or `users/{{user}}`"))?,
                )
            };
            Ok(Filter::Assignee(comparison, assignee))
        }
        "label" => {
            if operator == Operator::Has && value == "*" {
                return Ok(Filter::AnyLabel);
            }
            let comparison = operator.equality(field)?;
            let label = Label::parse("", &value).map_err(|violation| format!("label {}", violation.description))?;
            Ok(Filter::Label(comparison, label))
        }
        "is" => {
            if operator != Operator::Has {
                return Err("`is` supports only `:` (`is:blocked`, `is:blocking`)".into());
            }
            match value.as_str() {
                "blocked" => Ok(Filter::Is(Blocking::Blocked)),
                "blocking" => Ok(Filter::Is(Blocking::Blocking)),
                _ => Err(format!("unknown `is:{value}`; use is:blocked or is:blocking")),
            }
        }
        "title" | "description" | "text" => {
            if operator != Operator::Has {
                return Err(format!("`{field}` supports only `:` (contains)"));
            }
            let text_field = match field {
                "title" => TextField::Title,
                "description" => TextField::Description,
                _ => TextField::Text,
            };
            Ok(Filter::Contains(text_field, value))
        }
        _ => Err(format!(
            "unknown field `{field}`; use state, status, parent, priority, assignee, label, due_time, start_time, create_time, \
             update_time, title, description, text, is or cf.<key>"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> Filter {
        parse(input).unwrap_or_else(|error| panic!("{input}: {error}")).expect("non-empty")
    }

    fn error(input: &str) -> FilterError {
        parse(input).expect_err(input)
    }

    fn and(left: Filter, right: Filter) -> Filter {
        Filter::And(Box::new(left), Box::new(right))
    }

    fn or(left: Filter, right: Filter) -> Filter {
        Filter::Or(Box::new(left), Box::new(right))
    }

    fn text(word: &str) -> Filter {
        Filter::Contains(TextField::Text, word.into())
    }

    #[test]
    fn blank_filters_match_everything() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("   ").unwrap(), None);
    }

    #[test]
    fn restrictions_are_typed() {
        assert_eq!(parsed("status = DONE"), Filter::Status(Comparison::Equal, TaskStatus::Done));
        assert_eq!(parsed("status!=in_progress"), Filter::Status(Comparison::NotEqual, TaskStatus::InProgress));
        assert_eq!(parsed("priority >= HIGH"), Filter::Priority(Comparison::GreaterOrEqual, Priority::High));
        assert_eq!(parsed("label:bug"), Filter::Label(Comparison::Equal, Label::parse("", "bug").unwrap()));
        assert_eq!(parsed("label:*"), Filter::AnyLabel);
        assert_eq!(parsed("assignee = me"), Filter::Assignee(Comparison::Equal, Assignee::Me));
        let user = UserId::generate();
        assert_eq!(
            parsed(&format!("assignee:\"users/{user}\"")),
            Filter::Assignee(Comparison::Equal, Assignee::User(user))
        );
        assert_eq!(
            parsed("due_time < 2026-12-01T10:30:00Z"),
            Filter::Time(TimeField::Due, Comparison::Less, parse_rfc3339("2026-12-01T10:30:00Z").unwrap())
        );
        assert_eq!(parsed("title:\"release notes\""), Filter::Contains(TextField::Title, "release notes".into()));
    }

    #[test]
    fn bare_words_and_strings_search_text() {
        assert_eq!(parsed("login"), text("login"));
        assert_eq!(parsed("\"sign in\""), text("sign in"));
        assert_eq!(parsed(r#""say \"hi\"""#), text("say \"hi\""));
        assert_eq!(parsed("login page"), and(text("login"), text("page")));
    }

    #[test]
    fn or_binds_tighter_than_and() {
        let bug = Filter::Label(Comparison::Equal, Label::parse("", "bug").unwrap());
        let high = Filter::Priority(Comparison::Equal, Priority::High);
        let todo = Filter::Status(Comparison::Equal, TaskStatus::Todo);
        assert_eq!(
            parsed("status = TODO AND label = bug OR priority = HIGH"),
            and(todo.clone(), or(bug.clone(), high.clone()))
        );
        assert_eq!(parsed("(status = TODO AND label = bug) OR priority = HIGH"), or(and(todo, bug), high));
    }

    #[test]
    fn negation_with_not_and_minus() {
        let done = Filter::Status(Comparison::Equal, TaskStatus::Done);
        assert_eq!(parsed("NOT status = DONE"), Filter::Not(Box::new(done.clone())));
        assert_eq!(parsed("-status = DONE"), Filter::Not(Box::new(done.clone())));
        assert_eq!(parsed("NOT (status = DONE)"), Filter::Not(Box::new(done)));
        // Keywords are upper case; lower-case words are search terms.
        assert_eq!(parsed("not and"), and(text("not"), text("and")));
        assert_eq!(parsed("ANDROID"), text("ANDROID"));
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(error("status = LATER").column, 10);
        assert!(error("status = LATER").message.contains("unknown status"));
        assert_eq!(error("colour = red").column, 1);
        assert!(error("colour = red").message.contains("unknown field `colour`"));
        let state =
            format!("projects/{}/states/{}", super::super::ProjectId::generate(), super::super::StateId::generate());
        assert_eq!(
            parsed(&format!("state = \"{state}\"")),
            Filter::State(Comparison::Equal, StateName::parse("", &state).unwrap())
        );
        assert!(error(&format!("state : \"{state}\"")).message.contains("`state` supports"));
        assert!(error("state = \"projects/x/states/y\"").message.contains("is not a state name"));
        assert_eq!(error("status =").column, 9);
        assert_eq!(error("(status = DONE").column, 1);
        assert!(error("(status = DONE").message.contains("never closed"));
        assert!(error("status = DONE)").message.contains("unbalanced"));
        assert_eq!(error("status = DONE AND").column, 18);
        assert_eq!(error("OR status = DONE").column, 1);
        assert!(error("\"open").message.contains("never closed"));
        assert!(error("due_time < tomorrow").message.contains("RFC 3339"));
        assert!(error("priority : HIGH").message.contains("does not support `:`"));
        assert!(error("label < bug").message.contains("only `=`"));
        assert!(error("title = x").message.contains("only `:`"));
        assert!(error("= x").message.contains("before `=`"));
        assert!(error("()").message.contains("empty parentheses"));
        assert!(error("\"a\" = b").message.contains("quoted string"));
    }

    #[test]
    fn parent_names_a_task_or_none() {
        let task =
            format!("projects/{}/tasks/{}", super::super::ProjectId::generate(), super::super::TaskId::generate());
        let name = TaskName::parse("", &task).unwrap();
        assert_eq!(parsed(&format!("parent = \"{task}\"")), Filter::Parent(Comparison::Equal, Some(name)));
        assert_eq!(parsed(&format!("parent != {task}")), Filter::Parent(Comparison::NotEqual, Some(name)));
        assert_eq!(parsed("parent = \"\""), Filter::Parent(Comparison::Equal, None));
        assert_eq!(parsed("parent != \"\""), Filter::Parent(Comparison::NotEqual, None));
        assert_eq!(parsed("parent:*"), Filter::Parent(Comparison::NotEqual, None));
        assert_eq!(parsed("-parent:*"), Filter::Not(Box::new(Filter::Parent(Comparison::NotEqual, None))));
        assert!(error("parent = \"projects/x/tasks/y\"").message.contains("is not a task name"));
        assert!(error("parent : \"projects/x/tasks/y\"").message.contains("`parent` supports"));
        assert!(error("parent < \"\"").message.contains("only `=`"));
        assert_eq!(error("parent = nope").column, 10);
    }

    #[test]
    fn is_tests_blocking_relations() {
        assert_eq!(parsed("is:blocked"), Filter::Is(Blocking::Blocked));
        assert_eq!(parsed("is : blocking"), Filter::Is(Blocking::Blocking));
        assert_eq!(parsed("-is:blocked"), Filter::Not(Box::new(Filter::Is(Blocking::Blocked))));
        assert_eq!(
            parsed("is:blocked OR is:blocking"),
            or(Filter::Is(Blocking::Blocked), Filter::Is(Blocking::Blocking))
        );
        let unknown = error("status = TODO is:stuck");
        assert_eq!(unknown.column, 18);
        assert!(unknown.message.contains("is:blocked or is:blocking"), "{unknown}");
        assert!(error("is = blocked").message.contains("only `:`"));
        // Each is a subquery: capped with labels and assignees.
        let at_cap = vec!["is:blocked"; MAX_RELATION_TERMS].join(" OR ");
        assert!(parse(&at_cap).is_ok());
        assert!(error(&format!("{at_cap} label:*")).message.contains("`is:` restrictions"));
    }

    #[test]
    fn size_and_depth_are_bounded() {
        assert!(error(&"x ".repeat(MAX_LENGTH)).message.contains("longer"));
        let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        assert!(error(&deep).message.contains("nested deeper"));
        let negations = format!("{}a", "NOT ".repeat(40));
        assert!(error(&negations).message.contains("nested deeper"));
    }

    #[test]
    fn label_and_assignee_restrictions_are_capped() {
        let at_cap = vec!["label = bug"; MAX_RELATION_TERMS].join(" AND ");
        assert!(parse(&at_cap).is_ok());
        let mixed = format!("{at_cap} OR assignee:*");
        let over = error(&mixed);
        assert_eq!(over.column, at_cap.chars().count() + 5);
        assert!(over.message.contains("more than 16"), "{over}");
        // Other restrictions are not capped (the length limit bounds them).
        assert!(parse(&vec!["status = TODO"; 100].join(" ")).is_ok());
    }

    #[test]
    fn control_characters_are_refused_with_their_column() {
        let nul = error("title:\"a\u{0}b\"");
        assert_eq!(nul.column, 9);
        assert!(nul.message.contains("U+0000"), "{nul}");
        assert!(error("a\u{7}").message.contains("control character"));
        // Whitespace, tabs and newlines included, separates terms.
        assert_eq!(parsed("a\tb\nc"), and(and(text("a"), text("b")), text("c")));
    }

    #[test]
    fn custom_field_terms_are_typed_by_their_field() {
        let mut filter = parsed("cf.estimate >= 3 AND (cf.tags:ui OR NOT cf.owner = me) cf.done = false cf.notes:*");
        let lookup = |key: &str| {
            let kind = match key {
                "estimate" => FieldType::Number,
                "tags" => FieldType::MultiSelect,
                "owner" => FieldType::User,
                "done" => FieldType::Checkbox,
                "notes" => FieldType::Text,
                _ => return None,
            };
            Some((format!("id-{key}"), kind))
        };
        resolve_custom(&mut filter, lookup).unwrap();
        let mut tests = Vec::new();
        let mut pending = vec![&filter];
        while let Some(next) = pending.pop() {
            match next {
                Filter::And(left, right) | Filter::Or(left, right) => {
                    pending.push(right);
                    pending.push(left);
                }
                Filter::Not(inner) => pending.push(inner),
                Filter::Custom(term) => tests.push(term.resolved.clone().expect("resolved")),
                other => panic!("unexpected {other:?}"),
            }
        }
        let tests: Vec<(&str, CustomTest)> = tests.iter().map(|c| (c.field_id.as_str(), c.test.clone())).collect();
        assert_eq!(
            tests,
            [
                ("id-estimate", CustomTest::Number(Comparison::GreaterOrEqual, 3.0)),
                ("id-tags", CustomTest::Text(Comparison::Equal, "ui".into())),
                ("id-owner", CustomTest::Me(Comparison::Equal)),
                ("id-done", CustomTest::Checked(false)),
                ("id-notes", CustomTest::Any),
            ]
        );
        for (input, needle) in [
            ("cf.missing = 1", "no custom field `missing`"),
            ("cf.estimate = lots", "not a number"),
            ("cf.estimate:3", "does not support `:`"),
            ("cf.done = maybe", "true or false"),
            ("cf.tags < ui", "supports only"),
        ] {
            let mut filter = parsed(input);
            let message = resolve_custom(&mut filter, lookup).expect_err(input);
            assert!(message.contains(needle), "{input}: {message}");
        }
        assert!(error("cf.Estimate = 1").message.starts_with("unknown field"));
        assert!(has_custom(&parsed("status = TODO OR -cf.x:*")));
        assert!(!has_custom(&parsed("status = TODO")));
    }
}
