//! A decision in words, the same on every path: the protection-rule review comment and the
//! check run's summary ([`comment`], Markdown, at most [`COMMENT_LIMIT`] characters), the commit
//! status line ([`headline`], at most [`STATUS_LIMIT`]), and what `slo gate` prints and writes
//! to `$GITHUB_STEP_SUMMARY` (the same comment).

use std::fmt::Write as _;

use super::decide::{Decision, Deploy, Verdict};

/// GitHub's limit on a protection-rule review or status-report comment.
pub const COMMENT_LIMIT: usize = 1024;
/// GitHub's limit on a commit status or deployment status `description`.
pub const STATUS_LIMIT: usize = 140;

/// One line: the verdict and its first reason.
pub fn headline(d: &Decision) -> String {
    let first = d.reasons.first().map_or("", |r| r.message.as_str());
    let verdict = match (d.verdict, d.shadow && d.would_have != d.verdict) {
        (_, true) => format!("approved (shadow: would have {})", d.would_have.past()),
        (v, false) => v.past().to_owned(),
    };
    truncate(&format!("SLO gate {verdict}: {first}"), STATUS_LIMIT)
}

/// The review comment: verdict, each gating SLO's budget, burn rate and thresholds, every
/// reason (exceptions and overrides among them), and the dashboard link.
pub fn comment(d: &Decision, deploy: &Deploy, dashboard: Option<&str>) -> String {
    let mut out = String::new();
    let icon = match d.verdict {
        Verdict::Approve => "✅",
        Verdict::Reject => "⛔",
        Verdict::Hold => "⏳",
    };
    let _ = writeln!(
        out,
        "{icon} **SLO gate {}** `{}` → `{}` at `{}`",
        d.verdict.past(),
        deploy.service,
        deploy.environment,
        &deploy.sha.as_str()[..deploy.sha.as_str().len().min(12)]
    );
    if d.shadow && d.would_have != d.verdict {
        let _ = writeln!(out, "Shadow mode: would have **{}**.", d.would_have.past());
    }
    for r in &d.reasons {
        let _ = writeln!(out, "- {}", r.message);
    }
    if !d.slos.is_empty() {
        let _ = writeln!(out, "\n| SLO | budget left | burn | threshold |\n|---|---|---|---|");
        for f in &d.slos {
            let left = f.budget_remaining_percent.map_or("–".to_owned(), |p| format!("{p:.1}%"));
            let burn = f.burn_rate.map_or("–".to_owned(), |b| format!("{b:.1}× / {}", f.burn_window));
            // Only the thresholds the policy sets.
            let threshold = match (f.budget_threshold.as_deref(), f.burn_threshold.as_deref()) {
                (Some(b), Some(r)) => format!("< {b}% or > {r}×"),
                (Some(b), None) => format!("< {b}%"),
                (None, Some(r)) => format!("> {r}×"),
                (None, None) => "–".to_owned(),
            };
            let _ = writeln!(out, "| {} | {left} | {burn} | {threshold} |", f.slo);
        }
    }
    let link = dashboard.map(|l| format!("\n[Dashboard]({l})"));
    let room = COMMENT_LIMIT.saturating_sub(link.as_ref().map_or(0, |l| l.chars().count()));
    let mut text = truncate(out.trim_end(), room);
    if let Some(l) = link {
        text.push_str(&l);
    }
    text
}

/// At most `limit` characters, with `…` when cut.
pub fn truncate(s: &str, limit: usize) -> String {
    if s.chars().count() <= limit {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(limit.saturating_sub(1)).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::decide::{Finding, Reason, ReasonCode, Sha};

    fn decision(n: usize) -> Decision {
        Decision {
            verdict: Verdict::Approve,
            would_have: Verdict::Reject,
            shadow: true,
            exception: None,
            override_id: None,
            reasons: vec![Reason { code: ReasonCode::Shadow, slo: None, message: "shadow mode".into() }],
            slos: (0..n)
                .map(|i| Finding {
                    slo: format!("slo-{i}-with-a-rather-long-name"),
                    journey: "j".into(),
                    budget_remaining_percent: Some(50.0),
                    budget_threshold: Some("0".into()),
                    burn_rate: Some(1.5),
                    burn_window: "1h".into(),
                    burn_threshold: Some("14.4".into()),
                    evaluated_at: None,
                    verdict: Verdict::Approve,
                })
                .collect(),
        }
    }

    fn deploy() -> Deploy {
        Deploy {
            service: "shop".into(),
            environment: "production".into(),
            sha: Sha::parse("0123456789abcdef").expect("sha"),
            git_ref: None,
            labels: vec![],
            trailers: vec![],
        }
    }

    #[test]
    fn the_comment_fits_githubs_limit_and_keeps_the_dashboard_link() {
        let text = comment(&decision(200), &deploy(), Some("http://kura/slos/shop"));

        assert!(text.chars().count() <= COMMENT_LIMIT, "{} characters", text.chars().count());
        assert!(text.ends_with("[Dashboard](http://kura/slos/shop)"));
        assert!(text.contains("would have **rejected**"));
    }

    #[test]
    fn the_threshold_column_names_only_what_the_policy_sets() {
        let mut d = decision(1);
        assert!(comment(&d, &deploy(), None).contains("| < 0% or > 14.4× |"));
        d.slos[0].budget_threshold = None;
        assert!(comment(&d, &deploy(), None).contains("| > 14.4× |"));
        d.slos[0].burn_threshold = None;
        d.slos[0].budget_threshold = Some("10".into());
        assert!(comment(&d, &deploy(), None).contains("| < 10% |"));
    }

    #[test]
    fn the_headline_fits_a_commit_status() {
        assert!(headline(&decision(1)).chars().count() <= STATUS_LIMIT);
        assert!(headline(&decision(1)).contains("would have rejected"));
    }
}
