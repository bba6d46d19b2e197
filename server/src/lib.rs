//! Tasktracker's server as a library, so tests start the real thing
//! in-process; `main.rs` only parses the command line.

pub mod attachments;
pub mod auth;
pub mod config;
pub mod domain;
pub mod email;
pub mod error;
pub mod inbox;
pub mod live;
pub mod metrics;
pub mod observe;
pub mod overload;
pub mod services;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod transport;
pub mod webhooks;
