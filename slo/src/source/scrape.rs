//! The embedded scraper: the source used when no Prometheus is configured (`--scrape URL`,
//! repeatable). It is the small-install path, not a general TSDB: it keeps only the series the
//! SLOs' selectors name, turns them into per-SLO good/total event counts, and stores those
//! counts in the controller's database.
//!
//! **Scraping.** Every target is fetched every [`ScrapeConfig::interval`] (15s by default) with
//! `Accept: application/openmetrics-text;version=1.0.0, text/plain;version=0.0.4` and parsed as
//! either format ([`parse`]). A series is kept when it matches a structured SLI's selector
//! (metric name and label matchers, regular expressions anchored as PromQL anchors them): a
//! ratio's numerator and total, a latency or freshness SLI's `X_bucket` at the threshold (whole
//! bounds match `le="300"` and `le="300.0"`) and `X_count`. A `promql` SLI cannot be scraped and
//! reads [`SourceError::Unsupported`].
//!
//! **Counting.** Each kept series' increase since the previous scrape of its target is its new
//! value minus the old; a value that went down means the counter restarted, and its increase is
//! then the new value (what it counted since the restart). A series that appears in a later
//! scrape started at zero, so its whole value counts. Per SLO, the increases of the matching
//! series (across all targets) are summed into good and total (a `bad` ratio gives
//! good = total − bad) and added to the bucket of the minute the scrape happened in: an event
//! lands at most one scrape interval after it happened. Counts are whole numbers (counters
//! count events); a bucket's good may dip below zero when a bad count was scraped ahead of its
//! total, and sums over a range stay exact.
//!
//! **Storage and downsampling.** Every scrape adds its counts to the SLO's minute bucket and
//! to its hour bucket; minute buckets older than 48 hours are dropped by a background compaction
//! every 10 minutes (downsampling is exact: buckets hold counts, not rates), and hour buckets are
//! kept for [`ScrapeConfig::retention`] (100 days: a quarter window and margin). A 30-day window
//! is then 2,880 minute rows and 720 hour rows per SLO, whatever the scrape interval, instead of
//! 172,800 samples per series at 15s. Keys lead with the bucket's time, so reads and compaction
//! are range scans.
//!
//! **Reading a range.** A range is the sum of its whole hours' buckets and, before the first
//! of them, of its minute buckets (the hour bucket once those are dropped); the one bucket that
//! straddles the range's start counts pro rata. A read therefore visits at most one row per hour
//! of the range plus 60 per SLO, one SQL query per distinct range for all SLOs. Counts are exact
//! but for that straddling bucket and the scrape-interval delay at the end: the tolerance is
//! one minute's events at the start for ranges within the last 48 hours and one hour's for
//! longer ones (0.15% of a 28-day window), plus one scrape interval's at the end, like
//! `increase()`'s extrapolation in PromQL.
//!
//! **Coverage.** A range that reaches back before the scraper's first bucket for an SLO is
//! answered with what exists, as Prometheus answers `increase()` over a young series: a fresh
//! install reports its first hours of the 28-day window instead of no data for four weeks
//! (the evaluator's `min_events_per_hour` and the budget math say how much to trust it;
//! [`ScrapeSource::data_since`] tells when the data begins). A range without any bucket is left
//! out of the reading (no data), which an SLO without matching series gets for every range.
//!
//! **Restarts.** The last value of every kept series is stored with each scrape, in the same
//! transaction as the buckets it fed, so a restarted controller resumes from it: the events
//! counted while it was down land in the first minute after the restart, and none is counted
//! twice. Only a series that first appeared while the controller was down, or one that a
//! changed spec starts to watch, is taken as a baseline on its first scrape (its earlier events
//! are not counted), and a target that restarted while the controller was down loses what it
//! counted before its restart.
//!
//! **Replicas.** On PostgreSQL, replicas of the controller share these tables, and only the
//! leader scrapes: the loop checks [`ScrapeSource::leading`], which the controller keeps in
//! step with its advisory lock, before every scrape, so each event is added to the buckets
//! once, not once per replica. A standby skips its scrapes; when it takes over, each target
//! first reloads the series values the old leader stored with its last scrape (in the same
//! transaction as the buckets that scrape fed) and counts from them, as a restarted controller
//! does: the events counted between the old leader's last scrape and the new leader's first
//! land in that first minute, and none is counted twice or lost. The exceptions are the
//! restart's: a series that first appeared after the old leader's last scrape is a baseline
//! (its earlier events are not counted), and a target that restarted in between loses what it
//! counted before its restart. A leader that loses its lock in the middle of a scrape may still
//! store that scrape, as it may store that cycle; the new leader's first scrape then starts
//! from the values it stored, so that overlap is not counted twice either.
//!
//! **A target that is down.** An SLO is fed by the targets whose last good scrape had series for
//! it. Once any of them has not been scraped successfully for more than two intervals, the SLO
//! reads [`SourceError::Unreachable`] (its counts would silently miss that target's events). An
//! SLO no target feeds reads `Unreachable` only when no target at all was scraped within two
//! intervals. Which targets feed which SLO is rebuilt from the stored series on restart.

pub mod parse;
mod select;
mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use jiff::{SignedDuration, Timestamp};
use platform::Db;
use tokio::task::JoinHandle;

use super::{Query, Reading, SourceError};
use crate::spec::{Counting, Selector, Spec};
use parse::Sample;
use select::{Key, Role, Watched, WatchedSlo};

/// What the scraper sends as `Accept` (Prometheus's own preference order).
pub const ACCEPT: &str = "application/openmetrics-text;version=1.0.0, text/plain;version=0.0.4";

/// How long minute buckets are kept before they are merged into hours.
pub const MINUTES_KEPT: SignedDuration = SignedDuration::from_hours(48);

/// How often the background compaction runs.
const COMPACT_EVERY: Duration = Duration::from_secs(600);

/// Which targets to scrape, how often, and how long to keep data.
#[derive(Debug, Clone)]
pub struct ScrapeConfig {
    /// `/metrics` URLs.
    pub targets: Vec<String>,
    pub interval: Duration,
    /// Per scrape; the interval, at most 10s, by default.
    pub timeout: Duration,
    /// How long hour buckets are kept.
    pub retention: SignedDuration,
}

impl ScrapeConfig {
    pub fn new(targets: Vec<String>) -> Self {
        ScrapeConfig {
            targets,
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
            retention: SignedDuration::from_hours(24 * 100),
        }
    }

    /// The same with another interval (and a timeout to match).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self.timeout = interval.min(Duration::from_secs(10));
        self
    }
}

/// Why a scrape (or the scraper's storage) failed.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("{0}: {1}")]
    Http(String, String),
    #[error("{0} answered {1}")]
    Status(String, u16),
    #[error("no target #{0}")]
    NoTarget(usize),
    #[error("storage: {0}")]
    Db(#[from] sqlx::Error),
}

/// The embedded scraper. See the module docs. Dropping it stops its background tasks.
#[derive(Debug)]
pub struct ScrapeSource {
    inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    client: reqwest::Client,
    config: ScrapeConfig,
    watched: ArcSwap<Watched>,
    /// Each target's series values as of its last scrape (one scrape at a time per target).
    series: Vec<tokio::sync::Mutex<TargetSeries>>,
    status: Mutex<Vec<TargetStatus>>,
    started: Timestamp,
    scrapes: AtomicU64,
    /// Whether this process leads (see [`ScrapeSource::leading`]); the loop scrapes only then.
    leading: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct TargetSeries {
    values: HashMap<String, f64>,
    /// The watch generation of this target's last scrape in this process (see [`Watched`]).
    generation: Option<u64>,
}

#[derive(Debug, Default, Clone)]
struct TargetStatus {
    last_success: Option<Timestamp>,
    last_error: Option<String>,
    feeds: HashSet<Key>,
}

impl ScrapeSource {
    /// A scraper for `config.targets`, watching every structured SLI of `specs`, resuming from
    /// the series values stored in `db`. Nothing is scraped until [`spawn`](Self::spawn) (or
    /// [`scrape_once`](Self::scrape_once)).
    pub async fn open(
        db: Db,
        config: ScrapeConfig,
        specs: &[Spec],
        tls: &platform::tls::Tls,
    ) -> Result<ScrapeSource, ScrapeError> {
        let slos = specs.iter().flat_map(|spec| spec.slos().map(|s| (spec.key(s), WatchedSlo::new(&s.sli)))).collect();
        let watched = Watched::new(0, slos);
        let mut stored = store::load_series(&db).await?;
        let mut series = Vec::new();
        let mut status = Vec::new();
        for url in &config.targets {
            let (values, scraped_at) = stored.remove(url).unwrap_or_default();
            let mut feeds = HashSet::new();
            for key in values.keys() {
                if let Some(sample) = sample_of(key) {
                    feeds.extend(watched.matches(&sample).into_iter().map(|(k, _)| k.clone()));
                }
            }
            let last_success = (scraped_at > 0).then(|| Timestamp::from_millisecond(scraped_at).ok()).flatten();
            series.push(tokio::sync::Mutex::new(TargetSeries { values, generation: None }));
            status.push(TargetStatus { last_success, last_error: None, feeds });
        }
        let client = tls
            .client()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ScrapeError::Http("client".into(), platform::tls::redact(e)))?;
        let inner = Inner {
            db,
            client,
            config,
            watched: ArcSwap::from_pointee(watched),
            series,
            status: Mutex::new(status),
            started: Timestamp::now(),
            scrapes: AtomicU64::new(0),
            leading: Arc::new(AtomicBool::new(true)),
        };
        Ok(ScrapeSource { inner: Arc::new(inner), tasks: Vec::new() })
    }

    /// Starts scraping every target every interval, and the compaction, in the background.
    pub fn spawn(&mut self) {
        for t in 0..self.inner.config.targets.len() {
            let inner = self.inner.clone();
            self.tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(inner.config.interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                // Whether this target's values in memory may be behind the stored ones (another
                // replica scraped while this one stood by).
                let mut behind = false;
                loop {
                    tick.tick().await;
                    if !inner.leading.load(Ordering::Relaxed) {
                        behind = true;
                        continue;
                    }
                    if behind {
                        if let Err(e) = inner.resume(t).await {
                            tracing::warn!(target_url = %inner.config.targets[t], error = %e, "cannot read the stored series");
                            continue;
                        }
                        behind = false;
                    }
                    if let Err(e) = inner.scrape(t).await {
                        tracing::warn!(target_url = %inner.config.targets[t], error = %e, "scrape failed");
                    }
                }
            }));
        }
        let inner = self.inner.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(COMPACT_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = inner.compact(Timestamp::now()).await {
                    tracing::warn!(error = %e, "compaction failed");
                }
            }
        }));
    }

    /// The flag the background loop consults before every scrape: while it is false (a standby
    /// replica) nothing is scraped, and on the first scrape after it turns true each target
    /// resumes from the series values stored in the database. True when opened (a scraper on
    /// its own always scrapes); the [`Controller`](crate::controller::Controller) adopts it as
    /// its leadership flag.
    pub fn leading(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.inner.leading)
    }

    /// Scrapes every target once, now.
    pub async fn scrape_once(&self) -> Vec<Result<usize, ScrapeError>> {
        let scrapes = (0..self.inner.config.targets.len()).map(|t| self.inner.scrape(t));
        futures::future::join_all(scrapes).await
    }

    /// Counts an exposition as if target `target` (an index into the configured targets) had
    /// served it at `at`; returns how many series were kept. Scrapes end here; so do tests and
    /// benchmarks that simulate time.
    pub async fn ingest(&self, target: usize, body: &str, at: Timestamp) -> Result<usize, ScrapeError> {
        self.inner.ingest(target, body, at).await
    }

    /// Merges minute buckets older than 48 hours before `now` into hour buckets and drops data
    /// older than the retention; returns the minute buckets merged.
    pub async fn compact(&self, now: Timestamp) -> Result<u64, ScrapeError> {
        self.inner.compact(now).await
    }

    /// Scrapes attempted since the scraper was built.
    pub fn scrapes_issued(&self) -> u64 {
        self.inner.scrapes.load(Ordering::Relaxed)
    }

    /// When the scraper's data for an SLO begins.
    pub async fn data_since(&self, service: &str, slo: &str) -> Result<Option<Timestamp>, ScrapeError> {
        let since = store::since(&self.inner.db).await?;
        Ok(since.get(&crate::spec::SloKey::new(service, slo)).and_then(|s| Timestamp::from_second(*s).ok()))
    }

    /// How many minute and hour buckets are stored.
    pub async fn bucket_rows(&self) -> Result<(i64, i64), ScrapeError> {
        Ok(store::rows(&self.inner.db).await?)
    }

    /// One answer per query, in order. See the module docs for ranges, coverage and targets
    /// that are down.
    #[tracing::instrument(skip_all, fields(slos = queries.len()))]
    pub async fn read(&self, queries: &[Query], at: Timestamp) -> Vec<Result<Reading, SourceError>> {
        let watched = self.inner.watch(queries);
        let status = self.inner.status.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let stale_after = SignedDuration::try_from(self.inner.config.interval * 2).unwrap_or(SignedDuration::MAX);
        let stale = |s: &TargetStatus| at.duration_since(s.last_success.unwrap_or(self.inner.started)) > stale_after;
        let all_stale = !status.is_empty() && status.iter().all(stale);
        let mut answers: Vec<Result<(), SourceError>> = Vec::with_capacity(queries.len());
        let mut ranges = BTreeSet::new();
        for q in queries {
            let key = &q.key;
            let answer = match watched.slos.get(key).map(|w| &w.selectors) {
                Some(Err(message)) if matches!(q.sli, crate::spec::Sli::Promql { .. }) => {
                    tracing::trace!(%message, "not scrapeable");
                    Err(SourceError::Unsupported("promql"))
                }
                Some(Err(message)) => Err(SourceError::Query(message.clone())),
                _ => {
                    let feeders: Vec<usize> = (0..status.len()).filter(|t| status[*t].feeds.contains(key)).collect();
                    let down: Vec<String> = feeders
                        .iter()
                        .filter(|t| stale(&status[**t]))
                        .map(|t| describe_down(&self.inner.config.targets[*t], &status[*t]))
                        .collect();
                    if !down.is_empty() {
                        Err(SourceError::Unreachable(down.join("; ")))
                    } else if feeders.is_empty() && all_stale {
                        let down = (0..status.len())
                            .map(|t| describe_down(&self.inner.config.targets[t], &status[t]))
                            .collect::<Vec<_>>();
                        Err(SourceError::Unreachable(down.join("; ")))
                    } else {
                        ranges.extend(q.ranges.iter().copied());
                        Ok(())
                    }
                }
            };
            answers.push(answer);
        }
        let end = at.as_second();
        let mut sums = BTreeMap::new();
        for range in ranges {
            match store::sums(&self.inner.db, end - range.as_secs(), end).await {
                Ok(s) => {
                    sums.insert(range, s);
                }
                Err(e) => {
                    let e = SourceError::Unreachable(format!("the scraper's storage: {e}"));
                    return queries.iter().map(|_| Err(e.clone())).collect();
                }
            }
        }
        queries
            .iter()
            .zip(answers)
            .map(|(q, answer)| {
                answer?;
                let ranges =
                    q.ranges.iter().filter_map(|r| sums.get(r).and_then(|s| s.get(&q.key)).map(|c| (*r, *c))).collect();
                Ok(Reading { ranges })
            })
            .collect()
    }
}

impl Drop for ScrapeSource {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn describe_down(url: &str, status: &TargetStatus) -> String {
    let last = status.last_success.map_or_else(|| "never".to_string(), |t| t.to_string());
    match &status.last_error {
        Some(e) => format!("{url} last scraped {last} ({e})"),
        None => format!("{url} last scraped {last}"),
    }
}

/// The sample a stored series key names (without a value).
fn sample_of(key: &str) -> Option<Sample> {
    let selector = Selector::parse(key).ok()?;
    let labels = selector.matchers.into_iter().map(|m| (m.label, m.value)).collect();
    Some(Sample { name: selector.metric, labels, value: 0.0 })
}

impl Inner {
    /// The watched SLOs, updated with any query whose SLI is new or changed (a reloaded spec).
    fn watch(&self, queries: &[Query]) -> Arc<Watched> {
        let changed = |w: &Watched| queries.iter().any(|q| w.slos.get(&q.key).is_none_or(|s| s.sli != q.sli));
        let current = self.watched.load_full();
        if !changed(&current) {
            return current;
        }
        // Swapped whole; a concurrent update in between is built on again, never lost.
        self.watched.rcu(|current| {
            if !changed(current) {
                return Arc::clone(current);
            }
            let mut slos: BTreeMap<Key, WatchedSlo> = BTreeMap::new();
            for (key, w) in &current.slos {
                slos.insert(key.clone(), WatchedSlo::new(&w.sli));
            }
            for q in queries {
                slos.insert(q.key.clone(), WatchedSlo::new(&q.sli));
            }
            Arc::new(Watched::new(current.generation + 1, slos))
        });
        self.watched.load_full()
    }

    /// Replaces target `t`'s series values in memory with the stored ones (the last leader's).
    async fn resume(&self, t: usize) -> Result<(), ScrapeError> {
        let url = self.config.targets.get(t).ok_or(ScrapeError::NoTarget(t))?;
        let mut series = self.series[t].lock().await;
        let (values, _) = store::load_series(&self.db).await?.remove(url).unwrap_or_default();
        *series = TargetSeries { values, generation: None };
        Ok(())
    }

    async fn scrape(&self, t: usize) -> Result<usize, ScrapeError> {
        let url = self.config.targets.get(t).ok_or(ScrapeError::NoTarget(t))?;
        self.scrapes.fetch_add(1, Ordering::Relaxed);
        let fetched = async {
            let response = self
                .client
                .get(url)
                .header(reqwest::header::ACCEPT, ACCEPT)
                .timeout(self.config.timeout)
                .send()
                .await
                .map_err(|e| ScrapeError::Http(url.clone(), platform::tls::redact(e)))?;
            if !response.status().is_success() {
                return Err(ScrapeError::Status(url.clone(), response.status().as_u16()));
            }
            response.text().await.map_err(|e| ScrapeError::Http(url.clone(), platform::tls::redact(e)))
        }
        .await;
        match fetched {
            Ok(body) => self.ingest(t, &body, Timestamp::now()).await,
            Err(e) => {
                let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
                status[t].last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    async fn ingest(&self, t: usize, body: &str, at: Timestamp) -> Result<usize, ScrapeError> {
        let url = self.config.targets.get(t).ok_or(ScrapeError::NoTarget(t))?;
        let exposition = parse::parse(body);
        if exposition.skipped > 0 {
            tracing::debug!(target_url = %url, skipped = exposition.skipped, "skipped malformed exposition lines");
        }
        let watched = self.watched.load_full();
        let mut series = self.series[t].lock().await;
        // A series the previous scrape (with the same selectors) did not have is new: it
        // started at zero. Otherwise an unknown series is only a baseline.
        let new_counts = series.generation == Some(watched.generation);
        let mut values: HashMap<String, f64> = HashMap::new();
        let mut increases: BTreeMap<Key, (f64, f64)> = BTreeMap::new();
        for sample in &exposition.samples {
            if !sample.value.is_finite() {
                continue;
            }
            let matched = watched.matches(sample);
            if matched.is_empty() {
                continue;
            }
            let key = series_key(sample);
            if values.contains_key(&key) {
                continue;
            }
            let increase = match series.values.get(&key) {
                Some(&previous) if sample.value >= previous => sample.value - previous,
                // The counter went down: it restarted from zero.
                Some(_) => sample.value,
                None if new_counts => sample.value,
                None => 0.0,
            };
            values.insert(key, sample.value);
            for (slo, role) in matched {
                let sums = increases.entry(slo.clone()).or_default();
                match role {
                    Role::Numerator => sums.0 += increase,
                    Role::Total => sums.1 += increase,
                }
            }
        }
        let counts: Vec<(Key, i64, i64)> = increases
            .into_iter()
            .map(|(key, (numerator, total))| {
                let counting = watched.slos.get(&key).map_or(Counting::Good, |w| w.counting);
                let good = match counting {
                    Counting::Good => numerator,
                    Counting::Bad => total - numerator,
                };
                // Counters count whole events.
                (key, good.round() as i64, total.round() as i64)
            })
            .collect();
        let minute = at.as_second().div_euclid(60) * 60;
        store::write_scrape(&self.db, url, minute, &counts, &values, at.as_millisecond()).await?;
        let kept = values.len();
        series.values = values;
        series.generation = Some(watched.generation);
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        status[t] = TargetStatus {
            last_success: Some(at),
            last_error: None,
            feeds: counts.into_iter().map(|(key, _, _)| key).collect(),
        };
        Ok(kept)
    }

    async fn compact(&self, now: Timestamp) -> Result<u64, ScrapeError> {
        let cutoff = now.as_second() - MINUTES_KEPT.as_secs();
        let retain_from = now.as_second() - self.config.retention.as_secs();
        Ok(store::compact(&self.db, cutoff, retain_from).await?)
    }
}

/// A series' canonical key: its selector text with the labels in order (parsed back on restart).
fn series_key(sample: &Sample) -> String {
    let mut labels = sample.labels.clone();
    labels.sort();
    let selector = Selector {
        metric: sample.name.clone(),
        matchers: labels
            .into_iter()
            .map(|(label, value)| crate::spec::Matcher { label, op: crate::spec::MatchOp::Equal, value })
            .collect(),
    };
    selector.to_string()
}
