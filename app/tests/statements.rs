//! Statements per request: a list page costs the same number of database statements whatever
//! its size, so `limit=200` is not 200 times `limit=1` (no N+1); the hot journeys
//! (create-shipment, hht-scan) stay within their statement budgets.
//!
//! Its own test binary, whose tests take turns ([`SERIAL`]) and run the backends one after the
//! other: the count comes from the admin listener's `db_client_operation_duration_seconds`,
//! which is process-wide, so nothing else may run statements while a request is measured.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "api/otlp.rs"]
mod otlp;

use reqwest::StatusCode;
use serde_json::json;

use helpers::{Backend, TestApp, spawn_app};

/// One measuring test at a time in this process.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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

/// The statements one POST of `body` to `path` runs, and the answer.
async fn statements_of_post(
    app: &TestApp,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> (f64, helpers::Response) {
    let before = statements_so_far(app).await;
    let r = app.post(path, token, body).await;
    let after = statements_so_far(app).await;
    (after - before, r)
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
    let _turn = SERIAL.lock().await;
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

/// Statements each hot request took when this test was written (the most of both engines;
/// PostgreSQL counts its transaction's `begin` and `commit`). A change that adds a round trip to
/// a hot journey raises its number here and says why.
const BUDGETS: &[(&str, f64)] = &[
    ("create-shipment, 1 line", 12.0),
    // Each further line costs its allocation: candidates, free units, reservation, allocation row.
    ("create-shipment, 3 lines", 20.0),
    ("create-shipment, backordered", 14.0),
    ("hht-scan, location", 8.0),
    ("hht-scan, item", 6.0),
    // The first pick of a fresh database also creates the packing-area row (four statements).
    ("hht-scan, quantity", 15.0),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_shipment_and_scanning_a_pick_stay_within_their_statement_budgets() {
    let _turn = SERIAL.lock().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app(backend).await else { continue };
        for (request, n) in hot_paths(&app, backend).await {
            let budget = BUDGETS.iter().find(|(r, _)| *r == request).map_or(0.0, |(_, b)| *b);
            assert!(n <= budget, "{backend:?} {request}: {n} statements, over its budget of {budget}");
        }
    }
}

/// Today in Tokyo, the seeded warehouse's calendar.
fn tokyo_today() -> String {
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").expect("zone");
    jiff::Timestamp::now().to_zoned_datetime(tz).date().to_string()
}

async fn hot_paths(app: &TestApp, backend: Backend) -> Vec<(&'static str, f64)> {
    let acme = app.shipper_token("acme");
    let staff = app.warehouse_token();
    let mut counts = Vec::new();
    // Only HOT-1 ships today, so the wave below has one task and the device is sure to claim it.
    let later = |identifier: &str, lines: &[(&str, i64)]| {
        let mut body = helpers::shipment_body(app.warehouse_id, identifier, lines);
        body["ship_date"] = json!("2099-12-31");
        body
    };
    let mut one = helpers::shipment_body(app.warehouse_id, "HOT-1", &[("MUG-01", 1)]);
    one["ship_date"] = json!(tokyo_today());
    app.post("/v1/shipments", &acme, later("HOT-0", &[("MUG-01", 1)])).await;
    let (n, r) = statements_of_post(app, "/v1/shipments", &acme, one).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    counts.push(("create-shipment, 1 line", n));
    let three = later("HOT-3", &[("MUG-01", 1), ("SOAP-3P", 1), ("TSHIRT-M", 1)]);
    let (n, r) = statements_of_post(app, "/v1/shipments", &acme, three).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    counts.push(("create-shipment, 3 lines", n));
    let short = helpers::shipment_body(app.warehouse_id, "HOT-B", &[("ICE-TEA", 1000)]);
    let (n, r) = statements_of_post(app, "/v1/shipments", &acme, short).await;
    assert_eq!(r.body["status"], "backordered", "{r:?}");
    counts.push(("create-shipment, backordered", n));

    let wave = app.post("/wms/v1/waves", &staff, json!({"warehouse_id": app.warehouse_id})).await;
    let task = wave.body["picking_list"][0].clone();
    let wave_id = wave.body["wave_id"].clone();
    for (i, (step, value)) in [
        ("location", task["location_code"].clone()),
        ("item", task["barcode"].clone()),
        ("quantity", json!(task["quantity"].to_string())),
    ]
    .into_iter()
    .enumerate()
    {
        let scan = json!({"warehouse_id": app.warehouse_id, "device_id": "HHT-1", "client_event_id": format!("e{i}"),
            "wave_id": wave_id, "step": step, "value": value});
        let (n, r) = statements_of_post(app, "/wms/v1/scans", &staff, scan).await;
        assert_eq!(r.body["outcome"], "accepted", "{backend:?} {step}: {r:?}");
        counts.push((["hht-scan, location", "hht-scan, item", "hht-scan, quantity"][i], n));
    }
    for (path, n) in &counts {
        eprintln!("{backend:?} {path}: {n} statements");
    }
    counts
}
