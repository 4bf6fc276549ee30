//! The admin listener's router, the same in every Kura server. It is for operators and the
//! platform only, never exposed publicly:
//! * `GET /livez` -- the process is up.
//! * `GET /readyz` -- the database is reachable and every migration is applied (503 otherwise).
//! * `GET /metrics` -- Prometheus metrics: OpenMetrics if the `Accept` header asks for
//!   `application/openmetrics-text`, the classic text format otherwise.
//! * `GET /debug/pprof/profile?seconds=N` -- CPU profile, gzipped pprof protobuf;
//!   `GET /debug/pprof/flamegraph?seconds=N` -- the same as an SVG (feature `pprof`).
//! * `GET /debug/pprof/heap` -- heap profile, gzipped pprof protobuf from jemalloc's sampling
//!   profiler (feature `jemalloc-profiling`; 501 with the reason in a build without it).
//!
//! A binary merges its own admin routes into it (the service's `/maintenance`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::db::Db;

#[derive(Debug, Clone)]
struct AdminState {
    db: Db,
    metrics: telemetry::Metrics,
}

/// `/livez`, `/readyz` for `db`, `/metrics` for `metrics`, and the profiles.
pub fn router(db: Db, metrics: telemetry::Metrics) -> Router {
    telemetry::profile::router()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(exposition))
        .with_state(AdminState { db, metrics })
}

async fn readyz(State(s): State<AdminState>) -> impl IntoResponse {
    match s.db.ready().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

async fn exposition(State(s): State<AdminState>, headers: HeaderMap) -> axum::response::Response {
    telemetry::http::exposition(&s.metrics, &headers)
}
