//! The whole journey of goods through Kura, checking the ledger and billing at each step.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, shipment_body, spawn_app};

crate::on_both_backends!(goods_flow_from_inbound_to_carrier_handover_with_ledger_and_billing_at_each_step);

pub fn tokyo_today() -> String {
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").expect("zone");
    jiff::Timestamp::now().to_zoned_datetime(tz).date().to_string()
}

async fn wms(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post(path, &app.warehouse_token(), body).await;
    assert!(r.status.is_success(), "POST {path}: {r:?}");
    r.body
}

async fn goods_flow_from_inbound_to_carrier_handover_with_ledger_and_billing_at_each_step(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let w = app.warehouse_id;

    // Item.
    let item = app
        .post(
            "/v1/items",
            &acme,
            json!({"code": "LAMP-1", "name": "Desk lamp", "barcode": "5901234123457", "price": 4800,
                   "size_class": "80", "weight_grams": 1100, "temperature_zone": "normal"}),
        )
        .await;
    assert_eq!(item.status, StatusCode::CREATED, "{item:?}");

    // Inbound: 10 announced, 8 good and 1 defective arrive.
    let inbound = app
        .post(
            "/v1/inbounds",
            &acme,
            json!({"identifier": "IN-1", "warehouse_id": w,
              "lines": [{"item_code": "LAMP-1", "quantity": 10}]}),
        )
        .await;
    assert_eq!(inbound.status, StatusCode::CREATED, "{inbound:?}");
    assert_eq!(inbound.body["status"], "waiting");
    let inbound_id = inbound.body["inbound_id"].as_i64().expect("id");

    let received = wms(
        &app,
        &format!("/wms/v1/inbounds/{inbound_id}/receive"),
        json!({"lines": [{"item_code": "LAMP-1", "received": 8, "defective": 1}]}),
    )
    .await;
    assert_eq!(received["status"], "received");
    assert_eq!(received["halfway"], true, "9 of 10 arrived");
    assert_eq!(app.ledger_sum("receive", "inbound_id", inbound_id).await, 9);
    assert_eq!(app.billing(&acme, "inbound_unit").await, 9);
    assert_eq!(app.billing(&acme, "hold_stock_case").await, 1);
    let stock = app.stock(&acme, "LAMP-1").await;
    assert_eq!(
        (stock["receiving"].as_i64(), stock["hold"].as_i64(), stock["available"].as_i64()),
        (Some(8), Some(1), Some(0))
    );

    assert_eq!(wms(&app, &format!("/wms/v1/inbounds/{inbound_id}/inspect"), json!({})).await["status"], "checking");
    assert_eq!(wms(&app, &format!("/wms/v1/inbounds/{inbound_id}/putaway"), json!({})).await["status"], "stocked");
    assert_eq!(app.ledger_count("putaway", "inbound_id", inbound_id).await, 2, "out of receiving, onto the shelf");
    assert_eq!(app.ledger_sum("putaway", "inbound_id", inbound_id).await, 0);
    let stock = app.stock(&acme, "LAMP-1").await;
    assert_eq!((stock["available"].as_i64(), stock["receiving"].as_i64()), (Some(8), Some(0)));

    // Shipment of 3, due today so the wave takes it.
    let mut body = shipment_body(w, "ORD-LIFE-1", &[("LAMP-1", 3)]);
    body["ship_date"] = json!(tokyo_today());
    let shipment = app.post("/v1/shipments", &acme, body).await;
    assert_eq!(shipment.status, StatusCode::CREATED, "{shipment:?}");
    assert_eq!(shipment.body["status"], "waiting");
    let shipment_id = shipment.body["shipment_id"].as_i64().expect("id");
    let stock = app.stock(&acme, "LAMP-1").await;
    assert_eq!((stock["reserved"].as_i64(), stock["available"].as_i64()), (Some(3), Some(5)));

    // Wave: the picking list has our task.
    let wave = wms(&app, "/wms/v1/waves", json!({"warehouse_id": w})).await;
    assert!(wave["shipment_ids"].as_array().expect("ids").contains(&json!(shipment_id)), "{wave}");
    let task = wave["picking_list"]
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["shipment_id"] == shipment_id)
        .cloned()
        .expect("task");
    let wave_id = wave["wave_id"].as_i64().expect("id");
    let shipment = app.get(&format!("/v1/shipments/{shipment_id}"), &acme).await;
    assert_eq!(shipment.body["status"], "picking");

    // HHT: location -> item -> quantity; out of order is refused without effect.
    let scan = |n: u32, step: &str, value: &str| {
        json!({"warehouse_id": w, "device_id": "HHT-1", "client_event_id": format!("ev-{n}"), "wave_id": wave_id,
               "step": step, "value": value})
    };
    assert_eq!(wms(&app, "/wms/v1/scans", scan(1, "item", "5901234123457")).await["outcome"], "wrong_step");
    assert_eq!(wms(&app, "/wms/v1/scans", scan(2, "location", "NOT-HERE")).await["outcome"], "mismatch");
    let location = task["location_code"].as_str().expect("code");
    assert_eq!(wms(&app, "/wms/v1/scans", scan(3, "location", location)).await["outcome"], "accepted");
    assert_eq!(wms(&app, "/wms/v1/scans", scan(4, "item", "5901234123457")).await["outcome"], "accepted");
    let done = wms(&app, "/wms/v1/scans", scan(5, "quantity", "3")).await;
    assert_eq!(done["outcome"], "accepted", "{done}");
    assert_eq!(done["task"]["picked"], 3);
    assert_eq!(app.ledger_count("pick", "shipment_id", shipment_id).await, 2, "off the shelf, into packing");
    let stock = app.stock(&acme, "LAMP-1").await;
    assert_eq!(
        (
            stock["quantity"].as_i64(),
            stock["shipping"].as_i64(),
            stock["reserved"].as_i64(),
            stock["available"].as_i64()
        ),
        (Some(8), Some(3), Some(0), Some(5))
    );

    // Shipping inspection: a short count is refused with the difference, the right count passes.
    let inspection = format!("/wms/v1/shipments/{shipment_id}/inspection");
    let short = app
        .post(&inspection, &app.warehouse_token(), json!({"lines": [{"scanned": "5901234123457", "quantity": 2}]}))
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "{short:?}");
    assert_eq!(short.body["differences"][0]["inspected"], 2);
    assert_eq!(
        wms(&app, &inspection, json!({"lines": [{"scanned": "5901234123457", "quantity": 3}]})).await["status"],
        "picked"
    );

    // Packing and a label; a second label request returns the same label.
    let packed =
        wms(&app, &format!("/wms/v1/shipments/{shipment_id}/packages"), json!({"packages": [{"weight_grams": 3500}]}))
            .await;
    assert_eq!(packed["shipment"]["status"], "packed");
    let package_id = packed["packages"][0]["package_id"].as_i64().expect("id");
    let label = wms(&app, &format!("/wms/v1/packages/{package_id}/label"), json!({})).await;
    let again = wms(&app, &format!("/wms/v1/packages/{package_id}/label"), json!({})).await;
    assert_eq!(label["tracking_number"], again["tracking_number"]);
    assert_eq!(label["issued_at"], again["issued_at"]);
    assert!(label["content"].as_str().expect("zpl").contains(label["tracking_number"].as_str().expect("tn")));

    // Handover ships it.
    let handover = wms(
        &app,
        "/wms/v1/handovers",
        json!({"warehouse_id": w, "carrier": "yamato", "tracking_numbers": [label["tracking_number"]]}),
    )
    .await;
    assert_eq!(handover["shipped"], json!([shipment_id]));
    let shipment = app.get(&format!("/v1/shipments/{shipment_id}"), &acme).await;
    assert_eq!(shipment.body["status"], "shipped");
    assert_eq!(app.ledger_sum("ship", "shipment_id", shipment_id).await, -3);
    assert_eq!(app.billing(&acme, "parcel_shipped").await, 1);
    let stock = app.stock(&acme, "LAMP-1").await;
    assert_eq!(
        (stock["quantity"].as_i64(), stock["shipping"].as_i64(), stock["available"].as_i64()),
        (Some(5), Some(0), Some(5))
    );
    let packages = app.get(&format!("/v1/shipments/{shipment_id}/packages"), &acme).await;
    assert_eq!(packages.body[0]["tracking_number"], label["tracking_number"]);
    app.assert_ledger_balances().await;
}
