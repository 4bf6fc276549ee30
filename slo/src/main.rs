//! The `slo` command: `lint` spec files, `generate` rules and dashboards from them,
//! `import` OpenSLO or Sloth documents as Kura specs, and run the `controller`. Exit status: 0
//! on success, 1 when a spec or document has errors (each printed as `file:line:column:
//! message`), 2 on usage errors; `slo controller` exits 64 (EX_USAGE) on bad configuration.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use slo::generate::{self, Kind};
use slo::spec::catalogue::Catalogue;

#[derive(Debug, Parser)]
#[command(
    name = "slo",
    version,
    about = "Kura's SLO tool: lint, generate and import journey SLO specs; run the SLO controller"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check spec files (and directories of them); print every problem as file:line:column.
    Lint {
        /// A Prometheus/OpenMetrics scrape whose metrics SLIs may also use (repeatable).
        #[arg(long = "metrics", value_name = "FILE")]
        metrics: Vec<PathBuf>,
        /// Spec files or directories (searched for *.yaml / *.yml).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Generate prometheus | grafana | datadog-terraform | openslo from specs, on stdout.
    Generate {
        #[arg(value_name = "KIND", value_parser = parse_kind)]
        kind: Kind,
        /// A Prometheus/OpenMetrics scrape whose metrics SLIs may also use (repeatable).
        #[arg(long = "metrics", value_name = "FILE")]
        metrics: Vec<PathBuf>,
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Import an OpenSLO v1 or Sloth prometheus/v1 document; print it as a Kura spec.
    Import {
        #[arg(value_enum)]
        format: ImportFormat,
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Evaluate every SLO continuously, keep budgets and their history, serve the API.
    ///
    /// API: GET /api/v1/slos, /api/v1/slos/{service}/{slo}, /api/v1/journeys,
    /// /api/v1/services, /api/v1/alerts, /api/v1/silences, /api/v1/maintenance (POST and
    /// DELETE on silences and maintenance need --api-token), /openapi.json, and a plain
    /// overview at /. Maintenance windows come from the specs, from each
    /// --service-maintenance endpoint and from the API.
    /// Alerts go to --webhook, --slack-webhook, --pagerduty-routing-key and --alertmanager
    /// through a database outbox, so a restart or a receiver outage delays them, never loses
    /// them. Admin listener: /livez,
    /// /readyz, /metrics, /debug/pprof/*. SIGHUP re-reads --slos (a spec with errors is
    /// rejected and the old one kept); SIGTERM/Ctrl-C drains and exits. On PostgreSQL, replicas
    /// run active/standby on an advisory lock.
    ///
    /// Logs go to stderr (JSON unless stderr is a terminal), filtered by RUST_LOG (default
    /// `info,sqlx=warn`). Traces follow the OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT,
    /// OTEL_SDK_DISABLED=true to turn them off). Exit status 64 on bad configuration.
    Controller(Box<ControllerArgs>),
}

#[derive(Debug, clap::Args)]
struct ControllerArgs {
    /// API address (JSON API, /openapi.json, the overview at /).
    #[arg(long, env = "SLO_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Admin listener address (/livez, /readyz, /metrics, /debug/pprof); keep it private.
    #[arg(long, env = "SLO_ADMIN_LISTEN", default_value = "127.0.0.1:9465")]
    admin_listen: SocketAddr,
    /// Spec files or directories (searched for *.yaml / *.yml), e.g. app/slos.
    #[arg(long, env = "SLO_SPECS", value_name = "PATH", required = true, value_delimiter = ',')]
    slos: Vec<PathBuf>,
    /// A /metrics target for the embedded scraper (repeatable; comma-separated in the variable).
    /// The default source when no --prometheus is given; with neither, every SLO is `no-data`.
    #[arg(long, env = "SLO_SCRAPE", value_name = "URL", value_delimiter = ',', conflicts_with = "prometheus")]
    scrape: Vec<String>,
    /// How often the embedded scraper fetches each target.
    #[arg(long, env = "SLO_SCRAPE_INTERVAL", default_value = "15s", value_parser = parse_interval)]
    scrape_interval: std::time::Duration,
    /// A Prometheus-compatible query API base URL (Prometheus, Thanos, Mimir with its
    /// `/prometheus` prefix, VictoriaMetrics), e.g. http://127.0.0.1:9090.
    #[arg(long, env = "SLO_PROMETHEUS", value_name = "URL")]
    prometheus: Option<String>,
    /// Bearer token sent to --prometheus.
    #[arg(long, env = "SLO_PROMETHEUS_BEARER_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    prometheus_bearer_token: Option<String>,
    /// Basic-auth user for --prometheus (password in SLO_PROMETHEUS_PASSWORD).
    #[arg(long, env = "SLO_PROMETHEUS_USER", value_name = "USER", conflicts_with = "prometheus_bearer_token")]
    prometheus_user: Option<String>,
    /// Basic-auth password for --prometheus.
    #[arg(long, env = "SLO_PROMETHEUS_PASSWORD", value_name = "PASSWORD", hide_env_values = true)]
    prometheus_password: Option<String>,
    /// An extra header on every --prometheus request, `Name: value` (repeatable), e.g.
    /// `X-Scope-OrgID: tenant`.
    #[arg(long, env = "SLO_PROMETHEUS_HEADER", value_name = "HEADER", value_delimiter = ',', value_parser = parse_header)]
    prometheus_header: Vec<(String, String)>,
    /// Timeout of each --prometheus request.
    #[arg(long, env = "SLO_PROMETHEUS_TIMEOUT", default_value = "10s", value_parser = parse_interval)]
    prometheus_timeout: std::time::Duration,
    /// A service's maintenance mode, read every cycle from its admin listener's GET
    /// /maintenance (repeatable, SERVICE=URL, e.g.
    /// fulfillment=http://127.0.0.1:9464/maintenance): while it is on, every SLO of that
    /// service is in maintenance (nothing pages). An endpoint that cannot be read is logged and
    /// counted (slo_maintenance_errors_total), never fails the cycle.
    #[arg(long, env = "SLO_SERVICE_MAINTENANCE", value_name = "SERVICE=URL", value_delimiter = ',')]
    service_maintenance: Vec<slo::maintenance::ServiceEndpoint>,
    /// Evaluation interval (Prometheus duration: 30s, 1m).
    #[arg(long, env = "SLO_INTERVAL", default_value = "30s", value_parser = parse_interval)]
    interval: std::time::Duration,
    /// Database: `sqlite://FILE?mode=rwc` (embedded default) or `postgres://USER@HOST/DB`
    /// (required for more than one replica).
    #[arg(long, env = "DATABASE_URL", default_value = slo::store::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "SLO_DRAIN_SECONDS", default_value_t = 10)]
    drain_seconds: u64,
    /// This replica's name in the history and logs (default: hostname and process id).
    #[arg(long, env = "SLO_INSTANCE")]
    instance: Option<String>,
    #[command(flatten)]
    alerting: slo::alert::Args,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once(':').ok_or("expected `Name: value`")?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let d = slo::math::parse_duration(s).map_err(|e| e.to_string())?;
    let d = std::time::Duration::try_from(d).map_err(|e| e.to_string())?;
    if d < std::time::Duration::from_secs(1) {
        return Err("the interval must be at least 1s".into());
    }
    Ok(d)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportFormat {
    Openslo,
    Sloth,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
}

/// EX_USAGE: the configuration is wrong; fix it and start again.
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            let controller = std::env::args().nth(1).is_some_and(|a| a == "controller");
            return match (usage, controller) {
                (false, _) => ExitCode::SUCCESS,
                (true, true) => ExitCode::from(EXIT_CONFIG),
                (true, false) => ExitCode::from(2),
            };
        }
    };
    match cli.command {
        Command::Controller(args) => controller(*args),
        Command::Lint { metrics, paths } => {
            let Some(catalogue) = catalogue(&metrics) else { return ExitCode::FAILURE };
            match slo::spec::load_paths_with(&paths, &catalogue) {
                Ok(specs) => {
                    let slos: usize = specs.iter().map(|s| s.slos().count()).sum();
                    let journeys: usize = specs.iter().map(|s| s.journeys.len()).sum();
                    println!("ok: {} files, {journeys} journeys, {slos} SLOs", specs.len());
                    ExitCode::SUCCESS
                }
                Err(diagnostics) => {
                    eprintln!("{diagnostics}");
                    eprintln!("{} problem(s)", diagnostics.len());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Generate { kind, metrics, paths } => {
            let Some(catalogue) = catalogue(&metrics) else { return ExitCode::FAILURE };
            let specs = match slo::spec::load_paths_with(&paths, &catalogue) {
                Ok(specs) => specs,
                Err(diagnostics) => {
                    eprintln!("{diagnostics}");
                    return ExitCode::FAILURE;
                }
            };
            match generate::generate(kind, &specs) {
                Ok(text) => write_stdout(&text),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Import { format, file } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    return ExitCode::FAILURE;
                }
            };
            let imported = match format {
                ImportFormat::Openslo => slo::import::openslo::import(&file, &text),
                ImportFormat::Sloth => slo::import::sloth::import(&file, &text),
            };
            match imported {
                Ok(specs) => {
                    let docs: Vec<String> = specs.iter().map(slo::spec::to_yaml).collect();
                    write_stdout(&docs.join("---\n"))
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Kura's metric contract plus every scrape given with `--metrics`.
fn catalogue(scrapes: &[PathBuf]) -> Option<Catalogue> {
    let mut catalogue = Catalogue::kura();
    for path in scrapes {
        match std::fs::read_to_string(path) {
            Ok(text) => catalogue.merge(Catalogue::from_exposition(&text)),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return None;
            }
        }
    }
    Some(catalogue)
}

fn write_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`slo generate ... | head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn controller(args: ControllerArgs) -> ExitCode {
    let _telemetry = match telemetry::init(&telemetry::Config {
        service_name: "slo-controller",
        default_filter: "info,sqlx=warn",
        otlp_traces_endpoint: None,
    }) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("slo controller: {e}");
            return ExitCode::from(70);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("slo controller: cannot start the runtime: {e}");
            return ExitCode::from(70);
        }
    };
    runtime.block_on(async move {
        let db = match slo::store::Db::open(&args.database_url).await {
            Ok(db) => db,
            Err(e @ slo::store::OpenError::UnsupportedUrl(_)) => {
                eprintln!("slo controller: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot open the database");
                eprintln!("slo controller: {e}");
                return ExitCode::FAILURE;
            }
        };
        let instance = args.instance.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
            format!("{}-{}", if host.is_empty() { "slo" } else { &host }, std::process::id())
        });
        let specs = match slo::spec::load_paths(&args.slos) {
            Ok(specs) => specs,
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                eprintln!("slo controller: {} problem(s) in the specs", diagnostics.len());
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let source = match source(&args, &db, &specs).await {
            Ok(s) => s,
            Err(message) => {
                eprintln!("slo controller: {message}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let alerting = match args.alerting.settings() {
            Ok(a) => a,
            Err(message) => {
                eprintln!("slo controller: {message}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let config = slo::controller::Config { slos: args.slos.clone(), interval: args.interval, instance };
        let controller = match slo::controller::Controller::new(db, source, config) {
            Ok(c) => {
                c.set_alerting(alerting);
                for e in &args.service_maintenance {
                    if !specs.iter().any(|s| s.service == e.service) {
                        tracing::warn!(service = %e.service, "--service-maintenance names a service no spec has");
                    }
                }
                c.set_service_maintenance(args.service_maintenance.clone());
                Arc::new(c)
            }
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        let serve = slo::controller::ServeConfig {
            listen: args.listen,
            admin_listen: args.admin_listen,
            drain: std::time::Duration::from_secs(args.drain_seconds),
        };
        println!("Kura SLO controller:  http://{}/api/v1/slos", args.listen);
        println!("Overview:             http://{}/", args.listen);
        println!("Admin listener:       http://{}/metrics", args.admin_listen);
        match slo::controller::serve(controller, serve, slo::controller::shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "slo controller failed");
                eprintln!("slo controller: {e}");
                // Mostly a listen address in use or not ours to bind: configuration.
                ExitCode::from(EXIT_CONFIG)
            }
        }
    })
}

/// The SLI source the flags ask for: `Err` is a configuration error (exit 64).
async fn source(
    args: &ControllerArgs,
    db: &slo::store::Db,
    specs: &[slo::spec::Spec],
) -> Result<slo::source::Source, String> {
    use slo::source::{Source, prometheus, scrape};
    if let Some(url) = &args.prometheus {
        let mut config = prometheus::PrometheusConfig::new(url.clone());
        config.timeout = args.prometheus_timeout;
        config.headers = args.prometheus_header.clone();
        config.auth = match (&args.prometheus_bearer_token, &args.prometheus_user) {
            (Some(token), _) => Some(prometheus::Auth::Bearer(token.clone())),
            (None, Some(user)) => {
                Some(prometheus::Auth::Basic { username: user.clone(), password: args.prometheus_password.clone() })
            }
            (None, None) => None,
        };
        return prometheus::PrometheusSource::new(config).map(Source::Prometheus).map_err(|e| e.to_string());
    }
    if args.scrape.is_empty() {
        return Ok(Source::None);
    }
    if let Some(bad) = args.scrape.iter().find(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
        return Err(format!("--scrape {bad:?} must start with http:// or https://"));
    }
    let config = scrape::ScrapeConfig::new(args.scrape.clone()).with_interval(args.scrape_interval);
    let mut source = scrape::ScrapeSource::open(db.clone(), config, specs).await.map_err(|e| e.to_string())?;
    // Standby until the controller takes the lead (it adopts this flag).
    source.leading().store(false, std::sync::atomic::Ordering::Relaxed);
    source.spawn();
    Ok(Source::Scrape(source))
}
