//! Shipment bodies: a new shipment, a shipper's edit, the shipment as the API shows it, and a
//! shipping inspection's counts.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::shipments as stored;
use crate::domain::shipment::{self, Change, Line, Recipient, ShipmentStatus};
use crate::domain::values::{Carrier, Identifier, ItemCode, ItemId, Priority, Quantity, ShipmentId, WarehouseId};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    /// 1 (first) to 100; default 50.
    pub allocate_priority: Option<Priority>,
    /// Local date (YYYY-MM-DD); default today before the warehouse's cut-off, tomorrow after.
    #[serde(default, deserialize_with = "super::date::optional")]
    #[schema(value_type = Option<String>, format = Date)]
    pub ship_date: Option<Date>,
    pub recipient: Recipient,
    pub delivery_carrier: Carrier,
    #[serde(default)]
    pub gift_wrap: bool,
    pub lines: Vec<Line>,
}

impl From<NewShipment> for shipment::NewShipment {
    fn from(n: NewShipment) -> Self {
        Self {
            identifier: n.identifier,
            warehouse_id: n.warehouse_id,
            allocate_priority: n.allocate_priority,
            ship_date: n.ship_date,
            recipient: n.recipient,
            delivery_carrier: n.delivery_carrier,
            gift_wrap: n.gift_wrap,
            lines: n.lines,
        }
    }
}

/// A shipper's change. Before work starts anything may change; afterwards only the recipient
/// and carrier, and the change becomes a `modify_request` the warehouse accepts or refuses.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentEdit {
    pub recipient: Option<Recipient>,
    pub delivery_carrier: Option<Carrier>,
    pub allocate_priority: Option<Priority>,
    #[serde(default, deserialize_with = "super::date::optional")]
    #[schema(value_type = Option<String>, format = Date)]
    pub ship_date: Option<Date>,
    pub gift_wrap: Option<bool>,
    pub lines: Option<Vec<Line>>,
}

impl From<ShipmentEdit> for Change {
    fn from(e: ShipmentEdit) -> Self {
        Self {
            recipient: e.recipient,
            delivery_carrier: e.delivery_carrier,
            allocate_priority: e.allocate_priority,
            ship_date: e.ship_date,
            gift_wrap: e.gift_wrap,
            lines: e.lines,
        }
    }
}

impl From<Change> for ShipmentEdit {
    fn from(c: Change) -> Self {
        Self {
            recipient: c.recipient,
            delivery_carrier: c.delivery_carrier,
            allocate_priority: c.allocate_priority,
            ship_date: c.ship_date,
            gift_wrap: c.gift_wrap,
            lines: c.lines,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShipmentLine {
    pub item_id: ItemId,
    pub item_code: ItemCode,
    pub quantity: Quantity,
    pub allocated: i64,
    pub picked: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Shipment {
    pub shipment_id: ShipmentId,
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    pub status: ShipmentStatus,
    /// The status a pending request or suspension will return to.
    pub status_before_request: Option<ShipmentStatus>,
    /// The change a `modify_request` waits to apply.
    pub pending_change: Option<ShipmentEdit>,
    pub allocate_priority: Priority,
    #[schema(value_type = String, format = Date)]
    pub ship_date: Date,
    pub recipient: Recipient,
    pub delivery_carrier: Carrier,
    pub gift_wrap: bool,
    pub lines: Vec<ShipmentLine>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<stored::Shipment> for Shipment {
    fn from(s: stored::Shipment) -> Self {
        Self {
            shipment_id: s.shipment_id,
            identifier: s.identifier,
            warehouse_id: s.warehouse_id,
            status: s.status,
            status_before_request: s.status_before_request,
            pending_change: s.pending_change.map(ShipmentEdit::from),
            allocate_priority: s.allocate_priority,
            ship_date: s.ship_date,
            recipient: s.recipient,
            delivery_carrier: s.delivery_carrier,
            gift_wrap: s.gift_wrap,
            lines: s
                .lines
                .into_iter()
                .map(|l| ShipmentLine {
                    item_id: l.item_id,
                    item_code: l.item_code,
                    quantity: l.quantity,
                    allocated: l.allocated,
                    picked: l.picked,
                })
                .collect(),
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// Line quantities counted at shipping inspection (出荷検品), by barcode or item code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    pub lines: Vec<InspectedLine>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectedLine {
    /// The item's barcode or, for items without one, its code.
    pub scanned: String,
    pub quantity: Quantity,
}

impl Inspection {
    /// The counts as (scanned value, units).
    pub fn counted(&self) -> Vec<(String, i64)> {
        self.lines.iter().map(|l| (l.scanned.clone(), l.quantity.get())).collect()
    }
}
