//! Checking SLIs: selectors against the metric catalogue (Kura's metric contract plus the
//! spec's own `metrics:` declarations), counters and histograms of the right kind, labels that
//! exist, and bucket bounds that are real buckets; `promql` queries parsed, and their selectors
//! checked the same way ([`crate::spec::promql`]).

use super::*;

impl Validator<'_> {
    pub(super) fn sli(&mut self, raw: &Spanned<RawSli>, catalogue: &Catalogue) -> Option<Sli> {
        match &**raw {
            RawSli::Ratio(r) => {
                let (counting, numerator) = self.ratio_numerator(r, raw.span())?;
                let numerator = self.counter_selector(numerator, catalogue);
                let total = self.counter_selector(&r.total, catalogue);
                Some(Sli::Ratio { counting, numerator: numerator?, total: total? })
            }
            RawSli::Latency(h) => {
                let (histogram, threshold) = self.histogram_sli(h, catalogue)?;
                Some(Sli::Latency { histogram, threshold })
            }
            RawSli::Freshness(h) => {
                let (histogram, threshold) = self.histogram_sli(h, catalogue)?;
                Some(Sli::Freshness { histogram, threshold })
            }
            RawSli::Promql(r) => {
                let (counting, numerator) = self.ratio_numerator(r, raw.span())?;
                for q in [numerator, &r.total] {
                    if !q.contains("{{.window}}") {
                        self.error(q, "a promql query must use `{{.window}}` as its range, e.g. rate(x[{{.window}}])");
                    }
                    self.promql(q, catalogue);
                }
                Some(Sli::Promql {
                    counting,
                    numerator: numerator.as_str().trim().to_string(),
                    total: r.total.as_str().trim().to_string(),
                })
            }
        }
    }

    /// A `promql` query parsed, and each selector's metric and labels checked like a
    /// structured SLI's (any series of a known family: counters, gauges, buckets).
    fn promql(&mut self, q: &Text, catalogue: &Catalogue) {
        let selectors = match crate::spec::promql::selectors(q.as_str()) {
            Ok(s) => s,
            Err(e) => {
                self.error_inside(q, e.offset, e.message);
                return;
            }
        };
        for s in selectors {
            let Some((family, series)) = catalogue.resolve(&s.metric) else {
                let hint =
                    catalogue.suggest(&s.metric).map(|x| format!("; did you mean `{x}`?")).unwrap_or_else(|| {
                        "; declare it under `metrics:` or pass a scrape with `slo lint --metrics FILE`".to_string()
                    });
                self.error_inside(q, s.offset, format!("unknown metric `{}`{hint}", s.metric));
                continue;
            };
            let allowed = crate::spec::promql::allowed_labels(&family.labels, series);
            for label in s.labels.iter().filter(|l| !allowed.contains(*l)) {
                let names: Vec<&str> = allowed.iter().map(String::as_str).collect();
                let offset = q.as_str()[s.offset..].find(label.as_str()).map_or(s.offset, |i| s.offset + i);
                self.error_inside(
                    q,
                    offset,
                    format!("unknown label `{label}` on `{}` (labels: {})", s.metric, names.join(", ")),
                );
            }
        }
    }

    pub(super) fn ratio_numerator<'r>(&mut self, r: &'r RawRatio, at: &Span) -> Option<(Counting, &'r Text)> {
        match (&r.good, &r.bad) {
            (Some(good), None) => Some((Counting::Good, good)),
            (None, Some(bad)) => Some((Counting::Bad, bad)),
            (Some(_), Some(bad)) => {
                self.error(bad, "give either `good` or `bad`, not both");
                None
            }
            (None, None) => {
                self.error_at(at, "a ratio needs `good` or `bad` over `total`");
                None
            }
        }
    }

    pub(super) fn selector(&mut self, raw: &Text) -> Option<Selector> {
        match Selector::parse(raw.as_str()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error_inside(raw, e.offset, format!("invalid selector: {e}"));
                None
            }
        }
    }

    /// A selector that must name a counter's `_total` or a histogram's `_count`.
    pub(super) fn counter_selector(&mut self, raw: &Text, catalogue: &Catalogue) -> Option<Selector> {
        let selector = self.selector(raw)?;
        match catalogue.resolve(&selector.metric) {
            Some((family, Series::CounterTotal | Series::HistogramCount)) => {
                self.labels(raw, &selector, &family.labels);
                Some(selector)
            }
            Some((family, series)) => {
                let hint = match family.kind {
                    MetricKind::Histogram => format!("use `{}_count`", family.name),
                    MetricKind::Counter => format!("use `{}_total`", family.name),
                    MetricKind::Gauge => "a gauge cannot count events".to_string(),
                };
                self.error(raw, format!("`{}` is a {series:?} series, not an event counter: {hint}", selector.metric));
                None
            }
            None => {
                self.unknown_metric(raw, &selector.metric, catalogue);
                None
            }
        }
    }

    pub(super) fn histogram_sli(
        &mut self,
        h: &RawHistogramSli,
        catalogue: &Catalogue,
    ) -> Option<(Selector, Threshold)> {
        let selector = self.selector(&h.histogram)?;
        let family = match catalogue.resolve(&selector.metric) {
            Some((family, Series::Histogram)) => family,
            Some((family, Series::HistogramBucket | Series::HistogramCount | Series::HistogramSum)) => {
                self.error(&h.histogram, format!("name the histogram itself: `{}`", family.name));
                return None;
            }
            Some((family, _)) => {
                self.error(&h.histogram, format!("`{}` is not a histogram", family.name));
                return None;
            }
            None => {
                self.unknown_metric(&h.histogram, &selector.metric, catalogue);
                return None;
            }
        };
        self.labels(&h.histogram, &selector, &family.labels);
        if selector.matchers.iter().any(|m| m.label == "le") {
            self.error(&h.histogram, "do not match `le`: the threshold picks the bucket");
        }
        let threshold = match Decimal::from_str(h.threshold.as_str().trim_end_matches('s')) {
            Ok(t) if t > Decimal::ZERO => t.normalize(),
            _ => {
                self.error(
                    &h.threshold,
                    format!("threshold `{}` is not a positive number of seconds", h.threshold.as_str()),
                );
                return None;
            }
        };
        if !family.buckets.contains(&threshold) {
            let bounds: Vec<String> = family.buckets.iter().map(|b| b.to_string()).collect();
            self.error(
                &h.threshold,
                format!(
                    "threshold {threshold} is not a bucket bound of `{}`, so it cannot be measured exactly (bounds: {})",
                    family.name,
                    bounds.join(", ")
                ),
            );
            return None;
        }
        Some((selector, Threshold { seconds: threshold }))
    }

    pub(super) fn labels(&mut self, raw: &Text, selector: &Selector, known: &BTreeSet<String>) {
        for m in &selector.matchers {
            if !known.contains(&m.label) && m.label != "le" {
                let offset = raw.as_str().find(&format!("{}{}", m.label, m.op.as_str())).unwrap_or(0);
                let names: Vec<&str> = known.iter().map(String::as_str).collect();
                self.error_inside(
                    raw,
                    offset,
                    format!("unknown label `{}` on `{}` (labels: {})", m.label, selector.metric, names.join(", ")),
                );
            }
        }
    }

    pub(super) fn unknown_metric(&mut self, raw: &Text, metric: &str, catalogue: &Catalogue) {
        let hint = catalogue.suggest(metric).map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| {
            "; declare it under `metrics:` or pass a scrape with `slo lint --metrics FILE`".to_string()
        });
        self.error(raw, format!("unknown metric `{metric}`{hint}"));
    }

    pub(super) fn metrics(
        &mut self,
        raw: Option<crate::spec::raw::Ordered<Text, crate::spec::raw::RawMetric>>,
    ) -> Vec<MetricDeclaration> {
        let Some(raw) = raw else { return Vec::new() };
        let mut out = Vec::new();
        for (name, m) in raw.0 {
            if Selector::parse(name.as_str()).map(|s| s.matchers.is_empty()).ok() != Some(true) {
                self.error(&name, format!("`{}` is not a metric name", name.as_str()));
                continue;
            }
            let kind = match m.kind.as_str() {
                "counter" => MetricKind::Counter,
                "gauge" => MetricKind::Gauge,
                "histogram" => MetricKind::Histogram,
                other => {
                    self.error(&m.kind, format!("unknown metric type `{other}` (counter, gauge or histogram)"));
                    continue;
                }
            };
            if kind == MetricKind::Counter && name.ends_with("_total") {
                self.error(&name, "declare a counter by its family name, without `_total`");
            }
            for l in &m.labels {
                if !is_label_name(l.as_str()) {
                    self.error(l, format!("`{}` is not a valid label name", l.as_str()));
                }
            }
            let buckets = m
                .buckets
                .iter()
                .filter_map(|b| {
                    let d = Decimal::from_str(b.as_str()).ok().filter(|d| *d > Decimal::ZERO);
                    if d.is_none() {
                        self.error(b, format!("bucket bound `{}` is not a positive number", b.as_str()));
                    }
                    d
                })
                .collect::<Vec<_>>();
            if kind != MetricKind::Histogram && !buckets.is_empty() {
                self.error(&m.kind, "only histograms have buckets");
            }
            out.push(MetricDeclaration {
                name: name.as_str().to_string(),
                kind,
                labels: m.labels.iter().map(|l| l.as_str().to_string()).collect(),
                buckets,
            });
        }
        out
    }
}
