//! The scraper's tables (`migrations/*/0002_scrape.sql`): per-SLO minute and hour buckets, when
//! each SLO's data begins, and the last raw value of every kept series per target.

use std::collections::HashMap;

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Row};

use super::select::Key;
use crate::source::Counts;
use platform::Db;

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
        sqlx::query_with(sqlx::AssertSqlSafe(sql.as_str()), args).execute(&mut **tx).await?;
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
    platform::transaction!(db, sqlx::Error, |tx| {
        for (table, column, start) in
            [("sli_minute", "minute", minute), ("sli_hour", "hour", minute.div_euclid(HOUR) * HOUR)]
        {
            let buckets = counts
                .iter()
                .map(|(key, good, total)| {
                    vec![
                        Value::Int(start),
                        Value::Text(key.service.clone()),
                        Value::Text(key.slo.clone()),
                        Value::Int(*good),
                        Value::Int(*total),
                    ]
                })
                .collect();
            insert(
                tx,
                &format!("{table} ({column}, service, slo, good, total)"),
                &format!(
                    "on conflict ({column}, service, slo) do update set \
                 good = {table}.good + excluded.good, total = {table}.total + excluded.total"
                ),
                buckets,
            )
            .await?;
        }
        let since = counts
            .iter()
            .map(|(key, _, _)| vec![Value::Text(key.service.clone()), Value::Text(key.slo.clone()), Value::Int(minute)])
            .collect();
        insert(tx, "sli_since (service, slo, since)", "on conflict (service, slo) do nothing", since).await?;
        let values = series
            .iter()
            .map(|(key, value)| {
                vec![
                    Value::Text(target.into()),
                    Value::Text(key.clone()),
                    Value::Float(*value),
                    Value::Int(scraped_at_ms),
                ]
            })
            .collect();
        insert(
            tx,
            "scrape_series (target, series, value, scraped_at)",
            "on conflict (target, series) do update set value = excluded.value, scraped_at = excluded.scraped_at",
            values,
        )
        .await?;
        // Series gone from the exposition: if one comes back, it restarted from zero.
        sqlx::query("delete from scrape_series where target = $1 and scraped_at < $2")
            .bind(target)
            .bind(scraped_at_ms)
            .execute(&mut **tx)
            .await?;
        Ok(())
    })
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

/// Every SLO's counts over `(start, end]` (Unix seconds): the whole hours from the first hour
/// boundary at or after `start`, and before it the minute buckets (or, once those are dropped,
/// the hour bucket) with the bucket that straddles `start` counted pro rata (its events assumed
/// spread evenly across it). So a read visits at most one row per hour of the range and 60 per
/// SLO. An SLO without any bucket in the range is absent.
pub async fn sums(db: &Db, start: i64, end: i64) -> Result<HashMap<Key, Counts>, sqlx::Error> {
    let hour_floor = start.div_euclid(HOUR) * HOUR;
    let first_full_hour = if hour_floor == start { start } else { hour_floor + HOUR };
    let mut parts = vec![sum_rows(db, "sli_hour", "hour", first_full_hour, end, None).await?];
    if first_full_hour > start {
        let minutes_kept: Option<i64> =
            sqlx::query_scalar("select minute from sli_minute where minute >= $1 and minute < $2 limit 1")
                .bind(hour_floor)
                .bind(first_full_hour)
                .fetch_optional(db.reader())
                .await?;
        let partial = if minutes_kept.is_some() {
            let minute_floor = start.div_euclid(MINUTE) * MINUTE;
            let weight = (minute_floor + MINUTE - start) as f64 / MINUTE as f64;
            sum_rows(db, "sli_minute", "minute", minute_floor, end.min(first_full_hour - 1), Some((start, weight)))
                .await?
        } else {
            let weight = (first_full_hour - start) as f64 / HOUR as f64;
            sum_rows(db, "sli_hour", "hour", hour_floor, end.min(hour_floor), Some((start, weight))).await?
        };
        parts.push(partial);
    }
    let mut out: HashMap<Key, Counts> = HashMap::new();
    for (key, (good, total)) in parts.into_iter().flatten() {
        let c = out.entry(key).or_default();
        c.good += good;
        c.total += total;
    }
    for c in out.values_mut() {
        c.total = c.total.max(0.0);
        c.good = c.good.clamp(0.0, c.total);
    }
    Ok(out)
}

/// Sums of `table`'s buckets starting in `[from, to]`, per SLO; a bucket starting before
/// `straddle.0` counts `straddle.1` of itself.
async fn sum_rows(
    db: &Db,
    table: &str,
    column: &str,
    from: i64,
    to: i64,
    straddle: Option<(i64, f64)>,
) -> Result<Vec<(Key, (f64, f64))>, sqlx::Error> {
    let (before, weight) = straddle.unwrap_or((i64::MIN, 1.0));
    let sql = format!(
        "select service, slo, \
           sum(case when {column} < $1 then cast(good as double precision) * $2 else cast(good as double precision) end), \
           sum(case when {column} < $3 then cast(total as double precision) * $4 else cast(total as double precision) end) \
         from {table} where {column} >= $5 and {column} <= $6 group by service, slo"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(before)
        .bind(weight)
        .bind(before)
        .bind(weight)
        .bind(from)
        .bind(to)
        .fetch_all(db.reader())
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                Key::new(row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?),
                (row.try_get(2)?, row.try_get(3)?),
            ))
        })
        .collect()
}

/// When each SLO's data begins (Unix seconds).
pub async fn since(db: &Db) -> Result<HashMap<Key, i64>, sqlx::Error> {
    let rows = sqlx::query("select service, slo, since from sli_since").fetch_all(db.reader()).await?;
    rows.into_iter()
        .map(|r| Ok((Key::new(r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?), r.try_get(2)?)))
        .collect()
}

/// Drops minute buckets older than `cutoff` (rounded down to an hour: an hour keeps all its
/// minutes or none) and hour buckets older than `retain_from`. Every scrape added to its hour
/// bucket as well, so nothing is merged and sums stay exact. Returns the minute buckets dropped.
pub async fn compact(db: &Db, cutoff: i64, retain_from: i64) -> Result<u64, sqlx::Error> {
    let cutoff = cutoff.div_euclid(HOUR) * HOUR;
    platform::transaction!(db, sqlx::Error, |tx| {
        let dropped = sqlx::query("delete from sli_minute where minute < $1").bind(cutoff).execute(&mut **tx).await?;
        sqlx::query("delete from sli_hour where hour < $1").bind(retain_from).execute(&mut **tx).await?;
        Ok(dropped.rows_affected())
    })
}

/// How many minute and hour buckets are stored.
pub async fn rows(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    let minutes: i64 = sqlx::query_scalar("select count(*) from sli_minute").fetch_one(db.reader()).await?;
    let hours: i64 = sqlx::query_scalar("select count(*) from sli_hour").fetch_one(db.reader()).await?;
    Ok((minutes, hours))
}
