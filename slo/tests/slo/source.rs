//! The SLI sources against real things: a real Prometheus (Debian's `/usr/bin/prometheus`,
//! started on a free port with a temporary TSDB) scraping a fixture target every second, the
//! embedded scraper scraping the same fixture, and the scraper's storage on SQLite and on
//! PostgreSQL (a fresh database per test, see [`support::TestDb`]).
//!
//! Tolerances: PromQL's `increase()` extrapolates to the range's edges by up to one scrape
//! interval, so Prometheus's counts are within 10% of what the fixture served after 15s of
//! samples at 1s; the error ratio, where the extrapolation cancels out, within 0.005. The
//! scraper and Prometheus start counting at different scrapes, so their totals differ by a few
//! scrapes' worth of traffic; their error ratios (what the budget depends on) agree within 0.01.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use slo::source::prometheus::{PrometheusConfig, PrometheusSource};
use slo::source::scrape::{ScrapeConfig, ScrapeSource};
use slo::source::{Counts, Query, Reading, Source, SourceError};
use slo::spec::{Counting, Selector, Sli, Threshold};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::fixtures;
use crate::support::{self, Backend, TestDb};

// ---------------------------------------------------------------------------------------------
// The fixture target: a counter and a histogram whose values the test controls.

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Traffic {
    pub(crate) ok: u64,
    pub(crate) errors: u64,
    /// Requests at or under 0.3s.
    pub(crate) fast: u64,
    /// Requests over 0.3s and at or under 1s.
    pub(crate) slow: u64,
}

pub(crate) struct Fixture {
    url: String,
    addr: SocketAddr,
    pub(crate) traffic: Arc<Mutex<Traffic>>,
    server: JoinHandle<()>,
    load: Option<JoinHandle<()>>,
}

impl Fixture {
    pub(crate) async fn start() -> Fixture {
        let traffic = Arc::new(Mutex::new(Traffic::default()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fixture");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new().route("/metrics", get(metrics)).with_state(traffic.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fixture serves");
        });
        Fixture { url: format!("http://{addr}/metrics"), addr, traffic, server, load: None }
    }

    fn add(&self, ok: u64, errors: u64, fast: u64, slow: u64) {
        let mut t = self.traffic.lock().expect("lock");
        t.ok += ok;
        t.errors += errors;
        t.fast += fast;
        t.slow += slow;
    }

    fn set(&self, traffic: Traffic) {
        *self.traffic.lock().expect("lock") = traffic;
    }

    /// 100 requests a second: 10% errors, 20% slower than 0.3s.
    fn start_load(&mut self) {
        let traffic = self.traffic.clone();
        self.load = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                let mut t = traffic.lock().expect("lock");
                t.ok += 9;
                t.errors += 1;
                t.fast += 8;
                t.slow += 2;
            }
        }));
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(l) = &self.load {
            l.abort();
        }
    }
}

/// OpenMetrics (with `_created`, exemplars and `# EOF`) when asked for, Prometheus text otherwise.
async fn metrics(State(traffic): State<Arc<Mutex<Traffic>>>, headers: HeaderMap) -> impl IntoResponse {
    let t = *traffic.lock().expect("lock");
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let all = t.fast + t.slow;
    if accept.contains("application/openmetrics-text") {
        let body = format!(
            "# TYPE http_requests counter\n\
             http_requests_total{{code=\"200\"}} {}\n\
             http_requests_created{{code=\"200\"}} 1700000000.0\n\
             http_requests_total{{code=\"500\"}} {} # {{trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"}} 1.0\n\
             http_requests_created{{code=\"500\"}} 1700000000.0\n\
             # TYPE http_request_duration_seconds histogram\n\
             http_request_duration_seconds_bucket{{le=\"0.3\"}} {} # {{trace_id=\"00f067aa0ba902b7\"}} 0.1\n\
             http_request_duration_seconds_bucket{{le=\"1.0\"}} {all}\n\
             http_request_duration_seconds_bucket{{le=\"+Inf\"}} {all}\n\
             http_request_duration_seconds_count {all}\n\
             http_request_duration_seconds_sum 0.0\n\
             # EOF\n",
            t.ok, t.errors, t.fast
        );
        ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
    } else {
        let body = format!(
            "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
             http_requests_total{{code=\"200\"}} {}\n\
             http_requests_total{{code=\"500\"}} {}\n\
             # TYPE http_request_duration_seconds histogram\n\
             http_request_duration_seconds_bucket{{le=\"0.3\"}} {}\n\
             http_request_duration_seconds_bucket{{le=\"1\"}} {all}\n\
             http_request_duration_seconds_bucket{{le=\"+Inf\"}} {all}\n\
             http_request_duration_seconds_count {all}\n\
             http_request_duration_seconds_sum 0\n",
            t.ok, t.errors, t.fast
        );
        ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
    }
}

// ---------------------------------------------------------------------------------------------
// A real Prometheus scraping the fixture every second.

const PROMETHEUS: &str = "/usr/bin/prometheus";

pub(crate) struct Prometheus {
    pub(crate) url: String,
    child: Child,
    dir: PathBuf,
}

impl Prometheus {
    pub(crate) async fn start(fixture: &Fixture) -> Prometheus {
        Prometheus::start_on(fixture, free_port()).await
    }

    /// A Prometheus on `port` (a restarted one keeps its address; its TSDB starts empty).
    pub(crate) async fn start_on(fixture: &Fixture, port: u16) -> Prometheus {
        assert!(
            std::path::Path::new(PROMETHEUS).exists(),
            "{PROMETHEUS} is missing: these tests need a real Prometheus (apt-get install prometheus)"
        );
        let dir = temp_path("prometheus");
        std::fs::create_dir_all(&dir).expect("create the Prometheus directory");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: fixture\n    static_configs:\n      - targets: ['{}']\n",
            fixture.addr
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("write the Prometheus config");
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("create the log");
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {PROMETHEUS}: {e}"));
        let prometheus = Prometheus { url: format!("http://127.0.0.1:{port}"), child, dir };
        let client = support::client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client.get(format!("{}/-/ready", prometheus.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(Instant::now() < deadline, "Prometheus did not become ready; see {}", prometheus.log());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        prometheus
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// Waits until Prometheus holds `samples` scrapes of the fixture.
    pub(crate) async fn wait_for_samples(&self, samples: u64) {
        let client = support::client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body: serde_json::Value = client
                .get(format!("{}/api/v1/query", self.url))
                .query(&[("query", r#"count_over_time(http_requests_total{code="200"}[10m])"#)])
                .send()
                .await
                .expect("query Prometheus")
                .json()
                .await
                .expect("a JSON answer");
            let have = body["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            if have >= samples {
                return;
            }
            assert!(Instant::now() < deadline, "Prometheus has {have} samples, wanted {samples}; {}", self.log());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

pub(crate) fn temp_path(what: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_nanos();
    std::env::temp_dir().join(format!(
        "kura-slo-{what}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

// ---------------------------------------------------------------------------------------------
// SLIs over the fixture's metrics.

fn selector(text: &str) -> Selector {
    Selector::parse(text).expect("a valid selector")
}

fn availability() -> Sli {
    Sli::Ratio {
        counting: Counting::Bad,
        numerator: selector(r#"http_requests_total{code=~"5.."}"#),
        total: selector("http_requests_total"),
    }
}

fn latency(threshold: Decimal) -> Sli {
    Sli::Latency { histogram: selector("http_request_duration_seconds"), threshold: Threshold { seconds: threshold } }
}

fn query(slo: &str, sli: Sli, ranges: &[SignedDuration]) -> Query {
    Query { key: slo::spec::SloKey::new("fixture", slo), sli, ranges: ranges.to_vec() }
}

fn prometheus_source(url: &str) -> PrometheusSource {
    PrometheusSource::new(PrometheusConfig::new(url), &support::tls()).expect("a valid configuration")
}

fn counts(result: &Result<Reading, SourceError>, range: SignedDuration) -> Counts {
    let reading = result.as_ref().unwrap_or_else(|e| panic!("expected a reading, got {e}"));
    *reading.ranges.get(&range).unwrap_or_else(|| panic!("no data for {range:?} in {reading:?}"))
}

fn within(actual: f64, expected: f64, relative: f64) -> bool {
    (actual - expected).abs() <= expected.abs() * relative
}

const MINUTE: SignedDuration = SignedDuration::from_mins(1);

// ---------------------------------------------------------------------------------------------
// The PromQL source against a real Prometheus.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_promql_source_returns_the_counts_the_fixture_served_over_a_range() {
    // Arrange: Prometheus has seen the counters at zero, then 500 requests (50 errors, 100 slow).
    let fixture = Fixture::start().await;
    let prometheus = Prometheus::start(&fixture).await;
    prometheus.wait_for_samples(3).await;
    fixture.add(450, 50, 400, 100);
    tokio::time::sleep(Duration::from_secs(15)).await;
    let source = prometheus_source(&prometheus.url);
    let queries = [
        query("availability", availability(), &[MINUTE]),
        query("latency", latency(Decimal::new(3, 1)), &[MINUTE]),
        query("latency-1s", latency(Decimal::ONE), &[MINUTE]),
    ];

    // Act
    let results = source.read(&queries, Timestamp::now()).await;

    // Assert: increase() extrapolates by at most one scrape interval over 15s or more of samples.
    let a = counts(&results[0], MINUTE);
    assert!(within(a.total, 500.0, 0.1) && within(a.good, 450.0, 0.1), "availability: {a:?}");
    assert!((a.error_ratio().expect("events") - 0.1).abs() < 0.005, "availability: {a:?}");
    let l = counts(&results[1], MINUTE);
    assert!(within(l.total, 500.0, 0.1) && within(l.good, 400.0, 0.1), "latency: {l:?}");
    assert!((l.error_ratio().expect("events") - 0.2).abs() < 0.005, "latency: {l:?}");
    // A whole-second bound matches however the exposition wrote it (`1` or `1.0`).
    let whole = counts(&results[2], MINUTE);
    assert!(whole.total > 0.0 && whole.good == whole.total, "latency at 1s: {whole:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_slos_over_three_ranges_cost_one_query_per_range_and_chunk() {
    // Arrange: 200 distinct SLOs (each excludes a label value no series has) with three ranges.
    let mut fixture = Fixture::start().await;
    fixture.start_load();
    let prometheus = Prometheus::start(&fixture).await;
    prometheus.wait_for_samples(5).await;
    let source = prometheus_source(&prometheus.url);
    let ranges = [SignedDuration::from_mins(5), SignedDuration::from_mins(30), SignedDuration::from_hours(1)];
    let queries: Vec<Query> = (0..200)
        .map(|i| {
            let sli = Sli::Ratio {
                counting: Counting::Bad,
                numerator: selector(&format!(r#"http_requests_total{{code=~"5..", slo!="{i}"}}"#)),
                total: selector(&format!(r#"http_requests_total{{slo!="{i}"}}"#)),
            };
            query(&format!("slo-{i}"), sli, &ranges)
        })
        .collect();

    // Act
    let before = source.queries_issued();
    let results = source.read(&queries, Timestamp::now()).await;
    let issued = source.queries_issued() - before;

    // Assert: 100 SLOs per chunk, so two requests per range, six in all; every SLO answered.
    assert!(issued <= 6, "{issued} requests for 200 SLOs × 3 ranges");
    for (q, r) in queries.iter().zip(&results) {
        for range in ranges {
            let c = counts(r, range);
            assert!(c.total > 0.0 && (c.error_ratio().expect("events") - 0.1).abs() < 0.02, "{}: {c:?}", q.key.slo);
        }
    }
    eprintln!("200 SLOs × 3 ranges: {issued} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_slo_whose_query_fails_fails_alone() {
    // Arrange: ten SLOs, one of them raw PromQL that does not parse, one valid raw PromQL.
    let mut fixture = Fixture::start().await;
    fixture.start_load();
    let prometheus = Prometheus::start(&fixture).await;
    prometheus.wait_for_samples(10).await;
    let source = prometheus_source(&prometheus.url);
    let mut queries: Vec<Query> = (0..8).map(|i| query(&format!("ok-{i}"), availability(), &[MINUTE])).collect();
    let broken = Sli::Promql {
        counting: Counting::Bad,
        numerator: r#"sum(rate(http_requests_total{code=~"5.."}[{{.window}}])"#.into(),
        total: "sum(rate(http_requests_total[{{.window}}]))".into(),
    };
    queries.insert(4, query("broken", broken, &[MINUTE]));
    let raw = Sli::Promql {
        counting: Counting::Bad,
        numerator: r#"rate(http_requests_total{code=~"5.."}[{{.window}}])"#.into(),
        total: "rate(http_requests_total[{{.window}}])".into(),
    };
    queries.push(query("raw", raw, &[MINUTE]));

    // Act
    let results = source.read(&queries, Timestamp::now()).await;

    // Assert
    assert!(matches!(&results[4], Err(SourceError::Query(_))), "the broken SLO: {:?}", results[4]);
    for (q, r) in queries.iter().zip(&results).filter(|(q, _)| q.key.slo != "broken") {
        let c = counts(r, MINUTE);
        assert!((c.error_ratio().expect("events") - 0.1).abs() < 0.02, "{}: {c:?}", q.key.slo);
    }
    // A rate expression times the range's seconds counts about as many events as increase().
    let (raw, ratio) = (counts(&results[9], MINUTE), counts(&results[0], MINUTE));
    assert!(within(raw.total, ratio.total, 0.05), "raw {raw:?} vs ratio {ratio:?}");
}

/// The headers and query string of every request a fake API received.
type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_promql_source_sends_credentials_headers_and_the_instant_to_a_prefixed_api() {
    // Arrange: a Mimir-like API under `/prometheus` that records what it was sent and answers
    // with a canned vector (a missing good part and a NaN count as no good events).
    let seen: Seen = Arc::default();
    let canned = std::fs::read_to_string(support::crate_dir().join("tests/fixtures/source/query_response.json"))
        .expect("the canned response");
    let app = Router::new()
        .route(
            "/prometheus/api/v1/query",
            get(|State((seen, canned)): State<(Seen, String)>, headers: HeaderMap, uri: axum::http::Uri| async move {
                seen.lock().expect("lock").push((headers, uri.query().unwrap_or("").to_string()));
                ([(header::CONTENT_TYPE, "application/json")], canned)
            }),
        )
        .with_state((seen.clone(), canned));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let mut config = PrometheusConfig::new(format!("http://{addr}/prometheus/"));
    config.auth = Some(slo::source::prometheus::Auth::Bearer("s3cret".into()));
    config.headers = vec![("X-Scope-OrgID".into(), "kura".into())];
    let source = PrometheusSource::new(config, &support::tls()).expect("valid");
    let at: Timestamp = "2026-01-04T00:00:00.250Z".parse().expect("a timestamp");
    let queries =
        [query("availability", availability(), &[MINUTE]), query("latency", latency(Decimal::ONE), &[MINUTE])];

    // Act
    let results = source.read(&queries, at).await;

    // Assert
    assert_eq!(counts(&results[0], MINUTE), Counts { good: 987.5, total: 1000.0 });
    assert_eq!(counts(&results[1], MINUTE), Counts { good: 0.0, total: 400.0 });
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1, "one request for one range");
    let (headers, query) = &seen[0];
    assert_eq!(headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()), Some("Bearer s3cret"));
    assert_eq!(headers.get("x-scope-orgid").and_then(|v| v.to_str().ok()), Some("kura"));
    assert!(query.contains("time=1767484800.250"), "{query}");
    assert!(query.contains("kura_slo") && query.contains("le%3D%7E%221%7C1%5C%5C.0%22"), "{query}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_down_makes_every_slo_unreachable_within_the_timeout() {
    // Arrange: a server that accepts connections and never answers, and a closed port.
    let hole = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hole_addr = hole.local_addr().expect("addr");
    let _hole = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
        }
    });
    let mut config = PrometheusConfig::new(format!("http://{hole_addr}/prometheus"));
    config.timeout = Duration::from_secs(1);
    let silent = PrometheusSource::new(config, &support::tls()).expect("valid");
    let closed = prometheus_source(&format!("http://127.0.0.1:{}", free_port()));
    let queries: Vec<Query> = (0..250).map(|i| query(&format!("slo-{i}"), availability(), &[MINUTE])).collect();

    for source in [silent, closed] {
        // Act
        let started = Instant::now();
        let results = Source::Prometheus(source).read(&queries, Timestamp::now()).await;

        // Assert: chunks go out concurrently, so the cycle costs about one timeout.
        assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
        assert_eq!(results.len(), 250);
        assert!(results.values().all(|r| matches!(r, Err(SourceError::Unreachable(_)))), "{results:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The embedded scraper against the same fixture, and its storage on both engines.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scraper_and_prometheus_report_the_same_budget_within_the_stated_tolerance() {
    // Arrange: steady traffic scraped every second by both.
    let mut fixture = Fixture::start().await;
    fixture.start_load();
    let prometheus = Prometheus::start(&fixture).await;
    let db = TestDb::new(Backend::Sqlite).await;
    let config = ScrapeConfig::new(vec![fixture.url.clone()]).with_interval(Duration::from_secs(1));
    let mut scraper = ScrapeSource::open(db.db.clone(), config, &[], &support::tls()).await.expect("open the scraper");
    let ranges = [MINUTE, SignedDuration::from_mins(5)];
    let queries =
        [query("availability", availability(), &ranges), query("latency", latency(Decimal::new(3, 1)), &ranges)];
    // The first read tells the scraper which series to keep (a controller passes its specs).
    let _ = scraper.read(&queries, Timestamp::now()).await;
    scraper.spawn();
    prometheus.wait_for_samples(20).await;

    // Act
    let at = Timestamp::now();
    let from_prometheus = prometheus_source(&prometheus.url).read(&queries, at).await;
    let from_scraper = Source::Scrape(scraper).read(&queries, at).await;
    let from_scraper: Vec<_> = queries.iter().map(|q| from_scraper[&q.key].clone()).collect();

    // Assert: the budget a 99% objective has burnt, from each source's error ratio.
    let objective = 0.99;
    for (i, name) in ["availability", "latency"].iter().enumerate() {
        for range in ranges {
            let (p, s) = (counts(&from_prometheus[i], range), counts(&from_scraper[i], range));
            let (pe, se) = (p.error_ratio().expect("events"), s.error_ratio().expect("events"));
            let (pb, sb) = (pe / (1.0 - objective), se / (1.0 - objective));
            eprintln!("{name} over {range:?}: Prometheus {p:?} (budget ×{pb:.2}), scraper {s:?} (budget ×{sb:.2})");
            assert!((pe - se).abs() <= 0.01, "{name} over {range:?}: error ratio {pe} vs {se}");
        }
        // Over 5 minutes both hold everything since they started; over 1 minute the scraper's
        // first minute bucket may count pro rata though its data began mid-minute.
        let (p, s) = (counts(&from_prometheus[i], ranges[1]), counts(&from_scraper[i], ranges[1]));
        assert!(within(s.total, p.total, 0.25), "{name}: total {} vs {}", p.total, s.total);
    }
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_count_every_event_once_and_a_new_leader_continues() {
    // Arrange: two scrapers (two replicas) on one database and one target; only the first
    // leads, as a controller holding the advisory lock sets the flag.
    let db = TestDb::new(Backend::Postgres).await;
    let fixture = Fixture::start().await;
    let other = db.open().await;
    // A target counts as down after two intervals without a scrape: 250 ms keeps that well
    // clear of a busy machine's scheduling delays while the test stays a few seconds long.
    let config = || ScrapeConfig::new(vec![fixture.url.clone()]).with_interval(Duration::from_millis(250));
    let ranges = [SignedDuration::from_mins(5)];
    let queries = [query("availability", availability(), &ranges)];
    let mut leader = ScrapeSource::open(db.db.clone(), config(), &[], &support::tls()).await.expect("open");
    let mut standby = ScrapeSource::open(other.clone(), config(), &[], &support::tls()).await.expect("open");
    standby.leading().store(false, Ordering::Relaxed);
    let _ = leader.read(&queries, Timestamp::now()).await;
    let _ = standby.read(&queries, Timestamp::now()).await;
    leader.spawn();
    standby.spawn();
    let settle = Duration::from_millis(1200);
    tokio::time::sleep(settle).await;

    // Act: 100 events while the first leads.
    fixture.add(90, 10, 0, 0);
    tokio::time::sleep(settle).await;
    let first = counts(&leader.read(&queries, Timestamp::now()).await[0], ranges[0]);

    // Act: the leader goes away; 20 events before the standby takes over (it must count them
    // from the values the leader stored, not take them as a baseline), 30 after.
    drop(leader);
    fixture.add(15, 5, 0, 0);
    tokio::time::sleep(settle).await;
    standby.leading().store(true, Ordering::Relaxed);
    tokio::time::sleep(settle).await;
    fixture.add(25, 5, 0, 0);
    tokio::time::sleep(settle).await;
    let second = counts(&standby.read(&queries, Timestamp::now()).await[0], ranges[0]);

    // Assert: each event counted exactly once, across the handover.
    assert_eq!((first.total, first.good), (100.0, 90.0), "{first:?}");
    assert_eq!((second.total, second.good), (150.0, 130.0), "{second:?}");
    drop(standby);
    other.close().await;
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stopped_answering_makes_its_slos_unreachable_after_two_intervals() {
    // Arrange: two targets, each feeding one SLO; the first stops after one scrape.
    let db = TestDb::new(Backend::Sqlite).await;
    let config = ScrapeConfig::new(vec!["http://a/metrics".into(), "http://b/metrics".into()])
        .with_interval(Duration::from_secs(15));
    let scraper = ScrapeSource::open(db.db.clone(), config, &[], &support::tls()).await.expect("open");
    let fed_by = |target: &str| Sli::Ratio {
        counting: Counting::Bad,
        numerator: selector(&format!(r#"http_requests_total{{code=~"5..", target="{target}"}}"#)),
        total: selector(&format!(r#"http_requests_total{{target="{target}"}}"#)),
    };
    let queries = [query("from-a", fed_by("a"), &[MINUTE]), query("from-b", fed_by("b"), &[MINUTE])];
    let t0: Timestamp = "2026-01-04T00:00:00Z".parse().expect("a timestamp");
    let _ = scraper.read(&queries, t0).await;
    let body = |target: &str, n: u64| format!("http_requests_total{{target=\"{target}\",code=\"200\"}} {n}\n");
    scraper.ingest(0, &body("a", 1), t0).await.expect("ingest");
    for k in 0..4 {
        scraper.ingest(1, &body("b", 10 * k), t0 + SignedDuration::from_secs(15 * k as i64)).await.expect("ingest");
    }

    // Act: 45s after a's last scrape, three intervals.
    let results = scraper.read(&queries, t0 + SignedDuration::from_secs(45)).await;
    let earlier = scraper.read(&queries, t0 + SignedDuration::from_secs(29)).await;

    // Assert
    assert!(
        matches!(&results[0], Err(SourceError::Unreachable(m)) if m.contains("http://a/metrics")),
        "{:?}",
        results[0]
    );
    assert_eq!(counts(&results[1], MINUTE), Counts { good: 30.0, total: 30.0 });
    assert!(earlier[0].is_ok(), "two intervals are not yet stale: {:?}", earlier[0]);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promql_sli_is_unsupported_by_the_scraper() {
    let db = TestDb::new(Backend::Sqlite).await;
    let scraper =
        ScrapeSource::open(db.db.clone(), ScrapeConfig::new(vec![]), &[], &support::tls()).await.expect("open");
    let raw = Sli::Promql { counting: Counting::Bad, numerator: "x".into(), total: "y".into() };
    let results = scraper.read(&[query("raw", raw, &[MINUTE])], Timestamp::now()).await;
    assert_eq!(results[0], Err(SourceError::Unsupported("promql")));
    drop(db);
}

/// Storage behaviours, on SQLite and on PostgreSQL.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

on_both_engines!(
    a_counter_reset_counts_the_new_value_not_a_negative_or_huge_increase,
    downsampling_to_hours_keeps_every_sum_exact,
    the_scraper_resumes_from_its_stored_counters_after_a_restart,
    a_fresh_scraper_answers_a_long_window_with_what_it_has,
);

async fn a_counter_reset_counts_the_new_value_not_a_negative_or_huge_increase(engine: Backend) {
    let db = TestDb::new(engine).await;
    // Arrange: a real fixture scraped over HTTP; its process "restarts" between two scrapes.
    let fixture = Fixture::start().await;
    let config = ScrapeConfig::new(vec![fixture.url.clone()]);
    let scraper = ScrapeSource::open(db.db.clone(), config, &[], &support::tls()).await.expect("open");
    let queries = [query("availability", availability(), &[SignedDuration::from_mins(10)])];
    let _ = scraper.read(&queries, Timestamp::now()).await;
    fixture.set(Traffic { ok: 90, errors: 10, ..Traffic::default() });
    assert_eq!(scraper.scrape_once().await[0].as_ref().expect("scrape"), &2, "a baseline of two series");
    fixture.add(45, 5, 0, 0);
    scraper.scrape_once().await[0].as_ref().expect("scrape");

    // Act: the counters restart at zero and count 5 more requests, 1 of them an error.
    fixture.set(Traffic { ok: 4, errors: 1, ..Traffic::default() });
    scraper.scrape_once().await[0].as_ref().expect("scrape");
    let results = scraper.read(&queries, Timestamp::now()).await;

    // Assert: 50 before the restart, 5 after.
    assert_eq!(counts(&results[0], SignedDuration::from_mins(10)), Counts { good: 49.0, total: 55.0 });
    drop(db);
}

async fn downsampling_to_hours_keeps_every_sum_exact(engine: Backend) {
    let db = TestDb::new(engine).await;
    // Arrange: three days of scrapes every 5 minutes, with uneven traffic.
    let config = ScrapeConfig::new(vec!["http://fixture/metrics".into()]);
    let scraper = ScrapeSource::open(db.db.clone(), config, &[], &support::tls()).await.expect("open");
    let end: Timestamp = "2026-01-04T00:00:00Z".parse().expect("a timestamp");
    let ranges = [
        SignedDuration::from_hours(1),
        SignedDuration::from_hours(6),
        SignedDuration::from_hours(24),
        SignedDuration::from_hours(47),
        SignedDuration::from_hours(72),
    ];
    let queries = [query("availability", availability(), &ranges)];
    let _ = scraper.read(&queries, end).await;
    let (mut ok, mut errors) = (0u64, 0u64);
    let mut served: Vec<(Timestamp, u64, u64)> = Vec::new();
    let steps: u64 = 72 * 12;
    for k in 0..=steps {
        let at = end - SignedDuration::from_mins(5 * (steps - k) as i64);
        ok += (k * 37) % 101;
        errors += u64::from(k % 7 == 0) * (k % 13);
        served.push((at, ok, errors));
        let body = format!("http_requests_total{{code=\"200\"}} {ok}\nhttp_requests_total{{code=\"503\"}} {errors}\n");
        scraper.ingest(0, &body, at).await.expect("ingest");
    }
    // What the scrapes in [end − range, end] reported: a bucket holds what was scraped in its
    // minute, so the scrape at the range's first instant counts, with the 5 minutes before it.
    let expected = |range: SignedDuration| {
        let start = end - range;
        let before = served.iter().rev().find(|(at, ..)| *at < start).copied().unwrap_or((start, 0, 0));
        let (_, ok_end, err_end) = *served.last().expect("served");
        let (ok, err) = (ok_end - before.1, err_end - before.2);
        Counts { good: ok as f64, total: (ok + err) as f64 }
    };
    let before = scraper.read(&queries, end).await;

    // Act
    let dropped = scraper.compact(end).await.expect("compact");
    let after = scraper.read(&queries, end).await;

    // Assert: minute buckets older than 48h are gone, the 73 hours remain; every sum is unchanged.
    let (minutes, hours) = scraper.bucket_rows().await.expect("rows");
    assert_eq!((dropped, minutes, hours), (24 * 12, 48 * 12 + 1, 73));
    for range in ranges {
        assert_eq!(counts(&before[0], range), expected(range), "before compaction, over {range:?}");
        assert_eq!(counts(&after[0], range), expected(range), "after compaction, over {range:?}");
    }
    drop(db);
}

async fn the_scraper_resumes_from_its_stored_counters_after_a_restart(engine: Backend) {
    let db = TestDb::new(engine).await;
    // Arrange: a scraper counts 10 requests, then stops.
    let config = ScrapeConfig::new(vec!["http://fixture/metrics".into()]);
    let t0: Timestamp = "2026-01-04T00:00:00Z".parse().expect("a timestamp");
    let queries = [query("availability", availability(), &[SignedDuration::from_mins(10)])];
    let body = |ok: u64, errors: u64| {
        format!("http_requests_total{{code=\"200\"}} {ok}\nhttp_requests_total{{code=\"500\"}} {errors}\n")
    };
    {
        let first = ScrapeSource::open(db.db.clone(), config.clone(), &[], &support::tls()).await.expect("open");
        let _ = first.read(&queries, t0).await;
        first.ingest(0, &body(100, 0), t0).await.expect("ingest");
        first.ingest(0, &body(108, 2), t0 + SignedDuration::from_secs(15)).await.expect("ingest");
    }

    // Act: a new scraper on the same database sees 5 more requests after a minute's downtime.
    let db = db.reopen().await;
    let second = ScrapeSource::open(db.db.clone(), config, &[], &support::tls()).await.expect("reopen");
    let _ = second.read(&queries, t0).await;
    let t1 = t0 + SignedDuration::from_secs(75);
    second.ingest(0, &body(112, 3), t1).await.expect("ingest");
    let results = second.read(&queries, t1).await;

    // Assert: the restart lost nothing and counted nothing twice.
    assert_eq!(counts(&results[0], SignedDuration::from_mins(10)), Counts { good: 12.0, total: 15.0 });
    drop(db);
}

async fn a_fresh_scraper_answers_a_long_window_with_what_it_has(engine: Backend) {
    let db = TestDb::new(engine).await;
    // Arrange: ten minutes of data.
    let config = ScrapeConfig::new(vec!["http://fixture/metrics".into()]);
    let scraper = ScrapeSource::open(db.db.clone(), config, &[], &support::tls()).await.expect("open");
    let t0: Timestamp = "2026-01-04T00:00:00Z".parse().expect("a timestamp");
    let window = SignedDuration::from_hours(28 * 24);
    let queries = [query("availability", availability(), &[window, SignedDuration::from_mins(5)])];
    let _ = scraper.read(&queries, t0).await;
    for k in 0..=10u64 {
        let body = format!("http_requests_total{{code=\"200\"}} {}\nhttp_requests_total{{code=\"500\"}} {k}\n", 9 * k);
        scraper.ingest(0, &body, t0 + SignedDuration::from_mins(k as i64)).await.expect("ingest");
    }
    let at = t0 + SignedDuration::from_mins(10);

    // Act
    let results = scraper.read(&queries, at).await;
    let never_fed = scraper.read(&[query("other", latency(Decimal::ONE), &[window])], at).await;

    // Assert: the 28-day window holds the 10 minutes there are; an SLO without series has none.
    // (The last 5 minutes include the scrape at their very start, which reported the minute
    // before: an event is counted up to one scrape interval late.)
    assert_eq!(counts(&results[0], window), Counts { good: 90.0, total: 100.0 });
    assert_eq!(counts(&results[0], SignedDuration::from_mins(5)), Counts { good: 54.0, total: 60.0 });
    assert_eq!(scraper.data_since("fixture", "availability").await.expect("since"), Some(t0));
    assert_eq!(never_fed[0], Ok(Reading::default()));
    drop(db);
}

/// Measures (and prints) what the scraper costs for `KURA_SLOS` SLOs (default 200) over 30
/// days on SQLite: bucket rows, database size, one scrape's ingest time and one read's time.
/// A report for `BENCHMARKS.md`, run with `--ignored --nocapture`; it checks the row counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn the_scrapers_cost_over_thirty_days_is_reported() {
    let n: usize = std::env::var("KURA_SLOS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let db = TestDb::new(Backend::Sqlite).await;
    let config = ScrapeConfig::new(vec!["http://fixture/metrics".into()]);
    let scraper = ScrapeSource::open(db.db.clone(), config, &[], &support::tls()).await.expect("open");
    let end: Timestamp = "2026-01-31T00:00:00Z".parse().expect("a timestamp");
    let ranges: Vec<SignedDuration> =
        [30 * 24 * 60, 3 * 24 * 60, 24 * 60, 6 * 60, 60, 30, 5].iter().map(|m| SignedDuration::from_mins(*m)).collect();
    let queries: Vec<Query> = (0..n)
        .map(|i| {
            let sli = Sli::Ratio {
                counting: Counting::Bad,
                numerator: selector(&format!(r#"http_requests_total{{slo="{i}", code=~"5.."}}"#)),
                total: selector(&format!(r#"http_requests_total{{slo="{i}"}}"#)),
            };
            query(&format!("slo-{i}"), sli, &ranges)
        })
        .collect();
    let _ = scraper.read(&queries, end).await;

    // 30 days of buckets as the scraper leaves them: every hour, and the minutes of the last 48h.
    let started = Instant::now();
    let mut tx = db.db.writer().begin().await.expect("begin");
    fixtures::fill_history(&mut tx, n, end.as_second()).await;
    tx.commit().await.expect("commit");
    let filled = started.elapsed();
    let (minutes, hours) = scraper.bucket_rows().await.expect("rows");
    assert_eq!((minutes, hours), (n as i64 * 2880, n as i64 * 720));

    // One scrape: two series per SLO.
    let body = |k: u64| {
        (0..n).map(|i| format!("http_requests_total{{slo=\"{i}\",code=\"200\"}} {}\nhttp_requests_total{{slo=\"{i}\",code=\"500\"}} {k}\n", 99 * k)).collect::<String>()
    };
    let scrapes = 20;
    let started = Instant::now();
    for k in 0..scrapes {
        scraper.ingest(0, &body(k), end - SignedDuration::from_secs(15 * (scrapes - k) as i64)).await.expect("ingest");
    }
    let per_scrape = started.elapsed() / scrapes as u32;

    // One evaluation cycle's read.
    let started = Instant::now();
    let results = scraper.read(&queries, end).await;
    let read = started.elapsed();
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|r| r.ranges.len() == ranges.len())));

    sqlx::query("pragma wal_checkpoint(truncate)").execute(db.db.writer()).await.expect("checkpoint");
    let path = db.sqlite_file().expect("SQLite");
    let bytes = std::fs::metadata(path).expect("the database file").len();
    eprintln!(
        "{n} SLOs over 30 days: {minutes} minute + {hours} hour rows, {:.1} MiB on SQLite ({} bytes per SLO); \
         filled in {filled:?}; one scrape of {} series ingested in {per_scrape:?}; one read of {} ranges in {read:?}",
        bytes as f64 / (1024.0 * 1024.0),
        bytes / n as u64,
        2 * n,
        ranges.len()
    );
    drop(db);
}

/// Measures (and prints) one read of `KURA_SLOS` SLOs (default 1,000) over the seven ranges of
/// the Workbook's tiers and a 28-day window against a real Prometheus: wall time and requests.
/// A report for `BENCHMARKS.md`, run with `--ignored --nocapture`; it checks every SLO answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn one_promql_read_of_a_thousand_slos_is_reported() {
    let n: usize = std::env::var("KURA_SLOS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let mut fixture = Fixture::start().await;
    fixture.start_load();
    let prometheus = Prometheus::start(&fixture).await;
    prometheus.wait_for_samples(5).await;
    let source = prometheus_source(&prometheus.url);
    let ranges: Vec<SignedDuration> =
        [28 * 24 * 60, 3 * 24 * 60, 24 * 60, 6 * 60, 60, 30, 5].iter().map(|m| SignedDuration::from_mins(*m)).collect();
    let queries: Vec<Query> = (0..n)
        .map(|i| {
            let sli = if i % 2 == 0 { availability() } else { latency(Decimal::new(3, 1)) };
            let mut q = query(&format!("slo-{i}"), sli, &ranges);
            // Distinct SLOs over the same series, as journeys of one service would be.
            q.sli = match q.sli {
                Sli::Ratio { counting, numerator, total } => Sli::Ratio {
                    counting,
                    numerator: numerator.with_matcher("journey", slo::spec::MatchOp::NotEqual, &format!("j{i}")),
                    total: total.with_matcher("journey", slo::spec::MatchOp::NotEqual, &format!("j{i}")),
                },
                Sli::Latency { histogram, threshold } => Sli::Latency {
                    histogram: histogram.with_matcher("journey", slo::spec::MatchOp::NotEqual, &format!("j{i}")),
                    threshold,
                },
                other => other,
            };
            q
        })
        .collect();

    let started = Instant::now();
    let results = source.read(&queries, Timestamp::now()).await;
    let wall = started.elapsed();

    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|r| r.ranges.len() == ranges.len())), "{:?}", results[0]);
    eprintln!(
        "{n} SLOs × {} ranges against Prometheus: {} requests, {wall:?} wall",
        ranges.len(),
        source.queries_issued()
    );
}
