//! The fuzz targets' checks as property tests: a bounded number of
//! generated inputs per run (PROPTEST_CASES overrides the count), in seconds,
//! in the normal test build. Unstructured bytes, plus inputs shaped like the
//! real thing (filter tokens; encoded requests) so most reach deep code.

use proptest::prelude::*;
use tasktracker_fuzz_checks::{RequestKind, filter, filter_text, request_input, request_validation};
use tasktracker_proto::v1;

const CASES: u32 = 2000;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(CASES);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Filter-language tokens, valid and not.
const TOKENS: &[&str] = &[
    "status",
    "priority",
    "label",
    "assignee",
    "title",
    "description",
    "due_time",
    "start_time",
    "create_time",
    "update_time",
    "unknown_field",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    ":",
    "AND",
    "OR",
    "NOT",
    "-",
    "(",
    ")",
    "*",
    "TODO",
    "IN_PROGRESS",
    "DONE",
    "SOMEDAY",
    "HIGH",
    "MEDIUM",
    "LOW",
    "4",
    "me",
    "docs",
    "\"ops team\"",
    "\"",
    "2026-01-01",
    "2026-11-24T10:00:00Z",
    "users/01890a5d-ac96-774b-b9aa-0f1a6e0a2c11",
    "café",
    "日本",
    "\\",
];

fn filter_like() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(TOKENS), prop::sample::select(&[" ", "", "  "][..])), 0..40)
        .prop_map(|parts| parts.into_iter().map(|(token, gap)| format!("{token}{gap}")).collect())
}

fn name_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "projects/[0-9a-f-]{0,40}",
        "projects/[0-9a-f-]{36}/tasks/[0-9a-f-]{0,40}",
        "users/[0-9a-f-]{0,40}",
    ]
}

fn timestamp() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
    prop::option::of(
        (any::<i64>(), any::<i32>()).prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
    )
}

fn task() -> impl Strategy<Value = v1::Task> {
    (
        name_like(),
        "\\PC{0,300}",
        "\\PC{0,50}",
        (any::<i32>(), any::<i32>()),
        prop::collection::vec("[a-z\\PC]{0,30}", 0..25),
        prop::collection::vec(name_like(), 0..25),
        (timestamp(), timestamp()),
    )
        .prop_map(|(name, title, description, (status, priority), labels, assignees, (start_time, due_time))| {
            v1::Task {
                name,
                title,
                description,
                status,
                priority,
                labels,
                assignees,
                start_time,
                due_time,
                ..Default::default()
            }
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn filter_on_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        filter(&data);
    }

    #[test]
    fn filter_on_text(text in "\\PC{0,300}") {
        filter_text(&text);
    }

    #[test]
    fn filter_on_token_soup(text in filter_like()) {
        filter_text(&text);
    }

    #[test]
    fn request_validation_on_bytes(data in prop::collection::vec(any::<u8>(), 0..1024)) {
        request_validation(&data);
    }

    #[test]
    fn request_validation_on_requests(
        parent in name_like(),
        task in task(),
        filter in filter_like(),
        order_by in prop_oneof![Just(String::new()), "[a-z_, ]{0,40}".prop_map(String::from)],
        page_token in "[A-Za-z0-9_=-]{0,80}",
        page_size in any::<i32>(),
    ) {
        request_validation(&request_input(
            RequestKind::Create,
            &v1::CreateTaskRequest { parent: parent.clone(), task: Some(task.clone()), request_id: String::new() },
        ));
        request_validation(&request_input(RequestKind::Update, &v1::UpdateTaskRequest { task: Some(task.clone()), ..Default::default() }));
        request_validation(&request_input(
            RequestKind::List,
            &v1::ListTasksRequest { parent, filter, order_by, page_token, page_size, ..Default::default() },
        ));
        request_validation(&request_input(RequestKind::Get, &v1::GetTaskRequest { name: task.name }));
    }
}
