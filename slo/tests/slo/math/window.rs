//! Windows and durations: rolling and calendar bounds (time zones, DST, leap years, weeks
//! from Monday), Prometheus durations.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use slo::math::{CalendarPeriod, DurationError, Window, WindowError, format_duration, parse_duration};

use super::{days, hours, mins, secs, ts};

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn calendar(period: CalendarPeriod, name: &str) -> Window {
    Window::Calendar { period, time_zone: zone(name) }
}

fn month(name: &str) -> Window {
    calendar(CalendarPeriod::Month, name)
}

// ---- durations -------------------------------------------------------------------------

#[test]
fn prometheus_durations_parse_in_every_unit() {
    assert_eq!(parse_duration("5m"), Ok(mins(5)));
    assert_eq!(parse_duration("6h"), Ok(hours(6)));
    assert_eq!(parse_duration("28d"), Ok(days(28)));
    assert_eq!(parse_duration("1w"), Ok(days(7)));
    assert_eq!(parse_duration("30s"), Ok(secs(30)));
    assert_eq!(parse_duration("250ms"), Ok(SignedDuration::from_millis(250)));
    assert_eq!(parse_duration("1y"), Ok(days(365)));
    assert_eq!(parse_duration("1h30m"), Ok(mins(90)));
    assert_eq!(parse_duration("1w2d"), Ok(days(9)));
    assert_eq!(parse_duration("0"), Ok(SignedDuration::ZERO));
}

#[test]
fn durations_format_the_way_prometheus_rules_write_them() {
    assert_eq!(format_duration(mins(5)), "5m");
    assert_eq!(format_duration(hours(1)), "1h");
    assert_eq!(format_duration(days(3)), "3d");
    assert_eq!(format_duration(mins(90)), "1h30m");
    assert_eq!(format_duration(days(28)), "28d");
    assert_eq!(format_duration(days(7)), "7d");
    assert_eq!(format_duration(SignedDuration::from_millis(1500)), "1s500ms");
    assert_eq!(format_duration(SignedDuration::ZERO), "0s");
}

#[test]
fn a_malformed_duration_is_rejected_with_the_reason() {
    assert_eq!(parse_duration("5 m"), Err(DurationError::MissingUnit("5".into())));
    assert_eq!(parse_duration("m5"), Err(DurationError::MissingNumber("m5".into())));
    assert_eq!(parse_duration("5M"), Err(DurationError::UnknownUnit("M".into())));
    assert_eq!(parse_duration("1.5h"), Err(DurationError::Fraction));
    assert_eq!(parse_duration("5m1h"), Err(DurationError::UnitOrder));
    assert!(parse_duration("5M").expect_err("invalid").to_string().contains("ms, s, m, h, d, w or y"));
}

proptest! {
    #[test]
    fn formatted_durations_parse_back(millis in 0i64..(400 * 24 * 3_600_000)) {
        let d = SignedDuration::from_millis(millis);
        prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }
}

// ---- rolling windows -------------------------------------------------------------------

#[test]
fn rolling_windows_parse_from_durations_and_print_back() {
    assert_eq!(Window::parse_rolling("28d"), Ok(Window::Rolling(days(28))));
    assert_eq!(Window::parse_rolling("30d").map(|w| w.to_string()), Ok("30d".into()));
    assert_eq!(Window::parse_rolling("1w").map(|w| w.to_string()), Ok("7d".into()));
    assert_eq!(Window::parse_rolling("6h"), Ok(Window::Rolling(hours(6))));
}

#[test]
fn a_rolling_window_must_be_longer_than_zero() {
    assert_eq!(Window::parse_rolling("0s"), Err(WindowError::NotPositive));
    assert_eq!(Window::parse_rolling("0"), Err(WindowError::NotPositive));
    assert!(matches!(Window::parse_rolling("month"), Err(WindowError::Duration(_))));
}

#[test]
fn a_rolling_window_ends_now_and_starts_its_length_earlier() {
    let now = ts("2026-03-08T12:00:00Z");
    let w = Window::Rolling(days(28));

    assert_eq!(w.bounds(now), (ts("2026-02-08T12:00:00Z"), now));
    assert_eq!(w.length(now), days(28));
}

#[test]
fn calendar_windows_print_their_period() {
    assert_eq!(calendar(CalendarPeriod::Week, "UTC").to_string(), "week");
    assert_eq!(month("UTC").to_string(), "month");
    assert_eq!(calendar(CalendarPeriod::Quarter, "UTC").to_string(), "quarter");
}

#[test]
fn a_window_spec_is_a_calendar_period_or_a_duration() {
    let tokyo = zone("Asia/Tokyo");
    assert_eq!(
        Window::parse("month", &tokyo),
        Ok(Window::Calendar { period: CalendarPeriod::Month, time_zone: tokyo.clone() })
    );
    assert_eq!(Window::parse("28d", &tokyo), Ok(Window::Rolling(days(28))));
    assert!(Window::parse("fortnight", &tokyo).is_err());
}

// ---- calendar months -------------------------------------------------------------------

#[test]
fn the_last_evening_of_january_in_utc_is_already_february_in_tokyo() {
    // Tokyo is UTC+9 all year: 2026-01-31T15:00Z is 2026-02-01 00:00 there.
    let (start, end) = month("Asia/Tokyo").bounds(ts("2026-01-31T15:00:00Z"));

    assert_eq!(start, ts("2026-01-31T15:00:00Z"));
    assert_eq!(end, ts("2026-02-28T15:00:00Z"));
}

#[test]
fn one_second_before_midnight_in_tokyo_is_still_january() {
    let (start, end) = month("Asia/Tokyo").bounds(ts("2026-01-31T14:59:59Z"));

    assert_eq!(start, ts("2025-12-31T15:00:00Z"));
    assert_eq!(end, ts("2026-01-31T15:00:00Z"));
}

#[test]
fn a_month_in_which_new_york_springs_forward_is_an_hour_short() {
    // DST starts 2026-03-08: March 1 is at UTC−5, April 1 at UTC−4.
    let w = month("America/New_York");
    let now = ts("2026-03-20T12:00:00Z");

    assert_eq!(w.bounds(now), (ts("2026-03-01T05:00:00Z"), ts("2026-04-01T04:00:00Z")));
    assert_eq!(w.length(now), days(31) - hours(1));
}

#[test]
fn a_month_in_which_new_york_falls_back_is_an_hour_long() {
    // DST ends 2026-11-01 at 02:00: November 1 starts at UTC−4, December 1 at UTC−5.
    let w = month("America/New_York");
    let now = ts("2026-11-15T12:00:00Z");

    assert_eq!(w.bounds(now), (ts("2026-11-01T04:00:00Z"), ts("2026-12-01T05:00:00Z")));
    assert_eq!(w.length(now), days(30) + hours(1));
}

#[test]
fn a_month_without_a_dst_change_in_new_york_is_whole_days() {
    assert_eq!(month("America/New_York").length(ts("2026-07-04T12:00:00Z")), days(31));
}

#[test]
fn february_has_29_days_in_leap_years_only() {
    let w = month("UTC");

    assert_eq!(w.length(ts("2024-02-10T00:00:00Z")), days(29));
    assert_eq!(w.length(ts("2025-02-10T00:00:00Z")), days(28));
    assert_eq!(w.length(ts("2000-02-10T00:00:00Z")), days(29), "divisible by 400");
    assert_eq!(w.length(ts("2100-02-10T00:00:00Z")), days(28), "divisible by 100, not 400");
}

#[test]
fn december_ends_at_the_new_year() {
    assert_eq!(
        month("UTC").bounds(ts("2026-12-31T23:59:59Z")),
        (ts("2026-12-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"))
    );
}

#[test]
fn a_month_that_starts_in_a_dst_gap_at_midnight_starts_when_the_clocks_jump() {
    // POSIX TZ: UTC−3, daylight time (UTC−2) from 1 February 00:00 (J32) to 1 November
    // 00:00 (J305). Local midnight on 1 February never happens: 23:59:59 −03 is followed by
    // 01:00 −02, at 2026-02-01T03:00Z.
    let w = Window::Calendar {
        period: CalendarPeriod::Month,
        time_zone: TimeZone::posix("<-03>3<-02>,J32/0,J305/0").expect("valid POSIX TZ"),
    };

    assert_eq!(w.bounds(ts("2026-02-10T00:00:00Z")).0, ts("2026-02-01T03:00:00Z"));
    assert_eq!(w.bounds(ts("2026-01-10T00:00:00Z")).1, ts("2026-02-01T03:00:00Z"));
    // October: from 1 October 00:00 −02 to 1 November 00:00 −03, one hour more than 31 days.
    assert_eq!(w.length(ts("2026-10-10T00:00:00Z")), days(31) + hours(1));
}

// ---- calendar quarters -----------------------------------------------------------------

#[test]
fn quarters_start_in_january_april_july_and_october() {
    let w = calendar(CalendarPeriod::Quarter, "UTC");

    assert_eq!(w.bounds(ts("2026-02-14T00:00:00Z")), (ts("2026-01-01T00:00:00Z"), ts("2026-04-01T00:00:00Z")));
    assert_eq!(w.bounds(ts("2026-05-14T00:00:00Z")), (ts("2026-04-01T00:00:00Z"), ts("2026-07-01T00:00:00Z")));
    assert_eq!(w.bounds(ts("2026-09-30T23:59:59Z")), (ts("2026-07-01T00:00:00Z"), ts("2026-10-01T00:00:00Z")));
    assert_eq!(w.bounds(ts("2026-10-01T00:00:00Z")), (ts("2026-10-01T00:00:00Z"), ts("2027-01-01T00:00:00Z")));
}

#[test]
fn quarter_lengths_follow_the_calendar() {
    let w = calendar(CalendarPeriod::Quarter, "UTC");

    assert_eq!(w.length(ts("2026-02-01T00:00:00Z")), days(31 + 28 + 31));
    assert_eq!(w.length(ts("2024-02-01T00:00:00Z")), days(31 + 29 + 31));
    assert_eq!(w.length(ts("2026-05-01T00:00:00Z")), days(30 + 31 + 30));
    assert_eq!(w.length(ts("2026-08-01T00:00:00Z")), days(31 + 31 + 30));
    assert_eq!(w.length(ts("2026-11-01T12:00:00Z")), days(31 + 30 + 31));
}

#[test]
fn new_york_quarters_gain_or_lose_the_dst_hour() {
    let w = calendar(CalendarPeriod::Quarter, "America/New_York");

    assert_eq!(w.bounds(ts("2026-02-01T00:00:00Z")), (ts("2026-01-01T05:00:00Z"), ts("2026-04-01T04:00:00Z")));
    assert_eq!(w.length(ts("2026-02-01T00:00:00Z")), days(90) - hours(1));
    assert_eq!(w.length(ts("2026-11-15T00:00:00Z")), days(92) + hours(1));
}

#[test]
fn the_first_instant_of_a_quarter_belongs_to_it() {
    // 2026-04-01 00:00 in New York (UTC−4) is 04:00Z.
    let w = calendar(CalendarPeriod::Quarter, "America/New_York");

    assert_eq!(w.bounds(ts("2026-04-01T04:00:00Z")).0, ts("2026-04-01T04:00:00Z"));
    assert_eq!(w.bounds(ts("2026-04-01T03:59:59.999999999Z")).1, ts("2026-04-01T04:00:00Z"));
}

// ---- calendar weeks --------------------------------------------------------------------

#[test]
fn weeks_start_on_monday() {
    // 2026-11-25 is a Wednesday (1 January 2026 was a Thursday; 326 days later, 326 mod 7 = 4,
    // is 23 November, a Monday). Berlin is UTC+1 in November.
    let w = calendar(CalendarPeriod::Week, "Europe/Berlin");

    assert_eq!(w.bounds(ts("2026-11-25T10:00:00Z")), (ts("2026-11-22T23:00:00Z"), ts("2026-11-29T23:00:00Z")));
}

#[test]
fn sunday_night_belongs_to_the_week_that_started_on_monday() {
    let w = calendar(CalendarPeriod::Week, "Europe/Berlin");

    // Sunday 29 November, 23:59:59 in Berlin.
    assert_eq!(w.bounds(ts("2026-11-29T22:59:59Z")).0, ts("2026-11-22T23:00:00Z"));
    // Monday 30 November, 00:00 in Berlin: a new week.
    assert_eq!(w.bounds(ts("2026-11-29T23:00:00Z")).0, ts("2026-11-29T23:00:00Z"));
}

#[test]
fn a_week_containing_the_spring_forward_is_an_hour_short() {
    // New York springs forward on Sunday 8 March 2026: Monday 2 March starts at UTC−5, Monday
    // 9 March at UTC−4.
    let w = calendar(CalendarPeriod::Week, "America/New_York");
    let now = ts("2026-03-08T12:00:00Z");

    assert_eq!(w.bounds(now), (ts("2026-03-02T05:00:00Z"), ts("2026-03-09T04:00:00Z")));
    assert_eq!(w.length(now), days(7) - hours(1));
}

#[test]
fn calendar_windows_have_a_fixed_nominal_length_for_alert_tiers() {
    assert_eq!(month("UTC").nominal_length(), days(30));
    assert_eq!(calendar(CalendarPeriod::Week, "UTC").nominal_length(), days(7));
    assert_eq!(calendar(CalendarPeriod::Quarter, "UTC").nominal_length(), days(90));
    assert_eq!(Window::Rolling(days(28)).nominal_length(), days(28));
}

proptest! {
    #[test]
    fn a_calendar_window_contains_now(
        second in 0i64..4_102_444_800,
        period in prop_oneof![Just(CalendarPeriod::Week), Just(CalendarPeriod::Month), Just(CalendarPeriod::Quarter)],
        name in prop_oneof![Just("UTC"), Just("Asia/Tokyo"), Just("America/New_York"), Just("Australia/Lord_Howe"), Just("Asia/Kathmandu")],
    ) {
        let now = Timestamp::from_second(second).expect("in range");
        let w = calendar(period, name);
        let (start, end) = w.bounds(now);

        prop_assert!(start <= now && now < end, "{start} <= {now} < {end}");
        // The next period starts where this one ends.
        prop_assert_eq!(w.bounds(end).0, end);
        // Within a day of the nominal calendar length (DST moves it by at most an hour).
        let nominal_days = match period {
            CalendarPeriod::Week => 7..=7,
            CalendarPeriod::Month => 28..=31,
            CalendarPeriod::Quarter => 90..=92,
        };
        let length = w.length(now);
        prop_assert!(nominal_days.clone().any(|d| (length - days(d)).abs() <= hours(1)), "{length:?}");
    }
}
