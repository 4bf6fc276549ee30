//! Kura's telemetry: one call, [`init`], that every binary makes first to set up structured
//! logging — human-readable in a terminal, JSON lines otherwise — filtered by `RUST_LOG`;
//! [`Metrics`] (Prometheus/OpenMetrics, OTel semantic-convention names) with the
//! [`http::record`] middleware and `/metrics` exposition; and [`Journey`] labels, declared
//! once by each service.
//!
//! With the `pprof` feature, [`profile::Profiler`] serves CPU profiles and flame graphs.
//!
//! Traces (OTLP), exemplars and heap profiles will hang off the same entry point and guard.

pub mod db;
pub mod http;
pub mod journey;
pub mod metrics;
mod process;
#[cfg(feature = "pprof")]
pub mod profile;

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
}

/// Keeps telemetry alive; dropping it flushes what is buffered.
#[derive(Debug)]
#[must_use = "telemetry stops when the guard is dropped"]
pub struct Guard {
    _private: (),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("a global subscriber is already installed: {0}")]
    AlreadyInitialised(String),
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(config: &Config) -> Result<Guard, Error> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(config.default_filter));
    // The log filter applies to the log output only: the database layer sees every statement.
    let statements = Targets::new().with_target(db::SQLX_TARGET, Level::TRACE);
    let registry = tracing_subscriber::registry().with(db::DbLayer.with_filter(statements));
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
    Ok(Guard { _private: () })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_init_is_refused_instead_of_silently_replacing_the_first() {
        let config = Config { service_name: "test", default_filter: "warn" };
        let first = init(&config);
        assert!(first.is_ok());
        assert!(matches!(init(&config), Err(Error::AlreadyInitialised(_))));
    }
}
