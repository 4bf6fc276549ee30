//! Alerting: every cycle's evaluations drive one alert per (service, SLO, tier), and one per SLO
//! for "no data" when its spec sets `alerting.no_data`; alerts that fire or resolve notify
//! on-call through the configured [`receiver`]s, by way of a transactional [`outbox`].
//!
//! The parts: [`state`] (the lifecycle as an enum), [`process`](mod@process) (one cycle's transitions and
//! the notifications they produce), [`notification`] (what receivers are told, in words),
//! [`store`] (the `slo_alert` table), [`silence`], [`outbox`], [`receiver`] and [`metrics`].
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
//! * A tier with a `pending` duration (OpenSLO `alertAfter`, Prometheus `for:`) stays `pending`
//!   until its condition has held that long, as the generated rule does, whatever its severity.
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
pub mod notification;
pub mod outbox;
pub mod process;
pub mod receiver;
pub mod silence;
pub mod state;
pub mod store;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::eval::Evaluation;
use crate::math::Severity;
use crate::spec::Spec;
pub use notification::{Event, Notification};
pub use process::{ProcessReport, process};
pub use receiver::{Receiver, Secret};
pub use state::{AlertState, Hold, IllegalTransition};
pub use store::list;

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
    pub(crate) fn new(e: &Evaluation, tier: &str, severity: Severity, long_window: &str, short_window: &str) -> Alert {
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
