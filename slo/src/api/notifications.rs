//! The notification part of the controller's API, for on-call to see what was sent and what
//! was given up on:
//!
//! * `GET /api/v1/notifications?state=&receiver=&limit=` -- outbox rows, newest first: `state`
//!   is `pending`, `delivered` or `dead` (dead-lettered: failed every attempt, or its receiver is
//!   no longer configured); `receiver` is `webhook`, `slack`, `pagerduty` or `alertmanager`;
//!   `limit` 1 to [`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]). Delivered and dead rows are kept
//!   seven days ([`crate::alert::outbox::KEEP_DELIVERED`]).

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use platform::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, invalid};
use crate::alert::outbox::{self, DeliveryState, Filter, OutboxRow};

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// The routes above, with their OpenAPI paths.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_notifications))
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "alert",
    params(
        ("state" = Option<String>, Query, description = "`pending`, `delivered` or `dead`"),
        ("receiver" = Option<String>, Query, description = "`webhook`, `slack`, `pagerduty` or `alertmanager`"),
        ("limit" = Option<i64>, Query, description = "At most this many rows (1 to 1000, default 100)"),
    ),
    responses(
        (status = 200, description = "Notifications, newest first", body = [OutboxRow]),
        (status = 422, description = "A malformed parameter", body = Problem, content_type = "application/problem+json"),
    ))]
#[tracing::instrument(skip_all)]
async fn list_notifications(
    State(c): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Vec<OutboxRow>>, ApiError> {
    let Query(query) = query.map_err(|e| invalid("query", e.body_text()))?;
    if let Some(unknown) = query.keys().find(|k| !matches!(k.as_str(), "state" | "receiver" | "limit")) {
        return Err(invalid(unknown, "unknown parameter (use state, receiver and limit)"));
    }
    let state = query
        .get("state")
        .map(|s| DeliveryState::parse(s).ok_or_else(|| invalid("state", "must be pending, delivered or dead")))
        .transpose()?;
    let receiver = query.get("receiver").cloned();
    if let Some(r) = &receiver
        && !matches!(r.as_str(), "webhook" | "slack" | "pagerduty" | "alertmanager")
    {
        return Err(invalid("receiver", "must be webhook, slack, pagerduty or alertmanager"));
    }
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| invalid("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")))?,
    };
    Ok(Json(outbox::list(c.db(), &Filter { state, receiver }, limit).await?))
}
