//! What an attacker or an unlucky client tried, and what the service must do instead of
//! failing: idle connections that exhaust the process, idempotency keys without a caller,
//! stock adjustments that overflow or reach another tenant, jobs that stop at the first bad
//! warehouse.

use std::time::Duration;

use axum::Router;
use axum::routing::post;
use fulfillment::http::AppState;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_tuned};

crate::on_both_backends!(
    idle_connections_past_the_cap_are_refused_at_once_and_the_admin_listener_still_answers,
    a_connection_that_sends_no_request_head_is_closed_after_the_header_read_timeout,
    an_anonymous_post_with_an_idempotency_key_is_refused_and_stores_nothing,
    a_revoked_token_gets_no_replay_of_its_stored_responses,
    expired_idempotency_keys_are_purged_and_a_late_retry_runs_as_new,
    a_request_that_times_out_releases_its_idempotency_key_and_answers_a_timeout_problem,
    a_handler_that_panics_releases_its_idempotency_key,
    stock_adjustments_are_bounded_so_stock_arithmetic_never_overflows,
    warehouse_staff_adjust_only_items_of_shippers_their_warehouse_serves,
    a_job_goes_on_to_the_next_warehouse_when_one_fails_and_counts_the_failure,
);

async fn idle_connections_past_the_cap_are_refused_at_once_and_the_admin_listener_still_answers(backend: Backend) {
    let Some(app) = spawn_app_tuned(backend, |c| {
        c.public_limits.max_connections = 20;
        c.public_limits.header_read_timeout = Duration::from_secs(2);
    })
    .await
    else {
        return;
    };
    let public = app.base.trim_start_matches("http://").to_owned();

    // 300 sockets that never send a byte, far past the public cap.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(&public).await.expect("connect"));
    }

    // The admin listener has its own cap: liveness and readiness still answer.
    let live = app.http.get(format!("{}/livez", app.admin_base)).timeout(Duration::from_secs(2)).send().await;
    assert_eq!(live.expect("/livez answers during the flood").status(), StatusCode::OK);
    let ready = app.http.get(format!("{}/readyz", app.admin_base)).timeout(Duration::from_secs(2)).send().await;
    assert_eq!(ready.expect("/readyz answers during the flood").status(), StatusCode::OK);
    // Past the cap, a new public connection is answered 503 at once and closed.
    let mut refused = TcpStream::connect(&public).await.expect("connect");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(2), refused.read_to_string(&mut answer))
        .await
        .expect("refused at once, not left hanging")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("/problems/overloaded"), "{answer}");
    let metrics = app.http.get(format!("{}/metrics", app.admin_base)).send().await.expect("scrape").text().await;
    let metrics = metrics.expect("body");
    let refusals = metrics
        .lines()
        .find_map(|l| l.strip_prefix("http_server_refused_connections_total{listener=\"public\"} "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("refusals are counted");
    assert!(refusals >= 1.0, "{refusals}");

    // The idle ones time out on their own: the public API serves again without anyone leaving.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stock = app.get("/v1/stock", &app.shipper_token("acme")).await;
    assert_eq!(stock.status, StatusCode::OK, "{stock:?}");
    drop(idle);
}

async fn a_connection_that_sends_no_request_head_is_closed_after_the_header_read_timeout(backend: Backend) {
    let Some(app) = spawn_app_tuned(backend, |c| c.public_limits.header_read_timeout = Duration::from_secs(1)).await
    else {
        return;
    };
    let mut slow = TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut slow, b"GET /v1/stock HTTP/1.1\r\nHost: x\r\n").await.expect("write");

    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;

    assert!(closed.is_ok(), "the server closed the half-sent request within the timeout");
}

async fn an_anonymous_post_with_an_idempotency_key_is_refused_and_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let body = crate::helpers::shipment_body(app.warehouse_id, "ANON-1", &[("MUG-01", 1)]);

    let anonymous =
        app.send(Method::POST, "/v1/shipments", "", Some(body.clone()), &[("Idempotency-Key", "anon-key-1")]).await;
    let forged = app
        .send(Method::POST, "/v1/shipments", "kura_not_a_token", Some(body), &[("Idempotency-Key", "anon-key-2")])
        .await;

    for r in [&anonymous, &forged] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
        assert_eq!(r.body["type"], "/problems/unauthorized");
    }
    assert_eq!(idempotency_rows(&app).await, 0, "nothing was written for a caller nobody knows");
}

async fn a_revoked_token_gets_no_replay_of_its_stored_responses(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let issued = app
        .post(
            "/admin/v1/tokens",
            &app.admin_token(),
            json!({"name": "integration", "role": "shipper", "shipper_id": shipper_id(&app, "acme").await}),
        )
        .await;
    let (token_id, token) =
        (issued.body["token_id"].as_i64().expect("id"), issued.body["token"].as_str().expect("token").to_owned());
    let body = crate::helpers::shipment_body(app.warehouse_id, "REVOKED-1", &[("MUG-01", 1)]);
    let first =
        app.send(Method::POST, "/v1/shipments", &token, Some(body.clone()), &[("Idempotency-Key", "k-1")]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");

    let revoked = app.request(Method::DELETE, &format!("/admin/v1/tokens/{token_id}"), &app.admin_token(), None).await;
    assert!(revoked.status.is_success(), "{revoked:?}");
    let replay = app.send(Method::POST, "/v1/shipments", &token, Some(body), &[("Idempotency-Key", "k-1")]).await;

    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "no replay for a revoked token: {replay:?}");
    assert!(replay.headers.get("idempotent-replayed").is_none());
}

async fn expired_idempotency_keys_are_purged_and_a_late_retry_runs_as_new(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let body = crate::helpers::shipment_body(app.warehouse_id, "LATE-1", &[("MUG-01", 1)]);
    let first =
        app.send(Method::POST, "/v1/shipments", &acme, Some(body.clone()), &[("Idempotency-Key", "late")]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    // A day and a minute later (moved back in the database rather than waiting).
    let long_ago =
        fulfillment::db::format_timestamp(jiff::Timestamp::now() - jiff::SignedDuration::from_mins(24 * 60 + 1));
    sqlx::query("update idempotency_key set created_at = $1")
        .bind(&long_ago)
        .execute(app.db.writer())
        .await
        .expect("age");

    let different = crate::helpers::shipment_body(app.warehouse_id, "LATE-2", &[("MUG-01", 1)]);
    let late = app.send(Method::POST, "/v1/shipments", &acme, Some(different), &[("Idempotency-Key", "late")]).await;
    assert_eq!(late.status, StatusCode::CREATED, "an expired key is a new request, not a mismatch: {late:?}");
    assert!(late.headers.get("idempotent-replayed").is_none());

    sqlx::query("update idempotency_key set created_at = $1")
        .bind(&long_ago)
        .execute(app.db.writer())
        .await
        .expect("age");
    let purged = fulfillment::db::idempotency::purge(&app.db, jiff::Timestamp::now()).await.expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(idempotency_rows(&app).await, 0);
}

async fn a_request_that_times_out_releases_its_idempotency_key_and_answers_a_timeout_problem(backend: Backend) {
    let Some(app) = spawn_app_tuned(backend, |c| c.request_timeout = Duration::from_secs(1)).await else { return };
    let acme = app.shipper_token("acme");
    let body = crate::helpers::shipment_body(app.warehouse_id, "SLOW-1", &[("MUG-01", 1)]);
    // Hold the table the request needs to write, so it cannot finish in time.
    let mut blocker = app.db.begin_write().await.expect("begin");
    let hold = match backend {
        Backend::Postgres => "lock table shipment in exclusive mode",
        Backend::Sqlite => {
            "insert into maintenance_event (enabled, actor, reason, created_at) values (0, 'test', 'hold the writer', '2026-01-01T00:00:00.000000Z')"
        }
    };
    sqlx::query(hold).execute(&mut *blocker).await.expect("hold");

    let timed_out =
        app.send(Method::POST, "/v1/shipments", &acme, Some(body.clone()), &[("Idempotency-Key", "slow")]).await;
    blocker.rollback().await.expect("release the hold");

    assert_eq!(timed_out.status, StatusCode::SERVICE_UNAVAILABLE, "{timed_out:?}");
    assert_eq!(timed_out.body["type"], "/problems/timeout");
    assert_eq!(timed_out.headers["content-type"], "application/problem+json");
    // The key was released: the retry runs (and is not told "in progress" for a minute).
    let retried = eventually(
        || app.send(Method::POST, "/v1/shipments", &acme, Some(body.clone()), &[("Idempotency-Key", "slow")]),
        |r| r.status == StatusCode::CREATED,
    )
    .await;
    assert_eq!(retried.status, StatusCode::CREATED, "{retried:?}");
}

async fn a_handler_that_panics_releases_its_idempotency_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let state = AppState::new(app.db.clone());
    let router = Router::new()
        .route("/v1/boom", post(boom))
        .layer(axum::middleware::from_fn_with_state(state.clone(), fulfillment::http::idempotency::layer))
        .with_state(state.clone());
    let layers = platform::api::ApiLayers {
        metrics: state.metrics.clone(),
        routes: fulfillment::journeys::ROUTES,
        request_timeout: Duration::from_secs(5),
        max_in_flight: 8,
    };
    let doc = utoipa::openapi::OpenApi::default();
    let router = platform::api::finish(router, &doc, &layers);
    let request = || {
        axum::http::Request::post("/v1/boom")
            .header("authorization", format!("Bearer {}", app.shipper_token("acme")))
            .header("idempotency-key", "boom")
            .body(axum::body::Body::empty())
            .expect("request")
    };

    let response = tower::ServiceExt::oneshot(router.clone(), request()).await.expect("response");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let released = eventually(|| async { idempotency_rows(&app).await }, |n| *n == 0).await;
    assert_eq!(released, 0, "the panicking request's key was released");
}

async fn stock_adjustments_are_bounded_so_stock_arithmetic_never_overflows(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let (acme, wh) = (app.shipper_token("acme"), app.warehouse_token());
    let created = app
        .post(
            "/v1/items",
            &acme,
            json!({"code": "CEIL-1", "name": "Ceiling", "price": 1, "size_class": "60",
              "weight_grams": 1, "temperature_zone": "normal"}),
        )
        .await;
    let item = created.body["item_id"].as_i64().expect("item");
    let adjust = |quantity: serde_json::Value| {
        json!({"warehouse_id": app.warehouse_id, "location_code": "A-01-01", "item_id": item,
               "bucket": "sellable", "quantity": quantity, "reason": "adjust"})
    };

    for quantity in [json!(i64::MAX), json!(i64::MIN), json!(1_000_001), json!(1e300)] {
        let r = app.post("/wms/v1/stock/adjustments", &wh, adjust(quantity)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
        assert_eq!(r.body["field"], "/quantity");
    }
    // Bring the row to ten units under the ceiling (as a million bounded steps would), ledger
    // included, then step over it.
    let first = app.post("/wms/v1/stock/adjustments", &wh, adjust(json!(5))).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{first:?}");
    let near = fulfillment::domain::values::MAX_ON_HAND - 10;
    sqlx::query("update stock set on_hand = $1 where item_id = $2")
        .bind(near)
        .bind(item)
        .execute(app.db.writer())
        .await
        .expect("near");
    sqlx::query(
        "update stock_ledger set quantity = $1 where stock_id = (select stock_id from stock where item_id = $2)",
    )
    .bind(near)
    .bind(item)
    .execute(app.db.writer())
    .await
    .expect("ledger follows");
    let over = app.post("/wms/v1/stock/adjustments", &wh, adjust(json!(11))).await;
    let to_the_ceiling = app.post("/wms/v1/stock/adjustments", &wh, adjust(json!(10))).await;

    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY, "{over:?}");
    assert_eq!(over.body["field"], "/quantity");
    assert_eq!(to_the_ceiling.status, StatusCode::NO_CONTENT, "{to_the_ceiling:?}");
    // Everything that reads or allocates that item still works.
    let stock = app.stock(&acme, "CEIL-1").await;
    assert_eq!(stock["available"], fulfillment::domain::values::MAX_ON_HAND, "{stock}");
    let shipment = app.create_shipment(&acme, "AFTER-CEILING", &[("CEIL-1", 1)]).await;
    assert_eq!(shipment.status, StatusCode::CREATED, "{shipment:?}");
    assert_eq!(app.get("/v1/billing/summary", &acme).await.status, StatusCode::OK);
    app.assert_ledger_balances().await;
}

async fn warehouse_staff_adjust_only_items_of_shippers_their_warehouse_serves(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let admin = app.admin_token();
    let stranger = app.post("/admin/v1/shippers", &admin, json!({"code": "stranger", "name": "Stranger Co."})).await;
    let stranger_id = stranger.body["shipper_id"].as_i64().expect("shipper");
    let token =
        app.post("/admin/v1/tokens", &admin, json!({"name": "s", "role": "shipper", "shipper_id": stranger_id})).await;
    let stranger_token = token.body["token"].as_str().expect("token").to_owned();
    let item = app
        .post(
            "/v1/items",
            &stranger_token,
            json!({"code": "ELSEWHERE", "name": "Stored elsewhere", "price": 1,
              "size_class": "60", "weight_grams": 1, "temperature_zone": "normal"}),
        )
        .await;
    let item_id = item.body["item_id"].as_i64().expect("item");
    let adjust = json!({"warehouse_id": app.warehouse_id, "location_code": "A-01-01", "item_id": item_id,
                        "bucket": "sellable", "quantity": 5, "reason": "adjust"});

    let refused = app.post("/wms/v1/stock/adjustments", &app.warehouse_token(), adjust.clone()).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "a shipper this warehouse does not serve: {refused:?}");
    // Once the shipper sends an inbound there, its items are the warehouse's to correct.
    let inbound = app
        .post(
            "/v1/inbounds",
            &stranger_token,
            json!({"identifier": "IN-STRANGER", "warehouse_id": app.warehouse_id,
              "lines": [{"item_code": "ELSEWHERE", "quantity": 5}]}),
        )
        .await;
    assert_eq!(inbound.status, StatusCode::CREATED, "{inbound:?}");
    let allowed = app.post("/wms/v1/stock/adjustments", &app.warehouse_token(), adjust).await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT, "{allowed:?}");
}

async fn a_job_goes_on_to_the_next_warehouse_when_one_fails_and_counts_the_failure(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let second = app
        .post(
            "/admin/v1/warehouses",
            &app.admin_token(),
            json!({"code": "OSA1", "name": "Osaka",
              "locations": [{"code": "R-01", "kind": "receiving"}, {"code": "H-01", "kind": "hold"}, {"code": "P-01", "kind": "packing"}, {"code": "S-01", "kind": "shipping"}, {"code": "B-01", "kind": "stock"}]}),
        )
        .await;
    let broken = second.body["warehouse_id"].as_i64().unwrap_or_else(|| panic!("{second:?}"));
    sqlx::query("update warehouse set time_zone = 'Not/AZone' where warehouse_id = $1")
        .bind(broken)
        .execute(app.db.writer())
        .await
        .expect("break its clock");
    let state = AppState::new(app.db.clone());

    let result = fulfillment::jobs::storage_billing(&state).await;

    let error = result.expect_err("the run reports the failed warehouse");
    assert!(error.to_string().contains("1 of 2"), "{error}");
    let billed: i64 = sqlx::query_scalar("select count(*) from billing_event where kind = 'storage_unit_day'")
        .fetch_one(app.db.reader())
        .await
        .expect("count");
    assert!(billed > 0, "the healthy warehouse was still billed");
    let text = state.metrics.encode_openmetrics();
    let counted =
        format!("job_failures_total{{job=\"storage-billing\",journey=\"none\",scope=\"warehouse:{broken}\"}} 1");
    assert!(text.contains(&counted), "{text}");
}

async fn boom() -> StatusCode {
    panic!("a bug in a handler")
}

async fn idempotency_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from idempotency_key").fetch_one(app.db.reader()).await.expect("count")
}

async fn shipper_id(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar("select shipper_id from shipper where code = $1")
        .bind(code)
        .fetch_one(app.db.reader())
        .await
        .expect("shipper")
}

/// Polls `probe` for up to 5 s until `done` says so; returns the last value.
async fn eventually<T, F, Fut>(mut probe: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let value = probe().await;
        if done(&value) || tokio::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_plain_sqlite_url_creates_its_database_and_a_missing_directory_is_a_configuration_error() {
    let dir = std::env::temp_dir().join(format!("kura-url-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("kura.db");
    let run = |url: String, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fulfillment"))
            .args(args)
            .env("DATABASE_URL", url)
            .env("OTEL_SDK_DISABLED", "true")
            .output()
            .expect("run the binary")
    };

    let migrated = run(format!("sqlite://{}", file.display()), &["migrate"]);
    let missing = run(format!("sqlite://{}/no/such/dir/kura.db", dir.display()), &["migrate"]);
    let bad_flag = run(format!("sqlite://{}", file.display()), &["serve", "--no-such-flag"]);

    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    assert!(file.is_file(), "sqlite://PATH created the file");
    assert_eq!(missing.status.code(), Some(64), "{}", String::from_utf8_lossy(&missing.stderr));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"), "says what to do");
    assert_eq!(bad_flag.status.code(), Some(64));
    let _ = std::fs::remove_dir_all(&dir);
}
