//! Serving the controller, on the platform every Kura server is built on (`platform::serve`):
//!
//! * the public listener (`--listen`): the JSON API ([`crate::api`]) and the dashboard
//!   ([`crate::dashboard`]), inside the layers every Kura API shares (`platform::api::finish`:
//!   `/openapi.json`, problem fallbacks, request timeout, panic handling, load shedding past
//!   [`MAX_IN_FLIGHT`] requests, request metrics);
//! * the admin listener (`--admin-listen`, never public): `platform::admin` --
//!   `GET /livez`, `GET /readyz` (the database answers and every migration is applied),
//!   `GET /metrics` (the binary's and the controller's metrics in one registry),
//!   `GET /debug/pprof/*`;
//! * with a GitHub App configured, `POST /webhooks/github` on the public listener
//!   ([`crate::github::webhook`]) and its worker in the background ([`crate::github::worker`],
//!   leader only);
//! * each listener with its header-read timeout and connection cap ([`Listeners`]);
//! * in the background: the evaluation loop ([`Controller::run`]), the outbox delivery task
//!   ([`crate::alert::outbox::run`], leader only) and, on Unix, a spec reload on SIGHUP.
//!
//! On shutdown the background work stops first (the loop gives up the leader lock, so a
//! standby takes over at once), then the listeners stop accepting and in-flight requests get
//! the drain time to finish.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use platform::api::{ApiLayers, REQUEST_TIMEOUT};
use platform::auth::ApiToken;
use platform::serve::{Limits, Listener};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::AppState;
use crate::controller::Controller;
use crate::github::GithubConfig;

/// Concurrent public requests before new ones are shed with a 503 `overloaded`: dashboard page
/// loads and API reads, each a few indexed queries.
pub const MAX_IN_FLIGHT: usize = 256;

/// How the public API behaves.
#[derive(Debug, Clone, Default)]
pub struct ApiConfig {
    /// The bearer token writes need (`--api-token`); without one, writes are refused.
    pub api_token: Option<ApiToken>,
    /// The GitHub App (`--github-*`): `POST /webhooks/github` and its worker; absent, the route
    /// answers 404 and nothing is sent to GitHub.
    pub github: Option<Arc<GithubConfig>>,
}

/// The bound listeners, their limits, and how long in-flight requests get at shutdown.
#[derive(Debug)]
pub struct Listeners {
    pub public: TcpListener,
    pub admin: TcpListener,
    pub public_limits: Limits,
    pub admin_limits: Limits,
    pub drain: Duration,
}

/// The public router: the API and the dashboard in the shared layers.
pub fn public_router(controller: Arc<Controller>, config: &ApiConfig) -> Router {
    let (api, doc) = crate::api::router(AppState::new(Arc::clone(&controller), config.api_token.clone()));
    let layers = ApiLayers {
        metrics: controller.telemetry.clone(),
        routes: telemetry::RouteJourneys(&[]),
        request_timeout: REQUEST_TIMEOUT,
        max_in_flight: MAX_IN_FLIGHT,
    };
    let mut routes = api.merge(crate::dashboard::router(Arc::clone(&controller)));
    if let Some(github) = &config.github {
        routes = routes.merge(crate::github::webhook::router(controller, Arc::clone(github)));
    }
    platform::api::finish(routes, &doc, &layers)
}

/// The admin router (see the module docs).
pub fn admin_router(controller: &Controller) -> Router {
    platform::admin::router(controller.db().clone(), controller.telemetry.clone())
}

/// Serves `controller` on `listeners` with its background work until `shutdown` resolves, then
/// stops the background work and drains (see the module docs).
pub async fn run(
    controller: Arc<Controller>,
    listeners: Listeners,
    config: ApiConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Listeners { public, admin, public_limits, admin_limits, drain } = listeners;
    tracing::info!(instance = %controller.config().instance, "slo controller starting");
    let public = Listener::new("public", public, public_router(Arc::clone(&controller), &config), public_limits);
    let admin = Listener::new("admin", admin, admin_router(&controller), admin_limits);

    let (stop_tx, stop_rx) = watch::channel(false);
    let loop_task = tokio::spawn(Arc::clone(&controller).run(stop_rx.clone()));
    let leader = Arc::clone(&controller);
    let delivery_task = tokio::spawn(crate::alert::outbox::run(
        controller.db().clone(),
        controller.alerting(),
        controller.http().clone(),
        controller.metrics.alerts.clone(),
        move || leader.is_leader(),
        stop_rx.clone(),
    ));
    let github_task = config
        .github
        .clone()
        .map(|github| tokio::spawn(crate::github::worker::run(Arc::clone(&controller), github, stop_rx.clone())));
    let reload_task = tokio::spawn(reload_on_hangup(Arc::clone(&controller), stop_rx));
    let stop_background = async move {
        shutdown.await;
        tracing::info!("shutting down: stopping evaluation and delivery");
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), loop_task).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), delivery_task).await;
        if let Some(task) = github_task {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        reload_task.abort();
    };
    platform::serve::serve(public, admin, &controller.telemetry, drain, stop_background).await?;
    controller.db().close().await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
async fn reload_on_hangup(controller: Arc<Controller>, mut stop: watch::Receiver<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload by restarting");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading specs");
                let _ = controller.reload();
            }
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_: Arc<Controller>, _: watch::Receiver<bool>) {}
