//! The series an SLO needs, as compiled label matchers. Regular expressions are anchored at
//! both ends, as PromQL anchors them (`code=~"5.."` matches `500`, not `5000`), and a label the
//! series does not have matches as the empty string, as in PromQL.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;

use super::parse::Sample;
use crate::generate::prometheus::promql;
use crate::spec::{Counting, MatchOp, Selector, Sli};

/// The SLO a series feeds.
pub type Key = crate::spec::SloKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Numerator,
    Total,
}

/// One selector, compiled.
#[derive(Debug)]
pub struct Compiled {
    metric: String,
    tests: Vec<(String, Test)>,
}

#[derive(Debug)]
enum Test {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

impl Compiled {
    pub fn new(selector: &Selector) -> Result<Compiled, regex::Error> {
        let mut tests = Vec::new();
        for m in &selector.matchers {
            let anchored = || Regex::new(&format!("^(?:{})$", m.value));
            let test = match m.op {
                MatchOp::Equal => Test::Equal(m.value.clone()),
                MatchOp::NotEqual => Test::NotEqual(m.value.clone()),
                MatchOp::Regex => Test::Regex(anchored()?),
                MatchOp::NotRegex => Test::NotRegex(anchored()?),
            };
            tests.push((m.label.clone(), test));
        }
        Ok(Compiled { metric: selector.metric.clone(), tests })
    }

    pub fn matches(&self, sample: &Sample) -> bool {
        sample.name == self.metric
            && self.tests.iter().all(|(label, test)| {
                let value = sample.label(label);
                match test {
                    Test::Equal(v) => value == v,
                    Test::NotEqual(v) => value != v,
                    Test::Regex(r) => r.is_match(value),
                    Test::NotRegex(r) => !r.is_match(value),
                }
            })
    }
}

/// One SLO the scraper keeps series for.
#[derive(Debug)]
pub struct WatchedSlo {
    pub sli: Sli,
    pub counting: Counting,
    /// The numerator and total selectors, or why the SLO cannot be scraped.
    pub selectors: Result<(Compiled, Compiled), String>,
}

impl WatchedSlo {
    pub fn new(sli: &Sli) -> WatchedSlo {
        let (counting, numerator, total) = match sli {
            Sli::Ratio { counting, numerator, total } => (*counting, numerator.clone(), total.clone()),
            Sli::Latency { histogram, threshold } | Sli::Freshness { histogram, threshold } => (
                Counting::Good,
                promql::bucket(histogram, threshold),
                histogram.with_metric(format!("{}_count", histogram.metric)),
            ),
            Sli::Promql { counting, .. } => {
                return WatchedSlo {
                    sli: sli.clone(),
                    counting: *counting,
                    selectors: Err("a promql SLI needs the Prometheus source".into()),
                };
            }
        };
        let selectors = Compiled::new(&numerator)
            .and_then(|n| Ok((n, Compiled::new(&total)?)))
            .map_err(|e| format!("invalid regular expression: {e}"));
        WatchedSlo { sli: sli.clone(), counting, selectors }
    }

    fn selector(&self, role: Role) -> Option<&Compiled> {
        let (n, t) = self.selectors.as_ref().ok()?;
        Some(if role == Role::Numerator { n } else { t })
    }
}

/// Every watched SLO, indexed by the metric names their selectors need and, within a name, by
/// one equality matcher each (`journey="create-shipment"`), so that a sample is checked against
/// the few selectors that can match it rather than every SLO on the same metric.
#[derive(Debug, Default)]
pub struct Watched {
    /// Bumped on every change, so that a target's first scrape after it takes series it has not
    /// seen as a baseline (a newly watched series is not a new one).
    pub generation: u64,
    pub slos: BTreeMap<Key, WatchedSlo>,
    by_metric: HashMap<String, MetricIndex>,
}

#[derive(Debug, Default)]
struct MetricIndex {
    /// Selectors without an equality matcher on a non-empty value.
    any: Vec<(Key, Role)>,
    /// label → value → selectors that require it.
    by_label: HashMap<String, HashMap<String, Vec<(Key, Role)>>>,
}

impl Watched {
    pub fn new(generation: u64, slos: BTreeMap<Key, WatchedSlo>) -> Watched {
        let mut by_metric: HashMap<String, MetricIndex> = HashMap::new();
        for (key, slo) in &slos {
            if let Ok((n, t)) = &slo.selectors {
                for (compiled, role) in [(n, Role::Numerator), (t, Role::Total)] {
                    let index = by_metric.entry(compiled.metric.clone()).or_default();
                    let pinned = compiled.tests.iter().find_map(|(label, test)| match test {
                        Test::Equal(v) if !v.is_empty() => Some((label, v)),
                        _ => None,
                    });
                    let entry = (key.clone(), role);
                    match pinned {
                        Some((label, value)) => index
                            .by_label
                            .entry(label.clone())
                            .or_default()
                            .entry(value.clone())
                            .or_default()
                            .push(entry),
                        None => index.any.push(entry),
                    }
                }
            }
        }
        Watched { generation, slos, by_metric }
    }

    /// The SLOs and roles a sample counts for.
    pub fn matches(&self, sample: &Sample) -> Vec<(&Key, Role)> {
        let Some(index) = self.by_metric.get(&sample.name) else { return Vec::new() };
        let pinned = sample
            .labels
            .iter()
            .filter_map(|(label, value)| index.by_label.get(label).and_then(|values| values.get(value)))
            .flatten();
        index
            .any
            .iter()
            .chain(pinned)
            .filter(|(key, role)| self.slos.get(key).and_then(|s| s.selector(*role)).is_some_and(|c| c.matches(sample)))
            .map(|(key, role)| (key, *role))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, labels: &[(&str, &str)]) -> Sample {
        Sample {
            name: name.into(),
            labels: labels.iter().map(|(l, v)| (l.to_string(), v.to_string())).collect(),
            value: 1.0,
        }
    }

    #[test]
    fn regex_matchers_are_anchored_and_absent_labels_are_empty() {
        let c = Compiled::new(&Selector::parse(r#"req_total{code=~"5..", env!="qa", zone=""}"#).unwrap()).unwrap();
        assert!(c.matches(&sample("req_total", &[("code", "503")])));
        assert!(!c.matches(&sample("req_total", &[("code", "5030")])));
        assert!(!c.matches(&sample("req_total", &[("code", "503"), ("env", "qa")])));
        assert!(!c.matches(&sample("req_total", &[("code", "503"), ("zone", "a")])));
        assert!(!c.matches(&sample("other_total", &[("code", "503")])));
        let not = Compiled::new(&Selector::parse(r#"req_total{code!~"2.."}"#).unwrap()).unwrap();
        assert!(not.matches(&sample("req_total", &[("code", "404")])));
        assert!(!not.matches(&sample("req_total", &[("code", "200")])));
    }

    #[test]
    fn the_index_finds_selectors_pinned_by_an_equality_and_those_that_are_not() {
        let ratio = |n: &str, t: &str| Sli::Ratio {
            counting: Counting::Bad,
            numerator: Selector::parse(n).unwrap(),
            total: Selector::parse(t).unwrap(),
        };
        let mut slos = BTreeMap::new();
        let key = |s: &str| Key::new("svc", s);
        slos.insert(
            key("a"),
            WatchedSlo::new(&ratio(r#"req_total{journey="a", code=~"5.."}"#, r#"req_total{journey="a"}"#)),
        );
        slos.insert(key("all"), WatchedSlo::new(&ratio(r#"req_total{code=~"5.."}"#, "req_total")));
        let w = Watched::new(1, slos);
        let found = |labels: &[(&str, &str)]| {
            let mut m: Vec<_> =
                w.matches(&sample("req_total", labels)).into_iter().map(|(k, r)| (k.slo.clone(), r)).collect();
            m.sort_by_key(|(k, r)| (k.clone(), *r == Role::Total));
            m
        };
        assert_eq!(
            found(&[("journey", "a"), ("code", "500")]),
            [
                ("a".into(), Role::Numerator),
                ("a".into(), Role::Total),
                ("all".into(), Role::Numerator),
                ("all".into(), Role::Total)
            ]
        );
        assert_eq!(found(&[("journey", "b"), ("code", "200")]), [("all".to_string(), Role::Total)]);
    }
}
