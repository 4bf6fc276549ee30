//! The HTTP API: the shipper API under `/v1`, the warehouse (WMS/HHT) API under `/wms/v1`,
//! the admin API under `/admin/v1`, EC channel webhooks under `/channels/v1` (signed, not
//! token-authenticated), and the OpenAPI 3.1 document at `/openapi.json`.
//!
//! Layers, outermost first: the platform's shared layers ([`platform::api`]: request metrics,
//! load shedding past `max_in_flight`, panic → 500 problem, request timeout → 503 problem);
//! then injected faults (only with fault injection enabled, see [`crate::faults`]);
//! then maintenance mode (writes answer 503 with `Retry-After`); `Idempotency-Key` replay on
//! POST; body limit. Handlers are thin: extract typed input, call one operation, map the result.

pub mod admin;
pub mod channels;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod schema;
pub mod shipper;
pub mod wms;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::db::Db;
use error::ApiError;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// A request that takes longer is answered 503 `timeout` and its transaction rolled back.
pub const REQUEST_TIMEOUT: Duration = platform::api::REQUEST_TIMEOUT;

/// Default for [`AppState::max_in_flight`]: at the ~350 creates/s one instance sustains on
/// 2 cores (BENCHMARKS.md), 256 in flight is under a second of queue.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Shared state of the API.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    /// Requests served concurrently before new ones are shed with 503 `overloaded`.
    pub max_in_flight: usize,
    /// A request still running after this is answered 503 `timeout` and rolled back.
    pub request_timeout: Duration,
    /// Mirrors the newest maintenance switch; refreshed by a job so every replica agrees.
    pub maintenance: Arc<AtomicBool>,
    /// Shared with the admin listener's `/metrics`.
    pub metrics: telemetry::Metrics,
    /// The `order-sync` journey's freshness SLI (`order_sync_lag_seconds`).
    pub order_sync_lag: telemetry::metrics::OrderSyncLag,
    /// Incidents injected on purpose; `None` unless fault injection is enabled.
    pub faults: Option<crate::faults::Faults>,
}

impl AppState {
    pub fn new(db: Db) -> Self {
        let metrics = telemetry::Metrics::new();
        let order_sync_lag = telemetry::metrics::OrderSyncLag::register(&metrics);
        Self {
            db,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            request_timeout: REQUEST_TIMEOUT,
            maintenance: Arc::new(AtomicBool::new(false)),
            metrics,
            order_sync_lag,
            faults: None,
        }
    }

    /// Reloads the maintenance flag from the database.
    pub async fn refresh_maintenance(&self) -> Result<(), crate::domain::Error> {
        let on = crate::db::maintenance::current(&self.db).await?.is_some_and(|e| e.enabled.0);
        self.maintenance.store(on, Ordering::Relaxed);
        Ok(())
    }
}

/// A page of a list, with the cursor for the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `?cursor=` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> List<T> {
    /// `rows` were fetched with `limit`; `id` reads the cursor key off the last row.
    pub fn new(rows: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Self {
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit;
        let next_cursor = if full { rows.last().map(|r| id(r).to_string()) } else { None };
        Self { data: rows, next_cursor }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Kura fulfillment API", description = "Shipper, warehouse and admin APIs of Kura's fulfillment service. Errors are RFC 9457 problem documents."),
    modifiers(&BearerAuth),
    components(schemas(platform::Problem)),
    tags(
        (name = "shipper", description = "Shipper (荷主) API: items, inbounds, shipments, stock, billing"),
        (name = "warehouse", description = "Warehouse API: receiving, waves, HHT scans, inspection, packing, labels, handover"),
        (name = "admin", description = "Admin API: master data, tokens, channels, maintenance mode"),
        (name = "channel", description = "EC channel webhooks (Shopify `orders/create`), authenticated by the body's HMAC signature"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "shopify_hmac",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                channels::HMAC_HEADER,
                "base64 HMAC-SHA256 of the raw request body under the channel's webhook secret",
            ))),
        );
        openapi.security =
            Some(vec![utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

/// The public API router and its OpenAPI document, built from the same route table.
pub fn api(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(shipper::router())
        .merge(wms::router())
        .merge(admin::router())
        .merge(channels::router())
        .split_for_parts();
    let router = router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .layer(middleware::from_fn_with_state(state.clone(), maintenance_gate))
        .with_state(state.clone());
    let router = match &state.faults {
        Some(faults) => router.layer(middleware::from_fn_with_state(faults.clone(), crate::faults::inject)),
        None => router,
    };
    let layers = platform::api::ApiLayers {
        metrics: state.metrics.clone(),
        routes: crate::journeys::ROUTES,
        request_timeout: state.request_timeout,
        max_in_flight: state.max_in_flight,
    };
    (platform::api::finish(router, &doc, &layers), doc)
}

/// While maintenance is on, writes get 503 + `Retry-After`; reads, and switching maintenance off, go through.
async fn maintenance_gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if write && state.maintenance.load(Ordering::Relaxed) && !req.uri().path().starts_with("/admin/v1/maintenance") {
        return ApiError::Maintenance.into_response();
    }
    next.run(req).await
}
