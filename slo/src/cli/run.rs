//! What each `slo` subcommand does with its flags ([`super`]): lint, generate, import, and
//! build and serve the controller. A library module so that the `slo` binary and `kura` (which
//! runs the controller as a child process of itself) share one command line.
//!
//! Exit status, the same for every subcommand (`platform::exit`): 0 on success, 1 when the
//! answer is no (a spec or document with problems, each printed as `file:line:column:
//! message`), 64 on a usage or configuration error (a bad flag, variable, URL or file, a spec
//! the controller cannot start with), 69 when a service the command needs is unavailable (the
//! database), 70 on an internal error. `slo gate` has its own: 0 approve, 1 reject, 2 hold,
//! 3 the controller unreachable ([`super::gate`]).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::{Cli, Command, ControllerArgs, ImportFormat};
use crate::generate::{self, Kind};
use crate::spec::catalogue::Catalogue;
use platform::exit::{FAILURE, SOFTWARE, UNAVAILABLE, USAGE};
use platform::tls::Tls;
use tokio::net::TcpListener;

/// Runs the command line of this process.
pub fn main() -> ExitCode {
    run_from(std::env::args_os())
}

/// Runs a command line (`args[0]` is the program name): `slo`'s own, or `kura slo …`.
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
        Command::Gate(args) => super::gate::run(&args),
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
        Command::Generate { kind, external_url, metrics, compat, datadog_windows, datadog_skip_long_tiers, paths } => {
            if compat.is_some() && kind != Kind::Prometheus {
                eprintln!("error: --compat applies to `slo generate prometheus` only");
                return ExitCode::from(USAGE);
            }
            if (!datadog_windows.is_empty() || datadog_skip_long_tiers) && kind != Kind::DatadogTerraform {
                eprintln!(
                    "error: --datadog-window and --datadog-skip-long-tiers apply to `slo generate datadog-terraform` only"
                );
                return ExitCode::from(USAGE);
            }
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
            let datadog =
                generate::datadog::Options { windows: datadog_windows, skip_long_tiers: datadog_skip_long_tiers };
            let generated = match (kind, compat) {
                (_, Some(c)) => generate::prometheus::generate_with(&specs, Some(c)),
                (Kind::DatadogTerraform, None) => generate::datadog::generate_with(&specs, &datadog),
                (_, None) => generate::generate(kind, &specs),
            };
            match generated {
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
                ImportFormat::Pyrra => crate::import::pyrra::import(&file, &text),
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
        sampling: telemetry::sampling::Sampling::from_env(),
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
        let controller = Arc::new(crate::controller::Controller::new(crate::controller::Deps {
            db,
            specs,
            source,
            config: args.config(),
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
        let (public_limits, admin_limits) = args.limits();
        let listeners = crate::server::Listeners {
            public,
            admin,
            public_limits,
            admin_limits,
            drain: std::time::Duration::from_secs(args.drain_seconds),
        };
        println!("Kura SLO controller:  http://{}/api/v1/slos", args.listen);
        println!("Overview:             http://{}/", args.listen);
        println!("Admin listener:       http://{}/metrics", args.admin_listen);
        let mut api = args.api();
        match args.github.config(controller.http()) {
            Ok(github) => api.github = github.map(Arc::new),
            Err(message) => return fail(USAGE, &message),
        }
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
    use crate::source::{Source, prometheus::PrometheusSource, scrape::ScrapeSource};
    if let Some(config) = args.prometheus() {
        return PrometheusSource::new(config, tls).map(Source::Prometheus).map_err(|e| e.to_string());
    }
    let Some(config) = args.scrape()? else { return Ok(Source::None) };
    let mut source = ScrapeSource::open(db.clone(), config, specs, tls).await.map_err(|e| e.to_string())?;
    // Standby until the controller takes the lead (it adopts this flag).
    source.leading().store(false, std::sync::atomic::Ordering::Relaxed);
    source.spawn();
    Ok(Source::Scrape(source))
}
