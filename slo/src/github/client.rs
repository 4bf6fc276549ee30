//! GitHub's REST API as the App's installations call it, through octocrab.
//!
//! * **Auth.** octocrab signs the App JWT (RS256, `iss` = App id) and exchanges it for an
//!   installation token (`POST /app/installations/{id}/access_tokens`), which it caches and
//!   refreshes before it expires; one octocrab per installation is kept here.
//! * **Transport.** octocrab sends through the reqwest client the controller builds from
//!   `platform::tls` (system roots plus `--ca-bundle`): no second HTTP client or TLS stack.
//! * **Endpoints.** The protection-rule review, deployment statuses, commit statuses, check
//!   runs and workflow dispatch all go through octocrab's generic `_post`/`_patch`, which
//!   return the raw response: several answer 204 with no body, which its typed helpers would
//!   try to parse. Paths are relative to the configured base URL (GitHub Enterprise Server:
//!   `https://HOST/api/v3`), because octocrab sends its token only to that host.
//! * **Retries** ([`RetryPolicy`]): a 5xx, a 429, a 403 that is a rate limit (`Retry-After`,
//!   or `x-ratelimit-remaining: 0` with `x-ratelimit-reset`) and a transport error are retried
//!   with exponential backoff, waiting what GitHub asks when it says; past the policy's
//!   patience the caller gets [`GithubError::Unavailable`] and reschedules. Any other 4xx is
//!   [`GithubError::Refused`] with GitHub's answer, never retried. octocrab's own retry layer
//!   is not compiled in, so a call is repeated only when this policy says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use serde_json::Value;

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    /// GitHub answered with a client error that retrying will not fix.
    #[error("GitHub refused the request: {status} {body}")]
    Refused { status: u16, body: String },
    /// 5xx, rate limits or transport errors outlasted the retry policy; try again later.
    #[error("GitHub is unavailable: {0}")]
    Unavailable(String),
    /// The App is misconfigured (key, base URL).
    #[error("GitHub App configuration: {0}")]
    Config(String),
}

impl GithubError {
    /// Worth another attempt later.
    pub fn is_transient(&self) -> bool {
        matches!(self, GithubError::Unavailable(_))
    }
}

/// How calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    /// The first backoff, doubled on every retry up to `cap`.
    pub base: Duration,
    pub cap: Duration,
    /// The longest wait honoured in place; a longer `Retry-After` hands back to the caller.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 500 ms doubling to 8 s, waiting at most a minute for a rate limit: a
    /// protection rule has to be acknowledged within 10 s, but decided only within 30 days,
    /// so patience costs nothing and a retry storm would.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// The App's client; cheap to clone.
#[derive(Clone)]
pub struct GithubClient {
    app: Octocrab,
    api_url: String,
    installations: Arc<Mutex<HashMap<u64, Installation>>>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient")
            .field("api_url", &self.api_url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// One installation's octocrab and the lock that lets one call at a time fetch its token.
/// Shared, not cloned: a cloned octocrab takes a copy of the token cache, so a token fetched
/// through a clone would never be seen by the next call.
#[derive(Clone)]
struct Installation {
    crab: Arc<Octocrab>,
    token: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, Clone, Copy)]
enum Method {
    Get,
    Post,
    Patch,
}

impl GithubClient {
    /// The App `app_id` with its private key (PEM, PKCS#1 or PKCS#8) against `api_url`, sending
    /// through `http`. Must be called inside a Tokio runtime (octocrab spawns its buffer).
    pub fn new(
        api_url: &str,
        app_id: u64,
        private_key_pem: &[u8],
        http: reqwest::Client,
    ) -> Result<GithubClient, GithubError> {
        let key = octocrab::EncodingKey::from_rsa_pem(private_key_pem)
            .map_err(|e| GithubError::Config(format!("the App's private key is not an RSA PEM key: {e}")))?;
        let app = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| GithubError::Config(format!("API URL {api_url}: {e}")))?
            .app(AppId(app_id), key)
            .build_with_reqwest(http)
            .map_err(|e| GithubError::Config(e.to_string()))?;
        Ok(GithubClient {
            app,
            api_url: api_url.trim_end_matches('/').to_owned(),
            installations: Arc::new(Mutex::new(HashMap::new())),
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy (tests use short waits).
    pub fn with_retry(self, retry: RetryPolicy) -> GithubClient {
        GithubClient { retry, ..self }
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    fn installation(&self, id: u64) -> Result<Installation, GithubError> {
        // Nothing that can panic runs under this lock: a poisoned map is still a good map.
        let mut map = self.installations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = map.get(&id) {
            return Ok(i.clone());
        }
        let crab = self.app.installation(InstallationId(id)).map_err(|e| GithubError::Config(e.to_string()))?;
        let i = Installation { crab: Arc::new(crab), token: Arc::new(tokio::sync::Mutex::new(())) };
        map.insert(id, i.clone());
        Ok(i)
    }

    /// The installation's octocrab, its token fetched first when none is cached. octocrab asks
    /// for a token in every call that finds none, so a burst of calls on a cold or expiring
    /// token would each sign an App JWT (RS256, milliseconds of CPU) and each ask GitHub: one
    /// call at a time fetches it here, and the others find it cached. A failed fetch is left
    /// to the call, which asks again and reports the error under the retry policy.
    async fn ready(&self, id: u64) -> Result<Arc<Octocrab>, GithubError> {
        let installation = self.installation(id)?;
        let _one = installation.token.lock().await;
        if let Err(e) = installation.crab.installation_token().await {
            tracing::debug!(error = %e, installation = id, "installation token not fetched ahead of the call");
        }
        Ok(installation.crab)
    }

    /// `GET path` as installation `installation`, retried per the policy.
    pub async fn get(&self, installation: u64, path: &str) -> Result<Answer, GithubError> {
        self.call(Method::Get, installation, path, &Value::Null).await
    }

    /// `POST path` as installation `installation`, retried per the policy.
    pub async fn post(&self, installation: u64, path: &str, body: &Value) -> Result<Answer, GithubError> {
        self.call(Method::Post, installation, path, body).await
    }

    /// `PATCH path`, retried per the policy.
    pub async fn patch(&self, installation: u64, path: &str, body: &Value) -> Result<Answer, GithubError> {
        self.call(Method::Patch, installation, path, body).await
    }

    #[tracing::instrument(skip_all, fields(path, installation))]
    async fn call(&self, method: Method, installation: u64, path: &str, body: &Value) -> Result<Answer, GithubError> {
        let crab = self.ready(installation).await?;
        // octocrab joins the base URL's path (`/api/v3`) and this one.
        let uri = path;
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            let sent = match method {
                Method::Get => crab._get(uri).await,
                Method::Post => crab._post(uri, Some(body)).await,
                Method::Patch => crab._patch(uri, Some(body)).await,
            };
            let wait = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let header =
                        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                    let (retry_after, remaining, reset) =
                        (header("retry-after"), header("x-ratelimit-remaining"), header("x-ratelimit-reset"));
                    let text = crab.body_to_string(response).await.unwrap_or_default();
                    if (200..300).contains(&status) {
                        let body = if text.trim().is_empty() {
                            Value::Null
                        } else {
                            serde_json::from_str(&text).unwrap_or(Value::String(text))
                        };
                        return Ok(Answer { status, body });
                    }
                    let limited = status == 429
                        || (status == 403 && (retry_after.is_some() || remaining.as_deref() == Some("0")));
                    if !(limited || status >= 500) {
                        tracing::warn!(status, body = %text, "GitHub refused the request");
                        return Err(GithubError::Refused { status, body: text });
                    }
                    last = format!("{status} {}", text.chars().take(300).collect::<String>());
                    let asked =
                        retry_after.and_then(|s| s.trim().parse::<u64>().ok()).map(Duration::from_secs).or_else(|| {
                            let reset = reset?.trim().parse::<i64>().ok()?;
                            let now = jiff::Timestamp::now().as_second();
                            (remaining.as_deref() == Some("0"))
                                .then(|| Duration::from_secs(u64::try_from(reset - now).unwrap_or(0)))
                        });
                    match asked {
                        Some(w) if w > self.retry.max_wait => {
                            return Err(GithubError::Unavailable(format!("rate limited for {}s: {last}", w.as_secs())));
                        }
                        Some(w) => w.max(self.backoff(attempt)),
                        None => self.backoff(attempt),
                    }
                }
                Err(e) => {
                    // octocrab maps some answers to errors (the token exchange's, say): a
                    // GitHub error with a 4xx status is a refusal, the rest transport trouble.
                    if let octocrab::Error::GitHub { source, .. } = &e {
                        let status = source.status_code.as_u16();
                        if (400..500).contains(&status) && status != 429 {
                            return Err(GithubError::Refused { status, body: source.message.clone() });
                        }
                    }
                    last = e.to_string();
                    self.backoff(attempt)
                }
            };
            if attempt < self.retry.attempts {
                tracing::info!(attempt, wait_ms = wait.as_millis() as u64, error = %last, "GitHub call failed; retrying");
                tokio::time::sleep(wait).await;
            }
        }
        Err(GithubError::Unavailable(last))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.retry.base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1))).min(self.retry.cap)
    }
}
