//! The scraper's tables (`migrations/*/0002_scrape.sql`): per-SLO minute and hour buckets, when
//! each SLO's data begins, and the last raw value of every kept series per target.

use std::collections::HashMap;

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Row};

use super::select::Key;
use crate::source::Counts;
use crate::store::Db;

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;

/// Rows per multi-row `insert` (5 parameters each, far under both engines' limits).
const ROWS_PER_INSERT: usize = 200;

/// A bound value (the `Any` driver has no heterogeneous tuples).
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Int(i64),
    Float(f64),
}

/// `insert into <head> values (…), (…) <tail>`, in batches, within `tx`.
async fn insert(
    tx: &mut sqlx::Transaction<'_, Any>,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Value>>,
) -> Result<(), sqlx::Error> {
    for batch in rows.chunks(ROWS_PER_INSERT) {
        let mut sql = format!("insert into {head} values ");
        let mut args = AnyArguments::default();
        let mut n = 0;
        for (i, row) in batch.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for (j, value) in row.iter().enumerate() {
                n += 1;
                sql.push_str(&format!("{}${n}", if j == 0 { "" } else { ", " }));
                match value {
                    Value::Text(v) => args.add(v.clone()),
                    Value::Int(v) => args.add(*v),
                    Value::Float(v) => args.add(*v),
                }
                .map_err(sqlx::Error::Encode)?;
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(tail);
        sqlx::query_with(&sql, args).execute(&mut **tx).await?;
    }
    Ok(())
}

/// One scrape's effect, in one transaction: each fed SLO's counts added to its minute, the
/// SLO's first minute recorded, and the target's series values replaced.
pub async fn write_scrape(
    db: &Db,
    target: &str,
    minute: i64,
    counts: &[(Key, i64, i64)],
    series: &HashMap<String, f64>,
    scraped_at_ms: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    let buckets = counts
        .iter()
        .map(|((service, slo), good, total)| {
            vec![
                Value::Text(service.clone()),
                Value::Text(slo.clone()),
                Value::Int(minute),
                Value::Int(*good),
                Value::Int(*total),
            ]
        })
        .collect();
    insert(
        &mut tx,
        "sli_minute (service, slo, minute, good, total)",
        "on conflict (service, slo, minute) do update set \
         good = sli_minute.good + excluded.good, total = sli_minute.total + excluded.total",
        buckets,
    )
    .await?;
    let since = counts
        .iter()
        .map(|((service, slo), _, _)| vec![Value::Text(service.clone()), Value::Text(slo.clone()), Value::Int(minute)])
        .collect();
    insert(&mut tx, "sli_since (service, slo, since)", "on conflict (service, slo) do nothing", since).await?;
    let values = series
        .iter()
        .map(|(key, value)| {
            vec![Value::Text(target.into()), Value::Text(key.clone()), Value::Float(*value), Value::Int(scraped_at_ms)]
        })
        .collect();
    insert(
        &mut tx,
        "scrape_series (target, series, value, scraped_at)",
        "on conflict (target, series) do update set value = excluded.value, scraped_at = excluded.scraped_at",
        values,
    )
    .await?;
    // Series gone from the exposition: if one comes back, it restarted from zero.
    sqlx::query("delete from scrape_series where target = $1 and scraped_at < $2")
        .bind(target)
        .bind(scraped_at_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Every target's last series values and when they were scraped (Unix milliseconds).
pub async fn load_series(db: &Db) -> Result<HashMap<String, (HashMap<String, f64>, i64)>, sqlx::Error> {
    let rows =
        sqlx::query("select target, series, value, scraped_at from scrape_series").fetch_all(db.reader()).await?;
    let mut out: HashMap<String, (HashMap<String, f64>, i64)> = HashMap::new();
    for row in rows {
        let entry = out.entry(row.try_get(0)?).or_default();
        entry.0.insert(row.try_get(1)?, row.try_get(2)?);
        entry.1 = entry.1.max(row.try_get(3)?);
    }
    Ok(out)
}

/// Every SLO's counts over `(start, end]` (Unix seconds), from both bucket sizes. The bucket
/// that straddles `start` counts pro rata (events are assumed spread evenly across it). An SLO
/// without any bucket in the range is absent.
pub async fn sums(db: &Db, start: i64, end: i64) -> Result<HashMap<Key, Counts>, sqlx::Error> {
    let first_minute = start.div_euclid(MINUTE) * MINUTE;
    let first_hour = start.div_euclid(HOUR) * HOUR;
    let minute_weight = (first_minute + MINUTE - start) as f64 / MINUTE as f64;
    let hour_weight = (first_hour + HOUR - start) as f64 / HOUR as f64;
    let rows = sqlx::query(
        "select service, slo, sum(g), sum(t) from ( \
           select service, slo, \
             case when minute < $1 then cast(good as double precision) * $2 else cast(good as double precision) end as g, \
             case when minute < $3 then cast(total as double precision) * $4 else cast(total as double precision) end as t \
           from sli_minute where minute > $5 and minute <= $6 \
           union all \
           select service, slo, \
             case when hour < $7 then cast(good as double precision) * $8 else cast(good as double precision) end as g, \
             case when hour < $9 then cast(total as double precision) * $10 else cast(total as double precision) end as t \
           from sli_hour where hour > $11 and hour <= $12 \
         ) b group by service, slo",
    )
    .bind(start)
    .bind(minute_weight)
    .bind(start)
    .bind(minute_weight)
    .bind(start - MINUTE)
    .bind(end)
    .bind(start)
    .bind(hour_weight)
    .bind(start)
    .bind(hour_weight)
    .bind(start - HOUR)
    .bind(end)
    .fetch_all(db.reader())
    .await?;
    let mut out = HashMap::new();
    for row in rows {
        let (good, total): (f64, f64) = (row.try_get(2)?, row.try_get(3)?);
        let total = total.max(0.0);
        out.insert((row.try_get(0)?, row.try_get(1)?), Counts { good: good.clamp(0.0, total), total });
    }
    Ok(out)
}

/// When each SLO's data begins (Unix seconds).
pub async fn since(db: &Db) -> Result<HashMap<Key, i64>, sqlx::Error> {
    let rows = sqlx::query("select service, slo, since from sli_since").fetch_all(db.reader()).await?;
    rows.into_iter().map(|r| Ok(((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?))).collect()
}

/// Merges minute buckets older than `cutoff` (rounded down to an hour) into hour buckets and
/// drops hour buckets older than `retain_from`, in one transaction. Returns the minute buckets
/// merged.
pub async fn compact(db: &Db, cutoff: i64, retain_from: i64) -> Result<u64, sqlx::Error> {
    let cutoff = cutoff.div_euclid(HOUR) * HOUR;
    let mut tx = db.writer().begin().await?;
    // `where` before `on conflict`: SQLite would otherwise read `on` as a join constraint.
    sqlx::query(
        "insert into sli_hour (service, slo, hour, good, total, minutes) \
         select service, slo, minute - (minute % 3600), sum(good), sum(total), count(*) \
         from sli_minute where minute < $1 group by service, slo, minute - (minute % 3600) \
         on conflict (service, slo, hour) do update set good = sli_hour.good + excluded.good, \
         total = sli_hour.total + excluded.total, minutes = sli_hour.minutes + excluded.minutes",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?;
    let merged = sqlx::query("delete from sli_minute where minute < $1").bind(cutoff).execute(&mut *tx).await?;
    sqlx::query("delete from sli_hour where hour < $1").bind(retain_from).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(merged.rows_affected())
}

/// How many minute and hour buckets are stored.
pub async fn rows(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    let minutes: i64 = sqlx::query_scalar("select count(*) from sli_minute").fetch_one(db.reader()).await?;
    let hours: i64 = sqlx::query_scalar("select count(*) from sli_hour").fetch_one(db.reader()).await?;
    Ok((minutes, hours))
}
