//! `Idempotency-Key` records: the first response to a (principal, key) is stored and replayed
//! for every retry with the same request; the same key with a different request is refused.
//!
//! A key is claimed (inserted without a response) before the handler runs, so two concurrent
//! retries cannot both execute. A request that fails, panics or times out releases its claim;
//! if the process dies between the handler's commit and storing the response, the claim goes
//! stale, and after [`STALE_AFTER_SECONDS`] a retry may re-run. The operations it guards are
//! themselves keyed (shipment identifier, scan event id, label per package), so a re-run finds
//! the first effect instead of doing it twice. Keys are kept for [`RETENTION`] and then purged.

use std::time::Duration;

use super::{Db, format_timestamp, is_unique_violation, now};
use crate::domain::Error;

pub const STALE_AFTER_SECONDS: i64 = 60;

/// How long a key (and its stored response) is kept: a client retrying a day later gets a new
/// request, not a replay. Stripe keeps keys for 24 hours too.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First time: run the handler, then [`finish`].
    New,
    /// Seen before with the same request: answer with this.
    Replay { status: u16, body: String },
    /// Seen before with a different request.
    Mismatch,
    /// The first request is still running.
    InProgress,
}

pub async fn claim(db: &Db, principal: &str, key: &str, request_hash: &str) -> Result<Claim, Error> {
    let inserted = crate::transaction!(db, |tx| {
        sqlx::query(
                    "insert into idempotency_key (principal, idempotency_key, request_hash, created_at) values ($1, $2, $3, $4)",
                )
                .bind(principal)
                .bind(key)
                .bind(request_hash)
                .bind(now())
                .execute(&mut **tx)
                .await?;
        Ok(())
    });
    match inserted {
        Ok(()) => return Ok(Claim::New),
        Err(e) if is_unique_violation(&e, "idempotency_key_pkey", "idempotency_key.") => {}
        Err(e) => return Err(e),
    }
    let row: Option<(String, Option<i64>, Option<String>, String)> = sqlx::query_as(
        "select request_hash, response_status, response_body, created_at from idempotency_key \
         where principal = $1 and idempotency_key = $2",
    )
    .bind(principal)
    .bind(key)
    .fetch_optional(db.reader())
    .await?;
    let Some((hash, status, body, created_at)) = row else {
        return Ok(Claim::InProgress);
    };
    let age = age_seconds(&created_at);
    let expired = age > i64::try_from(RETENTION.as_secs()).unwrap_or(i64::MAX);
    if !expired && hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    match (status, body) {
        (Some(status), Some(body)) if !expired => {
            Ok(Claim::Replay { status: u16::try_from(status).unwrap_or(500), body })
        }
        _ if expired || age > STALE_AFTER_SECONDS => {
            // Take the expired or stale claim over: exactly one taker wins the compare-and-set.
            let taken = crate::transaction!(db, |tx| {
                let r = sqlx::query(
                    "update idempotency_key set created_at = $1, request_hash = $2, response_status = null, \
                     response_body = null where principal = $3 and idempotency_key = $4 and created_at = $5",
                )
                .bind(now())
                .bind(request_hash)
                .bind(principal)
                .bind(key)
                .bind(&created_at)
                .execute(&mut **tx)
                .await?;
                Ok(r.rows_affected() == 1)
            })?;
            Ok(if taken { Claim::New } else { Claim::InProgress })
        }
        _ => Ok(Claim::InProgress),
    }
}

/// Seconds since `created_at` (a timestamp that does not parse counts as very old).
fn age_seconds(created_at: &str) -> i64 {
    created_at.parse::<jiff::Timestamp>().map_or(i64::MAX, |t| jiff::Timestamp::now().as_second() - t.as_second())
}

pub async fn finish(db: &Db, principal: &str, key: &str, status: u16, body: &str) -> Result<(), Error> {
    crate::transaction!(db, |tx| {
        sqlx::query(
                "update idempotency_key set response_status = $1, response_body = $2 where principal = $3 and idempotency_key = $4",
            )
            .bind(i64::from(status))
            .bind(body)
            .bind(principal)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        Ok(())
    })
}

/// Forgets a claim whose request failed with a server error, so the retry can run.
pub async fn release(db: &Db, principal: &str, key: &str) -> Result<(), Error> {
    crate::transaction!(db, |tx| {
        sqlx::query(
            "delete from idempotency_key where principal = $1 and idempotency_key = $2 and response_status is null",
        )
        .bind(principal)
        .bind(key)
        .execute(&mut **tx)
        .await?;
        Ok(())
    })
}

/// Deletes keys older than [`RETENTION`] (the purge job); returns how many.
pub async fn purge(db: &Db, now: jiff::Timestamp) -> Result<u64, Error> {
    let retention = jiff::SignedDuration::try_from(RETENTION).unwrap_or(jiff::SignedDuration::from_hours(24));
    let cutoff = format_timestamp(now.saturating_sub(retention).unwrap_or(now));
    crate::transaction!(db, |tx| {
        let done =
            sqlx::query("delete from idempotency_key where created_at < $1").bind(&cutoff).execute(&mut **tx).await?;
        Ok(done.rows_affected())
    })
}
