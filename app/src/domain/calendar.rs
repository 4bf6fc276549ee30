//! Warehouse calendar: cut-offs and dates live in the warehouse's time zone; storage is UTC.
//! (OPENLOGI's same-day cut-off is 12:30 JST, hence the default.) Calendar months
//! ([`Month`]) are what invoices are for.

use std::fmt;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::Error;

pub const DEFAULT_TIME_ZONE: &str = "Asia/Tokyo";
pub const DEFAULT_CUTOFF: &str = "12:30";

/// A warehouse's clock: its zone and same-day cut-off.
#[derive(Debug, Clone)]
pub struct WarehouseClock {
    zone: TimeZone,
    cutoff: Time,
}

impl WarehouseClock {
    pub fn new(time_zone: &str, cutoff: &str) -> Result<Self, Error> {
        let zone = TimeZone::get(time_zone)
            .map_err(|_| Error::invalid("/time_zone", format!("unknown IANA time zone {time_zone:?}")))?;
        let cutoff = parse_cutoff(cutoff)?;
        Ok(Self { zone, cutoff })
    }

    /// The warehouse's local calendar date at `now`.
    pub fn local_date(&self, now: Timestamp) -> Date {
        now.to_zoned_datetime(self.zone.clone()).date()
    }

    /// Whether `now` is at or past today's cut-off, local time.
    pub fn past_cutoff(&self, now: Timestamp) -> bool {
        now.to_zoned_datetime(self.zone.clone()).time() >= self.cutoff
    }

    /// When today's cut-off is (was), as an instant.
    pub fn cutoff_today(&self, now: Timestamp) -> Option<Timestamp> {
        let today = self.local_date(now);
        today.to_datetime(self.cutoff).to_zoned_datetime(self.zone.clone()).ok().map(|z| z.timestamp())
    }

    /// How long today's cut-off wave waited, released at `now`: from today's cut-off, or from
    /// `opened` (when the warehouse was registered) if that came later. A warehouse opened at
    /// 15:00 has had nothing to wait for since 12:30; a service down over the cut-off has.
    pub fn cutoff_wait(&self, now: Timestamp, opened: Timestamp) -> Option<std::time::Duration> {
        let since = self.cutoff_today(now)?.max(opened);
        Some(std::time::Duration::try_from(now.duration_since(since)).unwrap_or_default())
    }

    /// The ship date a new shipment gets by default: today before the cut-off, tomorrow after.
    pub fn default_ship_date(&self, now: Timestamp) -> Date {
        let today = self.local_date(now);
        if self.past_cutoff(now) { today.checked_add(1.day()).unwrap_or(today) } else { today }
    }
}

pub fn parse_cutoff(s: &str) -> Result<Time, Error> {
    let bad = || Error::invalid("/cutoff_time", format!("must be HH:MM (got {s:?})"));
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(Date);

impl Month {
    /// `YYYY-MM`, nothing else.
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("must be YYYY-MM (got {s:?})");
        let shaped =
            s.len() == 7 && s.bytes().enumerate().all(|(i, b)| if i == 4 { b == b'-' } else { b.is_ascii_digit() });
        if !shaped {
            return Err(bad());
        }
        format!("{s}-01").parse::<Date>().map(Month).map_err(|_| bad())
    }

    /// The month `date` is in.
    pub fn of(date: Date) -> Month {
        Month(date.first_of_month())
    }

    pub fn first_day(self) -> Date {
        self.0
    }

    /// The first day of the month after (the end, exclusive, of this month's days).
    pub fn next_first_day(self) -> Date {
        self.0.checked_add(1.month()).unwrap_or(self.0.last_of_month())
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.0.year(), self.0.month())
    }
}

impl serde::Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn before_the_tokyo_cutoff_ships_today_and_after_it_tomorrow() {
        let clock = WarehouseClock::new(DEFAULT_TIME_ZONE, DEFAULT_CUTOFF).expect("clock");
        // 03:29Z is 12:29 JST.
        assert_eq!(clock.default_ship_date(at("2026-11-25T03:29:00Z")).to_string(), "2026-11-25");
        assert_eq!(clock.default_ship_date(at("2026-11-25T03:30:00Z")).to_string(), "2026-11-26");
        // 15:30Z on the 25th is already the 26th in Tokyo.
        assert_eq!(clock.local_date(at("2026-11-25T15:30:00Z")).to_string(), "2026-11-26");
        assert_eq!(clock.cutoff_today(at("2026-11-25T05:00:00Z")), Some(at("2026-11-25T03:30:00Z")));
    }

    #[test]
    fn the_cutoff_wait_counts_from_the_cutoff_or_from_a_later_opening() {
        let clock = WarehouseClock::new(DEFAULT_TIME_ZONE, DEFAULT_CUTOFF).expect("clock");
        let minutes = |m: u64| Some(std::time::Duration::from_secs(m * 60));
        // Opened last week, released 12:40 JST: waited the ten minutes since 12:30.
        assert_eq!(clock.cutoff_wait(at("2026-11-25T03:40:00Z"), at("2026-11-18T00:00:00Z")), minutes(10));
        // Opened 15:00 JST, released 15:01 JST: waited one minute, not two and a half hours.
        assert_eq!(clock.cutoff_wait(at("2026-11-25T06:01:00Z"), at("2026-11-25T06:00:00Z")), minutes(1));
        // An opening stamped after the release (clock skew) waits zero, never negative.
        assert_eq!(clock.cutoff_wait(at("2026-11-25T06:01:00Z"), at("2026-11-25T06:02:00Z")), minutes(0));
    }

    #[test]
    fn a_month_is_yyyy_mm_and_spans_its_days() {
        let m = Month::parse("2026-02").expect("month");
        assert_eq!(m.to_string(), "2026-02");
        assert_eq!(
            (m.first_day().to_string(), m.next_first_day().to_string()),
            ("2026-02-01".into(), "2026-03-01".into())
        );
        assert_eq!(Month::parse("2026-12").expect("month").next_first_day().to_string(), "2027-01-01");
        assert_eq!(Month::of(jiff::civil::date(2026, 11, 25)), Month::parse("2026-11").expect("month"));
        assert_eq!(serde_json::to_string(&m).expect("json"), "\"2026-02\"");
        for bad in ["2026-13", "2026-00", "2026-1", "2026/01", "26-01", "2026-01-01", "２０２６-01", ""] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_zones_and_cutoffs_are_rejected() {
        assert!(WarehouseClock::new("Mars/Olympus", "12:30").is_err());
        assert!(WarehouseClock::new("Asia/Tokyo", "25:00").is_err());
        assert!(WarehouseClock::new("Asia/Tokyo", "1230").is_err());
    }
}
