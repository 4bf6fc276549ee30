//! `spawn_app`: a real fulfillment server on port 0 against a fresh database (a new SQLite
//! file, or a new PostgreSQL database on `TEST_POSTGRES_URL`), seeded, with request helpers.

use std::net::SocketAddr;
use std::time::Duration;

use fulfillment::db::{DEFAULT_SLOW_STATEMENT, Db, seed};
use fulfillment::server::{self, ServeConfig};
use rand::RngExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL tests go. Unreachable is a failure, never a silent skip; set
/// `TEST_POSTGRES_URL=disabled` to turn them off explicitly.
pub fn postgres_admin_url() -> Option<String> {
    let url =
        std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    (url != "disabled").then_some(url)
}

#[derive(Debug)]
pub struct TestApp {
    pub base: String,
    /// The admin listener (`/metrics`, `/readyz`, ...).
    pub admin_base: String,
    /// The database URL, for reconnecting after a shutdown closed the pool.
    pub url: String,
    pub db: Db,
    pub http: reqwest::Client,
    pub seeded: seed::Seeded,
    pub warehouse_id: i64,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
    None,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

/// Starts a seeded app, or `None` when PostgreSQL tests were explicitly disabled.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, false).await
}

pub async fn spawn_app_with(backend: Backend, jobs: bool) -> Option<TestApp> {
    spawn_app_configured(backend, jobs, fulfillment::http::DEFAULT_MAX_IN_FLIGHT).await
}

static TELEMETRY: std::sync::OnceLock<Option<telemetry::Guard>> = std::sync::OnceLock::new();

/// The process-wide telemetry, installed once for all tests: logs at `error` unless RUST_LOG
/// says otherwise, the database layer behind `db_client_*`, and traces exported to the
/// in-process OTLP receiver (`crate::otlp`).
fn telemetry() {
    TELEMETRY.get_or_init(|| {
        telemetry::init(&telemetry::Config {
            service_name: "fulfillment-test",
            default_filter: "error",
            otlp_traces_endpoint: Some(crate::otlp::receiver()),
            otlp_client: tls().blocking_client().expect("OTLP client"),
            // Every trace: these tests look for the spans of ordinary requests.
            sampling: telemetry::sampling::Sampling { tail: true, keep_ratio: 1.0 },
        })
        .ok()
    });
}

/// The TLS roots every test client is built with.
pub fn tls() -> platform::tls::Tls {
    platform::tls::Tls::new(None).expect("system TLS roots")
}

/// An HTTP client for the service under test.
pub fn http_client() -> reqwest::Client {
    tls().client().build().expect("HTTP client")
}

/// Exports every finished span now.
pub fn flush_spans() {
    if let Some(Some(guard)) = TELEMETRY.get() {
        guard.flush();
    }
}

pub async fn spawn_app_configured(backend: Backend, jobs: bool, max_in_flight: usize) -> Option<TestApp> {
    spawn_app_tuned(backend, |config| {
        config.jobs = jobs;
        config.max_in_flight = max_in_flight;
    })
    .await
}

/// A seeded app whose serving configuration `tune` adjusts (limits, timeouts, jobs).
pub async fn spawn_app_tuned(backend: Backend, tune: impl FnOnce(&mut ServeConfig)) -> Option<TestApp> {
    telemetry();
    let suffix: u64 = rand::rng().random();
    let (url, cleanup) = match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("kura-test-{suffix:016x}.db"));
            (format!("sqlite://{}", path.display()), Cleanup::File(path))
        }
        Backend::Postgres => {
            let Some(admin_url) = postgres_admin_url() else {
                eprintln!("PostgreSQL tests disabled by TEST_POSTGRES_URL=disabled");
                return None;
            };
            let name = format!("kura_test_{suffix:016x}");
            let admin = fulfillment::db::connect(&admin_url, DEFAULT_SLOW_STATEMENT).await.unwrap_or_else(|e| {
                panic!("PostgreSQL at {admin_url} is unreachable ({e}); start it or set TEST_POSTGRES_URL=disabled")
            });
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                .execute(admin.reader())
                .await
                .expect("create test database");
            admin.close().await;
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_owned();
            (format!("{base}/{name}"), Cleanup::Database { admin_url, name })
        }
    };
    let db = fulfillment::db::open(&url, DEFAULT_SLOW_STATEMENT).await.expect("open and migrate the test database");
    let db_url = url.clone();
    let seeded = seed::run(&db).await.expect("seed");
    let public = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = public.local_addr().expect("addr");
    let admin_addr: SocketAddr = admin.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let mut config = ServeConfig::new(addr, admin_addr);
    config.drain = Duration::from_secs(10);
    tune(&mut config);
    let server = tokio::spawn(server::run(db.clone(), public, admin, config, async move {
        let _ = stopped.await;
    }));
    let warehouse_id = seeded.warehouse_id;
    Some(TestApp {
        base: format!("http://{addr}"),
        admin_base: format!("http://{admin_addr}"),
        url: db_url,
        db,
        http: http_client(),
        seeded,
        warehouse_id,
        stop: Some(stop),
        server: Some(server),
        cleanup,
    })
}

impl TestApp {
    pub fn admin_token(&self) -> String {
        self.seeded.admin_token.clone()
    }

    pub fn warehouse_token(&self) -> String {
        self.seeded.warehouse_token.clone()
    }

    /// `acme` allows backorders; `sakura` does not.
    pub fn shipper_token(&self, code: &str) -> String {
        self.seeded
            .shipper_tokens
            .iter()
            .find(|(c, _, _)| c == code)
            .map(|(_, _, t)| t.clone())
            .expect("seeded shipper")
    }

    pub async fn request(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
        self.send(method, path, token, body, &[]).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Response { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// A shipment of `lines` (item code, quantity) for `token`'s shipper.
    pub async fn create_shipment(&self, token: &str, identifier: &str, lines: &[(&str, i64)]) -> Response {
        self.post("/v1/shipments", token, shipment_body(self.warehouse_id, identifier, lines)).await
    }

    /// Stock of one item in the seeded warehouse, as the shipper API reports it.
    pub async fn stock(&self, token: &str, item_code: &str) -> Value {
        let r = self.get(&format!("/v1/stock?item_code={item_code}"), token).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r.body
            .as_array()
            .and_then(|a| a.iter().find(|s| s["warehouse_id"] == self.warehouse_id).cloned())
            .expect("stock row")
    }

    /// Every stock row's on-hand equals the sum of its ledger entries.
    pub async fn assert_ledger_balances(&self) {
        let mismatches = fulfillment::db::stock::ledger_mismatches(&self.db).await.expect("reconcile");
        assert!(mismatches.is_empty(), "on-hand differs from the ledger: {mismatches:?}");
    }

    /// Ledger entries of `kind` for a shipment or inbound reference column.
    pub async fn ledger_sum(&self, kind: &str, column: &str, id: i64) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select cast(coalesce(sum(quantity), 0) as bigint) from stock_ledger where kind = $1 and {column} = $2"
        )))
        .bind(kind)
        .bind(id)
        .fetch_one(self.db.reader())
        .await
        .expect("ledger sum")
    }

    pub async fn ledger_count(&self, kind: &str, column: &str, id: i64) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from stock_ledger where kind = $1 and {column} = $2"
        )))
        .bind(kind)
        .bind(id)
        .fetch_one(self.db.reader())
        .await
        .expect("ledger count")
    }

    pub async fn billing(&self, token: &str, kind: &str) -> i64 {
        let r = self.get("/v1/billing/summary", token).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r.body["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .find(|l| l["kind"] == kind)
            .map_or(0, |l| l["quantity"].as_i64().unwrap_or(0))
    }

    /// Stops the server gracefully and waits for the drain.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match std::mem::replace(&mut self.cleanup, Cleanup::None) {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                // Drop runs inside the test's runtime; do the async cleanup on a thread of its own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                        return;
                    };
                    rt.block_on(async {
                        if let Ok(admin) = fulfillment::db::connect(&admin_url, DEFAULT_SLOW_STATEMENT).await {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "drop database if exists {name} with (force)"
                            )))
                            .execute(admin.reader())
                            .await;
                            admin.close().await;
                        }
                    });
                })
                .join();
            }
            Cleanup::None => {}
        }
    }
}

pub fn shipment_body(warehouse_id: i64, identifier: &str, lines: &[(&str, i64)]) -> Value {
    json!({
        "identifier": identifier,
        "warehouse_id": warehouse_id,
        "recipient": {
            "name": "山田 太郎",
            "postal_code": "150-0001",
            "prefecture": "東京都",
            "address1": "渋谷区神宮前1-2-3",
            "phone": "03-1234-5678"
        },
        "delivery_carrier": "yamato",
        "lines": lines.iter().map(|(code, q)| json!({"item_code": code, "quantity": q})).collect::<Vec<_>>()
    })
}

/// Generates one `#[tokio::test]` per backend for each named scenario `async fn NAME(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}
