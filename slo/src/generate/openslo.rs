//! Specs exported as OpenSLO v1 (<https://github.com/OpenSLO/OpenSLO>): one multi-document
//! YAML stream. What OpenSLO has no field for travels in `metadata.annotations` under the
//! `kura.dev/` prefix ([`annotations`]), which [`crate::import::openslo`] reads back, so that
//! Kura → OpenSLO → Kura gives the same spec.
//!
//! Documents, in order, for each spec: its `Service`, the `AlertPolicy`s its SLOs use (each
//! distinct tier once), then one `SLO` per Kura SLO and one composite `SLO` per journey
//! composite.
//!
//! | Kura                               | OpenSLO v1                                                      |
//! |------------------------------------|-----------------------------------------------------------------|
//! | `service`                          | `Service` `metadata.name`; every SLO's `spec.service`           |
//! | `labels`                           | `Service` `metadata.labels`                                     |
//! | `time_zone`                        | `kura.dev/time-zone` on the `Service` (and calendar `timeZone`) |
//! | `dashboard`                        | `kura.dev/dashboard` on the `Service`                           |
//! | `error_budget_policy` (non-default)| `kura.dev/error-budget-policy` on the `Service`, JSON with the  |
//! |                                    | native keys: `{"reject":{"burn_window":"1h",...},...}`; the     |
//! |                                    | deploy gate as `"gate"` (environments as a list)                |
//! | `maintenance`                      | `kura.dev/maintenance` on the `Service`, JSON                   |
//! | `metrics` (declarations)           | `kura.dev/metrics` on the `Service`, JSON                       |
//! | journey name                       | SLO `metadata.labels.journey`                                   |
//! | journey description                | `kura.dev/journey-description` on each of its SLOs              |
//! | SLO `id`, `description`            | SLO `metadata.name`, `spec.description`                         |
//! | `objective`                        | `objectives[0].targetPercent` (exact decimal)                   |
//! | `window: 28d`                      | `timeWindow: [{duration: 28d, isRolling: true}]`                |
//! | `window: month / quarter / week`   | `duration: 1M / 1Q / 1w`, `calendar: {startTime: 2024-01-01     |
//! |                                    | 00:00:00, timeZone}` (a Monday that starts a month and a quarter)|
//! | `budgeting: occurrences`           | `budgetingMethod: Occurrences`                                  |
//! | `budgeting: timeslices`            | `Timeslices`, `timeSliceWindow: slice`, `timeSliceTarget:       |
//! |                                    | target / 100`                                                   |
//! | SLI `ratio`                        | inline `indicator`, `ratioMetric` (`counter: true`) with        |
//! |                                    | `good`/`bad` and `total` Prometheus queries that are the        |
//! |                                    | selectors themselves                                            |
//! | SLI `latency` / `freshness`        | `ratioMetric`: good `X_bucket{..., le="T"}`, total              |
//! |                                    | `X_count{...}`; `kura.dev/sli: latency` / `freshness` on the    |
//! |                                    | indicator tells the two apart                                   |
//! | SLI `promql`                       | `ratioMetric` (`counter: false`), queries as written, with      |
//! |                                    | `{{.window}}` (as Sloth's OpenSLO support reads them)           |
//! | `min_events_per_hour`              | `kura.dev/min-events-per-hour` on the SLO                       |
//! | `alerting.no_data`                 | `kura.dev/no-data` on the SLO, and `alertWhenNoData: true`      |
//! | a burn-rate tier                   | `alertPolicies[].alertPolicyRef` → an `AlertPolicy` with one    |
//! |                                    | `burnrate` `AlertCondition`: `severity`, `op: gt`, `threshold:  |
//! |                                    | burn_rate`, `lookbackWindow: long_window`; the tier's name and  |
//! |                                    | short window in `kura.dev/tier` and `kura.dev/short-window`;    |
//! |                                    | its `pending` as `alertAfter` (else `0m`)                       |
//! | SLO `labels`                       | SLO `metadata.labels`, beside `journey`                         |
//! | `alerting` name, labels,           | `kura.dev/alert-route` on the SLO, JSON with the native keys    |
//! | annotations, `page`, `ticket`      |                                                                 |
//! | journey `composite`                | an `SLO` whose `objectives` are the components (inline          |
//! |                                    | `indicator` named after the component SLO, its `targetPercent`, |
//! |                                    | `compositeWeight: weight`); the composite's own objective in    |
//! |                                    | `kura.dev/composite-objective`                                  |
//!
//! Refused with a [`GenerateError`] naming the SLO (never dropped): one service spread over
//! several spec files (OpenSLO has one `Service` per name), a duration OpenSLO's
//! shorthand cannot write (`90s`, `1h30m`: it has whole m/h/d/w only), a calendar window in a
//! zone without an IANA name, and a composite whose components differ in window or budgeting
//! method (an OpenSLO SLO has one of each).

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{GenerateError, Kind};
use crate::math::{self, CalendarPeriod, Window};
use crate::spec::{
    Budgeting, Composite, Counting, JourneySlos, Maintenance, MatchOp, NamedTier, Selector, Sli, Slo, Spec,
};
use crate::yaml::{MapBuilder, Yaml};

/// The `kura.dev/` annotations: what OpenSLO cannot say, carried so it is not lost.
pub mod annotations {
    /// Service: the spec's `time_zone`.
    pub const TIME_ZONE: &str = "kura.dev/time-zone";
    /// Service: the `dashboard` link template.
    pub const DASHBOARD: &str = "kura.dev/dashboard";
    /// Service: the error-budget policy, JSON with the native keys, decimals as strings.
    pub const ERROR_BUDGET_POLICY: &str = "kura.dev/error-budget-policy";
    /// Service: the maintenance windows, a JSON list with the native keys.
    pub const MAINTENANCE: &str = "kura.dev/maintenance";
    /// Service: the spec's metric declarations, a JSON list.
    pub const METRICS: &str = "kura.dev/metrics";
    /// SLO: the journey's description.
    pub const JOURNEY_DESCRIPTION: &str = "kura.dev/journey-description";
    /// SLO: the journey, when there is no `journey` label.
    pub const JOURNEY: &str = "kura.dev/journey";
    /// SLO: `min_events_per_hour`.
    pub const MIN_EVENTS_PER_HOUR: &str = "kura.dev/min-events-per-hour";
    /// SLO: the no-data alert's duration.
    pub const NO_DATA: &str = "kura.dev/no-data";
    /// Indicator: the Kura SLI kind (`ratio`, `latency`, `freshness`, `promql`).
    pub const SLI: &str = "kura.dev/sli";
    /// AlertCondition: the tier's name (`fast-page`, ...).
    pub const TIER: &str = "kura.dev/tier";
    /// AlertCondition: the tier's short window.
    pub const SHORT_WINDOW: &str = "kura.dev/short-window";
    /// Composite SLO: the composite's own objective, in percent.
    pub const COMPOSITE_OBJECTIVE: &str = "kura.dev/composite-objective";
    /// SLO: the burn alerts' name, labels and annotations (`alerting.name`, `labels`,
    /// `annotations`, `page`, `ticket`), JSON with the native keys.
    pub const ALERT_ROUTE: &str = "kura.dev/alert-route";

    /// Every key above: any other `kura.dev/` key is an error on import.
    pub const ALL: [&str; 14] = [
        ALERT_ROUTE,
        TIME_ZONE,
        DASHBOARD,
        ERROR_BUDGET_POLICY,
        MAINTENANCE,
        METRICS,
        JOURNEY_DESCRIPTION,
        JOURNEY,
        MIN_EVENTS_PER_HOUR,
        NO_DATA,
        SLI,
        TIER,
        SHORT_WINDOW,
        COMPOSITE_OBJECTIVE,
    ];
}

use annotations as a;

const API_VERSION: &str = "openslo/v1";

/// The calendar windows' `startTime`: a Monday, and the first day of a month and a quarter, so
/// one date anchors weeks, months and quarters alike.
pub const CALENDAR_START: &str = "2024-01-01 00:00:00";

/// All specs as one OpenSLO v1 multi-document stream.
pub fn generate(specs: &[Spec]) -> Result<String, GenerateError> {
    let mut docs = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        // One `Service` per name: a service split over several spec files would be two.
        if specs[..i].iter().any(|s| s.service == spec.service) {
            let what = format!("service `{}` from two spec files (merge them into one)", spec.service);
            return Err(fail(spec, "*", what));
        }
        spec_documents(spec, &mut docs)?;
    }
    let mut out = String::from(
        "# OpenSLO v1, generated by `slo generate openslo`. What OpenSLO has no field for is kept in\n\
         # `kura.dev/` annotations, so `slo import openslo` gives back the same Kura specs.\n",
    );
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&doc.to_document());
    }
    Ok(out)
}

fn fail(spec: &Spec, slo: &str, what: impl Into<String>) -> GenerateError {
    GenerateError { kind: Kind::Openslo, service: spec.service.clone(), slo: slo.to_string(), what: what.into() }
}

fn document(kind: &str, metadata: Yaml, spec: Yaml) -> Yaml {
    MapBuilder::new()
        .put("apiVersion", Yaml::raw(API_VERSION))
        .put("kind", Yaml::raw(kind))
        .put("metadata", metadata)
        .put("spec", spec)
        .build()
}

fn metadata(name: &str, labels: Vec<(String, Yaml)>, annotations: Vec<(String, Yaml)>) -> Yaml {
    MapBuilder::new()
        .put("name", Yaml::str(name))
        .put_opt("labels", (!labels.is_empty()).then_some(Yaml::Map(labels)))
        .put_opt("annotations", (!annotations.is_empty()).then_some(Yaml::Map(annotations)))
        .build()
}

fn decimal(d: Decimal) -> Yaml {
    Yaml::raw(d.normalize())
}

/// A duration in OpenSLO's shorthand (a whole number of m, h, d or w), or `None`.
pub fn shorthand(d: jiff::SignedDuration) -> Option<String> {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 || secs <= 0 || secs % 60 != 0 {
        return None;
    }
    let minutes = secs / 60;
    let (n, unit) = if minutes % (60 * 24 * 7) == 0 && minutes % (60 * 24) != 0 {
        (minutes / (60 * 24 * 7), "w")
    } else if minutes % (60 * 24) == 0 {
        (minutes / (60 * 24), "d")
    } else if minutes % 60 == 0 {
        (minutes / 60, "h")
    } else {
        (minutes, "m")
    };
    Some(format!("{n}{unit}"))
}

fn spec_documents(spec: &Spec, docs: &mut Vec<Yaml>) -> Result<(), GenerateError> {
    docs.push(service_document(spec));

    // Each distinct tier becomes one AlertPolicy that every SLO with that tier refers to.
    let mut policies: Vec<((NamedTier, bool), String)> = Vec::new();
    let mut slo_docs = Vec::new();
    for journey in &spec.journeys {
        for slo in &journey.slos {
            let mut refs = Vec::new();
            for tier in &slo.alerting.tiers {
                let key = (tier.clone(), slo.alerting.no_data.is_some());
                let name = match policies.iter().find(|(k, _)| *k == key) {
                    Some((_, name)) => name.clone(),
                    None => {
                        let same_name = policies.iter().filter(|((t, _), _)| t.name == tier.name).count();
                        let name = match same_name {
                            0 => format!("{}-{}", spec.service, tier.name),
                            n => format!("{}-{}-{}", spec.service, tier.name, n + 1),
                        };
                        policies.push((key, name.clone()));
                        name
                    }
                };
                refs.push(name);
            }
            slo_docs.push(slo_document(spec, journey, slo, refs)?);
        }
        if let Some(c) = &journey.composite {
            slo_docs.push(composite_document(spec, journey, c)?);
        }
    }
    for ((tier, no_data), name) in &policies {
        docs.push(policy_document(spec, name, tier, *no_data)?);
    }
    docs.extend(slo_docs);
    Ok(())
}

fn service_document(spec: &Spec) -> Yaml {
    let labels = spec.labels.iter().map(|(k, v)| (k.clone(), Yaml::str(v))).collect();
    let mut notes = vec![(a::TIME_ZONE.to_string(), Yaml::str(&spec.time_zone))];
    if let Some(d) = spec.dashboard_template() {
        notes.push((a::DASHBOARD.to_string(), Yaml::str(&d)));
    }
    if spec.policy != crate::spec::ErrorBudgetPolicy::default() {
        let p = &spec.policy;
        let level = |t: &crate::spec::PolicyThresholds| {
            let mut m = serde_json::Map::new();
            if let Some(b) = t.budget_remaining_below {
                m.insert("budget_remaining_below".into(), json!(b.normalize().to_string()));
            }
            if let Some(b) = t.burn_rate_above {
                m.insert("burn_rate_above".into(), json!(b.normalize().to_string()));
            }
            m.insert("burn_window".into(), json!(math::format_duration(t.burn_window)));
            Value::Object(m)
        };
        let mut policy = json!({ "reject": level(&p.reject), "warn": level(&p.warn), "exceptions": p.exceptions });
        if p.gate != crate::spec::GatePolicy::default() {
            let g = &p.gate;
            let zone = jiff::tz::TimeZone::get(&spec.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
            let environments: Vec<Value> = g
                .environments
                .iter()
                .map(|e| {
                    let mut m = json!({"name": e.name, "journeys": e.journeys, "slos": e.slos, "shadow": e.shadow});
                    if let Some(r) = &e.reject {
                        m["reject"] = level(r);
                    }
                    m
                })
                .collect();
            let mut gate = json!({
                "environments": environments,
                "max_staleness": math::format_duration(g.max_staleness),
                "hold_deadline": math::format_duration(g.hold_deadline),
                "shadow": g.shadow,
                "freeze": g.freeze.iter().map(|m| maintenance_json(m, &zone)).collect::<Vec<_>>(),
            });
            if let Some(v) = g.verification {
                gate["verification"] = json!(math::format_duration(v));
            }
            if let Some(w) = &g.rollback_workflow {
                gate["rollback_workflow"] = json!(w);
            }
            policy["gate"] = gate;
        }
        notes.push((a::ERROR_BUDGET_POLICY.to_string(), Yaml::str(policy.to_string())));
    }
    if !spec.maintenance.is_empty() {
        let zone = jiff::tz::TimeZone::get(&spec.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let list: Vec<Value> = spec.maintenance.iter().map(|m| maintenance_json(m, &zone)).collect();
        notes.push((a::MAINTENANCE.to_string(), Yaml::str(Value::Array(list).to_string())));
    }
    if !spec.metrics.is_empty() {
        let list: Vec<Value> = spec
            .metrics
            .iter()
            .map(|m| {
                let kind = match m.kind {
                    crate::spec::catalogue::MetricKind::Counter => "counter",
                    crate::spec::catalogue::MetricKind::Gauge => "gauge",
                    crate::spec::catalogue::MetricKind::Histogram => "histogram",
                };
                let buckets: Vec<String> = m.buckets.iter().map(|b| b.normalize().to_string()).collect();
                json!({ "name": m.name, "type": kind, "labels": m.labels, "buckets": buckets })
            })
            .collect();
        notes.push((a::METRICS.to_string(), Yaml::str(Value::Array(list).to_string())));
    }
    document("Service", metadata(&spec.service, labels, notes), Yaml::Map(Vec::new()))
}

fn maintenance_json(m: &Maintenance, zone: &jiff::tz::TimeZone) -> Value {
    match m {
        Maintenance::Once { name, start, end } => {
            let local =
                |t: &jiff::Timestamp| t.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
            json!({ "name": name, "start": local(start), "end": local(end) })
        }
        Maintenance::Weekly { name, weekday, start, duration } => {
            let on = format!("{weekday:?}").to_lowercase();
            let at = start.strftime("%H:%M").to_string();
            json!({ "name": name, "weekly": { "on": on, "at": at, "for": math::format_duration(*duration) } })
        }
    }
}

fn policy_document(spec: &Spec, name: &str, tier: &NamedTier, no_data: bool) -> Result<Yaml, GenerateError> {
    let t = &tier.tier;
    let lookback = shorthand(t.long_window).ok_or_else(|| {
        let long = math::format_duration(t.long_window);
        fail(spec, name, format!("tier `{}`'s long window {long} as an OpenSLO duration (whole m/h/d/w)", tier.name))
    })?;
    let condition_notes = vec![
        (a::TIER.to_string(), Yaml::str(&tier.name)),
        (a::SHORT_WINDOW.to_string(), Yaml::str(math::format_duration(t.short_window))),
    ];
    let condition = MapBuilder::new()
        .put("kind", Yaml::raw("burnrate"))
        .put("op", Yaml::raw("gt"))
        .put("threshold", decimal(t.burn_rate))
        .put("lookbackWindow", Yaml::raw(lookback))
        .put("alertAfter", Yaml::raw(tier.pending.and_then(shorthand).unwrap_or_else(|| "0m".into())))
        .build();
    let condition_doc = MapBuilder::new()
        .put("kind", Yaml::raw("AlertCondition"))
        .put("metadata", metadata(name, Vec::new(), condition_notes))
        .put(
            "spec",
            MapBuilder::new().put("severity", Yaml::raw(t.severity.as_str())).put("condition", condition).build(),
        )
        .build();
    let description = format!(
        "{} burn: the error budget burns faster than {}x over {} and {}",
        tier.name,
        t.burn_rate.normalize(),
        math::format_duration(t.long_window),
        math::format_duration(t.short_window)
    );
    let body = MapBuilder::new()
        .put("description", Yaml::str(description))
        .put("alertWhenNoData", Yaml::raw(no_data))
        .put("alertWhenResolved", Yaml::raw("true"))
        .put("alertWhenBreaching", Yaml::raw("true"))
        .put("conditions", Yaml::Seq(vec![condition_doc]))
        .put("notificationTargets", Yaml::Seq(Vec::new()))
        .build();
    Ok(document("AlertPolicy", metadata(name, Vec::new(), Vec::new()), body))
}

fn journey_labels(journey: &JourneySlos) -> Vec<(String, Yaml)> {
    vec![("journey".to_string(), Yaml::str(&journey.name))]
}

fn journey_notes(journey: &JourneySlos) -> Vec<(String, Yaml)> {
    if journey.description.is_empty() {
        Vec::new()
    } else {
        vec![(a::JOURNEY_DESCRIPTION.to_string(), Yaml::str(&journey.description))]
    }
}

fn slo_document(spec: &Spec, journey: &JourneySlos, slo: &Slo, policies: Vec<String>) -> Result<Yaml, GenerateError> {
    let mut notes = journey_notes(journey);
    if let Some(m) = slo.min_events_per_hour {
        notes.push((a::MIN_EVENTS_PER_HOUR.to_string(), Yaml::str(m.normalize().to_string())));
    }
    if let Some(d) = slo.alerting.no_data {
        notes.push((a::NO_DATA.to_string(), Yaml::str(math::format_duration(d))));
    }
    let route = &slo.alerting.route;
    if !route.is_empty() {
        let extras = |e: &crate::spec::AlertExtras| json!({ "labels": e.labels, "annotations": e.annotations });
        let value = json!({
            "name": route.name,
            "labels": route.labels,
            "annotations": route.annotations,
            "page": extras(&route.page),
            "ticket": extras(&route.ticket),
        });
        notes.push((a::ALERT_ROUTE.to_string(), Yaml::str(value.to_string())));
    }
    let policies: Vec<Yaml> =
        policies.into_iter().map(|p| MapBuilder::new().put("alertPolicyRef", Yaml::str(p)).build()).collect();
    let body = MapBuilder::new()
        .put_opt("description", (!slo.description.is_empty()).then(|| Yaml::str(&slo.description)))
        .put("service", Yaml::str(&spec.service))
        .put("indicator", indicator(&slo.id, &slo.sli))
        .put("timeWindow", time_window(spec, slo)?)
        .put("budgetingMethod", Yaml::raw(budgeting_method(&slo.budgeting)))
        .put("objectives", Yaml::Seq(vec![objective(spec, slo, None)?]))
        .put_opt("alertPolicies", (!policies.is_empty()).then_some(Yaml::Seq(policies)))
        .build();
    let mut labels = journey_labels(journey);
    labels.extend(slo.labels.iter().map(|(k, v)| (k.clone(), Yaml::str(v))));
    Ok(document("SLO", metadata(&slo.id, labels, notes), body))
}

fn composite_document(spec: &Spec, journey: &JourneySlos, c: &Composite) -> Result<Yaml, GenerateError> {
    let components: Vec<&Slo> =
        c.components.iter().filter_map(|k| journey.slos.iter().find(|s| s.id == k.slo)).collect();
    let Some(first) = components.first() else {
        return Err(fail(spec, &c.id, "a composite without components"));
    };
    if components.len() != c.components.len() {
        return Err(fail(spec, &c.id, "a composite whose components are not SLOs of its journey"));
    }
    if let Some(other) = components.iter().find(|s| s.window != first.window) {
        let what = format!("a composite whose components have different windows (`{}` and `{}`)", first.id, other.id);
        return Err(fail(spec, &c.id, what));
    }
    if let Some(other) =
        components.iter().find(|s| budgeting_method(&s.budgeting) != budgeting_method(&first.budgeting))
    {
        let what = format!("a composite whose components budget differently (`{}` and `{}`)", first.id, other.id);
        return Err(fail(spec, &c.id, what));
    }
    let mut notes = journey_notes(journey);
    notes.push((a::COMPOSITE_OBJECTIVE.to_string(), Yaml::str(c.objective.to_string())));
    let objectives = c
        .components
        .iter()
        .zip(&components)
        .map(|(k, slo)| objective(spec, slo, Some(k.weight)))
        .collect::<Result<Vec<_>, _>>()?;
    let body = MapBuilder::new()
        .put("description", Yaml::str(format!("Journey `{}` as a whole: its SLOs, weighted.", journey.name)))
        .put("service", Yaml::str(&spec.service))
        .put("timeWindow", time_window(spec, first)?)
        .put("budgetingMethod", Yaml::raw(budgeting_method(&first.budgeting)))
        .put("objectives", Yaml::Seq(objectives))
        .build();
    Ok(document("SLO", metadata(&c.id, journey_labels(journey), notes), body))
}

fn budgeting_method(b: &Budgeting) -> &'static str {
    match b {
        Budgeting::Occurrences => "Occurrences",
        Budgeting::Timeslices { .. } => "Timeslices",
    }
}

/// The SLO's objective; for a composite's component (`weight`), with its indicator inline.
fn objective(spec: &Spec, slo: &Slo, weight: Option<Decimal>) -> Result<Yaml, GenerateError> {
    let mut o = MapBuilder::new();
    if weight.is_some() {
        o = o.put("displayName", Yaml::str(&slo.id));
    }
    o = o.put("targetPercent", Yaml::raw(slo.objective));
    if let Budgeting::Timeslices { slice, target } = &slo.budgeting {
        let window = shorthand(*slice).ok_or_else(|| {
            let what = format!("time slice {} as an OpenSLO duration (whole m/h/d/w)", math::format_duration(*slice));
            fail(spec, &slo.id, what)
        })?;
        o = o.put("timeSliceTarget", decimal(target.target())).put("timeSliceWindow", Yaml::raw(window));
    }
    if let Some(w) = weight {
        o = o.put("compositeWeight", decimal(w)).put("indicator", indicator(&slo.id, &slo.sli));
    }
    Ok(o.build())
}

fn time_window(spec: &Spec, slo: &Slo) -> Result<Yaml, GenerateError> {
    let w = match &slo.window {
        Window::Rolling(d) => {
            let duration = shorthand(*d).ok_or_else(|| {
                fail(spec, &slo.id, format!("window {} as an OpenSLO duration", math::format_duration(*d)))
            })?;
            MapBuilder::new().put("duration", Yaml::raw(duration)).put("isRolling", Yaml::raw("true")).build()
        }
        Window::Calendar { period, time_zone } => {
            let duration = match period {
                CalendarPeriod::Week => "1w",
                CalendarPeriod::Month => "1M",
                CalendarPeriod::Quarter => "1Q",
            };
            let zone = time_zone
                .iana_name()
                .ok_or_else(|| fail(spec, &slo.id, "a calendar window in a time zone without an IANA name"))?;
            let calendar =
                MapBuilder::new().put("startTime", Yaml::str(CALENDAR_START)).put("timeZone", Yaml::str(zone)).build();
            MapBuilder::new()
                .put("duration", Yaml::raw(duration))
                .put("calendar", calendar)
                .put("isRolling", Yaml::raw("false"))
                .build()
        }
    };
    Ok(Yaml::Seq(vec![w]))
}

fn indicator(name: &str, sli: &Sli) -> Yaml {
    let source = |query: String| {
        let metric_source = MapBuilder::new()
            .put("type", Yaml::raw("Prometheus"))
            .put("spec", MapBuilder::new().put("query", Yaml::str(query)).build())
            .build();
        MapBuilder::new().put("metricSource", metric_source).build()
    };
    let ratio = |counter: bool, counting: Counting, numerator: String, total: String| {
        MapBuilder::new()
            .put("counter", Yaml::raw(counter))
            .put(&counting.to_string(), source(numerator))
            .put("total", source(total))
            .build()
    };
    let histogram = |h: &Selector, threshold: &crate::spec::Threshold| {
        let good =
            h.with_metric(format!("{}_bucket", h.metric)).with_matcher("le", MatchOp::Equal, &threshold.le_label());
        let total = h.with_metric(format!("{}_count", h.metric));
        ratio(true, Counting::Good, good.to_string(), total.to_string())
    };
    let metric = match sli {
        Sli::Ratio { counting, numerator, total } => ratio(true, *counting, numerator.to_string(), total.to_string()),
        Sli::Latency { histogram: h, threshold } | Sli::Freshness { histogram: h, threshold } => {
            histogram(h, threshold)
        }
        Sli::Promql { counting, numerator, total } => ratio(false, *counting, numerator.clone(), total.clone()),
    };
    let notes = vec![(a::SLI.to_string(), Yaml::raw(sli.kind()))];
    MapBuilder::new()
        .put("metadata", metadata(name, Vec::new(), notes))
        .put("spec", MapBuilder::new().put("ratioMetric", metric).build())
        .build()
}
