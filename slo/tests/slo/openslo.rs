//! OpenSLO v1: Kura specs exported and imported back unchanged, realistic OpenSLO documents
//! imported, unsupported features refused with their place, and the generated OpenSLO for the
//! fulfillment service's SLOs held to a golden file (`KURA_BLESS=1` rewrites it).

use std::path::{Path, PathBuf};

use crate::support::{assert_golden, crate_dir};
use jiff::SignedDuration;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use slo::generate::openslo;
use slo::import;
use slo::math::{CalendarPeriod, Objective, Severity, Window};
use slo::spec::catalogue::MetricKind;
use slo::spec::{self, Budgeting, Counting, Selector, Sli, Spec};

fn fixture(name: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(name)
}

/// Every spec the round trips must hold for: the service's own and the edge-case fixtures.
fn kura_specs() -> Vec<Spec> {
    let paths = [crate_dir().join("../app/slos"), fixture("specs")];
    spec::load_paths(&paths).unwrap_or_else(|d| panic!("specs load:\n{d}"))
}

fn without_source(mut s: Spec) -> Spec {
    s.source = PathBuf::new();
    s
}

/// Imports `openslo/NAME`, which must succeed.
fn import_fixture(name: &str) -> Vec<Spec> {
    let path = fixture(&format!("openslo/{name}"));
    let text = std::fs::read_to_string(&path).expect("fixture exists");
    import::openslo::import(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

/// The one spec of `openslo/NAME`.
fn import_one(name: &str) -> Spec {
    let mut specs = import_fixture(name);
    assert_eq!(specs.len(), 1, "one service in {name}");
    specs.remove(0)
}

/// The message of importing `text` (as `doc.yaml`), which must fail.
fn import_error_text(text: &str) -> String {
    match import::openslo::import(Path::new("doc.yaml"), text) {
        Ok(specs) => panic!("imported, expected an error: {specs:?}"),
        Err(e) => e.to_string(),
    }
}

/// The message of importing `openslo/unsupported/NAME` (shown as that path), which must fail.
fn import_error(name: &str) -> String {
    let path = PathBuf::from(format!("openslo/unsupported/{name}"));
    let text = std::fs::read_to_string(fixture(&format!("openslo/unsupported/{name}"))).expect("fixture exists");
    match import::openslo::import(&path, &text) {
        Ok(specs) => panic!("imported, expected an error: {specs:?}"),
        Err(e) => e.to_string(),
    }
}

fn selector(s: &str) -> Selector {
    Selector::parse(s).expect("a valid selector")
}

fn objective(s: &str) -> Objective {
    s.parse().expect("a valid objective")
}

/// A minimal SLO document around `indicator_spec` and extra `spec` keys (YAML, indented for `spec:`).
fn slo_doc(extra_spec: &str) -> String {
    format!(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: api-availability\nspec:\n  service: api\n  indicator:\n    \
         metadata:\n      name: api\n    spec:\n      ratioMetric:\n        counter: true\n        bad:\n          \
         metricSource:\n            type: Prometheus\n            spec:\n              query: http_requests_total{{code=~\"5..\"}}\n        \
         total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: http_requests_total\n{extra_spec}"
    )
}

const ROLLING: &str = "  timeWindow:\n    - duration: 28d\n      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.99\n";

// ---------------------------------------------------------------------------------------------
// Kura → OpenSLO → Kura

#[test]
fn every_kura_spec_comes_back_unchanged_from_openslo() {
    let specs = kura_specs();
    assert!(specs.len() >= 3, "expected the fulfillment spec and the fixtures");
    for spec in specs {
        let text = openslo::generate(std::slice::from_ref(&spec)).unwrap_or_else(|e| panic!("{e}"));
        let back = import::openslo::import(Path::new("exported.yaml"), &text)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", spec.source.display()));
        assert_eq!(back.len(), 1);
        assert_eq!(without_source(back.into_iter().next().expect("one spec")), without_source(spec));
    }
}

#[test]
fn several_specs_export_as_one_stream_and_import_as_several() {
    let specs = kura_specs();
    let text = openslo::generate(&specs).unwrap_or_else(|e| panic!("{e}"));
    let back = import::openslo::import(Path::new("all.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let back: Vec<Spec> = back.into_iter().map(without_source).collect();
    let specs: Vec<Spec> = specs.into_iter().map(without_source).collect();
    assert_eq!(back, specs);
}

#[test]
fn kura_only_settings_travel_in_kura_dev_annotations() {
    let spec = kura_specs().into_iter().find(|s| s.service == "carrier-gateway").expect("the calendar fixture");
    let text = openslo::generate(&[spec]).unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "kura.dev/min-events-per-hour: '120'",
        "kura.dev/no-data: 30m",
        "kura.dev/time-zone: America/New_York",
        "kura.dev/error-budget-policy: '{",
        "kura.dev/maintenance: '[",
        "kura.dev/tier: weekly-ticket",
        "kura.dev/dashboard: https://grafana.example.com/d/kura-slo?var-slo={slo}",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn the_generated_openslo_for_the_fulfillment_slos_matches_the_golden_file() {
    let specs = spec::load_paths(&[crate_dir().join("../app/slos")]).unwrap_or_else(|d| panic!("{d}"));
    let text = openslo::generate(&specs).unwrap_or_else(|e| panic!("{e}"));
    assert_golden("openslo", "fulfillment.yaml", &text);
}

#[test]
fn a_composite_whose_components_have_different_windows_cannot_be_exported() {
    let mut spec = kura_specs().into_iter().find(|s| s.service == "fulfillment").expect("fulfillment");
    let journey = spec.journeys.iter_mut().find(|j| j.composite.is_some()).expect("a composite");
    journey.slos[1].window = Window::Rolling(SignedDuration::from_hours(24 * 7));
    let e = openslo::generate(&[spec]).expect_err("different windows");
    assert_eq!(
        e.to_string(),
        "fulfillment/create-shipment: openslo cannot express a composite whose components have different windows \
         (`create-shipment-availability` and `create-shipment-latency`)"
    );
}

#[test]
fn a_time_slice_shorter_than_a_minute_cannot_be_exported() {
    let mut spec = kura_specs().into_iter().find(|s| s.service == "fulfillment").expect("fulfillment");
    let slo =
        spec.journeys.iter_mut().flat_map(|j| j.slos.iter_mut()).find(|s| s.id == "hht-scan-latency").expect("slo");
    slo.budgeting = Budgeting::Timeslices { slice: SignedDuration::from_secs(30), target: objective("95") };
    let e = openslo::generate(&[spec]).expect_err("30s slices");
    assert_eq!(
        e.to_string(),
        "fulfillment/hht-scan-latency: openslo cannot express time slice 30s as an OpenSLO duration (whole m/h/d/w)"
    );
}

// ---------------------------------------------------------------------------------------------
// Importing OpenSLO written by other tools

#[test]
fn a_good_over_total_ratio_of_plain_selectors_becomes_a_structured_ratio() {
    let spec = import_one("ratio-good-total.yaml");
    assert_eq!(spec.service, "storefront");
    assert_eq!(spec.labels.get("team").map(String::as_str), Some("web"));
    let slo = spec.slo("checkout-availability").expect("the SLO");
    assert_eq!(slo.journey, "checkout");
    assert_eq!(slo.objective, objective("99.9"));
    assert_eq!(slo.window, Window::Rolling(SignedDuration::from_hours(24 * 28)));
    assert_eq!(
        slo.sli,
        Sli::Ratio {
            counting: Counting::Good,
            numerator: selector(r#"http_requests_total{handler="/api/checkout", code!~"5.."}"#),
            total: selector(r#"http_requests_total{handler="/api/checkout"}"#),
        }
    );
    assert!(slo.alerting.tiers.is_empty(), "no alert policies, no tiers");
    let declared = &spec.metrics[0];
    assert_eq!((declared.name.as_str(), declared.kind), ("http_requests", MetricKind::Counter));
    assert_eq!(declared.labels, ["handler", "code"]);
}

#[test]
fn summed_rates_over_the_window_from_a_prometheus_data_source_become_a_bad_ratio() {
    let spec = import_one("ratio-bad-total.yaml");
    let journey = &spec.journeys[0];
    assert_eq!(journey.name, "payments", "without a journey label the journey is the service");
    assert_eq!(journey.description, "Card payments for every channel.");
    let slo = &journey.slos[0];
    assert_eq!(slo.description, "Payment API calls that fail with a server error.");
    assert_eq!(slo.objective, objective("99.95"));
    assert_eq!(slo.window, Window::Rolling(SignedDuration::from_hours(24 * 28)));
    assert_eq!(
        slo.sli,
        Sli::Ratio {
            counting: Counting::Bad,
            numerator: selector(r#"payment_requests_total{code=~"5.."}"#),
            total: selector("payment_requests_total"),
        }
    );
}

#[test]
fn a_threshold_metric_counts_the_samples_that_meet_the_threshold() {
    let spec = import_one("threshold-metric.yaml");
    let slo = spec.slo("search-p99").expect("the SLO");
    let q =
        r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{handler="/search"}[5m])))"#;
    assert_eq!(
        slo.sli,
        Sli::Promql {
            counting: Counting::Good,
            numerator: format!("sum(count_over_time(({q} <= 0.5)[{{{{.window}}}}:])) or vector(0)"),
            total: format!("sum(count_over_time(({q})[{{{{.window}}}}:]))"),
        }
    );
    assert_eq!(slo.objective, objective("95"));
}

#[test]
fn a_calendar_month_in_asia_tokyo_becomes_a_month_window_in_that_zone() {
    let spec = import_one("calendar-month-tokyo.yaml");
    assert_eq!(spec.time_zone, "Asia/Tokyo");
    let slo = spec.slo("wave-release-success").expect("the SLO");
    let tokyo = TimeZone::get("Asia/Tokyo").expect("zone");
    assert_eq!(slo.window, Window::Calendar { period: CalendarPeriod::Month, time_zone: tokyo });
}

#[test]
fn a_calendar_quarter_elsewhere_sets_the_spec_zone() {
    let text = slo_doc(
        "  timeWindow:\n    - duration: 1Q\n      calendar:\n        startTime: 2025-07-01 00:00:00\n        timeZone: \
         America/New_York\n  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.99\n",
    );
    let spec = import::openslo::import(Path::new("doc.yaml"), &text).unwrap_or_else(|e| panic!("{e}")).remove(0);
    assert_eq!(spec.time_zone, "America/New_York");
    assert!(matches!(spec.journeys[0].slos[0].window, Window::Calendar { period: CalendarPeriod::Quarter, .. }));
}

#[test]
fn timeslices_become_kura_time_slices_with_the_target_in_percent() {
    let spec = import_one("timeslices.yaml");
    let slo = spec.slo("scan-latency").expect("the SLO");
    assert_eq!(slo.budgeting, Budgeting::Timeslices { slice: SignedDuration::from_mins(1), target: objective("95") });
    assert_eq!(slo.objective, objective("99.5"));
    match &slo.sli {
        Sli::Latency { histogram, threshold } => {
            assert_eq!(histogram, &selector(r#"http_server_request_duration_seconds{journey="hht-scan"}"#));
            assert_eq!(threshold.seconds, Decimal::new(1, 1));
        }
        other => panic!("a bucket over a count is a latency SLI, got {other:?}"),
    }
    assert!(spec.metrics.is_empty(), "Kura's own histogram needs no declaration");
}

#[test]
fn burn_rate_conditions_become_named_tiers_and_no_data_alerting() {
    let spec = import_one("alert-policies.yaml");
    let slo = spec.slo("label-availability").expect("the SLO");
    let tiers: Vec<(&str, Severity, SignedDuration, SignedDuration, Decimal)> = slo
        .alerting
        .tiers
        .iter()
        .map(|t| (t.name.as_str(), t.tier.severity, t.tier.long_window, t.tier.short_window, t.tier.burn_rate))
        .collect();
    let h = SignedDuration::from_hours;
    assert_eq!(
        tiers,
        vec![
            ("fast-page", Severity::Page, h(1), SignedDuration::from_mins(5), Decimal::new(144, 1)),
            ("slow-page", Severity::Page, h(6), SignedDuration::from_mins(30), Decimal::new(6, 0)),
            ("fast-ticket", Severity::Ticket, h(72), h(6), Decimal::ONE),
        ]
    );
    assert_eq!(slo.alerting.no_data, Some(h(1)), "the shortest look-back of a policy alerting on no data");
}

#[test]
fn a_referenced_sli_with_two_objectives_becomes_two_slos_with_suffixed_ids() {
    let spec = import_one("indicator-ref.yaml");
    let ids: Vec<(&str, String)> = spec.slos().map(|s| (s.id.as_str(), s.objective.to_string())).collect();
    assert_eq!(
        ids,
        [
            ("stock-read-latency-most-reads", "99".to_string()),
            ("stock-read-latency-nearly-all-reads", "99.9".to_string())
        ]
    );
    let slo = &spec.journeys[0].slos[0];
    assert_eq!(slo.description, "Stock reads answered within 250 ms.");
    assert!(matches!(&slo.sli, Sli::Latency { histogram, .. } if histogram.metric == "api_request_duration_seconds"));
    let declared = &spec.metrics[0];
    assert_eq!((declared.name.as_str(), declared.kind), ("api_request_duration_seconds", MetricKind::Histogram));
    assert_eq!(declared.buckets, [Decimal::new(25, 2)]);
}

#[test]
fn every_imported_spec_reads_back_equal_from_its_native_yaml() {
    let dir = fixture("openslo");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 7);
    for name in names {
        for spec in import_fixture(&name) {
            let text = spec::to_yaml(&spec);
            let back =
                spec::load_str(Path::new("written.yaml"), &text).unwrap_or_else(|d| panic!("{name}:\n{d}\n{text}"));
            assert_eq!(without_source(back), without_source(spec), "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What Kura cannot represent is refused, with its place

#[test]
fn ratio_timeslices_are_refused_at_the_budgeting_method() {
    assert_eq!(
        import_error("ratio-timeslices.yaml"),
        "openslo/unsupported/ratio-timeslices.yaml:27:20: `budgetingMethod: RatioTimeslices` cannot be represented \
         in a Kura spec: Kura's time slices are good or bad (`Timeslices`), not averaged ratios"
    );
}

#[test]
fn a_datadog_metric_source_is_refused_at_its_type() {
    assert_eq!(
        import_error("datadog-source.yaml"),
        "openslo/unsupported/datadog-source.yaml:19:19: `metricSource.type: Datadog` cannot be represented in a Kura \
         spec: Kura reads SLIs from Prometheus only"
    );
}

#[test]
fn a_third_untitled_page_condition_is_refused_where_it_is_declared() {
    assert_eq!(
        import_error("three-page-conditions.yaml"),
        "openslo/unsupported/three-page-conditions.yaml:62:21: 3 page conditions without `kura.dev/tier` cannot be \
         represented in a Kura spec: Kura has two page tiers, fast-page and slow-page; name further ones with \
         `kura.dev/tier`"
    );
}

#[test]
fn an_alert_policy_with_two_conditions_is_refused() {
    let policy = "  alertPolicies:\n    - kind: AlertPolicy\n      metadata:\n        name: p\n      spec:\n        \
                  conditions:\n          - conditionRef: a\n          - conditionRef: b\n        notificationTargets: []\n";
    let message = import_error_text(&slo_doc(&format!("{ROLLING}{policy}")));
    assert_eq!(
        message,
        "doc.yaml:34:9: AlertPolicy `p` with 2 conditions cannot be represented in a Kura spec: OpenSLO v1 gives a \
         policy exactly one condition, which becomes one Kura tier"
    );
}

#[test]
fn alert_after_becomes_the_tiers_pending_duration() {
    let policy = "  alertPolicies:\n    - kind: AlertPolicy\n      metadata:\n        name: p\n      spec:\n        \
                  conditions:\n          - kind: AlertCondition\n            metadata:\n              name: c\n            \
                  spec:\n              severity: page\n              condition: { op: gt, threshold: 2, lookbackWindow: 1h, \
                  alertAfter: 5m }\n        notificationTargets: []\n";
    let specs = import::openslo::import(Path::new("doc.yaml"), &slo_doc(&format!("{ROLLING}{policy}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let tier = &specs[0].slos().next().expect("the SLO").alerting.tiers[0];
    assert_eq!(tier.pending, Some(SignedDuration::from_mins(5)));
}

#[test]
fn a_condition_on_a_falling_burn_rate_is_refused() {
    let policy = "  alertPolicies:\n    - kind: AlertPolicy\n      metadata:\n        name: p\n      spec:\n        \
                  conditions:\n          - kind: AlertCondition\n            metadata:\n              name: c\n            \
                  spec:\n              severity: page\n              condition: { op: lte, threshold: 2, lookbackWindow: 1h \
                  }\n        notificationTargets: []\n";
    let message = import_error_text(&slo_doc(&format!("{ROLLING}{policy}")));
    assert!(
        message.starts_with("doc.yaml:40:32: `op: lte` on a burn rate cannot be represented in a Kura spec"),
        "{message}"
    );
}

#[test]
fn a_calendar_window_that_does_not_start_a_kura_period_is_refused() {
    let window = "  timeWindow:\n    - duration: 1M\n      calendar:\n        startTime: 2024-01-15 00:00:00\n        \
                  timeZone: Asia/Tokyo\n  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.99\n";
    let message = import_error_text(&slo_doc(window));
    assert!(
        message.starts_with(
            "doc.yaml:24:17: the calendar window `1M` from 2024-01-15 00:00:00 cannot be represented in a Kura spec"
        ),
        "{message}"
    );
}

#[test]
fn a_rolling_month_is_refused() {
    let window = "  timeWindow:\n    - duration: 1M\n      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    \
                  - target: 0.99\n";
    let message = import_error_text(&slo_doc(window));
    assert!(message.starts_with("doc.yaml:24:17: the rolling duration `1M` cannot be represented"), "{message}");
}

#[test]
fn a_composite_without_a_kura_objective_is_refused() {
    let text = "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: journey\nspec:\n  service: api\n  timeWindow:\n    \
                - duration: 28d\n      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.99\n      \
                indicatorRef: a\n      compositeWeight: 2\n";
    assert_eq!(
        import_error_text(text),
        "doc.yaml:4:9: composite SLO `journey` without `kura.dev/composite-objective` cannot be represented in a Kura \
         spec: a Kura composite has an objective of its own, which OpenSLO v1 has no field for"
    );
}

#[test]
fn openslo_v1alpha_is_refused_by_name() {
    let text = "apiVersion: openslo/v1alpha\nkind: SLO\nmetadata:\n  name: x\nspec: {}\n";
    assert_eq!(
        import_error_text(text),
        "doc.yaml:1:13: OpenSLO v1alpha (`apiVersion: openslo/v1alpha`) cannot be represented in a Kura spec: only \
         OpenSLO v1 (`openslo/v1`) documents are read; rewrite it as v1"
    );
}

#[test]
fn a_file_without_an_slo_is_an_error_not_an_empty_import() {
    assert_eq!(
        import_error("no-slo.yaml"),
        "openslo/unsupported/no-slo.yaml:1:1: no OpenSLO `SLO` document in the file: nothing to import (a Service, \
         SLI or AlertPolicy alone defines no objective)"
    );
}

#[test]
fn lenient_openslo_imports_lists_multi_valued_labels_op_and_alert_after() {
    let spec = import_one("lenient.yaml");
    assert_eq!(spec.service, "payments");
    assert_eq!(spec.labels.get("team").map(String::as_str), Some("payments,sre"), "several values joined with `,`");
    let slo = spec.slo("authorize-availability").expect("the SLO");
    assert_eq!(slo.journey, "authorize");
    assert_eq!(slo.labels.get("tier").map(String::as_str), Some("1"), "an SLO's labels stay on that SLO");
    assert_eq!(slo.objective, objective("99.9"), "`op: gte` on a ratio objective is accepted");
    let tier = &slo.alerting.tiers[0];
    assert_eq!((tier.name.as_str(), tier.pending), ("fast-page", Some(SignedDuration::from_mins(2))));
}

#[test]
fn every_importable_openslo_fixture_imports_lints_generates_and_passes_promtool() {
    let mut names: Vec<String> = std::fs::read_dir(fixture("openslo"))
        .expect("fixtures")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    for name in names {
        crate::support::assert_imported_specs_are_usable(&format!("openslo-{name}"), &import_fixture(&name));
    }
}

#[test]
fn an_unknown_key_is_refused_rather_than_ignored() {
    let message = import_error_text(&slo_doc(&format!("{ROLLING}  burnAlerts: true\n")));
    assert!(message.starts_with("doc.yaml:29:3: unknown key `burnAlerts` in `spec`"), "{message}");
}

#[test]
fn an_unknown_kura_annotation_is_refused() {
    let text = slo_doc(ROLLING).replace(
        "  name: api-availability\n",
        "  name: api-availability\n  annotations:\n    kura.dev/min-events: '10'\n",
    );
    let message = import_error_text(&text);
    assert!(message.starts_with("doc.yaml:6:5: unknown annotation `kura.dev/min-events`"), "{message}");
}

#[test]
fn a_spec_kura_rejects_is_reported_at_the_slo_it_came_from() {
    // `Checkout` is not a Kura SLO id (lowercase words joined by `-`).
    let text = slo_doc(ROLLING).replace("name: api-availability", "name: Checkout");
    assert_eq!(
        import_error_text(&text),
        "doc.yaml:4:9: SLO `Checkout`: SLO id `Checkout` must be lowercase letters, digits and `-`"
    );
}
