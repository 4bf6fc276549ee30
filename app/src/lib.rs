//! Kura's fulfillment service: the business that everything else in Kura keeps reliable.
//!
//! Shippers (荷主) register items, announce inbounds and create shipments; warehouse staff
//! receive, put away, pick with HHT scanners, inspect, pack, label and hand parcels to
//! carriers; every billable operation leaves a billing event. Stock is an append-only
//! ledger with allocation that never oversells, on SQLite (embedded default) or PostgreSQL.
//!
//! Layout: `domain` (typed values, state machines), `db` (storage and the transactional
//! operations), `http` (thin handlers, problem documents, OpenAPI), `jobs` (cut-off waves,
//! backorder sweep, storage billing), `server` (listeners and graceful shutdown).

pub mod cli;
pub mod db;
pub mod domain;
pub mod faults;
pub mod http;
pub mod jobs;
pub mod journeys;
pub mod server;
