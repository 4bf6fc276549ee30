//! The controller end to end, as it runs in production: the fixture target of [`source`]
//! (counters the test drives), a real Prometheus (Debian's `/usr/bin/prometheus`, scraping it
//! every second), and a controller served in-process with `--prometheus` at a 1s interval over
//! `tests/fixtures/e2e/fixture.yaml` (seconds-long tiers, `no_data: 5s`), paging a signed
//! webhook receiver started by the test. Every signature is checked with
//! [`alert::receiver::verify`] as it arrives.
//!
//! Waits are polls with generous deadlines (the CI machine is small and shared); the only
//! timing asserted is a lower bound the spec sets: the no-data alert fires no sooner than
//! `no_data` after Prometheus went away.
//!
//! [`source`]: crate::source

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use serde_json::Value;
use slo::alert::{self, Event, Notification, Receiver, Secret, Settings};
use slo::source::Source;
use slo::source::prometheus::{PrometheusConfig, PrometheusSource};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::source::{Fixture, Prometheus};
use crate::support::{Backend, Setup, TestDb};

const SECRET: &str = "whsec-e2e";
const SERVICE: &str = "fixture";
const AVAILABILITY: &str = "requests-availability";
const LATENCY: &str = "requests-latency";
/// The spec's `alerting.no_data`.
const NO_DATA_AFTER: Duration = Duration::from_secs(5);
/// How long any one condition may take to show up end to end.
const PATIENCE: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------------
// Traffic: ten requests every 100 ms, `errors` of them failing, all of them fast.

struct Load {
    errors: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Load {
    fn start(fixture: &Fixture) -> Load {
        let errors = Arc::new(AtomicU64::new(0));
        let (traffic, bad) = (Arc::clone(&fixture.traffic), Arc::clone(&errors));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                let e = bad.load(Ordering::Relaxed);
                let mut t = traffic.lock().expect("lock");
                t.ok += 10 - e;
                t.errors += e;
                t.fast += 10;
            }
        });
        Load { errors, task }
    }

    /// `n` in 10 requests fail from now on.
    fn errors(&self, n: u64) {
        self.errors.store(n, Ordering::Relaxed);
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// The webhook receiver: records every notification, when it came, and whether it verified.

#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    verified: bool,
    n: Notification,
}

#[derive(Clone)]
struct Hook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Hook {
    async fn start() -> Hook {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = Arc::clone(&received);
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let log = Arc::clone(&log);
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let verified = alert::receiver::verify(
                    SECRET.as_bytes(),
                    &header("x-kura-timestamp"),
                    &header("x-kura-signature"),
                    &body,
                    Timestamp::now(),
                    Duration::from_secs(300),
                );
                let n: Notification = serde_json::from_slice(&body).expect("the body is a notification");
                log.lock().expect("lock").push(Received { at: Instant::now(), verified, n });
                StatusCode::ACCEPTED
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let url = format!("http://{}/hooks/kura", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Hook { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits for a notification matching `want`.
    async fn wait_for(&self, what: &str, want: impl Fn(&Notification) -> bool) -> Received {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(r) = self.received().into_iter().find(|r| want(&r.n)) {
                return r;
            }
            assert!(Instant::now() < deadline, "no {what} within {PATIENCE:?}; received {:#?}", self.received());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The controller, served as `slo controller --prometheus URL --webhook URL` serves it.

struct Running {
    server: crate::support::Running,
    _db: TestDb,
}

impl Running {
    async fn start(prometheus_url: &str, hook: &Hook) -> Running {
        let db = TestDb::new(Backend::Sqlite).await;
        let source = PrometheusSource::new(PrometheusConfig::new(prometheus_url), &crate::support::tls())
            .expect("a valid configuration");
        let c = Setup {
            source: Source::Prometheus(source),
            interval: Duration::from_secs(1),
            instance: "e2e".into(),
            alerting: Settings {
                receivers: vec![Receiver::Webhook { url: hook.url.clone(), secret: Some(Secret(SECRET.into())) }],
                retry_base: Duration::from_millis(100),
                poll_interval: Duration::from_millis(100),
                ..Settings::default()
            },
            ..Setup::new(vec![crate::support::crate_dir().join("tests/fixtures/e2e")])
        }
        .build(db.db.clone());
        Running { server: crate::support::Running::start(c, None).await, _db: db }
    }

    /// `GET /api/v1/slos`: status by SLO id.
    async fn statuses(&self) -> Vec<(String, String)> {
        let body: Value =
            crate::support::get(format!("{}/api/v1/slos", self.server.base)).await.json().await.expect("a JSON list");
        body.as_array()
            .expect("a list")
            .iter()
            .map(|s| (s["slo"].as_str().unwrap_or("").to_owned(), s["status"].as_str().unwrap_or("").to_owned()))
            .collect()
    }

    /// Waits until every SLO of the spec (two) has a status `want` accepts.
    async fn wait_until(&self, what: &str, want: impl Fn(&str, &str) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let now = self.statuses().await;
            if now.len() == 2 && now.iter().all(|(slo, status)| want(slo, status)) {
                return;
            }
            assert!(Instant::now() < deadline, "not {what} within {PATIENCE:?}: {now:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stop(mut self) {
        self.server.shutdown().await;
    }
}

fn is_page(n: &Notification) -> bool {
    n.severity == slo::math::Severity::Page || n.alertname == alert::BURN_ALERT
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_error_burst_pages_and_recovery_resolves() {
    // Arrange: healthy traffic through Prometheus into the controller.
    let started = Instant::now();
    let fixture = Fixture::start().await;
    let load = Load::start(&fixture);
    let prometheus = Prometheus::start(&fixture).await;
    prometheus.wait_for_samples(3).await;
    let hook = Hook::start().await;
    let controller = Running::start(&prometheus.url, &hook).await;
    controller.wait_until("ok", |_, status| status == "ok").await;
    // A healthy long window (20s) before the burst, so that the page is the two windows' rule.
    prometheus.wait_for_samples(22).await;
    let healthy = started.elapsed();

    // Act 1: half the requests fail (a 50× burn against a 1% budget; the tier pages at 10×).
    load.errors(5);
    let page =
        hook.wait_for("page", |n| n.event == Event::Trigger && n.slo == AVAILABILITY && n.tier == "fast-page").await;
    let paged = started.elapsed();

    // Assert 1: a signed page for the availability SLO; the latency SLO is not touched.
    assert!(page.verified, "the page's signature verifies: {page:?}");
    assert_eq!((page.n.alertname.as_str(), page.n.severity.as_str()), (alert::BURN_ALERT, "page"));
    assert_eq!(page.n.key, alert::alert_key(SERVICE, AVAILABILITY, "fast-page"));
    assert_eq!(page.n.threshold.as_deref(), Some("10"), "the spec's burn rate: {page:?}");
    assert_eq!(page.n.labels.get("team").map(String::as_str), Some("e2e"), "spec labels ride along");

    // Act 2: the errors stop; the 5s short window clears first.
    load.errors(0);
    let resolve = hook.wait_for("resolve", |n| n.event == Event::Resolve && n.key == page.n.key).await;
    let resolved = started.elapsed();

    // Assert 2: one page, one resolve, both signed; nothing about the latency SLO.
    assert!(resolve.verified, "the resolve's signature verifies: {resolve:?}");
    let all = hook.received();
    let events: Vec<(Event, &str)> = all.iter().map(|r| (r.n.event, r.n.key.as_str())).collect();
    assert_eq!(events, vec![(Event::Trigger, page.n.key.as_str()), (Event::Resolve, page.n.key.as_str())]);
    assert!(all.iter().all(|r| r.n.slo != LATENCY), "{all:#?}");
    eprintln!(
        "e2e burst: ok after {healthy:?}, paged after {paged:?} (burn {:?} / {:?}), resolved after {resolved:?}",
        page.n.long_burn_rate, page.n.short_burn_rate
    );
    controller.stop().await;
    drop(prometheus);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_down_mid_run_is_no_data_not_an_outage() {
    // Arrange: healthy traffic, every SLO `ok`.
    let started = Instant::now();
    let fixture = Fixture::start().await;
    let _load = Load::start(&fixture);
    let prometheus = Prometheus::start(&fixture).await;
    let port: u16 = prometheus.url.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("a port");
    prometheus.wait_for_samples(3).await;
    let hook = Hook::start().await;
    let controller = Running::start(&prometheus.url, &hook).await;
    controller.wait_until("ok", |_, status| status == "ok").await;
    let healthy = started.elapsed();

    // Act: Prometheus goes away mid-run.
    drop(prometheus);
    let killed = Instant::now();

    // Assert: every SLO says `no-data` (not `burning`, not `exhausted`)...
    controller.wait_until("no-data", |_, status| status == "no-data").await;
    let no_data = killed.elapsed();
    // ...and after `no_data` the SloNoData ticket fires for each, signed, and nothing pages.
    let mut tickets = Vec::new();
    for slo in [AVAILABILITY, LATENCY] {
        let key = alert::alert_key(SERVICE, slo, alert::NO_DATA_TIER);
        let t = hook.wait_for("SloNoData ticket", |n| n.event == Event::Trigger && n.key == key).await;
        assert!(t.verified, "the ticket's signature verifies: {t:?}");
        assert_eq!((t.n.alertname.as_str(), t.n.severity.as_str()), (alert::NO_DATA_ALERT, "ticket"), "{t:?}");
        assert!(
            t.at.duration_since(killed) >= NO_DATA_AFTER,
            "the no-data alert waited the spec's {NO_DATA_AFTER:?}: it came {:?} after the kill",
            t.at.duration_since(killed)
        );
        tickets.push(t.at.duration_since(killed));
    }
    // A few more cycles without Prometheus: still nothing but the two tickets.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = hook.received();
    assert!(all.iter().all(|r| !is_page(&r.n)), "Prometheus being down paged someone: {all:#?}");
    assert_eq!(all.len(), 2, "exactly the two no-data tickets: {all:#?}");
    let statuses = controller.statuses().await;
    assert!(statuses.iter().all(|(_, s)| s == "no-data"), "{statuses:?}");

    // Recovery: Prometheus comes back on the same address (an empty TSDB); the SLOs are `ok`
    // again and the no-data tickets resolve, still without a page.
    let prometheus = Prometheus::start_on(&fixture, port).await;
    prometheus.wait_for_samples(3).await;
    controller.wait_until("ok again", |_, status| status == "ok").await;
    for slo in [AVAILABILITY, LATENCY] {
        let key = alert::alert_key(SERVICE, slo, alert::NO_DATA_TIER);
        let r = hook.wait_for("no-data resolve", |n| n.event == Event::Resolve && n.key == key).await;
        assert!(r.verified, "{r:?}");
    }
    let all = hook.received();
    assert!(all.iter().all(|r| !is_page(&r.n)), "{all:#?}");
    assert_eq!(all.len(), 4, "two tickets, two resolves: {all:#?}");
    eprintln!(
        "e2e Prometheus down: ok after {healthy:?}, no-data {no_data:?} after the kill, \
         SloNoData tickets {tickets:?} after it, recovered {:?} after start",
        started.elapsed()
    );
    controller.stop().await;
}
