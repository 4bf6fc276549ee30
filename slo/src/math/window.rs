//! SLO windows (rolling or calendar-aligned) and Prometheus-style durations.
//!
//! OpenSLO (v1, `timeWindow`) distinguishes a **rolling** window (`isRolling: true`, a
//! duration such as `28d`: at any instant the window is the last 28 days) from a
//! **calendar-aligned** one (a week, month or quarter that starts at a calendar boundary in a
//! time zone and resets when the next one begins). Google's SRE Workbook ("Implementing SLOs",
//! "Choosing an appropriate time window") recommends a four-week rolling window for alerting
//! and calendar windows for business reporting; both are supported here.
//!
//! **Bounds.** [`Window::bounds`] returns the window that contains `now`:
//!
//! * rolling `d`: `(now − d, now]`;
//! * calendar: `[start, end)`, where `start` is local midnight at the beginning of the period
//!   (Monday for weeks, ISO 8601; the 1st for months; 1 January, April, July or October for
//!   quarters) in the window's time zone, and `end` the start of the next period. The length
//!   is real elapsed time, so a month in which clocks spring forward is an hour short
//!   (March 2026 in New York: 31 d − 1 h) and one in which they fall back an hour long. When
//!   local midnight does not exist (a DST gap at 00:00) the period starts when the clocks
//!   jump; when it occurs twice, at the first occurrence (jiff's "compatible"
//!   disambiguation, RFC 5545's rule).
//!
//! **Durations.** [`parse_duration`] reads Prometheus durations (the `model.ParseDuration`
//! grammar): one or more `<integer><unit>` with units `y` (365 d, as in Prometheus), `w`, `d`,
//! `h`, `m`, `s`, `ms`, from largest to smallest, each at most once (`1h30m`, `28d`), or a
//! bare `0`. [`format_duration`] prints the form rule generators write: days, hours, minutes,
//! seconds and milliseconds, largest first (`28d`, `1h30m`, `5m`). Unlike Prometheus' own
//! formatter it never uses weeks or years, because SLO windows are conventionally written in
//! days (`28d`, not `4w`); everything it prints parses back, here and in Prometheus.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

/// Why a string is not a Prometheus duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("expected a number at `{0}` (a duration is e.g. 5m, 1h30m, 28d)")]
    MissingNumber(String),
    #[error("`{0}` has no unit (use ms, s, m, h, d, w or y)")]
    MissingUnit(String),
    #[error("unknown unit `{0}` (use ms, s, m, h, d, w or y)")]
    UnknownUnit(String),
    #[error("fractions are not allowed (write 1h30m, not 1.5h)")]
    Fraction,
    #[error("units must go from largest to smallest, each at most once (e.g. 1h30m, not 30m1h)")]
    UnitOrder,
    #[error("duration is too long")]
    Overflow,
}

/// Why a string is not a window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error("a rolling window must be longer than zero")]
    NotPositive,
    #[error("`{0}` is not a calendar period (week, month or quarter)")]
    UnknownPeriod(String),
}

/// A calendar period. Weeks start on Monday (ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalendarPeriod {
    Week,
    Month,
    Quarter,
}

impl CalendarPeriod {
    /// The name as written in specs: `week`, `month`, `quarter`.
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarPeriod::Week => "week",
            CalendarPeriod::Month => "month",
            CalendarPeriod::Quarter => "quarter",
        }
    }

    /// A fixed length to size things that must not change from one period to the next (alert
    /// tiers, dashboards): 7 d, 30 d (the month the SRE Workbook's tier table assumes), 90 d.
    pub fn nominal_length(self) -> SignedDuration {
        SignedDuration::from_hours(24 * self.nominal_days())
    }

    fn nominal_days(self) -> i64 {
        match self {
            CalendarPeriod::Week => 7,
            CalendarPeriod::Month => 30,
            CalendarPeriod::Quarter => 90,
        }
    }

    /// The first day of the period containing `date`.
    fn start_of(self, date: Date) -> Result<Date, jiff::Error> {
        match self {
            CalendarPeriod::Week => date.checked_sub(i64::from(date.weekday().to_monday_zero_offset()).days()),
            CalendarPeriod::Month => Ok(date.first_of_month()),
            CalendarPeriod::Quarter => Date::new(date.year(), (date.month() - 1) / 3 * 3 + 1, 1),
        }
    }

    /// The first day of the period after the one starting on `start`.
    fn next(self, start: Date) -> Result<Date, jiff::Error> {
        match self {
            CalendarPeriod::Week => start.checked_add(1.week()),
            CalendarPeriod::Month => start.checked_add(1.month()),
            CalendarPeriod::Quarter => start.checked_add(3.months()),
        }
    }
}

impl fmt::Display for CalendarPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CalendarPeriod {
    type Err = WindowError;

    fn from_str(s: &str) -> Result<CalendarPeriod, WindowError> {
        match s {
            "week" => Ok(CalendarPeriod::Week),
            "month" => Ok(CalendarPeriod::Month),
            "quarter" => Ok(CalendarPeriod::Quarter),
            _ => Err(WindowError::UnknownPeriod(s.to_string())),
        }
    }
}

/// The time window over which an SLO's objective must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// The last `d` at any instant. [`Window::parse_rolling`] only makes positive ones.
    Rolling(SignedDuration),
    /// The calendar week, month or quarter containing the instant, in `time_zone`.
    Calendar { period: CalendarPeriod, time_zone: TimeZone },
}

impl Window {
    /// A rolling window from a positive Prometheus duration (`28d`, `30d`, `1w`, `6h`).
    pub fn parse_rolling(s: &str) -> Result<Window, WindowError> {
        let d = parse_duration(s)?;
        if !d.is_positive() {
            return Err(WindowError::NotPositive);
        }
        Ok(Window::Rolling(d))
    }

    /// `week`, `month` or `quarter` (calendar, in `time_zone`), or else a rolling duration.
    pub fn parse(s: &str, time_zone: &TimeZone) -> Result<Window, WindowError> {
        match s.parse::<CalendarPeriod>() {
            Ok(period) => Ok(Window::Calendar { period, time_zone: time_zone.clone() }),
            Err(_) => Window::parse_rolling(s),
        }
    }

    /// The window containing `now`: `(now − d, now]` for a rolling window, `[start, end)` of
    /// the calendar period for a calendar one (see the module docs). Saturates at jiff's
    /// timestamp range (years −9999 to 9999) instead of failing.
    pub fn bounds(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        match self {
            // A SignedDuration never makes saturating arithmetic fail (only calendar spans
            // can), and it saturates by definition.
            Window::Rolling(d) => (now.saturating_sub(*d).unwrap_or(Timestamp::MIN), now),
            Window::Calendar { period, time_zone } => calendar_bounds(*period, time_zone, now),
        }
    }

    /// The window's length at `now`: `d` for a rolling window, the current period's real
    /// length for a calendar one (e.g. 743 h for March 2026 in New York).
    pub fn length(&self, now: Timestamp) -> SignedDuration {
        match self {
            Window::Rolling(d) => *d,
            Window::Calendar { .. } => {
                let (start, end) = self.bounds(now);
                end.duration_since(start)
            }
        }
    }

    /// A length that does not depend on `now`: `d`, or the period's
    /// [`CalendarPeriod::nominal_length`]. Alert tiers derived from it stay the same from
    /// month to month.
    pub fn nominal_length(&self) -> SignedDuration {
        match self {
            Window::Rolling(d) => *d,
            Window::Calendar { period, .. } => period.nominal_length(),
        }
    }

    /// Whether this is a rolling window.
    pub fn is_rolling(&self) -> bool {
        matches!(self, Window::Rolling(_))
    }
}

impl fmt::Display for Window {
    /// `28d` (Prometheus style, see [`format_duration`]) or `week`, `month`, `quarter`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Rolling(d) => f.write_str(&format_duration(*d)),
            Window::Calendar { period, .. } => f.write_str(period.as_str()),
        }
    }
}

fn calendar_bounds(period: CalendarPeriod, tz: &TimeZone, now: Timestamp) -> (Timestamp, Timestamp) {
    let midnight = |date: Date| tz.to_timestamp(date.to_datetime(Time::midnight()));
    let compute = || -> Result<(Timestamp, Timestamp), jiff::Error> {
        let mut start_date = period.start_of(tz.to_datetime(now).date())?;
        let mut end_date = period.next(start_date)?;
        let mut start = midnight(start_date)?;
        let mut end = midnight(end_date)?;
        // Only a fold that moves clocks back across midnight could map an instant at or after
        // a period's start to the previous day; step forward if that ever happens.
        while now >= end {
            start_date = end_date;
            end_date = period.next(start_date)?;
            start = end;
            end = midnight(end_date)?;
        }
        Ok((start, end))
    };
    // Only dates beyond jiff's range (year 9999) fail: saturate like the rolling case.
    compute().unwrap_or_else(|_| if now.as_second() < 0 { (Timestamp::MIN, now) } else { (now, Timestamp::MAX) })
}

const UNITS: [(&str, i128); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration: `5m`, `1h30m`, `28d`, `1w`, `500ms`, `0` (see the module
/// docs for the grammar). Negative durations do not exist in this grammar.
pub fn parse_duration(s: &str) -> Result<SignedDuration, DurationError> {
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s == "0" {
        return Ok(SignedDuration::ZERO);
    }
    let mut rest = s;
    let mut millis: i128 = 0;
    // Index in UNITS of the last unit seen; the next must come strictly after it.
    let mut last: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::MissingNumber(rest.to_string()));
        }
        let (number, after) = rest.split_at(digits);
        if after.starts_with('.') {
            return Err(DurationError::Fraction);
        }
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters == 0 {
            return Err(DurationError::MissingUnit(number.to_string()));
        }
        let (unit, after) = after.split_at(letters);
        let index =
            UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
        if last.is_some_and(|l| index <= l) {
            return Err(DurationError::UnitOrder);
        }
        last = Some(index);
        let n: i128 = number.parse().map_err(|_| DurationError::Overflow)?;
        millis = n
            .checked_mul(UNITS[index].1)
            .and_then(|v| millis.checked_add(v))
            .filter(|v| *v <= i128::from(i64::MAX))
            .ok_or(DurationError::Overflow)?;
        rest = after;
    }
    // Bounded by i64::MAX above.
    let millis = i64::try_from(millis).map_err(|_| DurationError::Overflow)?;
    Ok(SignedDuration::from_millis(millis))
}

/// Formats a duration the way Prometheus rules write it: `5m`, `1h`, `3d`, `1h30m`, `28d`,
/// `0s`. Units are d, h, m, s and ms, largest first; a part below a millisecond is dropped
/// (Prometheus cannot express it) and a negative duration gets a leading `-`.
pub fn format_duration(d: SignedDuration) -> String {
    let nanos = d.as_nanos();
    let mut millis = (nanos / 1_000_000).unsigned_abs();
    if millis == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if nanos < 0 {
        out.push('-');
    }
    for (unit, size) in UNITS.iter().skip(2) {
        let size = size.unsigned_abs();
        if millis >= size {
            out.push_str(&format!("{}{unit}", millis / size));
            millis %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_checked_in_order() {
        assert_eq!(parse_duration("1h30m"), Ok(SignedDuration::from_mins(90)));
        assert_eq!(parse_duration("30m1h"), Err(DurationError::UnitOrder));
        assert_eq!(parse_duration("1h1h"), Err(DurationError::UnitOrder));
        assert_eq!(parse_duration("1s500ms"), Ok(SignedDuration::from_millis(1500)));
    }

    #[test]
    fn malformed_durations_say_what_is_wrong() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("5"), Err(DurationError::MissingUnit("5".into())));
        assert_eq!(parse_duration("h"), Err(DurationError::MissingNumber("h".into())));
        assert_eq!(parse_duration("5x"), Err(DurationError::UnknownUnit("x".into())));
        assert_eq!(parse_duration("-5m"), Err(DurationError::MissingNumber("-5m".into())));
        assert_eq!(parse_duration("1.5h"), Err(DurationError::Fraction));
        assert_eq!(parse_duration("99999999999999999999999y"), Err(DurationError::Overflow));
    }

    #[test]
    fn formatting_drops_sub_millisecond_parts_and_keeps_the_sign() {
        assert_eq!(format_duration(SignedDuration::from_nanos(1_500_000)), "1ms");
        assert_eq!(format_duration(SignedDuration::from_nanos(999_999)), "0s");
        assert_eq!(format_duration(-SignedDuration::from_mins(90)), "-1h30m");
    }
}
