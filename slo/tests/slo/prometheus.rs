//! `slo generate prometheus`: the rule file generated from each spec matches its golden file
//! under `tests/golden/prometheus/`, passes `promtool check rules`, and behaves as the
//! scenarios in `tests/promtool/*/tests.yaml` say under synthetic traffic (`promtool test
//! rules`). promtool comes from Debian's `prometheus` package, which `.ci/run` installs: these
//! tests fail, never skip, when it is missing.
//!
//! `KURA_BLESS=1 cargo test -p slo ` rewrites the golden files; review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{assert_golden, workspace};
use serde_yaml_ng::Value;
use slo::generate::prometheus;
use slo::spec::{self, Spec};

/// The promtool scenario directories under `tests/promtool/`, each with `slos.yaml` and `tests.yaml`.
const SCENARIOS: [&str; 2] = ["burn", "maintenance"];

/// Loads spec files named relative to the workspace root, as `slo generate prometheus` run
/// there would name them in the generated header.
fn load(paths: &[String]) -> Vec<Spec> {
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(workspace().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
            spec::load_str(Path::new(p), &text).unwrap_or_else(|d| panic!("{p} does not load:\n{d}"))
        })
        .collect()
}

fn generate(paths: &[String]) -> String {
    prometheus::generate(&load(paths)).unwrap_or_else(|e| panic!("{paths:?}: {e}"))
}

/// Every rule file under test: a name (its golden file's stem) and the specs it is generated from.
fn cases() -> Vec<(String, Vec<String>)> {
    let mut cases = vec![("fulfillment".to_string(), vec!["app/slos/fulfillment.yaml".to_string()])];
    cases.extend(edge_case_specs().into_iter().map(|p| (stem(&p), vec![p])));
    cases
        .extend(SCENARIOS.iter().map(|s| (format!("promtool-{s}"), vec![format!("slo/tests/promtool/{s}/slos.yaml")])));
    cases
}

/// `slo/tests/fixtures/specs/*.yaml`, in name order.
fn edge_case_specs() -> Vec<String> {
    let mut paths: Vec<String> = std::fs::read_dir(workspace().join("slo/tests/fixtures/specs"))
        .expect("the edge-case specs")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("slo/tests/fixtures/specs/{n}"))
        .collect();
    paths.sort();
    paths
}

fn stem(path: &str) -> String {
    Path::new(path).file_stem().unwrap().to_string_lossy().into_owned()
}

/// Runs promtool in `dir`, failing with its output when it fails or cannot be started.
fn promtool(dir: &Path, args: &[&str]) -> String {
    let out =
        Command::new("promtool").args(args).current_dir(dir).output().unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}): install Debian's `prometheus` package (.ci/run does)")
        });
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {} in {} failed:\n{text}", args.join(" "), dir.display());
    text
}

/// A fresh directory for one case's files (per process: concurrent test runs share the target).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("prometheus-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The scenario's `tests.yaml` with `exp_annotations` filled in for every expected alert from
/// the one alert rule whose name matches and whose labels the expected labels include. The
/// annotations are plain text (the golden files check them), so copying them leaves the test
/// about which alerts fire and with which labels.
fn with_annotations(tests: &str, rules: &str) -> String {
    let rules: Value = serde_yaml_ng::from_str(rules).unwrap();
    let alerts: Vec<&Value> = rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .filter(|r| r.get("alert").is_some())
        .collect();
    let mut doc: Value = serde_yaml_ng::from_str(tests).unwrap();
    for test in doc["tests"].as_sequence_mut().unwrap() {
        let Some(cases) = test.get_mut("alert_rule_test").and_then(Value::as_sequence_mut) else { continue };
        for case in cases {
            let name = case["alertname"].clone();
            for expected in case["exp_alerts"].as_sequence_mut().unwrap() {
                let labels = expected["exp_labels"].as_mapping().unwrap();
                let matching: Vec<&&Value> = alerts
                    .iter()
                    .filter(|r| r["alert"] == name)
                    .filter(|r| r["labels"].as_mapping().unwrap().iter().all(|(k, v)| labels.get(k) == Some(v)))
                    .collect();
                assert_eq!(matching.len(), 1, "{name:?} {labels:?} should match exactly one alert rule");
                expected.as_mapping_mut().unwrap().insert("exp_annotations".into(), matching[0]["annotations"].clone());
            }
        }
    }
    serde_yaml_ng::to_string(&doc).unwrap()
}

/// Generates the scenario's rules and runs its `promtool test rules` file against them.
fn run_scenario(scenario: &str) {
    let rules = generate(&[format!("slo/tests/promtool/{scenario}/slos.yaml")]);
    let tests = std::fs::read_to_string(workspace().join(format!("slo/tests/promtool/{scenario}/tests.yaml"))).unwrap();
    let dir = scratch(&format!("scenario-{scenario}"));
    std::fs::write(dir.join("rules.yaml"), &rules).unwrap();
    std::fs::write(dir.join("tests.yaml"), with_annotations(&tests, &rules)).unwrap();
    let out = promtool(&dir, &["test", "rules", "tests.yaml"]);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn the_fulfillment_rules_match_their_golden_file() {
    let (name, paths) = &cases()[0];
    assert_golden("prometheus", &format!("{name}.yaml"), &generate(paths));
}

#[test]
fn the_edge_case_spec_rules_match_their_golden_files() {
    let specs = edge_case_specs();
    assert!(!specs.is_empty(), "no edge-case specs under slo/tests/fixtures/specs");
    for path in specs {
        assert_golden("prometheus", &format!("{}.yaml", stem(&path)), &generate(&[path]));
    }
}

#[test]
fn the_promtool_scenario_rules_match_their_golden_files() {
    let mut dirs: Vec<String> = std::fs::read_dir(workspace().join("slo/tests/promtool"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs, SCENARIOS, "every scenario directory is listed in SCENARIOS, so that it runs");
    for scenario in SCENARIOS {
        assert_golden(
            "prometheus",
            &format!("promtool-{scenario}.yaml"),
            &generate(&[format!("slo/tests/promtool/{scenario}/slos.yaml")]),
        );
    }
}

#[test]
fn every_generated_rule_file_passes_promtool_check_rules() {
    let dir = scratch("check");
    let mut files = Vec::new();
    for (name, paths) in cases() {
        let file = format!("{name}.yaml");
        std::fs::write(dir.join(&file), generate(&paths)).unwrap();
        files.push(file);
    }
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = promtool(&dir, &args);
    assert_eq!(out.matches("SUCCESS").count(), files.len(), "{out}");
}

#[test]
fn burn_rate_alerts_page_ticket_and_stay_quiet_as_the_workbook_says() {
    run_scenario("burn");
}

#[test]
fn maintenance_suppresses_pages_and_spares_the_budget() {
    run_scenario("maintenance");
}

#[test]
fn two_services_with_an_slo_of_the_same_id_get_a_rule_group_each() {
    let spec = |service: &str| {
        let text = format!(
            "service: {service}\njourneys:\n  create-shipment:\n    slos:\n      - id: create-shipment-availability\n        objective: 99.9\n        window: 28d\n        sli:\n          ratio:\n            bad: http_server_request_duration_seconds_count{{journey=\"create-shipment\", http_response_status_code=~\"5..\"}}\n            total: http_server_request_duration_seconds_count{{journey=\"create-shipment\"}}\n"
        );
        spec::load_str(Path::new(&format!("{service}.yaml")), &text).unwrap()
    };
    let text = prometheus::generate(&[spec("fulfillment"), spec("gateway")]).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = text.lines().filter_map(|l| l.trim().strip_prefix("- name: ")).collect();
    assert_eq!(
        names,
        ["kura-slo/fulfillment/create-shipment-availability", "kura-slo/gateway/create-shipment-availability"]
    );
}
