//! The controller as a GitHub App: it receives webhooks and answers in GitHub.
//!
//! * [`webhook`] -- `POST /webhooks/github` on the public listener: the signature checked
//!   (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body, constant-time), the delivery stored
//!   under its `X-GitHub-Delivery` id (a redelivery is a no-op) before the 202.
//! * [`worker`] -- works off stored deliveries, durably: a delivery accepted before a crash is
//!   decided after the restart, once. `push`: a commit status and a check run `slo-gate` on
//!   the head commit, for repositories without environments. `deployment_status`
//!   (`success`): post-deploy verification.
//! * [`protection`] -- `deployment_protection_rule` (`requested`), a pass at a time: decide
//!   (the same [`crate::gate::decide`] every path uses) and review through the payload's
//!   `deployment_callback_url`, or, while held, post status reports and decide again until the
//!   hold deadline.
//! * [`client`] -- the REST calls, through octocrab (App JWT → installation tokens, cached and
//!   refreshed by octocrab), with the controller's own retry policy: 5xx, rate limits
//!   (`Retry-After`, `x-ratelimit-remaining: 0`) and timeouts are retried with backoff; a
//!   refused request (another 4xx) is not, and is recorded on the decision.
//!
//! Which service a repository deploys: `--github-service REPO=SERVICE`, else the spec whose
//! service is named like the repository, else the only spec's.

pub mod client;
pub mod payload;
pub mod protection;
pub mod verify;
pub mod webhook;
pub mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use client::{GithubClient, GithubError};

/// The default API base URL; GitHub Enterprise Server's is `https://HOST/api/v3`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// How the controller talks to GitHub.
#[derive(Clone)]
pub struct GithubConfig {
    /// The webhook secret the App was registered with.
    pub webhook_secret: Vec<u8>,
    /// The REST client; `None` receives and decides webhooks but sends nothing (a dry run).
    pub client: Option<GithubClient>,
    /// Repository (`owner/name` or `name`) → service.
    pub services: BTreeMap<String, String>,
    /// The environment a `push`'s commit status and check run are decided for.
    pub status_environment: String,
    /// How often the worker looks for due deliveries and watched deploys.
    pub poll_interval: Duration,
    /// How long a held protection rule waits between two decisions.
    pub hold_recheck: Duration,
    /// Woken by the webhook when a delivery is stored, so the worker starts at once.
    pub wake: Arc<Notify>,
}

impl std::fmt::Debug for GithubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubConfig")
            .field("webhook_secret", &"<redacted>")
            .field("client", &self.client)
            .field("services", &self.services)
            .field("status_environment", &self.status_environment)
            .finish_non_exhaustive()
    }
}

impl GithubConfig {
    /// A configuration with the defaults: pushes decided for `production`, a 500 ms poll, a
    /// 60 s re-check of held decisions.
    pub fn new(webhook_secret: impl Into<Vec<u8>>, client: Option<GithubClient>) -> GithubConfig {
        GithubConfig {
            webhook_secret: webhook_secret.into(),
            client,
            services: BTreeMap::new(),
            status_environment: "production".into(),
            poll_interval: Duration::from_millis(500),
            hold_recheck: Duration::from_secs(60),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The service `repository` (`owner/name`) deploys, among `services` (the specs').
    pub fn service_for(&self, repository: &str, services: &[&str]) -> Option<String> {
        let name = repository.rsplit('/').next().unwrap_or(repository);
        self.services
            .get(repository)
            .or_else(|| self.services.get(name))
            .cloned()
            .or_else(|| services.iter().find(|s| **s == name).map(|s| (*s).to_owned()))
            .or_else(|| (services.len() == 1).then(|| services[0].to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_maps_to_its_configured_service_then_its_namesake_then_the_only_one() {
        let mut c = GithubConfig::new("s", None);
        c.services.insert("kura-dev/warehouse".into(), "fulfillment".into());

        assert_eq!(c.service_for("kura-dev/warehouse", &["fulfillment", "billing"]).as_deref(), Some("fulfillment"));
        assert_eq!(c.service_for("kura-dev/billing", &["fulfillment", "billing"]).as_deref(), Some("billing"));
        assert_eq!(c.service_for("kura-dev/other", &["fulfillment", "billing"]), None);
        assert_eq!(c.service_for("kura-dev/other", &["fulfillment"]).as_deref(), Some("fulfillment"));
    }
}
