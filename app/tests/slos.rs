//! The service's SLO file (`app/slos/`) and the journeys the service declares agree: every
//! journey an SLO measures is served by a route or job, every served journey has an SLO, and
//! every SLI selects on a journey label the service really emits.

use std::collections::BTreeSet;
use std::path::Path;

use fulfillment::journeys::{ALL, JOBS, ROUTES};
use slo::spec::{self, Sli};

fn specs() -> Vec<spec::Spec> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("slos");
    spec::load_paths(&[dir]).unwrap_or_else(|d| panic!("app/slos does not lint:\n{d}"))
}

/// Journeys served by a route or a job (never `none`).
fn served() -> BTreeSet<&'static str> {
    let routes = ROUTES.0.iter().map(|(_, _, j)| j.name());
    let jobs = JOBS.iter().map(|(_, j)| j.name());
    routes.chain(jobs).filter(|j| *j != "none").collect()
}

#[test]
fn every_journey_in_the_slo_file_is_served_by_the_service_and_vice_versa() {
    let specs = specs();
    let in_slos: BTreeSet<&str> = specs
        .iter()
        .filter(|s| s.service == "fulfillment")
        .flat_map(|s| &s.journeys)
        .map(|j| j.name.as_str())
        .collect();
    let served = served();
    let missing_slo: Vec<_> = served.difference(&in_slos).collect();
    let not_served: Vec<_> = in_slos.difference(&served).collect();
    assert!(missing_slo.is_empty(), "journeys the service serves without an SLO: {missing_slo:?}");
    assert!(not_served.is_empty(), "journeys in app/slos the service does not serve: {not_served:?}");
}

#[test]
fn every_sli_selects_its_own_journey_label() {
    for spec in specs() {
        for slo in spec.slos() {
            let selectors = match &slo.sli {
                Sli::Ratio { numerator, total, .. } => vec![numerator, total],
                Sli::Latency { histogram, .. } | Sli::Freshness { histogram, .. } => vec![histogram],
                Sli::Promql { .. } => panic!("{}: the fulfillment SLOs are structured, not raw PromQL", slo.id),
            };
            for s in selectors {
                assert_eq!(s.equal("journey"), Some(slo.journey.as_str()), "{} selects `{s}`", slo.id);
            }
        }
    }
}

#[test]
fn a_journey_is_slow_past_its_latency_slo_threshold_so_slow_requests_keep_their_traces() {
    for spec in specs() {
        for slo in spec.slos() {
            let Sli::Latency { threshold, .. } = &slo.sli else { continue };
            let journey = ALL.iter().find(|j| j.name() == slo.journey).expect("a declared journey");
            let declared = journey.slow_threshold().map(|d| d.as_secs_f64());
            assert_eq!(declared, Some(threshold.as_f64()), "{}: the journey's slow threshold is the SLO's", slo.id);
        }
    }
}
