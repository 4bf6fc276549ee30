//! Alerting wired into the controller: a served controller (API, evaluation loop and outbox
//! delivery task, as `slo controller` runs them) is handed a burning reading, and the page
//! reaches the webhook without the test delivering anything itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use slo::alert::Event;
use slo::controller::{Config, Controller};
use slo::source::{Counts, Query, Reading, Source};
use tokio::net::TcpListener;

use super::support::{Backend, SPEC, TestDb, sink, webhook_settings};

/// Counts for every range the SLO's query asks for: 1,000 events an hour, half of them bad
/// over the fast page's windows (1 h and 5 m), one in ten thousand elsewhere.
fn burning_reading(spec: &slo::spec::Spec, now: Timestamp) -> Reading {
    let slo = spec.slos().next().expect("an SLO");
    let fast = [SignedDuration::from_hours(1), SignedDuration::from_mins(5)];
    let ranges = Query::for_slo(spec, slo, now)
        .ranges
        .iter()
        .map(|r| {
            let total = 1000.0 * r.as_secs_f64() / 3600.0;
            let bad = if fast.contains(r) { 0.5 } else { 0.0001 };
            (*r, Counts { good: total * (1.0 - bad), total })
        })
        .collect();
    Reading { ranges }
}

#[tokio::test]
async fn a_served_controller_pages_the_webhook_for_a_burning_slo() {
    // Arrange: a controller serving as `slo controller` does, with a webhook receiver.
    let test = TestDb::new(Backend::Sqlite).await.expect("sqlite");
    let dir = std::env::temp_dir().join(format!("kura-slo-alert-served-{}", Timestamp::now().as_nanosecond()));
    std::fs::create_dir_all(&dir).expect("spec dir");
    std::fs::write(dir.join("shop.yaml"), SPEC).expect("spec file");
    let receiver = sink(0).await;
    let config = Config { slos: vec![dir.clone()], interval: Duration::from_secs(3600), instance: "served".into() };
    let c = Arc::new(Controller::new(test.open().await, Source::None, config).expect("valid specs"));
    c.set_alerting(webhook_settings(&receiver));
    let public = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(slo::controller::run(Arc::clone(&c), public, admin, Duration::from_secs(1), async {
        let _ = stopped.await;
    }));
    // The loop's first cycle (no source: `no-data`) makes this replica the leader.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.is_leader() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Act: the source's answer says the fast page burns.
    let now = Timestamp::now();
    let spec = c.specs().first().cloned().expect("the spec");
    c.record(now, vec![Ok(burning_reading(&spec, now))]).await.expect("record");
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.requests().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Assert
    let sent = receiver.notifications();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].event, sent[0].tier.as_str(), sent[0].severity.as_str()),
        (Event::Trigger, "fast-page", "page")
    );
    let _ = stop.send(());
    server.await.expect("joined").expect("served");
    let _ = std::fs::remove_dir_all(&dir);
}
