//! Tasktracker's web app.
//!
//! `model` holds the pure logic (no browser, no I/O) and is tested on the host;
//! `rpc` the typed paths of the API methods the app calls (checked on the host
//! against the API's descriptors); `app` (wasm32 only) is the Leptos UI, and
//! `app::api` its only I/O module.

pub mod model;
pub mod rpc;

#[cfg(target_arch = "wasm32")]
pub mod app;
