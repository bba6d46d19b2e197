//! Fault drills and bad-input checks against the real `tasktracker-server`
//! binary (built on demand by `common::server_binary`), each bounded in time:
//!
//! - `kill9`: SIGKILL under write load; acknowledged creates survive, retries
//!   with the same request id do not duplicate.
//! - `rolling_restart`: two processes on one database, each replaced in turn
//!   with SIGTERM under load; a client retrying UNAVAILABLE sees no failure.
//! - `database_outage`: a private PostgreSQL stops and starts under load.
//! - `bad_input`: oversized, malformed and hostile requests.
//!
//! One test binary (one link); the load-heavy drills take turns (`HEAVY`).

mod bad_input;
mod common;
mod database_outage;
mod kill9;
mod rolling_restart;
