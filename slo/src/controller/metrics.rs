//! The controller's own metrics, beside the [`telemetry::Metrics`] every Kura binary exposes
//! (HTTP server, database client, process), on the admin listener's `/metrics`:
//!
//! * `slo_evaluation_duration_seconds` -- histogram of one whole evaluation cycle (source read,
//!   evaluation, history write), leader only;
//! * `slo_evaluations_total{status}` -- SLO evaluations by resulting status;
//! * `slo_source_errors_total` -- SLOs the source could not answer for;
//! * `slo_source_requests_total` -- requests the source sent (PromQL queries or scrapes): with
//!   batching, a handful per cycle however many SLOs there are;
//! * `slo_controller_leader` -- 1 while this replica holds the evaluation lock;
//! * `slo_slos` -- SLOs in the loaded specs;
//! * `slo_reloads_total{outcome}` -- spec reloads, `applied` or `rejected`;
//! * `slo_maintenance_errors_total` -- service maintenance endpoints that could not be read
//!   ([`crate::maintenance`]);
//! * `slo_notifications_total{receiver, outcome}`, `slo_outbox_depth` -- alert delivery
//!   ([`crate::alert::metrics`]).
//!
//! Compaction runs are counted by the telemetry crate's job helper
//! (`job_runs_total{job="slo-history-compaction"}`, `job_duration_seconds`).

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Cycle durations in seconds: a cycle is a batched source read plus one transaction.
const CYCLE_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Debug, Clone)]
pub struct ControllerMetrics {
    registry: Arc<Mutex<Registry>>,
    pub evaluation_duration: Histogram,
    pub evaluations: Family<StatusLabels, Counter>,
    pub source_errors: Counter,
    pub source_requests: Counter,
    pub leader: Gauge<i64, AtomicI64>,
    pub slos: Gauge<i64, AtomicI64>,
    pub reloads: Family<OutcomeLabels, Counter>,
    pub maintenance_errors: Counter,
    pub alerts: crate::alert::metrics::AlertMetrics,
}

impl Default for ControllerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ControllerMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let evaluation_duration = Histogram::new(CYCLE_BUCKETS.iter().copied());
        registry.register_with_unit(
            "slo_evaluation_duration",
            "Duration of one evaluation cycle over every SLO",
            Unit::Seconds,
            evaluation_duration.clone(),
        );
        let evaluations = Family::<StatusLabels, Counter>::default();
        registry.register("slo_evaluations", "SLO evaluations by resulting status", evaluations.clone());
        let source_errors = Counter::default();
        registry.register("slo_source_errors", "SLOs the source could not answer for", source_errors.clone());
        let source_requests = Counter::default();
        registry.register(
            "slo_source_requests",
            "Requests the SLI source sent (PromQL queries or scrapes)",
            source_requests.clone(),
        );
        let leader = Gauge::<i64, AtomicI64>::default();
        registry.register("slo_controller_leader", "1 while this replica evaluates", leader.clone());
        let slos = Gauge::<i64, AtomicI64>::default();
        registry.register("slo_slos", "SLOs in the loaded specs", slos.clone());
        let reloads = Family::<OutcomeLabels, Counter>::default();
        registry.register("slo_reloads", "Spec reloads by outcome", reloads.clone());
        let maintenance_errors = Counter::default();
        registry.register(
            "slo_maintenance_errors",
            "Service maintenance endpoints that could not be read",
            maintenance_errors.clone(),
        );
        let alerts = crate::alert::metrics::AlertMetrics::register(&mut registry);
        Self {
            registry: Arc::new(Mutex::new(registry)),
            evaluation_duration,
            evaluations,
            source_errors,
            source_requests,
            leader,
            slos,
            reloads,
            maintenance_errors,
            alerts,
        }
    }

    /// These metrics in OpenMetrics text, ending with `# EOF`.
    pub fn encode_openmetrics(&self) -> String {
        let mut out = String::new();
        if let Ok(r) = self.registry.lock() {
            // Writing to a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        }
        out
    }
}

/// The admin `/metrics` body: the telemetry crate's families followed by the controller's, as
/// OpenMetrics (one `# EOF`) or, converted, the classic text format.
pub fn exposition(
    telemetry: &telemetry::Metrics,
    own: &ControllerMetrics,
    headers: &axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    let common = telemetry.encode_openmetrics();
    let common = common.trim_end().strip_suffix("# EOF").unwrap_or(&common);
    let text = format!("{common}{}", own.encode_openmetrics());
    let (content_type, body) = if wants_openmetrics {
        (telemetry::http::OPENMETRICS, text)
    } else {
        (telemetry::http::PROMETHEUS_TEXT, telemetry::metrics::to_classic_text(&text))
    };
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}
