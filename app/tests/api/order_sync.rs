//! EC order sync (the `order-sync` journey): Shopify's signed `orders/create` webhook becomes
//! exactly one shipment, whatever the redeliveries and races; what cannot be shipped is
//! recorded, acknowledged and listed; nothing unsigned or malformed is stored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::future::join_all;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Backend, Response, TestApp, spawn_app};

crate::on_both_backends!(
    a_signed_order_webhook_creates_one_allocated_shipment_and_observes_its_lag,
    a_webhook_with_a_bad_signature_is_refused_and_creates_nothing,
    a_redelivered_webhook_id_has_exactly_one_effect,
    ten_concurrent_deliveries_of_one_webhook_id_create_one_shipment,
    a_database_failure_is_a_5xx_that_stores_nothing_so_the_redelivery_creates_the_shipment,
    one_order_under_different_webhook_ids_or_made_elsewhere_is_one_shipment,
    concurrent_deliveries_of_one_order_under_different_webhook_ids_create_one_shipment,
    an_unknown_sku_is_recorded_as_rejected_acknowledged_and_listed_for_the_shipper,
    out_of_stock_without_backorders_and_a_foreign_address_are_rejected_without_reserving_stock,
    malformed_deliveries_get_problems_naming_the_field_and_store_nothing,
    a_webhook_for_another_shop_or_another_shippers_channel_is_refused,
    an_admin_registers_a_channel_whose_generated_secret_verifies_its_webhooks,
    the_webhook_route_is_measured_under_the_order_sync_journey,
    a_delivery_triggered_outside_the_window_is_refused_and_stores_nothing,
    a_replay_under_a_new_webhook_id_answers_the_first_outcome_and_stores_nothing,
    an_unknown_channel_is_answered_exactly_like_a_wrong_signature,
);

/// A channel as a test drives it: where to post, and what to sign with.
#[derive(Debug, Clone)]
struct Shop {
    channel_id: i64,
    domain: String,
    secret: String,
}

fn demo_shop(app: &TestApp) -> Shop {
    let c = &app.seeded.shopify_channel;
    Shop { channel_id: c.channel_id, domain: c.shop_domain.clone(), secret: c.webhook_secret.clone() }
}

/// Computed here, not with the service's code: base64(HMAC-SHA256(secret, raw body)).
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// An `orders/create` payload as Shopify sends it (with some of the fields Kura ignores),
/// placed `age_seconds` ago, shipping to Tokyo.
fn order(id: u64, lines: &[(&str, i64)], age_seconds: i64) -> Value {
    let created_at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(age_seconds);
    json!({
        "id": id,
        "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
        "name": format!("#{}", id % 10_000),
        "email": "taro@example.com",
        "created_at": created_at.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(9))).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        "currency": "JPY",
        "financial_status": "paid",
        "shipping_address": {
            "first_name": "太郎", "last_name": "山田", "name": "山田 太郎",
            "address1": "神宮前1-2-3", "address2": "原宿ビル 4F", "city": "渋谷区",
            "province": "東京都", "province_code": "JP-13", "zip": "150-0001",
            "country": "Japan", "country_code": "JP", "phone": "+81 3-1234-5678"
        },
        "line_items": lines.iter().map(|(sku, quantity)| json!({
            "id": 466157049, "sku": sku, "quantity": quantity, "requires_shipping": true, "price": "1500"
        })).collect::<Vec<_>>()
    })
}

/// Posts `body` (raw bytes) to the shop's webhook with Shopify's headers; `headers` override.
async fn deliver_raw(app: &TestApp, shop: &Shop, webhook_id: &str, body: &[u8], headers: &[(&str, &str)]) -> Response {
    let mut all: Vec<(String, String)> = vec![
        ("Content-Type".into(), "application/json".into()),
        ("X-Shopify-Hmac-Sha256".into(), sign(&shop.secret, body)),
        ("X-Shopify-Topic".into(), "orders/create".into()),
        ("X-Shopify-Shop-Domain".into(), shop.domain.clone()),
        ("X-Shopify-Webhook-Id".into(), webhook_id.into()),
        ("X-Shopify-Triggered-At".into(), jiff::Timestamp::now().to_string()),
        ("X-Shopify-API-Version".into(), "2025-10".into()),
    ];
    for (name, value) in headers {
        all.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if !value.is_empty() {
            all.push(((*name).into(), (*value).into()));
        }
    }
    let mut req = app.http.post(format!("{}/channels/v1/shopify/{}/orders", app.base, shop.channel_id));
    for (name, value) in &all {
        req = req.header(name, value);
    }
    let res = req.body(body.to_vec()).send().await.expect("deliver");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Response { status, headers, body }
}

async fn deliver(app: &TestApp, shop: &Shop, webhook_id: &str, order: &Value) -> Response {
    deliver_raw(app, shop, webhook_id, &serde_json::to_vec(order).expect("json"), &[]).await
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.db.reader()).await.expect("count")
}

async fn shipments_for_order(app: &TestApp, order_id: u64) -> i64 {
    sqlx::query_scalar("select count(*) from shipment where identifier = $1")
        .bind(format!("shopify-{order_id}"))
        .fetch_one(app.db.reader())
        .await
        .expect("count")
}

/// One sample of the admin listener's `/metrics`, by name and labels.
async fn metric(app: &TestApp, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text =
        app.http.get(format!("{}/metrics", app.admin_base)).send().await.expect("scrape").text().await.expect("body");
    let (_, families) = nom_openmetrics::parser::prometheus(&text).expect("valid exposition");
    families.iter().flat_map(|f| f.samples.iter()).find_map(|s| {
        let matches =
            s.name() == name && labels.iter().all(|(k, v)| s.labels().iter().any(|l| l.name == *k && l.value == *v));
        matches.then(|| s.number())
    })
}

fn lag(outcome: &'static str) -> [(&'static str, &'static str); 3] {
    [("channel_kind", "shopify"), ("journey", "order-sync"), ("outcome", outcome)]
}

/// Registers a Shopify channel for `shipper` through the admin API.
async fn register(app: &TestApp, shipper: &str, domain: &str, secret: &str) -> Shop {
    let shipper_id = app.seeded.shipper_tokens.iter().find(|(c, _, _)| c == shipper).expect("shipper").1;
    let r = app
        .post(
            "/admin/v1/channels",
            &app.admin_token(),
            json!({"shipper_id": shipper_id, "warehouse_id": app.warehouse_id, "kind": "shopify",
                   "shop_domain": domain, "webhook_secret": secret}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    Shop { channel_id: r.body["channel_id"].as_i64().expect("id"), domain: domain.into(), secret: secret.into() }
}

async fn a_signed_order_webhook_creates_one_allocated_shipment_and_observes_its_lag(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let shop = demo_shop(&app);
    let reserved_before = app.stock(&acme, "MUG-01").await["reserved"].as_i64().expect("reserved");

    let r = deliver(&app, &shop, "b54557e4-0001", &order(820_982_911_946_154_508, &[("MUG-01", 2)], 30)).await;

    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "created");
    assert_eq!(r.body["external_order_id"], "820982911946154508");
    assert_eq!(r.body["order_name"], "#4508");
    let shipment_id = r.body["shipment_id"].as_i64().expect("shipment id");
    let shipment = app.get(&format!("/v1/shipments/{shipment_id}"), &acme).await;
    assert_eq!(shipment.status, StatusCode::OK, "{shipment:?}");
    assert_eq!(shipment.body["identifier"], "shopify-820982911946154508");
    assert_eq!(shipment.body["status"], "waiting", "allocated");
    assert_eq!(shipment.body["lines"][0]["item_code"], "MUG-01");
    assert_eq!(shipment.body["lines"][0]["allocated"], 2);
    assert_eq!(shipment.body["recipient"]["postal_code"], "150-0001");
    assert_eq!(shipment.body["recipient"]["address1"], "渋谷区 神宮前1-2-3");
    assert_eq!(shipment.body["recipient"]["phone"], "03-1234-5678");
    assert_eq!(shipments_for_order(&app, 820_982_911_946_154_508).await, 1);
    assert_eq!(app.stock(&acme, "MUG-01").await["reserved"].as_i64(), Some(reserved_before + 2));
    assert_eq!(metric(&app, "order_sync_lag_seconds_count", &lag("created")).await, Some(1.0));
    let sum = metric(&app, "order_sync_lag_seconds_sum", &lag("created")).await.expect("lag sum");
    assert!((29.0..120.0).contains(&sum), "lag from the order's created_at, 30 s ago: {sum}");
    app.assert_ledger_balances().await;
}

async fn a_webhook_with_a_bad_signature_is_refused_and_creates_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let shop = demo_shop(&app);
    let body = serde_json::to_vec(&order(1001, &[("MUG-01", 1)], 5)).expect("json");
    let tampered = String::from_utf8(body.clone()).expect("utf-8").replace("\"quantity\":1", "\"quantity\":9");
    let wrong_secret = sign("not-the-channel-secret-at-all", &body);

    let refused = [
        deliver_raw(&app, &shop, "w-1", &body, &[("X-Shopify-Hmac-Sha256", &wrong_secret)]).await,
        deliver_raw(&app, &shop, "w-2", &body, &[("X-Shopify-Hmac-Sha256", "")]).await,
        deliver_raw(&app, &shop, "w-3", &body, &[("X-Shopify-Hmac-Sha256", "%%% not base64")]).await,
        // Signed, then changed in transit: the signature covers the raw bytes.
        deliver_raw(&app, &shop, "w-4", tampered.as_bytes(), &[("X-Shopify-Hmac-Sha256", &sign(&shop.secret, &body))])
            .await,
    ];

    for r in &refused {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
        assert_eq!(r.body["type"], "/problems/invalid-signature");
        assert_eq!(r.body["field"], "X-Shopify-Hmac-Sha256");
        assert_eq!(r.headers["content-type"], "application/problem+json");
    }
    assert_eq!(shipments_for_order(&app, 1001).await, 0);
    assert_eq!(count(&app, "select count(*) from channel_event").await, 0);
}

async fn a_redelivered_webhook_id_has_exactly_one_effect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let shop = demo_shop(&app);
    let reserved_before = app.stock(&acme, "SOAP-3P").await["reserved"].as_i64().expect("reserved");
    let payload = order(2002, &[("SOAP-3P", 3)], 10);

    let first = deliver(&app, &shop, "redelivered-1", &payload).await;
    let again = deliver(&app, &shop, "redelivered-1", &payload).await;

    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.body, first.body, "the redelivery answers the first outcome");
    assert_eq!(first.body["status"], "created");
    assert_eq!(shipments_for_order(&app, 2002).await, 1);
    assert_eq!(count(&app, "select count(*) from channel_event").await, 1);
    assert_eq!(app.stock(&acme, "SOAP-3P").await["reserved"].as_i64(), Some(reserved_before + 3), "reserved once");
    assert_eq!(metric(&app, "order_sync_lag_seconds_count", &lag("created")).await, Some(1.0));
    assert_eq!(metric(&app, "order_sync_lag_seconds_count", &lag("duplicate")).await, Some(1.0));

    // The same webhook id for another order is a sender bug, said so; it changes nothing.
    let misuse = deliver(&app, &shop, "redelivered-1", &order(2003, &[("SOAP-3P", 1)], 10)).await;
    assert_eq!(misuse.status, StatusCode::UNPROCESSABLE_ENTITY, "{misuse:?}");
    assert_eq!(misuse.body["field"], "X-Shopify-Webhook-Id");
    assert_eq!(shipments_for_order(&app, 2003).await, 0);
}

async fn ten_concurrent_deliveries_of_one_webhook_id_create_one_shipment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let shop = demo_shop(&app);
    let reserved_before = app.stock(&acme, "TSHIRT-M").await["reserved"].as_i64().expect("reserved");
    let payload = order(3003, &[("TSHIRT-M", 2)], 10);

    let responses = join_all((0..10).map(|_| deliver(&app, &shop, "storm-1", &payload))).await;

    for r in &responses {
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert_eq!(r.body["shipment_id"], responses[0].body["shipment_id"]);
        assert_eq!(r.body["status"], "created", "every answer is the one committed outcome");
    }
    assert_eq!(shipments_for_order(&app, 3003).await, 1);
    assert_eq!(count(&app, "select count(*) from channel_event").await, 1);
    assert_eq!(app.stock(&acme, "TSHIRT-M").await["reserved"].as_i64(), Some(reserved_before + 2));
    app.assert_ledger_balances().await;
}

async fn a_database_failure_is_a_5xx_that_stores_nothing_so_the_redelivery_creates_the_shipment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let shop = demo_shop(&app);
    let payload = order(3100, &[("MUG-01", 1)], 10);
    let db = &app.db;
    let ddl = |sql: &'static str| async move {
        let mut tx = db.begin_write().await.expect("begin");
        sqlx::query(sql).execute(&mut *tx).await.expect("ddl");
        tx.commit().await.expect("commit");
    };
    // Allocation is written after the event row and the shipment row: failing there shows
    // that neither survives on its own (a surviving event would turn the retry into a no-op).
    ddl("alter table allocation rename to allocation_away").await;

    let failed = deliver(&app, &shop, "retried-after-outage", &payload).await;

    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR, "{failed:?}");
    assert_eq!(failed.body["type"], "/problems/internal");
    assert_eq!(count(&app, "select count(*) from channel_event").await, 0);
    assert_eq!(shipments_for_order(&app, 3100).await, 0);
    ddl("alter table allocation_away rename to allocation").await;
    let retried = deliver(&app, &shop, "retried-after-outage", &payload).await;
    assert_eq!(retried.status, StatusCode::OK, "{retried:?}");
    assert_eq!(retried.body["status"], "created");
    assert_eq!(shipments_for_order(&app, 3100).await, 1);
}

async fn one_order_under_different_webhook_ids_or_made_elsewhere_is_one_shipment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let shop = demo_shop(&app);
    let payload = order(4004, &[("MUG-01", 1)], 60);

    let first = deliver(&app, &shop, "webhook-a", &payload).await;
    // Late and out of order: the same order again under a new webhook id.
    let late = deliver(&app, &shop, "webhook-b", &payload).await;

    assert_eq!(first.body["status"], "created", "{first:?}");
    assert_eq!(late.status, StatusCode::OK, "{late:?}");
    assert_eq!(late.body["status"], "duplicate");
    assert_eq!(late.body["shipment_id"], first.body["shipment_id"]);
    assert_eq!(shipments_for_order(&app, 4004).await, 1);
    assert_eq!(count(&app, "select count(*) from channel_event").await, 2, "both deliveries are on record");

    // An order the shipper already entered under its identifier is not made twice either.
    let manual = app.create_shipment(&acme, "shopify-4005", &[("MUG-01", 1)]).await;
    assert_eq!(manual.status, StatusCode::CREATED, "{manual:?}");
    let webhook = deliver(&app, &shop, "webhook-c", &order(4005, &[("MUG-01", 1)], 60)).await;
    assert_eq!(webhook.body["status"], "duplicate", "{webhook:?}");
    assert_eq!(webhook.body["shipment_id"], manual.body["shipment_id"]);
    assert_eq!(shipments_for_order(&app, 4005).await, 1);
}

async fn concurrent_deliveries_of_one_order_under_different_webhook_ids_create_one_shipment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let shop = demo_shop(&app);
    let reserved_before = app.stock(&acme, "MUG-01").await["reserved"].as_i64().expect("reserved");
    let payload = order(5005, &[("MUG-01", 1)], 10);
    let ids: Vec<String> = (0..6).map(|i| format!("race-{i}")).collect();

    let responses = join_all(ids.iter().map(|id| deliver(&app, &shop, id, &payload))).await;

    for r in &responses {
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert_eq!(r.body["shipment_id"], responses[0].body["shipment_id"]);
    }
    let created = responses.iter().filter(|r| r.body["status"] == "created").count();
    assert_eq!(created, 1, "one delivery made it, the others found it: {responses:?}");
    assert_eq!(shipments_for_order(&app, 5005).await, 1);
    assert_eq!(app.stock(&acme, "MUG-01").await["reserved"].as_i64(), Some(reserved_before + 1));
    app.assert_ledger_balances().await;
}

async fn an_unknown_sku_is_recorded_as_rejected_acknowledged_and_listed_for_the_shipper(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let shop = demo_shop(&app);
    let created = deliver(&app, &shop, "ok-1", &order(6000, &[("MUG-01", 1)], 10)).await;
    assert_eq!(created.body["status"], "created", "{created:?}");

    let payload = order(6006, &[("MUG-01", 1), ("NOT-A-SKU", 2)], 10);
    let r = deliver(&app, &shop, "unknown-sku-1", &payload).await;
    let again = deliver(&app, &shop, "unknown-sku-1", &payload).await;

    assert_eq!(r.status, StatusCode::OK, "acknowledged, so Shopify stops retrying: {r:?}");
    assert_eq!(r.body["status"], "rejected");
    assert_eq!(r.body["reason"], "unknown_sku");
    assert!(r.body["detail"].as_str().expect("detail").starts_with("/line_items/1/sku: "), "{r:?}");
    assert_eq!(r.body["shipment_id"], Value::Null);
    assert_eq!(again.body, r.body);
    assert_eq!(shipments_for_order(&app, 6006).await, 0);
    assert_eq!(metric(&app, "order_sync_lag_seconds_count", &lag("rejected")).await, Some(2.0));

    let rejected = app.get("/v1/channel-events?status=rejected", &acme).await;
    assert_eq!(rejected.status, StatusCode::OK, "{rejected:?}");
    let events = rejected.body["data"].as_array().expect("data");
    assert_eq!(events.len(), 1, "{rejected:?}");
    assert_eq!(events[0]["external_order_id"], "6006");
    assert_eq!(events[0]["webhook_id"], "unknown-sku-1");
    assert_eq!(events[0]["reason"], "unknown_sku");
    let all = app.get("/v1/channel-events", &acme).await;
    assert_eq!(all.body["data"].as_array().map(Vec::len), Some(2), "{all:?}");
    let page = app.get("/v1/channel-events?limit=1", &acme).await;
    assert_eq!(page.body["data"][0]["webhook_id"], "ok-1");
    let cursor = page.body["next_cursor"].as_str().expect("a next page").to_owned();
    let next = app.get(&format!("/v1/channel-events?limit=1&cursor={cursor}"), &acme).await;
    assert_eq!(next.body["data"][0]["webhook_id"], "unknown-sku-1", "{next:?}");
    let bad_filter = app.get("/v1/channel-events?status=lost", &acme).await;
    assert_eq!(bad_filter.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_filter.body["field"], "status");
    let other = app.get("/v1/channel-events", &app.shipper_token("sakura")).await;
    assert_eq!(other.body["data"], json!([]), "another shipper sees none of them");
}

async fn out_of_stock_without_backorders_and_a_foreign_address_are_rejected_without_reserving_stock(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let sakura = app.shipper_token("sakura");
    let shop = register(&app, "sakura", "sakura-cosmetics.myshopify.com", "sakura-webhook-secret-0123").await;
    let on_hand = app.stock(&sakura, "ICE-TEA").await;

    // ICE-TEA has 50 units; sakura takes no backorders.
    let short = deliver(&app, &shop, "short-1", &order(7007, &[("MUG-01", 1), ("ICE-TEA", 51)], 10)).await;
    let mut abroad = order(7008, &[("MUG-01", 1)], 10);
    abroad["shipping_address"]["country_code"] = json!("US");
    let abroad = deliver(&app, &shop, "abroad-1", &abroad).await;
    let mut no_phone = order(7009, &[("MUG-01", 1)], 10);
    no_phone["shipping_address"]["phone"] = Value::Null;
    let no_phone = deliver(&app, &shop, "no-phone-1", &no_phone).await;

    assert_eq!(short.status, StatusCode::OK, "{short:?}");
    assert_eq!(short.body["reason"], "out_of_stock");
    assert!(short.body["detail"].as_str().expect("detail").contains("ICE-TEA"), "{short:?}");
    assert_eq!(abroad.body["reason"], "bad_address", "{abroad:?}");
    assert!(abroad.body["detail"].as_str().expect("detail").starts_with("/shipping_address/country_code: "));
    assert_eq!(no_phone.body["reason"], "bad_address", "{no_phone:?}");
    assert!(no_phone.body["detail"].as_str().expect("detail").starts_with("/shipping_address/phone: "));
    // The half-made shipment of the short order was rolled back with its reservations.
    assert_eq!(count(&app, "select count(*) from shipment where identifier like 'shopify-%'").await, 0);
    assert_eq!(app.stock(&sakura, "ICE-TEA").await, on_hand);
    assert_eq!(app.stock(&sakura, "MUG-01").await["reserved"], 0);
    let rejected = app.get("/v1/channel-events?status=rejected", &sakura).await;
    assert_eq!(rejected.body["data"].as_array().map(Vec::len), Some(3), "{rejected:?}");
    app.assert_ledger_balances().await;
}

async fn malformed_deliveries_get_problems_naming_the_field_and_store_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let shop = demo_shop(&app);
    let good = order(8008, &[("MUG-01", 1)], 10);
    let mut string_id = good.clone();
    string_id["id"] = json!("8008");
    let mut no_created_at = good.clone();
    no_created_at.as_object_mut().expect("object").remove("created_at");
    let mut zero = good.clone();
    zero["line_items"][0]["quantity"] = json!(0);
    let mut bad_time = good.clone();
    bad_time["created_at"] = json!("yesterday");
    let mut no_lines = good.clone();
    no_lines.as_object_mut().expect("object").remove("line_items");
    let body = |v: &Value| serde_json::to_vec(v).expect("json");

    let cases: Vec<(Response, StatusCode, &str)> = vec![
        (deliver_raw(&app, &shop, "m-1", b"{\"id\": 8008,", &[]).await, StatusCode::BAD_REQUEST, ""),
        (deliver(&app, &shop, "m-2", &string_id).await, StatusCode::UNPROCESSABLE_ENTITY, "/id"),
        (deliver(&app, &shop, "m-3", &no_created_at).await, StatusCode::UNPROCESSABLE_ENTITY, "/created_at"),
        (deliver(&app, &shop, "m-4", &zero).await, StatusCode::UNPROCESSABLE_ENTITY, "/line_items/0/quantity"),
        (deliver(&app, &shop, "m-5", &bad_time).await, StatusCode::UNPROCESSABLE_ENTITY, "/created_at"),
        (deliver(&app, &shop, "m-6", &no_lines).await, StatusCode::UNPROCESSABLE_ENTITY, "/line_items"),
        (
            deliver_raw(&app, &shop, "m-7", &body(&good), &[("X-Shopify-Topic", "orders/updated")]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "X-Shopify-Topic",
        ),
        (
            deliver_raw(&app, &shop, "", &body(&good), &[("X-Shopify-Webhook-Id", "")]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "X-Shopify-Webhook-Id",
        ),
        (
            deliver_raw(&app, &shop, "m-9", &body(&good), &[("X-Shopify-Triggered-At", "soon")]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "X-Shopify-Triggered-At",
        ),
        (
            deliver_raw(&app, &shop, "m-10", &body(&good), &[("Content-Type", "text/plain")]).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
    ];

    for (r, status, field) in &cases {
        assert_eq!(r.status, *status, "{r:?}");
        assert_eq!(r.headers["content-type"], "application/problem+json", "{r:?}");
        if !field.is_empty() {
            assert_eq!(r.body["field"], *field, "{r:?}");
        }
    }
    assert_eq!(cases[0].0.body["type"], "/problems/malformed-json");
    assert_eq!(count(&app, "select count(*) from channel_event").await, 0);
    assert_eq!(shipments_for_order(&app, 8008).await, 0);
}

async fn a_webhook_for_another_shop_or_another_shippers_channel_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme_shop = demo_shop(&app);
    let sakura_shop = register(&app, "sakura", "sakura-cosmetics.myshopify.com", "sakura-webhook-secret-0123").await;
    let payload = order(9009, &[("MUG-01", 1)], 10);

    // acme's shop signs with its own secret, but posts to sakura's channel.
    let other_channel = Shop { channel_id: sakura_shop.channel_id, ..acme_shop.clone() };
    let foreign_secret = deliver(&app, &other_channel, "x-1", &payload).await;
    // Signed with sakura's secret (one app secret signs for every shop), from acme's shop.
    let other_shop = Shop { domain: acme_shop.domain.clone(), ..sakura_shop.clone() };
    let wrong_shop = deliver(&app, &other_shop, "x-2", &payload).await;
    let no_channel = deliver(&app, &Shop { channel_id: 987_654, ..acme_shop.clone() }, "x-3", &payload).await;

    assert_eq!(foreign_secret.status, StatusCode::UNAUTHORIZED, "{foreign_secret:?}");
    assert_eq!(wrong_shop.status, StatusCode::FORBIDDEN, "{wrong_shop:?}");
    assert_eq!(wrong_shop.body["type"], "/problems/wrong-shop");
    assert_eq!(wrong_shop.body["field"], "X-Shopify-Shop-Domain");
    assert_eq!(
        no_channel.status,
        StatusCode::UNAUTHORIZED,
        "an unknown channel looks like a bad signature: {no_channel:?}"
    );
    assert_eq!(count(&app, "select count(*) from channel_event").await, 0);
    assert_eq!(shipments_for_order(&app, 9009).await, 0);

    // Registering is for admins, once per shop.
    let by_shipper = app
        .post(
            "/admin/v1/channels",
            &app.shipper_token("acme"),
            json!({"shipper_id": 1, "warehouse_id": app.warehouse_id, "kind": "shopify", "shop_domain": "x.myshopify.com"}),
        )
        .await;
    assert_eq!(by_shipper.status, StatusCode::FORBIDDEN, "{by_shipper:?}");
    let twice = app
        .post(
            "/admin/v1/channels",
            &app.admin_token(),
            json!({"shipper_id": app.seeded.shipper_tokens[0].1, "warehouse_id": app.warehouse_id,
                   "kind": "shopify", "shop_domain": sakura_shop.domain}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{twice:?}");
    assert_eq!(twice.body["field"], "/shop_domain");
    assert_eq!(twice.body["existing_id"], sakura_shop.channel_id);
    let unknown = app
        .post(
            "/admin/v1/channels",
            &app.admin_token(),
            json!({"shipper_id": 424_242, "warehouse_id": app.warehouse_id, "kind": "shopify",
                   "shop_domain": "nobody.myshopify.com"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{unknown:?}");
    assert_eq!(unknown.body["field"], "/shipper_id");
}

async fn an_admin_registers_a_channel_whose_generated_secret_verifies_its_webhooks(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let sakura_id = app.seeded.shipper_tokens.iter().find(|(c, _, _)| c == "sakura").expect("sakura").1;

    let r = app
        .post(
            "/admin/v1/channels",
            &app.admin_token(),
            json!({"shipper_id": sakura_id, "warehouse_id": app.warehouse_id, "kind": "shopify",
                   "shop_domain": "sakura-outlet.myshopify.com", "delivery_carrier": "sagawa"}),
        )
        .await;

    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let channel_id = r.body["channel_id"].as_i64().expect("id");
    assert_eq!(r.body["webhook_path"], format!("/channels/v1/shopify/{channel_id}/orders"));
    let secret = r.body["webhook_secret"].as_str().expect("a generated secret, shown once").to_owned();
    assert_eq!(r.body["shipper_id"], sakura_id);
    let shop = Shop { channel_id, domain: "sakura-outlet.myshopify.com".into(), secret };
    let created = deliver(&app, &shop, "first", &order(10_010, &[("SOAP-3P", 2)], 10)).await;
    assert_eq!(created.body["status"], "created", "{created:?}");
    let shipment_id = created.body["shipment_id"].as_i64().expect("shipment");
    let shipment = app.get(&format!("/v1/shipments/{shipment_id}"), &app.shipper_token("sakura")).await;
    assert_eq!(shipment.body["delivery_carrier"], "sagawa", "{shipment:?}");
    let given = app
        .request(
            Method::POST,
            "/admin/v1/channels",
            &app.admin_token(),
            Some(json!({"shipper_id": sakura_id, "warehouse_id": app.warehouse_id, "kind": "shopify",
                        "shop_domain": "sakura-2.myshopify.com", "webhook_secret": "given-secret-0123456789"})),
        )
        .await;
    assert_eq!(given.status, StatusCode::CREATED, "{given:?}");
    assert!(given.body.get("webhook_secret").is_none(), "a given secret is not echoed: {given:?}");
}

async fn the_webhook_route_is_measured_under_the_order_sync_journey(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let shop = demo_shop(&app);
    let ok = deliver(&app, &shop, "metered-1", &order(11_011, &[("MUG-01", 1)], 10)).await;
    let body = serde_json::to_vec(&order(11_012, &[("MUG-01", 1)], 10)).expect("json");
    let unsigned = deliver_raw(&app, &shop, "metered-2", &body, &[("X-Shopify-Hmac-Sha256", "")]).await;
    assert_eq!((ok.status, unsigned.status), (StatusCode::OK, StatusCode::UNAUTHORIZED));

    let route = [("http_route", "/channels/v1/shopify/{channel_id}/orders"), ("http_request_method", "POST")];
    for status in ["200", "401"] {
        let labels = [route[0], route[1], ("http_response_status_code", status), ("journey", "order-sync")];
        assert_eq!(
            metric(&app, "http_server_request_duration_seconds_count", &labels).await,
            Some(1.0),
            "POST {status} under journey=\"order-sync\""
        );
    }
    let events = [("http_route", "/v1/channel-events"), ("journey", "none")];
    let _ = app.get("/v1/channel-events", &app.shipper_token("acme")).await;
    assert_eq!(metric(&app, "http_server_request_duration_seconds_count", &events).await, Some(1.0));
}

async fn a_delivery_triggered_outside_the_window_is_refused_and_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let shop = demo_shop(&app);
    let body = serde_json::to_vec(&order(7100, &[("MUG-01", 1)], 5)).expect("json");
    let thirteen_hours_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(13)).to_string();
    let in_ten_minutes = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10)).to_string();

    let old = deliver_raw(&app, &shop, "old-1", &body, &[("X-Shopify-Triggered-At", &thirteen_hours_ago)]).await;
    let future = deliver_raw(&app, &shop, "future-1", &body, &[("X-Shopify-Triggered-At", &in_ten_minutes)]).await;
    let missing = deliver_raw(&app, &shop, "missing-1", &body, &[("X-Shopify-Triggered-At", "")]).await;

    for r in [&old, &future] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
        assert_eq!(r.body["type"], "/problems/stale-delivery");
        assert_eq!(r.body["field"], "X-Shopify-Triggered-At");
    }
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "{missing:?}");
    assert_eq!(missing.body["field"], "X-Shopify-Triggered-At");
    assert_eq!(count(&app, "select count(*) from channel_event").await, 0);
    assert_eq!(shipments_for_order(&app, 7100).await, 0);
}

async fn a_replay_under_a_new_webhook_id_answers_the_first_outcome_and_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let shop = demo_shop(&app);
    let body = serde_json::to_vec(&order(7200, &[("NOT-A-SKU", 1)], 5)).expect("json");
    let triggered_at = jiff::Timestamp::now().to_string();
    let first = deliver_raw(&app, &shop, "orig-1", &body, &[("X-Shopify-Triggered-At", &triggered_at)]).await;
    assert_eq!(first.body["status"], "rejected", "{first:?}");
    // A captured copy of the delivery is replayed under new webhook ids, concurrently.
    let replays = join_all((0..5).map(|i| {
        let (app, shop, body, triggered_at) = (&app, &shop, &body, &triggered_at);
        async move {
            deliver_raw(app, shop, &format!("replay-{i}"), body, &[("X-Shopify-Triggered-At", triggered_at)]).await
        }
    }))
    .await;

    for r in &replays {
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert_eq!(r.body["channel_event_id"], first.body["channel_event_id"], "the first event answers: {r:?}");
        assert_eq!(r.body["status"], "rejected");
    }
    assert_eq!(count(&app, "select count(*) from channel_event").await, 1, "replays store nothing");
}

async fn an_unknown_channel_is_answered_exactly_like_a_wrong_signature(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let shop = demo_shop(&app);
    let body = serde_json::to_vec(&order(7300, &[("MUG-01", 1)], 5)).expect("json");
    let wrong = sign("a-guess-at-the-secret-0000", &body);
    let ghost = Shop { channel_id: 987_654, ..shop.clone() };

    let known = deliver_raw(&app, &shop, "probe-1", &body, &[("X-Shopify-Hmac-Sha256", &wrong)]).await;
    let unknown = deliver_raw(&app, &ghost, "probe-2", &body, &[("X-Shopify-Hmac-Sha256", &wrong)]).await;

    assert_eq!(known.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, known.status);
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().map(|o| o.remove("trace_id"));
        v
    };
    assert_eq!(strip(&unknown.body), strip(&known.body), "nothing tells the channels apart");
    assert_eq!(unknown.headers.get("www-authenticate"), known.headers.get("www-authenticate"));
}
