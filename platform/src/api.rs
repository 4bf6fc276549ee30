//! The layers every public Kura API shares, applied around a binary's own routes by
//! [`finish`]. Outermost first:
//! 1. request metrics and the server span (`telemetry::http::record`): every request is
//!    measured, shed and timed-out ones too;
//! 2. load shedding: past `max_in_flight` concurrent requests, 503 `overloaded` with
//!    `Retry-After: 1` at once instead of a queue longer than clients wait;
//! 3. a panic in a handler becomes a 500 `internal` problem (the panic is logged);
//! 4. the request timeout: 503 `timeout`, and the handler's future is dropped, which rolls back
//!    its open transaction;
//! 5. the binary's own layers and routes; unknown paths are 404 `not-found`, unknown methods
//!    405 `method-not-allowed`; `GET /openapi.json` serves the document built from the same
//!    route table.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower_http::catch_panic::CatchPanicLayer;

use crate::problem::{Problem, ProblemType};

/// What the shared layers need.
#[derive(Debug, Clone)]
pub struct ApiLayers {
    pub metrics: telemetry::Metrics,
    /// The service's route → journey table, for the `journey` label.
    pub routes: telemetry::RouteJourneys,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
}

/// The default request timeout: a request still running after this is answered 503 `timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Adds `/openapi.json`, the problem fallbacks and the shared layers to `router`.
pub fn finish(router: Router, doc: &utoipa::openapi::OpenApi, layers: &ApiLayers) -> Router {
    let doc_json: Arc<str> = Arc::from(doc.to_pretty_json().unwrap_or_default());
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = Arc::clone(&doc_json);
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], doc.to_string()) }
            }),
        )
        .fallback(|| async { Problem::new(ProblemType::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(ProblemType::MethodNotAllowed, "this route does not take this method")
        })
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    Problem::new(ProblemType::Timeout, "the request took too long; its work was rolled back")
                }))
                .layer(tower::timeout::TimeoutLayer::new(layers.request_timeout)),
        )
        .layer(CatchPanicLayer::custom(|panic: Box<dyn std::any::Any + Send>| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "handler panicked".to_owned());
            Problem::internal(format!("handler panicked: {message}")).into_response()
        }))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    Problem::new(ProblemType::Overloaded, "the service is at capacity; retry shortly").retry_after(1)
                }))
                .layer(LoadShedLayer::new())
                .layer(ConcurrencyLimitLayer::new(layers.max_in_flight)),
        )
        .layer(axum::middleware::from_fn_with_state(
            telemetry::http::HttpTelemetry { metrics: layers.metrics.clone(), routes: layers.routes },
            telemetry::http::record,
        ))
}
