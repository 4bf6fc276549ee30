//! `slo controller`'s flags and environment variables, and what they configure: the
//! controller ([`Config`]), alerting ([`Settings`]), the sources, the API and the listeners.
//! Every check here is a configuration error (exit 64), reported naming the flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use platform::auth::ApiToken;
use platform::serve::{ADMIN_LIMITS, Limits, PUBLIC_LIMITS};

use super::{parse_header, parse_interval, parse_url};
use crate::alert::{Receiver, Secret, Settings, outbox};
use crate::controller::Config;
use crate::github::{GithubClient, GithubConfig};
use crate::server::ApiConfig;
use crate::source::prometheus::{Auth, PrometheusConfig};
use crate::source::scrape::ScrapeConfig;

/// `slo controller`'s flags (see its `--help`).
#[derive(Debug, clap::Args)]
pub struct ControllerArgs {
    /// API address (JSON API, /openapi.json, the overview at /).
    #[arg(long, env = "SLO_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// Where people reach this controller, e.g. `https://slo.example.com` (default:
    /// http://<--listen>): the base of the specs' path `dashboard` templates
    /// (`/slos/{service}/{slo}`) in the links alerts carry.
    #[arg(long, env = "SLO_EXTERNAL_URL", value_name = "URL", value_parser = parse_url)]
    pub external_url: Option<String>,
    /// Admin listener address (/livez, /readyz, /metrics, /debug/pprof); keep it private.
    #[arg(long, env = "SLO_ADMIN_LISTEN", default_value = "127.0.0.1:9465")]
    pub admin_listen: SocketAddr,
    /// Spec files or directories (searched for *.yaml / *.yml), e.g. app/slos.
    #[arg(long, env = "SLO_SPECS", value_name = "PATH", required = true, value_delimiter = ',')]
    pub slos: Vec<PathBuf>,
    /// A /metrics target for the embedded scraper (repeatable; comma-separated in the variable).
    /// The default source when no --prometheus is given; with neither, every SLO is `no-data`.
    #[arg(long, env = "SLO_SCRAPE", value_name = "URL", value_delimiter = ',', conflicts_with = "prometheus")]
    pub scrape: Vec<String>,
    /// How often the embedded scraper fetches each target.
    #[arg(long, env = "SLO_SCRAPE_INTERVAL", default_value = "15s", value_parser = parse_interval)]
    pub scrape_interval: Duration,
    /// A Prometheus-compatible query API base URL (Prometheus, Thanos, Mimir with its
    /// `/prometheus` prefix, VictoriaMetrics), e.g. http://127.0.0.1:9090.
    #[arg(long, env = "SLO_PROMETHEUS", value_name = "URL")]
    pub prometheus: Option<String>,
    /// Bearer token sent to --prometheus.
    #[arg(long, env = "SLO_PROMETHEUS_BEARER_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub prometheus_bearer_token: Option<String>,
    /// Basic-auth user for --prometheus (password in SLO_PROMETHEUS_PASSWORD).
    #[arg(long, env = "SLO_PROMETHEUS_USER", value_name = "USER", conflicts_with = "prometheus_bearer_token")]
    pub prometheus_user: Option<String>,
    /// Basic-auth password for --prometheus.
    #[arg(long, env = "SLO_PROMETHEUS_PASSWORD", value_name = "PASSWORD", hide_env_values = true)]
    pub prometheus_password: Option<String>,
    /// An extra header on every --prometheus request, `Name: value` (repeatable), e.g.
    /// `X-Scope-OrgID: tenant`.
    #[arg(long, env = "SLO_PROMETHEUS_HEADER", value_name = "HEADER", value_delimiter = ',', value_parser = parse_header)]
    pub prometheus_header: Vec<(String, String)>,
    /// Timeout of each --prometheus request.
    #[arg(long, env = "SLO_PROMETHEUS_TIMEOUT", default_value = "10s", value_parser = parse_interval)]
    pub prometheus_timeout: Duration,
    /// A service's maintenance mode, read every cycle from its admin listener's GET
    /// /maintenance (repeatable, SERVICE=URL, e.g.
    /// fulfillment=http://127.0.0.1:9464/maintenance): while it is on, every SLO of that
    /// service is in maintenance (nothing pages). An endpoint that cannot be read is logged and
    /// counted (slo_maintenance_errors_total), never fails the cycle.
    #[arg(long, env = "SLO_SERVICE_MAINTENANCE", value_name = "SERVICE=URL", value_delimiter = ',')]
    pub service_maintenance: Vec<crate::maintenance::ServiceEndpoint>,
    /// Evaluation interval (Prometheus duration: 30s, 1m).
    #[arg(long, env = "SLO_INTERVAL", default_value = "30s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Database: `sqlite://FILE` (embedded default; the file is created when missing) or
    /// `postgres://USER@HOST/DB` (required for more than one replica).
    #[arg(long, env = "DATABASE_URL", default_value = crate::store::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "SLO_DRAIN_SECONDS", default_value_t = 10)]
    pub drain_seconds: u64,
    /// This replica's name in the history and logs (default: hostname and process id).
    #[arg(long, env = "SLO_INSTANCE")]
    pub instance: Option<String>,
    /// A PEM file of CA certificates trusted beside the system's roots by every outgoing
    /// client (a private CA, a corporate proxy's).
    #[arg(long, env = "KURA_CA_BUNDLE", value_name = "PATH")]
    pub ca_bundle: Option<PathBuf>,
    /// Open connections the public listener accepts; past it, new ones get a 503 at once.
    #[arg(long, env = "SLO_MAX_CONNECTIONS", default_value_t = PUBLIC_LIMITS.max_connections)]
    pub max_connections: usize,
    /// How long a connection may take to send a complete request head, on both listeners
    /// (also how long an idle keep-alive connection is kept).
    #[arg(long, env = "SLO_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_interval)]
    pub header_read_timeout: Duration,
    #[command(flatten)]
    pub alerting: AlertingArgs,
    #[command(flatten)]
    pub github: GithubArgs,
}

/// `slo controller`'s flags for the GitHub App (flattened into [`ControllerArgs`]).
#[derive(Debug, Clone, clap::Args)]
pub struct GithubArgs {
    /// The GitHub App's webhook secret: enables POST /webhooks/github (signature checked).
    #[arg(long, env = "SLO_GITHUB_WEBHOOK_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub github_webhook_secret: Option<String>,
    /// The GitHub App's id (with --github-private-key: decisions are sent to GitHub).
    #[arg(long, env = "SLO_GITHUB_APP_ID", value_name = "ID", requires = "github_private_key")]
    pub github_app_id: Option<u64>,
    /// The GitHub App's private key, a PEM file.
    #[arg(long, env = "SLO_GITHUB_PRIVATE_KEY", value_name = "PATH", requires = "github_app_id")]
    pub github_private_key: Option<PathBuf>,
    /// GitHub's REST API base URL; GitHub Enterprise Server: https://HOST/api/v3.
    #[arg(long, env = "SLO_GITHUB_API_URL", value_name = "URL", default_value = crate::github::DEFAULT_API_URL, value_parser = parse_url)]
    pub github_api_url: String,
    /// Which service a repository deploys, REPO=SERVICE (repeatable; REPO is owner/name or
    /// name). Default: the service named like the repository, or the only one.
    #[arg(long, env = "SLO_GITHUB_SERVICE", value_name = "REPO=SERVICE", value_delimiter = ',', value_parser = parse_mapping)]
    pub github_service: Vec<(String, String)>,
    /// The environment a push's commit status and check run `slo-gate` are decided for.
    #[arg(long, env = "SLO_GITHUB_STATUS_ENVIRONMENT", default_value = "production")]
    pub github_status_environment: String,
    /// How long a held protection rule waits between two decisions.
    #[arg(long, env = "SLO_GITHUB_HOLD_RECHECK", default_value = "1m", value_parser = parse_interval)]
    pub github_hold_recheck: Duration,
}

fn parse_mapping(s: &str) -> Result<(String, String), String> {
    let (repo, service) = s.split_once('=').ok_or("expected REPO=SERVICE")?;
    let (repo, service) = (repo.trim(), service.trim());
    if repo.is_empty() || service.is_empty() {
        return Err("expected REPO=SERVICE".into());
    }
    Ok((repo.to_owned(), service.to_owned()))
}

impl GithubArgs {
    /// The GitHub configuration, if a webhook secret is given; the client sends through `http`.
    /// Must run inside the runtime (octocrab starts a task).
    pub fn config(&self, http: &reqwest::Client) -> Result<Option<GithubConfig>, String> {
        let Some(secret) = self.github_webhook_secret.as_deref().filter(|s| !s.is_empty()) else {
            if self.github_app_id.is_some() {
                return Err("--github-app-id needs --github-webhook-secret".into());
            }
            return Ok(None);
        };
        let client = match (&self.github_app_id, &self.github_private_key) {
            (Some(id), Some(path)) => {
                let pem = std::fs::read(path).map_err(|e| format!("--github-private-key {}: {e}", path.display()))?;
                Some(
                    GithubClient::new(&self.github_api_url, *id, &pem, http.clone())
                        .map_err(|e| format!("--github-private-key: {e}"))?,
                )
            }
            _ => None,
        };
        let mut config = GithubConfig::new(secret.as_bytes().to_vec(), client);
        config.services = self.github_service.iter().cloned().collect();
        config.status_environment.clone_from(&self.github_status_environment);
        config.hold_recheck = self.github_hold_recheck;
        Ok(Some(config))
    }
}

impl ControllerArgs {
    /// This replica's name: `--instance`, or the hostname and process id.
    pub fn instance(&self) -> String {
        self.instance.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
            format!("{}-{}", if host.is_empty() { "slo" } else { &host }, std::process::id())
        })
    }

    /// What the controller is configured with.
    pub fn config(&self) -> Config {
        Config {
            slos: self.slos.clone(),
            interval: self.interval,
            instance: self.instance(),
            external_url: self.external_url.clone().unwrap_or_else(|| format!("http://{}", self.listen)),
        }
    }

    /// What the public API needs beside the controller.
    pub fn api(&self) -> ApiConfig {
        ApiConfig {
            api_token: self.alerting.api_token.as_deref().filter(|t| !t.is_empty()).map(ApiToken::new),
            github: None,
        }
    }

    /// The public and admin listeners' limits.
    pub fn limits(&self) -> (Limits, Limits) {
        let public = Limits { header_read_timeout: self.header_read_timeout, max_connections: self.max_connections };
        (public, Limits { header_read_timeout: self.header_read_timeout, ..ADMIN_LIMITS })
    }

    /// The PromQL source's configuration, when `--prometheus` is given.
    pub fn prometheus(&self) -> Option<PrometheusConfig> {
        let url = self.prometheus.as_ref()?;
        let mut config = PrometheusConfig::new(url.clone());
        config.timeout = self.prometheus_timeout;
        config.headers = self.prometheus_header.clone();
        config.auth = match (&self.prometheus_bearer_token, &self.prometheus_user) {
            (Some(token), _) => Some(Auth::Bearer(token.clone())),
            (None, Some(user)) => {
                Some(Auth::Basic { username: user.clone(), password: self.prometheus_password.clone() })
            }
            (None, None) => None,
        };
        Some(config)
    }

    /// The embedded scraper's configuration, when `--scrape` is given.
    pub fn scrape(&self) -> Result<Option<ScrapeConfig>, String> {
        if self.scrape.is_empty() {
            return Ok(None);
        }
        if let Some(bad) = self.scrape.iter().find(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return Err(format!("--scrape {bad:?} must start with http:// or https://"));
        }
        Ok(Some(ScrapeConfig::new(self.scrape.clone()).with_interval(self.scrape_interval)))
    }
}

/// `slo controller`'s flags for alerting (flattened into [`ControllerArgs`]).
#[derive(Debug, Clone, clap::Args)]
pub struct AlertingArgs {
    /// Generic JSON webhook receiving every notification (signed when --webhook-secret is set).
    #[arg(long, env = "SLO_WEBHOOK", value_name = "URL")]
    pub webhook: Option<String>,
    /// HMAC-SHA256 key signing --webhook requests (X-Kura-Timestamp, X-Kura-Signature: v1=...).
    #[arg(long, env = "SLO_WEBHOOK_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Slack incoming-webhook URL.
    #[arg(long, env = "SLO_SLACK_WEBHOOK", value_name = "URL", hide_env_values = true)]
    pub slack_webhook: Option<String>,
    /// PagerDuty Events API v2 routing (integration) key.
    #[arg(long, env = "SLO_PAGERDUTY_ROUTING_KEY", value_name = "KEY", hide_env_values = true)]
    pub pagerduty_routing_key: Option<String>,
    /// PagerDuty Events API base URL (events go to {URL}/v2/enqueue).
    #[arg(long, env = "SLO_PAGERDUTY_URL", value_name = "URL", default_value = "https://events.pagerduty.com")]
    pub pagerduty_url: String,
    /// Alertmanager base URL (alerts go to {URL}/api/v2/alerts).
    #[arg(long, env = "SLO_ALERTMANAGER", value_name = "URL")]
    pub alertmanager: Option<String>,
    /// Re-send a still-firing alert this often (Prometheus duration).
    #[arg(long, env = "SLO_RENOTIFY_INTERVAL", default_value = "4h", value_parser = parse_renotify)]
    pub renotify_interval: Duration,
    /// Failed attempts (retried with backoff up to 5 minutes apart) before a notification is
    /// given up on and dead-lettered; the default spans about an hour.
    #[arg(long, env = "SLO_NOTIFICATION_ATTEMPTS", default_value_t = outbox::MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..))]
    pub notification_attempts: u32,
    /// Bearer token required by the API's write endpoints (silences); without it writes are refused.
    #[arg(long, env = "SLO_API_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
}

fn parse_renotify(s: &str) -> Result<Duration, String> {
    let d = crate::math::parse_duration(s).map_err(|e| e.to_string())?;
    let d = Duration::try_from(d).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(60) {
        return Err("the re-notification interval must be at least 1m".into());
    }
    Ok(d)
}

impl AlertingArgs {
    /// The settings the flags describe; an error names the flag at fault.
    pub fn settings(&self) -> Result<Settings, String> {
        let url = |flag: &str, u: &str| {
            if u.starts_with("http://") || u.starts_with("https://") {
                Ok(u.trim_end_matches('/').to_owned())
            } else if flag == "slack-webhook" {
                // Slack's URL is its secret: not echoed.
                Err(format!("--{flag} must be an https:// URL"))
            } else {
                Err(format!("--{flag} must be an http:// or https:// URL (got {u:?})"))
            }
        };
        let mut receivers = Vec::new();
        if let Some(u) = &self.webhook {
            if self.webhook_secret.is_none() {
                tracing::warn!("--webhook without --webhook-secret: requests are not signed");
            }
            receivers.push(Receiver::Webhook {
                url: url("webhook", u)?,
                secret: self.webhook_secret.clone().filter(|s| !s.is_empty()).map(Secret),
            });
        }
        if let Some(u) = &self.slack_webhook {
            receivers.push(Receiver::Slack { url: Secret(url("slack-webhook", u)?) });
        }
        if let Some(key) = &self.pagerduty_routing_key {
            receivers.push(Receiver::PagerDuty {
                base_url: url("pagerduty-url", &self.pagerduty_url)?,
                routing_key: Secret(key.clone()),
            });
        }
        if let Some(u) = &self.alertmanager {
            receivers.push(Receiver::Alertmanager { base_url: url("alertmanager", u)? });
        }
        Ok(Settings { receivers, renotify_interval: self.renotify_interval, ..Settings::default() })
    }
}
