//! PromQL for one SLI: event rates and error ratios over a range, and the condition that is
//! true while a maintenance window is open.
//!
//! Every expression sums to one label-free sample (the rule adds the SLO's labels), and none
//! divides by zero: the denominator is filtered with `> 0`, so a range without events gives no
//! sample rather than `NaN`, and a numerator series that does not exist yet (no request has
//! ever failed) counts as zero through `or vector(0)` instead of hiding the ratio.

use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::math::format_duration;
use crate::spec::{Counting, Maintenance, MatchOp, Selector, Sli, Threshold};

/// Seconds in a week.
const WEEK: i64 = 7 * 86_400;

/// An SLI as PromQL over any range.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    pub sli: &'a Sli,
}

impl Events<'_> {
    /// Good or bad events per second over `range` (per the SLI's counting), summed.
    fn numerator(&self, range: &str) -> String {
        match self.sli {
            Sli::Ratio { numerator, .. } => rate(numerator, range),
            Sli::Latency { histogram, threshold } | Sli::Freshness { histogram, threshold } => {
                rate(&bucket(histogram, threshold), range)
            }
            Sli::Promql { numerator, .. } => format!("sum({})", window(numerator, range)),
        }
    }

    /// All events per second over `range`, summed.
    pub fn total(&self, range: &str) -> String {
        match self.sli {
            Sli::Ratio { total, .. } => rate(total, range),
            Sli::Latency { histogram, .. } | Sli::Freshness { histogram, .. } => {
                rate(&histogram.with_metric(format!("{}_count", histogram.metric)), range)
            }
            Sli::Promql { total, .. } => format!("sum({})", window(total, range)),
        }
    }

    /// The numerator's events (good or bad, per [`counting`](Self::counting)) over `range`,
    /// summed: what the controller's PromQL source reads. Counters are read with `increase()`;
    /// a raw `promql` SLI is an events-per-second expression, so it is multiplied by the range's
    /// seconds to count events.
    pub(crate) fn numerator_events(&self, range: SignedDuration) -> String {
        let text = format_duration(range);
        match self.sli {
            Sli::Ratio { numerator, .. } => increase(numerator, &text),
            Sli::Latency { histogram, threshold } | Sli::Freshness { histogram, threshold } => {
                increase(&bucket(histogram, threshold), &text)
            }
            Sli::Promql { numerator, .. } => events_from_rate(numerator, range),
        }
    }

    /// All events over `range`, summed (see [`numerator_events`](Self::numerator_events)).
    pub(crate) fn total_events(&self, range: SignedDuration) -> String {
        let text = format_duration(range);
        match self.sli {
            Sli::Ratio { total, .. } => increase(total, &text),
            Sli::Latency { histogram, .. } | Sli::Freshness { histogram, .. } => {
                increase(&histogram.with_metric(format!("{}_count", histogram.metric)), &text)
            }
            Sli::Promql { total, .. } => events_from_rate(total, range),
        }
    }

    /// Whether the numerator counts good or bad events (histograms count good ones).
    pub(crate) fn counting(&self) -> Counting {
        match self.sli {
            Sli::Ratio { counting, .. } | Sli::Promql { counting, .. } => *counting,
            Sli::Latency { .. } | Sli::Freshness { .. } => Counting::Good,
        }
    }

    /// Bad events per second over `range`.
    pub fn bad(&self, range: &str) -> String {
        let numerator = format!("({} or vector(0))", self.numerator(range));
        match self.counting() {
            Counting::Bad => numerator,
            Counting::Good => format!("{} - {numerator}", self.total(range)),
        }
    }

    /// Bad events over all events in `range`; no sample when there were no events.
    pub fn error_ratio(&self, range: &str) -> String {
        let numerator = format!("({} or vector(0))", self.numerator(range));
        let total = format!("({} > 0)", self.total(range));
        match self.counting() {
            Counting::Bad => format!("{numerator} / {total}"),
            Counting::Good => format!("1 - {numerator} / {total}"),
        }
    }
}

fn increase(selector: &Selector, range: &str) -> String {
    format!("sum(increase({selector}[{range}]))")
}

/// A raw PromQL rate over `range` as a number of events: `sum(rate) * seconds`.
fn events_from_rate(query: &str, range: SignedDuration) -> String {
    let seconds = range.as_secs_f64();
    format!("sum({}) * {seconds}", window(query, &format_duration(range)))
}

fn rate(selector: &Selector, range: &str) -> String {
    format!("sum(rate({selector}[{range}]))")
}

/// A raw PromQL SLI with its range filled in (`{{.window}}`, as in Sloth). Callers wrap it in
/// `sum()`, which makes any instant vector one label-free sample and is harmless when the
/// query already sums.
fn window(query: &str, range: &str) -> String {
    query.replace("{{.window}}", range)
}

/// The histogram bucket at `threshold`. Prometheus 3 stores `le` as float text (`0.3`, `300.0`);
/// Prometheus 2 keeps what the exporter wrote, and Go exporters write whole bounds without the
/// `.0` (`300`). Fractional bounds are the same text in both; whole ones match either form.
pub(crate) fn bucket(histogram: &Selector, threshold: &Threshold) -> Selector {
    let bucket = histogram.with_metric(format!("{}_bucket", histogram.metric));
    let le = threshold.le_label();
    match le.strip_suffix(".0") {
        Some(whole) => bucket.with_matcher("le", MatchOp::Regex, &format!("{whole}|{whole}\\.0")),
        None => bucket.with_matcher("le", MatchOp::Equal, &le),
    }
}

/// A condition that yields a sample while `window` is open, with a comment line saying when
/// that is in UTC. PromQL's clock is UTC: a weekly window in `zone` is placed by the zone's
/// UTC offset, and in a zone with daylight saving time by each offset it will use in the next
/// year, so the condition covers the window's UTC position in both summer and winter (up to
/// an hour more than declared, never less).
pub fn maintenance_open(window: &Maintenance, zone: &TimeZone) -> (String, String) {
    match window {
        Maintenance::Once { name, start, end } => (
            format!("vector(time()) >= {} < {}", start.as_second(), end.as_second()),
            format!("{name}: {start} to {end}"),
        ),
        Maintenance::Weekly { name, weekday, start, duration } => {
            let local = i64::from(weekday.to_monday_zero_offset()) * 86_400
                + i64::from(start.hour()) * 3_600
                + i64::from(start.minute()) * 60
                + i64::from(start.second());
            let length = duration.as_secs();
            let mut conditions = Vec::new();
            let mut utc = Vec::new();
            for offset in offsets(zone) {
                let from = (local - i64::from(offset.seconds())).rem_euclid(WEEK);
                conditions.push(week_range(from, from + length));
                utc.push(format!("{} UTC ({offset})", week_time(from)));
            }
            let expr = if length >= WEEK { "vector(1)".to_string() } else { conditions.join(" or ") };
            let zone_name = zone.iana_name().unwrap_or("the spec's zone");
            let comment = format!(
                "{name}: every {weekday:?} {} {zone_name} for {} = from {}",
                start.strftime("%H:%M"),
                format_duration(*duration),
                utc.join(" or ")
            );
            (expr, comment)
        }
    }
}

/// Seconds since Monday 00:00 UTC: the Unix epoch fell on a Thursday, three days after one.
const SECOND_OF_WEEK: &str = "vector((time() + 259200) % 604800)";

/// `[from, to)` in seconds of the week, wrapping past Sunday midnight.
fn week_range(from: i64, to: i64) -> String {
    if to <= WEEK {
        format!("{SECOND_OF_WEEK} >= {from} < {to}")
    } else {
        format!("{SECOND_OF_WEEK} >= {from} or {SECOND_OF_WEEK} < {}", to - WEEK)
    }
}

fn week_time(second: i64) -> String {
    const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let (day, rest) = (second / 86_400, second % 86_400);
    format!("{} {:02}:{:02}", DAYS[day as usize], rest / 3_600, rest % 3_600 / 60)
}

/// The UTC offsets `zone` is in now or will be in within a year, in ascending order.
fn offsets(zone: &TimeZone) -> Vec<Offset> {
    let now = Timestamp::now();
    let horizon = now.saturating_add(SignedDuration::from_hours(24 * 366)).unwrap_or(now);
    let mut offsets: Vec<Offset> = std::iter::once(zone.to_offset(now))
        .chain(zone.following(now).take_while(|t| t.timestamp() < horizon).map(|t| t.offset()))
        .collect();
    offsets.sort();
    offsets.dedup();
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn selector(text: &str) -> Selector {
        Selector::parse(text).unwrap()
    }

    #[test]
    fn a_whole_bucket_bound_matches_with_and_without_the_trailing_zero() {
        let h = selector(r#"job_queue_lag_seconds{journey="wave-generation"}"#);
        assert_eq!(
            bucket(&h, &Threshold { seconds: Decimal::new(300, 0) }).to_string(),
            r#"job_queue_lag_seconds_bucket{journey="wave-generation", le=~"300|300\\.0"}"#
        );
        assert_eq!(
            bucket(&h, &Threshold { seconds: Decimal::new(30, 2) }).to_string(),
            r#"job_queue_lag_seconds_bucket{journey="wave-generation", le="0.3"}"#
        );
    }

    #[test]
    fn a_good_ratio_counts_a_missing_good_series_as_zero_and_no_traffic_as_no_sample() {
        let sli =
            Sli::Ratio { counting: Counting::Good, numerator: selector("ok_total"), total: selector("all_total") };
        assert_eq!(
            Events { sli: &sli }.error_ratio("1h"),
            "1 - (sum(rate(ok_total[1h])) or vector(0)) / (sum(rate(all_total[1h])) > 0)"
        );
    }

    #[test]
    fn a_weekly_window_in_tokyo_is_nine_hours_earlier_in_utc() {
        let window = Maintenance::Weekly {
            name: "db".into(),
            weekday: jiff::civil::Weekday::Sunday,
            start: jiff::civil::time(2, 0, 0, 0),
            duration: SignedDuration::from_hours(1),
        };
        let (expr, comment) = maintenance_open(&window, &TimeZone::get("Asia/Tokyo").unwrap());
        // Saturday 17:00 UTC = 5 days and 17 hours after Monday 00:00.
        assert_eq!(expr, format!("{SECOND_OF_WEEK} >= 493200 < 496800"));
        assert!(comment.contains("Saturday 17:00 UTC"), "{comment}");
    }

    #[test]
    fn a_weekly_window_across_sunday_midnight_utc_wraps() {
        assert_eq!(
            week_range(WEEK - 1800, WEEK + 1800),
            format!("{SECOND_OF_WEEK} >= 603000 or {SECOND_OF_WEEK} < 1800")
        );
    }

    #[test]
    fn a_weekly_window_in_a_zone_with_daylight_saving_time_covers_both_offsets() {
        let window = Maintenance::Weekly {
            name: "reindex".into(),
            weekday: jiff::civil::Weekday::Saturday,
            start: jiff::civil::time(23, 30, 0, 0),
            duration: SignedDuration::from_mins(90),
        };
        let (expr, _) = maintenance_open(&window, &TimeZone::get("America/New_York").unwrap());
        // Sunday 04:30 UTC in winter (-05), 03:30 UTC in summer (-04).
        let sunday = 6 * 86_400;
        assert_eq!(
            expr,
            format!(
                "{SECOND_OF_WEEK} >= {} < {} or {SECOND_OF_WEEK} >= {} < {}",
                sunday + 4 * 3600 + 1800,
                sunday + 6 * 3600,
                sunday + 3 * 3600 + 1800,
                sunday + 5 * 3600
            )
        );
    }
}
