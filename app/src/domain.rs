//! The fulfillment domain: typed values parsed once at the edge, the shipment and inbound
//! state machines as enums, and the one error type every operation returns.
//!
//! Vocabulary follows `shared/DOMAIN.md` (and OPENLOGI's public API for statuses) so that
//! integrators read it naturally: shipper, item, stock, inbound, shipment, allocation,
//! wave, scan, package, handover, billing event, channel (an EC shop whose orders become
//! shipments).

pub mod access;
pub mod billing;
pub mod calendar;
pub mod channel;
pub mod error;
pub mod inbound;
pub mod inspection;
pub mod item;
pub mod label;
pub mod package;
pub mod scan;
pub mod shipment;
pub mod stock;
pub mod values;
pub mod wave;

pub use error::Error;
