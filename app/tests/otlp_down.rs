//! With the trace collector down, the service keeps serving and counts the spans it drops.
//! (Its own test binary: the tracer provider is process-wide and points at a dead endpoint.)

use std::time::Duration;

use fulfillment::db::seed;
use fulfillment::server::{self, ServeConfig};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_succeed_and_dropped_spans_are_counted_when_the_collector_is_down() {
    // A port with nothing listening on it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
    let tls = platform::tls::Tls::new(None).expect("tls");
    let guard = telemetry::init(&telemetry::Config {
        service_name: "otlp-down-test",
        default_filter: "error",
        otlp_traces_endpoint: Some(format!("http://{dead}/v1/traces")),
        otlp_client: tls.blocking_client().expect("client"),
        sampling: telemetry::sampling::Sampling { tail: true, keep_ratio: 1.0 },
    })
    .expect("telemetry");
    let path = std::env::temp_dir().join(format!("kura-otlp-down-{}.db", std::process::id()));
    let db = fulfillment::db::open(&format!("sqlite://{}", path.display()), fulfillment::db::DEFAULT_SLOW_STATEMENT)
        .await
        .expect("db");
    let seeded = seed::run(&db).await.expect("seed");
    let (public, admin) =
        (TcpListener::bind("127.0.0.1:0").await.expect("bind"), TcpListener::bind("127.0.0.1:0").await.expect("bind"));
    let (base, admin_base) = (
        format!("http://{}", public.local_addr().expect("addr")),
        format!("http://{}", admin.local_addr().expect("addr")),
    );
    let mut config = ServeConfig::new(public.local_addr().expect("addr"), admin.local_addr().expect("addr"));
    config.drain = Duration::from_secs(5);
    config.jobs = false;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::run(db, public, admin, config, async move {
        let _ = stopped.await;
    }));
    let http = tls.client().build().expect("client");
    let token = &seeded.shipper_tokens[0].2;

    for _ in 0..20 {
        let r = http.get(format!("{base}/v1/stock")).bearer_auth(token).send().await.expect("request");
        assert_eq!(r.status(), reqwest::StatusCode::OK, "requests must not depend on the collector");
    }
    guard.flush();
    let dropped = {
        let text = http.get(format!("{admin_base}/metrics")).send().await.expect("scrape").text().await.expect("body");
        text.lines()
            .find_map(|l| l.strip_prefix("otel_spans_dropped_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .expect("otel_spans_dropped_total is exposed")
    };
    assert!(dropped >= 20.0, "every request's spans were dropped and counted, got {dropped}");

    let _ = stop.send(());
    server.await.expect("server task").expect("server");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
