//! The metrics an SLI may use: Kura's metric contract ([`telemetry::contract`]), what a spec
//! declares under `metrics:`, and what a real scrape shows (`slo lint --metrics FILE`).
//! The linter resolves every selector against it: an unknown metric, an unknown label or a
//! latency threshold that is not a bucket bound is an error before anything is generated.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use rust_decimal::Decimal;

use super::MetricDeclaration;
use super::selector::Selector;

pub use telemetry::contract::MetricKind;

/// One metric family as the linter sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: MetricKind,
    pub labels: BTreeSet<String>,
    /// Bucket bounds in seconds, exact as exposed.
    pub buckets: Vec<Decimal>,
}

/// Which series of a family a selector names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// `X_total` of a counter.
    CounterTotal,
    /// `X_count` of a histogram.
    HistogramCount,
    /// `X_bucket` of a histogram.
    HistogramBucket,
    /// `X_sum` of a histogram.
    HistogramSum,
    /// The histogram itself (`X`), as latency and freshness SLIs name it.
    Histogram,
    Gauge,
}

/// Known metric families by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    families: BTreeMap<String, Family>,
}

impl Catalogue {
    /// Kura's metric contract: what every Kura binary exposes.
    pub fn kura() -> Self {
        let mut c = Catalogue::default();
        for f in telemetry::contract::CONTRACT {
            c.insert(Family {
                name: f.name.to_string(),
                kind: f.kind,
                labels: f.labels.iter().map(|l| l.to_string()).collect(),
                buckets: f.buckets.iter().filter_map(|b| decimal(*b)).collect(),
            });
        }
        c
    }

    /// The families a Prometheus or OpenMetrics text exposition shows (`# TYPE` lines and the
    /// labels and `le` bounds of its samples).
    pub fn from_exposition(text: &str) -> Self {
        let mut c = Catalogue::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
                let kind = match kind {
                    "counter" => MetricKind::Counter,
                    "histogram" => MetricKind::Histogram,
                    "gauge" => MetricKind::Gauge,
                    _ => continue,
                };
                // Classic text names counters with `_total`; the family name has none.
                let name = if kind == MetricKind::Counter { name.strip_suffix("_total").unwrap_or(name) } else { name };
                c.insert(Family { name: name.to_string(), kind, labels: BTreeSet::new(), buckets: Vec::new() });
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let Ok((sample, _)) = Selector::parse_prefix(line) else { continue };
                let Some((family, series)) = c.resolve_mut(&sample.metric) else { continue };
                for m in &sample.matchers {
                    if m.label == "le" && series == Series::HistogramBucket {
                        if let Ok(bound) = Decimal::from_str(&m.value)
                            && !family.buckets.contains(&bound.normalize())
                        {
                            family.buckets.push(bound.normalize());
                        }
                    } else {
                        family.labels.insert(m.label.clone());
                    }
                }
            }
        }
        for f in c.families.values_mut() {
            f.buckets.sort();
        }
        c
    }

    /// Adds the families a spec declares.
    pub fn with_declarations(&self, declared: &[MetricDeclaration]) -> Self {
        let mut c = self.clone();
        for d in declared {
            c.insert(Family {
                name: d.name.clone(),
                kind: d.kind,
                labels: d.labels.iter().cloned().collect(),
                buckets: d.buckets.iter().map(|b| b.normalize()).collect(),
            });
        }
        c
    }

    /// Adds (or widens) every family of `other`.
    pub fn merge(&mut self, other: Catalogue) {
        for (_, f) in other.families {
            self.insert(f);
        }
    }

    fn insert(&mut self, family: Family) {
        match self.families.get_mut(&family.name) {
            Some(known) if known.kind == family.kind => {
                known.labels.extend(family.labels);
                for b in family.buckets {
                    if !known.buckets.contains(&b) {
                        known.buckets.push(b);
                    }
                }
                known.buckets.sort();
            }
            _ => {
                self.families.insert(family.name.clone(), family);
            }
        }
    }

    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.get(name)
    }

    pub fn families(&self) -> impl Iterator<Item = &Family> {
        self.families.values()
    }

    /// The family and series a series name belongs to (`job_runs_total` → `job_runs`, counter).
    pub fn resolve(&self, series: &str) -> Option<(&Family, Series)> {
        let candidates = [
            ("_total", MetricKind::Counter, Series::CounterTotal),
            ("_count", MetricKind::Histogram, Series::HistogramCount),
            ("_bucket", MetricKind::Histogram, Series::HistogramBucket),
            ("_sum", MetricKind::Histogram, Series::HistogramSum),
        ];
        for (suffix, kind, role) in candidates {
            if let Some(f) = series.strip_suffix(suffix).and_then(|n| self.families.get(n))
                && f.kind == kind
            {
                return Some((f, role));
            }
        }
        let f = self.families.get(series)?;
        match f.kind {
            MetricKind::Histogram => Some((f, Series::Histogram)),
            MetricKind::Gauge => Some((f, Series::Gauge)),
            // A counter is exposed only with `_total`.
            MetricKind::Counter => None,
        }
    }

    fn resolve_mut(&mut self, series: &str) -> Option<(&mut Family, Series)> {
        let (name, role) = self.resolve(series).map(|(f, role)| (f.name.clone(), role))?;
        self.families.get_mut(&name).map(|f| (f, role))
    }

    /// Family names close to `name`, for "did you mean" hints.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let stem = name.trim_end_matches("_total").trim_end_matches("_count").trim_end_matches("_bucket");
        self.families
            .keys()
            .filter(|k| k.contains(stem) || stem.contains(k.as_str()))
            .min_by_key(|k| k.len().abs_diff(stem.len()))
            .map(String::as_str)
    }
}

fn decimal(f: f64) -> Option<Decimal> {
    Decimal::from_str(&f.to_string()).ok().map(|d| d.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kura_contract_resolves_counter_and_histogram_series() {
        let c = Catalogue::kura();
        let (f, s) = c.resolve("job_runs_total").unwrap();
        assert_eq!((f.name.as_str(), s), ("job_runs", Series::CounterTotal));
        let (f, s) = c.resolve("http_server_request_duration_seconds_count").unwrap();
        assert_eq!((f.name.as_str(), s), ("http_server_request_duration_seconds", Series::HistogramCount));
        assert_eq!(c.resolve("http_server_request_duration_seconds").unwrap().1, Series::Histogram);
        assert!(c.resolve("job_runs").is_none(), "a counter is only exposed with _total");
        assert!(f.buckets.contains(&Decimal::from_str("0.3").unwrap()));
    }

    #[test]
    fn an_exposition_teaches_families_labels_and_bounds() {
        let text = "# TYPE req_seconds histogram\nreq_seconds_bucket{route=\"/a\",le=\"0.25\"} 1\nreq_seconds_bucket{route=\"/a\",le=\"1.0\"} 2\nreq_seconds_count{route=\"/a\"} 2\n# TYPE hits_total counter\nhits_total{code=\"200\"} 3 # {trace_id=\"ab\"} 1\n";
        let c = Catalogue::from_exposition(text);
        let f = c.family("req_seconds").unwrap();
        assert_eq!(f.labels.iter().collect::<Vec<_>>(), ["route"]);
        assert_eq!(f.buckets, [Decimal::from_str("0.25").unwrap(), Decimal::ONE]);
        assert_eq!(c.resolve("hits_total").unwrap().0.labels.iter().collect::<Vec<_>>(), ["code"]);
    }
}
