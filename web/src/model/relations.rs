//! Task relations as the task page shows them, and the task picker's
//! search and keyboard moves.

use tasktracker_proto::v1::{StateCategory, TaskRelation, TaskRelationType};

use super::filter::TaskFilter;

/// Every relation type, in the order the page lists them, with its label.
pub const TYPES: [(TaskRelationType, &str); 5] = [
    (TaskRelationType::Blocks, "Blocks"),
    (TaskRelationType::BlockedBy, "Blocked by"),
    (TaskRelationType::Duplicates, "Duplicates"),
    (TaskRelationType::DuplicatedBy, "Duplicated by"),
    (TaskRelationType::RelatesTo, "Relates to"),
];

/// Most tasks the picker offers.
pub const PICKER_RESULTS: usize = 8;

/// The label of a relation type (`""` if unknown).
pub fn type_label(kind: i32) -> &'static str {
    TYPES.iter().find(|(t, _)| *t as i32 == kind).map_or("", |(_, label)| label)
}

/// What became of the other task, if anything: deleted, done or canceled.
pub fn mark(relation: &TaskRelation) -> Option<&'static str> {
    if relation.task_delete_time.is_some() {
        return Some("deleted");
    }
    match StateCategory::try_from(relation.task_state_category).unwrap_or_default() {
        StateCategory::Completed => Some("done"),
        StateCategory::Canceled => Some("canceled"),
        _ => None,
    }
}

/// The `ListTasks` filter finding tasks whose text has every word typed
/// (each quoted as the list view's search does); empty for blank text.
pub fn search_filter(text: &str) -> String {
    TaskFilter { search: text.to_owned(), ..Default::default() }.to_filter()
}

/// The option an arrow key makes active among `count` options: down from
/// none is the first, up from none the last; both wrap around.
pub fn step(active: Option<usize>, count: usize, down: bool) -> Option<usize> {
    if count == 0 {
        return None;
    }
    Some(match (active.filter(|a| *a < count), down) {
        (None, true) => 0,
        (None, false) => count - 1,
        (Some(a), true) => (a + 1) % count,
        (Some(a), false) => (a + count - 1) % count,
    })
}

#[cfg(test)]
mod tests {
    use prost_types::Timestamp;

    use super::*;

    #[test]
    fn labels_every_type_and_nothing_else() {
        assert_eq!(type_label(TaskRelationType::BlockedBy as i32), "Blocked by");
        assert_eq!(type_label(TaskRelationType::RelatesTo as i32), "Relates to");
        assert_eq!(type_label(0), "");
        assert_eq!(type_label(99), "");
    }

    #[test]
    fn marks_deleted_before_done_or_canceled() {
        let done = TaskRelation { task_state_category: StateCategory::Completed as i32, ..Default::default() };
        assert_eq!(mark(&done), Some("done"));
        let canceled = TaskRelation { task_state_category: StateCategory::Canceled as i32, ..Default::default() };
        assert_eq!(mark(&canceled), Some("canceled"));
        let deleted = TaskRelation { task_delete_time: Some(Timestamp::default()), ..done };
        assert_eq!(mark(&deleted), Some("deleted"));
        let open = TaskRelation { task_state_category: StateCategory::Started as i32, ..Default::default() };
        assert_eq!(mark(&open), None);
    }

    #[test]
    fn search_quotes_each_word_and_drops_quotes() {
        assert_eq!(search_filter("  "), "");
        assert_eq!(search_filter("fix login"), "\"fix\" AND \"login\"");
        assert_eq!(search_filter("say \"hi\\"), "\"say\" AND \"hi\"");
    }

    #[test]
    fn arrows_wrap_and_start_at_either_end() {
        assert_eq!(step(None, 0, true), None);
        assert_eq!(step(None, 3, true), Some(0));
        assert_eq!(step(None, 3, false), Some(2));
        assert_eq!(step(Some(2), 3, true), Some(0));
        assert_eq!(step(Some(0), 3, false), Some(2));
        assert_eq!(step(Some(1), 3, true), Some(2));
        assert_eq!(step(Some(5), 3, true), Some(0), "an index past the end starts over");
    }
}
