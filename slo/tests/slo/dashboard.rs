//! The dashboard, black box: the controller's public router on port 0 against a fresh SQLite
//! file (PostgreSQL for one case), fed known readings through [`Controller::record`] at chosen
//! instants (so the history and "since when" are known), read over real HTTP and, for the
//! browser test, rendered by headless Chromium (Debian's `chromium`; missing is a failure, never a skip).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use slo::controller::Controller;

use crate::support::{Backend, Setup, TestDb, readings, serve_api, unique};

/// A scratch directory (spec file, SQLite file, browser profile), removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("kura-dashboard-test-{}", unique()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A controller on `specs` (files or directories) with a database of its own on `backend`, its
/// public router served on port 0; returns it, the base URL and the database (dropped with it).
async fn serve(backend: Backend, specs: Vec<PathBuf>) -> (Arc<Controller>, String, TestDb) {
    let db = TestDb::new(backend).await;
    let c = Setup { instance: "dashboard-test".into(), ..Setup::new(specs) }.build(db.db.clone());
    let base = serve_api(&c, None).await;
    (c, base, db)
}

/// The instant `t` as the dashboard prints it.
fn minute(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

async fn get(url: &str) -> (StatusCode, String, String) {
    let res = crate::support::get(url).await;
    let status = res.status();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, res.text().await.expect("body"))
}

/// `checkout` is burning since `t2` (a fast burn: 20× over the short windows, 80 % of the
/// budget left), `search` is fine; `checkout`'s description tries to inject a script.
struct Shop {
    _scratch: Scratch,
    _db: TestDb,
    c: Arc<Controller>,
    base: String,
    times: [Timestamp; 3],
}

async fn shop() -> Shop {
    shop_on(Backend::Sqlite).await
}

async fn shop_on(backend: Backend) -> Shop {
    let scratch = Scratch::new();
    let now = Timestamp::from_second(Timestamp::now().as_second()).expect("now");
    let times = [now - SignedDuration::from_hours(2), now - SignedDuration::from_hours(1), now];
    let spec = format!(
        r#"
service: shop
time_zone: UTC
maintenance:
  - name: db-upgrade
    start: {}
    end: {}
journeys:
  checkout:
    description: 'Pays <script>alert("owned")</script> for the cart'
    slos:
      - id: checkout-availability
        objective: 99
        window: 30d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{{journey="checkout", http_response_status_code=~"5.."}}
            total: http_server_request_duration_seconds_count{{journey="checkout"}}
  search:
    description: A shopper finds items.
    slos:
      - id: search-availability
        objective: 99.9
        window: 30d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{{journey="search", http_response_status_code=~"5.."}}
            total: http_server_request_duration_seconds_count{{journey="search"}}
"#,
        now - SignedDuration::from_hours(3),
        now - SignedDuration::from_mins(150)
    );
    let file = scratch.0.join("shop.yaml");
    std::fs::write(&file, spec).expect("spec file");
    let (c, base, db) = serve(backend, vec![file]).await;
    for (i, t) in times.into_iter().enumerate() {
        let burning = i > 0;
        let r = readings(&c, t, |slo, range| match (slo, burning) {
            ("checkout-availability", true) if range <= SignedDuration::from_hours(6) => 0.2,
            ("checkout-availability", true) => 0.002,
            ("checkout-availability", false) => 0.001,
            _ => 0.0001,
        });
        c.record(t, r).await.expect("cycle stored");
    }
    Shop { _scratch: scratch, _db: db, c, base, times }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_when_and_the_charts_read_the_history_on_postgresql_too() {
    let shop = shop_on(Backend::Postgres).await;

    let (_, _, overview) = get(&format!("{}/", shop.base)).await;
    let (_, _, journey) = get(&format!("{}/journeys/shop/checkout", shop.base)).await;

    let since = format!("datetime=\"{}\"", shop.times[1].strftime("%Y-%m-%dT%H:%M:%SZ"));
    let row = &overview[overview.find("data-slo=\"checkout-availability\"").expect("checkout row")..];
    assert!(row[..row.find("</tr>").expect("row end")].contains(&since), "since when: {row}");
    assert_eq!(polyline(&journey, "budget remaining").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_puts_the_burning_journey_first_with_its_numbers_and_since_when() {
    let shop = shop().await;

    let (status, content_type, html) = get(&format!("{}/", shop.base)).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/html; charset=utf-8");
    let checkout = html.find("<tr class=\"row-burning\" data-slo=\"checkout-availability\"").expect("checkout row");
    let search = html.find("<tr class=\"row-ok\" data-slo=\"search-availability\"").expect("search row");
    assert!(checkout < search, "the burning SLO comes first");
    let row = &html[checkout..search];
    assert!(row.contains(">BURNING</span>"), "a text label beside the colour: {row}");
    assert!(
        row.contains("<small class=\"alert-firing\">firing: fast-page, slow-page</small>"),
        "the firing alert: {row}"
    );
    let since =
        format!("datetime=\"{}\" title=\"{}\">", shop.times[1].strftime("%Y-%m-%dT%H:%M:%SZ"), minute(shop.times[1]));
    assert!(row.contains(&since), "since when: {row}");
    assert!(row.contains("(1h 0m)"), "how long ago: {row}");
    for number in [">99 %<", ">30d<", ">99.800 %<", "80.0 %", "20.0× over", ">1d 4h<"] {
        assert!(row.contains(number), "{number} missing from {row}");
    }
    let headline = &html[html.find("Journeys in trouble").expect("a headline")..checkout];
    assert!(headline.contains("href=\"/journeys/shop/checkout\">shop / checkout</a>"), "{headline}");
    assert!(!headline.contains("shop / search"), "a healthy journey is not in trouble: {headline}");
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
    assert!(!html.contains("<script"), "no script at all");
    let _ = &shop.c;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_when_follows_a_status_that_left_and_came_back_between_page_loads() {
    let shop = shop().await;
    let (_, _, before) = get(&format!("{}/", shop.base)).await;
    let (_, _, remembered) = get(&format!("{}/", shop.base)).await;
    let (recovered, burning_again) =
        (shop.times[2] + SignedDuration::from_secs(1), shop.times[2] + SignedDuration::from_secs(2));
    let ok = readings(&shop.c, recovered, |_, _| 0.0001);
    shop.c.record(recovered, ok).await.expect("cycle stored");
    let burning = readings(&shop.c, burning_again, |slo, range| match slo {
        "checkout-availability" if range <= SignedDuration::from_hours(6) => 0.2,
        "checkout-availability" => 0.002,
        _ => 0.0001,
    });
    shop.c.record(burning_again, burning).await.expect("cycle stored");

    let (_, _, after) = get(&format!("{}/", shop.base)).await;

    let since = |t: Timestamp| format!("<time class=\"since\" datetime=\"{}\"", t.strftime("%Y-%m-%dT%H:%M:%SZ"));
    let row = |html: &str| {
        let start = html.find("data-slo=\"checkout-availability\"").expect("checkout row");
        html[start..start + html[start..].find("</tr>").expect("row end")].to_owned()
    };
    assert!(row(&before).contains(&since(shop.times[1])), "{}", row(&before));
    assert!(row(&remembered).contains(&since(shop.times[1])), "from the cache: {}", row(&remembered));
    assert!(row(&after).contains(&since(burning_again)), "burning again, not since the first time: {}", row(&after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malicious_description_is_escaped_on_every_page() {
    let shop = shop().await;

    let (_, _, overview) = get(&format!("{}/", shop.base)).await;
    let (_, _, journey) = get(&format!("{}/journeys/shop/checkout", shop.base)).await;

    for html in [&overview, &journey] {
        assert!(!html.contains("<script>alert"), "the description must not become markup");
        assert!(html.contains("Pays &lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; for the cart"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_journey_or_slo_is_an_html_404_page() {
    let shop = shop().await;

    for path in ["/journeys/shop/nope", "/journeys/nope/checkout", "/slos/shop/nope"] {
        let (status, content_type, html) = get(&format!("{}{path}", shop.base)).await;

        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(content_type, "text/html; charset=utf-8", "{path}");
        assert!(html.contains("<h2>Not found</h2>") && html.contains("href=\"/\""), "{path}: {html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_forbid_script_and_the_stylesheet_comes_from_the_binary() {
    let shop = shop().await;

    let page = crate::support::get(format!("{}/", shop.base)).await;
    let css = crate::support::get(format!("{}/assets/dashboard.css", shop.base)).await;

    let csp = page.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    assert!(csp.starts_with("default-src 'none'; style-src 'self'"), "{csp}");
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(css.text().await.expect("css"), slo::dashboard::STYLESHEET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_slo_link_leads_to_its_section_of_the_journey_page() {
    let shop = shop().await;

    let res = crate::support::tls()
        .client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}/slos/shop/checkout-availability", shop.base))
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/journeys/shop/checkout#slo-checkout-availability");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_page_charts_the_history_with_thresholds_maintenance_and_firing_tiers() {
    let shop = shop().await;

    let (status, _, html) = get(&format!("{}/journeys/shop/checkout", shop.base)).await;

    assert_eq!(status, StatusCode::OK);
    let budget = polyline(&html, "budget remaining");
    assert_eq!(budget.len(), 3, "one point per stored evaluation: {budget:?}");
    assert!(budget[0].1 < budget[2].1, "the budget went down (y grows downwards): {budget:?}");
    assert!(html.contains(&format!(
        "<title>budget remaining: 80 % at {}</title>",
        shop.times[2].strftime("%Y-%m-%dT%H:%M:%SZ")
    )));
    assert_eq!(polyline(&html, "SLI").len(), 3);
    assert!(html.contains("<title>objective 99 %</title>"), "the objective line");
    assert!(html.contains("<title>threshold 14.4×</title>"), "the fast-page tier's threshold line");
    assert_eq!(polyline(&html, "1h window").len(), 3, "the fast-page tier's long-window burn rate");
    assert!(html.contains("class=\"band-maintenance\""), "the maintenance window is shaded");
    let firing = format!(
        "<li class=\"alert-firing\">fast-page (page): FIRING since <time class=\"since\" datetime=\"{}\"",
        shop.times[1].strftime("%Y-%m-%dT%H:%M:%SZ")
    );
    assert!(html.contains(&firing), "the firing alert and since when: {html}");
    assert!(html.contains("<desc id=\"slo-checkout-availability-budget-desc\">"), "an accessible description");
    let _ = &shop.c;
}

/// The points of the first `<polyline>` of series `name`.
fn polyline(html: &str, name: &str) -> Vec<(f64, f64)> {
    let marker = format!("data-series=\"{name}\" points=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} line")) + marker.len();
    let end = start + html[start..].find('"').expect("closing quote");
    html[start..end]
        .split(' ')
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect()
}

/// Debian's Chromium, or `$CHROMIUM`. Missing is a failure: CI installs it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: the dashboard test needs headless Chromium (apt-get install -y chromium)",
        path.display()
    );
    path
}

/// Runs headless Chromium on `url` with `args`; returns stdout and stderr. Fails after 90 s.
fn run_chromium(profile: &std::path::Path, url: &str, args: &[String]) -> (String, String) {
    let mut child = Command::new(chromium())
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check"])
        .args(["--hide-scrollbars", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match child.try_wait().expect("chromium wait") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish {url} within 90 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let output = child.wait_with_output().expect("chromium output");
    assert!(output.status.success(), "chromium failed on {url}: {}", String::from_utf8_lossy(&output.stderr));
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Console messages (`CONSOLE` log lines: errors, CSP violations, uncaught exceptions).
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_renders_in_headless_chromium_with_charts_and_no_console_errors() {
    let scratch = Scratch::new();
    let (c, base, _db) = serve(Backend::Sqlite, vec![crate::support::workspace().join("app/slos")]).await;
    // A day of hourly cycles: create-shipment-latency has been burning fast for six hours
    // (20× over the last hour), order-sync-freshness slowly spends its budget and drops below
    // the policy's 25 % warning line, everything else is healthy.
    let now = Timestamp::from_second(Timestamp::now().as_second()).expect("now");
    for h in (0..=24_i32).rev() {
        let t = now - SignedDuration::from_hours(i64::from(h));
        let r = readings(&c, t, |slo, range| match slo {
            "create-shipment-latency" if h <= 6 => {
                if range <= SignedDuration::from_hours(1) {
                    0.2
                } else if range <= SignedDuration::from_hours(6) {
                    0.05
                } else {
                    0.0005 * f64::from(8 - h)
                }
            }
            "order-sync-freshness" => 0.006 + 0.00015 * f64::from(24 - h),
            _ => 0.0002,
        });
        c.record(t, r).await.expect("cycle stored");
    }
    let artifacts = crate::support::workspace().join("target/kura-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifact directory");
    let pages = [
        ("dashboard-overview.png", format!("{base}/"), "1280,900"),
        ("dashboard-journey.png", format!("{base}/journeys/fulfillment/create-shipment?range=1d"), "1280,1800"),
    ];

    for (name, url, size) in pages {
        let (profile, shot) = (scratch.0.join(format!("profile-{name}")), artifacts.join(name));
        let _ = std::fs::remove_file(&shot);
        let args = vec![format!("--screenshot={}", shot.display()), format!("--window-size={size}")];
        let (_, stderr) = tokio::task::spawn_blocking({
            let url = url.clone();
            move || run_chromium(&profile, &url, &args)
        })
        .await
        .expect("chromium task");

        assert!(console_errors(&stderr).is_empty(), "{url}: console errors: {:?}", console_errors(&stderr));
        let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name} is a real screenshot");
    }
    let journey = format!("{base}/journeys/fulfillment/create-shipment");
    let profile = scratch.0.join("profile-dom");
    let (dom, stderr) = tokio::task::spawn_blocking({
        let journey = journey.clone();
        move || run_chromium(&profile, &journey, &["--dump-dom".to_owned()])
    })
    .await
    .expect("chromium task");

    assert!(console_errors(&stderr).is_empty(), "console errors: {:?}", console_errors(&stderr));
    let budget = polyline(&dom, "budget remaining");
    assert_eq!(budget.len(), 25, "the rendered DOM has the day of history: {budget:?}");
    assert!(dom.matches("<polyline").count() >= 10, "every chart has its lines");
    assert!(dom.contains("<li class=\"alert-firing\">fast-page (page)"), "the latency SLO pages: {dom}");
}

/// Every `dashboard` annotation of `rules` (the generated Prometheus rule file).
fn dashboard_annotations(rules: &str) -> Vec<String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(rules).expect("the rules are YAML");
    let mut links: Vec<String> = doc["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_sequence().cloned().unwrap_or_default())
        .filter_map(|r| r["annotations"]["dashboard"].as_str().map(str::to_owned))
        .collect();
    links.sort();
    links.dedup();
    links
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generated_dashboard_annotation_resolves_on_a_served_controller() {
    // Arrange: the service's own specs (`http://127.0.0.1:8090/slos/{slo}`) and a spec with a
    // path template, served by one controller; the rules generated for its external URL.
    let scratch = Scratch::new();
    let shop = scratch.0.join("shop.yaml");
    std::fs::write(
        &shop,
        "service: shop\ndashboard: /slos/{service}/{slo}\njourneys:\n  checkout:\n    slos:\n      - id: checkout-availability\n        objective: 99\n        window: 30d\n        sli:\n          ratio:\n            bad: http_server_request_duration_seconds_count{journey=\"checkout\", http_response_status_code=~\"5..\"}\n            total: http_server_request_duration_seconds_count{journey=\"checkout\"}\n",
    )
    .expect("spec file");
    let paths = vec![crate::support::workspace().join("app/slos"), shop];
    let (_c, base, _db) = serve(Backend::Sqlite, paths.clone()).await;
    let mut specs = slo::spec::load_paths(&paths).expect("valid specs");
    for spec in &mut specs {
        spec.external_url.clone_from(&base);
    }
    let rules = slo::generate::prometheus::generate(&specs).expect("the rules generate");

    // Act: follow every link the alerts carry (the service's fixed host is this controller).
    let links = dashboard_annotations(&rules);
    let mut answers = Vec::new();
    for link in &links {
        let url = link.replace(slo::spec::DEFAULT_EXTERNAL_URL, &base);
        let res = crate::support::get(&url).await;
        answers.push((link.clone(), res.status(), res.text().await.expect("html")));
    }

    // Assert: a page with the SLO's section for each, the path template's included.
    assert!(links.iter().any(|l| l == &format!("{base}/slos/shop/checkout-availability")), "{links:?}");
    assert!(links.len() > 5, "{links:?}");
    for (link, status, html) in answers {
        let slo = link.rsplit('/').next().expect("the SLO id");
        assert_eq!(status, StatusCode::OK, "{link}");
        assert!(html.contains(&format!("id=\"slo-{slo}\"")), "{link} leads to the SLO's section");
    }
}
