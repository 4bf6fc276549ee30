//! HTTP server instrumentation for axum: a middleware that records every request under its
//! route template, method, status code and journey, and the `/metrics` handler with content
//! negotiation (OpenMetrics when the scraper asks for it, classic Prometheus text otherwise).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

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
    // The server span, named by route template and continuing the caller's trace.
    let span = tracing::info_span!(
        "http request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = %route,
        url.path = %req.uri().path(),
        http.response.status_code = tracing::field::Empty,
        journey = %journey,
        trace_id = tracing::field::Empty,
    );
    crate::trace::continue_from(&span, req.headers());
    // Log lines inside the request carry its trace id (JSON logs include the current span's fields).
    if let Some(id) = span.in_scope(crate::trace::current_trace_id) {
        span.record("trace_id", id.as_str());
    }
    let active = t.metrics.http_active.get_or_create(&MethodLabels { http_request_method: method.clone() }).clone();
    active.inc();
    let response = next.run(req).instrument(span.clone()).await;
    active.dec();
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    let trace_id = span.in_scope(crate::trace::current_trace_id);
    t.metrics.observe_http(&route, &method, status, journey, start.elapsed(), trace_id);
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
