//! Tenant isolation: a shipper never reads or changes another shipper's data, and cannot
//! even learn that an id exists (404, exactly as for a missing id). Roles are enforced too.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, spawn_app};

crate::on_both_backends!(
    every_shipper_endpoint_answers_404_for_another_shippers_ids_and_changes_nothing,
    lists_and_stock_show_only_the_callers_own_data,
    roles_are_enforced_and_missing_or_revoked_tokens_are_401,
    an_admin_works_in_every_warehouse_and_a_missing_warehouse_is_not_found,
);

async fn every_shipper_endpoint_answers_404_for_another_shippers_ids_and_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (acme, sakura) = (app.shipper_token("acme"), app.shipper_token("sakura"));
    let item = app.get("/v1/items?limit=1", &acme).await.body["data"][0]["item_id"].as_i64().expect("acme item");
    let inbound = app
        .post("/v1/inbounds", &acme, json!({"identifier": "IN-ISO", "warehouse_id": app.warehouse_id, "lines": [{"item_code": "MUG-01", "quantity": 5}]}))
        .await
        .body["inbound_id"]
        .as_i64()
        .expect("inbound");
    let shipment =
        app.create_shipment(&acme, "ISO-1", &[("MUG-01", 1)]).await.body["shipment_id"].as_i64().expect("shipment");

    let probes: Vec<(Method, &str, i64, Option<serde_json::Value>)> = vec![
        (Method::GET, "/v1/items/{}", item, None),
        (Method::GET, "/v1/inbounds/{}", inbound, None),
        (Method::POST, "/v1/inbounds/{}/cancel", inbound, Some(json!({}))),
        (Method::GET, "/v1/shipments/{}", shipment, None),
        (Method::PATCH, "/v1/shipments/{}", shipment, Some(json!({"gift_wrap": true}))),
        (Method::DELETE, "/v1/shipments/{}", shipment, None),
        (Method::POST, "/v1/shipments/{}/cancel", shipment, Some(json!({}))),
        (Method::GET, "/v1/shipments/{}/packages", shipment, None),
    ];
    for (method, template, id, body) in probes {
        let path = template.replace("{}", &id.to_string());
        let theirs = app.request(method.clone(), &path, &sakura, body.clone()).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{method} {path} with another shipper's token: {theirs:?}");
        assert_eq!(theirs.body["type"], "/problems/not-found");
        // A missing id looks exactly the same.
        let missing = app.request(method.clone(), &template.replace("{}", "987654"), &sakura, body).await;
        assert_eq!(
            (missing.status, &missing.body["type"]),
            (theirs.status, &theirs.body["type"]),
            "{method} {template}"
        );
    }
    // Nothing changed for the owner.
    assert_eq!(app.get(&format!("/v1/shipments/{shipment}"), &acme).await.body["status"], "waiting");
    assert_eq!(app.get(&format!("/v1/shipments/{shipment}"), &acme).await.body["gift_wrap"], false);
    assert_eq!(app.get(&format!("/v1/inbounds/{inbound}"), &acme).await.body["status"], "waiting");
}

async fn lists_and_stock_show_only_the_callers_own_data(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (acme, sakura) = (app.shipper_token("acme"), app.shipper_token("sakura"));
    app.create_shipment(&acme, "MINE-1", &[("MUG-01", 1)]).await;
    app.post("/v1/inbounds", &acme, json!({"identifier": "IN-MINE", "warehouse_id": app.warehouse_id, "lines": [{"item_code": "MUG-01", "quantity": 1}]})).await;
    let acme_items: Vec<i64> = app.get("/v1/items", &acme).await.body["data"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["item_id"].as_i64())
        .collect();

    let shipments = app.get("/v1/shipments", &sakura).await;
    assert_eq!(shipments.body["data"], json!([]), "{shipments:?}");
    assert_eq!(app.get("/v1/inbounds", &sakura).await.body["data"], json!([]));
    let items = app.get("/v1/items", &sakura).await.body["data"].as_array().expect("items").clone();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| !acme_items.contains(&i["item_id"].as_i64().unwrap_or(0))));
    // Both seeded shippers have a MUG-01; sakura's stock query sees only its own.
    let stock = app.get("/v1/stock?item_code=MUG-01", &sakura).await.body;
    assert!(stock.as_array().expect("rows").iter().all(|s| !acme_items.contains(&s["item_id"].as_i64().unwrap_or(0))));
    assert_eq!(stock[0]["reserved"], 0, "acme's reservation is not visible to sakura");
    // An item code another shipper owns is unknown to this one.
    let theirs = app.post("/v1/items", &acme, json!({"code": "ACME-ONLY", "name": "x", "price": 1, "size_class": "60", "weight_grams": 1, "temperature_zone": "normal"})).await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    let r = app.create_shipment(&sakura, "X-1", &[("ACME-ONLY", 1)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "/lines/0/item_code");
}

async fn roles_are_enforced_and_missing_or_revoked_tokens_are_401(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    assert_eq!(app.get("/v1/shipments", &app.warehouse_token()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/wms/v1/shipments", &acme).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post("/admin/v1/shippers", &acme, json!({"code": "x", "name": "x"})).await.status,
        StatusCode::FORBIDDEN
    );
    let anonymous = app.http.get(format!("{}/v1/shipments", app.base)).send().await.expect("send");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    assert_eq!(app.get("/v1/shipments", "kura_not_a_real_token").await.status, StatusCode::UNAUTHORIZED);

    // A token the admin issues works until it is revoked.
    let shipper_id = app.seeded.shipper_tokens[0].1;
    let issued = app
        .post(
            "/admin/v1/tokens",
            &app.admin_token(),
            json!({"name": "ci", "role": "shipper", "shipper_id": shipper_id}),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{issued:?}");
    let token = issued.body["token"].as_str().expect("token").to_owned();
    assert_eq!(app.get("/v1/shipments", &token).await.status, StatusCode::OK);
    let revoke = app
        .request(Method::DELETE, &format!("/admin/v1/tokens/{}", issued.body["token_id"]), &app.admin_token(), None)
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/shipments", &token).await.status, StatusCode::UNAUTHORIZED);
}

async fn an_admin_works_in_every_warehouse_and_a_missing_warehouse_is_not_found(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let acme = app.shipper_token("acme");
    let shipment =
        app.create_shipment(&acme, "ADM-1", &[("MUG-01", 1)]).await.body["shipment_id"].as_i64().expect("shipment");
    let admin = app.admin_token();

    let listed = app.get("/wms/v1/shipments", &admin).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    assert!(listed.body["data"].as_array().expect("data").iter().any(|s| s["shipment_id"] == shipment));
    assert_eq!(app.get(&format!("/wms/v1/shipments/{shipment}"), &admin).await.status, StatusCode::OK);

    let missing = 987_654;
    let probes = [
        ("/wms/v1/handovers", json!({"warehouse_id": missing, "carrier": "yamato", "tracking_numbers": ["1"]})),
        (
            "/wms/v1/stock/adjustments",
            json!({"warehouse_id": missing, "location_code": "A-01-01", "item_id": 1, "bucket": "sellable", "quantity": 1, "reason": "adjust"}),
        ),
        (
            "/wms/v1/scans",
            json!({"warehouse_id": missing, "device_id": "HHT-1", "client_event_id": "e-1", "wave_id": 1, "step": "location", "value": "A-01-01"}),
        ),
        ("/wms/v1/waves", json!({"warehouse_id": missing})),
    ];
    for (path, body) in probes {
        let r = app.post(path, &admin, body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {r:?}");
        assert_eq!(r.body["type"], "/problems/not-found", "{path}");
    }
}
