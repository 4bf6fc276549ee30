//! The OpenAPI document is generated from the same route table as the router
//! (utoipa-axum), so the two cannot drift; these tests check the document itself and that
//! every operation it lists is really routed.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

crate::on_both_backends!(the_openapi_document_is_3_1_and_every_documented_operation_is_routed);

async fn the_openapi_document_is_3_1_and_every_documented_operation_is_routed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let doc = app.http.get(format!("{}/openapi.json", app.base)).send().await.expect("get");
    assert_eq!(doc.status(), StatusCode::OK);
    let doc: Value = doc.json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 30, "{} paths", paths.len());
    for area in ["/v1/", "/wms/v1/", "/admin/v1/", "/channels/v1/"] {
        assert!(paths.keys().any(|p| p.starts_with(area)), "no {area} paths");
    }
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("operations") {
            let Ok(m) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            operations += 1;
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents no responses"
            );
            let token = if path.starts_with("/admin") {
                app.admin_token()
            } else if path.starts_with("/wms") {
                app.warehouse_token()
            } else {
                app.shipper_token("acme")
            };
            let concrete =
                path.split('/').map(|s| if s.starts_with('{') { "999999" } else { s }).collect::<Vec<_>>().join("/");
            let r = app.request(m.clone(), &concrete, &token, None).await;
            // Routed: anything but "no such route" / "method not allowed" (a 404 for the id is fine).
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not routed");
            assert_ne!(r.body["detail"], "no such route", "{method} {path} is documented but not routed");
            assert!(r.status.as_u16() < 500, "{method} {path}: {r:?}");
        }
    }
    assert!(operations >= 35, "{operations} operations");
    // Channel webhooks carry no bearer token: their credential is the body's signature.
    let webhook = &paths["/channels/v1/shopify/{channel_id}/orders"]["post"];
    assert_eq!(webhook["security"], serde_json::json!([{"shopify_hmac": []}]), "{webhook}");
    assert_eq!(doc["components"]["securitySchemes"]["shopify_hmac"]["name"], "X-Shopify-Hmac-Sha256");

    // Every route a journey is declared for is a real route (a typo would silently label nothing).
    for (method, route, journey) in fulfillment::journeys::ROUTES.0 {
        let op = &paths.get(*route).unwrap_or_else(|| panic!("{journey} names {route}, which is not a route"))
            [method.to_lowercase()];
        assert!(op.is_object(), "{journey} names {method} {route}, which is not an operation");
    }
}
