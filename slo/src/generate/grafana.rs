//! A Grafana dashboard for journey SLOs (`slo generate grafana`). Its Prometheus data source is
//! the dashboard variable `datasource` (type `datasource`, plugin `prometheus`) and every panel
//! and query uses `${datasource}`, so the same file works through Dashboards → Import, file
//! provisioning and GitOps tools (an `__inputs` placeholder such as `${DS_PROMETHEUS}` is only
//! substituted by the UI import). `__requires` lists what it needs. JSON model schema version
//! 39 (Grafana 10.4 and later).
//!
//! The panels read only the recording rules that [`super::prometheus`] generates, so the
//! dashboard shows exactly what the alerts evaluate (`<budget>` is the objective's error
//! budget as an exact decimal, `<w>` a duration as [`format_duration`] writes it):
//!
//! | Panel                         | Query                                                            |
//! |-------------------------------|------------------------------------------------------------------|
//! | `<id>: error budget left`     | `slo:error_budget_remaining:ratio` (stat, last value)            |
//! | `<id>: burn rate`             | `slo:sli_error:ratio_rate<w> / <budget>`, one per tier long window |
//! | `<id>: SLI vs objective`      | `1 - slo:sli_error:ratio_rate<window>` and `slo:objective:ratio` |
//!
//! Every selector pins `service` and `slo` and applies the `$service` and `$journey` template
//! variables (query variables over `slo:objective:ratio`, "All" by default). A calendar window
//! is read from the rolling range the rules record for it (`month` → `30d`, `quarter` →
//! `90d`), and the panel says so. A journey's composite gets a budget stat and an SLI panel of
//! its own (`<composite> (journey): ...`; it has no burn alerts).
//!
//! Colours: the budget stat is red below the error-budget policy's
//! `reject.budget_remaining_below` (default 0 %), orange below `warn.budget_remaining_below`
//! (default 25 %), green above. The burn-rate panel draws each tier's burn rate as a threshold
//! line, red when a tier at that rate pages and orange when it only tickets; the SLI panel draws
//! the objective as a dashed red line. Descriptions come from the spec (the SLO's and the
//! journey's), and SLO panels link to the spec's `dashboard` template.
//!
//! Layout: a full-width row per journey (`<service> / <journey>: <description>`), then bands
//! 8 units high: the composite (stat w 6, SLI w 18), then per SLO stat (w 6), burn rate (w 9)
//! and SLI (w 9). Panel ids count up from 1 in spec order. The dashboard `uid` is
//! `kura-slo-<services joined by ->`, or `kura-slo-<FNV-1a of the names>` past Grafana's 40
//! characters. Object keys are sorted, so the text is reproducible byte for byte whichever
//! serde_json features the build enables.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use super::{GenerateError, Kind};
use crate::math::{Objective, Severity, Window, format_duration};
use crate::spec::{Budgeting, Composite, JourneySlos, Slo, Spec};

/// Height of one SLO's band of panels, in grid units.
const BAND_HEIGHT: u32 = 8;
/// Grafana's uid limit.
const UID_MAX: usize = 40;

/// The data source every query uses: the `datasource` dashboard variable.
fn datasource() -> Value {
    json!({ "type": "prometheus", "uid": "${datasource}" })
}

/// The data source variable: any Prometheus data source, the default one unless chosen.
fn datasource_variable() -> Value {
    json!({
        "name": "datasource",
        "label": "Data source",
        "description": "The Prometheus (or Thanos, Mimir) that evaluates the rules from `slo generate prometheus`.",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "options": [],
        "refresh": 1,
        "regex": "",
        "includeAll": false,
        "multi": false,
        "hide": 0,
        "skipUrlSync": false,
    })
}

/// One dashboard for all `specs`, a row per journey.
pub fn generate(specs: &[Spec]) -> Result<String, GenerateError> {
    let mut layout = Layout::default();
    let mut panels = Vec::new();
    for spec in specs {
        for journey in &spec.journeys {
            panels.push(layout.row(spec, journey));
            if let Some(composite) = &journey.composite {
                panels.extend(composite_panels(&mut layout, spec, journey, composite));
            }
            for slo in &journey.slos {
                panels.extend(slo_panels(&mut layout, spec, journey, slo));
            }
        }
    }
    let services: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
    let sources: Vec<String> = specs.iter().map(|s| s.source.display().to_string()).collect();
    let zones: Vec<&str> = specs.iter().map(|s| s.time_zone.as_str()).collect();
    let timezone = match zones.first() {
        Some(zone) if zones.iter().all(|z| z == zone) => *zone,
        _ => "utc",
    };
    let mut dashboard = json!({
        "__requires": [
            { "type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0" },
            { "type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0" },
            { "type": "panel", "id": "stat", "name": "Stat", "version": "" },
            { "type": "panel", "id": "timeseries", "name": "Time series", "version": "" },
        ],
        "annotations": { "list": [{
            "builtIn": 1,
            "datasource": { "type": "grafana", "uid": "-- Grafana --" },
            "enable": true,
            "hide": true,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "description": format!(
            "Generated by `slo generate grafana` from {}. Do not edit: change the spec and regenerate.",
            if sources.is_empty() { "no specs".to_string() } else { sources.join(", ") }
        ),
        "editable": true,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": null,
        "links": [],
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": ["kura", "slo"],
        "templating": { "list": [
            datasource_variable(),
            variable("service", "Service", "label_values(slo:objective:ratio, service)"),
            variable("journey", "Journey", "label_values(slo:objective:ratio{service=~\"$service\"}, journey)"),
        ]},
        "time": { "from": "now-7d", "to": "now" },
        "timepicker": {},
        "timezone": timezone,
        "title": format!("Kura SLOs: {}", services.join(", ")),
        "uid": uid(&services),
        "version": 1,
        "weekStart": "",
    });
    dashboard.sort_all_objects();
    let mut text = serde_json::to_string_pretty(&dashboard).map_err(|e| GenerateError {
        kind: Kind::Grafana,
        service: services.join(","),
        slo: String::new(),
        what: format!("the dashboard as JSON ({e})"),
    })?;
    text.push('\n');
    Ok(text)
}

/// A query variable over the SLOs' own series, "All" by default.
fn variable(name: &str, label: &str, query: &str) -> Value {
    json!({
        "name": name,
        "label": label,
        "type": "query",
        "datasource": datasource(),
        "definition": query,
        "query": { "qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery" },
        "refresh": 2,
        "includeAll": true,
        "allValue": ".*",
        "multi": true,
        "current": { "selected": true, "text": ["All"], "value": ["$__all"] },
        "options": [],
        "regex": "",
        "sort": 1,
        "hide": 0,
        "skipUrlSync": false,
    })
}

/// `kura-slo-<services>`, or a stable hash of the names when that is too long for Grafana.
fn uid(services: &[&str]) -> String {
    let readable = format!("kura-slo-{}", services.join("-"));
    if readable.len() <= UID_MAX {
        return readable;
    }
    // FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in services.join("\n").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("kura-slo-{hash:016x}")
}

/// Panel ids and grid positions, handed out top to bottom.
#[derive(Default)]
struct Layout {
    next_id: u32,
    y: u32,
}

impl Layout {
    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn row(&mut self, spec: &Spec, journey: &JourneySlos) -> Value {
        let row = json!({
            "type": "row",
            "id": self.id(),
            "title": format!("{} / {}: {}", spec.service, journey.name, journey.description.trim()),
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": self.y },
            "panels": [],
        });
        self.y += 1;
        row
    }

    /// The top of the next band of panels.
    fn band(&mut self) -> u32 {
        let y = self.y;
        self.y += BAND_HEIGHT;
        y
    }
}

/// What a band of panels is about: an SLO or a journey's composite.
struct Subject<'a> {
    spec: &'a Spec,
    id: &'a str,
    /// What panel titles call it: the SLO id, or the composite id marked as the journey's.
    name: String,
    /// Whether the spec's `dashboard` link template has a page for it (SLOs, not composites).
    linked: bool,
    objective: &'a Objective,
    window: &'a Window,
    timeslices: bool,
    /// The description every panel of the band starts with.
    about: String,
}

impl Subject<'_> {
    /// The subject's series, narrowed by the template variables.
    fn selector(&self) -> String {
        format!(
            "{{service=\"{}\", slo=\"{}\", service=~\"$service\", journey=~\"$journey\"}}",
            escape(&self.spec.service),
            escape(self.id)
        )
    }

    fn links(&self) -> Vec<Value> {
        self.spec
            .dashboard_link(self.id)
            .filter(|_| self.linked)
            .map(|url| json!({ "title": format!("{} in the Kura SLO controller", self.id), "url": url, "targetBlank": true }))
            .into_iter()
            .collect()
    }
}

/// The stat, burn-rate and SLI panels of one SLO, side by side.
fn slo_panels(layout: &mut Layout, spec: &Spec, journey: &JourneySlos, slo: &Slo) -> Vec<Value> {
    let subject = Subject {
        spec,
        id: &slo.id,
        name: slo.id.clone(),
        linked: true,
        objective: &slo.objective,
        window: &slo.window,
        timeslices: matches!(slo.budgeting, Budgeting::Timeslices { .. }),
        about: describe(journey, slo),
    };
    let y = layout.band();
    vec![
        budget_stat(layout.id(), &subject, grid(0, y, 6)),
        burn_panel(layout.id(), &subject, slo, grid(6, y, 9)),
        sli_panel(layout.id(), &subject, grid(15, y, 9)),
    ]
}

/// The journey as a whole: the composite's budget and SLI (it has no alerts of its own).
fn composite_panels(layout: &mut Layout, spec: &Spec, journey: &JourneySlos, composite: &Composite) -> Vec<Value> {
    // The composite's window is its SLOs' (the Prometheus generator refuses mixed windows).
    let Some(window) =
        journey.slos.iter().find(|s| composite.components.iter().any(|c| c.slo == s.id)).map(|s| &s.window)
    else {
        return Vec::new();
    };
    let parts: Vec<String> =
        composite.components.iter().map(|c| format!("{} × {}", c.weight.normalize(), c.slo)).collect();
    let subject = Subject {
        spec,
        id: &composite.id,
        name: format!("{} (journey)", composite.id),
        linked: false,
        objective: &composite.objective,
        window,
        timeslices: false,
        about: format!(
            "The {} journey as a whole: the weighted mean of its SLOs' error ratios ({}).",
            journey.name,
            parts.join(", ")
        ),
    };
    let y = layout.band();
    vec![budget_stat(layout.id(), &subject, grid(0, y, 6)), sli_panel(layout.id(), &subject, grid(6, y, 18))]
}

fn grid(x: u32, y: u32, w: u32) -> Value {
    json!({ "h": BAND_HEIGHT, "w": w, "x": x, "y": y })
}

/// Error budget remaining, coloured by the service's error-budget policy.
fn budget_stat(id: u32, subject: &Subject, grid_pos: Value) -> Value {
    let policy = &subject.spec.policy;
    let red_below = policy.reject.budget_remaining_below.unwrap_or(Decimal::ZERO);
    let orange_below = policy.warn.budget_remaining_below.unwrap_or(Decimal::new(25, 0));
    json!({
        "type": "stat",
        "id": id,
        "title": format!("{}: error budget left", subject.name),
        "description": format!(
            "{}\n\nShare of the error budget ({}% objective over {}) left. Red below {}%, orange below {}% \
             (the service's error-budget policy).",
            subject.about, subject.objective, subject.window, red_below.normalize(), orange_below.normalize()
        ),
        "datasource": datasource(),
        "gridPos": grid_pos,
        "links": subject.links(),
        "targets": [target("A", &format!("slo:error_budget_remaining:ratio{}", subject.selector()), "budget left")],
        "fieldConfig": {
            "defaults": {
                "unit": "percentunit",
                "decimals": 1,
                "color": { "mode": "thresholds" },
                "thresholds": { "mode": "absolute", "steps": [
                    { "color": "red", "value": null },
                    { "color": "orange", "value": number(red_below / Decimal::ONE_HUNDRED) },
                    { "color": "green", "value": number(orange_below / Decimal::ONE_HUNDRED) },
                ]},
            },
            "overrides": [],
        },
        "options": {
            "colorMode": "background",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
            "showPercentChange": false,
            "textMode": "auto",
            "wideLayout": true,
        },
    })
}

/// Burn rate over each tier's long window, with each tier's burn rate as a threshold line.
fn burn_panel(id: u32, subject: &Subject, slo: &Slo, grid_pos: Value) -> Value {
    let budget = subject.objective.budget().normalize();
    let selector = subject.selector();
    let mut windows: Vec<SignedDuration> = slo.alerting.tiers.iter().map(|t| t.tier.long_window).collect();
    windows.sort();
    windows.dedup();
    let targets: Vec<Value> = windows
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let w = format_duration(*w);
            target(&ref_id(i), &format!("slo:sli_error:ratio_rate{w}{selector} / {budget}"), &w)
        })
        .collect();
    // One line per distinct burn rate: red when any tier at that rate pages, orange otherwise.
    let mut lines: BTreeMap<Decimal, (&'static str, Vec<String>)> = BTreeMap::new();
    for named in &slo.alerting.tiers {
        let tier = &named.tier;
        let entry = lines.entry(tier.burn_rate.normalize()).or_insert(("orange", Vec::new()));
        if tier.severity == Severity::Page {
            entry.0 = "red";
        }
        entry.1.push(format!(
            "{} {} ({}/{}, {})",
            named.name,
            tier.burn_rate.normalize(),
            format_duration(tier.long_window),
            format_duration(tier.short_window),
            tier.severity
        ));
    }
    let mut steps = vec![json!({ "color": "green", "value": null })];
    steps.extend(lines.iter().map(|(rate, (color, _))| json!({ "color": color, "value": number(*rate) })));
    let tiers_text = if lines.is_empty() {
        "No burn tiers are enabled.".to_string()
    } else {
        format!(
            "Lines: {}.",
            lines.values().flat_map(|(_, names)| names.iter().cloned()).collect::<Vec<_>>().join("; ")
        )
    };
    json!({
        "type": "timeseries",
        "id": id,
        "title": format!("{}: burn rate", subject.name),
        "description": format!(
            "{}\n\nBurn rate over each alerting window: the error ratio{} divided by the error budget ({budget}); \
             1 spends the budget exactly over the {} window. An alert fires when both its long and its short window \
             are above its line. {tiers_text}",
            subject.about,
            if subject.timeslices { " (of slices)" } else { "" },
            subject.window
        ),
        "datasource": datasource(),
        "gridPos": grid_pos,
        "links": subject.links(),
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": "none",
                "decimals": 2,
                "min": 0,
                "color": { "mode": "palette-classic" },
                "custom": timeseries_style("line+area"),
                "thresholds": { "mode": "absolute", "steps": steps },
            },
            "overrides": [],
        },
        "options": timeseries_options(),
    })
}

/// The SLI over the window against the objective, drawn as a dashed line.
fn sli_panel(id: u32, subject: &Subject, grid_pos: Value) -> Value {
    let selector = subject.selector();
    let range = window_range(subject.window);
    json!({
        "type": "timeseries",
        "id": id,
        "title": format!("{}: SLI vs objective", subject.name),
        "description": format!(
            "{}\n\nThe SLI over {} (1 - error ratio{}) against the {}% objective.",
            subject.about,
            window_note(subject.spec, subject.window),
            if subject.timeslices { ", counting slices" } else { "" },
            subject.objective
        ),
        "datasource": datasource(),
        "gridPos": grid_pos,
        "links": subject.links(),
        "targets": [
            target("A", &format!("1 - slo:sli_error:ratio_rate{range}{selector}"), &format!("SLI ({range})")),
            target("B", &format!("slo:objective:ratio{selector}"), "objective"),
        ],
        "fieldConfig": {
            "defaults": {
                "unit": "percentunit",
                "decimals": 3,
                "color": { "mode": "palette-classic" },
                "custom": timeseries_style("off"),
                "thresholds": { "mode": "absolute", "steps": [
                    { "color": "red", "value": null },
                    { "color": "green", "value": number(subject.objective.target()) },
                ]},
            },
            "overrides": [{
                "matcher": { "id": "byName", "options": "objective" },
                "properties": [
                    { "id": "color", "value": { "fixedColor": "red", "mode": "fixed" } },
                    { "id": "custom.lineStyle", "value": { "dash": [10, 10], "fill": "dash" } },
                ],
            }],
        },
        "options": timeseries_options(),
    })
}

fn describe(journey: &JourneySlos, slo: &Slo) -> String {
    let mut text =
        if slo.description.trim().is_empty() { format!("SLO {}.", slo.id) } else { slo.description.trim().to_string() };
    if !journey.description.trim().is_empty() {
        text.push_str(&format!(" Journey {}: {}", journey.name, journey.description.trim()));
    }
    text
}

/// The range of the SLO window's recording rule: the window's nominal length, which is how
/// [`super::prometheus`] stands in for a calendar window (a rolling 30d for `month`).
fn window_range(window: &Window) -> String {
    format_duration(window.nominal_length())
}

/// How the SLI panel describes the window it shows.
fn window_note(spec: &Spec, window: &Window) -> String {
    match window {
        Window::Rolling(_) => format!("the SLO's {window} window"),
        Window::Calendar { .. } => format!(
            "a rolling {} standing for the SLO's calendar {window} in {} (the controller keeps the exact calendar figure)",
            window_range(window),
            spec.time_zone
        ),
    }
}

/// A range query (the stat's sparkline needs one too).
fn target(ref_id: &str, expr: &str, legend: &str) -> Value {
    json!({
        "datasource": datasource(),
        "expr": expr,
        "legendFormat": legend,
        "refId": ref_id,
        "instant": false,
        "range": true,
    })
}

/// `A`, `B`, ... `Z`, `AA`, ...
fn ref_id(index: usize) -> String {
    let mut n = index;
    let mut id = String::new();
    loop {
        id.insert(0, char::from(b'A' + (n % 26) as u8));
        if n < 26 {
            return id;
        }
        n = n / 26 - 1;
    }
}

fn timeseries_style(thresholds: &str) -> Value {
    json!({
        "drawStyle": "line",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "fillOpacity": 0,
        "showPoints": "never",
        "spanNulls": false,
        "axisPlacement": "auto",
        "scaleDistribution": { "type": "linear" },
        "thresholdsStyle": { "mode": thresholds },
    })
}

fn timeseries_options() -> Value {
    json!({
        "legend": { "calcs": ["lastNotNull", "max"], "displayMode": "table", "placement": "bottom", "showLegend": true },
        "tooltip": { "mode": "multi", "sort": "desc" },
    })
}

/// A JSON number from a decimal (Grafana thresholds are floats).
fn number(value: Decimal) -> Value {
    value.normalize().to_f64().map_or(Value::Null, Value::from)
}

/// A PromQL label value inside double quotes.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}
