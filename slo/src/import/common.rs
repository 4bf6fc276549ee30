//! What both importers share: positions turned into [`ImportError`]s, PromQL recognised as
//! structured SLIs, metric declarations inferred for metrics outside Kura's contract, and the
//! last step, which writes the assembled spec in the native format and loads it back through
//! [`crate::spec::load_str`] so that an imported spec passes exactly the checks a hand-written
//! one does (ids, names, label rules, tiers, composites).

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;

use super::ImportError;
use crate::math::Window;
use crate::spec::catalogue::{Catalogue, MetricKind, Series};
use crate::spec::{Composite, DEFAULT_TIME_ZONE, JourneySlos, MetricDeclaration, NamedTier, Selector, Sli, Slo, Spec};
use crate::yaml::{At, YamlError};

/// The range placeholder of Kura's promql SLIs (and of Sloth's queries).
pub(super) const WINDOW: &str = "{{.window}}";

pub(super) fn error(file: &Path, at: At, message: impl Into<String>) -> ImportError {
    ImportError::Invalid { file: file.to_path_buf(), line: at.line, column: at.column, message: message.into() }
}

pub(super) fn from_yaml(file: &Path) -> impl Fn(YamlError) -> ImportError + '_ {
    move |e| error(file, e.at, e.message)
}

/// The error for something a Kura spec cannot say, named and located.
pub(super) fn unsupported(file: &Path, at: At, what: impl std::fmt::Display, why: &str) -> ImportError {
    error(file, at, format!("{what} cannot be represented in a Kura spec: {why}"))
}

/// The default tiers for a window, named.
pub(super) fn default_tiers(window: &Window) -> Vec<NamedTier> {
    crate::spec::default_tiers(window.nominal_length())
}

/// A counter selector that a structured ratio can use: a counter's `_total` or a histogram's
/// `_count` (what the linter accepts as an event counter).
fn is_event_counter(selector: &Selector) -> bool {
    selector.metric.ends_with("_total") || selector.metric.ends_with("_count")
}

/// The selector of a query that counts events the way Kura's ratio SLI does: a plain
/// selector, or `sum(rate(selector[{{.window}}]))` (or `increase`), on an event counter.
pub(super) fn counter_selector(query: &str) -> Option<Selector> {
    let q = query.trim();
    if let Ok(s) = Selector::parse(q) {
        return is_event_counter(&s).then_some(s);
    }
    let mut rest = eat(q, "sum")?;
    rest = eat(rest, "(")?;
    rest = eat(rest, "rate").or_else(|| eat(rest, "increase"))?;
    rest = eat(rest, "(")?;
    let (selector, end) = Selector::parse_prefix(rest).ok()?;
    rest = &rest[end..];
    for token in ["[", WINDOW, "]", ")", ")"] {
        rest = eat(rest, token)?;
    }
    (rest.trim().is_empty() && is_event_counter(&selector)).then_some(selector)
}

fn eat<'a>(s: &'a str, token: &str) -> Option<&'a str> {
    s.trim_start().strip_prefix(token)
}

/// `sum(rate(selector[{{.window}}]))`: what a structured counter selector means as PromQL.
pub(super) fn rate_query(selector: &str) -> String {
    format!("sum(rate({selector}[{WINDOW}]))")
}

/// The histogram and threshold of a latency-shaped ratio: good `X_bucket{..., le="T"}` over
/// total `X_count{...}` with the same other matchers.
pub(super) fn histogram_ratio(good: &Selector, total: &Selector) -> Option<(Selector, Decimal)> {
    let family = good.metric.strip_suffix("_bucket")?;
    if total.metric.strip_suffix("_count") != Some(family) {
        return None;
    }
    let le = good.equal("le")?;
    let threshold = le.parse::<Decimal>().ok().filter(|d| *d > Decimal::ZERO)?.normalize();
    let mut histogram = good.with_metric(family);
    histogram.matchers.retain(|m| m.label != "le");
    (histogram.matchers == total.matchers).then_some((histogram, threshold))
}

/// A journey being assembled, with where its SLOs came from (for messages).
#[derive(Debug)]
pub(super) struct JourneyDraft {
    pub name: String,
    pub description: String,
    pub slos: Vec<Slo>,
    pub composite: Option<Composite>,
}

/// A spec being assembled from another format.
#[derive(Debug)]
pub(super) struct SpecDraft {
    pub service: String,
    /// Where the service is declared, for problems that belong to no SLO.
    pub at: At,
    pub time_zone: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub dashboard: Option<String>,
    pub policy: crate::spec::ErrorBudgetPolicy,
    pub maintenance: Vec<crate::spec::Maintenance>,
    /// Declared metrics as carried by the document; `None`: infer them from the SLIs.
    pub metrics: Option<Vec<MetricDeclaration>>,
    pub journeys: Vec<JourneyDraft>,
    /// Where each SLO and composite id was read.
    pub positions: BTreeMap<String, At>,
}

impl SpecDraft {
    pub fn new(service: &str, at: At) -> Self {
        Self {
            service: service.to_string(),
            at,
            time_zone: None,
            labels: BTreeMap::new(),
            dashboard: None,
            policy: crate::spec::ErrorBudgetPolicy::default(),
            maintenance: Vec::new(),
            metrics: None,
            journeys: Vec::new(),
            positions: BTreeMap::new(),
        }
    }

    /// The journey named `name`, added (after the others) if new.
    pub fn journey(&mut self, name: &str) -> &mut JourneyDraft {
        let i = match self.journeys.iter().position(|j| j.name == name) {
            Some(i) => i,
            None => {
                self.journeys.push(JourneyDraft {
                    name: name.to_string(),
                    description: String::new(),
                    slos: Vec::new(),
                    composite: None,
                });
                self.journeys.len() - 1
            }
        };
        &mut self.journeys[i]
    }

    /// Adds a label that applies to the whole service; the same key with another value is an error.
    pub fn label(&mut self, file: &Path, at: At, key: &str, value: &str) -> Result<(), ImportError> {
        match self.labels.get(key) {
            Some(v) if v != value => Err(error(
                file,
                at,
                format!(
                    "label `{key}: {value}` conflicts with `{key}: {v}` for service `{}` (Kura labels apply to \
                     every SLO of a service)",
                    self.service
                ),
            )),
            _ => {
                self.labels.insert(key.to_string(), value.to_string());
                Ok(())
            }
        }
    }

    /// The finished spec, as the loader reads it back from its native text.
    pub fn finish(self, file: &Path) -> Result<Spec, ImportError> {
        let mut spec = Spec {
            source: file.to_path_buf(),
            service: self.service,
            time_zone: self.time_zone.unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string()),
            labels: self.labels,
            dashboard: self.dashboard,
            external_url: crate::spec::DEFAULT_EXTERNAL_URL.to_owned(),
            policy: self.policy,
            maintenance: self.maintenance,
            metrics: Vec::new(),
            journeys: self
                .journeys
                .into_iter()
                .map(|j| JourneySlos { name: j.name, description: j.description, slos: j.slos, composite: j.composite })
                .collect(),
        };
        spec.metrics = match self.metrics {
            Some(m) => m,
            None => infer_metrics(&spec),
        };
        let text = crate::spec::to_yaml(&spec);
        match crate::spec::load_str(file, &text) {
            Ok(mut loaded) => {
                loaded.source = file.to_path_buf();
                Ok(loaded)
            }
            Err(diagnostics) => {
                let first = diagnostics.iter().next();
                let message = first.map_or_else(|| "invalid spec".to_string(), |d| d.message.clone());
                // Point at the SLO the problem is in: the last `id:` at or above its line.
                let id = first.and_then(|d| {
                    text.lines()
                        .take(d.line)
                        .filter_map(|l| l.trim_start().trim_start_matches("- ").strip_prefix("id: "))
                        .last()
                });
                let (at, whose) = match id.and_then(|id| self.positions.get(id.trim_matches('"')).map(|at| (id, at))) {
                    Some((id, at)) => (*at, format!("SLO `{}`", id.trim_matches('"'))),
                    None => (self.at, format!("service `{}`", spec.service)),
                };
                Err(error(file, at, format!("{whose}: {message}")))
            }
        }
    }
}

/// Declarations for the metrics that structured SLIs use and Kura's contract does not know:
/// labels in order of first use, and a histogram's thresholds as its buckets.
fn infer_metrics(spec: &Spec) -> Vec<MetricDeclaration> {
    let kura = Catalogue::kura();
    let mut out: Vec<MetricDeclaration> = Vec::new();
    let mut declare = |selector: &Selector, threshold: Option<Decimal>| {
        let (name, kind) = if let Some(name) = selector.metric.strip_suffix("_total") {
            (name, MetricKind::Counter)
        } else if let Some(name) = selector.metric.strip_suffix("_count") {
            (name, MetricKind::Histogram)
        } else {
            (selector.metric.as_str(), MetricKind::Histogram)
        };
        let known = matches!(
            kura.resolve(&selector.metric),
            Some((_, Series::CounterTotal | Series::HistogramCount | Series::Histogram))
        );
        if known {
            return;
        }
        let i = match out.iter().position(|m| m.name == name) {
            Some(i) => i,
            None => {
                out.push(MetricDeclaration { name: name.to_string(), kind, labels: Vec::new(), buckets: Vec::new() });
                out.len() - 1
            }
        };
        let m = &mut out[i];
        for matcher in &selector.matchers {
            if matcher.label != "le" && !m.labels.contains(&matcher.label) {
                m.labels.push(matcher.label.clone());
            }
        }
        if let Some(t) = threshold
            && !m.buckets.contains(&t)
        {
            m.buckets.push(t);
            m.buckets.sort();
        }
    };
    let mut promql = Vec::new();
    for slo in spec.slos() {
        match &slo.sli {
            Sli::Ratio { numerator, total, .. } => {
                declare(numerator, None);
                declare(total, None);
            }
            Sli::Latency { histogram, threshold } | Sli::Freshness { histogram, threshold } => {
                declare(histogram, Some(threshold.seconds));
            }
            Sli::Promql { numerator, total, .. } => {
                for q in [numerator, total] {
                    promql.extend(crate::spec::promql::selectors(q).unwrap_or_default());
                }
            }
        }
    }
    for used in &promql {
        declare_used(&kura, &mut out, used);
    }
    out
}

/// A metric a `promql` query selects, declared from its name: `_total` a counter, `_bucket`,
/// `_count` and `_sum` a histogram, anything else a gauge.
fn declare_used(kura: &Catalogue, out: &mut Vec<MetricDeclaration>, used: &crate::spec::promql::UsedSelector) {
    if kura.resolve(&used.metric).is_some() {
        return;
    }
    let (name, kind) = [
        ("_total", MetricKind::Counter),
        ("_bucket", MetricKind::Histogram),
        ("_count", MetricKind::Histogram),
        ("_sum", MetricKind::Histogram),
    ]
    .into_iter()
    .find_map(|(suffix, kind)| used.metric.strip_suffix(suffix).map(|n| (n, kind)))
    .unwrap_or((used.metric.as_str(), MetricKind::Gauge));
    let i = match out.iter().position(|m| m.name == name) {
        Some(i) => i,
        None => {
            out.push(MetricDeclaration { name: name.to_string(), kind, labels: Vec::new(), buckets: Vec::new() });
            out.len() - 1
        }
    };
    let m = &mut out[i];
    for label in &used.labels {
        if label != "le" && !m.labels.contains(label) {
            m.labels.push(label.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_of_rate_over_the_window_is_a_structured_counter() {
        let s = counter_selector("sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))").unwrap();
        assert_eq!(s.to_string(), "http_requests_total{code=~\"5..\"}");
        assert!(counter_selector(" sum( increase( x_count [ {{.window}} ] ) )\n").is_some());
        assert!(counter_selector("sum by (code) (rate(x_total[{{.window}}]))").is_none());
        assert!(counter_selector("sum(rate(x_total[5m]))").is_none());
        assert!(counter_selector("x_bucket{le=\"1\"}").is_none());
    }

    #[test]
    fn a_bucket_over_a_count_is_a_histogram_threshold() {
        let good = Selector::parse(r#"h_bucket{a="b", le="0.30"}"#).unwrap();
        let total = Selector::parse(r#"h_count{a="b"}"#).unwrap();
        let (h, t) = histogram_ratio(&good, &total).unwrap();
        assert_eq!((h.to_string(), t.to_string()), (r#"h{a="b"}"#.to_string(), "0.3".to_string()));
        let other = Selector::parse(r#"h_count{a="c"}"#).unwrap();
        assert!(histogram_ratio(&good, &other).is_none());
    }
}
