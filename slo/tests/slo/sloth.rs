//! Sloth `prometheus/v1`: the getting-started shape, raw and free-form SLIs, disabled alerts,
//! and plugins refused with their place.

use std::path::{Path, PathBuf};

use jiff::SignedDuration;
use slo::import::{self, ImportError};
use slo::math::{Severity, Window};
use slo::spec::catalogue::MetricKind;
use slo::spec::{self, Counting, Selector, Sli, Spec};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sloth").join(name)
}

fn import_fixture(name: &str) -> Result<Vec<Spec>, ImportError> {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture exists");
    import::sloth::import(Path::new(&format!("sloth/{name}")), &text)
}

fn import_text(text: &str) -> Result<Vec<Spec>, ImportError> {
    import::sloth::import(Path::new("sloth.yaml"), text)
}

fn the_spec(specs: Result<Vec<Spec>, ImportError>) -> Spec {
    let mut specs = specs.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(specs.len(), 1);
    specs.remove(0)
}

#[test]
fn the_getting_started_example_becomes_a_bad_ratio_with_every_tier_over_thirty_days() {
    let spec = the_spec(import_fixture("getting-started.yaml"));
    assert_eq!(spec.service, "myservice");
    let labels: Vec<(&str, &str)> = spec.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(labels, [("owner", "myteam"), ("repo", "myorg/myservice"), ("tier", "2")]);
    let slo = spec.slo("requests-availability").expect("the SLO");
    assert_eq!(slo.journey, "myservice", "without a journey label the journey is the service");
    assert_eq!(slo.objective.to_string(), "99.9");
    assert_eq!(slo.description, "Common SLO based on availability for HTTP request responses.");
    assert_eq!(slo.window, Window::Rolling(SignedDuration::from_hours(24 * 30)), "Sloth's default period");
    assert_eq!(
        slo.sli,
        Sli::Ratio {
            counting: Counting::Bad,
            numerator: Selector::parse(r#"http_request_duration_seconds_count{job="myservice", code=~"(5..|429)"}"#)
                .expect("selector"),
            total: Selector::parse(r#"http_request_duration_seconds_count{job="myservice"}"#).expect("selector"),
        }
    );
    let tiers: Vec<&str> = slo.alerting.tiers.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tiers, ["fast-page", "slow-page", "fast-ticket", "slow-ticket"]);
    // Sloth's 30-day defaults (the SRE Workbook's table) are Kura's for a 30-day window.
    assert_eq!(slo.alerting.tiers[0].tier.burn_rate.to_string(), "14.4");
    assert_eq!(slo.alerting.tiers[0].tier.long_window, SignedDuration::from_hours(1));
    let declared = &spec.metrics[0];
    assert_eq!((declared.name.as_str(), declared.kind), ("http_request_duration_seconds", MetricKind::Histogram));
    assert_eq!(declared.labels, ["job", "code"]);
}

#[test]
fn a_raw_error_ratio_becomes_promql_over_one_and_disabled_tickets_remove_the_ticket_tiers() {
    let spec = the_spec(import_fixture("raw-and-latency.yaml"));
    let slo = spec.slo("wifi-client-satisfaction").expect("the SLO");
    assert_eq!(slo.journey, "wifi-connection");
    let q = "1 - (\n  sum(sum_over_time(unifipoller_client_satisfaction_ratio[{{.window}}]))\n  /\n  \
             sum(count_over_time(unifipoller_client_satisfaction_ratio[{{.window}}]))\n)";
    assert_eq!(
        slo.sli,
        Sli::Promql { counting: Counting::Bad, numerator: q.to_string(), total: format!("({q}) * 0 + 1") }
    );
    assert!(slo.alerting.tiers.iter().all(|t| t.tier.severity == Severity::Page));
    assert_eq!(slo.alerting.tiers.len(), 2);
}

#[test]
fn an_error_query_that_is_not_a_sum_of_rates_stays_promql_and_disabled_alerts_leave_no_tiers() {
    let spec = the_spec(import_fixture("raw-and-latency.yaml"));
    let slo = spec.slo("requests-latency").expect("the SLO");
    assert_eq!(slo.journey, "home-wifi");
    match &slo.sli {
        Sli::Promql { counting: Counting::Bad, numerator, total } => {
            assert!(numerator.starts_with("(\n  sum(rate(apiserver_request_duration_seconds_count"), "{numerator}");
            assert_eq!(total, r#"sum(rate(apiserver_request_duration_seconds_count{verb!="WATCH"}[{{.window}}]))"#);
        }
        other => panic!("expected promql, got {other:?}"),
    }
    assert!(slo.alerting.tiers.is_empty());
}

#[test]
fn every_imported_sloth_spec_reads_back_equal_from_its_native_yaml() {
    for name in ["getting-started.yaml", "raw-and-latency.yaml"] {
        for spec in import_fixture(name).unwrap_or_else(|e| panic!("{e}")) {
            let text = spec::to_yaml(&spec);
            let mut back = spec::load_str(Path::new("written.yaml"), &text).unwrap_or_else(|d| panic!("{d}\n{text}"));
            back.source = spec.source.clone();
            assert_eq!(back, spec, "{name}");
        }
    }
}

#[test]
fn an_sli_plugin_is_refused_naming_the_plugin_and_its_place() {
    let e = import_fixture("plugin.yaml").expect_err("plugins cannot be imported");
    assert_eq!(
        e.to_string(),
        "sloth/plugin.yaml:9:7: SLI plugin `getting_started_availability` cannot be represented in a Kura spec: Kura \
         cannot run Sloth's Go plugins; write the plugin's queries as `events` or `raw`"
    );
}

#[test]
fn slo_plugins_are_refused() {
    let text =
        "version: prometheus/v1\nservice: s\nslo_plugins:\n  chain:\n    - id: sloth.dev/contrib/x/v1\nslos: []\n";
    let e = import_text(text).expect_err("plugins cannot be imported");
    assert!(e.to_string().starts_with("sloth.yaml:3:1: `slo_plugins` cannot be represented in a Kura spec"), "{e}");
}

#[test]
fn another_sloth_version_is_refused() {
    let e = import_text("version: prometheus/v2\nservice: s\nslos: []\n").expect_err("only prometheus/v1");
    assert_eq!(
        e.to_string(),
        "sloth.yaml:1:10: Sloth version `prometheus/v2` cannot be represented in a Kura spec: only `prometheus/v1` \
         files are read"
    );
}

#[test]
fn an_unknown_key_is_refused_rather_than_ignored() {
    let text = "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    window: 7d\n";
    let e = import_text(text).expect_err("unknown key");
    assert!(e.to_string().starts_with("sloth.yaml:6:5: unknown key `window` in an SLO"), "{e}");
}

#[test]
fn a_query_without_the_window_is_reported_at_its_slo() {
    let text = "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli:\n      events:\n        \
                error_query: sum(errors_total)\n        total_query: sum(requests_total)\n";
    let e = import_text(text).expect_err("no {{.window}}");
    assert_eq!(
        e.to_string(),
        "sloth.yaml:4:11: SLO `a`: a promql query must use `{{.window}}` as its range, e.g. rate(x[{{.window}}])"
    );
}

#[test]
fn several_documents_become_several_specs() {
    let text = "version: prometheus/v1\nservice: a\nslos:\n  - name: x\n    objective: 99\n    sli:\n      raw:\n        \
                error_ratio_query: rate(e[{{.window}}])\n---\nversion: prometheus/v1\nservice: b\nslos:\n  - name: y\n    \
                objective: 99.5\n    sli:\n      raw:\n        error_ratio_query: rate(f[{{.window}}])\n";
    let services: Vec<String> =
        import_text(text).unwrap_or_else(|e| panic!("{e}")).into_iter().map(|s| s.service).collect();
    assert_eq!(services, ["a", "b"]);
}
