//! Bad input gets a clear 4xx problem document naming the field at fault, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, shipment_body, spawn_app};

crate::on_both_backends!(every_malformed_request_is_a_4xx_problem_document_naming_the_field);

enum Body {
    None,
    Json(Value),
    Raw(&'static str, String),
}

enum Who {
    Shipper,
    Warehouse,
    Admin,
    Anonymous,
    Token(&'static str),
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    who: Who,
    body: Body,
    headers: Vec<(&'static str, String)>,
    status: u16,
    field: Option<&'static str>,
}

fn case(
    name: &'static str,
    method: Method,
    path: &str,
    who: Who,
    body: Body,
    status: u16,
    field: Option<&'static str>,
) -> Case {
    Case { name, method, path: path.to_owned(), who, body, headers: vec![], status, field }
}

fn item(patch: Value) -> Body {
    let mut base = json!({"code": "OK-1", "name": "ok", "barcode": "5901234123457", "price": 100, "size_class": "60",
                          "weight_grams": 10, "temperature_zone": "normal"});
    merge(&mut base, patch);
    Body::Json(base)
}

fn merge(base: &mut Value, patch: Value) {
    if let (Some(b), Value::Object(p)) = (base.as_object_mut(), patch) {
        for (k, v) in p {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
}

fn shipment(warehouse: i64, patch: impl FnOnce(&mut Value)) -> Body {
    let mut b = shipment_body(warehouse, "BAD-1", &[("MUG-01", 1)]);
    patch(&mut b);
    Body::Json(b)
}

fn scan(warehouse: i64, patch: Value) -> Body {
    let mut b = json!({"warehouse_id": warehouse, "device_id": "D1", "client_event_id": "e1", "wave_id": 1, "step": "location", "value": "A-01-01"});
    merge(&mut b, patch);
    Body::Json(b)
}

fn cases(app: &TestApp, inbound: i64) -> Vec<Case> {
    use Method as M;
    use Who::*;
    let w = app.warehouse_id;
    let mut cases = vec![
        case("truncated JSON", M::POST, "/v1/items", Shipper, Body::Raw("application/json", "{\"code\": ".into()), 400, Some("/code")),
        case("trailing garbage", M::POST, "/v1/items", Shipper, Body::Raw("application/json",
            r#"{"code": "OK-1", "name": "ok", "price": 1, "size_class": "60", "weight_grams": 1, "temperature_zone": "normal"} x"#.into()), 400, None),
        case("an array, not an object", M::POST, "/v1/items", Shipper, Body::Json(json!([1, 2])), 422, None),
        case("text/plain body", M::POST, "/v1/items", Shipper, Body::Raw("text/plain", "hello".into()), 415, Some("Content-Type")),
        case("no content type", M::POST, "/v1/items", Shipper, Body::None, 415, Some("Content-Type")),
        case("missing required field", M::POST, "/v1/items", Shipper, item(json!({"code": null})), 422, Some("/code")),
        case("unknown field", M::POST, "/v1/items", Shipper, item(json!({"colour": "red"})), 422, Some("/colour")),
        case("over-long code", M::POST, "/v1/items", Shipper, item(json!({"code": "X".repeat(65)})), 422, Some("/code")),
        case("code with a space", M::POST, "/v1/items", Shipper, item(json!({"code": "A B"})), 422, Some("/code")),
        case("barcode check digit", M::POST, "/v1/items", Shipper, item(json!({"barcode": "5901234123450"})), 422, Some("/barcode")),
        case("barcode letters", M::POST, "/v1/items", Shipper, item(json!({"barcode": "59012341234AB"})), 422, Some("/barcode")),
        case("negative price", M::POST, "/v1/items", Shipper, item(json!({"price": -1})), 422, Some("/price")),
        case("price as text", M::POST, "/v1/items", Shipper, item(json!({"price": "cheap"})), 422, Some("/price")),
        case("unknown size class", M::POST, "/v1/items", Shipper, item(json!({"size_class": "999"})), 422, Some("/size_class")),
        case("unknown temperature zone", M::POST, "/v1/items", Shipper, item(json!({"temperature_zone": "hot"})), 422, Some("/temperature_zone")),
        case("fractional weight", M::POST, "/v1/items", Shipper, item(json!({"weight_grams": 1.5})), 422, Some("/weight_grams")),
        case("blank name", M::POST, "/v1/items", Shipper, item(json!({"name": "  "})), 422, Some("/name")),
        case("over-long name", M::POST, "/v1/items", Shipper, item(json!({"name": "あ".repeat(256)})), 422, Some("/name")),
        case("no lines", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["lines"] = json!([])), 422, Some("/lines")),
        case("negative quantity", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["lines"][0]["quantity"] = json!(-1)), 422, Some("/lines/0/quantity")),
        case("zero quantity", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["lines"][0]["quantity"] = json!(0)), 422, Some("/lines/0/quantity")),
        case("huge quantity", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["lines"][0]["quantity"] = json!(1_000_000_000_000i64)), 422, Some("/lines/0/quantity")),
        case("unknown item", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["lines"][0]["item_code"] = json!("NOPE")), 422, Some("/lines/0/item_code")),
        case("same item twice", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["lines"] = json!([{"item_code": "MUG-01", "quantity": 1}, {"item_code": "MUG-01", "quantity": 2}])), 422, Some("/lines/1/item_code")),
        case("bad postal code", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["recipient"]["postal_code"] = json!("1234")), 422, Some("/recipient/postal_code")),
        case("bad phone", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["recipient"]["phone"] = json!("call me")), 422, Some("/recipient/phone")),
        case("unknown carrier", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["delivery_carrier"] = json!("dhl")), 422, Some("/delivery_carrier")),
        case("impossible date", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["ship_date"] = json!("2026-13-45")), 422, Some("/ship_date")),
        case("date in the past", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["ship_date"] = json!("2020-01-01")), 422, Some("/ship_date")),
        case("unknown warehouse", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["warehouse_id"] = json!(999)), 422, Some("/warehouse_id")),
        case("priority out of range", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["allocate_priority"] = json!(0)), 422, Some("/allocate_priority")),
        case("no recipient", M::POST, "/v1/shipments", Shipper, shipment(w, |b| { b.as_object_mut().map(|o| o.remove("recipient")); }), 422, Some("/recipient")),
        case("control character", M::POST, "/v1/shipments", Shipper, shipment(w, |b| b["identifier"] = json!("A\u{1}B")), 422, Some("/identifier")),
        case("limit 0", M::GET, "/v1/shipments?limit=0", Shipper, Body::None, 422, Some("limit")),
        case("limit not a number", M::GET, "/v1/shipments?limit=lots", Shipper, Body::None, 422, Some("limit")),
        case("unknown status filter", M::GET, "/v1/shipments?status=flying", Shipper, Body::None, 422, Some("status")),
        case("non-numeric id", M::GET, "/v1/shipments/abc", Shipper, Body::None, 404, None),
        case("bad month", M::GET, "/v1/billing/summary?month=2026-13", Shipper, Body::None, 422, Some("month")),
        case("unknown scan step", M::POST, "/wms/v1/scans", Warehouse, scan(w, json!({"step": "jump"})), 422, Some("/step")),
        case("empty event id", M::POST, "/wms/v1/scans", Warehouse, scan(w, json!({"client_event_id": ""})), 422, Some("/client_event_id")),
        case("scan of an unknown wave", M::POST, "/wms/v1/scans", Warehouse, scan(w, json!({"wave_id": 424242})), 422, Some("/wave_id")),
        case("negative received", M::POST, &format!("/wms/v1/inbounds/{inbound}/receive"), Warehouse, Body::Json(json!({"lines": [{"item_code": "MUG-01", "received": -5}]})), 422, Some("/lines/0/received")),
        case("lot-managed item without a lot", M::POST, "/v1/inbounds", Shipper, Body::Json(json!({"identifier": "I", "warehouse_id": w, "lines": [{"item_code": "LOT-1", "quantity": 1}]})), 422, Some("/lines/0/lot")),
        case("bad expiry date", M::POST, "/v1/inbounds", Shipper, Body::Json(json!({"identifier": "I", "warehouse_id": w, "lines": [{"item_code": "MUG-01", "quantity": 1, "expires_on": "tomorrow"}]})), 422, Some("/lines/0/expires_on")),
        case("body over 1 MiB", M::POST, "/v1/items", Shipper, Body::Raw("application/json", format!("{{\"name\": \"{}\"}}", "x".repeat(1_100_000))), 413, None),
        case("no token", M::GET, "/v1/shipments", Anonymous, Body::None, 401, Some("Authorization")),
        case("unknown token", M::GET, "/v1/shipments", Token("kura_0000"), Body::None, 401, Some("Authorization")),
        case("wrong method", M::PUT, "/v1/items", Shipper, Body::None, 405, None),
        case("unknown route", M::GET, "/v1/nothing-here", Shipper, Body::None, 404, None),
        case("unknown time zone", M::POST, "/admin/v1/warehouses", Admin, Body::Json(json!({"code": "X1", "name": "x", "time_zone": "Mars/Base",
            "locations": [{"code": "R", "kind": "receiving"}, {"code": "H", "kind": "hold"}, {"code": "P", "kind": "packing"}]})), 422, Some("/time_zone")),
        case("bad cut-off", M::POST, "/admin/v1/warehouses", Admin, Body::Json(json!({"code": "X2", "name": "x", "cutoff_time": "25:00",
            "locations": [{"code": "R", "kind": "receiving"}, {"code": "H", "kind": "hold"}, {"code": "P", "kind": "packing"}]})), 422, Some("/cutoff_time")),
        case("warehouse without packing area", M::POST, "/admin/v1/warehouses", Admin, Body::Json(json!({"code": "X3", "name": "x",
            "locations": [{"code": "R", "kind": "receiving"}, {"code": "H", "kind": "hold"}]})), 422, Some("/locations")),
        case("shipper token without shipper", M::POST, "/admin/v1/tokens", Admin, Body::Json(json!({"name": "t", "role": "shipper"})), 422, Some("/shipper_id")),
        case("unknown role", M::POST, "/admin/v1/tokens", Admin, Body::Json(json!({"name": "t", "role": "root"})), 422, Some("/role")),
        case("maintenance without reason", M::PUT, "/admin/v1/maintenance", Admin, Body::Json(json!({"enabled": true})), 422, Some("/reason")),
    ];
    let mut long_key =
        case("over-long Idempotency-Key", M::POST, "/v1/items", Shipper, item(json!({})), 422, Some("Idempotency-Key"));
    long_key.headers.push(("Idempotency-Key", "k".repeat(300)));
    cases.push(long_key);
    cases
}

async fn every_malformed_request_is_a_4xx_problem_document_naming_the_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let inbound = app
        .post("/v1/inbounds", &app.shipper_token("acme"), json!({"identifier": "IN-BAD", "warehouse_id": app.warehouse_id, "lines": [{"item_code": "MUG-01", "quantity": 1}]}))
        .await
        .body["inbound_id"]
        .as_i64()
        .expect("inbound");
    let lot_item = app
        .post(
            "/v1/items",
            &app.shipper_token("acme"),
            json!({"code": "LOT-1", "name": "Vitamin C", "price": 980, "size_class": "60",
              "weight_grams": 80, "temperature_zone": "normal", "lot_managed": true}),
        )
        .await;
    assert_eq!(lot_item.status, StatusCode::CREATED, "{lot_item:?}");
    let cases = cases(&app, inbound);
    assert!(cases.len() >= 30);
    for c in cases {
        let mut req = app.http.request(c.method.clone(), format!("{}{}", app.base, c.path));
        req = match c.who {
            Who::Shipper => req.bearer_auth(app.shipper_token("acme")),
            Who::Warehouse => req.bearer_auth(app.warehouse_token()),
            Who::Admin => req.bearer_auth(app.admin_token()),
            Who::Token(t) => req.bearer_auth(t),
            Who::Anonymous => req,
        };
        for (k, v) in &c.headers {
            req = req.header(*k, v);
        }
        req = match c.body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(ct, s) => req.header("content-type", ct).body(s),
        };
        let res = req.send().await.expect("send");
        let status = res.status();
        let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = res.text().await.expect("body");
        assert_eq!(status, StatusCode::from_u16(c.status).expect("status"), "{}: {text}", c.name);
        assert_eq!(content_type, "application/problem+json", "{}: {text}", c.name);
        let problem: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", c.name));
        assert!(problem["type"].as_str().is_some_and(|t| t.starts_with("/problems/")), "{}: {problem}", c.name);
        assert_eq!(problem["status"], c.status, "{}", c.name);
        assert!(problem["title"].is_string() && problem["detail"].is_string(), "{}: {problem}", c.name);
        if let Some(field) = c.field {
            assert_eq!(problem["field"], field, "{}: {problem}", c.name);
        }
    }
    // None of it left anything behind.
    let items: i64 = sqlx::query_scalar("select count(*) from item where code = 'OK-1'")
        .fetch_one(app.db.reader())
        .await
        .expect("count");
    let shipments: i64 =
        sqlx::query_scalar("select count(*) from shipment").fetch_one(app.db.reader()).await.expect("count");
    assert_eq!((items, shipments), (0, 0));
}
