//! Builds `ListTasksRequest.filter` (the server's AIP-160 subset) and
//! `order_by` from the list view's controls.

use tasktracker_proto::v1::{Priority, TaskStatus};

/// The list view's filter controls; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    /// `users/{id}` or `me`.
    pub assignee: Option<String>,
    pub label: String,
    /// Tasks of at least this priority.
    pub min_priority: Option<Priority>,
    /// `YYYY-MM-DD`: due strictly before this day.
    pub due_before: String,
    /// `YYYY-MM-DD`: due on or after this day.
    pub due_after: String,
    /// Free text: every word must appear in the title or description.
    pub search: String,
    /// A filter typed as is (`cf.estimate >= 3`), ANDed with the rest.
    pub custom: String,
}

/// The filter token of a status.
pub fn status_token(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Todo => "TODO",
        TaskStatus::InProgress => "IN_PROGRESS",
        TaskStatus::Done => "DONE",
        TaskStatus::Unspecified => "UNSPECIFIED",
    }
}

/// The filter token of a priority.
pub fn priority_token(priority: Priority) -> &'static str {
    match priority {
        Priority::Unspecified => "UNSPECIFIED",
        Priority::Low => "LOW",
        Priority::Medium => "MEDIUM",
        Priority::High => "HIGH",
        Priority::Urgent => "URGENT",
    }
}

/// A value as a filter string literal. Double quotes and backslashes cannot
/// be escaped in the grammar, so they are dropped.
pub fn quoted(value: &str) -> String {
    let clean: String = value.chars().filter(|c| *c != '"' && *c != '\\').collect();
    format!("\"{}\"", clean.trim())
}

/// Whether every parenthesis outside string literals closes, in order.
fn balanced(text: &str) -> bool {
    let (mut depth, mut quoted) = (0_usize, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

/// A typed filter as a term to AND with others: in parentheses, so its ORs
/// stay inside; as typed when its parentheses do not balance, for the server
/// to point at (parenthesised, `a) OR (b` would change meaning instead).
pub fn custom_term(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        None
    } else if balanced(text) {
        Some(format!("({text})"))
    } else {
        Some(text.to_owned())
    }
}

/// A `YYYY-MM-DD` day, or `None` if the text is not one.
fn day(text: &str) -> Option<&str> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let shape = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    shape.then_some(text)
}

impl TaskFilter {
    /// The `filter` string; empty when nothing filters.
    pub fn to_filter(&self) -> String {
        let mut terms = Vec::new();
        if let Some(status) = self.status.filter(|s| *s != TaskStatus::Unspecified) {
            terms.push(format!("status = {}", status_token(status)));
        }
        if let Some(assignee) = self.assignee.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            terms.push(format!("assignee = {}", quoted(assignee)));
        }
        let label = self.label.trim();
        if !label.is_empty() {
            terms.push(format!("label = {}", quoted(label)));
        }
        if let Some(priority) = self.min_priority.filter(|p| *p != Priority::Unspecified) {
            terms.push(format!("priority >= {}", priority_token(priority)));
        }
        if let Some(before) = day(&self.due_before) {
            terms.push(format!("due_time < {before}"));
        }
        if let Some(after) = day(&self.due_after) {
            terms.push(format!("due_time >= {after}"));
        }
        for word in self.search.split_whitespace() {
            let word: String = word.chars().filter(|c| *c != '"' && *c != '\\').collect();
            if !word.is_empty() {
                terms.push(quoted(&word));
            }
        }
        terms.extend(custom_term(&self.custom));
        terms.join(" AND ")
    }
}

/// The list view's sort choices: `(order_by, label)`.
pub const SORTS: &[(&str, &str)] = &[
    ("position", "Board order"),
    ("create_time desc", "Newest first"),
    ("create_time", "Oldest first"),
    ("update_time desc", "Recently updated"),
    ("due_time", "Due soonest"),
    ("priority desc", "Highest priority"),
    ("title", "Title A–Z"),
];

/// `order_by` for a sort choice (one of [`SORTS`], or a table header's
/// column, ascending or `desc`); unknown choices fall back to board order.
pub fn order_by(choice: &str) -> &str {
    let header = super::table::sortable(choice.strip_suffix(" desc").unwrap_or(choice));
    if header || SORTS.iter().any(|(value, _)| *value == choice) { choice } else { "position" }
}

/// A saved view's filter narrowed by the filter bar's: each in parentheses
/// (the grammar binds `OR` tighter than `AND`), or the one that is set.
pub fn both(view: &str, bar: &str) -> String {
    match (view.trim(), bar.trim()) {
        ("", bar) => bar.to_owned(),
        (view, "") => view.to_owned(),
        (view, bar) => format!("({view}) AND ({bar})"),
    }
}

/// The order a list asks for: the bar's sort once chosen, else an open
/// view's order, else board order.
pub fn effective_order(choice: &str, view_order: Option<&str>) -> String {
    match view_order.map(str::trim).filter(|order| !order.is_empty()) {
        Some(order) if order_by(choice) == "position" => order.to_owned(),
        _ => order_by(choice).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_filter_and_the_bar_narrow_each_other() {
        assert_eq!(both("", ""), "");
        assert_eq!(both(" priority >= HIGH ", ""), "priority >= HIGH");
        assert_eq!(both("", "label = \"docs\""), "label = \"docs\"");
        assert_eq!(both("a OR b", "c"), "(a OR b) AND (c)");
        assert_eq!(effective_order("position", Some("due_time desc")), "due_time desc");
        assert_eq!(effective_order("title", Some("due_time desc")), "title");
        assert_eq!(effective_order("position", Some(" ")), "position");
        assert_eq!(effective_order("nonsense", None), "position");
        assert_eq!(effective_order("cf.estimate desc", Some("title")), "cf.estimate desc");
        assert_eq!(effective_order("labels", None), "position");
    }

    #[test]
    fn nothing_set_means_no_filter() {
        assert_eq!(TaskFilter::default().to_filter(), "");
        let blank =
            TaskFilter { label: "  ".into(), search: " \t".into(), due_before: "soon".into(), ..Default::default() };
        assert_eq!(blank.to_filter(), "");
    }

    #[test]
    fn every_control_becomes_a_term() {
        let filter = TaskFilter {
            status: Some(TaskStatus::InProgress),
            assignee: Some("users/42".into()),
            label: "bug".into(),
            min_priority: Some(Priority::High),
            due_before: "2026-12-01".into(),
            due_after: "2026-11-01".into(),
            search: "login page".into(),
            custom: "cf.estimate >= 3 OR cf.team = \"core\"".into(),
        };
        assert_eq!(
            filter.to_filter(),
            "status = IN_PROGRESS AND assignee = \"users/42\" AND label = \"bug\" AND priority >= HIGH \
             AND due_time < 2026-12-01 AND due_time >= 2026-11-01 AND \"login\" AND \"page\" \
             AND (cf.estimate >= 3 OR cf.team = \"core\")"
        );
    }

    #[test]
    fn quotes_cannot_break_out_of_a_literal() {
        let filter = TaskFilter { search: "a\" OR status = DONE".into(), ..Default::default() };
        assert_eq!(filter.to_filter(), "\"a\" AND \"OR\" AND \"status\" AND \"=\" AND \"DONE\"");
        let filter = TaskFilter { label: "x\" OR \"y".into(), ..Default::default() };
        assert_eq!(filter.to_filter(), "label = \"x OR y\"");
    }

    #[test]
    fn unspecified_choices_do_not_filter() {
        let filter = TaskFilter {
            status: Some(TaskStatus::Unspecified),
            min_priority: Some(Priority::Unspecified),
            assignee: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(filter.to_filter(), "");
    }

    #[test]
    fn a_typed_filter_is_parenthesised_when_it_balances() {
        assert_eq!(custom_term("  "), None);
        assert_eq!(custom_term(" cf.estimate >= 3 ").as_deref(), Some("(cf.estimate >= 3)"));
        assert_eq!(custom_term("cf.note = \")(\"").as_deref(), Some("(cf.note = \")(\")"));
        assert_eq!(custom_term("a) OR (b").as_deref(), Some("a) OR (b"), "left for the server to refuse");
        assert_eq!(custom_term("(a").as_deref(), Some("(a"));
        let filter = TaskFilter { label: "bug".into(), custom: "cf.key:*".into(), ..Default::default() };
        assert_eq!(filter.to_filter(), "label = \"bug\" AND (cf.key:*)");
    }

    #[test]
    fn sorts_map_to_order_by() {
        assert_eq!(order_by("due_time"), "due_time");
        assert_eq!(order_by("priority desc"), "priority desc");
        assert_eq!(order_by("drop table"), "position");
    }
}
