//! Fault injection (`kura incident`): absent unless enabled; when enabled, an incident fails
//! or slows one journey's requests, shows in the metrics, and stops on request.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, spawn_app, spawn_app_tuned};

crate::on_both_backends!(
    without_fault_injection_the_incident_endpoint_does_not_exist,
    an_incident_fails_one_journey_and_leaves_the_others_alone_until_it_is_stopped,
);

async fn without_fault_injection_the_incident_endpoint_does_not_exist(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };

    let post = app.http.post(format!("{}/incidents", app.admin_base)).json(&json!({"journey": "stock-read"})).send();
    let get = app.http.get(format!("{}/incidents", app.admin_base)).send();
    let (post, get) = (post.await.expect("post"), get.await.expect("get"));

    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
    let metrics = app.http.get(format!("{}/metrics", app.admin_base)).send().await.expect("scrape").text().await;
    assert!(!metrics.expect("body").contains("fault_injection"), "nothing about faults is even registered");
}

async fn an_incident_fails_one_journey_and_leaves_the_others_alone_until_it_is_stopped(backend: Backend) {
    let Some(app) = spawn_app_tuned(backend, |c| c.fault_injection = true).await else { return };
    let acme = app.shipper_token("acme");
    let incidents = format!("{}/incidents", app.admin_base);

    let bad = app.http.post(&incidents).json(&json!({"journey": "no-such-journey", "error_rate": 1})).send().await;
    assert_eq!(bad.expect("post").status(), StatusCode::UNPROCESSABLE_ENTITY);
    let started = app
        .http
        .post(&incidents)
        .json(&json!({"journey": "stock-read", "error_rate": 1.0, "latency_ms": 200, "for_seconds": 60}))
        .send()
        .await
        .expect("start");
    assert_eq!(started.status(), StatusCode::CREATED);

    let clock = Instant::now();
    let failed = app.get("/v1/stock", &acme).await;
    assert!(clock.elapsed() >= Duration::from_millis(200), "the latency was injected");
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR, "{failed:?}");
    assert_eq!(failed.body["type"], "/problems/internal");
    let other = app.get("/v1/items", &acme).await;
    assert_eq!(other.status, StatusCode::OK, "another journey is untouched");
    let metrics = app.http.get(format!("{}/metrics", app.admin_base)).send().await.expect("scrape").text().await;
    let metrics = metrics.expect("body");
    assert!(metrics.contains("fault_injection_active{journey=\"stock-read\"} 1"), "{metrics}");
    assert!(
        metrics.lines().any(|l| l.starts_with("http_server_request_duration_seconds_count")
            && l.contains("journey=\"stock-read\"")
            && l.contains("http_response_status_code=\"500\"")),
        "injected failures count against the journey like real ones"
    );

    let stopped = app.http.delete(&incidents).send().await.expect("stop");
    assert_eq!(stopped.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/stock", &acme).await.status, StatusCode::OK);
    let listed: serde_json::Value = app.http.get(&incidents).send().await.expect("list").json().await.expect("json");
    assert_eq!(listed, json!([]));
}
