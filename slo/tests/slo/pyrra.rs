//! Pyrra `ServiceLevelObjective` CRDs: ratio, latency and bool-gauge indicators imported (one
//! spec per namespace), each importing, linting, generating and passing `promtool check
//! rules`; `grouping`, native latency and other formats refused with their place and reason.

use std::path::Path;

use jiff::SignedDuration;
use slo::import::{self, ImportError};
use slo::math::Window;
use slo::spec::{Counting, Selector, Sli, Spec};

use crate::support::{assert_imported_specs_are_usable, crate_dir};

fn import_fixture(name: &str) -> Result<Vec<Spec>, ImportError> {
    let text = std::fs::read_to_string(crate_dir().join("tests/fixtures/pyrra").join(name)).expect("fixture exists");
    import::pyrra::import(Path::new(&format!("pyrra/{name}")), &text)
}

fn import_text(text: &str) -> Result<Vec<Spec>, ImportError> {
    import::pyrra::import(Path::new("pyrra.yaml"), text)
}

fn objectives() -> Spec {
    let mut specs = import_fixture("objectives.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(specs.len(), 1, "one namespace, one spec");
    specs.remove(0)
}

#[test]
fn a_ratio_objective_becomes_a_bad_ratio_in_its_namespace_with_pyrra_labels_on_the_slo() {
    let spec = objectives();
    assert_eq!(spec.service, "storefront", "the namespace names the service");
    let slo = spec.slo("api-errors").expect("the ratio SLO");
    assert_eq!(slo.journey, "browse");
    assert_eq!(slo.objective.to_string(), "99.5");
    assert_eq!(slo.window, Window::Rolling(SignedDuration::from_hours(24 * 28)), "4w");
    assert_eq!(
        slo.sli,
        Sli::Ratio {
            counting: Counting::Bad,
            numerator: Selector::parse(r#"http_requests_total{job="storefront-api", code=~"5.."}"#).expect("selector"),
            total: Selector::parse(r#"http_requests_total{job="storefront-api"}"#).expect("selector"),
        }
    );
    let labels: Vec<(&str, &str)> = slo.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(labels, [("team", "web")], "pyrra.dev/ labels only; Kubernetes ones select the object");
    assert_eq!(slo.alerting.route.name.as_deref(), Some("StorefrontApiErrors"));
    assert_eq!(slo.alerting.tiers.len(), 4);
    assert_eq!(slo.alerting.no_data, Some(SignedDuration::from_mins(10)), "Pyrra's absent alert is on by default");
}

#[test]
fn a_latency_objective_becomes_a_latency_sli_at_its_bucket() {
    let spec = objectives();
    let slo = spec.slo("api-latency").expect("the latency SLO");
    match &slo.sli {
        Sli::Latency { histogram, threshold } => {
            assert_eq!(histogram.to_string(), r#"http_request_duration_seconds{job="storefront-api"}"#);
            assert_eq!(threshold.seconds.to_string(), "0.25");
        }
        other => panic!("expected latency, got {other:?}"),
    }
    assert_eq!(slo.window, Window::Rolling(SignedDuration::from_hours(24 * 14)));
    assert_eq!(slo.alerting.no_data, None, "absent: false");
}

#[test]
fn a_bool_gauge_counts_each_zero_sample_as_a_bad_event() {
    let spec = objectives();
    let slo = spec.slo("probe-up").expect("the bool-gauge SLO");
    let m = r#"probe_success{job="blackbox", instance="https://shop.example.com"}"#;
    assert_eq!(
        slo.sli,
        Sli::Promql {
            counting: Counting::Bad,
            numerator: format!("sum(count_over_time({m}[{{{{.window}}}}])) - sum(sum_over_time({m}[{{{{.window}}}}]))"),
            total: format!("sum(count_over_time({m}[{{{{.window}}}}]))"),
        }
    );
    assert!(slo.alerting.tiers.is_empty(), "burnrates: false");
    assert_eq!(slo.journey, "storefront", "without a journey label the journey is the service");
}

#[test]
fn every_supported_pyrra_shape_imports_lints_generates_and_passes_promtool() {
    assert_imported_specs_are_usable("pyrra-objectives", &[objectives()]);
}

#[test]
fn grouping_is_refused_with_the_reason_and_its_place() {
    let e = import_fixture("grouping.yaml").expect_err("grouping cannot be imported");
    assert_eq!(
        e.to_string(),
        "pyrra/grouping.yaml:16:7: `grouping` by `handler` cannot be represented in a Kura spec: Pyrra makes one \
         objective per value of the grouping labels, found at run time, and a spec file cannot know the values; \
         write one SLO per value with a matcher on the label instead"
    );
}

#[test]
fn a_native_latency_indicator_is_refused() {
    let text = "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  name: x\nspec:\n  target: \
                \"99\"\n  window: 2w\n  indicator:\n    latencyNative:\n      latency: 1s\n      total:\n        metric: \
                h\n";
    let e = import_text(text).expect_err("native histograms");
    assert_eq!(
        e.to_string(),
        "pyrra.yaml:9:5: `indicator.latencyNative` cannot be represented in a Kura spec: native histograms have no \
         `le` buckets for a Kura latency SLI"
    );
}

#[test]
fn a_sloth_crd_given_to_the_pyrra_importer_points_to_the_sloth_importer() {
    let text = "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nspec: {}\n";
    let e = import_text(text).expect_err("not Pyrra");
    assert_eq!(
        e.to_string(),
        "pyrra.yaml:1:13: `apiVersion: sloth.slok.dev/v1`, `kind: PrometheusServiceLevel` cannot be represented in a \
         Kura spec: this is a Sloth spec: use `slo import sloth`"
    );
}

#[test]
fn an_objective_declared_twice_in_a_namespace_is_refused_at_the_second() {
    let doc = "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata:\n  name: x\nspec:\n  target: \
               \"99\"\n  window: 2w\n  indicator:\n    ratio:\n      errors:\n        metric: a_total{c=\"5\"}\n      \
               total:\n        metric: a_total\n";
    let e = import_text(&format!("{doc}---\n{doc}")).expect_err("twice");
    assert_eq!(e.to_string(), "pyrra.yaml:18:9: ServiceLevelObjective `x` is declared twice in namespace `default`");
}
