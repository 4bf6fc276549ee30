//! One cycle of alerting: every evaluation advances the alerts of its SLO (see the lifecycle
//! rules in [`super`]) and the notifications that result are queued in the outbox, all in one
//! transaction, retried whole on a transient conflict.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use platform::Db;

use super::notification::{Event, notification};
use super::{Alert, AlertError, AlertState, Hold, NO_DATA_TIER, Settings, alert_key, outbox, silence, state, store};
use crate::eval::{Evaluation, Status, TierBurn};
use crate::math::Severity;
use crate::spec::{Spec, Specs};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessReport {
    /// State transitions taken.
    pub transitions: usize,
    /// Outbox rows written (one per notification per receiver).
    pub enqueued: usize,
    /// Notifications a silence suppressed.
    pub silenced: usize,
}

/// Advances every alert the evaluations concern and queues the notifications that result, all
/// in one transaction (see the module doc for the rules).
#[tracing::instrument(skip_all, fields(evaluations = evaluations.len()))]
pub async fn process(
    db: &Db,
    specs: &Specs,
    evaluations: &[Evaluation],
    now: Timestamp,
    settings: &Settings,
) -> Result<ProcessReport, AlertError> {
    platform::transaction!(db, AlertError, |tx| {
        let mut alerts: HashMap<String, Alert> =
            store::all(tx).await?.into_iter().map(|a| (a.key.clone(), a)).collect();
        let silences = silence::active(tx, now).await?;
        let renotify = SignedDuration::try_from(settings.renotify_interval).unwrap_or(SignedDuration::from_hours(4));
        let mut report = ProcessReport::default();
        let mut touched: HashSet<String> = HashSet::new();

        for e in evaluations {
            let spec = specs.iter().find(|s| s.service == e.service);
            let slo = spec.and_then(|s| s.slo(&e.slo));
            // Burn-rate tiers: nothing is known while the SLO is `no-data`.
            if e.status != Status::NoData {
                for b in &e.burn_rates {
                    let key = alert_key(&e.service, &e.slo, &b.tier);
                    let alert = alerts
                        .remove(&key)
                        .unwrap_or_else(|| Alert::new(e, &b.tier, b.severity, &b.long_window, &b.short_window));
                    let holds = match (e.in_maintenance, alert.state) {
                        (false, _) => Some(b.firing),
                        (true, AlertState::Pending) => Some(false),
                        (true, _) => None,
                    };
                    // A tier's `pending` (Prometheus `for:`, OpenSLO `alertAfter`) holds it as the
                    // generated rule does: firing once the condition has held that long.
                    let pending =
                        slo.and_then(|s| s.alerting.tiers.iter().find(|t| t.name == b.tier)).and_then(|t| t.pending);
                    let hold = match pending {
                        Some(p) => {
                            let since = match alert.state {
                                AlertState::Pending => alert.pending_since.unwrap_or(now),
                                _ => now,
                            };
                            Hold::Until { ready: now.duration_since(since) >= p }
                        }
                        None if b.severity == Severity::Page => Hold::None,
                        None => Hold::OneCycle,
                    };
                    let n = Candidate { e: Some(e), spec, burn: Some(b), no_data: None };
                    let alert =
                        advance(tx, alert, holds, hold, &n, &silences, now, renotify, settings, &mut report).await?;
                    touched.insert(key.clone());
                    alerts.insert(key, alert);
                }
            }
            if let Some(after) = slo.and_then(|s| s.alerting.no_data) {
                let key = alert_key(&e.service, &e.slo, NO_DATA_TIER);
                let alert = alerts.remove(&key).unwrap_or_else(|| {
                    let range = crate::math::format_duration(after);
                    Alert::new(e, NO_DATA_TIER, Severity::Ticket, &range, &range)
                });
                let holds = match (e.in_maintenance, alert.state) {
                    (false, _) => Some(e.status == Status::NoData),
                    (true, AlertState::Pending) => Some(false),
                    (true, _) => None,
                };
                let since = alert.pending_since.unwrap_or(now);
                let ready = now.duration_since(since) >= after;
                let n = Candidate { e: Some(e), spec, burn: None, no_data: Some(after) };
                let alert = advance(
                    tx,
                    alert,
                    holds,
                    Hold::Until { ready },
                    &n,
                    &silences,
                    now,
                    renotify,
                    settings,
                    &mut report,
                )
                .await?;
                touched.insert(key.clone());
                alerts.insert(key, alert);
            }
        }
        // Alerts whose tier, no-data setting or SLO left the specs: a firing one resolves (and
        // says so), a pending one is cancelled; nothing would ever end them otherwise.
        let mut retired: Vec<Alert> = alerts
            .into_values()
            .filter(|a| !touched.contains(&a.key) && matches!(a.state, AlertState::Pending | AlertState::Firing))
            .filter(|a| {
                let slo = specs.iter().find(|s| s.service == a.service).and_then(|s| s.slo(&a.slo));
                match slo {
                    None => true,
                    Some(s) if a.tier == NO_DATA_TIER => s.alerting.no_data.is_none(),
                    Some(s) => !s.alerting.tiers.iter().any(|t| t.name == a.tier),
                }
            })
            .collect();
        retired.sort_by(|a, b| a.key.cmp(&b.key));
        for alert in retired {
            let spec = specs.iter().find(|s| s.service == alert.service);
            let n = Candidate { e: None, spec, burn: None, no_data: None };
            advance(tx, alert, Some(false), Hold::None, &n, &silences, now, renotify, settings, &mut report).await?;
        }
        Ok(report)
    })
}

/// What a notification is built from.
pub(super) struct Candidate<'a> {
    /// None for an alert whose SLO or tier left the specs.
    pub e: Option<&'a Evaluation>,
    pub spec: Option<&'a Spec>,
    pub burn: Option<&'a TierBurn>,
    pub no_data: Option<SignedDuration>,
}

#[allow(clippy::too_many_arguments)]
async fn advance(
    tx: &mut sqlx::AnyConnection,
    mut alert: Alert,
    holds: Option<bool>,
    hold: Hold,
    c: &Candidate<'_>,
    silences: &[silence::Silence],
    now: Timestamp,
    renotify: SignedDuration,
    settings: &Settings,
    report: &mut ProcessReport,
) -> Result<Alert, AlertError> {
    let before = alert.clone();
    if let Some(holds) = holds {
        let step = state::step(alert.state, holds, hold)?;
        for &(from, to) in &step.transitions {
            report.transitions += 1;
            match to {
                AlertState::Pending => alert.pending_since = Some(now),
                AlertState::Firing => alert.firing_since = Some(now),
                AlertState::Resolved => alert.resolved_at = Some(now),
                AlertState::Inactive => alert.pending_since = None,
            }
            tracing::info!(key = %alert.key, service = %alert.service, slo = %alert.slo, tier = %alert.tier,
                from = from.as_str(), to = to.as_str(), "alert transition");
        }
        alert.state = step.state;
        if step.resolved() {
            alert.pending_since = None;
            if alert.notified_at.take().is_some() {
                report.enqueued += enqueue(tx, &alert, c, Event::Resolve, now, settings).await?;
            }
        }
    }
    if alert.state == AlertState::Firing && !c.e.is_some_and(|e| e.in_maintenance) {
        let due = alert.notified_at.is_none_or(|at| now.duration_since(at) >= renotify);
        if due {
            let labels = alert.labels(c.spec);
            if silences.iter().any(|s| s.matches(&labels)) {
                report.silenced += 1;
            } else {
                report.enqueued += enqueue(tx, &alert, c, Event::Trigger, now, settings).await?;
                alert.notified_at = Some(now);
            }
        }
    }
    if alert != before {
        store::save(tx, &alert, now).await?;
    }
    Ok(alert)
}

async fn enqueue(
    tx: &mut sqlx::AnyConnection,
    alert: &Alert,
    c: &Candidate<'_>,
    event: Event,
    now: Timestamp,
    settings: &Settings,
) -> Result<usize, sqlx::Error> {
    let n = notification(alert, c, event, now);
    for r in &settings.receivers {
        outbox::insert(tx, r.name(), &n, now).await?;
    }
    Ok(settings.receivers.len())
}
