//! Traces: a client's `traceparent` is continued through the service into its database
//! spans, exported as real OTLP protobuf; exemplars point at exported traces; problem
//! documents carry the trace id.

use reqwest::StatusCode;

use crate::helpers::{Backend, spawn_app};
use crate::otlp::spans_of;

crate::on_both_backends!(a_callers_trace_continues_through_the_server_span_into_database_spans);

async fn a_callers_trace_continues_through_the_server_span_into_database_spans(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let client_span = "00f067aa0ba902b7";
    // Other tests run at the same time and share the exporter; give a burst that overflows its
    // queue a second chance rather than a flaky failure.
    let mut attempt = 0;
    let (trace_id, spans) = loop {
        attempt += 1;
        let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
        let r = app
            .http
            .get(format!("{}/v1/stock?item_code=MUG-01", app.base))
            .bearer_auth(&acme)
            .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK);
        let spans = spans_of(&trace_id, 2).await;
        if spans.iter().any(|s| s.name == "GET /v1/stock") || attempt == 3 {
            break (trace_id, spans);
        }
    };
    let server =
        spans.iter().find(|s| s.name == "GET /v1/stock").unwrap_or_else(|| panic!("no server span: {spans:#?}"));
    assert_eq!(server.parent_span_id, client_span, "the server span continues the caller's span");
    assert_eq!(server.kind, 2, "SPAN_KIND_SERVER");
    assert!(server.attribute("http.route").is_some_and(|v| v.contains("/v1/stock")), "{server:?}");
    let db: Vec<_> = spans.iter().filter(|s| s.attribute("db.query.name").is_some()).collect();
    assert!(!db.is_empty(), "no database spans: {spans:#?}");
    for span in &db {
        assert_eq!(span.parent_span_id, server.span_id, "{span:?} is not a child of the server span");
        assert_eq!(span.kind, 3, "SPAN_KIND_CLIENT");
        assert!(
            span.attribute("db.query.text").is_some_and(|t| !t.contains("MUG-01")),
            "values never reach spans: {span:?}"
        );
    }
    assert!(
        db.iter().any(|s| s.attribute("db.system").is_some_and(|v| v.contains("sqlite") || v.contains("postgresql")))
    );

    // Exemplars on the latency histogram name traces that were exported.
    let om = app
        .http
        .get(format!("{}/metrics", app.admin_base))
        .header("accept", "application/openmetrics-text")
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    let exemplar = om
        .lines()
        .filter(|l| {
            l.starts_with("http_server_request_duration_seconds_bucket") && l.contains("http_route=\"/v1/stock\"")
        })
        .find_map(|l| l.split("trace_id=\"").nth(1).and_then(|rest| rest.split('"').next()))
        .expect("an exemplar on a /v1/stock bucket")
        .to_owned();
    assert!(!spans_of(&exemplar, 1).await.is_empty(), "exemplar trace {exemplar} was never exported");

    // And a problem document quotes its trace.
    let problem = app
        .http
        .get(format!("{}/v1/shipments/424242", app.base))
        .bearer_auth(&acme)
        .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
        .send()
        .await
        .expect("request");
    let body: serde_json::Value = problem.json().await.expect("problem");
    assert_eq!(body["trace_id"], trace_id.as_str());
}

#[tokio::test]
async fn outgoing_calls_carry_the_current_trace_context() {
    let _app = spawn_app(Backend::Sqlite).await;
    let span = tracing::info_span!("channel callback");
    let mut headers = axum::http::HeaderMap::new();
    span.in_scope(|| telemetry::trace::inject(&mut headers));
    let trace_id = span.in_scope(telemetry::trace::current_trace_id).expect("a sampled span");
    let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok()).expect("traceparent injected");
    assert!(traceparent.starts_with(&format!("00-{trace_id}-")), "{traceparent}");
}
