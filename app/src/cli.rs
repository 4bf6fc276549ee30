//! The `fulfillment` command line: parses it, starts telemetry, and runs one of `serve`,
//! `migrate`, `seed` or `maintenance`. A library module so that the `fulfillment` binary and
//! `kura` (which runs the service as a child process of itself) share one command line. Exit codes follow [`platform::exit`]: 64 for
//! bad usage or configuration, 69 when the database is unreachable, 70 for internal errors.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use crate::db;
use crate::server::{self, ServeConfig};
use anyhow::Context;
use clap::{Parser, Subcommand};
use platform::exit;
use platform::serve::Limits;

#[derive(Debug, Parser)]
#[command(
    name = "fulfillment",
    version,
    about = "Kura's fulfillment service: items, inbounds, shipments, inventory, warehouse work and billing."
)]
struct Cli {
    /// Database: `sqlite://FILE` (embedded default; the file is created when missing) or
    /// `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL, global = true)]
    database_url: String,

    /// Statements slower than this many milliseconds are logged at WARN and counted in
    /// `db_client_slow_queries_total`.
    #[arg(long, env = "FULFILLMENT_SLOW_QUERY_MS", default_value_t = 100, global = true)]
    slow_query_ms: u64,

    /// A PEM file of CA certificates trusted by every outgoing HTTPS client (the OTLP exporter),
    /// in addition to the system's roots.
    #[arg(long, env = platform::tls::CA_BUNDLE_VARIABLE, value_name = "PEM", global = true)]
    ca_bundle: Option<std::path::PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the public API and the admin listener until SIGTERM/Ctrl-C, then drain and exit.
    ///
    /// Logs go to stderr (JSON unless stderr is a terminal), filtered by RUST_LOG (default `info,sqlx=warn`).
    /// Traces are exported over OTLP/HTTP as the standard variables say: OTEL_EXPORTER_OTLP_ENDPOINT
    /// (default http://localhost:4318), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
    /// OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_*, and OTEL_SDK_DISABLED=true to turn them off.
    Serve {
        /// Public API address (shipper, warehouse and admin APIs, /openapi.json).
        #[arg(long, env = "FULFILLMENT_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Admin listener address (/livez, /readyz, /maintenance, /metrics); keep it private.
        #[arg(long, env = "FULFILLMENT_ADMIN_LISTEN", default_value = "127.0.0.1:9464")]
        admin_listen: SocketAddr,
        /// Apply pending migrations before serving.
        #[arg(long, env = "FULFILLMENT_MIGRATE")]
        migrate: bool,
        /// Migrate, load demo data and print fresh tokens before serving.
        #[arg(long)]
        seed: bool,
        /// Seconds in-flight requests get to finish after SIGTERM.
        #[arg(long, env = "FULFILLMENT_DRAIN_SECONDS", default_value_t = 25)]
        drain_seconds: u64,
        /// Do not run background jobs (cut-off waves, backorder sweep, storage billing) here.
        #[arg(long, env = "FULFILLMENT_NO_JOBS")]
        no_jobs: bool,
        /// Concurrent requests before new ones are shed with 503 `overloaded` and Retry-After.
        #[arg(long, env = "FULFILLMENT_MAX_IN_FLIGHT", default_value_t = crate::http::DEFAULT_MAX_IN_FLIGHT)]
        max_in_flight: usize,
        /// How often backordered shipments are swept for stock (`30m`, `20s`), besides the
        /// re-allocation every putaway does.
        #[arg(long, env = "FULFILLMENT_BACKORDER_SWEEP_INTERVAL", default_value = "30m", value_parser = parse_interval)]
        backorder_sweep_interval: Duration,
        /// Enable fault injection (`kura incident`): the admin listener's /incidents can make a
        /// journey's requests fail or slow down on purpose. For demos and tests; never in production.
        #[arg(long, env = "FULFILLMENT_FAULT_INJECTION")]
        fault_injection: bool,
        /// Seconds a request may run before it is answered 503 `timeout` and rolled back.
        #[arg(long, env = "FULFILLMENT_REQUEST_TIMEOUT", default_value_t = crate::http::REQUEST_TIMEOUT.as_secs())]
        request_timeout: u64,
        /// Open connections on the public listener before new ones are refused at once (503);
        /// lowered to fit the process's open-file limit.
        #[arg(long, env = "FULFILLMENT_MAX_CONNECTIONS", default_value_t = platform::serve::PUBLIC_LIMITS.max_connections)]
        max_connections: usize,
        /// Seconds a connection gets to send a complete request head, when it opens and again
        /// while it is kept alive between requests (so also the keep-alive idle timeout).
        #[arg(long, env = "FULFILLMENT_HEADER_READ_TIMEOUT", default_value_t = platform::serve::PUBLIC_LIMITS.header_read_timeout.as_secs())]
        header_read_timeout: u64,
    },
    /// Apply pending database migrations (embedded in the binary) and exit.
    Migrate,
    /// Load demo data (a Tokyo warehouse, two shippers, items, stock) and print fresh tokens.
    Seed,
    /// Mask personal data in a COPY of a production database for QA (recipients, pending
    /// changes, address rejections), rehash request hashes, revoke every token, replace every
    /// channel secret and drop stored idempotent responses; stock, ledger and billing stay.
    /// The same value always masks to the same fake under the same key.
    Mask {
        /// The masking key (at least 16 characters; keep it secret: it decides every fake).
        #[arg(long, env = "FULFILLMENT_MASK_KEY", hide_env_values = true)]
        key: String,
    },
    /// Switch maintenance mode: writes answer 503 with Retry-After while it is on.
    Maintenance {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        /// Why (stored in the audit log).
        #[arg(long)]
        reason: String,
        /// Who (default: $USER).
        #[arg(long, env = "USER", default_value = "cli")]
        actor: String,
    },
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
    let cli = match exit::parse_from::<Cli, _, _>(args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let tls = match platform::tls::Tls::new(cli.ca_bundle.as_deref()) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("fulfillment: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let otlp_client = match tls.blocking_client() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("fulfillment: cannot build the trace exporter's client: {e}");
            return ExitCode::from(exit::SOFTWARE);
        }
    };
    let _telemetry = match telemetry::init(&telemetry::Config {
        service_name: "fulfillment",
        default_filter: "info,sqlx=warn",
        otlp_traces_endpoint: None,
        otlp_client,
        sampling: telemetry::sampling::Sampling::from_env(),
    }) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("fulfillment: {e}");
            return ExitCode::from(exit::SOFTWARE);
        }
    };
    let runtime = match exit::runtime("fulfillment") {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "fulfillment failed");
            eprintln!("fulfillment: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// A usage error found after parsing (exit 64).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

/// Configuration errors are 64, an unreachable database 69, anything else 70.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<UsageError>().is_some() {
        return exit::USAGE;
    }
    match e.downcast_ref::<db::OpenError>() {
        Some(open) if open.is_configuration() => exit::USAGE,
        Some(_) => exit::UNAVAILABLE,
        None if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse) => {
            exit::USAGE
        }
        None => exit::SOFTWARE,
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let slow = Duration::from_millis(cli.slow_query_ms);
    match cli.command {
        Command::Migrate => {
            db::open(&cli.database_url, slow).await?;
            println!("migrations applied to {}", redact(&cli.database_url));
        }
        Command::Seed => {
            let db = db::open(&cli.database_url, slow).await?;
            print_seed(&db::seed::run(&db).await.context("seeding")?, DEFAULT_LISTEN);
        }
        Command::Mask { key } => {
            let key = crate::domain::mask::MaskKey::parse(&key).map_err(|m| anyhow::anyhow!(UsageError(m)))?;
            let db = db::open(&cli.database_url, slow).await?;
            let report = db::mask::run(&db, &key).await.context("masking")?;
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
        }
        Command::Maintenance { state, reason, actor } => {
            let db = db::open(&cli.database_url, slow).await?;
            let event = db::maintenance::set(&db, state == "on", &format!("cli:{actor}"), &reason).await?;
            println!(
                "maintenance {} (event {}, by {}, at {})",
                if event.enabled.0 { "on" } else { "off" },
                event.maintenance_event_id,
                event.actor,
                event.created_at
            );
        }
        Command::Serve {
            listen,
            admin_listen,
            migrate,
            seed,
            drain_seconds,
            no_jobs,
            backorder_sweep_interval,
            max_in_flight,
            fault_injection,
            request_timeout,
            max_connections,
            header_read_timeout,
        } => {
            let db = if migrate || seed {
                db::open(&cli.database_url, slow).await?
            } else {
                db::connect(&cli.database_url, slow).await?
            };
            if seed {
                print_seed(&db::seed::run(&db).await.context("seeding")?, &listen.to_string());
            }
            let mut config = ServeConfig::new(listen, admin_listen);
            config.drain = Duration::from_secs(drain_seconds);
            config.jobs = !no_jobs;
            config.backorder_sweep = backorder_sweep_interval;
            config.max_in_flight = max_in_flight;
            config.request_timeout = Duration::from_secs(request_timeout);
            config.fault_injection = fault_injection;
            config.public_limits =
                Limits { header_read_timeout: Duration::from_secs(header_read_timeout), max_connections };
            config.admin_limits.header_read_timeout = config.public_limits.header_read_timeout;
            println!("Kura fulfillment API:  http://{listen}/openapi.json");
            println!("Admin listener:        http://{admin_listen}/readyz");
            server::serve(db, config, platform::serve::shutdown_signal()).await?;
        }
    }
    Ok(())
}

/// A duration such as `30m`, `20s` or `1h`, at least a second.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let span: jiff::Span = text.parse().map_err(|e| format!("{text:?} is not a duration like 30m or 20s: {e}"))?;
    let d = Duration::try_from(jiff::SignedDuration::try_from(span).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if d < Duration::from_secs(1) { Err("must be at least 1s".into()) } else { Ok(d) }
}

/// `serve --listen`'s default.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Prints the demo tokens and the demo Shopify channel; `listen` is where the API serves.
fn print_seed(s: &db::seed::Seeded, listen: &str) {
    println!("Demo data ready (warehouse TKY1 = id {}). Tokens (shown once):", s.warehouse_id);
    println!("  admin      {}", s.admin_token);
    println!("  warehouse  {}", s.warehouse_token);
    for (code, id, token) in &s.shipper_tokens {
        println!("  shipper {code:<7} (id {id}) {token}");
    }
    let c = &s.shopify_channel;
    println!("Shopify channel {} of {} (id {}), orders/create webhook:", c.shop_domain, c.shipper_code, c.channel_id);
    println!("  url     http://{listen}{}", c.webhook_path);
    println!("  secret  {}", c.webhook_secret);
}

/// Hides a password in a database URL before printing it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
