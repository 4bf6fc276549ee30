//! The controller's HTTP API: JSON under `/api/v1/…`, errors as RFC 9457 problem documents
//! ([`error`]), OpenAPI 3.1 at `/openapi.json` (added with the shared layers by
//! `platform::api::finish` in [`crate::server`]). One router per resource, merged here:
//!
//! * [`slos`] -- `GET /api/v1/slos`, `/api/v1/slos/{service}/{slo}`, `/api/v1/journeys`,
//!   `/api/v1/services`;
//! * [`alerts`] -- `GET /api/v1/alerts`, `GET|POST /api/v1/silences`,
//!   `DELETE /api/v1/silences/{id}`;
//! * [`notifications`] -- `GET /api/v1/notifications`: what was sent, what waits, what was
//!   given up on (dead letters);
//! * [`maintenance`] -- `GET|POST /api/v1/maintenance`, `DELETE /api/v1/maintenance/{id}`;
//! * [`gate`] -- `POST /api/v1/gate` (decide a deploy), `GET /api/v1/decisions`,
//!   `GET|POST /api/v1/overrides`, `POST /api/v1/overrides/{id}/approve`.
//!
//! Reads are open to whoever reaches the port; writes (silences, maintenance) need
//! `Authorization: Bearer <--api-token>` (the scheme in any case), checked by
//! [`platform::auth::RequireToken`] before the body is read; without a configured token they are
//! refused.

pub mod alerts;
pub mod error;
pub mod gate;
pub mod maintenance;
pub mod notifications;
pub mod slos;

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use platform::Problem;
use platform::auth::{ApiToken, TokenState};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::controller::Controller;

/// The realm of the API's `WWW-Authenticate` challenge.
pub const REALM: &str = "kura-slo";

/// What the handlers share: the controller and the token writes need.
#[derive(Debug, Clone)]
pub struct AppState {
    controller: Arc<Controller>,
    api_token: Option<ApiToken>,
}

impl AppState {
    pub fn new(controller: Arc<Controller>, api_token: Option<ApiToken>) -> AppState {
        AppState { controller, api_token }
    }
}

impl Deref for AppState {
    type Target = Controller;

    fn deref(&self) -> &Controller {
        &self.controller
    }
}

impl TokenState for AppState {
    fn api_token(&self) -> Option<ApiToken> {
        self.api_token.clone()
    }

    fn realm(&self) -> &'static str {
        REALM
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kura SLO controller API",
        description = "Current status, error budgets, burn rates and history of every journey SLO; alerts, silences and maintenance windows. Errors are RFC 9457 problem documents."
    ),
    components(schemas(Problem)),
    tags(
        (name = "slo", description = "SLOs, journeys and services"),
        (name = "alert", description = "Alerts, silences and notifications"),
        (name = "maintenance", description = "Maintenance windows"),
        (name = "gate", description = "Deploy gate decisions and break-glass overrides"),
    )
)]
struct ApiDoc;

/// The API's routes with `state`, and the OpenAPI document built from the same route table.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(slos::routes())
        .merge(alerts::routes())
        .merge(notifications::routes())
        .merge(maintenance::routes())
        .merge(gate::routes())
        .split_for_parts();
    doc.components.get_or_insert_with(Default::default).add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("--api-token")).build(),
        ),
    );
    (router.with_state(state), doc)
}
