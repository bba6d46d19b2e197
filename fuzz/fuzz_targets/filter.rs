//! The `ListTasks` filter parser (`tasktracker_server::domain::filter::parse`)
//! and its translation to SQL (`storage::tasks::condition`): any input either
//! parses into a filter that renders as SQL for both backends, or fails with
//! an error pointing inside the input; nothing panics, overflows the stack
//! or runs away.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};
use tasktracker_server::{
    domain::{UserId, filter},
    storage::{entities::tasks, tasks::condition},
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match filter::parse(text) {
        Ok(None) => assert!(text.trim().is_empty(), "only a blank filter is no filter: {text:?}"),
        Ok(Some(filter)) => {
            let caller = UserId::from_stored("01890a5d-ac96-774b-b9aa-0f1a6e0a2c11");
            let mut select = Query::select();
            select.column(tasks::Column::Id).from(tasks::Entity).and_where(condition(&filter, caller));
            assert!(select.to_string(PostgresQueryBuilder).contains("WHERE"));
            assert!(select.to_string(SqliteQueryBuilder).contains("WHERE"));
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
});
