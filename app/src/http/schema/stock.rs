//! Stock bodies: a shipper's stock summary and a warehouse's adjustment.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::stock as stored;
use crate::domain::stock::{self, AdjustmentReason};
use crate::domain::values::{Bucket, ItemCode, ItemId, Lot, StockDelta, WarehouseId};

/// One item's stock in one warehouse, in OPENLOGI's terms:
/// `available = quantity - shipping - reserved`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockSummary {
    pub item_id: ItemId,
    pub item_code: ItemCode,
    pub warehouse_id: WarehouseId,
    /// Sellable units on the shelves plus units picked and not yet shipped.
    pub quantity: i64,
    /// Picked units in the packing and shipping areas.
    pub shipping: i64,
    /// Units reserved for allocated shipments, still on the shelves.
    pub reserved: i64,
    pub available: i64,
    /// Units on hold (defective, unknown goods).
    pub hold: i64,
    /// Units received and not yet put away.
    pub receiving: i64,
    /// Units requested by backordered shipments.
    pub backordered: i64,
}

impl From<stored::StockSummary> for StockSummary {
    fn from(s: stored::StockSummary) -> Self {
        Self {
            item_id: s.item_id,
            item_code: s.item_code,
            warehouse_id: s.warehouse_id,
            quantity: s.quantity,
            shipping: s.shipping,
            reserved: s.reserved,
            available: s.available,
            hold: s.hold,
            receiving: s.receiving,
            backordered: s.backordered,
        }
    }
}

/// A manual correction or a customer return, by warehouse staff.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    pub warehouse_id: WarehouseId,
    pub location_code: String,
    pub item_id: ItemId,
    #[serde(default = "no_lot")]
    #[schema(value_type = String)]
    pub lot: Lot,
    pub bucket: Bucket,
    /// Signed change of on-hand units (-1,000,000 to 1,000,000, not zero); a `return` must be positive.
    pub quantity: StockDelta,
    pub reason: AdjustmentReason,
}

fn no_lot() -> Lot {
    Lot::parse("").unwrap_or_else(|_| unreachable!("the empty lot is valid"))
}

impl From<Adjustment> for stock::Adjustment {
    fn from(a: Adjustment) -> Self {
        Self {
            warehouse_id: a.warehouse_id,
            location_code: a.location_code,
            item_id: a.item_id,
            lot: a.lot,
            bucket: a.bucket,
            quantity: a.quantity,
            reason: a.reason,
        }
    }
}
