//! Kura's fulfillment service: the business that everything else in Kura keeps reliable.
//!
//! Shippers (荷主) register items, announce inbounds and create shipments; warehouse staff
//! receive, put away, pick with HHT scanners, inspect, pack, label and hand parcels to
//! carriers; every billable operation leaves a billing event. Stock is an append-only
//! ledger with allocation that never oversells, on SQLite (embedded default) or PostgreSQL.
//!
//! Layout, each layer using only the ones before it:
//! * `domain` -- the business rules, pure and tested without a database: typed values, the
//!   state machines, who may see what ([`domain::access::Scope`]), backorder or refuse, edits
//!   after picking starts, inspection, the Shopify order mapping, labels, billing months.
//! * `db` -- loading and storing: every query takes the caller's scope and returns typed
//!   records; transactions persist what the domain decided, with compare-and-set status
//!   changes; list pages load their children in one statement per relation.
//! * `http` -- the API: thin handlers by audience (`shipper`, `wms`, `admin`, `channels`), the
//!   request and response bodies with their OpenAPI schemas (`http::schema`), problem
//!   documents, extractors, `Idempotency-Key`.
//! * `jobs` -- cut-off waves, backorder sweep, storage billing, idempotency purge;
//!   `journeys` -- the critical user journeys, declared once; `server` -- listeners and
//!   graceful shutdown.

pub mod cli;
pub mod db;
pub mod domain;
pub mod faults;
pub mod http;
pub mod jobs;
pub mod journeys;
pub mod server;
