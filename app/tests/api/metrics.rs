//! `/metrics` on the admin listener: requests are counted under route templates, status
//! codes and journeys; both exposition formats parse; nothing of it is on the public port.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, spawn_app};

crate::on_both_backends!(
    requests_are_measured_by_route_template_status_and_journey,
    a_slow_statement_is_counted_as_a_slow_query_and_a_fast_one_is_not,
);

async fn requests_are_measured_by_route_template_status_and_journey(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    assert_eq!(app.create_shipment(&acme, "MET-1", &[("MUG-01", 1)]).await.status, StatusCode::CREATED);
    assert_eq!(app.create_shipment(&acme, "MET-2", &[("MUG-01", 0)]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/v1/stock", &acme).await.status, StatusCode::OK);
    assert_eq!(app.get("/v1/shipments/424242", &acme).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/v1/no/such/path", &acme).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post("/wms/v1/scans", &app.warehouse_token(), json!({})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Classic text, parsed by a Prometheus text parser.
    let classic = app.http.get(format!("{}/metrics", app.admin_base)).send().await.expect("scrape");
    assert_eq!(classic.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = classic.text().await.expect("body");
    if let Ok(path) = std::env::var("KURA_METRICS_DUMP") {
        // .ci/run hands this file to `promtool check metrics`.
        // Written whole, then renamed, so two backends' runs never interleave in the file.
        let tmp = format!("{path}.{}", std::process::id() as u64 + backend as u64);
        std::fs::write(&tmp, &text).expect("dump metrics");
        std::fs::rename(&tmp, path).expect("dump metrics");
    }
    let (rest, families) = nom_openmetrics::parser::prometheus(&text).expect("valid Prometheus text exposition");
    assert!(rest.trim().is_empty(), "unparsed tail: {rest}");
    let samples: Vec<_> = families.iter().flat_map(|f| f.samples.iter()).collect();
    let label = |s: &nom_openmetrics::Sample<'_>, name: &str| {
        s.labels().iter().find(|l| l.name == name).map(|l| l.value.to_string())
    };
    let count = |route: &str, method: &str, status: &str, journey: &str| {
        samples
            .iter()
            .find(|s| {
                s.name() == "http_server_request_duration_seconds_count"
                    && label(s, "http_route").as_deref() == Some(route)
                    && label(s, "http_request_method").as_deref() == Some(method)
                    && label(s, "http_response_status_code").as_deref() == Some(status)
                    && label(s, "journey").as_deref() == Some(journey)
            })
            .map(|s| s.number())
    };
    assert_eq!(count("/v1/shipments", "POST", "201", "create-shipment"), Some(1.0), "{text}");
    assert_eq!(count("/v1/shipments", "POST", "422", "create-shipment"), Some(1.0), "{text}");
    assert_eq!(count("/v1/stock", "GET", "200", "stock-read"), Some(1.0), "{text}");
    assert_eq!(
        count("/v1/shipments/{shipment_id}", "GET", "404", "none"),
        Some(1.0),
        "route template, never the raw path: {text}"
    );
    assert_eq!(count("unmatched", "GET", "404", "none"), Some(1.0), "{text}");
    assert_eq!(count("/wms/v1/scans", "POST", "422", "hht-scan"), Some(1.0), "{text}");
    assert!(!text.contains("424242") && !text.contains("/v1/no/such/path"), "raw paths must not become labels");
    for name in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds_total",
        "tokio_workers",
        "tokio_worker_busy_seconds_total",
    ] {
        assert!(samples.iter().any(|s| s.name() == name), "{name} missing: {text}");
    }

    // OpenMetrics when asked for it.
    let om = app
        .http
        .get(format!("{}/metrics", app.admin_base))
        .header("accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
        .send()
        .await
        .expect("scrape");
    assert!(om.headers()["content-type"].to_str().expect("ct").starts_with("application/openmetrics-text"));
    let om = om.text().await.expect("body");
    assert!(om.trim_end().ends_with("# EOF"), "{om}");
    // The parser knows no exemplars: check their shape here, the rest with the parser.
    let mut exemplars = 0;
    let without_exemplars: String = om
        .lines()
        .map(|l| match l.split_once(" # {") {
            Some((sample, exemplar)) => {
                assert!(exemplar.starts_with("trace_id=\"") && exemplar.contains("} "), "bad exemplar: {l}");
                exemplars += 1;
                format!("{sample}\n")
            }
            None => format!("{l}\n"),
        })
        .collect();
    assert!(exemplars > 0, "no exemplars: {om}");
    nom_openmetrics::parser::openmetrics(&without_exemplars).expect("valid OpenMetrics exposition");
    assert!(om.contains("# UNIT http_server_request_duration_seconds seconds"), "{om}");

    // Not on the public listener.
    let public = app.http.get(format!("{}/metrics", app.base)).send().await.expect("get");
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}

async fn a_slow_statement_is_counted_as_a_slow_query_and_a_fast_one_is_not(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    // Names are unique per backend: the statement metrics are process-wide.
    let (slow_name, fast_name) = match backend {
        Backend::Sqlite => ("slow-probe-sqlite", "fast-probe-sqlite"),
        Backend::Postgres => ("slow-probe-postgres", "fast-probe-postgres"),
    };
    let slow_sql = match backend {
        // Well over the 100 ms threshold on any machine this runs on.
        Backend::Sqlite => format!(
            "/* {slow_name} */ with recursive c(x) as (select 1 union all select x + 1 from c where x < 5000000) select count(*) from c"
        ),
        Backend::Postgres => format!("/* {slow_name} */ select cast(count(*) as bigint) from (select pg_sleep(0.3)) s"),
    };
    sqlx::query(sqlx::AssertSqlSafe(slow_sql.as_str())).execute(app.db.reader()).await.expect("slow statement");
    sqlx::query(sqlx::AssertSqlSafe(format!("/* {fast_name} */ select 1")))
        .execute(app.db.reader())
        .await
        .expect("fast statement");

    let text =
        app.http.get(format!("{}/metrics", app.admin_base)).send().await.expect("scrape").text().await.expect("body");
    let (_, families) = nom_openmetrics::parser::prometheus(&text).expect("valid exposition");
    let value = |metric: &str, name: &str| {
        families
            .iter()
            .flat_map(|f| f.samples.iter())
            .find(|s| s.name() == metric && s.labels().iter().any(|l| l.name == "db_query_name" && l.value == name))
            .map(|s| s.number())
    };
    assert_eq!(value("db_client_slow_queries_total", slow_name), Some(1.0), "{text}");
    assert_eq!(value("db_client_slow_queries_total", fast_name), None, "a fast statement is not slow");
    assert_eq!(value("db_client_operation_duration_seconds_count", fast_name), Some(1.0), "but it is measured");
    assert!(
        families
            .iter()
            .flat_map(|f| f.samples.iter())
            .any(|s| s.name() == "db_client_operation_duration_seconds_count"
                && s.labels().iter().any(|l| l.name == "db_query_name" && l.value == "select api_token")),
        "app statements are named by table: {text}"
    );
}
