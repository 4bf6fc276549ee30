//! The SLO controller, black box: started in-process on port 0 against a fresh database (a new
//! SQLite file, or a new PostgreSQL database on `TEST_POSTGRES_URL`; unreachable is a failure),
//! driven with the source it would have (none) or with readings handed straight to
//! [`Controller::record`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::Value;
use slo::controller::{Controller, history};
use slo::eval::{Evaluation, Status};

use crate::support::{Backend, Running, Setup, SpecDir, TestDb, eventually, serve_api};

fn fulfillment_slos() -> PathBuf {
    crate::support::workspace().join("app/slos")
}

/// A whole controller on `db` over `slos`, evaluating every `interval`.
async fn start(db: platform::Db, slos: Vec<PathBuf>, interval: Duration, instance: &str) -> Running {
    let c = Setup { interval, instance: instance.into(), ..Setup::new(slos) }.build(db);
    Running::start(c, None).await
}

struct Response {
    status: StatusCode,
    content_type: String,
    body: Value,
}

async fn get(url: &str) -> Response {
    let res = crate::support::get(url).await;
    let status = res.status();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Response { status, content_type, body }
}

const THREE_SLOS: &str = r#"
service: shop
journeys:
  checkout:
    slos:
      - id: checkout-availability
        objective: 99
        window: 30d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="checkout", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="checkout"}
      - id: checkout-latency
        objective: 99
        window: 30d
        sli:
          latency:
            histogram: http_server_request_duration_seconds{journey="checkout"}
            threshold: 0.3
  search:
    slos:
      - id: search-availability
        objective: 99.9
        window: 30d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="search", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="search"}
"#;

/// One reading per SLO of `c`'s specs: 1000 events an hour over every range, with the error
/// ratio `bad_ratio(slo id)`.
fn readings(c: &Controller, now: Timestamp, bad_ratio: impl Fn(&str) -> f64) -> slo::source::Readings {
    crate::support::readings(c, now, |id, _| bad_ratio(id))
}

async fn every_fulfillment_slo_is_listed_as_no_data_without_a_source(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let mut running = start(test_db.open().await, vec![fulfillment_slos()], Duration::from_millis(200), "a").await;

    let url = format!("{}/api/v1/slos", running.base);
    eventually(Duration::from_secs(10), "a first evaluation", || async {
        get(&url).await.body.as_array().is_some_and(|a| a.iter().all(|s| s["evaluated_at"].is_string()))
    })
    .await;
    let listed = get(&url).await;

    assert_eq!(listed.status, StatusCode::OK);
    let slos = listed.body.as_array().expect("a list");
    let expected = slo::spec::load_paths(&[fulfillment_slos()]).expect("app/slos loads");
    assert_eq!(slos.len(), expected.iter().map(|s| s.slos().count()).sum::<usize>());
    for s in slos {
        assert_eq!(s["status"], "no-data", "{s}");
        assert_eq!(s["reason"], "no source is configured", "{s}");
    }
    let availability = slos.iter().find(|s| s["slo"] == "create-shipment-availability").expect("listed");
    assert_eq!((availability["objective"].as_str(), availability["window"].as_str()), (Some("99.9"), Some("28d")));
    running.shutdown().await;
}

async fn recorded_evaluations_are_listed_worst_budget_first_with_their_history(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let specs = SpecDir::new(THREE_SLOS);
    let c = Setup::new(vec![specs.file()]).build(test_db.db.clone());
    let base = serve_api(&c, None).await;
    // Whole seconds: the history keeps milliseconds.
    let now = Timestamp::from_second(Timestamp::now().as_second()).expect("now");
    let (t1, t2) = (now - SignedDuration::from_mins(2), now - SignedDuration::from_mins(1));
    // Budgets left at t2: checkout-latency 50 %, search-availability 80 %, checkout-availability 90 %.
    let ratio_at = |t: Timestamp| {
        move |id: &str| match (id, t == t1) {
            (_, true) => 0.0,
            ("checkout-latency", _) => 0.005,
            ("search-availability", _) => 0.0002,
            _ => 0.001,
        }
    };

    c.record(t1, readings(&c, t1, ratio_at(t1))).await.expect("first cycle stored");
    c.record(t2, readings(&c, t2, ratio_at(t2))).await.expect("second cycle stored");
    let listed = get(&format!("{base}/api/v1/slos")).await;
    let detail = get(&format!("{base}/api/v1/slos/shop/checkout-latency?since=1h")).await;

    let order: Vec<&str> = listed.body.as_array().expect("list").iter().filter_map(|s| s["slo"].as_str()).collect();
    assert_eq!(order, ["checkout-latency", "search-availability", "checkout-availability"]);
    let worst = &listed.body[0];
    assert!((worst["budget_remaining"].as_f64().expect("budget") - 0.5).abs() < 1e-9, "{worst}");
    assert_eq!(worst["status"], "ok");
    assert_eq!(worst["burn_rates"].as_array().map(Vec::len), Some(4));
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    let history = detail.body["history"].as_array().expect("history");
    let times: Vec<&str> = history.iter().filter_map(|h| h["evaluated_at"].as_str()).collect();
    assert_eq!(times, [t1.to_string(), t2.to_string()]);
    assert_eq!(history[0]["budget_remaining"], 1.0);
    assert_eq!(detail.body["truncated"], false);
    let rows: i64 =
        sqlx::query_scalar("select count(*) from slo_evaluation").fetch_one(c.db().reader()).await.expect("count");
    assert_eq!(rows, 6, "one row per SLO per cycle");
}

fn evaluation(slo: &str, at: Timestamp) -> Evaluation {
    Evaluation {
        service: "shop".into(),
        journey: "checkout".into(),
        slo: slo.into(),
        evaluated_at: at,
        status: Status::Ok,
        reason: None,
        sli: Some(0.999),
        budget_remaining: Some(0.9),
        budget_consumed: Some(0.1),
        burn_rates: Vec::new(),
        time_to_exhaustion_seconds: None,
        in_maintenance: false,
    }
}

async fn history_beyond_48_hours_is_downsampled_to_one_row_per_10_minutes(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.db.clone();
    // A 10-minute boundary, so that 3 hours of 30 s cycles are exactly 18 buckets.
    let now = Timestamp::from_second(Timestamp::now().as_second() / 600 * 600).expect("now");
    let old_start = now - SignedDuration::from_hours(53);
    let recent_start = now - SignedDuration::from_hours(1);
    let mut rows = Vec::new();
    for i in 0..360 {
        for slo in ["checkout-availability", "checkout-latency"] {
            rows.push(evaluation(slo, old_start + SignedDuration::from_secs(30 * i)));
        }
    }
    for i in 0..120 {
        rows.push(evaluation("checkout-availability", recent_start + SignedDuration::from_secs(30 * i)));
    }
    rows.push(evaluation("checkout-availability", now - SignedDuration::from_hours(24 * 101)));
    rows.sort_by_key(|e| e.evaluated_at);
    history::insert(&db, "a", &rows).await.expect("history stored");

    let deleted = history::compact(&db, now).await.expect("compaction");

    let count = |from: Timestamp, to: Timestamp, slo: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from slo_evaluation where slo = $1 and evaluated_at >= $2 and evaluated_at < $3",
            )
            .bind(slo)
            .bind(from.as_millisecond())
            .bind(to.as_millisecond())
            .fetch_one(db.reader())
            .await
            .expect("count")
        }
    };
    let cutoff = now - SignedDuration::from_hours(48);
    assert_eq!(count(old_start, cutoff, "checkout-availability").await, 18);
    assert_eq!(count(old_start, cutoff, "checkout-latency").await, 18);
    assert_eq!(count(cutoff, now, "checkout-availability").await, 120, "the last 48 hours keep every row");
    assert_eq!(count(Timestamp::UNIX_EPOCH, old_start, "checkout-availability").await, 0, "past retention");
    assert_eq!(deleted, 2 * (360 - 18) + 1);
    // The survivor of each bucket is its first row, so the chart shows real evaluations.
    let kept = history::since(&db, "shop", "checkout-latency", old_start, 100).await.expect("history");
    assert!(kept.iter().all(|e| e.evaluated_at.as_second() % 600 == 0), "{kept:?}");
    assert_eq!(history::compact(&db, now).await.expect("compaction"), 0, "compaction is idempotent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_two_controllers_on_postgresql_evaluates_and_a_standby_takes_over_within_two_intervals() {
    let test_db = TestDb::new(Backend::Postgres).await;
    let interval = Duration::from_millis(500);
    let mut first = start(test_db.open().await, vec![fulfillment_slos()], interval, "first").await;
    let mut second = start(test_db.open().await, vec![fulfillment_slos()], interval, "second").await;
    let writers = |db: platform::Db| async move {
        sqlx::query_scalar::<_, String>("select distinct controller from slo_evaluation order by controller")
            .fetch_all(db.reader())
            .await
            .expect("writers")
    };
    let observer = test_db.open().await;

    tokio::time::sleep(interval * 4).await;
    let before = writers(observer.clone()).await;
    assert_eq!(before.len(), 1, "exactly one controller evaluates: {before:?}");
    let (leader, standby) = if before[0] == "first" { (&mut first, &mut second) } else { (&mut second, &mut first) };
    assert!(leader.controller.is_leader());
    assert!(!standby.controller.is_leader());
    // The standby serves the leader's evaluations from the shared history.
    let from_standby = get(&format!("{}/api/v1/slos", standby.base)).await;
    assert!(from_standby.body.as_array().expect("list").iter().all(|s| s["evaluated_at"].is_string()));

    leader.shutdown().await;
    let stopped = Instant::now();
    let standby_controller = Arc::clone(&standby.controller);
    eventually(interval * 2 + Duration::from_millis(250), "the standby taking over", || {
        let c = Arc::clone(&standby_controller);
        async move { c.is_leader() }
    })
    .await;
    let handover = stopped.elapsed();
    eprintln!("handover took {handover:?} at a {interval:?} interval");
    let standby_name = standby_controller.config().instance.clone();
    eventually(interval * 2, "the new leader writing history", || {
        let (db, name) = (observer.clone(), standby_name.clone());
        async move { writers(db).await.contains(&name) }
    })
    .await;
    standby.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_lock_session_dies_is_replaced_within_two_intervals() {
    let test_db = TestDb::new(Backend::Postgres).await;
    let interval = Duration::from_millis(500);
    let mut first = start(test_db.open().await, vec![fulfillment_slos()], interval, "first").await;
    let mut second = start(test_db.open().await, vec![fulfillment_slos()], interval, "second").await;
    let observer = test_db.open().await;
    let (a, b) = (Arc::clone(&first.controller), Arc::clone(&second.controller));
    eventually(interval * 4, "a leader", || {
        let (a, b) = (Arc::clone(&a), Arc::clone(&b));
        async move { a.is_leader() || b.is_leader() }
    })
    .await;

    // What a crashed leader or a cut network looks like from the database: its session ends.
    let terminated: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted \
         and database = (select oid from pg_database where datname = current_database())",
    )
    .fetch_all(observer.reader())
    .await
    .expect("terminate the lock session");
    assert_eq!(terminated, [true], "exactly one session held the lock");
    let killed = Instant::now();
    let rows_at = |db: platform::Db| async move {
        sqlx::query_scalar::<_, i64>("select count(*) from slo_evaluation").fetch_one(db.reader()).await.expect("count")
    };
    let before = rows_at(observer.clone()).await;

    eventually(interval * 2 + Duration::from_millis(250), "a live leader again", || {
        let db = observer.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select count(*) from pg_locks where locktype = 'advisory' and granted")
                .fetch_one(db.reader())
                .await
                .is_ok_and(|n| n == 1)
        }
    })
    .await;
    eprintln!("a new lock holder after {:?} at a {interval:?} interval", killed.elapsed());
    eventually(interval * 3, "evaluations resuming", || {
        let db = observer.clone();
        async move { rows_at(db).await > before }
    })
    .await;
    // The old leader learns at its next cycle that its session is gone.
    eventually(interval * 2, "exactly one replica believing it leads", || {
        let (a, b) = (Arc::clone(&a), Arc::clone(&b));
        async move { u8::from(a.is_leader()) + u8::from(b.is_leader()) == 1 }
    })
    .await;
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn a_reload_with_an_invalid_spec_keeps_the_old_slos() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let specs = SpecDir::new(THREE_SLOS);
    let c = Setup::new(vec![specs.file()]).build(test_db.db.clone());
    std::fs::write(specs.file(), THREE_SLOS.replace("objective: 99.9", "objective: 101")).expect("rewrite");

    let rejected = c.reload();

    let diagnostics = rejected.expect_err("the invalid spec is rejected");
    let first = diagnostics.iter().next().expect("a diagnostic");
    assert!(first.to_string().starts_with(&format!("{}:", specs.file().display())), "{first}");
    assert!(first.line > 0 && first.column > 0);
    let objectives: Vec<String> = c.specs().iter().flat_map(|s| s.slos().map(|o| o.objective.to_string())).collect();
    assert_eq!(objectives, ["99", "99", "99.9"]);
    std::fs::write(
        specs.file(),
        THREE_SLOS.replace("      - id: checkout-latency", "      - id: checkout-latency-p99"),
    )
    .expect("rewrite");
    assert_eq!(c.reload().expect("a valid spec is applied"), 3);
    assert!(c.specs()[0].slo("checkout-latency-p99").is_some());
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let c = Setup::new(vec![fulfillment_slos()]).build(test_db.db.clone());
    let base = serve_api(&c, None).await;

    let doc = get(&format!("{base}/openapi.json")).await;

    assert_eq!(doc.status, StatusCode::OK);
    let paths: Vec<&str> = doc.body["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
    for route in ["/api/v1/journeys", "/api/v1/services", "/api/v1/slos", "/api/v1/slos/{service}/{slo}"] {
        assert!(paths.contains(&route), "{route} missing from {paths:?}");
    }
    assert!(doc.body["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn bad_path_and_query_parameters_are_validation_problems_naming_the_parameter() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let c = Setup::new(vec![fulfillment_slos()]).build(test_db.db.clone());
    let base = serve_api(&c, None).await;
    let cases = [
        ("/api/v1/slos/shop/create-shipment-availability", StatusCode::NOT_FOUND, Some("service")),
        ("/api/v1/slos/fulfillment/no-such-slo", StatusCode::NOT_FOUND, Some("slo")),
        ("/api/v1/slos/Fulfillment/create-shipment-availability", StatusCode::UNPROCESSABLE_ENTITY, Some("service")),
        ("/api/v1/slos/fulfillment/create%20shipment", StatusCode::UNPROCESSABLE_ENTITY, Some("slo")),
        (
            "/api/v1/slos/fulfillment/create-shipment-availability?since=yesterday",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("since"),
        ),
        (
            "/api/v1/slos/fulfillment/create-shipment-availability?since=200d",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("since"),
        ),
        (
            "/api/v1/slos/fulfillment/create-shipment-availability?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("limit"),
        ),
        (
            "/api/v1/slos/fulfillment/create-shipment-availability?colour=red",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("colour"),
        ),
        ("/api/v1/nothing-here", StatusCode::NOT_FOUND, None),
    ];

    for (path, status, field) in cases {
        let r = get(&format!("{base}{path}")).await;

        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{path}");
        assert_eq!(r.body["status"], status.as_u16(), "{path}");
        let expected_type =
            if status == StatusCode::NOT_FOUND { "/problems/not-found" } else { "/problems/validation" };
        assert_eq!(r.body["type"], expected_type, "{path}: {}", r.body);
        assert_eq!(r.body["field"].as_str(), field, "{path}: {}", r.body);
    }
    let ok = get(&format!("{base}/api/v1/slos/fulfillment/create-shipment-availability?since=2h&limit=10")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

async fn journeys_and_services_summarise_the_worst_status_and_the_composite(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let c = Setup::new(vec![fulfillment_slos()]).build(test_db.db.clone());
    let base = serve_api(&c, None).await;
    let now = Timestamp::now();
    // create-shipment-latency spends its whole budget; everything else is clean.
    c.record(now, readings(&c, now, |id| if id == "create-shipment-latency" { 0.02 } else { 0.0 }))
        .await
        .expect("stored");

    let journeys = get(&format!("{base}/api/v1/journeys")).await;
    let services = get(&format!("{base}/api/v1/services")).await;

    let first = &journeys.body[0];
    assert_eq!((first["journey"].as_str(), first["status"].as_str()), (Some("create-shipment"), Some("exhausted")));
    let composite = &first["composite"];
    assert_eq!(composite["id"], "create-shipment");
    assert!((composite["sli"].as_f64().expect("sli") - (2.0 + 0.98) / 3.0).abs() < 1e-9, "{composite}");
    assert_eq!(composite["meets_objective"], true);
    let service = &services.body[0];
    assert_eq!((service["service"].as_str(), service["status"].as_str()), (Some("fulfillment"), Some("exhausted")));
    assert_eq!(service["worst_slo"], "create-shipment-latency");
    assert_eq!(service["by_status"]["exhausted"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_reports_readiness_and_the_controllers_own_metrics() {
    let test_db = TestDb::new(Backend::Sqlite).await;
    let mut running = start(test_db.open().await, vec![fulfillment_slos()], Duration::from_millis(100), "a").await;
    let metrics_url = format!("{}/metrics", running.admin_base);
    let slos: usize =
        slo::spec::load_paths(&[fulfillment_slos()]).expect("app/slos loads").iter().map(|s| s.slos().count()).sum();
    eventually(Duration::from_secs(10), "two cycles", || async {
        let text = crate::support::get(&metrics_url).await.text().await.expect("text");
        text.lines().any(|l| {
            l.strip_prefix("slo_evaluation_duration_seconds_count ")
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n >= 2)
        })
    })
    .await;

    let ready = crate::support::get(format!("{}/readyz", running.admin_base)).await;
    let text = crate::support::get(&metrics_url).await.text().await.expect("text");
    let openmetrics = crate::support::client()
        .get(&metrics_url)
        .header("accept", "application/openmetrics-text")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");

    assert_eq!(ready.status(), StatusCode::OK);
    for family in [
        "slo_evaluation_duration_seconds_count".to_owned(),
        "slo_evaluations_total{status=\"no-data\"}".to_owned(),
        "slo_source_errors_total".to_owned(),
        "slo_controller_leader 1".to_owned(),
        format!("slo_slos {slos}"),
        "process_".to_owned(),
    ] {
        assert!(text.contains(&family), "{family} missing from /metrics:\n{text}");
    }
    assert_eq!(openmetrics.matches("# EOF").count(), 1);
    assert!(openmetrics.trim_end().ends_with("# EOF"));
    let overview = crate::support::get(format!("{}/", running.base)).await.text().await.expect("html");
    assert!(overview.contains("create-shipment-availability") && overview.contains("no-data"));
    running.shutdown().await;
}

/// Report, do not assert: one cycle over 1,000 SLOs from fixed readings (evaluation and the
/// history transaction), on SQLite and PostgreSQL. `cargo test -p slo --test slo
/// one_cycle_for_1000_slos -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn one_cycle_for_1000_slos_from_fixed_readings() {
    let mut text = String::from("service: bench\njourneys:\n");
    for j in 0..100 {
        text.push_str(&format!("  journey-{j}:\n    slos:\n"));
        for s in 0..10 {
            text.push_str(&format!(
                "      - id: slo-{j}-{s}\n        objective: 99.9\n        window: 28d\n        sli:\n          ratio:\n            bad: http_server_request_duration_seconds_count{{journey=\"journey-{j}\", http_response_status_code=~\"5..\"}}\n            total: http_server_request_duration_seconds_count{{journey=\"journey-{j}\"}}\n"
            ));
        }
    }
    let specs = SpecDir::new(&text);
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let test_db = TestDb::new(backend).await;
        let c = Setup { instance: "bench".into(), ..Setup::new(vec![specs.file()]) }.build(test_db.db.clone());
        let mut times = Vec::new();
        for i in 0..5 {
            let now = Timestamp::now() + SignedDuration::from_secs(i);
            let r = readings(&c, now, |_| 0.0005);
            let t = Instant::now();
            assert_eq!(c.record(now, r).await.expect("stored"), 1000);
            times.push(t.elapsed());
        }
        let now = Timestamp::now();
        let r = readings(&c, now, |_| 0.0005);
        let specs = c.specs();
        let t = Instant::now();
        let evaluated: Vec<_> = specs
            .iter()
            .flat_map(|spec| spec.slos().map(move |slo| (spec, slo)))
            .map(|(spec, slo)| slo::eval::evaluate(spec, slo, &r[&spec.key(slo)], now))
            .collect();
        let evaluation_only = t.elapsed();
        assert_eq!(evaluated.len(), 1000);
        eprintln!(
            "{backend:?}: one cycle for 1,000 SLOs (evaluate + store): {times:?}; evaluation alone: {evaluation_only:?}"
        );
    }
}

mod sqlite {
    use super::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_fulfillment_slo_is_listed_as_no_data_without_a_source() {
        super::every_fulfillment_slo_is_listed_as_no_data_without_a_source(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recorded_evaluations_are_listed_worst_budget_first_with_their_history() {
        super::recorded_evaluations_are_listed_worst_budget_first_with_their_history(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn history_beyond_48_hours_is_downsampled_to_one_row_per_10_minutes() {
        super::history_beyond_48_hours_is_downsampled_to_one_row_per_10_minutes(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn journeys_and_services_summarise_the_worst_status_and_the_composite() {
        super::journeys_and_services_summarise_the_worst_status_and_the_composite(Backend::Sqlite).await;
    }
}

mod postgres {
    use super::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_fulfillment_slo_is_listed_as_no_data_without_a_source() {
        super::every_fulfillment_slo_is_listed_as_no_data_without_a_source(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recorded_evaluations_are_listed_worst_budget_first_with_their_history() {
        super::recorded_evaluations_are_listed_worst_budget_first_with_their_history(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn history_beyond_48_hours_is_downsampled_to_one_row_per_10_minutes() {
        super::history_beyond_48_hours_is_downsampled_to_one_row_per_10_minutes(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn journeys_and_services_summarise_the_worst_status_and_the_composite() {
        super::journeys_and_services_summarise_the_worst_status_and_the_composite(Backend::Postgres).await;
    }
}

#[tokio::test]
async fn an_slo_without_a_reading_of_its_own_is_no_data_and_never_takes_another_slos() {
    // Arrange: three SLOs, readings for two of them (the middle one in spec order is missing).
    let test_db = TestDb::new(Backend::Sqlite).await;
    let specs = SpecDir::new(THREE_SLOS);
    let c = Setup::new(vec![specs.file()]).build(test_db.db.clone());
    let now = Timestamp::now();
    let mut answers = readings(&c, now, |id| if id == "search-availability" { 0.02 } else { 0.0 });
    answers.remove(&slo::spec::SloKey::new("shop", "checkout-latency"));

    // Act
    c.record(now, answers).await.expect("stored");

    // Assert
    let current = c.current();
    let status = |slo: &str| current.get(&slo::spec::SloKey::new("shop", slo)).map(|e| (e.status, e.reason.clone()));
    assert_eq!(status("checkout-availability"), Some((Status::Ok, None)));
    assert_eq!(
        status("checkout-latency"),
        Some((Status::NoData, Some("the query failed: the source gave no answer".into())))
    );
    assert_eq!(
        status("search-availability").map(|s| s.0),
        Some(Status::Exhausted),
        "its own reading, not its neighbour's"
    );
}
