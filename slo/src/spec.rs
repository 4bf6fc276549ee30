//! SLO specs: the validated model of a service's journey SLOs, loaded from Kura's native
//! YAML format (one file per service, journeys inside) by [`load`], with every problem
//! reported as `file:line:column: message`.
//!
//! ```yaml
//! service: fulfillment
//! time_zone: Asia/Tokyo            # calendar windows and maintenance are in this zone
//! journeys:
//!   create-shipment:
//!     description: A shipper creates an outbound request.
//!     slos:
//!       - id: create-shipment-availability
//!         objective: 99.9            # percent, decimal-exact
//!         window: 28d                # or month | quarter | week
//!         sli:
//!           ratio:
//!             bad: http_server_request_duration_seconds_count{journey="create-shipment", http_response_status_code=~"5.."}
//!             total: http_server_request_duration_seconds_count{journey="create-shipment"}
//! ```
//!
//! The full format, with every key, is documented in `slo/README.md`.

pub mod catalogue;
mod diagnostic;
mod load;
pub mod promql;
mod raw;
pub mod selector;
mod write;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use jiff::SignedDuration;
use rust_decimal::Decimal;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use load::{DEFAULT_TIME_ZONE, load, load_paths, load_paths_with, load_str, load_str_with};
pub use selector::{MatchOp, Matcher, Selector};
pub use write::to_yaml;

use crate::math::{BurnTier, Objective, Window};

/// Every service's SLOs found under some paths, in path order.
pub type Specs = Vec<Spec>;

/// Where a path `dashboard` template points unless a command is told otherwise: the SLO
/// controller's default listen address.
pub const DEFAULT_EXTERNAL_URL: &str = "http://127.0.0.1:8090";

/// An SLO's identity wherever the controller keeps or matches one (readings, evaluations,
/// history, alerts): its service and its id, which is unique within the service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SloKey {
    pub service: String,
    pub slo: String,
}

impl SloKey {
    pub fn new(service: impl Into<String>, slo: impl Into<String>) -> SloKey {
        SloKey { service: service.into(), slo: slo.into() }
    }
}

impl fmt::Display for SloKey {
    /// `service/slo`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.slo)
    }
}

/// One service's SLOs: the content of one spec file.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The file it was read from (for messages and generated-file comments).
    pub source: PathBuf,
    /// The service that owns these SLOs, e.g. `fulfillment`.
    pub service: String,
    /// IANA name of the zone calendar windows and weekly maintenance are in (default `Asia/Tokyo`).
    pub time_zone: String,
    /// Extra labels put on every generated rule and alert (e.g. `team: fulfillment`).
    pub labels: BTreeMap<String, String>,
    /// A link template for alerts and generated rules and dashboards, as written: an http(s)
    /// URL, or a path on the SLO controller (`/slos/{service}/{slo}`) resolved against
    /// [`Spec::external_url`]; `{service}` and `{slo}` are replaced ([`Spec::dashboard_link`]).
    pub dashboard: Option<String>,
    /// Where a path `dashboard` template points: the SLO controller's external URL. Not read from
    /// the file: [`DEFAULT_EXTERNAL_URL`] unless the command is told another
    /// (`--external-url`).
    pub external_url: String,
    /// What the deploy gate does as the budget burns.
    pub policy: ErrorBudgetPolicy,
    /// Planned maintenance: events in these windows are excluded from every budget.
    pub maintenance: Vec<Maintenance>,
    /// Metrics the SLIs use beyond Kura's own metric contract, declared so that the linter can
    /// still check names, labels and bucket bounds (imported specs declare theirs here).
    pub metrics: Vec<MetricDeclaration>,
    pub journeys: Vec<JourneySlos>,
}

/// A metric family an SLI relies on, declared in the spec (`metrics:`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDeclaration {
    /// The family name: `http_requests` for a counter exposed as `http_requests_total`,
    /// `http_request_duration_seconds` for a histogram.
    pub name: String,
    pub kind: catalogue::MetricKind,
    pub labels: Vec<String>,
    /// Histogram bucket bounds in seconds (histograms only).
    pub buckets: Vec<Decimal>,
}

impl Spec {
    /// Every SLO of every journey, in file order.
    pub fn slos(&self) -> impl Iterator<Item = &Slo> {
        self.journeys.iter().flat_map(|j| j.slos.iter())
    }

    pub fn slo(&self, id: &str) -> Option<&Slo> {
        self.slos().find(|s| s.id == id)
    }

    /// The key of `slo`, one of this spec's SLOs.
    pub fn key(&self, slo: &Slo) -> SloKey {
        SloKey::new(&self.service, &slo.id)
    }

    /// The dashboard template with a path made absolute against [`Spec::external_url`]; the
    /// placeholders are left in.
    pub fn dashboard_template(&self) -> Option<String> {
        self.dashboard.as_ref().map(|t| {
            if t.starts_with('/') { format!("{}{t}", self.external_url.trim_end_matches('/')) } else { t.clone() }
        })
    }

    /// The dashboard link for one SLO of this spec, if the spec declares a template. Service and
    /// SLO ids are lowercase words and digits joined by `-`, safe in a URL as they are.
    pub fn dashboard_link(&self, slo: &str) -> Option<String> {
        self.dashboard_template().map(|t| t.replace("{service}", &self.service).replace("{slo}", slo))
    }
}

/// One critical user journey and the SLOs that measure it.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneySlos {
    /// The journey name, the same string as the service's `journey` metric label.
    pub name: String,
    pub description: String,
    pub slos: Vec<Slo>,
    /// The journey as a whole: a weighted combination of its SLOs.
    pub composite: Option<Composite>,
}

/// One service level objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// Unique within the spec; lowercase words joined by `-`.
    pub id: String,
    /// The journey it belongs to.
    pub journey: String,
    pub description: String,
    pub objective: Objective,
    pub window: Window,
    pub budgeting: Budgeting,
    pub sli: Sli,
    /// Below this many events per hour the SLO reports "insufficient data" instead of paging.
    pub min_events_per_hour: Option<Decimal>,
    /// Labels put on this SLO's generated rules and alerts besides the spec's (imported
    /// formats such as Sloth label each SLO).
    pub labels: BTreeMap<String, String>,
    pub alerting: Alerting,
}

/// How the error budget is counted (OpenSLO `budgetingMethod`).
#[derive(Debug, Clone, PartialEq)]
pub enum Budgeting {
    /// Every event weighs the same: the SLI is good events / all events (the default).
    Occurrences,
    /// Time is cut into slices; a slice is good when its own SLI meets `target`, and the SLI
    /// is good slices / all slices.
    Timeslices { slice: SignedDuration, target: Objective },
}

/// Whether a ratio's numerator counts good or bad events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Good,
    Bad,
}

impl fmt::Display for Counting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Counting::Good => "good",
            Counting::Bad => "bad",
        })
    }
}

/// What is measured. All but [`Sli::Promql`] are structured, so both a PromQL source and the
/// controller's own scraper can evaluate them.
#[derive(Debug, Clone, PartialEq)]
pub enum Sli {
    /// Good (or bad) events over all events, from two counter selectors.
    Ratio { counting: Counting, numerator: Selector, total: Selector },
    /// The fraction of a histogram's observations at or under `threshold` seconds (a bucket bound).
    Latency { histogram: Selector, threshold: Threshold },
    /// The fraction of events processed within `threshold` seconds of happening, from a lag
    /// histogram (a bucket bound).
    Freshness { histogram: Selector, threshold: Threshold },
    /// Raw PromQL, for the Prometheus source only. Both queries are instant-vector expressions
    /// in which `{{.window}}` stands for the range (e.g. `5m`).
    Promql { counting: Counting, numerator: String, total: String },
}

impl Sli {
    /// The SLI kind as written in the spec (`ratio`, `latency`, `freshness`, `promql`).
    pub fn kind(&self) -> &'static str {
        match self {
            Sli::Ratio { .. } => "ratio",
            Sli::Latency { .. } => "latency",
            Sli::Freshness { .. } => "freshness",
            Sli::Promql { .. } => "promql",
        }
    }
}

/// A histogram bucket bound in seconds, kept with the decimal it was written as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub seconds: Decimal,
}

impl Threshold {
    pub fn as_f64(&self) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        self.seconds.to_f64().unwrap_or(f64::NAN)
    }

    /// The bucket's `le` label as Prometheus 3 stores it (`0.3`, `1.0`, `2.5`).
    pub fn le_label(&self) -> String {
        let s = self.seconds.normalize().to_string();
        if s.contains('.') { s } else { format!("{s}.0") }
    }
}

/// Burn-rate alerting for one SLO: the multi-window tiers that apply and the no-data alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerting {
    /// Enabled tiers, fastest first, each with its name (`fast-page`, `slow-page`,
    /// `fast-ticket`, `slow-ticket`).
    pub tiers: Vec<NamedTier>,
    /// Alert when the SLI has had no events for this long; `None` disables it.
    pub no_data: Option<SignedDuration>,
    /// What the burn alerts are called and carry, so that routes written for another tool keep
    /// working after an import.
    pub route: AlertRoute,
}

/// The name, labels and annotations of an SLO's burn alerts (`alerting.name`, `labels`,
/// `annotations`, `page` and `ticket`). Kura's own labels (`slo`, `journey`, `service`,
/// `severity`, `long_window`, `short_window`) win over same-named ones in the native rule
/// file; `slo generate prometheus --compat sloth` keeps a `severity` given here.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertRoute {
    /// The alert name under `--compat sloth` (the native name is always `ErrorBudgetBurn`).
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Extra labels and annotations of the page tiers' alerts.
    pub page: AlertExtras,
    /// Extra labels and annotations of the ticket tiers' alerts.
    pub ticket: AlertExtras,
}

impl AlertRoute {
    pub fn is_empty(&self) -> bool {
        *self == AlertRoute::default()
    }

    /// The extras of one severity.
    pub fn extras(&self, severity: crate::math::Severity) -> &AlertExtras {
        match severity {
            crate::math::Severity::Page => &self.page,
            crate::math::Severity::Ticket => &self.ticket,
        }
    }
}

/// Labels and annotations added to the alerts of one severity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertExtras {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl AlertExtras {
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.annotations.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedTier {
    pub name: String,
    pub tier: BurnTier,
    /// How long the tier's condition must hold before the alert fires (Prometheus `for:`,
    /// OpenSLO `alertAfter`); `None` fires at once.
    pub pending: Option<SignedDuration>,
}

/// The default tiers of an SLO whose window is `window_len` long, named: the Workbook's table
/// ([`crate::math::DEFAULT_TIERS`]) read for that window.
pub fn default_tiers(window_len: SignedDuration) -> Vec<NamedTier> {
    crate::math::DEFAULT_TIERS
        .iter()
        .filter_map(|d| d.for_window(window_len).map(|tier| NamedTier { name: d.name.to_owned(), tier, pending: None }))
        .collect()
}

/// A journey-level SLO combining the journey's SLOs, weighted.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite {
    pub id: String,
    pub objective: Objective,
    pub components: Vec<CompositeComponent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompositeComponent {
    pub slo: String,
    pub weight: Decimal,
}

/// Error-budget policy: thresholds at which the deploy gate rejects or warns, and the change
/// labels that may pass anyway.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBudgetPolicy {
    pub reject: PolicyThresholds,
    pub warn: PolicyThresholds,
    /// Labels (on the pull request or deployment) that let a change through a rejection,
    /// e.g. `hotfix`, `rollback`, `security`. Every use is audited. A commit trailer
    /// `Kura-Exception: <label>` counts as the label.
    pub exceptions: Vec<String>,
    /// How the deploy gate applies the thresholds: environments, freezes, data freshness.
    pub gate: GatePolicy,
}

/// The deploy gate's part of the policy (`error_budget_policy.gate`).
#[derive(Debug, Clone, PartialEq)]
pub struct GatePolicy {
    /// The gated environments, by name; empty means every environment is gated by every SLO
    /// with the policy's thresholds.
    pub environments: Vec<GateEnvironment>,
    /// Evaluations older than this say nothing: the gate holds.
    pub max_staleness: SignedDuration,
    /// How long a held decision waits for data before it becomes a rejection.
    pub hold_deadline: SignedDuration,
    /// Record and report what the gate would decide, but always approve.
    pub shadow: bool,
    /// Windows in which no change ships (except under an exception label or an override).
    pub freeze: Vec<Maintenance>,
    /// After a successful deploy, how long the burn rates are watched (`None`: not watched).
    pub verification: Option<SignedDuration>,
    /// The workflow (file name or id) dispatched with the previous good sha when a verified
    /// deploy starts a page-level burn.
    pub rollback_workflow: Option<String>,
}

impl Default for GatePolicy {
    /// Every environment gated, 5 minutes of staleness, a 30-minute hold, no freeze, enforcing.
    fn default() -> Self {
        GatePolicy {
            environments: Vec::new(),
            max_staleness: SignedDuration::from_mins(5),
            hold_deadline: SignedDuration::from_mins(30),
            shadow: false,
            freeze: Vec::new(),
            verification: None,
            rollback_workflow: None,
        }
    }
}

/// One gated environment: which journeys and SLOs decide, with which thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct GateEnvironment {
    pub name: String,
    /// Journeys whose SLOs gate this environment (with `slos`; both empty: every SLO).
    pub journeys: Vec<String>,
    pub slos: Vec<String>,
    /// This environment's rejection thresholds (the policy's `reject` when absent).
    pub reject: Option<PolicyThresholds>,
    /// Shadow mode for this environment alone.
    pub shadow: bool,
}

impl Default for ErrorBudgetPolicy {
    /// Reject when the budget is spent or burning at page speed; warn at a quarter left.
    fn default() -> Self {
        Self {
            reject: PolicyThresholds {
                budget_remaining_below: Some(Decimal::ZERO),
                burn_rate_above: Some(Decimal::new(144, 1)),
                burn_window: SignedDuration::from_hours(1),
            },
            warn: PolicyThresholds {
                budget_remaining_below: Some(Decimal::new(25, 0)),
                burn_rate_above: Some(Decimal::ONE),
                burn_window: SignedDuration::from_hours(6),
            },
            exceptions: vec!["hotfix".into(), "rollback".into(), "security".into()],
            gate: GatePolicy::default(),
        }
    }
}

/// One level of the policy; a threshold that is `None` never triggers.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyThresholds {
    /// Percent of the error budget left (0–100; a spent budget is below 0).
    pub budget_remaining_below: Option<Decimal>,
    /// Burn rate over `burn_window`.
    pub burn_rate_above: Option<Decimal>,
    pub burn_window: SignedDuration,
}

/// A planned maintenance window; events inside it do not count against any budget.
#[derive(Debug, Clone, PartialEq)]
pub enum Maintenance {
    Once {
        name: String,
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    },
    /// Every week on `weekday` from `start` (local time in the spec's zone) for `duration`.
    Weekly {
        name: String,
        weekday: jiff::civil::Weekday,
        start: jiff::civil::Time,
        duration: SignedDuration,
    },
}

impl Maintenance {
    pub fn name(&self) -> &str {
        match self {
            Maintenance::Once { name, .. } | Maintenance::Weekly { name, .. } => name,
        }
    }
}
