//! Kura's telemetry: one call, [`init`], that every binary makes first to set up structured
//! logging — human-readable in a terminal, JSON lines otherwise — filtered by `RUST_LOG`;
//! [`Metrics`] (Prometheus/OpenMetrics, OTel semantic-convention names) with the
//! [`http::record`] middleware and `/metrics` exposition; and [`Journey`] labels, declared
//! once by each service.
//!
//! Traces go out over OTLP ([`trace`]), sampled at their tail so every failed or slow request
//! keeps its trace ([`sampling`]); every storage call is a client span ([`db`]); log lines
//! inside a request carry its `trace_id` and `span_id`.
//!
//! [`profile::router`] serves CPU profiles and flame graphs (feature `pprof`) and heap profiles
//! (feature `jemalloc-profiling`, with [`jemalloc_allocator!`] in the binary).

pub mod contract;
pub mod db;
pub mod http;
pub mod journey;
pub mod metrics;
mod process;
pub mod profile;
pub mod sampling;
pub mod trace;

pub use journey::{Journey, RouteJourneys};
pub use metrics::Metrics;

use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What to set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Reported with every log line (`service` field in JSON).
    pub service_name: &'static str,
    /// Filter used when `RUST_LOG` is unset, e.g. `info,sqlx=warn`.
    pub default_filter: &'static str,
    /// Full OTLP/HTTP traces URL (`http://host:4318/v1/traces`); `None` follows the `OTEL_*`
    /// variables (default `http://localhost:4318/v1/traces`).
    pub otlp_traces_endpoint: Option<String>,
    /// The client spans are exported with: built by the binary with its TLS roots
    /// (`platform::tls::Tls::blocking_client`), so an `https://` collector works.
    pub otlp_client: reqwest::blocking::Client,
    /// Which traces are kept ([`sampling`]): `Sampling::from_env()` in a binary.
    pub sampling: sampling::Sampling,
}

/// Keeps telemetry alive; dropping it flushes the spans still buffered.
#[derive(Debug)]
#[must_use = "telemetry stops when the guard is dropped"]
pub struct Guard {
    tracer: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Guard {
    /// Exports every finished span now (tests; before a planned exit).
    pub fn flush(&self) {
        if let Some(provider) = &self.tracer {
            let _ = provider.force_flush();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry: flushing spans failed: {e}");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("a global subscriber is already installed: {0}")]
    AlreadyInitialised(String),
    #[error(transparent)]
    Tracing(#[from] trace::BuildError),
}

/// Everything under the log output: statement metrics and spans, and the OpenTelemetry bridge
/// when tracing is on. The log filter applies to the log output only: the database layer sees
/// every statement.
fn registry(
    tracer: Option<&opentelemetry_sdk::trace::SdkTracerProvider>,
) -> impl tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync {
    let statements = Targets::new().with_target(db::SQLX_TARGET, Level::TRACE);
    tracing_subscriber::registry()
        .with(db::DbLayer.with_filter(statements))
        // The filter goes around the `Option`, not inside it: an absent layer (tracing off)
        // declares interest in every callsite, which turned on every `debug!`/`trace!` of every
        // dependency and made the service slower with tracing off than on.
        .with(tracer.map(trace::layer).with_filter(Targets::new().with_default(Level::INFO)))
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(config: &Config) -> Result<Guard, Error> {
    sampling::configure(config.sampling);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(config.default_filter));
    let tracer = if trace::disabled() {
        None
    } else {
        Some(trace::provider(config.service_name, config.otlp_traces_endpoint.as_deref(), config.otlp_client.clone())?)
    };
    let registry = registry(tracer.as_ref());
    let result = if std::io::stderr().is_terminal() {
        registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter)).try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init()
    };
    result.map_err(|e| Error::AlreadyInitialised(e.to_string()))?;
    tracing::debug!(service = config.service_name, "telemetry initialised");
    Ok(Guard { tracer })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_tracing_off_the_debug_events_of_dependencies_stay_disabled() {
        let dispatch = tracing::Dispatch::new(registry(None));

        tracing::dispatcher::with_default(&dispatch, || {
            assert!(!tracing::enabled!(target: "hyper::proto::h1::conn", Level::DEBUG));
            assert!(!tracing::enabled!(target: "h2::codec", Level::TRACE));
            assert!(
                tracing::enabled!(target: "sqlx::query", Level::DEBUG),
                "statements still reach the database layer"
            );
        });
    }

    #[test]
    fn a_second_init_is_refused_instead_of_silently_replacing_the_first() {
        let tls =
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("protocol versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
        let otlp_client = reqwest::blocking::Client::builder().tls_backend_preconfigured(tls).build().expect("client");
        let config = Config {
            service_name: "test",
            default_filter: "warn",
            otlp_traces_endpoint: None,
            otlp_client,
            sampling: sampling::Sampling::from_env(),
        };
        let first = init(&config);
        assert!(first.is_ok());
        assert!(matches!(init(&config), Err(Error::AlreadyInitialised(_))));
    }
}
