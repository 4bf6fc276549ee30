//! Traces: an OpenTelemetry tracer provider exporting OTLP over HTTP/protobuf, configured by
//! the standard `OTEL_*` variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`/`_ARG`, `OTEL_BSP_*`, and
//! `OTEL_SDK_DISABLED=true` to turn tracing off), bridged from `tracing` spans, with the W3C
//! trace-context propagator.
//!
//! Export runs on the batch processor's own thread, never on a request: when the collector
//! is down, batches fail, their spans are dropped and counted in
//! `otel_spans_dropped_total`, and the service keeps serving. The first failure of a streak is
//! logged at WARN with its reason (an `https://` collector with an unknown CA, a refused
//! connection), and the recovery at INFO: one line per outage, never silence.
//!
//! The exporter sends with the HTTP client the binary passes in, so TLS to an `https://`
//! collector uses the same roots and CA bundle as every other client (`platform::tls`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};

/// Spans buffered for export before new ones are dropped.
pub const DEFAULT_QUEUE_SIZE: usize = 16_384;
use prometheus_client::metrics::counter::Counter;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Spans lost because their export failed (collector down, timeout, rejection).
pub fn dropped_spans() -> &'static Counter<u64, AtomicU64> {
    static DROPPED: OnceLock<Counter<u64, AtomicU64>> = OnceLock::new();
    DROPPED.get_or_init(Counter::default)
}

/// Whether `OTEL_SDK_DISABLED` turns tracing off.
pub fn disabled() -> bool {
    std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Counts the spans of every batch the inner exporter fails to deliver, and logs the first
/// failure of each streak and the recovery after it.
#[derive(Debug)]
struct Counting<E> {
    inner: E,
    failing: AtomicBool,
    failed_batches: AtomicU64,
}

impl<E> Counting<E> {
    fn new(inner: E) -> Self {
        Counting { inner, failing: AtomicBool::new(false), failed_batches: AtomicU64::new(0) }
    }

    fn observe(&self, result: &OTelSdkResult, spans: u64) {
        match result {
            Err(error) => {
                dropped_spans().inc_by(spans);
                self.failed_batches.fetch_add(1, Ordering::Relaxed);
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(target: "telemetry", %error, "span export failed; spans are dropped (and counted in otel_spans_dropped_total) until the collector answers");
                }
            }
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    let batches = self.failed_batches.swap(0, Ordering::Relaxed);
                    tracing::info!(target: "telemetry", failed_batches = batches, "span export recovered");
                }
            }
        }
    }
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.observe(&result, n);
        result
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the OTLP exporter: {0}")]
pub struct BuildError(String);

/// Builds and installs the global tracer provider and propagator; spans leave through `client`.
pub fn provider(
    service_name: &'static str,
    endpoint: Option<&str>,
    client: reqwest::blocking::Client,
) -> Result<SdkTracerProvider, BuildError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(client);
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(url);
    }
    let exporter = builder.build().map_err(|e| BuildError(e.to_string()))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service_name);
    }
    // The SDK's default queue (2,048 spans) overflows in a burst once every statement is a
    // span; OTEL_BSP_MAX_QUEUE_SIZE still wins when set.
    let mut batch = BatchConfigBuilder::default();
    if std::env::var_os("OTEL_BSP_MAX_QUEUE_SIZE").is_none() {
        batch = batch.with_max_queue_size(DEFAULT_QUEUE_SIZE);
    }
    let processor = BatchSpanProcessor::builder(Counting::new(exporter)).with_batch_config(batch.build()).build();
    let builder = SdkTracerProvider::builder().with_resource(resource.build());
    let builder = if crate::sampling::settings().tail {
        builder.with_span_processor(crate::sampling::TailProcessor::new(processor))
    } else {
        builder.with_span_processor(processor)
    };
    let provider = builder.build();
    crate::db::set_tracer(provider.tracer("kura-db"));
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(provider)
}

/// The `tracing` layer that turns spans into OpenTelemetry spans.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("kura"))
        // Left out for their cost on every request, measured in BENCHMARKS.md: attaching the
        // OTel context at each poll (ids are read with `Span::context`, never from the
        // thread-local OTel context), busy/idle timing at each enter and exit, and the thread,
        // source-location and target attributes (the route and journey say where a span is from).
        .with_context_activation(false)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false)
        .with_target(false)
}

/// The OpenTelemetry trace and span ids of `span`, if it is sampled: what log lines,
/// exemplars and problem documents quote.
pub fn ids(span: &tracing::Span) -> Option<(TraceId, SpanId)> {
    let context = span.context();
    let otel = context.span();
    let sc = otel.span_context();
    (sc.is_valid() && sc.is_sampled()).then(|| (sc.trace_id(), sc.span_id()))
}

/// The trace id of the current span, if it is sampled (for exemplars and problem documents).
pub fn current_trace_id() -> Option<String> {
    ids(&tracing::Span::current()).map(|(trace_id, _)| trace_id.to_string())
}

/// Continues the trace of an incoming request (`traceparent`/`tracestate`) on `span`.
pub fn continue_from(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&opentelemetry_http::HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// Adds the current trace context to an outgoing request's headers (callbacks, webhooks, GitHub).
pub fn inject(headers: &mut axum::http::HeaderMap) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut opentelemetry_http::HeaderInjector(headers));
    });
}
