//! The `slo_alert` table (migration `0003_alert.sql`): one row per alert, its state and when
//! it moved, so a restart or a standby carries on from the stored state instead of paging
//! again. Times are Unix milliseconds.

use jiff::Timestamp;
use platform::Db;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Alert, AlertState};

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

/// Every alert, read inside the caller's transaction.
pub(super) async fn all(conn: &mut sqlx::AnyConnection) -> Result<Vec<Alert>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from slo_alert"))).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
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
/// Stores `a` as it is now (insert or update).
pub(super) async fn save(tx: &mut sqlx::AnyConnection, a: &Alert, now: Timestamp) -> Result<(), sqlx::Error> {
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
