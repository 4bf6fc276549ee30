//! Evaluation history in `slo_evaluation` (migration `0001_controller.sql`): one row per SLO per
//! cycle, written by the leader, read by every replica.
//!
//! **Size.** A cycle every 30 s is 2,880 rows per SLO per day, 259,200 over 90 days. A burn-down
//! chart over 90 days needs nothing like that, so [`compact`] keeps full resolution for
//! [`FULL_RESOLUTION`] (48 h: enough to see the last two days cycle by cycle, which is what an
//! incident review reads) and, beyond it, the first row of every [`BUCKET`] (10 min) per SLO;
//! rows older than [`RETENTION`] (100 days: a 90-day quarter plus margin) are deleted. That is
//! 5,760 + 98 × 144 ≈ 19,900 rows per SLO in steady state, about 13× fewer. The first row of a
//! bucket is kept (not an average) so a point on the chart is a real evaluation, with its
//! status and reason.
//!
//! Times are Unix milliseconds; queries are written once in SQL both engines accept.

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::eval::{Evaluation, Status, TierBurn};
use platform::db::{Backend, Db};

/// Rows younger than this keep full resolution.
pub const FULL_RESOLUTION: SignedDuration = SignedDuration::from_hours(48);
/// Older rows are thinned to one per SLO per bucket.
pub const BUCKET: SignedDuration = SignedDuration::from_mins(10);
/// Rows older than this are deleted.
pub const RETENTION: SignedDuration = SignedDuration::from_hours(24 * 100);
/// The most rows one read returns (90 days compacted is about 20,000 per SLO).
pub const MAX_HISTORY: i64 = 20_000;

const COLUMNS: &str = "service, journey, slo, evaluated_at, status, reason, sli, budget_remaining, \
     budget_consumed, time_to_exhaustion_seconds, burn_rates, in_maintenance";

/// Rows per `insert` statement: 14 parameters each stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bind parameters, and a 1,000-SLO cycle is 5 round trips, not 1,000.
const ROWS_PER_STATEMENT: usize = 200;

/// Stores one cycle's evaluations in one transaction.
#[tracing::instrument(skip_all, fields(rows = evaluations.len()))]
pub async fn insert(db: &Db, controller: &str, evaluations: &[Evaluation]) -> Result<(), sqlx::Error> {
    let now = Timestamp::now().as_millisecond();
    platform::transaction!(db, sqlx::Error, |tx| {
        for chunk in evaluations.chunks(ROWS_PER_STATEMENT) {
            // `$n` placeholders written out: sqlx's QueryBuilder writes `?` for `Any`, which
            // PostgreSQL does not read.
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p: Vec<String> = (1..=14).map(|c| format!("${}", r * 14 + c)).collect();
                    format!("({})", p.join(", "))
                })
                .collect();
            let sql = format!(
                "insert into slo_evaluation (service, journey, slo, evaluated_at, status, reason, sli, \
             budget_remaining, budget_consumed, time_to_exhaustion_seconds, burn_rates, in_maintenance, \
             controller, created_at) values {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for e in chunk {
                query = query
                    .bind(&e.service)
                    .bind(&e.journey)
                    .bind(&e.slo)
                    .bind(e.evaluated_at.as_millisecond())
                    .bind(e.status.as_str())
                    .bind(e.reason.as_deref())
                    .bind(finite(e.sli))
                    .bind(finite(e.budget_remaining))
                    .bind(finite(e.budget_consumed))
                    .bind(finite(e.time_to_exhaustion_seconds))
                    .bind(serde_json::to_string(&e.burn_rates).unwrap_or_else(|_| "[]".into()))
                    .bind(i64::from(e.in_maintenance))
                    .bind(controller)
                    .bind(now);
            }
            // On PostgreSQL not prepared once and reused: it would keep the parameter types of the
            // first execution, and a NULL there (a `no-data` SLI) makes a later number a type
            // mismatch. SQLite has no parameter types, and re-parsing costs it more.
            query.persistent(db.backend() == Backend::Sqlite).execute(&mut **tx).await?;
        }
        Ok(())
    })
}

/// Non-finite numbers are stored as NULL (JSON cannot carry them either).
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

fn from_row(row: &AnyRow) -> Result<Evaluation, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let burn_rates: String = row.try_get("burn_rates")?;
    let at: i64 = row.try_get("evaluated_at")?;
    let maintenance: i64 = row.try_get("in_maintenance")?;
    Ok(Evaluation {
        service: row.try_get("service")?,
        journey: row.try_get("journey")?,
        slo: row.try_get("slo")?,
        evaluated_at: Timestamp::from_millisecond(at).map_err(|e| sqlx::Error::Decode(e.into()))?,
        status: Status::parse(&status).unwrap_or(Status::NoData),
        reason: row.try_get("reason")?,
        sli: row.try_get("sli")?,
        budget_remaining: row.try_get("budget_remaining")?,
        budget_consumed: row.try_get("budget_consumed")?,
        time_to_exhaustion_seconds: row.try_get("time_to_exhaustion_seconds")?,
        burn_rates: serde_json::from_str::<Vec<TierBurn>>(&burn_rates).unwrap_or_default(),
        in_maintenance: maintenance != 0,
    })
}

/// The newest row of every SLO evaluated since `since` (a standby's view of "now"). Bounded by
/// time so it reads the recent end of the time index, not 90 days of history.
#[tracing::instrument(skip_all)]
pub async fn latest(db: &Db, since: Timestamp) -> Result<Vec<Evaluation>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from slo_evaluation where slo_evaluation_id in (\
         select max(slo_evaluation_id) from slo_evaluation where evaluated_at >= $1 group by service, slo)"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(since.as_millisecond()).fetch_all(db.reader()).await?;
    rows.iter().map(from_row).collect()
}

/// One SLO's rows from `since` on, oldest first, at most `limit`.
#[tracing::instrument(skip_all, fields(service, slo))]
pub async fn since(
    db: &Db,
    service: &str,
    slo: &str,
    since: Timestamp,
    limit: i64,
) -> Result<Vec<Evaluation>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from slo_evaluation where service = $1 and slo = $2 and evaluated_at >= $3 \
         order by evaluated_at, slo_evaluation_id limit $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(service)
        .bind(slo)
        .bind(since.as_millisecond())
        .bind(limit)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Downsamples rows older than [`FULL_RESOLUTION`] to the first per SLO per [`BUCKET`] and
/// deletes rows older than [`RETENTION`]; returns how many rows were deleted.
#[tracing::instrument(skip_all)]
pub async fn compact(db: &Db, now: Timestamp) -> Result<u64, sqlx::Error> {
    let cutoff = now.as_millisecond() - FULL_RESOLUTION.as_millis() as i64;
    let expired = now.as_millisecond() - RETENTION.as_millis() as i64;
    let bucket = BUCKET.as_millis() as i64;
    platform::transaction!(db, sqlx::Error, |tx| {
        let old = sqlx::query("delete from slo_evaluation where evaluated_at < $1")
            .bind(expired)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        // Integer division by the bucket length names the bucket (bigint / bigint truncates on both
        // engines); the first row of each (SLO, bucket) survives.
        let thinned = sqlx::query(
            "delete from slo_evaluation where evaluated_at < $1 and slo_evaluation_id not in (\
         select min(slo_evaluation_id) from slo_evaluation where evaluated_at < $1 \
         group by service, slo, evaluated_at / $2)",
        )
        .bind(cutoff)
        .bind(bucket)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(old + thinned)
    })
}
