//! The deploys page's body (`GET /deploys/{service}`): the deploy gate's decisions for one
//! service, newest first, with their reasons, exception or override, and whether GitHub got the
//! answer; then the deploys watched after release (post-deploy verification). Rendering only:
//! the handler in [`super`] reads what it shows.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::html::{Esc, instant, instant_exact};
use crate::gate::Verdict;
use crate::gate::store::{Delivery, StoredDecision};
use crate::github::worker::Verification;

/// At most this many decisions on the page (the API lists them all).
pub(super) const DECISIONS_SHOWN: i64 = 100;
/// Watched deploys started this long ago or less.
pub(super) const WATCHED_SHOWN: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 30);

/// The page's body for `service`.
pub(super) fn render(service: &str, decisions: &[StoredDecision], watched: &[Verification], now: Timestamp) -> String {
    let mut body = format!(
        "<h2>Deploys of {s}</h2><p>What the deploy gate decided for {s}, newest first: from <code>slo gate</code>, \
         GitHub protection rules and commit checks. <a href=\"/api/v1/decisions?service={q}\">As JSON</a>.</p>",
        s = Esc(service),
        q = Esc(&super::html::path_segment(service)),
    );
    summary(&mut body, decisions, now);
    body.push_str(
        "<table class=\"deploys\"><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Verdict</th>\
         <th scope=\"col\">Environment</th><th scope=\"col\">Commit</th><th scope=\"col\">Asked by</th>\
         <th scope=\"col\">Why</th><th scope=\"col\">GitHub</th></tr></thead><tbody>",
    );
    for d in decisions {
        let _ = write!(
            body,
            "<tr id=\"decision-{id}\" data-verdict=\"{v}\"><td><time datetime=\"{}\">{}</time></td><td>",
            instant_exact(d.created_at),
            instant(d.created_at),
            id = d.id,
            v = d.verdict.as_str(),
        );
        verdict(&mut body, d);
        let _ = write!(
            body,
            "</td><td>{}</td><td><code title=\"{}\">{}</code>{}</td><td>{}</td><td><ul class=\"reasons\">",
            Esc(&d.environment),
            Esc(&d.sha),
            Esc(short(&d.sha)),
            d.git_ref.as_deref().map(|r| format!(" <small class=\"muted\">{}</small>", Esc(r))).unwrap_or_default(),
            Esc(d.origin.as_str()),
        );
        for r in &d.reasons {
            let _ = write!(body, "<li>{}</li>", Esc(&r.message));
        }
        body.push_str("</ul></td><td>");
        match (d.delivery, d.delivery_error.as_deref()) {
            (Delivery::None, _) => body.push_str("<span class=\"muted\">–</span>"),
            (Delivery::Failed, error) => {
                let _ = write!(body, "<strong>failed</strong> <small>{}</small>", Esc(error.unwrap_or("")));
            }
            (delivery, _) => body.push_str(delivery.as_str()),
        }
        body.push_str("</td></tr>");
    }
    if decisions.is_empty() {
        body.push_str("<tr><td colspan=\"7\">The gate has not decided on a deploy of this service yet.</td></tr>");
    }
    body.push_str("</tbody></table>");
    verifications(&mut body, watched);
    body
}

/// One sentence: the newest decision per environment.
fn summary(out: &mut String, decisions: &[StoredDecision], now: Timestamp) {
    let mut seen: Vec<&str> = Vec::new();
    let newest: Vec<&StoredDecision> = decisions
        .iter()
        .filter(|d| {
            let new = !seen.contains(&d.environment.as_str());
            seen.push(&d.environment);
            new
        })
        .collect();
    if newest.is_empty() {
        return;
    }
    out.push_str("<section class=\"headline\" aria-label=\"Newest decision per environment\"><ul>");
    for d in newest {
        let _ = write!(out, "<li>{}: ", Esc(&d.environment));
        verdict(out, d);
        let _ = write!(
            out,
            " <a href=\"#decision-{}\">{}</a> {} ago</li>",
            d.id,
            Esc(short(&d.sha)),
            super::html::human_duration(now.duration_since(d.created_at).as_secs_f64())
        );
    }
    out.push_str("</ul></section>");
}

/// The verdict as a badge with its text, and what shadow mode, an exception or an override did.
fn verdict(out: &mut String, d: &StoredDecision) {
    let class = match d.verdict {
        Verdict::Approve => "ok",
        Verdict::Reject => "exhausted",
        Verdict::Hold => "warning",
    };
    let _ = write!(out, "<span class=\"badge status-{class}\">{}</span>", d.verdict.past().to_uppercase());
    if d.shadow && d.would_have != d.verdict {
        let _ = write!(out, " <small>shadow: would have {}</small>", d.would_have.past());
    }
    if let Some(label) = &d.exception {
        let _ = write!(out, " <small>exception <code>{}</code></small>", Esc(label));
    }
    if let Some(id) = d.override_id {
        let _ = write!(out, " <small>override #{id}</small>");
    }
}

/// Deploys watched after release, and how the watch ended.
fn verifications(out: &mut String, watched: &[Verification]) {
    if watched.is_empty() {
        return;
    }
    out.push_str(
        "<h2 id=\"verification\">Post-deploy verification</h2><table class=\"verification\"><thead><tr>\
         <th scope=\"col\">Deployed</th><th scope=\"col\">Environment</th><th scope=\"col\">Commit</th>\
         <th scope=\"col\">Watched until</th><th scope=\"col\">Outcome</th></tr></thead><tbody>",
    );
    for v in watched {
        let outcome = match v.state.as_str() {
            "failed" => "<strong>failed: a page-level burn began; rolled back when configured</strong>",
            "passed" => "passed",
            _ => "watching",
        };
        let _ = write!(
            out,
            "<tr data-state=\"{}\"><td>{}</td><td>{}</td><td><code title=\"{}\">{}</code></td><td>{}</td><td>{outcome}</td></tr>",
            Esc(&v.state),
            instant(v.created_at),
            Esc(&v.environment),
            Esc(&v.sha),
            Esc(short(&v.sha)),
            instant(v.watch_until),
        );
    }
    out.push_str("</tbody></table>");
}

/// A commit's first seven characters, as GitHub abbreviates it.
fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}
