//! Protection-rule reviews, a worker pass at a time (`deployment_protection_rule`, `requested`).
//!
//! Every rule the pass claimed is decided from one shared read of the gate's inputs
//! ([`crate::gate::Context`]); the decisions and the review claims are stored in **one
//! transaction**; the reviews go to GitHub concurrently; their outcomes, with the deliveries'
//! states, are stored in **a second transaction**. Two commits per pass, however many rules it
//! holds, instead of several per rule: a burst of deploys does not queue on SQLite's single
//! writer, where every commit costs an fsync.
//!
//! **Exactly one review.** A review is keyed by its run and environment (`slo_github_review`);
//! the key is claimed in the first transaction and marked `sent` in the second. A redelivery
//! (same delivery id) is never stored twice; a re-run or another delivery for the same run
//! finds the key `sent`, or `sending` by a live worker (the same pass, or another replica's),
//! and stops. A worker that dies after the first transaction leaves its
//! keys `sending` and its deliveries leased: once the lease runs out they are decided again,
//! the key is taken over, and the review is sent. Only a call whose outcome was a 5xx, a rate
//! limit or a transport error is ever repeated.
//!
//! **Holds.** While the gate holds, the worker posts a status report (GitHub keeps at most
//! [`MAX_STATUS_REPORTS`] per deployment, so no more are sent) and decides again every
//! `hold_recheck`, until the data comes back or the policy's hold deadline turns the hold into
//! a rejection.

use std::collections::HashSet;

use jiff::Timestamp;
use serde_json::json;
use sqlx::Row;

use super::client::GithubClient;
use super::payload::{ProtectionRule, trailers};
use super::worker::{Claimed, LEASE, Outcome, finish, recheck_at, retry_at, service_for};
use super::{GithubConfig, GithubError};
use crate::controller::Controller;
use crate::gate::report::comment;
use crate::gate::store::{Delivery, Origin, StoredDecision, StoredFindings, insert, set_delivery};
use crate::gate::{Context, Decision, Deploy, GateError, Sha, Verdict};

/// GitHub keeps at most this many status reports per deployment.
pub const MAX_STATUS_REPORTS: i64 = 10;

/// A claimed rule, read from its payload.
struct Rule<'a> {
    delivery: &'a Claimed,
    /// `/repos/{repo}/actions/runs/{run}/deployment_protection_rule`.
    path: String,
    /// The review's key: run and environment.
    key: String,
    installation: u64,
    repo: String,
    deploy: Deploy,
}

/// What the second half of the pass does for a stored decision.
enum Step {
    /// Post a status report (when `report`) and decide again later.
    Hold { report: bool },
    /// Post the review: the key is claimed.
    Review,
}

/// A stored decision and what GitHub made of it.
struct Sent<'a> {
    rule: Rule<'a>,
    decision: StoredDecision,
    /// The review key's new state, when the review was sent or tried.
    review: Option<&'static str>,
    /// The decision's delivery, when it changes.
    delivery: Option<(Delivery, Option<String>)>,
    outcome: Outcome,
}

/// Decides, stores and reviews the claimed protection-rule deliveries `claimed`; each one's
/// outcome is stored with the pass's second commit.
pub(super) async fn work(
    c: &Controller,
    config: &GithubConfig,
    claimed: &[&Claimed],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    if claimed.is_empty() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let count = claimed.len();
    let mut done: Vec<(&Claimed, Outcome)> = Vec::new();
    let mut rules = Vec::new();
    for delivery in claimed {
        match read(c, config, delivery) {
            Ok(rule) => rules.push(rule),
            Err(outcome) => done.push((delivery, outcome)),
        }
    }
    // A reader's answer may be a moment old, which only costs a decision that the review
    // claim below then declines to send.
    let reviewed = sent_keys(c, &rules).await?;
    let (rules, already): (Vec<Rule>, Vec<Rule>) = rules.into_iter().partition(|r| !reviewed.contains(&r.key));
    done.extend(
        already.into_iter().map(|r| (r.delivery, Outcome::Ignored(format!("run {} is already reviewed", r.key)))),
    );

    let deploys: Vec<&Deploy> = rules.iter().map(|r| &r.deploy).collect();
    let context = Context::load(c, &deploys, now).await?;
    let decided = futures::future::join_all(rules.into_iter().map(|rule| decide(c, config, &context, rule, now))).await;

    // First commit: every decision, and the review key of every one that is to be sent.
    let mut steps = Vec::new();
    let mut tx = c.db().writer().begin().await?;
    let mut findings = StoredFindings::default();
    for (rule, decision) in decided {
        let decision = match decision {
            Ok(d) => d,
            Err(GateError::Database(e)) => return Err(e),
            Err(e) => {
                done.push((rule.delivery, Outcome::Failed(e.to_string())));
                continue;
            }
        };
        let stored =
            insert(&mut tx, &mut findings, &rule.deploy, &decision, Origin::ProtectionRule, Delivery::Pending, now)
                .await?;
        if config.client.is_none() {
            done.push((rule.delivery, Outcome::Done(Some(stored.id))));
        } else if stored.verdict == Verdict::Hold {
            let report = rule.delivery.status_reports < MAX_STATUS_REPORTS;
            steps.push((rule, stored, Step::Hold { report }));
        } else if claim_review(&mut tx, &rule.key, stored.id, now).await? {
            steps.push((rule, stored, Step::Review));
        } else {
            let why = "the run is reviewed, or being reviewed, by another delivery";
            set_delivery(&mut tx, stored.id, Delivery::None, Some(why), now).await?;
            done.push((rule.delivery, Outcome::Ignored(format!("run {}: {why}", rule.key))));
        }
    }
    tx.commit().await?;

    let sent = match &config.client {
        Some(client) => {
            let sends =
                steps.into_iter().map(|(rule, decision, step)| send(c, config, client, rule, decision, step, now));
            futures::future::join_all(sends).await
        }
        None => Vec::new(),
    };

    // Second commit: what GitHub answered, and every delivery's outcome.
    let mut tx = c.db().writer().begin().await?;
    for s in sent {
        if let Some(state) = s.review {
            set_review(&mut tx, &s.rule.key, state, now).await?;
        }
        if let Some((delivery, error)) = &s.delivery {
            set_delivery(&mut tx, s.decision.id, *delivery, error.as_deref(), now).await?;
        }
        finish(&mut tx, s.rule.delivery, s.outcome, now).await?;
    }
    for (delivery, outcome) in done {
        finish(&mut tx, delivery, outcome, now).await?;
    }
    tx.commit().await?;
    tracing::debug!(rules = count, elapsed_ms = started.elapsed().as_millis() as u64, "protection rules worked");
    Ok(())
}

/// The rule a delivery's payload describes, or the outcome that ends it (not a rule payload,
/// no service for the repository, no commit).
fn read<'a>(c: &Controller, config: &GithubConfig, delivery: &'a Claimed) -> Result<Rule<'a>, Outcome> {
    let p: ProtectionRule = serde_json::from_str(&delivery.payload)
        .map_err(|e| Outcome::Failed(format!("not a deployment_protection_rule payload: {e}")))?;
    let Some(path) = p.callback_path().map(str::to_owned) else {
        return Err(Outcome::Failed(format!("callback URL without /repos/: {}", p.deployment_callback_url)));
    };
    let Some(service) = service_for(c, config, &p.repository.full_name) else {
        return Err(Outcome::Failed(format!(
            "no service for repository {} (--github-service REPO=SERVICE)",
            p.repository.full_name
        )));
    };
    let Some(Ok(sha)) = p.sha().map(Sha::parse) else {
        return Err(Outcome::Failed("the payload names no commit sha".into()));
    };
    let key = format!("{}:{}", p.run_id().unwrap_or(&path), p.environment);
    let deploy = Deploy {
        service,
        environment: p.environment.clone(),
        sha,
        git_ref: p.git_ref().map(str::to_owned),
        labels: p.labels(),
        trailers: Vec::new(),
    };
    Ok(Rule { delivery, path, key, installation: p.installation.id, repo: p.repository.full_name, deploy })
}

/// Of the rules' review keys, those already `sent` (one read for the whole pass).
async fn sent_keys(c: &Controller, rules: &[Rule<'_>]) -> Result<HashSet<String>, sqlx::Error> {
    if rules.is_empty() {
        return Ok(HashSet::new());
    }
    let placeholders: Vec<String> = (1..=rules.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select review_key from slo_github_review where state = 'sent' and review_key in ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for rule in rules {
        query = query.bind(rule.key.as_str());
    }
    let rows = query.fetch_all(c.db().reader()).await?;
    rows.iter().map(|r| r.try_get("review_key")).collect()
}

/// The rule's decision. The payload has no commit message: the commit is read only when its
/// `Kura-Exception:` trailer could lift a rejection, so an approval costs no call to GitHub.
async fn decide<'a>(
    c: &Controller,
    config: &GithubConfig,
    context: &Context,
    mut rule: Rule<'a>,
    now: Timestamp,
) -> (Rule<'a>, Result<Decision, GateError>) {
    let decision = context.decide(&rule.deploy, now);
    if let (Some(client), Ok(d)) = (&config.client, &decision)
        && d.would_have == Verdict::Reject
        && d.exception.is_none()
        && has_exceptions(c, &rule.deploy.service)
    {
        rule.deploy.trailers = commit_trailers(client, rule.installation, &rule.repo, &rule.deploy.sha).await;
        if !rule.deploy.trailers.is_empty() {
            let again = context.decide(&rule.deploy, now);
            return (rule, again);
        }
    }
    (rule, decision)
}

/// Posts a held rule's status report, or its review, and says what to store.
async fn send<'a>(
    c: &Controller,
    config: &GithubConfig,
    client: &GithubClient,
    rule: Rule<'a>,
    decision: StoredDecision,
    step: Step,
    now: Timestamp,
) -> Sent<'a> {
    let link = crate::gate::dashboard_link(c, &rule.deploy.service);
    let text = comment(&decision.decision(), &rule.deploy, Some(&link));
    let environment = rule.deploy.environment.clone();
    match step {
        Step::Hold { report } => {
            if report {
                let body = json!({"environment_name": environment, "comment": text});
                if let Err(e) = client.post(rule.installation, &rule.path, &body).await {
                    tracing::warn!(error = %e, "status report not delivered");
                }
            }
            let at = recheck_at(config, now);
            let outcome = Outcome::Retry { at, decision: Some(decision.id), status_report: report, error: None };
            Sent { rule, decision, review: None, delivery: None, outcome }
        }
        Step::Review => {
            let state = if decision.verdict == Verdict::Approve { "approved" } else { "rejected" };
            let body = json!({"environment_name": environment, "state": state, "comment": text});
            let id = decision.id;
            match client.post(rule.installation, &rule.path, &body).await {
                Ok(_) => Sent {
                    rule,
                    decision,
                    review: Some("sent"),
                    delivery: Some((Delivery::Delivered, None)),
                    outcome: Outcome::Done(Some(id)),
                },
                Err(e) if e.is_transient() => {
                    let at = retry_at(now, rule.delivery.attempts);
                    let outcome =
                        Outcome::Retry { at, decision: Some(id), status_report: false, error: Some(e.to_string()) };
                    Sent {
                        rule,
                        decision,
                        review: Some("retry"),
                        delivery: Some((Delivery::Pending, Some(e.to_string()))),
                        outcome,
                    }
                }
                Err(e) => {
                    let message = refusal(&e);
                    tracing::error!(error = %message, run = %rule.key, "GitHub refused the review");
                    Sent {
                        rule,
                        decision,
                        review: Some("refused"),
                        delivery: Some((Delivery::Failed, Some(message.clone()))),
                        outcome: Outcome::Failed(message),
                    }
                }
            }
        }
    }
}

/// A refusal in words, with the usual cause of a protection-rule refusal spelled out.
fn refusal(e: &GithubError) -> String {
    match e {
        GithubError::Refused { status: 404 | 422, .. } => format!(
            "{e} (custom deployment protection rules need a public repository or GitHub Enterprise; \
             the commit status, check run and `slo gate` work on every plan)"
        ),
        e => e.to_string(),
    }
}

/// Claims the review of `key`; `false` when it was sent or refused already, or another delivery
/// for the same run is sending it. A key left `retry` by a failed attempt is taken over, and so
/// is one left `sending` by a worker whose lease ([`LEASE`]) has run out since it claimed it.
async fn claim_review(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    decision: i64,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "insert into slo_github_review (review_key, slo_gate_decision_id, state, created_at, updated_at) \
         values ($1, $2, 'sending', $3, $3) on conflict (review_key) do nothing",
    )
    .bind(key)
    .bind(decision)
    .bind(now.as_millisecond())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(true);
    }
    let taken = sqlx::query(
        "update slo_github_review set slo_gate_decision_id = $1, state = 'sending', updated_at = $2 \
         where review_key = $3 and (state = 'retry' or (state = 'sending' and updated_at <= $4))",
    )
    .bind(decision)
    .bind(now.as_millisecond())
    .bind(key)
    .bind(now.checked_sub(LEASE).unwrap_or(now).as_millisecond())
    .execute(conn)
    .await?;
    Ok(taken.rows_affected() == 1)
}

async fn set_review(conn: &mut sqlx::AnyConnection, key: &str, state: &str, now: Timestamp) -> Result<(), sqlx::Error> {
    sqlx::query("update slo_github_review set state = $1, updated_at = $2 where review_key = $3")
        .bind(state)
        .bind(now.as_millisecond())
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `service`'s policy lifts rejections for any exception (labels or trailers).
fn has_exceptions(c: &Controller, service: &str) -> bool {
    c.specs().iter().any(|s| s.service == service && !s.policy.exceptions.is_empty())
}

/// The trailers of commit `sha` (`GET /repos/{repo}/commits/{sha}`: a protection rule's payload
/// names the commit but does not carry its message). A commit GitHub cannot show gives none:
/// a missing trailer can only keep a rejection, never approve.
async fn commit_trailers(client: &GithubClient, installation: u64, repo: &str, sha: &Sha) -> Vec<String> {
    match client.get(installation, &format!("/repos/{repo}/commits/{}", sha.as_str())).await {
        Ok(answer) => answer.body["commit"]["message"].as_str().map(trailers).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, sha = sha.as_str(), "cannot read the commit's message; judged without its trailers");
            Vec::new()
        }
    }
}
