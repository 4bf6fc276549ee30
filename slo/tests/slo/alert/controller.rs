//! Alerting wired into the controller: a served controller (API, evaluation loop and outbox
//! delivery task, as `slo controller` runs them) is handed a burning reading, and the page
//! reaches the webhook without the test delivering anything itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use slo::alert::Event;
use slo::source::{Counts, Query, Reading};

use super::support::{Backend, SPEC, TestDb, sink, webhook_settings};
use crate::support::{Running, Setup, SpecDir};

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
    let test = TestDb::new(Backend::Sqlite).await;
    let specs = SpecDir::new(SPEC);
    let receiver = sink(0).await;
    let c = Setup {
        interval: Duration::from_secs(3600),
        alerting: webhook_settings(&receiver),
        ..Setup::new(vec![specs.0.clone()])
    }
    .build(test.db.clone());
    let mut server = Running::start(Arc::clone(&c), None).await;
    // The loop's first cycle (no source: `no-data`) makes this replica the leader.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.is_leader() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Act: the source's answer says the fast page burns.
    let now = Timestamp::now();
    let spec = c.specs().first().cloned().expect("the spec");
    let key = spec.key(spec.slos().next().expect("an SLO"));
    c.record(now, [(key, Ok(burning_reading(&spec, now)))].into()).await.expect("record");
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
    server.shutdown().await;
}

#[tokio::test]
async fn a_path_dashboard_template_links_the_page_to_the_controllers_external_url() {
    // Arrange: the spec links alerts to the controller's own SLO page.
    let test = TestDb::new(Backend::Sqlite).await;
    let specs =
        SpecDir::new(&SPEC.replace("dashboard: https://grafana.example/d/{slo}", "dashboard: /slos/{service}/{slo}"));
    let receiver = sink(0).await;
    let c = Setup {
        alerting: webhook_settings(&receiver),
        external_url: "https://slo.example.com".into(),
        ..Setup::new(vec![specs.0.clone()])
    }
    .build(test.db.clone());
    let now = Timestamp::now();
    let spec = c.specs().first().cloned().expect("the spec");

    // Act
    let key = spec.key(spec.slos().next().expect("an SLO"));
    c.record(now, [(key, Ok(burning_reading(&spec, now)))].into()).await.expect("record");
    slo::alert::outbox::deliver_due(c.db(), &c.alerting(), &crate::support::client(), Timestamp::now())
        .await
        .expect("a delivery pass");

    // Assert
    let sent = receiver.notifications();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].dashboard.as_deref(), Some("https://slo.example.com/slos/shop/checkout-availability"));
}
