//! The one place that sets up logs and traces.
//!
//! Logs: human-readable lines locally, one JSON object per line in
//! production; inside an RPC every line carries the call's span fields
//! (method, trace id, caller). Traces: exported over OTLP/gRPC when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, with the W3C `traceparent` of
//! incoming calls honoured; when it is not set no tracing layer is installed.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider},
};
use tracing_subscriber::{EnvFilter, Layer, fmt, prelude::*};

use crate::config::LogFormat;

/// Tracing export settings.
#[derive(Debug, Clone, Default)]
pub struct TraceExport {
    /// OTLP/gRPC collector, e.g. `http://localhost:4317`.
    pub endpoint: Option<String>,
    /// Share of new traces sampled (calls with a sampled parent always are).
    pub sample_ratio: f64,
}

/// Flushes buffered spans when dropped: keep it alive for the process.
#[must_use]
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("flushing traces failed: {error}");
        }
    }
}

/// Installs the global subscriber; `RUST_LOG` filters (default `info`).
/// Tests start several servers in one process: the first install wins.
pub fn init(format: LogFormat, export: &TraceExport) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match format {
        LogFormat::Json => {
            fmt::layer().json().flatten_event(true).with_current_span(true).with_span_list(false).boxed()
        }
        LogFormat::Pretty => fmt::layer().with_target(false).boxed(),
    };
    let provider = match &export.endpoint {
        None => None,
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint).build()?;
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(export.sample_ratio))))
                    .with_resource(Resource::builder().with_service_name("tasktracker-server").build())
                    .build(),
            )
        }
    };
    let traces = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("tasktracker-server")));
    if tracing_subscriber::registry().with(filter).with(logs).with(traces).try_init().is_err() {
        return Ok(TelemetryGuard(None));
    }
    Ok(TelemetryGuard(provider))
}
