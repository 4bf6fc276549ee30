//! Evaluation: what one SLO's numbers say at one instant. Pure functions, no I/O and no clock:
//! the controller passes the source's [`Reading`] and `now`, and stores what comes back.
//!
//! From the reading's counts over the SLO window (for a calendar window, the period so far)
//! and over every alert tier's long and short windows ([`Query::for_slo`] asks for exactly
//! those ranges):
//!
//! * **SLI and budget** -- [`Budget::from_events`] over the window. A `timeslices` SLO is
//!   budgeted by occurrences here too, because the source contract reports events per range,
//!   not slices; the generated Prometheus rules keep the exact slice arithmetic. The reason
//!   string says so.
//! * **Burn rate** per tier window (`error ratio / budget`, [`burn_rate`]) and whether each
//!   tier fires ([`crate::math::BurnTier::fires`]: both windows strictly above `burn_rate × budget`).
//! * **Time to exhaustion** at the burn rate over the policy's `warn.burn_window` when it is
//!   one of the queried ranges, else the first tier's long window.
//! * **Status**, first match wins:
//!   1. `no-data` -- the source failed for this SLO, the window has no events, or the last hour
//!      had fewer than `min_events_per_hour` events ([`sufficient_data`]); `reason` says which;
//!   2. `exhausted` -- nothing of the budget remains (remaining ≤ 0);
//!   3. `burning` -- a page tier fires;
//!   4. `warning` -- a ticket tier fires, or less than the policy's
//!      `warn.budget_remaining_below` percent of the budget remains;
//!   5. `ok`.
//!
//! **Maintenance.** A spec's maintenance windows ([`Maintenance::Once`], and
//! [`Maintenance::Weekly`] in the spec's time zone) mean "events in here do not count". Excluding
//! those events from the counts is the source's business (the generated rules and the sources
//! drop them). The evaluation's part: while a window is open, `in_maintenance` is true and no
//! tier is reported firing (the burn rates are still shown), so a planned outage never makes
//! an SLO `burning` or a ticket tier `warning`; budget-based `exhausted` and `warning` still
//! apply, since the budget spent before the window is real.
//!
//! **Composites** ([`composite`]): a journey's weighted SLI from its components' SLIs
//! ([`composite_sli`]); a component without an SLI makes the composite `no-data`.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::math::{Budget, Severity, burn_rate, composite_sli, format_duration, sufficient_data, time_to_exhaustion};
use crate::source::{Counts, Query, Reading, SourceError, window_range};
use crate::spec::{Budgeting, JourneySlos, Maintenance, Slo, SloKey, Spec};

/// An SLO's condition, from best to worst except `no-data`, which says nothing either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    Warning,
    Burning,
    Exhausted,
    NoData,
}

impl Status {
    pub const ALL: [Status; 5] = [Status::Ok, Status::Warning, Status::Burning, Status::Exhausted, Status::NoData];

    /// The name used in the API, the database and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Burning => "burning",
            Status::Exhausted => "exhausted",
            Status::NoData => "no-data",
        }
    }

    /// For "worst first": exhausted, burning, no-data (nothing is known), warning, ok.
    pub fn severity_rank(self) -> u8 {
        match self {
            Status::Exhausted => 4,
            Status::Burning => 3,
            Status::NoData => 2,
            Status::Warning => 1,
            Status::Ok => 0,
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One alert tier's burn rates at the evaluation instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TierBurn {
    /// `fast-page`, `slow-page`, `fast-ticket`, `slow-ticket`.
    pub tier: String,
    pub severity: Severity,
    /// Prometheus-style duration, e.g. `1h`.
    pub long_window: String,
    pub short_window: String,
    /// `None` when the window had no events.
    pub long_burn_rate: Option<f64>,
    pub short_burn_rate: Option<f64>,
    /// The tier's burn-rate factor (e.g. 14.4), as written.
    pub threshold: String,
    pub firing: bool,
}

/// One SLO evaluated at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub service: String,
    pub journey: String,
    pub slo: String,
    pub evaluated_at: Timestamp,
    pub status: Status,
    /// Why `no-data` (or a note on how the numbers were computed).
    pub reason: Option<String>,
    pub sli: Option<f64>,
    /// Fraction of the error budget left (1 = untouched, negative = overspent).
    pub budget_remaining: Option<f64>,
    /// Fraction of the error budget spent.
    pub budget_consumed: Option<f64>,
    pub burn_rates: Vec<TierBurn>,
    pub time_to_exhaustion_seconds: Option<f64>,
    pub in_maintenance: bool,
}

impl Evaluation {
    pub fn key(&self) -> SloKey {
        SloKey::new(&self.service, &self.slo)
    }
}

/// The open maintenance window at `now`, if any.
pub fn open_maintenance(spec: &Spec, now: Timestamp) -> Option<&Maintenance> {
    open_window(&spec.maintenance, &spec.time_zone, now)
}

/// The first of `windows` (weekly ones in `time_zone`) open at `now`, if any: the spec's
/// maintenance windows, or its policy's freeze windows.
pub fn open_window<'a>(windows: &'a [Maintenance], time_zone: &str, now: Timestamp) -> Option<&'a Maintenance> {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    windows.iter().find(|m| match m {
        Maintenance::Once { start, end, .. } => *start <= now && now < *end,
        Maintenance::Weekly { weekday, start, duration, .. } => {
            // The latest weekly start at or before `now`: look back over the last 8 days.
            let local = now.to_zoned_datetime(tz.clone());
            (0..8).any(|back| {
                let Ok(date) = local.date().checked_sub(SignedDuration::from_hours(24 * back)) else { return false };
                if date.weekday() != *weekday {
                    return false;
                }
                let Ok(begin) = tz.to_timestamp(date.to_datetime(*start)) else { return false };
                begin <= now && begin.checked_add(*duration).is_ok_and(|end| now < end)
            })
        }
    })
}

/// The range the SLO window covers at `now` (as [`Query::for_slo`] asks for it).
/// Evaluates `slo` of `spec` from the source's answer at `now`.
pub fn evaluate(spec: &Spec, slo: &Slo, reading: &Result<Reading, SourceError>, now: Timestamp) -> Evaluation {
    evaluate_in(spec, slo, reading, now, false)
}

/// [`evaluate`], with `other_maintenance` true when a window from elsewhere than the spec (the
/// service's maintenance mode, the controller's API: [`crate::maintenance`]) covers the SLO.
pub fn evaluate_in(
    spec: &Spec,
    slo: &Slo,
    reading: &Result<Reading, SourceError>,
    now: Timestamp,
    other_maintenance: bool,
) -> Evaluation {
    let maintenance = open_maintenance(spec, now).is_some() || other_maintenance;
    let mut e = Evaluation {
        service: spec.service.clone(),
        journey: slo.journey.clone(),
        slo: slo.id.clone(),
        evaluated_at: now,
        status: Status::NoData,
        reason: None,
        sli: None,
        budget_remaining: None,
        budget_consumed: None,
        burn_rates: Vec::new(),
        time_to_exhaustion_seconds: None,
        in_maintenance: maintenance,
    };
    let reading = match reading {
        Ok(r) => r,
        Err(err) => {
            e.reason = Some(err.to_string());
            return e;
        }
    };
    let objective = &slo.objective;
    let counts = |range: SignedDuration| reading.ranges.get(&range).copied();
    let ratio = |c: Option<Counts>| c.and_then(|c| c.error_ratio());
    let rate = |c: Option<Counts>| ratio(c).map(|r| burn_rate(r, objective));

    for t in &slo.alerting.tiers {
        let (long, short) = (counts(t.tier.long_window), counts(t.tier.short_window));
        let firing =
            !maintenance && t.tier.fires(ratio(long).unwrap_or(f64::NAN), ratio(short).unwrap_or(f64::NAN), objective);
        e.burn_rates.push(TierBurn {
            tier: t.name.clone(),
            severity: t.tier.severity,
            long_window: format_duration(t.tier.long_window),
            short_window: format_duration(t.tier.short_window),
            long_burn_rate: rate(long).filter(|r| r.is_finite()),
            short_burn_rate: rate(short).filter(|r| r.is_finite()),
            threshold: t.tier.burn_rate.normalize().to_string(),
            firing,
        });
    }

    let span = window_range(slo, now);
    let Some(window) = counts(span) else {
        e.reason = Some(format!("the source has no data for the {} window", slo.window));
        return e;
    };
    let min = slo.min_events_per_hour.and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d));
    if window.total <= 0.0 || !window.total.is_finite() {
        e.reason = Some(format!("no events in the {} window", slo.window));
        return e;
    }
    // The traffic guard reads the last hour, as the generated rules do
    // (`sum(rate(total[1h])) * 3600 >= N`): it asks whether burn rates are trustworthy now, and a
    // young install or a quiet month should not hide a busy hour (nor the reverse).
    let hour = SignedDuration::from_hours(1);
    let (recent, recent_span) = counts(hour).map_or((window, span), |c| (c, hour));
    if !sufficient_data(recent.total, recent_span, min) {
        e.reason = Some(format!(
            "insufficient data: {} events in the last {}, below min_events_per_hour {}",
            recent.total,
            format_duration(recent_span),
            slo.min_events_per_hour.map(|d| d.to_string()).unwrap_or_default()
        ));
        return e;
    }

    let budget = Budget::from_events(objective, window.good, window.total);
    e.sli = budget.sli;
    e.budget_remaining = Some(budget.remaining_fraction).filter(|f| f.is_finite());
    e.budget_consumed = Some(budget.consumed_fraction).filter(|f| f.is_finite());
    if matches!(slo.budgeting, Budgeting::Timeslices { .. }) {
        e.reason = Some("timeslices budgeted by occurrences (the source reports events, not slices)".into());
    }

    let current_range = if Query::for_slo(spec, slo, now).ranges.contains(&spec.policy.warn.burn_window) {
        Some(spec.policy.warn.burn_window)
    } else {
        slo.alerting.tiers.first().map(|t| t.tier.long_window)
    };
    let current_rate = current_range.and_then(|r| rate(counts(r)));
    if let Some(r) = current_rate {
        e.time_to_exhaustion_seconds =
            time_to_exhaustion(budget.remaining_fraction, r, slo.window.nominal_length()).map(|d| d.as_secs_f64());
    }

    let fires = |severity: Severity| e.burn_rates.iter().any(|b| b.firing && b.severity == severity);
    let warn_below = spec
        .policy
        .warn
        .budget_remaining_below
        .and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d))
        .map(|percent| percent / 100.0);
    e.status = if budget.is_exhausted() {
        Status::Exhausted
    } else if fires(Severity::Page) {
        Status::Burning
    } else if fires(Severity::Ticket) || warn_below.is_some_and(|w| budget.remaining_fraction < w) {
        Status::Warning
    } else {
        Status::Ok
    };
    e
}

/// A journey's composite at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompositeEvaluation {
    pub id: String,
    /// The objective as written, e.g. `99`.
    pub objective: String,
    /// The weighted SLI, or `None` when a component has none.
    pub sli: Option<f64>,
    /// Whether the composite SLI meets its objective.
    pub meets_objective: Option<bool>,
}

/// The journey's composite from its components' latest SLIs (`sli_of(slo id)`).
pub fn composite(journey: &JourneySlos, sli_of: impl Fn(&str) -> Option<f64>) -> Option<CompositeEvaluation> {
    let c = journey.composite.as_ref()?;
    let parts: Option<Vec<(f64, f64)>> = c
        .components
        .iter()
        .map(|p| Some((sli_of(&p.slo)?, rust_decimal::prelude::ToPrimitive::to_f64(&p.weight)?)))
        .collect();
    let sli = parts.as_deref().and_then(composite_sli);
    Some(CompositeEvaluation {
        id: c.id.clone(),
        objective: c.objective.to_string(),
        sli,
        meets_objective: sli.map(|s| s >= c.objective.target_f64()),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const SPEC: &str = r#"
service: shop
error_budget_policy:
  warn: { budget_remaining_below: 25 }
maintenance:
  - name: deploy
    start: 2026-01-10T00:00:00Z
    end: 2026-01-10T01:00:00Z
journeys:
  checkout:
    slos:
      - id: checkout-availability
        objective: 99
        window: 30d
        min_events_per_hour: 10
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="checkout", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="checkout"}
"#;

    fn spec() -> Spec {
        crate::spec::load_str(Path::new("shop.yaml"), SPEC).expect("valid spec")
    }

    fn now() -> Timestamp {
        "2026-01-05T12:00:00Z".parse().expect("timestamp")
    }

    /// Every queried range gets `per_hour` events per hour at `bad_ratio`, except `overrides`.
    fn reading(spec: &Spec, per_hour: f64, bad_ratio: f64, overrides: &[(SignedDuration, f64)]) -> Reading {
        let slo = spec.slos().next().expect("an SLO");
        let q = Query::for_slo(spec, slo, now());
        let ranges = q
            .ranges
            .iter()
            .map(|r| {
                let total = per_hour * r.as_secs_f64() / 3600.0;
                let bad = overrides.iter().find(|(o, _)| o == r).map_or(bad_ratio, |(_, b)| *b);
                (*r, Counts { good: total * (1.0 - bad), total })
            })
            .collect();
        Reading { ranges }
    }

    fn eval(reading: Result<Reading, SourceError>) -> Evaluation {
        eval_at(reading, now())
    }

    fn eval_at(reading: Result<Reading, SourceError>, at: Timestamp) -> Evaluation {
        let spec = spec();
        let slo = spec.slos().next().expect("an SLO").clone();
        evaluate(&spec, &slo, &reading, at)
    }

    #[test]
    fn a_healthy_slo_is_ok_with_its_budget_mostly_left() {
        let s = spec();
        let e = eval(Ok(reading(&s, 1000.0, 0.001, &[])));
        assert_eq!(e.status, Status::Ok, "{e:?}");
        assert!((e.budget_remaining.expect("budget") - 0.9).abs() < 1e-9);
        assert!((e.sli.expect("sli") - 0.999).abs() < 1e-12);
        assert_eq!(e.burn_rates.len(), 4);
        assert!(e.burn_rates.iter().all(|b| !b.firing));
        assert!(!e.in_maintenance);
    }

    #[test]
    fn a_fast_burn_pages_as_burning() {
        let s = spec();
        let hour = SignedDuration::from_hours(1);
        let five = SignedDuration::from_mins(5);
        let e = eval(Ok(reading(&s, 1000.0, 0.0001, &[(hour, 0.5), (five, 0.5)])));
        assert_eq!(e.status, Status::Burning, "{e:?}");
        let fast = &e.burn_rates[0];
        assert!(fast.firing);
        assert!((fast.long_burn_rate.expect("rate") - 50.0).abs() < 1e-9);
        assert!(e.time_to_exhaustion_seconds.is_some());
    }

    #[test]
    fn a_ticket_tier_or_a_low_budget_is_a_warning() {
        let s = spec();
        let (day, two) = (SignedDuration::from_hours(24), SignedDuration::from_hours(2));
        let ticket = eval(Ok(reading(&s, 1000.0, 0.0001, &[(day, 0.05), (two, 0.05)])));
        assert_eq!(ticket.status, Status::Warning, "{ticket:?}");
        // 0.008 of 0.01 spent over the window: 20 % left, below the policy's 25 %.
        let low = eval(Ok(reading(&s, 1000.0, 0.0, &[(SignedDuration::from_hours(720), 0.008)])));
        assert_eq!(low.status, Status::Warning, "{low:?}");
        assert!(low.burn_rates.iter().all(|b| !b.firing));
    }

    #[test]
    fn a_spent_budget_is_exhausted() {
        let s = spec();
        let e = eval(Ok(reading(&s, 1000.0, 0.02, &[])));
        assert_eq!(e.status, Status::Exhausted, "{e:?}");
        assert!(e.budget_remaining.expect("budget") < 0.0);
        assert_eq!(e.time_to_exhaustion_seconds, Some(0.0));
    }

    #[test]
    fn no_source_no_events_or_too_little_traffic_is_no_data_with_a_reason() {
        let s = spec();
        let failed = eval(Err(SourceError::NotConfigured));
        assert_eq!((failed.status, failed.reason.as_deref()), (Status::NoData, Some("no source is configured")));
        let empty = eval(Ok(reading(&s, 0.0, 0.0, &[])));
        assert_eq!(empty.status, Status::NoData);
        assert!(empty.reason.expect("reason").contains("no events"));
        let quiet = eval(Ok(reading(&s, 5.0, 0.0, &[])));
        assert_eq!(quiet.status, Status::NoData);
        assert!(quiet.reason.expect("reason").contains("insufficient data"));
        assert_eq!(quiet.sli, None);
    }

    #[test]
    fn a_calendar_window_finds_its_reading_when_the_instant_is_held_in_milliseconds() {
        let text = "service: s\njourneys:\n  j:\n    slos:\n      - id: a\n        objective: 99\n        window: month\n        sli:\n          ratio:\n            bad: job_runs_total{outcome=\"failure\"}\n            total: job_runs_total\n";
        let spec = crate::spec::load_str(Path::new("s.yaml"), text).expect("valid");
        let slo = spec.slos().next().expect("an SLO").clone();
        let at: Timestamp = "2026-11-25T19:02:03.123456789Z".parse().expect("instant");
        let q = Query::for_slo(&spec, &slo, at);
        let reading =
            Reading { ranges: q.ranges.iter().map(|r| (*r, Counts { good: 1000.0, total: 1000.0 })).collect() };
        // The controller evaluates at the same instant truncated to milliseconds.
        let ms = Timestamp::from_millisecond(at.as_millisecond()).expect("instant");
        let e = evaluate(&spec, &slo, &Ok(reading), ms);
        assert_eq!(e.status, Status::Ok, "{e:?}");
    }

    #[test]
    fn the_traffic_guard_reads_the_last_hour_not_the_whole_window() {
        let s = spec();
        let hour = SignedDuration::from_hours(1);
        // A young install: only the last hour has events, far below 10/h over 28 days but
        // 50 events in the last hour, so the burn rates can be trusted.
        let mut young = reading(&s, 50.0, 0.0, &[]);
        for (range, counts) in young.ranges.iter_mut() {
            if *range > hour {
                *counts = Counts { good: 50.0, total: 50.0 };
            }
        }
        let e = eval(Ok(young));
        assert_ne!(e.status, Status::NoData, "{e:?}");
        // A busy month whose last hour was quiet: the guard holds the page back.
        let mut quiet_hour = reading(&s, 100.0, 0.0, &[]);
        quiet_hour.ranges.insert(hour, Counts { good: 3.0, total: 3.0 });
        let e = eval(Ok(quiet_hour));
        assert_eq!(e.status, Status::NoData);
        assert!(e.reason.expect("reason").contains("3 events in the last 1h"));
    }

    #[test]
    fn no_tier_fires_during_an_open_maintenance_window() {
        let s = spec();
        let at: Timestamp = "2026-01-10T00:30:00Z".parse().expect("timestamp");
        let hour = SignedDuration::from_hours(1);
        let five = SignedDuration::from_mins(5);
        let mut r = reading(&s, 1000.0, 0.0001, &[]);
        let slo = s.slos().next().expect("slo");
        // Rebuild the reading for the maintenance instant (calendar-free: ranges do not move).
        r.ranges = Query::for_slo(&s, slo, at)
            .ranges
            .iter()
            .map(|range| {
                let total = 1000.0 * range.as_secs_f64() / 3600.0;
                let bad = if *range == hour || *range == five { 0.5 } else { 0.0001 };
                (*range, Counts { good: total * (1.0 - bad), total })
            })
            .collect();
        let e = eval_at(Ok(r), at);
        assert!(e.in_maintenance);
        assert_eq!(e.status, Status::Ok, "{e:?}");
        assert!(e.burn_rates[0].long_burn_rate.expect("rate") > 14.4);
        assert!(!e.burn_rates[0].firing);
    }

    #[test]
    fn weekly_maintenance_is_open_only_inside_its_local_hours() {
        let text = SPEC.replace(
            "start: 2026-01-10T00:00:00Z\n    end: 2026-01-10T01:00:00Z",
            r#"weekly: { on: sunday, at: "02:00", for: 1h }"#,
        );
        let s = crate::spec::load_str(Path::new("shop.yaml"), &text).expect("valid spec");
        // Asia/Tokyo (the default zone) Sunday 2026-01-11 02:30 is Saturday 17:30 UTC.
        assert!(open_maintenance(&s, "2026-01-10T17:30:00Z".parse().expect("ts")).is_some());
        assert!(open_maintenance(&s, "2026-01-10T18:30:00Z".parse().expect("ts")).is_none());
        assert!(open_maintenance(&s, "2026-01-11T17:30:00Z".parse().expect("ts")).is_none());
    }

    #[test]
    fn a_composite_weights_its_components_and_needs_all_of_them() {
        let s = crate::spec::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/slos/fulfillment.yaml"))
            .expect("the fulfillment spec loads");
        let journey = s.journeys.iter().find(|j| j.composite.is_some()).expect("a composite journey");
        let c =
            composite(journey, |id| Some(if id.ends_with("availability") { 1.0 } else { 0.98 })).expect("composite");
        assert!((c.sli.expect("sli") - (2.0 + 0.98) / 3.0).abs() < 1e-12);
        assert_eq!(c.meets_objective, Some(true));
        let missing = composite(journey, |id| id.ends_with("availability").then_some(1.0)).expect("composite");
        assert_eq!((missing.sli, missing.meets_objective), (None, None));
    }
}
