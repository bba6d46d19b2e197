//! Tasktracker's web app.
//!
//! `model` holds the pure logic (no browser, no I/O) and is tested on the host;
//! `app` (wasm32 only) is the Leptos UI, and `app::api` its only I/O module.

pub mod model;

#[cfg(target_arch = "wasm32")]
pub mod app;
