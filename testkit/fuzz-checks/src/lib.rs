//! The checks the fuzz targets (`fuzz/fuzz_targets/`) run on each input,
//! here so that the targets (cargo-fuzz, libFuzzer, sanitizers: slow to
//! build, `scripts/fuzz.sh` and the scheduled pipeline) and the normal test
//! build (`tests/corpus.rs` replays every committed corpus file,
//! `tests/properties.rs` runs a bounded proptest) check exactly the same.
//!
//! Each check panics when the property fails; returning is passing.

mod server {
    //! Everything used from the server, in one place: when the server's
    //! modules move, this is the list to fix.
    pub use tasktracker_server::{
        domain::{
            Label, Priority, ProjectId, TaskDescription, TaskName, TaskStatus, TaskTitle, UserId, filter,
            page::{Cursor, TaskOrder, page_size},
            parse_labels,
            time::{from_timestamp, to_timestamp},
        },
        storage::{entities::tasks, tasks::condition},
    };
}

use prost::Message;
use sea_orm::{
    DbBackend,
    sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder},
};
use server::*;
use tasktracker_proto::v1;

/// The `ListTasks` filter parser (`domain::filter::parse`) and its
/// translation to SQL (`storage::tasks::condition`): any input either parses
/// into a filter that renders as SQL for both backends, or fails with an
/// error pointing inside the input; nothing panics, overflows the stack or
/// runs away.
pub fn filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    filter_text(text);
}

/// [`filter`] on text.
pub fn filter_text(text: &str) {
    match filter::parse(text) {
        Ok(None) => assert!(text.trim().is_empty(), "only a blank filter is no filter: {text:?}"),
        Ok(Some(filter)) => {
            let caller = UserId::from_stored("01890a5d-ac96-774b-b9aa-0f1a6e0a2c11");
            // Each backend's translation (SQLite's free text uses its trigram table).
            let select = |backend| {
                let mut select = Query::select();
                select.column(tasks::Column::Id).from(tasks::Entity).and_where(condition(&filter, caller, backend));
                select
            };
            assert!(select(DbBackend::Postgres).to_string(PostgresQueryBuilder).contains("WHERE"));
            assert!(select(DbBackend::Sqlite).to_string(SqliteQueryBuilder).contains("WHERE"));
        }
        Err(error) => {
            let length = text.chars().count();
            assert!(
                (1..=length + 1).contains(&error.column) || error.column == filter::MAX_LENGTH + 1,
                "column {} outside a filter of {length} characters: {text:?}",
                error.column
            );
            assert!(!error.message.is_empty());
        }
    }
}

fn check_project(field: &str, name: &str) {
    if let Ok(project) = ProjectId::parse_name(field, name) {
        assert_eq!(project.name(), name);
    }
}

fn check_task_name(field: &str, name: &str) {
    if let Ok(task) = TaskName::parse(field, name) {
        assert_eq!(task.to_string(), name);
    }
}

fn check_timestamp(field: &str, timestamp: &Option<prost_types::Timestamp>) {
    if let Some(timestamp) = timestamp
        && let Ok(micros) = from_timestamp(field, timestamp)
    {
        assert_eq!(to_timestamp(micros).seconds, timestamp.seconds);
    }
}

/// The fields CreateTask and UpdateTask validate.
fn check_task(task: &v1::Task) {
    if let Ok(title) = TaskTitle::parse("task.title", &task.title) {
        assert!(!title.as_str().is_empty() && title.as_str().chars().count() <= TaskTitle::MAX_CHARS);
    }
    if let Ok(description) = TaskDescription::parse("task.description", &task.description) {
        assert!(description.as_str().chars().count() <= TaskDescription::MAX_CHARS);
    }
    let _ = TaskStatus::from_proto("task.status", task.status);
    let _ = Priority::from_proto("task.priority", task.priority);
    if let Ok(labels) = parse_labels("task.labels", &task.labels) {
        assert!(labels.len() <= Label::MAX_PER_TASK);
    }
    for assignee in task.assignees.iter().take(21) {
        if let Ok(user) = UserId::parse_name("task.assignees", assignee) {
            assert_eq!(&user.name(), assignee);
        }
    }
    check_timestamp("task.start_time", &task.start_time);
    check_timestamp("task.due_time", &task.due_time);
}

/// Request decoding and validation: arbitrary bytes decoded as a task
/// request (the first byte picks which, see [`RequestKind`]), then checked
/// with the same domain parsers the task handlers call before any database
/// access. Nothing may panic, and whatever parses must be canonical (it
/// prints back as the input).
pub fn request_validation(data: &[u8]) {
    let Some((&kind, bytes)) = data.split_first() else { return };
    match kind % 4 {
        0 => {
            let Ok(request) = v1::CreateTaskRequest::decode(bytes) else { return };
            check_project("parent", &request.parent);
            if let Some(task) = &request.task {
                check_task(task);
            }
        }
        1 => {
            let Ok(request) = v1::UpdateTaskRequest::decode(bytes) else { return };
            if let Some(task) = &request.task {
                check_task_name("task.name", &task.name);
                check_task(task);
            }
        }
        2 => {
            let Ok(request) = v1::ListTasksRequest::decode(bytes) else { return };
            check_project("parent", &request.parent);
            if let Ok(size) = page_size("page_size", request.page_size, 50, 500) {
                assert!((1..=500).contains(&size));
            }
            let _ = filter::parse(&request.filter);
            let _ = TaskOrder::parse("order_by", &request.order_by);
            let fingerprint = format!(
                "tasks\0{}\0{}\0{}\0{}",
                request.parent, request.filter, request.order_by, request.show_deleted
            );
            if let Ok(Some(cursor)) = Cursor::decode("page_token", &request.page_token, &fingerprint) {
                // A token this server could have issued decodes to itself.
                let again = Cursor::decode("page_token", &cursor.encode(), &fingerprint);
                assert_eq!(again.ok().flatten().as_ref(), Some(&cursor));
            }
        }
        _ => {
            let Ok(request) = v1::GetTaskRequest::decode(bytes) else { return };
            check_task_name("name", &request.name);
        }
    }
}

/// Which request [`request_validation`] decodes: its input's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RequestKind {
    Create = 0,
    Update = 1,
    List = 2,
    Get = 3,
}

/// An input for [`request_validation`]: `kind`'s byte, then `message`.
pub fn request_input(kind: RequestKind, message: &impl Message) -> Vec<u8> {
    let mut input = vec![kind as u8];
    input.extend(message.encode_to_vec());
    input
}
