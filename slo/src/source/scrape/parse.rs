//! The Prometheus text format (0.0.4) and OpenMetrics 1.0, as far as the scraper needs them:
//! each sample's series and value. Comments (`# HELP`, `# TYPE`, `# UNIT`) are skipped, `# EOF`
//! ends the exposition, and an exemplar (`… # {trace_id="…"} 1`) or a timestamp after the value
//! is dropped. OpenMetrics counters are exposed as `X_total` (what selectors name, as Prometheus
//! stores them) beside `X_created`, which no SLI selects and so is never kept. `le` and
//! `quantile` values are normalized to float text as Prometheus 3 stores them (`300` →
//! `300.0`), so one selector matches whichever form the exporter wrote. A line that does not
//! parse (a UTF-8 quoted name, say) is counted and skipped rather than failing the scrape.

use crate::spec::Selector;

/// One sample: its series (name and labels as exposed) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of `label`, empty when absent (as PromQL matchers see it).
    pub fn label(&self, label: &str) -> &str {
        self.labels.iter().find(|(l, _)| l == label).map_or("", |(_, v)| v.as_str())
    }
}

/// The samples of an exposition and how many lines were skipped as malformed.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub skipped: usize,
}

/// Parses an exposition in either format.
pub fn parse(text: &str) -> Exposition {
    let mut out = Exposition::default();
    for line in text.lines() {
        let line = line.trim();
        if line == "# EOF" {
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match sample(line) {
            Some(s) => out.samples.push(s),
            None => out.skipped += 1,
        }
    }
    out
}

fn sample(line: &str) -> Option<Sample> {
    let (series, end) = Selector::parse_prefix(line).ok()?;
    let rest = &line[end..];
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let value = value(rest.split_whitespace().next()?)?;
    let labels = series
        .matchers
        .into_iter()
        .map(|m| {
            let v = if m.label == "le" || m.label == "quantile" { float_text(&m.value) } else { m.value };
            (m.label, v)
        })
        .collect();
    Some(Sample { name: series.metric, labels, value })
}

fn value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

/// A bound as Prometheus 3 writes it: `300.0`, `0.25`, `+Inf`.
fn float_text(text: &str) -> String {
    match value(text) {
        Some(f) if f == f64::INFINITY => "+Inf".into(),
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.1}"),
        Some(f) if f.is_finite() => f.to_string(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_with_exemplars_created_and_eof_parses() {
        let text = "# TYPE req counter\nreq_total{code=\"200\"} 7 # {trace_id=\"abc\"} 1 1700000000.0\nreq_created{code=\"200\"} 1700000000.0\n# TYPE lat histogram\nlat_bucket{le=\"300\"} 3\nlat_bucket{le=\"0.25\",} 2 1700000000\n# EOF\nafter 1\n";
        let e = parse(text);
        assert_eq!(e.skipped, 0);
        assert_eq!(e.samples.len(), 4);
        assert_eq!((e.samples[0].name.as_str(), e.samples[0].value), ("req_total", 7.0));
        assert_eq!(e.samples[2].label("le"), "300.0");
        assert_eq!(e.samples[3].label("le"), "0.25");
        assert_eq!(e.samples[3].value, 2.0);
    }

    #[test]
    fn a_malformed_line_is_skipped_and_counted() {
        let e = parse("ok 1\n{\"utf8.name\"} 2\nbad{a=\"b\"}\n");
        assert_eq!((e.samples.len(), e.skipped), (1, 2));
    }
}
