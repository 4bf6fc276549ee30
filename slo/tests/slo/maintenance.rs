//! Maintenance windows from the service's maintenance mode and from the controller's API: a
//! service endpoint (axum on port 0, serving the fulfillment service's `GET /maintenance` log)
//! reporting maintenance puts the service's SLOs in maintenance and a burn does not page; an
//! API window covers its SLO only and ends when deleted; writes need the token; bad input is a
//! problem naming the field; storage on SQLite and PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use slo::alert::{Event, Settings, outbox};
use slo::controller::Controller;
use slo::maintenance::{self, NewWindow, Origin, ServiceEndpoint};
use slo::source::Readings;
use slo::spec::SloKey;
use tokio::net::TcpListener;

use super::alert::support::{SPEC, sink, webhook_settings};
use crate::support::{Backend, Setup, SpecDir, TestDb, serve_api};

/// Two journeys, one SLO each, and a planned spec window.
const TWO_SLOS: &str = r#"
service: shop
maintenance:
  - name: planned-upgrade
    start: 2099-01-10T00:00:00Z
    end: 2099-01-10T01:00:00Z
journeys:
  checkout:
    slos:
      - id: checkout-availability
        objective: 99
        window: 30d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="checkout", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="checkout"}
  search:
    slos:
      - id: search-availability
        objective: 99
        window: 30d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="search", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="search"}
"#;

const TOKEN: &str = "t0ken";

/// A controller over `spec` on a fresh database, told `alerting` and `endpoints`.
struct Fixture {
    c: Arc<Controller>,
    _db: TestDb,
    _specs: SpecDir,
}

async fn fixture(backend: Backend, spec: &str, alerting: Settings, endpoints: Vec<ServiceEndpoint>) -> Fixture {
    let db = TestDb::new(backend).await;
    let specs = SpecDir::new(spec);
    let c = Setup {
        interval: Duration::from_secs(3600),
        alerting,
        service_maintenance: endpoints,
        ..Setup::new(vec![specs.0.clone()])
    }
    .build(db.db.clone());
    Fixture { c, _db: db, _specs: specs }
}

/// The controller's API on port 0, writes with [`TOKEN`].
async fn serve(c: &Arc<Controller>) -> String {
    serve_api(c, Some(TOKEN)).await
}

fn endpoint(url: &str) -> Vec<ServiceEndpoint> {
    vec![format!("shop={url}").parse::<ServiceEndpoint>().expect("endpoint")]
}

/// A burning reading for every SLO of the loaded specs: half the events bad over the fast
/// page's windows (1 h, 5 m), one in ten thousand elsewhere.
fn all_burning(c: &Controller, now: Timestamp) -> Readings {
    let fast = [SignedDuration::from_hours(1), SignedDuration::from_mins(5)];
    crate::support::readings(c, now, |_, range| if fast.contains(&range) { 0.5 } else { 0.0001 })
}

fn in_maintenance(c: &Controller, slo: &str) -> bool {
    c.current().get(&SloKey::new("shop", slo)).expect("evaluated").in_maintenance
}

/// A fulfillment-style admin endpoint: `GET /maintenance` answers the switch log, newest
/// first, on while `on` is true.
async fn service_endpoint(on: Arc<AtomicBool>) -> String {
    let app = axum::Router::new().route(
        "/maintenance",
        axum::routing::get(move || {
            let on = on.load(Ordering::SeqCst);
            async move {
                axum::Json(serde_json::json!([
                    {"maintenance_event_id": 2, "enabled": on, "actor": "kaito", "reason": "database upgrade",
                     "created_at": "2026-01-01T10:00:00Z"},
                    {"maintenance_event_id": 1, "enabled": false, "actor": "kaito", "reason": "",
                     "created_at": "2025-12-01T10:00:00Z"}
                ]))
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("{base}/maintenance")
}

async fn deliver(db: &platform::Db, settings: &Settings) -> outbox::DeliveryReport {
    outbox::deliver_due(db, settings, &crate::support::client(), Timestamp::now()).await.expect("delivery pass")
}

#[tokio::test]
async fn a_service_in_maintenance_mode_puts_its_slos_in_maintenance_and_a_burn_does_not_page() {
    // Arrange: the service says it is in maintenance; a webhook receiver waits for pages.
    let on = Arc::new(AtomicBool::new(true));
    let url = service_endpoint(Arc::clone(&on)).await;
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let f = fixture(Backend::Sqlite, SPEC, settings.clone(), endpoint(&url)).await;

    // Act: a cycle's maintenance read, then a burning evaluation.
    let now = Timestamp::now();
    let windows = f.c.poll_service_maintenance(now).await;
    f.c.record(now, all_burning(&f.c, now)).await.expect("record");
    let report = deliver(f.c.db(), &settings).await;

    // Assert: in maintenance, not burning, nothing paged.
    assert_eq!(windows.len(), 1, "{windows:?}");
    assert_eq!((windows[0].origin, windows[0].reason.as_str()), (Origin::Service, "database upgrade"));
    assert!(in_maintenance(&f.c, "checkout-availability"));
    let e = f.c.current().get(&SloKey::new("shop", "checkout-availability")).cloned().expect("evaluated");
    assert_ne!(e.status, slo::eval::Status::Burning, "{e:?}");
    assert!(e.burn_rates.iter().all(|b| !b.firing), "no tier fires in maintenance");
    assert_eq!(report.delivered, 0, "{report:?}");
    assert!(receiver.requests().is_empty());
    let api = serve(&f.c).await;
    let listed: Value = crate::support::get(format!("{api}/api/v1/maintenance")).await.json().await.expect("json");
    assert_eq!(listed[0]["origin"], "service", "{listed}");
    assert_eq!(listed[0]["service"], "shop");

    // Act: maintenance switched off; the same burn now pages.
    on.store(false, Ordering::SeqCst);
    let later = Timestamp::now();
    assert!(f.c.poll_service_maintenance(later).await.is_empty());
    f.c.record(later, all_burning(&f.c, later)).await.expect("record");
    deliver(f.c.db(), &settings).await;

    // Assert
    assert!(!in_maintenance(&f.c, "checkout-availability"));
    let sent = receiver.notifications();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].event, sent[0].tier.as_str()), (Event::Trigger, "fast-page"));
}

#[tokio::test]
async fn an_unreachable_service_endpoint_is_counted_and_the_cycle_goes_on() {
    // Arrange: nothing listens on the endpoint's port.
    let port = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}/maintenance");
    let f = fixture(Backend::Sqlite, SPEC, Settings::default(), endpoint(&url)).await;

    // Act
    let report = f.c.cycle(Timestamp::now()).await;

    // Assert
    assert_eq!(report.expect("the cycle succeeds").evaluated, 1);
    assert!(!in_maintenance(&f.c, "checkout-availability"));
    assert_eq!(f.c.metrics.maintenance_errors.get(), 1);
}

#[tokio::test]
async fn a_service_endpoint_reporting_maintenance_applies_in_a_full_cycle() {
    let url = service_endpoint(Arc::new(AtomicBool::new(true))).await;
    let f = fixture(Backend::Sqlite, SPEC, Settings::default(), endpoint(&url)).await;

    f.c.cycle(Timestamp::now()).await.expect("cycle");

    assert!(in_maintenance(&f.c, "checkout-availability"));
    assert_eq!(f.c.metrics.maintenance_errors.get(), 0);
}

#[tokio::test]
async fn an_api_window_applies_to_its_slo_only_and_ends_when_deleted() {
    // Arrange
    let f = fixture(Backend::Sqlite, TWO_SLOS, Settings::default(), Vec::new()).await;
    let api = serve(&f.c).await;
    let client = crate::support::client();
    let end = Timestamp::now().checked_add(SignedDuration::from_hours(1)).expect("ts").to_string();
    let body = serde_json::json!({
        "service": "shop", "slo": "checkout-availability", "ends_at": end,
        "reason": "database failover drill", "author": "kaito"
    });

    // Act: create it, evaluate.
    let created =
        client.post(format!("{api}/api/v1/maintenance")).bearer_auth(TOKEN).json(&body).send().await.expect("request");
    assert_eq!(created.status(), 201);
    let w: Value = created.json().await.expect("window");
    let id = w["id"].as_i64().expect("id");
    let now = Timestamp::now();
    f.c.record(now, all_burning(&f.c, now)).await.expect("record");

    // Assert: that SLO only; listed with the spec's planned window.
    assert!(in_maintenance(&f.c, "checkout-availability"));
    assert!(!in_maintenance(&f.c, "search-availability"));
    let listed: Value =
        client.get(format!("{api}/api/v1/maintenance")).send().await.expect("request").json().await.expect("json");
    let origins: Vec<&str> = listed.as_array().expect("array").iter().filter_map(|w| w["origin"].as_str()).collect();
    assert_eq!(origins, ["api", "spec"], "{listed}");
    assert_eq!(listed[0]["slo"], "checkout-availability");
    assert_eq!(listed[0]["author"], "kaito");
    let page = client.get(format!("{api}/journeys/shop/checkout")).send().await.expect("request");
    let page = page.text().await.expect("html");
    assert!(page.contains("maintenance (api) database failover drill"), "the journey page shades it");
    let other = client.get(format!("{api}/journeys/shop/search")).send().await.expect("request");
    assert!(!other.text().await.expect("html").contains("maintenance (api)"), "not on another journey");

    // Act: delete it, evaluate again.
    let deleted =
        client.delete(format!("{api}/api/v1/maintenance/{id}")).bearer_auth(TOKEN).send().await.expect("request");
    assert_eq!(deleted.status(), 200);
    let later = Timestamp::now();
    f.c.record(later, all_burning(&f.c, later)).await.expect("record");

    // Assert
    assert!(!in_maintenance(&f.c, "checkout-availability"));
    let listed: Value =
        client.get(format!("{api}/api/v1/maintenance")).send().await.expect("request").json().await.expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "only the spec's window is left: {listed}");
    let again =
        client.delete(format!("{api}/api/v1/maintenance/999999")).bearer_auth(TOKEN).send().await.expect("request");
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn maintenance_writes_need_the_token_and_bad_input_is_a_problem_naming_the_field() {
    let f = fixture(Backend::Sqlite, TWO_SLOS, Settings::default(), Vec::new()).await;
    let api = serve(&f.c).await;
    let client = crate::support::client();
    let url = format!("{api}/api/v1/maintenance");
    let now = Timestamp::now();
    let later = |h: i64| now.checked_add(SignedDuration::from_hours(h)).expect("ts").to_string();
    let ok = serde_json::json!({"service": "shop", "ends_at": later(1), "reason": "upgrade", "author": "kaito"});

    let anonymous = client.post(&url).json(&ok).send().await.expect("request");
    let wrong = client.post(&url).bearer_auth("nope").json(&ok).send().await.expect("request");
    let delete = client.delete(format!("{url}/1")).send().await.expect("request");

    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
    assert_eq!(anonymous.json::<Value>().await.expect("problem")["type"], "/problems/unauthorized");
    assert_eq!(wrong.status(), 401);
    assert_eq!(delete.status(), 401);

    let cases = [
        (
            serde_json::json!({"service": "shop", "starts_at": later(2), "ends_at": later(1), "reason": "r", "author": "a"}),
            "ends_at",
        ),
        (serde_json::json!({"service": "billing", "ends_at": later(1), "reason": "r", "author": "a"}), "service"),
        (
            serde_json::json!({"service": "shop", "journey": "nope", "ends_at": later(1), "reason": "r", "author": "a"}),
            "journey",
        ),
        (
            serde_json::json!({"service": "shop", "slo": "nope", "ends_at": later(1), "reason": "r", "author": "a"}),
            "slo",
        ),
        (
            serde_json::json!({"service": "shop", "journey": "search", "slo": "checkout-availability", "ends_at": later(1), "reason": "r", "author": "a"}),
            "slo",
        ),
        (serde_json::json!({"service": "shop", "ends_at": "tomorrow", "reason": "r", "author": "a"}), "ends_at"),
        (serde_json::json!({"service": "shop", "ends_at": later(1), "reason": " ", "author": "a"}), "reason"),
        (serde_json::json!({"service": "shop", "ends_at": later(1), "reason": "r", "author": ""}), "author"),
    ];
    for (body, field) in cases {
        let r = client.post(&url).bearer_auth(TOKEN).json(&body).send().await.expect("request");
        assert_eq!(r.status(), 422, "{body}");
        assert_eq!(r.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
        let problem: Value = r.json().await.expect("problem");
        assert_eq!(problem["field"], format!("/{field}"), "{body}: {problem}");
        assert_eq!(problem["type"], "/problems/validation", "{body}: {problem}");
    }
    let doc: Value =
        client.get(format!("{api}/openapi.json")).send().await.expect("request").json().await.expect("json");
    assert!(doc["paths"]["/api/v1/maintenance"]["post"].is_object(), "documented in OpenAPI");
    assert!(doc["paths"]["/api/v1/maintenance/{id}"]["delete"].is_object(), "documented in OpenAPI");
}

async fn storage_round_trip(backend: Backend) {
    let f = fixture(backend, TWO_SLOS, Settings::default(), Vec::new()).await;
    let db = f.c.db();
    let specs = f.c.specs();
    let now = Timestamp::now();
    let at = |h: i64| now.checked_add(SignedDuration::from_hours(h)).expect("ts");

    let open =
        NewWindow::parse(&specs, "shop", Some("checkout"), None, None, at(1), "drill", "kaito", now).expect("valid");
    let planned =
        NewWindow::parse(&specs, "shop", None, Some("search-availability"), Some(at(2)), at(3), "upgrade", "aoi", now)
            .expect("valid");
    let a = maintenance::create(db, &open, now).await.expect("create");
    let b = maintenance::create(db, &planned, now).await.expect("create");

    assert_eq!((a.journey.as_deref(), a.slo.as_deref(), a.origin), (Some("checkout"), None, Origin::Api));
    assert!(a.covers("shop", "checkout", "checkout-availability", now));
    assert!(!a.covers("shop", "search", "search-availability", now));
    assert!(!b.is_open(now));
    let listed = maintenance::list(db, now).await.expect("list");
    assert_eq!(listed, vec![a.clone(), b.clone()]);
    assert_eq!(maintenance::between(db, at(-1), at(1)).await.expect("between"), vec![a.clone()]);

    let ended = maintenance::end(db, a.id.expect("id"), now).await.expect("end").expect("found");
    let ended_planned = maintenance::end(db, b.id.expect("id"), now).await.expect("end").expect("found");
    assert!(!ended.is_open(now));
    assert_eq!(ended.ends_at, Some(Timestamp::from_millisecond(now.as_millisecond()).expect("ts")));
    assert!(ended_planned.starts_at <= ended_planned.ends_at.expect("end"));
    assert!(maintenance::list(db, now).await.expect("list").is_empty());
    assert_eq!(maintenance::end(db, 999_999, now).await.expect("end"), None);
}

#[tokio::test]
async fn maintenance_windows_are_stored_on_sqlite() {
    storage_round_trip(Backend::Sqlite).await;
}

#[tokio::test]
async fn maintenance_windows_are_stored_on_postgres() {
    storage_round_trip(Backend::Postgres).await;
}
