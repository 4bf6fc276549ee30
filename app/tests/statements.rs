//! Statements per request: a list page costs the same number of database statements whatever
//! its size, so `limit=200` is not 200 times `limit=1` (no N+1).
//!
//! Its own test binary, with one test that runs the backends one after the other: the count
//! comes from the admin listener's `db_client_operation_duration_seconds`, which is
//! process-wide, so nothing else may run statements while a request is measured.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "api/otlp.rs"]
mod otlp;

use reqwest::StatusCode;
use serde_json::json;

use helpers::{Backend, TestApp, spawn_app};

/// Every statement the process has run so far, by the admin listener's `/metrics`, except
/// the `pragma`s a new SQLite connection starts with (the pool opens one when it likes).
async fn statements_so_far(app: &TestApp) -> f64 {
    let text =
        app.http.get(format!("{}/metrics", app.admin_base)).send().await.expect("scrape").text().await.expect("body");
    let (_, families) = nom_openmetrics::parser::prometheus(&text).expect("valid exposition");
    families
        .iter()
        .flat_map(|f| f.samples.iter())
        .filter(|s| s.name() == "db_client_operation_duration_seconds_count")
        .filter(|s| !s.labels().iter().any(|l| l.name == "db_operation" && l.value == "pragma"))
        .map(|s| s.number())
        .sum()
}

/// The statements one GET of `path` runs, and the rows it lists.
async fn statements_of(app: &TestApp, path: &str, token: &str) -> (f64, usize) {
    let before = statements_so_far(app).await;
    let r = app.get(path, token).await;
    let after = statements_so_far(app).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {r:?}");
    (after - before, r.body["data"].as_array().map_or(0, Vec::len))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_page_of_two_hundred_runs_as_many_statements_as_a_page_of_one() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app(backend).await else { continue };
        let acme = app.shipper_token("acme");
        for i in 0..201 {
            let shipment = app.create_shipment(&acme, &format!("N1-{i}"), &[("TSHIRT-M", 1), ("SOAP-3P", 1)]).await;
            assert_eq!(shipment.status, StatusCode::CREATED, "{shipment:?}");
            let lines = json!([{"item_code": "MUG-01", "quantity": 1}, {"item_code": "SOAP-3P", "quantity": 2}]);
            let inbound = app
                .post(
                    "/v1/inbounds",
                    &acme,
                    json!({"identifier": format!("N1-{i}"), "warehouse_id": app.warehouse_id, "lines": lines}),
                )
                .await;
            assert_eq!(inbound.status, StatusCode::CREATED, "{inbound:?}");
        }
        let staff = app.warehouse_token();

        for (path, token) in [
            ("/v1/shipments", &acme),
            ("/wms/v1/shipments", &staff),
            ("/v1/inbounds", &acme),
            ("/wms/v1/inbounds", &staff),
        ] {
            // Warm: connections opened, statements prepared.
            app.get(&format!("{path}?limit=200"), token).await;

            let (one, rows) = statements_of(&app, &format!("{path}?limit=1"), token).await;
            assert_eq!(rows, 1);
            let (page, rows) = statements_of(&app, &format!("{path}?limit=200"), token).await;
            assert_eq!(rows, 200);

            eprintln!("{backend:?} GET {path}: {one} statements at limit=1, {page} at limit=200");
            assert_eq!(page, one, "{backend:?} GET {path}: the statements of a page must not grow with its size");
            // Authentication (one, or two for warehouse staff), the rows, their lines.
            assert!(page <= 4.0, "{backend:?} GET {path}: {page} statements");
        }
    }
}
