//! `slo lint` and the spec loader: valid specs load, and every kind of mistake is reported
//! at its `file:line:column`.

use std::path::PathBuf;
use std::process::Command;

use slo::spec::{self, Budgeting, Counting, Maintenance, Sli};

use crate::support::{crate_dir, workspace};

fn fixture(path: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(path)
}

fn app_slos() -> PathBuf {
    workspace().join("app/slos")
}

/// The diagnostics of one invalid fixture as `line:column: message` strings.
fn problems(name: &str) -> Vec<String> {
    let err = spec::load(&fixture(&format!("invalid/{name}"))).expect_err("the fixture is invalid");
    err.iter().map(|d| format!("{}:{}: {}", d.line, d.column, d.message)).collect()
}

fn has(problems: &[String], at: &str, text: &str) {
    assert!(
        problems.iter().any(|p| p.starts_with(&format!("{at}: ")) && p.contains(text)),
        "expected a problem at {at} containing {text:?}, got:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_fulfillment_slos_load_with_every_journey_and_policy() {
    let specs = spec::load_paths(&[app_slos()]).expect("app/slos is valid");
    assert_eq!(specs.len(), 1);
    let s = &specs[0];
    assert_eq!((s.service.as_str(), s.time_zone.as_str()), ("fulfillment", "Asia/Tokyo"));
    let journeys: Vec<&str> = s.journeys.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(
        journeys,
        [
            "create-shipment",
            "hht-scan",
            "wave-generation",
            "label-issuance",
            "stock-read",
            "inbound-to-stock",
            "allocation",
            "order-sync"
        ]
    );
    let availability = s.slo("create-shipment-availability").unwrap();
    assert_eq!(availability.objective.to_string(), "99.9");
    assert!(matches!(&availability.sli, Sli::Ratio { counting: Counting::Bad, .. }));
    assert_eq!(availability.alerting.tiers.len(), 4);
    let hht = s.slo("hht-scan-latency").unwrap();
    assert!(matches!(hht.budgeting, Budgeting::Timeslices { .. }));
    let allocation = s.slo("allocation-sweep-success").unwrap();
    let tiers: Vec<&str> = allocation.alerting.tiers.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tiers, ["fast-page", "slow-page", "fast-ticket"], "slow-ticket is disabled in the spec");
    let order_sync = s.slo("order-sync-freshness").unwrap();
    assert!(matches!(&order_sync.sli, Sli::Freshness { .. }));
    assert_eq!(order_sync.journey, "order-sync");
    assert!(matches!(s.maintenance[0], Maintenance::Weekly { .. }));
    assert_eq!(s.journeys[0].composite.as_ref().unwrap().components.len(), 2);
}

#[test]
fn edge_case_specs_load() {
    let specs = spec::load_paths(&[fixture("specs")]).expect("the edge-case specs are valid");
    let services: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(services, ["carrier-gateway", "storefront"]);
    let gateway = &specs[0];
    let availability = gateway.slo("gateway-label-availability").unwrap();
    let tiers: Vec<(&str, String)> =
        availability.alerting.tiers.iter().map(|t| (t.name.as_str(), t.tier.burn_rate.to_string())).collect();
    assert_eq!(tiers[0], ("fast-page", "10".to_string()), "the override replaces the default burn rate");
    assert!(tiers.iter().any(|(n, _)| *n == "weekly-ticket"));
    assert!(!tiers.iter().any(|(n, _)| *n == "slow-ticket"));
    assert_eq!(availability.alerting.no_data, Some(jiff::SignedDuration::from_mins(30)));
    let storefront = &specs[1];
    assert!(matches!(storefront.slo("checkout-payments").unwrap().sli, Sli::Promql { .. }));
    assert_eq!(storefront.metrics.len(), 3, "the promql SLI's counter is declared too");
}

#[test]
fn an_unknown_key_is_reported_where_it_is() {
    let p = problems("unknown-key.yaml");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("unknown field `windwo`"), "{p:?}");
    assert!(p[0].starts_with("7:9: "), "points at the key: {p:?}");
}

#[test]
fn every_semantic_mistake_is_reported_at_once_with_its_position() {
    let p = problems("semantic.yaml");
    has(&p, "2:12", "unknown time zone `Asia/Tokio`");
    has(&p, "7:20", "objective `100`");
    has(&p, "8:17", "window `28x`");
    has(&p, "11:18", "unknown metric `http_server_requests_total`");
    has(&p, "12:63", "unknown label `jorney`");
    has(&p, "13:13", "duplicate SLO id `create-shipment-availability`");
    has(&p, "19:24", "threshold 0.25 is not a bucket bound");
    assert_eq!(p.len(), 7, "{p:#?}");
}

#[test]
fn a_duplicate_key_names_both_places() {
    let p = problems("duplicate-key.yaml");
    has(&p, "5:3", "duplicate key `hht-scan` (first at line 3)");
}

#[test]
fn a_malformed_selector_points_inside_the_quoted_value() {
    let p = problems("bad-selector.yaml");
    // `"job_runs_total{journey=hht-scan}"` starts at column 19; the value is at offset 23, after the quote.
    has(&p, "10:43", "expected a double-quoted label value");
}

#[test]
fn the_cli_exits_non_zero_and_prints_file_line_column() {
    let out = Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(["lint", fixture("specs").to_str().unwrap(), fixture("invalid/semantic.yaml").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid/semantic.yaml:2:12: unknown time zone"), "{stderr}");
    let ok = Command::new(env!("CARGO_BIN_EXE_slo")).args(["lint", app_slos().to_str().unwrap()]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("8 journeys, 10 SLOs"));
}

#[test]
fn a_scrape_given_with_metrics_makes_its_families_known() {
    let spec = "service: s\njourneys:\n  j:\n    slos:\n      - id: a\n        objective: 99\n        window: 28d\n        sli:\n          ratio:\n            bad: hits_total{code=\"500\"}\n            total: hits_total\n";
    let dir = std::env::temp_dir().join(format!("slo-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec_path = dir.join("s.yaml");
    std::fs::write(&spec_path, spec).unwrap();
    let scrape = dir.join("scrape.txt");
    std::fs::write(&scrape, "# TYPE hits_total counter\nhits_total{code=\"200\"} 4\n").unwrap();
    let without = Command::new(env!("CARGO_BIN_EXE_slo")).args(["lint"]).arg(&spec_path).output().unwrap();
    assert_eq!(without.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&without.stderr).contains("unknown metric `hits_total`"));
    let with = Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(["lint", "--metrics"])
        .arg(&scrape)
        .arg(&spec_path)
        .output()
        .unwrap();
    assert!(with.status.success(), "{}", String::from_utf8_lossy(&with.stderr));
}

#[test]
fn an_slo_id_is_unique_per_service_across_files() {
    let dir = std::env::temp_dir().join(format!("slo-dup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = std::fs::read_to_string(app_slos().join("fulfillment.yaml")).unwrap();
    std::fs::write(dir.join("a.yaml"), &body).unwrap();
    std::fs::write(dir.join("b.yaml"), &body).unwrap();
    let err = spec::load_paths(std::slice::from_ref(&dir)).expect_err("the second file repeats every id");
    assert!(err.iter().all(|d| d.file.ends_with("b.yaml")));
    assert!(
        err.iter()
            .any(|d| d.message.contains("duplicate SLO id `create-shipment-availability` for service `fulfillment`"))
    );
}

#[test]
fn a_dashboard_template_is_an_http_url_or_a_path_on_the_controller() {
    let text = |dashboard: &str| {
        format!(
            "service: s\ndashboard: {dashboard}\njourneys:\n  j:\n    slos:\n      - id: a\n        objective: 99\n        window: 28d\n        sli:\n          ratio:\n            bad: job_runs_total{{outcome=\"failure\"}}\n            total: job_runs_total\n"
        )
    };
    let load = |dashboard: &str| spec::load_str(std::path::Path::new("s.yaml"), &text(dashboard));

    let path = load("/slos/{service}/{slo}").expect("a path on the controller is a link");
    let url = load("https://grafana.example/d/x?var-slo={slo}").expect("an https URL is a link");
    let neither = load("grafana/d/x").expect_err("a relative path is not");

    assert_eq!(path.dashboard_link("a").as_deref(), Some("http://127.0.0.1:8090/slos/s/a"));
    assert_eq!(url.dashboard_link("a").as_deref(), Some("https://grafana.example/d/x?var-slo=a"));
    assert!(neither.to_string().contains("dashboard link must be"), "{neither}");
}

/// A spec whose one SLI is `promql` with the given bad query (the total is valid).
fn promql_spec(bad: &str) -> Vec<String> {
    let text = format!(
        "service: s\nmetrics:\n  jobs:\n    type: counter\n    labels: [outcome]\njourneys:\n  j:\n    slos:\n      - id: a\n        \
         objective: 99\n        window: 30d\n        sli:\n          promql:\n            bad: {bad}\n            total: \
         sum(rate(jobs_total[{{{{.window}}}}]))\n"
    );
    match spec::load_str(std::path::Path::new("promql.yaml"), &text) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(|d| format!("{}:{}: {}", d.line, d.column, d.message)).collect(),
    }
}

#[test]
fn a_promql_sli_with_an_unclosed_parenthesis_is_reported_where_it_opens() {
    let problems = promql_spec("sum(rate(jobs_total{outcome=\"failed\"}[{{.window}}])");
    has(&problems, "14:21", "invalid PromQL: `(` is never closed");
}

#[test]
fn a_promql_sli_with_a_grammar_error_is_refused() {
    let problems = promql_spec("sum(rate(jobs_total[{{.window}}])) +");
    has(&problems, "14:18", "invalid PromQL");
}

#[test]
fn a_promql_selector_on_an_unknown_metric_or_label_is_reported_at_the_selector() {
    let problems = promql_spec("sum(rate(job_total{outcome=\"failed\"}[{{.window}}]))");
    has(&problems, "14:27", "unknown metric `job_total`");
    let problems = promql_spec("sum(rate(jobs_total{result=\"failed\"}[{{.window}}]))");
    has(&problems, "14:38", "unknown label `result` on `jobs_total` (labels: outcome)");
}

#[test]
fn a_valid_promql_sli_passes() {
    assert_eq!(promql_spec("sum(rate(jobs_total{outcome=\"failed\"}[{{.window}}]))"), Vec::<String>::new());
}

#[test]
fn a_gate_policy_that_makes_no_sense_is_reported_where_it_is_written() {
    let p = problems("gate.yaml");

    has(&p, "7:30", "the gate names journey `nowhere`");
    has(&p, "8:16", "the gate names SLO `no-such-slo`");
    has(&p, "6:7", "an environment's `reject` sets budget_remaining_below or burn_rate_above");
    has(&p, "10:7", "must be a name without spaces");
    has(&p, "11:20", "max_staleness is at least 10s");
    has(&p, "12:20", "hold_deadline is at most 30d");
    has(&p, "14:64", "ends after it starts");
    has(&p, "15:29", "a verification window lasts at most 24h");
    has(&p, "15:52", "rollback_workflow names a workflow");
}

#[test]
fn the_fulfillment_policy_gates_production_and_shadows_staging() {
    let specs = spec::load_paths(&[app_slos()]).expect("app/slos is valid");
    let gate = &specs[0].policy.gate;

    let names: Vec<&str> = gate.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["production", "staging"]);
    assert!(gate.environments[1].shadow && !gate.environments[0].shadow);
    assert_eq!(gate.rollback_workflow.as_deref(), Some("rollback.yml"));
    assert_eq!(gate.freeze.len(), 1);
}
