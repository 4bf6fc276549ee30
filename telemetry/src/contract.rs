//! The metric contract as data: every metric family a Kura binary exposes, its type, its
//! labels and its histogram buckets. The SLO linter checks specs against it (unknown metric,
//! unknown label, a latency threshold that is not a bucket bound), and a test checks that
//! the registry in [`crate::metrics`] exposes exactly this.

use crate::metrics::LATENCY_BUCKETS;

/// A metric family's type, as in `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric family: its exposed name (with unit, without `_total`/`_bucket`), type, label
/// names and, for histograms, bucket bounds.
#[derive(Debug, Clone, Copy)]
pub struct MetricFamily {
    pub name: &'static str,
    pub kind: MetricKind,
    pub labels: &'static [&'static str],
    pub buckets: &'static [f64],
}

const fn family(
    name: &'static str,
    kind: MetricKind,
    labels: &'static [&'static str],
    buckets: &'static [f64],
) -> MetricFamily {
    MetricFamily { name, kind, labels, buckets }
}

use MetricKind::{Counter, Gauge, Histogram};

/// Every family the service-level metrics expose (process and runtime gauges included).
pub const CONTRACT: &[MetricFamily] = &[
    family(
        "http_server_request_duration_seconds",
        Histogram,
        &["http_route", "http_request_method", "http_response_status_code", "journey"],
        LATENCY_BUCKETS,
    ),
    family("http_server_active_requests", Gauge, &["http_request_method"], &[]),
    family("job_runs", Counter, &["job", "journey", "outcome"], &[]),
    family("job_failures", Counter, &["job", "journey", "scope"], &[]),
    family("job_duration_seconds", Histogram, &["job", "journey"], LATENCY_BUCKETS),
    family("job_queue_lag_seconds", Histogram, &["job", "journey"], LATENCY_BUCKETS),
    family("order_sync_lag_seconds", Histogram, &["channel_kind", "journey", "outcome"], LATENCY_BUCKETS),
    family("db_client_operation_duration_seconds", Histogram, &["db_operation", "db_query_name"], crate::db::BUCKETS),
    family("db_client_slow_queries", Counter, &["db_operation", "db_query_name"], &[]),
    family("otel_spans_dropped", Counter, &[], &[]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Journey;
    use std::time::Duration;

    /// Records one sample in every family, so the exposition shows each family's labels.
    fn exposition() -> String {
        let metrics = crate::Metrics::new();
        metrics.observe_http(
            "/v1/shipments",
            "POST",
            201,
            Journey::new("create-shipment"),
            Duration::from_millis(3),
            None,
        );
        metrics.observe_queue_lag("cutoff-waves", Journey::new("wave-generation"), Duration::from_secs(1));
        crate::metrics::OrderSyncLag::register(&metrics).observe(
            "shopify",
            Journey::new("order-sync"),
            "created",
            Duration::from_secs(2),
            Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        );
        metrics
            .job_runs
            .get_or_create(&crate::metrics::JobRunLabels { job: "j", journey: "none", outcome: "success" })
            .inc();
        metrics.count_job_failure("j", Journey::NONE, "warehouse:1");
        metrics.job_duration.get_or_create(&crate::metrics::JobLabels { job: "j", journey: "none" }).observe(0.1);
        metrics.http_active.get_or_create(&crate::metrics::MethodLabels { http_request_method: "GET".into() }).set(1);
        let db = crate::db::metrics();
        let labels = crate::db::DbLabels { db_operation: "select".into(), db_query_name: "q".into() };
        db.duration.get_or_create(&labels).observe(0.01);
        db.slow.get_or_create(&labels).inc();
        metrics.encode_openmetrics()
    }

    #[test]
    fn every_family_in_the_contract_is_exposed_with_its_type_and_labels() {
        let text = exposition();
        for family in CONTRACT {
            let kind = match family.kind {
                Counter => "counter",
                Gauge => "gauge",
                Histogram => "histogram",
            };
            let type_line = format!("# TYPE {} {kind}", family.name);
            assert!(text.contains(&type_line), "missing `{type_line}` in:\n{text}");
            let series = match family.kind {
                Counter => format!("{}_total", family.name),
                Gauge => family.name.to_string(),
                Histogram => format!("{}_count", family.name),
            };
            let sample = text
                .lines()
                .find(|l| l.starts_with(&series))
                .unwrap_or_else(|| panic!("no `{series}` sample in:\n{text}"));
            let mut exposed: Vec<&str> = match sample.find('{') {
                Some(open) => sample[open + 1..sample.find('}').expect("closing brace")]
                    .split(',')
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| pair.split('=').next().expect("label name"))
                    .collect(),
                None => Vec::new(),
            };
            exposed.sort_unstable();
            let mut declared = family.labels.to_vec();
            declared.sort_unstable();
            assert_eq!(exposed, declared, "labels of {}", family.name);
        }
    }

    #[test]
    fn histogram_buckets_in_the_contract_are_the_exposed_bounds() {
        let text = exposition();
        for family in CONTRACT.iter().filter(|f| f.kind == Histogram) {
            for bound in family.buckets {
                let le = format!("le=\"{bound:?}\"");
                assert!(
                    text.lines().any(|l| l.starts_with(&format!("{}_bucket", family.name)) && l.contains(&le)),
                    "{} has no bucket {le}",
                    family.name
                );
            }
        }
    }
}
