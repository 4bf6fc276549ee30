//! Alerting, black box: hand-built evaluations go through [`alert::process`] (the call every
//! controller cycle makes), the outbox delivers to receivers started by the test (axum on port
//! 0, and a real Alertmanager from Debian's `prometheus-alertmanager`), and the API's silence
//! endpoints are called over HTTP. Storage runs on SQLite and on PostgreSQL (see
//! [`crate::support::TestDb`]).

mod alertmanager;
mod controller;
mod dead_letters;
pub mod support;

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use sha2::Sha256;
use slo::alert::metrics::{AlertMetrics, NotificationLabels};
use slo::alert::{self, AlertState, Event, Notification, Receiver, Secret, Settings, outbox, silence};
use slo::eval::Status;
use support::{Backend, TestDb, burning, cycle, evaluation, sink, spec, webhook_settings};

const SECRET: &str = "whsec-test";

/// The key of the fast page of the test SLO.
fn fast_page_key() -> String {
    alert::alert_key("shop", "checkout-availability", "fast-page")
}

async fn deliver(db: &platform::Db, settings: &Settings) -> outbox::DeliveryReport {
    outbox::deliver_due(db, settings, &crate::support::client(), Timestamp::now()).await.expect("delivery pass")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_burning_evaluation_pages_the_webhook_with_a_valid_signature() {
    // Arrange
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let now = support::start();

    // Act
    let report = alert::process(&db, &spec(), &[burning(now)], now, &settings).await.expect("process");
    let delivered = deliver(&db, &settings).await;

    // Assert
    assert_eq!((report.enqueued, delivered.delivered), (1, 1), "{report:?}");
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    let timestamp = r.header("x-kura-timestamp").expect("timestamp header");
    let signature = r.header("x-kura-signature").expect("signature header");
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&r.body);
    assert_eq!(signature, format!("v1={}", hex(&mac.finalize().into_bytes())), "the signature verifies");
    let sent: i64 = timestamp.parse().expect("unix seconds");
    assert!((Timestamp::now().as_second() - sent).abs() < 60, "the timestamp is fresh");
    let n: Notification = serde_json::from_slice(&r.body).expect("the body is a notification");
    assert_eq!((n.event, n.tier.as_str(), n.severity.as_str()), (Event::Trigger, "fast-page", "page"));
    assert_eq!(n.key, fast_page_key());
    assert_eq!(n.labels.get("team").map(String::as_str), Some("checkout-team"), "spec labels ride along");
}

#[tokio::test]
async fn recovery_sends_a_resolve_with_the_same_key() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let t0 = support::start();
    alert::process(&db, &spec(), &[burning(t0)], t0, &settings).await.expect("process");
    deliver(&db, &settings).await;

    let t1 = cycle(t0, 1);
    alert::process(&db, &spec(), &[evaluation(t1, Status::Ok, &[], false)], t1, &settings).await.expect("process");
    deliver(&db, &settings).await;

    let events: Vec<(Event, String)> = receiver.notifications().into_iter().map(|n| (n.event, n.key)).collect();
    assert_eq!(events, vec![(Event::Trigger, fast_page_key()), (Event::Resolve, fast_page_key())]);
    let alerts = alert::list(&db).await.expect("list");
    assert_eq!(alerts.iter().find(|a| a.key == fast_page_key()).map(|a| a.state), Some(AlertState::Resolved));
}

#[tokio::test]
async fn the_same_state_next_cycle_sends_nothing() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let t0 = support::start();
    alert::process(&db, &spec(), &[burning(t0)], t0, &settings).await.expect("process");
    deliver(&db, &settings).await;

    let t1 = cycle(t0, 1);
    let again = alert::process(&db, &spec(), &[burning(t1)], t1, &settings).await.expect("process");
    deliver(&db, &settings).await;

    assert_eq!((again.transitions, again.enqueued), (0, 0), "{again:?}");
    assert_eq!(receiver.requests().len(), 1, "only the first cycle notified");
}

#[tokio::test]
async fn a_firing_alert_is_notified_again_after_the_renotify_interval() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = Settings { renotify_interval: Duration::from_secs(60), ..webhook_settings(&receiver) };
    let t0 = support::start();
    alert::process(&db, &spec(), &[burning(t0)], t0, &settings).await.expect("process");

    let before =
        alert::process(&db, &spec(), &[burning(cycle(t0, 1))], cycle(t0, 1), &settings).await.expect("process");
    let after = alert::process(&db, &spec(), &[burning(cycle(t0, 2))], cycle(t0, 2), &settings).await.expect("process");

    assert_eq!((before.enqueued, after.enqueued), (0, 1), "30 s later nothing; 60 s later a re-notification");
}

#[tokio::test]
async fn a_ticket_tier_is_pending_for_one_cycle_before_it_notifies() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let t0 = support::start();
    let ticket = |t| evaluation(t, Status::Warning, &["slow-ticket"], false);

    let first = alert::process(&db, &spec(), &[ticket(t0)], t0, &settings).await.expect("process");
    let second = alert::process(&db, &spec(), &[ticket(cycle(t0, 1))], cycle(t0, 1), &settings).await.expect("process");

    assert_eq!((first.enqueued, second.enqueued), (0, 1));
    let key = alert::alert_key("shop", "checkout-availability", "slow-ticket");
    let alerts = alert::list(&db).await.expect("list");
    assert_eq!(alerts.iter().find(|a| a.key == key).map(|a| a.state), Some(AlertState::Firing));
}

#[tokio::test]
async fn a_tier_with_a_pending_duration_fires_only_once_its_condition_has_held_that_long() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let mut specs = spec();
    for slo in &mut specs[0].journeys[0].slos {
        for tier in slo.alerting.tiers.iter_mut().filter(|t| t.name == "fast-page") {
            tier.pending = Some(SignedDuration::from_mins(2));
        }
    }
    let t0 = support::start();
    let page = |t| evaluation(t, Status::Burning, &["fast-page"], false);

    let mut enqueued = Vec::new();
    for n in 0..=4 {
        let at = cycle(t0, n);
        enqueued.push(alert::process(&db, &specs, &[page(at)], at, &settings).await.expect("process").enqueued);
    }

    // Cycles are 30 s apart: pending at 0 s, 30 s, 60 s, 90 s; fires at 120 s, as `for: 2m` would.
    assert_eq!(enqueued, [0, 0, 0, 0, 1]);
    let alerts = alert::list(&db).await.expect("list");
    assert_eq!(alerts.iter().find(|a| a.key == fast_page_key()).map(|a| a.state), Some(AlertState::Firing));
}

#[tokio::test]
async fn a_receiver_that_fails_three_times_still_gets_the_page_after_it_recovers() {
    // Arrange: the receiver answers 500 three times, then 200.
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(3).await;
    let settings = webhook_settings(&receiver);
    let now = support::start();
    alert::process(&db, &spec(), &[burning(now)], now, &settings).await.expect("process");

    // Act: the delivery task retries with backoff.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics = AlertMetrics::default();
    let task = tokio::spawn(outbox::run(
        db.clone(),
        std::sync::Arc::new(settings),
        crate::support::client(),
        metrics.clone(),
        || true,
        stopped,
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while receiver.requests().len() < 4 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(true);
    task.await.expect("the delivery task stops");

    // Assert
    let requests = receiver.requests();
    assert_eq!(requests.len(), 4, "three failures, then the delivery, then nothing more");
    let rows = outbox::rows(&db).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, outbox::DeliveryState::Delivered, "{rows:?}");
    assert_eq!(rows[0].attempts, 4);
    assert!(rows[0].last_error.as_deref().is_some_and(|e| e.contains("500")), "{rows:?}");
    assert_eq!(outbox::depth(&db).await.expect("depth"), 0);
    let count = |outcome| {
        metrics.notifications.get_or_create(&NotificationLabels { receiver: "webhook".into(), outcome }).get()
    };
    assert_eq!((count("failed"), count("delivered")), (3, 1), "slo_notifications_total");
    assert_eq!(metrics.outbox_depth.get(), 0, "slo_outbox_depth");
}

#[tokio::test]
async fn a_page_queued_before_a_crash_is_delivered_by_the_next_controller() {
    // Arrange: the transition and its outbox row are committed, then the "controller" is gone
    // before any delivery.
    let test = TestDb::new(Backend::Sqlite).await;
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let now = support::start();
    {
        let db = test.open().await;
        alert::process(&db, &spec(), &[burning(now)], now, &settings).await.expect("process");
        drop(db);
    }
    assert!(receiver.requests().is_empty());

    // Act: a new controller on the same file starts its delivery task.
    let db = test.open().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(outbox::run(
        db.clone(),
        std::sync::Arc::new(settings.clone()),
        crate::support::client(),
        Default::default(),
        || true,
        stopped,
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while receiver.requests().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    task.await.expect("the delivery task stops");

    // Assert: delivered once, and the restarted controller does not page again.
    assert_eq!(receiver.notifications().iter().map(|n| n.event).collect::<Vec<_>>(), vec![Event::Trigger]);
    let next = cycle(now, 1);
    let report = alert::process(&db, &spec(), &[burning(next)], next, &settings).await.expect("process");
    assert_eq!(report.enqueued, 0, "the firing state survived the restart");
}

#[tokio::test]
async fn a_firing_alert_whose_slo_leaves_the_specs_is_resolved() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let t0 = support::start();
    alert::process(&db, &spec(), &[burning(t0)], t0, &settings).await.expect("process");

    // The SLO is deleted from the spec (a reload); the next cycle evaluates nothing for it.
    let t1 = cycle(t0, 1);
    let report = alert::process(&db, &Vec::new(), &[], t1, &settings).await.expect("process");
    deliver(&db, &settings).await;

    assert_eq!(report.enqueued, 1, "{report:?}");
    let events: Vec<Event> = receiver.notifications().iter().map(|n| n.event).collect();
    assert_eq!(events, vec![Event::Trigger, Event::Resolve]);
    let alerts = alert::list(&db).await.expect("list");
    assert_eq!(alerts.iter().find(|a| a.key == fast_page_key()).map(|a| a.state), Some(AlertState::Resolved));
}

#[tokio::test]
async fn a_silence_suppresses_the_page_while_the_state_is_tracked() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let now = support::start();
    let matchers = vec![silence::Matcher { name: "journey".into(), value: "checkout".into() }];
    let end = now.checked_add(SignedDuration::from_hours(1)).expect("ts");
    let new = silence::NewSilence::parse(matchers, None, end, "kaito", "known incident", now).expect("valid");
    silence::create(&db, &new, now).await.expect("create");

    let report = alert::process(&db, &spec(), &[burning(now)], now, &settings).await.expect("process");
    deliver(&db, &settings).await;

    assert_eq!((report.enqueued, report.silenced), (0, 1), "{report:?}");
    assert!(receiver.requests().is_empty());
    let alerts = alert::list(&db).await.expect("list");
    assert_eq!(alerts.iter().find(|a| a.key == fast_page_key()).map(|a| a.state), Some(AlertState::Firing));
}

#[tokio::test]
async fn a_still_firing_alert_is_notified_once_its_silence_is_expired() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let now = support::start();
    let matchers = vec![silence::Matcher { name: "slo".into(), value: "checkout-availability".into() }];
    let end = now.checked_add(SignedDuration::from_hours(1)).expect("ts");
    let new = silence::NewSilence::parse(matchers, None, end, "kaito", "deploy", now).expect("valid");
    let s = silence::create(&db, &new, now).await.expect("create");
    alert::process(&db, &spec(), &[burning(now)], now, &settings).await.expect("process");

    silence::expire(&db, s.id, cycle(now, 1)).await.expect("expire").expect("exists");
    let report =
        alert::process(&db, &spec(), &[burning(cycle(now, 2))], cycle(now, 2), &settings).await.expect("process");

    assert_eq!(report.enqueued, 1, "{report:?}");
}

#[tokio::test]
async fn maintenance_suppresses_the_page() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let now = support::start();
    // A burn during maintenance: the evaluation reports the rates but the tier not firing;
    // even a (misreported) firing tier must not page while `in_maintenance`.
    let e = evaluation(now, Status::Ok, &["fast-page"], true);

    let report = alert::process(&db, &spec(), &[e], now, &settings).await.expect("process");
    deliver(&db, &settings).await;

    assert_eq!((report.transitions, report.enqueued), (0, 0), "{report:?}");
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn no_data_does_not_page_and_the_no_data_alert_fires_after_its_duration() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let t0 = support::start();
    alert::process(&db, &spec(), &[burning(t0)], t0, &settings).await.expect("process");
    deliver(&db, &settings).await;

    // The source goes away: the page neither resolves nor re-fires; the no-data alert waits
    // 10 minutes (the spec's `no_data`), then fires as a ticket.
    let at = |mins: i64| t0.checked_add(SignedDuration::from_mins(mins)).expect("ts");
    let no_data = |t| evaluation(t, Status::NoData, &[], false);
    let early = alert::process(&db, &spec(), &[no_data(at(1))], at(1), &settings).await.expect("process");
    let late = alert::process(&db, &spec(), &[no_data(at(11))], at(11), &settings).await.expect("process");
    deliver(&db, &settings).await;

    assert_eq!((early.enqueued, late.enqueued), (0, 1));
    let sent = receiver.notifications();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!((sent[1].alertname.as_str(), sent[1].severity.as_str()), ("SloNoData", "ticket"));
    let alerts = alert::list(&db).await.expect("list");
    assert_eq!(alerts.iter().find(|a| a.key == fast_page_key()).map(|a| a.state), Some(AlertState::Firing));
}

#[tokio::test]
async fn pagerduty_gets_a_trigger_and_a_resolve_with_the_alert_key_as_dedup_key() {
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let pd = sink(0).await;
    let slack = sink(0).await;
    let settings = Settings {
        receivers: vec![
            Receiver::PagerDuty { base_url: pd.base.clone(), routing_key: Secret("R0UTE".into()) },
            Receiver::Slack { url: Secret(format!("{}/services/T0/B0/X", slack.base)) },
        ],
        ..webhook_settings(&pd)
    };
    let t0 = support::start();
    alert::process(&db, &spec(), &[burning(t0)], t0, &settings).await.expect("process");
    let t1 = cycle(t0, 1);
    alert::process(&db, &spec(), &[evaluation(t1, Status::Ok, &[], false)], t1, &settings).await.expect("process");

    let report = deliver(&db, &settings).await;

    assert_eq!(report.delivered, 4, "{report:?}");
    let events: Vec<Value> = pd.requests().iter().map(|r| serde_json::from_slice(&r.body).expect("json")).collect();
    assert!(pd.requests().iter().all(|r| r.path == "/v2/enqueue"));
    assert_eq!(events[0]["event_action"], "trigger");
    assert_eq!(events[1]["event_action"], "resolve");
    for e in &events {
        assert_eq!(e["routing_key"], "R0UTE");
        assert_eq!(e["dedup_key"], fast_page_key().as_str());
    }
    assert_eq!(events[0]["payload"]["severity"], "critical");
    assert_eq!(events[0]["payload"]["source"], "kura-slo/shop");
    assert!(events[0]["payload"]["summary"].as_str().is_some_and(|s| s.contains("checkout-availability")));
    let messages: Vec<Value> =
        slack.requests().iter().map(|r| serde_json::from_slice(&r.body).expect("json")).collect();
    assert_eq!(messages.len(), 2);
    assert!(messages[0]["text"].as_str().is_some_and(|t| t.contains("FIRING")));
    assert!(messages[1]["text"].as_str().is_some_and(|t| t.contains("RESOLVED")));
    assert!(messages[0]["blocks"].as_array().is_some_and(|b| !b.is_empty()));
}

/// The whole lifecycle's storage: alert state, outbox rows, silences.
async fn storage_round_trip(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = test.db.clone();
    let receiver = sink(0).await;
    let settings = webhook_settings(&receiver);
    let t0 = support::start();

    alert::process(&db, &spec(), &[burning(t0)], t0, &settings).await.expect("process");
    let firing = alert::list(&db).await.expect("list");
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0].state, AlertState::Firing);
    assert!(firing[0].notified_at.is_some() && firing[0].firing_since.is_some());
    assert_eq!(outbox::depth(&db).await.expect("depth"), 1);
    assert_eq!(deliver(&db, &settings).await.delivered, 1);
    assert_eq!(outbox::depth(&db).await.expect("depth"), 0);

    let t1 = cycle(t0, 1);
    alert::process(&db, &spec(), &[evaluation(t1, Status::Ok, &[], false)], t1, &settings).await.expect("process");
    let resolved = alert::list(&db).await.expect("list");
    assert_eq!((resolved[0].state, resolved[0].notified_at), (AlertState::Resolved, None));
    assert_eq!(deliver(&db, &settings).await.delivered, 1);

    let end = t0.checked_add(SignedDuration::from_hours(2)).expect("ts");
    let matchers = vec![silence::Matcher { name: "team".into(), value: "checkout-team".into() }];
    let new = silence::NewSilence::parse(matchers.clone(), None, end, "kaito", "load test", t0).expect("valid");
    let s = silence::create(&db, &new, t0).await.expect("create");
    assert_eq!(s.matchers, matchers);
    assert_eq!(silence::list(&db, t0).await.expect("list"), vec![s.clone()]);
    let expired = silence::expire(&db, s.id, t1).await.expect("expire").expect("exists");
    assert_eq!(expired.ends_at.as_millisecond(), t1.as_millisecond());
    assert!(silence::list(&db, t1).await.expect("list").is_empty());
    assert!(silence::expire(&db, s.id + 1000, t1).await.expect("expire").is_none());
}

#[tokio::test]
async fn alert_state_outbox_and_silences_are_stored_on_sqlite() {
    storage_round_trip(Backend::Sqlite).await;
}

#[tokio::test]
async fn alert_state_outbox_and_silences_are_stored_on_postgres() {
    storage_round_trip(Backend::Postgres).await;
}

#[tokio::test]
async fn silence_writes_need_the_bearer_token_and_reads_do_not() {
    let api = support::api("t0ken").await;
    let client = crate::support::client();
    let end = Timestamp::now().checked_add(SignedDuration::from_hours(1)).expect("ts").to_string();
    let body = serde_json::json!({
        "matchers": [{"name": "journey", "value": "checkout"}],
        "ends_at": end, "author": "kaito", "comment": "investigating"
    });
    let url = format!("{}/api/v1/silences", api.base);

    let anonymous = client.post(&url).json(&body).send().await.expect("request");
    let wrong = client.post(&url).bearer_auth("nope").json(&body).send().await.expect("request");
    let created = client.post(&url).bearer_auth("t0ken").json(&body).send().await.expect("request");

    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
    assert_eq!(anonymous.json::<Value>().await.expect("problem")["type"], "/problems/unauthorized");
    assert_eq!(wrong.status(), 401);
    assert_eq!(created.status(), 201);
    let s: Value = created.json().await.expect("silence");
    let id = s["id"].as_i64().expect("id");
    let listed: Value = client.get(&url).send().await.expect("request").json().await.expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    let delete = format!("{url}/{id}");
    assert_eq!(client.delete(&delete).send().await.expect("request").status(), 401);
    assert_eq!(client.delete(&delete).bearer_auth("t0ken").send().await.expect("request").status(), 200);
    let listed: Value = client.get(&url).send().await.expect("request").json().await.expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(0));
    let missing = client.delete(format!("{url}/999999")).bearer_auth("t0ken").send().await.expect("request");
    assert_eq!(missing.status(), 404);
    let bad = client.post(&url).bearer_auth("t0ken").json(&serde_json::json!({"matchers": []})).send().await;
    assert_eq!(bad.expect("request").status(), 422);
    let alerts = client.get(format!("{}/api/v1/alerts", api.base)).send().await.expect("request");
    assert_eq!(alerts.status(), 200);
    let doc: Value =
        client.get(format!("{}/openapi.json", api.base)).send().await.expect("request").json().await.expect("json");
    assert!(doc["paths"]["/api/v1/silences/{id}"]["delete"].is_object(), "documented in OpenAPI");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer", "the token is documented");
}

#[tokio::test]
async fn a_lowercase_bearer_scheme_is_accepted_and_the_token_checked_before_the_body() {
    let api = support::api("t0ken").await;
    let client = crate::support::client();
    let end = Timestamp::now().checked_add(SignedDuration::from_hours(1)).expect("ts").to_string();
    let body = serde_json::json!({
        "matchers": [{"name": "journey", "value": "checkout"}],
        "ends_at": end, "author": "kaito", "comment": "investigating"
    });
    let url = format!("{}/api/v1/silences", api.base);

    let lowercase = client.post(&url).header("authorization", "bearer t0ken").json(&body).send().await;
    let anonymous_garbage = client.post(&url).header("content-type", "application/json").body("{not json").send().await;

    assert_eq!(lowercase.expect("request").status(), 201, "RFC 9110: the scheme is case-insensitive");
    let anonymous_garbage = anonymous_garbage.expect("request");
    assert_eq!(anonymous_garbage.status(), 401, "no token: refused before the body is read");
}

#[tokio::test]
async fn a_malformed_silence_body_is_400_and_a_wrong_shape_422_naming_the_member() {
    let api = support::api("t0ken").await;
    let client = crate::support::client();
    let url = format!("{}/api/v1/silences", api.base);
    let post = |body: &'static str| {
        client.post(&url).bearer_auth("t0ken").header("content-type", "application/json").body(body).send()
    };

    let broken = post("{\"matchers\": [").await.expect("request");
    let missing_end =
        post(r#"{"matchers": [{"name": "slo", "value": "a"}], "author": "k", "comment": "c"}"#).await.expect("request");
    let bad_end =
        post(r#"{"matchers": [{"name": "slo", "value": "a"}], "ends_at": "soon", "author": "k", "comment": "c"}"#)
            .await
            .expect("request");

    assert_eq!(broken.status(), 400);
    assert_eq!(broken.json::<Value>().await.expect("problem")["type"], "/problems/malformed-json");
    assert_eq!(missing_end.status(), 422);
    let problem: Value = missing_end.json().await.expect("problem");
    assert_eq!((problem["type"].as_str(), problem["field"].as_str()), (Some("/problems/validation"), Some("/ends_at")));
    assert_eq!(bad_end.status(), 422);
    assert_eq!(bad_end.json::<Value>().await.expect("problem")["field"], "/ends_at");
}

/// Everything written to the log while the guard lives, as text.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLog {
    type Writer = CapturedLog;

    fn make_writer(&'a self) -> CapturedLog {
        self.clone()
    }
}

#[tokio::test]
async fn a_failed_slack_delivery_keeps_the_webhook_url_out_of_the_logs_and_the_outbox() {
    // Arrange: a Slack incoming webhook whose URL (the secret) nothing answers, and the log as
    // the controller writes it (its default filter, this crate at every level).
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let secret = "XOXB-T0P-S3CRET";
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let settings = Settings {
        receivers: vec![Receiver::Slack { url: Secret(format!("http://127.0.0.1:{port}/services/T0/B0/{secret}")) }],
        ..Settings::default()
    };
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info,sqlx=warn,slo=trace"))
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let now = support::start();

    // Act
    alert::process(&db, &spec(), &[burning(now)], now, &settings).await.expect("process");
    let report = deliver(&db, &settings).await;
    tracing::info!(?settings, "the settings, as a careless log line would show them");

    // Assert: the attempt failed and says why, without the URL.
    assert_eq!(report.failed, 1, "{report:?}");
    let text = log.text();
    assert!(text.contains("notification failed"), "the failure is logged: {text}");
    let rows: Vec<(String, Option<String>)> = sqlx::query_as("select payload, last_error from slo_outbox")
        .fetch_all(db.reader())
        .await
        .expect("the outbox rows");
    let stored = format!("{rows:?}");
    assert!(stored.contains("slack"), "the error is stored: {stored}");
    assert!(stored.to_lowercase().contains("connect"), "with its cause: {stored}");
    assert!(!text.contains(secret), "the log holds the Slack secret:\n{text}");
    assert!(!stored.contains(secret), "the outbox holds the Slack secret: {stored}");
}

#[tokio::test]
async fn a_silence_with_33_matchers_or_a_century_long_end_is_a_validation_problem_naming_the_member() {
    let api = support::api("t0ken").await;
    let client = crate::support::client();
    let url = format!("{}/api/v1/silences", api.base);
    let in_days = |d: i64| Timestamp::now().checked_add(SignedDuration::from_hours(24 * d)).expect("ts").to_string();
    let matchers =
        |n: usize| (0..n).map(|i| serde_json::json!({"name": "slo", "value": format!("s{i}")})).collect::<Vec<_>>();
    let body = |n: usize, end: String| serde_json::json!({"matchers": matchers(n), "ends_at": end, "author": "kaito", "comment": "freeze"});

    let too_many = client.post(&url).bearer_auth("t0ken").json(&body(33, in_days(1))).send().await.expect("request");
    let a_century =
        client.post(&url).bearer_auth("t0ken").json(&body(1, in_days(36_500))).send().await.expect("request");
    let at_the_bounds =
        client.post(&url).bearer_auth("t0ken").json(&body(32, in_days(89))).send().await.expect("request");

    for (response, field) in [(too_many, "/matchers"), (a_century, "/ends_at")] {
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.expect("problem");
        assert_eq!((problem["type"].as_str(), problem["field"].as_str()), (Some("/problems/validation"), Some(field)));
    }
    assert_eq!(at_the_bounds.status(), 201);
}
