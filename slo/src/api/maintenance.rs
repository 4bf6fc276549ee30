//! The maintenance part of the controller's API:
//!
//! * `GET /api/v1/maintenance` -- every window open or planned, from all three origins
//!   (`spec`, `service`, `api`), soonest start first.
//! * `POST /api/v1/maintenance` -- create one: `{"service", "journey"?, "slo"?, "starts_at"?,
//!   "ends_at", "reason", "author"}` (RFC 3339 instants); 201 with the window.
//! * `DELETE /api/v1/maintenance/{id}` -- end it now (kept for the record); 200 with it.
//!
//! Writes need the API token, as the silences do ([`super::alerts`]).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
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
use crate::maintenance::{self, NewWindow, Window};

/// The routes above, with their OpenAPI paths.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_windows, create_window)).routes(routes!(end_window))
}

/// A maintenance window to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowRequest {
    pub service: String,
    /// Only this journey's SLOs.
    pub journey: Option<String>,
    /// Only this SLO.
    pub slo: Option<String>,
    /// RFC 3339; now when absent.
    pub starts_at: Option<String>,
    /// RFC 3339, after `starts_at` and in the future.
    pub ends_at: String,
    pub reason: String,
    pub author: String,
}

#[utoipa::path(get, path = "/api/v1/maintenance", tag = "maintenance",
    responses((status = 200, description = "Open and planned windows from the specs, the services and the API, soonest start first", body = [Window])))]
#[tracing::instrument(skip_all)]
async fn list_windows(State(c): State<AppState>) -> Result<Json<Vec<Window>>, ApiError> {
    let now = Timestamp::now();
    let mut windows: Vec<Window> = c.specs().iter().flat_map(|s| maintenance::spec_windows(s, now)).collect();
    windows.extend(c.service_windows().iter().cloned());
    windows.extend(maintenance::list(c.db(), now).await?);
    windows.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then_with(|| a.service.cmp(&b.service)));
    Ok(Json(windows))
}

#[utoipa::path(post, path = "/api/v1/maintenance", tag = "maintenance", request_body = WindowRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Window),
        (status = 400, description = "A body that is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or a wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A member that breaks a rule, or a service, journey or SLO not in the specs", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn create_window(
    State(c): State<AppState>,
    _: RequireToken,
    body: Result<Json<WindowRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Window>), ApiError> {
    let Json(req) = body?;
    let now = Timestamp::now();
    let starts_at = req.starts_at.as_deref().map(|s| instant("/starts_at", s)).transpose()?;
    let ends_at = instant("/ends_at", &req.ends_at)?;
    let specs = c.specs();
    let new = NewWindow::parse(
        &specs,
        &req.service,
        req.journey.as_deref(),
        req.slo.as_deref(),
        starts_at,
        ends_at,
        &req.reason,
        &req.author,
        now,
    )
    .map_err(|e| invalid(&format!("/{}", e.field), e.message))?;
    let w = maintenance::create(c.db(), &new, now).await?;
    tracing::info!(id = w.id, service = %w.service, author = ?w.author, "maintenance window created");
    Ok((StatusCode::CREATED, Json(w)))
}

#[utoipa::path(delete, path = "/api/v1/maintenance/{id}", tag = "maintenance",
    params(("id" = i64, Path, description = "The window id (API windows only)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The window, now ended", body = Window),
        (status = 401, description = "No or a wrong bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such window", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn end_window(
    State(c): State<AppState>,
    _: RequireToken,
    Path(id): Path<String>,
) -> Result<Json<Window>, ApiError> {
    let id: i64 = id.parse().map_err(|_| invalid("id", "must be a whole number"))?;
    match maintenance::end(c.db(), id, Timestamp::now()).await? {
        Some(w) => {
            tracing::info!(id, "maintenance window ended");
            Ok(Json(w))
        }
        None => Err(ApiError::NotFound { field: "id", what: format!("maintenance window {id}") }),
    }
}
