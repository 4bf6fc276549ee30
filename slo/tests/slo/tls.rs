//! TLS on every outgoing client of the controller, against a local HTTPS server whose
//! certificate a throw-away CA signed (`platform::testing::https_server`): with that CA given
//! (`--ca-bundle`, or the `Tls` built from it) the PromQL source, a webhook receiver and a
//! service's maintenance endpoint are reached over `https://`; without it each fails and says
//! the certificate is why.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use jiff::Timestamp;
use platform::testing::{HttpsServer, https_server};
use platform::tls::Tls;
use serde_json::{Value, json};
use slo::alert::{self, Receiver, Settings, outbox};
use slo::maintenance::ServiceEndpoint;

use crate::alert::support::{SPEC, burning, spec, start};
use crate::cli::{http_get, start_controller};
use crate::support::{Backend, Setup, SpecDir, TestDb};

/// A Prometheus query API that counts 1,000 events, one of them bad, for the test spec's SLO
/// over every range it is asked about.
async fn prometheus() -> HttpsServer {
    let sample = |part: &str, value: &str| json!({"metric": {"kura_slo": "shop/checkout-availability", "kura_part": part}, "value": [0, value]});
    let answer = json!({
        "status": "success",
        "data": {"resultType": "vector", "result": [sample("total", "1000"), sample("bad", "1")]},
    });
    let api = move || {
        let answer = answer.clone();
        async move { axum::Json(answer) }
    };
    https_server(Router::new().route("/api/v1/query", get(api.clone()).post(api))).await
}

/// The test SLO as `GET /api/v1/slos` reports it, once the controller has evaluated it.
async fn first_evaluation(port: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = tokio::task::spawn_blocking(move || http_get(port, "/api/v1/slos")).await.expect("joined");
        let body = answer.as_deref().and_then(|r| r.split_once("\r\n\r\n")).map(|(_, body)| body.to_owned());
        if let Some(slo) = body
            .and_then(|b| serde_json::from_str::<Value>(&b).ok())
            .and_then(|v| v.get(0).cloned())
            .filter(|s| s["evaluated_at"].is_string())
        {
            return slo;
        }
        assert!(Instant::now() < deadline, "no evaluation within 30 s: {answer:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slo_controller_reads_an_https_prometheus_with_the_ca_bundle_and_says_why_it_cannot_without() {
    // Arrange
    let server = prometheus().await;
    let specs = SpecDir::new(SPEC);
    let url = server.url();
    let ca = server.ca_pem.display().to_string();

    // Act: the same flags, with and without the CA that signed the server's certificate.
    let trusting = start_controller(&specs, &["--prometheus", &url, "--ca-bundle", &ca, "--interval", "1s"]);
    let with_bundle = first_evaluation(trusting.public).await;
    let refusing = start_controller(&specs, &["--prometheus", &url, "--interval", "1s"]);
    let without = first_evaluation(refusing.public).await;

    // Assert
    assert_eq!(with_bundle["status"], "ok", "{with_bundle}");
    assert!((with_bundle["sli"].as_f64().expect("an SLI") - 0.999).abs() < 1e-9, "{with_bundle}");
    assert_eq!(without["status"], "no-data", "{without}");
    let reason = without["reason"].as_str().expect("a reason");
    assert!(reason.contains("unreachable") && reason.contains("certificate"), "says why: {reason}");
    assert!(!reason.contains(&url), "no URL in a stored client error: {reason}");
}

#[tokio::test]
async fn a_webhook_receiver_behind_https_is_paged_with_the_ca_bundle_and_the_refusal_is_stored_without() {
    // Arrange: an HTTPS receiver recording what it gets.
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = Arc::clone(&received);
    let server = https_server(Router::new().route(
        "/hooks/kura",
        post(move |body: axum::Json<Value>| {
            let log = Arc::clone(&log);
            async move {
                log.lock().expect("lock").push(body.0);
                "ok"
            }
        }),
    ))
    .await;
    let settings = Settings {
        receivers: vec![Receiver::Webhook { url: format!("{}/hooks/kura", server.url()), secret: None }],
        ..Settings::default()
    };
    let trusting = Tls::new(Some(&server.ca_pem)).expect("TLS with the bundle").client().build().expect("client");
    let refusing = crate::support::client();
    let (with_bundle, without) = (TestDb::new(Backend::Sqlite).await, TestDb::new(Backend::Sqlite).await);
    let now = start();
    for test in [&with_bundle, &without] {
        alert::process(&test.db, &spec(), &[burning(now)], now, &settings).await.expect("process");
    }

    // Act
    let delivered = outbox::deliver_due(&with_bundle.db, &settings, &trusting, Timestamp::now()).await.expect("pass");
    let refused = outbox::deliver_due(&without.db, &settings, &refusing, Timestamp::now()).await.expect("pass");

    // Assert
    assert_eq!((delivered.delivered, delivered.failed), (1, 0), "{delivered:?}");
    assert_eq!(received.lock().expect("lock").len(), 1);
    assert_eq!((refused.delivered, refused.failed), (0, 1), "{refused:?}");
    let rows = outbox::rows(&without.db).await.expect("rows");
    let error = rows[0].last_error.as_deref().expect("the error is stored");
    assert!(error.contains("certificate"), "says why: {error}");
}

#[tokio::test]
async fn a_service_maintenance_endpoint_behind_https_is_read_with_the_ca_bundle() {
    let server =
        https_server(Router::new().route(
            "/maintenance",
            get(|| async { axum::Json(json!({"enabled": true, "reason": "database upgrade"})) }),
        ))
        .await;
    let specs = SpecDir::new(SPEC);
    let endpoint: ServiceEndpoint = format!("shop={}/maintenance", server.url()).parse().expect("endpoint");
    let test = TestDb::new(Backend::Sqlite).await;
    let c = Setup { service_maintenance: vec![endpoint], ..Setup::new(vec![specs.0.clone()]) }
        .with_http(Tls::new(Some(&server.ca_pem)).expect("TLS with the bundle").client().build().expect("client"))
        .build(test.db.clone());

    let windows = c.poll_service_maintenance(Timestamp::now()).await;

    assert_eq!(windows.len(), 1, "{windows:?}");
    assert_eq!(windows[0].reason, "database upgrade");
    assert_eq!(c.metrics.maintenance_errors.get(), 0);
}
