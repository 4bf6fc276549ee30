//! Metrics in the Prometheus/OpenMetrics data model (prometheus-client), named after the
//! OpenTelemetry semantic conventions as Prometheus exposes them:
//! - `http_server_request_duration_seconds{http_route, http_request_method, http_response_status_code, journey}`
//! - `http_server_active_requests{http_request_method}`
//! - `job_runs_total{job, journey, outcome}`, `job_failures_total{job, journey, scope}` (a part
//!   of a run that failed, e.g. `scope="warehouse:3"`, while the rest went on), `job_duration_seconds{job, journey}`,
//!   `job_queue_lag_seconds{job, journey}`
//! - `order_sync_lag_seconds{channel_kind, journey, outcome}` ([`OrderSyncLag`], registered
//!   only by the binary that syncs orders): from "the order was placed on the channel" (its
//!   `created_at`) to "the order exists as a shipment", observed when the transaction that
//!   handled a channel event commits; `outcome` is `created`, `duplicate` or `rejected`. It is
//!   the freshness SLI of the `order-sync` journey (threshold 300 s, a bucket bound), with the
//!   handling request's trace as exemplar.
//! - `db_client_operation_duration_seconds`, `db_client_slow_queries_total` (see [`crate::db`])
//! - `process_*` (CPU, resident memory, open fds, start time) and `tokio_*` runtime gauges,
//!   sampled at scrape time.
//!
//! Route labels are route *templates* (`/v1/shipments/{shipment_id}`), status codes and
//! journeys come from closed sets: cardinality is bounded by construction.

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::journey::Journey;

/// Latency buckets in seconds. They include every threshold an SLO may use (0.1, 0.3, 0.5,
/// 1, 2, 5 s for Kura's journeys), since an SLO threshold must be a bucket bound.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS.iter().copied())
}

fn latency_histogram_with_exemplars() -> HistogramWithExemplars<TraceLabel> {
    HistogramWithExemplars::new(LATENCY_BUCKETS.iter().copied())
}

/// The exemplar label: a slow bucket links to the trace of a request that landed in it.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TraceLabel {
    pub trace_id: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub http_route: String,
    pub http_request_method: String,
    pub http_response_status_code: u16,
    pub journey: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub http_request_method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub job: &'static str,
    pub journey: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobFailureLabels {
    pub job: &'static str,
    pub journey: &'static str,
    /// What failed within the run, e.g. `warehouse:3`.
    pub scope: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrderSyncLabels {
    /// The channel's platform, e.g. `shopify`.
    pub channel_kind: &'static str,
    pub journey: &'static str,
    /// `created`, `duplicate` or `rejected`.
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobRunLabels {
    pub job: &'static str,
    pub journey: &'static str,
    pub outcome: &'static str,
}

/// The metrics every Kura binary exposes, and the registry they live in.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    pub http_duration: Family<HttpLabels, HistogramWithExemplars<TraceLabel>>,
    pub http_active: Family<MethodLabels, Gauge<i64, AtomicI64>>,
    pub job_runs: Family<JobRunLabels, Counter>,
    /// Parts of job runs that failed while the rest went on.
    pub job_failures: Family<JobFailureLabels, Counter>,
    pub job_duration: Family<JobLabels, Histogram>,
    /// How long work waited before a job picked it up (e.g. cut-off to wave released).
    pub job_queue_lag: Family<JobLabels, Histogram>,
    process: crate::process::ProcessMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http_duration = Family::<HttpLabels, HistogramWithExemplars<TraceLabel>>::new_with_constructor(
            latency_histogram_with_exemplars as fn() -> HistogramWithExemplars<TraceLabel>,
        );
        registry.register_with_unit(
            "http_server_request_duration",
            "Duration of HTTP server requests",
            Unit::Seconds,
            http_duration.clone(),
        );
        let http_active = Family::<MethodLabels, Gauge<i64, AtomicI64>>::default();
        registry.register("http_server_active_requests", "HTTP server requests in flight", http_active.clone());
        let job_runs = Family::<JobRunLabels, Counter>::default();
        registry.register("job_runs", "Background job runs by outcome", job_runs.clone());
        let job_failures = Family::<JobFailureLabels, Counter>::default();
        registry.register(
            "job_failures",
            "Parts of background job runs that failed (e.g. one warehouse) while the rest went on",
            job_failures.clone(),
        );
        let job_duration = Family::<JobLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "job_duration",
            "Duration of background job runs",
            Unit::Seconds,
            job_duration.clone(),
        );
        let job_queue_lag =
            Family::<JobLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "job_queue_lag",
            "Time work waited before a job picked it up",
            Unit::Seconds,
            job_queue_lag.clone(),
        );
        let process = crate::process::ProcessMetrics::register(&mut registry);
        crate::db::register(&mut registry);
        registry.register(
            "otel_traces_sampled",
            "Traces the tail sampler kept or dropped when their request ended",
            crate::sampling::decisions().clone(),
        );
        registry.register(
            "otel_spans_dropped",
            "Spans dropped because their export failed",
            crate::trace::dropped_spans().clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            http_duration,
            http_active,
            job_runs,
            job_failures,
            job_duration,
            job_queue_lag,
            process,
        }
    }

    /// Records one finished HTTP request; `trace_id` becomes the bucket's exemplar.
    pub fn observe_http(
        &self,
        route: &str,
        method: &str,
        status: u16,
        journey: Journey,
        elapsed: Duration,
        trace_id: Option<String>,
    ) {
        self.http_duration
            .get_or_create(&HttpLabels {
                http_route: route.to_owned(),
                http_request_method: method.to_owned(),
                http_response_status_code: status,
                journey: journey.name(),
            })
            .observe(elapsed.as_secs_f64(), trace_id.map(|trace_id| TraceLabel { trace_id }), None);
    }

    /// Times one run of a background job that serves `journey`.
    pub async fn run_job<T, E>(
        &self,
        job: &'static str,
        journey: Journey,
        run: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let start = std::time::Instant::now();
        let result = run.await;
        let outcome = if result.is_ok() { "success" } else { "failure" };
        self.job_runs.get_or_create(&JobRunLabels { job, journey: journey.name(), outcome }).inc();
        self.job_duration
            .get_or_create(&JobLabels { job, journey: journey.name() })
            .observe(start.elapsed().as_secs_f64());
        result
    }

    /// Counts one part of a `job` run that failed (`scope` says which, e.g. `warehouse:3`).
    pub fn count_job_failure(&self, job: &'static str, journey: Journey, scope: &str) {
        self.job_failures
            .get_or_create(&JobFailureLabels { job, journey: journey.name(), scope: scope.to_owned() })
            .inc();
    }

    /// Records how long work waited before `job` picked it up.
    pub fn observe_queue_lag(&self, job: &'static str, journey: Journey, lag: Duration) {
        self.job_queue_lag.get_or_create(&JobLabels { job, journey: journey.name() }).observe(lag.as_secs_f64());
    }

    /// Registers more metrics in the same registry, so one `/metrics` shows them all (a
    /// binary's own metrics, the platform's connection gauges).
    pub fn register(&self, f: impl FnOnce(&mut Registry)) {
        if let Ok(mut r) = self.registry.lock() {
            f(&mut r);
        }
    }

    /// The OpenMetrics text exposition (ends with `# EOF`).
    pub fn encode_openmetrics(&self) -> String {
        self.process.sample();
        let mut out = String::new();
        if let Ok(r) = self.registry.lock() {
            // Writing to a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        }
        out
    }

    /// The classic Prometheus text format (0.0.4): OpenMetrics without `# EOF`, `# UNIT` and
    /// exemplars, and with counters' TYPE/HELP naming the `_total` series.
    pub fn encode_prometheus(&self) -> String {
        to_classic_text(&self.encode_openmetrics())
    }
}

/// Channel order placed → shipment exists (see the module doc); registered by the binary
/// that syncs orders, so no other binary exposes an empty family.
#[derive(Debug, Clone)]
pub struct OrderSyncLag(Family<OrderSyncLabels, HistogramWithExemplars<TraceLabel>>);

impl OrderSyncLag {
    pub fn register(metrics: &Metrics) -> OrderSyncLag {
        let family = Family::<OrderSyncLabels, HistogramWithExemplars<TraceLabel>>::new_with_constructor(
            latency_histogram_with_exemplars as fn() -> HistogramWithExemplars<TraceLabel>,
        );
        metrics.register(|r| {
            r.register_with_unit(
                "order_sync_lag",
                "Time from an order being placed on a channel to it existing as a shipment",
                Unit::Seconds,
                family.clone(),
            );
        });
        OrderSyncLag(family)
    }

    /// Records one handled channel order: `lag` from the order's placement on the channel to
    /// the moment it existed as a shipment (or was rejected); `trace_id` becomes the exemplar.
    pub fn observe(
        &self,
        channel_kind: &'static str,
        journey: Journey,
        outcome: &'static str,
        lag: Duration,
        trace_id: Option<String>,
    ) {
        self.0.get_or_create(&OrderSyncLabels { channel_kind, journey: journey.name(), outcome }).observe(
            lag.as_secs_f64(),
            trace_id.map(|trace_id| TraceLabel { trace_id }),
            None,
        );
    }
}

/// Converts OpenMetrics text to the classic Prometheus text format.
pub fn to_classic_text(openmetrics: &str) -> String {
    let mut counters: Vec<String> = Vec::new();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.push(name.to_owned());
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let line = match line.split_once(" # {") {
            Some((sample, _exemplar)) => sample,
            None => line,
        };
        let mut rewritten = None;
        for prefix in ["# TYPE ", "# HELP "] {
            if let Some(rest) = line.strip_prefix(prefix)
                && let Some((name, tail)) = rest.split_once(' ')
                && counters.iter().any(|c| c == name)
            {
                rewritten = Some(format!("{prefix}{name}_total {tail}"));
            }
        }
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_text_drops_eof_units_and_exemplars_and_names_counter_series() {
        let om = "# HELP job_runs Runs.\n# TYPE job_runs counter\njob_runs_total{job=\"a\"} 3\n\
                  # HELP d Duration.\n# TYPE d histogram\n# UNIT d seconds\n\
                  d_bucket{le=\"0.1\"} 1 # {trace_id=\"abc\"} 0.05 1.0\n# EOF\n";
        let classic = to_classic_text(om);
        assert!(classic.contains("# TYPE job_runs_total counter\n"), "{classic}");
        assert!(classic.contains("# HELP job_runs_total Runs.\n"), "{classic}");
        assert!(classic.contains("d_bucket{le=\"0.1\"} 1\n"), "{classic}");
        assert!(!classic.contains("EOF") && !classic.contains("UNIT") && !classic.contains("trace_id"), "{classic}");
    }

    #[test]
    fn http_requests_are_counted_under_their_route_template_and_journey() {
        let m = Metrics::new();
        m.observe_http(
            "/v1/shipments/{shipment_id}",
            "GET",
            404,
            Journey::new("stock-read"),
            Duration::from_millis(3),
            None,
        );
        let text = m.encode_openmetrics();
        assert!(text.contains(
            "http_server_request_duration_seconds_count{http_route=\"/v1/shipments/{shipment_id}\",http_request_method=\"GET\",http_response_status_code=\"404\",journey=\"stock-read\"} 1"
        ), "{text}");
    }

    #[test]
    fn an_order_sync_lag_lands_in_its_bucket_with_the_trace_as_exemplar() {
        let m = Metrics::new();
        OrderSyncLag::register(&m).observe(
            "shopify",
            Journey::new("order-sync"),
            "created",
            Duration::from_secs(42),
            Some("0af7651916cd43dd8448eb211c80319c".into()),
        );
        let text = m.encode_openmetrics();
        let labels = "channel_kind=\"shopify\",journey=\"order-sync\",outcome=\"created\"";
        assert!(text.contains(&format!("order_sync_lag_seconds_count{{{labels}}} 1")), "{text}");
        assert!(text.contains(&format!("order_sync_lag_seconds_bucket{{le=\"30.0\",{labels}}} 0")), "{text}");
        let bucket = format!("order_sync_lag_seconds_bucket{{le=\"60.0\",{labels}}} 1");
        let line = text.lines().find(|l| l.starts_with(&bucket)).unwrap_or_else(|| panic!("no {bucket}: {text}"));
        assert!(line.contains("# {trace_id=\"0af7651916cd43dd8448eb211c80319c\"} 42.0"), "{line}");
    }
}
