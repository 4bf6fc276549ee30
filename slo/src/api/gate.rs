//! The deploy gate's part of the controller's API:
//!
//! * `POST /api/v1/gate` -- decide a deploy: `{"service", "environment", "sha", "ref"?,
//!   "labels"?, "trailers"?}`; 200 with the stored decision (what `slo gate` asks). Open like the
//!   reads: it changes nothing but the audit trail, and a workflow asking needs no secret.
//! * `GET /api/v1/decisions?service=&environment=&sha=&limit=` -- stored decisions, newest
//!   first.
//! * `GET /api/v1/overrides` -- the newest overrides.
//! * `POST /api/v1/overrides` -- create a break-glass override: `{"service", "environment",
//!   "sha"?, "starts_at"?, "ends_at", "reason", "initiator"}`; 201. It has no effect until
//!   approved.
//! * `POST /api/v1/overrides/{id}/approve` -- `{"approver"}`; 200. The initiator cannot approve
//!   their own override (403); an approved or expired one cannot be approved again (409).
//!
//! Override writes need the API token; creation and approval are announced through the
//! alerting receivers.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use platform::Problem;
use platform::auth::RequireToken;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::alerts::instant;
use super::error::{ApiError, invalid};
use crate::gate::overrides::{self, ApproveError, NewOverride, Override};
use crate::gate::store::{self, Delivery, Filter, Origin, StoredDecision};
use crate::gate::{Deploy, GateError, Sha};

/// The routes above, with their OpenAPI paths.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ask))
        .routes(routes!(list_decisions))
        .routes(routes!(list_overrides, create_override))
        .routes(routes!(approve_override))
}

/// A deploy to decide.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GateRequest {
    pub service: String,
    pub environment: String,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    /// Commit trailers, `Key: value` (`Kura-Exception: hotfix`).
    #[serde(default)]
    pub trailers: Vec<String>,
}

impl From<GateError> for ApiError {
    fn from(e: GateError) -> Self {
        match e {
            GateError::UnknownService(s) => invalid("/service", format!("no spec declares service `{s}`")),
            GateError::Database(e) => ApiError::Database(e),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/gate", tag = "gate", request_body = GateRequest,
    responses(
        (status = 200, description = "The decision, stored", body = StoredDecision),
        (status = 400, description = "A body that is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown service, a sha that is not one, an empty environment", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn ask(
    State(c): State<AppState>,
    body: Result<Json<GateRequest>, JsonRejection>,
) -> Result<Json<StoredDecision>, ApiError> {
    let Json(req) = body?;
    let sha = Sha::parse(&req.sha).map_err(|m| invalid("/sha", m))?;
    if req.environment.trim().is_empty() {
        return Err(invalid("/environment", "the environment's name"));
    }
    let deploy = Deploy {
        service: req.service,
        environment: req.environment.trim().to_owned(),
        sha,
        git_ref: req.git_ref,
        labels: req.labels,
        trailers: req.trailers,
    };
    let d = crate::gate::judge(&c, &deploy, Origin::Api, Delivery::None, Timestamp::now()).await?;
    tracing::info!(id = d.id, verdict = %d.verdict, "gate decision");
    Ok(Json(d))
}

#[utoipa::path(get, path = "/api/v1/decisions", tag = "gate",
    params(
        ("service" = Option<String>, Query, description = "Only this service's"),
        ("environment" = Option<String>, Query, description = "Only this environment's"),
        ("sha" = Option<String>, Query, description = "Only this commit's (may be abbreviated)"),
        ("limit" = Option<i64>, Query, description = "At most this many (default 100, at most 1000)"),
    ),
    responses(
        (status = 200, description = "Stored decisions, newest first", body = [StoredDecision]),
        (status = 422, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn list_decisions(
    State(c): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Vec<StoredDecision>>, ApiError> {
    let Query(query) = query.map_err(|e| invalid("query", e.body_text()))?;
    let sha = query.get("sha").map(|s| Sha::parse(s)).transpose().map_err(|m| invalid("sha", m))?;
    let limit = match query.get("limit") {
        Some(l) => {
            l.parse::<i64>().ok().filter(|l| (1..=1000).contains(l)).ok_or_else(|| invalid("limit", "1 to 1000"))?
        }
        None => 100,
    };
    let filter = Filter {
        service: query.get("service").cloned(),
        environment: query.get("environment").cloned(),
        sha,
        since: None,
    };
    Ok(Json(store::list(c.db(), &filter, limit).await?))
}

/// A break-glass override to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    pub service: String,
    pub environment: String,
    /// Only this commit; any in the time range when absent.
    pub sha: Option<String>,
    /// RFC 3339; now when absent.
    pub starts_at: Option<String>,
    /// RFC 3339, at most 7 days after `starts_at`.
    pub ends_at: String,
    pub reason: String,
    pub initiator: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Who approves: not the initiator.
    pub approver: String,
}

#[utoipa::path(get, path = "/api/v1/overrides", tag = "gate",
    responses((status = 200, description = "The newest 200 overrides", body = [Override])))]
#[tracing::instrument(skip_all)]
async fn list_overrides(State(c): State<AppState>) -> Result<Json<Vec<Override>>, ApiError> {
    Ok(Json(overrides::list(c.db(), 200).await?))
}

#[utoipa::path(post, path = "/api/v1/overrides", tag = "gate", request_body = OverrideRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created, waiting for another person's approval", body = Override),
        (status = 401, description = "No or a wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A member that breaks a rule", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn create_override(
    State(c): State<AppState>,
    _: RequireToken,
    body: Result<Json<OverrideRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Override>), ApiError> {
    let Json(req) = body?;
    let now = Timestamp::now();
    let starts_at = req.starts_at.as_deref().map(|s| instant("/starts_at", s)).transpose()?;
    let ends_at = instant("/ends_at", &req.ends_at)?;
    let specs = c.specs();
    let services: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
    let new = NewOverride::parse(
        &services,
        &req.service,
        &req.environment,
        req.sha.as_deref(),
        starts_at,
        ends_at,
        &req.reason,
        &req.initiator,
        now,
    )
    .map_err(|e| invalid(&format!("/{}", e.field), e.message))?;
    let o = overrides::create(c.db(), &new, now).await?;
    tracing::warn!(id = o.id, service = %o.service, environment = %o.environment, initiator = %o.initiator, "break-glass override requested");
    overrides::announce(c.db(), &c.alerting(), &o, "requested", now).await?;
    Ok((StatusCode::CREATED, Json(o)))
}

#[utoipa::path(post, path = "/api/v1/overrides/{id}/approve", tag = "gate", request_body = ApproveRequest,
    params(("id" = i64, Path, description = "The override id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Approved: it now applies to deploys in its scope", body = Override),
        (status = 401, description = "No or a wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The initiator cannot approve their own override", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such override", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already approved, or expired", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn approve_override(
    State(c): State<AppState>,
    _: RequireToken,
    Path(id): Path<String>,
    body: Result<Json<ApproveRequest>, JsonRejection>,
) -> Result<Json<Override>, ApiError> {
    let id: i64 = id.parse().map_err(|_| invalid("id", "must be a whole number"))?;
    let Json(req) = body?;
    if req.approver.trim().is_empty() || req.approver.len() > 256 {
        return Err(invalid("/approver", "who approves (1 to 256 characters)"));
    }
    let now = Timestamp::now();
    let o = match overrides::approve(c.db(), id, &req.approver, now).await {
        Ok(o) => o,
        Err(ApproveError::NotFound(id)) => {
            return Err(ApiError::NotFound { field: "id", what: format!("override {id}") });
        }
        Err(e @ ApproveError::OwnOverride) => {
            return Err(ApiError::Forbidden { field: "/approver", message: e.to_string() });
        }
        Err(e @ (ApproveError::AlreadyApproved { .. } | ApproveError::Expired(_))) => {
            return Err(ApiError::Conflict { field: "id", message: e.to_string() });
        }
        Err(ApproveError::Database(e)) => return Err(e.into()),
    };
    tracing::warn!(id, approver = %req.approver, "break-glass override approved");
    overrides::announce(c.db(), &c.alerting(), &o, "approved", now).await?;
    Ok(Json(o))
}
