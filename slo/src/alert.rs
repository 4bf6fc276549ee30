//! Alerting: every cycle's evaluations drive one alert per (service, SLO, tier), and one per SLO
//! for "no data" when its spec sets `alerting.no_data`; alerts that fire or resolve notify
//! on-call through the configured [`receiver`]s, by way of a transactional [`outbox`].
//!
//! **Lifecycle** ([`state`]): `inactive → pending → firing → resolved`, persisted in
//! `slo_alert` (migration `0003_alert.sql`), so a restart or a standby taking over carries on
//! from the stored state instead of paging again.
//! * A *page* tier fires in the cycle its condition starts. The multi-window multi-burn-rate
//!   condition already requires the short window (5 m for the fast page, 30 m for the slow one)
//!   to burn above the threshold too, which is what a `for:` clause would otherwise buy: "the
//!   short window ... acts as a for clause" without delaying detection (The Site Reliability
//!   Workbook, ch. 5 "Alerting on SLOs", approach 6). Holding a page one more cycle would only
//!   add an interval to the time to detect.
//! * A *ticket* tier stays `pending` one cycle and fires if it still holds at the next: tickets
//!   are not urgent, and a single cycle's blip on the slow windows should not open one.
//! * A tier resolves in the first cycle it no longer fires; a pending one that stops goes back
//!   to `inactive` without anyone being told.
//! * **No data is not an outage.** While an SLO is `no-data` its tier alerts keep their state:
//!   nothing begins, fires or resolves on what is not known. Only the `SloNoData` alert (tier
//!   `no-data`, severity `ticket`, as in the generated Prometheus rules) reacts: pending when
//!   the SLO turns `no-data`, firing once it has stayed so for `alerting.no_data`, resolved
//!   when data returns. Without `alerting.no_data` no-data alerts nothing.
//! * **Maintenance.** During an open maintenance window nothing begins or fires and a pending
//!   alert is cancelled (no-data alerts too: the generated `SloNoData` rule is also muted in
//!   maintenance); an alert already firing keeps firing (the incident predates the
//!   window; resolving it because the evaluation stopped counting would be a false all-clear)
//!   but is not re-notified.
//! * **Retired alerts.** An alert whose tier, no-data setting or whole SLO left the specs (a
//!   reload) resolves, with a resolve notification if it had fired, instead of staying firing
//!   forever.
//!
//! **Notifications.** A trigger when an alert fires, again every `renotify_interval` (default
//! 4 h) while it fires, and a resolve when it resolves. The dedup key is the first 32 hex
//! digits of `sha256("service/slo/tier")` ([`alert_key`]): the same for every notification of
//! one alert, so receivers that deduplicate (PagerDuty's `dedup_key`, Alertmanager's labels)
//! fold them. A matching [`silence`] suppresses triggers and re-notifications (the state is
//! still tracked, and once the silence ends a still-firing alert is notified); a resolve is
//! sent whenever a trigger was, silenced or not, so that PagerDuty incidents opened before the
//! silence are closed.
//!
//! **Outbox.** A cycle's transitions and the notifications they produce (one `slo_outbox` row
//! per receiver) are written in one transaction. A delivery task on the leader sends due rows
//! per receiver, every receiver on its own so that one that is down never holds back another,
//! and in order within a receiver (a resolve never overtakes its trigger); it marks a row
//! delivered only on a 2xx answer, and otherwise records the attempt and the error and retries
//! after an exponential backoff with jitter ([`outbox::backoff`], capped at 5 minutes). After
//! `--notification-attempts` failures (about an hour), or at once when its receiver is no
//! longer configured, a row is dead-lettered: counted, listed by the API and the dashboard,
//! never sent ([`outbox`]). A crash between "firing" and "delivered" leaves the row pending,
//! and the next leader delivers it: a page can be late (or, if the crash came after the
//! receiver's 2xx but before the row was marked, sent twice, which the dedup key absorbs),
//! never silently lost.
//!
//! **Verifying the generic webhook.** Each request carries `X-Kura-Timestamp` (Unix seconds
//! when it was sent) and `X-Kura-Signature: v1=<hex>`, where `<hex>` is the lowercase hex of
//! HMAC-SHA256 keyed with the shared secret over the timestamp, a `.` and the raw body
//! (`"{timestamp}.{body}"`). A receiver recomputes it from the raw bytes, compares in constant
//! time, and rejects a timestamp more than a few minutes from its clock, so a captured request
//! cannot be replayed later ([`receiver::verify`] does exactly that). Retries are signed anew
//! with their own timestamp.

pub mod metrics;
pub mod outbox;
pub mod receiver;
pub mod silence;
pub mod state;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::eval::{Evaluation, Status, TierBurn};
use crate::math::Severity;
use crate::spec::{Spec, Specs};
use platform::Db;
pub use receiver::{Receiver, Secret};
pub use state::{AlertState, Hold, IllegalTransition};

/// The tier name of an SLO's no-data alert.
pub const NO_DATA_TIER: &str = "no-data";
/// The alert name of burn-rate alerts, as in the generated Prometheus rules.
pub const BURN_ALERT: &str = "ErrorBudgetBurn";
/// The alert name of no-data alerts, as in the generated Prometheus rules.
pub const NO_DATA_ALERT: &str = "SloNoData";
/// `--renotify-interval`'s default.
pub const DEFAULT_RENOTIFY: Duration = Duration::from_secs(4 * 3600);

/// How alerting is configured (`slo controller` flags).
#[derive(Debug, Clone)]
pub struct Settings {
    pub receivers: Vec<Receiver>,
    /// Re-send a firing alert's trigger this often.
    pub renotify_interval: Duration,
    /// The first retry's delay; doubled per attempt up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Failed attempts before a notification is dead-lettered ([`outbox::MAX_ATTEMPTS`]).
    pub max_attempts: u32,
    /// How often the delivery task looks for due rows.
    pub poll_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            receivers: Vec::new(),
            renotify_interval: DEFAULT_RENOTIFY,
            retry_base: Duration::from_secs(2),
            retry_cap: outbox::RETRY_CAP,
            max_attempts: outbox::MAX_ATTEMPTS,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// The `slo controller` flags for alerting (flattened into its arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Generic JSON webhook receiving every notification (signed when --webhook-secret is set).
    #[arg(long, env = "SLO_WEBHOOK", value_name = "URL")]
    pub webhook: Option<String>,
    /// HMAC-SHA256 key signing --webhook requests (X-Kura-Timestamp, X-Kura-Signature: v1=...).
    #[arg(long, env = "SLO_WEBHOOK_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Slack incoming-webhook URL.
    #[arg(long, env = "SLO_SLACK_WEBHOOK", value_name = "URL", hide_env_values = true)]
    pub slack_webhook: Option<String>,
    /// PagerDuty Events API v2 routing (integration) key.
    #[arg(long, env = "SLO_PAGERDUTY_ROUTING_KEY", value_name = "KEY", hide_env_values = true)]
    pub pagerduty_routing_key: Option<String>,
    /// PagerDuty Events API base URL (events go to {URL}/v2/enqueue).
    #[arg(long, env = "SLO_PAGERDUTY_URL", value_name = "URL", default_value = "https://events.pagerduty.com")]
    pub pagerduty_url: String,
    /// Alertmanager base URL (alerts go to {URL}/api/v2/alerts).
    #[arg(long, env = "SLO_ALERTMANAGER", value_name = "URL")]
    pub alertmanager: Option<String>,
    /// Re-send a still-firing alert this often (Prometheus duration).
    #[arg(long, env = "SLO_RENOTIFY_INTERVAL", default_value = "4h", value_parser = parse_renotify)]
    pub renotify_interval: Duration,
    /// Failed attempts (retried with backoff up to 5 minutes apart) before a notification is
    /// given up on and dead-lettered; the default spans about an hour.
    #[arg(long, env = "SLO_NOTIFICATION_ATTEMPTS", default_value_t = outbox::MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..))]
    pub notification_attempts: u32,
    /// Bearer token required by the API's write endpoints (silences); without it writes are refused.
    #[arg(long, env = "SLO_API_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
}

fn parse_renotify(s: &str) -> Result<Duration, String> {
    let d = crate::math::parse_duration(s).map_err(|e| e.to_string())?;
    let d = Duration::try_from(d).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(60) {
        return Err("the re-notification interval must be at least 1m".into());
    }
    Ok(d)
}

impl Args {
    /// The settings the flags describe; an error names the flag at fault.
    pub fn settings(&self) -> Result<Settings, String> {
        let url = |flag: &str, u: &str| {
            if u.starts_with("http://") || u.starts_with("https://") {
                Ok(u.trim_end_matches('/').to_owned())
            } else if flag == "slack-webhook" {
                // Slack's URL is its secret: not echoed.
                Err(format!("--{flag} must be an https:// URL"))
            } else {
                Err(format!("--{flag} must be an http:// or https:// URL (got {u:?})"))
            }
        };
        let mut receivers = Vec::new();
        if let Some(u) = &self.webhook {
            if self.webhook_secret.is_none() {
                tracing::warn!("--webhook without --webhook-secret: requests are not signed");
            }
            receivers.push(Receiver::Webhook {
                url: url("webhook", u)?,
                secret: self.webhook_secret.clone().filter(|s| !s.is_empty()).map(Secret),
            });
        }
        if let Some(u) = &self.slack_webhook {
            receivers.push(Receiver::Slack { url: Secret(url("slack-webhook", u)?) });
        }
        if let Some(key) = &self.pagerduty_routing_key {
            receivers.push(Receiver::PagerDuty {
                base_url: url("pagerduty-url", &self.pagerduty_url)?,
                routing_key: Secret(key.clone()),
            });
        }
        if let Some(u) = &self.alertmanager {
            receivers.push(Receiver::Alertmanager { base_url: url("alertmanager", u)? });
        }
        Ok(Settings { receivers, renotify_interval: self.renotify_interval, ..Settings::default() })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
}

impl platform::db::DbError for AlertError {
    fn as_sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            AlertError::Database(e) => Some(e),
            AlertError::Transition(_) => None,
        }
    }
}

/// Whether a notification says "it fires" or "it stopped".
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

/// The dedup key of the alert of `tier` of `slo` of `service`.
pub fn alert_key(service: &str, slo: &str, tier: &str) -> String {
    let digest = Sha256::digest(format!("{service}/{slo}/{tier}").as_bytes());
    platform::signature::hex(&digest[..16])
}

/// One alert as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub key: String,
    pub service: String,
    pub journey: String,
    pub slo: String,
    pub tier: String,
    pub severity: Severity,
    pub long_window: String,
    pub short_window: String,
    pub state: AlertState,
    #[schema(value_type = Option<String>)]
    pub pending_since: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub firing_since: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<Timestamp>,
    /// The last trigger sent to the outbox; none since it resolved or while silenced.
    #[schema(value_type = Option<String>)]
    pub notified_at: Option<Timestamp>,
}

impl Alert {
    fn new(e: &Evaluation, tier: &str, severity: Severity, long_window: &str, short_window: &str) -> Alert {
        Alert {
            key: alert_key(&e.service, &e.slo, tier),
            service: e.service.clone(),
            journey: e.journey.clone(),
            slo: e.slo.clone(),
            tier: tier.into(),
            severity,
            long_window: long_window.into(),
            short_window: short_window.into(),
            state: AlertState::Inactive,
            pending_since: None,
            firing_since: None,
            resolved_at: None,
            notified_at: None,
        }
    }

    /// The alert's labels: those of the generated rules plus the spec's `labels`.
    pub fn labels(&self, spec: Option<&Spec>) -> BTreeMap<String, String> {
        let mut labels: BTreeMap<String, String> = spec.map(|s| s.labels.clone()).unwrap_or_default();
        let alertname = if self.tier == NO_DATA_TIER { NO_DATA_ALERT } else { BURN_ALERT };
        for (k, v) in [
            ("alertname", alertname),
            ("service", &self.service),
            ("journey", &self.journey),
            ("slo", &self.slo),
            ("tier", &self.tier),
            ("severity", self.severity.as_str()),
            ("long_window", &self.long_window),
            ("short_window", &self.short_window),
        ] {
            labels.insert(k.into(), v.into());
        }
        labels
    }
}

const COLUMNS: &str = "alert_key, service, journey, slo, tier, severity, long_window, short_window, state, \
     pending_since, firing_since, resolved_at, notified_at";

fn ts(ms: Option<i64>) -> Result<Option<Timestamp>, sqlx::Error> {
    ms.map(|ms| Timestamp::from_millisecond(ms).map_err(|e| sqlx::Error::Decode(e.into()))).transpose()
}

fn from_row(row: &AnyRow) -> Result<Alert, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(Alert {
        key: row.try_get("alert_key")?,
        service: row.try_get("service")?,
        journey: row.try_get("journey")?,
        slo: row.try_get("slo")?,
        tier: row.try_get("tier")?,
        severity: row
            .try_get::<String, _>("severity")?
            .parse()
            .map_err(|e: crate::math::alert::SeverityError| sqlx::Error::Decode(e.into()))?,
        long_window: row.try_get("long_window")?,
        short_window: row.try_get("short_window")?,
        state: AlertState::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown alert state {state:?}").into()))?,
        pending_since: ts(row.try_get("pending_since")?)?,
        firing_since: ts(row.try_get("firing_since")?)?,
        resolved_at: ts(row.try_get("resolved_at")?)?,
        notified_at: ts(row.try_get("notified_at")?)?,
    })
}

/// Every alert that is not `inactive`: firing first, then pending, then resolved, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db) -> Result<Vec<Alert>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_alert where state <> 'inactive' order by \
         case state when 'firing' then 0 when 'pending' then 1 else 2 end, updated_at desc, alert_key"
    )))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// What one [`process`] call did.
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
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from slo_alert"))).fetch_all(&mut **tx).await?;
        let mut alerts: HashMap<String, Alert> =
            rows.iter().map(from_row).map(|r| r.map(|a| (a.key.clone(), a))).collect::<Result<_, _>>()?;
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
                    let hold = if b.severity == Severity::Page { Hold::None } else { Hold::OneCycle };
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
struct Candidate<'a> {
    /// None for an alert whose SLO or tier left the specs.
    e: Option<&'a Evaluation>,
    spec: Option<&'a Spec>,
    burn: Option<&'a TierBurn>,
    no_data: Option<SignedDuration>,
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
        save(tx, &alert, now).await?;
    }
    Ok(alert)
}

fn notification(alert: &Alert, c: &Candidate<'_>, event: Event, now: Timestamp) -> Notification {
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

async fn save(tx: &mut sqlx::AnyConnection, a: &Alert, now: Timestamp) -> Result<(), sqlx::Error> {
    let ms = |t: Option<Timestamp>| t.map(|t| t.as_millisecond());
    sqlx::query(
        "insert into slo_alert (alert_key, service, journey, slo, tier, severity, long_window, short_window, state, \
         pending_since, firing_since, resolved_at, notified_at, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
         on conflict (alert_key) do update set journey = excluded.journey, severity = excluded.severity, \
         long_window = excluded.long_window, short_window = excluded.short_window, state = excluded.state, \
         pending_since = excluded.pending_since, firing_since = excluded.firing_since, \
         resolved_at = excluded.resolved_at, notified_at = excluded.notified_at, updated_at = excluded.updated_at",
    )
    .bind(&a.key)
    .bind(&a.service)
    .bind(&a.journey)
    .bind(&a.slo)
    .bind(&a.tier)
    .bind(a.severity.as_str())
    .bind(&a.long_window)
    .bind(&a.short_window)
    .bind(a.state.as_str())
    .bind(ms(a.pending_since))
    .bind(ms(a.firing_since))
    .bind(ms(a.resolved_at))
    .bind(ms(a.notified_at))
    .bind(now.as_millisecond())
    // Not prepared and reused: PostgreSQL would keep the first execution's parameter types,
    // and a NULL there makes a later timestamp a type mismatch (as in `history::insert`).
    .persistent(false)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_key_is_a_stable_sha256_prefix() {
        let k = alert_key("fulfillment", "create-shipment-availability", "fast-page");
        assert_eq!(k.len(), 32);
        assert_eq!(k, alert_key("fulfillment", "create-shipment-availability", "fast-page"));
        assert_ne!(k, alert_key("fulfillment", "create-shipment-availability", "slow-page"));
        // sha256("a/b/c") = 6e7a6b4d...; the key is its first 16 bytes in hex.
        let full = platform::signature::hex(&Sha256::digest(b"a/b/c"));
        assert_eq!(alert_key("a", "b", "c"), full[..32]);
    }
}
