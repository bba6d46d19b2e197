//! The RPC observer: one span, one log line and the RED metrics per call,
//! for native gRPC and gRPC-web alike (it runs after the gRPC-web
//! translation).

use std::{sync::Arc, time::Instant};

use axum::{extract::State, middleware::Next, response::Response};
use opentelemetry::trace::TraceContextExt as _;
use tracing::{Instrument, Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::{
    metrics::{MethodLabels, Metrics, RpcLabels},
    transport::body::{FrameHook, Hooked, Polled},
};

/// The status a call ended with, as a canonical code name.
fn code_name(value: &[u8]) -> &'static str {
    let number = std::str::from_utf8(value).ok().and_then(|text| text.trim().parse::<i32>().ok()).unwrap_or(2);
    match tonic::Code::from_i32(number) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "Cancelled",
        tonic::Code::Unknown => "Unknown",
        tonic::Code::InvalidArgument => "InvalidArgument",
        tonic::Code::DeadlineExceeded => "DeadlineExceeded",
        tonic::Code::NotFound => "NotFound",
        tonic::Code::AlreadyExists => "AlreadyExists",
        tonic::Code::PermissionDenied => "PermissionDenied",
        tonic::Code::ResourceExhausted => "ResourceExhausted",
        tonic::Code::FailedPrecondition => "FailedPrecondition",
        tonic::Code::Aborted => "Aborted",
        tonic::Code::OutOfRange => "OutOfRange",
        tonic::Code::Unimplemented => "Unimplemented",
        tonic::Code::Internal => "Internal",
        tonic::Code::Unavailable => "Unavailable",
        tonic::Code::DataLoss => "DataLoss",
        tonic::Code::Unauthenticated => "Unauthenticated",
    }
}

/// Codes that count against the availability objective.
fn is_server_error(code: &str) -> bool {
    matches!(code, "Unknown" | "Internal" | "Unavailable" | "DataLoss" | "DeadlineExceeded")
}

/// Reads W3C trace context from request headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The trace id of a `traceparent` header, when tracing export is off.
fn traceparent_trace_id(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    (trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()) && trace_id != "0".repeat(32))
        .then(|| trace_id.to_ascii_lowercase())
}

/// One call being observed; records its outcome once, even if the client
/// goes away mid-stream (then as `Cancelled`).
struct CallRecord {
    metrics: Arc<Metrics>,
    method: MethodLabels,
    span: Span,
    started: Instant,
    done: bool,
}

impl CallRecord {
    fn finish(&mut self, code: &'static str) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let elapsed = self.started.elapsed();
        let labels = RpcLabels {
            grpc_service: self.method.grpc_service.clone(),
            grpc_method: self.method.grpc_method.clone(),
            grpc_code: code.to_owned(),
        };
        self.metrics.requests.get_or_create(&labels).inc();
        self.metrics.request_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
        self.metrics.requests_in_flight.get_or_create(&self.method).dec();
        self.span.record("rpc.grpc.status_code", code);
        if is_server_error(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        let _entered = self.span.enter();
        let duration_ms = elapsed.as_secs_f64() * 1_000.0;
        if is_server_error(code) {
            tracing::warn!(code, duration_ms, "rpc finished");
        } else {
            tracing::info!(code, duration_ms, "rpc finished");
        }
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        self.finish("Cancelled");
    }
}

/// Reports the status a streamed response ends with, from its trailers.
impl FrameHook for CallRecord {
    fn on_frame(&mut self, polled: Polled) -> Polled {
        match &polled {
            Some(Ok(frame)) => {
                if let Some(status) = frame.trailers_ref().and_then(|trailers| trailers.get("grpc-status")) {
                    self.finish(code_name(status.as_bytes()));
                }
            }
            // A body that fails or ends without trailers is not a valid gRPC
            // response (after the trailers, finishing again does nothing).
            Some(Err(_)) | None => self.finish("Unknown"),
        }
        polled
    }
}

/// Middleware: span, log line and metrics for every gRPC call.
pub async fn observe(State(metrics): State<Arc<Metrics>>, request: axum::extract::Request, next: Next) -> Response {
    let Some((service, method)) = request.uri().path().strip_prefix('/').and_then(|path| path.split_once('/')) else {
        return next.run(request).await;
    };
    let method = MethodLabels { grpc_service: service.to_owned(), grpc_method: method.to_owned() };
    let span = tracing::info_span!(
        "rpc",
        otel.name = %format!("{}/{}", method.grpc_service, method.grpc_method),
        otel.kind = "server",
        otel.status_code = Empty,
        rpc.system = "grpc",
        rpc.service = %method.grpc_service,
        rpc.method = %method.grpc_method,
        rpc.grpc.status_code = Empty,
        trace_id = Empty,
        span_id = Empty,
        caller = Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    let _ = span.set_parent(parent);
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", span_context.trace_id().to_string());
        span.record("span_id", span_context.span_id().to_string());
    } else if let Some(trace_id) = traceparent_trace_id(request.headers()) {
        span.record("trace_id", trace_id);
    }
    metrics.requests_in_flight.get_or_create(&method).inc();
    let mut record = CallRecord { metrics, method, span: span.clone(), started: Instant::now(), done: false };
    let response = next.run(request).instrument(span).await;
    if let Some(status) = response.headers().get("grpc-status") {
        // Trailers-only response: the status is already known.
        record.finish(code_name(status.as_bytes()));
        return response;
    }
    response.map(|inner| Hooked::body(inner, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_named_and_classified() {
        assert_eq!(code_name(b"0"), "OK");
        assert_eq!(code_name(b"3"), "InvalidArgument");
        assert_eq!(code_name(b"14"), "Unavailable");
        assert_eq!(code_name(b"garbage"), "Unknown");
        assert!(is_server_error("Internal"));
        assert!(!is_server_error("InvalidArgument"));
    }

    #[test]
    fn traceparent_trace_ids_are_read() {
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".parse().unwrap());
        assert_eq!(traceparent_trace_id(&headers).as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        headers.insert("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01".parse().unwrap());
        assert_eq!(traceparent_trace_id(&headers), None);
    }
}
