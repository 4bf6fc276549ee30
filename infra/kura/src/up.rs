//! `kura up`: all of Kura on one machine, in one command.
//!
//! It starts, in this order: the fulfillment service's database (migrated and seeded with
//! demo data), a local alert receiver, the fulfillment service (fault injection on, so
//! `kura incident` can burn a budget), the SLO controller pointed at the service's SLOs, its
//! `/metrics` (the embedded scraper, or `--prometheus`) and its maintenance endpoint, paging
//! the receiver; then synthetic traffic over every journey. It prints every URL and the demo
//! tokens, writes them to `stack.json` in the data directory (for `kura incident`,
//! `kura status` and scripts), and redraws a live view until Ctrl-C; then it stops the traffic,
//! the controller and the service (SIGTERM, then SIGKILL after a deadline) and leaves no
//! process behind.
//!
//! State lives in the data directory (`./kura-data` by default): the two SQLite files, the
//! parts' logs, the received pages (`alerts.jsonl`). Run it again and it carries on from there;
//! delete the directory to start over. `--postgres URL` puts both databases on PostgreSQL
//! instead (the URL's database for the service, `<name>_slo` beside it for the controller).

use std::io::IsTerminal;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rand::RngExt;
use serde_json::json;

use crate::api::Api;
use crate::child::Part;
use crate::load::{self, LoadArgs};
use crate::receiver::Receiver;
use crate::view::{self, Counters, Endpoints};

/// The service's own SLO file, built into `kura` so `kura up` works from any directory.
pub const SERVICE_SLOS: &str = include_str!("../../../app/slos/fulfillment.yaml");

#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Where state is kept between runs (databases, logs, received pages, stack.json).
    #[arg(long, env = "KURA_DATA_DIR", default_value = "kura-data")]
    pub data_dir: PathBuf,
    /// Run on PostgreSQL: the service's database URL (`postgres://USER@HOST/DB`); the controller
    /// gets `DB_slo` beside it. Both are created when missing.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Read SLIs from this Prometheus-compatible API instead of the controller's own scraper
    /// (it must scrape the service's admin listener, printed at start).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// SLO specs to evaluate instead of the service's own (a file or directory).
    #[arg(long, value_name = "PATH")]
    pub slos: Option<PathBuf>,
    /// The first of five consecutive ports (service, service admin, controller, controller
    /// admin, alert receiver); free ports when absent.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Synthetic traffic, arrivals per second (0: none).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// The traffic's mix (see `kura load --help`).
    #[arg(long, default_value = load::DEFAULT_MIX, value_parser = load::parse_mix)]
    pub mix: load::Mix,
    /// The controller's evaluation interval.
    #[arg(long, default_value = "10s", value_parser = crate::incident::parse_duration)]
    pub interval: Duration,
    /// How often the view is redrawn.
    #[arg(long, default_value = "3s", value_parser = crate::incident::parse_duration)]
    pub refresh: Duration,
}

/// Where each part listens.
#[derive(Debug, Clone, Copy)]
struct Ports {
    service: u16,
    service_admin: u16,
    controller: u16,
    controller_admin: u16,
    receiver: u16,
}

impl Ports {
    fn choose(first: Option<u16>) -> std::io::Result<Ports> {
        let port = |i: u16| -> std::io::Result<u16> {
            match first {
                Some(p) => Ok(p + i),
                None => TcpListener::bind("127.0.0.1:0")?.local_addr().map(|a| a.port()),
            }
        };
        Ok(Ports {
            service: port(0)?,
            service_admin: port(1)?,
            controller: port(2)?,
            controller_admin: port(3)?,
            receiver: port(4)?,
        })
    }
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The running stack's parts, stopped in reverse order on drop.
struct Stack {
    parts: Vec<Part>,
}

impl Stack {
    fn stop(&mut self) {
        while let Some(mut part) = self.parts.pop() {
            let status = part.stop(Duration::from_secs(15));
            eprintln!("kura: {} stopped ({})", part.name, status.map_or("killed".to_owned(), |s| s.to_string()));
        }
    }

    /// A part that exited on its own, if one did.
    fn exited(&mut self) -> Option<(&'static str, String)> {
        self.parts.iter_mut().find_map(|p| p.exited().map(|s| (p.name, s.to_string())))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

pub async fn run(args: UpArgs) -> ExitCode {
    match up(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kura up: {e:#}");
            ExitCode::from(platform::exit::FAILURE)
        }
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)?;
    let data = std::fs::canonicalize(&args.data_dir)?;
    let ports = Ports::choose(args.port)?;
    let (service_db, controller_db) = databases(&data, args.postgres.as_deref()).await?;
    let slos = match &args.slos {
        Some(p) => std::fs::canonicalize(p)?,
        None => {
            let dir = data.join("slos");
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("fulfillment.yaml"), SERVICE_SLOS)?;
            dir
        }
    };

    eprintln!("kura: migrating and seeding the service's database");
    let db = fulfillment::db::open(&service_db, fulfillment::db::DEFAULT_SLOW_STATEMENT).await?;
    let seeded = fulfillment::db::seed::run(&db).await?;
    db.close().await;

    let secret = format!("{:032x}", rand::rng().random::<u128>());
    let api_token = format!("kura_api_{:032x}", rand::rng().random::<u128>());
    let receiver = Receiver::new(&secret, data.join("alerts.jsonl"));
    let receiver_socket = tokio::net::TcpListener::bind(("127.0.0.1", ports.receiver)).await?;
    let receiver_task = tokio::spawn(axum::serve(receiver_socket, receiver.router()).into_future());

    let quiet = [("RUST_LOG".to_owned(), std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()))];
    let mut telemetry_env: Vec<(String, String)> = quiet.to_vec();
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
        // No collector configured: keep the parts from trying to reach one.
        telemetry_env.push(("OTEL_SDK_DISABLED".into(), "true".into()));
    }
    let mut stack = Stack { parts: Vec::new() };
    let mut service_env = telemetry_env.clone();
    service_env.push(("DATABASE_URL".into(), service_db.clone()));
    service_env.push(("FULFILLMENT_BACKORDER_SWEEP_INTERVAL".into(), "20s".into()));
    stack.parts.push(Part::start(
        "fulfillment service",
        &[
            "fulfillment".into(),
            "serve".into(),
            "--fault-injection".into(),
            "--listen".into(),
            format!("127.0.0.1:{}", ports.service),
            "--admin-listen".into(),
            format!("127.0.0.1:{}", ports.service_admin),
        ],
        &service_env,
        &data.join("fulfillment.log"),
    )?);
    wait_ready(&mut stack, &url(ports.service_admin), &data.join("fulfillment.log")).await?;

    let mut controller_args: Vec<String> = vec![
        "slo".into(),
        "controller".into(),
        "--listen".into(),
        format!("127.0.0.1:{}", ports.controller),
        "--admin-listen".into(),
        format!("127.0.0.1:{}", ports.controller_admin),
        "--slos".into(),
        slos.display().to_string(),
        "--interval".into(),
        format!("{}s", args.interval.as_secs().max(1)),
        "--service-maintenance".into(),
        format!("fulfillment={}/maintenance", url(ports.service_admin)),
        "--webhook".into(),
        format!("{}/alerts", url(ports.receiver)),
        "--external-url".into(),
        url(ports.controller),
    ];
    match &args.prometheus {
        Some(p) => controller_args.extend(["--prometheus".into(), p.clone()]),
        None => controller_args.extend([
            "--scrape".into(),
            format!("{}/metrics", url(ports.service_admin)),
            "--scrape-interval".into(),
            "5s".into(),
        ]),
    }
    let mut controller_env = telemetry_env.clone();
    controller_env.push(("DATABASE_URL".into(), controller_db.clone()));
    controller_env.push(("SLO_WEBHOOK_SECRET".into(), secret.clone()));
    controller_env.push(("SLO_API_TOKEN".into(), api_token.clone()));
    stack.parts.push(Part::start("SLO controller", &controller_args, &controller_env, &data.join("slo.log"))?);
    wait_ready(&mut stack, &url(ports.controller_admin), &data.join("slo.log")).await?;

    let (stop_traffic, traffic_stopped) = tokio::sync::oneshot::channel::<()>();
    let board = load::Board::default();
    let traffic = (args.rate > 0.0).then(|| {
        let load_args = LoadArgs {
            base: url(ports.service),
            admin_token: seeded.admin_token.clone(),
            rate: args.rate,
            seconds: 0,
            warmup: 0,
            mix: args.mix.clone(),
            devices: 4,
            items: 20,
            json: false,
            label: "kura up".into(),
        };
        let board = board.clone();
        tokio::spawn(async move {
            if let Err(e) = load::generate(&load_args, board, async {
                let _ = traffic_stopped.await;
            })
            .await
            {
                eprintln!("kura: synthetic traffic stopped: {e:#}");
            }
        })
    });

    let state = json!({
        "service": url(ports.service), "service_admin": url(ports.service_admin),
        "controller": url(ports.controller), "controller_admin": url(ports.controller_admin),
        "receiver": url(ports.receiver), "api_token": api_token,
        "admin_token": seeded.admin_token, "warehouse_token": seeded.warehouse_token,
        "shipper_tokens": seeded.shipper_tokens.iter().map(|(code, _, token)| json!({"shipper": code, "token": token})).collect::<Vec<_>>(),
        "pids": stack.parts.iter().map(|p| json!({"name": p.name, "pid": p.pid()})).collect::<Vec<_>>(),
        "kura_pid": std::process::id(),
    });
    std::fs::write(data.join(STATE_FILE), serde_json::to_string_pretty(&state)?)?;
    print_links(&ports, &seeded, &api_token, &data);

    let endpoints = Endpoints {
        service_admin: Some(Api::new(&url(ports.service_admin))?),
        controller: Api::new(&url(ports.controller))?,
    };
    let outcome = watch(&mut stack, &endpoints, &receiver, args.refresh).await;

    eprintln!("kura: stopping");
    let _ = stop_traffic.send(());
    if let Some(traffic) = traffic {
        let _ = tokio::time::timeout(Duration::from_secs(10), traffic).await;
    }
    stack.stop();
    receiver_task.abort();
    let _ = std::fs::remove_file(data.join(STATE_FILE));
    eprintln!("kura: stopped; state kept in {}", data.display());
    outcome
}

/// The file `kura up` describes the running stack in, inside the data directory.
pub const STATE_FILE: &str = "stack.json";

/// Redraws the view until Ctrl-C (or SIGTERM), or until a part exits on its own (an error).
async fn watch(stack: &mut Stack, endpoints: &Endpoints, receiver: &Receiver, refresh: Duration) -> anyhow::Result<()> {
    let tty = std::io::stdout().is_terminal();
    let mut counters = Counters::default();
    let mut ticker = tokio::time::interval(refresh);
    let shutdown = platform::serve::shutdown_signal();
    tokio::pin!(shutdown);
    let mut last_line = Instant::now() - Duration::from_secs(60);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            _ = ticker.tick() => {}
        }
        if let Some((part, status)) = stack.exited() {
            anyhow::bail!("the {part} exited on its own ({status}); see its log in the data directory");
        }
        let snapshot = view::snapshot(endpoints, &mut counters).await;
        let pages = receiver.pages();
        if tty {
            let mut frame = String::from("\x1b[2J\x1b[H");
            frame.push_str(&format!(
                "Kura — {}   (Ctrl-C stops everything)\n\n",
                jiff::ZonedDateTime::now().strftime("%Y-%m-%d %H:%M:%S")
            ));
            frame.push_str(&snapshot.render());
            frame.push_str("\npages received:\n");
            if pages.is_empty() {
                frame.push_str("  none yet\n");
            }
            for p in pages.iter().rev().take(5) {
                frame.push_str(&format!("  {}\n", p.line()));
            }
            print!("{frame}");
        } else if last_line.elapsed() >= Duration::from_secs(10) {
            // Not a terminal (a log, a test): one summary line now and then.
            last_line = Instant::now();
            let traffic: f64 = snapshot.journeys.iter().filter_map(|j| j.requests_per_second).sum::<f64>().max(0.0);
            println!(
                "kura: {:.1} req/s; worst budget {}; firing: {}; pages received: {}",
                traffic,
                snapshot.worst.as_ref().map_or("-".to_owned(), |(slo, b, _)| format!("{slo} {:.1}%", b * 100.0)),
                if snapshot.firing.is_empty() { "none".to_owned() } else { snapshot.firing.join("; ") },
                pages.len()
            );
        }
    }
}

fn print_links(ports: &Ports, seeded: &fulfillment::db::seed::Seeded, api_token: &str, data: &Path) {
    println!("Kura is up.");
    println!("  API            {}/v1/…   (OpenAPI {}/openapi.json)", url(ports.service), url(ports.service));
    println!("  dashboard      {}/", url(ports.controller));
    println!("  SLO API        {}/api/v1/slos", url(ports.controller));
    println!(
        "  metrics        {}/metrics (service)   {}/metrics (controller)",
        url(ports.service_admin),
        url(ports.controller_admin)
    );
    println!(
        "  pages          {}/ (the alert receiver's log; also {}/alerts.jsonl)",
        url(ports.receiver),
        data.display()
    );
    println!("Tokens:");
    println!("  admin          {}", seeded.admin_token);
    println!("  warehouse      {}", seeded.warehouse_token);
    for (code, _, token) in &seeded.shipper_tokens {
        println!("  shipper {code:<7}{token}");
    }
    println!("  controller API {api_token}");
    println!("Try: kura incident start --journey create-shipment --error-rate 0.5 --for 10m");
    println!();
}

/// Polls `admin/readyz` until it answers 200 (60 s at most), failing early if a part exits.
async fn wait_ready(stack: &mut Stack, admin: &str, log: &Path) -> anyhow::Result<()> {
    let api = Api::new(admin)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if api.text("/readyz").await.is_ok() {
            return Ok(());
        }
        if let Some((part, status)) = stack.exited() {
            anyhow::bail!("the {part} exited ({status}):\n{}", tail(log));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("{admin}/readyz did not answer within 60 s:\n{}", tail(log))
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The service's and the controller's database URLs.
async fn databases(data: &Path, postgres: Option<&str>) -> anyhow::Result<(String, String)> {
    let Some(url) = postgres else {
        return Ok((
            format!("sqlite://{}", data.join("fulfillment.db").display()),
            format!("sqlite://{}", data.join("slo.db").display()),
        ));
    };
    let (server, name) =
        url.rsplit_once('/').ok_or_else(|| anyhow::anyhow!("--postgres needs a database in the URL"))?;
    let name = name.split('?').next().unwrap_or(name);
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "--postgres: the database name must be letters, digits and `_`"
    );
    let admin = platform::Db::connect(
        &format!("{server}/postgres"),
        fulfillment::db::MIGRATIONS,
        platform::db::Options::default(),
    )
    .await?;
    for db in [name.to_owned(), format!("{name}_slo")] {
        let exists: Option<i32> = sqlx::query_scalar("select 1 from pg_database where datname = $1")
            .bind(&db)
            .fetch_optional(admin.reader())
            .await?;
        if exists.is_none() {
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {db}"))).execute(admin.reader()).await?;
        }
    }
    admin.close().await;
    Ok((format!("{server}/{name}"), format!("{server}/{name}_slo")))
}

/// The stack a running `kura up` described in `data_dir`.
pub fn running(data_dir: &Path) -> anyhow::Result<serde_json::Value> {
    let path = data_dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e} (is `kura up` running with this --data-dir?)", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}
