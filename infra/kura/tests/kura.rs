//! `kura` as a newcomer runs it: `kura up` brings the whole loop up and takes it down again,
//! an injected incident pages and resolves, `kura load` drives every journey cleanly.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const KURA: &str = env!("CARGO_BIN_EXE_kura");

/// A scratch directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("kura-test-{name}-{}-{:x}", std::process::id(), rand_u32()));
        std::fs::create_dir_all(&dir).expect("scratch");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_u32() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
}

/// A running `kura up`, killed if the test ends early.
struct Up {
    child: Child,
    data: PathBuf,
    stack: Value,
}

impl Up {
    fn start(data: &Path, extra: &[&str]) -> Up {
        let mut child = Command::new(KURA)
            .args(["up", "--data-dir", data.to_str().expect("utf-8 path"), "--rate", "15", "--interval", "5s"])
            .args(extra)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kura up");
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[kura up] {line}");
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[kura up] {line}");
            }
        });
        let state = data.join("stack.json");
        let stack = poll(Duration::from_secs(120), || {
            std::fs::read_to_string(&state).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok())
        })
        .expect("kura up writes stack.json once everything is up");
        Up { child, data: data.to_owned(), stack }
    }

    fn url(&self, key: &str) -> String {
        self.stack[key].as_str().unwrap_or_else(|| panic!("{key} in {}", self.stack)).to_owned()
    }

    fn child_pids(&self) -> Vec<i32> {
        self.stack["pids"].as_array().expect("pids").iter().map(|p| p["pid"].as_i64().expect("pid") as i32).collect()
    }

    /// Ctrl-C, as a person at the terminal would.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT");
        poll(Duration::from_secs(60), || self.child.try_wait().ok().flatten()).expect("kura up exits after Ctrl-C")
    }

    fn kura(&self, args: &[&str]) -> std::process::Output {
        Command::new(KURA)
            .args(args)
            .args(["--data-dir", self.data.to_str().expect("utf-8")])
            .output()
            .expect("run kura")
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls `probe` every 500 ms until it returns something or `limit` passes.
fn poll<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn get(url: &str) -> Option<(u16, String)> {
    let client = platform::tls::Tls::new(None).ok()?.blocking_client().ok()?;
    let r = client.get(url).timeout(Duration::from_secs(5)).send().ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().unwrap_or_default()))
}

fn json(url: &str) -> Option<Value> {
    let (status, body) = get(url)?;
    if status == 200 { serde_json::from_str(&body).ok() } else { None }
}

fn alive(pid: i32) -> bool {
    rustix::process::Pid::from_raw(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

#[test]
fn up_brings_the_whole_loop_up_with_traffic_and_budgets_on_every_journey_and_ctrl_c_leaves_no_process() {
    let scratch = Scratch::new("up");
    let started = Instant::now();
    let mut up = Up::start(&scratch.0, &[]);

    // The API, its OpenAPI document and the dashboard answer.
    assert_eq!(get(&format!("{}/openapi.json", up.url("service"))).map(|r| r.0), Some(200));
    let dashboard = get(&format!("{}/", up.url("controller"))).expect("dashboard");
    assert_eq!(dashboard.0, 200);
    assert!(dashboard.1.contains("fulfillment"), "the dashboard shows the service");

    // Within a minute every journey has traffic and a budget figure.
    let metrics_url = format!("{}/metrics", up.url("service_admin"));
    let journeys_url = format!("{}/api/v1/journeys", up.url("controller"));
    let all_live = poll(Duration::from_secs(60).saturating_sub(started.elapsed()).max(Duration::from_secs(5)), || {
        let metrics = get(&metrics_url)?.1;
        let journeys = json(&journeys_url)?;
        let names: Vec<String> =
            journeys.as_array()?.iter().filter_map(|j| j["journey"].as_str().map(str::to_owned)).collect();
        let traffic = |j: &str| {
            metrics.lines().any(|l| {
                (l.starts_with("http_server_request_duration_seconds_count") || l.starts_with("job_runs_total"))
                    && l.contains(&format!("journey=\"{j}\""))
            })
        };
        let budgets = journeys.as_array()?.iter().all(|j| j["worst_budget_remaining"].is_number());
        (names.len() == 8 && names.iter().all(|j| traffic(j)) && budgets).then_some(journeys)
    });
    assert!(all_live.is_some(), "every journey shows traffic and a budget within 60 s of `kura up`");

    // Ctrl-C stops everything.
    let pids = up.child_pids();
    assert_eq!(pids.len(), 2, "the service and the controller");
    let status = up.interrupt();
    assert!(status.success(), "kura up exits 0 after Ctrl-C: {status}");
    for pid in pids {
        assert!(!alive(pid), "process {pid} was left behind");
    }
}

/// The create-shipment SLO with one fast tier on short windows, so a page fires and resolves
/// in seconds rather than minutes (the default tiers are in the SLO README).
const FAST_SPEC: &str = include_str!("../../e2e/fast-slos.yaml");

#[test]
fn an_injected_incident_pages_the_local_receiver_and_stopping_it_resolves_the_page() {
    let scratch = Scratch::new("incident");
    let spec = scratch.0.join("fast.yaml");
    std::fs::write(&spec, FAST_SPEC).expect("spec");
    let data = scratch.0.join("data");
    let mut up = Up::start(&data, &["--slos", spec.to_str().expect("utf-8"), "--mix", "create-shipment=1"]);
    let pages = data.join("alerts.jsonl");
    let received = |event: &str| {
        std::fs::read_to_string(&pages).ok().is_some_and(|t| {
            t.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).any(|p| {
                p["notification"]["event"] == event && p["notification"]["slo"] == "create-shipment-availability"
            })
        })
    };
    // Some healthy traffic first.
    std::thread::sleep(Duration::from_secs(10));
    assert!(!received("trigger"), "nothing pages while the journey is healthy");

    let start = up.kura(&["incident", "start", "--journey", "create-shipment", "--error-rate", "1", "--for", "5m"]);
    assert!(start.status.success(), "{}", String::from_utf8_lossy(&start.stderr));
    let fired = poll(Duration::from_secs(120), || received("trigger").then_some(()));
    assert!(fired.is_some(), "the page reached the receiver");
    let status = up.kura(&["status"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("create-shipment-availability"), "kura status names it");
    screenshot(&format!("{}/", up.url("controller")), &scratch.0);

    let stop = up.kura(&["incident", "stop"]);
    assert!(stop.status.success(), "{}", String::from_utf8_lossy(&stop.stderr));
    let resolved = poll(Duration::from_secs(180), || received("resolve").then_some(()));
    assert!(resolved.is_some(), "the page resolved once the errors stopped");
    assert!(up.interrupt().success());
}

#[test]
fn load_drives_every_operation_of_the_mix_against_a_fresh_service_without_an_unexpected_error() {
    let scratch = Scratch::new("load");
    let ports = [free_port(), free_port()];
    let mut service = Command::new(KURA)
        .args(["fulfillment", "serve", "--seed", "--listen"])
        .arg(format!("127.0.0.1:{}", ports[0]))
        .arg("--admin-listen")
        .arg(format!("127.0.0.1:{}", ports[1]))
        .env("DATABASE_URL", format!("sqlite://{}", scratch.0.join("load.db").display()))
        .env("OTEL_SDK_DISABLED", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("service");
    let mut lines = BufReader::new(service.stdout.take().expect("stdout")).lines();
    let admin_token = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.trim_start().strip_prefix("admin").map(|t| t.trim().to_owned()))
        .expect("the seed prints an admin token");
    poll(Duration::from_secs(30), || get(&format!("http://127.0.0.1:{}/readyz", ports[1])).filter(|r| r.0 == 200))
        .expect("ready");

    let output = Command::new(KURA)
        .args(["load", "--base", &format!("http://127.0.0.1:{}", ports[0]), "--admin-token", &admin_token])
        .args(["--rate", "25", "--seconds", "25", "--warmup", "0", "--json"])
        .output()
        .expect("kura load");
    let _ = service.kill();
    let _ = service.wait();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let ran = |op: &str| lines.iter().find(|l| l["operation"] == op).and_then(|l| l["ok"].as_u64()).unwrap_or(0);
    for op in [
        "create-shipment",
        "stock-read",
        "order-sync",
        "inbound",
        "receive",
        "putaway",
        "release-wave",
        "hht-scan",
        "inspect",
        "pack",
        "label",
        "handover",
    ] {
        assert!(ran(op) > 0, "{op} ran: {stdout}");
    }
    let total = lines.iter().find(|l| l["operation"] == "total").expect("a total line");
    assert_eq!(total["failed"], 0, "{stdout}");
}

/// The dashboard while the incident burns, rendered by headless Chromium (Debian's
/// `chromium`, or `$CHROMIUM`; missing is a failure). With `KURA_UPDATE_DOCS=1` it becomes the
/// README's picture, `docs/kura-up-incident.png`.
fn screenshot(url: &str, scratch: &Path) {
    let chromium = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(chromium.exists(), "{} is missing (apt-get install -y chromium)", chromium.display());
    let png = scratch.join("dashboard.png");
    let status = Command::new(chromium)
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", scratch.join("chromium").display()))
        .arg(format!("--screenshot={}", png.display()))
        .args(["--window-size=1280,900", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("chromium runs");
    assert!(status.success(), "chromium rendered the dashboard");
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000, "a real picture, not a blank page");
    if std::env::var_os("KURA_UPDATE_DOCS").is_some_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/kura-up-incident.png");
        std::fs::write(docs, bytes).expect("docs/kura-up-incident.png");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}
