//! Request decoding and validation: arbitrary bytes decoded as a task
//! request (the first byte picks which), then checked with the same domain
//! parsers the task handlers call before any database access. Nothing may
//! panic, and whatever parses must be canonical. The checks live in
//! `tasktracker-fuzz-checks` (testkit/fuzz-checks), shared with the corpus
//! replay and property tests of the normal test build.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tasktracker_fuzz_checks::request_validation(data));
