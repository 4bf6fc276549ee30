//! Checking a spec's error-budget policy and maintenance windows.

use super::*;

impl Validator<'_> {
    pub(super) fn policy(&mut self, raw: RawPolicy, zone: &TimeZone) -> ErrorBudgetPolicy {
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
        let gate = raw.gate.map(|g| self.gate(g, zone)).unwrap_or_default();
        ErrorBudgetPolicy { reject, warn, exceptions, gate }
    }

    /// `gate:`; journey and SLO names are checked once the journeys are read
    /// ([`Validator::gate_references`]).
    fn gate(&mut self, raw: RawGate, zone: &TimeZone) -> GatePolicy {
        let defaults = GatePolicy::default();
        let mut environments = Vec::new();
        for (name, env) in raw.environments.map(|e| e.0).unwrap_or_default() {
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.error(&name, format!("environment `{}` must be a name without spaces", name.as_str()));
            }
            if environments.iter().any(|e: &GateEnvironment| e.name == name.as_str()) {
                self.error(&name, format!("environment `{}` is listed twice", name.as_str()));
            }
            for journey in &env.journeys {
                self.gate_refs.push((journey.clone(), true));
            }
            for slo in &env.slos {
                self.gate_refs.push((slo.clone(), false));
            }
            let reject = env.reject.map(|t| self.thresholds(t));
            if let Some(r) = &reject
                && r.budget_remaining_below.is_none()
                && r.burn_rate_above.is_none()
            {
                self.error(&name, "an environment's `reject` sets budget_remaining_below or burn_rate_above");
            }
            environments.push(GateEnvironment {
                name: name.as_str().to_owned(),
                journeys: env.journeys.iter().map(|j| j.as_str().to_owned()).collect(),
                slos: env.slos.iter().map(|s| s.as_str().to_owned()).collect(),
                reject,
                shadow: env.shadow.is_some_and(|s| *s),
            });
        }
        let max_staleness = raw.max_staleness.as_ref().and_then(|d| self.duration(d)).unwrap_or(defaults.max_staleness);
        if let Some(d) = &raw.max_staleness
            && max_staleness < SignedDuration::from_secs(10)
        {
            self.error(d, "max_staleness is at least 10s (one evaluation interval or more)");
        }
        let hold_deadline = raw.hold_deadline.as_ref().and_then(|d| self.duration(d)).unwrap_or(defaults.hold_deadline);
        // GitHub waits at most 30 days for a protection rule's decision.
        if let Some(d) = &raw.hold_deadline
            && hold_deadline > SignedDuration::from_hours(24 * 30)
        {
            self.error(d, "hold_deadline is at most 30d (GitHub's limit for a protection rule's decision)");
        }
        let freeze = raw.freeze.into_iter().filter_map(|m| self.maintenance(m, zone)).collect();
        let (verification, rollback_workflow) = match raw.verification {
            Some(v) => {
                let window = self.duration(&v.window);
                if window.is_some_and(|w| w > SignedDuration::from_hours(24)) {
                    self.error(&v.window, "a verification window lasts at most 24h");
                }
                if let Some(w) = &v.rollback_workflow
                    && w.trim().is_empty()
                {
                    self.error(w, "rollback_workflow names a workflow file (rollback.yml) or id");
                }
                (window, v.rollback_workflow.map(|w| w.as_str().to_owned()))
            }
            None => (None, None),
        };
        GatePolicy {
            environments,
            max_staleness,
            hold_deadline,
            shadow: raw.shadow.is_some_and(|s| *s),
            freeze,
            verification,
            rollback_workflow,
        }
    }

    /// Every journey and SLO a gated environment names exists in the spec.
    pub(super) fn gate_references(&mut self, journeys: &[JourneySlos]) {
        for (name, is_journey) in std::mem::take(&mut self.gate_refs) {
            let found = if is_journey {
                journeys.iter().any(|j| j.name == name.as_str())
            } else {
                journeys.iter().flat_map(|j| j.slos.iter()).any(|s| s.id == name.as_str())
            };
            if !found {
                let what = if is_journey { "journey" } else { "SLO" };
                self.error(
                    &name,
                    format!("the gate names {what} `{}`, which this spec does not declare", name.as_str()),
                );
            }
        }
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
