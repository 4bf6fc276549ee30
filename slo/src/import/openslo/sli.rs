//! OpenSLO indicators (`SLI` documents, inline or by reference) and their metric sources,
//! read as Kura SLIs: structured ratios, latency and freshness histograms where the queries
//! allow, `promql` otherwise (see the mapping table in [`super`]).

#[allow(clippy::wildcard_imports)]
use super::*;

impl<'a> Importer<'a> {
    /// The SLO's indicator: inline, or the `SLI` document it refers to.
    pub(super) fn indicator_of(&self, doc: &Doc<'a>) -> R<Indicator<'a>> {
        let y = self.y();
        match (doc.spec.get("indicator"), doc.spec.str("indicatorRef").map_err(&y)?) {
            (Some(inline), None) => {
                let m = Map::of(inline, "`indicator`").map_err(&y)?;
                m.only(&["apiVersion", "kind", "metadata", "spec"]).map_err(&y)?;
                let (_, metadata) = self.metadata(m.required("metadata").map_err(&y)?, "SLI")?;
                let spec = Map::of(m.required("spec").map_err(&y)?, "`spec`").map_err(&y)?;
                self.indicator(metadata, spec)
            }
            (None, Some(r)) => match self.slis.get(r.as_str()) {
                Some(sli) => self.indicator(sli.metadata, sli.spec),
                None => Err(self.at(r, format!("no SLI named `{}` in the file", r.as_str()))),
            },
            (Some(_), Some(r)) => Err(self.at(r, "give `indicator` or `indicatorRef`, not both".into())),
            (None, None) => Err(error(
                self.file,
                doc.spec.at(),
                format!("SLO `{}` needs `indicator` or `indicatorRef`", doc.name.as_str()),
            )),
        }
    }

    pub(super) fn indicator(&self, metadata: Map<'a>, spec: Map<'a>) -> R<Indicator<'a>> {
        let y = self.y();
        spec.only(&["description", "ratioMetric", "thresholdMetric"]).map_err(&y)?;
        let kind = self.annotation(metadata, a::SLI)?.map(|k| (k.as_str(), At::of(k.span())));
        let description = spec.str("description").map_err(&y)?.map(|d| d.as_str().trim().to_string());
        let metric = match (
            spec.map("ratioMetric", "`ratioMetric`").map_err(&y)?,
            spec.map("thresholdMetric", "`thresholdMetric`").map_err(&y)?,
        ) {
            (Some(r), None) => {
                r.only(&["counter", "good", "bad", "total", "rawType", "raw"]).map_err(&y)?;
                let counter = r.bool("counter").map_err(&y)?;
                if let Some(raw) = r.get("raw") {
                    for key in ["good", "bad", "total"] {
                        if r.get(key).is_some() {
                            return Err(error(
                                self.file,
                                r.key_at(key),
                                "`raw` stands alone, without good, bad or total",
                            ));
                        }
                    }
                    let raw_type = r.required_str("rawType").map_err(&y)?;
                    let counting = match raw_type.as_str() {
                        "success" => Counting::Good,
                        "failure" => Counting::Bad,
                        other => return Err(self.at(raw_type, format!("rawType `{other}` is success or failure"))),
                    };
                    Metric::Raw { counting, query: self.source(raw)? }
                } else {
                    let (counting, numerator) = match (r.get("good"), r.get("bad")) {
                        (Some(g), None) => (Counting::Good, g),
                        (None, Some(b)) => (Counting::Bad, b),
                        (Some(_), Some(_)) => {
                            return Err(error(self.file, r.key_at("bad"), "give `good` or `bad`, not both"));
                        }
                        (None, None) => {
                            return Err(error(self.file, r.at(), "a ratioMetric needs `good` or `bad` over `total`"));
                        }
                    };
                    let total = r.required("total").map_err(&y)?;
                    Metric::Ratio { counter, counting, numerator: self.source(numerator)?, total: self.source(total)? }
                }
            }
            (None, Some(t)) => Metric::Threshold { query: self.source_of(t)? },
            (Some(_), Some(_)) => {
                return Err(error(
                    self.file,
                    spec.key_at("thresholdMetric"),
                    "give `ratioMetric` or `thresholdMetric`, not both",
                ));
            }
            (None, None) => return Err(error(self.file, spec.at(), "an SLI needs `ratioMetric` or `thresholdMetric`")),
        };
        Ok(Indicator { description, kind, metric })
    }

    /// `{metricSource: {...}}`.
    pub(super) fn source(&self, node: &'a Node) -> R<Query<'a>> {
        let m = Map::of(node, "a metric").map_err(self.y())?;
        m.only(&["metricSource"]).map_err(self.y())?;
        self.source_of(m)
    }

    /// A mapping holding `metricSource`.
    pub(super) fn source_of(&self, m: Map<'a>) -> R<Query<'a>> {
        let y = self.y();
        let s = Map::of(m.required("metricSource").map_err(&y)?, "`metricSource`").map_err(&y)?;
        s.only(&["metricSourceRef", "type", "spec"]).map_err(&y)?;
        let source_type = match (s.str("type").map_err(&y)?, s.str("metricSourceRef").map_err(&y)?) {
            (Some(t), _) => (t.as_str(), At::of(t.span())),
            (None, Some(r)) => match self.sources.get(r.as_str()) {
                Some(t) => (*t, At::of(r.span())),
                None => return Err(self.at(r, format!("no DataSource named `{}` in the file", r.as_str()))),
            },
            (None, None) => return Err(error(self.file, s.at(), "a metricSource needs `type` or `metricSourceRef`")),
        };
        if !source_type.0.eq_ignore_ascii_case("prometheus") {
            let what = format!("`metricSource.type: {}`", source_type.0);
            return Err(unsupported(self.file, source_type.1, what, "Kura reads SLIs from Prometheus only"));
        }
        let spec = Map::of(s.required("spec").map_err(&y)?, "`metricSource.spec`").map_err(&y)?;
        spec.only(&["query"]).map_err(&y)?;
        let q = spec.required_str("query").map_err(&y)?;
        Ok(Query { text: q.as_str(), at: At::of(q.span()) })
    }

    /// The Kura SLI for an indicator under one objective (which carries a threshold's op and value).
    pub(super) fn sli(&self, ind: &Indicator<'a>, o: Map<'a>) -> R<Sli> {
        let y = self.y();
        let op = o.str("op").map_err(&y)?;
        let value = o.str("value").map_err(&y)?;
        // OpenSLO v1 allows `op` on any objective; on a ratio it only restates that the good
        // share must reach the target, which the ratio's good/bad already says.
        if !matches!(ind.metric, Metric::Threshold { .. })
            && let Some(x) = value
        {
            return Err(
                self.at(x, "`value` applies only to a thresholdMetric (a ratio's objective is its `target`)".into())
            );
        }
        if !matches!(ind.metric, Metric::Threshold { .. })
            && let Some(op) = op
            && !matches!(op.as_str(), "lte" | "lt" | "gte" | "gt")
        {
            return Err(self.at(op, format!("op `{}` is lte, lt, gte or gt", op.as_str())));
        }
        match &ind.metric {
            Metric::Threshold { query } => {
                let (Some(op), Some(value)) = (op, value) else {
                    return Err(error(self.file, o.at(), "a thresholdMetric's objective needs `op` and `value`"));
                };
                let cmp = match op.as_str() {
                    "lte" => "<=",
                    "lt" => "<",
                    "gte" => ">=",
                    "gt" => ">",
                    other => return Err(self.at(op, format!("op `{other}` is lte, lt, gte or gt"))),
                };
                let v = Decimal::from_str(value.as_str())
                    .map_err(|_| self.at(value, format!("value `{}` is not a number", value.as_str())))?;
                let q = query.text.trim();
                Ok(Sli::Promql {
                    counting: Counting::Good,
                    numerator: format!("sum(count_over_time(({q} {cmp} {})[{WINDOW}:])) or vector(0)", v.normalize()),
                    total: format!("sum(count_over_time(({q})[{WINDOW}:]))"),
                })
            }
            Metric::Raw { counting, query } => {
                let q = self.windowed(query)?;
                Ok(Sli::Promql { counting: *counting, numerator: q.to_string(), total: format!("({q}) * 0 + 1") })
            }
            Metric::Ratio { counter, counting, numerator, total } => match ind.kind {
                Some((kind, at)) => self.kura_sli(kind, at, *counting, numerator, total),
                None => self.ratio(*counter, *counting, numerator, total),
            },
        }
    }

    /// A query that ranges over `{{.window}}` itself, trimmed.
    pub(super) fn windowed(&self, q: &Query<'a>) -> R<&'a str> {
        if q.text.contains(WINDOW) {
            Ok(q.text.trim())
        } else {
            let what = format!("the query `{}`", q.text.trim());
            let why = "it is PromQL without `{{.window}}`, so Kura cannot tell over which range to evaluate it \
                       (write `{{.window}}` where the range goes, e.g. `rate(x[{{.window}}])`)";
            Err(unsupported(self.file, q.at, what, why))
        }
    }

    /// An SLI that Kura exported (`kura.dev/sli`): read back exactly as that kind.
    pub(super) fn kura_sli(
        &self,
        kind: &str,
        at: At,
        counting: Counting,
        numerator: &Query<'a>,
        total: &Query<'a>,
    ) -> R<Sli> {
        let selector = |q: &Query<'a>| {
            Selector::parse(q.text.trim())
                .map_err(|e| error(self.file, q.at, format!("`{kind}` SLI: invalid selector: {e}")))
        };
        match kind {
            "ratio" => Ok(Sli::Ratio { counting, numerator: selector(numerator)?, total: selector(total)? }),
            "latency" | "freshness" => {
                let (good, all) = (selector(numerator)?, selector(total)?);
                let shape = (counting == Counting::Good).then(|| histogram_ratio(&good, &all)).flatten();
                let Some((histogram, seconds)) = shape else {
                    let message =
                        format!("a `{kind}` SLI is good `X_bucket{{..., le=\"T\"}}` over total `X_count{{...}}`");
                    return Err(error(self.file, numerator.at, message));
                };
                let threshold = Threshold { seconds };
                Ok(if kind == "latency" {
                    Sli::Latency { histogram, threshold }
                } else {
                    Sli::Freshness { histogram, threshold }
                })
            }
            "promql" => Ok(Sli::Promql {
                counting,
                numerator: numerator.text.trim().to_string(),
                total: total.text.trim().to_string(),
            }),
            other => {
                Err(error(self.file, at, format!("unknown SLI kind `{other}` (ratio, latency, freshness, promql)")))
            }
        }
    }

    /// A ratio from another tool (see the module table).
    pub(super) fn ratio(
        &self,
        counter: Option<bool>,
        counting: Counting,
        numerator: &Query<'a>,
        total: &Query<'a>,
    ) -> R<Sli> {
        if counter == Some(false) {
            let (n, t) = (self.windowed(numerator), self.windowed(total));
            return match (n, t) {
                (Ok(n), Ok(t)) => Ok(Sli::Promql { counting, numerator: n.to_string(), total: t.to_string() }),
                _ => {
                    let at = if numerator.text.contains(WINDOW) { total.at } else { numerator.at };
                    let why = "a ratio of values that go up and down (not counters) has no Kura equivalent unless the \
                               queries range over `{{.window}}`";
                    Err(unsupported(self.file, at, "`counter: false`", why))
                }
            };
        }
        let plain = |q: &Query<'a>| Selector::parse(q.text.trim()).ok();
        if let (Some(good), Some(all)) = (plain(numerator), plain(total))
            && counting == Counting::Good
            && let Some((histogram, seconds)) = histogram_ratio(&good, &all)
        {
            return Ok(Sli::Latency { histogram, threshold: Threshold { seconds } });
        }
        let structured = |q: &Query<'a>| {
            let s = counter_selector(q.text)?;
            (plain(q).is_some() || q.text.contains(WINDOW)).then_some(s)
        };
        if let (Some(n), Some(t)) = (structured(numerator), structured(total)) {
            return Ok(Sli::Ratio { counting, numerator: n, total: t });
        }
        let promql = |q: &Query<'a>| -> R<String> {
            match plain(q) {
                Some(s) => Ok(rate_query(&s.to_string())),
                None => self.windowed(q).map(str::to_string),
            }
        };
        Ok(Sli::Promql { counting, numerator: promql(numerator)?, total: promql(total)? })
    }
}
