//! The native spec format written out: [`to_yaml`] turns a [`Spec`] back into the YAML that
//! [`super::load_str`] reads, so that `load_str(to_yaml(spec)) == spec` (but for
//! [`Spec::source`]). `slo import` prints imported specs with it.
//!
//! What is written, and what is left to the loader's defaults:
//!
//! | model                      | written as                                                    |
//! |----------------------------|---------------------------------------------------------------|
//! | `time_zone`                | always, so the calendar windows' zone is visible              |
//! | `labels`, `dashboard`      | when present                                                  |
//! | `policy`                   | `error_budget_policy:` unless it is the default policy; its   |
//! |                            | `gate:` unless that is the default gate                       |
//! | `maintenance`, `metrics`   | when non-empty                                                |
//! | journey `description`      | when non-empty                                                |
//! | SLO `budgeting`            | `timeslices: { slice, target }`; occurrences is the default   |
//! | SLO `alerting`             | only what differs from the default tiers for the SLO's window: |
//! |                            | a removed tier as `{ enabled: false }`, a changed one with its |
//! |                            | changed fields (and `pending`), an extra tier in full;         |
//! |                            | `no_data`, `name`, `labels`, `annotations`, `page`, `ticket`   |
//! |                            | when set                                                       |
//! | SLO `labels`               | when present                                                   |
//! | composite weight           | omitted when 1                                                |
//!
//! Decimals are written normalised (`300`, not `300.0`), durations as `math::format_duration`
//! prints them, and timestamps in the spec's zone with their offset.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;

use super::catalogue::MetricKind;
use super::{
    Alerting, Budgeting, Composite, Counting, ErrorBudgetPolicy, GatePolicy, JourneySlos, Maintenance,
    MetricDeclaration, PolicyThresholds, Sli, Slo, Spec,
};
use crate::math::{self, Window};
use crate::yaml::{MapBuilder, Yaml};

/// The spec in Kura's native YAML format.
pub fn to_yaml(spec: &Spec) -> String {
    let zone = TimeZone::get(&spec.time_zone).unwrap_or(TimeZone::UTC);
    let labels = (!spec.labels.is_empty()).then(|| string_map(&spec.labels));
    let policy = (spec.policy != ErrorBudgetPolicy::default()).then(|| policy(&spec.policy, &zone));
    let maintenance = (!spec.maintenance.is_empty())
        .then(|| Yaml::Seq(spec.maintenance.iter().map(|m| maintenance(m, &zone)).collect()));
    let metrics = (!spec.metrics.is_empty()).then(|| Yaml::Map(spec.metrics.iter().map(metric).collect()));
    let journeys = Yaml::Map(spec.journeys.iter().map(|j| (j.name.clone(), journey(j))).collect());
    MapBuilder::new()
        .put("service", Yaml::str(&spec.service))
        .put("time_zone", Yaml::str(&spec.time_zone))
        .put_opt("labels", labels)
        .put_opt("dashboard", spec.dashboard.as_ref().map(Yaml::str))
        .put_opt("error_budget_policy", policy)
        .put_opt("maintenance", maintenance)
        .put_opt("metrics", metrics)
        .put("journeys", journeys)
        .build()
        .to_document()
}

/// A decimal as the shortest text that reads back as the same value.
pub(crate) fn decimal(d: rust_decimal::Decimal) -> Yaml {
    Yaml::raw(d.normalize())
}

fn duration(d: jiff::SignedDuration) -> Yaml {
    Yaml::raw(math::format_duration(d))
}

fn string_map(map: &BTreeMap<String, String>) -> Yaml {
    Yaml::Map(map.iter().map(|(k, v)| (k.clone(), Yaml::str(v))).collect())
}

fn policy(p: &ErrorBudgetPolicy, zone: &TimeZone) -> Yaml {
    MapBuilder::new()
        .put("reject", thresholds(&p.reject))
        .put("warn", thresholds(&p.warn))
        .put("exceptions", Yaml::FlowSeq(p.exceptions.iter().map(Yaml::str).collect()))
        .put_opt("gate", (p.gate != GatePolicy::default()).then(|| gate(&p.gate, zone)))
        .build()
}

fn gate(g: &GatePolicy, zone: &TimeZone) -> Yaml {
    let names = |v: &[String]| (!v.is_empty()).then(|| Yaml::FlowSeq(v.iter().map(Yaml::str).collect()));
    let environments = (!g.environments.is_empty()).then(|| {
        Yaml::Map(
            g.environments
                .iter()
                .map(|e| {
                    let env = MapBuilder::new()
                        .put_opt("journeys", names(&e.journeys))
                        .put_opt("slos", names(&e.slos))
                        .put_opt("reject", e.reject.as_ref().map(thresholds))
                        .put_opt("shadow", e.shadow.then(|| Yaml::raw("true")))
                        .build();
                    (e.name.clone(), env)
                })
                .collect(),
        )
    });
    let verification = g.verification.map(|w| {
        MapBuilder::new()
            .put("window", duration(w))
            .put_opt("rollback_workflow", g.rollback_workflow.as_ref().map(Yaml::str))
            .build()
    });
    MapBuilder::new()
        .put_opt("environments", environments)
        .put("max_staleness", duration(g.max_staleness))
        .put("hold_deadline", duration(g.hold_deadline))
        .put_opt("shadow", g.shadow.then(|| Yaml::raw("true")))
        .put_opt(
            "freeze",
            (!g.freeze.is_empty()).then(|| Yaml::Seq(g.freeze.iter().map(|m| maintenance(m, zone)).collect())),
        )
        .put_opt("verification", verification)
        .build()
}

fn thresholds(t: &PolicyThresholds) -> Yaml {
    // An absent threshold never triggers, so `None` is written by leaving the key out.
    MapBuilder::new()
        .put_opt("budget_remaining_below", t.budget_remaining_below.map(decimal))
        .put_opt("burn_rate_above", t.burn_rate_above.map(decimal))
        .put("burn_window", duration(t.burn_window))
        .build()
}

fn maintenance(m: &Maintenance, zone: &TimeZone) -> Yaml {
    match m {
        Maintenance::Once { name, start, end } => {
            let local =
                |t: &jiff::Timestamp| t.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
            MapBuilder::new()
                .put("name", Yaml::str(name))
                .put("start", Yaml::raw(local(start)))
                .put("end", Yaml::raw(local(end)))
                .build()
        }
        Maintenance::Weekly { name, weekday, start, duration: length } => {
            let weekly = MapBuilder::new()
                .put("on", Yaml::raw(weekday_name(*weekday)))
                .put("at", Yaml::str(start.strftime("%H:%M").to_string()))
                .put("for", duration(*length))
                .flow();
            MapBuilder::new().put("name", Yaml::str(name)).put("weekly", weekly).build()
        }
    }
}

fn weekday_name(w: jiff::civil::Weekday) -> &'static str {
    use jiff::civil::Weekday::*;
    match w {
        Monday => "monday",
        Tuesday => "tuesday",
        Wednesday => "wednesday",
        Thursday => "thursday",
        Friday => "friday",
        Saturday => "saturday",
        Sunday => "sunday",
    }
}

fn metric(m: &MetricDeclaration) -> (String, Yaml) {
    let kind = match m.kind {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
    };
    let labels = (!m.labels.is_empty()).then(|| Yaml::FlowSeq(m.labels.iter().map(Yaml::str).collect()));
    let buckets =
        (!m.buckets.is_empty()).then(|| Yaml::FlowSeq(m.buckets.iter().map(|b| decimal(*b)).collect::<Vec<_>>()));
    let body = MapBuilder::new().put("type", Yaml::raw(kind)).put_opt("labels", labels).put_opt("buckets", buckets);
    (m.name.clone(), body.build())
}

fn journey(j: &JourneySlos) -> Yaml {
    MapBuilder::new()
        .put_opt("description", (!j.description.is_empty()).then(|| Yaml::str(&j.description)))
        .put("slos", Yaml::Seq(j.slos.iter().map(slo).collect()))
        .put_opt("composite", j.composite.as_ref().map(composite))
        .build()
}

fn slo(s: &Slo) -> Yaml {
    let budgeting = match &s.budgeting {
        Budgeting::Occurrences => None,
        Budgeting::Timeslices { slice, target } => Some(
            MapBuilder::new()
                .put(
                    "timeslices",
                    MapBuilder::new().put("slice", duration(*slice)).put("target", Yaml::raw(target)).flow(),
                )
                .build(),
        ),
    };
    MapBuilder::new()
        .put("id", Yaml::str(&s.id))
        .put_opt("description", (!s.description.is_empty()).then(|| Yaml::str(&s.description)))
        .put("objective", Yaml::raw(s.objective))
        .put("window", Yaml::raw(window(&s.window)))
        .put_opt("budgeting", budgeting)
        .put("sli", sli(&s.sli))
        .put_opt("min_events_per_hour", s.min_events_per_hour.map(decimal))
        .put_opt("labels", (!s.labels.is_empty()).then(|| string_map(&s.labels)))
        .put_opt("alerting", alerting(&s.alerting, &s.window))
        .build()
}

fn window(w: &Window) -> String {
    w.to_string()
}

fn sli(sli: &Sli) -> Yaml {
    let ratio = |counting: &Counting, numerator: String, total: String| {
        MapBuilder::new().put(&counting.to_string(), Yaml::str(numerator)).put("total", Yaml::str(total)).build()
    };
    let histogram = |histogram: &super::Selector, threshold: &super::Threshold| {
        MapBuilder::new()
            .put("histogram", Yaml::str(histogram.to_string()))
            .put("threshold", decimal(threshold.seconds))
            .build()
    };
    let (kind, body) = match sli {
        Sli::Ratio { counting, numerator, total } => {
            ("ratio", ratio(counting, numerator.to_string(), total.to_string()))
        }
        Sli::Latency { histogram: h, threshold } => ("latency", histogram(h, threshold)),
        Sli::Freshness { histogram: h, threshold } => ("freshness", histogram(h, threshold)),
        Sli::Promql { counting, numerator, total } => ("promql", ratio(counting, numerator.clone(), total.clone())),
    };
    MapBuilder::new().put(kind, body).build()
}

/// Only what differs from the loader's defaults for this window (see the module table).
fn alerting(a: &Alerting, w: &Window) -> Option<Yaml> {
    let mut tiers = MapBuilder::new();
    for default in crate::spec::default_tiers(w.nominal_length()) {
        let (name, default) = (default.name.as_str(), default.tier);
        match a.tiers.iter().find(|t| t.name == name) {
            None => tiers = tiers.put(name, MapBuilder::new().put("enabled", Yaml::raw("false")).flow()),
            Some(t) if t.tier == default && t.pending.is_none() => {}
            Some(named) => {
                let t = &named.tier;
                let changed = MapBuilder::new()
                    .put_opt("severity", (t.severity != default.severity).then(|| Yaml::raw(t.severity.as_str())))
                    .put_opt("long_window", (t.long_window != default.long_window).then(|| duration(t.long_window)))
                    .put_opt("short_window", (t.short_window != default.short_window).then(|| duration(t.short_window)))
                    .put_opt("burn_rate", (t.burn_rate != default.burn_rate).then(|| decimal(t.burn_rate)))
                    .put_opt("pending", named.pending.map(duration));
                tiers = tiers.put(name, changed.flow());
            }
        }
    }
    for t in a.tiers.iter().filter(|t| !math::DEFAULT_TIER_NAMES.contains(&t.name.as_str())) {
        let full = MapBuilder::new()
            .put("severity", Yaml::raw(t.tier.severity.as_str()))
            .put("long_window", duration(t.tier.long_window))
            .put("short_window", duration(t.tier.short_window))
            .put("burn_rate", decimal(t.tier.burn_rate))
            .put_opt("pending", t.pending.map(duration));
        tiers = tiers.put(&t.name, full.flow());
    }
    let tiers = (!tiers.is_empty()).then(|| tiers.build());
    let r = &a.route;
    let map = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| string_map(m));
    let extras = |e: &crate::spec::AlertExtras| {
        (!e.is_empty()).then(|| {
            MapBuilder::new().put_opt("labels", map(&e.labels)).put_opt("annotations", map(&e.annotations)).build()
        })
    };
    let body = MapBuilder::new()
        .put_opt("no_data", a.no_data.map(duration))
        .put_opt("tiers", tiers)
        .put_opt("name", r.name.as_ref().map(Yaml::str))
        .put_opt("labels", map(&r.labels))
        .put_opt("annotations", map(&r.annotations))
        .put_opt("page", extras(&r.page))
        .put_opt("ticket", extras(&r.ticket));
    (!body.is_empty()).then(|| body.build())
}

fn composite(c: &Composite) -> Yaml {
    let components = c
        .components
        .iter()
        .map(|k| {
            MapBuilder::new()
                .put("slo", Yaml::str(&k.slo))
                .put_opt("weight", (k.weight != rust_decimal::Decimal::ONE).then(|| decimal(k.weight)))
                .flow()
        })
        .collect();
    MapBuilder::new()
        .put("id", Yaml::str(&c.id))
        .put("objective", Yaml::raw(c.objective))
        .put("components", Yaml::Seq(components))
        .build()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn specs() -> Vec<Spec> {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let paths = [crate_dir.join("../app/slos"), crate_dir.join("tests/fixtures/specs")];
        super::super::load_paths(&paths).unwrap_or_else(|d| panic!("specs load:\n{d}"))
    }

    #[test]
    fn every_spec_reads_back_equal_from_its_written_yaml() {
        let specs = specs();
        assert!(specs.len() >= 3);
        for spec in specs {
            let text = to_yaml(&spec);
            let mut back = super::super::load_str(Path::new("written.yaml"), &text)
                .unwrap_or_else(|d| panic!("{}:\n{d}\n{text}", spec.source.display()));
            back.source = spec.source.clone();
            assert_eq!(back, spec, "{}", spec.source.display());
        }
    }

    #[test]
    fn defaults_are_left_to_the_loader() {
        let spec = specs().into_iter().find(|s| s.service == "fulfillment").expect("the fulfillment spec");
        let text = to_yaml(&Spec { policy: ErrorBudgetPolicy::default(), ..spec.clone() });
        assert!(!text.contains("error_budget_policy"), "the default policy is not written:\n{text}");
        assert!(to_yaml(&spec).contains("  gate:\n"), "a policy with a gate is written with it");
        assert!(text.contains("slow-ticket: { enabled: false }"), "a removed tier is written:\n{text}");
        assert_eq!(text.matches("tiers:").count(), 1, "only the SLO with a removed tier has tiers:\n{text}");
    }
}
