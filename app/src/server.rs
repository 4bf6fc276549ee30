//! Running the service: the public API listener, the admin listener, background jobs, and
//! graceful shutdown (stop accepting, drain in-flight requests for up to `drain`, exit), on
//! the platform's listeners ([`platform::serve`]: header-read timeout, connection caps).
//!
//! The admin listener is for operators and the platform only, never exposed publicly. It has
//! the platform's routes ([`platform::admin`]: `/livez`, `/readyz`, `/metrics`,
//! `/debug/pprof/*`) and:
//! * `GET /maintenance` -- the maintenance switch log, newest first (read by the SLO controller).
//! * `GET|POST|DELETE /incidents` -- injected faults, only with fault injection enabled
//!   ([`crate::faults`]).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use platform::serve::{ADMIN_LIMITS, Limits, Listener, PUBLIC_LIMITS};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::db::{Db, maintenance};
use crate::http::{self, AppState};
use crate::jobs;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub drain: Duration,
    pub jobs: bool,
    /// How often the backorder sweep runs.
    pub backorder_sweep: Duration,
    /// Concurrent requests before shedding with 503 (see `http::DEFAULT_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// A request still running after this is answered 503 `timeout` and rolled back.
    pub request_timeout: Duration,
    /// The public listener's connection cap and header-read timeout.
    pub public_limits: Limits,
    /// The admin listener's.
    pub admin_limits: Limits,
    /// Whether `kura incident` may inject faults ([`crate::faults`]); never in production.
    pub fault_injection: bool,
}

impl ServeConfig {
    /// The defaults, on the given addresses.
    pub fn new(listen: SocketAddr, admin_listen: SocketAddr) -> ServeConfig {
        ServeConfig {
            listen,
            admin_listen,
            drain: Duration::from_secs(25),
            jobs: true,
            backorder_sweep: jobs::BACKORDER_SWEEP_INTERVAL,
            max_in_flight: http::DEFAULT_MAX_IN_FLIGHT,
            request_timeout: http::REQUEST_TIMEOUT,
            public_limits: PUBLIC_LIMITS,
            admin_limits: ADMIN_LIMITS,
            fault_injection: false,
        }
    }
}

/// The admin listener's routes: the platform's, the maintenance log and, with fault injection
/// enabled, the incidents.
pub fn admin_router(state: AppState) -> Router {
    let faults = state.faults.clone();
    let router = platform::admin::router(state.db.clone(), state.metrics.clone())
        .merge(Router::new().route("/maintenance", get(maintenance_log)).with_state(state));
    match faults {
        Some(faults) => router.merge(crate::faults::router(faults)),
        None => router,
    }
}

async fn maintenance_log(State(s): State<AppState>) -> impl IntoResponse {
    match maintenance::events(&s.db, None, 1000).await {
        Ok(events) => axum::Json(events).into_response(),
        Err(e) => http::error::ApiError::from(e).into_response(),
    }
}

/// Binds both listeners and serves until `shutdown` resolves, then drains.
pub async fn serve(
    db: Db,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let public = TcpListener::bind(config.listen).await?;
    let admin = TcpListener::bind(config.admin_listen).await?;
    run(db, public, admin, config, shutdown).await
}

/// Serves on already-bound listeners (tests bind port 0 and pass them in).
pub async fn run(
    db: Db,
    public: TcpListener,
    admin: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut state = AppState::new(db.clone());
    state.max_in_flight = config.max_in_flight;
    state.request_timeout = config.request_timeout;
    if config.fault_injection {
        tracing::warn!("fault injection is enabled: incidents can be injected through the admin listener");
        state.faults = Some(crate::faults::Faults::new(&state.metrics));
    }
    if let Err(e) = state.refresh_maintenance().await {
        tracing::warn!(error = %e, "could not read the maintenance switch; assuming off");
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let (api, _) = http::api(state.clone());
    let public = Listener::new("public", public, api, config.public_limits);
    let admin = Listener::new("admin", admin, admin_router(state.clone()), config.admin_limits);
    let jobs = config.jobs.then(|| tokio::spawn(jobs::run(state.clone(), config.backorder_sweep, stop_rx)));
    let stop_jobs = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    platform::serve::serve(public, admin, &state.metrics, config.drain, stop_jobs).await?;
    if let Some(jobs) = jobs {
        let _ = tokio::time::timeout(Duration::from_secs(5), jobs).await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}
