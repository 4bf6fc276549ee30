//! Heap profiling (cargo feature `jemalloc-profiling`), like Go's `/debug/pprof/heap`:
//! * `GET /debug/pprof/heap` -- the memory in use now, by allocating stack, as gzipped pprof
//!   protobuf: `go tool pprof -http=: http://127.0.0.1:9464/debug/pprof/heap`.
//!
//! jemalloc samples one allocation per 512 KiB allocated on average (`lg_prof_sample:19`) and
//! keeps the stack of each sampled allocation until it is freed; a dump scales the samples back
//! up to an estimate of the bytes in use. The cost is a stack walk per sample, so the profiler
//! stays on in production. Dumps are symbolized in the process (the `symbolize` feature of
//! `jemalloc_pprof`), so `go tool pprof` needs no copy of the binary.
//!
//! The profiler runs only in a binary that installs [`jemalloc_allocator!`](crate::jemalloc_allocator):
//! jemalloc as the global allocator and its `malloc_conf` with profiling on. Anywhere else —
//! built without the feature, or a binary without the allocator — the endpoint answers 501
//! with the reason.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The allocator [`jemalloc_allocator!`](crate::jemalloc_allocator) installs.
#[cfg(feature = "jemalloc-profiling")]
pub use tikv_jemallocator::Jemalloc;

/// Makes jemalloc the global allocator with its heap profiler on and active, so that
/// `/debug/pprof/heap` has something to serve. Invoke once, at the root of a binary crate (or a
/// test binary): `telemetry::jemalloc_allocator!();`.
#[cfg(feature = "jemalloc-profiling")]
#[macro_export]
macro_rules! jemalloc_allocator {
    () => {
        #[global_allocator]
        static GLOBAL_ALLOCATOR: $crate::profile::heap::Jemalloc = $crate::profile::heap::Jemalloc;

        /// jemalloc's options, read from this symbol when it starts: profiling on and active,
        /// one sample per 2^19 bytes (512 KiB) allocated on average — jemalloc's default,
        /// spelled out as jemalloc_pprof's README recommends.
        // The workspace denies unsafe code; this item is the one exception. `export_name` is
        // unsafe because the compiler cannot check what the symbol's reader expects: jemalloc
        // reads `malloc_conf` as a `const char *`, which is the first word of this slice (its
        // data pointer), and the string is NUL-terminated.
        #[allow(unsafe_code, non_upper_case_globals)]
        #[unsafe(export_name = "malloc_conf")]
        pub static malloc_conf: &[u8] = b"prof:true,prof_active:true,lg_prof_sample:19\0";
    };
}

/// The heap profile route, to merge into an admin router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/debug/pprof/heap", get(heap))
}

#[derive(Debug, thiserror::Error)]
pub enum HeapProfileError {
    #[error("this build has no heap profiler: build with the cargo feature `jemalloc-profiling`")]
    NotBuilt,
    #[error(
        "jemalloc's heap profiler is off in this process: the binary must install \
         `telemetry::jemalloc_allocator!()` (malloc_conf prof:true)"
    )]
    NotEnabled,
    #[error("jemalloc's heap profiler is enabled but not active (prof.active is false)")]
    NotActive,
    #[error("heap profile failed: {0}")]
    Failed(String),
}

impl IntoResponse for HeapProfileError {
    fn into_response(self) -> Response {
        let status = match self {
            HeapProfileError::NotBuilt | HeapProfileError::NotEnabled | HeapProfileError::NotActive => {
                StatusCode::NOT_IMPLEMENTED
            }
            HeapProfileError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}

async fn heap() -> Result<Response, HeapProfileError> {
    let profile = dump().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"heap.pb.gz\""),
        ],
        profile,
    )
        .into_response())
}

/// A gzipped pprof protobuf of the sampled allocations still in use.
#[cfg(feature = "jemalloc-profiling")]
async fn dump() -> Result<Vec<u8>, HeapProfileError> {
    let ctl = jemalloc_pprof::PROF_CTL.as_ref().ok_or(HeapProfileError::NotEnabled)?;
    // One dump at a time; a second request waits for the first.
    let mut ctl = std::sync::Arc::clone(ctl).lock_owned().await;
    if !ctl.activated() {
        return Err(HeapProfileError::NotActive);
    }
    // Dumping writes a temporary file and symbolizing reads debug info: keep both off the
    // async workers.
    tokio::task::spawn_blocking(move || ctl.dump_pprof())
        .await
        .map_err(|e| HeapProfileError::Failed(e.to_string()))?
        .map_err(|e| HeapProfileError::Failed(format!("{e:#}")))
}

#[cfg(not(feature = "jemalloc-profiling"))]
async fn dump() -> Result<Vec<u8>, HeapProfileError> {
    Err(HeapProfileError::NotBuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This crate's test binary never installs the allocator, so whichever features it was
    /// built with, the answer must be a 501 that names what is missing.
    #[tokio::test]
    async fn without_the_jemalloc_profiler_the_heap_endpoint_answers_501_with_the_reason() {
        let response = heap().await.into_response();

        assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
        let body = axum::body::to_bytes(response.into_body(), 4096).await.expect("body");
        let body = String::from_utf8_lossy(&body);
        let expected = if cfg!(feature = "jemalloc-profiling") { "jemalloc_allocator!" } else { "jemalloc-profiling" };
        assert!(body.contains(expected), "{body}");
    }
}
