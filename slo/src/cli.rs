//! The `slo` command line: every subcommand's flags and environment variables, parsed once
//! ([`run::run_from`]). [`controller`] holds `slo controller`'s flags and turns them into the
//! library's configuration, so [`run`] only builds and runs.

pub mod controller;
pub mod gate;
pub mod run;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::generate::Kind;
pub use controller::{AlertingArgs, ControllerArgs, GithubArgs};
pub use gate::GateArgs;

#[derive(Debug, Parser)]
#[command(
    name = "slo",
    version,
    about = "Kura's SLO tool: lint, generate and import journey SLO specs; run the SLO controller"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
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
        /// prometheus only: also emit what another tool's dashboards and alert routes rely on
        /// (`sloth`: sloth_* labels, Sloth's metadata series, its alert names and severities).
        #[arg(long, value_name = "TOOL", value_parser = parse_compat)]
        compat: Option<crate::generate::Compat>,
        /// datadog-terraform only: budget SLOs whose window Datadog lacks over one of its time
        /// frames, explicitly (`28d=30d`, `month=30d`; repeatable). Each mapped SLO says so in
        /// a comment and a `kura_window` tag.
        #[arg(long = "datadog-window", value_name = "FROM=TO", value_parser = crate::generate::datadog::Options::parse_window)]
        datadog_windows: Vec<(String, String)>,
        /// datadog-terraform only: leave burn tiers with a long window over 48h (which Datadog
        /// cannot take) out, each named in a comment, instead of refusing the SLO.
        #[arg(long = "datadog-skip-long-tiers")]
        datadog_skip_long_tiers: bool,
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Import an OpenSLO v1 stream, a Sloth file (prometheus/v1, PrometheusServiceLevel CRDs,
    /// AlertWindows) or Pyrra ServiceLevelObjective CRDs; print them as Kura specs.
    Import {
        #[arg(value_enum)]
        format: ImportFormat,
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Evaluate every SLO continuously, keep budgets and their history, serve the API.
    ///
    /// API: GET /api/v1/slos, /api/v1/slos/{service}/{slo}, /api/v1/journeys,
    /// /api/v1/services, /api/v1/alerts, /api/v1/silences, /api/v1/notifications,
    /// /api/v1/maintenance (POST and DELETE on silences and maintenance need --api-token),
    /// /openapi.json, and the dashboard at /. Errors are problem documents (422
    /// /problems/validation for bad input). Maintenance windows come from the specs, from each
    /// --service-maintenance endpoint and from the API. Alerts go to --webhook,
    /// --slack-webhook, --pagerduty-routing-key and --alertmanager through a database outbox,
    /// per receiver, so a restart or a receiver outage delays them; after
    /// --notification-attempts failures one is dead-lettered (counted, listed, shown). Admin
    /// listener: /livez, /readyz, /metrics, /debug/pprof/*. SIGHUP re-reads --slos (a spec
    /// with errors is rejected and the old one kept); SIGTERM/Ctrl-C drains and exits. On
    /// PostgreSQL, replicas run active/standby on an advisory lock.
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
    /// Ask the SLO controller whether a deploy may go out now (its error-budget policy).
    ///
    /// Prints the decision and its reasons and appends them to $GITHUB_STEP_SUMMARY when set.
    /// Exit status: 0 approve, 1 reject, 2 still held when --wait runs out, 3 the controller
    /// unreachable or failing, 64 bad flags.
    Gate(GateArgs),
}

/// An http(s) URL, without a trailing `/`.
pub(crate) fn parse_url(s: &str) -> Result<String, String> {
    if s.starts_with("http://") || s.starts_with("https://") {
        Ok(s.trim_end_matches('/').to_owned())
    } else {
        Err("expected an http:// or https:// URL".into())
    }
}

/// `Name: value`.
pub(crate) fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once(':').ok_or("expected `Name: value`")?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

/// A Prometheus-style duration of at least a second.
pub(crate) fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = crate::math::parse_duration(s).map_err(|e| e.to_string())?;
    let d = Duration::try_from(d).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(1) {
        return Err("the interval must be at least 1s".into());
    }
    Ok(d)
}

/// What `slo import` reads.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    Openslo,
    Sloth,
    Pyrra,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
}

fn parse_compat(s: &str) -> Result<crate::generate::Compat, String> {
    s.parse()
}
