//! The `ListTasks` filter parser and its translation to SQL: any input
//! either parses into a filter that renders as SQL for both backends, or
//! fails with an error pointing inside the input; nothing panics, overflows
//! the stack or runs away. The checks live in `tasktracker-fuzz-checks`
//! (testkit/fuzz-checks), shared with the corpus replay and property tests
//! of the normal test build.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tasktracker_fuzz_checks::filter(data));
