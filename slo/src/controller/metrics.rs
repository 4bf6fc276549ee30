//! The controller's own metrics, registered in the same registry as the [`telemetry::Metrics`]
//! every Kura binary exposes (HTTP server, database client, process), so the admin listener's
//! `/metrics` (`platform::admin`) shows them all:
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

impl ControllerMetrics {
    /// Creates the metrics and registers them in `telemetry`'s registry, so that the admin
    /// listener's one `/metrics` shows them beside the binary's common families.
    pub fn register(telemetry: &telemetry::Metrics) -> Self {
        let metrics = Self {
            evaluation_duration: Histogram::new(CYCLE_BUCKETS.iter().copied()),
            evaluations: Family::default(),
            source_errors: Counter::default(),
            source_requests: Counter::default(),
            leader: Gauge::default(),
            slos: Gauge::default(),
            reloads: Family::default(),
            maintenance_errors: Counter::default(),
            alerts: crate::alert::metrics::AlertMetrics::default(),
        };
        telemetry.register(|registry| metrics.register_in(registry));
        metrics
    }

    fn register_in(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "slo_evaluation_duration",
            "Duration of one evaluation cycle over every SLO",
            Unit::Seconds,
            self.evaluation_duration.clone(),
        );
        registry.register("slo_evaluations", "SLO evaluations by resulting status", self.evaluations.clone());
        registry.register("slo_source_errors", "SLOs the source could not answer for", self.source_errors.clone());
        registry.register(
            "slo_source_requests",
            "Requests the SLI source sent (PromQL queries or scrapes)",
            self.source_requests.clone(),
        );
        registry.register("slo_controller_leader", "1 while this replica evaluates", self.leader.clone());
        registry.register("slo_slos", "SLOs in the loaded specs", self.slos.clone());
        registry.register("slo_reloads", "Spec reloads by outcome", self.reloads.clone());
        registry.register(
            "slo_maintenance_errors",
            "Service maintenance endpoints that could not be read",
            self.maintenance_errors.clone(),
        );
        self.alerts.register_in(registry);
    }
}
