//! The PromQL source: any Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir,
//! VictoriaMetrics).
