//! Profiling for the admin listener, in the style of Go's `net/http/pprof`. Mount
//! [`router`] on the admin listener only, never on a public one:
//! * `GET /debug/pprof/profile?seconds=N` -- a CPU profile as gzipped pprof protobuf (feature `pprof`).
//! * `GET /debug/pprof/flamegraph?seconds=N` -- the same profile as an SVG flame graph (feature `pprof`).
//! * `GET /debug/pprof/heap` -- the memory in use now, by allocating stack, as gzipped pprof
//!   protobuf (feature `jemalloc-profiling`, with [`jemalloc_allocator!`](crate::jemalloc_allocator)
//!   in the binary; otherwise a 501 that says what is missing).

#[cfg(feature = "pprof")]
mod cpu;
pub mod heap;

#[cfg(feature = "pprof")]
pub use cpu::{MAX_SECONDS, ProfileError, Profiler};

use axum::Router;

/// Every profiling route this build has, to merge into an admin router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let router = Router::new().merge(heap::router());
    #[cfg(feature = "pprof")]
    let router = router.merge(Profiler::default().router());
    router
}
