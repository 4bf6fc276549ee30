//! The Alertmanager receiver against a real Alertmanager (Debian's `prometheus-alertmanager`),
//! started here on a free port with a null receiver, clustering off and a temporary storage
//! path; killed when the test ends.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;
use slo::alert::{self, Receiver, Settings, outbox};
use slo::eval::Status;

use super::support::{Backend, TestDb, burning, cycle, evaluation, spec, start as start_time};

const BINARY: &str = "/usr/bin/prometheus-alertmanager";

struct Alertmanager {
    base: String,
    child: Child,
    dir: PathBuf,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

async fn start() -> Alertmanager {
    assert!(
        std::path::Path::new(BINARY).exists(),
        "{BINARY} is missing: install Debian's prometheus-alertmanager to run this test"
    );
    let dir = std::env::temp_dir().join(format!("kura-alertmanager-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(dir.join("data")).expect("storage dir");
    let config = dir.join("alertmanager.yml");
    std::fs::write(&config, "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n").expect("config");
    let port = free_port();
    let child = Command::new(BINARY)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
    let am = Alertmanager { base: format!("http://127.0.0.1:{port}"), child, dir };
    let client = crate::support::client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if client.get(format!("{}/-/ready", am.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return am;
        }
        assert!(Instant::now() < deadline, "Alertmanager did not become ready on {}", am.base);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn alerts(base: &str) -> Vec<Value> {
    let v: Value = crate::support::get(format!("{base}/api/v2/alerts")).await.json().await.expect("json");
    v.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn alerts_posted_to_a_real_alertmanager_appear_in_its_api() {
    // Arrange
    let am = start().await;
    let test = TestDb::new(Backend::Sqlite).await;
    let db = test.db.clone();
    let settings =
        Settings { receivers: vec![Receiver::Alertmanager { base_url: am.base.clone() }], ..Settings::default() };
    let client = crate::support::client();
    let t0 = start_time();

    // Act: the page fires.
    alert::process(&db, &spec(), &[burning(t0)], t0, &settings).await.expect("process");
    let report = outbox::deliver_due(&db, &settings, &client, Timestamp::now()).await.expect("deliver");

    // Assert: Alertmanager has it, with the generated rules' labels.
    assert_eq!(report.delivered, 1, "{report:?} {:?}", outbox::rows(&db).await);
    let active = alerts(&am.base).await;
    assert_eq!(active.len(), 1, "{active:?}");
    let labels = &active[0]["labels"];
    assert_eq!(labels["alertname"], "ErrorBudgetBurn");
    assert_eq!(labels["slo"], "checkout-availability");
    assert_eq!(labels["journey"], "checkout");
    assert_eq!(labels["service"], "shop");
    assert_eq!(labels["severity"], "page");
    assert_eq!((labels["long_window"].as_str(), labels["short_window"].as_str()), (Some("1h"), Some("5m")));
    assert_eq!(active[0]["status"]["state"], "active");
    assert_eq!(active[0]["generatorURL"], "https://grafana.example/d/checkout-availability");

    // Act: it recovers; the resolve sends endsAt = now.
    let t1 = cycle(t0, 1);
    alert::process(&db, &spec(), &[evaluation(t1, Status::Ok, &[], false)], t1, &settings).await.expect("process");
    let resolved = outbox::deliver_due(&db, &settings, &client, Timestamp::now()).await.expect("deliver");

    // Assert: no longer active (Alertmanager lists a resolved alert until it is collected,
    // with its end in the past).
    assert_eq!(resolved.delivered, 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    for a in alerts(&am.base).await {
        let ends: Timestamp = a["endsAt"].as_str().expect("endsAt").parse().expect("RFC 3339");
        assert!(ends <= Timestamp::now(), "{a}");
    }
}
