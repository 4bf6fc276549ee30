//! Webhook-to-review latency of the deploy gate: a controller evaluating 200 SLOs (one service,
//! 20 journeys × 10; on SQLite, or on the fresh database `BENCH_DATABASE_URL` names) receives
//! 100 signed `deployment_protection_rule` webhooks at once, each for its own run, and the fake GitHub of the tests records when each review
//! arrives. Prints p50, p99 and max of (review received − webhook sent), and the 202's own
//! latency. Reported in BENCHMARKS.md, not asserted.
//!
//! ```text
//! cargo run --release -p slo --example bench_gate [REQUESTS] [ROUNDS]
//! psql -h 127.0.0.1 -U postgres -c "drop database if exists kura_bench_gate" -c "create database kura_bench_gate"
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/kura_bench_gate cargo run -p slo --example bench_gate
//! ```

#[path = "../tests/slo/fake_github.rs"]
#[allow(dead_code)]
mod fake_github;

#[path = "../benches/fixtures.rs"]
mod fixtures;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::json;
use slo::controller::{Config, Controller, Deps};
use slo::github::{GithubClient, GithubConfig};
use slo::source::{Counts, Query, Reading, Readings, Source};

const SECRET: &[u8] = b"bench secret";

fn readings(c: &Controller, now: Timestamp) -> Readings {
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
                    (*r, Counts { good: total * 0.9999, total })
                })
                .collect();
            (spec.key(slo), Ok(Reading { ranges }))
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = std::env::temp_dir().join(format!("kura-bench-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("shop.yaml"), fixtures::spec_text("shop", 20)).expect("spec");
    // SQLite in a scratch directory, or the database BENCH_DATABASE_URL names (a scratch
    // PostgreSQL database: the bench's tables are created there by the migrations).
    let url =
        std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}", dir.join("slo.db").display()));
    let db = slo::store::open(&url).await.expect("db");
    let tls = platform::tls::Tls::new(None).expect("tls");
    let http = tls.client().build().expect("client");
    let specs = slo::spec::load_paths(std::slice::from_ref(&dir)).expect("specs");
    let controller = Arc::new(Controller::new(Deps {
        db,
        specs,
        source: Source::None,
        config: Config {
            slos: vec![dir.clone()],
            interval: Duration::from_secs(30),
            instance: "bench".into(),
            external_url: slo::spec::DEFAULT_EXTERNAL_URL.into(),
        },
        alerting: slo::alert::Settings::default(),
        service_maintenance: Vec::new(),
        http: http.clone(),
        telemetry: telemetry::Metrics::new(),
    }));

    let fake = fake_github::FakeGithub::start().await;
    let key = std::process::Command::new("openssl").args(["genrsa", "-traditional", "2048"]).output().expect("openssl");
    let client = GithubClient::new(&fake.base, 1, &key.stdout, http.clone()).expect("github client");
    let mut config = GithubConfig::new(SECRET.to_vec(), Some(client));
    config.poll_interval = Duration::from_millis(500);
    let config = Arc::new(config);
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", public.local_addr().expect("addr"));
    let listeners = slo::server::Listeners {
        public,
        admin,
        public_limits: platform::serve::PUBLIC_LIMITS,
        admin_limits: platform::serve::ADMIN_LIMITS,
        drain: Duration::from_secs(1),
    };
    let api = slo::server::ApiConfig { api_token: None, github: Some(Arc::clone(&config)) };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(slo::server::run(Arc::clone(&controller), listeners, api, async move {
        let _ = stopped.await;
    }));
    // The loop's first cycle (no source: every SLO `no-data`) runs at start; the readings
    // recorded after it are what the gate reads for the next 30 s.
    while controller.current().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let now = Timestamp::now();
    controller.record(now, readings(&controller, now)).await.expect("record");
    println!("controller evaluating {} SLOs", controller.current().len());

    let mut latencies = Vec::new();
    let mut acks = Vec::new();
    for round in 0..rounds {
        let sends = (0..requests).map(|i| {
            let run = round * 100_000 + i + 1;
            let body = json!({
                "action": "requested", "environment": "production", "event": "push",
                "sha": "0123456789abcdef0123456789abcdef01234567", "ref": "main",
                "deployment_callback_url": format!("https://api.github.com/repos/kura-dev/shop/actions/runs/{run}/deployment_protection_rule"),
                "deployment": {"id": run, "sha": "0123456789abcdef0123456789abcdef01234567", "ref": "main", "environment": "production"},
                "pull_requests": [], "repository": {"full_name": "kura-dev/shop", "name": "shop"},
                "installation": {"id": 77}, "sender": {"login": "bench"},
            });
            let raw = serde_json::to_vec(&body).expect("json");
            let signature = slo::github::verify::sign(SECRET, &raw);
            let (http, base) = (http.clone(), base.clone());
            async move {
                let sent = Instant::now();
                let r = http
                    .post(format!("{base}/webhooks/github"))
                    .header("X-GitHub-Event", "deployment_protection_rule")
                    .header("X-GitHub-Delivery", format!("bench-{run}"))
                    .header("X-Hub-Signature-256", signature)
                    .body(raw)
                    .send()
                    .await
                    .expect("sent");
                assert_eq!(r.status(), 202);
                (run, sent, sent.elapsed())
            }
        });
        let sent: Vec<(usize, Instant, Duration)> = futures::future::join_all(sends).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while fake.reviews().len() < (round + 1) * requests && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let reviews = fake.reviews();
        for (run, at, ack) in sent {
            let path = format!("/runs/{run}/");
            if let Some(r) = reviews.iter().find(|r| r.path.contains(&path)) {
                latencies.push(r.at.duration_since(at));
            }
            acks.push(ack);
        }
    }
    latencies.sort();
    acks.sort();
    println!(
        "{} reviews of {} webhooks ({rounds} rounds of {requests} concurrent): webhook-to-review p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; 202 p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        rounds * requests,
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        percentile(&acks, 0.5).as_secs_f64() * 1000.0,
        percentile(&acks, 0.99).as_secs_f64() * 1000.0,
    );
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
}
