//! Overselling is the hazard that matters most: concurrent allocations of one SKU must never
//! reserve more than is on the shelf, on either engine.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, shipment_body, spawn_app, spawn_app_configured};
use crate::lifecycle::tokyo_today;

crate::on_both_backends!(
    two_hundred_shipments_racing_for_one_hundred_units_allocate_exactly_one_hundred,
    without_backorders_the_losers_of_a_race_are_rejected_with_the_short_item,
    devices_picking_one_wave_at_once_never_share_a_task_and_pick_every_unit_once,
    past_its_concurrency_limit_the_service_sheds_requests_with_503_and_loses_none_it_accepted,
);

async fn item_with_stock(app: &TestApp, token: &str, code: &str, barcode: &str, shelves: &[(&str, i64)]) -> i64 {
    let item = app
        .post(
            "/v1/items",
            token,
            json!({"code": code, "name": code, "barcode": barcode, "price": 100,
              "size_class": "60", "weight_grams": 100, "temperature_zone": "normal"}),
        )
        .await;
    assert_eq!(item.status, StatusCode::CREATED, "{item:?}");
    let item_id = item.body["item_id"].as_i64().expect("id");
    for (location, units) in shelves {
        let r = app
            .post("/wms/v1/stock/adjustments", &app.warehouse_token(), json!({"warehouse_id": app.warehouse_id,
                  "location_code": location, "item_id": item_id, "bucket": "sellable", "quantity": units, "reason": "adjust"}))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    }
    item_id
}

async fn allocated_units(app: &TestApp, item_id: i64) -> i64 {
    sqlx::query_scalar("select cast(coalesce(sum(a.quantity), 0) as bigint) from allocation a join stock s on s.stock_id = a.stock_id where s.item_id = $1")
        .bind(item_id)
        .fetch_one(app.db.reader())
        .await
        .expect("sum")
}

async fn two_hundred_shipments_racing_for_one_hundred_units_allocate_exactly_one_hundred(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let race = item_with_stock(&app, &acme, "RACE-1", "4006381333931", &[("A-01-01", 60), ("A-02-01", 40)]).await;
    item_with_stock(&app, &acme, "RACE-2", "9780201379624", &[("A-03-01", 1000)]).await;

    // Every other shipment also takes RACE-2, listed first, so multi-line shipments lock in
    // an order different from the request's: a deadlock here would show up as a 5xx.
    let requests = (0..200).map(|i| {
        let app = &app;
        let acme = &acme;
        async move {
            let lines: Vec<(&str, i64)> =
                if i % 2 == 0 { vec![("RACE-1", 1)] } else { vec![("RACE-2", 1), ("RACE-1", 1)] };
            app.create_shipment(acme, &format!("RACE-{i:03}"), &lines).await
        }
    });
    let responses = join_all(requests).await;

    let mut waiting = 0;
    let mut backordered = 0;
    for r in &responses {
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        match r.body["status"].as_str() {
            Some("waiting") => waiting += 1,
            Some("backordered") => backordered += 1,
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert_eq!((waiting, backordered), (100, 100));
    assert_eq!(allocated_units(&app, race).await, 100);
    let stock = app.stock(&acme, "RACE-1").await;
    assert_eq!((stock["reserved"].as_i64(), stock["available"].as_i64()), (Some(100), Some(0)));
    assert_eq!(stock["backordered"].as_i64(), Some(100));
    let negative: i64 = sqlx::query_scalar("select count(*) from stock where reserved > on_hand or on_hand < 0")
        .fetch_one(app.db.reader())
        .await
        .expect("count");
    assert_eq!(negative, 0);
    app.assert_ledger_balances().await;
}

async fn without_backorders_the_losers_of_a_race_are_rejected_with_the_short_item(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let sakura = app.shipper_token("sakura");
    let race = item_with_stock(&app, &sakura, "LIP-1", "4006381333931", &[("A-01-01", 30), ("A-04-01", 20)]).await;

    let responses = join_all((0..100).map(|i| {
        let (app, sakura) = (&app, &sakura);
        async move { app.create_shipment(sakura, &format!("S-{i:03}"), &[("LIP-1", 1)]).await }
    }))
    .await;

    let created = responses.iter().filter(|r| r.status == StatusCode::CREATED).count();
    let rejected: Vec<_> = responses.iter().filter(|r| r.status == StatusCode::UNPROCESSABLE_ENTITY).collect();
    assert_eq!((created, rejected.len()), (50, 50), "{:?}", responses.iter().find(|r| !r.status.is_success()));
    for r in rejected {
        assert_eq!(r.body["type"], "/problems/insufficient-stock");
        assert_eq!(r.body["short_items"][0]["item_code"], "LIP-1");
    }
    assert_eq!(allocated_units(&app, race).await, 50);
    let rejected_rows: i64 = sqlx::query_scalar("select count(*) from shipment where identifier like 'S-%'")
        .fetch_one(app.db.reader())
        .await
        .expect("count");
    assert_eq!(rejected_rows, 50, "a rejected shipment leaves nothing behind");
    app.assert_ledger_balances().await;
}

async fn devices_picking_one_wave_at_once_never_share_a_task_and_pick_every_unit_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let wh = app.warehouse_token();
    for i in 0..24 {
        let mut body = shipment_body(app.warehouse_id, &format!("W-{i:02}"), &[("SOAP-3P", 1), ("MUG-01", 1)]);
        body["ship_date"] = json!(tokyo_today());
        assert_eq!(app.post("/v1/shipments", &acme, body).await.status, StatusCode::CREATED);
    }
    let wave = app.post("/wms/v1/waves", &wh, json!({"warehouse_id": app.warehouse_id})).await;
    let wave_id = wave.body["wave_id"].as_i64().expect("wave");
    assert_eq!(wave.body["picking_list"].as_array().map(Vec::len), Some(48));

    // Six devices walk the wave at once, each scanning what the server says comes next.
    let devices = (0..6).map(|d| {
        let (app, wh) = (&app, &wh);
        async move {
            let (mut step, mut value) = ("location".to_owned(), "A-01-01".to_owned());
            let mut picked_tasks = Vec::new();
            for n in 0.. {
                let r = app
                    .post(
                        "/wms/v1/scans",
                        wh,
                        json!({"warehouse_id": app.warehouse_id, "device_id": format!("HHT-{d}"),
                        "client_event_id": format!("{d}-{n}"), "wave_id": wave_id, "step": step, "value": value}),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{r:?}");
                if r.body["outcome"] == "wave_complete" {
                    break;
                }
                if r.body["outcome"] == "accepted" && step == "quantity" {
                    picked_tasks.push(r.body["task"]["allocation_id"].as_i64().expect("id"));
                }
                let Some(next_step) = r.body["expected_step"].as_str() else { break };
                step = next_step.to_owned();
                let next = &r.body["next_task"];
                value = match (r.body["outcome"].as_str(), step.as_str()) {
                    (Some("mismatch"), _) => r.body["expected"].as_str().expect("expected").to_owned(),
                    (_, "location") => next["location_code"].as_str().expect("location").to_owned(),
                    (_, "item") => next["barcode"].as_str().expect("barcode").to_owned(),
                    _ => "1".to_owned(),
                };
            }
            picked_tasks
        }
    });
    let mut picked: Vec<i64> = join_all(devices).await.into_iter().flatten().collect();
    let total = picked.len();
    picked.sort_unstable();
    picked.dedup();
    assert_eq!((total, picked.len()), (48, 48), "every task picked exactly once");
    let units: i64 = sqlx::query_scalar("select cast(sum(picked) as bigint) from allocation")
        .fetch_one(app.db.reader())
        .await
        .expect("sum");
    assert_eq!(units, 48);
    app.assert_ledger_balances().await;
}

async fn past_its_concurrency_limit_the_service_sheds_requests_with_503_and_loses_none_it_accepted(backend: Backend) {
    let Some(app) = spawn_app_configured(backend, false, 2).await else { return };
    let acme = app.shipper_token("acme");

    let responses = join_all((0..60).map(|i| {
        let (app, acme) = (&app, &acme);
        async move { app.create_shipment(acme, &format!("SHED-{i:02}"), &[("SOAP-3P", 1)]).await }
    }))
    .await;

    let created = responses.iter().filter(|r| r.status == StatusCode::CREATED).count();
    let shed: Vec<_> = responses.iter().filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE).collect();
    assert_eq!(created + shed.len(), 60, "{:?}", responses.iter().find(|r| !r.status.is_success()));
    assert!(!shed.is_empty(), "60 at once against a limit of 2 must shed some");
    for r in &shed {
        assert_eq!(r.body["type"], "/problems/overloaded");
        assert_eq!(r.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    }
    let stored: i64 = sqlx::query_scalar("select count(*) from shipment where identifier like 'SHED-%'")
        .fetch_one(app.db.reader())
        .await
        .expect("count");
    assert_eq!(stored as usize, created, "a shed request left nothing behind; an accepted one is stored");
}
