//! Items (SKUs): what a shipper registers before sending goods. The code is unique per
//! shipper, and so is the barcode (a JAN/EAN-13 or UPC-A with a valid check digit).

use super::values::{Barcode, Grams, ItemCode, Name, Price, SizeClass, TemperatureZone};

/// An item as a shipper registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub code: ItemCode,
    pub name: Name,
    pub barcode: Option<Barcode>,
    pub price: Price,
    pub size_class: SizeClass,
    pub weight_grams: Grams,
    pub temperature_zone: TemperatureZone,
    /// Managed by lot and expiry date, allocated first-expiry-first-out.
    pub lot_managed: bool,
}
