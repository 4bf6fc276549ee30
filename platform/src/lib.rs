//! What every Kura server is made of, written once: the fulfillment service, the SLO
//! controller and every HTTP surface added after them (the GitHub webhook included) are built
//! from these parts.
//!
//! * [`db`] -- the database handle over SQLite (embedded default) or PostgreSQL, with the
//!   [`transaction!`] macro that retries transient conflicts; [`migrations`] renders and guards
//!   each crate's migrations for both engines.
//! * [`problem`] -- RFC 9457 problem documents with one set of problem types and status codes;
//!   [`json`] -- JSON bodies that do not parse or fit, answered as such problems.
//! * [`serve`] -- the public and admin listeners with header-read and idle timeouts, a cap on
//!   open connections, and graceful drain; [`admin`] -- the admin router (`/livez`, `/readyz`,
//!   `/metrics`, `/debug/pprof/*`); [`api`] -- the layers every public API shares (OpenAPI
//!   document, problem fallbacks, panic and timeout handling, load shedding, request metrics).
//! * [`auth`] -- bearer tokens, and the [`auth::RequireToken`] extractor for a configured token.
//! * [`signature`] -- HMAC-SHA256 signing and constant-time verification of webhook bodies.
//! * [`tls`] -- TLS for every outgoing HTTP client (rustls, the platform's roots plus an optional
//!   CA bundle).
//! * [`exit`] -- one exit-code policy for every binary.

pub mod admin;
pub mod api;
pub mod auth;
pub mod db;
pub mod exit;
pub mod json;
pub mod migrations;
pub mod problem;
pub mod serve;
pub mod signature;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use db::Db;
pub use problem::{Problem, ProblemType};
