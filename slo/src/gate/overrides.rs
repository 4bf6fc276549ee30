//! Break-glass overrides (`slo_gate_override`): an audited way through the gate in an
//! emergency. One person creates an override -- a service, an environment, a sha or any sha
//! within its time range, a reason, an expiry -- and it does nothing until a *different*
//! person approves it. An approved override in scope approves the gate's decision and is named
//! on it; one out of scope, unapproved or expired has no effect. Creation and approval are
//! announced through the alerting receivers ([`announce`]).

use jiff::{SignedDuration, Timestamp};
use platform::Db;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::decide::{Deploy, Sha};
use crate::alert::{Event, Notification, Settings, outbox};
use crate::math::Severity;

/// The longest an override may last: a break-glass is for an emergency, not a policy.
pub const MAX_DURATION: SignedDuration = SignedDuration::from_hours(24 * 7);

/// A stored override.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Override {
    pub id: i64,
    pub service: String,
    pub environment: String,
    /// Only this commit; any commit in the time range when absent.
    #[schema(value_type = Option<String>)]
    pub sha: Option<Sha>,
    #[schema(value_type = String)]
    pub starts_at: Timestamp,
    #[schema(value_type = String)]
    pub ends_at: Timestamp,
    pub reason: String,
    pub initiator: String,
    /// Who approved it; nobody yet when absent (it has no effect until then).
    pub approver: Option<String>,
    #[schema(value_type = Option<String>)]
    pub approved_at: Option<Timestamp>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl Override {
    /// Approved, open at `now`, and covering this deploy.
    pub fn applies_to(&self, deploy: &Deploy, now: Timestamp) -> bool {
        self.approver.is_some()
            && self.starts_at <= now
            && now < self.ends_at
            && self.service == deploy.service
            && self.environment == deploy.environment
            && self.sha.as_ref().is_none_or(|s| s.matches(&deploy.sha))
    }
}

/// An override to create, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOverride {
    pub service: String,
    pub environment: String,
    pub sha: Option<Sha>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: String,
    pub initiator: String,
}

/// A rule an override request breaks, naming the member at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid { field, message: message.into() }
}

impl NewOverride {
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        services: &[&str],
        service: &str,
        environment: &str,
        sha: Option<&str>,
        starts_at: Option<Timestamp>,
        ends_at: Timestamp,
        reason: &str,
        initiator: &str,
        now: Timestamp,
    ) -> Result<NewOverride, Invalid> {
        if !services.contains(&service) {
            return Err(invalid("service", format!("no spec declares service `{service}`")));
        }
        let environment = environment.trim();
        if environment.is_empty() || environment.len() > 256 {
            return Err(invalid("environment", "the environment's name (1 to 256 characters)"));
        }
        let sha = sha.map(Sha::parse).transpose().map_err(|m| invalid("sha", m))?;
        let starts_at = starts_at.unwrap_or(now);
        if ends_at <= starts_at || ends_at <= now {
            return Err(invalid("ends_at", "must be after starts_at and in the future"));
        }
        if ends_at.duration_since(starts_at) > MAX_DURATION {
            return Err(invalid("ends_at", "an override lasts at most 7 days"));
        }
        let (reason, initiator) = (reason.trim(), initiator.trim());
        if reason.is_empty() || reason.len() > 4096 {
            return Err(invalid("reason", "why (1 to 4096 characters)"));
        }
        if initiator.is_empty() || initiator.len() > 256 {
            return Err(invalid("initiator", "who asks (1 to 256 characters)"));
        }
        Ok(NewOverride {
            service: service.to_owned(),
            environment: environment.to_owned(),
            sha,
            starts_at,
            ends_at,
            reason: reason.to_owned(),
            initiator: initiator.to_owned(),
        })
    }
}

/// Why an approval was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    #[error("override {0} not found")]
    NotFound(i64),
    /// The initiator cannot approve their own override.
    #[error("the initiator of an override cannot approve it; another person must")]
    OwnOverride,
    #[error("override {id} is already approved by {approver}")]
    AlreadyApproved { id: i64, approver: String },
    #[error("override {0} has expired")]
    Expired(i64),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

const COLUMNS: &str = "slo_gate_override_id, service, environment, sha, starts_at, ends_at, reason, initiator, \
                       approver, approved_at, created_at";

fn ts(ms: i64) -> Result<Timestamp, sqlx::Error> {
    Timestamp::from_millisecond(ms).map_err(|e| sqlx::Error::Decode(e.into()))
}

fn from_row(row: &AnyRow) -> Result<Override, sqlx::Error> {
    let sha: Option<String> = row.try_get("sha")?;
    let approved_at: Option<i64> = row.try_get("approved_at")?;
    Ok(Override {
        id: row.try_get("slo_gate_override_id")?,
        service: row.try_get("service")?,
        environment: row.try_get("environment")?,
        sha: sha.map(|s| Sha::parse(&s).map_err(|e| sqlx::Error::Decode(e.into()))).transpose()?,
        starts_at: ts(row.try_get("starts_at")?)?,
        ends_at: ts(row.try_get("ends_at")?)?,
        reason: row.try_get("reason")?,
        initiator: row.try_get("initiator")?,
        approver: row.try_get("approver")?,
        approved_at: approved_at.map(ts).transpose()?,
        created_at: ts(row.try_get("created_at")?)?,
    })
}

/// Stores a new (unapproved) override.
#[tracing::instrument(skip_all, fields(service = %new.service, initiator = %new.initiator))]
pub async fn create(db: &Db, new: &NewOverride, now: Timestamp) -> Result<Override, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into slo_gate_override (service, environment, sha, starts_at, ends_at, reason, initiator, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8) returning {COLUMNS}"
    )))
    .bind(&new.service)
    .bind(&new.environment)
    .bind(new.sha.as_ref().map(Sha::as_str))
    .bind(new.starts_at.as_millisecond())
    .bind(new.ends_at.as_millisecond())
    .bind(&new.reason)
    .bind(&new.initiator)
    .bind(now.as_millisecond())
    .fetch_one(db.writer())
    .await?;
    from_row(&row)
}

pub async fn get(db: &Db, id: i64) -> Result<Option<Override>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_gate_override where slo_gate_override_id = $1"
    )))
    .bind(id)
    .fetch_optional(db.writer())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Approves override `id` as `approver`, who must not be its initiator. The update is
/// conditional, so two approvals racing leave one approver.
#[tracing::instrument(skip_all, fields(id, approver))]
pub async fn approve(db: &Db, id: i64, approver: &str, now: Timestamp) -> Result<Override, ApproveError> {
    let current = get(db, id).await?.ok_or(ApproveError::NotFound(id))?;
    if current.initiator.eq_ignore_ascii_case(approver.trim()) {
        return Err(ApproveError::OwnOverride);
    }
    if let Some(a) = current.approver {
        return Err(ApproveError::AlreadyApproved { id, approver: a });
    }
    if current.ends_at <= now {
        return Err(ApproveError::Expired(id));
    }
    let done = sqlx::query(
        "update slo_gate_override set approver = $1, approved_at = $2, updated_at = $2 \
         where slo_gate_override_id = $3 and approver is null",
    )
    .bind(approver.trim())
    .bind(now.as_millisecond())
    .bind(id)
    .execute(db.writer())
    .await?;
    let after = get(db, id).await?.ok_or(ApproveError::NotFound(id))?;
    if done.rows_affected() == 0 {
        return Err(ApproveError::AlreadyApproved { id, approver: after.approver.unwrap_or_default() });
    }
    Ok(after)
}

/// Overrides of `service` that have not expired at `now` (approved or not), newest first.
pub async fn active(db: &Db, service: &str, now: Timestamp) -> Result<Vec<Override>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_gate_override where service = $1 and ends_at > $2 order by slo_gate_override_id desc"
    )))
    .bind(service)
    .bind(now.as_millisecond())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The newest overrides, all services (the API's list).
pub async fn list(db: &Db, limit: i64) -> Result<Vec<Override>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_gate_override order by slo_gate_override_id desc limit $1"
    )))
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Queues a notification about `o` (`what`: "requested" or "approved") for every receiver,
/// through the alert outbox, so on-call hears of every break-glass.
pub async fn announce(
    db: &Db,
    settings: &Settings,
    o: &Override,
    what: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let scope = o.sha.as_ref().map_or_else(|| "any sha".to_owned(), |s| format!("sha {s}"));
    let summary = match &o.approver {
        Some(a) => format!(
            "Deploy gate override #{} {what} for {} {} ({scope}) until {}: requested by {}, approved by {a}: {}",
            o.id, o.service, o.environment, o.ends_at, o.initiator, o.reason
        ),
        None => format!(
            "Deploy gate override #{} {what} for {} {} ({scope}) until {} by {}, waiting for another person's approval: {}",
            o.id, o.service, o.environment, o.ends_at, o.initiator, o.reason
        ),
    };
    let n = Notification {
        key: format!("gate-override:{}:{what}", o.id),
        event: Event::Trigger,
        alertname: "DeployGateOverride".into(),
        service: o.service.clone(),
        journey: String::new(),
        slo: String::new(),
        tier: String::new(),
        severity: Severity::Ticket,
        long_window: String::new(),
        short_window: String::new(),
        long_burn_rate: None,
        short_burn_rate: None,
        threshold: None,
        summary,
        labels: [("environment".to_owned(), o.environment.clone()), ("override".to_owned(), o.id.to_string())]
            .into_iter()
            .collect(),
        starts_at: o.created_at,
        ends_at: None,
        dashboard: None,
    };
    platform::transaction!(db, sqlx::Error, |tx| {
        for r in &settings.receivers {
            outbox::insert(tx, r.name(), &n, now).await?;
        }
        Ok(())
    })
}
