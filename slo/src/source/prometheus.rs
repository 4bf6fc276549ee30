//! The PromQL source: any Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir,
//! VictoriaMetrics), read through the instant-query endpoint `/api/v1/query` at the evaluation
//! instant (`time=`). The base URL may carry a path prefix (Mimir's `/prometheus`); requests
//! carry a bearer token or basic credentials and any custom headers (a tenant's
//! `X-Scope-OrgID`, say), and each has its own timeout.
//!
//! **Batching.** A cycle over hundreds of SLOs must not mean thousands of requests, so the
//! queries are grouped by range: for each distinct range, one PromQL expression returns every
//! SLO's numerator and total, each sub-expression tagged with
//! `label_replace(…, "kura_slo", "<service>/<id>", "", "")` and a `kura_part` label (`good` or
//! `bad` for the numerator, per the SLI's counting, and `total`), joined with `or` (the tags keep
//! every label set distinct, so `or` keeps them all). An expression is cut into chunks of at
//! most [`PrometheusConfig::max_slos_per_query`] SLOs and
//! [`PrometheusConfig::max_query_bytes`] bytes, sent as a `POST` form once it is too long for a
//! URL. The SRE Workbook's tiers share their windows, so 200 SLOs with the same three ranges cost
//! three to six requests per cycle, whatever the number of SLOs ([`PrometheusSource::queries_issued`]
//! counts them).
//!
//! **What is asked.** Counts, not rates: counters and histogram series are read with
//! `sum(increase(X[range]))` (the translation is the rule generator's, see
//! `generate::prometheus::promql`), so latency and freshness SLIs are the `X_bucket` at the
//! threshold (whole bounds match both `le="300"` and `le="300.0"`) over `X_count`. A ratio with
//! a `bad` numerator gives good = total − bad. A raw `promql` SLI is a rate expression with
//! `{{.window}}` standing for the range; it is multiplied by the range's seconds to count events.
//! `increase()` extrapolates to the range's edges, so counts are approximate (within about one
//! scrape interval's worth of events at each edge) and not whole numbers.
//!
//! **Missing data and failures are per SLO.** A range whose total has no series is left out of
//! that SLO's [`Reading`] (no data); a numerator without series counts as zero (no request has
//! failed yet). When a batched query is rejected (a `promql` SLI that does not parse, a query that
//! fails to execute or times out in the server), the batch is split in halves and retried until
//! the failing SLOs are alone: one bad SLO among 100 costs about 2·log₂(100) ≈ 14 more requests
//! in that cycle, and only it reports [`SourceError::Query`]. A server that cannot be reached (a
//! refused connection, a timeout, a 5xx other than a query timeout, an authentication failure)
//! makes every SLO of the batch report [`SourceError::Unreachable`]; chunks are sent concurrently,
//! so a dead server costs one timeout per cycle, not one per chunk.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::{Counts, Query, Reading, SourceError};
use crate::generate::prometheus::promql::Events;
use crate::spec::Counting;

/// Queries longer than this go in a `POST` form rather than the URL (proxies commonly cap a
/// request line at 8 KiB).
const GET_LIMIT: usize = 4096;

/// How many chunk requests are in flight at once.
const CONCURRENCY: usize = 4;

/// Credentials sent with every request.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Bearer(String),
    Basic { username: String, password: Option<String> },
}

impl std::fmt::Debug for Auth {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}:***)"),
        }
    }
}

/// Where the PromQL API is and how to talk to it.
#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    /// The API's base URL, without `/api/v1` (`http://prometheus:9090`,
    /// `https://mimir.example/prometheus`).
    pub url: String,
    pub auth: Option<Auth>,
    /// Extra headers on every request (`X-Scope-OrgID: tenant`).
    pub headers: Vec<(String, String)>,
    /// Per request, connection included.
    pub timeout: Duration,
    /// The most SLOs in one query.
    pub max_slos_per_query: usize,
    /// The most bytes of PromQL in one query (a single SLO longer than this still goes alone).
    pub max_query_bytes: usize,
}

impl PrometheusConfig {
    /// Defaults: a 10s timeout, chunks of at most 100 SLOs and 64 KiB.
    pub fn new(url: impl Into<String>) -> Self {
        PrometheusConfig {
            url: url.into(),
            auth: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            max_slos_per_query: 100,
            max_query_bytes: 64 * 1024,
        }
    }
}

/// Why a [`PrometheusSource`] cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the Prometheus URL {0:?} must start with http:// or https://")]
    Url(String),
    #[error("invalid header {0:?}")]
    Header(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// The PromQL source. See the module docs.
#[derive(Debug)]
pub struct PrometheusSource {
    client: reqwest::Client,
    endpoint: String,
    config: PrometheusConfig,
    queries: AtomicU64,
}

/// One SLO's sub-expressions in a batch.
struct Part {
    /// Index into the cycle's queries.
    query: usize,
    /// `<service>/<slo>`, the `kura_slo` tag.
    tag: String,
    counting: Counting,
    expr: String,
}

impl PrometheusSource {
    /// A source for `config`, speaking TLS with `tls`'s roots (`https://` URLs).
    pub fn new(config: PrometheusConfig, tls: &platform::tls::Tls) -> Result<Self, ConfigError> {
        if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
            return Err(ConfigError::Url(config.url.clone()));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) else {
                return Err(ConfigError::Header(name.clone()));
            };
            headers.insert(n, v);
        }
        let client = tls
            .client()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| ConfigError::Client(platform::tls::redact(e)))?;
        let endpoint = format!("{}/api/v1/query", config.url.trim_end_matches('/'));
        Ok(PrometheusSource { client, endpoint, config, queries: AtomicU64::new(0) })
    }

    /// HTTP requests sent since the source was built (for the controller's metrics).
    pub fn queries_issued(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// One answer per query, in order. See the module docs for batching and failures.
    #[tracing::instrument(skip_all, fields(slos = queries.len()))]
    pub async fn read(&self, queries: &[Query], at: Timestamp) -> Vec<Result<Reading, SourceError>> {
        let before = self.queries_issued();
        let mut results: Vec<Result<Reading, SourceError>> = queries.iter().map(|_| Ok(Reading::default())).collect();
        let mut by_range: BTreeMap<SignedDuration, Vec<usize>> = BTreeMap::new();
        for (i, q) in queries.iter().enumerate() {
            for r in &q.ranges {
                by_range.entry(*r).or_default().push(i);
            }
        }
        // Every range's chunks, then halves of the chunks that failed, until none is left.
        let mut pending: Vec<(SignedDuration, Vec<Part>)> = Vec::new();
        for (range, indices) in by_range {
            pending.extend(self.chunks(queries, &indices, range).into_iter().map(|c| (range, c)));
        }
        while !pending.is_empty() {
            let answers: Vec<_> = futures::stream::iter(pending.drain(..))
                .map(|(range, parts)| async move {
                    let answer = self.query(&parts, at).await;
                    (range, parts, answer)
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            for (range, parts, answer) in answers {
                match answer {
                    Ok(samples) => {
                        for part in &parts {
                            if let (Some(counts), Ok(reading)) =
                                (counts(&samples, &part.tag, part.counting), &mut results[part.query])
                            {
                                reading.ranges.insert(range, counts);
                            }
                        }
                    }
                    Err(SourceError::Query(_)) if parts.len() > 1 => {
                        let mut first = parts;
                        let second = first.split_off(first.len() / 2);
                        pending.push((range, first));
                        pending.push((range, second));
                    }
                    Err(e) => {
                        for part in &parts {
                            if let Err(SourceError::Unreachable(_)) = results[part.query] {
                                continue;
                            }
                            results[part.query] = Err(e.clone());
                        }
                    }
                }
            }
        }
        tracing::debug!(queries = self.queries_issued() - before, "read SLIs from Prometheus");
        results
    }

    /// The SLOs of one range cut into batches that respect the size limits.
    fn chunks(&self, queries: &[Query], indices: &[usize], range: SignedDuration) -> Vec<Vec<Part>> {
        let mut chunks: Vec<Vec<Part>> = Vec::new();
        let mut bytes = 0;
        for &i in indices {
            let q = &queries[i];
            let tag = q.key.to_string();
            let events = Events { sli: &q.sli };
            let counting = events.counting();
            let expr = format!(
                "{} or {}",
                tagged(&events.numerator_events(range), &tag, &counting.to_string()),
                tagged(&events.total_events(range), &tag, "total")
            );
            let full = chunks.last().is_none_or(|c| {
                c.len() >= self.config.max_slos_per_query.max(1) || bytes + expr.len() > self.config.max_query_bytes
            });
            if full {
                chunks.push(Vec::new());
                bytes = 0;
            }
            bytes += expr.len() + 4;
            chunks.last_mut().expect("pushed above").push(Part { query: i, tag, counting, expr });
        }
        chunks
    }

    /// Sends one batch; its samples by (`kura_slo`, `kura_part`).
    async fn query(&self, parts: &[Part], at: Timestamp) -> Result<HashMap<(String, String), f64>, SourceError> {
        let expr = parts.iter().map(|p| p.expr.as_str()).collect::<Vec<_>>().join(" or ");
        let time = format!("{:.3}", at.as_millisecond() as f64 / 1000.0);
        let form = [("query", expr.as_str()), ("time", time.as_str())];
        let request = if expr.len() > GET_LIMIT {
            self.client.post(&self.endpoint).form(&form)
        } else {
            self.client.get(&self.endpoint).query(&form)
        };
        let request = match &self.config.auth {
            Some(Auth::Bearer(token)) => request.bearer_auth(token),
            Some(Auth::Basic { username, password }) => request.basic_auth(username, password.as_ref()),
            None => request,
        };
        self.queries.fetch_add(1, Ordering::Relaxed);
        let response = request.send().await.map_err(|e| SourceError::Unreachable(platform::tls::redact(e)))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| SourceError::Unreachable(platform::tls::redact(e)))?;
        let parsed: Result<ApiResponse, _> = serde_json::from_slice(&body);
        let message = |p: &Result<ApiResponse, _>| match p {
            Ok(ApiResponse { error: Some(e), .. }) => e.clone(),
            _ => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        };
        let error_type = parsed.as_ref().ok().and_then(|p| p.error_type.clone()).unwrap_or_default();
        // 400 bad_data (does not parse), 422 execution, 503 timeout: the query's fault, so a
        // smaller batch may succeed. Anything else is the server's or the configuration's.
        let query_fault = matches!(status.as_u16(), 400 | 422) || error_type == "timeout";
        if !status.is_success() {
            let text = format!("{} {}: {}", self.endpoint, status, message(&parsed));
            return Err(if query_fault { SourceError::Query(text) } else { SourceError::Unreachable(text) });
        }
        let parsed = parsed.map_err(|e| SourceError::Query(format!("unreadable response: {e}")))?;
        let data = match parsed {
            ApiResponse { status, data: Some(data), .. } if status == "success" => data,
            p => return Err(SourceError::Query(p.error.unwrap_or_else(|| "the query did not succeed".into()))),
        };
        if data.result_type != "vector" {
            return Err(SourceError::Query(format!("expected a vector, got a {}", data.result_type)));
        }
        let samples: Vec<VectorSample> =
            serde_json::from_value(data.result).map_err(|e| SourceError::Query(format!("unreadable vector: {e}")))?;
        Ok(samples
            .into_iter()
            .filter_map(|s| {
                let value: f64 = s.value.1.parse().ok()?;
                let slo = s.metric.get("kura_slo")?.clone();
                let part = s.metric.get("kura_part")?.clone();
                value.is_finite().then_some(((slo, part), value))
            })
            .collect())
    }
}

/// One SLO's counts from a batch's samples: none without a total.
fn counts(samples: &HashMap<(String, String), f64>, tag: &str, counting: Counting) -> Option<Counts> {
    let get = |part: &str| samples.get(&(tag.to_string(), part.to_string())).copied();
    let total = get("total")?;
    let numerator = get(&counting.to_string()).unwrap_or(0.0);
    let good = match counting {
        Counting::Good => numerator,
        Counting::Bad => total - numerator,
    };
    Some(Counts { good: good.clamp(0.0, total.max(0.0)), total })
}

/// `expr` with the `kura_slo` and `kura_part` labels set.
fn tagged(expr: &str, slo: &str, part: &str) -> String {
    format!(
        r#"label_replace(label_replace({expr}, "kura_slo", "{}", "", ""), "kura_part", "{part}", "", "")"#,
        quote(slo)
    )
}

/// The body of a PromQL double-quoted string.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `/api/v1/query`'s envelope (<https://prometheus.io/docs/prometheus/latest/querying/api/>).
#[derive(Deserialize)]
struct ApiResponse {
    status: String,
    data: Option<ApiData>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ApiData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorSample {
    metric: HashMap<String, String>,
    value: (f64, String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Selector, Sli, SloKey};

    #[test]
    fn a_batch_tags_each_slo_and_part_so_or_keeps_them_all() {
        let sli = Sli::Ratio {
            counting: Counting::Bad,
            numerator: Selector::parse(r#"req_total{code=~"5.."}"#).unwrap(),
            total: Selector::parse("req_total").unwrap(),
        };
        let tls = platform::tls::Tls::new(None).unwrap();
        let source = PrometheusSource::new(PrometheusConfig::new("http://127.0.0.1:1"), &tls).unwrap();
        let q = Query { key: SloKey::new("svc", "a"), sli, ranges: vec![SignedDuration::from_mins(5)] };
        let chunks = source.chunks(std::slice::from_ref(&q), &[0], SignedDuration::from_mins(5));
        assert_eq!(
            chunks[0][0].expr,
            r#"label_replace(label_replace(sum(increase(req_total{code=~"5.."}[5m])), "kura_slo", "svc/a", "", ""), "kura_part", "bad", "", "") or label_replace(label_replace(sum(increase(req_total[5m])), "kura_slo", "svc/a", "", ""), "kura_part", "total", "", "")"#
        );
    }

    #[test]
    fn a_missing_numerator_counts_as_zero_and_a_missing_total_as_no_data() {
        let mut samples = HashMap::new();
        samples.insert(("s/a".to_string(), "total".to_string()), 10.0);
        assert_eq!(counts(&samples, "s/a", Counting::Bad), Some(Counts { good: 10.0, total: 10.0 }));
        assert_eq!(counts(&samples, "s/a", Counting::Good), Some(Counts { good: 0.0, total: 10.0 }));
        assert_eq!(counts(&samples, "s/b", Counting::Good), None);
    }
}
