//! The journey page's body (`GET /journeys/{service}/{journey}`): per SLO of the journey,
//! worst first, its facts and alerts, the budget burn-down, the SLI against the objective and
//! the burn rate of every alert tier against its threshold, over the SLO window or a shorter
//! range ([`RANGES`]), with maintenance windows shaded. Rendering only: the handler in
//! [`super`] reads the history, the alerts and the stored windows into [`Section`]s.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};

use super::chart::{Band, Chart, Mark, Rule, Series};
use super::html::{
    Esc, badge, burn, instant, journey_href, percent, since_cell, slo_anchor, time_to_exhaustion, worst_burn,
};
use super::since::Since;
use crate::alert::Alert;
use crate::eval::{CompositeEvaluation, Evaluation, Status};
use crate::maintenance::{Origin, Window};
use crate::spec::{JourneySlos, Maintenance, Slo, Spec};

/// The chart ranges a journey page offers (`?range=`); anything else is the SLO window.
pub const RANGES: [&str; 4] = ["6h", "1d", "7d", "window"];

/// One SLO's section, as the handler read it.
#[derive(Debug)]
pub(super) struct Section<'a> {
    pub slo: &'a Slo,
    pub eval: Option<&'a Evaluation>,
    pub since: Option<Since>,
    /// The history over [`span`], thinned for the charts.
    pub rows: Vec<Evaluation>,
    /// Maintenance windows over [`span`].
    pub bands: Vec<Band>,
    /// Deploys over [`span`].
    pub marks: Vec<Mark>,
    /// The SLO's alerts from the alerting state machine.
    pub alerts: Vec<&'a Alert>,
}

/// What the charts cover: the SLO window (the period so far for a calendar one), or the last
/// `range` of it.
pub(super) fn span(slo: &Slo, range: Option<SignedDuration>, now: Timestamp) -> (Timestamp, Timestamp) {
    let (start, end) = slo.window.bounds(now);
    match range {
        Some(r) => (now.saturating_sub(r).unwrap_or(start).max(start), now),
        None => (start, end.max(now)),
    }
}

/// The page's body: the journey, its composite, its maintenance windows, the range choice,
/// then `sections` (already worst first).
pub(super) fn render(
    spec: &Spec,
    j: &JourneySlos,
    worst: Status,
    composite: Option<CompositeEvaluation>,
    range: Option<SignedDuration>,
    sections: &[Section<'_>],
    now: Timestamp,
) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<p><a href=\"/\">← all SLOs</a> · <a href=\"{}\">deploys of {}</a></p><h2 class=\"journey-title\">{} / {} ",
        Esc(&super::html::deploys_href(&spec.service)),
        Esc(&spec.service),
        Esc(&spec.service),
        Esc(&j.name)
    );
    badge(&mut body, worst);
    let _ = write!(body, "</h2><p class=\"description\">{}</p>", Esc(&j.description));
    if let Some(composite) = composite {
        let _ = write!(
            body,
            "<p>Journey composite <strong>{}</strong>: SLI {} against {} % ({})</p>",
            Esc(&composite.id),
            percent(composite.sli, 3),
            Esc(&composite.objective),
            match composite.meets_objective {
                Some(true) => "meets its objective",
                Some(false) => "<strong>misses its objective</strong>",
                None => "unknown",
            }
        );
    }
    maintenance_list(&mut body, spec, now);
    let mut nav = String::new();
    for s in &j.slos {
        let _ = write!(nav, "<li><a href=\"#{}\">{}</a></li>", Esc(&slo_anchor(&s.id)), Esc(&s.id));
    }
    let _ =
        write!(body, "<nav aria-label=\"SLOs of this journey\"><ul>{nav}</ul></nav><p class=\"ranges\">Charts over: ");
    let href = journey_href(&spec.service, &j.name);
    for r in RANGES {
        let chosen = range.map_or(r == "window", |d| crate::math::format_duration(d) == r);
        let label = if r == "window" { "the SLO window" } else { r };
        if chosen {
            let _ = write!(body, "<strong>{label}</strong> ");
        } else {
            let _ = write!(body, "<a href=\"{}?range={r}\">{label}</a> ", Esc(&href));
        }
    }
    body.push_str("</p>");
    for s in sections {
        section(&mut body, s, range, now);
    }
    body
}

/// The spec's own maintenance windows, the open one marked.
fn maintenance_list(out: &mut String, spec: &Spec, now: Timestamp) {
    if spec.maintenance.is_empty() {
        return;
    }
    out.push_str("<h3>Maintenance windows</h3><ul class=\"maintenance\">");
    let open = crate::eval::open_maintenance(spec, now).map(Maintenance::name);
    for m in &spec.maintenance {
        let when = match m {
            Maintenance::Once { start, end, .. } => format!("{} – {}", instant(*start), instant(*end)),
            Maintenance::Weekly { weekday, start, duration, .. } => format!(
                "every {weekday:?} at {} ({}) for {}",
                start.strftime("%H:%M"),
                spec.time_zone,
                crate::math::format_duration(*duration)
            ),
        };
        let _ = write!(
            out,
            "<li><strong>{}</strong>: {}{}</li>",
            Esc(m.name()),
            Esc(&when),
            if open == Some(m.name()) { " — <strong>open now</strong>" } else { "" }
        );
    }
    out.push_str("</ul>");
}

/// One SLO's section: its facts, alerts and charts over `span`, then its tiers now.
fn section(out: &mut String, s: &Section<'_>, range: Option<SignedDuration>, now: Timestamp) {
    let Section { slo, eval, since, rows, bands, marks, alerts } = s;
    let (slo, eval, since) = (*slo, *eval, *since);
    let status = eval.map_or(Status::NoData, |e| e.status);
    let (from, to) = span(slo, range, now);

    let anchor = slo_anchor(&slo.id);
    let _ = write!(
        out,
        "<section class=\"slo\" id=\"{}\" data-slo=\"{}\"><h3>{} ",
        Esc(&anchor),
        Esc(&slo.id),
        Esc(&slo.id)
    );
    badge(out, status);
    out.push_str("</h3>");
    if !slo.description.is_empty() {
        let _ = write!(out, "<p class=\"description\">{}</p>", Esc(&slo.description));
    }
    if let Some(reason) = eval.and_then(|e| e.reason.as_deref()).or(eval.is_none().then_some("not evaluated yet")) {
        let _ = write!(out, "<p class=\"muted\">{}</p>", Esc(reason));
    }
    out.push_str("<dl class=\"facts\">");
    let mut fact = |label: &str, value: &str| {
        let _ = write!(out, "<div><dt>{}</dt><dd>{}</dd></div>", Esc(label), value);
    };
    let mut since_html = String::new();
    since_cell(&mut since_html, since, now);
    fact("Status since", &since_html);
    fact("Objective", &format!("{} %", Esc(&slo.objective.to_string())));
    fact("Window", &Esc(&slo.window.to_string()).to_string());
    fact("SLI", &percent(eval.and_then(|e| e.sli), 3));
    fact("Budget left", &percent(eval.and_then(|e| e.budget_remaining), 1));
    fact("Worst burn rate", &worst_burn(eval));
    fact("Time to exhaustion", &time_to_exhaustion(eval));
    fact("Kind", Esc(slo.sli.kind()).to_string().as_str());
    out.push_str("</dl>");

    firing_alerts(out, eval, alerts, now);

    let window_words = match range {
        Some(r) => format!(
            "the last {} (of the {} window), from {} to {}",
            crate::math::format_duration(r),
            slo.window,
            instant(from),
            instant(to)
        ),
        None => format!("the {} window from {} to {}", slo.window, instant(from), instant(to)),
    };
    out.push_str("<div class=\"charts\">");

    let budget: Vec<(Timestamp, Option<f64>)> =
        rows.iter().map(|e| (e.evaluated_at, e.budget_remaining.map(|b| b * 100.0))).collect();
    let lowest = budget.iter().filter_map(|(_, v)| *v).fold(0.0_f64, f64::min);
    figure(
        out,
        "Error budget burn-down",
        &Chart {
            id: format!("{anchor}-budget"),
            title: format!("{}: error budget remaining", slo.id),
            desc: format!(
                "Remaining error budget in percent over {window_words}; {} evaluations; now {}.",
                budget.len(),
                percent(eval.and_then(|e| e.budget_remaining), 1)
            ),
            from,
            to,
            y_min: lowest.floor(),
            y_max: 100.0,
            y_unit: " %",
            series: vec![Series { name: "budget remaining".into(), class: "line-budget", points: budget }],
            rules: vec![Rule { label: "budget exhausted".into(), class: "rule-zero", value: 0.0 }],
            bands: bands.clone(),
            marks: marks.clone(),
        },
    );

    let objective = slo.objective.target_f64() * 100.0;
    let sli: Vec<(Timestamp, Option<f64>)> = rows.iter().map(|e| (e.evaluated_at, e.sli.map(|s| s * 100.0))).collect();
    let low_sli = sli.iter().filter_map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
    let y_min = (objective - 3.0 * (100.0 - objective)).min(low_sli).max(0.0);
    figure(
        out,
        "SLI against the objective",
        &Chart {
            id: format!("{anchor}-sli"),
            title: format!("{}: SLI against the {} % objective", slo.id, slo.objective),
            desc: format!(
                "The SLI in percent over {window_words}, with the objective {} % as a line; now {}.",
                slo.objective,
                percent(eval.and_then(|e| e.sli), 3)
            ),
            from,
            to,
            y_min,
            y_max: 100.0,
            y_unit: " %",
            series: vec![Series { name: "SLI".into(), class: "line-sli", points: sli }],
            rules: vec![Rule {
                label: format!("objective {} %", slo.objective),
                class: "rule-objective",
                value: objective,
            }],
            bands: bands.clone(),
            marks: marks.clone(),
        },
    );

    for (i, tier) in slo.alerting.tiers.iter().enumerate() {
        let threshold = rust_decimal::prelude::ToPrimitive::to_f64(&tier.tier.burn_rate).unwrap_or(f64::NAN);
        let pick = |e: &Evaluation, long: bool| {
            e.burn_rates
                .iter()
                .find(|b| b.tier == tier.name)
                .and_then(|b| if long { b.long_burn_rate } else { b.short_burn_rate })
        };
        let long: Vec<(Timestamp, Option<f64>)> = rows.iter().map(|e| (e.evaluated_at, pick(e, true))).collect();
        let short: Vec<(Timestamp, Option<f64>)> = rows.iter().map(|e| (e.evaluated_at, pick(e, false))).collect();
        let highest = long.iter().chain(&short).filter_map(|(_, v)| *v).fold(0.0_f64, f64::max);
        let (lw, sw) =
            (crate::math::format_duration(tier.tier.long_window), crate::math::format_duration(tier.tier.short_window));
        figure(
            out,
            &format!("Burn rate, tier {} ({})", tier.name, tier.tier.severity),
            &Chart {
                id: format!("{anchor}-burn-{i}"),
                title: format!("{}: burn rate over {lw} and {sw} against the {} tier's threshold", slo.id, tier.name),
                desc: format!(
                    "Burn rate (1 spends the budget exactly over the window) over the {lw} and {sw} windows for {window_words}; \
                     the {} tier fires ({}) when both exceed {}.",
                    tier.name, tier.tier.severity, tier.tier.burn_rate
                ),
                from,
                to,
                y_min: 0.0,
                y_max: (highest * 1.1).max(threshold * 1.25).max(1.0).ceil(),
                y_unit: "×",
                series: vec![
                    Series { name: format!("{lw} window"), class: "line-long", points: long },
                    Series { name: format!("{sw} window"), class: "line-short", points: short },
                ],
                rules: vec![Rule {
                    label: format!("threshold {}×", tier.tier.burn_rate),
                    class: "rule-threshold",
                    value: threshold,
                }],
                bands: bands.clone(),
                marks: marks.clone(),
            },
        );
    }
    out.push_str("</div>");
    tiers_table(out, eval);
    out.push_str("</section>");
}

/// A chart with its caption.
fn figure(out: &mut String, caption: &str, chart: &Chart) {
    out.push_str("<figure>");
    chart.render(out);
    let _ = write!(out, "<figcaption>{}</figcaption></figure>", Esc(caption));
}

/// The SLO's alerts from the alerting state machine ([`crate::alert`]: firing, pending, recently
/// resolved), then any tier whose condition holds in the latest evaluation without a stored
/// alert yet (the alert state is written in the same cycle, so that is rare and brief).
fn firing_alerts(out: &mut String, eval: Option<&Evaluation>, alerts: &[&Alert], now: Timestamp) {
    use crate::alert::AlertState;
    let firing_now: Vec<_> = eval.map(|e| e.burn_rates.iter().filter(|b| b.firing).collect()).unwrap_or_default();
    let unstored: Vec<_> = firing_now
        .iter()
        .filter(|b| !alerts.iter().any(|a| a.tier == b.tier && a.state == AlertState::Firing))
        .collect();
    if alerts.is_empty() && unstored.is_empty() {
        out.push_str("<p class=\"alerts\">Alerts: none firing or pending.</p>");
        return;
    }
    out.push_str("<p class=\"alerts\"><strong>Alerts:</strong></p><ul class=\"alerts\">");
    let rate = |tier: &str| {
        eval.and_then(|e| e.burn_rates.iter().find(|b| b.tier == tier)).map(|b| {
            format!(
                "; burn {} over {}, {} over {}, threshold {}×",
                b.long_burn_rate.map_or("–".to_owned(), burn),
                Esc(&b.long_window),
                b.short_burn_rate.map_or("–".to_owned(), burn),
                Esc(&b.short_window),
                Esc(&b.threshold)
            )
        })
    };
    for a in alerts {
        let (label, at) = match a.state {
            AlertState::Firing => ("FIRING since", a.firing_since),
            AlertState::Pending => ("pending since", a.pending_since),
            AlertState::Resolved => ("resolved at", a.resolved_at),
            AlertState::Inactive => continue,
        };
        let _ = write!(out, "<li class=\"alert-{}\">{} ({}): {label} ", a.state.as_str(), Esc(&a.tier), a.severity);
        since_cell(out, at.map(|at| Since { at, changed: true }), now);
        let _ = write!(out, "{}</li>", rate(&a.tier).unwrap_or_default());
    }
    for b in unstored {
        let _ = write!(
            out,
            "<li class=\"alert-firing\">{} ({}): the condition holds in the latest evaluation{}</li>",
            Esc(&b.tier),
            b.severity,
            rate(&b.tier).unwrap_or_default()
        );
    }
    out.push_str("</ul>");
}

/// Every tier's burn rates in the latest evaluation.
fn tiers_table(out: &mut String, eval: Option<&Evaluation>) {
    let Some(e) = eval.filter(|e| !e.burn_rates.is_empty()) else { return };
    out.push_str(
        "<table class=\"tiers\"><caption class=\"muted\">Burn rate per alert tier now</caption><thead><tr>\
         <th scope=\"col\">Tier</th><th scope=\"col\">Severity</th><th scope=\"col\" class=\"num\">Long window</th>\
         <th scope=\"col\" class=\"num\">Short window</th><th scope=\"col\" class=\"num\">Threshold</th>\
         <th scope=\"col\">Firing</th></tr></thead><tbody>",
    );
    for b in &e.burn_rates {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{} over {}</td><td class=\"num\">{} over {}</td>\
             <td class=\"num\">{}×</td><td>{}</td></tr>",
            Esc(&b.tier),
            b.severity,
            b.long_burn_rate.map_or("–".to_owned(), burn),
            Esc(&b.long_window),
            b.short_burn_rate.map_or("–".to_owned(), burn),
            Esc(&b.short_window),
            Esc(&b.threshold),
            if b.firing { "<strong class=\"alert-firing\">FIRING</strong>" } else { "no" }
        );
    }
    out.push_str("</tbody></table>");
}

/// Maintenance windows of `spec` that overlap `[from, to]`, clipped to it.
pub fn maintenance_bands(spec: &Spec, from: Timestamp, to: Timestamp) -> Vec<Band> {
    let tz = jiff::tz::TimeZone::get(&spec.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let mut bands = Vec::new();
    for m in &spec.maintenance {
        match m {
            Maintenance::Once { name, start, end } => {
                if *start < to && *end > from {
                    bands.push(Band {
                        label: format!("maintenance {name}: {} – {}", instant(*start), instant(*end)),
                        start: (*start).max(from),
                        end: (*end).min(to),
                    });
                }
            }
            Maintenance::Weekly { name, weekday, start, duration } => {
                // From a week before `from` (a window may begin before it) to `to`.
                let Ok(mut date) =
                    from.to_zoned_datetime(tz.clone()).date().checked_sub(SignedDuration::from_hours(24 * 7))
                else {
                    continue;
                };
                let last = to.to_zoned_datetime(tz.clone()).date();
                while date <= last {
                    if date.weekday() == *weekday
                        && let Ok(begin) = tz.to_timestamp(date.to_datetime(*start))
                        && let Ok(end) = begin.checked_add(*duration)
                        && begin < to
                        && end > from
                    {
                        bands.push(Band {
                            label: format!("maintenance {name} (weekly): {} – {}", instant(begin), instant(end)),
                            start: begin.max(from),
                            end: end.min(to),
                        });
                    }
                    let Ok(next) = date.tomorrow() else { break };
                    date = next;
                }
            }
        }
    }
    bands
}

/// Of `windows` (the API's stored ones, the services' maintenance mode: see
/// [`crate::maintenance`]), those that cover `slo` and overlap `[from, to]`, clipped to it.
pub(super) fn window_bands(
    windows: &[Window],
    spec: &Spec,
    slo: &Slo,
    (from, to): (Timestamp, Timestamp),
    now: Timestamp,
) -> Vec<Band> {
    windows
        .iter()
        .filter(|w| {
            w.service == spec.service
                && w.journey.as_deref().is_none_or(|j| j == slo.journey)
                && w.slo.as_deref().is_none_or(|s| s == slo.id)
        })
        .filter_map(|w| {
            let end = w.ends_at.unwrap_or(now);
            (w.starts_at < to && end > from && w.starts_at < end).then(|| Band {
                label: format!(
                    "maintenance ({}) {}: {} – {}",
                    match w.origin {
                        Origin::Spec => "spec",
                        Origin::Service => "service",
                        Origin::Api => "api",
                    },
                    w.reason,
                    instant(w.starts_at),
                    w.ends_at.map_or_else(|| "now".to_owned(), instant)
                ),
                start: w.starts_at.max(from),
                end: end.min(to),
            })
        })
        .collect()
}
