//! The alerting part of the controller's API (merged into [`crate::api`]):
//!
//! * `GET /api/v1/alerts` -- every alert that is not `inactive` (firing first), with its labels
//!   and whether a silence covers it.
//! * `GET /api/v1/silences` -- silences that have not ended.
//! * `POST /api/v1/silences` -- create one: `{"matchers": [{"name", "value"}], "starts_at"?,
//!   "ends_at", "author", "comment"}` (RFC 3339 instants); 201 with the silence.
//! * `DELETE /api/v1/silences/{id}` -- expire it now (kept for the record); 200 with it.
//!
//! Writes need `Authorization: Bearer <--api-token>`; without it, or when the controller has
//! no token configured, they answer 401 `application/problem+json` (`/problems/unauthorized`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::silence::{self, Matcher, NewSilence, Silence};
use super::{Alert, AlertState};
use crate::api::error::{ApiError, PROBLEM_JSON, Problem, bad};
use crate::controller::Controller;

type AppState = Arc<Controller>;

/// The routes above, with their OpenAPI paths.
pub fn routes() -> OpenApiRouter<AppState> {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    let mut components = utoipa::openapi::Components::new();
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("--api-token")).build(),
        ),
    );
    let mut doc = utoipa::openapi::OpenApi::default();
    doc.components = Some(components);
    OpenApiRouter::with_openapi(doc)
        .routes(routes!(list_alerts))
        .routes(routes!(list_silences, create_silence))
        .routes(routes!(expire_silence))
}

/// An alert with its labels.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: Alert,
    pub labels: std::collections::BTreeMap<String, String>,
    /// A silence in force matches it: receivers are not told.
    pub silenced: bool,
}

/// A silence to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    pub matchers: Vec<Matcher>,
    /// RFC 3339; now when absent.
    pub starts_at: Option<String>,
    /// RFC 3339, in the future.
    pub ends_at: String,
    pub author: String,
    pub comment: String,
}

/// 401 as a problem document, with the challenge.
pub(crate) fn unauthorized(detail: &str) -> Response {
    let problem = Problem {
        kind: "/problems/unauthorized".into(),
        title: "Unauthorized",
        status: 401,
        detail: detail.into(),
        field: Some("authorization".into()),
        trace_id: telemetry::trace::current_trace_id(),
    };
    let mut r = (StatusCode::UNAUTHORIZED, serde_json::to_vec(&problem).unwrap_or_default()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// The request carries the configured bearer token (compared as SHA-256 digests, so the time
/// taken says nothing about how much of it matched); the error is the 401's detail.
pub(crate) fn authorize(c: &Controller, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(token) = &c.alerting().api_token else {
        return Err("writes are disabled: the controller has no --api-token");
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("Authorization: Bearer <token> is required")?;
    if Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.0.as_bytes()) {
        Ok(())
    } else {
        Err("the bearer token is not valid")
    }
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alert",
    responses((status = 200, description = "Alerts that are not inactive, firing first", body = [AlertView])))]
#[tracing::instrument(skip_all)]
async fn list_alerts(State(c): State<AppState>) -> Result<Json<Vec<AlertView>>, ApiError> {
    let now = Timestamp::now();
    let alerts = super::list(c.db()).await?;
    let silences = silence::list(c.db(), now).await?;
    let specs = c.specs();
    let views = alerts
        .into_iter()
        .map(|alert| {
            let labels = alert.labels(specs.iter().find(|s| s.service == alert.service));
            let silenced =
                alert.state != AlertState::Inactive && silences.iter().any(|s| s.is_active(now) && s.matches(&labels));
            AlertView { alert, labels, silenced }
        })
        .collect();
    Ok(Json(views))
}

#[utoipa::path(get, path = "/api/v1/silences", tag = "alert",
    responses((status = 200, description = "Silences that have not ended, soonest end first", body = [Silence])))]
#[tracing::instrument(skip_all)]
async fn list_silences(State(c): State<AppState>) -> Result<Json<Vec<Silence>>, ApiError> {
    Ok(Json(silence::list(c.db(), Timestamp::now()).await?))
}

#[utoipa::path(post, path = "/api/v1/silences", tag = "alert", request_body = SilenceRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Silence),
        (status = 400, description = "A malformed field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or a wrong bearer token", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn create_silence(
    State(c): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<SilenceRequest>, JsonRejection>,
) -> Response {
    if let Err(detail) = authorize(&c, &headers) {
        return unauthorized(detail);
    }
    let result = async {
        let Json(req) = body.map_err(|e| bad("body", e.body_text()))?;
        let now = Timestamp::now();
        let instant =
            |field: &str, s: &str| s.parse::<Timestamp>().map_err(|e| bad(field, format!("not RFC 3339: {e}")));
        let starts_at = req.starts_at.as_deref().map(|s| instant("starts_at", s)).transpose()?;
        let ends_at = instant("ends_at", &req.ends_at)?;
        let new = NewSilence::parse(req.matchers, starts_at, ends_at, &req.author, &req.comment, now)
            .map_err(|e| bad(e.field, e.message))?;
        let s = silence::create(c.db(), &new, now).await?;
        tracing::info!(id = s.id, author = %s.author, "silence created");
        Ok::<_, ApiError>((StatusCode::CREATED, Json(s)))
    };
    result.await.into_response()
}

#[utoipa::path(delete, path = "/api/v1/silences/{id}", tag = "alert",
    params(("id" = i64, Path, description = "The silence id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The silence, now ended", body = Silence),
        (status = 401, description = "No or a wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such silence", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn expire_silence(State(c): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(detail) = authorize(&c, &headers) {
        return unauthorized(detail);
    }
    let result = async {
        let id: i64 = id.parse().map_err(|_| bad("id", "must be a whole number"))?;
        match silence::expire(c.db(), id, Timestamp::now()).await? {
            Some(s) => {
                tracing::info!(id, "silence expired");
                Ok(Json(s))
            }
            None => Err(ApiError::NotFound { field: "id", what: format!("silence {id}") }),
        }
    };
    result.await.into_response()
}
