//! The SLO part of the controller's API:
//!
//! * `GET /api/v1/slos` -- every SLO with its current status, worst remaining budget first
//!   (SLOs without a budget figure -- `no-data` -- after those with one; ties by status, worst
//!   first, then service and SLO id).
//! * `GET /api/v1/slos/{service}/{slo}?since=&limit=` -- one SLO now and its history, oldest
//!   first; `since` is an RFC 3339 instant or a duration back from now (`24h`, default), at
//!   most [`history::RETENTION`] back; `limit` at most [`MAX_HISTORY`] points.
//! * `GET /api/v1/journeys` -- per journey: the worst status of its SLOs and its composite.
//! * `GET /api/v1/services` -- per service: SLO counts by status, the worst SLO.

use std::collections::{BTreeMap, HashMap};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use jiff::Timestamp;
use platform::Problem;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, invalid};
use crate::controller::Controller;
use crate::controller::history::{self, MAX_HISTORY};
use crate::eval::{CompositeEvaluation, Evaluation, Status, TierBurn};
use crate::spec::{Slo, SloKey, Spec};

type Result<T> = std::result::Result<T, ApiError>;

/// The routes above, with their OpenAPI paths.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_slos))
        .routes(routes!(get_slo))
        .routes(routes!(list_journeys))
        .routes(routes!(list_services))
}

/// An SLO and its latest evaluation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SloView {
    pub service: String,
    pub journey: String,
    pub slo: String,
    pub description: String,
    /// The objective in percent, exactly as written (`99.9`).
    pub objective: String,
    /// `28d`, `week`, `month` or `quarter`.
    pub window: String,
    pub status: Status,
    pub reason: Option<String>,
    pub sli: Option<f64>,
    /// Fraction of the error budget left (1 = untouched, negative = overspent).
    pub budget_remaining: Option<f64>,
    pub budget_consumed: Option<f64>,
    pub burn_rates: Vec<TierBurn>,
    pub time_to_exhaustion_seconds: Option<f64>,
    pub in_maintenance: bool,
    /// RFC 3339; absent until the first evaluation.
    pub evaluated_at: Option<String>,
}

impl SloView {
    fn new(spec: &Spec, slo: &Slo, e: Option<&Evaluation>) -> SloView {
        SloView {
            service: spec.service.clone(),
            journey: slo.journey.clone(),
            slo: slo.id.clone(),
            description: slo.description.clone(),
            objective: slo.objective.to_string(),
            window: slo.window.to_string(),
            status: e.map_or(Status::NoData, |e| e.status),
            reason: e.map_or(Some("not evaluated yet".into()), |e| e.reason.clone()),
            sli: e.and_then(|e| e.sli),
            budget_remaining: e.and_then(|e| e.budget_remaining),
            budget_consumed: e.and_then(|e| e.budget_consumed),
            burn_rates: e.map(|e| e.burn_rates.clone()).unwrap_or_default(),
            time_to_exhaustion_seconds: e.and_then(|e| e.time_to_exhaustion_seconds),
            in_maintenance: e.is_some_and(|e| e.in_maintenance),
            evaluated_at: e.map(|e| e.evaluated_at.to_string()),
        }
    }
}

/// One stored evaluation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryPoint {
    pub evaluated_at: String,
    pub status: Status,
    pub reason: Option<String>,
    pub sli: Option<f64>,
    pub budget_remaining: Option<f64>,
    pub budget_consumed: Option<f64>,
    pub burn_rates: Vec<TierBurn>,
    pub in_maintenance: bool,
}

impl From<Evaluation> for HistoryPoint {
    fn from(e: Evaluation) -> Self {
        HistoryPoint {
            evaluated_at: e.evaluated_at.to_string(),
            status: e.status,
            reason: e.reason,
            sli: e.sli,
            budget_remaining: e.budget_remaining,
            budget_consumed: e.budget_consumed,
            burn_rates: e.burn_rates,
            in_maintenance: e.in_maintenance,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SloDetail {
    pub current: SloView,
    /// The first instant the history covers (RFC 3339).
    pub since: String,
    pub history: Vec<HistoryPoint>,
    /// True when `limit` cut the history short (ask again from the last point).
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JourneyView {
    pub service: String,
    pub journey: String,
    pub description: String,
    /// The worst status among its SLOs.
    pub status: Status,
    pub worst_budget_remaining: Option<f64>,
    pub slos: Vec<String>,
    pub composite: Option<CompositeEvaluation>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceView {
    pub service: String,
    /// The worst status among its SLOs.
    pub status: Status,
    pub slos: usize,
    /// SLO count per status (`ok`, `warning`, ...); statuses with none are left out.
    pub by_status: BTreeMap<String, usize>,
    /// The SLO with the least budget left.
    pub worst_slo: Option<String>,
    pub worst_budget_remaining: Option<f64>,
}

/// Every SLO with its latest evaluation, worst remaining budget first.
fn slo_views(c: &Controller) -> Vec<SloView> {
    let specs = c.specs();
    let current = c.current();
    let mut views: Vec<SloView> = specs
        .iter()
        .flat_map(|spec| {
            let current = &current;
            spec.slos().map(move |slo| SloView::new(spec, slo, current.get(&spec.key(slo))))
        })
        .collect();
    views.sort_by(|a, b| {
        let budget = |v: &SloView| v.budget_remaining.unwrap_or(f64::INFINITY);
        budget(a)
            .total_cmp(&budget(b))
            .then(b.status.severity_rank().cmp(&a.status.severity_rank()))
            .then_with(|| (&a.service, &a.slo).cmp(&(&b.service, &b.slo)))
    });
    views
}

#[utoipa::path(get, path = "/api/v1/slos", tag = "slo",
    responses((status = 200, description = "Every SLO, worst remaining budget first", body = [SloView])))]
#[tracing::instrument(skip_all)]
async fn list_slos(State(c): State<AppState>) -> axum::Json<Vec<SloView>> {
    axum::Json(slo_views(&c))
}

/// A service or SLO name: lowercase letters, digits, `-`, `_`, `.`, at most 128 characters.
fn name_param(field: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    if ok { Ok(()) } else { Err(invalid(field, "must be lowercase letters, digits, '-', '_' or '.' (at most 128)")) }
}

#[utoipa::path(get, path = "/api/v1/slos/{service}/{slo}", tag = "slo",
    params(
        ("service" = String, Path, description = "The service, e.g. `fulfillment`"),
        ("slo" = String, Path, description = "The SLO id, e.g. `create-shipment-availability`"),
        ("since" = Option<String>, Query, description = "RFC 3339 instant, or a duration back from now such as `24h` (default), at most 100 days back"),
        ("limit" = Option<i64>, Query, description = "At most this many history points (1 to 20000, default 20000)"),
    ),
    responses(
        (status = 200, body = SloDetail),
        (status = 422, description = "A malformed parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service or SLO", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all, fields(service = %service, slo = %slo))]
async fn get_slo(
    State(c): State<AppState>,
    Path((service, slo)): Path<(String, String)>,
    query: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<axum::Json<SloDetail>> {
    name_param("service", &service)?;
    name_param("slo", &slo)?;
    let Query(query) = query.map_err(|e| invalid("query", e.body_text()))?;
    if let Some(unknown) = query.keys().find(|k| !matches!(k.as_str(), "since" | "limit")) {
        return Err(invalid(unknown, "unknown parameter (use since and limit)"));
    }
    let now = Timestamp::now();
    let oldest = now.saturating_sub(history::RETENTION).unwrap_or(now);
    let since = match query.get("since") {
        None => now.saturating_sub(jiff::SignedDuration::from_hours(24)).unwrap_or(now),
        Some(s) => match s.parse::<Timestamp>() {
            Ok(t) => t,
            Err(_) => {
                let d = crate::math::parse_duration(s)
                    .map_err(|e| invalid("since", format!("neither an RFC 3339 instant nor a duration: {e}")))?;
                now.checked_sub(d).map_err(|_| invalid("since", "too far back"))?
            }
        },
    };
    if since < oldest {
        return Err(invalid("since", "history is kept for 100 days; ask for less"));
    }
    if since > now {
        return Err(invalid("since", "is in the future"));
    }
    let limit = match query.get("limit") {
        None => MAX_HISTORY,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_HISTORY).contains(n))
            .ok_or_else(|| invalid("limit", format!("must be a whole number from 1 to {MAX_HISTORY}")))?,
    };
    let specs = c.specs();
    let spec = specs
        .iter()
        .find(|s| s.service == service)
        .ok_or_else(|| ApiError::NotFound { field: "service", what: format!("service {service}") })?;
    let slo_spec = spec
        .slo(&slo)
        .ok_or_else(|| ApiError::NotFound { field: "slo", what: format!("SLO {slo} of service {service}") })?;
    let current = c.current();
    let view = SloView::new(spec, slo_spec, current.get(&spec.key(slo_spec)));
    // One more than asked tells whether the limit cut the history short.
    let mut rows = history::since(c.db(), &service, &slo, since, limit + 1).await?;
    let truncated = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(axum::Json(SloDetail {
        current: view,
        since: since.to_string(),
        history: rows.into_iter().map(HistoryPoint::from).collect(),
        truncated,
    }))
}

fn worst(statuses: impl Iterator<Item = Status>) -> Status {
    statuses.max_by_key(|s| s.severity_rank()).unwrap_or(Status::NoData)
}

fn min_budget(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.flatten().min_by(f64::total_cmp)
}

#[utoipa::path(get, path = "/api/v1/journeys", tag = "slo",
    responses((status = 200, description = "Every journey, worst status first", body = [JourneyView])))]
#[tracing::instrument(skip_all)]
async fn list_journeys(State(c): State<AppState>) -> axum::Json<Vec<JourneyView>> {
    let specs = c.specs();
    let current = c.current();
    let get = |service: &str, slo: &str| current.get(&SloKey::new(service, slo));
    let mut views: Vec<JourneyView> = specs
        .iter()
        .flat_map(|spec| {
            spec.journeys.iter().map(move |j| {
                let evals: Vec<Option<&Evaluation>> = j.slos.iter().map(|s| get(&spec.service, &s.id)).collect();
                JourneyView {
                    service: spec.service.clone(),
                    journey: j.name.clone(),
                    description: j.description.clone(),
                    status: worst(evals.iter().map(|e| e.map_or(Status::NoData, |e| e.status))),
                    worst_budget_remaining: min_budget(evals.iter().map(|e| e.and_then(|e| e.budget_remaining))),
                    slos: j.slos.iter().map(|s| s.id.clone()).collect(),
                    composite: crate::eval::composite(j, |id| get(&spec.service, id).and_then(|e| e.sli)),
                }
            })
        })
        .collect();
    views.sort_by(|a, b| {
        b.status
            .severity_rank()
            .cmp(&a.status.severity_rank())
            .then(
                a.worst_budget_remaining
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.worst_budget_remaining.unwrap_or(f64::INFINITY)),
            )
            .then_with(|| (&a.service, &a.journey).cmp(&(&b.service, &b.journey)))
    });
    axum::Json(views)
}

#[utoipa::path(get, path = "/api/v1/services", tag = "slo",
    responses((status = 200, description = "Health per service, worst first", body = [ServiceView])))]
#[tracing::instrument(skip_all)]
async fn list_services(State(c): State<AppState>) -> axum::Json<Vec<ServiceView>> {
    let slos = slo_views(&c);
    let mut by_service: BTreeMap<&str, Vec<&SloView>> = BTreeMap::new();
    for v in &slos {
        by_service.entry(&v.service).or_default().push(v);
    }
    let mut views: Vec<ServiceView> = by_service
        .into_iter()
        .map(|(service, views)| {
            let mut by_status = BTreeMap::new();
            for v in &views {
                *by_status.entry(v.status.as_str().to_owned()).or_insert(0) += 1;
            }
            // `slo_views` is sorted worst budget first.
            let worst_slo = views.iter().find(|v| v.budget_remaining.is_some());
            ServiceView {
                service: service.to_owned(),
                status: worst(views.iter().map(|v| v.status)),
                slos: views.len(),
                by_status,
                worst_slo: worst_slo.map(|v| v.slo.clone()),
                worst_budget_remaining: worst_slo.and_then(|v| v.budget_remaining),
            }
        })
        .collect();
    views.sort_by(|a, b| {
        b.status.severity_rank().cmp(&a.status.severity_rank()).then_with(|| a.service.cmp(&b.service))
    });
    axum::Json(views)
}
