//! Black-box tests of the fulfillment service over real HTTP and a real database. Every
//! scenario runs twice: on SQLite and on PostgreSQL (`TEST_POSTGRES_URL`, default the local
//! trust-auth server; unreachable is a failure, `TEST_POSTGRES_URL=disabled` turns them off).

mod bad_input;
mod concurrency;
mod duplicates;
mod faults;
mod hardening;
mod helpers;
mod isolation;
mod jobs;
mod lifecycle;
mod mask;
mod metrics;
mod openapi;
mod order_sync;
mod otlp;
mod profile;
mod traces;
mod transitions;

// The service's allocator and heap profiler, as in the binary, for the heap profile test.
#[cfg(feature = "jemalloc-profiling")]
telemetry::jemalloc_allocator!();
