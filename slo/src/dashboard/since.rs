//! Since when an SLO has had its current status, read from the history: the first row after
//! the last row with a different status ([`status_since`]); when the history holds no other
//! status the answer is only the oldest row kept ([`Since::changed`] false). Answers are
//! remembered per router ([`SinceCache`]) and re-checked against only the rows written since,
//! so that a page refresh every 30 s does not search every SLO's whole history again.

use std::collections::HashMap;

use jiff::Timestamp;
use platform::Db;

use crate::eval::{Evaluation, Status};
use crate::spec::SloKey;

/// Since when an SLO has had its current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since {
    pub at: Timestamp,
    /// False when the history holds no other status: `at` is then only the oldest row kept.
    pub changed: bool,
}

/// The first history row after the last row whose status is not `status`.
#[tracing::instrument(skip_all, fields(service, slo))]
pub async fn status_since(db: &Db, service: &str, slo: &str, status: Status) -> Result<Option<Since>, sqlx::Error> {
    let last_other: Option<i64> = sqlx::query_scalar(
        "select max(evaluated_at) from slo_evaluation where service = $1 and slo = $2 and status <> $3",
    )
    .bind(service)
    .bind(slo)
    .bind(status.as_str())
    .fetch_one(db.reader())
    .await?;
    let first: Option<i64> = sqlx::query_scalar(
        "select min(evaluated_at) from slo_evaluation where service = $1 and slo = $2 and evaluated_at > $3",
    )
    .bind(service)
    .bind(slo)
    .bind(last_other.unwrap_or(i64::MIN))
    .fetch_one(db.reader())
    .await?;
    Ok(first.and_then(|ms| Timestamp::from_millisecond(ms).ok()).map(|at| Since { at, changed: last_other.is_some() }))
}

/// Since-when per SLO, remembered between page loads, so that a refresh every 30 s does not
/// search every SLO's whole history again: a remembered answer is checked against the rows
/// written after it (an index range of a few rows) and recomputed only when one of them has
/// another status.
#[derive(Debug, Default)]
pub struct SinceCache(std::sync::Mutex<HashMap<SloKey, Cached>>);

#[derive(Debug, Clone, Copy)]
struct Cached {
    status: Status,
    since: Since,
    /// The newest evaluation the answer covers.
    checked_at: Timestamp,
}

impl SinceCache {
    fn get(&self, key: &SloKey) -> Option<Cached> {
        self.0.lock().ok().and_then(|m| m.get(key).copied())
    }

    fn put(&self, key: SloKey, value: Cached) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, value);
        }
    }
}

/// Since when `eval`'s SLO has had `eval`'s status (none without an evaluation, or when the
/// history cannot be read: that is logged, and the page goes on without it).
pub async fn of(db: &Db, cache: &SinceCache, eval: Option<&Evaluation>) -> Option<Since> {
    let e = eval?;
    let key = e.key();
    let (service, slo) = (key.service.as_str(), key.slo.as_str());
    let result = async {
        if let Some(hit) = cache.get(&key).filter(|h| h.status == e.status) {
            let others: i64 = sqlx::query_scalar(
                "select count(*) from slo_evaluation where service = $1 and slo = $2 and evaluated_at > $3 \
                 and status <> $4",
            )
            .bind(service)
            .bind(slo)
            .bind(hit.checked_at.as_millisecond())
            .bind(e.status.as_str())
            .fetch_one(db.reader())
            .await?;
            if others == 0 {
                cache.put(key.clone(), Cached { checked_at: e.evaluated_at.max(hit.checked_at), ..hit });
                return Ok(Some(hit.since));
            }
        }
        let since = status_since(db, service, slo, e.status).await?;
        if let Some(since) = since {
            cache.put(key.clone(), Cached { status: e.status, since, checked_at: e.evaluated_at });
        }
        Ok::<_, sqlx::Error>(since)
    };
    match result.await {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(error = %err, service, slo, "cannot read since when the status holds");
            None
        }
    }
}
