//! One controller evaluation cycle for 1,000 SLOs, against a real Prometheus and against the
//! embedded scraper, and the scraper's cost over a simulated 30 days. Driven by
//! `slo/bench/controller.sh`, which starts the fixture target and Prometheus; see there.
//!
//! ```text
//! bench_cycle spec PATH                    write the 1,000-SLO spec (100 journeys × 10)
//! bench_cycle prometheus URL PID SPEC DIR REPS   cycles against Prometheus at URL (PID: its process)
//! bench_cycle scrape FIXTURE SPEC DIR REPS        cycles against the embedded scraper
//! bench_cycle thirty-days DIR N                   the scraper's storage and CPU for N SLOs over 30 days
//! ```
//!
//! CPU is the process's user + system time from `/proc/<pid>/stat` (clock ticks, 10 ms).

#[path = "../benches/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use platform::Db;
use platform::tls::Tls;
use slo::controller::{Config, Controller, Deps};
use slo::source::Source;
use slo::source::prometheus::{PrometheusConfig, PrometheusSource};
use slo::source::scrape::{ScrapeConfig, ScrapeSource};

/// User + system CPU of process `pid` ("self" for this one).
fn cpu(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3; utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(14) + ticks(15)) * 10)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn open_db(dir: &Path, name: &str) -> (Db, PathBuf) {
    std::fs::create_dir_all(dir).expect("the work directory");
    let path = dir.join(format!("{name}.db"));
    let _ = std::fs::remove_file(&path);
    let db = slo::store::open(&format!("sqlite://{}", path.display())).await.expect("open SQLite");
    (db, path)
}

fn tls() -> Tls {
    Tls::new(None).expect("the system's root certificates")
}

/// A controller over `spec` reading `source`, built as `slo controller` builds it.
fn controller(db: Db, source: Source, spec: &Path, instance: &str) -> Controller {
    let slos = vec![spec.to_owned()];
    Controller::new(Deps {
        db,
        specs: slo::spec::load_paths(&slos).expect("valid specs"),
        source,
        config: Config {
            slos,
            interval: Duration::from_secs(30),
            instance: instance.into(),
            external_url: slo::spec::DEFAULT_EXTERNAL_URL.into(),
        },
        alerting: Default::default(),
        service_maintenance: Vec::new(),
        http: tls().client().build().expect("an HTTP client"),
        telemetry: telemetry::Metrics::new(),
    })
}

/// `reps` cycles of `controller`, printing one line each and the medians.
async fn cycles(label: &str, controller: &Controller, reps: usize, other_pid: Option<&str>) {
    let (mut walls, mut cpus, mut others) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..reps {
        let before = controller_requests(controller);
        let (c0, o0) = (cpu("self"), other_pid.map(cpu));
        let t = Instant::now();
        let report = controller.cycle(Timestamp::now()).await.expect("a cycle");
        let wall = t.elapsed();
        let (c1, o1) = (cpu("self"), other_pid.map(cpu));
        let issued = controller_requests(controller) - before;
        let statuses = status_counts(controller);
        let other = o1.zip(o0).map(|(a, b)| a.saturating_sub(b));
        println!(
            "{label} rep={r} evaluated={} wall_ms={:.1} cpu_ms={:.0} queries={issued} other_cpu_ms={} statuses={statuses}",
            report.evaluated,
            ms(wall),
            ms(c1.saturating_sub(c0)),
            other.map(|o| format!("{:.0}", ms(o))).unwrap_or_else(|| "-".into()),
        );
        walls.push(ms(wall));
        cpus.push(ms(c1.saturating_sub(c0)));
        if let Some(o) = other {
            others.push(ms(o));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "{label} MEDIAN wall_ms={:.1} cpu_ms={:.0} other_cpu_ms={}",
        median(walls),
        median(cpus),
        if others.is_empty() { "-".into() } else { format!("{:.0}", median(others)) }
    );
}

fn controller_requests(c: &Controller) -> u64 {
    // `slo_source_requests_total`: the source's requests, brought up to date by each cycle.
    c.metrics.source_requests.get()
}

fn status_counts(c: &Controller) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for e in c.current().values() {
        let key = match (e.status.as_str(), &e.reason) {
            ("no-data", Some(reason)) => format!("no-data ({reason})"),
            (status, _) => status.to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join("; ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| panic!("missing argument {i}; see the module docs"));
    match arg(1).as_str() {
        "spec" => std::fs::write(arg(2), fixtures::spec_text("bench", 100)).expect("write the spec"),
        "prometheus" => {
            let (url, pid, spec, dir, reps) =
                (arg(2), arg(3), PathBuf::from(arg(4)), PathBuf::from(arg(5)), arg(6).parse().expect("REPS"));
            let (db, _) = open_db(&dir, "prometheus").await;
            let source = PrometheusSource::new(PrometheusConfig::new(url), &tls()).expect("a Prometheus source");
            let c = controller(db, Source::Prometheus(source), &spec, "bench-prometheus");
            cycles("prometheus", &c, reps, Some(&pid)).await;
        }
        "scrape" => {
            let (fixture, spec, dir, reps) =
                (arg(2), PathBuf::from(arg(3)), PathBuf::from(arg(4)), arg(5).parse().expect("REPS"));
            let (db, _) = open_db(&dir, "scrape").await;
            let specs = slo::spec::load_paths(std::slice::from_ref(&spec)).expect("valid specs");
            // Scrapes first (the background task's work), timed on their own.
            let scraper = ScrapeSource::open(db.clone(), ScrapeConfig::new(vec![fixture.clone()]), &specs, &tls())
                .await
                .expect("open the scraper");
            let (mut walls, mut cpus) = (Vec::new(), Vec::new());
            for k in 0..6 {
                let (c0, t) = (cpu("self"), Instant::now());
                let r = scraper.scrape_once().await;
                let (wall, c) = (t.elapsed(), cpu("self").saturating_sub(c0));
                let series = r[0].as_ref().map(|n| n.to_string()).unwrap_or_else(|e| format!("error: {e}"));
                println!("scrape k={k} series={series} wall_ms={:.1} cpu_ms={:.0}", ms(wall), ms(c));
                walls.push(ms(wall));
                cpus.push(ms(c));
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            println!("scrape MEDIAN wall_ms={:.1} cpu_ms={:.0}", median(walls), median(cpus));
            drop(scraper);
            // The controller's own scraper resumes from the stored series; nothing is spawned,
            // so the cycle is measured alone.
            let source = ScrapeSource::open(db.clone(), ScrapeConfig::new(vec![fixture]), &specs, &tls())
                .await
                .expect("open the scraper");
            let c = controller(db, Source::Scrape(source), &spec, "bench-scrape");
            cycles("scraper", &c, reps, None).await;
        }
        "thirty-days" => thirty_days(PathBuf::from(arg(2)), arg(3).parse().expect("N")).await,
        other => panic!("unknown mode {other}; see the module docs"),
    }
}

/// The method of `the_scrapers_cost_over_thirty_days_is_reported` (slo/tests/slo/source.rs):
/// 30 days of buckets as the scraper leaves them (every hour, and the minutes of the last
/// 48 h) for `n` SLOs, then timed scrapes of two series per SLO and one cycle's read.
async fn thirty_days(dir: PathBuf, n: usize) {
    use slo::source::Query;
    use slo::spec::{Counting, Selector, Sli};
    let (db, path) = open_db(&dir, "thirty-days").await;
    let scraper = ScrapeSource::open(db.clone(), ScrapeConfig::new(vec!["http://fixture/metrics".into()]), &[], &tls())
        .await
        .expect("open");
    let end: Timestamp = "2026-01-31T00:00:00Z".parse().expect("a timestamp");
    let ranges: Vec<SignedDuration> =
        [30 * 24 * 60, 3 * 24 * 60, 24 * 60, 6 * 60, 60, 30, 5].iter().map(|m| SignedDuration::from_mins(*m)).collect();
    let selector = |s: &str| Selector::parse(s).expect("a selector");
    let queries: Vec<Query> = (0..n)
        .map(|i| Query {
            key: slo::spec::SloKey::new("fixture", format!("slo-{i}")),
            sli: Sli::Ratio {
                counting: Counting::Bad,
                numerator: selector(&format!(r#"http_requests_total{{slo="{i}", code=~"5.."}}"#)),
                total: selector(&format!(r#"http_requests_total{{slo="{i}"}}"#)),
            },
            ranges: ranges.clone(),
        })
        .collect();
    let _ = scraper.read(&queries, end).await;

    let (c0, started) = (cpu("self"), Instant::now());
    let mut tx = db.writer().begin().await.expect("begin");
    fixtures::fill_history(&mut tx, n, end.as_second()).await;
    tx.commit().await.expect("commit");
    let (filled, filled_cpu) = (started.elapsed(), cpu("self").saturating_sub(c0));
    let (minutes, hours) = scraper.bucket_rows().await.expect("rows");

    let body = |k: u64| {
        (0..n)
            .map(|i| {
                format!(
                    "http_requests_total{{slo=\"{i}\",code=\"200\"}} {}\nhttp_requests_total{{slo=\"{i}\",code=\"500\"}} {k}\n",
                    99 * k
                )
            })
            .collect::<String>()
    };
    let scrapes = 20u32;
    let (c0, started) = (cpu("self"), Instant::now());
    for k in 0..scrapes {
        scraper
            .ingest(0, &body(k.into()), end - SignedDuration::from_secs(15 * i64::from(scrapes - k)))
            .await
            .expect("ingest");
    }
    let (per_scrape, per_scrape_cpu) = (started.elapsed() / scrapes, cpu("self").saturating_sub(c0) / scrapes);

    let mut reads = Vec::new();
    let mut read_cpus = Vec::new();
    for _ in 0..3 {
        let (c0, started) = (cpu("self"), Instant::now());
        let results = scraper.read(&queries, end).await;
        reads.push(ms(started.elapsed()));
        read_cpus.push(ms(cpu("self").saturating_sub(c0)));
        assert!(results.iter().all(|r| r.as_ref().is_ok_and(|r| r.ranges.len() == ranges.len())));
    }
    let (c0, started) = (cpu("self"), Instant::now());
    let compacted = scraper.compact(end).await.expect("compact");
    let (compact, compact_cpu) = (started.elapsed(), cpu("self").saturating_sub(c0));

    sqlx::query("pragma wal_checkpoint(truncate)").execute(db.writer()).await.expect("checkpoint");
    let bytes = std::fs::metadata(&path).expect("the database file").len();
    // 30 days of 15 s scrapes, at the measured per-scrape CPU.
    let scrapes_30d = 30 * 86_400 / 15;
    println!(
        "thirty-days n={n} minute_rows={minutes} hour_rows={hours} sqlite_bytes={bytes} fill_wall_ms={:.0} fill_cpu_ms={:.0} \
         scrape_wall_ms={:.2} scrape_cpu_ms={:.2} read_wall_ms_median={:.1} read_cpu_ms_median={:.0} \
         compact_rows={compacted} compact_wall_ms={:.1} compact_cpu_ms={:.0} scrapes_30d={scrapes_30d} scrape_cpu_30d_s={:.0}",
        ms(filled),
        ms(filled_cpu),
        ms(per_scrape),
        ms(per_scrape_cpu),
        median(reads),
        median(read_cpus),
        ms(compact),
        ms(compact_cpu),
        per_scrape_cpu.as_secs_f64() * f64::from(scrapes_30d),
    );
}
