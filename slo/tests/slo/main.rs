//! The `slo` crate's black-box tests, compiled into one binary: the spec loader and `slo lint`,
//! the `slo` binary's exit codes and listener flags, the error-budget math, the controller
//! (evaluation loop, history, API) on SQLite and PostgreSQL, every generator against its golden
//! files (and promtool), the importers, and TLS on every outgoing client. `KURA_BLESS=1 cargo test -p slo` rewrites the golden files; review the diff.

mod alert;
mod cli;
mod controller;
mod dashboard;
mod datadog;
mod e2e;
mod fake_github;
#[path = "../../benches/fixtures.rs"]
mod fixtures;
mod gate;
mod grafana;
mod lint;
mod maintenance;
mod math;
mod openslo;
mod prometheus;
mod pyrra;
mod sloth;
mod source;
mod support;
mod tls;
