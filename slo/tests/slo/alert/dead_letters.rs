//! The outbox per receiver: a receiver that is down, however long its backlog, never holds
//! back another's pages; a notification is dead-lettered after the bounded number of attempts
//! or at once when its receiver is no longer configured, and dead letters are counted, listed by
//! the API and shown on the dashboard.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;
use slo::alert::metrics::{AlertMetrics, DeadLetterLabels};
use slo::alert::outbox::{self, DeadReason, DeliveryState};
use slo::alert::{self, Event, Notification, Receiver, Secret, Settings};

use super::support::{SPEC, burning, sink, spec, start, webhook_settings};
use crate::support::{Backend, Setup, SpecDir, TestDb, client, serve_api};

/// A Slack receiver whose URL nothing answers (connection refused).
fn dead_slack() -> Receiver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    Receiver::Slack { url: Secret(format!("http://127.0.0.1:{port}/services/T0/B0/X")) }
}

fn notification(at: Timestamp) -> Notification {
    Notification {
        key: alert::alert_key("shop", "checkout-availability", "fast-page"),
        event: Event::Trigger,
        alertname: alert::BURN_ALERT.into(),
        service: "shop".into(),
        journey: "checkout".into(),
        slo: "checkout-availability".into(),
        tier: "fast-page".into(),
        severity: slo::math::Severity::Page,
        long_window: "1h".into(),
        short_window: "5m".into(),
        long_burn_rate: Some(50.0),
        short_burn_rate: Some(60.0),
        threshold: Some("14.4".into()),
        summary: "an older page".into(),
        labels: BTreeMap::new(),
        starts_at: at,
        ends_at: None,
        dashboard: None,
    }
}

async fn six_hundred_rows_for_a_dead_receiver_do_not_hold_back_a_page_for_a_live_one(backend: Backend) {
    // Arrange: Slack has been down for a while: 600 notifications wait for it.
    let test = TestDb::new(backend).await;
    let db = test.db.clone();
    let live = sink(0).await;
    let settings =
        Settings { receivers: vec![dead_slack(), webhook_settings(&live).receivers.remove(0)], ..Settings::default() };
    let now = start();
    let mut tx = db.begin_write().await.expect("a transaction");
    for _ in 0..600 {
        outbox::insert(&mut tx, "slack", &notification(now), now).await.expect("queued");
    }
    tx.commit().await.expect("committed");
    alert::process(&db, &spec(), &[burning(now)], now, &settings).await.expect("process");

    // Act
    let started = Instant::now();
    let report = outbox::deliver_due(&db, &settings, &client(), Timestamp::now()).await.expect("a pass");
    let took = started.elapsed();

    // Assert: the webhook has its page; Slack was tried once and keeps its backlog in order.
    assert_eq!(live.notifications().len(), 1, "{report:?}");
    assert_eq!((report.delivered, report.failed), (1, 1), "{report:?}");
    assert!(took < Duration::from_secs(5), "promptly: {took:?}");
    assert_eq!(outbox::depth(&db).await.expect("depth"), 601);
    let rows = outbox::rows(&db).await.expect("rows");
    assert_eq!((rows[0].receiver.as_str(), rows[0].attempts), ("slack", 1), "the oldest Slack row was tried");
    assert!(rows[1..600].iter().all(|r| r.attempts == 0), "the later ones wait behind it");
}

#[tokio::test]
async fn six_hundred_rows_for_a_dead_receiver_do_not_hold_back_a_page_for_a_live_one_on_sqlite() {
    six_hundred_rows_for_a_dead_receiver_do_not_hold_back_a_page_for_a_live_one(Backend::Sqlite).await;
}

#[tokio::test]
async fn six_hundred_rows_for_a_dead_receiver_do_not_hold_back_a_page_for_a_live_one_on_postgres() {
    six_hundred_rows_for_a_dead_receiver_do_not_hold_back_a_page_for_a_live_one(Backend::Postgres).await;
}

#[tokio::test]
async fn a_notification_is_dead_lettered_after_its_attempts_and_counted_listed_and_shown() {
    // Arrange: a webhook that always answers 500, three attempts allowed, fast retries.
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let failing = sink(usize::MAX).await;
    let settings = Settings { max_attempts: 3, ..webhook_settings(&failing) };
    let telemetry = telemetry::Metrics::new();
    let metrics = AlertMetrics::default();
    telemetry.register(|r| metrics.register_in(r));
    let now = start();
    alert::process(&db, &spec(), &[burning(now)], now, &settings).await.expect("process");

    // Act: the delivery task runs until the row is given up on.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(outbox::run(
        db.clone(),
        std::sync::Arc::new(settings.clone()),
        client(),
        metrics.clone(),
        || true,
        stopped,
    ));
    crate::support::eventually(Duration::from_secs(10), "a dead letter", || async {
        outbox::rows(&db).await.expect("rows").iter().all(|r| r.state == DeliveryState::Dead)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop.send(true);
    task.await.expect("the delivery task stops");

    // Assert: three attempts, then never again; counted, listed and shown.
    assert_eq!(failing.requests().len(), 3);
    let rows = outbox::rows(&db).await.expect("rows");
    assert_eq!(rows[0].attempts, 3);
    let why = rows[0].last_error.as_deref().expect("why");
    assert!(why.contains("gave up after 3 attempts") && why.contains("500"), "{why}");
    assert_eq!(outbox::depth(&db).await.expect("depth"), 0);
    let counted =
        metrics.dead_lettered.get_or_create(&DeadLetterLabels { receiver: "webhook".into(), reason: "attempts" }).get();
    assert_eq!(counted, 1);
    let exposition = telemetry.encode_prometheus();
    assert!(
        exposition.contains("slo_notifications_dead_lettered_total{receiver=\"webhook\",reason=\"attempts\"} 1"),
        "{exposition}"
    );
    let specs = SpecDir::new(SPEC);
    let c = Setup::new(vec![specs.0.clone()]).build(db.clone());
    let base = serve_api(&c, None).await;
    let dead: Value = client()
        .get(format!("{base}/api/v1/notifications?state=dead"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let pending: Value = client()
        .get(format!("{base}/api/v1/notifications?state=pending"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let bad = client().get(format!("{base}/api/v1/notifications?state=lost")).send().await.expect("request");
    let overview = client().get(format!("{base}/")).send().await.expect("request").text().await.expect("html");
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{dead}");
    assert_eq!((dead[0]["state"].as_str(), dead[0]["receiver"].as_str()), (Some("dead"), Some("webhook")));
    assert_eq!(dead[0]["slo"], "checkout-availability");
    assert_eq!(pending.as_array().map(Vec::len), Some(0));
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.json::<Value>().await.expect("problem")["field"], "state");
    let section = &overview[overview.find("Notifications given up on").expect("the dashboard shows dead letters")..];
    assert!(section.contains("checkout-availability") && section.contains("gave up after 3 attempts"), "{section}");
}

#[tokio::test]
async fn the_rows_of_a_receiver_no_longer_configured_are_dead_lettered_at_once() {
    // Arrange: a page queued for the webhook, then the webhook is removed from the flags.
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let webhook = sink(0).await;
    let now = start();
    alert::process(&db, &spec(), &[burning(now)], now, &webhook_settings(&webhook)).await.expect("process");
    let reconfigured = Settings { receivers: vec![dead_slack()], ..Settings::default() };

    // Act
    let report = outbox::deliver_due(&db, &reconfigured, &client(), Timestamp::now()).await.expect("a pass");

    // Assert
    assert_eq!(report.dead_lettered, vec![("webhook".to_owned(), DeadReason::Unconfigured)]);
    let rows = outbox::rows(&db).await.expect("rows");
    assert_eq!(rows[0].state, DeliveryState::Dead);
    assert_eq!(rows[0].last_error.as_deref(), Some("receiver webhook is no longer configured"));
    assert!(webhook.requests().is_empty());
    let again = outbox::deliver_due(&db, &reconfigured, &client(), Timestamp::now()).await.expect("a pass");
    assert!(again.dead_lettered.is_empty() && again.attempts.is_empty(), "never tried again: {again:?}");
}
