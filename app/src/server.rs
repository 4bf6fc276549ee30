//! Running the service: the public API listener, the admin listener, background jobs, and
//! graceful shutdown (stop accepting, drain in-flight requests for up to `drain`, exit).
//!
//! The admin listener is for operators and the platform only, never exposed publicly:
//! * `GET /livez` -- the process is up.
//! * `GET /readyz` -- the database is reachable and every migration is applied (503 otherwise).
//! * `GET /maintenance` -- the maintenance switch log, newest first (read by the SLO controller).
//! * `GET /metrics` -- Prometheus metrics: OpenMetrics if the `Accept` header asks for
//!   `application/openmetrics-text`, the classic text format otherwise.
//! * `GET /debug/pprof/profile?seconds=N` -- CPU profile, pprof protobuf (`go tool pprof`);
//!   `GET /debug/pprof/flamegraph?seconds=N` -- the same as an SVG (feature `pprof`, on by default).
//! * `GET /debug/pprof/heap` -- heap profile: memory in use by allocating stack, gzipped pprof
//!   protobuf from jemalloc's sampling profiler, symbolized
//!   (`go tool pprof -http=: http://127.0.0.1:9464/debug/pprof/heap`; feature
//!   `jemalloc-profiling`, on by default; 501 with the reason in a build without it).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
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
    /// Concurrent requests before shedding with 503 (see `http::DEFAULT_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
}

/// The admin listener's routes.
pub fn admin_router(state: AppState) -> Router {
    telemetry::profile::router()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/maintenance", get(maintenance_log))
        .route(
            "/metrics",
            get(|State(s): State<AppState>, headers: axum::http::HeaderMap| async move {
                telemetry::http::exposition(&s.metrics, &headers)
            }),
        )
        .with_state(state)
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.db.ready().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
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
    if let Err(e) = state.refresh_maintenance().await {
        tracing::warn!(error = %e, "could not read the maintenance switch; assuming off");
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let (api, _) = http::api(state.clone());
    tracing::info!(public = %public.local_addr()?, admin = %admin.local_addr()?, "fulfillment service listening");

    let mut api_stop = stop_rx.clone();
    let api_server = axum::serve(public, api.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = api_stop.wait_for(|s| *s).await;
        });
    let mut admin_stop = stop_rx.clone();
    let admin_server = axum::serve(admin, admin_router(state.clone())).with_graceful_shutdown(async move {
        let _ = admin_stop.wait_for(|s| *s).await;
    });
    let jobs = config.jobs.then(|| tokio::spawn(jobs::run(state, stop_rx.clone())));

    let api_task = tokio::spawn(async move { api_server.await });
    let admin_task = tokio::spawn(async move { admin_server.await });
    shutdown.await;
    tracing::info!(
        drain_seconds = config.drain.as_secs(),
        "shutting down: no new connections, draining in-flight requests"
    );
    let _ = stop_tx.send(true);
    match tokio::time::timeout(config.drain, api_task).await {
        Ok(result) => result.map_err(std::io::Error::other)??,
        Err(_) => tracing::warn!("drain deadline passed; abandoning requests still in flight"),
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), admin_task).await;
    if let Some(jobs) = jobs {
        let _ = tokio::time::timeout(Duration::from_secs(5), jobs).await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
