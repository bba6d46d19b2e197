//! Overload protection: deadlines and load shedding.
//!
//! Every call gets a deadline: the client's `grpc-timeout`, capped by the
//! server's default. A global cap on calls in progress refuses the excess at
//! once with UNAVAILABLE (clients retry with backoff) instead of queueing, so
//! latency and memory stay bounded under overload.

use std::{sync::Arc, time::Duration};

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
