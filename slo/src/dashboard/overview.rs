//! The overview page's body (`GET /`): the journeys in trouble in one sentence each, the
//! notifications given up on, a summary per service, and every SLO worst first. Rendering
//! only: the handler in [`super`] reads what it shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;

use super::html::{Esc, badge, journey_href, percent, since_cell, slo_anchor, time_to_exhaustion, worst_burn};
use super::since::Since;
use crate::alert::Alert;
use crate::alert::outbox::OutboxRow;
use crate::eval::{Evaluation, Status};
use crate::spec::{JourneySlos, Slo, Spec};

/// One SLO as the overview shows it.
#[derive(Debug)]
pub(super) struct Row<'a> {
    pub spec: &'a Spec,
    pub journey: &'a JourneySlos,
    pub slo: &'a Slo,
    pub eval: Option<&'a Evaluation>,
    pub since: Option<Since>,
}

impl Row<'_> {
    fn status(&self) -> Status {
        self.eval.map_or(Status::NoData, |e| e.status)
    }

    fn budget(&self) -> Option<f64> {
        self.eval.and_then(|e| e.budget_remaining)
    }
}

/// Worst first: status rank, then least budget left (none last), then by name.
pub(super) fn worst_first(a: &Row<'_>, b: &Row<'_>) -> std::cmp::Ordering {
    let budget = |r: &Row<'_>| r.budget().unwrap_or(f64::INFINITY);
    b.status()
        .severity_rank()
        .cmp(&a.status().severity_rank())
        .then(budget(a).total_cmp(&budget(b)))
        .then_with(|| (&a.spec.service, &a.slo.id).cmp(&(&b.spec.service, &b.slo.id)))
}

/// The page's body for `rows` (sorted worst first), the alerts in force and the dead letters.
pub(super) fn render(rows: &[Row<'_>], alerts: &[Alert], dead: &[OutboxRow], now: Timestamp) -> String {
    let mut body = String::new();
    headline(&mut body, rows, now);
    dead_letters(&mut body, dead, now);
    services_summary(&mut body, rows);
    body.push_str(
        "<h2 id=\"slos\">Every SLO, worst first</h2><table class=\"slos\"><thead><tr>\
         <th scope=\"col\">Status</th><th scope=\"col\">Since</th>\
         <th scope=\"col\">Service / journey</th><th scope=\"col\">SLO</th><th scope=\"col\" class=\"num\">Objective</th>\
         <th scope=\"col\">Window</th><th scope=\"col\" class=\"num\">SLI</th><th scope=\"col\" class=\"num\">Budget left</th>\
         <th scope=\"col\" class=\"num\">Worst burn</th><th scope=\"col\" class=\"num\">Exhausted in</th>\
         </tr></thead><tbody>",
    );
    for r in rows {
        let status = r.status();
        let href = journey_href(&r.spec.service, &r.journey.name);
        let _ = write!(
            body,
            "<tr class=\"row-{}\" data-slo=\"{}\" data-service=\"{}\"><td>",
            status.as_str(),
            Esc(&r.slo.id),
            Esc(&r.spec.service)
        );
        badge(&mut body, status);
        if r.eval.is_some_and(|e| e.in_maintenance) {
            body.push_str(" <span class=\"muted\">in maintenance</span>");
        }
        let mut firing: Vec<&str> = alerts
            .iter()
            .filter(|a| a.state == crate::alert::AlertState::Firing && a.service == r.spec.service && a.slo == r.slo.id)
            .map(|a| a.tier.as_str())
            .collect();
        // In the spec's tier order, fastest first.
        firing.sort_by_key(|t| r.slo.alerting.tiers.iter().position(|n| n.name == *t));
        if !firing.is_empty() {
            let _ = write!(body, "<br><small class=\"alert-firing\">firing: {}</small>", Esc(&firing.join(", ")));
        }
        body.push_str("</td><td>");
        since_cell(&mut body, r.since, now);
        let _ = write!(
            body,
            "</td><td class=\"journey\">{} / <a href=\"{}\" title=\"{}\">{}</a></td><td class=\"slo-id\"><a href=\"{}#{}\">{}</a>",
            Esc(&r.spec.service),
            Esc(&href),
            Esc(&r.journey.description),
            Esc(&r.journey.name),
            Esc(&href),
            Esc(&slo_anchor(&r.slo.id)),
            Esc(&r.slo.id),
        );
        if let Some(reason) =
            r.eval.and_then(|e| e.reason.as_deref()).or(r.eval.is_none().then_some("not evaluated yet"))
        {
            let _ = write!(body, "<br><small class=\"muted\">{}</small>", Esc(reason));
        }
        let _ = write!(
            body,
            "</td><td class=\"num\">{} %</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">",
            Esc(&r.slo.objective.to_string()),
            Esc(&r.slo.window.to_string()),
            percent(r.eval.and_then(|e| e.sli), 3),
        );
        budget_cell(&mut body, r.budget());
        let _ = write!(
            body,
            "</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            worst_burn(r.eval),
            time_to_exhaustion(r.eval)
        );
    }
    if rows.is_empty() {
        body.push_str("<tr><td colspan=\"10\">No SLOs are loaded (check --slos).</td></tr>");
    }
    body.push_str("</tbody></table>");
    body
}

/// One sentence per journey in trouble, worst first: the five-second answer.
fn headline(out: &mut String, rows: &[Row<'_>], now: Timestamp) {
    let mut seen = Vec::new();
    let trouble: Vec<&Row<'_>> = rows
        .iter()
        .filter(|r| r.status() != Status::Ok)
        .filter(|r| {
            let key = (&r.spec.service, &r.journey.name);
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .collect();
    if trouble.is_empty() {
        let _ = write!(
            out,
            "<section class=\"headline\" aria-label=\"Summary\"><strong>All {} SLOs are OK.</strong></section>",
            rows.len()
        );
        return;
    }
    out.push_str("<section class=\"headline trouble\" aria-label=\"Journeys in trouble\"><strong>Journeys in trouble, worst first:</strong><ul>");
    for r in trouble.iter().take(8) {
        out.push_str("<li>");
        badge(out, r.status());
        let _ = write!(
            out,
            " <a href=\"{}\">{} / {}</a> ({}, budget left {}) since ",
            Esc(&journey_href(&r.spec.service, &r.journey.name)),
            Esc(&r.spec.service),
            Esc(&r.journey.name),
            Esc(&r.slo.id),
            percent(r.budget(), 1)
        );
        since_cell(out, r.since, now);
        out.push_str("</li>");
    }
    if trouble.len() > 8 {
        let _ = write!(out, "<li>and {} more below</li>", trouble.len() - 8);
    }
    out.push_str("</ul></section>");
}

/// At most this many dead-lettered notifications on the overview (the API lists them all).
pub(super) const DEAD_LETTERS_SHOWN: i64 = 20;

/// Notifications given up on ([`crate::alert::outbox`]): on-call was not told about these.
fn dead_letters(out: &mut String, dead: &[OutboxRow], now: Timestamp) {
    if dead.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section class=\"dead-letters\" aria-labelledby=\"dead-letters\"><h2 id=\"dead-letters\">Notifications given up on</h2>\
         <p>{} notification(s) of the last 7 days were never delivered: their receiver failed every attempt or is no \
         longer configured. <a href=\"/api/v1/notifications?state=dead\">All of them as JSON</a>.</p>\
         <table class=\"dead-letters\"><thead><tr><th scope=\"col\">Given up</th><th scope=\"col\">Receiver</th>\
         <th scope=\"col\">Service / SLO</th><th scope=\"col\">Event</th><th scope=\"col\" class=\"num\">Attempts</th>\
         <th scope=\"col\">Why</th></tr></thead><tbody>",
        if dead.len() as i64 >= DEAD_LETTERS_SHOWN {
            format!("At least {}", dead.len())
        } else {
            dead.len().to_string()
        }
    );
    for d in dead {
        out.push_str("<tr><td>");
        since_cell(out, d.dead_at.map(|at| Since { at, changed: true }), now);
        let _ = write!(
            out,
            "</td><td>{}</td><td>{} / {}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            Esc(&d.receiver),
            Esc(d.service.as_deref().unwrap_or("?")),
            Esc(d.slo.as_deref().unwrap_or("?")),
            Esc(&d.event),
            d.attempts,
            Esc(d.last_error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody></table></section>");
}

/// Each service's worst status and how many of its SLOs have each status.
fn services_summary(out: &mut String, rows: &[Row<'_>]) {
    let mut services: BTreeMap<&str, Vec<Status>> = BTreeMap::new();
    for r in rows {
        services.entry(&r.spec.service).or_default().push(r.status());
    }
    let mut services: Vec<(&str, Status, Vec<Status>)> = services
        .into_iter()
        .map(|(s, statuses)| {
            let worst = statuses.iter().copied().max_by_key(|s| s.severity_rank()).unwrap_or(Status::NoData);
            (s, worst, statuses)
        })
        .collect();
    services.sort_by(|a, b| b.1.severity_rank().cmp(&a.1.severity_rank()).then(a.0.cmp(b.0)));
    out.push_str(
        "<h2 id=\"services\">Services</h2><table class=\"services\"><thead><tr><th scope=\"col\">Status</th>\
         <th scope=\"col\">Service</th><th scope=\"col\">SLOs by status</th><th scope=\"col\">Deploys</th></tr></thead><tbody>",
    );
    for (service, worst, statuses) in services {
        let _ = write!(out, "<tr data-service=\"{}\"><td>", Esc(service));
        badge(out, worst);
        let _ = write!(out, "</td><td>{}</td><td>", Esc(service));
        let counts: Vec<String> = Status::ALL
            .into_iter()
            .filter_map(|s| {
                let n = statuses.iter().filter(|x| **x == s).count();
                (n > 0).then(|| format!("{n} {}", s.as_str()))
            })
            .collect();
        let _ = write!(
            out,
            "{}</td><td><a href=\"{}\">gate decisions</a></td></tr>",
            counts.join(", "),
            Esc(&super::html::deploys_href(service))
        );
    }
    out.push_str("</tbody></table>");
}

/// The budget left, as a number and a meter.
fn budget_cell(out: &mut String, budget: Option<f64>) {
    out.push_str(&percent(budget, 1));
    if let Some(b) = budget.filter(|b| b.is_finite()) {
        // A native <meter>: no inline style (the CSP forbids it), coloured by the browser.
        let _ = write!(
            out,
            " <meter min=\"0\" max=\"100\" low=\"25\" high=\"50\" optimum=\"100\" value=\"{:.1}\" aria-hidden=\"true\"></meter>",
            (b * 100.0).clamp(0.0, 100.0)
        );
    }
}
