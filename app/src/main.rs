//! `fulfillment`: the service's binary; everything it does is in [`fulfillment::cli`].

// jemalloc with its heap profiler on, behind `/debug/pprof/heap` on the admin listener.
#[cfg(feature = "jemalloc-profiling")]
telemetry::jemalloc_allocator!();

fn main() -> std::process::ExitCode {
    fulfillment::cli::main()
}
