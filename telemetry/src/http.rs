//! HTTP server instrumentation for axum: a middleware that records every request under its
//! route template, method, status code and journey, and the `/metrics` handler with content
//! negotiation (OpenMetrics when the scraper asks for it, classic Prometheus text otherwise).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

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
    let method = method_label(req.method()).to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, MatchedPath::as_str).to_owned();
    let journey = t.routes.journey(&method, &route);
    // The server span, named by route template and continuing the caller's trace. Its status
    // code goes on the OpenTelemetry span only (below): no log line inside the request can
    // show it, and each field recorded later costs the JSON log formatter a re-serialization.
    let span = tracing::info_span!(
        "http request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        url.path = %req.uri().path(),
        journey = %journey,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    crate::trace::continue_from(&span, req.headers());
    // Log lines inside the request carry its trace and span ids: JSON lines in their `span`
    // object (the current span's fields), human ones in the span prefix.
    let ids = crate::trace::ids(&span);
    let trace_text = ids.map(|(trace_id, span_id)| {
        let text = trace_id.to_string();
        record_ids(&span, &text, span_id);
        text
    });
    let active = t.metrics.http_active.get_or_create(&MethodLabels { http_request_method: method.clone() }).clone();
    active.inc();
    let response = next.run(req).instrument(span.clone()).await;
    active.dec();
    let status = response.status().as_u16();
    span.set_attribute("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.set_status(opentelemetry::trace::Status::error(""));
    }
    let elapsed = start.elapsed();
    // The tail-sampling decision, made now that the outcome is known: only a kept trace becomes
    // an exemplar, so every exemplar links to a trace that exists.
    let kept = ids.is_some_and(|(trace_id, _)| {
        let keep = crate::sampling::keep(trace_id, status, elapsed, journey.slow_threshold());
        span.set_attribute(crate::sampling::KEEP_ATTRIBUTE, keep);
        keep
    });
    t.metrics.observe_http(&route, &method, status, journey, elapsed, trace_text.filter(|_| kept));
    response
}

/// The `http_request_method` label: the method, or `_OTHER` for one HTTP does not define, as
/// the OpenTelemetry HTTP conventions say, so `curl -X FOO1`, `FOO2`, ... cannot grow the label
/// set.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "PATCH" => "PATCH",
        _ => "_OTHER",
    }
}

/// Records both ids in one call: the JSON log formatter re-serializes the span's fields on
/// every record, so two `Span::record` calls would cost twice.
fn record_ids(span: &tracing::Span, trace_id: &str, span_id: opentelemetry::trace::SpanId) {
    let Some(fields) = span.metadata().map(|m| m.fields()) else { return };
    let (Some(trace_field), Some(span_field)) = (fields.field("trace_id"), fields.field("span_id")) else { return };
    let span_id = tracing::field::display(span_id);
    span.record_all(&fields.value_set(&[
        (&trace_field, Some(&trace_id as &dyn tracing::Value)),
        (&span_field, Some(&span_id as &dyn tracing::Value)),
    ]));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        let foo = axum::http::Method::from_bytes(b"FOO1").expect("extension method");
        assert_eq!(method_label(&foo), "_OTHER");
        assert_eq!(method_label(&axum::http::Method::from_bytes(b"FOO2").expect("method")), "_OTHER");
        assert_eq!(method_label(&axum::http::Method::POST), "POST");
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
    }
}
