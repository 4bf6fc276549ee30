//! The spec file as written: serde structures that keep every value's position
//! ([`marked_yaml::Spanned`]) so that validation in [`super::load`] can point at it. Scalars
//! stay strings here; they become typed values only once validated.

use std::fmt;
use std::marker::PhantomData;

use marked_yaml::Spanned;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

pub(super) type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpec {
    pub service: Text,
    pub time_zone: Option<Text>,
    pub labels: Option<Ordered<Text, Text>>,
    pub dashboard: Option<Text>,
    pub error_budget_policy: Option<RawPolicy>,
    #[serde(default)]
    pub maintenance: Vec<RawMaintenance>,
    pub metrics: Option<Ordered<Text, RawMetric>>,
    pub journeys: Ordered<Text, RawJourney>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetric {
    #[serde(rename = "type")]
    pub kind: Text,
    #[serde(default)]
    pub labels: Vec<Text>,
    #[serde(default)]
    pub buckets: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJourney {
    pub description: Option<Text>,
    #[serde(default)]
    pub slos: Vec<RawSlo>,
    pub composite: Option<RawComposite>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlo {
    pub id: Text,
    pub description: Option<Text>,
    pub objective: Text,
    pub window: Text,
    pub budgeting: Option<Spanned<RawBudgeting>>,
    pub sli: Spanned<RawSli>,
    pub min_events_per_hour: Option<Text>,
    pub labels: Option<Ordered<Text, Text>>,
    pub alerting: Option<RawAlerting>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawBudgeting {
    Occurrences,
    Timeslices(Box<RawTimeslices>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimeslices {
    pub slice: Text,
    pub target: Text,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawSli {
    Ratio(RawRatio),
    Latency(RawHistogramSli),
    Freshness(RawHistogramSli),
    Promql(RawRatio),
}

/// `good` or `bad`, over `total`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRatio {
    pub good: Option<Text>,
    pub bad: Option<Text>,
    pub total: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHistogramSli {
    pub histogram: Text,
    pub threshold: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerting {
    pub tiers: Option<Ordered<Text, RawTier>>,
    pub no_data: Option<Text>,
    pub name: Option<Text>,
    pub labels: Option<Ordered<Text, Text>>,
    pub annotations: Option<Ordered<Text, Text>>,
    pub page: Option<RawAlertExtras>,
    pub ticket: Option<RawAlertExtras>,
}

/// Labels and annotations for the alerts of one severity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlertExtras {
    pub labels: Option<Ordered<Text, Text>>,
    pub annotations: Option<Ordered<Text, Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTier {
    pub enabled: Option<Spanned<bool>>,
    pub severity: Option<Text>,
    pub long_window: Option<Text>,
    pub short_window: Option<Text>,
    pub burn_rate: Option<Text>,
    pub pending: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawComposite {
    pub id: Text,
    pub objective: Text,
    pub components: Vec<RawComponent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawComponent {
    pub slo: Text,
    pub weight: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub reject: Option<RawThresholds>,
    pub warn: Option<RawThresholds>,
    pub exceptions: Option<Vec<Text>>,
    pub gate: Option<RawGate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGate {
    pub environments: Option<Ordered<Text, RawGateEnvironment>>,
    pub max_staleness: Option<Text>,
    pub hold_deadline: Option<Text>,
    pub shadow: Option<Spanned<bool>>,
    #[serde(default)]
    pub freeze: Vec<RawMaintenance>,
    pub verification: Option<RawVerification>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGateEnvironment {
    #[serde(default)]
    pub journeys: Vec<Text>,
    #[serde(default)]
    pub slos: Vec<Text>,
    pub reject: Option<RawThresholds>,
    pub shadow: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVerification {
    pub window: Text,
    pub rollback_workflow: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThresholds {
    pub budget_remaining_below: Option<Text>,
    pub burn_rate_above: Option<Text>,
    pub burn_window: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMaintenance {
    pub name: Text,
    pub start: Option<Text>,
    pub end: Option<Text>,
    pub weekly: Option<Spanned<RawWeekly>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeekly {
    pub on: Text,
    pub at: Text,
    #[serde(rename = "for")]
    pub duration: Text,
}

/// A mapping that keeps its keys in file order (journeys are reported in the order written).
#[derive(Debug)]
pub(super) struct Ordered<K, V>(pub Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Ordered<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<K, V> {
            type Value = Ordered<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}
