//! Pure logic of the web app: no browser, no I/O, tested on the host.

pub mod board;
pub mod calendar;
pub mod config;
pub mod dates;
pub mod edit;
pub mod fields;
pub mod filter;
pub mod grpc_web;
pub mod json;
pub mod mentions;
pub mod names;
pub mod relations;
pub mod session;
pub mod table;
pub mod violations;
