//! `kura`: the binary; everything it does is in the [`kura`] library.

// The service and controller run as child processes of this binary: they get jemalloc and its
// heap profiler, as their own binaries do.
#[cfg(feature = "jemalloc-profiling")]
telemetry::jemalloc_allocator!();

fn main() -> std::process::ExitCode {
    kura::cli::main()
}
