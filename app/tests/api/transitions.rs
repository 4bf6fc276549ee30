//! State machines over HTTP: illegal transitions are 409s naming the current status; cancel
//! requests; backorders re-allocated when stock arrives; maintenance mode; graceful shutdown.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, shipment_body, spawn_app};
use crate::lifecycle::tokyo_today;

crate::on_both_backends!(
    illegal_transitions_are_409_and_name_the_current_status,
    a_cancel_after_picking_is_a_request_the_warehouse_refuses_or_accepts,
    a_change_after_picking_starts_is_a_request_applied_when_the_warehouse_accepts_it,
    a_pending_change_that_no_longer_reads_fails_the_acceptance_and_changes_nothing,
    a_backordered_shipment_is_allocated_when_its_stock_is_put_away,
    maintenance_mode_pauses_writes_with_retry_after_and_lets_reads_through,
    requests_accepted_before_shutdown_complete_and_are_stored,
);

async fn picking_shipment(app: &TestApp, identifier: &str) -> (i64, i64) {
    let acme = app.shipper_token("acme");
    let mut body = shipment_body(app.warehouse_id, identifier, &[("TSHIRT-M", 2)]);
    body["ship_date"] = json!(tokyo_today());
    let shipment = app.post("/v1/shipments", &acme, body).await;
    assert_eq!(shipment.status, StatusCode::CREATED, "{shipment:?}");
    let wave = app.post("/wms/v1/waves", &app.warehouse_token(), json!({"warehouse_id": app.warehouse_id})).await;
    assert_eq!(wave.status, StatusCode::CREATED, "{wave:?}");
    (shipment.body["shipment_id"].as_i64().expect("id"), wave.body["wave_id"].as_i64().expect("wave"))
}

async fn illegal_transitions_are_409_and_name_the_current_status(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let wh = app.warehouse_token();
    let id = app.create_shipment(&acme, "T-1", &[("MUG-01", 1)]).await.body["shipment_id"].as_i64().expect("id");
    let cancelled = app.post(&format!("/v1/shipments/{id}/cancel"), &acme, json!({})).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(app.stock(&acme, "MUG-01").await["reserved"], 0, "cancel releases the reservation");

    for (method, path, token, body) in [
        (Method::POST, format!("/v1/shipments/{id}/cancel"), &acme, Some(json!({}))),
        (Method::PATCH, format!("/v1/shipments/{id}"), &acme, Some(json!({"gift_wrap": true}))),
        (Method::POST, format!("/wms/v1/shipments/{id}/suspend"), &wh, Some(json!({}))),
        (Method::POST, format!("/wms/v1/shipments/{id}/inspection"), &wh, Some(json!({"lines": []}))),
        (
            Method::POST,
            format!("/wms/v1/shipments/{id}/packages"),
            &wh,
            Some(json!({"packages": [{"weight_grams": 1}]})),
        ),
    ] {
        let r = app.request(method.clone(), &path, token, body).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{method} {path}: {r:?}");
        assert_eq!(r.body["type"], "/problems/illegal-transition");
        assert_eq!(r.body["current_status"], "cancelled");
    }

    let inbound = app
        .post("/v1/inbounds", &acme, json!({"identifier": "IN-T", "warehouse_id": app.warehouse_id, "lines": [{"item_code": "MUG-01", "quantity": 1}]}))
        .await
        .body["inbound_id"]
        .as_i64()
        .expect("id");
    let early = app.post(&format!("/wms/v1/inbounds/{inbound}/putaway"), &wh, json!({})).await;
    assert_eq!((early.status, early.body["current_status"].as_str()), (StatusCode::CONFLICT, Some("waiting")));
    app.post(
        &format!("/wms/v1/inbounds/{inbound}/receive"),
        &wh,
        json!({"lines": [{"item_code": "MUG-01", "received": 1}]}),
    )
    .await;
    let late_cancel = app.post(&format!("/v1/inbounds/{inbound}/cancel"), &acme, json!({})).await;
    assert_eq!(
        (late_cancel.status, late_cancel.body["current_status"].as_str()),
        (StatusCode::CONFLICT, Some("received"))
    );

    // Deleting is only for shipments not yet in work.
    let (picking, _) = picking_shipment(&app, "T-2").await;
    let delete = app.request(Method::DELETE, &format!("/v1/shipments/{picking}"), &acme, None).await;
    assert_eq!((delete.status, delete.body["current_status"].as_str()), (StatusCode::CONFLICT, Some("picking")));
}

fn new_recipient() -> serde_json::Value {
    json!({"name": "佐藤 花子", "postal_code": "530-0001", "prefecture": "大阪府", "address1": "北区梅田1-1-1", "phone": "06-1234-5678"})
}

async fn a_change_after_picking_starts_is_a_request_applied_when_the_warehouse_accepts_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let (id, _) = picking_shipment(&app, "M-1").await;

    let options =
        app.request(Method::PATCH, &format!("/v1/shipments/{id}"), &acme, Some(json!({"gift_wrap": true}))).await;
    assert_eq!((options.status, options.body["current_status"].as_str()), (StatusCode::CONFLICT, Some("picking")));
    let request = app
        .request(Method::PATCH, &format!("/v1/shipments/{id}"), &acme, Some(json!({"recipient": new_recipient()})))
        .await;
    assert_eq!(request.status, StatusCode::OK, "{request:?}");
    assert_eq!(request.body["status"], "modify_request");
    assert_eq!(request.body["status_before_request"], "picking");
    assert_eq!(request.body["pending_change"]["recipient"]["name"], "佐藤 花子");
    assert_eq!(request.body["recipient"]["name"], "山田 太郎", "nothing changes before the warehouse answers");

    let accepted = app.post(&format!("/wms/v1/shipments/{id}/accept-request"), &app.warehouse_token(), json!({})).await;

    assert_eq!(accepted.status, StatusCode::OK, "{accepted:?}");
    assert_eq!(accepted.body["status"], "picking");
    assert_eq!(accepted.body["recipient"]["name"], "佐藤 花子");
    assert_eq!(accepted.body["recipient"]["postal_code"], "530-0001");
    assert_eq!(accepted.body["pending_change"], serde_json::Value::Null);
}

async fn a_pending_change_that_no_longer_reads_fails_the_acceptance_and_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let (id, _) = picking_shipment(&app, "M-2").await;
    let request = app
        .request(Method::PATCH, &format!("/v1/shipments/{id}"), &acme, Some(json!({"recipient": new_recipient()})))
        .await;
    assert_eq!(request.body["status"], "modify_request", "{request:?}");
    sqlx::query("update shipment set pending_change = $1 where shipment_id = $2")
        .bind(r#"{"recipient": {"name": 42}}"#)
        .bind(id)
        .execute(app.db.writer())
        .await
        .expect("corrupt the pending change");

    let accepted = app.post(&format!("/wms/v1/shipments/{id}/accept-request"), &app.warehouse_token(), json!({})).await;

    assert_eq!(accepted.status, StatusCode::INTERNAL_SERVER_ERROR, "{accepted:?}");
    let (status, name): (String, String) =
        sqlx::query_as("select status, recipient_name from shipment where shipment_id = $1")
            .bind(id)
            .fetch_one(app.db.reader())
            .await
            .expect("shipment");
    assert_eq!((status.as_str(), name.as_str()), ("modify_request", "山田 太郎"));
}

async fn a_cancel_after_picking_is_a_request_the_warehouse_refuses_or_accepts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let wh = app.warehouse_token();
    let before = app.stock(&acme, "TSHIRT-M").await;
    let (id, wave) = picking_shipment(&app, "C-1").await;
    let location =
        app.get(&format!("/wms/v1/waves/{wave}"), &wh).await.body["picking_list"][0]["location_code"].clone();
    for (n, step, value) in
        [(1, "location", location), (2, "item", json!("4901234567894")), (3, "quantity", json!("2"))]
    {
        let r = app
            .post(
                "/wms/v1/scans",
                &wh,
                json!({"warehouse_id": app.warehouse_id, "device_id": "D", "client_event_id": format!("c{n}"),
            "wave_id": wave, "step": step, "value": value}),
            )
            .await;
        assert_eq!(r.body["outcome"], "accepted", "{r:?}");
    }

    let request = app.post(&format!("/v1/shipments/{id}/cancel"), &acme, json!({})).await;
    assert_eq!(request.body["status"], "cancel_request");
    let refused = app.post(&format!("/wms/v1/shipments/{id}/refuse-request"), &wh, json!({})).await;
    assert_eq!(refused.body["status"], "picking", "back where it was");

    app.post(&format!("/v1/shipments/{id}/cancel"), &acme, json!({})).await;
    let accepted = app.post(&format!("/wms/v1/shipments/{id}/accept-request"), &wh, json!({})).await;
    assert_eq!(accepted.body["status"], "cancelled", "{accepted:?}");
    assert_eq!(app.ledger_count("cancel", "shipment_id", id).await, 2, "picked units went back to the shelf");
    let after = app.stock(&acme, "TSHIRT-M").await;
    assert_eq!(after["available"], before["available"]);
    assert_eq!(after["shipping"], 0);
    assert_eq!(app.billing(&acme, "cancel_after_picking").await, 1);
    app.assert_ledger_balances().await;
}

async fn a_backordered_shipment_is_allocated_when_its_stock_is_put_away(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let wh = app.warehouse_token();
    app.post("/v1/items", &acme, json!({"code": "NEW-1", "name": "New", "price": 1, "size_class": "60", "weight_grams": 1, "temperature_zone": "normal"})).await;
    let low = app
        .post("/v1/shipments", &acme, {
            let mut b = shipment_body(app.warehouse_id, "BO-LOW", &[("NEW-1", 3)]);
            b["allocate_priority"] = json!(90);
            b
        })
        .await;
    let high = app
        .post("/v1/shipments", &acme, {
            let mut b = shipment_body(app.warehouse_id, "BO-HIGH", &[("NEW-1", 3)]);
            b["allocate_priority"] = json!(10);
            b
        })
        .await;
    assert_eq!((low.body["status"].as_str(), high.body["status"].as_str()), (Some("backordered"), Some("backordered")));

    // Only 4 arrive: the higher-priority (lower number) backorder wins although it is newer.
    let inbound = app
        .post("/v1/inbounds", &acme, json!({"identifier": "IN-BO", "warehouse_id": app.warehouse_id, "lines": [{"item_code": "NEW-1", "quantity": 4}]}))
        .await
        .body["inbound_id"]
        .as_i64()
        .expect("id");
    app.post(
        &format!("/wms/v1/inbounds/{inbound}/receive"),
        &wh,
        json!({"lines": [{"item_code": "NEW-1", "received": 4}]}),
    )
    .await;
    app.post(&format!("/wms/v1/inbounds/{inbound}/inspect"), &wh, json!({})).await;
    let stocked =
        app.post(&format!("/wms/v1/inbounds/{inbound}/putaway"), &wh, json!({"location_code": "A-02-01"})).await;
    assert_eq!(stocked.body["status"], "stocked", "{stocked:?}");

    let status = |r: &crate::helpers::Response| r.body["status"].as_str().map(str::to_owned);
    let high_now = app.get(&format!("/v1/shipments/{}", high.body["shipment_id"]), &acme).await;
    let low_now = app.get(&format!("/v1/shipments/{}", low.body["shipment_id"]), &acme).await;
    assert_eq!(status(&high_now).as_deref(), Some("waiting"));
    assert_eq!(status(&low_now).as_deref(), Some("backordered"));
    let stock = app.stock(&acme, "NEW-1").await;
    assert_eq!(
        (stock["reserved"].as_i64(), stock["available"].as_i64(), stock["backordered"].as_i64()),
        (Some(3), Some(1), Some(3))
    );
}

async fn maintenance_mode_pauses_writes_with_retry_after_and_lets_reads_through(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let admin = app.admin_token();
    let on = app
        .request(
            Method::PUT,
            "/admin/v1/maintenance",
            &admin,
            Some(json!({"enabled": true, "reason": "PostgreSQL minor upgrade"})),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{on:?}");

    let write = app.create_shipment(&acme, "M-1", &[("MUG-01", 1)]).await;
    assert_eq!(write.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(write.body["type"], "/problems/maintenance");
    assert!(write.headers.get("retry-after").is_some());
    assert_eq!(app.get("/v1/shipments", &acme).await.status, StatusCode::OK);
    assert_eq!(app.get("/v1/stock", &acme).await.status, StatusCode::OK);

    let off = app
        .request(
            Method::PUT,
            "/admin/v1/maintenance",
            &admin,
            Some(json!({"enabled": false, "reason": "upgrade done"})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(app.create_shipment(&acme, "M-1", &[("MUG-01", 1)]).await.status, StatusCode::CREATED);

    let log = app.get("/admin/v1/maintenance/events", &admin).await.body;
    assert_eq!(log[0]["enabled"], false);
    assert_eq!(log[1]["enabled"], true);
    assert_eq!(log[1]["reason"], "PostgreSQL minor upgrade");
    assert!(log[1]["actor"].as_str().expect("actor").starts_with("api:admin:"));
}

async fn requests_accepted_before_shutdown_complete_and_are_stored(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let body = |i: usize| shipment_body(app.warehouse_id, &format!("SD-{i}"), &[("SOAP-3P", 1)]);
    let client = app.http.clone();
    let url = format!("{}/v1/shipments", app.base);
    let in_flight: Vec<_> = (0..40)
        .map(|i| {
            let req = client.post(&url).bearer_auth(&acme).json(&body(i));
            tokio::spawn(async move { req.send().await.map(|r| r.status()) })
        })
        .collect();
    // Shut down as soon as the first request is committed, while the rest are in flight.
    for _ in 0..500 {
        let stored: i64 = sqlx::query_scalar("select count(*) from shipment where identifier like 'SD-%'")
            .fetch_one(app.db.reader())
            .await
            .expect("count");
        if stored > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.shutdown().await;
    let outcomes = join_all(in_flight).await;

    let ok = outcomes.iter().filter(|o| matches!(o, Ok(Ok(s)) if *s == StatusCode::CREATED)).count();
    for o in &outcomes {
        // Either completed, or never accepted (connection refused/closed before the request was read).
        if let Ok(Ok(status)) = o {
            assert_eq!(*status, StatusCode::CREATED);
        }
    }
    let db = fulfillment::db::connect(&app.url, fulfillment::db::DEFAULT_SLOW_STATEMENT).await.expect("reconnect");
    let stored: i64 = sqlx::query_scalar("select count(*) from shipment where identifier like 'SD-%'")
        .fetch_one(db.reader())
        .await
        .expect("count");
    assert!(ok > 0, "some requests were accepted before the signal");
    assert_eq!(stored as usize, ok, "every acknowledged shipment is stored, and nothing else");
    db.close().await;
}
