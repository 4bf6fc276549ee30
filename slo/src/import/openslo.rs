//! OpenSLO v1 (<https://github.com/OpenSLO/OpenSLO>) imported as Kura specs: a multi-document
//! stream of `Service`, `SLO`, `SLI`, `AlertPolicy`, `AlertCondition`, `DataSource` and
//! `AlertNotificationTarget` documents becomes one spec per service. The `kura.dev/`
//! annotations written by [`crate::generate::openslo`] are read back, so Kura → OpenSLO → Kura
//! gives the same spec.
//!
//! | OpenSLO v1                                   | Kura                                             |
//! |----------------------------------------------|--------------------------------------------------|
//! | `apiVersion: openslo/v1`                     | required (`v1alpha`, `v2alpha` are refused)       |
//! | `Service` `metadata.name`; SLO `spec.service`| `service` (a service without a `Service` document |
//! |                                              | is fine)                                          |
//! | `Service` / SLO `metadata.labels`            | service `labels`, but `journey` on an SLO names   |
//! |                                              | its journey; Kura labels are per service, so the  |
//! |                                              | same key with two values is refused, and so is a  |
//! |                                              | label with several values                         |
//! | SLO journey                                  | `metadata.labels.journey`, else the               |
//! |                                              | `kura.dev/journey` annotation, else the service   |
//! | journey description                          | `kura.dev/journey-description`; for the journey   |
//! |                                              | named after the service, the `Service`'s          |
//! |                                              | `spec.description`                                |
//! | SLO `metadata.name`, `spec.description`      | SLO `id`, `description` (the SLI's description    |
//! |                                              | when the SLO has none)                            |
//! | `indicator` (inline) or `indicatorRef` → SLI | `sli`, see below                                  |
//! | `timeWindow` `{duration: 28d, isRolling}`    | `window: 28d` (m, h, d, w; `M`/`Q`/`Y` are not    |
//! |                                              | fixed lengths and are refused when rolling)       |
//! | `timeWindow` `{duration: 1M, calendar:       | `window: month` (`1Q` → `quarter`, `1w`/`7d` →    |
//! | {startTime, timeZone}}`                      | `week`) when `startTime` begins such a period at  |
//! |                                              | midnight (a 1st; a quarter's 1st; a Monday), else |
//! |                                              | refused; `timeZone` becomes the spec's zone, and  |
//! |                                              | calendars in two zones are refused                |
//! | `budgetingMethod: Occurrences`               | `occurrences`                                     |
//! | `budgetingMethod: Timeslices`                | `timeslices: { slice: timeSliceWindow, target:    |
//! |                                              | timeSliceTarget × 100 }` (a bare number of        |
//! |                                              | minutes is read as minutes)                       |
//! | `budgetingMethod: RatioTimeslices`           | refused: Kura's slices are good or bad, not       |
//! |                                              | averaged ratios                                   |
//! | `objectives[].target` / `targetPercent`      | `objective` (target × 100, exact)                 |
//! | several `objectives` (not composite)         | one SLO each, ids suffixed with the objective's   |
//! |                                              | `displayName` in slug form (or `-1`, `-2`, ...    |
//! |                                              | when names are missing or clash)                  |
//! | `objectives[]` with `indicator`/`indicatorRef`| the journey's `composite`: each objective names  |
//! | (a composite SLO)                            | one of the service's SLOs (by the indicator's     |
//! |                                              | name) with `compositeWeight`; its target, window  |
//! |                                              | and budgeting method must be that SLO's; the      |
//! |                                              | composite's own objective must be given in        |
//! |                                              | `kura.dev/composite-objective` (OpenSLO v1 has no |
//! |                                              | field for it), else refused                       |
//! | `ratioMetric` good/bad + total, plain        | `ratio` on the selectors (`counter` true or       |
//! | selectors on `_total`/`_count` series        | absent); `sum(rate(sel[{{.window}}]))` counts too |
//! | good `X_bucket{…, le="T"}` / total           | `latency: { histogram: X{…}, threshold: T }`      |
//! | `X_count{…}`                                 | (`freshness` when `kura.dev/sli` says so)         |
//! | queries using `{{.window}}`                  | `promql`, as written; a plain selector beside one |
//! |                                              | becomes `sum(rate(sel[{{.window}}]))`             |
//! | plain selectors on other series              | `promql` with `sum(rate(sel[{{.window}}]))`       |
//! | other PromQL without `{{.window}}`           | refused: Kura cannot tell over which range to     |
//! |                                              | count it (write `{{.window}}` where the range     |
//! |                                              | goes)                                             |
//! | `counter: false` without `{{.window}}`       | refused (a ratio of gauges)                       |
//! | `ratioMetric.raw` (Q) with `rawType`         | `promql: { bad|good: Q, total: (Q) * 0 + 1 }`     |
//! | `thresholdMetric` (Q) with objective `op`,   | `promql: { good: sum(count_over_time(((Q) op V)   |
//! | `value`                                      | [{{.window}}:])) or vector(0), total:             |
//! |                                              | sum(count_over_time((Q)[{{.window}}:])) }`: each  |
//! |                                              | sample of Q is an event, good when it meets the   |
//! |                                              | threshold (OpenSLO's occurrences over a raw metric)|
//! | `metricSource.type` (or its `DataSource`)    | must be `Prometheus`, else refused; `spec.query`  |
//! |                                              | is the only source field read                     |
//! | `DataSource` of type Prometheus              | not carried: Kura reads from the controller's     |
//! |                                              | `--prometheus` URL; other types are refused       |
//! | `alertPolicies[]` → `AlertPolicy` with one   | one burn-rate tier per policy: `severity` page or |
//! | `burnrate` condition                         | ticket, `threshold` → `burn_rate` (`op` gt or gte;|
//! |                                              | a burn rate exactly at the threshold is not told  |
//! |                                              | apart), `lookbackWindow` → `long_window`;         |
//! |                                              | `short_window` from `kura.dev/short-window`, else |
//! |                                              | long / 12 (the SRE Workbook's pairing: the alert  |
//! |                                              | also needs the burn to go on now, so it resolves  |
//! |                                              | once the burn stops); the tier's name from        |
//! |                                              | `kura.dev/tier`, else `fast-` / `slow-` + severity|
//! |                                              | by falling burn rate                              |
//! | `alertWhenBreaching: false`                  | the policy raises no burn alert: no tier          |
//! | `alertWhenNoData: true`                      | `alerting.no_data`: `kura.dev/no-data`, else the  |
//! |                                              | shortest such `lookbackWindow`                    |
//! | no `alertPolicies`                           | no tiers (the document asks for no alerts)        |
//! | `kura.dev/min-events-per-hour`               | `min_events_per_hour`                             |
//! | `kura.dev/time-zone`, `dashboard`,           | the spec's `time_zone`, `dashboard`,              |
//! | `error-budget-policy`, `maintenance`,        | `error_budget_policy`, `maintenance`, `metrics`   |
//! | `metrics` on the `Service`                   | (without `metrics`, structured SLIs on metrics    |
//! |                                              | outside Kura's contract are declared from use)    |
//!
//! Refused, naming the feature and its place: everything marked so above; an `AlertPolicy`
//! with several conditions (OpenSLO v1 allows one); a condition kind other than `burnrate`,
//! an `op` of `lt`/`lte`, a non-zero `alertAfter` (Kura tiers fire when both windows burn,
//! with no hold time), a severity other than page/ticket, more than two untitled conditions of
//! one severity; alert policies on a composite; an unknown `kura.dev/` annotation; and any
//! key this table does not list.
//!
//! Read and not carried, because they name, describe or route rather than measure:
//! `displayName`s, annotations outside `kura.dev/`, `alertWhenResolved`, `notificationTargets`
//! and `AlertNotificationTarget` documents (Kura routes alerts on their `severity`, `slo`,
//! `journey` and `service` labels), a condition's or policy's `description`.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use jiff::SignedDuration;
use jiff::tz::TimeZone;
use marked_yaml::Node;
use marked_yaml::types::MarkedScalarNode;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::ImportError;
use super::common::{SpecDraft, WINDOW, counter_selector, error, from_yaml, histogram_ratio, rate_query, unsupported};
use crate::generate::openslo::annotations as a;
use crate::math::{self, BurnTier, CalendarPeriod, Objective, Severity, Window};
use crate::spec::catalogue::MetricKind;
use crate::spec::{
    Alerting, Budgeting, Composite, CompositeComponent, Counting, ErrorBudgetPolicy, Maintenance, MetricDeclaration,
    NamedTier, PolicyThresholds, Selector, Sli, Slo, Spec, Threshold,
};
use crate::yaml::{self, At, Map, YamlError};

/// Every service of an OpenSLO v1 stream, as Kura specs, in the order they first appear.
pub fn import(path: &Path, text: &str) -> Result<Vec<Spec>, ImportError> {
    let docs = yaml::documents(text).map_err(from_yaml(path))?;
    if docs.is_empty() {
        return Err(error(path, At::START, "no OpenSLO document in the file"));
    }
    let mut importer = Importer::new(path);
    for doc in &docs {
        importer.document(&doc.root)?;
    }
    importer.specs()
}

type R<T> = Result<T, ImportError>;

/// A document's name and body.
struct Doc<'a> {
    name: &'a MarkedScalarNode,
    metadata: Map<'a>,
    spec: Map<'a>,
}

struct Importer<'a> {
    file: &'a Path,
    services: Vec<Doc<'a>>,
    slos: Vec<Doc<'a>>,
    slis: BTreeMap<&'a str, Doc<'a>>,
    policies: BTreeMap<&'a str, Doc<'a>>,
    conditions: BTreeMap<&'a str, Doc<'a>>,
    /// DataSource name → type (only Prometheus gets here).
    sources: BTreeMap<&'a str, &'a str>,
}

/// An SLO document read, before composites are resolved.
struct ReadSlo {
    slo: Slo,
    at: At,
    journey_description: Option<(String, At)>,
    calendar_zone: Option<(String, At)>,
}

/// A composite SLO document read: its components are checked once every SLO is known.
struct ReadComposite {
    id: String,
    at: At,
    journey: String,
    journey_description: Option<(String, At)>,
    objective: Objective,
    window: Window,
    budgeting: &'static str,
    components: Vec<ReadComponent>,
    calendar_zone: Option<(String, At)>,
}

struct ReadComponent {
    slo: String,
    at: At,
    weight: Decimal,
    target: Objective,
}

/// Where a metric comes from: its query and where it is written.
struct Query<'a> {
    text: &'a str,
    at: At,
}

enum Metric<'a> {
    Ratio { counter: Option<bool>, counting: Counting, numerator: Query<'a>, total: Query<'a> },
    Raw { counting: Counting, query: Query<'a> },
    Threshold { query: Query<'a> },
}

struct Indicator<'a> {
    description: Option<String>,
    kind: Option<(&'a str, At)>,
    metric: Metric<'a>,
}

impl<'a> Importer<'a> {
    fn y(&self) -> impl Fn(YamlError) -> ImportError + '_ {
        from_yaml(self.file)
    }

    fn new(file: &'a Path) -> Importer<'a> {
        Importer {
            file,
            services: Vec::new(),
            slos: Vec::new(),
            slis: BTreeMap::new(),
            policies: BTreeMap::new(),
            conditions: BTreeMap::new(),
            sources: BTreeMap::new(),
        }
    }

    fn document(&mut self, root: &'a Node) -> R<()> {
        let y = from_yaml(self.file);
        let root = Map::of(root, "an OpenSLO document").map_err(&y)?;
        let version = root.required_str("apiVersion").map_err(&y)?;
        if version.as_str() != "openslo/v1" {
            let what = format!("`apiVersion: {}`", version.as_str());
            return Err(unsupported(self.file, At::of(version.span()), what, "only `openslo/v1` documents are read"));
        }
        root.only(&["apiVersion", "kind", "metadata", "spec"]).map_err(&y)?;
        let kind = root.required_str("kind").map_err(&y)?;
        let (name, metadata) = self.metadata(root.required("metadata").map_err(&y)?, kind.as_str())?;
        let spec = match root.get("spec") {
            Some(s) => Map::of(s, "`spec`").map_err(&y)?,
            None => {
                return Err(error(self.file, root.at(), format!("{} `{}` needs `spec`", kind.as_str(), name.as_str())));
            }
        };
        let doc = Doc { name, metadata, spec };
        let duplicate =
            |what: &str| error(self.file, At::of(name.span()), format!("{what} `{}` is declared twice", name.as_str()));
        match kind.as_str() {
            "Service" => {
                if self.services.iter().any(|s| s.name.as_str() == name.as_str()) {
                    return Err(duplicate("Service"));
                }
                self.services.push(doc);
            }
            "SLO" => {
                if self.slos.iter().any(|s| s.name.as_str() == name.as_str()) {
                    return Err(duplicate("SLO"));
                }
                self.slos.push(doc);
            }
            "SLI" => {
                if self.slis.insert(name.as_str(), doc).is_some() {
                    return Err(duplicate("SLI"));
                }
            }
            "AlertPolicy" => {
                if self.policies.insert(name.as_str(), doc).is_some() {
                    return Err(duplicate("AlertPolicy"));
                }
            }
            "AlertCondition" => {
                if self.conditions.insert(name.as_str(), doc).is_some() {
                    return Err(duplicate("AlertCondition"));
                }
            }
            "DataSource" => {
                spec.only(&["description", "type", "connectionDetails"]).map_err(&y)?;
                let t = spec.required_str("type").map_err(&y)?;
                if !t.as_str().eq_ignore_ascii_case("prometheus") {
                    let what = format!("DataSource `{}` of type `{}`", name.as_str(), t.as_str());
                    return Err(unsupported(self.file, At::of(t.span()), what, "Kura reads SLIs from Prometheus only"));
                }
                if self.sources.insert(name.as_str(), t.as_str()).is_some() {
                    return Err(duplicate("DataSource"));
                }
            }
            // Where alerts go is Alertmanager's business in Kura (see the module doc).
            "AlertNotificationTarget" => {}
            other => {
                return Err(error(self.file, At::of(kind.span()), format!("unknown OpenSLO kind `{other}`")));
            }
        }
        Ok(())
    }

    /// `metadata`: its name and the mapping.
    fn metadata(&self, node: &'a Node, kind: &str) -> R<(&'a MarkedScalarNode, Map<'a>)> {
        let y = self.y();
        let m = Map::of(node, "`metadata`").map_err(&y)?;
        m.only(&["name", "displayName", "labels", "annotations"]).map_err(&y)?;
        let name = m.required_str("name").map_err(|e| error(self.file, e.at, format!("{kind}: {}", e.message)))?;
        for (k, _) in m.string_map("annotations").map_err(&y)? {
            if k.starts_with("kura.dev/") && !a::ALL.contains(&k.as_str()) {
                let known = a::ALL.join(", ");
                return Err(error(
                    self.file,
                    At::of(k.span()),
                    format!("unknown annotation `{}` (known: {known})", k.as_str()),
                ));
            }
        }
        Ok((name, m))
    }

    fn annotation(&self, metadata: Map<'a>, key: &str) -> R<Option<&'a MarkedScalarNode>> {
        let notes = metadata.string_map("annotations").map_err(self.y())?;
        Ok(notes.into_iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v))
    }

    /// `metadata.labels`, each with one value.
    fn labels(&self, metadata: Map<'a>) -> R<Vec<(&'a MarkedScalarNode, &'a MarkedScalarNode)>> {
        let y = self.y();
        let Some(node) = metadata.get("labels") else { return Ok(Vec::new()) };
        let m = Map::of(node, "`labels`").map_err(&y)?;
        let mut out = Vec::new();
        for (k, v) in m.node.iter() {
            let value = match v {
                Node::Scalar(s) => s,
                Node::Sequence(list) if list.len() == 1 => yaml::scalar(&list[0], k.as_str()).map_err(&y)?,
                _ => {
                    let what = format!("label `{}` with several values", k.as_str());
                    let why = "a Kura label has one value (it becomes a Prometheus label)";
                    return Err(unsupported(self.file, At::node(v), what, why));
                }
            };
            out.push((k, value));
        }
        Ok(out)
    }

    fn specs(&self) -> R<Vec<Spec>> {
        let y = self.y();
        let mut drafts: Vec<SpecDraft> = Vec::new();
        let mut descriptions: BTreeMap<String, String> = BTreeMap::new();
        let mut zones: BTreeMap<String, Option<(String, At)>> = BTreeMap::new();
        for service in &self.services {
            let mut draft = SpecDraft::new(service.name.as_str(), At::of(service.name.span()));
            service.spec.only(&["description"]).map_err(&y)?;
            if let Some(d) = service.spec.str("description").map_err(&y)? {
                descriptions.insert(draft.service.clone(), d.as_str().trim().to_string());
            }
            for (k, v) in self.labels(service.metadata)? {
                draft.label(self.file, At::of(k.span()), k.as_str(), v.as_str())?;
            }
            self.service_annotations(service.metadata, &mut draft, &mut zones)?;
            drafts.push(draft);
        }

        let mut composites: Vec<(String, ReadComposite)> = Vec::new();
        let mut read: Vec<(String, ReadSlo)> = Vec::new();
        for doc in &self.slos {
            doc.spec
                .only(&[
                    "description",
                    "service",
                    "indicator",
                    "indicatorRef",
                    "timeWindow",
                    "budgetingMethod",
                    "objectives",
                    "alertPolicies",
                ])
                .map_err(&y)?;
            let service = doc.spec.required_str("service").map_err(&y)?;
            if !drafts.iter().any(|d| d.service == service.as_str()) {
                drafts.push(SpecDraft::new(service.as_str(), At::of(service.span())));
            }
            let draft = drafts.iter_mut().find(|d| d.service == service.as_str()).ok_or_else(|| {
                error(self.file, At::of(service.span()), "internal: service draft missing") // unreachable by construction
            })?;
            let mut journey = None;
            for (k, v) in self.labels(doc.metadata)? {
                if k.as_str() == "journey" {
                    journey = Some(v.as_str().to_string());
                } else {
                    draft.label(self.file, At::of(k.span()), k.as_str(), v.as_str())?;
                }
            }
            if journey.is_none() {
                journey = self.annotation(doc.metadata, a::JOURNEY)?.map(|j| j.as_str().to_string());
            }
            let journey = journey.unwrap_or_else(|| service.as_str().to_string());
            let objectives = doc.spec.seq("objectives").map_err(&y)?.filter(|o| !o.is_empty()).ok_or_else(|| {
                error(self.file, doc.spec.at(), format!("SLO `{}` needs `objectives`", doc.name.as_str()))
            })?;
            let is_composite = objectives.iter().any(|o| {
                Map::of(o, "objective").is_ok_and(|m| m.get("indicator").is_some() || m.get("indicatorRef").is_some())
            });
            if is_composite {
                composites.push((service.as_str().to_string(), self.composite(doc, &journey)?));
            } else {
                for slo in self.slo(doc, &journey)? {
                    read.push((service.as_str().to_string(), slo));
                }
            }
        }

        let mut specs = Vec::new();
        for mut draft in drafts {
            let service = draft.service.clone();
            let service_zone = zones.remove(&service).flatten();
            let mut calendar_zone: Option<(String, At)> = None;
            let mut check_zone = |zone: &Option<(String, At)>| -> R<()> {
                let Some((z, at)) = zone else { return Ok(()) };
                match service_zone.as_ref().or(calendar_zone.as_ref()) {
                    Some((expected, _)) if expected != z => Err(error(
                        self.file,
                        *at,
                        format!(
                            "calendar time zone `{z}` differs from `{expected}`: a Kura spec has one zone for all its \
                             calendar windows"
                        ),
                    )),
                    Some(_) => Ok(()),
                    None => {
                        calendar_zone = Some((z.clone(), *at));
                        Ok(())
                    }
                }
            };
            for (_, r) in read.iter().filter(|(s, _)| *s == service) {
                check_zone(&r.calendar_zone)?;
            }
            for (_, c) in composites.iter().filter(|(s, _)| *s == service) {
                check_zone(&c.calendar_zone)?;
            }
            if draft.time_zone.is_none() {
                draft.time_zone = calendar_zone.map(|(z, _)| z);
            }
            for (_, r) in read.iter().filter(|(s, _)| *s == service) {
                let j = r.slo.journey.clone();
                self.journey_description(&mut draft, &j, &r.journey_description, &descriptions)?;
                draft.positions.insert(r.slo.id.clone(), r.at);
                draft.journey(&j).slos.push(r.slo.clone());
            }
            for (_, c) in composites.iter().filter(|(s, _)| *s == service) {
                self.journey_description(&mut draft, &c.journey, &c.journey_description, &descriptions)?;
                let composite = self.resolve_composite(&draft, c)?;
                draft.positions.insert(c.id.clone(), c.at);
                let journey = draft.journey(&c.journey);
                if journey.composite.is_some() {
                    let message =
                        format!("journey `{}` has a second composite `{}` (Kura has one per journey)", c.journey, c.id);
                    return Err(error(self.file, c.at, message));
                }
                journey.composite = Some(composite);
            }
            if draft.journeys.is_empty() {
                return Err(error(self.file, draft.at, format!("service `{service}` has no SLOs")));
            }
            specs.push(draft.finish(self.file)?);
        }
        Ok(specs)
    }

    fn journey_description(
        &self,
        draft: &mut SpecDraft,
        journey: &str,
        given: &Option<(String, At)>,
        service_descriptions: &BTreeMap<String, String>,
    ) -> R<()> {
        let fallback = (journey == draft.service).then(|| service_descriptions.get(journey).cloned()).flatten();
        let j = draft.journey(journey);
        match given {
            Some((d, at)) => {
                if !j.description.is_empty() && j.description != *d {
                    let message = format!("journey `{journey}` is described two ways: `{}` and `{d}`", j.description);
                    return Err(error(self.file, *at, message));
                }
                j.description = d.clone();
            }
            None => {
                if j.description.is_empty() {
                    j.description = fallback.unwrap_or_default();
                }
            }
        }
        Ok(())
    }

    fn service_annotations(
        &self,
        metadata: Map<'a>,
        draft: &mut SpecDraft,
        zones: &mut BTreeMap<String, Option<(String, At)>>,
    ) -> R<()> {
        if let Some(tz) = self.annotation(metadata, a::TIME_ZONE)? {
            if TimeZone::get(tz.as_str()).is_err() {
                return Err(error(self.file, At::of(tz.span()), format!("unknown time zone `{}`", tz.as_str())));
            }
            draft.time_zone = Some(tz.as_str().to_string());
            zones.insert(draft.service.clone(), Some((tz.as_str().to_string(), At::of(tz.span()))));
        }
        if let Some(d) = self.annotation(metadata, a::DASHBOARD)? {
            draft.dashboard = Some(d.as_str().to_string());
        }
        if let Some(p) = self.annotation(metadata, a::ERROR_BUDGET_POLICY)? {
            draft.policy = self.json::<JsonPolicy>(p)?.into_policy().map_err(|m| self.at(p, m))?;
        }
        if let Some(m) = self.annotation(metadata, a::MAINTENANCE)? {
            let zone = draft.time_zone.as_deref().and_then(|z| TimeZone::get(z).ok()).unwrap_or(TimeZone::UTC);
            let list = self.json::<Vec<JsonMaintenance>>(m)?;
            draft.maintenance = list
                .into_iter()
                .map(|w| w.into_maintenance(&zone))
                .collect::<Result<_, _>>()
                .map_err(|e| self.at(m, e))?;
        }
        if let Some(m) = self.annotation(metadata, a::METRICS)? {
            let list = self.json::<Vec<JsonMetric>>(m)?;
            draft.metrics = Some(
                list.into_iter()
                    .map(JsonMetric::into_declaration)
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.at(m, e))?,
            );
        }
        Ok(())
    }

    fn at(&self, node: &MarkedScalarNode, message: String) -> ImportError {
        error(self.file, At::of(node.span()), message)
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, node: &MarkedScalarNode) -> R<T> {
        serde_json::from_str(node.as_str()).map_err(|e| self.at(node, format!("invalid JSON in annotation: {e}")))
    }

    /// One Kura SLO per objective of an SLO document.
    fn slo(&self, doc: &Doc<'a>, journey: &str) -> R<Vec<ReadSlo>> {
        let y = self.y();
        let id = doc.name.as_str();
        let at = At::of(doc.name.span());
        let indicator = self.indicator_of(doc)?;
        let (window, calendar_zone) = self.window(doc.spec)?;
        let method = self.budgeting_method(doc.spec)?;
        let alerting = self.alerting(doc)?;
        let min_events_per_hour = match self.annotation(doc.metadata, a::MIN_EVENTS_PER_HOUR)? {
            None => None,
            Some(m) => Some(
                Decimal::from_str(m.as_str()).map_err(|_| self.at(m, format!("`{}` is not a number", m.as_str())))?,
            ),
        };
        let journey_description =
            self.annotation(doc.metadata, a::JOURNEY_DESCRIPTION)?.map(|d| (d.as_str().to_string(), At::of(d.span())));
        let description = doc
            .spec
            .str("description")
            .map_err(&y)?
            .map(|d| d.as_str().trim().to_string())
            .or_else(|| indicator.description.clone())
            .unwrap_or_default();

        let objectives =
            doc.spec.seq("objectives").map_err(&y)?.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default();
        let ids = objective_ids(id, &objectives);
        let mut out = Vec::new();
        for (node, slo_id) in objectives.into_iter().zip(ids) {
            let o = Map::of(node, "an objective").map_err(&y)?;
            o.only(&[
                "displayName",
                "op",
                "value",
                "target",
                "targetPercent",
                "timeSliceTarget",
                "timeSliceWindow",
                "indicator",
                "indicatorRef",
                "compositeWeight",
            ])
            .map_err(&y)?;
            if o.get("compositeWeight").is_some() {
                return Err(error(
                    self.file,
                    o.key_at("compositeWeight"),
                    "`compositeWeight` only weighs a composite's objectives",
                ));
            }
            let objective = self.target(o)?;
            let budgeting = self.budgeting(o, method)?;
            let sli = self.sli(&indicator, o)?;
            out.push(ReadSlo {
                slo: Slo {
                    id: slo_id,
                    journey: journey.to_string(),
                    description: description.clone(),
                    objective,
                    window: window.clone(),
                    budgeting,
                    sli,
                    min_events_per_hour,
                    alerting: alerting.clone(),
                },
                at,
                journey_description: journey_description.clone(),
                calendar_zone: calendar_zone.clone(),
            });
        }
        Ok(out)
    }

    fn composite(&self, doc: &Doc<'a>, journey: &str) -> R<ReadComposite> {
        let y = self.y();
        let at = At::of(doc.name.span());
        for key in ["indicator", "indicatorRef"] {
            if doc.spec.get(key).is_some() {
                let message = "a composite SLO's indicators belong in its objectives, not in `spec`";
                return Err(error(self.file, doc.spec.key_at(key), message));
            }
        }
        if doc.spec.get("alertPolicies").is_some() {
            let why = "Kura alerts on the component SLOs' burn, not on the composite's";
            return Err(unsupported(
                self.file,
                doc.spec.key_at("alertPolicies"),
                "alert policies on a composite SLO",
                why,
            ));
        }
        let objective = match self.annotation(doc.metadata, a::COMPOSITE_OBJECTIVE)? {
            Some(o) => {
                Objective::from_str(o.as_str()).map_err(|e| self.at(o, format!("objective `{}`: {e}", o.as_str())))?
            }
            None => {
                let what = format!("composite SLO `{}` without `{}`", doc.name.as_str(), a::COMPOSITE_OBJECTIVE);
                let why = "a Kura composite has an objective of its own, which OpenSLO v1 has no field for";
                return Err(unsupported(self.file, at, what, why));
            }
        };
        let (window, calendar_zone) = self.window(doc.spec)?;
        let method = self.budgeting_method(doc.spec)?;
        let mut components = Vec::new();
        for node in doc.spec.seq("objectives").map_err(&y)?.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default() {
            let o = Map::of(node, "an objective").map_err(&y)?;
            o.only(&[
                "displayName",
                "target",
                "targetPercent",
                "timeSliceTarget",
                "timeSliceWindow",
                "indicator",
                "indicatorRef",
                "compositeWeight",
            ])
            .map_err(&y)?;
            let (slo, slo_at) = match (o.get("indicator"), o.str("indicatorRef").map_err(&y)?) {
                (Some(inline), None) => {
                    let m = Map::of(inline, "`indicator`").map_err(&y)?;
                    let name = Map::of(m.required("metadata").map_err(&y)?, "`metadata`")
                        .map_err(&y)?
                        .required_str("name")
                        .map_err(&y)?;
                    (name.as_str().to_string(), At::of(name.span()))
                }
                (None, Some(r)) => (r.as_str().to_string(), At::of(r.span())),
                _ => {
                    let message = "each objective of a composite SLO has either `indicator` or `indicatorRef`";
                    return Err(error(self.file, o.at(), message));
                }
            };
            let weight = match o.str("compositeWeight").map_err(&y)? {
                None => Decimal::ONE,
                Some(w) => Decimal::from_str(w.as_str())
                    .ok()
                    .filter(|d| *d > Decimal::ZERO)
                    .ok_or_else(|| self.at(w, format!("compositeWeight `{}` is not a positive number", w.as_str())))?,
            };
            let target = self.target(o)?;
            self.budgeting(o, method)?;
            components.push(ReadComponent { slo, at: slo_at, weight, target });
        }
        Ok(ReadComposite {
            id: doc.name.as_str().to_string(),
            at,
            journey: journey.to_string(),
            journey_description: self
                .annotation(doc.metadata, a::JOURNEY_DESCRIPTION)?
                .map(|d| (d.as_str().to_string(), At::of(d.span()))),
            objective,
            window,
            budgeting: method.0,
            components,
            calendar_zone,
        })
    }

    fn resolve_composite(&self, draft: &SpecDraft, c: &ReadComposite) -> R<Composite> {
        let mut components = Vec::new();
        for k in &c.components {
            let slo = draft.journeys.iter().flat_map(|j| j.slos.iter()).find(|s| s.id == k.slo).ok_or_else(|| {
                let message = format!(
                    "composite `{}` names `{}`, which is not an SLO of service `{}` (a Kura composite combines \
                     the journey's own SLOs)",
                    c.id, k.slo, draft.service
                );
                error(self.file, k.at, message)
            })?;
            let differs = |what: &str, ours: String, theirs: String| {
                let message =
                    format!("composite `{}` gives `{}` {what} {theirs}, but the SLO itself has {ours}", c.id, k.slo);
                Err(error(self.file, k.at, message))
            };
            if slo.objective != k.target {
                return differs("the objective", slo.objective.to_string(), k.target.to_string());
            }
            if slo.window != c.window {
                return differs("the window", slo.window.to_string(), c.window.to_string());
            }
            let method = match slo.budgeting {
                Budgeting::Occurrences => "Occurrences",
                Budgeting::Timeslices { .. } => "Timeslices",
            };
            if method != c.budgeting {
                return differs("budgeting method", method.to_string(), c.budgeting.to_string());
            }
            components.push(CompositeComponent { slo: k.slo.clone(), weight: k.weight });
        }
        Ok(Composite { id: c.id.clone(), objective: c.objective, components })
    }

    /// `target` or `targetPercent` as a percent objective.
    fn target(&self, o: Map<'a>) -> R<Objective> {
        let y = self.y();
        let percent = match (o.str("target").map_err(&y)?, o.str("targetPercent").map_err(&y)?) {
            (Some(t), None) => {
                let d = Decimal::from_str(t.as_str())
                    .map_err(|_| self.at(t, format!("target `{}` is not a number", t.as_str())))?;
                (d * Decimal::ONE_HUNDRED).normalize().to_string()
            }
            (None, Some(p)) => p.as_str().to_string(),
            (Some(_), Some(p)) => return Err(self.at(p, "give `target` or `targetPercent`, not both".into())),
            (None, None) => return Err(error(self.file, o.at(), "an objective needs `target` or `targetPercent`")),
        };
        let at = o.key_at(if o.get("target").is_some() { "target" } else { "targetPercent" });
        Objective::from_str(&percent).map_err(|e| error(self.file, at, format!("objective {percent}%: {e}")))
    }

    /// `budgetingMethod`, and where it is written.
    fn budgeting_method(&self, spec: Map<'a>) -> R<(&'static str, At)> {
        let m = spec.required_str("budgetingMethod").map_err(self.y())?;
        let at = At::of(m.span());
        match m.as_str() {
            "Occurrences" => Ok(("Occurrences", at)),
            "Timeslices" => Ok(("Timeslices", at)),
            "RatioTimeslices" => Err(unsupported(
                self.file,
                at,
                "`budgetingMethod: RatioTimeslices`",
                "Kura's time slices are good or bad (`Timeslices`), not averaged ratios",
            )),
            other => Err(error(self.file, at, format!("unknown budgetingMethod `{other}` (Occurrences, Timeslices)"))),
        }
    }

    fn budgeting(&self, o: Map<'a>, (method, _): (&'static str, At)) -> R<Budgeting> {
        let y = self.y();
        let target = o.str("timeSliceTarget").map_err(&y)?;
        let window = o.str("timeSliceWindow").map_err(&y)?;
        match method {
            "Timeslices" => {
                let (Some(target), Some(window)) = (target, window) else {
                    let message =
                        "`budgetingMethod: Timeslices` needs `timeSliceTarget` and `timeSliceWindow` on each objective";
                    return Err(error(self.file, o.at(), message));
                };
                let fraction = Decimal::from_str(target.as_str())
                    .ok()
                    .filter(|d| *d > Decimal::ZERO && *d <= Decimal::ONE)
                    .ok_or_else(|| {
                        self.at(target, format!("timeSliceTarget `{}` is not in (0, 1]", target.as_str()))
                    })?;
                let percent = (fraction * Decimal::ONE_HUNDRED).normalize().to_string();
                let target = Objective::from_str(&percent)
                    .map_err(|e| self.at(target, format!("timeSliceTarget {percent}%: {e}")))?;
                let slice = match Decimal::from_str(window.as_str()) {
                    // A bare number is minutes (OpenSLO's `timeSliceWindow` note).
                    Ok(minutes) => {
                        let nanos = minutes * Decimal::from(60_000_000_000_i64);
                        let nanos = i64::try_from(nanos.trunc()).ok().filter(|_| nanos.fract().is_zero());
                        nanos.map(SignedDuration::from_nanos).ok_or_else(|| {
                            self.at(
                                window,
                                format!("timeSliceWindow `{}` is not a whole number of nanoseconds", window.as_str()),
                            )
                        })?
                    }
                    Err(_) => self.shorthand(window)?,
                };
                Ok(Budgeting::Timeslices { slice, target })
            }
            _ => {
                if let Some(t) = target.or(window) {
                    let message = format!("`{}` applies only to `budgetingMethod: Timeslices`", t.as_str());
                    return Err(error(self.file, At::of(t.span()), message));
                }
                Ok(Budgeting::Occurrences)
            }
        }
    }

    /// OpenSLO's duration shorthand with a fixed length: `5m`, `1h`, `28d`, `4w`.
    fn shorthand(&self, node: &MarkedScalarNode) -> R<SignedDuration> {
        let s = node.as_str();
        let (n, unit) = s.split_at(s.len().saturating_sub(1));
        let n: i64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            self.at(node, format!("`{s}` is not an OpenSLO duration (a whole number and m, h, d, w, M, Q or Y)"))
        })?;
        let hours = match unit {
            "m" => return Ok(SignedDuration::from_mins(n)),
            "h" => n,
            "d" => 24 * n,
            "w" => 24 * 7 * n,
            "M" | "Q" | "Y" => {
                let why = "months, quarters and years have no fixed length; use a calendar window or days";
                return Err(unsupported(self.file, At::of(node.span()), format!("the rolling duration `{s}`"), why));
            }
            _ => return Err(self.at(node, format!("`{s}` is not an OpenSLO duration (m, h, d, w, M, Q or Y)"))),
        };
        Ok(SignedDuration::from_hours(hours))
    }

    fn window(&self, spec: Map<'a>) -> R<(Window, Option<(String, At)>)> {
        let y = self.y();
        let list = spec
            .seq("timeWindow")
            .map_err(&y)?
            .ok_or_else(|| error(self.file, spec.at(), "an SLO needs `timeWindow` (Kura has no default window)"))?;
        if list.len() != 1 {
            return Err(error(self.file, At::of(list.span()), "`timeWindow` has exactly one item"));
        }
        let w = Map::of(&list[0], "a time window").map_err(&y)?;
        w.only(&["duration", "isRolling", "calendar"]).map_err(&y)?;
        let duration = w.required_str("duration").map_err(&y)?;
        let calendar = w.map("calendar", "`calendar`").map_err(&y)?;
        let rolling = w.bool("isRolling").map_err(&y)?.unwrap_or(calendar.is_none());
        match (rolling, calendar) {
            (true, Some(_)) => Err(error(self.file, w.key_at("calendar"), "a rolling window has no `calendar`")),
            (false, None) => Err(error(self.file, w.at(), "a window that is not rolling needs `calendar`")),
            (true, None) => Ok((Window::Rolling(self.shorthand(duration)?), None)),
            (false, Some(c)) => {
                c.only(&["startTime", "timeZone"]).map_err(&y)?;
                let start = c.required_str("startTime").map_err(&y)?;
                let tz = c.required_str("timeZone").map_err(&y)?;
                let zone = TimeZone::get(tz.as_str())
                    .map_err(|_| self.at(tz, format!("unknown time zone `{}` (an IANA name)", tz.as_str())))?;
                let start_time = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", start.as_str())
                    .or_else(|_| start.as_str().parse::<jiff::civil::DateTime>())
                    .map_err(|e| {
                        self.at(start, format!("startTime `{}` is not a date and time: {e}", start.as_str()))
                    })?;
                let midnight = start_time.time() == jiff::civil::Time::midnight();
                let first = start_time.day() == 1;
                let period = match duration.as_str() {
                    "1M" if midnight && first => Some(CalendarPeriod::Month),
                    "1Q" | "3M" if midnight && first && [1, 4, 7, 10].contains(&start_time.month()) => {
                        Some(CalendarPeriod::Quarter)
                    }
                    "1w" | "7d" if midnight && start_time.weekday() == jiff::civil::Weekday::Monday => {
                        Some(CalendarPeriod::Week)
                    }
                    _ => None,
                };
                let Some(period) = period else {
                    let what = format!("the calendar window `{}` from {}", duration.as_str(), start.as_str());
                    let why = "Kura's calendar windows are months (1M from a 1st), quarters (1Q from 1 Jan/Apr/Jul/Oct) \
                               and weeks (1w from a Monday), each from midnight";
                    return Err(unsupported(self.file, At::of(duration.span()), what, why));
                };
                let zone_name = (tz.as_str().to_string(), At::of(tz.span()));
                Ok((Window::Calendar { period, time_zone: zone }, Some(zone_name)))
            }
        }
    }

    /// The SLO's indicator: inline, or the `SLI` document it refers to.
    fn indicator_of(&self, doc: &Doc<'a>) -> R<Indicator<'a>> {
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

    fn indicator(&self, metadata: Map<'a>, spec: Map<'a>) -> R<Indicator<'a>> {
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
    fn source(&self, node: &'a Node) -> R<Query<'a>> {
        let m = Map::of(node, "a metric").map_err(self.y())?;
        m.only(&["metricSource"]).map_err(self.y())?;
        self.source_of(m)
    }

    /// A mapping holding `metricSource`.
    fn source_of(&self, m: Map<'a>) -> R<Query<'a>> {
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
    fn sli(&self, ind: &Indicator<'a>, o: Map<'a>) -> R<Sli> {
        let y = self.y();
        let op = o.str("op").map_err(&y)?;
        let value = o.str("value").map_err(&y)?;
        if !matches!(ind.metric, Metric::Threshold { .. })
            && let Some(x) = op.or(value)
        {
            return Err(self.at(x, "`op` and `value` apply only to a thresholdMetric".into()));
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
    fn windowed(&self, q: &Query<'a>) -> R<&'a str> {
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
    fn kura_sli(&self, kind: &str, at: At, counting: Counting, numerator: &Query<'a>, total: &Query<'a>) -> R<Sli> {
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
    fn ratio(&self, counter: Option<bool>, counting: Counting, numerator: &Query<'a>, total: &Query<'a>) -> R<Sli> {
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

    /// The SLO's burn-rate tiers and no-data alert, from its alert policies.
    fn alerting(&self, doc: &Doc<'a>) -> R<Alerting> {
        let y = self.y();
        let mut tiers: Vec<(Option<String>, BurnTier, At)> = Vec::new();
        let mut no_data: Option<SignedDuration> = None;
        for node in doc.spec.seq("alertPolicies").map_err(&y)?.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default()
        {
            let item = Map::of(node, "an alert policy").map_err(&y)?;
            let (policy_name, policy) = match item.str("alertPolicyRef").map_err(&y)? {
                Some(r) => {
                    item.only(&["alertPolicyRef"]).map_err(&y)?;
                    let p = self
                        .policies
                        .get(r.as_str())
                        .ok_or_else(|| self.at(r, format!("no AlertPolicy named `{}` in the file", r.as_str())))?;
                    (p.name, p.spec)
                }
                None => {
                    item.only(&["apiVersion", "kind", "metadata", "spec"]).map_err(&y)?;
                    let (name, _) = self.metadata(item.required("metadata").map_err(&y)?, "AlertPolicy")?;
                    (name, Map::of(item.required("spec").map_err(&y)?, "`spec`").map_err(&y)?)
                }
            };
            policy
                .only(&[
                    "description",
                    "alertWhenNoData",
                    "alertWhenResolved",
                    "alertWhenBreaching",
                    "conditions",
                    "notificationTargets",
                ])
                .map_err(&y)?;
            let conditions =
                policy.seq("conditions").map_err(&y)?.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default();
            if conditions.len() != 1 {
                let what = format!("AlertPolicy `{}` with {} conditions", policy_name.as_str(), conditions.len());
                let why = "OpenSLO v1 gives a policy exactly one condition, which becomes one Kura tier";
                return Err(unsupported(self.file, policy.key_at("conditions"), what, why));
            }
            let (tier_name, tier, at) = self.condition(conditions[0])?;
            if policy.bool("alertWhenNoData").map_err(&y)? == Some(true) {
                no_data = Some(no_data.map_or(tier.long_window, |d| d.min(tier.long_window)));
            }
            if policy.bool("alertWhenBreaching").map_err(&y)? != Some(false) {
                tiers.push((tier_name, tier, at));
            }
        }
        if let Some(d) = self.annotation(doc.metadata, a::NO_DATA)? {
            no_data = match d.as_str() {
                "disabled" => None,
                text => Some(
                    math::parse_duration(text).map_err(|e| self.at(d, format!("`{text}` is not a duration: {e}")))?,
                ),
            };
        }
        Ok(Alerting { tiers: self.name_tiers(tiers)?, no_data })
    }

    /// One condition (inline or by reference): the tier it makes, and its name if given.
    fn condition(&self, node: &'a Node) -> R<(Option<String>, BurnTier, At)> {
        let y = self.y();
        let item = Map::of(node, "a condition").map_err(&y)?;
        let (name, metadata, spec) = match item.str("conditionRef").map_err(&y)? {
            Some(r) => {
                item.only(&["conditionRef"]).map_err(&y)?;
                let c = self
                    .conditions
                    .get(r.as_str())
                    .ok_or_else(|| self.at(r, format!("no AlertCondition named `{}` in the file", r.as_str())))?;
                (c.name, c.metadata, c.spec)
            }
            None => {
                item.only(&["apiVersion", "kind", "metadata", "spec"]).map_err(&y)?;
                let (name, metadata) = self.metadata(item.required("metadata").map_err(&y)?, "AlertCondition")?;
                (name, metadata, Map::of(item.required("spec").map_err(&y)?, "`spec`").map_err(&y)?)
            }
        };
        let at = At::of(name.span());
        spec.only(&["description", "severity", "condition"]).map_err(&y)?;
        let severity = spec.required_str("severity").map_err(&y)?;
        let severity = match severity.as_str().to_ascii_lowercase().parse::<Severity>() {
            Ok(s) => s,
            Err(e) => {
                let what = format!("severity `{}`", e.0);
                return Err(unsupported(self.file, At::of(severity.span()), what, "Kura tiers page or ticket"));
            }
        };
        let c = Map::of(spec.required("condition").map_err(&y)?, "`condition`").map_err(&y)?;
        c.only(&["kind", "op", "threshold", "lookbackWindow", "alertAfter"]).map_err(&y)?;
        if let Some(kind) = c.str("kind").map_err(&y)?
            && kind.as_str() != "burnrate"
        {
            let what = format!("condition kind `{}`", kind.as_str());
            return Err(unsupported(self.file, At::of(kind.span()), what, "Kura alerts on burn rate (`burnrate`)"));
        }
        let op = c.required_str("op").map_err(&y)?;
        if !matches!(op.as_str(), "gt" | "gte") {
            let what = format!("`op: {}` on a burn rate", op.as_str());
            return Err(unsupported(
                self.file,
                At::of(op.span()),
                what,
                "a Kura tier fires when the burn rate is above its threshold (gt)",
            ));
        }
        let threshold = c.required_str("threshold").map_err(&y)?;
        let burn_rate = Decimal::from_str(threshold.as_str()).ok().filter(|d| *d > Decimal::ZERO).ok_or_else(|| {
            self.at(threshold, format!("threshold `{}` is not a positive burn rate", threshold.as_str()))
        })?;
        let long_window = self.shorthand(c.required_str("lookbackWindow").map_err(&y)?)?;
        if let Some(after) = c.str("alertAfter").map_err(&y)?
            && !matches!(after.as_str(), "0" | "0m" | "0s" | "0h")
        {
            let what = format!("`alertAfter: {}`", after.as_str());
            let why = "a Kura tier fires as soon as both its windows burn, with no hold time";
            return Err(unsupported(self.file, At::of(after.span()), what, why));
        }
        let short_window = match self.annotation(metadata, a::SHORT_WINDOW)? {
            Some(s) => math::parse_duration(s.as_str())
                .map_err(|e| self.at(s, format!("`{}` is not a duration: {e}", s.as_str())))?,
            // The SRE Workbook pairs each long window with one 1/12 as long.
            None => long_window / 12,
        };
        let name = self.annotation(metadata, a::TIER)?.map(|t| t.as_str().to_string());
        Ok((name, BurnTier { severity, long_window, short_window, burn_rate }, at))
    }

    /// Names untitled tiers `fast-`/`slow-` + severity by falling burn rate; orders them as the
    /// loader does (default names first).
    fn name_tiers(&self, tiers: Vec<(Option<String>, BurnTier, At)>) -> R<Vec<NamedTier>> {
        let mut named: Vec<(NamedTier, At)> = Vec::new();
        let mut untitled: Vec<(BurnTier, At)> = Vec::new();
        for (name, tier, at) in tiers {
            match name {
                Some(name) => named.push((NamedTier { name, tier }, at)),
                None => untitled.push((tier, at)),
            }
        }
        for severity in [Severity::Page, Severity::Ticket] {
            let word = severity.as_str();
            let mut these: Vec<&(BurnTier, At)> = untitled.iter().filter(|(t, _)| t.severity == severity).collect();
            these.sort_by_key(|t| std::cmp::Reverse(t.0.burn_rate));
            if these.len() > 2 {
                let what = format!("{} {word} conditions without `{}`", these.len(), a::TIER);
                let why = format!(
                    "Kura has two {word} tiers, fast-{word} and slow-{word}; name further ones with `{}`",
                    a::TIER
                );
                return Err(unsupported(self.file, these[2].1, what, &why));
            }
            for ((tier, at), speed) in these.into_iter().zip(["fast", "slow"]) {
                named.push((NamedTier { name: format!("{speed}-{word}"), tier: tier.clone() }, *at));
            }
        }
        for (i, (t, at)) in named.iter().enumerate() {
            if named[..i].iter().any(|(u, _)| u.name == t.name) {
                return Err(error(self.file, *at, format!("two alert conditions make tier `{}`", t.name)));
            }
        }
        let names = math::DEFAULT_TIER_NAMES;
        named.sort_by_key(|(t, _)| names.iter().position(|n| *n == t.name).unwrap_or(names.len()));
        Ok(named.into_iter().map(|(t, _)| t).collect())
    }
}

/// Ids for an SLO document's objectives: its name for one; suffixed for several.
fn objective_ids(name: &str, objectives: &[&Node]) -> Vec<String> {
    if objectives.len() == 1 {
        return vec![name.to_string()];
    }
    let slugs: Vec<Option<String>> = objectives
        .iter()
        .map(|o| {
            let m = Map::of(o, "objective").ok()?;
            let d = m.str("displayName").ok()??;
            let slug: String = d
                .as_str()
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
                .split('-')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            (!slug.is_empty()).then_some(slug)
        })
        .collect();
    let distinct = slugs.iter().all(Option::is_some) && slugs.iter().enumerate().all(|(i, s)| !slugs[..i].contains(s));
    if distinct {
        slugs.into_iter().map(|s| format!("{name}-{}", s.unwrap_or_default())).collect()
    } else {
        (1..=objectives.len()).map(|i| format!("{name}-{i}")).collect()
    }
}

// The JSON that `kura.dev/` annotations carry (written by `generate::openslo`).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonPolicy {
    reject: Option<JsonThresholds>,
    warn: Option<JsonThresholds>,
    exceptions: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonThresholds {
    budget_remaining_below: Option<String>,
    burn_rate_above: Option<String>,
    burn_window: Option<String>,
}

impl JsonPolicy {
    fn into_policy(self) -> Result<ErrorBudgetPolicy, String> {
        let defaults = ErrorBudgetPolicy::default();
        let level = |t: Option<JsonThresholds>, default: PolicyThresholds| -> Result<PolicyThresholds, String> {
            let Some(t) = t else { return Ok(default) };
            let number = |s: Option<String>| {
                s.map(|s| Decimal::from_str(&s).map_err(|_| format!("`{s}` is not a number"))).transpose()
            };
            Ok(PolicyThresholds {
                budget_remaining_below: number(t.budget_remaining_below)?,
                burn_rate_above: number(t.burn_rate_above)?,
                burn_window: match t.burn_window {
                    Some(w) => math::parse_duration(&w).map_err(|e| format!("`{w}` is not a duration: {e}"))?,
                    None => SignedDuration::from_hours(1),
                },
            })
        };
        Ok(ErrorBudgetPolicy {
            reject: level(self.reject, defaults.reject)?,
            warn: level(self.warn, defaults.warn)?,
            exceptions: self.exceptions.unwrap_or(defaults.exceptions),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonMaintenance {
    name: String,
    start: Option<String>,
    end: Option<String>,
    weekly: Option<JsonWeekly>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonWeekly {
    on: String,
    at: String,
    #[serde(rename = "for")]
    duration: String,
}

impl JsonMaintenance {
    fn into_maintenance(self, zone: &TimeZone) -> Result<Maintenance, String> {
        let time = |s: &str| -> Result<jiff::Timestamp, String> {
            s.parse::<jiff::Timestamp>()
                .or_else(|_| {
                    s.parse::<jiff::civil::DateTime>()
                        .and_then(|d| d.to_zoned_datetime(zone.clone()))
                        .map(|z| z.timestamp())
                })
                .map_err(|e| format!("`{s}` is not a date-time: {e}"))
        };
        match (self.start, self.end, self.weekly) {
            (Some(start), Some(end), None) => {
                Ok(Maintenance::Once { name: self.name, start: time(&start)?, end: time(&end)? })
            }
            (None, None, Some(w)) => {
                use jiff::civil::Weekday::*;
                let weekday = match w.on.to_ascii_lowercase().as_str() {
                    "monday" => Monday,
                    "tuesday" => Tuesday,
                    "wednesday" => Wednesday,
                    "thursday" => Thursday,
                    "friday" => Friday,
                    "saturday" => Saturday,
                    "sunday" => Sunday,
                    other => return Err(format!("`{other}` is not a day of the week")),
                };
                let start =
                    jiff::civil::Time::strptime("%H:%M", &w.at).map_err(|e| format!("`{}` is not HH:MM: {e}", w.at))?;
                let duration = math::parse_duration(&w.duration)
                    .map_err(|e| format!("`{}` is not a duration: {e}", w.duration))?;
                Ok(Maintenance::Weekly { name: self.name, weekday, start, duration })
            }
            _ => Err(format!("maintenance `{}` has either start and end, or weekly", self.name)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonMetric {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    buckets: Vec<String>,
}

impl JsonMetric {
    fn into_declaration(self) -> Result<MetricDeclaration, String> {
        let kind = match self.kind.as_str() {
            "counter" => MetricKind::Counter,
            "gauge" => MetricKind::Gauge,
            "histogram" => MetricKind::Histogram,
            other => return Err(format!("unknown metric type `{other}`")),
        };
        let buckets = self
            .buckets
            .iter()
            .map(|b| Decimal::from_str(b).map_err(|_| format!("bucket `{b}` is not a number")))
            .collect::<Result<_, _>>()?;
        Ok(MetricDeclaration { name: self.name, kind, labels: self.labels, buckets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_objectives_are_suffixed_by_their_names_or_their_positions() {
        let a =
            marked_yaml::parse_yaml(0, "o:\n  - displayName: Fast Enough\n  - displayName: Really fast!\n").unwrap();
        let list: Vec<&Node> = a.as_mapping().unwrap().get_sequence("o").unwrap().iter().collect();
        assert_eq!(objective_ids("api", &list), vec!["api-fast-enough", "api-really-fast"]);
        let b = marked_yaml::parse_yaml(0, "o:\n  - target: 0.9\n  - displayName: x\n").unwrap();
        let list: Vec<&Node> = b.as_mapping().unwrap().get_sequence("o").unwrap().iter().collect();
        assert_eq!(objective_ids("api", &list), vec!["api-1", "api-2"]);
    }
}
