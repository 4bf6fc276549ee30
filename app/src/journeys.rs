//! The fulfillment service's critical user journeys, declared once. Each name is the
//! `journey` label on the metrics of the routes and jobs that serve it, and the journey the
//! service's SLO file (`app/slos/`) refers to. A journey with a latency SLO declares its
//! threshold too: a slower request always keeps its trace (a test checks both agree).

use std::time::Duration;

use telemetry::{Journey, RouteJourneys};

/// A shipper creates an outbound request (出荷依頼) and gets it allocated.
pub const CREATE_SHIPMENT: Journey = Journey::new("create-shipment").slow_after(Duration::from_millis(300));
/// A worker's HHT scan is confirmed.
pub const HHT_SCAN: Journey = Journey::new("hht-scan").slow_after(Duration::from_millis(100));
/// The picking list (wave) is generated, at cut-off or on demand.
pub const WAVE_GENERATION: Journey = Journey::new("wave-generation");
/// A package's shipping label is issued.
pub const LABEL_ISSUANCE: Journey = Journey::new("label-issuance");
/// An EC channel's order (Shopify `orders/create`) becomes a shipment.
pub const ORDER_SYNC: Journey = Journey::new("order-sync");
/// A shipper or channel reads stock.
pub const STOCK_READ: Journey = Journey::new("stock-read").slow_after(Duration::from_millis(100));
/// Received goods reach the shelves (and backorders get allocated).
pub const INBOUND_TO_STOCK: Journey = Journey::new("inbound-to-stock");
/// Backordered shipments are allocated when stock arrives.
pub const ALLOCATION: Journey = Journey::new("allocation");

/// Every journey the service declares.
pub const ALL: &[Journey] =
    &[CREATE_SHIPMENT, HHT_SCAN, WAVE_GENERATION, LABEL_ISSUANCE, ORDER_SYNC, STOCK_READ, INBOUND_TO_STOCK, ALLOCATION];

/// Which route serves which journey: one row per route; every other route is `none`.
pub const ROUTES: RouteJourneys = RouteJourneys(&[
    ("POST", "/v1/shipments", CREATE_SHIPMENT),
    ("POST", "/wms/v1/scans", HHT_SCAN),
    ("POST", "/wms/v1/waves", WAVE_GENERATION),
    ("POST", "/wms/v1/packages/{package_id}/label", LABEL_ISSUANCE),
    ("GET", "/v1/stock", STOCK_READ),
    ("POST", "/wms/v1/inbounds/{inbound_id}/putaway", INBOUND_TO_STOCK),
    ("POST", "/channels/v1/shopify/{channel_id}/orders", ORDER_SYNC),
]);

/// Background jobs and the journeys they serve: (job name, journey).
pub const JOBS: &[(&str, Journey)] = &[
    ("cutoff-waves", WAVE_GENERATION),
    ("backorder-sweep", ALLOCATION),
    ("storage-billing", Journey::NONE),
    ("idempotency-purge", Journey::NONE),
    ("maintenance-refresh", Journey::NONE),
];

/// The journey a job serves (`none` if it is not declared above).
pub fn of_job(job: &str) -> Journey {
    JOBS.iter().find(|(j, _)| *j == job).map_or(Journey::NONE, |(_, journey)| *journey)
}
