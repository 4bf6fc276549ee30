//! The gate's decision, a pure function of its [`Inputs`]. Rules, in order:
//!
//! 1. An environment the policy does not list (when it lists any) is not gated: approve.
//! 2. An approved override in scope (service, environment, sha or time range, not expired)
//!    approves, and says so.
//! 3. Each gating SLO (the environment's journeys and SLOs, or all of the service's) is judged:
//!    * no evaluation, one older than `max_staleness`, or one with status `no-data` → hold;
//!    * budget remaining (percent) below `budget_remaining_below` → reject;
//!    * burn rate over `burn_window` above `burn_rate_above` → reject, unless a maintenance
//!      window covers the SLO (a planned outage's burn is not held against the change).
//! 4. An open freeze window → reject.
//! 5. A rejection for budget, burn or freeze is lifted by an exception: a change label, or a
//!    commit trailer `Kura-Exception: <label>`, listed in the policy's `exceptions`. The
//!    decision approves and names the exception.
//! 6. Otherwise any hold holds -- until `hold_deadline` after the deploy was first asked
//!    about, then it rejects, saying so. Missing data is never an approval.
//! 7. Shadow mode (the policy's or the environment's) turns any outcome into an approval that
//!    says what it would have been.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::controller::Current;
use crate::eval::{Evaluation, Status};
use crate::maintenance::Window;
use crate::math::{Severity, format_duration};
use crate::spec::{PolicyThresholds, Spec};

use super::Override;

/// The commit trailer that names an exception label (`Kura-Exception: hotfix`).
pub const EXCEPTION_TRAILER: &str = "kura-exception";

/// A commit sha: 7 to 40 hexadecimal digits, kept lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha(String);

impl Sha {
    pub fn parse(s: &str) -> Result<Sha, String> {
        let s = s.trim();
        if (7..=40).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Sha(s.to_ascii_lowercase()))
        } else {
            Err(format!("`{s}` is not a commit sha (7 to 40 hexadecimal digits)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` names the same commit (one may be abbreviated).
    pub fn matches(&self, other: &Sha) -> bool {
        self.0.starts_with(&other.0) || other.0.starts_with(&self.0)
    }
}

impl TryFrom<String> for Sha {
    type Error = String;

    fn try_from(s: String) -> Result<Sha, String> {
        Sha::parse(&s)
    }
}

impl From<Sha> for String {
    fn from(s: Sha) -> String {
        s.0
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The change asking to go out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    pub service: String,
    pub environment: String,
    pub sha: Sha,
    /// The branch or tag (`main`), when known.
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    /// Labels of the change (pull request or deployment).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Commit trailers, `Key: value`.
    #[serde(default)]
    pub trailers: Vec<String>,
}

/// What the gate decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Reject,
    Hold,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
            Verdict::Hold => "hold",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Approve, Verdict::Reject, Verdict::Hold].into_iter().find(|v| v.as_str() == s)
    }

    /// As a past participle, for sentences ("would have rejected").
    pub fn past(self) -> &'static str {
        match self {
            Verdict::Approve => "approved",
            Verdict::Reject => "rejected",
            Verdict::Hold => "held",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why, as a stable code (the API, tests and dashboards match on it) with words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReasonCode {
    /// The policy does not gate this environment.
    NotGated,
    /// Every gating SLO is within the policy.
    Healthy,
    BudgetBelow,
    BurnAbove,
    /// The SLO has no evaluation yet.
    Missing,
    /// Its evaluation is older than `max_staleness`.
    Stale,
    /// Its evaluation says `no-data`.
    NoData,
    /// A maintenance window covers the SLO: its burn rate is not judged.
    InMaintenance,
    Freeze,
    /// An exception label or trailer lifted a rejection.
    Exception,
    /// A break-glass override approved the change.
    Override,
    /// Data was still missing at the hold deadline.
    Deadline,
    /// Shadow mode: what the gate would have done.
    Shadow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reason {
    pub code: ReasonCode,
    /// The SLO it is about, if one.
    pub slo: Option<String>,
    pub message: String,
}

/// One gating SLO's numbers as the gate read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub slo: String,
    pub journey: String,
    /// Percent of the error budget left.
    pub budget_remaining_percent: Option<f64>,
    pub budget_threshold: Option<String>,
    /// Burn rate over `burn_window`.
    pub burn_rate: Option<f64>,
    pub burn_window: String,
    pub burn_threshold: Option<String>,
    #[schema(value_type = Option<String>)]
    pub evaluated_at: Option<Timestamp>,
    /// What this SLO alone says.
    pub verdict: Verdict,
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// What is enforced.
    pub verdict: Verdict,
    /// What the policy says before shadow mode (equal to `verdict` unless shadowed).
    pub would_have: Verdict,
    pub shadow: bool,
    /// The exception label that lifted a rejection.
    pub exception: Option<String>,
    /// The override that approved it.
    pub override_id: Option<i64>,
    pub reasons: Vec<Reason>,
    pub slos: Vec<Finding>,
}

/// Everything a decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The deploying service's spec (its SLOs and policy).
    pub spec: &'a Spec,
    /// The controller's current evaluations (any service's; the spec's are read).
    pub evaluations: &'a Current,
    /// Maintenance windows from every origin (open ones count).
    pub maintenance: &'a [Window],
    /// Overrides (unapproved, expired and out-of-scope ones have no effect).
    pub overrides: &'a [Override],
    pub deploy: &'a Deploy,
    pub now: Timestamp,
    /// When this deploy (service, environment, sha) was first asked about: the hold deadline
    /// counts from here.
    pub first_seen: Timestamp,
}

fn reason(code: ReasonCode, slo: Option<&str>, message: String) -> Reason {
    Reason { code, slo: slo.map(str::to_owned), message }
}

/// The burn rate over `window` from an evaluation's tiers: a tier whose long (or short) window
/// is that long; otherwise the highest page tier's long-window rate.
fn burn_over(e: &Evaluation, window: SignedDuration) -> Option<f64> {
    let w = format_duration(window);
    e.burn_rates
        .iter()
        .find(|t| t.long_window == w)
        .map(|t| t.long_burn_rate)
        .or_else(|| e.burn_rates.iter().find(|t| t.short_window == w).map(|t| t.short_burn_rate))
        .unwrap_or_else(|| {
            e.burn_rates
                .iter()
                .filter(|t| t.severity == Severity::Page)
                .filter_map(|t| t.long_burn_rate)
                .max_by(f64::total_cmp)
        })
}

/// See the module docs.
pub fn decide(inputs: &Inputs<'_>) -> Decision {
    let Inputs { spec, evaluations, maintenance, overrides, deploy, now, first_seen } = *inputs;
    let policy = &spec.policy;
    let gate = &policy.gate;
    let environment = gate.environments.iter().find(|e| e.name == deploy.environment);
    let shadow = gate.shadow || environment.is_some_and(|e| e.shadow);
    let finish = |verdict: Verdict,
                  mut reasons: Vec<Reason>,
                  slos: Vec<Finding>,
                  exception: Option<String>,
                  override_id: Option<i64>| {
        let enforced = if shadow && verdict != Verdict::Approve {
            reasons.push(reason(
                ReasonCode::Shadow,
                None,
                format!("shadow mode: would have {}; approved without enforcing", verdict.past()),
            ));
            Verdict::Approve
        } else {
            verdict
        };
        Decision { verdict: enforced, would_have: verdict, shadow, exception, override_id, reasons, slos }
    };

    if !gate.environments.is_empty() && environment.is_none() {
        let message = format!("environment `{}` is not gated by {}'s policy", deploy.environment, spec.service);
        return finish(Verdict::Approve, vec![reason(ReasonCode::NotGated, None, message)], Vec::new(), None, None);
    }
    let thresholds: &PolicyThresholds = environment.and_then(|e| e.reject.as_ref()).unwrap_or(&policy.reject);
    let gating = |journey: &str, slo: &str| match environment {
        Some(e) if !(e.journeys.is_empty() && e.slos.is_empty()) => {
            e.journeys.iter().any(|j| j == journey) || e.slos.iter().any(|s| s == slo)
        }
        _ => true,
    };

    let mut reasons = Vec::new();
    let mut findings = Vec::new();
    for slo in spec.slos().filter(|s| gating(&s.journey, &s.id)) {
        let window = format_duration(thresholds.burn_window);
        let mut finding = Finding {
            slo: slo.id.clone(),
            journey: slo.journey.clone(),
            budget_remaining_percent: None,
            budget_threshold: thresholds.budget_remaining_below.map(|d| d.normalize().to_string()),
            burn_rate: None,
            burn_window: window.clone(),
            burn_threshold: thresholds.burn_rate_above.map(|d| d.normalize().to_string()),
            evaluated_at: None,
            verdict: Verdict::Approve,
        };
        let id = Some(slo.id.as_str());
        let Some(e) = evaluations.get(&spec.key(slo)) else {
            finding.verdict = Verdict::Hold;
            reasons.push(reason(ReasonCode::Missing, id, format!("{}: not evaluated yet", slo.id)));
            findings.push(finding);
            continue;
        };
        finding.evaluated_at = Some(e.evaluated_at);
        finding.budget_remaining_percent = e.budget_remaining.map(|r| r * 100.0);
        finding.burn_rate = burn_over(e, thresholds.burn_window);
        let age = now.duration_since(e.evaluated_at);
        if age > gate.max_staleness {
            finding.verdict = Verdict::Hold;
            reasons.push(reason(
                ReasonCode::Stale,
                id,
                format!(
                    "{}: last evaluated {} ago, more than the policy's {}",
                    slo.id,
                    format_duration(SignedDuration::from_secs(age.as_secs())),
                    format_duration(gate.max_staleness)
                ),
            ));
            findings.push(finding);
            continue;
        }
        if e.status == Status::NoData {
            finding.verdict = Verdict::Hold;
            let why = e.reason.as_deref().unwrap_or("no events");
            reasons.push(reason(ReasonCode::NoData, id, format!("{}: no data ({why})", slo.id)));
            findings.push(finding);
            continue;
        }
        if let (Some(left), Some(below)) = (finding.budget_remaining_percent, thresholds.budget_remaining_below)
            && (left < below.to_f64().unwrap_or(0.0) || e.status == Status::Exhausted)
        {
            finding.verdict = Verdict::Reject;
            reasons.push(reason(
                ReasonCode::BudgetBelow,
                id,
                format!("{}: {left:.1}% of the error budget left, below the policy's {}%", slo.id, below.normalize()),
            ));
        }
        let covered =
            e.in_maintenance || maintenance.iter().any(|w| w.covers(&spec.service, &slo.journey, &slo.id, now));
        if let (Some(rate), Some(above)) = (finding.burn_rate, thresholds.burn_rate_above)
            && rate > above.to_f64().unwrap_or(f64::INFINITY)
        {
            if covered {
                reasons.push(reason(
                    ReasonCode::InMaintenance,
                    id,
                    format!("{}: burning {rate:.1}× over {window} inside a maintenance window; not judged", slo.id),
                ));
            } else {
                finding.verdict = Verdict::Reject;
                reasons.push(reason(
                    ReasonCode::BurnAbove,
                    id,
                    format!("{}: burning {rate:.1}× over {window}, above the policy's {}×", slo.id, above.normalize()),
                ));
            }
        }
        findings.push(finding);
    }

    if let Some(o) = overrides.iter().find(|o| o.applies_to(deploy, now)) {
        let message = format!(
            "override #{} by {}, approved by {}, until {}: {}",
            o.id,
            o.initiator,
            o.approver.as_deref().unwrap_or("?"),
            o.ends_at.strftime("%Y-%m-%d %H:%M UTC"),
            o.reason
        );
        reasons.push(reason(ReasonCode::Override, None, message));
        return finish(Verdict::Approve, reasons, findings, None, Some(o.id));
    }

    if let Some(f) = crate::eval::open_window(&gate.freeze, &spec.time_zone, now) {
        reasons.push(reason(ReasonCode::Freeze, None, format!("freeze window `{}` is open", f.name())));
    }
    let rejected =
        reasons.iter().any(|r| matches!(r.code, ReasonCode::BudgetBelow | ReasonCode::BurnAbove | ReasonCode::Freeze));
    let held = findings.iter().any(|f| f.verdict == Verdict::Hold);
    if rejected {
        if let Some(label) = exception(policy.exceptions.as_slice(), deploy) {
            reasons.push(reason(
                ReasonCode::Exception,
                None,
                format!("exception `{label}`: the rejection is lifted and the use recorded"),
            ));
            // An exception lifts a rejection, not missing data.
            let verdict = if held {
                hold_or_deadline(&mut reasons, gate.hold_deadline, now, first_seen)
            } else {
                Verdict::Approve
            };
            return finish(verdict, reasons, findings, Some(label), None);
        }
        return finish(Verdict::Reject, reasons, findings, None, None);
    }
    if held {
        let verdict = hold_or_deadline(&mut reasons, gate.hold_deadline, now, first_seen);
        return finish(verdict, reasons, findings, None, None);
    }
    let n = findings.len();
    reasons.push(reason(
        ReasonCode::Healthy,
        None,
        format!("{n} SLO{} within {}'s error-budget policy", if n == 1 { "" } else { "s" }, spec.service),
    ));
    finish(Verdict::Approve, reasons, findings, None, None)
}

fn hold_or_deadline(
    reasons: &mut Vec<Reason>,
    deadline: SignedDuration,
    now: Timestamp,
    first_seen: Timestamp,
) -> Verdict {
    let due = first_seen.checked_add(deadline).unwrap_or(first_seen);
    if now >= due {
        reasons.push(reason(
            ReasonCode::Deadline,
            None,
            format!(
                "data still missing or stale {} after the first request (hold deadline)",
                format_duration(deadline)
            ),
        ));
        Verdict::Reject
    } else {
        Verdict::Hold
    }
}

/// The first exception label the change carries: a label, or a `Kura-Exception:` trailer.
fn exception(exceptions: &[String], deploy: &Deploy) -> Option<String> {
    let trailers = deploy.trailers.iter().filter_map(|t| {
        let (key, value) = t.split_once(':')?;
        key.trim().eq_ignore_ascii_case(EXCEPTION_TRAILER).then(|| value.trim())
    });
    deploy
        .labels
        .iter()
        .map(String::as_str)
        .chain(trailers)
        .find(|l| exceptions.iter().any(|e| e.eq_ignore_ascii_case(l)))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::eval::TierBurn;
    use crate::spec::SloKey;

    const SPEC: &str = r#"
service: shop
time_zone: UTC
error_budget_policy:
  reject: { budget_remaining_below: 10, burn_rate_above: 14.4, burn_window: 1h }
  exceptions: [hotfix, rollback, security]
  gate:
    environments:
      production: { journeys: [checkout] }
      staging: { shadow: true }
    max_staleness: 5m
    hold_deadline: 30m
    freeze:
      - { name: year-end, start: "2026-12-28T00:00:00Z", end: "2027-01-04T00:00:00Z" }
journeys:
  checkout:
    slos:
      - id: checkout-availability
        objective: 99.9
        window: 28d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="checkout", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="checkout"}
  search:
    slos:
      - id: search-availability
        objective: 99
        window: 28d
        sli:
          ratio:
            bad: http_server_request_duration_seconds_count{journey="search", http_response_status_code=~"5.."}
            total: http_server_request_duration_seconds_count{journey="search"}
"#;

    fn spec() -> Spec {
        crate::spec::load_str(Path::new("shop.yaml"), SPEC).expect("a valid spec")
    }

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().expect("instant")
    }

    fn eval(slo: &str, journey: &str, left: f64, burn: f64, age_secs: i64, status: Status) -> Evaluation {
        Evaluation {
            service: "shop".into(),
            journey: journey.into(),
            slo: slo.into(),
            evaluated_at: now() - SignedDuration::from_secs(age_secs),
            status,
            reason: None,
            sli: Some(0.999),
            budget_remaining: Some(left),
            budget_consumed: Some(1.0 - left),
            burn_rates: vec![TierBurn {
                tier: "fast-page".into(),
                severity: Severity::Page,
                long_window: "1h".into(),
                short_window: "5m".into(),
                long_burn_rate: Some(burn),
                short_burn_rate: Some(burn),
                threshold: "14.4".into(),
                firing: burn > 14.4,
            }],
            time_to_exhaustion_seconds: None,
            in_maintenance: false,
        }
    }

    fn current(evals: Vec<Evaluation>) -> Current {
        evals.into_iter().map(|e| (SloKey::new(&e.service, &e.slo), e)).collect()
    }

    fn healthy() -> Current {
        current(vec![
            eval("checkout-availability", "checkout", 0.8, 0.5, 30, Status::Ok),
            eval("search-availability", "search", 0.02, 20.0, 30, Status::Burning),
        ])
    }

    fn deploy(env: &str) -> Deploy {
        Deploy {
            service: "shop".into(),
            environment: env.into(),
            sha: Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("sha"),
            git_ref: Some("main".into()),
            labels: Vec::new(),
            trailers: Vec::new(),
        }
    }

    fn run(spec: &Spec, evals: &Current, d: &Deploy, overrides: &[Override], at: Timestamp) -> Decision {
        decide(&Inputs { spec, evaluations: evals, maintenance: &[], overrides, deploy: d, now: at, first_seen: now() })
    }

    fn codes(d: &Decision) -> Vec<ReasonCode> {
        d.reasons.iter().map(|r| r.code).collect()
    }

    #[test]
    fn a_healthy_budget_approves_and_only_the_environments_journeys_gate() {
        let d = run(&spec(), &healthy(), &deploy("production"), &[], now());

        assert_eq!(d.verdict, Verdict::Approve);
        assert_eq!(codes(&d), vec![ReasonCode::Healthy]);
        assert_eq!(d.slos.len(), 1, "search does not gate production");
        assert_eq!(d.slos[0].budget_remaining_percent, Some(80.0));
    }

    #[test]
    fn a_budget_below_the_threshold_rejects() {
        let evals = current(vec![eval("checkout-availability", "checkout", 0.05, 0.5, 30, Status::Warning)]);

        let d = run(&spec(), &evals, &deploy("production"), &[], now());

        assert_eq!((d.verdict, codes(&d)), (Verdict::Reject, vec![ReasonCode::BudgetBelow]));
        assert!(d.reasons[0].message.contains("5.0% of the error budget left"), "{:?}", d.reasons);
    }

    #[test]
    fn a_burn_above_the_threshold_rejects_unless_a_maintenance_window_covers_it() {
        let evals = current(vec![eval("checkout-availability", "checkout", 0.9, 20.0, 30, Status::Burning)]);
        let d = run(&spec(), &evals, &deploy("production"), &[], now());
        assert_eq!((d.verdict, codes(&d)), (Verdict::Reject, vec![ReasonCode::BurnAbove]));

        let window = Window {
            id: Some(1),
            origin: crate::maintenance::Origin::Api,
            service: "shop".into(),
            journey: None,
            slo: None,
            starts_at: now() - SignedDuration::from_hours(1),
            ends_at: Some(now() + SignedDuration::from_hours(1)),
            reason: "db upgrade".into(),
            author: Some("kaito".into()),
        };
        let spec = spec();
        let dep = deploy("production");
        let inputs = Inputs {
            spec: &spec,
            evaluations: &evals,
            maintenance: std::slice::from_ref(&window),
            overrides: &[],
            deploy: &dep,
            now: now(),
            first_seen: now(),
        };
        let d = decide(&inputs);
        assert_eq!(d.verdict, Verdict::Approve);
        assert!(codes(&d).contains(&ReasonCode::InMaintenance));
    }

    #[test]
    fn an_exception_label_or_trailer_lifts_a_rejection_and_is_named() {
        let evals = current(vec![eval("checkout-availability", "checkout", -0.2, 30.0, 30, Status::Exhausted)]);
        let mut d = deploy("production");
        d.labels = vec!["hotfix".into()];

        let by_label = run(&spec(), &evals, &d, &[], now());
        d.labels.clear();
        d.trailers = vec!["Kura-Exception: security".into()];
        let by_trailer = run(&spec(), &evals, &d, &[], now());
        d.trailers = vec!["Signed-off-by: security".into()];
        let other_trailer = run(&spec(), &evals, &d, &[], now());

        assert_eq!((by_label.verdict, by_label.exception.as_deref()), (Verdict::Approve, Some("hotfix")));
        assert!(codes(&by_label).contains(&ReasonCode::Exception));
        assert_eq!((by_trailer.verdict, by_trailer.exception.as_deref()), (Verdict::Approve, Some("security")));
        assert_eq!(other_trailer.verdict, Verdict::Reject);
    }

    #[test]
    fn missing_stale_or_no_data_holds_then_rejects_at_the_deadline() {
        let missing = run(&spec(), &Current::new(), &deploy("production"), &[], now());
        let stale = current(vec![eval("checkout-availability", "checkout", 0.9, 0.1, 600, Status::Ok)]);
        let stale_d = run(&spec(), &stale, &deploy("production"), &[], now());
        let no_data = current(vec![eval("checkout-availability", "checkout", 0.9, 0.1, 10, Status::NoData)]);
        let no_data_d = run(&spec(), &no_data, &deploy("production"), &[], now());
        let later = now() + SignedDuration::from_mins(31);
        let late = run(&spec(), &Current::new(), &deploy("production"), &[], later);

        assert_eq!((missing.verdict, codes(&missing)), (Verdict::Hold, vec![ReasonCode::Missing]));
        assert_eq!((stale_d.verdict, codes(&stale_d)), (Verdict::Hold, vec![ReasonCode::Stale]));
        assert_eq!((no_data_d.verdict, codes(&no_data_d)), (Verdict::Hold, vec![ReasonCode::NoData]));
        assert_eq!((late.verdict, codes(&late)), (Verdict::Reject, vec![ReasonCode::Missing, ReasonCode::Deadline]));
    }

    #[test]
    fn an_exception_does_not_approve_missing_data() {
        let mut d = deploy("production");
        d.labels = vec!["hotfix".into()];

        let decision = run(&spec(), &Current::new(), &d, &[], now());

        assert_eq!(decision.verdict, Verdict::Hold);
    }

    #[test]
    fn a_freeze_window_rejects_unless_an_exception_is_carried() {
        let in_freeze: Timestamp = "2026-12-30T10:00:00Z".parse().expect("instant");
        let mut evals = healthy();
        for e in evals.values_mut() {
            e.evaluated_at = in_freeze;
        }

        let frozen = run(&spec(), &evals, &deploy("production"), &[], in_freeze);
        let mut d = deploy("production");
        d.labels = vec!["rollback".into()];
        let rollback = run(&spec(), &evals, &d, &[], in_freeze);

        assert_eq!((frozen.verdict, codes(&frozen)), (Verdict::Reject, vec![ReasonCode::Freeze]));
        assert_eq!(rollback.verdict, Verdict::Approve);
    }

    #[test]
    fn shadow_mode_approves_and_says_what_it_would_have_done() {
        let evals = current(vec![eval("search-availability", "search", -0.5, 30.0, 30, Status::Exhausted)]);

        let d = run(&spec(), &evals, &deploy("staging"), &[], now());

        assert_eq!((d.verdict, d.would_have, d.shadow), (Verdict::Approve, Verdict::Reject, true));
        assert!(d.reasons.iter().any(|r| r.code == ReasonCode::Shadow && r.message.contains("would have rejected")));
    }

    #[test]
    fn an_environment_the_policy_does_not_list_is_not_gated() {
        let d = run(&spec(), &Current::new(), &deploy("qa"), &[], now());

        assert_eq!((d.verdict, codes(&d)), (Verdict::Approve, vec![ReasonCode::NotGated]));
    }

    fn an_override(approver: Option<&str>, env: &str, sha: Option<&str>, ends_in_mins: i64) -> Override {
        Override {
            id: 7,
            service: "shop".into(),
            environment: env.into(),
            sha: sha.map(|s| Sha::parse(s).expect("sha")),
            starts_at: now() - SignedDuration::from_mins(5),
            ends_at: now() + SignedDuration::from_mins(ends_in_mins),
            reason: "payment outage fix".into(),
            initiator: "aiko".into(),
            approver: approver.map(str::to_owned),
            approved_at: approver.map(|_| now()),
            created_at: now(),
        }
    }

    #[test]
    fn an_approved_override_in_scope_approves_and_nothing_else_does() {
        let evals = current(vec![eval("checkout-availability", "checkout", -0.2, 30.0, 30, Status::Exhausted)]);
        let d = deploy("production");

        let approved = run(&spec(), &evals, &d, &[an_override(Some("kenji"), "production", None, 60)], now());
        let unapproved = run(&spec(), &evals, &d, &[an_override(None, "production", None, 60)], now());
        let other_env = run(&spec(), &evals, &d, &[an_override(Some("kenji"), "staging", None, 60)], now());
        let other_sha =
            run(&spec(), &evals, &d, &[an_override(Some("kenji"), "production", Some("fedcba9"), 60)], now());
        let expired = run(&spec(), &evals, &d, &[an_override(Some("kenji"), "production", None, -1)], now());
        let same_sha =
            run(&spec(), &evals, &d, &[an_override(Some("kenji"), "production", Some("0123456"), 60)], now());

        assert_eq!((approved.verdict, approved.override_id), (Verdict::Approve, Some(7)));
        assert!(codes(&approved).contains(&ReasonCode::Override));
        assert_eq!(same_sha.verdict, Verdict::Approve);
        for d in [unapproved, other_env, other_sha, expired] {
            assert_eq!((d.verdict, d.override_id), (Verdict::Reject, None));
        }
    }

    #[test]
    fn the_same_inputs_give_the_same_decision() {
        let evals = current(vec![eval("checkout-availability", "checkout", 0.05, 20.0, 30, Status::Burning)]);

        let a = run(&spec(), &evals, &deploy("production"), &[], now());
        let b = run(&spec(), &evals, &deploy("production"), &[], now());

        assert_eq!(a, b);
    }

    #[test]
    fn a_sha_is_hex_and_matches_its_abbreviation() {
        let full = Sha::parse("0123456789ABCDEF0123456789abcdef01234567").expect("sha");
        assert_eq!(full.as_str(), "0123456789abcdef0123456789abcdef01234567");
        assert!(full.matches(&Sha::parse("0123456").expect("short")));
        assert!(!full.matches(&Sha::parse("1123456").expect("short")));
        assert!(Sha::parse("main").is_err());
        assert!(Sha::parse("012345").is_err());
    }
}
