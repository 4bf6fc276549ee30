//! The JSON that the `kura.dev/` annotations carry (written by `generate::openslo`): the error
//! budget policy, maintenance windows and metric declarations of a spec, which OpenSLO v1 has
//! no fields for.

#[allow(clippy::wildcard_imports)]
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonPolicy {
    reject: Option<JsonThresholds>,
    warn: Option<JsonThresholds>,
    exceptions: Option<Vec<String>>,
    gate: Option<JsonGate>,
}

/// The policy's `gate:` (environments as a list, to keep their order).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonGate {
    #[serde(default)]
    environments: Vec<JsonGateEnvironment>,
    max_staleness: Option<String>,
    hold_deadline: Option<String>,
    #[serde(default)]
    shadow: bool,
    #[serde(default)]
    freeze: Vec<JsonMaintenance>,
    verification: Option<String>,
    rollback_workflow: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonGateEnvironment {
    name: String,
    #[serde(default)]
    journeys: Vec<String>,
    #[serde(default)]
    slos: Vec<String>,
    reject: Option<JsonThresholds>,
    #[serde(default)]
    shadow: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonThresholds {
    budget_remaining_below: Option<String>,
    burn_rate_above: Option<String>,
    burn_window: Option<String>,
}

impl JsonPolicy {
    pub(super) fn into_policy(self, zone: &TimeZone) -> Result<ErrorBudgetPolicy, String> {
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
        let duration = |s: Option<String>, default: SignedDuration| match s {
            Some(d) => math::parse_duration(&d).map_err(|e| format!("`{d}` is not a duration: {e}")),
            None => Ok(default),
        };
        let gate = match self.gate {
            None => GatePolicy::default(),
            Some(g) => {
                let d = GatePolicy::default();
                let mut environments = Vec::new();
                for e in g.environments {
                    let reject = e.reject.map(|t| level(Some(t), defaults.reject.clone())).transpose()?;
                    environments.push(GateEnvironment {
                        name: e.name,
                        journeys: e.journeys,
                        slos: e.slos,
                        reject,
                        shadow: e.shadow,
                    });
                }
                GatePolicy {
                    environments,
                    max_staleness: duration(g.max_staleness, d.max_staleness)?,
                    hold_deadline: duration(g.hold_deadline, d.hold_deadline)?,
                    shadow: g.shadow,
                    freeze: g.freeze.into_iter().map(|f| f.into_maintenance(zone)).collect::<Result<_, _>>()?,
                    verification: g.verification.map(|v| duration(Some(v), SignedDuration::ZERO)).transpose()?,
                    rollback_workflow: g.rollback_workflow,
                }
            }
        };
        Ok(ErrorBudgetPolicy {
            reject: level(self.reject, defaults.reject.clone())?,
            warn: level(self.warn, defaults.warn)?,
            exceptions: self.exceptions.unwrap_or(defaults.exceptions),
            gate,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonMaintenance {
    name: String,
    start: Option<String>,
    end: Option<String>,
    weekly: Option<JsonWeekly>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonWeekly {
    on: String,
    at: String,
    #[serde(rename = "for")]
    duration: String,
}

impl JsonMaintenance {
    pub(super) fn into_maintenance(self, zone: &TimeZone) -> Result<Maintenance, String> {
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
pub(super) struct JsonMetric {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    buckets: Vec<String>,
}

impl JsonMetric {
    pub(super) fn into_declaration(self) -> Result<MetricDeclaration, String> {
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

/// `kura.dev/alert-route`: the burn alerts' name, labels and annotations.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonRoute {
    name: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    page: JsonExtras,
    #[serde(default)]
    ticket: JsonExtras,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct JsonExtras {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl JsonRoute {
    pub(super) fn into_route(self) -> crate::spec::AlertRoute {
        let extras = |e: JsonExtras| crate::spec::AlertExtras { labels: e.labels, annotations: e.annotations };
        crate::spec::AlertRoute {
            name: self.name,
            labels: self.labels,
            annotations: self.annotations,
            page: extras(self.page),
            ticket: extras(self.ticket),
        }
    }
}
