//! `slo generate grafana`: the SLO dashboard. Golden-tested (regenerate with
//! `KURA_BLESS=1 cargo test -p slo `), and checked as Grafana would read it:
//! valid JSON with its import inputs, unique panel ids, a grid without overlaps, and queries
//! that read only recording rules the Prometheus generator defines for the SLOs shown.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{assert_golden, crate_dir};
use serde_json::Value;
use slo::generate::{grafana, prometheus};
use slo::spec::{self, Spec};

/// Loads a spec under a workspace-relative name, so the output does not depend on the checkout.
fn load(relative: &str) -> Spec {
    let text = std::fs::read_to_string(crate_dir().join("..").join(relative)).expect("the spec file exists");
    spec::load_str(Path::new(relative), &text).unwrap_or_else(|e| panic!("{relative} is valid:\n{e}"))
}

/// Every spec the dashboard is tested on: the fulfillment SLOs and the edge cases.
fn all_specs() -> Vec<(String, Spec)> {
    let mut paths = vec!["app/slos/fulfillment.yaml".to_string()];
    let mut edge: Vec<String> = std::fs::read_dir(crate_dir().join("tests/fixtures/specs"))
        .expect("the edge-case specs exist")
        .map(|e| e.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("slo/tests/fixtures/specs/{n}"))
        .collect();
    edge.sort();
    paths.extend(edge);
    paths
        .into_iter()
        .map(|p| {
            let stem = Path::new(&p).file_stem().expect("a file name").to_string_lossy().into_owned();
            let spec = load(&p);
            (stem, spec)
        })
        .collect()
}

fn dashboard(specs: &[Spec]) -> Value {
    let text = grafana::generate(specs).expect("every spec can be shown");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

fn panels(dashboard: &Value) -> &Vec<Value> {
    dashboard["panels"].as_array().expect("panels is an array")
}

// ----- golden files -----

#[test]
fn each_spec_dashboard_matches_its_golden_file() {
    for (stem, spec) in all_specs() {
        let text = grafana::generate(std::slice::from_ref(&spec)).expect("every spec can be shown");

        assert_golden("grafana", &format!("{stem}.json"), &text);
    }
}

#[test]
fn generation_is_deterministic() {
    let specs: Vec<Spec> = all_specs().into_iter().map(|(_, s)| s).collect();

    assert_eq!(grafana::generate(&specs).expect("a dashboard"), grafana::generate(&specs).expect("a dashboard"));
}

// ----- importable -----

#[test]
fn the_data_source_is_a_dashboard_variable_so_provisioned_files_work_too() {
    let d = dashboard(&[load("app/slos/fulfillment.yaml")]);

    assert!(d.get("__inputs").is_none(), "no import-only placeholder");
    let variable = &d["templating"]["list"][0];
    assert_eq!((variable["name"].as_str(), variable["type"].as_str()), (Some("datasource"), Some("datasource")));
    assert_eq!(variable["query"], "prometheus");
    assert!(!serde_json::to_string(&d).expect("JSON").contains("DS_PROMETHEUS"));
    let requires: BTreeSet<&str> =
        d["__requires"].as_array().expect("__requires").iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(requires, BTreeSet::from(["grafana", "prometheus", "stat", "timeseries"]));
    assert_eq!(d["schemaVersion"], 39);
    assert_eq!(d["tags"], serde_json::json!(["kura", "slo"]));
    assert!(d["id"].is_null(), "an imported dashboard gets its id from Grafana");
}

#[test]
fn every_panel_and_query_uses_the_data_source_variable() {
    for (stem, spec) in all_specs() {
        let d = dashboard(&[spec]);

        for panel in panels(&d).iter().filter(|p| p["type"] != "row") {
            assert_eq!(panel["datasource"]["uid"], "${datasource}", "{stem}: panel {}", panel["id"]);
            for target in panel["targets"].as_array().expect("targets") {
                assert_eq!(target["datasource"]["uid"], "${datasource}", "{stem}: panel {}", panel["id"]);
            }
        }
    }
}

#[test]
fn service_and_journey_are_template_variables_every_query_applies() {
    let d = dashboard(&[load("app/slos/fulfillment.yaml")]);

    let names: Vec<&str> =
        d["templating"]["list"].as_array().expect("variables").iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(names, ["datasource", "service", "journey"]);
    for expr in exprs(&d) {
        assert!(expr.contains(r#"service=~"$service""#) && expr.contains(r#"journey=~"$journey""#), "{expr}");
    }
}

#[test]
fn the_uid_is_derived_from_the_service_names_and_fits_grafanas_limit() {
    let fulfillment = load("app/slos/fulfillment.yaml");
    let specs: Vec<Spec> = all_specs().into_iter().map(|(_, s)| s).collect();
    let long = Spec { service: "a-service-with-a-very-long-name-indeed".to_string(), ..fulfillment.clone() };

    assert_eq!(dashboard(std::slice::from_ref(&fulfillment))["uid"], "kura-slo-fulfillment");
    assert_eq!(dashboard(&specs)["uid"], dashboard(&specs)["uid"], "stable");
    let hashed = dashboard(&[fulfillment, long]);
    let uid = hashed["uid"].as_str().expect("a uid");
    assert!(uid.len() <= 40 && uid.starts_with("kura-slo-"), "{uid}");
    assert_eq!(dashboard(&specs)["title"], "Kura SLOs: fulfillment, carrier-gateway, storefront");
}

// ----- layout -----

#[test]
fn panel_ids_are_unique() {
    let specs: Vec<Spec> = all_specs().into_iter().map(|(_, s)| s).collect();
    let d = dashboard(&specs);

    let ids: Vec<u64> = panels(&d).iter().map(|p| p["id"].as_u64().expect("a numeric id")).collect();
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}

#[test]
fn panels_fit_the_grid_without_overlapping() {
    let specs: Vec<Spec> = all_specs().into_iter().map(|(_, s)| s).collect();
    let d = dashboard(&specs);

    let rects: Vec<(u64, [u64; 4])> = panels(&d)
        .iter()
        .map(|p| {
            let g = &p["gridPos"];
            let n = |k: &str| g[k].as_u64().expect("a grid number");
            (p["id"].as_u64().expect("an id"), [n("x"), n("y"), n("w"), n("h")])
        })
        .collect();
    for (id, [x, _, w, h]) in &rects {
        assert!(x + w <= 24 && *w > 0 && *h > 0, "panel {id} does not fit the 24-column grid");
    }
    for (i, (a, [ax, ay, aw, ah])) in rects.iter().enumerate() {
        for (b, [bx, by, bw, bh]) in &rects[i + 1..] {
            let apart = ax + aw <= *bx || bx + bw <= *ax || ay + ah <= *by || by + bh <= *ay;
            assert!(apart, "panels {a} and {b} overlap");
        }
    }
}

#[test]
fn each_journey_has_a_row_and_each_slo_a_budget_burn_rate_and_sli_panel() {
    let spec = load("app/slos/fulfillment.yaml");
    let d = dashboard(std::slice::from_ref(&spec));

    let rows: Vec<&str> =
        panels(&d).iter().filter(|p| p["type"] == "row").filter_map(|p| p["title"].as_str()).collect();
    assert_eq!(rows.len(), spec.journeys.len());
    assert!(rows[0].starts_with("fulfillment / create-shipment: "), "{rows:?}");
    for slo in spec.slos() {
        for suffix in ["error budget left", "burn rate", "SLI vs objective"] {
            let title = format!("{}: {suffix}", slo.id);
            assert!(panels(&d).iter().any(|p| p["title"] == title.as_str()), "missing {title}");
        }
    }
    assert!(
        panels(&d).iter().any(|p| p["title"] == "create-shipment (journey): error budget left"),
        "the journey's composite has its own budget"
    );
}

// ----- queries -----

#[test]
fn every_query_reads_recording_rules_the_prometheus_rules_define_for_that_slo() {
    for (stem, spec) in all_specs() {
        let specs = [spec];
        let rules = recorded(&prometheus::generate(&specs).expect("the rules generate"));
        let d = dashboard(&specs);

        let mut checked = 0;
        for expr in exprs(&d) {
            let slo = label(&expr, "slo").unwrap_or_else(|| panic!("{stem}: no slo in {expr}"));
            let service = label(&expr, "service").unwrap_or_else(|| panic!("{stem}: no service in {expr}"));
            for record in records(&expr) {
                assert!(
                    rules.contains(&(record.clone(), service.clone(), slo.clone())),
                    "{stem}: {expr} reads {record} of {service}/{slo}, which the rules do not record"
                );
                checked += 1;
            }
        }
        assert!(checked > 0, "{stem}: no query was checked");
    }
}

#[test]
fn every_slo_id_a_query_names_exists_in_the_spec() {
    for (stem, spec) in all_specs() {
        let d = dashboard(std::slice::from_ref(&spec));
        let ids: BTreeSet<String> = spec
            .slos()
            .map(|s| s.id.clone())
            .chain(spec.journeys.iter().filter_map(|j| j.composite.as_ref()).map(|c| c.id.clone()))
            .collect();

        for expr in exprs(&d) {
            let slo = label(&expr, "slo").expect("every query names its SLO");
            assert!(ids.contains(&slo), "{stem}: {expr} names an unknown SLO");
        }
    }
}

#[test]
fn the_burn_rate_panel_divides_each_tier_window_by_the_budget() {
    let spec = load("app/slos/fulfillment.yaml");
    let d = dashboard(std::slice::from_ref(&spec));
    let panel = panel(&d, "create-shipment-availability: burn rate");

    let exprs: Vec<&str> =
        panel["targets"].as_array().expect("targets").iter().filter_map(|t| t["expr"].as_str()).collect();

    assert_eq!(exprs.len(), 4, "1h, 6h, 1d and 3d");
    assert!(
        exprs[0]
            .starts_with(r#"slo:sli_error:ratio_rate1h{service="fulfillment", slo="create-shipment-availability", "#)
    );
    assert!(exprs[0].ends_with("} / 0.001"), "{}", exprs[0]);
    assert!(exprs[3].starts_with("slo:sli_error:ratio_rate3d{"), "{}", exprs[3]);
}

#[test]
fn the_burn_rate_panel_draws_each_tiers_burn_rate_as_a_threshold_line() {
    let spec = load("app/slos/fulfillment.yaml");
    let slo = spec.slo("create-shipment-availability").expect("the SLO");
    let d = dashboard(std::slice::from_ref(&spec));
    let panel = panel(&d, "create-shipment-availability: burn rate");

    let steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"].as_array().expect("steps");
    let lines: Vec<(f64, &str)> = steps[1..]
        .iter()
        .map(|s| (s["value"].as_f64().expect("a value"), s["color"].as_str().expect("a colour")))
        .collect();

    let mut expected: Vec<(f64, &str)> = slo
        .alerting
        .tiers
        .iter()
        .map(|t| {
            let rate: f64 = t.tier.burn_rate.to_string().parse().expect("a number");
            (rate, if t.tier.severity.as_str() == "page" { "red" } else { "orange" })
        })
        .collect();
    expected.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(lines, expected);
    assert_eq!(panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"], "line+area");
}

#[test]
fn the_sli_panel_compares_the_window_ratio_with_the_objective() {
    let d = dashboard(&[load("app/slos/fulfillment.yaml")]);
    let panel = panel(&d, "create-shipment-availability: SLI vs objective");

    assert!(panel["targets"][0]["expr"].as_str().expect("expr").starts_with("1 - slo:sli_error:ratio_rate28d{"));
    assert!(panel["targets"][1]["expr"].as_str().expect("expr").starts_with("slo:objective:ratio{"));
    assert_eq!(panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"], 0.999);
}

#[test]
fn a_calendar_window_is_shown_as_the_rolling_range_the_rules_record() {
    let d = dashboard(&[load("slo/tests/fixtures/specs/calendar-timeslices.yaml")]);
    let month = panel(&d, "gateway-label-availability: SLI vs objective");
    let quarter = panel(&d, "gateway-label-latency: SLI vs objective");

    assert!(month["targets"][0]["expr"].as_str().expect("expr").starts_with("1 - slo:sli_error:ratio_rate30d{"));
    assert!(quarter["targets"][0]["expr"].as_str().expect("expr").starts_with("1 - slo:sli_error:ratio_rate90d{"));
    assert!(month["description"].as_str().expect("text").contains("standing for the SLO's calendar month"));
}

#[test]
fn the_budget_stat_colours_follow_the_error_budget_policy() {
    let default = dashboard(&[load("app/slos/fulfillment.yaml")]);
    let custom = dashboard(&[load("slo/tests/fixtures/specs/calendar-timeslices.yaml")]);

    let steps = |d: &Value, title: &str| panel(d, title)["fieldConfig"]["defaults"]["thresholds"]["steps"].clone();
    assert_eq!(
        steps(&default, "create-shipment-availability: error budget left"),
        serde_json::json!([
            { "color": "red", "value": null },
            { "color": "orange", "value": 0.0 },
            { "color": "green", "value": 0.25 },
        ])
    );
    let gateway = steps(&custom, "gateway-label-availability: error budget left");
    assert_eq!((gateway[1]["value"].as_f64(), gateway[2]["value"].as_f64()), (Some(0.1), Some(0.5)));
}

#[test]
fn panel_descriptions_and_links_come_from_the_spec() {
    let spec = load("app/slos/fulfillment.yaml");
    let d = dashboard(std::slice::from_ref(&spec));
    let stat = panel(&d, "create-shipment-availability: error budget left");

    let description = stat["description"].as_str().expect("a description");
    assert!(description.starts_with("Shipment requests are accepted without a server error."), "{description}");
    assert!(description.contains("A shipper creates an outbound request"));
    assert_eq!(stat["links"][0]["url"], "http://127.0.0.1:8090/slos/create-shipment-availability");
}

// ----- helpers -----

fn panel<'a>(dashboard: &'a Value, title: &str) -> &'a Value {
    panels(dashboard).iter().find(|p| p["title"] == title).unwrap_or_else(|| panic!("no panel {title}"))
}

/// Every query expression of every panel.
fn exprs(dashboard: &Value) -> Vec<String> {
    panels(dashboard)
        .iter()
        .filter_map(|p| p["targets"].as_array())
        .flatten()
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect()
}

/// The recorded metric names in an expression (`slo:...`).
fn records(expr: &str) -> Vec<String> {
    expr.match_indices("slo:")
        .map(|(i, _)| {
            expr[i..]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// The value of the first `label="..."` equality matcher.
fn label(expr: &str, name: &str) -> Option<String> {
    let start = expr.find(&format!("{name}=\""))? + name.len() + 2;
    Some(expr[start..].split('"').next()?.to_string())
}

/// `(record, service, slo)` of every recording rule in a Prometheus rule file.
fn recorded(rules: &str) -> BTreeSet<(String, String, String)> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(rules).expect("the rules are YAML");
    let mut out = BTreeSet::new();
    for group in doc["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            if let Some(record) = rule["record"].as_str() {
                let labels = &rule["labels"];
                let text = |k: &str| labels[k].as_str().unwrap_or_default().to_string();
                out.insert((record.to_string(), text("service"), text("slo")));
            }
        }
    }
    out
}
