//! Load shedding: a global cap on calls in progress. A call over the cap is
//! refused at once with UNAVAILABLE (clients retry with backoff) instead of
//! queueing, so latency and memory stay bounded under overload.

use std::sync::Arc;

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
