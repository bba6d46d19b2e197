//! One module per page.

pub mod auth;
pub mod fields;
pub mod inbox;
pub mod members;
pub mod profile;
pub mod project;
pub mod projects;
pub mod sessions;
pub mod task;
pub mod tokens;
pub mod unsubscribe;
pub mod webhooks;
pub mod workflow;
