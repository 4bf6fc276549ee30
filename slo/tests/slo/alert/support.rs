//! What the alerting tests share: the test spec and hand-built evaluations of it, a recording
//! HTTP receiver, and a controller API on port 0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use jiff::{SignedDuration, Timestamp};
use slo::alert::{Notification, Receiver, Secret, Settings};
use slo::eval::{Evaluation, Status, TierBurn};
use slo::spec::Specs;
use tokio::net::TcpListener;

pub use crate::support::{Backend, TestDb};
use crate::support::{Setup, SpecDir, serve_api};

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
                    severity: severity.parse().expect("page or ticket"),
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

/// The controller's API on port 0 over [`SPEC`], with `token` as its API token.
#[derive(Debug)]
pub struct Api {
    pub base: String,
    _db: TestDb,
    _specs: SpecDir,
}

pub async fn api(token: &str) -> Api {
    let test = TestDb::new(Backend::Sqlite).await;
    let specs = SpecDir::new(SPEC);
    let c = Setup::new(vec![specs.0.clone()]).build(test.db.clone());
    let base = serve_api(&c, Some(token)).await;
    Api { base, _db: test, _specs: specs }
}
