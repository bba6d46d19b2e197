//! Request decoding and validation: arbitrary bytes decoded as a task
//! request (the first byte picks which), then checked with the same domain
//! parsers the handlers in `server/src/services/tasks.rs` call before any
//! database access. Nothing may panic, and whatever parses must be canonical
//! (it prints back as the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use tasktracker_proto::v1;
use tasktracker_server::domain::{
    Label, Priority, ProjectId, TaskDescription, TaskName, TaskStatus, TaskTitle, UserId, filter,
    page::{Cursor, TaskOrder, page_size},
    parse_labels,
    time::{from_timestamp, to_timestamp},
};

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

fuzz_target!(|data: &[u8]| {
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
});
