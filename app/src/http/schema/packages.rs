//! Package bodies: packing, a package, its label, and a handover to the carrier.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::packages as stored;
use crate::domain::package;
use crate::domain::values::{Carrier, Grams, HandoverId, PackageId, ShipmentId, WarehouseId};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPackages {
    pub packages: Vec<NewPackage>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPackage {
    pub weight_grams: Grams,
}

impl NewPackages {
    /// The packages' weights, in order.
    pub fn weights(&self) -> Vec<Grams> {
        self.packages.iter().map(|p| p.weight_grams).collect()
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Package {
    pub package_id: PackageId,
    pub shipment_id: ShipmentId,
    pub carrier: Carrier,
    pub tracking_number: String,
    pub weight_grams: Grams,
    pub label_issued_at: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub handover_id: Option<HandoverId>,
    pub created_at: String,
}

impl From<stored::Package> for Package {
    fn from(p: stored::Package) -> Self {
        Self {
            package_id: p.package_id,
            shipment_id: p.shipment_id,
            carrier: p.carrier,
            tracking_number: p.tracking_number,
            weight_grams: p.weight_grams,
            label_issued_at: p.label_issued_at,
            handover_id: p.handover_id,
            created_at: p.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Label {
    pub package_id: PackageId,
    pub carrier: Carrier,
    pub tracking_number: String,
    /// ZPL II, ready for a thermal label printer.
    pub format: &'static str,
    pub content: String,
    pub issued_at: String,
}

impl From<stored::Label> for Label {
    fn from(l: stored::Label) -> Self {
        Self {
            package_id: l.package_id,
            carrier: l.carrier,
            tracking_number: l.tracking_number,
            format: "zpl",
            content: l.content,
            issued_at: l.issued_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHandover {
    pub warehouse_id: WarehouseId,
    pub carrier: Carrier,
    pub tracking_numbers: Vec<String>,
}

impl From<NewHandover> for package::NewHandover {
    fn from(h: NewHandover) -> Self {
        Self { warehouse_id: h.warehouse_id, carrier: h.carrier, tracking_numbers: h.tracking_numbers }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Handover {
    pub handover_id: HandoverId,
    pub warehouse_id: WarehouseId,
    pub carrier: Carrier,
    pub packages: i64,
    /// Shipments whose every package is now with the carrier.
    pub shipped: Vec<ShipmentId>,
    pub created_at: String,
}

impl From<stored::Handover> for Handover {
    fn from(h: stored::Handover) -> Self {
        Self {
            handover_id: h.handover_id,
            warehouse_id: h.warehouse_id,
            carrier: h.carrier,
            packages: h.packages,
            shipped: h.shipped,
            created_at: h.created_at,
        }
    }
}
