//! The GitHub worker (leader only): works off stored deliveries and watches deployed changes.
//!
//! **Deliveries** (`slo_github_delivery`). A due `pending` row is claimed by moving its
//! `next_attempt_at` forward by [`LEASE`] in a conditional update, so two replicas never work
//! one row, and a worker that dies mid-row leaves it to be taken again once the lease runs
//! out: a delivery stored before a crash is decided after the restart. Outcomes: `done`,
//! `ignored`, `failed` (the error kept), or `pending` again at a later time (a hold, or GitHub
//! unavailable).
//!
//! **Protection rules** are worked a pass at a time, in two commits however many there are
//! ([`super::protection`]): exactly one review per run, holds re-decided until their deadline.
//!
//! **Post-deploy verification** (`slo_gate_verification`). A `deployment_status` `success` for
//! a service whose policy has `verification:` starts a watch. If, before `watch_until`, any of
//! the service's SLOs is evaluated with a page-level tier firing, the watch fails once (a
//! conditional update): the deployment gets a `failure` status, on-call is notified through the
//! alerting receivers, the dashboard marks it, and the policy's `rollback_workflow` is
//! dispatched with the previous good sha. Otherwise it passes at `watch_until`.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use sqlx::Row;
use tokio::sync::watch;

use super::payload::{DeploymentStatus, Push, trailers};
use super::{GithubConfig, GithubError};
use crate::alert::{Event, Notification, outbox};
use crate::controller::Controller;
use crate::gate::report::{comment, headline};
use crate::gate::store::{Delivery, Origin, StoredDecision, set_delivery};
use crate::gate::{Deploy, Sha, Verdict};
use crate::math::Severity;

/// How long a claimed delivery is left to its worker before another may take it.
pub const LEASE: SignedDuration = SignedDuration::from_mins(2);
/// Deliveries claimed per pass, worked concurrently.
const BATCH: i64 = 128;
/// The commit status context and check run name.
pub const CHECK_NAME: &str = "slo-gate";

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(Option<i64>),
    Ignored(String),
    /// Try again at this instant (a hold, or GitHub unavailable).
    Retry {
        at: Timestamp,
        decision: Option<i64>,
        status_report: bool,
        error: Option<String>,
    },
    Failed(String),
}

/// Runs until `stop`: every `poll_interval`, or at once when a webhook wakes it, the leader
/// works off due deliveries and checks watched deploys.
pub async fn run(c: Arc<Controller>, config: Arc<GithubConfig>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = config.wake.notified() => {}
            _ = tokio::time::sleep(config.poll_interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if !c.is_leader() {
            continue;
        }
        let now = Timestamp::now();
        if let Err(e) = work_due(&c, &config, now).await {
            tracing::error!(error = %e, "GitHub deliveries: a pass failed; retried");
        }
        if let Err(e) = verify_deploys(&c, &config, Timestamp::now()).await {
            tracing::error!(error = %e, "post-deploy verification: a pass failed; retried");
        }
    }
}

/// A delivery claimed for one pass.
#[derive(Debug)]
pub(super) struct Claimed {
    pub id: String,
    pub event: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub status_reports: i64,
}

/// Claims and works every due delivery (concurrently); returns how many were worked.
pub async fn work_due(c: &Controller, config: &GithubConfig, now: Timestamp) -> Result<usize, sqlx::Error> {
    let claimed = claim_due(c, now).await?;
    let (rules, others): (Vec<&Claimed>, Vec<&Claimed>) =
        claimed.iter().partition(|d| d.event == "deployment_protection_rule");
    let others = futures::future::join_all(others.into_iter().map(|d| work_one(c, config, d, now)));
    let (rules, others) = tokio::join!(super::protection::work(c, config, &rules, now), others);
    rules?;
    others.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(claimed.len())
}

/// Claims the due deliveries, oldest first, in one statement: each one's `next_attempt_at`
/// moves forward by [`LEASE`], so no other worker takes it while this one works it.
async fn claim_due(c: &Controller, now: Timestamp) -> Result<Vec<Claimed>, sqlx::Error> {
    let lease = now.checked_add(LEASE).unwrap_or(now);
    let rows = sqlx::query(
        "update slo_github_delivery set next_attempt_at = $1, attempts = attempts + 1, updated_at = $2 \
         where delivery_id in (select delivery_id from slo_github_delivery \
           where state = 'pending' and next_attempt_at <= $2 order by received_at limit $3) \
         and state = 'pending' and next_attempt_at <= $2 \
         returning delivery_id, event, payload, attempts, status_reports",
    )
    .bind(lease.as_millisecond())
    .bind(now.as_millisecond())
    .bind(BATCH)
    .fetch_all(c.db().writer())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: r.try_get("delivery_id")?,
                event: r.try_get("event")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
                status_reports: r.try_get("status_reports")?,
            })
        })
        .collect()
}

/// Works one claimed delivery that is not a protection rule, and stores its outcome.
async fn work_one(c: &Controller, config: &GithubConfig, d: &Claimed, now: Timestamp) -> Result<(), sqlx::Error> {
    let outcome = match d.event.as_str() {
        "push" => push(c, config, &d.payload, d.attempts, now).await?,
        "deployment_status" => deployment_status(c, config, &d.payload, now).await?,
        other => Outcome::Ignored(format!("event `{other}` is not acted on")),
    };
    finish(&mut *c.db().writer().acquire().await?, d, outcome, now).await
}

/// Stores what became of a claimed delivery.
pub(super) async fn finish(
    conn: &mut sqlx::AnyConnection,
    d: &Claimed,
    outcome: Outcome,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    tracing::info!(delivery = d.id, event = d.event, outcome = ?outcome, "GitHub delivery worked");
    let ms = now.as_millisecond();
    let (state, at, decision, reported, error) = match outcome {
        Outcome::Done(d) => ("done", ms, d, false, None),
        Outcome::Ignored(why) => ("ignored", ms, None, false, Some(why)),
        Outcome::Failed(why) => ("failed", ms, None, false, Some(why)),
        Outcome::Retry { at, decision, status_report, error } => {
            ("pending", at.as_millisecond(), decision, status_report, error)
        }
    };
    sqlx::query(
        "update slo_github_delivery set state = $1, next_attempt_at = $2, \
         slo_gate_decision_id = coalesce($3, slo_gate_decision_id), status_reports = status_reports + $4, \
         last_error = $5, updated_at = $6 where delivery_id = $7",
    )
    .bind(state)
    .bind(at)
    .bind(decision)
    .bind(i64::from(reported))
    .bind(error)
    .bind(ms)
    .bind(&d.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// When a held decision is decided again: `hold_recheck` from `now`.
pub(super) fn recheck_at(config: &GithubConfig, now: Timestamp) -> Timestamp {
    let recheck = SignedDuration::try_from(config.hold_recheck).unwrap_or(SignedDuration::from_mins(1));
    now.checked_add(recheck).unwrap_or(now)
}

/// The wait before retrying a delivery after `attempts` transient failures: 2 s doubling to
/// 5 minutes, as the alert outbox backs off.
pub(super) fn retry_at(now: Timestamp, attempts: i64) -> Timestamp {
    let secs = 2i64.saturating_pow(u32::try_from(attempts.clamp(1, 9)).unwrap_or(9)).min(300);
    now.checked_add(SignedDuration::from_secs(secs)).unwrap_or(now)
}

fn services(c: &Controller) -> Vec<String> {
    c.specs().iter().map(|s| s.service.clone()).collect()
}

pub(super) fn service_for(c: &Controller, config: &GithubConfig, repository: &str) -> Option<String> {
    let all = services(c);
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    config.service_for(repository, &names)
}

/// A push: a commit status and a check run `slo-gate` on its head commit.
async fn push(
    c: &Controller,
    config: &GithubConfig,
    payload: &str,
    attempts: i64,
    now: Timestamp,
) -> Result<Outcome, sqlx::Error> {
    let p: Push = match serde_json::from_str(payload) {
        Ok(p) => p,
        Err(e) => return Ok(Outcome::Failed(format!("not a push payload: {e}"))),
    };
    let Some(service) = service_for(c, config, &p.repository.full_name) else {
        return Ok(Outcome::Failed(format!("no service for repository {}", p.repository.full_name)));
    };
    let Ok(sha) = Sha::parse(&p.after) else { return Ok(Outcome::Ignored("a push without a head commit".into())) };
    let deploy = Deploy {
        service,
        environment: config.status_environment.clone(),
        sha,
        git_ref: Some(p.git_ref.trim_start_matches("refs/heads/").to_owned()),
        labels: Vec::new(),
        trailers: p.head_commit.as_ref().map(|h| trailers(&h.message)).unwrap_or_default(),
    };
    let d = match crate::gate::judge(c, &deploy, Origin::CommitStatus, Delivery::Pending, now).await {
        Ok(d) => d,
        Err(crate::gate::GateError::Database(e)) => return Err(e),
        Err(e) => return Ok(Outcome::Failed(e.to_string())),
    };
    let Some(client) = &config.client else { return Ok(Outcome::Done(Some(d.id))) };
    let repo = &p.repository.full_name;
    let installation = p.installation.id;
    let link = crate::gate::dashboard_link(c, &deploy.service);
    let (delivery, outcome) = match post_checks(client, installation, repo, &deploy, &d, &link).await {
        Ok(()) if d.verdict == Verdict::Hold => {
            let at = recheck_at(config, now);
            return Ok(Outcome::Retry { at, decision: Some(d.id), status_report: false, error: None });
        }
        Ok(()) => ((Delivery::Delivered, None), Outcome::Done(Some(d.id))),
        Err(e) if e.is_transient() => {
            let at = retry_at(now, attempts);
            let error = Some(e.to_string());
            (
                (Delivery::Pending, error.clone()),
                Outcome::Retry { at, decision: Some(d.id), status_report: false, error },
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "GitHub refused the commit status or check run");
            ((Delivery::Failed, Some(e.to_string())), Outcome::Failed(e.to_string()))
        }
    };
    set_delivery(&mut *c.db().writer().acquire().await?, d.id, delivery.0, delivery.1.as_deref(), now).await?;
    Ok(outcome)
}

async fn post_checks(
    client: &super::GithubClient,
    installation: u64,
    repo: &str,
    deploy: &Deploy,
    d: &StoredDecision,
    link: &str,
) -> Result<(), GithubError> {
    let decision = d.decision();
    let line = headline(&decision);
    let state = match d.verdict {
        Verdict::Approve => "success",
        Verdict::Reject => "failure",
        Verdict::Hold => "pending",
    };
    let status = json!({"state": state, "context": CHECK_NAME, "description": line, "target_url": link});
    client.post(installation, &format!("/repos/{repo}/statuses/{}", deploy.sha), &status).await?;
    if d.verdict == Verdict::Hold {
        return Ok(());
    }
    let conclusion = if d.verdict == Verdict::Approve { "success" } else { "failure" };
    let check = json!({
        "name": CHECK_NAME,
        "head_sha": deploy.sha.as_str(),
        "status": "completed",
        "conclusion": conclusion,
        "details_url": link,
        "external_id": d.id.to_string(),
        "output": {"title": line, "summary": comment(&decision, deploy, Some(link))},
    });
    client.post(installation, &format!("/repos/{repo}/check-runs"), &check).await?;
    Ok(())
}

/// A successful deployment: start watching it when the service's policy asks for it.
async fn deployment_status(
    c: &Controller,
    config: &GithubConfig,
    payload: &str,
    now: Timestamp,
) -> Result<Outcome, sqlx::Error> {
    let p: DeploymentStatus = match serde_json::from_str(payload) {
        Ok(p) => p,
        Err(e) => return Ok(Outcome::Failed(format!("not a deployment_status payload: {e}"))),
    };
    if p.deployment_status.state != "success" {
        return Ok(Outcome::Ignored(format!("deployment status `{}`", p.deployment_status.state)));
    }
    let Some(service) = service_for(c, config, &p.repository.full_name) else {
        return Ok(Outcome::Failed(format!("no service for repository {}", p.repository.full_name)));
    };
    let specs = c.specs();
    let Some(window) = specs.iter().find(|s| s.service == service).and_then(|s| s.policy.gate.verification) else {
        return Ok(Outcome::Ignored(format!("{service}'s policy sets no verification window")));
    };
    let environment = p.deployment.environment.clone().unwrap_or_else(|| "production".into());
    let previous = sqlx::query(
        "select sha from slo_gate_verification where service = $1 and environment = $2 and state in ('passed', 'watching') \
         and sha <> $3 order by slo_gate_verification_id desc limit 1",
    )
    .bind(&service)
    .bind(&environment)
    .bind(&p.deployment.sha)
    .fetch_optional(c.db().writer())
    .await?
    .map(|r| r.try_get::<String, _>("sha"))
    .transpose()?;
    // A newer deploy of the environment supersedes the watch of the one before: a burn from
    // now on is the new deploy's.
    sqlx::query(
        "update slo_gate_verification set state = 'passed', updated_at = $1 \
         where service = $2 and environment = $3 and state = 'watching'",
    )
    .bind(now.as_millisecond())
    .bind(&service)
    .bind(&environment)
    .execute(c.db().writer())
    .await?;
    let until = now.checked_add(window).unwrap_or(now);
    sqlx::query(
        "insert into slo_gate_verification (service, environment, sha, git_ref, repository, installation_id, deployment_id, \
         previous_sha, watch_until, state, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'watching', $10, $10)",
    )
    .bind(&service)
    .bind(&environment)
    .bind(&p.deployment.sha)
    .bind(p.deployment.git_ref.as_deref())
    .bind(&p.repository.full_name)
    .bind(i64::try_from(p.installation.id).unwrap_or(i64::MAX))
    .bind(i64::try_from(p.deployment.id).unwrap_or(i64::MAX))
    .bind(previous)
    .bind(until.as_millisecond())
    .bind(now.as_millisecond())
    .execute(c.db().writer())
    .await?;
    Ok(Outcome::Done(None))
}

/// A watched deploy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub id: i64,
    pub service: String,
    pub environment: String,
    pub sha: String,
    pub previous_sha: Option<String>,
    pub repository: String,
    pub deployment_id: i64,
    /// `watching`, `passed`, `failed`.
    pub state: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub watch_until: Timestamp,
}

/// Watched deploys of `service` (all services when `None`) since `since`, newest first.
pub async fn verifications(
    c: &Controller,
    service: Option<&str>,
    since: Timestamp,
) -> Result<Vec<Verification>, sqlx::Error> {
    let rows = sqlx::query(
        "select slo_gate_verification_id, service, environment, sha, previous_sha, repository, deployment_id, state, \
         created_at, watch_until from slo_gate_verification where ($1 is null or service = $1) and created_at >= $2 \
         order by slo_gate_verification_id desc limit 500",
    )
    .bind(service)
    .bind(since.as_millisecond())
    .fetch_all(c.db().reader())
    .await?;
    let ts = |ms: i64| Timestamp::from_millisecond(ms).map_err(|e| sqlx::Error::Decode(e.into()));
    rows.iter()
        .map(|r| {
            Ok(Verification {
                id: r.try_get("slo_gate_verification_id")?,
                service: r.try_get("service")?,
                environment: r.try_get("environment")?,
                sha: r.try_get("sha")?,
                previous_sha: r.try_get("previous_sha")?,
                repository: r.try_get("repository")?,
                deployment_id: r.try_get("deployment_id")?,
                state: r.try_get("state")?,
                created_at: ts(r.try_get("created_at")?)?,
                watch_until: ts(r.try_get("watch_until")?)?,
            })
        })
        .collect()
}

/// Checks every watched deploy against the current evaluations (see the module docs).
pub async fn verify_deploys(c: &Controller, config: &GithubConfig, now: Timestamp) -> Result<usize, sqlx::Error> {
    let rows = sqlx::query(
        "select slo_gate_verification_id, service, environment, sha, git_ref, repository, installation_id, deployment_id, \
         previous_sha, watch_until, created_at from slo_gate_verification where state = 'watching'",
    )
    .fetch_all(c.db().writer())
    .await?;
    let current = c.current();
    let specs = c.specs();
    let mut failed = 0;
    for r in rows {
        let id: i64 = r.try_get("slo_gate_verification_id")?;
        let service: String = r.try_get("service")?;
        let created: i64 = r.try_get("created_at")?;
        let until: i64 = r.try_get("watch_until")?;
        let burning: Vec<&crate::eval::Evaluation> = current
            .values()
            .filter(|e| e.service == service && e.evaluated_at.as_millisecond() >= created)
            .filter(|e| e.evaluated_at.as_millisecond() <= until)
            .filter(|e| e.burn_rates.iter().any(|t| t.severity == Severity::Page && t.firing))
            .collect();
        if burning.is_empty() {
            if now.as_millisecond() >= until {
                sqlx::query("update slo_gate_verification set state = 'passed', updated_at = $1 where slo_gate_verification_id = $2 and state = 'watching'")
                    .bind(now.as_millisecond())
                    .bind(id)
                    .execute(c.db().writer())
                    .await?;
            }
            continue;
        }
        let took = sqlx::query("update slo_gate_verification set state = 'failed', updated_at = $1 where slo_gate_verification_id = $2 and state = 'watching'")
            .bind(now.as_millisecond())
            .bind(id)
            .execute(c.db().writer())
            .await?;
        if took.rows_affected() != 1 {
            continue;
        }
        failed += 1;
        let sha: String = r.try_get("sha")?;
        let environment: String = r.try_get("environment")?;
        let repo: String = r.try_get("repository")?;
        let installation = u64::try_from(r.try_get::<i64, _>("installation_id")?).unwrap_or(0);
        let deployment: i64 = r.try_get("deployment_id")?;
        let previous: Option<String> = r.try_get("previous_sha")?;
        let git_ref: Option<String> = r.try_get("git_ref")?;
        let slos: Vec<&str> = burning.iter().map(|e| e.slo.as_str()).collect();
        let summary = format!(
            "Deploy of {service} {sha} to {environment} failed verification: page-level burn on {} within the verification window",
            slos.join(", ")
        );
        tracing::error!(%service, %sha, %environment, slos = ?slos, "post-deploy verification failed");
        notify_on_call(c, &service, &environment, &sha, &summary, now).await?;
        let Some(client) = &config.client else { continue };
        let link = crate::gate::dashboard_link(c, &service);
        let description = crate::gate::report::truncate(&summary, crate::gate::report::STATUS_LIMIT);
        let status =
            json!({"state": "failure", "description": description, "log_url": link, "environment": environment});
        if let Err(e) =
            client.post(installation, &format!("/repos/{repo}/deployments/{deployment}/statuses"), &status).await
        {
            tracing::error!(error = %e, "cannot mark the deployment failed");
        }
        let workflow =
            specs.iter().find(|s| s.service == service).and_then(|s| s.policy.gate.rollback_workflow.clone());
        match (workflow, previous) {
            (Some(workflow), Some(previous)) => {
                let body = json!({
                    "ref": git_ref.unwrap_or_else(|| "main".into()),
                    "inputs": {"sha": previous, "environment": environment, "reason": description},
                });
                match client
                    .post(installation, &format!("/repos/{repo}/actions/workflows/{workflow}/dispatches"), &body)
                    .await
                {
                    Ok(_) => tracing::warn!(%workflow, %previous, "rollback workflow dispatched"),
                    Err(e) => tracing::error!(error = %e, %workflow, "cannot dispatch the rollback workflow"),
                }
            }
            (Some(_), None) => tracing::warn!("no previous good deploy to roll back to"),
            (None, _) => {}
        }
    }
    Ok(failed)
}

/// Pages on-call through every receiver (the alert outbox).
async fn notify_on_call(
    c: &Controller,
    service: &str,
    environment: &str,
    sha: &str,
    summary: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let n = Notification {
        key: format!("deploy-verification:{service}:{environment}:{sha}"),
        event: Event::Trigger,
        alertname: "DeployVerificationFailed".into(),
        service: service.to_owned(),
        journey: String::new(),
        slo: String::new(),
        tier: String::new(),
        severity: Severity::Page,
        long_window: String::new(),
        short_window: String::new(),
        long_burn_rate: None,
        short_burn_rate: None,
        threshold: None,
        summary: summary.to_owned(),
        labels: [("environment".to_owned(), environment.to_owned()), ("sha".to_owned(), sha.to_owned())]
            .into_iter()
            .collect(),
        starts_at: now,
        ends_at: None,
        dashboard: Some(crate::gate::dashboard_link(c, service)),
    };
    let settings = c.alerting();
    platform::transaction!(c.db(), sqlx::Error, |tx| {
        for r in &settings.receivers {
            outbox::insert(tx, r.name(), &n, now).await?;
        }
        Ok(())
    })
}

/// How long the worker waits between passes when nothing wakes it (for `--help`).
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);
