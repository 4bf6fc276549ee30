//! The SREs' dashboard: server-rendered HTML on the controller's public port, no JavaScript,
//! no build step and nothing fetched from elsewhere (the stylesheet is compiled into the
//! binary; charts are inline SVG). Pages refresh themselves every 30 s
//! (`<meta http-equiv="refresh">`) and every table works without script.
//!
//! * `GET /` -- every SLO of every service and journey, worst first (status by
//!   [`Status::severity_rank`], then least budget left): status (colour and text label), since
//!   when it has had that status (from the history), objective, window, SLI, budget left, the
//!   worst long-window burn rate and time to exhaustion; above it, the journeys in trouble in
//!   one sentence each, the notifications given up on (dead letters, if any), and a per-service
//!   summary.
//! * `GET /journeys/{service}/{journey}` -- per SLO of the journey: budget burn-down over the
//!   window, SLI against the objective, burn rate per alert tier with the tier's threshold,
//!   maintenance windows shaded (the spec's, the API's and the service's maintenance mode,
//!   [`crate::maintenance`]), the tiers firing now; an HTML 404 page for an unknown journey.
//! * `GET /slos/{service}/{slo}` -- a redirect to the SLO's section of its journey page (the
//!   link a spec's `dashboard: /slos/{service}/{slo}` template makes); `GET /slos/{slo}` -- the
//!   same when one service has that SLO id, a page linking each when several do.
//! * `GET /assets/dashboard.css` -- the stylesheet.
//!
//! **Since when.** For the status an SLO has now, the first history row after the last row with
//! a different status ([`status_since`]); when the history holds no other status it reads
//! "over <age of the oldest row>" (the history is kept [`history::RETENTION`]). Answers are
//! remembered per router ([`SinceCache`]) and re-checked against only the rows written since.
//!
//! **Alerts.** The journey page lists each SLO's alerts from the alerting state machine
//! ([`crate::alert::list`]: firing, pending, resolved, with since when), and any tier whose
//! condition holds in the latest evaluation without a stored alert yet. **Deploys** are a later feature: the
//! charts take vertical marks from [`deploy_annotations`], which returns none yet.
//!
//! Pages are sent with a strict `Content-Security-Policy` (no script at all, styles from this
//! origin only), so an escaping mistake could not run script either. Every dynamic string goes
//! through [`html::Esc`].

pub mod chart;
pub mod html;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};

use crate::controller::{Controller, Current, history};
use crate::eval::{Evaluation, Status};
use crate::spec::{JourneySlos, Maintenance, Slo, Spec};
use chart::{Band, Chart, Mark, Rule, Series};
use html::{Esc, badge, burn, human_duration, instant, instant_exact, journey_href, percent, slo_anchor};

/// The stylesheet, compiled in.
pub const STYLESHEET: &str = include_str!("dashboard/dashboard.css");

/// How often pages reload themselves, in seconds.
pub const REFRESH_SECONDS: u32 = 30;

/// At most this many points per chart line (a 28-day window holds ~20,000 rows).
pub const MAX_CHART_POINTS: usize = 600;

/// No script may run; styles only from this origin; favicons as `data:` (the page sets an empty
/// one so the browser asks for nothing).
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

type AppState = Arc<Controller>;

/// The dashboard's routes over `controller`, to be merged into the controller's public router.
pub fn router(controller: Arc<Controller>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/journeys/{service}/{journey}", get(journey_page))
        .route("/slos/{service}/{slo}", get(slo_redirect))
        .route("/slos/{slo}", get(slo_id_redirect))
        .route("/assets/dashboard.css", get(stylesheet))
        .layer(Extension(Arc::new(SinceCache::default())))
        .with_state(controller)
}

/// Since when an SLO has had its current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since {
    pub at: Timestamp,
    /// False when the history holds no other status: `at` is then only the oldest row kept.
    pub changed: bool,
}

/// The first history row after the last row whose status is not `status`.
#[tracing::instrument(skip_all, fields(service, slo))]
pub async fn status_since(
    db: &platform::Db,
    service: &str,
    slo: &str,
    status: Status,
) -> Result<Option<Since>, sqlx::Error> {
    let last_other: Option<i64> = sqlx::query_scalar(
        "select max(evaluated_at) from slo_evaluation where service = $1 and slo = $2 and status <> $3",
    )
    .bind(service)
    .bind(slo)
    .bind(status.as_str())
    .fetch_one(db.reader())
    .await?;
    let first: Option<i64> = sqlx::query_scalar(
        "select min(evaluated_at) from slo_evaluation where service = $1 and slo = $2 and evaluated_at > $3",
    )
    .bind(service)
    .bind(slo)
    .bind(last_other.unwrap_or(i64::MIN))
    .fetch_one(db.reader())
    .await?;
    Ok(first.and_then(|ms| Timestamp::from_millisecond(ms).ok()).map(|at| Since { at, changed: last_other.is_some() }))
}

/// Deploy annotations for a service's charts between two instants. The hook for the deploy
/// gate's records (a later feature): none yet.
pub fn deploy_annotations(_controller: &Controller, _service: &str, _from: Timestamp, _to: Timestamp) -> Vec<Mark> {
    Vec::new()
}

/// One SLO as the overview shows it.
#[derive(Debug)]
struct Row<'a> {
    spec: &'a Spec,
    journey: &'a JourneySlos,
    slo: &'a Slo,
    eval: Option<&'a Evaluation>,
    since: Option<Since>,
}

impl Row<'_> {
    fn status(&self) -> Status {
        self.eval.map_or(Status::NoData, |e| e.status)
    }

    fn budget(&self) -> Option<f64> {
        self.eval.and_then(|e| e.budget_remaining)
    }
}

fn evaluation<'a>(current: &'a Current, service: &str, slo: &str) -> Option<&'a Evaluation> {
    current.get(&crate::spec::SloKey::new(service, slo))
}

/// Worst first: status rank, then least budget left (none last), then by name.
fn worst_first(a: &Row<'_>, b: &Row<'_>) -> std::cmp::Ordering {
    let budget = |r: &Row<'_>| r.budget().unwrap_or(f64::INFINITY);
    b.status()
        .severity_rank()
        .cmp(&a.status().severity_rank())
        .then(budget(a).total_cmp(&budget(b)))
        .then_with(|| (&a.spec.service, &a.slo.id).cmp(&(&b.spec.service, &b.slo.id)))
}

/// Since-when per SLO, remembered between page loads, so that a refresh every 30 s does not
/// search every SLO's whole history again: a remembered answer is checked against the rows
/// written after it (an index range of a few rows) and recomputed only when one of them has
/// another status.
#[derive(Debug, Default)]
pub struct SinceCache(std::sync::Mutex<HashMap<(String, String), Cached>>);

#[derive(Debug, Clone, Copy)]
struct Cached {
    status: Status,
    since: Since,
    /// The newest evaluation the answer covers.
    checked_at: Timestamp,
}

impl SinceCache {
    fn get(&self, key: &(String, String)) -> Option<Cached> {
        self.0.lock().ok().and_then(|m| m.get(key).copied())
    }

    fn put(&self, key: (String, String), value: Cached) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, value);
        }
    }
}

async fn since_of(
    c: &Controller,
    cache: &SinceCache,
    service: &str,
    slo: &str,
    eval: Option<&Evaluation>,
) -> Option<Since> {
    let e = eval?;
    let key = (service.to_owned(), slo.to_owned());
    let result = async {
        if let Some(hit) = cache.get(&key).filter(|h| h.status == e.status) {
            let others: i64 = sqlx::query_scalar(
                "select count(*) from slo_evaluation where service = $1 and slo = $2 and evaluated_at > $3 \
                 and status <> $4",
            )
            .bind(service)
            .bind(slo)
            .bind(hit.checked_at.as_millisecond())
            .bind(e.status.as_str())
            .fetch_one(c.db().reader())
            .await?;
            if others == 0 {
                cache.put(key.clone(), Cached { checked_at: e.evaluated_at.max(hit.checked_at), ..hit });
                return Ok(Some(hit.since));
            }
        }
        let since = status_since(c.db(), service, slo, e.status).await?;
        if let Some(since) = since {
            cache.put(key.clone(), Cached { status: e.status, since, checked_at: e.evaluated_at });
        }
        Ok::<_, sqlx::Error>(since)
    };
    match result.await {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(error = %err, service, slo, "cannot read since when the status holds");
            None
        }
    }
}

fn since_cell(out: &mut String, since: Option<Since>, now: Timestamp) {
    match since {
        Some(s) if !s.changed => {
            // The history holds nothing else: say how far back it goes, the instant in the tooltip.
            let _ = write!(
                out,
                "<time class=\"since\" datetime=\"{}\" title=\"at least since {}\">over {}</time>",
                instant_exact(s.at),
                instant(s.at),
                human_duration(now.duration_since(s.at).as_secs_f64())
            );
        }
        Some(s) => {
            // The date only when it is not today (UTC): the time is what a person reads first.
            let same_day = s.at.strftime("%Y-%m-%d").to_string() == now.strftime("%Y-%m-%d").to_string();
            let short = if same_day { s.at.strftime("%H:%M UTC").to_string() } else { instant(s.at) };
            let _ = write!(
                out,
                "<time class=\"since\" datetime=\"{}\" title=\"{}\">{short}</time> <span class=\"muted\">({})</span>",
                instant_exact(s.at),
                instant(s.at),
                human_duration(now.duration_since(s.at).as_secs_f64())
            );
        }
        None => out.push_str("<span class=\"muted\">–</span>"),
    }
}

/// The highest long-window burn rate and its window, e.g. `14.2× over 1h`.
fn worst_burn(e: Option<&Evaluation>) -> String {
    e.and_then(|e| {
        e.burn_rates
            .iter()
            .filter_map(|b| b.long_burn_rate.map(|r| (r, &b.long_window)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    })
    .map_or_else(|| "–".to_owned(), |(r, w)| format!("{} over {}", burn(r), Esc(w)))
}

fn time_to_exhaustion(e: Option<&Evaluation>) -> String {
    match e {
        Some(e) if e.budget_remaining.is_some_and(|b| b <= 0.0) => "exhausted".to_owned(),
        // Beyond a quarter the number says nothing more than "not soon".
        Some(e) => e.time_to_exhaustion_seconds.map_or_else(
            || "not burning".to_owned(),
            |s| if s > 90.0 * 86_400.0 { "> 90d".to_owned() } else { human_duration(s) },
        ),
        None => "–".to_owned(),
    }
}

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

async fn overview(State(c): State<AppState>, Extension(cache): Extension<Arc<SinceCache>>) -> Response {
    let now = Timestamp::now();
    let specs = c.specs();
    let current = c.current();
    let mut rows: Vec<Row<'_>> = specs
        .iter()
        .flat_map(|spec| {
            let current = &current;
            spec.journeys.iter().flat_map(move |journey| {
                journey.slos.iter().map(move |slo| Row {
                    spec,
                    journey,
                    slo,
                    eval: evaluation(current, &spec.service, &slo.id),
                    since: None,
                })
            })
        })
        .collect();
    let sinces =
        futures::future::join_all(rows.iter().map(|r| since_of(&c, &cache, &r.spec.service, &r.slo.id, r.eval))).await;
    for (row, since) in rows.iter_mut().zip(sinces) {
        row.since = since;
    }
    rows.sort_by(worst_first);
    let alerts = crate::alert::list(c.db()).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the alert states");
        Vec::new()
    });

    let dead = crate::alert::outbox::list(
        c.db(),
        &crate::alert::outbox::Filter { state: Some(crate::alert::outbox::DeliveryState::Dead), receiver: None },
        DEAD_LETTERS_SHOWN,
    )
    .await
    .unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the dead-lettered notifications");
        Vec::new()
    });

    let mut body = String::new();
    headline(&mut body, &rows, now);
    dead_letters(&mut body, &dead, now);
    services_summary(&mut body, &rows);
    body.push_str(
        "<h2 id=\"slos\">Every SLO, worst first</h2><table class=\"slos\"><thead><tr>\
         <th scope=\"col\">Status</th><th scope=\"col\">Since</th>\
         <th scope=\"col\">Service / journey</th><th scope=\"col\">SLO</th><th scope=\"col\" class=\"num\">Objective</th>\
         <th scope=\"col\">Window</th><th scope=\"col\" class=\"num\">SLI</th><th scope=\"col\" class=\"num\">Budget left</th>\
         <th scope=\"col\" class=\"num\">Worst burn</th><th scope=\"col\" class=\"num\">Exhausted in</th>\
         </tr></thead><tbody>",
    );
    for r in &rows {
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
    page(StatusCode::OK, "Kura SLOs", &body, now)
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
pub const DEAD_LETTERS_SHOWN: i64 = 20;

/// Notifications given up on ([`crate::alert::outbox`]): on-call was not told about these.
fn dead_letters(out: &mut String, dead: &[crate::alert::outbox::OutboxRow], now: Timestamp) {
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
         <th scope=\"col\">Service</th><th scope=\"col\">SLOs by status</th></tr></thead><tbody>",
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
        let _ = write!(out, "{}</td></tr>", counts.join(", "));
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

/// The API's stored windows and the service's open maintenance mode ([`crate::maintenance`])
/// that cover `slo` and overlap `[from, to]`, clipped to it. A database error leaves them out.
async fn other_maintenance_bands(
    c: &Controller,
    spec: &Spec,
    slo: &Slo,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Vec<Band> {
    let mut windows: Vec<crate::maintenance::Window> = c.service_windows().iter().cloned().collect();
    match crate::maintenance::between(c.db(), from, to).await {
        Ok(stored) => windows.extend(stored),
        Err(e) => tracing::warn!(error = %e, "cannot read the stored maintenance windows"),
    }
    windows
        .into_iter()
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
                        crate::maintenance::Origin::Spec => "spec",
                        crate::maintenance::Origin::Service => "service",
                        crate::maintenance::Origin::Api => "api",
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

/// The chart ranges a journey page offers (`?range=`); anything else is the SLO window.
pub const RANGES: [&str; 4] = ["6h", "1d", "7d", "window"];

#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    range: Option<String>,
}

async fn journey_page(
    State(c): State<AppState>,
    Extension(cache): Extension<Arc<SinceCache>>,
    Path((service, journey)): Path<(String, String)>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let now = Timestamp::now();
    let range = query
        .ok()
        .and_then(|Query(q)| q.range)
        .filter(|r| RANGES.contains(&r.as_str()) && r != "window")
        .and_then(|r| crate::math::parse_duration(&r).ok());
    let specs = c.specs();
    let Some((spec, j)) = specs
        .iter()
        .find(|s| s.service == service)
        .and_then(|s| s.journeys.iter().find(|j| j.name == journey).map(|j| (s, j)))
    else {
        return not_found(&format!("There is no journey {journey} in service {service}."), now);
    };
    let current = c.current();
    let mut body = String::new();
    let evals: Vec<Option<&Evaluation>> = j.slos.iter().map(|s| evaluation(&current, &spec.service, &s.id)).collect();
    let worst = evals
        .iter()
        .map(|e| e.map_or(Status::NoData, |e| e.status))
        .max_by_key(|s| s.severity_rank())
        .unwrap_or(Status::NoData);
    let _ = write!(
        body,
        "<p><a href=\"/\">← all SLOs</a></p><h2 class=\"journey-title\">{} / {} ",
        Esc(&spec.service),
        Esc(&j.name)
    );
    badge(&mut body, worst);
    let _ = write!(body, "</h2><p class=\"description\">{}</p>", Esc(&j.description));
    if let Some(composite) = crate::eval::composite(j, |id| evaluation(&current, &spec.service, id).and_then(|e| e.sli))
    {
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
    let alerts = crate::alert::list(c.db()).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the alert states; showing the evaluation's firing tiers");
        Vec::new()
    });
    // Worst first here too: the SLO in trouble is the first one on the page.
    let mut sections: Vec<(&Slo, Option<&Evaluation>)> = j.slos.iter().zip(evals).collect();
    sections.sort_by(|a, b| {
        let rank = |e: Option<&Evaluation>| e.map_or(Status::NoData, |e| e.status).severity_rank();
        rank(b.1).cmp(&rank(a.1))
    });
    for (slo, eval) in sections {
        let ctx = PageContext { c: &c, cache: &cache, now, range, alerts: &alerts };
        if let Err(e) = slo_section(&mut body, &ctx, spec, slo, eval).await {
            tracing::error!(error = %e, service = %spec.service, slo = %slo.id, "cannot read the history");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Kura SLOs: history unavailable",
                "<h2>The history cannot be read right now</h2><p>The controller's database did not answer; \
                 the error is in the controller's log. This page reloads itself.</p>",
                now,
            );
        }
    }
    page(StatusCode::OK, &format!("{} / {} · Kura SLOs", spec.service, j.name), &body, now)
}

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

/// What every SLO section of one journey page shares.
#[derive(Debug)]
struct PageContext<'a> {
    c: &'a Controller,
    cache: &'a SinceCache,
    now: Timestamp,
    /// The chart range (`?range=`), or the SLO window.
    range: Option<SignedDuration>,
    alerts: &'a [crate::alert::Alert],
}

async fn slo_section(
    out: &mut String,
    ctx: &PageContext<'_>,
    spec: &Spec,
    slo: &Slo,
    eval: Option<&Evaluation>,
) -> Result<(), sqlx::Error> {
    let PageContext { c, cache, now, range, alerts } = *ctx;
    let status = eval.map_or(Status::NoData, |e| e.status);
    let since = since_of(c, cache, &spec.service, &slo.id, eval).await;
    let (start, end) = slo.window.bounds(now);
    let (from, to) = match range {
        Some(r) => (now.saturating_sub(r).unwrap_or(start).max(start), now),
        None => (start, end.max(now)),
    };
    let rows = history::since(c.db(), &spec.service, &slo.id, from, history::MAX_HISTORY).await?;
    let rows = chart::thin(&rows, MAX_CHART_POINTS);

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

    let alerts: Vec<&crate::alert::Alert> =
        alerts.iter().filter(|a| a.service == spec.service && a.slo == slo.id).collect();
    firing_alerts(out, eval, &alerts, now);

    let mut bands = maintenance_bands(spec, from, to);
    bands.extend(other_maintenance_bands(c, spec, slo, from, to, now).await);
    let marks = deploy_annotations(c, &spec.service, from, to);
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
    Ok(())
}

fn figure(out: &mut String, caption: &str, chart: &Chart) {
    out.push_str("<figure>");
    chart.render(out);
    let _ = write!(out, "<figcaption>{}</figcaption></figure>", Esc(caption));
}

/// The SLO's alerts from the alerting state machine ([`crate::alert`]: firing, pending, recently
/// resolved), then any tier whose condition holds in the latest evaluation without a stored
/// alert yet (the alert state is written in the same cycle, so that is rare and brief).
fn firing_alerts(out: &mut String, eval: Option<&Evaluation>, alerts: &[&crate::alert::Alert], now: Timestamp) {
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

async fn slo_redirect(State(c): State<AppState>, Path((service, slo)): Path<(String, String)>) -> Response {
    let specs = c.specs();
    match specs.iter().find(|s| s.service == service).and_then(|s| s.slo(&slo)) {
        Some(found) => Redirect::to(&format!("{}#{}", journey_href(&service, &found.journey), slo_anchor(&found.id)))
            .into_response(),
        None => not_found(&format!("There is no SLO {slo} in service {service}."), Timestamp::now()),
    }
}

async fn slo_id_redirect(State(c): State<AppState>, Path(slo): Path<String>) -> Response {
    let specs = c.specs();
    let found: Vec<(&Spec, &Slo)> = specs.iter().filter_map(|s| s.slo(&slo).map(|o| (s, o))).collect();
    let now = Timestamp::now();
    match found.as_slice() {
        [(spec, s)] => {
            Redirect::to(&format!("{}#{}", journey_href(&spec.service, &s.journey), slo_anchor(&s.id))).into_response()
        }
        [] => not_found(&format!("No service has an SLO {slo}."), now),
        several => {
            let mut body = format!("<h2>Several services have an SLO {}</h2><ul>", Esc(&slo));
            for (spec, s) in several {
                let _ = write!(
                    body,
                    "<li><a href=\"{}#{}\">{} / {}</a></li>",
                    Esc(&journey_href(&spec.service, &s.journey)),
                    Esc(&slo_anchor(&s.id)),
                    Esc(&spec.service),
                    Esc(&s.id)
                );
            }
            body.push_str("</ul>");
            page(StatusCode::MULTIPLE_CHOICES, "Which service? · Kura SLOs", &body, now)
        }
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        STYLESHEET,
    )
        .into_response()
}

fn not_found(message: &str, now: Timestamp) -> Response {
    let body = format!("<h2>Not found</h2><p>{}</p><p><a href=\"/\">See every SLO</a>.</p>", Esc(message));
    page(StatusCode::NOT_FOUND, "Not found · Kura SLOs", &body, now)
}

/// The page frame: head (refresh, stylesheet), header, `body`, footer.
fn page(status: StatusCode, title: &str, body: &str, now: Timestamp) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <title>{}</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head>\
         <body><header class=\"top\"><h1><a href=\"/\">Kura SLOs</a></h1><span class=\"meta\">rendered \
         <time datetime=\"{}\">{}</time> · reloads every {REFRESH_SECONDS} s</span></header><main>{body}</main>\
         <footer><a href=\"/api/v1/slos\">JSON API</a> · <a href=\"/openapi.json\">OpenAPI</a></footer></body></html>",
        Esc(title),
        instant_exact(now),
        instant(now),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        html,
    )
        .into_response()
}
