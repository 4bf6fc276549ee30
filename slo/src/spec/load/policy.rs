//! Checking a spec's error-budget policy and maintenance windows.

use super::*;

impl Validator<'_> {
    pub(super) fn policy(&mut self, raw: RawPolicy) -> ErrorBudgetPolicy {
        let defaults = ErrorBudgetPolicy::default();
        let reject = raw.reject.map_or(defaults.reject, |t| self.thresholds(t));
        let warn = raw.warn.map_or(defaults.warn, |t| self.thresholds(t));
        let exceptions = raw.exceptions.map_or(defaults.exceptions, |e| {
            e.iter()
                .map(|l| {
                    if l.is_empty() {
                        self.error(l, "an exception label cannot be empty");
                    }
                    l.as_str().to_string()
                })
                .collect()
        });
        ErrorBudgetPolicy { reject, warn, exceptions }
    }

    pub(super) fn thresholds(&mut self, raw: RawThresholds) -> PolicyThresholds {
        let number = |v: &mut Self, t: &Option<Text>, what: &str, max: Option<Decimal>| {
            t.as_ref().and_then(|t| match Decimal::from_str(t.as_str()) {
                Ok(d) if d >= Decimal::ZERO && max.is_none_or(|m| d <= m) => Some(d),
                _ => {
                    v.error(t, format!("{what} `{}` is out of range", t.as_str()));
                    None
                }
            })
        };
        let budget_remaining_below =
            number(self, &raw.budget_remaining_below, "budget_remaining_below (percent)", Some(Decimal::ONE_HUNDRED));
        let burn_rate_above = number(self, &raw.burn_rate_above, "burn_rate_above", None);
        let burn_window =
            raw.burn_window.as_ref().and_then(|w| self.duration(w)).unwrap_or(SignedDuration::from_hours(1));
        PolicyThresholds { budget_remaining_below, burn_rate_above, burn_window }
    }

    pub(super) fn maintenance(&mut self, raw: RawMaintenance, zone: &TimeZone) -> Option<Maintenance> {
        let name = raw.name.as_str().to_string();
        match (&raw.start, &raw.end, &raw.weekly) {
            (Some(start), Some(end), None) => {
                let s = self.timestamp(start, zone);
                let e = self.timestamp(end, zone);
                let (s, e) = (s?, e?);
                if e <= s {
                    self.error(end, "a maintenance window ends after it starts");
                    return None;
                }
                Some(Maintenance::Once { name, start: s, end: e })
            }
            (None, None, Some(w)) => {
                let weekday = match w.on.to_ascii_lowercase().as_str() {
                    "monday" => Some(Weekday::Monday),
                    "tuesday" => Some(Weekday::Tuesday),
                    "wednesday" => Some(Weekday::Wednesday),
                    "thursday" => Some(Weekday::Thursday),
                    "friday" => Some(Weekday::Friday),
                    "saturday" => Some(Weekday::Saturday),
                    "sunday" => Some(Weekday::Sunday),
                    _ => {
                        self.error(&w.on, format!("`{}` is not a day of the week", w.on.as_str()));
                        None
                    }
                };
                let start = match Time::strptime("%H:%M", w.at.as_str()) {
                    Ok(t) => Some(t),
                    Err(_) => {
                        self.error(&w.at, format!("`{}` is not a time of day (HH:MM)", w.at.as_str()));
                        None
                    }
                };
                let duration = self.duration(&w.duration);
                if duration.is_some_and(|d| d > SignedDuration::from_hours(24 * 7)) {
                    self.error(&w.duration, "a weekly window lasts less than a week");
                }
                Some(Maintenance::Weekly { name, weekday: weekday?, start: start?, duration: duration? })
            }
            _ => {
                self.error(&raw.name, "a maintenance window has either `start` and `end`, or `weekly`");
                None
            }
        }
    }

    /// RFC 3339 with an offset, or a civil date-time read in the spec's zone.
    pub(super) fn timestamp(&mut self, raw: &Text, zone: &TimeZone) -> Option<jiff::Timestamp> {
        if let Ok(t) = raw.as_str().parse::<jiff::Timestamp>() {
            return Some(t);
        }
        match raw.as_str().parse::<jiff::civil::DateTime>().and_then(|dt| dt.to_zoned_datetime(zone.clone())) {
            Ok(z) => Some(z.timestamp()),
            Err(e) => {
                self.error(raw, format!("`{}` is not a date-time: {e}", raw.as_str()));
                None
            }
        }
    }
}
