//! OpenSLO v1 (<https://github.com/OpenSLO/OpenSLO>) imported as Kura specs: a multi-document
//! stream of `Service`, `SLO`, `SLI`, `AlertPolicy`, `AlertCondition`, `DataSource` and
//! `AlertNotificationTarget` documents becomes one spec per service. As oslo does, a document
//! may also be a list of such objects; a file without any `SLO` is an error, not an empty
//! import. The `kura.dev/`
//! annotations written by [`crate::generate::openslo`] are read back, so Kura → OpenSLO → Kura
//! gives the same spec.
//!
//! | OpenSLO v1                                   | Kura                                             |
//! |----------------------------------------------|--------------------------------------------------|
//! | `apiVersion: openslo/v1`                     | required (`v1alpha`, `v2alpha` are refused, named |
//! |                                              | as such)                                          |
//! | `Service` `metadata.name`; SLO `spec.service`| `service` (a service without a `Service` document |
//! |                                              | is fine)                                          |
//! | `Service` `metadata.labels`                  | service `labels` (two values for one key across   |
//! |                                              | `Service` documents of a service are refused)     |
//! | SLO `metadata.labels`                        | that SLO's `labels`, but `journey` names its      |
//! |                                              | journey (on a composite: service `labels`)        |
//! | a label with several values (v1 allows a     | one value, the values joined with `,` in order    |
//! | list)                                        | (a Prometheus label has one value)                |
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
//! | `op` on a ratio or raw objective             | accepted: the good/bad ratio already says which   |
//! |                                              | way the target is met (`value` is refused there)  |
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
//! | `alertAfter` (non-zero)                      | the tier's `pending`: `for:` in the rules, and    |
//! |                                              | the controller holds the alert as long            |
//! | `alertWhenBreaching: false`                  | the policy raises no burn alert: no tier          |
//! | `alertWhenNoData: true`                      | `alerting.no_data`: `kura.dev/no-data`, else the  |
//! |                                              | shortest such `lookbackWindow`                    |
//! | no `alertPolicies`                           | no tiers (the document asks for no alerts)        |
//! | `kura.dev/min-events-per-hour`               | `min_events_per_hour`                             |
//! | `kura.dev/alert-route` (JSON)                | `alerting.name`, `labels`, `annotations`, `page`, |
//! |                                              | `ticket`                                          |
//! | `kura.dev/time-zone`, `dashboard`,           | the spec's `time_zone`, `dashboard`,              |
//! | `error-budget-policy`, `maintenance`,        | `error_budget_policy`, `maintenance`, `metrics`   |
//! | `metrics` on the `Service`                   | (without `metrics`, structured SLIs on metrics    |
//! |                                              | outside Kura's contract are declared from use)    |
//!
//! Refused, naming the feature and its place: everything marked so above; an `AlertPolicy`
//! with several conditions (OpenSLO v1 allows one); a condition kind other than `burnrate`,
//! an `op` of `lt`/`lte` on a burn rate, a severity other than page/ticket, more than two
//! untitled conditions of one severity; alert policies on a composite; an unknown `kura.dev/` annotation; and any
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
    Alerting, Budgeting, Composite, CompositeComponent, Counting, ErrorBudgetPolicy, GateEnvironment, GatePolicy,
    Maintenance, MetricDeclaration, NamedTier, PolicyThresholds, Selector, Sli, Slo, Spec, Threshold,
};
use crate::yaml::{self, At, Map, YamlError};
use annotations::{JsonMaintenance, JsonMetric, JsonPolicy};

mod alerting;
mod annotations;
mod sli;
mod slo;

/// Every service of an OpenSLO v1 stream, as Kura specs, in the order they first appear.
pub fn import(path: &Path, text: &str) -> Result<Vec<Spec>, ImportError> {
    let docs = yaml::documents(text).map_err(from_yaml(path))?;
    if docs.is_empty() {
        return Err(error(path, At::START, "no OpenSLO document in the file"));
    }
    let mut importer = Importer::new(path);
    for doc in &docs {
        match &doc.root {
            // oslo reads a document that is a list of OpenSLO objects as those objects.
            Node::Sequence(items) => {
                for item in items.iter() {
                    importer.document(item)?;
                }
            }
            root => importer.document(root)?,
        }
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
            let what = match version.as_str() {
                "openslo/v1alpha" => "OpenSLO v1alpha (`apiVersion: openslo/v1alpha`)".to_string(),
                "openslo/v2alpha" => "OpenSLO v2alpha (`apiVersion: openslo/v2alpha`)".to_string(),
                other => format!("`apiVersion: {other}`"),
            };
            let why = "only OpenSLO v1 (`openslo/v1`) documents are read; rewrite it as v1";
            return Err(unsupported(self.file, At::of(version.span()), what, why));
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

    /// `metadata.labels`, several values joined with `,`.
    fn labels(&self, metadata: Map<'a>) -> R<Vec<(&'a MarkedScalarNode, String)>> {
        let y = self.y();
        let Some(node) = metadata.get("labels") else { return Ok(Vec::new()) };
        let m = Map::of(node, "`labels`").map_err(&y)?;
        let mut out = Vec::new();
        for (k, v) in m.node.iter() {
            let value = match v {
                Node::Scalar(s) => s.as_str().to_string(),
                // OpenSLO v1 lets a label have several values; a Prometheus label has one, so
                // they are joined in order with `,` (what `=~".*(^|,)a(,|$).*"` matches).
                Node::Sequence(list) if !list.is_empty() => list
                    .iter()
                    .map(|n| yaml::scalar(n, k.as_str()).map(|s| s.as_str().to_string()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(&y)?
                    .join(","),
                _ => {
                    let what = format!("label `{}` without a value", k.as_str());
                    return Err(error(
                        self.file,
                        At::node(v),
                        format!("{what}: a label has a value or a list of them"),
                    ));
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
                draft.label(self.file, At::of(k.span()), k.as_str(), &v)?;
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
            let mut labels = BTreeMap::new();
            for (k, v) in self.labels(doc.metadata)? {
                if k.as_str() == "journey" {
                    journey = Some(v);
                } else {
                    labels.insert(k.as_str().to_string(), (v, At::of(k.span())));
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
                // A composite has no rules of its own to label: its labels are the service's.
                for (k, (v, at)) in &labels {
                    draft.label(self.file, *at, k, v)?;
                }
                composites.push((service.as_str().to_string(), self.composite(doc, &journey)?));
            } else {
                for mut slo in self.slo(doc, &journey)? {
                    slo.slo.labels = labels.iter().map(|(k, (v, _))| (k.clone(), v.clone())).collect();
                    read.push((service.as_str().to_string(), slo));
                }
            }
        }

        if self.slos.is_empty() {
            return Err(error(
                self.file,
                At::START,
                "no OpenSLO `SLO` document in the file: nothing to import (a Service, SLI or AlertPolicy alone \
                 defines no objective)",
            ));
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
            let zone = draft.time_zone.as_deref().and_then(|z| TimeZone::get(z).ok()).unwrap_or(TimeZone::UTC);
            draft.policy = self.json::<JsonPolicy>(p)?.into_policy(&zone).map_err(|m| self.at(p, m))?;
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
}
