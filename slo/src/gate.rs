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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;

use crate::controller::{Controller, Current};
use crate::maintenance::Window;
use crate::spec::Specs;
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
    let mut conn = c.db().writer().acquire().await?;
    let mut findings = store::StoredFindings::default();
    Ok(store::insert(&mut conn, &mut findings, deploy, &decision, origin, delivery, now).await?)
}

/// The decision for `deploy` at `now`, not stored.
pub async fn evaluate(c: &Controller, deploy: &Deploy, now: Timestamp) -> Result<Decision, GateError> {
    Context::load(c, &[deploy], now).await?.decide(deploy, now)
}

/// What decisions read besides the deploy itself -- specs, current evaluations, maintenance
/// windows, overrides, when each deploy was first asked about -- read once, so that every
/// decision of a worker pass shares one set of reads instead of repeating them per deploy.
#[derive(Debug)]
pub struct Context {
    specs: Arc<Specs>,
    current: Arc<Current>,
    /// Windows stored and given with `--maintenance` (each spec's own are added per decision).
    windows: Vec<Window>,
    overrides: HashMap<String, Vec<Override>>,
    /// Per service, when each (environment, sha) was first decided.
    first_seen: HashMap<String, HashMap<(String, String), Timestamp>>,
}

impl Context {
    /// Reads what deciding `deploys` at `now` needs: the maintenance windows once, then the
    /// overrides and the first-seen times once per service.
    pub async fn load(c: &Controller, deploys: &[&Deploy], now: Timestamp) -> Result<Context, sqlx::Error> {
        let mut windows: Vec<Window> = c.service_windows().iter().cloned().collect();
        windows.extend(crate::maintenance::list(c.db(), now).await?);
        let mut shas: BTreeMap<&str, Vec<&Sha>> = BTreeMap::new();
        for deploy in deploys {
            shas.entry(deploy.service.as_str()).or_default().push(&deploy.sha);
        }
        let mut overrides = HashMap::new();
        let mut first_seen = HashMap::new();
        for (service, shas) in shas {
            overrides.insert(service.to_owned(), overrides::active(c.db(), service, now).await?);
            first_seen.insert(service.to_owned(), store::first_seen(c.db(), service, &shas).await?);
        }
        Ok(Context { specs: c.specs(), current: c.current(), windows, overrides, first_seen })
    }

    /// The decision for `deploy` at `now`: the same as [`evaluate`] gives, for a deploy this
    /// context was loaded for.
    pub fn decide(&self, deploy: &Deploy, now: Timestamp) -> Result<Decision, GateError> {
        let spec = self
            .specs
            .iter()
            .find(|s| s.service == deploy.service)
            .ok_or_else(|| GateError::UnknownService(deploy.service.clone()))?;
        let mut windows = crate::maintenance::spec_windows(spec, now);
        windows.extend(self.windows.iter().cloned());
        let key = (deploy.environment.clone(), deploy.sha.as_str().to_owned());
        let first_seen = self.first_seen.get(&deploy.service).and_then(|m| m.get(&key)).copied().unwrap_or(now);
        let no_overrides = Vec::new();
        Ok(decide(&Inputs {
            spec,
            evaluations: &self.current,
            maintenance: &windows,
            overrides: self.overrides.get(&deploy.service).unwrap_or(&no_overrides),
            deploy,
            now,
            first_seen,
        }))
    }
}

/// The dashboard link of a service's decisions, from the controller's external URL.
pub fn dashboard_link(c: &Controller, service: &str) -> String {
    format!("{}{}", c.config().external_url.trim_end_matches('/'), crate::dashboard::html::deploys_href(service))
}
