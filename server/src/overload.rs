//! Overload protection: deadlines, load shedding and failing fast.
//!
//! Every call gets a deadline: the client's `grpc-timeout`, capped by the
//! server's default. A global cap on calls in progress refuses the excess at
//! once with UNAVAILABLE (clients retry with backoff) instead of queueing, so
//! latency and memory stay bounded under overload. While the health probe
//! cannot reach the database, product calls are refused at once with
//! UNAVAILABLE instead of each waiting out the pool's acquire timeout.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{extract::State, middleware::Next, response::Response};
use tokio::sync::Semaphore;

/// Permits for calls in progress.
#[derive(Clone)]
pub struct CallLimit(Arc<Semaphore>);

impl CallLimit {
    pub fn new(max_calls: usize) -> Self {
        Self(Arc::new(Semaphore::new(max_calls)))
    }
}

/// Middleware: holds a permit while the handler runs (a stream's permit is
/// released once its response starts, so open watches do not count).
pub async fn shed_load(State(limit): State<CallLimit>, request: axum::extract::Request, next: Next) -> Response {
    let Ok(_permit) = limit.0.clone().try_acquire_owned() else {
        return tonic::Status::unavailable("server overloaded; retry with backoff").into_http();
    };
    next.run(request).await
}

/// Whether the database answered the health probe's last ping.
#[derive(Clone)]
pub struct DatabaseStatus(Arc<AtomicBool>);

impl DatabaseStatus {
    /// Starts up: the server only starts once the database has answered.
    pub fn up() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }

    pub fn set(&self, up: bool) {
        self.0.store(up, Ordering::Relaxed);
    }

    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Path prefixes of the product's own services: `tasktracker.v1` and the
/// long-running operations its imports return (health and reflection need
/// no database and stay available).
const PRODUCT_SERVICES: &[&str] = &["/tasktracker.v1.", "/google.longrunning.Operations/"];

/// Whether `path` calls one of the product's own services: those need the
/// database and a caller.
pub fn is_product_call(path: &str) -> bool {
    PRODUCT_SERVICES.iter().any(|prefix| path.starts_with(prefix))
}

/// Middleware: while the database is down, refuses product calls at once
/// with UNAVAILABLE, so clients fail over or back off without waiting.
pub async fn fail_fast_while_database_down(
    State(database): State<DatabaseStatus>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    if !database.is_up() && is_product_call(request.uri().path()) {
        return tonic::Status::unavailable("database unreachable; retry with backoff").into_http();
    }
    next.run(request).await
}

/// The server's default deadline, for calls that bring none.
#[derive(Clone, Copy)]
pub struct DefaultDeadline(pub Duration);

/// Parses a `grpc-timeout` header value: up to 8 digits and a unit.
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3_600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Middleware: fails a call with DEADLINE_EXCEEDED once its deadline passes,
/// dropping (and so cancelling) the handler's work, database query included.
pub async fn enforce_deadline(
    State(default): State<DefaultDeadline>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let requested =
        request.headers().get("grpc-timeout").and_then(|value| value.to_str().ok()).and_then(parse_grpc_timeout);
    let deadline = requested.map_or(default.0, |requested| requested.min(default.0));
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => tonic::Status::deadline_exceeded(format!("deadline of {deadline:?} exceeded")).into_http(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        assert_eq!(parse_grpc_timeout("50m"), Some(Duration::from_millis(50)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3_600)));
        assert_eq!(parse_grpc_timeout("123456789m"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }
}
