//! CPU profiling (cargo feature `pprof`):
//! * `GET /debug/pprof/profile?seconds=N` -- a CPU profile as gzipped pprof protobuf, as Go's
//!   endpoint serves it and every pprof consumer expects (`go tool pprof`, Pyroscope,
//!   Datadog's profiler); default 10 s, at most [`MAX_SECONDS`].
//! * `GET /debug/pprof/flamegraph?seconds=N` -- the same profile as an SVG flame graph.
//!
//! One profile runs at a time (a second request is a 409): the sampler is process-wide.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::sync::Mutex;

/// Longest profile a request may ask for.
pub const MAX_SECONDS: u64 = 60;
const DEFAULT_SECONDS: u64 = 10;
/// Samples per second: 99 Hz avoids lockstep with timers that tick at round rates.
const FREQUENCY: i32 = 99;

#[derive(Debug, Clone, Default)]
pub struct Profiler {
    busy: Arc<Mutex<()>>,
}

#[derive(Debug, Deserialize)]
struct Params {
    seconds: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("seconds must be between 1 and {MAX_SECONDS}")]
    BadDuration,
    #[error("a profile is already running; try again when it finishes")]
    Busy,
    #[error("profiling failed: {0}")]
    Failed(String),
}

impl IntoResponse for ProfileError {
    fn into_response(self) -> Response {
        let status = match self {
            ProfileError::BadDuration => StatusCode::BAD_REQUEST,
            ProfileError::Busy => StatusCode::CONFLICT,
            ProfileError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}

enum Format {
    Pprof,
    Flamegraph,
}

impl Profiler {
    /// The profiling routes, to merge into an admin router.
    pub fn router<S>(self) -> Router<S> {
        Router::new()
            .route("/debug/pprof/profile", get(|s: State<Profiler>, q: Query<Params>| profile(s, q, Format::Pprof)))
            .route(
                "/debug/pprof/flamegraph",
                get(|s: State<Profiler>, q: Query<Params>| profile(s, q, Format::Flamegraph)),
            )
            .with_state(self)
    }
}

async fn profile(State(p): State<Profiler>, Query(q): Query<Params>, format: Format) -> Result<Response, ProfileError> {
    let seconds = q.seconds.unwrap_or(DEFAULT_SECONDS);
    if !(1..=MAX_SECONDS).contains(&seconds) {
        return Err(ProfileError::BadDuration);
    }
    let _running = p.busy.try_lock().map_err(|_| ProfileError::Busy)?;
    // The sampler's guard is not Send; sample and encode on a blocking thread.
    let encoded = tokio::task::spawn_blocking(move || sample(Duration::from_secs(seconds), format))
        .await
        .map_err(|e| ProfileError::Failed(e.to_string()))??;
    Ok(encoded.into_response())
}

/// A content type and the encoded profile.
type Encoded = ([(header::HeaderName, &'static str); 1], Vec<u8>);

fn sample(duration: Duration, format: Format) -> Result<Encoded, ProfileError> {
    let fail = |e: pprof::Error| ProfileError::Failed(e.to_string());
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(FREQUENCY)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map_err(fail)?;
    std::thread::sleep(duration);
    let report = guard.report().build().map_err(fail)?;
    match format {
        Format::Pprof => {
            use pprof::protos::Message;
            use std::io::Write;
            let profile = report.pprof().map_err(fail)?;
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let gzipped = gzip.write_all(&profile.encode_to_vec()).and_then(|()| gzip.finish());
            let gzipped = gzipped.map_err(|e| ProfileError::Failed(e.to_string()))?;
            Ok(([(header::CONTENT_TYPE, "application/octet-stream")], gzipped))
        }
        Format::Flamegraph => {
            let mut svg = Vec::new();
            report.flamegraph(&mut svg).map_err(fail)?;
            Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
        }
    }
}
