//! The embedded scraper: the source used when no Prometheus is configured.
