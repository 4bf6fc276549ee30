//! Maintenance windows from three origins, applied by every evaluation cycle:
//!
//! * `spec` -- the spec's own `maintenance:` windows ([`crate::eval::open_maintenance`]),
//!   covering every SLO of the spec's service;
//! * `service` -- a service's maintenance mode, read each cycle from its admin listener's
//!   `GET /maintenance` (`--service-maintenance SERVICE=URL`): while the newest switch says
//!   on, every SLO of that service is in maintenance. An endpoint that cannot be read is
//!   logged and counted (`slo_maintenance_errors_total`) and the cycle goes on without it;
//! * `api` -- windows created through `POST /api/v1/maintenance` ([`crate::api`]), stored in
//!   `slo_maintenance`, covering a service, one journey or one SLO. They are never deleted:
//!   `DELETE /api/v1/maintenance/{id}` ends one now and the record stays.
//!
//! While a window covering an SLO is open its evaluation has `in_maintenance` true and no tier
//! fires, so nothing pages ([`crate::eval`]).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::spec::{Maintenance, Spec};
use platform::Db;

/// Where a window comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The spec's `maintenance:` section.
    Spec,
    /// The service's own maintenance mode (`GET /maintenance` on its admin listener).
    Service,
    /// Created through the controller's API.
    Api,
}

/// A maintenance window, open or planned.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Window {
    /// The stored id (API windows only; the one to `DELETE`).
    pub id: Option<i64>,
    pub origin: Origin,
    pub service: String,
    /// Only this journey's SLOs (API windows); all of the service's when absent.
    pub journey: Option<String>,
    /// Only this SLO (API windows).
    pub slo: Option<String>,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub starts_at: Timestamp,
    /// RFC 3339; absent while a service's maintenance mode is on (it ends when switched off).
    #[schema(value_type = Option<String>)]
    pub ends_at: Option<Timestamp>,
    /// The spec window's name, the service's switch reason, or the API request's reason.
    pub reason: String,
    pub author: Option<String>,
}

impl Window {
    /// Open at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.starts_at <= now && self.ends_at.is_none_or(|end| now < end)
    }

    /// Open at `now` and covering this SLO.
    pub fn covers(&self, service: &str, journey: &str, slo: &str, now: Timestamp) -> bool {
        self.is_open(now)
            && self.service == service
            && self.journey.as_deref().is_none_or(|j| j == journey)
            && self.slo.as_deref().is_none_or(|s| s == slo)
    }
}

/// The spec's windows that have not ended at `now`: each one-off window, and each weekly
/// window's current or next occurrence.
pub fn spec_windows(spec: &Spec, now: Timestamp) -> Vec<Window> {
    let tz = jiff::tz::TimeZone::get(&spec.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let window = |name: &str, start: Timestamp, end: Timestamp| Window {
        id: None,
        origin: Origin::Spec,
        service: spec.service.clone(),
        journey: None,
        slo: None,
        starts_at: start,
        ends_at: Some(end),
        reason: name.to_owned(),
        author: None,
    };
    let mut out = Vec::new();
    for m in &spec.maintenance {
        match m {
            Maintenance::Once { name, start, end } => {
                if *end > now {
                    out.push(window(name, *start, *end));
                }
            }
            Maintenance::Weekly { name, weekday, start, duration } => {
                let today = now.to_zoned_datetime(tz.clone()).date();
                let next = (-8..=8).find_map(|day: i64| {
                    let date = today.checked_add(SignedDuration::from_hours(24 * day)).ok()?;
                    if date.weekday() != *weekday {
                        return None;
                    }
                    let begin = tz.to_timestamp(date.to_datetime(*start)).ok()?;
                    let end = begin.checked_add(*duration).ok()?;
                    (end > now).then_some((begin, end))
                });
                if let Some((begin, end)) = next {
                    out.push(window(name, begin, end));
                }
            }
        }
    }
    out
}

/// `--service-maintenance SERVICE=URL`: where a service says whether it is in maintenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEndpoint {
    pub service: String,
    pub url: String,
}

impl std::str::FromStr for ServiceEndpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (service, url) =
            s.split_once('=').ok_or_else(|| format!("{s:?}: expected SERVICE=URL, e.g. fulfillment=http://…"))?;
        let (service, url) = (service.trim(), url.trim());
        if service.is_empty() {
            return Err(format!("{s:?}: the service name is empty"));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("{s:?}: the URL must start with http:// or https://"));
        }
        Ok(ServiceEndpoint { service: service.to_owned(), url: url.to_owned() })
    }
}

/// How long one endpoint may take to answer.
pub const SERVICE_TIMEOUT: Duration = Duration::from_secs(5);

/// One switch of the service's maintenance log (`app/src/db/maintenance.rs`).
#[derive(Debug, Deserialize)]
struct SwitchEvent {
    #[serde(default)]
    maintenance_event_id: i64,
    enabled: bool,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// A single current-state document: `{"enabled"|"on": bool, "since"?, "reason"?}`.
#[derive(Debug, Deserialize)]
struct SwitchState {
    #[serde(alias = "on", alias = "maintenance")]
    enabled: bool,
    #[serde(default, alias = "created_at")]
    since: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, alias = "author")]
    actor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ServiceAnswer {
    Log(Vec<SwitchEvent>),
    State(SwitchState),
}

/// The open window a service's answer describes, if its maintenance mode is on. The log form
/// (newest first, as the fulfillment service serves it) is on when its newest switch is, since
/// the oldest switch of the run of `enabled` switches at its head.
pub fn parse_service_answer(service: &str, body: &[u8], now: Timestamp) -> Result<Option<Window>, String> {
    let answer: ServiceAnswer = serde_json::from_slice(body).map_err(|e| format!("not a maintenance answer: {e}"))?;
    let instant = |s: Option<&str>| s.and_then(|s| s.parse::<Timestamp>().ok()).unwrap_or(now);
    let (since, reason, actor) = match answer {
        ServiceAnswer::State(s) if s.enabled => (instant(s.since.as_deref()), s.reason, s.actor),
        ServiceAnswer::State(_) => return Ok(None),
        ServiceAnswer::Log(mut events) => {
            events.sort_by_key(|e| std::cmp::Reverse(e.maintenance_event_id));
            let run: Vec<&SwitchEvent> = events.iter().take_while(|e| e.enabled).collect();
            let (Some(newest), Some(first)) = (run.first(), run.last()) else { return Ok(None) };
            (instant(first.created_at.as_deref()), newest.reason.clone(), newest.actor.clone())
        }
    };
    Ok(Some(Window {
        id: None,
        origin: Origin::Service,
        service: service.to_owned(),
        journey: None,
        slo: None,
        starts_at: since.min(now),
        ends_at: None,
        reason: reason.filter(|r| !r.is_empty()).unwrap_or_else(|| "maintenance mode".into()),
        author: actor.filter(|a| !a.is_empty()),
    }))
}

/// Asks one service whether it is in maintenance.
pub async fn read_service(
    client: &reqwest::Client,
    endpoint: &ServiceEndpoint,
    now: Timestamp,
) -> Result<Option<Window>, String> {
    let response = client
        .get(&endpoint.url)
        .timeout(SERVICE_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("unreachable: {}", platform::tls::redact(e)))?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    let body = response.bytes().await.map_err(|e| format!("reading the answer: {}", platform::tls::redact(e)))?;
    parse_service_answer(&endpoint.service, &body, now)
}

/// A window to store, validated by [`NewWindow::parse`] against the loaded specs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWindow {
    service: String,
    journey: Option<String>,
    slo: Option<String>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    reason: String,
    author: String,
}

/// Why a window was refused; `field` names what is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidWindow {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidWindow {
    InvalidWindow { field, message: message.into() }
}

impl NewWindow {
    /// A known service (and journey and SLO of it, when given; an SLO given with a journey must
    /// belong to it), an end after the start and after `now`, a reason and an author.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        specs: &[Spec],
        service: &str,
        journey: Option<&str>,
        slo: Option<&str>,
        starts_at: Option<Timestamp>,
        ends_at: Timestamp,
        reason: &str,
        author: &str,
        now: Timestamp,
    ) -> Result<NewWindow, InvalidWindow> {
        let spec = specs
            .iter()
            .find(|s| s.service == service)
            .ok_or_else(|| invalid("service", format!("no loaded spec has service {service:?}")))?;
        if let Some(j) = journey
            && !spec.journeys.iter().any(|x| x.name == j)
        {
            return Err(invalid("journey", format!("service {service} has no journey {j:?}")));
        }
        if let Some(id) = slo {
            let found = spec.slo(id).ok_or_else(|| invalid("slo", format!("service {service} has no SLO {id:?}")))?;
            if journey.is_some_and(|j| j != found.journey) {
                return Err(invalid("slo", format!("SLO {id} belongs to journey {}", found.journey)));
            }
        }
        let starts_at = starts_at.unwrap_or(now);
        if ends_at <= starts_at {
            return Err(invalid("ends_at", "must be after starts_at"));
        }
        if ends_at <= now {
            return Err(invalid("ends_at", "must be in the future"));
        }
        let (reason, author) = (reason.trim(), author.trim());
        if reason.is_empty() || reason.len() > 4096 {
            return Err(invalid("reason", "why (1 to 4096 characters)"));
        }
        if author.is_empty() || author.len() > 256 {
            return Err(invalid("author", "who (1 to 256 characters)"));
        }
        Ok(NewWindow {
            service: service.to_owned(),
            journey: journey.map(str::to_owned),
            slo: slo.map(str::to_owned),
            starts_at,
            ends_at,
            reason: reason.to_owned(),
            author: author.to_owned(),
        })
    }
}

fn ts(ms: i64) -> Result<Timestamp, sqlx::Error> {
    Timestamp::from_millisecond(ms).map_err(|e| sqlx::Error::Decode(e.into()))
}

fn from_row(row: &AnyRow) -> Result<Window, sqlx::Error> {
    Ok(Window {
        id: Some(row.try_get("slo_maintenance_id")?),
        origin: Origin::Api,
        service: row.try_get("service")?,
        journey: row.try_get("journey")?,
        slo: row.try_get("slo")?,
        starts_at: ts(row.try_get("starts_at")?)?,
        ends_at: Some(ts(row.try_get("ends_at")?)?),
        reason: row.try_get("reason")?,
        author: Some(row.try_get("author")?),
    })
}

const COLUMNS: &str = "slo_maintenance_id, service, journey, slo, starts_at, ends_at, reason, author";

/// Stores a window and returns it with its id.
#[tracing::instrument(skip_all, fields(service = %new.service, author = %new.author))]
pub async fn create(db: &Db, new: &NewWindow, now: Timestamp) -> Result<Window, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into slo_maintenance (service, journey, slo, starts_at, ends_at, reason, author, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8) returning {COLUMNS}"
    )))
    .bind(&new.service)
    .bind(new.journey.as_deref())
    .bind(new.slo.as_deref())
    .bind(new.starts_at.as_millisecond())
    .bind(new.ends_at.as_millisecond())
    .bind(&new.reason)
    .bind(&new.author)
    .bind(now.as_millisecond())
    .fetch_one(db.writer())
    .await?;
    from_row(&row)
}

/// Stored windows that have not ended at `now` (open and planned), soonest start first.
#[tracing::instrument(skip_all)]
pub async fn list(db: &Db, now: Timestamp) -> Result<Vec<Window>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_maintenance where ends_at > $1 order by starts_at, slo_maintenance_id"
    )))
    .bind(now.as_millisecond())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Stored windows that overlap `[from, to]` (for the dashboard's charts).
pub async fn between(db: &Db, from: Timestamp, to: Timestamp) -> Result<Vec<Window>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_maintenance where ends_at > $1 and starts_at < $2 and ends_at > starts_at \
         order by starts_at, slo_maintenance_id"
    )))
    .bind(from.as_millisecond())
    .bind(to.as_millisecond())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Ends a window at `now` (a planned one never opens). `None` when there is no such window;
/// an already ended one is returned as it is.
#[tracing::instrument(skip_all, fields(id))]
pub async fn end(db: &Db, id: i64, now: Timestamp) -> Result<Option<Window>, sqlx::Error> {
    let ms = now.as_millisecond();
    sqlx::query(
        "update slo_maintenance set ends_at = $1, updated_at = $1, \
         starts_at = case when starts_at > $1 then $1 else starts_at end \
         where slo_maintenance_id = $2 and ends_at > $1",
    )
    .bind(ms)
    .bind(id)
    .execute(db.writer())
    .await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from slo_maintenance where slo_maintenance_id = $1"
    )))
    .bind(id)
    .fetch_optional(db.writer())
    .await?;
    row.as_ref().map(from_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn the_fulfillment_log_is_on_since_the_oldest_switch_of_its_enabled_head() {
        let now = at("2026-01-01T12:00:00Z");
        let log = br#"[
            {"maintenance_event_id": 3, "enabled": true, "actor": "kaito", "reason": "db upgrade", "created_at": "2026-01-01T11:00:00Z"},
            {"maintenance_event_id": 2, "enabled": true, "actor": "kaito", "reason": "start", "created_at": "2026-01-01T10:00:00Z"},
            {"maintenance_event_id": 1, "enabled": false, "actor": "kaito", "reason": "", "created_at": "2025-12-01T10:00:00Z"}
        ]"#;
        let w = parse_service_answer("fulfillment", log, now).expect("parsed").expect("on");
        assert_eq!((w.starts_at, w.ends_at, w.reason.as_str()), (at("2026-01-01T10:00:00Z"), None, "db upgrade"));
        assert!(w.covers("fulfillment", "any", "any", now));
        let off = br#"[{"maintenance_event_id": 4, "enabled": false, "actor": "k", "reason": "", "created_at": "2026-01-01T11:30:00Z"}]"#;
        assert_eq!(parse_service_answer("fulfillment", off, now), Ok(None));
        assert_eq!(parse_service_answer("fulfillment", b"[]", now), Ok(None));
        let state = br#"{"enabled": true, "since": "2026-01-01T11:00:00Z", "reason": "upgrade"}"#;
        assert!(parse_service_answer("x", state, now).expect("parsed").is_some());
        assert!(parse_service_answer("x", b"<html>", now).is_err());
    }

    #[test]
    fn an_endpoint_is_service_equals_url() {
        let e: ServiceEndpoint = "fulfillment=http://127.0.0.1:9464/maintenance".parse().expect("valid");
        assert_eq!((e.service.as_str(), e.url.as_str()), ("fulfillment", "http://127.0.0.1:9464/maintenance"));
        assert!("http://127.0.0.1:9464/maintenance".parse::<ServiceEndpoint>().is_err());
        assert!("x=ftp://h".parse::<ServiceEndpoint>().is_err());
    }
}
