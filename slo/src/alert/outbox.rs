//! The transactional outbox (`slo_outbox`): notifications are rows written in the transaction
//! that changed the alert ([`insert`]), and a delivery task ([`run`], leader only) sends them
//! ([`deliver_due`]).
//!
//! * Rows go out in id order *per receiver*: when a receiver's oldest row is waiting for its
//!   retry, that receiver's later rows wait too, so a resolve never overtakes its trigger. One
//!   receiver's outage does not hold the others back.
//! * A row is marked delivered (`delivered_at`) only after a 2xx; every attempt increments
//!   `attempts`, and a failure records `last_error` and the next attempt's time.
//! * Retries back off exponentially with "equal jitter" ([`backoff`]): half the doubled delay
//!   fixed, half random, so receivers coming back are not hit by every controller at once
//!   (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015); capped at [`RETRY_CAP`].
//! * Delivered rows are kept [`KEEP_DELIVERED`] for inspection, then deleted.

use std::collections::HashSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sqlx::Row;
use tokio::sync::watch;

use super::{Notification, Settings};
use platform::Db;

/// The longest wait between two attempts.
pub const RETRY_CAP: Duration = Duration::from_secs(300);
/// Delivered rows are deleted after this long.
pub const KEEP_DELIVERED: SignedDuration = SignedDuration::from_hours(24 * 7);
/// Rows looked at per pass.
const BATCH: i64 = 500;

/// Queues `n` for `receiver` inside the caller's transaction.
pub(crate) async fn insert(
    conn: &mut sqlx::AnyConnection,
    receiver: &str,
    n: &Notification,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_string(n).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(
        "insert into slo_outbox (alert_key, receiver, event, payload, attempts, next_attempt_at, created_at, updated_at) \
         values ($1, $2, $3, $4, 0, $5, $5, $5)",
    )
    .bind(&n.key)
    .bind(receiver)
    .bind(n.event.as_str())
    .bind(payload)
    .bind(now.as_millisecond())
    .execute(conn)
    .await?;
    Ok(())
}

/// The delay before attempt `attempts + 1` after `attempts` failures: `base × 2^(attempts-1)`
/// capped at `cap`, of which a random half is taken off (`jitter` in 0..=1 picks where).
pub fn backoff(attempts: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20)).min(cap);
    exp.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// One outbox row, as the API and tests see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub alert_key: String,
    pub receiver: String,
    pub event: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered: bool,
}

/// Every row, oldest first (for tests and inspection).
pub async fn rows(db: &Db) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select slo_outbox_id, alert_key, receiver, event, attempts, last_error, delivered_at from slo_outbox \
         order by slo_outbox_id",
    )
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OutboxRow {
                id: r.try_get("slo_outbox_id")?,
                alert_key: r.try_get("alert_key")?,
                receiver: r.try_get("receiver")?,
                event: r.try_get("event")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                delivered: r.try_get::<Option<i64>, _>("delivered_at")?.is_some(),
            })
        })
        .collect()
}

/// Rows not delivered yet (the outbox depth).
pub async fn depth(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from slo_outbox where delivered_at is null").fetch_one(db.reader()).await
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub failed: usize,
    /// Every attempt: the receiver and whether it was delivered.
    pub attempts: Vec<(String, bool)>,
}

/// Sends every row due at `now`, in order per receiver.
#[tracing::instrument(skip_all)]
pub async fn deliver_due(
    db: &Db,
    settings: &Settings,
    client: &reqwest::Client,
    now: Timestamp,
) -> Result<DeliveryReport, sqlx::Error> {
    let rows = sqlx::query(
        "select slo_outbox_id, receiver, payload, attempts, next_attempt_at from slo_outbox \
         where delivered_at is null order by slo_outbox_id limit $1",
    )
    .bind(BATCH)
    .fetch_all(db.reader())
    .await?;
    let mut blocked: HashSet<String> = HashSet::new();
    let mut report = DeliveryReport::default();
    for row in &rows {
        let id: i64 = row.try_get("slo_outbox_id")?;
        let name: String = row.try_get("receiver")?;
        if blocked.contains(&name) {
            continue;
        }
        let next: i64 = row.try_get("next_attempt_at")?;
        if next > now.as_millisecond() {
            blocked.insert(name);
            continue;
        }
        let attempts = u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX).saturating_add(1);
        let payload: String = row.try_get("payload")?;
        let result = match (
            settings.receivers.iter().find(|r| r.name() == name),
            serde_json::from_str::<Notification>(&payload),
        ) {
            (None, _) => Err(format!("receiver {name} is not configured")),
            (_, Err(e)) => Err(format!("unreadable payload: {e}")),
            (Some(r), Ok(n)) => r.send(client, &n, Timestamp::now(), settings.renotify_interval).await.map_err(|e| e.0),
        };
        let done = Timestamp::now().as_millisecond();
        match result {
            Ok(()) => {
                sqlx::query(
                    "update slo_outbox set delivered_at = $1, attempts = $2, updated_at = $1 where slo_outbox_id = $3",
                )
                .bind(done)
                .bind(i64::from(attempts))
                .bind(id)
                .execute(db.writer())
                .await?;
                report.delivered += 1;
                report.attempts.push((name.clone(), true));
                tracing::info!(id, receiver = %name, attempts, "notification delivered");
            }
            Err(error) => {
                let wait = backoff(attempts, settings.retry_base, settings.retry_cap, rand::random::<f64>());
                let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                sqlx::query(
                    "update slo_outbox set attempts = $1, last_error = $2, next_attempt_at = $3, updated_at = $4 \
                     where slo_outbox_id = $5",
                )
                .bind(i64::from(attempts))
                .bind(&error)
                .bind(done.saturating_add(wait_ms))
                .bind(done)
                .bind(id)
                .execute(db.writer())
                .await?;
                report.failed += 1;
                report.attempts.push((name.clone(), false));
                tracing::warn!(id, receiver = %name, attempts, retry_in_ms = wait_ms, error = %error, "notification failed");
                blocked.insert(name);
            }
        }
    }
    let old = now.saturating_sub(KEEP_DELIVERED).unwrap_or(now).as_millisecond();
    sqlx::query("delete from slo_outbox where delivered_at is not null and delivered_at < $1")
        .bind(old)
        .execute(db.writer())
        .await?;
    Ok(report)
}

/// Delivers due rows with `client` (built from the binary's TLS roots) every `poll_interval`
/// while `leader()` says this replica leads, until `stop` turns true, counting attempts and the
/// depth in `metrics`.
pub async fn run(
    db: Db,
    settings: std::sync::Arc<Settings>,
    client: reqwest::Client,
    metrics: super::metrics::AlertMetrics,
    leader: impl Fn() -> bool,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(settings.poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if !leader() || settings.receivers.is_empty() {
            continue;
        }
        match deliver_due(&db, &settings, &client, Timestamp::now()).await {
            Ok(report) => {
                for (receiver, delivered) in &report.attempts {
                    metrics.attempt(receiver, *delivered);
                }
            }
            Err(e) => tracing::warn!(error = %e, "outbox delivery pass failed"),
        }
        if let Ok(n) = depth(&db).await {
            metrics.outbox_depth.set(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_attempt_keeps_half_fixed_and_stops_at_the_cap() {
        let (base, cap) = (Duration::from_secs(2), RETRY_CAP);
        assert_eq!(backoff(1, base, cap, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(1, base, cap, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(3, base, cap, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(30, base, cap, 1.0), cap);
        assert_eq!(backoff(30, base, cap, 0.0), cap / 2);
    }
}
