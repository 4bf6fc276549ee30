//! Budget status (occurrences and timeslices), burn rate, time to exhaustion, minimum traffic,
//! composite SLIs.

use jiff::SignedDuration;
use proptest::prelude::*;
use rust_decimal::Decimal;
use slo::math::{
    Budget, BudgetUnit, Objective, WindowSums, allowed_downtime, burn_rate, composite_sli, sufficient_data,
    time_to_exhaustion,
};

use super::{days, hours, mins, objective, secs};

/// Objectives with up to three decimals (99.9, 99.95, 97.125, …).
fn objectives() -> impl Strategy<Value = Objective> {
    (1i64..100_000).prop_map(|m| Objective::from_percent(Decimal::new(m, 3)).expect("in (0, 100)"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn six_hundred_bad_events_of_a_thousand_allowed_leave_forty_percent() {
    // 99.9 % of 1,000,000 events: 1,000 may be bad; 600 were.
    let s = Budget::from_events(&objective("99.9"), 999_400.0, 1_000_000.0);

    assert_eq!(s.unit, BudgetUnit::Events);
    assert_eq!(s.sli, Some(0.9994));
    assert_eq!(s.allowed_bad, 1_000.0);
    assert_eq!(s.consumed_bad, 600.0);
    assert_eq!(s.remaining_bad, 400.0);
    assert!(close(s.consumed_fraction, 0.6), "{}", s.consumed_fraction);
    assert!(close(s.remaining_fraction, 0.4), "{}", s.remaining_fraction);
    assert!(!s.is_exhausted());
}

#[test]
fn an_overspent_budget_goes_negative() {
    // 2,000 bad events against an allowance of 1,000: twice the budget.
    let s = Budget::from_events(&objective("99.9"), 998_000.0, 1_000_000.0);

    assert_eq!(s.remaining_bad, -1_000.0);
    assert!(close(s.remaining_fraction, -1.0), "{}", s.remaining_fraction);
    assert!(s.is_exhausted());
}

#[test]
fn without_traffic_the_whole_budget_remains() {
    let s = Budget::from_events(&objective("99.9"), 0.0, 0.0);

    assert_eq!(s.sli, None);
    assert_eq!(s.remaining_fraction, 1.0);
    assert_eq!(s.consumed_fraction, 0.0);
}

#[test]
fn a_thirty_day_timeslice_budget_at_99_9_is_43_point_2_minutes() {
    // 30 d = 43,200 one-minute slices; 0.1 % of 43,200 min = 43.2 min. Ten bad slices spent
    // 10 of them.
    let s = Budget::from_timeslices(&objective("99.9"), 43_190, 43_200, mins(1), days(30));

    assert_eq!(s.unit, BudgetUnit::Minutes);
    assert!(close(s.allowed_bad, 43.2), "{}", s.allowed_bad);
    assert_eq!(s.consumed_bad, 10.0);
    assert!(close(s.remaining_fraction, 33.2 / 43.2), "{}", s.remaining_fraction);
    assert!(close(s.sli.expect("slices"), 43_190.0 / 43_200.0));
}

#[test]
fn early_in_a_calendar_month_the_timeslice_budget_is_the_whole_months() {
    // One day into a 30-day month, 5 bad 5-minute slices: 25 of 43.2 minutes.
    let s = Budget::from_timeslices(&objective("99.9"), 283, 288, mins(5), days(30));

    assert_eq!(s.consumed_bad, 25.0);
    assert!(close(s.remaining_fraction, 1.0 - 25.0 / 43.2), "{}", s.remaining_fraction);
}

#[test]
fn the_allowed_downtime_is_exact() {
    // 0.001 × 30 d = 0.001 × 43,200 min = 43.2 min = 43 min 12 s.
    assert_eq!(allowed_downtime(&objective("99.9"), days(30)), mins(43) + secs(12));
    // 0.0005 × 28 d = 0.0005 × 40,320 min = 20.16 min = 20 min 9.6 s.
    assert_eq!(allowed_downtime(&objective("99.95"), days(28)), mins(20) + SignedDuration::from_millis(9_600));
}

#[test]
fn burn_rate_is_the_error_ratio_over_the_budget() {
    assert!(close(burn_rate(0.0144, &objective("99.9")), 14.4));
    assert!(close(burn_rate(0.001, &objective("99.9")), 1.0));
    assert!(close(burn_rate(1.0, &objective("99.95")), 2000.0));
}

#[test]
fn half_a_budget_at_twice_the_sustainable_rate_lasts_a_quarter_of_the_window() {
    // Burn rate 2 spends a whole budget in 15 of 30 days, so half a budget in 7.5 days.
    assert_eq!(time_to_exhaustion(0.5, 2.0, days(30)), Some(hours(180)));
}

#[test]
fn a_spent_budget_is_exhausted_now_and_a_budget_not_burning_never_is() {
    assert_eq!(time_to_exhaustion(0.0, 3.0, days(30)), Some(SignedDuration::ZERO));
    assert_eq!(time_to_exhaustion(-0.5, 3.0, days(30)), Some(SignedDuration::ZERO));
    assert_eq!(time_to_exhaustion(0.5, 0.0, days(30)), None);
    assert_eq!(time_to_exhaustion(0.5, -1.0, days(30)), None);
}

#[test]
fn too_little_traffic_is_not_enough_data() {
    // 60 events per hour over 2 hours needs 120.
    assert!(!sufficient_data(119.0, hours(2), Some(60.0)));
    assert!(sufficient_data(120.0, hours(2), Some(60.0)));
}

#[test]
fn without_a_minimum_any_traffic_is_enough_but_none_is_not() {
    assert!(sufficient_data(1.0, hours(2), None));
    assert!(!sufficient_data(0.0, hours(2), None));
    assert!(!sufficient_data(0.0, hours(2), Some(0.0)));
}

#[test]
fn a_composite_sli_is_the_weighted_mean_of_its_components() {
    // (3 × 0.999 + 1 × 0.99) / 4 = 3.987 / 4 = 0.99675.
    let sli = composite_sli(&[(0.999, 3.0), (0.99, 1.0)]).expect("valid components");
    assert!(close(sli, 0.99675), "{sli}");
}

#[test]
fn a_composite_needs_components_with_positive_weights() {
    assert_eq!(composite_sli(&[]), None);
    assert_eq!(composite_sli(&[(0.99, 0.0)]), None);
    assert_eq!(composite_sli(&[(0.99, 1.0), (0.98, -1.0)]), None);
    assert_eq!(composite_sli(&[(1.5, 1.0)]), None);
}

proptest! {
    #[test]
    fn remaining_budget_never_exceeds_one(o in objectives(), good in -10.0f64..1e9, total in -10.0f64..1e9) {
        let s = Budget::from_events(&o, good, total);
        prop_assert!(s.remaining_fraction <= 1.0);
        prop_assert!(s.consumed_bad >= 0.0);
    }

    #[test]
    fn consumed_and_remaining_add_up(o in objectives(), bad in 0u64..1_000_000, total in 1u64..1_000_000_000) {
        let bad = bad.min(total);
        let s = Budget::from_events(&o, (total - bad) as f64, total as f64);

        prop_assert!(close(s.consumed_fraction + s.remaining_fraction, 1.0));
        prop_assert!(close(s.consumed_bad + s.remaining_bad, s.allowed_bad));
        prop_assert!(close(s.allowed_bad, total as f64 * o.budget_f64()));
    }

    #[test]
    fn burning_at_rate_one_for_the_whole_window_spends_exactly_the_budget(
        o in objectives(),
        per_hour in 1u64..50,
    ) {
        // Each hour of a 30-day window carries 100,000 × k events (the budget has at most five
        // decimals, so budget × events is a whole number of bad events) at error ratio = budget.
        let events = 100_000 * per_hour;
        let bad = (Decimal::from(events) * o.budget()).normalize();
        prop_assert_eq!(bad.scale(), 0);
        let bad: u64 = bad.to_string().parse().expect("whole number");
        prop_assert!(close(burn_rate(bad as f64 / events as f64, &o), 1.0));

        let mut sums = WindowSums::new(days(30), hours(1)).expect("valid");
        for h in 0..(30 * 24) {
            sums.push(jiff::Timestamp::UNIX_EPOCH + hours(h), events - bad, events);
        }
        let s = sums.totals().budget(&o);

        prop_assert_eq!(s.consumed_fraction, 1.0);
        prop_assert_eq!(s.remaining_fraction, 0.0);
        prop_assert_eq!(s.remaining_bad, 0.0);
    }

    #[test]
    fn timeslices_and_occurrences_agree_when_traffic_is_uniform(
        o in objectives(),
        slices in 1u64..50_000,
        bad_slices in 0u64..50_000,
        per_slice in 1u64..10_000,
        slice_minutes in 1i64..60,
    ) {
        // Every slice carries the same traffic; a bad slice has only bad events. The window is
        // exactly the slices observed.
        let bad_slices = bad_slices.min(slices);
        let slice = mins(slice_minutes);
        let window = mins(slice_minutes * slices as i64);
        let total = slices * per_slice;
        let good = (slices - bad_slices) * per_slice;

        let by_events = Budget::from_events(&o, good as f64, total as f64);
        let by_time = Budget::from_timeslices(&o, slices - bad_slices, slices, slice, window);

        prop_assert!(close(by_events.sli.expect("traffic"), by_time.sli.expect("slices")));
        prop_assert!(close(by_events.remaining_fraction, by_time.remaining_fraction),
            "{} vs {}", by_events.remaining_fraction, by_time.remaining_fraction);
    }

    #[test]
    fn exhaustion_time_at_the_current_burn_is_remaining_over_burn(
        remaining in 0.001f64..1.0,
        burn in 0.01f64..1000.0,
    ) {
        let t = time_to_exhaustion(remaining, burn, days(30)).expect("burning");
        // Spending the rest at that rate takes remaining / burn windows.
        let expected = remaining / burn * days(30).as_secs_f64();
        prop_assert!((t.as_secs_f64() - expected).abs() < 1e-6 * expected.max(1.0));
    }
}
