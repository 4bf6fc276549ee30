//! Sloth: `prometheus/v1` (the getting-started shape, raw and free-form SLIs, disabled alerts),
//! the Kubernetes `PrometheusServiceLevel` CRD, `AlertWindows`, per-SLO labels and alert routes
//! carried over; every fixture imports, lints, generates and passes `promtool check rules`;
//! plugins, OpenSLO v1alpha and Pyrra objects refused with their place.

use std::path::{Path, PathBuf};

use jiff::SignedDuration;
use slo::import::{self, ImportError};
use slo::math::{Severity, Window};
use slo::spec::catalogue::MetricKind;
use slo::spec::{self, Counting, Selector, Sli, Spec};

use crate::support::{assert_golden, assert_imported_specs_are_usable};

/// Every Sloth fixture that imports.
const IMPORTABLE: [&str; 4] = ["getting-started.yaml", "raw-and-latency.yaml", "k8s-crd.yaml", "alert-windows.yaml"];

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
fn the_alert_name_labels_and_annotations_are_carried_over_per_severity() {
    let spec = the_spec(import_fixture("getting-started.yaml"));
    let route = &spec.slo("requests-availability").expect("the SLO").alerting.route;
    assert_eq!(route.name.as_deref(), Some("MyServiceHighErrorRate"));
    assert_eq!(route.labels.get("category").map(String::as_str), Some("availability"));
    assert_eq!(
        route.annotations.get("summary").map(String::as_str),
        Some("High error rate on 'myservice' requests responses")
    );
    assert_eq!(route.page.labels.get("severity").map(String::as_str), Some("pageteam"));
    assert_eq!(route.page.labels.get("routing_key").map(String::as_str), Some("myteam"));
    assert_eq!(route.ticket.labels.get("severity").map(String::as_str), Some("slack"));
    assert_eq!(route.ticket.labels.get("slack_channel").map(String::as_str), Some("#alerts-myteam"));
}

#[test]
fn kubernetes_crds_import_one_spec_per_service_with_labels_kept_per_slo() {
    let specs = import_fixture("k8s-crd.yaml").unwrap_or_else(|e| panic!("{e}"));
    let services: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(services, ["checkout", "search"]);
    let checkout = &specs[0];
    let service_labels: Vec<(&str, &str)> = checkout.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(service_labels, [("team", "payments")], "SLO labels stay on their SLO");
    let availability = checkout.slo("place-order-availability").expect("the availability SLO");
    let latency = checkout.slo("place-order-latency").expect("the latency SLO");
    assert_eq!(availability.journey, "place-order");
    assert_eq!(availability.labels.get("category").map(String::as_str), Some("availability"));
    assert_eq!(latency.labels.get("category").map(String::as_str), Some("latency"), "no conflict across SLOs");
    assert!(matches!(availability.sli, Sli::Ratio { counting: Counting::Bad, .. }), "{:?}", availability.sli);
    assert_eq!(availability.alerting.route.name.as_deref(), Some("CheckoutOrdersErrorBudgetBurn"));
    assert_eq!(availability.alerting.route.page.labels.get("severity").map(String::as_str), Some("critical"));
    assert_eq!(
        availability.alerting.route.ticket.annotations.get("summary").map(String::as_str),
        Some("Checkout orders are slowly burning their error budget")
    );
    let tiers: Vec<&str> = latency.alerting.tiers.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tiers, ["fast-page", "slow-page"], "ticketAlert.disable removes the ticket tiers");
    let search = specs[1].slo("query-success").expect("the raw SLO");
    assert!(matches!(search.sli, Sli::Promql { .. }));
    assert!(search.alerting.tiers.iter().all(|t| t.tier.severity == Severity::Ticket));
}

#[test]
fn alert_windows_set_the_period_and_become_kuras_four_tiers() {
    let spec = the_spec(import_fixture("alert-windows.yaml"));
    let slo = spec.slo("postings-availability").expect("the SLO");
    assert_eq!(slo.window, Window::Rolling(SignedDuration::from_hours(24 * 28)), "sloPeriod");
    let tiers: Vec<(&str, String, String, String)> = slo
        .alerting
        .tiers
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                slo::math::format_duration(t.tier.long_window),
                slo::math::format_duration(t.tier.short_window),
                t.tier.burn_rate.to_string(),
            )
        })
        .collect();
    // errorBudgetPercent / 100 × 28d / longWindow: 2% in 1h is 13.44×, 10% in 3d is 0.933333×.
    let expected = [
        ("fast-page", "1h", "5m", "13.44"),
        ("slow-page", "6h", "30m", "5.6"),
        ("fast-ticket", "1d", "2h", "2.8"),
        ("slow-ticket", "3d", "6h", "0.933333"),
    ];
    let expected: Vec<(&str, String, String, String)> =
        expected.iter().map(|(n, l, s, b)| (*n, l.to_string(), s.to_string(), b.to_string())).collect();
    assert_eq!(tiers, expected);
}

#[test]
fn every_supported_sloth_shape_imports_lints_generates_and_passes_promtool() {
    for name in IMPORTABLE {
        let specs = import_fixture(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_imported_specs_are_usable(&format!("sloth-{name}"), &specs);
    }
}

#[test]
fn openslo_v1alpha_given_to_the_sloth_importer_is_named_as_such() {
    let e = import_fixture("openslo-v1alpha.yaml").expect_err("v1alpha is not a Sloth spec");
    assert_eq!(
        e.to_string(),
        "sloth/openslo-v1alpha.yaml:2:13: OpenSLO `openslo/v1alpha` (a format Sloth also reads) cannot be represented \
         in a Kura spec: this is OpenSLO, not a Sloth spec: import OpenSLO v1 with `slo import openslo`; v1alpha is \
         not supported"
    );
}

#[test]
fn a_pyrra_object_given_to_the_sloth_importer_points_to_the_pyrra_importer() {
    let text = "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  name: x\n";
    let e = import_text(text).expect_err("not Sloth");
    assert_eq!(
        e.to_string(),
        "sloth.yaml:1:13: a Pyrra ServiceLevelObjective (`pyrra.dev/v1alpha1`), not a Sloth spec: use `slo import pyrra`"
    );
}

#[test]
fn a_document_that_is_neither_format_says_what_a_sloth_spec_looks_like() {
    let e = import_text("service: s\nslos: []\n").expect_err("no version");
    assert!(
        e.to_string().starts_with("sloth.yaml:1:1: not a Sloth document: expected `version: prometheus/v1`"),
        "{e}"
    );
}

#[test]
fn an_unknown_sloth_kind_is_refused_at_its_kind() {
    let e = import_text("apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevelV2\nspec: {}\n").expect_err("kind");
    assert_eq!(
        e.to_string(),
        "sloth.yaml:2:7: unknown Sloth kind `PrometheusServiceLevelV2` (PrometheusServiceLevel or AlertWindows)"
    );
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
    for name in IMPORTABLE {
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
fn several_documents_of_several_services_become_several_specs() {
    let text = "version: prometheus/v1\nservice: a\nslos:\n  - name: x\n    objective: 99\n    sli:\n      raw:\n        \
                error_ratio_query: rate(e[{{.window}}])\n---\nversion: prometheus/v1\nservice: b\nslos:\n  - name: y\n    \
                objective: 99.5\n    sli:\n      raw:\n        error_ratio_query: rate(f[{{.window}}])\n";
    let services: Vec<String> =
        import_text(text).unwrap_or_else(|e| panic!("{e}")).into_iter().map(|s| s.service).collect();
    assert_eq!(services, ["a", "b"]);
}

// ---------------------------------------------------------------------------------------------
// `slo generate prometheus --compat sloth`

/// The rule file `--compat sloth` makes for the getting-started spec, parsed.
fn compat_rules() -> (String, Vec<serde_yaml_ng::Value>) {
    let specs = import_fixture("getting-started.yaml").unwrap_or_else(|e| panic!("{e}"));
    let text = slo::generate::prometheus::generate_with(&specs, Some(slo::generate::Compat::Sloth))
        .unwrap_or_else(|e| panic!("{e}"));
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("YAML");
    let rules = doc["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_sequence().expect("rules").clone())
        .collect();
    (text, rules)
}

fn label<'a>(rule: &'a serde_yaml_ng::Value, name: &str) -> Option<&'a str> {
    rule["labels"].get(name).and_then(serde_yaml_ng::Value::as_str)
}

#[test]
fn compat_sloth_records_every_series_sloth_documents_with_sloths_labels() {
    let (text, rules) = compat_rules();
    // Sloth's names (sloth.dev; `pkg/common/conventions`): SLI ratios per window, metadata, info.
    let documented = [
        "slo:sli_error:ratio_rate5m",
        "slo:sli_error:ratio_rate30m",
        "slo:sli_error:ratio_rate1h",
        "slo:sli_error:ratio_rate2h",
        "slo:sli_error:ratio_rate6h",
        "slo:sli_error:ratio_rate1d",
        "slo:sli_error:ratio_rate3d",
        "slo:sli_error:ratio_rate30d",
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    ];
    for name in documented {
        let rule = rules.iter().find(|r| r["record"].as_str() == Some(name)).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(label(rule, "sloth_id"), Some("myservice-requests-availability"), "{name}");
        assert_eq!(label(rule, "sloth_service"), Some("myservice"), "{name}");
        assert_eq!(label(rule, "sloth_slo"), Some("requests-availability"), "{name}");
        assert_eq!(label(rule, "slo"), Some("requests-availability"), "{name}: Kura's labels stay beside them");
        if let Some(window) = name.strip_prefix("slo:sli_error:ratio_rate") {
            assert_eq!(label(rule, "sloth_window"), Some(window), "{name}");
        }
    }
    let info = rules.iter().find(|r| r["record"].as_str() == Some("sloth_slo_info")).expect("info");
    assert_eq!(label(info, "sloth_objective"), Some("99.9"));
    assert_eq!(label(info, "sloth_spec"), Some("prometheus/v1"));
    let days = rules.iter().find(|r| r["record"].as_str() == Some("slo:time_period:days")).expect("days");
    assert_eq!(days["expr"].as_str(), Some("vector(30)"));
    assert_golden("prometheus", "sloth-compat-getting-started.yaml", &text);
}

#[test]
fn compat_sloth_alerts_keep_sloths_alert_name_severity_values_and_labels() {
    let (_, rules) = compat_rules();
    let alerts: Vec<&serde_yaml_ng::Value> = rules.iter().filter(|r| r.get("alert").is_some()).collect();
    assert_eq!(alerts.len(), 4, "one per tier");
    for alert in &alerts {
        assert_eq!(alert["alert"].as_str(), Some("MyServiceHighErrorRate"));
        assert_eq!(label(alert, "category"), Some("availability"));
        assert_eq!(label(alert, "sloth_id"), Some("myservice-requests-availability"));
        assert_eq!(alert["annotations"]["summary"].as_str(), Some("High error rate on 'myservice' requests responses"));
        match label(alert, "sloth_severity") {
            Some("page") => {
                assert_eq!(label(alert, "severity"), Some("pageteam"));
                assert_eq!(label(alert, "routing_key"), Some("myteam"));
            }
            Some("ticket") => {
                assert_eq!(label(alert, "severity"), Some("slack"));
                assert_eq!(label(alert, "slack_channel"), Some("#alerts-myteam"));
            }
            other => panic!("sloth_severity {other:?}"),
        }
        assert!(
            !alert["expr"].as_str().unwrap_or_default().contains("sloth_window=")
                && label(alert, "sloth_window").is_none(),
            "alerts carry no window label"
        );
    }
}

#[test]
fn without_compat_the_alert_keeps_kuras_name_and_severity_and_the_specs_other_labels() {
    let specs = import_fixture("getting-started.yaml").unwrap_or_else(|e| panic!("{e}"));
    let text = slo::generate::prometheus::generate(&specs).unwrap_or_else(|e| panic!("{e}"));
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("YAML");
    let alerts: Vec<serde_yaml_ng::Value> = doc["groups"][0]["rules"]
        .as_sequence()
        .expect("rules")
        .iter()
        .filter(|r| r.get("alert").is_some())
        .cloned()
        .collect();
    for alert in &alerts {
        assert_eq!(alert["alert"].as_str(), Some("ErrorBudgetBurn"));
        assert!(matches!(label(alert, "severity"), Some("page" | "ticket")));
        assert_eq!(label(alert, "category"), Some("availability"));
        assert!(label(alert, "sloth_id").is_none());
    }
    let page = alerts.iter().find(|a| label(a, "severity") == Some("page")).expect("a page alert");
    assert_eq!(label(page, "routing_key"), Some("myteam"), "the page alert's own labels");
}

#[test]
fn imported_labels_and_alert_routes_survive_a_trip_through_openslo() {
    for name in IMPORTABLE {
        for spec in import_fixture(name).unwrap_or_else(|e| panic!("{name}: {e}")) {
            let text = slo::generate::openslo::generate(std::slice::from_ref(&spec)).unwrap_or_else(|e| panic!("{e}"));
            let mut back = import::openslo::import(Path::new("exported.yaml"), &text)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            assert_eq!(back.len(), 1);
            let mut back = back.remove(0);
            back.source = spec.source.clone();
            assert_eq!(back, spec, "{name}");
        }
    }
}

#[test]
fn a_severity_shared_by_both_alerts_goes_to_each_alert_that_sets_none() {
    let text = "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    sli:\n      raw:\n        \
                error_ratio_query: rate(e_total[{{.window}}])\n    alerting:\n      name: A\n      labels:\n        \
                severity: critical\n      ticket_alert:\n        labels:\n          severity: warning\n";
    let spec = the_spec(import_text(text));
    let route = &spec.slo("a").expect("the SLO").alerting.route;
    assert!(!route.labels.contains_key("severity"));
    assert_eq!(route.page.labels.get("severity").map(String::as_str), Some("critical"));
    assert_eq!(route.ticket.labels.get("severity").map(String::as_str), Some("warning"), "the alert's own wins");
}

#[test]
fn info_labels_label_the_slo_and_a_rule_group_interval_is_refused_at_its_key() {
    let slo = "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n    infoLabels:\n      \
               owner: search\n    sli:\n      raw:\n        error_ratio_query: rate(e_total[{{.window}}])\n";
    let spec = the_spec(import_text(slo));
    assert_eq!(spec.slo("a").expect("the SLO").labels.get("owner").map(String::as_str), Some("search"));
    let e = import_text(&format!("{slo}    interval:\n      all: 1m\n")).expect_err("interval");
    assert!(
        e.to_string().starts_with("sloth.yaml:11:5: `interval` (rule group intervals) cannot be represented"),
        "{e}"
    );
}

/// Under synthetic traffic (1 request/s, 10% failing), `promtool test rules` reads Sloth's
/// metadata series off the `--compat sloth` rules: the burn rate now is 100× (10% over a 0.1%
/// budget), the period is 30 days, and the alert keeps Sloth's name and severity.
#[test]
fn compat_sloth_series_carry_sloths_values_under_promtool() {
    let (rules, _) = compat_rules();
    let ids = "sloth_id=\"myservice-requests-availability\", sloth_service=\"myservice\", \
               sloth_slo=\"requests-availability\"";
    let tests = format!(
        r#"rule_files: [rules.yaml]
evaluation_interval: 30s
tests:
  - interval: 1m
    input_series:
      - series: http_request_duration_seconds_count{{job="myservice", code="200"}}
        values: 0+54x20
      - series: http_request_duration_seconds_count{{job="myservice", code="500"}}
        values: 0+6x20
    promql_expr_test:
      - expr: sum by (sloth_id, sloth_service, sloth_slo) (slo:current_burn_rate:ratio{{{ids}}})
        eval_time: 15m
        exp_samples:
          - labels: '{{{ids}}}'
            value: 100
      - expr: sum by (sloth_id, sloth_service, sloth_slo) (slo:time_period:days{{{ids}}})
        eval_time: 15m
        exp_samples:
          - labels: '{{{ids}}}'
            value: 30
      - expr: count by (sloth_id, sloth_service, sloth_slo, sloth_objective) (sloth_slo_info{{{ids}}})
        eval_time: 15m
        exp_samples:
          - labels: '{{{ids}, sloth_objective="99.9"}}'
            value: 1
      - expr: count by (alertname, severity, sloth_severity) (ALERTS{{alertstate="firing", sloth_severity="page"}})
        eval_time: 15m
        exp_samples:
          - labels: '{{alertname="MyServiceHighErrorRate", severity="pageteam", sloth_severity="page"}}'
            value: 2
"#
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sloth-compat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    std::fs::write(dir.join("rules.yaml"), rules).expect("write");
    std::fs::write(dir.join("tests.yaml"), tests).expect("write");
    let out = std::process::Command::new("promtool")
        .args(["test", "rules", "tests.yaml"])
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool ({e}): install Debian's `prometheus` package (.ci/run does)"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool test rules:\n{text}");
}
