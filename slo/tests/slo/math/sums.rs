//! Window sums: rolling totals that forget old data, burn-rate windows from the same buckets,
//! checked against a naive model.

use jiff::Timestamp;
use proptest::prelude::*;
use slo::math::{Counts, WindowSums};

use super::{hours, mins, secs};

fn at(seconds: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + secs(seconds)
}

fn one_hour_by_minute() -> WindowSums {
    WindowSums::new(hours(1), mins(1)).expect("valid")
}

#[test]
fn bad_events_fall_out_of_the_window_one_window_length_later() {
    let mut sums = one_hour_by_minute();
    sums.push(at(0), 90, 100);

    sums.advance_to(at(59 * 60 + 59));
    assert_eq!(sums.totals(), Counts::new(90, 100), "still inside the hour");

    sums.advance_to(at(60 * 60));
    assert_eq!(sums.totals(), Counts::ZERO, "an hour later the budget is whole again");
}

#[test]
fn the_window_keeps_what_came_after_the_bad_minute() {
    let mut sums = one_hour_by_minute();
    sums.push(at(0), 0, 10);
    for minute in 1..=60 {
        sums.push(at(minute * 60), 10, 10);
    }

    // Minutes 1..=60 are in the window; minute 0 (all bad) left it.
    assert_eq!(sums.totals(), Counts::new(600, 600));
}

#[test]
fn burn_rate_windows_come_from_the_same_buckets() {
    // One bad event per minute in the last 5 minutes, none before; 10 events a minute.
    let mut sums = WindowSums::new(hours(6), mins(1)).expect("valid");
    for minute in 0..360 {
        let bad = if minute >= 355 { 1 } else { 0 };
        sums.push(at(minute * 60), 10 - bad, 10);
    }

    assert_eq!(sums.sum_over(mins(5)), Some(Counts::new(45, 50)));
    assert_eq!(sums.sum_over(mins(30)), Some(Counts::new(295, 300)));
    assert_eq!(sums.sum_over(hours(1)), Some(Counts::new(595, 600)));
    assert_eq!(sums.sum_over(hours(6)), Some(Counts::new(3595, 3600)));
    assert_eq!(sums.totals(), Counts::new(3595, 3600));
}

#[test]
fn a_window_longer_than_the_sums_cannot_be_read() {
    let sums = one_hour_by_minute();
    assert_eq!(sums.sum_over(hours(2)), None);
    assert_eq!(sums.sum_over(secs(0)), None);
}

#[test]
fn a_partial_interval_reads_the_whole_bucket() {
    let mut sums = one_hour_by_minute();
    sums.push(at(0), 1, 1);
    sums.push(at(60), 1, 2);

    assert_eq!(sums.sum_over(secs(30)), Some(Counts::new(1, 2)), "30 s rounds up to the head bucket");
    assert_eq!(sums.sum_over(secs(61)), Some(Counts::new(2, 3)), "61 s rounds up to two buckets");
}

#[test]
fn late_data_inside_the_window_counts_and_older_data_is_dropped() {
    let mut sums = one_hour_by_minute();
    sums.push(at(2 * 3600), 5, 5);

    assert!(sums.push(at(2 * 3600 - 30 * 60), 0, 3), "30 minutes late: kept");
    assert!(!sums.push(at(3600 - 1), 0, 7), "more than an hour late: dropped");
    assert_eq!(sums.totals(), Counts::new(5, 8));
    assert_eq!(sums.sum_over(mins(30)), Some(Counts::new(5, 5)));
    assert_eq!(sums.sum_over(mins(31)), Some(Counts::new(5, 8)));
}

#[test]
fn a_quiet_period_counts_as_quiet_once_the_sums_are_advanced() {
    let mut sums = one_hour_by_minute();
    sums.push(at(0), 0, 100);

    sums.advance_to(at(10 * 60));

    assert_eq!(sums.sum_over(mins(5)), Some(Counts::ZERO));
    assert_eq!(sums.totals(), Counts::new(0, 100));
}

#[test]
fn coverage_grows_with_history_up_to_the_window() {
    let mut sums = one_hour_by_minute();
    assert_eq!(sums.covered(), secs(0));

    sums.push(at(0), 1, 1);
    sums.push(at(9 * 60), 1, 1);
    assert_eq!(sums.covered(), mins(10));

    sums.advance_to(at(5 * 3600));
    assert_eq!(sums.covered(), hours(1));
}

#[test]
fn the_head_is_the_start_of_the_newest_bucket() {
    let mut sums = one_hour_by_minute();
    assert_eq!(sums.head(), None);

    sums.push(at(125), 1, 1);
    assert_eq!(sums.head(), Some(at(120)));
    assert_eq!(sums.window(), hours(1));
    assert_eq!(sums.interval(), mins(1));
}

#[derive(Debug, Clone)]
struct Push {
    /// Seconds after the newest push so far (negative: late data).
    offset: i64,
    good: u64,
    bad: u64,
}

fn pushes() -> impl Strategy<Value = Vec<Push>> {
    let push = (prop_oneof![3 => 0i64..300, 1 => -4000i64..0, 1 => 0i64..8000], 0u64..1000, 0u64..1000)
        .prop_map(|(offset, good, bad)| Push { offset, good, bad });
    prop::collection::vec(push, 1..200)
}

proptest! {
    #[test]
    fn window_sums_equal_a_naive_recount(pushes in pushes()) {
        // Model: every accepted event with its minute bucket; a window of k buckets as of the
        // newest bucket H holds the events in buckets (H − k, H].
        let mut sums = one_hour_by_minute();
        let mut accepted: Vec<(i64, u64, u64)> = Vec::new();
        let mut newest = 0i64;
        let mut head: Option<i64> = None;
        for p in &pushes {
            let t = newest + p.offset;
            newest = newest.max(t);
            let bucket = t.div_euclid(60);
            let h = head.map_or(bucket, |h| h.max(bucket));
            head = Some(h);
            let kept = sums.push(at(t), p.good, p.good + p.bad);
            prop_assert_eq!(kept, bucket > h - 60, "push at {} with head {}", t, h);
            if kept {
                accepted.push((bucket, p.good, p.good + p.bad));
            }

            for k in [1i64, 5, 30, 60] {
                let expected = accepted.iter().filter(|(b, _, _)| *b > h - k && *b <= h).fold(
                    Counts::ZERO,
                    |acc, (_, good, total)| Counts::new(acc.good + good, acc.total + total),
                );
                prop_assert_eq!(sums.sum_over(mins(k)), Some(expected), "last {} minutes", k);
            }
            prop_assert_eq!(sums.totals(), sums.sum_over(hours(1)).expect("the window"));
        }
    }
}
