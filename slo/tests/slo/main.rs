//! The `slo` crate's black-box tests, compiled into one binary: the spec loader and `slo lint`,
//! the error-budget math, every generator against its golden files (and promtool), and the
//! importers. `KURA_BLESS=1 cargo test -p slo` rewrites the golden files; review the diff.

mod datadog;
mod grafana;
mod lint;
mod math;
mod openslo;
mod prometheus;
mod sloth;
mod source;
mod support;
