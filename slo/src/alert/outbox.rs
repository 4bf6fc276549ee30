//! The transactional outbox (`slo_outbox`): notifications are rows written in the transaction
//! that changed the alert ([`insert`]), and a delivery task ([`run`], leader only) sends them
//! ([`deliver_due`]).
//!
//! * **Per receiver.** Each configured receiver's rows are read and sent on their own, all
//!   receivers at once: a receiver that is down, slow or has a long backlog never holds back
//!   another's pages.
//! * **In order within a receiver.** When a receiver's oldest row waits for its retry, that
//!   receiver's later rows wait too, so a resolve never overtakes its trigger.
//! * A row is marked delivered (`delivered_at`) only after a 2xx; every attempt increments
//!   `attempts`, and a failure records `last_error` (never a URL: a Slack webhook's URL is its
//!   secret) and the next attempt's time.
//! * Retries back off exponentially with "equal jitter" ([`backoff`]): half the doubled delay
//!   fixed, half random, so receivers coming back are not hit by every controller at once
//!   (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015); capped at [`RETRY_CAP`].
//! * **Dead letters.** A row is given up on (`dead_at`, the reason in `last_error`, counted in
//!   `slo_notifications_dead_lettered_total{receiver, reason}`) after
//!   [`Settings::max_attempts`] failed attempts -- by default [`MAX_ATTEMPTS`], about an hour
//!   of retries -- or, at once, when its receiver is no longer configured (removed from the
//!   flags), or when its payload cannot be read. The receiver's next row then goes out. Dead
//!   letters are listed by `GET /api/v1/notifications?state=dead` and on the dashboard.
//! * Delivered and dead rows are kept [`KEEP_DELIVERED`] for inspection, then deleted.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use platform::Db;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use tokio::sync::watch;

use super::{Notification, Receiver, Settings};

/// The longest wait between two attempts.
pub const RETRY_CAP: Duration = Duration::from_secs(300);
/// Attempts before a row is dead-lettered: with a 2 s first retry doubling to the 5-minute cap,
/// 24 attempts span 510 s + 15 × 300 s ≈ 84 minutes at most, 42 at least (the jitter takes up
/// to half of each wait) -- long enough to ride out a receiver's restart or a short outage,
/// short enough that a page is not sent hours late.
pub const MAX_ATTEMPTS: u32 = 24;
/// Delivered and dead rows are deleted after this long.
pub const KEEP_DELIVERED: SignedDuration = SignedDuration::from_hours(24 * 7);
/// Rows of one receiver looked at per pass.
const BATCH: i64 = 100;

/// Queues `n` for `receiver` inside the caller's transaction.
pub async fn insert(
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

/// Where a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not sent yet, or waiting for its next attempt.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up on: too many failed attempts, or the receiver is gone.
    Dead,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The SQL condition selecting rows in this state.
    fn condition(self) -> &'static str {
        match self {
            DeliveryState::Pending => "delivered_at is null and dead_at is null",
            DeliveryState::Delivered => "delivered_at is not null",
            DeliveryState::Dead => "dead_at is not null",
        }
    }
}

/// Why a row was given up on (the `reason` label of the dead-letter counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadReason {
    /// It failed [`Settings::max_attempts`] times.
    Attempts,
    /// Its receiver is no longer configured.
    Unconfigured,
    /// Its payload cannot be read (written by another version).
    Unreadable,
}

impl DeadReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadReason::Attempts => "attempts",
            DeadReason::Unconfigured => "unconfigured",
            DeadReason::Unreadable => "unreadable",
        }
    }
}

/// One outbox row, as the API, the dashboard and tests see it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutboxRow {
    pub id: i64,
    pub alert_key: String,
    pub receiver: String,
    /// `trigger` or `resolve`.
    pub event: String,
    pub state: DeliveryState,
    pub attempts: i64,
    /// Why the last attempt failed, or why the row was given up on.
    pub last_error: Option<String>,
    /// From the notification (absent if it cannot be read).
    pub service: Option<String>,
    pub slo: Option<String>,
    pub summary: Option<String>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// When a pending row is tried next.
    #[schema(value_type = Option<String>)]
    pub next_attempt_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub delivered_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub dead_at: Option<Timestamp>,
}

const COLUMNS: &str = "slo_outbox_id, alert_key, receiver, event, payload, attempts, last_error, next_attempt_at, \
     delivered_at, dead_at, created_at";

fn ts(ms: Option<i64>) -> Result<Option<Timestamp>, sqlx::Error> {
    ms.map(|ms| Timestamp::from_millisecond(ms).map_err(|e| sqlx::Error::Decode(e.into()))).transpose()
}

fn from_row(r: &AnyRow) -> Result<OutboxRow, sqlx::Error> {
    let payload: String = r.try_get("payload")?;
    let n = serde_json::from_str::<Notification>(&payload).ok();
    let delivered_at = ts(r.try_get("delivered_at")?)?;
    let dead_at = ts(r.try_get("dead_at")?)?;
    let state = match (delivered_at, dead_at) {
        (Some(_), _) => DeliveryState::Delivered,
        (None, Some(_)) => DeliveryState::Dead,
        (None, None) => DeliveryState::Pending,
    };
    Ok(OutboxRow {
        id: r.try_get("slo_outbox_id")?,
        alert_key: r.try_get("alert_key")?,
        receiver: r.try_get("receiver")?,
        event: r.try_get("event")?,
        state,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        service: n.as_ref().map(|n| n.service.clone()),
        slo: n.as_ref().map(|n| n.slo.clone()),
        summary: n.map(|n| n.summary),
        created_at: ts(Some(r.try_get("created_at")?))?.unwrap_or(Timestamp::UNIX_EPOCH),
        next_attempt_at: if state == DeliveryState::Pending { ts(r.try_get("next_attempt_at")?)? } else { None },
        delivered_at,
        dead_at,
    })
}

/// Every row, oldest first (for tests and inspection).
pub async fn rows(db: &Db) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from slo_outbox order by slo_outbox_id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(db.reader()).await?;
    rows.iter().map(from_row).collect()
}

/// Which rows [`list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub state: Option<DeliveryState>,
    pub receiver: Option<String>,
}

/// Rows matching `filter`, newest first, at most `limit`.
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db, filter: &Filter, limit: i64) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let state = filter.state.map_or("1 = 1", DeliveryState::condition);
    let sql = format!(
        "select {COLUMNS} from slo_outbox where {state} and ($1 is null or receiver = $1) \
         order by slo_outbox_id desc limit $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.receiver.as_deref())
        .bind(limit)
        .persistent(false)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Rows not delivered yet and not given up on (the outbox depth).
pub async fn depth(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from slo_outbox where delivered_at is null and dead_at is null")
        .fetch_one(db.reader())
        .await
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub failed: usize,
    /// Every attempt: the receiver and whether it was delivered.
    pub attempts: Vec<(String, bool)>,
    /// Every row given up on: its receiver and why.
    pub dead_lettered: Vec<(String, DeadReason)>,
}

impl DeliveryReport {
    fn merge(&mut self, other: DeliveryReport) {
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.attempts.extend(other.attempts);
        self.dead_lettered.extend(other.dead_lettered);
    }
}

/// Sends every row due at `now`: each configured receiver's rows in order, all receivers at
/// once; dead-letters the rows of receivers no longer configured; deletes rows kept long enough.
#[tracing::instrument(skip_all)]
pub async fn deliver_due(
    db: &Db,
    settings: &Settings,
    client: &reqwest::Client,
    now: Timestamp,
) -> Result<DeliveryReport, sqlx::Error> {
    let mut report = dead_letter_unconfigured(db, settings, now).await?;
    let passes = futures::future::join_all(
        settings.receivers.iter().map(|receiver| deliver_receiver(db, settings, receiver, client, now)),
    )
    .await;
    for pass in passes {
        report.merge(pass?);
    }
    let old = now.saturating_sub(KEEP_DELIVERED).unwrap_or(now).as_millisecond();
    sqlx::query(
        "delete from slo_outbox where (delivered_at is not null and delivered_at < $1) \
         or (dead_at is not null and dead_at < $1)",
    )
    .bind(old)
    .execute(db.writer())
    .await?;
    Ok(report)
}

/// Gives up on every pending row whose receiver is not among `settings.receivers`.
async fn dead_letter_unconfigured(db: &Db, settings: &Settings, now: Timestamp) -> Result<DeliveryReport, sqlx::Error> {
    let mut report = DeliveryReport::default();
    let pending: Vec<String> =
        sqlx::query_scalar("select distinct receiver from slo_outbox where delivered_at is null and dead_at is null")
            .fetch_all(db.reader())
            .await?;
    for name in pending.into_iter().filter(|n| !settings.receivers.iter().any(|r| r.name() == n)) {
        let ms = now.as_millisecond();
        let gone = sqlx::query(
            "update slo_outbox set dead_at = $1, updated_at = $1, last_error = $2 \
             where receiver = $3 and delivered_at is null and dead_at is null",
        )
        .bind(ms)
        .bind(format!("receiver {name} is no longer configured"))
        .bind(&name)
        .execute(db.writer())
        .await?
        .rows_affected();
        tracing::warn!(receiver = %name, rows = gone, "notifications dead-lettered: their receiver is no longer configured");
        for _ in 0..gone {
            report.dead_lettered.push((name.clone(), DeadReason::Unconfigured));
        }
    }
    Ok(report)
}

/// One receiver's due rows, oldest first, until one is not due or fails.
async fn deliver_receiver(
    db: &Db,
    settings: &Settings,
    receiver: &Receiver,
    client: &reqwest::Client,
    now: Timestamp,
) -> Result<DeliveryReport, sqlx::Error> {
    let name = receiver.name();
    let rows = sqlx::query(
        "select slo_outbox_id, payload, attempts, next_attempt_at from slo_outbox \
         where receiver = $1 and delivered_at is null and dead_at is null order by slo_outbox_id limit $2",
    )
    .bind(name)
    .bind(BATCH)
    .fetch_all(db.reader())
    .await?;
    let mut report = DeliveryReport::default();
    for row in &rows {
        let id: i64 = row.try_get("slo_outbox_id")?;
        let next: i64 = row.try_get("next_attempt_at")?;
        if next > now.as_millisecond() {
            // The oldest row waits for its retry, and so do the later ones.
            break;
        }
        let attempts = u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX).saturating_add(1);
        let payload: String = row.try_get("payload")?;
        let n = match serde_json::from_str::<Notification>(&payload) {
            Ok(n) => n,
            Err(e) => {
                dead_letter(db, id, &format!("unreadable payload: {e}"), attempts - 1).await?;
                report.dead_lettered.push((name.to_owned(), DeadReason::Unreadable));
                continue;
            }
        };
        let result = receiver.send(client, &n, Timestamp::now(), settings.renotify_interval).await;
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
                report.attempts.push((name.to_owned(), true));
                tracing::info!(id, receiver = name, attempts, "notification delivered");
            }
            Err(error) => {
                report.failed += 1;
                report.attempts.push((name.to_owned(), false));
                if attempts >= settings.max_attempts {
                    let reason = format!("gave up after {attempts} attempts; the last: {error}");
                    dead_letter(db, id, &reason, attempts).await?;
                    report.dead_lettered.push((name.to_owned(), DeadReason::Attempts));
                    tracing::error!(id, receiver = name, attempts, error = %error, "notification dead-lettered");
                } else {
                    let wait = backoff(attempts, settings.retry_base, settings.retry_cap, rand::random::<f64>());
                    let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                    sqlx::query(
                        "update slo_outbox set attempts = $1, last_error = $2, next_attempt_at = $3, updated_at = $4 \
                         where slo_outbox_id = $5",
                    )
                    .bind(i64::from(attempts))
                    .bind(error.to_string())
                    .bind(done.saturating_add(wait_ms))
                    .bind(done)
                    .bind(id)
                    .execute(db.writer())
                    .await?;
                    tracing::warn!(id, receiver = name, attempts, retry_in_ms = wait_ms, error = %error, "notification failed");
                }
                // The receiver is failing: its later rows wait for the next pass.
                break;
            }
        }
    }
    Ok(report)
}

/// Gives up on row `id` for `reason`, after `attempts` attempts.
async fn dead_letter(db: &Db, id: i64, reason: &str, attempts: u32) -> Result<(), sqlx::Error> {
    let ms = Timestamp::now().as_millisecond();
    sqlx::query(
        "update slo_outbox set dead_at = $1, updated_at = $1, last_error = $2, attempts = $3 \
         where slo_outbox_id = $4",
    )
    .bind(ms)
    .bind(reason)
    .bind(i64::from(attempts))
    .bind(id)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Delivers due rows with `client` (built from the binary's TLS roots) every `poll_interval`
/// while `leader()` says this replica leads, until `stop` turns true, counting attempts, dead
/// letters and the depth in `metrics`.
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
        if !leader() {
            continue;
        }
        match deliver_due(&db, &settings, &client, Timestamp::now()).await {
            Ok(report) => {
                for (receiver, delivered) in &report.attempts {
                    metrics.attempt(receiver, *delivered);
                }
                for (receiver, reason) in &report.dead_lettered {
                    metrics.dead_lettered(receiver, *reason);
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

    #[test]
    fn the_default_attempts_span_about_an_hour_of_retries() {
        let (base, cap) = (Duration::from_secs(2), RETRY_CAP);
        let waits = |jitter: f64| (1..MAX_ATTEMPTS).map(|a| backoff(a, base, cap, jitter)).sum::<Duration>();
        assert_eq!(waits(1.0), Duration::from_secs(510 + 15 * 300));
        assert_eq!(waits(0.0), Duration::from_secs(510 + 15 * 300) / 2);
    }

    #[test]
    fn delivery_states_round_trip_through_their_names() {
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryState::parse("failed"), None);
    }
}
