//! Master-data bodies: shippers and warehouses as the API shows them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::warehouses as stored;
use crate::domain::values::{Identifier, Name, ShipperId, WarehouseId};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Shipper {
    pub shipper_id: ShipperId,
    pub code: Identifier,
    pub name: Name,
    /// Short stock backorders its shipments instead of refusing them.
    pub allow_backorder: bool,
    pub created_at: String,
}

impl From<stored::Shipper> for Shipper {
    fn from(s: stored::Shipper) -> Self {
        Self {
            shipper_id: s.shipper_id,
            code: s.code,
            name: s.name,
            allow_backorder: s.allow_backorder.0,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Warehouse {
    pub warehouse_id: WarehouseId,
    pub code: Identifier,
    pub name: Name,
    /// IANA time zone; cut-offs and billing days are local to it.
    pub time_zone: String,
    /// Same-day cut-off, local `HH:MM`.
    pub cutoff_time: String,
}

impl From<stored::Warehouse> for Warehouse {
    fn from(w: stored::Warehouse) -> Self {
        Self {
            warehouse_id: w.warehouse_id,
            code: w.code,
            name: w.name,
            time_zone: w.time_zone,
            cutoff_time: w.cutoff_time,
        }
    }
}
