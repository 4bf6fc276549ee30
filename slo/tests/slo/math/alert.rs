//! Burn-rate tiers: the SRE Workbook's table, scaling to other windows, exact thresholds,
//! firing rules and detection times.

use proptest::prelude::*;
use rust_decimal::Decimal;
use slo::math::{BurnTier, Counts, Severity, burn_rate_consuming, default_tiers, detection_time};

use super::{days, hours, mins, objective, secs};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn rates(tiers: &[BurnTier]) -> Vec<String> {
    tiers.iter().map(|t| t.burn_rate.to_string()).collect()
}

#[test]
fn thirty_day_tiers_are_the_workbook_table() {
    // SRE Workbook, "Alerting on SLOs", recommended parameters for a 30-day SLO.
    let tiers = default_tiers(days(30));

    let rows: Vec<_> = tiers.iter().map(|t| (t.severity, t.long_window, t.short_window, t.burn_rate)).collect();
    assert_eq!(
        rows,
        vec![
            (Severity::Page, hours(1), mins(5), dec("14.4")),
            (Severity::Page, hours(6), mins(30), dec("6")),
            (Severity::Ticket, hours(24), hours(2), dec("3")),
            (Severity::Ticket, hours(72), hours(6), dec("1")),
        ]
    );
    assert_eq!(rates(&tiers), ["14.4", "6", "3", "1"]);
}

#[test]
fn twenty_eight_day_tiers_keep_the_budget_fractions() {
    // 28 d = 672 h: 0.02 × 672 / 1 = 13.44, 0.05 × 672 / 6 = 5.6, 0.1 × 672 / 24 = 2.8,
    // 0.1 × 672 / 72 = 0.93333… → 0.9333.
    assert_eq!(rates(&default_tiers(days(28))), ["13.44", "5.6", "2.8", "0.9333"]);
}

#[test]
fn other_windows_scale_the_same_way() {
    // 7 d = 168 h: 3.36, 1.4, 0.7, 0.2333… ; 90 d = 2160 h: 43.2, 18, 9, 3;
    // 31 d = 744 h: 14.88, 6.2, 3.1, 1.0333….
    assert_eq!(rates(&default_tiers(days(7))), ["3.36", "1.4", "0.7", "0.2333"]);
    assert_eq!(rates(&default_tiers(days(90))), ["43.2", "18", "9", "3"]);
    assert_eq!(rates(&default_tiers(days(31))), ["14.88", "6.2", "3.1", "1.0333"]);
}

#[test]
fn each_tier_spends_its_share_of_the_budget_in_its_long_window() {
    let shares: Vec<String> = default_tiers(days(30))
        .iter()
        .map(|t| t.budget_consumed(days(30)).expect("positive window").to_string())
        .collect();
    assert_eq!(shares, ["0.02", "0.05", "0.1", "0.1"]);
}

#[test]
fn the_fast_page_threshold_at_99_9_is_exactly_0_0144() {
    let fast = &default_tiers(days(30))[0];

    assert_eq!(fast.error_ratio_threshold(&objective("99.9")).to_string(), "0.0144");
    assert_eq!(fast.threshold_f64(&objective("99.9")), 0.0144);
}

#[test]
fn thresholds_are_exact_for_every_default_tier() {
    // 99.95 %: budget 0.0005. × 14.4, 6, 3, 1 = 0.0072, 0.003, 0.0015, 0.0005.
    let thresholds: Vec<String> =
        default_tiers(days(30)).iter().map(|t| t.error_ratio_threshold(&objective("99.95")).to_string()).collect();
    assert_eq!(thresholds, ["0.0072", "0.003", "0.0015", "0.0005"]);
}

#[test]
fn a_tier_fires_only_when_both_windows_exceed_the_threshold() {
    let fast = &default_tiers(days(30))[0];
    let o = objective("99.9");

    assert!(fast.fires(0.02, 0.02, &o));
    assert!(!fast.fires(0.02, 0.01, &o), "short window below");
    assert!(!fast.fires(0.01, 0.02, &o), "long window below");
    assert!(!fast.fires(0.0144, 0.5, &o), "equal is not above");
}

#[test]
fn a_tier_fires_on_counts_with_the_same_rule() {
    let fast = &default_tiers(days(30))[0];
    let o = objective("99.9");
    // 144 of 10,000 is exactly 0.0144; 145 is above.
    let at = Counts::new(10_000 - 144, 10_000);
    let above = Counts::new(10_000 - 145, 10_000);

    assert!(fast.fires_on(above, above, &o));
    assert!(!fast.fires_on(at, above, &o));
    assert!(!fast.fires_on(above, at, &o));
    assert!(!fast.fires_on(above, Counts::ZERO, &o), "no traffic in the short window");
}

#[test]
fn severities_print_as_alert_labels() {
    assert_eq!(Severity::Page.to_string(), "page");
    assert_eq!(Severity::Ticket.to_string(), "ticket");
}

#[test]
fn a_full_outage_trips_the_fast_page_in_0_864_minutes() {
    // Workbook: (1 − SLO) / error ratio × window × burn rate = 0.001 / 1 × 60 min × 14.4.
    let fast = &default_tiers(days(30))[0];

    assert_eq!(detection_time(fast, 1.0, &objective("99.9")), Some(secs(51) + slo_ms(840)));
}

#[test]
fn full_outage_detection_times_for_every_tier() {
    // 0.001 × 6 × 6 h = 2.16 min; 0.001 × 3 × 24 h = 4.32 min; 0.001 × 1 × 72 h = 4.32 min.
    let times: Vec<_> = default_tiers(days(30)).iter().map(|t| detection_time(t, 1.0, &objective("99.9"))).collect();

    assert_eq!(times[1], Some(secs(129) + slo_ms(600)));
    assert_eq!(times[2], Some(secs(259) + slo_ms(200)));
    assert_eq!(times[3], Some(secs(259) + slo_ms(200)));
}

#[test]
fn a_35x_burn_trips_the_fast_page_in_under_25_minutes() {
    // 0.001 × 14.4 × 3600 s / 0.035 = 51.84 / 0.035 s = 1481.142857… s.
    let fast = &default_tiers(days(30))[0];
    let t = detection_time(fast, 0.035, &objective("99.9")).expect("35 > 14.4");

    assert!((t.as_secs_f64() - 1481.142857142857).abs() < 1e-6, "{t:?}");
}

#[test]
fn an_error_ratio_at_or_below_the_threshold_is_never_detected() {
    let fast = &default_tiers(days(30))[0];

    assert_eq!(detection_time(fast, 0.0144, &objective("99.9")), None);
    assert_eq!(detection_time(fast, 0.01, &objective("99.9")), None);
    assert_eq!(detection_time(fast, 1.5, &objective("99.9")), None, "not a ratio");
}

#[test]
fn a_burn_rate_for_a_budget_share_is_exact_when_it_terminates() {
    // 0.02 × 30 d / 45 s = 0.02 × 57,600 = 1152.
    assert_eq!(burn_rate_consuming(dec("0.02"), days(30), secs(45)), Some(dec("1152")));
    // 0.02 × 1 h / 32 h = 0.000625: exact, so more than four decimals are kept.
    assert_eq!(burn_rate_consuming(dec("0.02"), hours(1), hours(32)).map(|d| d.to_string()), Some("0.000625".into()));
    assert_eq!(burn_rate_consuming(dec("0.02"), days(30), secs(0)), None);
}

fn slo_ms(ms: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_millis(ms)
}

proptest! {
    #[test]
    fn tier_factors_scale_linearly_with_window_length(base in 1i64..200, k in 1i64..50) {
        // Windows in multiples of 72 h keep every factor exact (72 is a multiple of 1, 6 and 24),
        // so multiplying the window multiplies each factor exactly.
        let small = default_tiers(hours(72 * base));
        let large = default_tiers(hours(72 * base * k));

        for (s, l) in small.iter().zip(&large) {
            prop_assert_eq!(l.burn_rate, s.burn_rate * Decimal::from(k));
        }
    }

    #[test]
    fn tier_factors_are_the_budget_share_times_window_over_long_window(window_minutes in 60i64..(400 * 1440)) {
        // Independently in floating point: f × W / L, which the decimal may differ from only by
        // the rounding to four decimals.
        let shares = [0.02, 0.05, 0.1, 0.1];
        let longs = [60.0, 360.0, 1440.0, 4320.0];
        for ((tier, share), long) in default_tiers(mins(window_minutes)).iter().zip(shares).zip(longs) {
            let expected = share * window_minutes as f64 / long;
            let actual: f64 = tier.burn_rate.to_string().parse().expect("decimal");
            prop_assert!((actual - expected).abs() <= 0.00005 + 1e-12 * expected, "{} vs {}", actual, expected);
        }
    }

    #[test]
    fn a_threshold_is_burn_rate_times_budget_exactly(mantissa in 1i64..100_000) {
        // percent = m / 1000; budget = (100,000 − m) / 100,000; 14.4 × budget in integers.
        let o = slo::math::Objective::from_percent(Decimal::new(mantissa, 3)).expect("in range");
        let fast = &default_tiers(days(30))[0];
        let expected = Decimal::new(144 * (100_000 - mantissa), 6);
        prop_assert_eq!(fast.error_ratio_threshold(&o), expected.normalize());
    }
}
