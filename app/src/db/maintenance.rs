//! Maintenance mode: an append-only log of switches (who, when, why). The newest row is the
//! current mode; the whole log is what the SLO controller reads to exclude maintenance from
//! error budgets.

use serde::Serialize;

use super::{Db, Flag, now};
use crate::domain::Error;

/// One switch as stored. Its JSON form is also the admin listener's `GET /maintenance` log,
/// which the SLO controller reads; the public admin API shows `http::schema::maintenance`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MaintenanceEvent {
    pub maintenance_event_id: i64,
    #[sqlx(try_from = "i64")]
    pub enabled: Flag,
    pub actor: String,
    pub reason: String,
    pub created_at: String,
}

const COLUMNS: &str = "maintenance_event_id, enabled, actor, reason, created_at";

pub async fn set(db: &Db, enabled: bool, actor: &str, reason: &str) -> Result<MaintenanceEvent, Error> {
    crate::transaction!(db, |tx| {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "insert into maintenance_event (enabled, actor, reason, created_at) values ($1, $2, $3, $4) returning {COLUMNS}"
            )))
            .bind(i64::from(enabled))
            .bind(actor)
            .bind(reason)
            .bind(now())
            .fetch_one(&mut **tx)
            .await?)
    })
}

pub async fn current(db: &Db) -> Result<Option<MaintenanceEvent>, Error> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from maintenance_event order by maintenance_event_id desc limit 1"
    )))
    .fetch_optional(db.reader())
    .await?)
}

/// Switches newest first, from before `before` (a cursor) if given.
pub async fn events(db: &Db, before: Option<i64>, limit: i64) -> Result<Vec<MaintenanceEvent>, Error> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from maintenance_event where ($1 is null or maintenance_event_id < $1) \
         order by maintenance_event_id desc limit $2"
    )))
    .bind(before)
    .bind(limit)
    .fetch_all(db.reader())
    .await?)
}
