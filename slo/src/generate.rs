//! Artefacts generated from SLO specs (`slo generate KIND PATH...`): Prometheus recording and
//! alert rules, a Grafana dashboard, Datadog SLOs and monitors as Terraform, and OpenSLO v1.
//! Every generator is a pure function from validated specs to text, so its output can be
//! golden-tested and diffed in review.

pub mod datadog;
pub mod grafana;
pub mod openslo;
pub mod prometheus;

use std::fmt;
use std::str::FromStr;

use crate::spec::Spec;

/// What `slo generate` can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prometheus,
    Grafana,
    DatadogTerraform,
    Openslo,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Prometheus, Kind::Grafana, Kind::DatadogTerraform, Kind::Openslo];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Prometheus => "prometheus",
            Kind::Grafana => "grafana",
            Kind::DatadogTerraform => "datadog-terraform",
            Kind::Openslo => "openslo",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let known: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown generator `{s}` (expected one of: {})", known.join(", "))
        })
    }
}

/// Another tool whose output a generator can also produce, so that its users' dashboards and
/// alert routes keep working (`slo generate prometheus --compat sloth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compat {
    Sloth,
}

impl FromStr for Compat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sloth" => Ok(Compat::Sloth),
            other => Err(format!("unknown compatibility mode `{other}` (expected: sloth)")),
        }
    }
}

/// A spec that a generator cannot express faithfully (never silently dropped).
#[derive(Debug, thiserror::Error)]
#[error("{service}/{slo}: {kind} cannot express {what}")]
pub struct GenerateError {
    pub kind: Kind,
    pub service: String,
    pub slo: String,
    pub what: String,
}

/// Generates `kind` for all `specs` as one document.
pub fn generate(kind: Kind, specs: &[Spec]) -> Result<String, GenerateError> {
    match kind {
        Kind::Prometheus => prometheus::generate(specs),
        Kind::Grafana => grafana::generate(specs),
        Kind::DatadogTerraform => datadog::generate(specs),
        Kind::Openslo => openslo::generate(specs),
    }
}
