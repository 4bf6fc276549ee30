//! What the test modules share: where the crate is, golden-file comparison, the one
//! test-database helper ([`TestDb`]: a fresh SQLite file or PostgreSQL database per test),
//! HTTP clients built as the binary builds them, and controllers built from [`Deps`] and served
//! on port 0.
//!
//! PostgreSQL is `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! trust auth); a test that needs it fails, loudly, when it is unreachable -- it never skips.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use platform::Db;
pub use platform::db::Backend;
use platform::tls::Tls;
use slo::alert::Settings;
use slo::controller::{Config, Controller, Deps};
use slo::maintenance::ServiceEndpoint;
use slo::source::{Counts, Query, Reading, Readings, Source};
use tokio::net::TcpListener;

/// The `slo` crate's directory.
pub fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace root (for `app/slos`).
pub fn workspace() -> PathBuf {
    crate_dir().parent().expect("the crate is inside the workspace").to_path_buf()
}

/// Compares `actual` with `tests/golden/<dir>/<name>`, or rewrites the file when `KURA_BLESS=1`.
pub fn assert_golden(dir: &str, name: &str, actual: &str) {
    let path: PathBuf = crate_dir().join("tests/golden").join(dir).join(name);
    if std::env::var("KURA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the golden directory can be created");
        std::fs::write(&path, actual).expect("the golden file can be written");
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (KURA_BLESS=1 creates it)", path.display()));
    assert!(
        expected == actual,
        "{} differs from the generated output (- golden, + generated; KURA_BLESS=1 rewrites it):\n{}",
        path.display(),
        diff(&expected, actual)
    );
}

/// A line diff (longest common subsequence) with two lines of context around each change.
pub fn diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| ops[k.saturating_sub(2)..(k + 3).min(ops.len())].iter().any(|(op, _)| *op != ' ');
    let mut out = String::new();
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{op} {line}\n"));
        } else if !out.ends_with("...\n") {
            out.push_str("...\n");
        }
    }
    out
}

/// A name no other test (or test process) uses.
pub fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{:x}_{}_{}", Timestamp::now().as_nanosecond(), std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A database of its own for one test, opened and migrated; removed (file or database) when
/// dropped.
#[derive(Debug)]
pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

/// The PostgreSQL server tests use.
pub fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn admin_pool(url: &str) -> Result<sqlx::AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await
}

impl TestDb {
    /// A fresh database on `backend`; panics, naming the server, when PostgreSQL is unreachable.
    pub async fn new(backend: Backend) -> TestDb {
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("kura-slo-test-{}.db", unique()));
                (format!("sqlite://{}", path.display()), Cleanup::File(path))
            }
            Backend::Postgres => {
                let admin_url = postgres_url();
                let name = format!("kura_slo_test_{}", unique());
                let admin = admin_pool(&admin_url).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin_url} is unreachable ({e}): start it or point TEST_POSTGRES_URL at one")
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .execute(&admin)
                    .await
                    .expect("create the test database");
                admin.close().await;
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_owned();
                (format!("{base}/{name}"), Cleanup::Database { admin_url, name })
            }
        };
        let db = slo::store::open(&url).await.expect("open and migrate the test database");
        TestDb { db, url, cleanup }
    }

    /// Another handle on the same database, as a second replica or a restarted controller opens it.
    pub async fn open(&self) -> Db {
        slo::store::open(&self.url).await.expect("open the test database again")
    }

    /// Closes this handle and opens the same database again, as a restarted process would.
    pub async fn reopen(mut self) -> TestDb {
        self.db.close().await;
        self.db = self.open().await;
        self
    }

    /// The SQLite file, if it is one.
    pub fn sqlite_file(&self) -> Option<&Path> {
        match &self.cleanup {
            Cleanup::File(path) => Some(path),
            Cleanup::Database { .. } => None,
        }
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
                            let drop = format!("drop database if exists {name} with (force)");
                            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await;
                            admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A directory of spec files, removed when dropped.
#[derive(Debug)]
pub struct SpecDir(pub PathBuf);

impl SpecDir {
    /// `text` as `shop.yaml` in a directory of its own.
    pub fn new(text: &str) -> SpecDir {
        let dir = std::env::temp_dir().join(format!("kura-slo-specs-{}", unique()));
        std::fs::create_dir_all(&dir).expect("spec dir");
        std::fs::write(dir.join("shop.yaml"), text).expect("spec file");
        SpecDir(dir)
    }

    pub fn file(&self) -> PathBuf {
        self.0.join("shop.yaml")
    }
}

impl Drop for SpecDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// TLS as the binary sets it up without `--ca-bundle`: the system's roots.
pub fn tls() -> Tls {
    Tls::new(None).expect("the system's root certificates")
}

/// An HTTP client as the binary builds them (reqwest has no TLS provider of its own).
pub fn client() -> reqwest::Client {
    tls().client().build().expect("an HTTP client")
}

/// `GET url` with [`client`].
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Response {
    client().get(url).send().await.expect("the request is answered")
}

/// What a controller in a test is built from, beside its database; [`Setup::build`] makes the
/// [`Deps`] as `main` does.
#[derive(Debug)]
pub struct Setup {
    pub slos: Vec<PathBuf>,
    pub source: Source,
    pub interval: Duration,
    pub instance: String,
    pub alerting: Settings,
    pub service_maintenance: Vec<ServiceEndpoint>,
    /// The client for receivers and maintenance endpoints ([`client`] unless set).
    pub http: Option<reqwest::Client>,
    pub external_url: String,
}

impl Setup {
    /// No source, no receivers, a 30 s interval.
    pub fn new(slos: Vec<PathBuf>) -> Setup {
        Setup {
            slos,
            source: Source::None,
            interval: Duration::from_secs(30),
            instance: "test".into(),
            alerting: Settings::default(),
            service_maintenance: Vec::new(),
            http: None,
            external_url: slo::spec::DEFAULT_EXTERNAL_URL.into(),
        }
    }

    /// The same with `http` as the client for receivers and maintenance endpoints.
    pub fn with_http(self, http: reqwest::Client) -> Setup {
        Setup { http: Some(http), ..self }
    }

    pub fn build(self, db: Db) -> Arc<Controller> {
        let specs = slo::spec::load_paths(&self.slos).expect("valid specs");
        Arc::new(Controller::new(Deps {
            db,
            specs,
            source: self.source,
            config: Config {
                slos: self.slos,
                interval: self.interval,
                instance: self.instance,
                external_url: self.external_url,
            },
            alerting: self.alerting,
            service_maintenance: self.service_maintenance,
            http: self.http.unwrap_or_else(client),
            telemetry: telemetry::Metrics::new(),
        }))
    }
}

/// The controller's public router (API and dashboard, no evaluation loop) on port 0, with
/// `token` as its API token; returns the base URL. Tests drive `Controller::record` themselves.
pub async fn serve_api(c: &Arc<Controller>, token: Option<&str>) -> String {
    let config = slo::server::ApiConfig { api_token: token.map(platform::auth::ApiToken::new), github: None };
    let router = slo::server::public_router(Arc::clone(c), &config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// A whole controller as `slo controller` serves it (API, admin listener, evaluation loop,
/// outbox delivery) on port 0.
#[derive(Debug)]
pub struct Running {
    pub base: String,
    pub admin_base: String,
    pub controller: Arc<Controller>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub async fn start(controller: Arc<Controller>, token: Option<&str>) -> Running {
        let config = slo::server::ApiConfig { api_token: token.map(platform::auth::ApiToken::new), github: None };
        Running::start_with(controller, config).await
    }

    /// [`Running::start`] with a whole API configuration (a GitHub App, say).
    pub async fn start_with(controller: Arc<Controller>, config: slo::server::ApiConfig) -> Running {
        let public = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", public.local_addr().expect("addr"));
        let admin_base = format!("http://{}", admin.local_addr().expect("addr"));
        let listeners = slo::server::Listeners {
            public,
            admin,
            public_limits: platform::serve::PUBLIC_LIMITS,
            admin_limits: platform::serve::ADMIN_LIMITS,
            drain: Duration::from_secs(2),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(slo::server::run(Arc::clone(&controller), listeners, config, async move {
            let _ = stopped.await;
        }));
        Running { base, admin_base, controller, stop: Some(stop), server: Some(server) }
    }

    /// Stops it as SIGTERM does and waits until it has.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("the server task").expect("the server stops cleanly");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what} did not happen within {within:?}");
}

/// A reading for every SLO of `c`'s specs, under its key: 1,000 events an hour over every range
/// its query asks for, `bad(slo id, range)` of them bad.
pub fn readings(c: &Controller, now: Timestamp, bad: impl Fn(&str, SignedDuration) -> f64) -> Readings {
    let specs = c.specs();
    specs
        .iter()
        .flat_map(|spec| spec.slos().map(move |slo| (spec, slo)))
        .map(|(spec, slo)| {
            let ranges = Query::for_slo(spec, slo, now)
                .ranges
                .iter()
                .map(|r| {
                    let total = 1000.0 * r.as_secs_f64() / 3600.0;
                    (*r, Counts { good: total * (1.0 - bad(&slo.id, *r)), total })
                })
                .collect();
            (spec.key(slo), Ok(Reading { ranges }))
        })
        .collect()
}

/// What every imported spec must do: read back equal from its native YAML (so `slo lint`
/// passes it), generate Prometheus rules natively and with `--compat sloth`, and pass
/// `promtool check rules` with both. `name` names the scratch directory.
pub fn assert_imported_specs_are_usable(name: &str, specs: &[slo::spec::Spec]) {
    assert!(!specs.is_empty(), "{name}: nothing imported");
    for spec in specs {
        let text = slo::spec::to_yaml(spec);
        let mut back =
            slo::spec::load_str(Path::new("imported.yaml"), &text).unwrap_or_else(|d| panic!("{name}: {d}\n{text}"));
        back.source = spec.source.clone();
        assert_eq!(&back, spec, "{name}: the imported spec reads back the same");
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("import-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let native = slo::generate::prometheus::generate(specs).unwrap_or_else(|e| panic!("{name}: {e}"));
    let sloth = slo::generate::prometheus::generate_with(specs, Some(slo::generate::Compat::Sloth))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    std::fs::write(dir.join("native.yaml"), native).expect("write");
    std::fs::write(dir.join("sloth.yaml"), sloth).expect("write");
    let out = std::process::Command::new("promtool")
        .args(["check", "rules", "native.yaml", "sloth.yaml"])
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run promtool ({e}): install Debian's `prometheus` package (.ci/run does)"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.matches("SUCCESS").count() == 2, "{name}: promtool check rules:\n{text}");
}
