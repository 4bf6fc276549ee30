//! The alerting part of the controller's API:
//!
//! * `GET /api/v1/alerts` -- every alert that is not `inactive` (firing first), with its labels
//!   and whether a silence covers it.
//! * `GET /api/v1/silences` -- silences that have not ended.
//! * `POST /api/v1/silences` -- create one: `{"matchers": [{"name", "value"}], "starts_at"?,
//!   "ends_at", "author", "comment"}` (RFC 3339 instants); 201 with the silence.
//! * `DELETE /api/v1/silences/{id}` -- expire it now (kept for the record); 200 with it.
//!
//! Writes need the API token ([`platform::auth::RequireToken`]): 401 `/problems/unauthorized`
//! otherwise. A silence that breaks a rule is 422 `/problems/validation` naming the member
//! ([`crate::alert::silence::NewSilence::parse`]).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use platform::Problem;
use platform::auth::RequireToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, invalid};
use crate::alert::silence::{self, Matcher, NewSilence, Silence};
use crate::alert::{self, Alert, AlertState};

/// The routes above, with their OpenAPI paths.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
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

/// An RFC 3339 instant from the body member `field`.
pub(crate) fn instant(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    text.parse::<Timestamp>().map_err(|e| invalid(field, format!("not an RFC 3339 instant: {e}")))
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alert",
    responses((status = 200, description = "Alerts that are not inactive, firing first", body = [AlertView])))]
#[tracing::instrument(skip_all)]
async fn list_alerts(State(c): State<AppState>) -> Result<Json<Vec<AlertView>>, ApiError> {
    let now = Timestamp::now();
    let alerts = alert::list(c.db()).await?;
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
        (status = 400, description = "A body that is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or a wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A member that breaks a rule", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn create_silence(
    State(c): State<AppState>,
    _: RequireToken,
    body: Result<Json<SilenceRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Silence>), ApiError> {
    let Json(req) = body?;
    let now = Timestamp::now();
    let starts_at = req.starts_at.as_deref().map(|s| instant("/starts_at", s)).transpose()?;
    let ends_at = instant("/ends_at", &req.ends_at)?;
    let new = NewSilence::parse(req.matchers, starts_at, ends_at, &req.author, &req.comment, now)
        .map_err(|e| invalid(&format!("/{}", e.field), e.message))?;
    let s = silence::create(c.db(), &new, now).await?;
    tracing::info!(id = s.id, author = %s.author, "silence created");
    Ok((StatusCode::CREATED, Json(s)))
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
async fn expire_silence(
    State(c): State<AppState>,
    _: RequireToken,
    Path(id): Path<String>,
) -> Result<Json<Silence>, ApiError> {
    let id: i64 = id.parse().map_err(|_| invalid("id", "must be a whole number"))?;
    match silence::expire(c.db(), id, Timestamp::now()).await? {
        Some(s) => {
            tracing::info!(id, "silence expired");
            Ok(Json(s))
        }
        None => Err(ApiError::NotFound { field: "id", what: format!("silence {id}") }),
    }
}
