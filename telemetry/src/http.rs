//! HTTP server instrumentation for axum: a middleware that records every request under its
//! route template, method, status code and journey, and the `/metrics` handler with content
//! negotiation (OpenMetrics when the scraper asks for it, classic Prometheus text otherwise).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::journey::RouteJourneys;
use crate::metrics::{MethodLabels, Metrics};

/// Label for requests that matched no route, so unknown paths cannot grow the label set.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// What the middleware needs: the metrics and the service's route → journey table.
#[derive(Debug, Clone)]
pub struct HttpTelemetry {
    pub metrics: Metrics,
    pub routes: RouteJourneys,
}

/// `axum::middleware::from_fn_with_state(telemetry, record)`, applied with `Router::layer`
/// so that the matched route template is known.
pub async fn record(State(t): State<HttpTelemetry>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, MatchedPath::as_str).to_owned();
    let journey = t.routes.journey(&method, &route);
    let active = t.metrics.http_active.get_or_create(&MethodLabels { http_request_method: method.clone() }).clone();
    active.inc();
    let response = next.run(req).await;
    active.dec();
    t.metrics.observe_http(&route, &method, response.status().as_u16(), journey, start.elapsed());
    response
}

pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `/metrics` response for a scraper sending `headers`.
pub fn exposition(metrics: &Metrics, headers: &HeaderMap) -> Response {
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    let (content_type, body) = if wants_openmetrics {
        (OPENMETRICS, metrics.encode_openmetrics())
    } else {
        (PROMETHEUS_TEXT, metrics.encode_prometheus())
    };
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}
