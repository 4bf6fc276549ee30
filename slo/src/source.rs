//! Where SLI data comes from: a Prometheus-compatible query API ([`prometheus`]) in
//! production, or the controller's own scraper ([`scrape`]) on a small install. Both answer
//! the same question for the evaluation loop — for each SLO, how many good and how many events
//! happened over each range ending now — so an SLO evaluates the same whichever is configured.
//! A failure is reported per SLO, never for the whole cycle, and every answer is keyed by the
//! SLO it is for ([`Readings`]), so an answer can never be taken for another SLO's.

pub mod prometheus;
pub mod scrape;

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};

use crate::spec::{Sli, Slo, SloKey, Spec};

/// What the evaluation loop asks about one SLO: its SLI and the ranges (ending at the
/// evaluation instant) it needs counts for — the SLO window (for a calendar window, the time
/// since the period began) and every alert tier's long and short windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub key: SloKey,
    pub sli: Sli,
    pub ranges: Vec<SignedDuration>,
}

impl Query {
    /// The query for `slo` of `spec` at `now`: the window so far and every tier window.
    pub fn for_slo(spec: &Spec, slo: &Slo, now: Timestamp) -> Query {
        let mut ranges = vec![window_range(slo, now)];
        if slo.min_events_per_hour.is_some() {
            // The traffic guard reads the last hour.
            ranges.push(SignedDuration::from_hours(1));
        }
        for t in &slo.alerting.tiers {
            ranges.extend([t.tier.long_window, t.tier.short_window]);
        }
        ranges.sort();
        ranges.dedup();
        Query { key: spec.key(slo), sli: slo.sli.clone(), ranges }
    }
}

/// The range an SLO's window covers at `now`: its length when rolling, the time since the
/// period began when calendar, in whole seconds. The evaluation looks a reading up by the range
/// the query asked for, so both must compute it alike.
pub fn window_range(slo: &Slo, now: Timestamp) -> SignedDuration {
    // Whole seconds of `now` first, so that callers holding the same instant at another
    // precision (the controller stores milliseconds) still ask for and find the same range.
    let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
    let (start, end) = slo.window.bounds(now);
    let range = if slo.window.is_rolling() { end.duration_since(start) } else { now.duration_since(start) };
    SignedDuration::from_secs(range.as_secs())
}

/// Good and total events over one range. Counts are `f64` because a PromQL `increase()` is
/// extrapolated; the embedded scraper's are whole numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub good: f64,
    pub total: f64,
}

impl Counts {
    pub fn bad(&self) -> f64 {
        (self.total - self.good).max(0.0)
    }

    /// The error ratio, or `None` without events.
    pub fn error_ratio(&self) -> Option<f64> {
        (self.total > 0.0).then(|| self.bad() / self.total)
    }
}

/// A source's answer for one SLO: counts per requested range. A range missing from the map
/// has no data (e.g. the scraper has not been running that long).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub ranges: BTreeMap<SignedDuration, Counts>,
}

/// A source's answers for one cycle, each under the key of the SLO it is for; an SLO missing
/// from the map got no answer.
pub type Readings = HashMap<SloKey, Result<Reading, SourceError>>;

/// Why a source could not answer for one SLO.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("the source is unreachable: {0}")]
    Unreachable(String),
    #[error("the query failed: {0}")]
    Query(String),
    #[error("this source cannot evaluate a {0} SLI")]
    Unsupported(&'static str),
    #[error("no source is configured")]
    NotConfigured,
}

/// The configured source (enum dispatch keeps the evaluation loop free of trait objects).
#[derive(Debug)]
pub enum Source {
    /// Neither `--prometheus` nor `--scrape`: every SLO reports `no-data`.
    None,
    /// `--prometheus URL`: a PromQL API.
    Prometheus(prometheus::PrometheusSource),
    /// `--scrape URL`...: the embedded scraper.
    Scrape(scrape::ScrapeSource),
}

impl Source {
    /// An answer for every query, under its SLO's key. Batching is the source's business: a
    /// cycle over hundreds of SLOs must not mean thousands of requests.
    pub async fn read(&self, queries: &[Query], at: Timestamp) -> Readings {
        let answers = match self {
            Source::None => queries.iter().map(|_| Err(SourceError::NotConfigured)).collect(),
            Source::Prometheus(p) => p.read(queries, at).await,
            Source::Scrape(s) => s.read(queries, at).await,
        };
        queries.iter().map(|q| q.key.clone()).zip(answers).collect()
    }

    /// Requests (PromQL queries, or scrapes) sent since the source was built, for the
    /// controller's metrics.
    pub fn queries_issued(&self) -> u64 {
        match self {
            Source::None => 0,
            Source::Prometheus(p) => p.queries_issued(),
            Source::Scrape(s) => s.scrapes_issued(),
        }
    }
}
