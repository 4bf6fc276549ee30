//! What receivers are told: the [`Notification`] (the generic webhook's body, and what every
//! other receiver's request is made from) and its words -- the one-line summary of a trigger
//! or a resolve, for a burn-rate tier, a no-data alert, or an alert whose tier left the specs.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::process::Candidate;
use super::{Alert, BURN_ALERT, NO_DATA_ALERT, NO_DATA_TIER};
use crate::math::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Trigger,
    Resolve,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Trigger => "trigger",
            Event::Resolve => "resolve",
        }
    }
}

/// What receivers are told; the generic webhook's body is exactly this, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    /// The dedup key: the same for every notification of one alert.
    pub key: String,
    pub event: Event,
    /// `ErrorBudgetBurn` or `SloNoData`.
    pub alertname: String,
    pub service: String,
    pub journey: String,
    pub slo: String,
    pub tier: String,
    pub severity: Severity,
    pub long_window: String,
    pub short_window: String,
    pub long_burn_rate: Option<f64>,
    pub short_burn_rate: Option<f64>,
    /// The tier's burn-rate factor as written (none for no-data).
    pub threshold: Option<String>,
    pub summary: String,
    /// Every label of the alert (those above and the spec's `labels`).
    pub labels: BTreeMap<String, String>,
    /// When the alert started firing (RFC 3339).
    #[schema(value_type = String)]
    pub starts_at: Timestamp,
    /// When it resolved (resolves only).
    #[schema(value_type = Option<String>)]
    pub ends_at: Option<Timestamp>,
    pub dashboard: Option<String>,
}

/// The notification `event` of `alert` says at `now`, from what the cycle knows (`c`).
pub(super) fn notification(alert: &Alert, c: &Candidate<'_>, event: Event, now: Timestamp) -> Notification {
    let (slo, service, journey) = (&alert.slo, &alert.service, &alert.journey);
    let rate = |r: Option<f64>| r.map_or("no data".to_owned(), |r| format!("{r:.1}×"));
    let summary = match (c.burn, c.no_data, event) {
        (Some(b), _, Event::Trigger) => format!(
            "{} ({}, journey {}) is burning its error budget at {} over {} and {} over {} (threshold {}×)",
            slo,
            service,
            journey,
            rate(b.long_burn_rate),
            b.long_window,
            rate(b.short_burn_rate),
            b.short_window,
            b.threshold
        ),
        (Some(b), _, Event::Resolve) => format!(
            "{} ({}, journey {}) no longer burns above {}× ({} over {})",
            slo,
            service,
            journey,
            b.threshold,
            rate(b.long_burn_rate),
            b.long_window
        ),
        (None, after, Event::Trigger) => format!(
            "{} ({}, journey {}) has had no data for {}: {}",
            slo,
            service,
            journey,
            after.map(crate::math::format_duration).unwrap_or_default(),
            c.e.and_then(|e| e.reason.as_deref()).unwrap_or("no data")
        ),
        (None, _, Event::Resolve) if c.e.is_none() => {
            format!("{slo} ({service}, journey {journey}): the {} alert is no longer configured", alert.tier)
        }
        (None, _, Event::Resolve) => format!("{slo} ({service}, journey {journey}) has data again"),
    };
    Notification {
        key: alert.key.clone(),
        event,
        alertname: if alert.tier == NO_DATA_TIER { NO_DATA_ALERT } else { BURN_ALERT }.into(),
        service: alert.service.clone(),
        journey: alert.journey.clone(),
        slo: alert.slo.clone(),
        tier: alert.tier.clone(),
        severity: alert.severity,
        long_window: alert.long_window.clone(),
        short_window: alert.short_window.clone(),
        long_burn_rate: c.burn.and_then(|b| b.long_burn_rate),
        short_burn_rate: c.burn.and_then(|b| b.short_burn_rate),
        threshold: c.burn.map(|b| b.threshold.clone()),
        summary,
        labels: alert.labels(c.spec),
        starts_at: alert.firing_since.unwrap_or(now),
        ends_at: (event == Event::Resolve).then_some(now),
        dashboard: c.spec.and_then(|s| s.dashboard_link(&alert.slo)),
    }
}
