//! `slo generate datadog-terraform`: Datadog SLOs and burn-rate monitors as Terraform. The
//! output is golden-tested (regenerate with `KURA_BLESS=1 cargo test -p slo --test datadog`),
//! checked for structure (balanced HCL, valid names, every monitor's SLO defined), and every
//! spec Datadog cannot represent is refused with an error naming the SLO and what.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use slo::generate::{GenerateError, Kind, datadog};
use slo::spec::{self, Spec};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Loads a spec under a workspace-relative name, so generated comments do not depend on the checkout.
fn load(relative: &str) -> Spec {
    let text = std::fs::read_to_string(crate_dir().join("..").join(relative)).expect("the spec file exists");
    spec::load_str(Path::new(relative), &text).unwrap_or_else(|e| panic!("{relative} is valid:\n{e}"))
}

fn load_yaml(yaml: &str) -> Spec {
    spec::load_str(Path::new("inline.yaml"), yaml).unwrap_or_else(|e| panic!("the inline spec is valid:\n{e}"))
}

fn fixtures(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(crate_dir().join("tests/fixtures").join(dir))
        .expect("the fixture directory exists")
        .map(|e| e.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("slo/tests/fixtures/{dir}/{n}")).collect()
}

/// Compares with `tests/golden/datadog/<name>`, or rewrites it when `KURA_BLESS=1`.
fn assert_golden(name: &str, actual: &str) {
    let path: PathBuf = crate_dir().join("tests/golden/datadog").join(name);
    if std::env::var("KURA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the golden directory can be created");
        std::fs::write(&path, actual).expect("the golden file can be written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with KURA_BLESS=1 to create it", path.display()));
    if expected != actual {
        panic!(
            "{} differs from the generated output (KURA_BLESS=1 to accept):\n{}",
            path.display(),
            diff(&expected, actual)
        );
    }
}

/// The differing lines, `-` expected and `+` actual, with line numbers.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            if let Some(x) = x {
                out.push_str(&format!("{:>5} - {x}\n", i + 1));
            }
            if let Some(y) = y {
                out.push_str(&format!("{:>5} + {y}\n", i + 1));
            }
        }
    }
    out
}

fn generated(spec: &Spec) -> String {
    datadog::generate(std::slice::from_ref(spec)).unwrap_or_else(|e| panic!("{} is representable: {e}", spec.service))
}

fn refused(spec: &Spec) -> GenerateError {
    match datadog::generate(std::slice::from_ref(spec)) {
        Ok(out) => panic!("expected an error, got:\n{out}"),
        Err(e) => e,
    }
}

/// A one-SLO spec (service `probe`, SLO `probe-slo`) with top-level keys `top`, the SLO's
/// `window` and `sli`, and `extra` keys of the SLO.
fn one_slo(top: &str, window: &str, sli: &str, extra: &str) -> Spec {
    load_yaml(&one_slo_yaml(top, window, sli, extra))
}

fn one_slo_yaml(top: &str, window: &str, sli: &str, extra: &str) -> String {
    format!(
        r#"service: probe
time_zone: UTC
{top}
metrics:
  probe_events:
    type: counter
    labels: [kind, outcome, Zone]
  probe_duration_seconds:
    type: histogram
    labels: [kind]
    buckets: [0.00005, 0.1, 1]
journeys:
  probe:
    description: A probe.
    slos:
      - id: probe-slo
        objective: 99.9
        window: {window}
        sli:
{sli}
{extra}
"#
    )
}

const RATIO: &str = r#"          ratio:
            good: probe_events_total{kind="a", outcome="ok"}
            total: probe_events_total{kind="a"}"#;

const NO_SLOW_TICKET: &str = r#"        alerting:
          tiers:
            slow-ticket: { enabled: false }"#;

fn ratio_with(good: &str) -> String {
    format!("          ratio:\n            good: {good}\n            total: probe_events_total{{kind=\"a\"}}")
}

// ----- golden files -----

#[test]
fn representable_specs_match_their_golden_terraform() {
    for path in fixtures("datadog") {
        let spec = load(&path);
        let name = Path::new(&path).file_stem().expect("a file name").to_string_lossy().into_owned();
        assert_golden(&format!("{name}.tf"), &generated(&spec));
    }
}

#[test]
fn the_fulfillment_slos_are_refused_because_datadog_has_no_28d_window() {
    let spec = load("app/slos/fulfillment.yaml");

    let err = refused(&spec);

    assert_eq!(err.kind, Kind::DatadogTerraform);
    assert_eq!((err.service.as_str(), err.slo.as_str()), ("fulfillment", "create-shipment-availability"));
    assert!(err.what.contains("`28d`") && err.what.contains("7d, 30d and 90d"), "{err}");
    assert!(err.to_string().starts_with("fulfillment/create-shipment-availability: datadog-terraform cannot express"));
}

#[test]
fn the_edge_case_specs_are_refused_naming_what_datadog_lacks() {
    let specs = spec::load_paths(&[crate_dir().join("tests/fixtures/specs")]).expect("the edge-case specs are valid");
    let errors: Vec<String> = specs.iter().map(|s| refused(s).to_string()).collect();

    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("carrier-gateway/gateway-label-availability: ") && errors[0].contains("`month`"));
    assert!(errors[1].starts_with("storefront/checkout-availability: ") && errors[1].contains(r#"code=~"5..""#));
}

#[test]
fn generation_is_deterministic() {
    let spec = load("slo/tests/fixtures/datadog/fulfillment-30d.yaml");

    assert_eq!(generated(&spec), generated(&spec));
}

// ----- structure -----

#[test]
fn the_output_starts_with_a_generated_by_comment() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));

    assert!(out.starts_with(
        "# Generated by `slo generate datadog-terraform` from slo/tests/fixtures/datadog/fulfillment-30d.yaml."
    ));
}

#[test]
fn every_monitor_and_correction_references_a_defined_slo() {
    for path in fixtures("datadog") {
        let out = generated(&load(&path));
        let defined = resources(&out, "datadog_service_level_objective");
        assert!(!defined.is_empty());

        let referenced = references(&out, "datadog_service_level_objective.");

        assert!(!referenced.is_empty(), "{path}: monitors reference their SLOs");
        for name in &referenced {
            assert!(defined.contains(name), "{path}: `{name}` is referenced but not defined");
        }
    }
}

#[test]
fn every_slo_gets_one_burn_rate_monitor_per_enabled_tier() {
    let spec = load("slo/tests/fixtures/datadog/fulfillment-30d.yaml");
    let out = generated(&spec);

    let monitors = resources(&out, "datadog_monitor");

    for slo in spec.slos() {
        for tier in &slo.alerting.tiers {
            let name = format!("{}_{}", slo.id.replace('-', "_"), tier.name.replace('-', "_"));
            assert!(monitors.contains(&name), "missing monitor {name}");
        }
    }
    let burn = out.matches("= \"slo alert\"").count();
    assert_eq!(burn, spec.slos().map(|s| s.alerting.tiers.len()).sum::<usize>());
}

#[test]
fn the_terraform_is_balanced_and_every_name_is_a_valid_identifier() {
    for path in fixtures("datadog") {
        let out = generated(&load(&path));

        check_balanced(&out).unwrap_or_else(|e| panic!("{path}: {e}"));
        for line in out.lines().filter(|l| l.starts_with("resource ") || l.starts_with("variable ")) {
            let labels: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
            let name = labels.last().expect("a labelled block");
            assert!(is_identifier(name), "{path}: `{name}` is not a Terraform identifier");
        }
    }
}

#[test]
fn slo_ids_become_terraform_names_with_underscores() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));

    assert!(out.contains("resource \"datadog_service_level_objective\" \"create_shipment_availability\" {"));
    assert!(out.contains("resource \"datadog_monitor\" \"create_shipment_availability_fast_page\" {"));
}

// ----- translation -----

#[test]
fn a_bad_over_total_ratio_counts_good_events_as_total_minus_bad() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));

    let total = "sum:fulfillment.http_server_request_duration_seconds.count{journey:create-shipment}.as_count()";
    let bad = "sum:fulfillment.http_server_request_duration_seconds.count{journey:create-shipment,http_response_status_code:5*}.as_count()";
    assert!(out.contains(&format!("numerator   = \"{total} - {bad}\"")), "{out}");
    assert!(out.contains(&format!("denominator = \"{total}\"")));
}

#[test]
fn a_counter_is_its_count_metric_under_the_service_namespace() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));

    assert!(out.contains(
        "numerator   = \"sum:fulfillment.job_runs.count{journey:wave-generation,outcome:success}.as_count()\""
    ));
}

#[test]
fn a_latency_sli_counts_the_threshold_bucket_over_the_histogram_count() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));

    assert!(out.contains(
        "numerator   = \"sum:fulfillment.http_server_request_duration_seconds.bucket{journey:create-shipment,!http_response_status_code:5*,upper_bound:0.3}.as_count()\""
    ), "{out}");
    assert!(out.contains(
        "numerator   = \"sum:fulfillment.job_queue_lag_seconds.bucket{journey:wave-generation,upper_bound:300.0}.as_count()\""
    ), "freshness bounds are written as the Agent writes floats");
}

#[test]
fn timeslices_become_a_time_slice_slo_comparing_each_slice_with_its_target() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));
    let block = resource_block(&out, "datadog_service_level_objective", "hht_scan_latency");

    assert!(block.contains("type        = \"time_slice\""), "{block}");
    assert!(block.contains("formula_expression = \"query1 / query2\""));
    assert!(block.contains("comparator             = \">=\""));
    assert!(block.contains("threshold              = 0.95"));
    assert!(block.contains("query_interval_seconds = 60"));
}

#[test]
fn a_bad_over_total_ratio_in_time_slices_compares_good_as_total_minus_bad() {
    let sli = "          ratio:\n            bad: probe_events_total{kind=\"a\", outcome=\"error\"}\n            total: probe_events_total{kind=\"a\"}";
    let extra = format!("        budgeting:\n          timeslices: {{ slice: 5m, target: 99 }}\n{NO_SLOW_TICKET}");
    let out = generated(&one_slo("", "30d", sli, &extra));
    let block = resource_block(&out, "datadog_service_level_objective", "probe_slo");

    assert!(block.contains("formula_expression = \"(query2 - query1) / query2\""), "{block}");
    assert!(block.contains("query = \"sum:probe.probe_events.count{kind:a,outcome:error}.as_count()\""));
    assert!(block.contains("threshold              = 0.99"));
    assert!(block.contains("query_interval_seconds = 300"));
}

#[test]
fn matchers_translate_to_datadog_tag_filters() {
    let out = generated(&load("slo/tests/fixtures/datadog/parcel-api.yaml"));

    // `!=`, and literal alternatives as IN, which needs the boolean syntax throughout.
    assert!(out.contains(
        "sum:parcel_api.parcel_requests.count{route:/v1/parcels/track AND !method:options AND result IN (error,timeout)}.as_count()"
    ), "{out}");
    // Status classes mixed with a literal, negated.
    assert!(out.contains(
        "sum:parcel_api.parcel_request_duration_seconds.bucket{route IN (/v1/parcels/track,/v2/parcels/track) AND (!http_response_status_code:5* AND !http_response_status_code:429) AND upper_bound:0.25}.as_count()"
    ), "{out}");
}

#[test]
fn burn_rate_monitors_use_datadogs_query_and_route_by_severity() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));
    let block = resource_block(&out, "datadog_monitor", "create_shipment_availability_fast_page");

    assert!(block.contains(r#"query   = "burn_rate(\"${datadog_service_level_objective.create_shipment_availability.id}\").over(\"30d\").long_window(\"1h\").short_window(\"5m\") > 14.4""#), "{block}");
    assert!(block.contains("critical = 14.4"));
    assert!(block.contains("${var.kura_slo_notify_page}"));
    assert!(block.contains("\"severity:page\""));
    let ticket = resource_block(&out, "datadog_monitor", "create_shipment_availability_fast_ticket");
    assert!(ticket.contains(r#".long_window(\"24h\").short_window(\"120m\") > 3""#), "{ticket}");
    assert!(ticket.contains("${var.kura_slo_notify_ticket}"));
}

#[test]
fn thresholds_carry_the_target_and_the_warning_from_the_error_budget_policy() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));
    let block = resource_block(&out, "datadog_service_level_objective", "create_shipment_availability");

    assert!(block.contains("timeframe = \"30d\""));
    assert!(block.contains("target    = 99.9"));
    assert!(block.contains("warning   = 99.925"), "25% of the 0.1% budget left: {block}");
}

#[test]
fn a_warning_that_datadog_cannot_hold_is_left_out_with_a_comment() {
    let out = generated(&load("slo/tests/fixtures/datadog/parcel-api.yaml"));
    let block = resource_block(&out, "datadog_service_level_objective", "track_parcel_errors");

    assert!(!block.contains("warning "), "{block}");
    assert!(block.contains("# No warning: the SLI at 25% budget left is 99.9625"), "{block}");
}

#[test]
fn slos_are_tagged_with_service_journey_slo_and_the_spec_labels() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));
    let block = resource_block(&out, "datadog_service_level_objective", "create_shipment_latency");

    assert!(block.contains(
        r#"tags = ["journey:create-shipment", "service:fulfillment", "slo:create-shipment-latency", "team:fulfillment"]"#
    ), "{block}");
}

#[test]
fn maintenance_windows_become_slo_corrections() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));
    let weekly = resource_block(&out, "datadog_slo_correction", "create_shipment_availability_weekly_db_maintenance");
    let once = resource_block(&out, "datadog_slo_correction", "create_shipment_availability_carrier_cutover");

    // Sunday 2025-01-05 02:00 in Asia/Tokyo is 2025-01-04T17:00:00Z.
    assert!(weekly.contains("start       = 1736010000"), "{weekly}");
    assert!(weekly.contains("duration    = 3600"));
    assert!(weekly.contains("rrule       = \"FREQ=WEEKLY\""));
    assert!(once.contains("start       = 1796486400"), "2026-12-06T01:00+09:00: {once}");
    assert!(once.contains("end         = 1796493600"));
}

#[test]
fn features_datadog_has_no_place_for_are_named_in_comments() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));

    assert!(out.contains("# Journey composite `create-shipment`"));
    assert!(out.contains("# min_events_per_hour (10) is not represented"));
}

#[test]
fn a_no_data_alert_becomes_a_query_alert_on_the_total_count() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));
    let block = resource_block(&out, "datadog_monitor", "create_shipment_availability_no_data");

    assert!(block.contains(
        "query   = \"sum(last_1h):sum:fulfillment.http_server_request_duration_seconds.count{journey:create-shipment}.as_count() < 1\""
    ), "{block}");
}

// ----- refusals -----

/// Asserts that generating `spec` fails for SLO `probe-slo` with `what` containing `needle`.
fn assert_refused(spec: &Spec, needle: &str) {
    let err = refused(spec);
    assert_eq!((err.service.as_str(), err.slo.as_str()), ("probe", "probe-slo"), "{err}");
    assert!(err.what.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn a_calendar_window_is_refused() {
    assert_refused(&one_slo("", "month", RATIO, NO_SLOW_TICKET), "the calendar window `month`");
}

#[test]
fn a_rolling_window_other_than_7d_30d_or_90d_is_refused() {
    assert_refused(&one_slo("", "14d", RATIO, NO_SLOW_TICKET), "the rolling window `14d`");
}

#[test]
fn a_burn_tier_with_a_long_window_over_48h_is_refused_by_name() {
    assert_refused(&one_slo("", "30d", RATIO, ""), "burn tier `slow-ticket` with long window 3d");
}

#[test]
fn a_burn_rate_no_error_rate_can_reach_is_refused() {
    let tiers = "        alerting:\n          tiers:\n            slow-ticket: { enabled: false }\n            fast-page: { burn_rate: 1001 }";
    assert_refused(&one_slo("", "30d", RATIO, tiers), "burn tier `fast-page` at burn rate 1001");
}

#[test]
fn a_short_window_that_is_not_whole_minutes_is_refused() {
    let tiers = "        alerting:\n          tiers:\n            slow-ticket: { enabled: false }\n            fast-page: { short_window: 90s }";
    assert_refused(&one_slo("", "30d", RATIO, tiers), "burn tier `fast-page` with short window");
}

#[test]
fn a_promql_sli_is_refused() {
    let sli = "          promql:\n            bad: sum(rate(x_total[{{.window}}]))\n            total: sum(rate(y_total[{{.window}}]))";
    assert_refused(&one_slo("", "30d", sli, NO_SLOW_TICKET), "a `promql` SLI");
}

#[test]
fn a_regex_that_is_not_literal_alternatives_is_refused() {
    let sli = ratio_with(r#"probe_events_total{kind="a", outcome=~"ok.*"}"#);
    assert_refused(&one_slo("", "30d", &sli, NO_SLOW_TICKET), r#"the matcher `outcome=~"ok.*"`"#);
}

#[test]
fn a_status_class_on_a_label_that_is_not_a_status_code_is_refused() {
    let sli = ratio_with(r#"probe_events_total{kind="a", outcome=~"5.."}"#);
    assert_refused(&one_slo("", "30d", &sli, NO_SLOW_TICKET), r#"the matcher `outcome=~"5.."`"#);
}

#[test]
fn a_label_value_that_is_not_a_datadog_tag_value_is_refused() {
    let sli = ratio_with(r#"probe_events_total{kind="a", outcome="Timed Out"}"#);
    assert_refused(&one_slo("", "30d", &sli, NO_SLOW_TICKET), "is not a Datadog tag value");
}

#[test]
fn an_uppercase_label_name_is_refused() {
    let sli = ratio_with(r#"probe_events_total{kind="a", Zone="eu"}"#);
    assert_refused(&one_slo("", "30d", &sli, NO_SLOW_TICKET), "`Zone` is not a Datadog tag key");
}

#[test]
fn an_empty_label_value_is_refused() {
    let sli = ratio_with(r#"probe_events_total{kind="a", outcome=""}"#);
    assert_refused(&one_slo("", "30d", &sli, NO_SLOW_TICKET), "an empty value matches a missing label");
}

#[test]
fn a_time_slice_other_than_1m_or_5m_is_refused() {
    let extra = format!("        budgeting:\n          timeslices: {{ slice: 2m, target: 95 }}\n{NO_SLOW_TICKET}");
    assert_refused(&one_slo("", "30d", RATIO, &extra), "time slices of 2m");
}

#[test]
fn an_objective_with_more_than_three_decimals_is_refused() {
    let yaml = one_slo_yaml("", "30d", RATIO, NO_SLOW_TICKET).replace("objective: 99.9", "objective: 99.9995");
    assert_refused(&load_yaml(&yaml), "the objective 99.9995%");
}

#[test]
fn a_threshold_the_agent_writes_in_exponent_notation_is_refused() {
    let sli =
        "          latency:\n            histogram: probe_duration_seconds{kind=\"a\"}\n            threshold: 0.00005";
    assert_refused(&one_slo("", "30d", sli, NO_SLOW_TICKET), "the threshold 0.00005s");
}

#[test]
fn weekly_maintenance_in_a_zone_with_daylight_saving_time_is_refused() {
    let top = "maintenance:\n  - name: nightly\n    weekly: { on: saturday, at: \"23:30\", for: 90m }";
    let yaml = one_slo_yaml(top, "30d", RATIO, NO_SLOW_TICKET).replace("time_zone: UTC", "time_zone: Europe/Berlin");
    assert_refused(&load_yaml(&yaml), "the weekly maintenance `nightly` (Europe/Berlin has daylight saving time");
}

#[test]
fn two_services_with_the_same_slo_id_are_refused() {
    let a = one_slo("", "30d", RATIO, NO_SLOW_TICKET);
    let b = Spec { service: "other".to_string(), ..a.clone() };

    let err = datadog::generate(&[a, b]).expect_err("the Terraform names collide");

    assert_eq!((err.service.as_str(), err.slo.as_str()), ("other", "probe-slo"));
    assert!(err.what.contains("already used by probe/probe-slo"), "{err}");
}

// ----- helpers reading the generated HCL -----

/// The names of every `resource "<kind>" "<name>"`.
fn resources(hcl: &str, kind: &str) -> BTreeSet<String> {
    let prefix = format!("resource \"{kind}\" \"");
    hcl.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// Every `<prefix><name>.id` reference.
fn references(hcl: &str, prefix: &str) -> BTreeSet<String> {
    hcl.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &hcl[i + prefix.len()..];
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or_default().to_string()
        })
        .collect()
}

/// The text of one top-level resource block.
fn resource_block<'a>(hcl: &'a str, kind: &str, name: &str) -> &'a str {
    let start = hcl
        .find(&format!("resource \"{kind}\" \"{name}\" {{"))
        .unwrap_or_else(|| panic!("resource {kind}.{name} is generated"));
    let end = hcl[start..].find("\n}\n").map_or(hcl.len(), |e| start + e + 3);
    &hcl[start..end]
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks HCL's nesting: braces, brackets and parentheses balance outside strings and
/// comments; strings close on their line (with `${...}` interpolations balanced inside);
/// heredocs end with their marker.
fn check_balanced(hcl: &str) -> Result<(), String> {
    let mut stack: Vec<char> = Vec::new();
    let mut lines = hcl.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '#' => break,
                '"' => {
                    let mut depth = 0;
                    loop {
                        match chars.next() {
                            None => return Err(format!("line {}: unterminated string", n + 1)),
                            Some('\\') => {
                                chars.next();
                            }
                            Some('$') if chars.peek() == Some(&'{') => {
                                chars.next();
                                depth += 1;
                            }
                            Some('}') if depth > 0 => depth -= 1,
                            Some('"') if depth == 0 => break,
                            Some(_) => {}
                        }
                    }
                }
                '<' if line.contains("<<") => {
                    let marker = line.rsplit("<<").next().unwrap_or_default().trim_start_matches('-').trim();
                    if !is_identifier(marker) {
                        return Err(format!("line {}: heredoc without a marker", n + 1));
                    }
                    if !lines.by_ref().any(|(_, l)| l.trim() == marker) {
                        return Err(format!("line {}: heredoc `{marker}` never ends", n + 1));
                    }
                    break;
                }
                '{' | '[' | '(' => stack.push(c),
                '}' | ']' | ')' => {
                    let open = stack.pop().ok_or_else(|| format!("line {}: `{c}` closes nothing", n + 1))?;
                    if !matches!((open, c), ('{', '}') | ('[', ']') | ('(', ')')) {
                        return Err(format!("line {}: `{open}` closed by `{c}`", n + 1));
                    }
                }
                _ => {}
            }
        }
    }
    if stack.is_empty() { Ok(()) } else { Err(format!("unclosed {stack:?} at the end")) }
}

#[test]
fn the_balance_check_catches_what_it_should() {
    assert!(check_balanced("a {\n  b = \"x\"\n}\n").is_ok());
    assert!(check_balanced("a {\n  b = \"${x.y}\"\n").is_err(), "unclosed brace");
    assert!(check_balanced("a {\n  b = \"x\n}\n").is_err(), "unterminated string");
    assert!(check_balanced("a {\n  b = <<-EOT\n  {\n}\n").is_err(), "heredoc never ends");
    assert!(check_balanced("a [\n}\n").is_err(), "mismatched");
}

#[test]
fn maintenance_windows_mute_the_services_generated_monitors() {
    let out = generated(&load("slo/tests/fixtures/datadog/fulfillment-30d.yaml"));
    let weekly = resource_block(&out, "datadog_downtime_schedule", "fulfillment_weekly_db_maintenance");

    assert!(weekly.contains(r#"monitor_tags = ["managed_by:kura-slo", "service:fulfillment"]"#), "{weekly}");
    assert!(weekly.contains(r#"rrule    = "FREQ=WEEKLY;BYDAY=SU""#));
    assert!(weekly.contains(r#"start    = "2025-01-05T02:00:00""#), "local time, recurring in the zone");
    assert!(weekly.contains(r#"timezone = "Asia/Tokyo""#));
    let monitors = resources(&out, "datadog_monitor");
    assert_eq!(out.matches("\"managed_by:kura-slo\", ").count(), monitors.len() + 2, "every monitor carries the tag");
}

/// `terraform fmt -check` parses the HCL and checks its layout; it needs no provider, so it
/// runs wherever the `terraform` binary is installed (and says so when it is not).
#[test]
fn terraform_fmt_accepts_the_output_as_it_is() {
    let Ok(version) = std::process::Command::new("terraform").arg("version").output() else {
        eprintln!("terraform is not installed: HCL checked by the balance check only");
        return;
    };
    assert!(version.status.success());
    for path in fixtures("datadog") {
        let dir = std::env::temp_dir().join(format!("kura-slo-tf-{}-{}", std::process::id(), path.len()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        std::fs::write(dir.join("main.tf"), generated(&load(&path))).expect("the file is written");

        let fmt = std::process::Command::new("terraform")
            .args(["fmt", "-check", "-diff", "-no-color"])
            .arg(&dir)
            .output()
            .expect("terraform runs");

        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            fmt.status.success(),
            "{path}: terraform fmt -check failed:\n{}{}",
            String::from_utf8_lossy(&fmt.stdout),
            String::from_utf8_lossy(&fmt.stderr)
        );
    }
}
