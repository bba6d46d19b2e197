//! The `tasktracker` binary end to end: each test runs it as a user would,
//! against the real server on a fresh PostgreSQL database.

mod auth;
mod helpers;
mod imports;
mod offline;
mod projects;
mod tasks;
mod watch;
