//! What the alerting tests share: a fresh database per test, the test spec and hand-built
//! evaluations of it, a recording HTTP receiver, and a controller API on port 0.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use jiff::{SignedDuration, Timestamp};
use slo::alert::{Notification, Receiver, Secret, Settings};
use slo::eval::{Evaluation, Status, TierBurn};
use slo::spec::Specs;
use slo::store::Db;
use tokio::net::TcpListener;

pub const SPEC: &str = r#"
service: shop
labels: { team: checkout-team }
dashboard: https://grafana.example/d/{slo}
journeys:
  checkout:
    slos:
      - id: checkout-availability
        objective: 99
        window: 30d
        alerting:
          no_data: 10m
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="checkout", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="checkout"}
"#;

pub fn spec() -> Specs {
    vec![slo::spec::load_str(std::path::Path::new("shop.yaml"), SPEC).expect("the test spec is valid")]
}

/// The first simulated cycle: an hour ago, so that every later cycle a test simulates is
/// still in the past when the outbox (on the real clock) looks for due rows.
pub fn start() -> Timestamp {
    Timestamp::now().checked_sub(SignedDuration::from_hours(1)).expect("timestamp")
}

/// `n` evaluation intervals (30 s) after `t`.
pub fn cycle(t: Timestamp, n: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(30 * n)).expect("timestamp")
}

/// The test SLO at `at` with the named tiers firing (the four default tiers are reported; a
/// `no-data` evaluation has no burn rates, as when the source failed).
pub fn evaluation(at: Timestamp, status: Status, firing: &[&str], in_maintenance: bool) -> Evaluation {
    let tiers = [
        ("fast-page", "page", "1h", "5m", "14.4"),
        ("slow-page", "page", "6h", "30m", "6"),
        ("fast-ticket", "ticket", "1d", "2h", "3"),
        ("slow-ticket", "ticket", "3d", "6h", "1"),
    ];
    let burn_rates = if status == Status::NoData {
        Vec::new()
    } else {
        tiers
            .iter()
            .map(|&(tier, severity, long, short, threshold)| {
                let on = firing.contains(&tier);
                TierBurn {
                    tier: tier.into(),
                    severity: severity.into(),
                    long_window: long.into(),
                    short_window: short.into(),
                    long_burn_rate: Some(if on { 50.0 } else { 0.5 }),
                    short_burn_rate: Some(if on { 60.0 } else { 0.4 }),
                    threshold: threshold.into(),
                    firing: on,
                }
            })
            .collect()
    };
    Evaluation {
        service: "shop".into(),
        journey: "checkout".into(),
        slo: "checkout-availability".into(),
        evaluated_at: at,
        status,
        reason: (status == Status::NoData).then(|| "the source is unreachable".into()),
        sli: (status != Status::NoData).then_some(0.99),
        budget_remaining: (status != Status::NoData).then_some(0.5),
        budget_consumed: (status != Status::NoData).then_some(0.5),
        burn_rates,
        time_to_exhaustion_seconds: None,
        in_maintenance,
    }
}

/// The fast page firing.
pub fn burning(at: Timestamp) -> Evaluation {
    evaluation(at, Status::Burning, &["fast-page"], false)
}

/// One request a [`Sink`] received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

/// A receiver on port 0 that records every request and answers 500 to the first `fail_first`.
#[derive(Debug, Clone)]
pub struct Sink {
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Sink {
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }

    /// The bodies, read as notifications (generic webhook only).
    pub fn notifications(&self) -> Vec<Notification> {
        self.requests().iter().map(|r| serde_json::from_slice(&r.body).expect("a notification")).collect()
    }
}

pub async fn sink(fail_first: usize) -> Sink {
    let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
    let failures = Arc::new(AtomicUsize::new(fail_first));
    let recorded = Arc::clone(&requests);
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let recorded = Arc::clone(&recorded);
        let failures = Arc::clone(&failures);
        async move {
            recorded.lock().expect("lock").push(Recorded { path: uri.path().into(), headers, body: body.to_vec() });
            let fail = failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
            if fail { (StatusCode::INTERNAL_SERVER_ERROR, "down") } else { (StatusCode::ACCEPTED, "ok") }
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Sink { base, requests }
}

/// A signed generic webhook to `sink`, with retries fast enough for a test.
pub fn webhook_settings(sink: &Sink) -> Settings {
    Settings {
        receivers: vec![Receiver::Webhook {
            url: format!("{}/hooks/kura", sink.base),
            secret: Some(Secret(super::SECRET.into())),
        }],
        retry_base: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        ..Settings::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test; dropped (file or database) with it.
#[derive(Debug)]
pub struct TestDb {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{:x}_{}_{}", Timestamp::now().as_nanosecond(), std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

async fn admin_pool(url: &str) -> Result<sqlx::AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await
}

impl TestDb {
    /// A fresh database, or `None` when `TEST_POSTGRES_URL=disabled` turns PostgreSQL off.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("kura-slo-alert-{}.db", unique()));
                Some(TestDb { url: format!("sqlite://{}?mode=rwc", path.display()), cleanup: Cleanup::File(path) })
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                if admin_url == "disabled" {
                    eprintln!("PostgreSQL tests disabled by TEST_POSTGRES_URL=disabled");
                    return None;
                }
                let name = format!("kura_slo_alert_{}", unique());
                let admin = admin_pool(&admin_url).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin_url} is unreachable ({e}); start it or set TEST_POSTGRES_URL=disabled")
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_owned();
                Some(TestDb { url: format!("{base}/{name}"), cleanup: Cleanup::Database { admin_url, name } })
            }
        }
    }

    pub async fn open(&self) -> Db {
        Db::open(&self.url).await.expect("open and migrate the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: clean up on a thread of its own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                    rt.block_on(async {
                        if let Ok(admin) = admin_pool(&admin_url).await {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "drop database if exists {name} with (force)"
                            )))
                            .execute(&admin)
                            .await;
                            admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// The controller's API on port 0, with `token` as its API token.
#[derive(Debug)]
pub struct Api {
    pub base: String,
    _db: TestDb,
    _dir: PathBuf,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

pub async fn api(token: &str) -> Api {
    let test = TestDb::new(Backend::Sqlite).await.expect("sqlite");
    let dir = std::env::temp_dir().join(format!("kura-slo-alert-specs-{}", unique()));
    std::fs::create_dir_all(&dir).expect("spec dir");
    std::fs::write(dir.join("shop.yaml"), SPEC).expect("spec file");
    let config =
        slo::controller::Config { slos: vec![dir.clone()], interval: Duration::from_secs(30), instance: "test".into() };
    let c =
        slo::controller::Controller::new(test.open().await, slo::source::Source::None, config).expect("valid specs");
    c.set_alerting(Settings { api_token: Some(Secret(token.into())), ..Settings::default() });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = slo::api::router(Arc::new(c));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Api { base, _db: test, _dir: dir }
}
