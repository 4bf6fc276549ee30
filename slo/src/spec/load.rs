//! Loading and validating spec files: YAML → [`super::raw`] (with positions) → the
//! [`Spec`] model, collecting every problem as a [`Diagnostic`] instead of stopping at the
//! first, so that `slo lint` shows them all at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::SignedDuration;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use marked_yaml::{Marker, Node, Span, Spanned};
use rust_decimal::Decimal;

use super::catalogue::{Catalogue, MetricKind, Series};
use super::raw::{
    RawAlerting, RawBudgeting, RawComposite, RawHistogramSli, RawMaintenance, RawPolicy, RawRatio, RawSli, RawSlo,
    RawSpec, RawThresholds, Text,
};
use super::selector::Selector;
use super::{
    Alerting, Budgeting, Composite, CompositeComponent, Counting, Diagnostic, Diagnostics, ErrorBudgetPolicy,
    JourneySlos, Maintenance, MetricDeclaration, NamedTier, PolicyThresholds, Sli, Slo, Spec, Threshold,
};
use crate::math::{self, BurnTier, CalendarPeriod, Objective, Severity, Window};

/// The zone of calendar windows when a spec names none: Kura's business runs on Japan time.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Tokyo";

/// Loads one spec file, checked against Kura's metric contract.
pub fn load(path: &Path) -> Result<Spec, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| single(path, 1, 1, format!("cannot read: {e}")))?;
    load_str(path, &text)
}

/// Loads a spec from text; `path` is only used in messages.
pub fn load_str(path: &Path, text: &str) -> Result<Spec, Diagnostics> {
    load_str_with(path, text, &Catalogue::kura())
}

/// Loads a spec from text, checking SLIs against `catalogue` plus the spec's own `metrics:`.
pub fn load_str_with(path: &Path, text: &str, catalogue: &Catalogue) -> Result<Spec, Diagnostics> {
    let node = crate::yaml::parse(text, "a spec file is a mapping (`service:`, `journeys:`, ...)")
        .map_err(|e| single(path, e.at.line, e.at.column, e.message))?;
    let raw: RawSpec = marked_yaml::from_node(&node).map_err(|e| {
        // The error's own mark is often missing; the serde path leads to the node instead.
        let at = e.path().and_then(|p| locate(&node, p)).or_else(|| e.start_mark());
        let (line, column) = at.map_or((1, 1), |m| (m.line(), m.column()));
        single(path, line, column, lowercase_first(&e.clone_inner_message()))
    })?;
    let mut v = Validator { file: path.to_path_buf(), text, diagnostics: Diagnostics::default() };
    let spec = v.spec(raw, catalogue);
    if v.diagnostics.is_empty() {
        Ok(spec)
    } else {
        v.diagnostics.sort();
        Err(v.diagnostics)
    }
}

/// Loads every `.yaml`/`.yml` file under each path (files as given, directories recursively,
/// in name order), and checks that SLO ids are unique per service across files.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Spec>, Diagnostics> {
    load_paths_with(paths, &Catalogue::kura())
}

/// [`load_paths`] against a given catalogue.
pub fn load_paths_with(paths: &[PathBuf], catalogue: &Catalogue) -> Result<Vec<Spec>, Diagnostics> {
    let mut files = Vec::new();
    let mut diagnostics = Diagnostics::default();
    for path in paths {
        if let Err(e) = collect_files(path, &mut files) {
            diagnostics.push(Diagnostic {
                file: path.clone(),
                line: 1,
                column: 1,
                message: format!("cannot read: {e}"),
            });
        }
    }
    let mut specs = Vec::new();
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(text) => match load_str_with(file, &text, catalogue) {
                Ok(spec) => specs.push((spec, text)),
                Err(d) => diagnostics.extend(d),
            },
            Err(e) => diagnostics.push(Diagnostic { file: file.clone(), line: 1, column: 1, message: e.to_string() }),
        }
    }
    // An SLO id names one SLO of one service, whichever file it is in.
    let mut seen: HashMap<(String, String), PathBuf> = HashMap::new();
    for (spec, text) in &specs {
        for slo in spec.slos() {
            let key = (spec.service.clone(), slo.id.clone());
            match seen.get(&key) {
                Some(first) if first != &spec.source => {
                    let (line, column) = find(text, &format!("id: {}", slo.id));
                    diagnostics.push(Diagnostic {
                        file: spec.source.clone(),
                        line,
                        column,
                        message: format!(
                            "duplicate SLO id `{}` for service `{}` (also in {})",
                            slo.id,
                            spec.service,
                            first.display()
                        ),
                    });
                }
                _ => {
                    seen.insert(key, spec.source.clone());
                }
            }
        }
    }
    if diagnostics.is_empty() {
        Ok(specs.into_iter().map(|(s, _)| s).collect())
    } else {
        diagnostics.sort();
        Err(diagnostics)
    }
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let p = entry.path();
            let is_spec = p.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if p.is_dir() || is_spec {
                collect_files(&p, files)?;
            }
        }
        Ok(())
    } else {
        std::fs::metadata(path)?;
        files.push(path.to_path_buf());
        Ok(())
    }
}

/// 1-based line and column of the first occurrence of `needle` (or 1:1).
fn find(text: &str, needle: &str) -> (usize, usize) {
    text.find(needle).map_or((1, 1), |at| {
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    })
}

/// The position of the node a serde path (`journeys.hht-scan.slos[0].windwo`) leads to: the
/// key of the last mapping entry on the way, or the sequence item. A `?` segment (a key serde
/// could not name) tries every entry and keeps the one the rest of the path fits.
fn locate(node: &Node, path: &str) -> Option<Marker> {
    let segments: Vec<&str> = path.split('.').collect();
    locate_in(node, &segments, None)
}

fn locate_in(here: &Node, segments: &[&str], mark: Option<Marker>) -> Option<Marker> {
    let Some((segment, rest)) = segments.split_first() else { return mark };
    let (key, indexes) = segment.find('[').map_or((*segment, ""), |i| (&segment[..i], &segment[i..]));
    let follow = |mut node: &Node, mut mark: Option<Marker>| {
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            node = node.as_sequence()?.get(index.parse::<usize>().ok()?)?;
            mark = node.span().start().copied().or(mark);
        }
        locate_in(node, rest, mark)
    };
    if key.is_empty() {
        return follow(here, mark);
    }
    let mapping = here.as_mapping()?;
    mapping
        .iter()
        .filter(|(k, _)| key == "?" || k.as_str() == key)
        .find_map(|(k, v)| follow(v, k.span().start().copied()))
}

/// The error message without the serde path prefix (the position says where).
trait InnerMessage {
    fn clone_inner_message(&self) -> String;
}

impl InnerMessage for marked_yaml::FromNodeError {
    fn clone_inner_message(&self) -> String {
        let inner: &marked_yaml::Error = self;
        inner.to_string()
    }
}

fn single(path: &Path, line: usize, column: usize, message: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic { file: path.to_path_buf(), line, column, message }])
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

struct Validator<'a> {
    file: PathBuf,
    text: &'a str,
    diagnostics: Diagnostics,
}

impl Validator<'_> {
    fn error_at(&mut self, span: &Span, message: impl Into<String>) {
        let (line, column) = span.start().map_or((1, 1), |m| (m.line(), m.column()));
        self.diagnostics.push(Diagnostic { file: self.file.clone(), line, column, message: message.into() });
    }

    fn error(&mut self, at: &Text, message: impl Into<String>) {
        self.error_at(at.span(), message);
    }

    /// An error `offset` bytes into a scalar's text (a selector, say), allowing for quotes.
    fn error_inside(&mut self, at: &Text, offset: usize, message: impl Into<String>) {
        let (line, column) = at.span().start().map_or((1, 1), |m| (m.line(), m.column()));
        let quoted = self
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .and_then(|l| l.chars().nth(column.saturating_sub(1)))
            .is_some_and(|c| c == '"' || c == '\'');
        let prefix = at.as_str().get(..offset).map_or(offset, |p| p.chars().count());
        let column = column + prefix + usize::from(quoted);
        self.diagnostics.push(Diagnostic { file: self.file.clone(), line, column, message: message.into() });
    }

    fn spec(&mut self, raw: RawSpec, base: &Catalogue) -> Spec {
        self.name(&raw.service, "service name");
        let time_zone = match &raw.time_zone {
            Some(tz) => {
                if TimeZone::get(tz.as_str()).is_err() {
                    self.error(tz, format!("unknown time zone `{}` (an IANA name such as Asia/Tokyo)", tz.as_str()));
                }
                tz.as_str().to_string()
            }
            None => DEFAULT_TIME_ZONE.to_string(),
        };
        let zone = TimeZone::get(&time_zone).unwrap_or(TimeZone::UTC);
        let labels: BTreeMap<String, String> = raw
            .labels
            .map(|l| {
                l.0.into_iter()
                    .map(|(k, v)| {
                        if !is_label_name(k.as_str()) {
                            self.error(&k, format!("`{}` is not a valid label name", k.as_str()));
                        }
                        if matches!(
                            k.as_str(),
                            "slo" | "journey" | "service" | "severity" | "long_window" | "short_window"
                        ) {
                            self.error(&k, format!("label `{}` is set by Kura and cannot be overridden", k.as_str()));
                        }
                        (k.as_str().to_string(), v.as_str().to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(d) = &raw.dashboard
            && !(d.starts_with("http://") || d.starts_with("https://") || d.starts_with('/'))
        {
            self.error(
                d,
                "the dashboard link must be an http(s) URL or a path on the SLO controller such as \
                 `/slos/{service}/{slo}` (`{service}` and `{slo}` are replaced)",
            );
        }
        let policy = raw.error_budget_policy.map(|p| self.policy(p)).unwrap_or_default();
        let maintenance = raw.maintenance.into_iter().filter_map(|m| self.maintenance(m, &zone)).collect();
        let metrics = self.metrics(raw.metrics);
        let catalogue = base.with_declarations(&metrics);

        let mut journeys = Vec::new();
        let mut ids: HashMap<String, ()> = HashMap::new();
        if raw.journeys.0.is_empty() {
            let (line, column) = find(self.text, "journeys:");
            let message = "a spec declares at least one journey".to_string();
            self.diagnostics.push(Diagnostic { file: self.file.clone(), line, column, message });
        }
        for (name, journey) in raw.journeys.0 {
            self.name(&name, "journey name");
            if journey.slos.is_empty() {
                self.error(&name, format!("journey `{}` has no SLOs", name.as_str()));
            }
            let mut slos = Vec::new();
            for raw_slo in journey.slos {
                if ids.insert(raw_slo.id.as_str().to_string(), ()).is_some() {
                    self.error(&raw_slo.id, format!("duplicate SLO id `{}`", raw_slo.id.as_str()));
                }
                if let Some(slo) = self.slo(raw_slo, name.as_str(), &zone, &catalogue) {
                    slos.push(slo);
                }
            }
            let composite = journey.composite.and_then(|c| self.composite(c, &slos, &mut ids));
            journeys.push(JourneySlos {
                name: name.as_str().to_string(),
                description: journey.description.map(|d| d.as_str().to_string()).unwrap_or_default(),
                slos,
                composite,
            });
        }
        Spec {
            source: self.file.clone(),
            service: raw.service.as_str().to_string(),
            time_zone,
            labels,
            dashboard: raw.dashboard.map(|d| d.as_str().to_string()),
            external_url: crate::spec::DEFAULT_EXTERNAL_URL.to_owned(),
            policy,
            maintenance,
            metrics,
            journeys,
        }
    }

    /// Service, journey and SLO names: lowercase words joined by `-` (they become label values
    /// and rule names).
    fn name(&mut self, name: &Text, what: &str) {
        let ok = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !ok {
            self.error(name, format!("{what} `{}` must be lowercase letters, digits and `-`", name.as_str()));
        }
    }

    fn metrics(&mut self, raw: Option<super::raw::Ordered<Text, super::raw::RawMetric>>) -> Vec<MetricDeclaration> {
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

    fn slo(&mut self, raw: RawSlo, journey: &str, zone: &TimeZone, catalogue: &Catalogue) -> Option<Slo> {
        self.name(&raw.id, "SLO id");
        let objective = self.objective(&raw.objective);
        let window = self.window(&raw.window, zone);
        let budgeting = match raw.budgeting.as_deref() {
            None | Some(RawBudgeting::Occurrences) => Some(Budgeting::Occurrences),
            Some(RawBudgeting::Timeslices(t)) => {
                let slice = self.duration(&t.slice);
                let target = self.objective(&t.target);
                match (slice, target) {
                    (Some(slice), Some(target)) => {
                        if slice < SignedDuration::from_secs(10) || slice > SignedDuration::from_hours(1) {
                            self.error(&t.slice, "a time slice is between 10s and 1h");
                        }
                        Some(Budgeting::Timeslices { slice, target })
                    }
                    _ => None,
                }
            }
        };
        let sli = self.sli(&raw.sli, catalogue);
        let min_events_per_hour = raw.min_events_per_hour.as_ref().and_then(|m| {
            let d = Decimal::from_str(m.as_str()).ok().filter(|d| *d >= Decimal::ZERO);
            if d.is_none() {
                self.error(m, format!("min_events_per_hour `{}` is not a number ≥ 0", m.as_str()));
            }
            d
        });
        let window_len = window.as_ref().map(Window::nominal_length);
        let alerting = self.alerting(raw.alerting, window_len);
        if let (Some(Budgeting::Timeslices { .. }), Some(Sli::Promql { .. })) = (&budgeting, &sli) {
            // Fine: slices are evaluated from the same queries over the slice length.
        }
        Some(Slo {
            id: raw.id.as_str().to_string(),
            journey: journey.to_string(),
            description: raw.description.map(|d| d.as_str().to_string()).unwrap_or_default(),
            objective: objective?,
            window: window?,
            budgeting: budgeting?,
            sli: sli?,
            min_events_per_hour,
            alerting: alerting?,
        })
    }

    fn objective(&mut self, raw: &Text) -> Option<Objective> {
        match Objective::from_str(raw.as_str()) {
            Ok(o) => Some(o),
            Err(e) => {
                self.error(raw, format!("objective `{}`: {e}", raw.as_str()));
                None
            }
        }
    }

    fn duration(&mut self, raw: &Text) -> Option<SignedDuration> {
        match math::parse_duration(raw.as_str()) {
            Ok(d) if d > SignedDuration::ZERO => Some(d),
            Ok(_) => {
                self.error(raw, format!("duration `{}` must be positive", raw.as_str()));
                None
            }
            Err(e) => {
                self.error(raw, format!("`{}` is not a duration: {e}", raw.as_str()));
                None
            }
        }
    }

    fn window(&mut self, raw: &Text, zone: &TimeZone) -> Option<Window> {
        let period = match raw.as_str() {
            "week" => Some(CalendarPeriod::Week),
            "month" => Some(CalendarPeriod::Month),
            "quarter" => Some(CalendarPeriod::Quarter),
            _ => None,
        };
        if let Some(period) = period {
            return Some(Window::Calendar { period, time_zone: zone.clone() });
        }
        match math::parse_duration(raw.as_str()) {
            Ok(d) if d >= SignedDuration::from_hours(24) && d <= SignedDuration::from_hours(24 * 400) => {
                Some(Window::Rolling(d))
            }
            Ok(_) => {
                self.error(raw, format!("window `{}` must be between 1d and 400d", raw.as_str()));
                None
            }
            Err(e) => {
                self.error(
                    raw,
                    format!("window `{}` is neither a duration (28d) nor week|month|quarter: {e}", raw.as_str()),
                );
                None
            }
        }
    }

    fn sli(&mut self, raw: &Spanned<RawSli>, catalogue: &Catalogue) -> Option<Sli> {
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
                }
                Some(Sli::Promql {
                    counting,
                    numerator: numerator.as_str().trim().to_string(),
                    total: r.total.as_str().trim().to_string(),
                })
            }
        }
    }

    fn ratio_numerator<'r>(&mut self, r: &'r RawRatio, at: &Span) -> Option<(Counting, &'r Text)> {
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

    fn selector(&mut self, raw: &Text) -> Option<Selector> {
        match Selector::parse(raw.as_str()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error_inside(raw, e.offset, format!("invalid selector: {e}"));
                None
            }
        }
    }

    /// A selector that must name a counter's `_total` or a histogram's `_count`.
    fn counter_selector(&mut self, raw: &Text, catalogue: &Catalogue) -> Option<Selector> {
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

    fn histogram_sli(&mut self, h: &RawHistogramSli, catalogue: &Catalogue) -> Option<(Selector, Threshold)> {
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

    fn labels(&mut self, raw: &Text, selector: &Selector, known: &BTreeSet<String>) {
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

    fn unknown_metric(&mut self, raw: &Text, metric: &str, catalogue: &Catalogue) {
        let hint = catalogue.suggest(metric).map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| {
            "; declare it under `metrics:` or pass a scrape with `slo lint --metrics FILE`".to_string()
        });
        self.error(raw, format!("unknown metric `{metric}`{hint}"));
    }

    fn alerting(&mut self, raw: Option<RawAlerting>, window_len: Option<SignedDuration>) -> Option<Alerting> {
        let mut tiers: Vec<NamedTier> = window_len.map(crate::spec::default_tiers).unwrap_or_default();
        let Some(raw) = raw else { return Some(Alerting { tiers, no_data: None }) };
        let mut ok = true;
        for (name, over) in raw.tiers.map(|t| t.0).unwrap_or_default() {
            let existing = tiers.iter().position(|t| t.name == name.as_str());
            if over.enabled.as_ref().is_some_and(|e| !**e) {
                match existing {
                    Some(i) => {
                        tiers.remove(i);
                    }
                    None => self.error(
                        &name,
                        format!("unknown tier `{}` ({})", name.as_str(), math::DEFAULT_TIER_NAMES.join(", ")),
                    ),
                }
                continue;
            }
            let base = existing.map(|i| tiers[i].tier.clone());
            if base.is_none()
                && (over.severity.is_none()
                    || over.long_window.is_none()
                    || over.short_window.is_none()
                    || over.burn_rate.is_none())
            {
                self.error(
                    &name,
                    format!(
                        "tier `{}` is not one of {}: a new tier needs severity, long_window, short_window and burn_rate",
                        name.as_str(),
                        math::DEFAULT_TIER_NAMES.join(", ")
                    ),
                );
                ok = false;
                continue;
            }
            let severity = match &over.severity {
                None => base.as_ref().map(|b| b.severity),
                Some(text) => match text.as_str().parse::<Severity>() {
                    Ok(s) => Some(s),
                    Err(e) => {
                        self.error(text, e.to_string());
                        None
                    }
                },
            };
            let long = over.long_window.as_ref().map_or(base.as_ref().map(|b| b.long_window), |w| self.duration(w));
            let short = over.short_window.as_ref().map_or(base.as_ref().map(|b| b.short_window), |w| self.duration(w));
            let burn = match &over.burn_rate {
                None => base.as_ref().map(|b| b.burn_rate),
                Some(b) => {
                    let d = Decimal::from_str(b.as_str()).ok().filter(|d| *d > Decimal::ZERO);
                    if d.is_none() {
                        self.error(b, format!("burn_rate `{}` is not a positive number", b.as_str()));
                    }
                    d
                }
            };
            let (Some(severity), Some(long_window), Some(short_window), Some(burn_rate)) =
                (severity, long, short, burn)
            else {
                ok = false;
                continue;
            };
            if short_window >= long_window {
                self.error(&name, "the short window must be shorter than the long window");
                ok = false;
                continue;
            }
            let tier = BurnTier { severity, long_window, short_window, burn_rate };
            match existing {
                Some(i) => tiers[i].tier = tier,
                None => tiers.push(NamedTier { name: name.as_str().to_string(), tier }),
            }
        }
        let no_data = match &raw.no_data {
            None => None,
            Some(d) if d.as_str() == "disabled" => None,
            Some(d) => self.duration(d),
        };
        ok.then_some(Alerting { tiers, no_data })
    }

    fn composite(&mut self, raw: RawComposite, slos: &[Slo], ids: &mut HashMap<String, ()>) -> Option<Composite> {
        self.name(&raw.id, "composite id");
        if ids.insert(raw.id.as_str().to_string(), ()).is_some() {
            self.error(&raw.id, format!("duplicate SLO id `{}`", raw.id.as_str()));
        }
        let objective = self.objective(&raw.objective);
        if raw.components.is_empty() {
            self.error(&raw.id, "a composite needs at least one component");
        }
        let mut components = Vec::new();
        for c in raw.components {
            if !slos.iter().any(|s| s.id == c.slo.as_str()) {
                self.error(&c.slo, format!("`{}` is not an SLO of this journey", c.slo.as_str()));
            }
            let weight = match &c.weight {
                None => Decimal::ONE,
                Some(w) => match Decimal::from_str(w.as_str()) {
                    Ok(d) if d > Decimal::ZERO => d,
                    _ => {
                        self.error(w, format!("weight `{}` is not a positive number", w.as_str()));
                        Decimal::ONE
                    }
                },
            };
            components.push(CompositeComponent { slo: c.slo.as_str().to_string(), weight });
        }
        Some(Composite { id: raw.id.as_str().to_string(), objective: objective?, components })
    }

    fn policy(&mut self, raw: RawPolicy) -> ErrorBudgetPolicy {
        let defaults = ErrorBudgetPolicy::default();
        let reject = raw.reject.map_or(defaults.reject, |t| self.thresholds(t));
        let warn = raw.warn.map_or(defaults.warn, |t| self.thresholds(t));
        let exceptions = raw.exceptions.map_or(defaults.exceptions, |e| {
            e.iter()
                .map(|l| {
                    if l.is_empty() {
                        self.error(l, "an exception label cannot be empty");
                    }
                    l.as_str().to_string()
                })
                .collect()
        });
        ErrorBudgetPolicy { reject, warn, exceptions }
    }

    fn thresholds(&mut self, raw: RawThresholds) -> PolicyThresholds {
        let number = |v: &mut Self, t: &Option<Text>, what: &str, max: Option<Decimal>| {
            t.as_ref().and_then(|t| match Decimal::from_str(t.as_str()) {
                Ok(d) if d >= Decimal::ZERO && max.is_none_or(|m| d <= m) => Some(d),
                _ => {
                    v.error(t, format!("{what} `{}` is out of range", t.as_str()));
                    None
                }
            })
        };
        let budget_remaining_below =
            number(self, &raw.budget_remaining_below, "budget_remaining_below (percent)", Some(Decimal::ONE_HUNDRED));
        let burn_rate_above = number(self, &raw.burn_rate_above, "burn_rate_above", None);
        let burn_window =
            raw.burn_window.as_ref().and_then(|w| self.duration(w)).unwrap_or(SignedDuration::from_hours(1));
        PolicyThresholds { budget_remaining_below, burn_rate_above, burn_window }
    }

    fn maintenance(&mut self, raw: RawMaintenance, zone: &TimeZone) -> Option<Maintenance> {
        let name = raw.name.as_str().to_string();
        match (&raw.start, &raw.end, &raw.weekly) {
            (Some(start), Some(end), None) => {
                let s = self.timestamp(start, zone);
                let e = self.timestamp(end, zone);
                let (s, e) = (s?, e?);
                if e <= s {
                    self.error(end, "a maintenance window ends after it starts");
                    return None;
                }
                Some(Maintenance::Once { name, start: s, end: e })
            }
            (None, None, Some(w)) => {
                let weekday = match w.on.to_ascii_lowercase().as_str() {
                    "monday" => Some(Weekday::Monday),
                    "tuesday" => Some(Weekday::Tuesday),
                    "wednesday" => Some(Weekday::Wednesday),
                    "thursday" => Some(Weekday::Thursday),
                    "friday" => Some(Weekday::Friday),
                    "saturday" => Some(Weekday::Saturday),
                    "sunday" => Some(Weekday::Sunday),
                    _ => {
                        self.error(&w.on, format!("`{}` is not a day of the week", w.on.as_str()));
                        None
                    }
                };
                let start = match Time::strptime("%H:%M", w.at.as_str()) {
                    Ok(t) => Some(t),
                    Err(_) => {
                        self.error(&w.at, format!("`{}` is not a time of day (HH:MM)", w.at.as_str()));
                        None
                    }
                };
                let duration = self.duration(&w.duration);
                if duration.is_some_and(|d| d > SignedDuration::from_hours(24 * 7)) {
                    self.error(&w.duration, "a weekly window lasts less than a week");
                }
                Some(Maintenance::Weekly { name, weekday: weekday?, start: start?, duration: duration? })
            }
            _ => {
                self.error(&raw.name, "a maintenance window has either `start` and `end`, or `weekly`");
                None
            }
        }
    }

    /// RFC 3339 with an offset, or a civil date-time read in the spec's zone.
    fn timestamp(&mut self, raw: &Text, zone: &TimeZone) -> Option<jiff::Timestamp> {
        if let Ok(t) = raw.as_str().parse::<jiff::Timestamp>() {
            return Some(t);
        }
        match raw.as_str().parse::<jiff::civil::DateTime>().and_then(|dt| dt.to_zoned_datetime(zone.clone())) {
            Ok(z) => Some(z.timestamp()),
            Err(e) => {
                self.error(raw, format!("`{}` is not a date-time: {e}", raw.as_str()));
                None
            }
        }
    }
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !s.starts_with("__")
}
