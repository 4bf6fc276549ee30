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
//! * `GET /deploys/{service}` -- the deploy gate's decisions for the service, newest first
//!   (verdict, environment, commit, who asked, every reason, exception or override, whether
//!   GitHub got the answer), and the deploys under post-deploy verification; the link in the
//!   gate's GitHub comments and `slo gate` summaries.
//! * `GET /assets/dashboard.css` -- the stylesheet.
//!
//! **Since when** ([`since`]). For the status an SLO has now, the first history row after the
//! last row with a different status; when the history holds no other status it reads "over (the age
//! of the oldest row)" (the history is kept [`history::RETENTION`]). Answers are remembered per
//! router and re-checked against only the rows written since.
//!
//! **Alerts.** The journey page lists each SLO's alerts from the alerting state machine
//! ([`crate::alert::list`]: firing, pending, resolved, with since when), and any tier whose
//! condition holds in the latest evaluation without a stored alert yet. **Deploys**: the charts
//! carry a vertical mark for each deploy the gate approved or rejected and each deploy that
//! failed post-deploy verification ([`deploy_annotations`]).
//!
//! This file holds the routes: each handler reads what its page shows (the controller's current
//! evaluations, the history, alerts, windows) and hands it to the page's renderer,
//! `overview` or `journey`; [`html`] and [`chart`] write the markup, [`since`] holds the
//! one query of its own.
//!
//! Pages are sent with a strict `Content-Security-Policy` (no script at all, styles from this
//! origin only), so an escaping mistake could not run script either. Every dynamic string goes
//! through [`html::Esc`].

pub mod chart;
mod deploys;
pub mod html;
mod journey;
mod overview;
pub mod since;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::Timestamp;

use crate::alert::outbox::{self, DeliveryState, Filter};
use crate::controller::{Controller, Current, history};
use crate::eval::{Evaluation, Status};
use crate::spec::{Slo, SloKey, Spec};
use chart::Mark;
use html::{journey_href, slo_anchor};
use since::SinceCache;

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
        .route("/deploys/{service}", get(deploys_page))
        .route("/slos/{service}/{slo}", get(slo_redirect))
        .route("/slos/{slo}", get(slo_id_redirect))
        .route("/assets/dashboard.css", get(stylesheet))
        .layer(Extension(Arc::new(SinceCache::default())))
        .with_state(controller)
}

/// Deploy annotations for a service's charts between two instants: each deploy the gate
/// approved or rejected (once per sha, environment and verdict, the first time) and each
/// deploy that failed post-deploy verification. A store that cannot be read gives no marks
/// (logged): the charts still render.
pub async fn deploy_annotations(controller: &Controller, service: &str, from: Timestamp, to: Timestamp) -> Vec<Mark> {
    let filter =
        crate::gate::store::Filter { service: Some(service.to_owned()), since: Some(from), ..Default::default() };
    let decisions = match crate::gate::store::list(controller.db(), &filter, 500).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the gate's decisions for the deploy marks");
            Vec::new()
        }
    };
    let mut seen = std::collections::HashSet::new();
    let mut marks: Vec<Mark> = decisions
        .iter()
        .rev()
        .filter(|d| d.created_at <= to && d.verdict != crate::gate::Verdict::Hold)
        .filter(|d| seen.insert((d.sha.clone(), d.environment.clone(), d.verdict)))
        .map(|d| Mark {
            label: format!("deploy {} {} ({})", &d.sha[..d.sha.len().min(7)], d.verdict.past(), d.environment),
            at: d.created_at,
        })
        .collect();
    match crate::github::worker::verifications(controller, Some(service), from).await {
        Ok(v) => marks.extend(v.iter().filter(|v| v.state == "failed").map(|v| Mark {
            label: format!("deploy {} failed verification ({})", &v.sha[..v.sha.len().min(7)], v.environment),
            at: v.created_at,
        })),
        Err(e) => tracing::warn!(error = %e, "cannot read the watched deploys for the deploy marks"),
    }
    marks.sort_by_key(|m| m.at);
    marks
}

/// `slo`'s latest evaluation, if it has one.
fn evaluation<'a>(current: &'a Current, spec: &Spec, slo: &Slo) -> Option<&'a Evaluation> {
    current.get(&spec.key(slo))
}

/// `GET /`: every SLO with since when it has its status, the alerts and the dead letters.
async fn overview(State(c): State<AppState>, Extension(cache): Extension<Arc<SinceCache>>) -> Response {
    let now = Timestamp::now();
    let specs = c.specs();
    let current = c.current();
    let mut rows: Vec<overview::Row<'_>> = specs
        .iter()
        .flat_map(|spec| {
            let current = &current;
            spec.journeys.iter().flat_map(move |journey| {
                journey.slos.iter().map(move |slo| overview::Row {
                    spec,
                    journey,
                    slo,
                    eval: evaluation(current, spec, slo),
                    since: None,
                })
            })
        })
        .collect();
    let sinces = futures::future::join_all(rows.iter().map(|r| since::of(c.db(), &cache, r.eval))).await;
    for (row, since) in rows.iter_mut().zip(sinces) {
        row.since = since;
    }
    rows.sort_by(overview::worst_first);
    let alerts = crate::alert::list(c.db()).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the alert states");
        Vec::new()
    });
    let dead_letters = Filter { state: Some(DeliveryState::Dead), receiver: None };
    let dead = outbox::list(c.db(), &dead_letters, overview::DEAD_LETTERS_SHOWN).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the dead-lettered notifications");
        Vec::new()
    });
    page(StatusCode::OK, "Kura SLOs", &overview::render(&rows, &alerts, &dead, now), now)
}

#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    range: Option<String>,
}

/// `GET /journeys/{service}/{journey}`: each SLO's history over the chosen range, its alerts
/// and the maintenance windows over it.
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
        .filter(|r| journey::RANGES.contains(&r.as_str()) && r != "window")
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
    let evals: Vec<Option<&Evaluation>> = j.slos.iter().map(|s| evaluation(&current, spec, s)).collect();
    let status = |e: Option<&Evaluation>| e.map_or(Status::NoData, |e| e.status);
    let worst = evals.iter().map(|e| status(*e)).max_by_key(|s| s.severity_rank()).unwrap_or(Status::NoData);
    let composite = crate::eval::composite(j, |id| current.get(&SloKey::new(&spec.service, id)).and_then(|e| e.sli));
    let alerts = crate::alert::list(c.db()).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the alert states; showing the evaluation's firing tiers");
        Vec::new()
    });
    // Worst first here too: the SLO in trouble is the first one on the page.
    let mut slos: Vec<(&Slo, Option<&Evaluation>)> = j.slos.iter().zip(evals).collect();
    slos.sort_by_key(|s| std::cmp::Reverse(status(s.1).severity_rank()));
    let mut sections = Vec::new();
    for (slo, eval) in slos {
        let span = journey::span(slo, range, now);
        let rows = match history::since(c.db(), &spec.service, &slo.id, span.0, history::MAX_HISTORY).await {
            Ok(rows) => chart::thin(&rows, MAX_CHART_POINTS),
            Err(e) => {
                tracing::error!(error = %e, service = %spec.service, slo = %slo.id, "cannot read the history");
                let body = html::unavailable("history");
                return page(StatusCode::INTERNAL_SERVER_ERROR, "Kura SLOs: history unavailable", &body, now);
            }
        };
        let mut windows: Vec<crate::maintenance::Window> = c.service_windows().iter().cloned().collect();
        match crate::maintenance::between(c.db(), span.0, span.1).await {
            Ok(stored) => windows.extend(stored),
            Err(e) => tracing::warn!(error = %e, "cannot read the stored maintenance windows"),
        }
        let mut bands = journey::maintenance_bands(spec, span.0, span.1);
        bands.extend(journey::window_bands(&windows, spec, slo, span, now));
        sections.push(journey::Section {
            slo,
            eval,
            since: since::of(c.db(), &cache, eval).await,
            rows,
            bands,
            marks: deploy_annotations(&c, &spec.service, span.0, span.1).await,
            alerts: alerts.iter().filter(|a| a.service == spec.service && a.slo == slo.id).collect(),
        });
    }
    let body = journey::render(spec, j, worst, composite, range, &sections, now);
    page(StatusCode::OK, &format!("{} / {} · Kura SLOs", spec.service, j.name), &body, now)
}

/// `GET /deploys/{service}`: the gate's decisions and the watched deploys of one service.
async fn deploys_page(State(c): State<AppState>, Path(service): Path<String>) -> Response {
    let now = Timestamp::now();
    if !c.specs().iter().any(|s| s.service == service) {
        return not_found(&format!("There is no service {service}."), now);
    }
    let filter = crate::gate::store::Filter { service: Some(service.clone()), ..Default::default() };
    let decisions = match crate::gate::store::list(c.db(), &filter, deploys::DECISIONS_SHOWN).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, %service, "cannot read the gate's decisions");
            let body = html::unavailable("gate's decisions");
            return page(StatusCode::INTERNAL_SERVER_ERROR, "Kura SLOs: decisions unavailable", &body, now);
        }
    };
    let since = now.checked_sub(deploys::WATCHED_SHOWN).unwrap_or(now);
    let watched = crate::github::worker::verifications(&c, Some(&service), since).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read the watched deploys");
        Vec::new()
    });
    let body = deploys::render(&service, &decisions, &watched, now);
    page(StatusCode::OK, &format!("Deploys of {service} · Kura SLOs"), &body, now)
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
            let body = html::which_service(&slo, several);
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
    page(StatusCode::NOT_FOUND, "Not found · Kura SLOs", &html::not_found(message), now)
}

/// A page in its frame, with the headers every page has.
fn page(status: StatusCode, title: &str, body: &str, now: Timestamp) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        html::frame(title, body, now),
    )
        .into_response()
}
