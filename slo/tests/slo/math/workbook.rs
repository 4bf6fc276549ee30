//! Regression cases from the SRE Workbook's "Alerting on SLOs" chapter, replayed through the
//! simulator at 99.9 % with the default 30-day tiers: ten-second steps of 1,000 events, after
//! three days of clean traffic so every tier's windows start full.
//!
//! Expected times are worked out by hand from the tier table. The fast page (14.4× over 1 h
//! and 5 m) has threshold 14.4 × 0.001 = 0.0144; an hour is 360 steps and 5 minutes 30 steps.

use jiff::SignedDuration;
use slo::math::sim::{Firing, Simulation};
use slo::math::{Severity, default_tiers, detection_time};

use super::{days, mins, objective, secs};

const STEP: SignedDuration = SignedDuration::from_secs(10);

/// When the incident starts: after three clean days.
fn incident_start() -> SignedDuration {
    days(3)
}

fn simulate(duration: SignedDuration, error_ratio: impl Fn(SignedDuration) -> f64) -> Vec<Firing> {
    Simulation::new(objective("99.9"), default_tiers(days(30)), STEP, 1_000)
        .run(duration, error_ratio)
        .expect("valid simulation")
}

fn pages(firings: &[Firing]) -> Vec<Firing> {
    firings.iter().filter(|f| f.severity == Severity::Page).copied().collect()
}

/// Errors at `ratio` from the incident start for `length`, none before or after.
fn incident(ratio: f64, length: SignedDuration) -> impl Fn(SignedDuration) -> f64 {
    move |t| if t >= incident_start() && t < incident_start() + length { ratio } else { 0.0 }
}

#[test]
fn a_full_outage_pages_within_the_workbooks_detection_time() {
    // After n steps of 100 % errors the 1 h ratio is n / 360 and the 5 m ratio n / 30: both
    // exceed 0.0144 once n > 5.184, so at n = 6, 60 s in — the first step after the Workbook's
    // 0.864 minutes (51.84 s).
    let firings = simulate(incident_start() + mins(10), incident(1.0, mins(10)));

    let first = pages(&firings).first().copied().expect("a full outage pages");
    assert_eq!(first.tier, 0, "the fast page fires first");
    let after = first.start - incident_start();
    let predicted = detection_time(&default_tiers(days(30))[0], 1.0, &objective("99.9")).expect("fires");
    assert!(after >= predicted && after < predicted + STEP, "paged {after:?} after the start");
    assert_eq!(after, secs(60));
}

#[test]
fn a_35x_burn_is_caught_by_a_page() {
    // 3.5 % errors burn the budget 35 times too fast. Fast page: 0.035 × n / 360 > 0.0144 once
    // n > 148.1, so at n = 149 steps (24 min 50 s). The 6 h tier needs 0.035 × n / 2160 > 0.006,
    // n > 370.3: later.
    let firings = simulate(incident_start() + mins(40), incident(0.035, mins(40)));

    let first = pages(&firings).first().copied().expect("a 35x burn pages");
    assert_eq!(first.tier, 0);
    assert_eq!(first.start - incident_start(), secs(1490));
}

#[test]
fn ten_minutes_of_15_percent_errors_page_and_stop_within_five_minutes_of_recovery() {
    // The 1 h ratio peaks at 0.15 × 60 / 360 = 0.025 > 0.0144: the fast page fires. After
    // recovery the 5 m window holds 30 − m bad steps after m clean ones, a ratio of
    // 0.15 × (30 − m) / 30, at most 0.0144 once m ≥ 28: the page stops 280 s after recovery.
    let recovery = incident_start() + mins(10);
    let firings = simulate(recovery + mins(30), incident(0.15, mins(10)));

    let pages = pages(&firings);
    assert!(!pages.is_empty(), "the incident pages");
    for page in &pages {
        assert!(page.start > incident_start() && page.start <= recovery, "{page:?}");
        let end = page.end.expect("the page stops");
        assert!(end <= recovery + mins(5), "{page:?} still firing 5 minutes after recovery");
    }
    assert_eq!(pages.iter().filter_map(|p| p.end).max(), Some(recovery + secs(280)));
}

#[test]
fn a_thirty_second_blip_does_not_page() {
    // 3 steps of 100 % errors: 3 / 360 = 0.0083 over the hour, below 0.0144; over 6 h,
    // 3 / 2160 = 0.0014 < 0.006. The ticket tiers (0.003 over 1 d, 0.001 over 3 d) are further
    // away still: nothing fires at all.
    let firings = simulate(incident_start() + mins(60), incident(1.0, secs(30)));

    assert_eq!(firings, vec![]);
}

#[test]
fn a_one_minute_full_outage_does_page() {
    // The counterpart of the blip: 6 steps, 6 / 360 = 0.0167 > 0.0144 (and more than the
    // Workbook's 0.864 minutes of full outage).
    let firings = simulate(incident_start() + mins(60), incident(1.0, mins(1)));

    assert_eq!(pages(&firings).len(), 1);
}

#[test]
fn errors_at_exactly_the_sustainable_rate_never_alert() {
    // Error ratio 0.001 is burn rate 1: the slowest ticket needs strictly more than 1.
    let firings = simulate(incident_start() + days(1), |_| 0.001);

    assert_eq!(firings, vec![]);
}

#[test]
fn a_slow_burn_opens_a_ticket_but_does_not_page() {
    // 0.5 % errors (burn rate 5) is below both page thresholds (0.0144 and 0.006) and above the
    // 1 d / 2 h ticket's 0.003.
    let firings = simulate(incident_start() + days(1), incident(0.005, days(1)));

    assert!(pages(&firings).is_empty(), "{firings:?}");
    assert!(firings.iter().any(|f| f.severity == Severity::Ticket), "{firings:?}");
}
