//! The `slo` command: lint, generate and import SLO specs.

fn main() {}
