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
    RawAlerting, RawBudgeting, RawComposite, RawGate, RawHistogramSli, RawMaintenance, RawPolicy, RawRatio, RawSli,
    RawSlo, RawSpec, RawThresholds, Text,
};
use super::selector::Selector;
use super::{
    Alerting, Budgeting, Composite, CompositeComponent, Counting, Diagnostic, Diagnostics, ErrorBudgetPolicy,
    GateEnvironment, GatePolicy, JourneySlos, Maintenance, MetricDeclaration, NamedTier, PolicyThresholds, Sli, Slo,
    Spec, Threshold,
};
use crate::math::{self, BurnTier, CalendarPeriod, Objective, Severity, Window};

mod alerting;
mod policy;
mod sli;

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
    let mut v =
        Validator { file: path.to_path_buf(), text, diagnostics: Diagnostics::default(), gate_refs: Vec::new() };
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
    /// Journeys (`true`) and SLOs the policy's gate names, checked once the journeys are read.
    gate_refs: Vec<(Text, bool)>,
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
        let labels = self.label_map(raw.labels);
        if let Some(d) = &raw.dashboard
            && !(d.starts_with("http://") || d.starts_with("https://") || d.starts_with('/'))
        {
            self.error(
                d,
                "the dashboard link must be an http(s) URL or a path on the SLO controller such as \
                 `/slos/{service}/{slo}` (`{service}` and `{slo}` are replaced)",
            );
        }
        let policy = raw.error_budget_policy.map(|p| self.policy(p, &zone)).unwrap_or_default();
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
        self.gate_references(&journeys);
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

    /// Labels of a service or an SLO: valid names, none of those Kura sets.
    fn label_map(&mut self, raw: Option<super::raw::Ordered<Text, Text>>) -> BTreeMap<String, String> {
        raw.map(|l| {
            l.0.into_iter()
                .map(|(k, v)| {
                    if !is_label_name(k.as_str()) {
                        self.error(&k, format!("`{}` is not a valid label name", k.as_str()));
                    }
                    if matches!(k.as_str(), "slo" | "journey" | "service" | "severity" | "long_window" | "short_window")
                    {
                        self.error(&k, format!("label `{}` is set by Kura and cannot be overridden", k.as_str()));
                    }
                    (k.as_str().to_string(), v.as_str().to_string())
                })
                .collect()
        })
        .unwrap_or_default()
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
        let labels = self.label_map(raw.labels);
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
            labels,
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
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !s.starts_with("__")
}
