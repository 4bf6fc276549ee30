//! The deploy gate end to end: a controller with a GitHub App configured against a fake GitHub
//! ([`super::fake_github`]), driven with signed webhooks shaped like GitHub's documented
//! examples, `POST /api/v1/gate`, the override API and the `slo gate` binary. Storage
//! behaviours run on SQLite and PostgreSQL.

use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use slo::controller::Controller;
use slo::github::client::RetryPolicy;
use slo::github::{GithubClient, GithubConfig};
use slo::server::ApiConfig;

use super::fake_github::FakeGithub;
use super::support::{self, Backend, Running, Setup, SpecDir, TestDb, eventually};

const SECRET: &str = "It's a Secret to Everybody";
const TOKEN: &str = "api-token";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const PREVIOUS_SHA: &str = "89abcdef0123456789abcdef0123456789abcdef";

const SPEC: &str = r#"
service: shop
time_zone: UTC
error_budget_policy:
  reject: { budget_remaining_below: 10, burn_rate_above: 14.4, burn_window: 1h }
  exceptions: [hotfix, rollback, security]
  gate:
    environments:
      production: {}
      staging: { shadow: true }
    max_staleness: 5m
    hold_deadline: 2s
    verification: { window: 30m, rollback_workflow: rollback.yml }
journeys:
  checkout:
    slos:
      - id: checkout-availability
        objective: 99.9
        window: 28d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="checkout", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="checkout"}
"#;

/// An RSA key for the App, made once per test run (a committed key would be a leaked secret
/// as far as the secret scanners know).
fn app_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let out = Command::new("openssl").args(["genrsa", "-traditional", "2048"]).output().expect("openssl runs");
        assert!(out.status.success(), "openssl genrsa: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    })
}

/// How full the budget is: the share of bad events in every range.
#[derive(Debug, Clone, Copy)]
enum Budget {
    /// 0.01 % bad: 90 % of a 99.9 % budget left, burning at 0.1×.
    Healthy,
    /// 50 % bad: spent, burning at 500×.
    Exhausted,
}

struct Gate {
    running: Running,
    fake: FakeGithub,
    _db: TestDb,
    _dir: SpecDir,
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
        max_wait: Duration::from_secs(2),
    }
}

async fn github_config(fake: &FakeGithub) -> GithubConfig {
    let client = GithubClient::new(&fake.base, 1234, app_key(), support::client())
        .expect("a GitHub client")
        .with_retry(fast_retry());
    let mut config = GithubConfig::new(SECRET.as_bytes().to_vec(), Some(client));
    config.poll_interval = Duration::from_millis(50);
    config.hold_recheck = Duration::from_millis(300);
    config
}

impl Gate {
    async fn start(backend: Backend, budget: Option<Budget>) -> Gate {
        let db = TestDb::new(backend).await;
        let dir = SpecDir::new(SPEC);
        let fake = FakeGithub::start().await;
        let controller = Setup::new(vec![dir.file()]).build(db.db.clone());
        let config = ApiConfig {
            api_token: Some(platform::auth::ApiToken::new(TOKEN)),
            github: Some(Arc::new(github_config(&fake).await)),
        };
        let running = start(controller, config).await;
        if let Some(b) = budget {
            record(&running.controller, b).await;
        }
        Gate { running, fake, _db: db, _dir: dir }
    }

    fn controller(&self) -> &Arc<Controller> {
        &self.running.controller
    }

    /// The newest decision for `shop` once its delivery is `state`: the worker records it after
    /// GitHub answers, so just after the fake has seen the call it may still be pending.
    async fn newest_once_delivery_is(&self, state: &str) -> Value {
        let what = format!("the delivery is recorded as {state}");
        eventually(Duration::from_secs(5), &what, || async move {
            self.decisions("service=shop").await.first().is_some_and(|d| d["delivery"] == state)
        })
        .await;
        self.decisions("service=shop").await.remove(0)
    }

    async fn decisions(&self, query: &str) -> Vec<Value> {
        let r = support::get(format!("{}/api/v1/decisions?{query}", self.running.base)).await;
        assert_eq!(r.status(), 200);
        r.json().await.expect("decisions")
    }
}

/// Serves `controller` and waits for the evaluation loop's first cycle (no source: every SLO
/// `no-data`), so that what a test records afterwards is what the gate reads for the next 30 s.
async fn start(controller: Arc<Controller>, config: ApiConfig) -> Running {
    let running = Running::start_with(controller, config).await;
    let c = Arc::clone(&running.controller);
    eventually(Duration::from_secs(10), "the first evaluation cycle", move || {
        let c = Arc::clone(&c);
        async move { !c.current().is_empty() }
    })
    .await;
    running
}

async fn record(c: &Controller, budget: Budget) {
    let bad = match budget {
        Budget::Healthy => 0.0001,
        Budget::Exhausted => 0.5,
    };
    let now = Timestamp::now();
    c.record(now, support::readings(c, now, |_, _| bad)).await.expect("recorded");
}

/// A `deployment_protection_rule` payload as GitHub documents it (with the `sha` and `ref`
/// real deliveries add).
fn protection_rule(run: u64, environment: &str, labels: &[&str]) -> Value {
    let labels: Vec<Value> = labels.iter().map(|l| json!({"id": 1, "name": l, "color": "f29513"})).collect();
    json!({
        "action": "requested",
        "environment": environment,
        "event": "workflow_dispatch",
        "sha": SHA,
        "ref": "main",
        "deployment_callback_url": format!("https://api.github.com/repos/kura-dev/shop/actions/runs/{run}/deployment_protection_rule"),
        "deployment": {"url": "https://api.github.com/repos/kura-dev/shop/deployments/1", "id": 1, "sha": SHA, "ref": "main", "task": "deploy", "environment": environment, "creator": {"login": "aiko"}},
        "pull_requests": [{"number": 7, "state": "open", "labels": labels}],
        "repository": {"id": 1296269, "name": "shop", "full_name": "kura-dev/shop", "private": false, "owner": {"login": "kura-dev"}},
        "organization": {"login": "kura-dev"},
        "installation": {"id": 77, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc="},
        "sender": {"login": "aiko", "type": "User"},
    })
}

fn push(sha: &str) -> Value {
    json!({
        "ref": "refs/heads/main", "before": PREVIOUS_SHA, "after": sha, "created": false, "deleted": false, "forced": false,
        "head_commit": {"id": sha, "message": "Print labels faster\n\nSigned-off-by: Aiko <aiko@example.com>", "timestamp": "2026-06-01T12:00:00+09:00"},
        "repository": {"id": 1296269, "name": "shop", "full_name": "kura-dev/shop"},
        "installation": {"id": 77}, "sender": {"login": "aiko"},
    })
}

fn deployment_status(id: u64, sha: &str, state: &str) -> Value {
    json!({
        "action": "created",
        "deployment_status": {"id": 9, "state": state, "environment": "production", "creator": {"login": "github-actions[bot]"}},
        "deployment": {"id": id, "sha": sha, "ref": "main", "task": "deploy", "environment": "production"},
        "repository": {"id": 1296269, "name": "shop", "full_name": "kura-dev/shop"},
        "installation": {"id": 77}, "sender": {"login": "github-actions[bot]"},
    })
}

/// Sends a webhook signed as GitHub signs it.
async fn send(base: &str, event: &str, delivery: &str, body: &Value) -> (u16, Value) {
    let raw = serde_json::to_vec(body).expect("json");
    let signature = slo::github::verify::sign(SECRET.as_bytes(), &raw);
    send_raw(base, event, delivery, raw, Some(&signature)).await
}

async fn send_raw(base: &str, event: &str, delivery: &str, raw: Vec<u8>, signature: Option<&str>) -> (u16, Value) {
    let mut request = support::client()
        .post(format!("{base}/webhooks/github"))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery)
        .header("X-GitHub-Hook-ID", "1")
        .header("User-Agent", "GitHub-Hookshot/abc")
        .header("Content-Type", "application/json")
        .body(raw);
    if let Some(s) = signature {
        request = request.header("X-Hub-Signature-256", s);
    }
    let r = request.send().await.expect("answered");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn deliveries(c: &Controller) -> i64 {
    use sqlx::Row;
    let row =
        sqlx::query("select count(*) as n from slo_github_delivery").fetch_one(c.db().reader()).await.expect("count");
    row.try_get::<i64, _>("n").expect("n")
}

async fn wait_for_reviews(fake: &FakeGithub, n: usize) -> Vec<super::fake_github::Received> {
    let f = fake.clone();
    eventually(Duration::from_secs(15), "the review call", move || {
        let f = f.clone();
        async move { f.reviews().len() >= n }
    })
    .await;
    fake.reviews()
}

// --- protection rules -------------------------------------------------------------------

async fn a_healthy_budget_approves_the_protection_rule_with_an_explanatory_comment(backend: Backend) {
    let gate = Gate::start(backend, Some(Budget::Healthy)).await;

    let (status, body) =
        send(&gate.running.base, "deployment_protection_rule", "d-1", &protection_rule(1001, "production", &[])).await;
    let reviews = wait_for_reviews(&gate.fake, 1).await;

    assert_eq!((status, body["status"].as_str()), (202, Some("accepted")));
    assert_eq!(reviews.len(), 1);
    let review = &reviews[0];
    assert_eq!(review.method, "POST");
    assert_eq!(review.path, "/repos/kura-dev/shop/actions/runs/1001/deployment_protection_rule");
    assert_eq!(review.body["state"], "approved");
    assert_eq!(review.body["environment_name"], "production");
    let comment = review.body["comment"].as_str().expect("a comment");
    assert!(comment.chars().count() <= 1024);
    for part in ["SLO gate approved", "checkout-availability", "% |", "14.4", "[Dashboard](", "/deploys/shop)"] {
        assert!(comment.contains(part), "`{part}` missing from the comment:\n{comment}");
    }
    assert!(review.authorization.as_deref().is_some_and(|a| a.contains("ghs_fake77")), "an installation token");
    assert_eq!(gate.fake.calls("/app/installations/77/access_tokens").len(), 0, "token exchanges are not API calls");
    assert!(gate.fake.received().iter().any(|r| r.path == "/app/installations/77/access_tokens"));
    assert!(gate.fake.calls("/commits/").is_empty(), "an approval reads no commit from GitHub");
    let stored = gate.newest_once_delivery_is("delivered").await;
    assert_eq!(stored["verdict"], "approve");
}

#[tokio::test]
async fn a_healthy_budget_approves_the_protection_rule_with_an_explanatory_comment_on_sqlite() {
    a_healthy_budget_approves_the_protection_rule_with_an_explanatory_comment(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_healthy_budget_approves_the_protection_rule_with_an_explanatory_comment_on_postgres() {
    a_healthy_budget_approves_the_protection_rule_with_an_explanatory_comment(Backend::Postgres).await;
}

async fn an_exhausted_budget_rejects(backend: Backend) {
    let gate = Gate::start(backend, Some(Budget::Exhausted)).await;

    send(&gate.running.base, "deployment_protection_rule", "d-2", &protection_rule(1002, "production", &[])).await;
    let reviews = wait_for_reviews(&gate.fake, 1).await;

    assert_eq!(reviews[0].body["state"], "rejected");
    let comment = reviews[0].body["comment"].as_str().expect("a comment");
    assert!(comment.contains("of the error budget left, below the policy's 10%"), "{comment}");
    assert!(comment.contains("above the policy's 14.4×"), "{comment}");
}

#[tokio::test]
async fn an_exhausted_budget_rejects_on_sqlite() {
    an_exhausted_budget_rejects(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_exhausted_budget_rejects_on_postgres() {
    an_exhausted_budget_rejects(Backend::Postgres).await;
}

#[tokio::test]
async fn a_hotfix_label_under_a_policy_that_exempts_it_approves_and_is_marked_as_an_exception() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Exhausted)).await;

    send(&gate.running.base, "deployment_protection_rule", "d-3", &protection_rule(1003, "production", &["hotfix"]))
        .await;
    let reviews = wait_for_reviews(&gate.fake, 1).await;

    assert_eq!(reviews[0].body["state"], "approved");
    assert!(reviews[0].body["comment"].as_str().expect("comment").contains("exception `hotfix`"));
    let stored = gate.decisions("service=shop").await;
    assert_eq!(stored[0]["exception"], "hotfix");
    assert_eq!(stored[0]["labels"], json!(["hotfix"]));
}

#[tokio::test]
async fn a_kura_exception_trailer_on_the_deployed_commit_lifts_a_protection_rules_rejection() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Exhausted)).await;
    let base = gate.running.base.clone();
    // GitHub cannot show the commit: judged without trailers, so the rejection stands.
    gate.fake.fail_next("/repos/kura-dev/shop/commits/", 404, &[]);
    send(&base, "deployment_protection_rule", "t-1", &protection_rule(1040, "production", &[])).await;
    let first = wait_for_reviews(&gate.fake, 1).await;
    assert_eq!(first[0].body["state"], "rejected");

    gate.fake.set_commit_message(
        SHA,
        "Stop double labels\n\nThe printer jammed.\n\nKura-Exception: hotfix\nSigned-off-by: Aiko <a@k>\n",
    );
    send(&base, "deployment_protection_rule", "t-2", &protection_rule(1041, "production", &[])).await;
    let reviews = wait_for_reviews(&gate.fake, 2).await;

    let second = reviews.iter().find(|r| r.path.contains("/runs/1041/")).expect("run 1041 reviewed");
    assert_eq!(second.body["state"], "approved");
    assert!(second.body["comment"].as_str().expect("comment").contains("exception `hotfix`"));
    let commit_reads = gate.fake.calls(&format!("/repos/kura-dev/shop/commits/{SHA}"));
    assert_eq!(commit_reads.len(), 2, "the commit is read once per rejected protection rule");
    assert!(
        commit_reads
            .iter()
            .all(|r| r.method == "GET" && r.authorization.as_deref().is_some_and(|a| a.contains("ghs_fake77")))
    );
    let stored = gate.newest_once_delivery_is("delivered").await;
    assert_eq!(stored["exception"], "hotfix");
}

#[tokio::test]
async fn stale_data_holds_with_status_reports_then_rejects_with_a_reason_at_the_deadline() {
    let gate = Gate::start(Backend::Sqlite, None).await;
    // Evaluated ten minutes ago: older than the policy's 5m.
    let c = gate.controller();
    let then = Timestamp::now() - SignedDuration::from_mins(10);
    c.record(then, support::readings(c, then, |_, _| 0.0001)).await.expect("recorded");

    send(&gate.running.base, "deployment_protection_rule", "d-4", &protection_rule(1004, "production", &[])).await;
    let reviews = wait_for_reviews(&gate.fake, 1).await;

    let reports: Vec<_> =
        gate.fake.calls("/deployment_protection_rule").into_iter().filter(|r| r.body.get("state").is_none()).collect();
    assert!(!reports.is_empty(), "a status report while holding");
    assert!(reports[0].body["comment"].as_str().expect("comment").contains("SLO gate held"));
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].body["state"], "rejected");
    let comment = reviews[0].body["comment"].as_str().expect("comment");
    assert!(comment.contains("hold deadline") && comment.contains("more than the policy's 5m"), "{comment}");
}

#[tokio::test]
async fn shadow_mode_approves_and_says_it_would_have_rejected() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Exhausted)).await;

    send(&gate.running.base, "deployment_protection_rule", "d-5", &protection_rule(1005, "staging", &[])).await;
    let reviews = wait_for_reviews(&gate.fake, 1).await;

    assert_eq!(reviews[0].body["state"], "approved");
    assert!(reviews[0].body["comment"].as_str().expect("comment").contains("would have **rejected**"));
    let stored = gate.decisions("environment=staging").await;
    assert_eq!((stored[0]["verdict"].as_str(), stored[0]["would_have"].as_str()), (Some("approve"), Some("reject")));
}

// --- bad webhooks -------------------------------------------------------------------------

#[tokio::test]
async fn a_wrong_or_missing_signature_is_refused_with_401_and_nothing_is_stored() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Healthy)).await;
    let raw = serde_json::to_vec(&protection_rule(1006, "production", &[])).expect("json");
    let wrong = slo::github::verify::sign(b"another secret", &raw);

    let (missing, problem) = send_raw(&gate.running.base, "deployment_protection_rule", "d-6", raw.clone(), None).await;
    let (wrong, _) = send_raw(&gate.running.base, "deployment_protection_rule", "d-7", raw, Some(&wrong)).await;

    assert_eq!((missing, wrong), (401, 401));
    assert_eq!(problem["type"].as_str().map(|t| t.ends_with("/invalid-signature")), Some(true), "{problem}");
    assert_eq!(deliveries(gate.controller()).await, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(gate.fake.received().is_empty());
}

#[tokio::test]
async fn malformed_json_is_a_400_and_unknown_events_are_accepted_and_ignored() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Healthy)).await;
    let raw = b"{\"action\": \"requested\",".to_vec();
    let signature = slo::github::verify::sign(SECRET.as_bytes(), &raw);

    let (malformed, problem) =
        send_raw(&gate.running.base, "deployment_protection_rule", "d-8", raw, Some(&signature)).await;
    let (unknown, body) =
        send(&gate.running.base, "issues", "d-9", &json!({"action": "opened", "issue": {"number": 1}})).await;
    let (ping, _) =
        send(&gate.running.base, "ping", "d-10", &json!({"zen": "Keep it logically awesome.", "hook_id": 1})).await;

    assert_eq!(malformed, 400);
    assert_eq!(problem["type"].as_str().map(|t| t.ends_with("/malformed-json")), Some(true), "{problem}");
    assert_eq!((unknown, body["status"].as_str(), ping), (202, Some("ignored"), 202));
    assert_eq!(deliveries(gate.controller()).await, 0);
}

async fn a_redelivery_never_causes_a_second_review_call(backend: Backend) {
    let gate = Gate::start(backend, Some(Budget::Healthy)).await;
    let payload = protection_rule(1011, "production", &[]);

    let (first, _) = send(&gate.running.base, "deployment_protection_rule", "d-11", &payload).await;
    wait_for_reviews(&gate.fake, 1).await;
    let (again, body) = send(&gate.running.base, "deployment_protection_rule", "d-11", &payload).await;
    // A re-run's new delivery for the same run and environment.
    let (rerun, _) = send(&gate.running.base, "deployment_protection_rule", "d-11-rerun", &payload).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    assert_eq!((first, again, rerun), (202, 202, 202));
    assert_eq!(body["status"], "duplicate");
    assert_eq!(gate.fake.reviews().len(), 1, "one review for one run");
}

#[tokio::test]
async fn a_redelivery_never_causes_a_second_review_call_on_sqlite() {
    a_redelivery_never_causes_a_second_review_call(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_redelivery_never_causes_a_second_review_call_on_postgres() {
    a_redelivery_never_causes_a_second_review_call(Backend::Postgres).await;
}

/// A burst of deploys: 40 runs at once, each delivered twice under one id and once more under
/// a re-run's id, all concurrently. The deliveries share commits and worker passes; each run
/// still gets exactly one review, and the installation token is fetched once, not per call.
async fn a_burst_of_concurrent_protection_rules_gets_exactly_one_review_per_run(backend: Backend) {
    let gate = Gate::start(backend, Some(Budget::Healthy)).await;
    let runs: Vec<u64> = (2000..2040).collect();

    let sends = runs.iter().flat_map(|run| {
        let payload = protection_rule(*run, "production", &[]);
        let base = gate.running.base.clone();
        [format!("b-{run}"), format!("b-{run}"), format!("b-{run}-rerun")].into_iter().map(move |delivery| {
            let (base, payload) = (base.clone(), payload.clone());
            async move { send(&base, "deployment_protection_rule", &delivery, &payload).await }
        })
    });
    let answers = futures::future::join_all(sends).await;
    wait_for_reviews(&gate.fake, runs.len()).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    assert!(answers.iter().all(|(status, _)| *status == 202), "{answers:?}");
    let duplicates = answers.iter().filter(|(_, body)| body["status"] == "duplicate").count();
    assert_eq!(duplicates, runs.len(), "each run's repeated delivery id is a duplicate");
    let reviews = gate.fake.reviews();
    let mut reviewed: Vec<&str> = reviews.iter().map(|r| r.path.as_str()).collect();
    reviewed.sort_unstable();
    let mut expected: Vec<String> =
        runs.iter().map(|run| format!("/repos/kura-dev/shop/actions/runs/{run}/deployment_protection_rule")).collect();
    expected.sort_unstable();
    assert_eq!(reviewed, expected, "one review per run, none twice");
    assert!(reviews.iter().all(|r| r.body["state"] == "approved"));
    let exchanges = gate.fake.received().iter().filter(|r| r.path == "/app/installations/77/access_tokens").count();
    assert_eq!(exchanges, 1, "the installation token is fetched once and shared");
    assert_eq!(deliveries(gate.controller()).await, 2 * runs.len() as i64);
}

#[tokio::test]
async fn a_burst_of_concurrent_protection_rules_gets_exactly_one_review_per_run_on_sqlite() {
    a_burst_of_concurrent_protection_rules_gets_exactly_one_review_per_run(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_burst_of_concurrent_protection_rules_gets_exactly_one_review_per_run_on_postgres() {
    a_burst_of_concurrent_protection_rules_gets_exactly_one_review_per_run(Backend::Postgres).await;
}

/// Serves only the public router of a controller over `db` (no worker), has it accept a
/// protection rule for `run` as delivery `delivery`, and stops serving: a crash between
/// accepting a webhook and deciding it. Returns that controller, for a look at its database.
async fn accepted_by_a_controller_that_dies(
    db: &TestDb,
    dir: &SpecDir,
    fake: &FakeGithub,
    delivery: &str,
    run: u64,
) -> Arc<Controller> {
    let first = Setup::new(vec![dir.file()]).build(db.open().await);
    record(&first, Budget::Healthy).await;
    let config = ApiConfig { api_token: None, github: Some(Arc::new(github_config(fake).await)) };
    let router = slo::server::public_router(Arc::clone(&first), &config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let (status, _) =
        send(&base, "deployment_protection_rule", delivery, &protection_rule(run, "production", &[])).await;
    server.abort();
    assert_eq!(status, 202);
    first
}

/// A controller over `db` with its worker running and a healthy budget recorded.
async fn replica(db: &TestDb, dir: &SpecDir, fake: &FakeGithub) -> Running {
    let c = Setup::new(vec![dir.file()]).build(db.open().await);
    let config = ApiConfig { api_token: None, github: Some(Arc::new(github_config(fake).await)) };
    let running = start(c, config).await;
    record(&running.controller, Budget::Healthy).await;
    running
}

async fn a_webhook_accepted_before_a_crash_is_decided_after_the_restart_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = SpecDir::new(SPEC);
    let fake = FakeGithub::start().await;
    accepted_by_a_controller_that_dies(&db, &dir, &fake, "d-12", 1012).await;
    assert!(fake.reviews().is_empty(), "nothing decided before the crash");

    // Two replicas come back (a restart and a second one): the delivery is decided once.
    let mut replicas = Vec::new();
    for _ in 0..2 {
        replicas.push(replica(&db, &dir, &fake).await);
    }
    wait_for_reviews(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    assert_eq!(fake.reviews().len(), 1);
    assert_eq!(fake.reviews()[0].body["state"], "approved");
}

#[tokio::test]
async fn a_webhook_accepted_before_a_crash_is_decided_after_the_restart_once_on_sqlite() {
    a_webhook_accepted_before_a_crash_is_decided_after_the_restart_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_webhook_accepted_before_a_crash_is_decided_after_the_restart_once_on_postgres() {
    a_webhook_accepted_before_a_crash_is_decided_after_the_restart_once(Backend::Postgres).await;
}

async fn a_review_left_sending_by_a_worker_that_died_is_sent_once_after_its_lease(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = SpecDir::new(SPEC);
    let fake = FakeGithub::start().await;
    // The webhook is accepted by a controller whose worker never runs...
    let first = accepted_by_a_controller_that_dies(&db, &dir, &fake, "d-13", 1013).await;
    // ...and another worker took it one lease ago, claimed the run's review and died before
    // GitHub answered: the review is left `sending`, the delivery's lease has just run out.
    let now = Timestamp::now().as_millisecond();
    let claimed = now - slo::github::worker::LEASE.as_millis() as i64;
    sqlx::query(
        "insert into slo_github_review (review_key, slo_gate_decision_id, state, created_at, updated_at) \
         values ('1013:production', 0, 'sending', $1, $1)",
    )
    .bind(claimed)
    .execute(first.db().writer())
    .await
    .expect("the dead worker's claim");
    sqlx::query("update slo_github_delivery set attempts = 1, next_attempt_at = $1 where delivery_id = 'd-13'")
        .bind(now)
        .execute(first.db().writer())
        .await
        .expect("the dead worker's lease");

    let running = replica(&db, &dir, &fake).await;
    wait_for_reviews(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    assert_eq!(fake.reviews().len(), 1, "the review is sent once");
    assert_eq!(fake.reviews()[0].body["state"], "approved");
    let rows = sqlx::query("select state from slo_github_review")
        .fetch_all(running.controller.db().reader())
        .await
        .expect("reviews");
    let states: Vec<String> = rows.iter().map(|r| sqlx::Row::get(r, "state")).collect();
    assert_eq!(states, ["sent"], "the dead worker's claim was taken over, not duplicated");
}

#[tokio::test]
async fn a_review_left_sending_by_a_worker_that_died_is_sent_once_after_its_lease_on_sqlite() {
    a_review_left_sending_by_a_worker_that_died_is_sent_once_after_its_lease(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_review_left_sending_by_a_worker_that_died_is_sent_once_after_its_lease_on_postgres() {
    a_review_left_sending_by_a_worker_that_died_is_sent_once_after_its_lease(Backend::Postgres).await;
}

// --- GitHub failures ------------------------------------------------------------------------

#[tokio::test]
async fn server_errors_and_secondary_rate_limits_are_retried_and_the_review_is_sent_once() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Healthy)).await;
    let path = "/repos/kura-dev/shop/actions/runs/1013/";
    gate.fake.fail_next(path, 502, &[]);
    gate.fake.fail_next(path, 403, &[("retry-after", "1"), ("x-ratelimit-remaining", "10")]);

    send(&gate.running.base, "deployment_protection_rule", "d-13", &protection_rule(1013, "production", &[])).await;
    wait_for_reviews(&gate.fake, 3).await;
    tokio::time::sleep(Duration::from_millis(400)).await;

    // Two refused attempts, then the one that went through: no further call after the 204.
    let calls = gate.fake.reviews();
    assert_eq!(calls.len(), 3);
    gate.newest_once_delivery_is("delivered").await;
}

#[tokio::test]
async fn a_request_github_refuses_is_recorded_as_a_failed_delivery_and_not_repeated() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Healthy)).await;
    gate.fake.fail_next("/repos/kura-dev/shop/actions/runs/1014/", 422, &[]);

    send(&gate.running.base, "deployment_protection_rule", "d-14", &protection_rule(1014, "production", &[])).await;
    wait_for_reviews(&gate.fake, 1).await;
    gate.newest_once_delivery_is("failed").await;
    tokio::time::sleep(Duration::from_millis(400)).await;

    let stored = gate.decisions("service=shop").await;
    assert!(stored[0]["delivery_error"].as_str().expect("an error").contains("422"));
    assert_eq!(gate.fake.reviews().len(), 1);
}

// --- overrides ------------------------------------------------------------------------------

async fn post(base: &str, path: &str, body: &Value) -> (u16, Value) {
    let r =
        support::client().post(format!("{base}{path}")).bearer_auth(TOKEN).json(body).send().await.expect("answered");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn ask(base: &str, environment: &str) -> Value {
    let r = support::client()
        .post(format!("{base}/api/v1/gate"))
        .json(&json!({"service": "shop", "environment": environment, "sha": SHA}))
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 200);
    r.json().await.expect("a decision")
}

async fn an_override_needs_another_persons_approval_and_applies_only_in_scope(backend: Backend) {
    let gate = Gate::start(backend, Some(Budget::Exhausted)).await;
    let base = gate.running.base.clone();
    let ends = (Timestamp::now() + SignedDuration::from_hours(1)).to_string();
    let request = json!({"service": "shop", "environment": "production", "ends_at": ends, "reason": "the fix for the payment outage", "initiator": "aiko"});

    let (created, o) = post(&base, "/api/v1/overrides", &request).await;
    let before_approval = ask(&base, "production").await;
    let id = o["id"].as_i64().expect("an id");
    let (own, problem) = post(&base, &format!("/api/v1/overrides/{id}/approve"), &json!({"approver": "aiko"})).await;
    let (approved, _) = post(&base, &format!("/api/v1/overrides/{id}/approve"), &json!({"approver": "kenji"})).await;
    let (twice, _) = post(&base, &format!("/api/v1/overrides/{id}/approve"), &json!({"approver": "mei"})).await;
    let production = ask(&base, "production").await;
    let (_, staging_override) = post(
        &base,
        "/api/v1/overrides",
        &json!({"service": "shop", "environment": "qa", "ends_at": ends, "reason": "r", "initiator": "aiko"}),
    )
    .await;
    let other_id = staging_override["id"].as_i64().expect("id");
    post(&base, &format!("/api/v1/overrides/{other_id}/approve"), &json!({"approver": "kenji"})).await;
    let (expired, _) = post(&base, "/api/v1/overrides", &json!({"service": "shop", "environment": "production", "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-01-01T01:00:00Z", "reason": "r", "initiator": "aiko"})).await;

    assert_eq!(created, 201);
    assert_eq!(before_approval["verdict"], "reject", "an unapproved override does nothing");
    assert_eq!(own, 403);
    assert_eq!(problem["type"].as_str().map(|t| t.ends_with("/forbidden")), Some(true), "{problem}");
    assert_eq!((approved, twice), (200, 409));
    assert_eq!(production["verdict"], "approve");
    assert_eq!(production["override_id"], id);
    assert!(
        production["reasons"].as_array().expect("reasons").iter().any(|r| r["code"] == "override"
            && r["message"].as_str().is_some_and(|m| m.contains("by aiko, approved by kenji")))
    );
    assert_eq!(expired, 422, "an override that has already ended is refused");
    let r = support::client().post(format!("{base}/api/v1/overrides")).json(&request).send().await.expect("answered");
    assert_eq!(r.status(), 401, "override writes need the token");
}

#[tokio::test]
async fn an_override_needs_another_persons_approval_and_applies_only_in_scope_on_sqlite() {
    an_override_needs_another_persons_approval_and_applies_only_in_scope(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_override_needs_another_persons_approval_and_applies_only_in_scope_on_postgres() {
    an_override_needs_another_persons_approval_and_applies_only_in_scope(Backend::Postgres).await;
}

#[tokio::test]
async fn an_approved_override_for_another_environment_has_no_effect() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Exhausted)).await;
    let base = gate.running.base.clone();
    let ends = (Timestamp::now() + SignedDuration::from_hours(1)).to_string();
    let (_, o) = post(
        &base,
        "/api/v1/overrides",
        &json!({"service": "shop", "environment": "qa", "ends_at": ends, "reason": "r", "initiator": "aiko"}),
    )
    .await;
    let id = o["id"].as_i64().expect("id");
    post(&base, &format!("/api/v1/overrides/{id}/approve"), &json!({"approver": "kenji"})).await;

    let production = ask(&base, "production").await;

    assert_eq!((production["verdict"].as_str(), production["override_id"].as_i64()), (Some("reject"), None));
}

// --- after a deploy ---------------------------------------------------------------------------

#[tokio::test]
async fn a_burn_after_a_successful_deployment_marks_it_failed_and_dispatches_the_rollback() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Healthy)).await;
    let base = gate.running.base.clone();
    let c = Arc::clone(gate.controller());
    send(&base, "deployment_status", "v-1", &deployment_status(41, PREVIOUS_SHA, "success")).await;
    send(&base, "deployment_status", "v-2", &deployment_status(42, SHA, "success")).await;
    let cc = Arc::clone(&c);
    eventually(Duration::from_secs(5), "both deploys are watched", move || {
        let cc = Arc::clone(&cc);
        async move {
            slo::github::worker::verifications(&cc, Some("shop"), Timestamp::UNIX_EPOCH).await.expect("read").len() == 2
        }
    })
    .await;

    record(&c, Budget::Exhausted).await;
    let f = gate.fake.clone();
    eventually(Duration::from_secs(10), "the rollback dispatch", move || {
        let f = f.clone();
        async move { !f.calls("/dispatches").is_empty() }
    })
    .await;

    let failed = gate.fake.calls("/deployments/42/statuses");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].body["state"], "failure");
    let dispatch = gate.fake.calls("/actions/workflows/rollback.yml/dispatches");
    assert_eq!(dispatch.len(), 1);
    assert_eq!(
        (dispatch[0].body["ref"].as_str(), dispatch[0].body["inputs"]["sha"].as_str()),
        (Some("main"), Some(PREVIOUS_SHA))
    );
    assert!(gate.fake.calls("/deployments/41/statuses").is_empty(), "the superseded deploy is not blamed");
    let watched = slo::github::worker::verifications(&c, Some("shop"), Timestamp::UNIX_EPOCH).await.expect("read");
    assert_eq!(watched[0].state, "failed");
}

// --- agreement and `slo gate` -------------------------------------------------------------

fn slo_gate(base: &str, extra: &[&str], summary: Option<&std::path::Path>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slo"));
    cmd.args(["gate", "--controller", base, "--service", "shop", "--environment", "production", "--sha", SHA])
        .args(extra);
    cmd.env_remove("GITHUB_STEP_SUMMARY");
    if let Some(s) = summary {
        cmd.env("GITHUB_STEP_SUMMARY", s);
    }
    let out = cmd.output().expect("slo runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn the_cli_the_checks_and_the_protection_rule_agree(budget: Budget, verdict: &str) {
    let gate = Gate::start(Backend::Sqlite, Some(budget)).await;
    let base = gate.running.base.clone();

    send(&base, "deployment_protection_rule", "a-1", &protection_rule(1020, "production", &[])).await;
    send(&base, "push", "a-2", &push(SHA)).await;
    let reviews = wait_for_reviews(&gate.fake, 1).await;
    let f = gate.fake.clone();
    eventually(Duration::from_secs(10), "the check run", move || {
        let f = f.clone();
        async move { !f.calls("/check-runs").is_empty() }
    })
    .await;
    let summary = std::env::temp_dir().join(format!("kura-gate-summary-{}", support::unique()));
    let b = base.clone();
    let s = summary.clone();
    let (code, printed) = tokio::task::spawn_blocking(move || slo_gate(&b, &[], Some(&s))).await.expect("joined");

    let decisions = gate.decisions("service=shop").await;
    let by_origin = |o: &str| decisions.iter().find(|d| d["origin"] == o).unwrap_or_else(|| panic!("a {o} decision"));
    let (api, rule, status) = (by_origin("api"), by_origin("protection-rule"), by_origin("commit-status"));
    for d in [api, rule, status] {
        assert_eq!(d["verdict"], verdict);
        assert_eq!(d["reasons"], api["reasons"], "the same reasons on every path");
    }
    let review_comment = reviews[0].body["comment"].as_str().expect("comment");
    let check = &gate.fake.calls("/check-runs")[0];
    assert_eq!(check.body["name"], "slo-gate");
    assert_eq!(
        check.body["output"]["summary"].as_str(),
        Some(review_comment),
        "the check run says what the review says"
    );
    let statuses = gate.fake.calls("/statuses/");
    assert_eq!(statuses[0].body["context"], "slo-gate");
    assert_eq!(statuses[0].body["state"], if verdict == "approve" { "success" } else { "failure" });
    for reason in api["reasons"].as_array().expect("reasons") {
        let message = reason["message"].as_str().expect("message");
        assert!(printed.contains(message), "slo gate prints `{message}`:\n{printed}");
        assert!(review_comment.contains(message), "the review says `{message}`");
    }
    assert_eq!(code, if verdict == "approve" { 0 } else { 1 });
    let written = std::fs::read_to_string(&summary).expect("the step summary");
    let _ = std::fs::remove_file(&summary);
    assert!(written.contains(&format!("SLO gate {}", if verdict == "approve" { "approved" } else { "rejected" })));
}

#[tokio::test]
async fn for_the_same_inputs_slo_gate_the_checks_and_the_protection_rule_approve_alike() {
    the_cli_the_checks_and_the_protection_rule_agree(Budget::Healthy, "approve").await;
}

#[tokio::test]
async fn for_the_same_inputs_slo_gate_the_checks_and_the_protection_rule_reject_alike() {
    the_cli_the_checks_and_the_protection_rule_agree(Budget::Exhausted, "reject").await;
}

#[tokio::test]
async fn slo_gate_exits_2_while_holding_after_its_wait_and_3_when_the_controller_is_unreachable() {
    let gate = Gate::start(Backend::Sqlite, None).await;
    let base = gate.running.base.clone();

    let held = tokio::task::spawn_blocking(move || slo_gate(&base, &["--wait", "1s", "--poll", "1s"], None))
        .await
        .expect("joined");
    let unreachable = tokio::task::spawn_blocking(|| slo_gate("http://127.0.0.1:9", &[], None)).await.expect("joined");
    let base = gate.running.base.clone();
    let unknown = tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_slo"))
            .args(["gate", "--controller", &base, "--service", "nope", "--environment", "production", "--sha", SHA])
            .output()
            .expect("slo runs");
        out.status.code()
    })
    .await
    .expect("joined");

    assert_eq!(held.0, 2, "{}", held.1);
    assert!(held.1.contains("no data"), "{}", held.1);
    assert_eq!(unreachable.0, 3);
    assert_eq!(unknown, Some(3), "an answer that is not a decision is an error");
}

#[tokio::test]
async fn decisions_are_listed_per_service_environment_and_sha() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Healthy)).await;
    let base = gate.running.base.clone();
    ask(&base, "production").await;
    ask(&base, "staging").await;

    let production = gate.decisions("environment=production").await;
    let by_sha = gate.decisions(&format!("sha={}", &SHA[..7])).await;
    let other = gate.decisions("sha=fedcba9").await;
    let bad = support::get(format!("{base}/api/v1/decisions?sha=main")).await;

    assert_eq!(production.len(), 1);
    assert_eq!(by_sha.len(), 2);
    assert!(other.is_empty());
    assert_eq!(bad.status(), 422);
}

/// Decisions of one pass share one copy of their findings; a decision stored before the
/// findings had their own table (migration 0007) still lists its own, from `inputs`.
#[tokio::test]
async fn decisions_share_stored_findings_and_older_decisions_keep_theirs() {
    use sqlx::Row;
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Healthy)).await;
    let base = gate.running.base.clone();
    ask(&base, "production").await;
    ask(&base, "production").await;
    let db = gate.controller().db();
    let older = json!({
        "deploy": {"service": "shop", "environment": "production", "sha": PREVIOUS_SHA, "ref": null, "labels": [], "trailers": []},
        "slos": [{"slo": "legacy-slo", "journey": "checkout", "budget_remaining_percent": 42.0, "budget_threshold": null,
                  "burn_rate": null, "burn_window": "1h", "burn_threshold": null, "evaluated_at": null, "verdict": "approve"}],
    });
    sqlx::query(
        "insert into slo_gate_decision (service, environment, sha, git_ref, origin, verdict, would_have, shadow, exception, \
         slo_gate_override_id, reasons, inputs, delivery, created_at, updated_at) \
         values ('shop', 'production', $1, null, 'api', 'approve', 'approve', 0, null, null, '[]', $2, 'none', 1, 1)",
    )
    .bind(PREVIOUS_SHA)
    .bind(older.to_string())
    .execute(db.writer())
    .await
    .expect("a decision stored the pre-0007 way");

    let listed = gate.decisions("service=shop").await;
    let copies: i64 = sqlx::query("select count(*) as n from slo_gate_findings")
        .fetch_one(db.reader())
        .await
        .expect("count")
        .get("n");

    let asked: Vec<&Value> = listed.iter().filter(|d| d["sha"] == SHA).collect();
    assert_eq!((listed.len(), asked.len()), (3, 2));
    assert_eq!(asked[0]["slos"], asked[1]["slos"], "the two asks read the same evaluations");
    assert!(asked[0]["slos"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(copies, 1, "one stored copy for two decisions with the same findings");
    let old = listed.iter().find(|d| d["sha"] == PREVIOUS_SHA).expect("the older decision is listed");
    assert_eq!(old["slos"][0]["slo"], "legacy-slo");
    assert_eq!(old["slos"][0]["budget_remaining_percent"], 42.0);
}

#[tokio::test]
async fn the_deploys_page_shows_every_decision_with_its_reasons_and_where_it_came_from() {
    let gate = Gate::start(Backend::Sqlite, Some(Budget::Exhausted)).await;
    let base = gate.running.base.clone();
    send(&base, "deployment_protection_rule", "p-1", &protection_rule(1030, "production", &[])).await;
    wait_for_reviews(&gate.fake, 1).await;
    gate.newest_once_delivery_is("delivered").await;
    let r = support::client()
        .post(format!("{base}/api/v1/gate"))
        .json(&json!({"service": "shop", "environment": "staging", "sha": SHA, "ref": "<b>fix</b>"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 200);
    let decisions = gate.decisions("service=shop").await;

    let page = support::get(format!("{base}/deploys/shop")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().expect("ascii").contains("default-src 'none'"));
    let html = page.text().await.expect("html");
    assert_eq!(html.matches("<tr id=\"decision-").count(), decisions.len(), "one row per decision");
    for d in &decisions {
        assert!(html.contains(&format!(
            "id=\"decision-{}\" data-verdict=\"{}\"",
            d["id"],
            d["verdict"].as_str().expect("verdict")
        )));
        for reason in d["reasons"].as_array().expect("reasons") {
            let message = reason["message"].as_str().expect("message");
            assert!(
                html.contains(message) || html.contains(&message.replace('\'', "&#39;")),
                "the page says `{message}`"
            );
        }
    }
    for part in ["REJECTED", "protection-rule", "api", "delivered", &SHA[..7], "&lt;b&gt;fix&lt;/b&gt;"] {
        assert!(html.contains(part), "`{part}` missing from the deploys page");
    }
    assert!(!html.contains("<b>fix</b>"), "a ref is escaped");
    let overview = support::get(format!("{base}/")).await.text().await.expect("html");
    assert!(overview.contains("href=\"/deploys/shop\""), "the overview links each service's deploys");
    assert_eq!(support::get(format!("{base}/deploys/nowhere")).await.status(), 404);
}
