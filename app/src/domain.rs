//! The fulfillment domain: the business rules, pure and tested without a database. Typed
//! values parsed once at the edge, the state machines as enums whose transitions return
//! `Result`, the rules that decide what happens (backorder or refuse, what may change once
//! picking starts, inspection differences, how a Shopify order becomes a shipment, how a label
//! is printed, which calendar month a charge falls in), and the one error type every
//! operation returns. Storage (`db`) loads what these need and stores what they decide.
//!
//! The words are those of Japanese fulfillment services (statuses as in OPENLOGI's public
//! API), so integrators read them naturally:
//! * **shipper** (荷主) -- an EC merchant, the tenant boundary; item codes and document
//!   identifiers are unique per shipper;
//! * **item** -- a SKU; **stock** -- units per warehouse, location, item, lot and bucket
//!   (sellable or hold), every change one ledger entry;
//! * **inbound** (入荷依頼) -- goods announced, received, inspected, put away;
//! * **shipment** (出荷依頼) -- an outbound request, **allocated** (引当) stock or backordered,
//!   released in a **wave** (picking list) at the warehouse's cut-off, picked by HHT **scan**,
//!   inspected (出荷検品), packed into **packages** (個口) with a label (送り状) each, and
//!   shipped at **handover** to the carrier;
//! * **channel** -- an EC shop (Shopify) whose orders become shipments;
//! * **billing event** -- one per billable operation, invoiced per month.
//!
//! Values (ids, codes, quantities, a recipient) carry their JSON form and OpenAPI schema,
//! since they read the same at every edge; documents (requests and responses) are shaped in
//! `http::schema`.

pub mod access;
pub mod billing;
pub mod calendar;
pub mod channel;
pub mod error;
pub mod inbound;
pub mod inspection;
pub mod item;
pub mod label;
pub mod mask;
pub mod package;
pub mod scan;
pub mod shipment;
pub mod stock;
pub mod values;
pub mod wave;

pub use error::Error;
