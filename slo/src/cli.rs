//! The `slo` command line: `lint` spec files, `generate` rules and dashboards from them, `import`
//! OpenSLO or Sloth documents as Kura specs, and run the `controller`.
//!
//! Exit status, the same for every subcommand (`platform::exit`): 0 on success, 1 when the
//! answer is no (a spec or document with problems, each printed as `file:line:column:
//! message`), 64 on a usage or configuration error (a bad flag, variable, URL or file, a spec
//! the controller cannot start with), 69 when a service the command needs is unavailable (the
//! database), 70 on an internal error.
//!
//! A library module so that the `slo` binary and `kura` (which runs the controller as a child
//! process of itself) share one command line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::generate::{self, Kind};
use crate::spec::catalogue::Catalogue;
use clap::{Parser, Subcommand, ValueEnum};
use platform::exit::{FAILURE, SOFTWARE, UNAVAILABLE, USAGE};
use platform::serve::{ADMIN_LIMITS, Limits, PUBLIC_LIMITS};
use platform::tls::Tls;
use tokio::net::TcpListener;

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
        /// The SLO controller's external URL: where a spec's path `dashboard` template
        /// (`/slos/{service}/{slo}`) points in the generated links.
        #[arg(long, env = "SLO_EXTERNAL_URL", value_name = "URL", default_value = crate::spec::DEFAULT_EXTERNAL_URL, value_parser = parse_url)]
        external_url: String,
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
    /// Every outgoing client (--prometheus, --scrape, the receivers, --service-maintenance,
    /// the OTLP exporter) speaks TLS with the system's root certificates plus --ca-bundle.
    /// Each listener closes a connection that sends no complete request head within
    /// --header-read-timeout (also the keep-alive idle limit) and refuses connections past its
    /// cap with a 503 (--max-connections on the public listener, 256 on the admin one).
    ///
    /// Logs go to stderr (JSON unless stderr is a terminal), filtered by RUST_LOG (default
    /// `info,sqlx=warn`). Traces follow the OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT,
    /// OTEL_SDK_DISABLED=true to turn them off). Exit status 64 on bad configuration, 69 when
    /// the database is unreachable.
    Controller(Box<ControllerArgs>),
}

#[derive(Debug, clap::Args)]
struct ControllerArgs {
    /// API address (JSON API, /openapi.json, the overview at /).
    #[arg(long, env = "SLO_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Where people reach this controller, e.g. https://slo.example.com (default:
    /// http://<--listen>): the base of the specs' path `dashboard` templates
    /// (`/slos/{service}/{slo}`) in the links alerts carry.
    #[arg(long, env = "SLO_EXTERNAL_URL", value_name = "URL", value_parser = parse_url)]
    external_url: Option<String>,
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
    service_maintenance: Vec<crate::maintenance::ServiceEndpoint>,
    /// Evaluation interval (Prometheus duration: 30s, 1m).
    #[arg(long, env = "SLO_INTERVAL", default_value = "30s", value_parser = parse_interval)]
    interval: std::time::Duration,
    /// Database: `sqlite://FILE` (embedded default; the file is created when missing) or
    /// `postgres://USER@HOST/DB` (required for more than one replica).
    #[arg(long, env = "DATABASE_URL", default_value = crate::store::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "SLO_DRAIN_SECONDS", default_value_t = 10)]
    drain_seconds: u64,
    /// This replica's name in the history and logs (default: hostname and process id).
    #[arg(long, env = "SLO_INSTANCE")]
    instance: Option<String>,
    /// A PEM file of CA certificates trusted beside the system's roots by every outgoing
    /// client (a private CA, a corporate proxy's).
    #[arg(long, env = "KURA_CA_BUNDLE", value_name = "PATH")]
    ca_bundle: Option<PathBuf>,
    /// Open connections the public listener accepts; past it, new ones get a 503 at once.
    #[arg(long, env = "SLO_MAX_CONNECTIONS", default_value_t = PUBLIC_LIMITS.max_connections)]
    max_connections: usize,
    /// How long a connection may take to send a complete request head, on both listeners
    /// (also how long an idle keep-alive connection is kept).
    #[arg(long, env = "SLO_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_interval)]
    header_read_timeout: std::time::Duration,
    #[command(flatten)]
    alerting: crate::alert::Args,
}

fn parse_url(s: &str) -> Result<String, String> {
    if s.starts_with("http://") || s.starts_with("https://") {
        Ok(s.trim_end_matches('/').to_owned())
    } else {
        Err("expected an http:// or https:// URL".into())
    }
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once(':').ok_or("expected `Name: value`")?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let d = crate::math::parse_duration(s).map_err(|e| e.to_string())?;
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

/// Runs the command line of this process.
pub fn main() -> ExitCode {
    run_from(std::env::args_os())
}

/// Runs a command line (`args[0]` is the program name).
pub fn run_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match platform::exit::parse_from::<Cli, _, _>(args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Controller(args) => controller(*args),
        Command::Lint { metrics, paths } => {
            let catalogue = match catalogue(&metrics).and_then(|c| existing(&paths).map(|()| c)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match crate::spec::load_paths_with(&paths, &catalogue) {
                Ok(specs) => {
                    let slos: usize = specs.iter().map(|s| s.slos().count()).sum();
                    let journeys: usize = specs.iter().map(|s| s.journeys.len()).sum();
                    println!("ok: {} files, {journeys} journeys, {slos} SLOs", specs.len());
                    ExitCode::SUCCESS
                }
                Err(diagnostics) => {
                    eprintln!("{diagnostics}");
                    eprintln!("{} problem(s)", diagnostics.len());
                    ExitCode::from(FAILURE)
                }
            }
        }
        Command::Generate { kind, external_url, metrics, paths } => {
            let catalogue = match catalogue(&metrics).and_then(|c| existing(&paths).map(|()| c)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let mut specs = match crate::spec::load_paths_with(&paths, &catalogue) {
                Ok(specs) => specs,
                Err(diagnostics) => {
                    eprintln!("{diagnostics}");
                    return ExitCode::from(FAILURE);
                }
            };
            for spec in &mut specs {
                spec.external_url.clone_from(&external_url);
            }
            match generate::generate(kind, &specs) {
                Ok(text) => write_stdout(&text),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(FAILURE)
                }
            }
        }
        Command::Import { format, file } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    return ExitCode::from(USAGE);
                }
            };
            let imported = match format {
                ImportFormat::Openslo => crate::import::openslo::import(&file, &text),
                ImportFormat::Sloth => crate::import::sloth::import(&file, &text),
            };
            match imported {
                Ok(specs) => {
                    let docs: Vec<String> = specs.iter().map(crate::spec::to_yaml).collect();
                    write_stdout(&docs.join("---\n"))
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(FAILURE)
                }
            }
        }
    }
}

/// Every path names something: a missing file is a usage error (64), not a spec problem.
fn existing(paths: &[PathBuf]) -> Result<(), ExitCode> {
    match paths.iter().find(|p| !p.exists()) {
        Some(missing) => {
            eprintln!("{}: no such file or directory", missing.display());
            Err(ExitCode::from(USAGE))
        }
        None => Ok(()),
    }
}

/// Kura's metric contract plus every scrape given with `--metrics` (unreadable: 64).
fn catalogue(scrapes: &[PathBuf]) -> Result<Catalogue, ExitCode> {
    let mut catalogue = Catalogue::kura();
    for path in scrapes {
        match std::fs::read_to_string(path) {
            Ok(text) => catalogue.merge(Catalogue::from_exposition(&text)),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return Err(ExitCode::from(USAGE));
            }
        }
    }
    Ok(catalogue)
}

fn write_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`slo generate ... | head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(SOFTWARE)
        }
    }
}

/// `slo controller`: everything is built here, once, then served until SIGTERM.
fn controller(args: ControllerArgs) -> ExitCode {
    let fail = |code: u8, message: &dyn std::fmt::Display| {
        eprintln!("slo controller: {message}");
        ExitCode::from(code)
    };
    let tls = match Tls::new(args.ca_bundle.as_deref()) {
        Ok(tls) => tls,
        Err(e) => return fail(USAGE, &e),
    };
    let otlp_client = match tls.blocking_client() {
        Ok(c) => c,
        Err(e) => return fail(SOFTWARE, &platform::tls::redact(e)),
    };
    let _telemetry = match telemetry::init(&telemetry::Config {
        service_name: "slo-controller",
        default_filter: "info,sqlx=warn",
        otlp_traces_endpoint: None,
        otlp_client,
    }) {
        Ok(guard) => guard,
        Err(e) => return fail(SOFTWARE, &e),
    };
    let runtime = match platform::exit::runtime("slo controller") {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let specs = match crate::spec::load_paths(&args.slos) {
            Ok(specs) => specs,
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                return fail(USAGE, &format_args!("{} problem(s) in the specs", diagnostics.len()));
            }
        };
        let alerting = match args.alerting.settings() {
            Ok(a) => a,
            Err(message) => return fail(USAGE, &message),
        };
        let http = match tls.client().build() {
            Ok(c) => c,
            Err(e) => return fail(SOFTWARE, &platform::tls::redact(e)),
        };
        let db = match crate::store::open(&args.database_url).await {
            Ok(db) => db,
            Err(e) if e.is_configuration() => return fail(USAGE, &e),
            Err(e) => {
                tracing::error!(error = %e, "cannot open the database");
                return fail(UNAVAILABLE, &e);
            }
        };
        let source = match source(&args, &db, &specs, &tls).await {
            Ok(s) => s,
            Err(message) => return fail(USAGE, &message),
        };
        let instance = args.instance.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
            format!("{}-{}", if host.is_empty() { "slo" } else { &host }, std::process::id())
        });
        let controller = Arc::new(crate::controller::Controller::new(crate::controller::Deps {
            db,
            specs,
            source,
            config: crate::controller::Config {
                slos: args.slos.clone(),
                interval: args.interval,
                instance,
                external_url: args.external_url.clone().unwrap_or_else(|| format!("http://{}", args.listen)),
            },
            alerting,
            service_maintenance: args.service_maintenance.clone(),
            http,
            telemetry: telemetry::Metrics::new(),
        }));
        let (public, admin) = match (TcpListener::bind(args.listen).await, TcpListener::bind(args.admin_listen).await) {
            (Ok(p), Ok(a)) => (p, a),
            (Err(e), _) => return fail(USAGE, &format_args!("cannot listen on {}: {e}", args.listen)),
            (_, Err(e)) => return fail(USAGE, &format_args!("cannot listen on {}: {e}", args.admin_listen)),
        };
        let listeners = crate::server::Listeners {
            public,
            admin,
            public_limits: Limits {
                header_read_timeout: args.header_read_timeout,
                max_connections: args.max_connections,
            },
            admin_limits: Limits { header_read_timeout: args.header_read_timeout, ..ADMIN_LIMITS },
            drain: std::time::Duration::from_secs(args.drain_seconds),
        };
        let api = crate::server::ApiConfig {
            api_token: args.alerting.api_token.as_deref().filter(|t| !t.is_empty()).map(platform::auth::ApiToken::new),
        };
        println!("Kura SLO controller:  http://{}/api/v1/slos", args.listen);
        println!("Overview:             http://{}/", args.listen);
        println!("Admin listener:       http://{}/metrics", args.admin_listen);
        match crate::server::run(controller, listeners, api, platform::serve::shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "slo controller failed");
                fail(SOFTWARE, &e)
            }
        }
    })
}

/// The SLI source the flags ask for: `Err` is a configuration error (exit 64).
async fn source(
    args: &ControllerArgs,
    db: &platform::Db,
    specs: &[crate::spec::Spec],
    tls: &Tls,
) -> Result<crate::source::Source, String> {
    use crate::source::{Source, prometheus, scrape};
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
        return prometheus::PrometheusSource::new(config, tls).map(Source::Prometheus).map_err(|e| e.to_string());
    }
    if args.scrape.is_empty() {
        return Ok(Source::None);
    }
    if let Some(bad) = args.scrape.iter().find(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
        return Err(format!("--scrape {bad:?} must start with http:// or https://"));
    }
    let config = scrape::ScrapeConfig::new(args.scrape.clone()).with_interval(args.scrape_interval);
    let mut source = scrape::ScrapeSource::open(db.clone(), config, specs, tls).await.map_err(|e| e.to_string())?;
    // Standby until the controller takes the lead (it adopts this flag).
    source.leading().store(false, std::sync::atomic::Ordering::Relaxed);
    source.spawn();
    Ok(Source::Scrape(source))
}
