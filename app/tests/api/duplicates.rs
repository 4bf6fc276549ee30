//! Retries and duplicates have exactly one effect: `Idempotency-Key`, shipment `identifier`,
//! and an HHT scan's `client_event_id`.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, shipment_body, spawn_app};
use crate::lifecycle::tokyo_today;

crate::on_both_backends!(
    a_retried_post_with_the_same_idempotency_key_returns_the_first_response_and_does_nothing_more,
    an_idempotency_key_reused_for_a_different_request_is_refused,
    concurrent_retries_with_one_idempotency_key_create_one_shipment,
    resubmitting_an_identifier_returns_the_existing_shipment_and_different_content_conflicts,
    a_retried_scan_returns_the_first_result_and_picks_once,
);

async fn shipments_named(app: &TestApp, identifier: &str) -> i64 {
    sqlx::query_scalar("select count(*) from shipment where identifier = $1")
        .bind(identifier)
        .fetch_one(app.db.reader())
        .await
        .expect("count")
}

async fn a_retried_post_with_the_same_idempotency_key_returns_the_first_response_and_does_nothing_more(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let body = shipment_body(app.warehouse_id, "IDEM-1", &[("MUG-01", 2)]);
    let key = [("Idempotency-Key", "3f1c9a2e-key-1")];

    let first = app.send(Method::POST, "/v1/shipments", &acme, Some(body.clone()), &key).await;
    let retry = app.send(Method::POST, "/v1/shipments", &acme, Some(body), &key).await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(retry.status, StatusCode::CREATED, "the replay has the first status");
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.headers.get("idempotent-replayed").map(|v| v.to_str().ok()), Some(Some("true")));
    assert_eq!(shipments_named(&app, "IDEM-1").await, 1);
    assert_eq!(app.stock(&acme, "MUG-01").await["reserved"].as_i64(), Some(2), "reserved once");
}

async fn an_idempotency_key_reused_for_a_different_request_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let key = [("Idempotency-Key", "reused")];
    let first = app
        .send(
            Method::POST,
            "/v1/shipments",
            &acme,
            Some(shipment_body(app.warehouse_id, "K-1", &[("MUG-01", 1)])),
            &key,
        )
        .await;
    let other = app
        .send(
            Method::POST,
            "/v1/shipments",
            &acme,
            Some(shipment_body(app.warehouse_id, "K-2", &[("MUG-01", 1)])),
            &key,
        )
        .await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{other:?}");
    assert_eq!(other.body["type"], "/problems/idempotency-key-reused");
    assert_eq!(shipments_named(&app, "K-2").await, 0);
}

async fn concurrent_retries_with_one_idempotency_key_create_one_shipment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let body = shipment_body(app.warehouse_id, "STORM-1", &[("SOAP-3P", 1)]);
    let responses =
        join_all((0..10).map(|_| {
            app.send(Method::POST, "/v1/shipments", &acme, Some(body.clone()), &[("Idempotency-Key", "storm")])
        }))
        .await;

    // Each retry either replays the first answer or is told the first is still running.
    for r in &responses {
        assert!(r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT, "{r:?}");
    }
    assert!(responses.iter().any(|r| r.status == StatusCode::CREATED));
    assert_eq!(shipments_named(&app, "STORM-1").await, 1);
    assert_eq!(app.stock(&acme, "SOAP-3P").await["reserved"].as_i64(), Some(1));
}

async fn resubmitting_an_identifier_returns_the_existing_shipment_and_different_content_conflicts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let first = app.create_shipment(&acme, "DUP-1", &[("MUG-01", 1)]).await;
    let same = app.create_shipment(&acme, "DUP-1", &[("MUG-01", 1)]).await;
    let different = app.create_shipment(&acme, "DUP-1", &[("MUG-01", 5)]).await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(same.status, StatusCode::OK, "{same:?}");
    assert_eq!(same.body["shipment_id"], first.body["shipment_id"]);
    assert_eq!(different.status, StatusCode::CONFLICT, "{different:?}");
    assert_eq!(different.body["existing_id"], first.body["shipment_id"]);
    assert_eq!(different.body["field"], "/identifier");
    assert_eq!(shipments_named(&app, "DUP-1").await, 1);
    assert_eq!(app.stock(&acme, "MUG-01").await["reserved"].as_i64(), Some(1));
}

async fn a_retried_scan_returns_the_first_result_and_picks_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let wh = app.warehouse_token();
    let mut body = shipment_body(app.warehouse_id, "SCAN-1", &[("TSHIRT-M", 4)]);
    body["ship_date"] = json!(tokyo_today());
    let shipment = app.post("/v1/shipments", &acme, body).await;
    let shipment_id = shipment.body["shipment_id"].as_i64().expect("id");
    let wave = app.post("/wms/v1/waves", &wh, json!({"warehouse_id": app.warehouse_id})).await;
    let wave_id = wave.body["wave_id"].as_i64().expect("wave");
    let location = wave.body["picking_list"][0]["location_code"].as_str().expect("code").to_owned();
    let scan = |id: &str, step: &str, value: &str| json!({"warehouse_id": app.warehouse_id, "device_id": "HHT-7", "client_event_id": id, "wave_id": wave_id, "step": step, "value": value});
    for (id, step, value) in [("e1", "location", location.as_str()), ("e2", "item", "4901234567894")] {
        let r = app.post("/wms/v1/scans", &wh, scan(id, step, value)).await;
        assert_eq!(r.body["outcome"], "accepted", "{r:?}");
    }

    // The acknowledgement of "2 units" is lost; the device sends the same event again, twice.
    let first = app.post("/wms/v1/scans", &wh, scan("e3", "quantity", "2")).await;
    let retries = join_all((0..2).map(|_| app.post("/wms/v1/scans", &wh, scan("e3", "quantity", "2")))).await;

    assert_eq!(first.body["outcome"], "accepted");
    for r in &retries {
        assert_eq!(r.body, first.body);
    }
    let picked: i64 = sqlx::query_scalar("select cast(sum(picked) as bigint) from allocation where shipment_id = $1")
        .bind(shipment_id)
        .fetch_one(app.db.reader())
        .await
        .expect("picked");
    assert_eq!(picked, 2, "counted once");
    assert_eq!(app.ledger_count("pick", "shipment_id", shipment_id).await, 2, "one move: shelf -2, packing +2");

    // The same event id for a different scan is a client bug, said so.
    let misuse = app.post("/wms/v1/scans", &wh, scan("e3", "quantity", "1")).await;
    assert_eq!(misuse.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(misuse.body["field"], "/client_event_id");
    app.assert_ledger_balances().await;
}
