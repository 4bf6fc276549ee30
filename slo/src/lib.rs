//! Kura's SLO library and the SLO controller built on it; the `slo` binary is a thin command
//! line over both.
//!
//! The library half needs neither a database nor a server:
//!
//! * [`spec`] -- the per-journey SLO spec format: loading, linting (`file:line:column`
//!   diagnostics), the model, and writing it back as YAML.
//! * [`math`] -- exact error-budget math: objectives, windows, budgets, burn rates, the SRE
//!   Workbook's multi-window multi-burn-rate tiers, a traffic simulator.
//! * [`generate`] -- artefacts from specs: Prometheus recording and alert rules, a Grafana
//!   dashboard, Datadog Terraform, OpenSLO.
//! * [`import`] -- OpenSLO v1 and Sloth `prometheus/v1` documents read as Kura specs.
//! * [`eval`] -- what one SLO's numbers say at one instant: status, budget, burn rates (pure).
//!
//! The controller half runs on `platform` (database, listeners, problems, TLS):
//!
//! * [`source`] -- where SLI counts come from: a PromQL API or the embedded scraper.
//! * [`controller`] -- the evaluation loop: leadership, cycles, the history, its metrics.
//! * [`alert`] -- alert states, silences, notifications, the outbox and its receivers.
//! * [`maintenance`] -- maintenance windows from the specs, the services and the API.
//! * [`gate`] -- the deploy gate: decisions from the error-budget policy, their store,
//!   break-glass overrides; [`github`] -- the GitHub App: webhooks, protection-rule reviews,
//!   commit statuses and check runs, post-deploy verification.
//! * [`api`] -- the JSON API; [`dashboard`] -- the server-rendered dashboard;
//!   [`server`] -- both served with the admin listener and the background work.
//! * [`store`] -- the controller's database and migrations.
//! * [`cli`] -- the `slo` command line's flags and what they configure.
//!
//! Module dependencies point one way: `server` → `api`, `dashboard`, `github` → `gate` → `controller` →
//! `alert`, `maintenance`, `source`, `eval` → `spec`, `math`. A YAML reader and writer shared by
//! the spec loader, the importers and the generators lives in the private `yaml` module.

pub mod alert;
pub mod api;
pub mod cli;
pub mod controller;
pub mod dashboard;
pub mod eval;
pub mod gate;
pub mod generate;
pub mod github;
pub mod import;
pub mod maintenance;
pub mod math;
pub mod server;
pub mod source;
pub mod spec;
pub mod store;
mod yaml;
