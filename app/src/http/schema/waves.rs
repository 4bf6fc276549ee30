//! Wave bodies: releasing a wave, and the wave with its picking list.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::waves as stored;
use crate::domain::values::{AllocationId, Barcode, ItemCode, Lot, ShipmentId, WarehouseId, WaveId};
use crate::domain::wave::Origin;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWave {
    pub warehouse_id: WarehouseId,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PickTask {
    #[schema(value_type = i64)]
    pub allocation_id: AllocationId,
    pub shipment_id: ShipmentId,
    pub location_code: String,
    pub pick_sequence: i64,
    pub item_code: ItemCode,
    pub barcode: Option<Barcode>,
    #[schema(value_type = String)]
    pub lot: Lot,
    pub quantity: i64,
    pub picked: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Wave {
    pub wave_id: WaveId,
    pub warehouse_id: WarehouseId,
    /// The warehouse-local date the wave ships on.
    #[schema(value_type = String, format = Date)]
    pub wave_date: Date,
    pub origin: Origin,
    pub created_at: String,
    pub shipment_ids: Vec<ShipmentId>,
    /// Sorted by location pick sequence: the order a picker walks.
    pub picking_list: Vec<PickTask>,
}

impl From<stored::Wave> for Wave {
    fn from(w: stored::Wave) -> Self {
        Self {
            wave_id: w.wave_id,
            warehouse_id: w.warehouse_id,
            wave_date: w.wave_date,
            origin: w.origin,
            created_at: w.created_at,
            shipment_ids: w.shipment_ids,
            picking_list: w
                .picking_list
                .into_iter()
                .map(|t| PickTask {
                    allocation_id: t.allocation_id,
                    shipment_id: t.shipment_id,
                    location_code: t.location_code,
                    pick_sequence: t.pick_sequence,
                    item_code: t.item_code,
                    barcode: t.barcode,
                    lot: t.lot,
                    quantity: t.quantity,
                    picked: t.picked,
                })
                .collect(),
        }
    }
}
