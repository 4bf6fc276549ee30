//! The deploy gate: "may this change go out now?", answered from the service's error-budget
//! policy (`error_budget_policy` in its spec) and the controller's current evaluations.
//!
//! * [`decide`] -- the decision itself, pure: the same [`Inputs`] give the same [`Decision`]
//!   (verdict and reasons) whichever path asked (`slo gate`, a commit status and check run, a
//!   GitHub protection-rule review).
//! * [`report`] -- the decision as words: the review comment (≤ 1,024 characters), the
//!   commit status line (≤ 140), the check run and `slo gate`'s output.
//! * [`store`] -- decisions kept with their inputs and reasons (`slo_gate_decision`), listed by
//!   `GET /api/v1/decisions`; [`overrides`] -- break-glass overrides (`slo_gate_override`).
//!
//! Outcomes: `approve`, `reject`, or `hold` when data is missing or stale. A hold is
//! re-evaluated until the data comes back and becomes a rejection at the policy's
//! `hold_deadline`; it never becomes an approval by default. In shadow mode the gate records
//! what it would have decided and approves.

pub mod decide;
pub mod overrides;
pub mod report;
pub mod store;

pub use decide::{Decision, Deploy, Finding, Inputs, Reason, ReasonCode, Sha, Verdict, decide};
pub use overrides::Override;

use jiff::Timestamp;

use crate::controller::Controller;
use store::{Delivery, Origin, StoredDecision};

/// Why the gate could not decide.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// No spec declares the service: nothing to decide with.
    #[error("no spec declares service `{0}`")]
    UnknownService(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Decides `deploy` at `now` from what the controller knows -- its specs, current evaluations,
/// maintenance windows from every origin, and the service's overrides -- and stores the
/// decision. The one entry point of every path (API, protection rule, commit status), so they
/// agree.
#[tracing::instrument(skip_all, fields(service = %deploy.service, environment = %deploy.environment, sha = %deploy.sha))]
pub async fn judge(
    c: &Controller,
    deploy: &Deploy,
    origin: Origin,
    delivery: Delivery,
    now: Timestamp,
) -> Result<StoredDecision, GateError> {
    let decision = evaluate(c, deploy, now).await?;
    Ok(record(c, deploy, &decision, origin, delivery, now).await?)
}

/// Stores `decision` on `deploy` (a hold has nothing to deliver yet).
pub async fn record(
    c: &Controller,
    deploy: &Deploy,
    decision: &Decision,
    origin: Origin,
    delivery: Delivery,
    now: Timestamp,
) -> Result<StoredDecision, sqlx::Error> {
    let delivery = if decision.verdict == Verdict::Hold { Delivery::None } else { delivery };
    store::insert(c.db(), deploy, decision, origin, delivery, now).await
}

/// The decision for `deploy` at `now`, not stored.
pub async fn evaluate(c: &Controller, deploy: &Deploy, now: Timestamp) -> Result<Decision, GateError> {
    let specs = c.specs();
    let spec = specs
        .iter()
        .find(|s| s.service == deploy.service)
        .ok_or_else(|| GateError::UnknownService(deploy.service.clone()))?;
    let mut windows: Vec<crate::maintenance::Window> = crate::maintenance::spec_windows(spec, now);
    windows.extend(c.service_windows().iter().cloned());
    windows.extend(crate::maintenance::list(c.db(), now).await?);
    let overrides = overrides::active(c.db(), &deploy.service, now).await?;
    let first_seen = store::first_seen(c.db(), deploy).await?.unwrap_or(now);
    let current = c.current();
    Ok(decide(&Inputs {
        spec,
        evaluations: &current,
        maintenance: &windows,
        overrides: &overrides,
        deploy,
        now,
        first_seen,
    }))
}

/// The dashboard link of a service's decisions, from the controller's external URL.
pub fn dashboard_link(c: &Controller, service: &str) -> String {
    format!("{}{}", c.config().external_url.trim_end_matches('/'), crate::dashboard::html::deploys_href(service))
}
