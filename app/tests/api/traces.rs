//! Traces: a client's `traceparent` is continued through the service into its database
//! spans, exported as real OTLP protobuf; exemplars point at exported traces; problem
//! documents carry the trace id; log lines carry the trace and span ids of the exported span.

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

/// Every line `reader` yields, as it comes (read to the end, so the writer never sees EPIPE).
fn pump(reader: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(reader).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// The next line from `lines` that `matching` maps to something, waiting up to 20 s.
fn next_line<T>(lines: &std::sync::mpsc::Receiver<String>, matching: impl Fn(&str) -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        if let Some(found) = matching(&lines.recv_timeout(left).ok()?) {
            return Some(found);
        }
    }
    None
}

/// The next JSON line from `lines` that `matching` accepts.
fn next_json(
    lines: &std::sync::mpsc::Receiver<String>,
    matching: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    next_line(lines, |l| serde_json::from_str::<serde_json::Value>(l).ok().filter(|j| matching(j)))
}

/// The real binary, killed and its database removed on drop.
struct Served {
    child: std::process::Child,
    db: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.db.display()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_inside_a_request_carry_the_trace_and_span_ids_of_its_exported_span() {
    // Arrange: the binary as operators run it (stderr not a terminal, so JSON lines), exporting
    // to the in-process receiver, with every statement over the slow threshold so that each
    // one writes a WARN line inside the request.
    let db = std::env::temp_dir().join(format!("kura-logs-{:016x}.db", rand::random::<u64>()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fulfillment"))
        .args(["serve", "--seed", "--no-jobs", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", db.display()))
        .env("FULFILLMENT_SLOW_QUERY_MS", "0")
        .env("RUST_LOG", "info,sqlx=warn")
        .env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", crate::otlp::receiver())
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        // Every trace kept: the test follows an ordinary request's spans.
        .env("KURA_TRACES_KEEP_RATIO", "1")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the fulfillment binary");
    let stdout = pump(child.stdout.take().expect("stdout"));
    let stderr = pump(child.stderr.take().expect("stderr"));
    let _served = Served { child, db };
    // The seed prints `  shipper acme    (id N) TOKEN`.
    let token = next_line(&stdout, |l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        (words.first() == Some(&"shipper") && words.get(1) == Some(&"acme"))
            .then(|| words.last().map(|w| (*w).to_owned()))?
    })
    .expect("the seed prints acme's token");
    let listening =
        next_json(&stderr, |j| j["message"] == "listening").expect("a JSON line saying where the service listens");
    let base = format!("http://{}", listening["public"].as_str().expect("public address"));
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);

    // Act
    let r = crate::helpers::http_client()
        .get(format!("{base}/v1/stock?item_code=MUG-01"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);

    // Assert: a statement's log line names the request's trace and its server span, as exported.
    let line = next_json(&stderr, |j| j["target"] == "sqlx::query" && j["span"]["trace_id"] == trace_id.as_str())
        .expect("a statement log line inside the request, carrying its trace id");
    let span_id = line["span"]["span_id"].as_str().unwrap_or_else(|| panic!("no span_id: {line}"));
    let spans = spans_of(&trace_id, 2).await;
    let server = spans.iter().find(|s| s.name == "GET /v1/stock").unwrap_or_else(|| panic!("not exported: {spans:#?}"));
    assert_eq!(span_id, server.span_id, "the log line names the exported server span: {line}");
    assert_eq!(server.attribute("http.response.status_code"), Some("IntValue(200)"), "{server:?}");
    assert!(
        spans.iter().any(|s| s.parent_span_id == span_id && s.attribute("db.query.name").is_some()),
        "the statements logged under {span_id} are its exported children: {spans:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_slow_requests_always_keep_their_traces_and_ordinary_ones_keep_the_configured_share() {
    // Arrange: the binary keeping a quarter of ordinary traces, with fault injection on so the
    // test can make requests fail or slow down.
    let db = std::env::temp_dir().join(format!("kura-sampling-{:016x}.db", rand::random::<u64>()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fulfillment"))
        .args([
            "serve",
            "--seed",
            "--no-jobs",
            "--fault-injection",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("RUST_LOG", "info,sqlx=warn")
        .env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", crate::otlp::receiver())
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("KURA_TRACES_KEEP_RATIO", "0.25")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("KURA_TRACES_TAIL_SAMPLING")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the fulfillment binary");
    let stdout = pump(child.stdout.take().expect("stdout"));
    let stderr = pump(child.stderr.take().expect("stderr"));
    let _served = Served { child, db };
    let token = next_line(&stdout, |l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        (words.first() == Some(&"shipper") && words.get(1) == Some(&"acme"))
            .then(|| words.last().map(|w| (*w).to_owned()))?
    })
    .expect("acme's token");
    let listening = next_json(&stderr, |j| j["message"] == "listening").expect("where it listens");
    let base = format!("http://{}", listening["public"].as_str().expect("public"));
    let admin = format!("http://{}", listening["admin"].as_str().expect("admin"));
    let http = crate::helpers::http_client();
    let traced = |path: String| {
        let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
        let request = http
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
            .send();
        async move { (trace_id, request.await.expect("request").status()) }
    };

    // Act: ordinary requests (a route with no latency SLO), failed ones, slow ones.
    let mut ordinary = Vec::new();
    for _ in 0..400 {
        ordinary.push(traced("/v1/items".into()).await.0);
    }
    let incident = |body: serde_json::Value| http.post(format!("{admin}/incidents")).json(&body).send();
    incident(serde_json::json!({"journey": "stock-read", "error_rate": 1.0, "for_seconds": 60})).await.expect("start");
    let mut failed = Vec::new();
    for _ in 0..20 {
        let (id, status) = traced("/v1/stock".into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        failed.push(id);
    }
    incident(serde_json::json!({"journey": "stock-read", "latency_ms": 150, "for_seconds": 60})).await.expect("slow");
    let mut slow = Vec::new();
    for _ in 0..10 {
        let (id, status) = traced("/v1/stock".into()).await;
        assert_eq!(status, StatusCode::OK);
        slow.push(id);
    }
    let exposition = http
        .get(format!("{admin}/metrics"))
        .header("accept", "application/openmetrics-text")
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");

    // Assert
    let received = crate::otlp::traces_received(std::time::Duration::from_secs(3)).await;
    let missing: Vec<_> = failed.iter().chain(&slow).filter(|id| !received.contains(*id)).collect();
    assert!(missing.is_empty(), "every failed and every slow request keeps its trace; missing {missing:?}");
    let kept = ordinary.iter().filter(|id| received.contains(*id)).count();
    assert!((60..=140).contains(&kept), "about a quarter of 400 ordinary traces are kept, got {kept}");
    let exemplars: Vec<&str> =
        exposition.lines().filter_map(|l| l.split_once("trace_id=\"")).map(|(_, rest)| &rest[..32]).collect();
    assert!(!exemplars.is_empty(), "the histograms carry exemplars");
    let dangling: Vec<_> = exemplars.iter().filter(|id| !received.contains(**id)).collect();
    assert!(dangling.is_empty(), "every exemplar links to an exported trace; not exported: {dangling:?}");
}
