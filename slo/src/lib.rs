//! Kura's SLO library: per-journey SLO specs ([`spec`]), exact error-budget and burn-rate
//! math ([`math`]), and the artefacts generated from specs ([`generate`]: Prometheus rules,
//! Grafana dashboards, Datadog Terraform, OpenSLO). The controller and the deploy gate are
//! built on it.

pub mod alert;
pub mod api;
pub mod cli;
pub mod controller;
pub mod dashboard;
pub mod eval;
pub mod generate;
pub mod import;
pub mod maintenance;
pub mod math;
pub mod server;
pub mod source;
pub mod spec;
pub mod store;
mod yaml;
